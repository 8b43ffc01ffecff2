/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the rows add up to, for the report at the end and the OOM report on the way: the
 * roots' totals, the trace's largest peaks and counts, a process's recent RSS. The sampler
 * keeps it; the report and the live view only read it.
 */
#ifndef MT_SUMMARY_H
#define MT_SUMMARY_H

#include <stdbool.h>
#include <stdint.h>
#include "memtrace.h"
#include "oom.h"

/*
 * A process's recent RSS, kept from its rows for the OOM report: the newest MT_HIST_LEN
 * points, MT_HIST_SLOT_MS apart at least (but the newest), so at least 6 s of it.
 */
#define MT_HIST_LEN 24
#define MT_HIST_SLOT_MS 250
struct mt_rss_hist {
	uint32_t n;    /* points kept */
	uint32_t next; /* where the next one goes */
	struct {
		uint32_t ms;  /* since tracing started */
		uint32_t kib; /* RSS */
	} pt[MT_HIST_LEN];
};

/* RSS of the history at ms (the newest point at or before it); false if none. */
bool rss_hist_at(const struct mt_rss_hist *h, uint32_t ms, uint64_t *bytes);
/* Point i of the history, oldest first (i < h->n). */
void rss_hist_point(const struct mt_rss_hist *h, uint32_t i, uint32_t *ms, uint64_t *bytes);
/* Add the RSS of a row written since_ns after tracing started. */
void rss_hist_add(struct mt_rss_hist *h, uint64_t since_ns, uint64_t rss);

/* A process named by the user (-p) or launched (COMMAND), and its descendants' totals. */
struct mt_root {
	uint32_t pid;
	uint64_t start_ns;
	char comm[MT_COMM_LEN];
	char label[256]; /* the command line, for the summary */
	bool launched;	 /* COMMAND mode */
	bool exited;
	int exit_status; /* wait(2) status */
	uint64_t start_mono_ns;
	uint64_t end_mono_ns;
	uint64_t utime_ns;
	uint64_t stime_ns;
	bool cpu_known;
	/* -p: its CPU time when tracing began; the summary counts CPU over the traced window */
	uint64_t utime_base_ns;
	uint64_t stime_base_ns;
	struct proc_stats stats; /* newest seen */
	unsigned descendants;
	uint64_t top_child_peak;
	uint32_t top_child_pid;
	char top_child_comm[MT_COMM_LEN];
	/* OOM kills in its tree; the root's own, if it was one */
	unsigned oom_kills;
	bool oom_killed;
	enum mt_oom_constraint oom_constraint;
	char oom_memcg[MT_CGPATH_LEN + 8];
	unsigned limit_crossings;
};

/* A root's wall time, from its start to its end or, while it runs, to now_mono_ns. */
uint64_t root_wall_ns(const struct mt_root *r, uint64_t now_mono_ns);
/* Its user and sys CPU time: with -p over the traced window, from its base at the start. */
uint64_t root_user_ns(const struct mt_root *r);
uint64_t root_sys_ns(const struct mt_root *r);

/* -a, -G: the largest peaks of the whole trace, for the summary */
#define MT_TOP_PEAKS 5
struct mt_top_peak {
	uint32_t pid;
	uint64_t start_ns;
	uint64_t peak_rss_bytes;
	char comm[MT_COMM_LEN];
};

struct mt_summary {
	struct mt_root *roots;
	size_t nroots;
	uint64_t procs_started;	     /* start rows */
	uint64_t procs_exited;	     /* exit rows */
	uint64_t live_procs;	     /* processes in the traced set at the latest scan */
	uint64_t max_live_procs;     /* the most any scan saw */
	uint64_t limit_rows;
	uint64_t oom_kills;	     /* oom_kill rows written */
	uint64_t untraced_oom_kills; /* untraced victims of an OOM a traced process triggered */
	uint64_t exits_unexplained;  /* processes that vanished without an exit record */
	struct mt_top_peak top_peaks[MT_TOP_PEAKS]; /* largest first */
};

#endif
