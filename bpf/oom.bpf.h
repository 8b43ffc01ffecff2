/* SPDX-License-Identifier: GPL-2.0 */
/*
 * OOM kills: at each mark_victim, a record with what an OOM report needs (the victim's RSS
 * split, its memcg and that memcg's limit, the trigger, the kernel stack that tells the
 * constraint).
 */
#ifndef OOM_BPF_H
#define OOM_BPF_H

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
		/* --exact: the entry's counters are exact already, a folded read is not */
		if (mm && !rss_exact)
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
static __always_inline int emit_oom_kill(void *ctx, struct task_struct *victim, __u32 victim_tid,
				  __u32 uid)
{
	struct mt_oom_event *e;
	struct task_struct *cur = bpf_get_current_task_btf();
	__u64 id = bpf_get_current_pid_tgid();
	long n;

	/* the trigger's Python stack: the allocation that could not be served; in the ring
	 * before the OOM record, so that its report has it */
	__u32 seq = 0;

	if (stacks_on)
		seq = stack_sample(ctx, id >> 32, 0, 0, MT_STKF_OOM);
	if (python_on)
		py_sample(id >> 32, 0, 0, 0, 0, MT_PYF_OOM, seq);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

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
	return emit_oom_kill(ctx, victim, victim->pid, uid);
}

/* Before: mark_victim(int pid); the victim's task is at hand only if it is current. */
SEC("tp_btf/mark_victim")
int BPF_PROG(on_mark_victim_pid, int pid)
{
	struct task_struct *cur = bpf_get_current_task_btf();

	if ((__u32)pid == cur->pid)
		return emit_oom_kill(ctx, cur, cur->pid, BPF_CORE_READ(cur, cred, uid.val));
	return emit_oom_kill(ctx, NULL, pid, 0);
}

#endif /* OOM_BPF_H */
