/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What each run of a COMMAND came to (the one run, --repeat's, --find-min-limit's trials), the
 * cross-checks of its peak, and the statistics across the counted runs. Filled from the session
 * at the end of each run; read by the reports. Nothing here reads the kernel.
 */
#ifndef MT_RUNLOG_H
#define MT_RUNLOG_H

#include <stdbool.h>
#include <stdint.h>
#include "stats.h"
#include "summary.h"

/* How a run ended, for --find-min-limit's verdict and the reports. */
enum mt_run_outcome {
	MT_RUN_OK,	   /* the command's status was the one expected (0) */
	MT_RUN_OOM_KILLED, /* the kernel's OOM killer ended it (or a process of its tree) */
	MT_RUN_TIMEOUT,	   /* --trial-timeout ran out: killed by us */
	MT_RUN_FAILED,	   /* any other status: it failed for a reason of its own */
	MT_RUN_INTERRUPTED, /* a signal to memtrace-bpf (forwarded) cut it short */
};

/* The samplers a cross-check imitates: what psutil-style polling at 0.1 s and 1 s would see. */
#define MT_SAMPLERS 2
extern const uint64_t mt_sampler_periods_ns[MT_SAMPLERS];

/* Other views of the command's peak, beside the traced one. */
struct mt_crosscheck {
	bool hiwater_known; /* the kernel's high-water mark of its mm, at exit (VmHWM) */
	uint64_t hiwater_bytes;
	bool maxrss_known; /* wait4's ru_maxrss: includes the pre-exec image it was forked as */
	uint64_t maxrss_bytes;
	bool cgroup_known; /* the -m cgroup's own peak of what it was charged */
	uint64_t cgroup_peak_bytes;
	const char *cgroup_source;
	/* the largest RSS the command had at the ticks of a sampler of each period, from the
	 * time series; unknown when -i does not divide the period */
	bool sampled_known[MT_SAMPLERS];
	uint64_t sampled_peak_bytes[MT_SAMPLERS];
};

struct mt_run {
	unsigned number;      /* the rows' run column, 1-based; 0 for a warm-up run */
	bool warmup;
	uint64_t limit_bytes; /* its memory limit; 0 none, MT_RUN_UNLIMITED: a cgroup without one */
	bool started;	      /* the command ran (it was found and exec'd) */
	struct mt_root root;  /* the command, as the summary saw it */
	int exit_status;      /* as a shell says it: the exit code, or 128 + the signal */
	bool timed_out;
	bool interrupted; /* SIGINT, SIGTERM or SIGHUP came while it ran */
	uint64_t wall_ns;
	uint64_t rows; /* rows written for it */
	bool cgroup_oom_known;
	uint64_t cgroup_oom_kills;
	struct mt_crosscheck x;
};
#define MT_RUN_UNLIMITED UINT64_MAX

struct mt_runlog {
	struct mt_run *runs;
	size_t n;
};

/* A new run at the end, zeroed; NULL when out of memory. */
struct mt_run *runlog_add(struct mt_runlog *log);
void runlog_free(struct mt_runlog *log);
/* Runs that are not warm-ups. */
size_t runlog_counted(const struct mt_runlog *log);

enum mt_run_outcome run_outcome(const struct mt_run *run);
const char *run_outcome_name(enum mt_run_outcome outcome);

/* The figures the statistics are taken of, in the order the reports give them. */
enum mt_run_metric {
	MT_METRIC_WALL,
	MT_METRIC_USER,
	MT_METRIC_SYS,
	MT_METRIC_PEAK,
	MT_METRIC_PEAK_ANON,
	MT_METRIC_PEAK_FILE,
	MT_METRIC_PEAK_SHMEM,
	MT_METRIC_FAULTS,
	MT_METRIC_PAGES_ALLOC,
	MT_METRIC_NR,
};
enum mt_metric_unit { MT_UNIT_SECONDS, MT_UNIT_BYTES, MT_UNIT_COUNT };
struct mt_metric_info {
	const char *key;   /* the summary JSON's key */
	const char *label; /* the stderr table's */
	enum mt_metric_unit unit;
};
const struct mt_metric_info *run_metric_info(enum mt_run_metric metric);
double run_metric(const struct mt_run *run, enum mt_run_metric metric);
/* The statistics of a metric over the counted runs. Returns false when there are none. */
bool runlog_stat(const struct mt_runlog *log, enum mt_run_metric metric, struct mt_stat *out);

/* A run begins, sampled at -i interval_ns: no peak yet, and which samplers it can imitate. */
void crosscheck_begin(struct mt_crosscheck *x, uint64_t interval_ns);
/*
 * A sampling tick since_start_ns after the run began, at -i interval_ns, when the command's RSS
 * was rss: each imitated sampler whose period the interval divides takes it if the tick is one
 * of its own.
 */
void crosscheck_tick(struct mt_crosscheck *x, uint64_t interval_ns, uint64_t since_start_ns,
		     uint64_t rss);

#endif
