// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "oom.h"
#include "procfs.h"
#include "writer.h"

/*
 * The memcg OOM path: try_charge_memcg() -> mem_cgroup_oom() -> mem_cgroup_out_of_memory() ->
 * out_of_memory(). Both names, in case one is inlined into the other on some build.
 */
static const char *const memcg_oom_symbols[] = { "mem_cgroup_out_of_memory", "mem_cgroup_oom" };
#define NR_MEMCG_OOM_SYMBOLS (sizeof(memcg_oom_symbols) / sizeof(memcg_oom_symbols[0]))

const char *oom_constraint_name(enum mt_oom_constraint c)
{
	switch (c) {
	case MT_OOM_GLOBAL:
		return "global";
	case MT_OOM_MEMCG:
		return "memcg";
	default:
		return "unknown";
	}
}

enum mt_oom_constraint oom_constraint_from_stack(const uint64_t *stack, uint32_t n,
						 const struct mt_ksym_range *ranges,
						 size_t nranges)
{
	bool have_range = false;

	for (size_t r = 0; r < nranges; r++)
		have_range |= ranges[r].start != 0;
	if (!n || !have_range)
		return MT_OOM_UNKNOWN;
	for (uint32_t i = 0; i < n; i++)
		for (size_t r = 0; r < nranges; r++)
			if (ranges[r].start && stack[i] > ranges[r].start &&
			    stack[i] <= ranges[r].end)
				return MT_OOM_MEMCG;
	return MT_OOM_GLOBAL;
}

enum mt_oom_constraint oom_constraint_from_usage(uint64_t usage, uint64_t max)
{
	/* a charge fails within a batch (64 pages) of the limit; allow 1/64 for slack */
	uint64_t slack = max / 64 > (256u << 10) ? max / 64 : (256u << 10);

	if (!max)
		return MT_OOM_GLOBAL;
	return usage + slack >= max ? MT_OOM_MEMCG : MT_OOM_GLOBAL;
}

void oom_memcg_path(const char *names, size_t names_len, uint32_t levels, bool truncated,
		    char *out, size_t out_len)
{
	const char *level[MT_CGPATH_MAX_DEPTH];
	size_t off = 0, used = 0;
	uint32_t got = 0;

	if (!out_len)
		return;
	out[0] = '\0';
	for (; got < levels && got < MT_CGPATH_MAX_DEPTH && off < names_len; got++) {
		size_t len = strnlen(names + off, names_len - off);

		if (off + len >= names_len) /* not terminated: cut */
			break;
		level[got] = names + off;
		off += len + 1;
	}
	if (truncated || got < levels) /* the top levels did not all come through */
		used += (size_t)snprintf(out + used, out_len - used, "/...");
	for (uint32_t i = got; i-- > 0 && used < out_len;)
		used += (size_t)snprintf(out + used, out_len - used, "/%s", level[i]);
	if (!got && !truncated && !levels)
		snprintf(out, out_len, "/");
}

/* Kernel symbols are read once, when the first OOM kill is decoded. */
static struct mt_ksym_range memcg_ranges[NR_MEMCG_OOM_SYMBOLS];
static int ksyms_state; /* 0 unread, 1 read, -1 unavailable */

static void load_ksyms(void)
{
	int n;

	if (ksyms_state)
		return;
	ksyms_state = -1;
	n = procfs_read_kallsyms(memcg_oom_symbols, NR_MEMCG_OOM_SYMBOLS, memcg_ranges);
	if (n <= 0) {
		const char *why = n == -EPERM ? "addresses hidden (kernel.kptr_restrict)"
				  : n == 0    ? "no memcg OOM symbol"
					      : strerror(-n);

		mt_debug("cannot use /proc/kallsyms (%s): OOM constraints are inferred from the "
			 "memcg's usage",
			 why);
		return;
	}
	ksyms_state = 1;
}

/* The old tracepoint gives only a pid: ask /proc while the victim is still there. */
static void memcg_from_proc(uint32_t pid, struct mt_oom_report *o)
{
	char v2[MT_CGPATH_LEN], v1[MT_CGPATH_LEN];

	if (procfs_read_pid_cgroup((int)pid, v2, sizeof(v2), v1, sizeof(v1)))
		return;
	/* the memory controller is on v1 where a v1 memory line exists */
	o->memcg_v1 = v1[0] != '\0';
	snprintf(o->memcg, sizeof(o->memcg), "%s", o->memcg_v1 ? v1 : v2);
}

void oom_decode(const struct mt_oom_event *e, struct mt_oom_report *o)
{
	const struct mt_oom_info *in = &e->oom;

	memset(o, 0, sizeof(*o));
	o->mono_ns = e->head.ts_ns;
	o->pid = e->head.pid;
	o->tid = in->victim_tid;
	o->traced = in->flags & MT_OOM_TRACED;
	o->stats = e->head.stats;
	o->uid = in->uid;
	o->oom_score_adj = in->oom_score_adj;
	o->task_known = in->flags & MT_OOM_VICTIM_TASK;
	o->total_vm_bytes = in->total_vm_bytes;
	o->pgtables_bytes = in->pgtables_bytes;
	o->memcg_v1 = in->flags & MT_OOM_MEMCG_V1;
	o->limit_max_bytes = in->limit_memcg_max_bytes;
	o->limit_usage_bytes = in->limit_memcg_usage_bytes;
	o->trigger_pid = in->trigger_pid;
	memcpy(o->trigger_comm, in->trigger_comm, MT_COMM_LEN);
	o->trigger_comm[MT_COMM_LEN - 1] = '\0';
	o->stats.comm[MT_COMM_LEN - 1] = '\0';
	if (o->task_known)
		oom_memcg_path(in->memcg_path, sizeof(in->memcg_path), in->memcg_levels,
			       in->flags & MT_OOM_MEMCG_TRUNCATED, o->memcg, sizeof(o->memcg));
	else
		memcg_from_proc(o->tid, o);

	load_ksyms();
	if (ksyms_state > 0) {
		uint32_t n = in->nr_stack < MT_OOM_STACK_DEPTH ? in->nr_stack : MT_OOM_STACK_DEPTH;

		o->constraint = oom_constraint_from_stack((const uint64_t *)in->stack, n, memcg_ranges,
							  NR_MEMCG_OOM_SYMBOLS);
		if (o->constraint != MT_OOM_UNKNOWN)
			o->constraint_source = "kernel stack";
	}
	if (o->constraint == MT_OOM_UNKNOWN && o->task_known) {
		o->constraint = oom_constraint_from_usage(o->limit_usage_bytes, o->limit_max_bytes);
		o->constraint_source = "memcg usage";
	}
	mt_debug("OOM kill of pid %u: constraint %s, told by %s (%u kernel stack frames)", o->pid,
		 oom_constraint_name(o->constraint),
		 o->constraint_source ? o->constraint_source : "nothing", in->nr_stack);
}

static void add_kv(struct strbuf *sb, const char *key, const char *value)
{
	if (sb->len)
		sb_adds(sb, " ");
	sb_adds(sb, key);
	sb_adds(sb, "=");
	detail_add_value(sb, value, strlen(value));
}

void oom_format_detail(const struct mt_oom_report *o, struct strbuf *sb)
{
	char num[32];

	add_kv(sb, "constraint", oom_constraint_name(o->constraint));
	add_kv(sb, "memcg", o->memcg[0] ? o->memcg : "?");
	snprintf(num, sizeof(num), "%u", o->trigger_pid);
	add_kv(sb, "trigger_pid", num);
	add_kv(sb, "trigger_comm", o->trigger_comm);
	if (o->task_known) {
		snprintf(num, sizeof(num), "%d", o->oom_score_adj);
		add_kv(sb, "oom_score_adj", num);
		snprintf(num, sizeof(num), "%" PRIu64, o->total_vm_bytes);
		add_kv(sb, "total_vm_bytes", num);
		snprintf(num, sizeof(num), "%" PRIu64, o->pgtables_bytes);
		add_kv(sb, "pgtables_bytes", num);
		snprintf(num, sizeof(num), "%u", o->uid);
		add_kv(sb, "uid", num);
	} else {
		/* the old tracepoint does not give them */
		add_kv(sb, "oom_score_adj", "?");
		add_kv(sb, "total_vm_bytes", "?");
	}
	if (o->limit_max_bytes) {
		snprintf(num, sizeof(num), "%" PRIu64, o->limit_max_bytes);
		add_kv(sb, "memcg_limit_bytes", num);
	}
	if (o->tid != o->pid) {
		snprintf(num, sizeof(num), "%u", o->tid);
		add_kv(sb, "victim_tid", num);
	}
}
