/* SPDX-License-Identifier: GPL-2.0 */
/*
 * page_fault_user and mm_page_alloc fire on every fault on the host, traced or not: they count
 * into a per-CPU slot, not into the process's entry. The folds into the entries (when: below)
 * are defined here and called from rss.bpf.h and traced_set.bpf.h too, which is why this part
 * comes before them.
 */
#ifndef FAULT_SLOTS_BPF_H
#define FAULT_SLOTS_BPF_H

/*
 * Faults and page allocations are counted per CPU first, for the process last seen here, and
 * added to its entry by an RSS change once MT_FOLD_EVERY have gathered, when another
 * process's event comes to this CPU, or at exec and exit (every CPU swept). A fault then
 * costs a per-CPU array access instead of a hash lookup: the hot path is page_fault_user +
 * mm_page_alloc + rss_stat, each once per fault, and two hash lookups of three are gone.
 *
 * A slot is written by its own CPU, from process context or an interrupt nested in it (the
 * same program does not nest on a CPU), and, with bpf_map_lookup_percpu_elem (5.19+), by the
 * exec and exit sweeps of another CPU; the only update a plain add can lose is a page
 * allocated by an interrupt that lands inside a fold (such pages are counted to whoever was
 * running anyway). A running process's counts reach its entry at the latest after
 * MT_FOLD_EVERY events on a CPU, or when another process runs there. Its exit row is exact
 * with the sweep; before 5.19 what its threads left on other CPUs (under MT_FOLD_EVERY each)
 * is not in it.
 */
#define MT_FOLD_EVERY 32

struct pending {
	__u32 tgid;
	/* tgid untraced (ident 0): trace_epoch when that was found */
	__u32 epoch;
	/* tgid traced: pending_ident() of its entry, whom the counts belong to (a pid can be
	 * reused); 0: untraced, nothing is counted */
	__u64 ident;
	__u64 faults;
	__u64 pages;
};

/* bumped whenever a process becomes traced (an entry added, a COMMAND's exec): a CPU whose
 * slot found its process untraced looks again */
__u32 trace_epoch = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pending);
} pending SEC(".maps");

/* possible CPUs, for the sweep at exit, and whether the kernel has
 * bpf_map_lookup_percpu_elem (5.19+) to look at another CPU's counts (set by the loader) */
const volatile __u32 nr_cpus = 1;
const volatile bool percpu_lookup = false;

/* Move p's counts into s, the entry they belong to (p is this CPU's, or another's at exit). */
static __always_inline void fold_pending(struct proc_stats *s, struct pending *p)
{
	__u64 faults = p->faults, pages = p->pages;

	if (!faults && !pages)
		return;
	p->faults = 0;
	p->pages = 0;
	__sync_fetch_and_add(&s->faults, faults);
	__sync_fetch_and_add(&s->pages_alloc, pages);
	s->gen++;
}

/* Who an entry is, for the slots: its start time (never 0 here) */
static __always_inline __u64 pending_ident(const struct proc_stats *s)
{
	return s->start_ns + 1;
}

static __always_inline void bump_trace_epoch(void)
{
	__sync_fetch_and_add(&trace_epoch, 1);
}

/*
 * This CPU's slot for tgid's faults and page allocations, or NULL when tgid is not traced.
 * The hash map is looked up only when another process's event comes to this CPU (or, for an
 * untraced process, when something became traced since): what the slot held for the
 * previous process goes to it first.
 */
static __always_inline struct pending *pending_for(__u32 tgid)
{
	__u32 zero = 0, epoch;
	struct pending *p = bpf_map_lookup_elem(&pending, &zero);
	struct proc_stats *s;

	if (!p)
		return NULL;
	if (p->tgid == tgid) {
		if (p->ident)
			return p;
		if (p->epoch == trace_epoch)
			return NULL;
	} else if (p->ident && (p->faults || p->pages)) {
		s = bpf_map_lookup_elem(&procs, &p->tgid);
		if (s && pending_ident(s) == p->ident)
			fold_pending(s, p);
	}
	/* the epoch before the lookup: an entry added after it bumps it again */
	epoch = *(volatile __u32 *)&trace_epoch;
	p->tgid = tgid;
	p->epoch = epoch;
	p->ident = 0;
	p->faults = 0;
	p->pages = 0;
	s = bpf_map_lookup_elem(&procs, &tgid);
	if (s && !(s->flags & MT_PROC_PRE_EXEC)) {
		p->ident = pending_ident(s);
		return p;
	}
	return NULL;
}

/* This CPU's slot if it holds counts of s (tgid's entry). */
static __always_inline struct pending *pending_of(__u32 tgid, struct proc_stats *s)
{
	__u32 zero = 0;
	struct pending *p = bpf_map_lookup_elem(&pending, &zero);

	return p && p->tgid == tgid && p->ident == pending_ident(s) ? p : NULL;
}

/*
 * Exec and exit: s's counts left on any CPU (threads that ran elsewhere) go to s; at exit the
 * slots let go of the pid, which may be reused.
 */
static __always_inline void sweep_pending(struct proc_stats *s, __u32 tgid, bool release)
{
	__u32 zero = 0, cpu;
	struct pending *p;

	if (!percpu_lookup) {
		p = pending_of(tgid, s);
		if (p) {
			fold_pending(s, p);
			if (release)
				p->tgid = 0;
		}
		return;
	}
	for (cpu = 0; cpu < nr_cpus && cpu < MT_MAX_CPUS; cpu++) {
		p = bpf_map_lookup_percpu_elem(&pending, &zero, cpu);
		if (p && p->tgid == tgid && p->ident == pending_ident(s)) {
			fold_pending(s, p);
			if (release)
				p->tgid = 0;
		}
	}
}

static __always_inline int count_fault(void)
{
	struct pending *p = pending_for(bpf_get_current_task_btf()->tgid);

	/* this CPU's own slot: no lock prefix (see struct pending) */
	if (p)
		p->faults++;
	return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(on_fault)
{
	return count_fault();
}

/* Twin for kernels whose BTF lacks the tracepoint's typedef; needs tracefs. */
SEC("tp/exceptions/page_fault_user")
int tp_fault(void *ctx)
{
	return count_fault();
}

static __always_inline int count_pages(unsigned int order)
{
	__u32 tgid = bpf_get_current_task_btf()->tgid;
	struct pending *p;

	if (!tgid) /* the idle task (interrupts): nobody's */
		return 0;
	p = pending_for(tgid);
	if (p)
		p->pages += 1ULL << (order & 31);
	return 0;
}

SEC("tp_btf/mm_page_alloc")
int BPF_PROG(on_page_alloc, struct page *page, unsigned int order)
{
	return count_pages(order);
}

SEC("tp/kmem/mm_page_alloc")
int tp_page_alloc(struct trace_event_raw_mm_page_alloc *ctx)
{
	return count_pages(ctx->order);
}

#endif /* FAULT_SLOTS_BPF_H */
