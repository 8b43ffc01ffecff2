/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every read whose shape differs between kernels lives here, decided by CO-RE
 * (bpf_core_*_exists on ___flavour types), never by kernel version.
 */
#ifndef CORE_FIXES_BPF_H
#define CORE_FIXES_BPF_H

#include <bpf/bpf_core_read.h>

/* include/linux/mm_types_task.h: enum { MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES } */
#define MT_MM_FILEPAGES 0
#define MT_MM_ANONPAGES 1
#define MT_MM_SHMEMPAGES 3

/*
 * Before 6.2 (commit f1a7941243c1 "mm: convert mm's rss stats into percpu_counter") the RSS
 * counters were `struct mm_rss_stat { atomic_long_t count[NR_MM_COUNTERS]; }`, updated in
 * per-thread batches of up to 64 faults (SPLIT_RSS_COUNTING). From 6.2 they are
 * `struct percpu_counter rss_stat[NR_MM_COUNTERS]`, and ->count is what /proc shows: the
 * per-CPU deltas (at most percpu_counter_batch each) are folded in lazily.
 */
struct mm_rss_stat___pre62 {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___pre62 {
	struct mm_rss_stat___pre62 rss_stat;
} __attribute__((preserve_access_index));

static __always_inline bool mm_rss_is_atomic_array(void)
{
	return bpf_core_type_exists(struct mm_rss_stat___pre62);
}

/*
 * expr_of(i) for counter `member`, with i always a constant (a switch the compiler folds away
 * once member is known): a variable index would make percpu_counter and atomic_long_t
 * relocation roots of their own, and each costs libbpf a search of the kernel's whole BTF at
 * start-up.
 */
#define MT_MM_COUNTER(member, expr_of) \
	({                                                                        \
		long __v;                                                         \
		switch (member) {                                                 \
		case MT_MM_FILEPAGES:                                             \
			__v = expr_of(MT_MM_FILEPAGES);                           \
			break;                                                    \
		case MT_MM_ANONPAGES:                                             \
			__v = expr_of(MT_MM_ANONPAGES);                           \
			break;                                                    \
		default:                                                          \
			__v = expr_of(MT_MM_SHMEMPAGES);                          \
			break;                                                    \
		}                                                                 \
		__v;                                                              \
	})

/*
 * RSS counter `member` (a constant) of mm, in pages, as /proc reads it. probe (a constant):
 * mm is held as a plain value, read it with BPF_CORE_READ; the cold paths (fork, exec, exit,
 * OOM, seeding) do, because on 6.x every direct load of a pointer field from a trusted pointer
 * makes the verifier search the kernel's whole BTF by name several times
 * (btf_nested_type_is_trusted): milliseconds of start-up per program. Otherwise direct BTF
 * loads: rss_stat runs this at every RSS change on the host. Before 6.2 always a probe read:
 * the 6.1 verifier does not walk into atomic_long_t's typedef ("Type 'atomic_long_t' is not a
 * struct").
 */
static __always_inline long mm_counter_pages_how(struct mm_struct *mm, int member, bool probe)
{
	struct mm_struct___pre62 *old = (void *)mm;
	long pages;

#define MT_OLD(i) BPF_CORE_READ(old, rss_stat.count[i].counter)
#define MT_NEW(i) (probe ? BPF_CORE_READ(mm, rss_stat[i].count) : mm->rss_stat[i].count)
	if (mm_rss_is_atomic_array())
		pages = MT_MM_COUNTER(member, MT_OLD);
	else
		pages = MT_MM_COUNTER(member, MT_NEW);
#undef MT_OLD
#undef MT_NEW
	return pages < 0 ? 0 : pages;
}

static __always_inline long mm_counter_pages(struct mm_struct *mm, int member)
{
	return mm_counter_pages_how(mm, member, false);
}

static __always_inline long mm_counter_pages_read(struct mm_struct *mm, int member)
{
	return mm_counter_pages_how(mm, member, true);
}

/*
 * Group exit: sched_process_exit fires for every thread. signal->live reaches 0 in do_exit()
 * before the tracepoint on every kernel since the tracepoint exists; the tracepoint's own
 * `group_dead` argument only arrived in 6.16.
 */
static __always_inline bool task_group_dead(struct task_struct *task)
{
	return BPF_CORE_READ(task, signal, live.counter) == 0;
}

#define MT_SIGNAL_GROUP_EXIT 0x00000004 /* include/linux/sched/signal.h */

/* The status wait(2) will report for the exiting group, as wait_task_zombie() computes it. */
static __always_inline int task_exit_status(struct task_struct *task)
{
	struct signal_struct *sig = BPF_CORE_READ(task, signal);

	if (BPF_CORE_READ(sig, flags) & MT_SIGNAL_GROUP_EXIT)
		return BPF_CORE_READ(sig, group_exit_code);
	return BPF_CORE_READ(task, exit_code);
}

/* The task that owns mm's RSS: mm->owner exists with CONFIG_MEMCG (every distribution kernel). */
static __always_inline struct task_struct *mm_owner(struct mm_struct *mm)
{
	if (bpf_core_field_exists(mm->owner))
		return mm->owner;
	return NULL;
}

/*
 * kernfs_node's parent became `__parent` in 6.15 (commit 633488947ef6, RCU-protected
 * access); before, it was `parent`.
 */
struct kernfs_node___pre615 {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	struct kernfs_node___pre615 *old = (void *)kn;

	if (bpf_core_field_exists(old->parent))
		return BPF_CORE_READ(old, parent);
	return BPF_CORE_READ(kn, __parent);
}

/*
 * The task's css of the memory controller (v1 or v2, whichever hierarchy it is bound to), or
 * NULL on a kernel built without it.
 */
static __always_inline struct cgroup_subsys_state *task_memcg_css(struct task_struct *task)
{
	struct cgroup_subsys_state *css = NULL;
	struct css_set *cset;
	int id;

	if (!bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id))
		return NULL;
	id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	cset = BPF_CORE_READ(task, cgroups);
	if (!cset || id < 0 || id >= 64)
		return NULL;
	bpf_core_read(&css, sizeof(css), &cset->subsys[id]);
	return css;
}

/*
 * The kernfs id (the directory's inode number) of the cgroup a task's memory is charged to:
 * its memory controller's, else its cgroup2 one. User space turns it into a path once per
 * cgroup, so a process that exits before anyone looks still has its cgroup.
 */
static __always_inline __u64 task_memcg_id(struct task_struct *task)
{
	struct cgroup_subsys_state *css = task_memcg_css(task);

	if (css)
		return BPF_CORE_READ(css, cgroup, kn, id);
	return BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
}

#endif /* CORE_FIXES_BPF_H */
