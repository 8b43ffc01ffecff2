// SPDX-License-Identifier: GPL-2.0
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "notify.h"
#include "runs.h"
#include "setup.h"
#include "targets.h"
#include "units.h"

/* --find-min-limit's defaults: the resolution, and how long a trial may take */
#define MIN_RESOLUTION (1ULL << 20)
#define RESOLUTION_PERCENT 1
#define MIN_TRIAL_TIMEOUT_NS (10ULL * 1000000000ULL)
#define TRIAL_TIMEOUT_FACTOR 10

_Static_assert(MT_RUN_UNLIMITED == MT_CG_NO_LIMIT, "a run without a limit is a cgroup without one");

void runs_init(struct mt_session *s)
{
	/* the baseline of --find-min-limit runs in a cgroup too, to be measured by it */
	s->run_limit_bytes = s->cfg.find_min_limit ? MT_CG_NO_LIMIT : s->cfg.memory_limit;
}

/* -p, -a, -G: one trace, until the targets end or a signal stops it. */
static int trace_targets(struct mt_session *s)
{
	int status = targets_start(s, s->start_mono_ns);

	if (status)
		return status;
	setup_python_targets(s);
	notify_live_start(s);
	s->traced = true;
	return targets_finish(s, loop_run(s));
}

/* The rows' time base, run number and the cross-checks start again with each run. */
static void begin_run(struct mt_session *s, const struct mt_run *run, uint64_t timeout_ns)
{
	uint64_t now = mt_clock_ns(CLOCK_MONOTONIC);

	s->start_mono_ns = now;
	s->writer.start_mono_ns = now;
	s->writer.start_real_ns = mt_clock_ns(CLOCK_REALTIME);
	s->writer.run_column = s->cfg.repeat || s->cfg.find_min_limit;
	s->writer.run = run->number;
	s->writer.discard = run->warmup || s->no_series;
	s->stop_reason = NULL;
	s->kill_at_ns = timeout_ns ? now + timeout_ns : 0;
	crosscheck_begin(&s->xcheck, s->cfg.interval_ns);
}

/* The run is over: what it came to, into the log; its cgroup read and removed. */
static void end_run(struct mt_session *s, struct mt_run *run, int status, uint64_t rows_before)
{
	long page = sysconf(_SC_PAGESIZE);
	const struct mt_root *root = s->sampler.sum.nroots ? &s->sampler.sum.roots[0] : NULL;
	struct mt_crosscheck *x = &run->x;

	run->exit_status = status;
	run->timed_out = s->timed_out;
	run->rows = s->writer.rows - rows_before;
	*x = s->xcheck;
	if (root) {
		uint64_t at_exit = mt_rss_bytes(&root->stats);

		run->root = *root;
		run->wall_ns = root_wall_ns(root, mt_clock_ns(CLOCK_MONOTONIC));
		/* the kernel's VmHWM: its high-water mark is brought up to date lazily */
		x->hiwater_known = root->exited && root->stats.hiwater_pages;
		x->hiwater_bytes = (uint64_t)root->stats.hiwater_pages * (uint64_t)page;
		if (at_exit > x->hiwater_bytes)
			x->hiwater_bytes = at_exit;
	}
	if (s->child.reaped) {
		x->maxrss_known = true;
		x->maxrss_bytes = (uint64_t)s->child.usage.ru_maxrss * 1024;
	}
	targets_release(s);
	if (s->cgroup_report.peak_known) {
		x->cgroup_known = true;
		x->cgroup_peak_bytes = s->cgroup_report.peak_bytes;
		x->cgroup_source = s->cgroup_report.peak_source;
	}
	run->cgroup_oom_known = s->cgroup_report.oom_kills_known;
	run->cgroup_oom_kills = s->cgroup_report.oom_kills;
}

/* Processes of the last run still traced (descendants that outlived it) are let go, and the
 * sampler starts afresh: the next run's rows and summary are its own. An entry leaves the set
 * from inside the walk, as the loop's scans take back those of exited processes. */
struct leftovers {
	struct mt_bpfobj *bpf;
	struct mt_metrics *metrics;
	size_t n;
};

static void let_go(void *ctx, uint32_t pid, const struct proc_stats *st)
{
	struct leftovers *l = ctx;

	l->n += bpfobj_remove(l->bpf, pid) == 0;
	if (l->metrics)
		metrics_proc_gone(l->metrics, pid, st->start_ns, NULL);
}

static void clear_for_next_run(struct mt_session *s)
{
	struct mt_sampler_opts opts = s->sampler.opts;
	struct leftovers l = { .bpf = &s->bpf, .metrics = s->metrics };

	targets_next_run(s);
	bpfobj_for_each(&s->bpf, let_go, &l, true);
	/* what they did before they were let go (records already queued) is the last run's:
	 * drained into its sampler, not adopted by the next run's */
	bpfobj_drain(&s->bpf);
	if (l.n)
		mt_debug("%zu processes of the last run still running: no longer traced", l.n);
	sampler_free(&s->sampler);
	sampler_init(&s->sampler, &s->writer, &opts);
}

/*
 * One run: spawned (the first was, before the BPF load), launched, traced to its end. Returns
 * its status; run->started says whether the command ran at all.
 */
static int one_run(struct mt_session *s, struct mt_run *run, uint64_t timeout_ns)
{
	uint64_t rows_before = s->writer.rows;
	int status;

	if (s->runs.n > 1) {
		clear_for_next_run(s);
		s->run_limit_bytes = run->limit_bytes;
		status = targets_spawn(s);
		if (status)
			return status;
	}
	begin_run(s, run, timeout_ns);
	status = targets_start(s, s->start_mono_ns);
	if (status) {
		/* not found, not runnable, or not traceable: no other run would fare better */
		targets_release(s);
		return status;
	}
	run->started = true;
	if (!s->traced)
		notify_live_start(s);
	s->traced = true;
	status = targets_finish(s, loop_run(s));
	run->interrupted = loop_interrupted();
	end_run(s, run, status, rows_before);
	return status;
}

static struct mt_run *new_run(struct mt_session *s, unsigned number, bool warmup, uint64_t limit)
{
	struct mt_run *run = runlog_add(&s->runs);

	if (!run) {
		mt_err("out of memory");
		return NULL;
	}
	run->number = number;
	run->warmup = warmup;
	run->limit_bytes = limit;
	return run;
}

/* Whether the runs must stop here: a signal, or an output that can no longer be written. */
static bool must_stop(const struct mt_session *s)
{
	return loop_interrupted() || s->writer.error;
}

/* The one run, or --warmup K then --repeat N. The status: the first counted run's that was not
 * 0 (as a script running them one by one would see it), else 0. */
static int repeat_runs(struct mt_session *s)
{
	unsigned warmup = s->cfg.warmup, counted = s->cfg.repeat ? s->cfg.repeat : 1;
	int first_failure = 0;

	for (unsigned i = 0; i < warmup + counted; i++) {
		bool is_warmup = i < warmup;
		struct mt_run *run;
		int status;

		if (i && must_stop(s))
			break;
		run = new_run(s, is_warmup ? 0 : i - warmup + 1, is_warmup, s->cfg.memory_limit);
		if (!run)
			return 1;
		status = one_run(s, run, 0);
		if (!run->started)
			return status;
		if (!is_warmup && status && !first_failure)
			first_failure = status;
	}
	return first_failure;
}

static void say_trial(const struct mt_run *run)
{
	char a[32], b[32];

	if (run->limit_bytes == MT_CG_NO_LIMIT)
		mt_debug("trial %u, no limit: %s in %s", run->number,
			 run_outcome_name(run_outcome(run)),
			 mt_format_duration(run->wall_ns, b, sizeof(b)));
	else
		mt_debug("trial %u, limit %s: %s in %s", run->number,
			 mt_format_size(run->limit_bytes, a, sizeof(a)),
			 run_outcome_name(run_outcome(run)),
			 mt_format_duration(run->wall_ns, b, sizeof(b)));
}

/* The baseline ran to its end: the search's first limit, resolution and trial timeout. */
static void plan_search(struct mt_session *s, const struct mt_run *base)
{
	uint64_t peak = base->root.stats.peak_rss_bytes, resolution = s->cfg.resolution_bytes;

	/* the cgroup is charged page cache and kernel memory too: the larger of the two views */
	if (base->x.cgroup_known && base->x.cgroup_peak_bytes > peak)
		peak = base->x.cgroup_peak_bytes;
	if (!resolution) {
		resolution = peak / 100 * RESOLUTION_PERCENT;
		if (resolution < MIN_RESOLUTION)
			resolution = MIN_RESOLUTION;
	}
	s->trial_timeout_ns = s->cfg.trial_timeout_ns;
	if (!s->trial_timeout_ns) {
		s->trial_timeout_ns = base->wall_ns * TRIAL_TIMEOUT_FACTOR;
		if (s->trial_timeout_ns < MIN_TRIAL_TIMEOUT_NS)
			s->trial_timeout_ns = MIN_TRIAL_TIMEOUT_NS;
	}
	bisect_start(&s->bisect, peak, MT_MIN_MEMORY_LIMIT, resolution);
}

/*
 * --find-min-limit: a run without a limit (in a cgroup that measures it), then trials under
 * limits chosen by bisection, each in a fresh cgroup without swap. A trial that fails for
 * another reason than memory ends the search: its answer would be meaningless.
 */
static int find_min_limit(struct mt_session *s)
{
	struct mt_run *run = new_run(s, 1, false, MT_CG_NO_LIMIT);
	uint64_t limit;
	int status;

	if (!run)
		return 1;
	status = one_run(s, run, 0);
	say_trial(run);
	if (!run->started)
		return status;
	if (run_outcome(run) != MT_RUN_OK) {
		mt_err("--find-min-limit: the command does not complete even without a memory limit "
		       "(status %d%s): there is no least limit to find",
		       status, run_outcome(run) == MT_RUN_OOM_KILLED ? ", OOM-killed" : "");
		return status ? status : 1;
	}
	plan_search(s, run);
	while ((limit = bisect_next(&s->bisect)) && !must_stop(s)) {
		run = new_run(s, (unsigned)s->runs.n + 1, false, limit);
		if (!run)
			return 1;
		status = one_run(s, run, s->trial_timeout_ns);
		say_trial(run);
		if (!run->started)
			return status;
		/* a trial cut short by a signal says nothing of its limit */
		if (loop_interrupted())
			break;
		if (run_outcome(run) == MT_RUN_FAILED) {
			char a[32];

			mt_err("--find-min-limit: under a limit of %s the command ended with status %d, "
			       "not by the OOM killer: it fails for a reason of its own, so the search "
			       "stops here",
			       mt_format_size(limit, a, sizeof(a)), status);
			return status ? status : 1;
		}
		bisect_result(&s->bisect, limit, run_outcome(run) == MT_RUN_OK);
	}
	if (loop_interrupted())
		return status ? status : 128 + SIGINT;
	if (!bisect_found(&s->bisect)) {
		mt_err("--find-min-limit: the command did not complete under any limit tried, up to "
		       "%u raises past its own peak",
		       MT_BISECT_RAISES);
		return 1;
	}
	return 0;
}

int runs_execute(struct mt_session *s)
{
	if (s->cfg.target != MT_TARGET_COMMAND)
		return trace_targets(s);
	return s->cfg.find_min_limit ? find_min_limit(s) : repeat_runs(s);
}
