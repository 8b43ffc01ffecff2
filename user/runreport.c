// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include "log.h"
#include "runreport.h"
#include "units.h"

/* "+0.4 %" of value against the traced peak */
static const char *against(uint64_t value, uint64_t peak, char *buf, size_t len)
{
	if (!peak)
		snprintf(buf, len, "n/a");
	else
		snprintf(buf, len, "%+.1f %%", ((double)value - (double)peak) * 100 / (double)peak);
	return buf;
}

static void crosscheck_line(const char *what, uint64_t value, uint64_t peak, const char *why)
{
	char a[32], b[32];

	mt_info("    %-50s %10s  %8s  %s", what, mt_format_size(value, a, sizeof(a)),
		against(value, peak, b, sizeof(b)), why);
}

void runreport_crosschecks(const struct mt_run *run)
{
	const struct mt_crosscheck *x = &run->x;
	uint64_t peak = run->root.stats.peak_rss_bytes;
	char a[32], what[64];

	if (mt_quiet || !run->started)
		return;
	mt_info("  cross-checks of the peak RSS %s (traced in the kernel at every change):",
		mt_format_size(peak, a, sizeof(a)));
	if (x->hiwater_known)
		crosscheck_line("the kernel's high-water mark (VmHWM at exit)", x->hiwater_bytes, peak,
				"the same counters, folded at its own moments");
	if (x->maxrss_known)
		crosscheck_line("wait4's ru_maxrss", x->maxrss_bytes, peak,
				"also counts the image it was forked as, before exec, "
				"and the children it waited for");
	if (x->cgroup_known) {
		snprintf(what, sizeof(what), "the cgroup's own peak (%s)", x->cgroup_source);
		crosscheck_line(what, x->cgroup_peak_bytes, peak,
				"what it was charged: page cache and kernel memory too");
	}
	for (int i = 0; i < MT_SAMPLERS; i++) {
		if (!x->sampled_known[i])
			continue;
		snprintf(what, sizeof(what), "a sampler every %g s would have seen",
			 (double)mt_sampler_periods_ns[i] / 1e9);
		crosscheck_line(what, x->sampled_peak_bytes[i], peak, "RSS at its ticks only");
	}
}

static void describe_status(const struct mt_run *run, char *buf, size_t len)
{
	enum mt_run_outcome o = run_outcome(run);

	if (!run->started)
		snprintf(buf, len, "not run");
	else if (o == MT_RUN_OOM_KILLED && run->root.oom_killed)
		snprintf(buf, len, "%d OOM-killed", run->exit_status);
	else if (o == MT_RUN_OOM_KILLED)
		snprintf(buf, len, "%d OOM in tree", run->exit_status);
	else if (o == MT_RUN_TIMEOUT)
		snprintf(buf, len, "%d timed out", run->exit_status);
	else
		snprintf(buf, len, "%d", run->exit_status);
}

/* A statistic's value as the metric's unit says. */
static const char *metric_text(enum mt_metric_unit unit, double v, char *buf, size_t len)
{
	if (unit == MT_UNIT_SECONDS)
		snprintf(buf, len, "%.3f s", v);
	else if (unit == MT_UNIT_BYTES)
		mt_format_size((uint64_t)(v + 0.5), buf, len);
	else
		snprintf(buf, len, "%.0f", v);
	return buf;
}

void runreport_repeats(const struct mt_runlog *log, const char *label)
{
	size_t counted = runlog_counted(log), warmups = log->n - counted;
	char a[32], b[32], c[32], d[32], e[32], f[32], no[48], st[32];

	if (mt_quiet)
		return;
	if (warmups)
		mt_info("memtrace-bpf: %zu run%s of %s, after %zu warm-up run%s (traced, not counted)",
			counted, counted == 1 ? "" : "s", label, warmups, warmups == 1 ? "" : "s");
	else
		mt_info("memtrace-bpf: %zu run%s of %s", counted, counted == 1 ? "" : "s", label);
	mt_info("  %4s  %-16s %10s %10s %10s %11s %11s %10s", "run", "status", "wall", "user", "sys",
		"peak RSS", "VmHWM", "faults");
	for (size_t i = 0; i < log->n; i++) {
		const struct mt_run *r = &log->runs[i];

		describe_status(r, st, sizeof(st));
		snprintf(f, sizeof(f), "%llu", (unsigned long long)r->root.stats.faults);
		mt_info("  %4s  %-16s %10s %10s %10s %11s %11s %10s",
			r->warmup ? "w" : (snprintf(no, sizeof(no), "%u", r->number), no), st,
			metric_text(MT_UNIT_SECONDS, run_metric(r, MT_METRIC_WALL), a, sizeof(a)),
			metric_text(MT_UNIT_SECONDS, run_metric(r, MT_METRIC_USER), b, sizeof(b)),
			metric_text(MT_UNIT_SECONDS, run_metric(r, MT_METRIC_SYS), c, sizeof(c)),
			mt_format_size(r->root.stats.peak_rss_bytes, d, sizeof(d)),
			r->x.hiwater_known ? mt_format_size(r->x.hiwater_bytes, e, sizeof(e)) : "?", f);
	}
	if (!counted)
		return;
	snprintf(no, sizeof(no), "over %zu run%s", counted, counted == 1 ? "" : "s");
	mt_info("  %-16s %14s %11s %11s %11s", no, "median", "min", "max", "stdev");
	for (int m = 0; m < MT_METRIC_NR; m++) {
		const struct mt_metric_info *info = run_metric_info(m);
		struct mt_stat s;

		if (!runlog_stat(log, m, &s))
			continue;
		mt_info("  %-16s %14s %11s %11s %11s", info->label,
			metric_text(info->unit, s.median, a, sizeof(a)),
			metric_text(info->unit, s.min, b, sizeof(b)),
			metric_text(info->unit, s.max, c, sizeof(c)),
			metric_text(info->unit, s.stdev, d, sizeof(d)));
	}
}

static const char *limit_text(uint64_t limit, char *buf, size_t len)
{
	if (limit == MT_RUN_UNLIMITED)
		snprintf(buf, len, "none");
	else
		mt_format_size(limit, buf, len);
	return buf;
}

void runreport_trials(const struct mt_runlog *log, const struct mt_bisect *b, const char *label)
{
	char a[32], c[32], d[32], st[32];

	if (mt_quiet)
		return;
	if (bisect_found(b)) {
		mt_info("memtrace-bpf: the least memory limit under which %s completes: %s (%llu "
			"bytes)",
			label, mt_format_size(b->min_ok, a, sizeof(a)),
			(unsigned long long)b->min_ok);
		if (b->max_failed)
			mt_info("  %s (%llu bytes) was too little; resolution %s",
				mt_format_size(b->max_failed, a, sizeof(a)),
				(unsigned long long)b->max_failed,
				mt_format_size(b->resolution, c, sizeof(c)));
		else
			mt_info("  nothing below it was too little, down to the floor of %s",
				mt_format_size(b->floor, a, sizeof(a)));
	} else {
		mt_info("memtrace-bpf: no least memory limit found for %s", label);
	}
	mt_info("  %5s  %11s  %-11s %-16s %10s %11s", "trial", "limit", "outcome", "status", "wall",
		"peak RSS");
	for (size_t i = 0; i < log->n; i++) {
		const struct mt_run *r = &log->runs[i];

		describe_status(r, st, sizeof(st));
		mt_info("  %5u  %11s  %-11s %-16s %10s %11s", r->number,
			limit_text(r->limit_bytes, a, sizeof(a)), run_outcome_name(run_outcome(r)), st,
			metric_text(MT_UNIT_SECONDS, run_metric(r, MT_METRIC_WALL), c, sizeof(c)),
			mt_format_size(r->root.stats.peak_rss_bytes, d, sizeof(d)));
	}
}
