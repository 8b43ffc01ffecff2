/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The iterators user space runs: one that adds the processes already running (-a, -G), and
 * the one that reads the entries out every interval.
 */
#ifndef ITERATORS_BPF_H
#define ITERATORS_BPF_H

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

#endif /* ITERATORS_BPF_H */
