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

/* processes the seeding iterator added (-a, -G) */
__u64 seeded_procs = 0;
/* set by user space before each read of the map through read_procs: every entry, not only
 * the changed ones (--every, the last read, the live view); entries_seen counts them all
 * (user space zeroes it before each read) */
bool report_all = false;
__u64 entries_seen = 0;

#include "proc_stats.bpf.h"  /* the entries (the traced set), RSS and its peak */
#include "events.bpf.h"      /* the ring of rare records, the drop counters */
#include "fault_slots.bpf.h" /* faults, page allocations: per CPU, folded later */
#include "rss.bpf.h"         /* rss_stat: RSS at every change, the -L limit */
#include "traced_set.bpf.h"  /* who is traced: -a/-G, fork, exec, rename, exit */
#include "oom.bpf.h"         /* mark_victim: the OOM report */

/*
 * -a, -G: the processes already running when tracing starts, added once by user space
 * running this iterator after every hook is attached; a process forked meanwhile is added by
 * on_fork too (whichever comes second finds the entry there). A process whose last thread
 * is exiting is skipped, and if one starts exiting while it is being added (its exit hook
 * may have looked for the entry a moment before it existed) the entry is taken back: no entry
 * outlives its process.
 */

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
