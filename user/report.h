/* SPDX-License-Identifier: GPL-2.0 */
/* What a person reads on stderr at the end: a summary per traced root. */
#ifndef MT_REPORT_H
#define MT_REPORT_H

#include <stdint.h>
#include "memtrace.h"
#include "summary.h"
#include "writer.h"

/* -m: the cgroup's own view, read before it was removed */
struct mt_report_cgroup {
	bool used;
	int version; /* 1 or 2 */
	char path[4096];
	uint64_t limit_bytes;
	bool peak_known;
	uint64_t peak_bytes;
	const char *peak_source;
	bool oom_kills_known;
	uint64_t oom_kills;
};

struct mt_report_totals {
	uint64_t drops[MT_DROP_NR];
	const char *stop_reason; /* NULL, or why tracing stopped before the targets ended */
	const struct mt_report_cgroup *cgroup;
	/* -a, -G: what was traced ("the whole host", "cgroup v2 /a/b"), how long, map size */
	const char *target;
	uint64_t elapsed_ns;
	uint32_t max_procs;
	/* the kernel counts RSS in per-thread batches (before 6.2): RSS and peaks read low */
	bool rss_batched;
	bool no_series; /* --prometheus without -o: rows were made but not written */
};

/*
 * The forensic report of an OOM kill, printed at once: victim, RSS split and oom_score_adj at
 * the kill, constraint and cgroup, trigger, and (hist) the victim's RSS over its last seconds.
 * hist NULL: an untraced victim of an OOM a traced process triggered (one line).
 */
void report_oom(const struct mt_oom_report *o, const struct mt_rss_hist *hist,
		uint64_t start_mono_ns);

/* Sparkline of values (ASCII unless the locale is UTF-8) into buf. Returns buf. */
char *report_sparkline(const uint64_t *values, size_t n, bool utf8, char *buf, size_t len);

void report_summary(const struct mt_summary *s, const struct mt_writer *w,
		    const struct mt_report_totals *totals, uint64_t now_mono_ns);
/* All of it but the last part (the roots, the target, the cgroup); then: */
void report_summary_body(const struct mt_summary *s, const struct mt_report_totals *totals,
			 uint64_t now_mono_ns);
/* Its last part alone: rows written, events lost, why tracing stopped early. */
void report_losses(const struct mt_summary *s, const struct mt_writer *w,
		   const struct mt_report_totals *totals);

#endif
