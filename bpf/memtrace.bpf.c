// SPDX-License-Identifier: GPL-2.0
/*
 * memtrace-bpf kernel side: per-process memory statistics aggregated in a hash map (no event
 * per fault), the exact peak RSS kept at every RSS change, and a ring buffer for the rare
 * events (fork, exec, exit).
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

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768); /* resized by the loader */
	__type(key, __u32);	    /* tgid */
	__type(value, struct proc_stats);
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* resized by the loader */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MT_DROP_NR);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

static __always_inline void count_drop(__u32 what)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &what);

	if (n)
		*n += 1;
}

/*
 * Re-read all three RSS counters of mm (not a delta: a missed event cannot skew later
 * values) and keep the peak with its split.
 */
static __always_inline void account_rss(struct proc_stats *s, struct mm_struct *mm)
{
	__u64 file = (__u64)mm_counter_pages(mm, MT_MM_FILEPAGES) << page_shift;
	__u64 anon = (__u64)mm_counter_pages(mm, MT_MM_ANONPAGES) << page_shift;
	__u64 shmem = (__u64)mm_counter_pages(mm, MT_MM_SHMEMPAGES) << page_shift;
	__u64 rss = file + anon + shmem;

	s->file_bytes = file;
	s->anon_bytes = anon;
	s->shmem_bytes = shmem;
	if (rss > s->peak_rss_bytes) {
		s->peak_rss_bytes = rss;
		s->peak_file_bytes = file;
		s->peak_anon_bytes = anon;
		s->peak_shmem_bytes = shmem;
	}
}

/*
 * Records are few (fork, exec, exit) and user space drains the ring at every interval, so
 * they do not wake it (a wake-up costs ~16 us against ~0.8 us) unless the ring is half full.
 */
static __always_inline bool emit(__u32 type, __u32 pid, const struct proc_stats *s)
{
	struct mt_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (!e) {
		count_drop(MT_DROP_RINGBUF);
		return false;
	}
	e->type = type;
	e->pid = pid;
	e->ts_ns = bpf_ktime_get_ns();
	__builtin_memcpy(&e->stats, s, sizeof(*s));
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > ringbuf_bytes / 2)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(e, flags);
	return true;
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
	account_rss(s, mm);
	return 0;
}

static __always_inline int count_fault(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct proc_stats *s = bpf_map_lookup_elem(&procs, &tgid);

	if (s && !(s->flags & MT_PROC_PRE_EXEC))
		__sync_fetch_and_add(&s->faults, 1);
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
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct proc_stats *s;

	if (!tgid)
		return 0;
	s = bpf_map_lookup_elem(&procs, &tgid);
	if (s && !(s->flags & MT_PROC_PRE_EXEC))
		__sync_fetch_and_add(&s->pages_alloc, 1ULL << (order & 31));
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
	ps = bpf_map_lookup_elem(&procs, &ptgid);
	if (!ps || (ps->flags & MT_PROC_PRE_EXEC))
		return 0;

	init.start_ns = child->start_boottime;
	init.ppid = ptgid;
	bpf_probe_read_kernel(init.comm, sizeof(init.comm), child->comm);
	mm = child->mm;
	if (mm)
		account_rss(&init, mm);
	if (bpf_map_update_elem(&procs, &ctgid, &init, BPF_ANY)) {
		count_drop(MT_DROP_MAP_FULL);
		return 0;
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
	bpf_probe_read_kernel(s->comm, sizeof(s->comm), p->comm);
	if (s->flags & MT_PROC_PRE_EXEC) {
		/* The launched COMMAND starts here: forget the tracer's pre-exec image. */
		s->flags &= ~MT_PROC_PRE_EXEC;
		s->start_ns = BPF_CORE_READ(p, group_leader, start_boottime);
		s->faults = 0;
		s->pages_alloc = 0;
		s->peak_rss_bytes = 0;
	}
	mm = p->mm;
	if (mm)
		account_rss(s, mm);
	emit(MT_EV_EXEC, tgid, s);
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
	if (s)
		bpf_probe_read_kernel_str(s->comm, sizeof(s->comm), comm);
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

	s->exit_ns = bpf_ktime_get_ns();
	s->exit_status = task_exit_status(task);
	sig = task->signal;
	/* the other threads' times are already in signal_struct; the last one's are not yet */
	s->utime_ns = BPF_CORE_READ(sig, utime) + task->utime;
	s->stime_ns = BPF_CORE_READ(sig, stime) + task->stime;
	mm = task->mm;
	if (mm && !(s->flags & MT_PROC_PRE_EXEC))
		account_rss(s, mm);

	if (!emit(MT_EV_EXIT, tgid, s)) {
		s->flags |= MT_PROC_EXITED;
		return 0;
	}
	bpf_map_delete_elem(&procs, &tgid);
	return 0;
}
