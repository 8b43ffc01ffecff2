/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the Prometheus exporter shows of the traced processes, kept as the sampler sees them:
 * memory per cgroup (the sum of its traced processes' RSS by type, their page faults and
 * page allocations, how many there are), OOM kills by cgroup, constraint and victim, -L
 * crossings, and the histogram of processes' exact peak RSS at exit. Never a series per
 * process: every family is bounded (MT_METRICS_MAX_*), whatever the host runs. Pure: the
 * cgroup's name comes from a callback, so it is tested on synthetic records.
 */
#ifndef MT_METRICS_H
#define MT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "memtrace.h"
#include "oom.h"
#include "strbuf.h"

/*
 * Cgroups with series of their own. A new one past this takes the place of the one idle
 * longest (no traced process left in it); with none idle, its processes are counted under
 * the cgroup label "(other)".
 */
#define MT_METRICS_MAX_CGROUPS 256
/* OOM kill series (cgroup, constraint, victim); later ones are counted under "(other)" */
#define MT_METRICS_MAX_OOM_SERIES 256
/* peak RSS histogram: 1 MiB to 64 GiB, doubling, and +Inf */
#define MT_METRICS_PEAK_BUCKETS 17
#define MT_METRICS_PEAK_FIRST (1ULL << 20)
/* the label of what does not fit, and of a cgroup that could not be named */
#define MT_METRICS_OTHER "(other)"
#define MT_METRICS_UNKNOWN "(unknown)"

/*
 * The cgroup a process's memory is charged to, as a path in its hierarchy ("/a/b"): from its
 * kernfs id, or with id 0 from the process itself. 0, or -errno when it cannot be named.
 */
typedef int (*mt_cgroup_name_fn)(void *ctx, uint64_t memcg_id, uint32_t pid, char *buf,
				 size_t len);

struct mt_metrics;

struct mt_metrics *metrics_new(mt_cgroup_name_fn name, void *ctx);
void metrics_free(struct mt_metrics *m);

/* A process's newest statistics (a scan, an event): its cgroup's sums follow. */
void metrics_proc(struct mt_metrics *m, uint32_t pid, const struct proc_stats *st);
/*
 * The process left the traced set: exited (final: its exit statistics, its peak goes into
 * the histogram) or let go / vanished (final NULL: it only stops counting).
 */
void metrics_proc_gone(struct mt_metrics *m, uint32_t pid, uint64_t start_ns,
		       const struct proc_stats *final);
/* An OOM kill told by the sampler (traced victim, or untraced victim of a traced trigger). */
void metrics_oom(struct mt_metrics *m, const struct mt_oom_report *o);
/* A -L crossing by process pid. */
void metrics_limit(struct mt_metrics *m, uint32_t pid, const struct proc_stats *st);

/* The families above, in the exposition format. */
void metrics_render(const struct mt_metrics *m, struct strbuf *sb);

/* For tests and the summary: the cgroups with series, and the processes counted. */
size_t metrics_cgroups(const struct mt_metrics *m);
size_t metrics_procs(const struct mt_metrics *m);

#endif
