// SPDX-License-Identifier: GPL-2.0
/*
 * memtrace-bpf: the order of things, and nothing else. Each step is a module's job: the
 * session (user/session.h) holds what they share, the targets say what is traced, the runs
 * trace it (a COMMAND once or many times) with the loop feeding the sampler from the BPF side,
 * and the end of the set-up says what it came to.
 */
#include <stdio.h>
#include "cli.h"
#include "log.h"
#include "loop.h"
#include "runs.h"
#include "session.h"
#include "setup.h"
#include "targets.h"

/* Returns the exit status; setup_end undoes whatever was set up, from wherever this stops. */
static int run(struct mt_session *s)
{
	mt_quiet = s->cfg.quiet;
	mt_verbose = s->cfg.verbose;
	/* diagnostics as they happen, even when stderr is a pipe */
	setvbuf(stderr, NULL, _IOLBF, 0);

	/* a bad MEMTRACE_BPF_REFUSE is a usage error (2) whoever runs it */
	if (setup_read_refusals(s))
		return 2;
	if (setup_check_privileges())
		return 1;
	if (targets_resolve(s) || setup_open_output(s))
		return 1;
	/* before libbpf and the kernel's BTF are loaded: see targets_spawn */
	runs_init(s);
	int status = targets_spawn(s);
	if (status)
		return status;
	loop_catch_signals();
	if (setup_start_tracing(s))
		return 1;
	return runs_execute(s);
}

int main(int argc, char **argv)
{
	struct mt_session session;
	int status = 0;

	setup_init(&session, argv, mt_clock_ns(CLOCK_MONOTONIC));
	switch (mt_parse_args(argc, argv, &session.cfg)) {
	case MT_ARGS_EXIT:
		break;
	case MT_ARGS_USAGE:
		status = 2;
		break;
	case MT_ARGS_OK:
		status = run(&session);
		break;
	}
	/* a report file that could not be written fails a run that did not fail otherwise */
	int end = setup_end(&session, status);
	return status ? status : end;
}
