/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmem/rss_stat: a traced process's RSS and peak at every change of its counters, the fault
 * slots folded in now and then, the -L limit checked at the instant it is crossed, and with
 * --python the change charged to the Python stack of the thread that made it.
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

/*
 * kmem/rss_stat fires at every change of an mm's RSS counters. It is attributed to the mm's
 * owner, not to current: with curr=0 the change comes from exit teardown, reclaim or another
 * process (a vfork child charges its parent's mm). While fork copies a parent's page tables,
 * the new mm's owner is already the child but still carries the parent's tgid; the owner's
 * own ->mm is not yet the new mm, which is how the copy is told apart (the child's entry is
 * filled from its mm at sched_process_fork instead). The same test skips the old mm's
 * teardown at exec and exit.
 */
SEC("tp_btf/rss_stat")
int BPF_PROG(on_rss_stat, struct mm_struct *mm, int member)
{
	struct task_struct *owner;
	struct proc_stats *s;
	struct pending *p;
	__u32 tgid;

	if (member != MT_MM_FILEPAGES && member != MT_MM_ANONPAGES && member != MT_MM_SHMEMPAGES)
		return 0;
	owner = mm_owner(mm);
	if (!owner)
		owner = bpf_get_current_task_btf();
	if (owner->mm != mm)
		return 0;
	tgid = owner->tgid;
	s = bpf_map_lookup_elem(&procs, &tgid);
	if (!s || (s->flags & MT_PROC_PRE_EXEC))
		return 0;
	/* a fold costs two atomic adds: one in MT_FOLD_EVERY faults is enough for the samples */
	p = pending_of(tgid, s);
	if (p && p->faults + p->pages >= MT_FOLD_EVERY)
		fold_pending(s, p);
	if (python_on) {
		__u64 file = s->file_bytes, anon = s->anon_bytes, shmem = s->shmem_bytes;

		account_rss(s, mm);
		/* only a thread of the process itself has its Python stack to blame */
		if ((file != s->file_bytes || anon != s->anon_bytes || shmem != s->shmem_bytes) &&
		    bpf_get_current_task_btf()->mm == mm)
			py_sample(tgid, (__s64)(s->file_bytes - file), (__s64)(s->anon_bytes - anon),
				  (__s64)(s->shmem_bytes - shmem), mt_rss_bytes(s), 0);
	} else {
		account_rss(s, mm);
	}
	if (rss_limit_bytes && !(s->flags & MT_PROC_LIMIT_HIT) &&
	    mt_rss_bytes(s) > rss_limit_bytes)
		limit_crossed(s, tgid, mm);
	return 0;
}

#endif /* RSS_BPF_H */
