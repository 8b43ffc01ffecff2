// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>
#include "runlog.h"

const uint64_t mt_sampler_periods_ns[MT_SAMPLERS] = { 100000000ULL, 1000000000ULL };

struct mt_run *runlog_add(struct mt_runlog *log)
{
	struct mt_run *runs = realloc(log->runs, (log->n + 1) * sizeof(*runs));

	if (!runs)
		return NULL;
	log->runs = runs;
	memset(&runs[log->n], 0, sizeof(runs[log->n]));
	return &runs[log->n++];
}

void runlog_free(struct mt_runlog *log)
{
	free(log->runs);
	log->runs = NULL;
	log->n = 0;
}

size_t runlog_counted(const struct mt_runlog *log)
{
	size_t n = 0;

	for (size_t i = 0; i < log->n; i++)
		n += !log->runs[i].warmup;
	return n;
}

enum mt_run_outcome run_outcome(const struct mt_run *run)
{
	if (run->timed_out)
		return MT_RUN_TIMEOUT;
	/* killed by the OOM killer: the command itself, or a process of its tree (its status
	 * then says what the command made of it); the cgroup's own counter catches a kill whose
	 * record was lost */
	if (run->root.oom_killed || run->root.oom_kills ||
	    (run->cgroup_oom_known && run->cgroup_oom_kills))
		return MT_RUN_OOM_KILLED;
	if (run->started && run->exit_status == 0)
		return MT_RUN_OK;
	return run->interrupted ? MT_RUN_INTERRUPTED : MT_RUN_FAILED;
}

const char *run_outcome_name(enum mt_run_outcome outcome)
{
	static const char *const names[] = {
		[MT_RUN_OK] = "ok",
		[MT_RUN_OOM_KILLED] = "oom_killed",
		[MT_RUN_TIMEOUT] = "timeout",
		[MT_RUN_FAILED] = "failed",
		[MT_RUN_INTERRUPTED] = "interrupted",
	};

	return names[outcome];
}

static const struct mt_metric_info metrics[MT_METRIC_NR] = {
	[MT_METRIC_WALL] = { "wall_s", "wall", MT_UNIT_SECONDS },
	[MT_METRIC_USER] = { "user_s", "user", MT_UNIT_SECONDS },
	[MT_METRIC_SYS] = { "sys_s", "sys", MT_UNIT_SECONDS },
	[MT_METRIC_PEAK] = { "peak_rss_bytes", "peak RSS", MT_UNIT_BYTES },
	[MT_METRIC_PEAK_ANON] = { "peak_anon_bytes", "  anon", MT_UNIT_BYTES },
	[MT_METRIC_PEAK_FILE] = { "peak_file_bytes", "  file", MT_UNIT_BYTES },
	[MT_METRIC_PEAK_SHMEM] = { "peak_shmem_bytes", "  shmem", MT_UNIT_BYTES },
	[MT_METRIC_FAULTS] = { "faults", "page faults", MT_UNIT_COUNT },
	[MT_METRIC_PAGES_ALLOC] = { "pages_alloc", "pages allocated", MT_UNIT_COUNT },
};

const struct mt_metric_info *run_metric_info(enum mt_run_metric metric)
{
	return &metrics[metric];
}

double run_metric(const struct mt_run *run, enum mt_run_metric metric)
{
	const struct proc_stats *st = &run->root.stats;

	switch (metric) {
	case MT_METRIC_WALL:
		return (double)run->wall_ns / 1e9;
	case MT_METRIC_USER:
		return (double)root_user_ns(&run->root) / 1e9;
	case MT_METRIC_SYS:
		return (double)root_sys_ns(&run->root) / 1e9;
	case MT_METRIC_PEAK:
		return (double)st->peak_rss_bytes;
	case MT_METRIC_PEAK_ANON:
		return (double)st->peak_anon_bytes;
	case MT_METRIC_PEAK_FILE:
		return (double)st->peak_file_bytes;
	case MT_METRIC_PEAK_SHMEM:
		return (double)st->peak_shmem_bytes;
	case MT_METRIC_FAULTS:
		return (double)st->faults;
	case MT_METRIC_PAGES_ALLOC:
		return (double)st->pages_alloc;
	case MT_METRIC_NR:
		break;
	}
	return 0;
}

bool runlog_stat(const struct mt_runlog *log, enum mt_run_metric metric, struct mt_stat *out)
{
	double *values = calloc(log->n ? log->n : 1, sizeof(*values));
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	if (!values)
		return false;
	for (size_t i = 0; i < log->n; i++)
		if (!log->runs[i].warmup)
			values[n++] = run_metric(&log->runs[i], metric);
	mt_stat_of(values, n, out);
	free(values);
	return n > 0;
}

void crosscheck_begin(struct mt_crosscheck *x, uint64_t interval_ns)
{
	memset(x, 0, sizeof(*x));
	/* a sampler that never ticked while the command ran saw a peak of 0: known all the same */
	for (int i = 0; i < MT_SAMPLERS; i++)
		x->sampled_known[i] = interval_ns && mt_sampler_periods_ns[i] % interval_ns == 0;
}

void crosscheck_tick(struct mt_crosscheck *x, uint64_t interval_ns, uint64_t since_start_ns,
		     uint64_t rss)
{
	uint64_t tick;

	if (!interval_ns)
		return;
	/* the loop wakes a little after each tick: the tick it woke for */
	tick = since_start_ns / interval_ns * interval_ns;
	for (int i = 0; i < MT_SAMPLERS; i++) {
		uint64_t period = mt_sampler_periods_ns[i];

		if (x->sampled_known[i] && tick % period == 0 && rss > x->sampled_peak_bytes[i])
			x->sampled_peak_bytes[i] = rss;
	}
}
