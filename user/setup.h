/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A run's set-up and tear-down, each step said once: the privileges, MEMTRACE_BPF_REFUSE, the
 * output, the BPF side; at the end everything undone in order and the summary printed.
 */
#ifndef MT_SETUP_H
#define MT_SETUP_H

#include <stdint.h>
#include "session.h"

/* Nothing set up yet: every descriptor closed, so setup_end is safe from any point. */
void setup_init(struct mt_session *s, char **argv, uint64_t launch_mono_ns);
/* Root, or CAP_BPF + CAP_PERFMON: said before libbpf fails obscurely. 0 or -1 (said). */
int setup_check_privileges(void);
/* MEMTRACE_BPF_REFUSE into s->refuse, MEMTRACE_BPF_PY_THREAD. 0 or -1 (said: a usage error). */
int setup_read_refusals(struct mt_session *s);
/* The time series' output (-o, -F); waits for a reader on a FIFO. 0 or -1 (said). */
int setup_open_output(struct mt_session *s);
/* Load and attach the BPF side, feeding the sampler; the rows' time base starts here.
 * 0 or -1 (said). */
int setup_start_tracing(struct mt_session *s);
/* --python: the processes traced already (-p, -a, -G) looked at for an interpreter. */
void setup_python_targets(struct mt_session *s);
/* Undo everything, in order; the summary when tracing ran (exit_status: the run's, for
 * --summary-json); the configuration freed. Returns 1 when a report could not be written. */
int setup_end(struct mt_session *s, int exit_status);

#endif
