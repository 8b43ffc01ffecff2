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
/* --python: RSS changes charged to the Python stack that made them */
const volatile bool python_on = false;
/* --python: a thread's state may be searched for in the interpreter's list of threads (off
 * only to test the thread-specific-data path alone: MEMTRACE_BPF_PY_THREAD=tss) */
const volatile bool py_thread_list = true;
/* --stacks: user stacks sampled at RSS growth, one per stack_every bytes grown on average;
 * stack_size bytes of stack copied (DWARF mode), or the frame-pointer walk (stack_fp) */
const volatile bool stacks_on = false;
const volatile bool stack_fp = false;
const volatile __u64 stack_every = 256 * 1024;
const volatile __u32 stack_size = 8192;
/* --exact: RSS from the classic rss_stat record's exact sums (rss.bpf.h) */
const volatile bool rss_exact = false;

/* What the iterators (iterators.bpf.h) and user space pass each other around each run. */
/* processes the seeding iterator added (-a, -G) */
__u64 seeded_procs = 0;
/* set by user space before each read of the map through read_procs: every entry, not only
 * the changed ones (--every, the last read, the live view); entries_seen counts them all
 * (user space zeroes it before each read) */
bool report_all = false;
__u64 entries_seen = 0;

/*
 * One compiled unit, hence one object and one skeleton; the programs are grouped by job in
 * headers, each using only what this file and the headers above it define. The entries and the
 * event ring come first because every part writes into them; the fault slots are folded into
 * the entries by rss_stat and by exec and exit in the traced set; the OOM path and the seeding
 * iterator add a process through the traced set.
 */
#include "proc_stats.bpf.h"  /* the per-process entries (the traced set's map), RSS and its peak */
#include "events.bpf.h"      /* the ring of rare records, the drop counters */
#include "map_reader.bpf.h"  /* the entries read out every interval: first, see there */
#include "fault_slots.bpf.h" /* faults, page allocations: per CPU, folded later */
#include "python.bpf.h"      /* --python: the Python stack behind an RSS change */
#include "stacks.bpf.h"      /* --stacks: the user stack behind RSS growth */
#include "rss.bpf.h"         /* rss_stat: RSS at every change, the -L limit */
#include "traced_set.bpf.h"  /* who is traced: -a/-G, fork, exec, rename, exit, cgroup moves */
#include "oom.bpf.h"         /* mark_victim: the OOM report */
#include "iterators.bpf.h"   /* the running processes seeded */
