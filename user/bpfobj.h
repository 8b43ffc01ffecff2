/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The BPF object from user space: its life (open, size, load and attach what the plan in
 * programs.h holds, detach) and its maps (the traced set, the ring buffer of rare records, the
 * loss counters). What to load and what a refusal costs is decided in programs.c, not here.
 */
#ifndef MT_BPFOBJ_H
#define MT_BPFOBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "memtrace.h"
#include "programs.h"

struct bpf_link;
struct bpf_program;
struct memtrace_bpf;
struct ring_buffer;

/*
 * Records come as struct mt_event; an MT_EV_OOM record is a whole struct mt_oom_event, the
 * MT_EV_PY_* records (which share its first fields) a whole struct mt_py_sample or mt_py_code.
 */
typedef void (*mt_event_fn)(void *ctx, const struct mt_event *event);

struct mt_bpfobj {
	struct memtrace_bpf *skel;
	struct ring_buffer *rb;
	mt_event_fn on_event;
	void *ctx;
	int procs_fd;
	uint32_t max_procs;
	uint32_t ringbuf_bytes;
	bool rss_batched;	/* rss_stat(mm, member, count): RSS counted in per-thread batches */
	/* --exact: kmem/rss_stat's id (perf_event_open attaches by it) and where it was read */
	int exact_tp_id;
	const char *exact_tp_via;
	/* which programs run: the kernel's hooks, less what it refused (user/programs.h) */
	struct mt_load_plan plan;
	/* MEMTRACE_BPF_REFUSE: refusals the loader meets on purpose */
	enum mt_refuse_at injected[MT_PROG_NR];
	unsigned loads; /* loads of the BPF object: more than one when the kernel refused a program */
	double open_ms, load_ms, attach_ms; /* start-up phases, all loads together (-v) */
	/* each program of the table in the open object, and the skeleton's slot for its link */
	struct bpf_program *progs[MT_PROG_NR];
	struct bpf_link **links[MT_PROG_NR];
	bool percpu_lookup; /* bpf_map_lookup_percpu_elem (5.19+) */
	struct bpf_link *read_link; /* the map iterator that gives changed entries only */
	uint64_t entries;	    /* entries in the set at the latest bpfobj_for_each */
	bool told_reader;	    /* -v said the iterator is in use */
	char *read_buf;
	/* scratch for map reads */
	uint32_t *keys;
	struct proc_stats *values;
	size_t scratch_len;
	int stats_fd;		/* -v: BPF_ENABLE_STATS, for the cost report at the end */
	double attached_ms;	/* when the programs were attached (ms_now clock) */
};

struct mt_bpfobj_opts {
	bool follow_children;
	uint32_t max_procs;
	uint64_t rss_limit_bytes; /* -L, 0: none */
	int limit_signal;	  /* --kill: sent at the crossing, 0: warn only */
	enum mt_target_mode mode; /* who is traced */
	/* MT_MODE_CGROUP: the cgroup (kernfs id), its hierarchy (0: v2), v1 memory or v2 */
	uint64_t cgroup_id;
	int hierarchy_id;
	bool cgroup_v1;
	/* MEMTRACE_BPF_REFUSE (mt_parse_refusals), or NULL */
	const enum mt_refuse_at *refuse;
	/* --python: RSS changes charged to Python stacks (MT_EV_PY_* records) */
	bool python;
	bool py_no_thread_list; /* MEMTRACE_BPF_PY_THREAD=tss: no search of the thread list */
	/* --exact: RSS from the classic rss_stat record's exact sums (Linux 6.2+) */
	bool exact;
	/* --stacks: user stacks at RSS growth (MT_EV_STACK records), one per stack_every bytes
	 * grown on average; stack_size bytes of stack copied, or the frame-pointer walk */
	bool stacks;
	bool stack_fp;
	uint64_t stack_every;
	uint32_t stack_size;
};

/* Checks, opens, loads and attaches. On failure prints one error line and returns -1. */
int bpfobj_start(struct mt_bpfobj *t, const struct mt_bpfobj_opts *opts, mt_event_fn on_event,
		 void *ctx);
/* Detaches and frees everything; safe at any point of a start, or before one. */
void bpfobj_stop(struct mt_bpfobj *t);

/*
 * -a, -G: add the processes running now that belong to the target (after bpfobj_start: a
 * process forked meanwhile is added by the fork hook) with the BPF task iterator. Returns how
 * many, 0 when the kernel refused the iterator (the caller looks in /proc), or -errno.
 */
long bpfobj_seed(struct mt_bpfobj *t);

/* Put a process in the traced set. Returns 0 or -errno. */
int bpfobj_add(struct mt_bpfobj *t, uint32_t pid, const struct proc_stats *init);
int bpfobj_remove(struct mt_bpfobj *t, uint32_t pid);
/* The same, but -EEXIST if the pid is in the set already. */
int bpfobj_add_new(struct mt_bpfobj *t, uint32_t pid, const struct proc_stats *init);
bool bpfobj_has(struct mt_bpfobj *t, uint32_t pid);

/* Drain the ring buffer into on_event. Returns the number of records, or -errno. */
int bpfobj_drain(struct mt_bpfobj *t);
/* A file descriptor that becomes readable when the ring buffer wants draining. */
int bpfobj_event_fd(struct mt_bpfobj *t);

typedef void (*mt_proc_fn)(void *ctx, uint32_t pid, const struct proc_stats *stats);
/*
 * Call fn for the entries of the traced set that changed since they were last given (all of
 * them with all set, or where the kernel lacks map iterators); t->entries gets how many the
 * set holds. Returns 0 or -errno.
 */
int bpfobj_for_each(struct mt_bpfobj *t, mt_proc_fn fn, void *ctx, bool all);

/* --python: the offsets of an interpreter build in a slot, a CPython process in or out. 0 or -errno. */
int bpfobj_py_offsets(struct mt_bpfobj *t, uint32_t slot, const struct mt_py_offsets *o);
int bpfobj_py_add(struct mt_bpfobj *t, uint32_t pid, const struct mt_py_proc *proc);
int bpfobj_py_remove(struct mt_bpfobj *t, uint32_t pid);
/* Whether the process is in the BPF side's set of CPython processes (a fork copies it there). */
bool bpfobj_py_has(struct mt_bpfobj *t, uint32_t pid);

/* Sum of the per-CPU loss counters. */
void bpfobj_drops(struct mt_bpfobj *t, uint64_t drops[MT_DROP_NR]);
/*
 * Each loaded program's runs and run time as the kernel counts them (bpf_stats: only while
 * they are enabled, by kernel.bpf_stats_enabled or -v).
 */
typedef void (*mt_prog_stats_fn)(void *ctx, const char *name, uint64_t runs, uint64_t run_ns);
void bpfobj_prog_stats(struct mt_bpfobj *t, mt_prog_stats_fn fn, void *ctx);

#endif
