/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who is traced, decided in the kernel so that no process is missed between two samples: the
 * -a/-G filter, a traced parent's children added at fork, processes moved into the -G cgroup,
 * entries kept current at exec and rename and closed at exit. User space puts in only the roots
 * (-p, the launched COMMAND) and, at start, running processes the seeding iterator missed.
 */
#ifndef TRACED_SET_BPF_H
#define TRACED_SET_BPF_H

/* -G: whether cgrp is the target cgroup or below it (in the target's hierarchy). */
static __always_inline bool cgroup_in_target(struct cgroup *cgrp)
{
	struct kernfs_node *kn = BPF_CORE_READ(cgrp, kn);
	int i;

	for (i = 0; i < 32 && kn; i++) {
		if (BPF_CORE_READ(kn, id) == target_cgroup_id)
			return true;
		kn = kn_parent(kn);
	}
	return false;
}

/* The task's cgroup in the target's hierarchy: the v2 one, or its v1 memory cgroup. */
static __always_inline struct cgroup *task_target_cgroup(struct task_struct *task)
{
	struct cgroup_subsys_state *css;

	if (!target_cgroup_v1)
		return BPF_CORE_READ(task, cgroups, dfl_cgrp);
	css = task_memcg_css(task);
	return css ? BPF_CORE_READ(css, cgroup) : NULL;
}

/* With -a or -G: whether a process not yet traced belongs to the target. */
static __always_inline bool task_in_target(struct task_struct *task)
{
	struct cgroup *cgrp;

	if (BPF_CORE_READ(task, flags) & MT_PF_KTHREAD)
		return false;
	if (target_mode == MT_MODE_ALL)
		return true;
	if (target_mode != MT_MODE_CGROUP)
		return false;
	cgrp = task_target_cgroup(task);
	return cgrp && cgroup_in_target(cgrp);
}

/*
 * Add task's process to the traced set as it is now (its counters since tracing began start
 * at zero). Returns its entry (a new one, or the one already there), or NULL: no mm (a
 * kernel thread, or past exit_mm) or the map is full (counted).
 */
static __always_inline struct proc_stats *track_task(struct task_struct *task, bool *added)
{
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	struct proc_stats init = {};
	__u32 tgid = BPF_CORE_READ(task, tgid);
	long err;

	*added = false;
	if (!mm)
		return NULL;
	init.start_ns = BPF_CORE_READ(leader, start_boottime);
	init.ppid = BPF_CORE_READ(leader, real_parent, tgid);
	init.memcg_id = task_memcg_id(task);
	BPF_CORE_READ_INTO(&init.comm, leader, comm);
	account_rss_read(&init, mm);
	err = bpf_map_update_elem(&procs, &tgid, &init, BPF_NOEXIST);
	if (err && err != -MT_EEXIST) {
		count_drop(MT_DROP_MAP_FULL);
		return NULL;
	}
	*added = !err;
	if (!err)
		bump_trace_epoch();
	return bpf_map_lookup_elem(&procs, &tgid);
}

/*
 * A child of a traced process is added here, inside the kernel, so that nothing it does
 * between fork and the next sample is missed. Its RSS starts as what fork copied.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	struct proc_stats init = {};
	struct proc_stats *ps;
	struct mm_struct *mm;
	__u32 ptgid, ctgid;

	if (!follow_children)
		return 0;
	ctgid = child->tgid;
	if (child->pid != ctgid) /* a new thread, not a new process */
		return 0;
	ptgid = parent->tgid;
	if (target_mode == MT_MODE_PIDS) {
		ps = bpf_map_lookup_elem(&procs, &ptgid);
		if (!ps || (ps->flags & MT_PROC_PRE_EXEC))
			return 0;
	} else if (!task_in_target(child)) {
		/* -G: a clone into another cgroup (CLONE_INTO_CGROUP), or a kernel thread */
		return 0;
	}

	init.start_ns = child->start_boottime;
	init.ppid = ptgid;
	init.memcg_id = task_memcg_id(child);
	bpf_probe_read_kernel(init.comm, sizeof(init.comm), child->comm);
	mm = BPF_CORE_READ(child, mm);
	if (mm)
		account_rss_read(&init, mm);
	if (bpf_map_update_elem(&procs, &ctgid, &init, BPF_ANY)) {
		count_drop(MT_DROP_MAP_FULL);
		return 0;
	}
	bump_trace_epoch();
	if (python_on) {
		/* a forked interpreter is the same image: its frames are where its parent's were */
		struct mt_py_proc *pp = bpf_map_lookup_elem(&py_procs, &ptgid);

		if (pp)
			bpf_map_update_elem(&py_procs, &ctgid, pp, BPF_ANY);
	}
	emit(MT_EV_FORK, ctgid, &init);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = p->tgid;
	struct proc_stats *s = bpf_map_lookup_elem(&procs, &tgid);
	struct mm_struct *mm;

	if (!s)
		return 0;
	s->gen++;
	bpf_probe_read_kernel(s->comm, sizeof(s->comm), p->comm);
	/* a runtime moves its child into the job's cgroup between fork and exec */
	s->memcg_id = task_memcg_id(p);
	/* the old image's counts stay its own (before the COMMAND's exec nothing is counted) */
	if (!(s->flags & MT_PROC_PRE_EXEC))
		sweep_pending(s, tgid, false);
	if (s->flags & MT_PROC_PRE_EXEC) {
		/* The launched COMMAND starts here: forget the tracer's pre-exec image. */
		s->flags &= ~MT_PROC_PRE_EXEC;
		s->start_ns = BPF_CORE_READ(p, group_leader, start_boottime);
		s->faults = 0;
		s->pages_alloc = 0;
		s->peak_rss_bytes = 0;
		bump_trace_epoch();
	}
	mm = BPF_CORE_READ(p, mm);
	if (mm)
		account_rss_read(s, mm);
	if (python_on)
		/* the old image's interpreter addresses mean nothing in the new one */
		bpf_map_delete_elem(&py_procs, &tgid);
	/* --python: user space looks for an interpreter in the new image before it runs Python */
	emit_event(MT_EV_EXEC, tgid, s, 0, 0, python_on);
	return 0;
}

/* prctl(PR_SET_NAME) and friends; the process name is its leader's comm, as /proc shows. */
SEC("tp_btf/task_rename")
int BPF_PROG(on_rename, struct task_struct *task, const char *comm)
{
	__u32 tgid = task->tgid;
	struct proc_stats *s;

	if (task->pid != tgid)
		return 0;
	s = bpf_map_lookup_elem(&procs, &tgid);
	if (s) {
		bpf_probe_read_kernel_str(s->comm, sizeof(s->comm), comm);
		s->gen++;
	}
	return 0;
}

/*
 * Group exit: the final statistics go out in the exit record and the entry is removed. If the
 * record cannot be queued, the entry stays, marked, for user space to report and delete.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *task)
{
	__u32 tgid = task->tgid;
	struct proc_stats *s;
	struct signal_struct *sig;
	struct mm_struct *mm;

	s = bpf_map_lookup_elem(&procs, &tgid);
	if (!s || !task_group_dead(task))
		return 0;

	if (!(s->flags & MT_PROC_PRE_EXEC))
		sweep_pending(s, tgid, true);
	s->exit_ns = bpf_ktime_get_ns();
	s->exit_status = task_exit_status(task);
	sig = BPF_CORE_READ(task, signal);
	/* the other threads' times are already in signal_struct; the last one's are not yet */
	s->utime_ns = BPF_CORE_READ(sig, utime) + task->utime;
	s->stime_ns = BPF_CORE_READ(sig, stime) + task->stime;
	mm = BPF_CORE_READ(task, mm);
	if (mm && !(s->flags & MT_PROC_PRE_EXEC)) {
		/* --exact: the entry holds each counter as its last change left it, exact; a
		 * folded read now would put the per-CPU lag back into the exit row */
		if (!rss_exact)
			account_rss_read(s, mm);
		/* updated lazily (before an unmap shrinks the RSS), so /proc's VmHWM is
		 * max(hiwater_rss, RSS): user space takes the max with the exit row's RSS */
		s->hiwater_pages = (__u32)BPF_CORE_READ(mm, hiwater_rss);
	}
	if (python_on)
		bpf_map_delete_elem(&py_procs, &tgid);
	if (stacks_on)
		bpf_map_delete_elem(&stack_left, &tgid);

	if (!emit(MT_EV_EXIT, tgid, s)) {
		s->flags |= MT_PROC_EXITED;
		s->gen++;
		return 0;
	}
	bpf_map_delete_elem(&procs, &tgid);
	return 0;
}

/*
 * -G: a process moved into the target cgroup (echo PID > cgroup.procs) is traced from then on.
 * One that leaves it stays traced until it exits: its rows stay one story.
 */
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(on_cgroup_attach, struct cgroup *dst, const char *path, struct task_struct *task,
	     bool threadgroup)
{
	struct proc_stats *s;
	bool added;

	if (target_mode != MT_MODE_CGROUP || !follow_children)
		return 0;
	if (BPF_CORE_READ(dst, root, hierarchy_id) != target_hierarchy_id ||
	    !cgroup_in_target(dst) || (task->flags & MT_PF_KTHREAD))
		return 0;
	s = track_task(task, &added);
	if (s && added)
		emit(MT_EV_FORK, task->tgid, s);
	return 0;
}

#endif /* TRACED_SET_BPF_H */
