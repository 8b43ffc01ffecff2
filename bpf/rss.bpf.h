/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmem/rss_stat: a traced process's RSS and peak at every change of its counters (with --exact
 * exact to the page, from the classic record), the fault slots folded in now and then, the -L
 * limit checked at the instant it is crossed, and with --python the change charged to the
 * Python stack of the thread that made it.
 */
#ifndef RSS_BPF_H
#define RSS_BPF_H

/*
 * -L: the RSS of s crossed the limit at this event. With --kill the signal goes out from
 * here, at the instant of crossing, when the process itself is running (the usual case: its
 * own fault); a crossing seen from another context (reclaim, /proc/PID/mem) is left to user
 * space, because bpf_send_signal() can only signal current.
 */
static __always_inline void limit_crossed(struct proc_stats *s, __u32 tgid, struct mm_struct *mm)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	__u32 ev_flags = 0;

	s->flags |= MT_PROC_LIMIT_HIT;
	if (limit_signal) {
		if (BPF_CORE_READ(cur, mm) != mm)
			ev_flags |= MT_EVF_SIGNAL_DEFERRED;
		else if (bpf_send_signal(limit_signal))
			ev_flags |= MT_EVF_SIGNAL_FAILED | MT_EVF_SIGNAL_DEFERRED;
	}
	emit_event(MT_EV_LIMIT, tgid, s, limit_signal, ev_flags, true);
}

/* Where the new value of the counter that changed comes from. */
enum rss_source {
	/* all three counters re-read from the mm, folded as /proc shows them */
	RSS_FOLDED,
	/* --exact, a change not made by the mm's own task (reclaim, exit, another process):
	 * only that counter, folded; the others keep the exact values their last change left */
	RSS_FOLDED_MEMBER,
	/* --exact: that counter's exact sum over the CPUs, from the classic record */
	RSS_EXACT_MEMBER,
};

/*
 * Counter `member` of mm changed (kmem/rss_stat). The change is attributed to the mm's owner,
 * not to current: with curr=0 it comes from exit teardown, reclaim or another process (a vfork
 * child charges its parent's mm). While fork copies a parent's page tables, the new mm's owner
 * is already the child but still carries the parent's tgid; the owner's own ->mm is not yet the
 * new mm, which is how the copy is told apart (the child's entry is filled from its mm at
 * sched_process_fork instead). The same test skips the old mm's teardown at exec and exit.
 * Both rss_stat programs end here, so a change is accounted the same way whichever saw it.
 */
static __always_inline void rss_changed(void *ctx, struct mm_struct *mm, int member,
					enum rss_source source, __u64 exact_bytes)
{
	struct task_struct *owner;
	__u64 file, anon, shmem;
	struct proc_stats *s;
	struct pending *p;
	__u32 tgid;

	if (member != MT_MM_FILEPAGES && member != MT_MM_ANONPAGES && member != MT_MM_SHMEMPAGES)
		return;
	owner = mm_owner(mm);
	if (!owner)
		owner = bpf_get_current_task_btf();
	if (owner->mm != mm)
		return;
	tgid = owner->tgid;
	s = bpf_map_lookup_elem(&procs, &tgid);
	if (!s || (s->flags & MT_PROC_PRE_EXEC))
		return;
	/* a fold costs two atomic adds: one in MT_FOLD_EVERY faults is enough for the samples */
	p = pending_of(tgid, s);
	if (p && p->faults + p->pages >= MT_FOLD_EVERY)
		fold_pending(s, p);
	file = s->file_bytes;
	anon = s->anon_bytes;
	shmem = s->shmem_bytes;
	if (source == RSS_FOLDED) {
		file = (__u64)mm_counter_pages(mm, MT_MM_FILEPAGES) << page_shift;
		anon = (__u64)mm_counter_pages(mm, MT_MM_ANONPAGES) << page_shift;
		shmem = (__u64)mm_counter_pages(mm, MT_MM_SHMEMPAGES) << page_shift;
	} else {
		__u64 bytes = source == RSS_EXACT_MEMBER ?
				      exact_bytes :
				      (__u64)mm_counter_pages(mm, member) << page_shift;

		if (member == MT_MM_FILEPAGES)
			file = bytes;
		else if (member == MT_MM_ANONPAGES)
			anon = bytes;
		else
			shmem = bytes;
	}
	/* only a thread of the process itself has its stacks to blame */
	if ((python_on || stacks_on) &&
	    (file != s->file_bytes || anon != s->anon_bytes || shmem != s->shmem_bytes) &&
	    bpf_get_current_task_btf()->mm == mm) {
		__s64 dfile = (__s64)(file - s->file_bytes), danon = (__s64)(anon - s->anon_bytes),
		      dshmem = (__s64)(shmem - s->shmem_bytes), grown = dfile + danon + dshmem;
		__u32 seq = 0;
		__u64 weight;

		set_rss(s, file, anon, shmem);
		if (stacks_on && grown > 0) {
			weight = stack_weight(tgid, (__u64)grown);
			if (weight)
				seq = stack_sample(ctx, tgid, weight, mt_rss_bytes(s), 0);
		}
		if (python_on)
			py_sample(tgid, dfile, danon, dshmem, mt_rss_bytes(s), 0, seq);
	} else {
		set_rss(s, file, anon, shmem);
	}
	if (rss_limit_bytes && !(s->flags & MT_PROC_LIMIT_HIT) &&
	    mt_rss_bytes(s) > rss_limit_bytes)
		limit_crossed(s, tgid, mm);
}

/*
 * The counters a tp_btf program can read are folded lazily: each CPU keeps up to
 * percpu_counter_batch pages of its own until then. Without --exact that is what is read (as
 * /proc shows it, and the cheapest); with it, this program keeps only the changes that the
 * classic record below cannot attribute.
 */
SEC("tp_btf/rss_stat")
int BPF_PROG(on_rss_stat, struct mm_struct *mm, int member)
{
	if (!rss_exact) {
		rss_changed(ctx, mm, member, RSS_FOLDED, 0);
		return 0;
	}
	/* a change to current's own mm (curr=1) is tp_rss_exact's: each event is one program's,
	 * whichever of the two the kernel calls first */
	if (bpf_get_current_task_btf()->mm != mm)
		rss_changed(ctx, mm, member, RSS_FOLDED_MEMBER, 0);
	return 0;
}

/*
 * --exact: the classic kmem/rss_stat record carries the counter's exact sum over the CPUs
 * (percpu_counter_sum_positive, computed by the kernel for the record since 6.2). It names its
 * mm only by a keyed hash, so only a change to the current task's own mm (curr=1: its faults,
 * munmap, brk; the bulk of every process's changes) can be attributed; on_rss_stat takes the
 * others. Attached by user space through perf_event_open (user/tracefs.c finds its id).
 */
SEC("tp/kmem/rss_stat")
int tp_rss_exact(struct trace_event_raw_rss_stat *ctx)
{
	struct mm_struct *mm;
	long size = ctx->size;

	if (!ctx->curr)
		return 0;
	mm = bpf_get_current_task_btf()->mm;
	if (mm)
		rss_changed(ctx, mm, ctx->member, RSS_EXACT_MEMBER, size < 0 ? 0 : (__u64)size);
	return 0;
}

#endif /* RSS_BPF_H */
