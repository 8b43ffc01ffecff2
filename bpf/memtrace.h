/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Types shared by the BPF programs (bpf/memtrace.bpf.c) and the loader (user/).
 * Fixed-width types only: both sides must agree on every byte.
 */
#ifndef MEMTRACE_H
#define MEMTRACE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define MT_COMM_LEN 16

/* proc_stats.flags */
enum {
	/*
	 * Entry made by the launcher for a COMMAND that has not exec'd yet: its mm is still a
	 * copy of the tracer's own, so nothing is accounted until its first exec.
	 */
	MT_PROC_PRE_EXEC = 1u << 0,
	/* The process exited but its exit record could not be queued: user space emits the
	 * exit row from this entry and deletes it. */
	MT_PROC_EXITED = 1u << 1,
};

/*
 * One traced process (thread group). Map key: tgid. A reused pid is told apart by
 * start_ns (the group leader's start_boottime), which user space uses with the pid as
 * the process identity.
 */
struct proc_stats {
	__u64 start_ns;
	__u64 file_bytes;
	__u64 anon_bytes;
	__u64 shmem_bytes;
	/* exact peak of file + anon + shmem, and the split at that moment */
	__u64 peak_rss_bytes;
	__u64 peak_file_bytes;
	__u64 peak_anon_bytes;
	__u64 peak_shmem_bytes;
	__u64 faults;
	__u64 pages_alloc;
	/* filled in at exit */
	__u64 exit_ns;
	__u64 utime_ns;
	__u64 stime_ns;
	__u32 ppid;
	__u32 flags;
	/* wait(2) status: exit code << 8, or the terminating signal */
	__s32 exit_status;
	__u32 pad;
	char comm[MT_COMM_LEN];
};

enum mt_event_type {
	MT_EV_FORK = 1,
	MT_EV_EXEC = 2,
	MT_EV_EXIT = 3,
};

/* Ring-buffer record: only for rare events, never per fault. */
struct mt_event {
	__u32 type;
	__u32 pid;
	__u64 ts_ns; /* CLOCK_MONOTONIC */
	struct proc_stats stats;
};

/* Per-CPU loss counters, indexed by these. */
enum mt_drop {
	MT_DROP_RINGBUF = 0, /* a fork/exec/exit record did not fit in the ring buffer */
	MT_DROP_MAP_FULL,    /* a new process could not be added: it is not traced */
	MT_DROP_NR,
};

#endif /* MEMTRACE_H */
