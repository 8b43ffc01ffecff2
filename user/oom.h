/* SPDX-License-Identifier: GPL-2.0 */
/*
 * OOM kills: a raw oom/mark_victim record (struct mt_oom_event) turned into what a person and
 * the time series need: the victim and its RSS split at the kill, the constraint (memcg or
 * global), the memory cgroup's path, the trigger.
 */
#ifndef MT_OOM_H
#define MT_OOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "strbuf.h"
#include "memtrace.h"
#include "procfs.h"

enum mt_oom_constraint {
	MT_OOM_UNKNOWN,
	MT_OOM_GLOBAL, /* the whole machine (or a cpuset/mempolicy) ran out */
	MT_OOM_MEMCG,  /* a memory cgroup hit its limit */
};

struct mt_oom_report {
	uint64_t mono_ns;
	uint32_t pid; /* victim's process id */
	uint32_t tid; /* the victim thread the kernel marked */
	bool traced;
	struct proc_stats stats; /* victim at the kill (RSS split, comm, ppid, start) */
	uint32_t uid;
	int oom_score_adj;
	bool task_known; /* the fields below came from the victim's task */
	uint64_t total_vm_bytes;
	uint64_t pgtables_bytes;
	enum mt_oom_constraint constraint;
	const char *constraint_source; /* "kernel stack", "memcg usage", or NULL */
	char memcg[MT_CGPATH_LEN + 8]; /* path in its hierarchy, "/" for the root; "" unknown */
	bool memcg_v1;
	uint64_t limit_max_bytes; /* nearest limited memcg: its limit and usage (0: none) */
	uint64_t limit_usage_bytes;
	uint32_t trigger_pid;
	char trigger_comm[MT_COMM_LEN];
};

/* Decode a record. The constraint needs the kernel's symbols: read once, on first use. */
void oom_decode(const struct mt_oom_event *e, struct mt_oom_report *out);

/* The oom_kill row's detail: constraint=, memcg=, trigger_pid=, ... (values encoded). */
void oom_format_detail(const struct mt_oom_report *o, struct strbuf *sb);

const char *oom_constraint_name(enum mt_oom_constraint c);

/*
 * The memcg path from the record's names (leaf first, NUL-separated, `levels` of them):
 * "/a/b/c", "/" for the hierarchy root, with "/..." in front when truncated.
 */
void oom_memcg_path(const char *names, size_t names_len, uint32_t levels, bool truncated,
		    char *out, size_t out_len);

/*
 * The constraint told by the OOM's kernel stack: memcg if a return address falls in one of
 * the ranges (the memcg OOM path's functions: every memcg OOM passes there, no other does),
 * else global. Unknown with no stack or no range.
 */
enum mt_oom_constraint oom_constraint_from_stack(const uint64_t *stack, uint32_t n,
						 const struct mt_ksym_range *ranges,
						 size_t nranges);

/* Fallback: a memcg at (or within a charge batch of) its limit. */
enum mt_oom_constraint oom_constraint_from_usage(uint64_t usage, uint64_t max);

#endif
