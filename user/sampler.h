/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Turns what the kernel side reports (ring-buffer records and the per-process map's records)
 * into rows: one start row per process, sample rows when something changed (or always with
 * --every), one exit row, in time order per process. It is handed the records and never reads
 * the kernel itself, so its guarantees are tested on synthetic records. Keeps the summary.
 */
#ifndef MT_SAMPLER_H
#define MT_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>
#include "memtrace.h"
#include "oom.h"
#include "summary.h"
#include "writer.h"

struct mt_proc;

/* A limit row was written (the signal, if any, already sent unless deferred). */
typedef void (*mt_limit_fn)(void *ctx, const struct mt_event *e);
/* An oom_kill row was written for a traced victim (hist: its recent RSS), or, with hist
 * NULL, an untraced process was killed by an OOM a traced one triggered. */
typedef void (*mt_oom_fn)(void *ctx, const struct mt_oom_report *o, const struct mt_rss_hist *hist);
/* Every process a scan reads (all of them when the scan asked for all); mark: see live_proc(). */
typedef void (*mt_scan_fn)(void *ctx, uint32_t pid, const struct proc_stats *st, uint64_t *mark);

/* A process's newest statistics, from any row or scan (the exporter keeps its sums from them). */
typedef void (*mt_updated_fn)(void *ctx, uint32_t pid, const struct proc_stats *st);
/* A process left the table: exited (final: its exit statistics) or vanished (final NULL). */
typedef void (*mt_gone_fn)(void *ctx, uint32_t pid, uint64_t start_ns, const struct proc_stats *final);

/* Who is told what the rows alone do not say (a person, the live view, the exporter); any
 * may be NULL. */
struct mt_sampler_hooks {
	mt_limit_fn limit_crossed;
	mt_oom_fn oom_killed;
	mt_scan_fn proc_scanned;
	mt_updated_fn proc_updated;
	mt_gone_fn proc_gone;
	void *ctx;
};

struct mt_sampler_opts {
	bool every;	    /* --every: a row for every process at every scan */
	uint64_t rss_limit; /* -L, for the limit rows */
	struct mt_sampler_hooks hooks;
};

struct mt_sampler {
	struct mt_writer *w;
	struct mt_sampler_opts opts;
	struct mt_proc **buckets;
	size_t nbuckets;
	size_t nprocs;
	uint64_t now_ns;  /* CLOCK_MONOTONIC of the scan under way */
	bool force_rows;  /* the final scan: every process gets a row */
	struct {
		uint32_t pid;
		uint64_t start_ns;
	} untraced_victims[16]; /* the latest, told once each */
	unsigned untraced_next;
	struct mt_summary sum; /* what the report reads */
};

void sampler_init(struct mt_sampler *s, struct mt_writer *w, const struct mt_sampler_opts *opts);
void sampler_free(struct mt_sampler *s);

/* Register a root; returns its index. For -p, its start row is written at once. */
size_t sampler_add_root(struct mt_sampler *s, uint32_t pid, const struct proc_stats *stats,
			const char *label, bool launched, uint64_t now_ns);
/* The launched command was reaped: its wait status and CPU time (rusage) for the summary. */
void sampler_root_reaped(struct mt_sampler *s, size_t root, int status, uint64_t utime_ns,
			 uint64_t stime_ns);
/* A root still running at the end: its CPU time so far. */
void sampler_root_cpu(struct mt_sampler *s, size_t root, uint64_t utime_ns, uint64_t stime_ns);

/* A ring-buffer record (ctx: the sampler); an MT_EV_OOM record is a whole mt_oom_event. */
void sampler_on_event(void *ctx, const struct mt_event *event);

/*
 * A scan of the traced set at now_ns: sampler_scan_begin, sampler_scan_proc for each map record
 * read, then sampler_scan_end with how many entries the set holds. The final scan gives every
 * live process a last row. begin returns whether the scan must read every entry (final,
 * --every, or want_all: the live view's frames) rather than only those that changed.
 */
bool sampler_scan_begin(struct mt_sampler *s, uint64_t now_ns, bool final, bool want_all);
/* Returns true when the entry must leave the traced set: its process exited and its exit
 * record was lost (the map kept the process for us). */
bool sampler_scan_proc(struct mt_sampler *s, uint32_t pid, const struct proc_stats *st);
void sampler_scan_end(struct mt_sampler *s, uint64_t entries);

bool sampler_roots_done(const struct mt_sampler *s);

#endif
