/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The task iterator user space runs once: it adds the processes already running (-a, -G). The
 * one that reads the entries out every interval is map_reader.bpf.h.
 */
#ifndef ITERATORS_BPF_H
#define ITERATORS_BPF_H

/*
 * The iterators' contexts, declared here without CO-RE: their layout is fixed by the iterator
 * ABI, and each CO-RE-relocated type costs libbpf a search of the kernel's whole BTF (~126k
 * types, about 0.7 ms) at start-up.
 */
struct mt_iter_task {
	struct mt_iter_meta *meta;
	struct task_struct *task;
};

/*
 * -a, -G: the processes already running when tracing starts, added once by user space
 * running this iterator after every hook is attached; a process forked meanwhile is added by
 * on_fork too (whichever comes second finds the entry there). A process whose last thread
 * is exiting is skipped, and if one starts exiting while it is being added (its exit hook
 * may have looked for the entry a moment before it existed) the entry is taken back: no entry
 * outlives its process.
 */
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

#endif /* ITERATORS_BPF_H */
