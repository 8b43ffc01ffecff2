/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Turns what the kernel side reports (ring-buffer events and the per-process map) into rows:
 * one start row per process, sample rows when something changed (or always with --every),
 * one exit row, in time order per process. Keeps the per-root totals for the summary.
 */
#ifndef MT_SAMPLER_H
#define MT_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>
#include "memtrace.h"
#include "oom.h"
#include "tracer.h"
#include "writer.h"

struct mt_proc;

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

/* A limit row was written (the signal, if any, already sent unless deferred). */
typedef void (*mt_limit_fn)(void *ctx, const struct mt_event *e);
/* An oom_kill row was written for a traced victim (hist: its recent RSS), or, with hist
 * NULL, an untraced process was killed by an OOM a traced one triggered. */
typedef void (*mt_oom_fn)(void *ctx, const struct mt_oom_report *o, const struct mt_rss_hist *hist);
/* Every process a scan reads (all of them when scan_all is set: the live view's frames);
 * mark: see live_proc(). */
typedef void (*mt_scan_fn)(void *ctx, uint32_t pid, const struct proc_stats *st, uint64_t *mark);

/* A process named by the user (-p) or launched (COMMAND), and its descendants' totals. */
struct mt_root {
	uint32_t pid;
	uint64_t start_ns;
	char comm[MT_COMM_LEN];
	char label[256]; /* the command line, for the summary */
	bool launched;	 /* COMMAND mode */
	bool started;	 /* its start row is out */
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

/* -a, -G: the largest peaks of the whole trace, for the summary */
#define MT_TOP_PEAKS 5
struct mt_top_peak {
	uint32_t pid;
	uint64_t start_ns;
	uint64_t peak_rss_bytes;
	char comm[MT_COMM_LEN];
};

struct mt_sampler {
	struct mt_writer *w;
	struct mt_tracer *t;
	bool every;
	uint64_t rss_limit; /* -L, for the limit rows */
	struct mt_proc **buckets;
	size_t nbuckets;
	size_t nprocs;
	struct mt_root *roots;
	size_t nroots;
	uint64_t now_ns; /* CLOCK_MONOTONIC of the scan under way */
	bool force_rows;
	uint64_t exits_unexplained; /* processes that vanished without an exit record */
	uint64_t map_errors;
	uint64_t oom_kills; /* oom_kill rows written */
	uint64_t untraced_oom_kills; /* untraced victims of an OOM a traced process triggered */
	struct {
		uint32_t pid;
		uint64_t start_ns;
	} untraced_victims[16]; /* the latest, told once each */
	unsigned untraced_next;
	mt_limit_fn on_limit;
	mt_oom_fn on_oom;
	mt_scan_fn on_proc;
	void *cb_ctx;
	bool scan_all;	     /* the next scan reads every process, not only the changed ones */
	uint64_t live_procs; /* processes in the traced set at the latest scan */
	uint64_t max_live_procs; /* the most any scan saw */
	uint64_t procs_started;	 /* start rows */
	uint64_t procs_exited;	 /* exit rows */
	uint64_t limit_rows;
	struct mt_top_peak top_peaks[MT_TOP_PEAKS]; /* largest first */
};

void sampler_init(struct mt_sampler *s, struct mt_writer *w, struct mt_tracer *t, bool every);
void sampler_free(struct mt_sampler *s);

/* Register a root; returns its index. For -p, its start row is written at once. */
size_t sampler_add_root(struct mt_sampler *s, uint32_t pid, const struct proc_stats *stats,
			const char *label, bool launched, uint64_t now_ns);

/* The tracer's ring-buffer callback (ctx: the sampler). */
void sampler_on_event(void *ctx, const struct mt_event *event);

/*
 * Drain the ring buffer, then read the traced set and write the rows due. With final set,
 * every live process gets a last sample row. Returns 0 or -errno from the map read.
 */
int sampler_tick(struct mt_sampler *s, uint64_t now_ns, bool final);

bool sampler_roots_done(const struct mt_sampler *s);

#endif
