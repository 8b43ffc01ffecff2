/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --stacks: which file each traced process had mapped where, and since when, kept beyond the
 * process's life, so a stack sampled just before it exited (or was OOM-killed) still finds its
 * binaries. Learnt from the kernel's own mmap records (perf_event_open dummy events, one per
 * CPU, host-wide: executable mappings, exec, fork), and from /proc/PID/maps for a process that
 * was running before them. Every record carries its CLOCK_MONOTONIC time and a lookup names the
 * time of the sample, so records applied in any order (the per-CPU buffers are not merged)
 * give the same answer.
 */
#ifndef MT_MAPTRACK_H
#define MT_MAPTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mt_maptrack;

/* One file mapping as a lookup returns it (valid until the next call that changes the tracker). */
struct mt_mapping {
	uint64_t start, end; /* [start, end) in the process */
	uint64_t pgoff;	     /* file offset of start */
	uint64_t ts_ns;	     /* when it was mapped (0: before tracing, from /proc) */
	uint32_t dev_major, dev_minor;
	uint64_t ino;
	const char *path; /* as the kernel named it: may end in " (deleted)" */
	bool exec;	  /* PROT_EXEC */
};

struct mt_maptrack *maptrack_new(void);
void maptrack_free(struct mt_maptrack *m);

/*
 * The kernel's records from now on: one dummy perf event per online CPU. Returns 0, or -errno
 * (the caller says what is lost: lookups then rest on /proc/PID/maps alone).
 */
int maptrack_open_perf(struct mt_maptrack *m);
/* Apply what the kernel recorded since the last call. Cheap when nothing happened. */
void maptrack_drain(struct mt_maptrack *m);
/* Records the kernel could not deliver (a full buffer), summed. */
uint64_t maptrack_lost(const struct mt_maptrack *m);

/* The events as the kernel's records give them; exported for the unit tests. */
void maptrack_mmap(struct mt_maptrack *m, uint32_t pid, uint64_t ts_ns, uint64_t start,
		   uint64_t len, uint64_t pgoff, uint32_t maj, uint32_t min, uint64_t ino,
		   bool exec, const char *path);
void maptrack_exec(struct mt_maptrack *m, uint32_t pid, uint64_t ts_ns);
void maptrack_fork(struct mt_maptrack *m, uint32_t pid, uint32_t ppid, uint64_t ts_ns);
/*
 * The process left at ts_ns (the kernel's exit record of its leader): maptrack_gone(), unless a
 * record shows it alive after that (a thread other than the leader exec'd) or the pid already
 * names a later process.
 */
void maptrack_exit(struct mt_maptrack *m, uint32_t pid, uint64_t ts_ns);
/* One record as the kernel writes it in the ring (len bytes, sample_id trailer included). */
void maptrack_record(struct mt_maptrack *m, const void *rec, size_t len);

/*
 * The mappings of a running process from /proc/PID/maps (its file mappings, ts 0), unless the
 * kernel's records already cover it. 0, or -errno (ENOENT: it is gone).
 */
int maptrack_read_proc(struct mt_maptrack *m, uint32_t pid);

/*
 * The file mapping that covered addr in process pid at time ts_ns: its own since its last exec
 * before ts_ns, else its parent's as they were at the fork (a child that has not exec'd shares
 * them). NULL when none is known.
 */
const struct mt_mapping *maptrack_find(struct mt_maptrack *m, uint32_t pid, uint64_t addr,
				       uint64_t ts_ns);
/*
 * Every mapping valid in pid at ts_ns (its own and inherited), lowest address first. Where a
 * later mapping covers part of an earlier one, only the visible parts are given (start and pgoff
 * moved). fn may look up (maptrack_find) but not change the tracker nor call maptrack_each.
 */
void maptrack_each(struct mt_maptrack *m, uint32_t pid, uint64_t ts_ns,
		   void (*fn)(void *ctx, const struct mt_mapping *map), void *ctx);

/*
 * The process left (its exit record was handled): what is known of it is dropped at the next
 * maptrack_forget_gone(), once every record that names it has been handled.
 */
void maptrack_gone(struct mt_maptrack *m, uint32_t pid);
void maptrack_forget_gone(struct mt_maptrack *m);

#endif
