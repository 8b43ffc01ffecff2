// SPDX-License-Identifier: GPL-2.0
/*
 * memtrace-bpf kernel side: per-process memory statistics aggregated in a hash map (no event
 * per fault), the exact peak RSS kept at every RSS change, and a ring buffer for the rare
 * events (fork, exec, exit, OOM kill, RSS limit crossed).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "memtrace.h"
#include "core_fixes.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader before load. */
const volatile bool follow_children = true;
const volatile __u32 page_shift = 12;
const volatile __u64 ringbuf_bytes = 1 << 20;
/* -L: RSS limit in bytes (0: none) and the signal sent at the crossing (0: warn only) */
const volatile __u64 rss_limit_bytes = 0;
const volatile __u32 limit_signal = 0;
/* who is traced: enum mt_target_mode; for -G the cgroup (its kernfs id), its hierarchy
 * (0: the v2 one) and whether that is a v1 memory-controller hierarchy */
const volatile __u32 target_mode = MT_MODE_PIDS;
const volatile __u64 target_cgroup_id = 0;
const volatile __s32 target_hierarchy_id = 0;
const volatile bool target_cgroup_v1 = false;

/* processes the seeding iterator added (-a, -G) */
__u64 seeded_procs = 0;
/* set by user space before each read of the map through read_procs: every entry, not only
 * the changed ones (--every, the last read, the live view); entries_seen counts them all
 * (user space zeroes it before each read) */
bool report_all = false;
__u64 entries_seen = 0;

#include "proc_stats.bpf.h"  /* the entries (the traced set), RSS and its peak */
#include "events.bpf.h"      /* the ring of rare records, the drop counters */
#include "fault_slots.bpf.h" /* faults, page allocations: per CPU, folded later */
#include "rss.bpf.h"         /* rss_stat: RSS at every change, the -L limit */
#include "traced_set.bpf.h"  /* who is traced: -a/-G, fork, exec, rename, exit */

/*
 * The victim's memory cgroup: its path (names gathered leaf first, one NUL-terminated name
 * per level; user space reverses them), and the nearest memcg up the tree that has a limit,
 * with its usage: the fallback for telling a memcg OOM when the kernel stack says nothing.
 */
static __always_inline void oom_memcg(struct mt_oom_info *o, struct task_struct *victim)
{
	struct cgroup_subsys_state *css = task_memcg_css(victim);
	struct kernfs_node *kn, *parent;
	struct page_counter *pc;
	struct cgroup *cgrp;
	__u32 off = 0;
	int i;

	if (!css)
		return;
	cgrp = BPF_CORE_READ(css, cgroup);
	if (!cgrp)
		return;
	/* v1 when the memory controller's hierarchy is not the default (v2) one */
	if (BPF_CORE_READ(cgrp, root) != BPF_CORE_READ(victim, cgroups, dfl_cgrp, root))
		o->flags |= MT_OOM_MEMCG_V1;
	kn = BPF_CORE_READ(cgrp, kn);
	for (i = 0; i < MT_CGPATH_MAX_DEPTH && kn; i++) {
		const char *name;
		long n;

		parent = kn_parent(kn);
		if (!parent) /* the hierarchy's root: no name of its own */
			break;
		if (off >= MT_CGPATH_LEN) {
			o->flags |= MT_OOM_MEMCG_TRUNCATED;
			break;
		}
		name = BPF_CORE_READ(kn, name);
		n = bpf_probe_read_kernel_str(&o->memcg_path[off & (MT_CGPATH_LEN - 1)],
					      MT_CGPATH_LEN, name);
		if (n <= 0)
			break;
		off += n;
		o->memcg_levels++;
		kn = parent;
	}
	if (i == MT_CGPATH_MAX_DEPTH && kn && kn_parent(kn))
		o->flags |= MT_OOM_MEMCG_TRUNCATED;

	pc = (void *)css - bpf_core_field_offset(struct mem_cgroup, css) +
	     bpf_core_field_offset(struct mem_cgroup, memory);
	for (i = 0; i < MT_CGPATH_MAX_DEPTH && pc; i++) {
		unsigned long max = BPF_CORE_READ(pc, max);

		/* PAGE_COUNTER_MAX is LONG_MAX / PAGE_SIZE: no limit */
		if (max < (0x7fffffffffffffffUL >> page_shift)) {
			o->limit_memcg_max_bytes = (__u64)max << page_shift;
			o->limit_memcg_usage_bytes = (__u64)BPF_CORE_READ(pc, usage.counter)
						     << page_shift;
			break;
		}
		pc = BPF_CORE_READ(pc, parent);
	}
}

/* What an OOM report needs from the victim's task (held by the OOM killer, mm included). */
static __always_inline void oom_victim_task(struct mt_oom_event *e, struct task_struct *victim)
{
	struct mt_oom_info *o = &e->oom;
	struct proc_stats *st = &e->head.stats;
	struct mm_struct *mm = BPF_CORE_READ(victim, mm);
	__u32 tgid = BPF_CORE_READ(victim, tgid);
	struct proc_stats *s;

	o->flags |= MT_OOM_VICTIM_TASK;
	o->victim_tid = BPF_CORE_READ(victim, pid);
	e->head.pid = tgid;
	o->oom_score_adj = BPF_CORE_READ(victim, signal, oom_score_adj);
	if (mm) {
		o->total_vm_bytes = (__u64)BPF_CORE_READ(mm, total_vm) << page_shift;
		if (bpf_core_field_exists(mm->pgtables_bytes))
			o->pgtables_bytes = BPF_CORE_READ(mm, pgtables_bytes.counter);
	}
	s = bpf_map_lookup_elem(&procs, &tgid);
	if (!s && target_mode != MT_MODE_PIDS && task_in_target(victim)) {
		/* -a, -G: every OOM kill in the target is reported, also of a process the
		 * map could not take before (it was full); its exit row follows */
		bool added;

		s = track_task(victim, &added);
	}
	if (s && !(s->flags & MT_PROC_PRE_EXEC)) {
		o->flags |= MT_OOM_TRACED;
		if (mm)
			account_rss_read(s, mm);
		__builtin_memcpy(st, s, sizeof(*st));
	} else {
		st->start_ns = BPF_CORE_READ(victim, group_leader, start_boottime);
		st->ppid = BPF_CORE_READ(victim, real_parent, tgid);
		BPF_CORE_READ_INTO(&st->comm, victim, group_leader, comm);
		if (mm)
			account_rss_read(st, mm);
	}
	oom_memcg(o, victim);
}

/*
 * oom/mark_victim, whatever the path (memcg, global, the "already exiting" shortcut). It runs
 * in the allocating task's context: current is the trigger. The kernel stack tells the
 * constraint (user space looks for mem_cgroup_out_of_memory in it).
 */
static __always_inline int on_oom(void *ctx, struct task_struct *victim, __u32 victim_tid,
				  __u32 uid)
{
	struct mt_oom_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	struct task_struct *cur = bpf_get_current_task_btf();
	__u64 id = bpf_get_current_pid_tgid();
	long n;

	if (!e) {
		count_drop(MT_DROP_RINGBUF);
		return 0;
	}
	/* the stack and the path are bounded by nr_stack and memcg_levels */
	__builtin_memset(&e->head, 0, sizeof(e->head));
	__builtin_memset(&e->oom, 0, __builtin_offsetof(struct mt_oom_info, stack));
	e->head.type = MT_EV_OOM;
	e->head.pid = victim_tid;
	e->head.ts_ns = bpf_ktime_get_ns();
	e->oom.victim_tid = victim_tid;
	e->oom.uid = uid;
	e->oom.trigger_pid = id >> 32;
	e->oom.trigger_tid = (__u32)id;
	BPF_CORE_READ_INTO(&e->oom.trigger_comm, cur, group_leader, comm);
	if (victim) {
		oom_victim_task(e, victim);
	} else {
		/* old tracepoint (pid only): what our map knows of it */
		struct proc_stats *s = bpf_map_lookup_elem(&procs, &victim_tid);

		if (s) {
			e->oom.flags |= MT_OOM_TRACED;
			__builtin_memcpy(&e->head.stats, s, sizeof(*s));
		}
	}
	n = bpf_get_stack(ctx, e->oom.stack, sizeof(e->oom.stack), 0);
	e->oom.nr_stack = n > 0 ? n / sizeof(__u64) : 0;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

/* Since 6.9 (and in 6.1.y/6.6.y backports): mark_victim(struct task_struct *, uid_t). */
SEC("tp_btf/mark_victim")
int BPF_PROG(on_mark_victim, struct task_struct *victim, __u32 uid)
{
	return on_oom(ctx, victim, victim->pid, uid);
}

/* Before: mark_victim(int pid); the victim's task is at hand only if it is current. */
SEC("tp_btf/mark_victim")
int BPF_PROG(on_mark_victim_pid, int pid)
{
	struct task_struct *cur = bpf_get_current_task_btf();

	if ((__u32)pid == cur->pid)
		return on_oom(ctx, cur, cur->pid, BPF_CORE_READ(cur, cred, uid.val));
	return on_oom(ctx, NULL, pid, 0);
}

/*
 * -a, -G: the processes already running when tracing starts, added once by user space
 * running this iterator after every hook is attached; a process forked meanwhile is added by
 * on_fork too (whichever comes second finds the entry there). A process whose last thread
 * is exiting is skipped, and if one starts exiting while it is being added (its exit hook
 * may have looked for the entry a moment before it existed) the entry is taken back: no entry
 * outlives its process.
 */

/*
 * The iterators' contexts, declared here without CO-RE: their layout is fixed by the iterator
 * ABI, and each CO-RE-relocated type costs libbpf a search of the kernel's whole BTF (~126k
 * types, about 0.7 ms) at start-up.
 */
struct mt_iter_meta {
	struct seq_file *seq;
};

struct mt_iter_task {
	struct mt_iter_meta *meta;
	struct task_struct *task;
};

struct mt_iter_map_elem {
	struct mt_iter_meta *meta;
	struct bpf_map *map;
	void *key;
	void *value;
};

SEC("iter/task")
int seed_procs(struct mt_iter_task *ctx)
{
	struct task_struct *task = ctx->task;
	struct task_struct *leader;
	struct proc_stats *s;
	__u32 tgid;
	bool added;

	if (!task)
		return 0;
	leader = BPF_CORE_READ(task, group_leader);
	/* one thread per process: the leader, or the first live thread if the leader has
	 * exited (pthread_exit from main) */
	if (task != leader && !BPF_CORE_READ(leader, exit_state))
		return 0;
	if (task->exit_state || task_group_dead(task) || !task_in_target(task))
		return 0;
	s = track_task(task, &added);
	if (!s || !added)
		return 0;
	if (task_group_dead(task)) {
		tgid = task->tgid;
		bpf_map_delete_elem(&procs, &tgid);
		return 0;
	}
	__sync_fetch_and_add(&seeded_procs, 1);
	return 0;
}

/*
 * User space reads the traced set through this iterator every interval: only the entries that
 * changed since their last report cross into user space (an idle process costs one compare,
 * not a copy). gen is read before the copy, so a change made during the copy bumps it again
 * and the entry is reported once more next time; seen_gen moves only when the record went
 * out (a record that did not fit is retried in the next read).
 */
SEC("iter/bpf_map_elem")
int read_procs(struct mt_iter_map_elem *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct proc_stats *s = ctx->value;
	__u32 *key = ctx->key;
	struct mt_proc_record rec;
	__u32 gen;

	if (!key || !s)
		return 0;
	gen = s->gen;
	if (report_all || gen != s->seen_gen) {
		rec.pid = *key;
		rec.pad = 0;
		__builtin_memcpy(&rec.stats, s, sizeof(rec.stats));
		/* a record that did not fit: this entry is shown again in the next read */
		if (bpf_seq_write(seq, &rec, sizeof(rec)))
			return 0;
		s->seen_gen = gen;
	}
	entries_seen++;
	return 0;
}
