/* SPDX-License-Identifier: GPL-2.0 */
/*
 * -m SIZE: a fresh memory cgroup with a hard limit for the command (v2 memory.max, else v1
 * memory.limit_in_bytes), its peak and OOM-kill counters, and its removal afterwards, with a
 * guard process that removes it should memtrace-bpf be killed first.
 */
#ifndef MT_CGLIMIT_H
#define MT_CGLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "cgroupfs.h"

struct mt_cgroup {
	enum mt_cg_version version;
	/* absolute directory of the cgroup we created,
	 * e.g. /sys/fs/cgroup/memory/a/b/memtrace-bpf-1234 */
	char dir[MT_CG_PATH_MAX];
	/* the same cgroup relative to its hierarchy's root, as /proc/PID/cgroup and the kernel's
	 * OOM report name it, e.g. /a/b/memtrace-bpf-1234 */
	char path[MT_CG_PATH_MAX];
	/* absolute dir of the cgroup this (tracer) process is in, for the memory hierarchy:
	 * leftover processes are moved back there */
	char home_dir[MT_CG_PATH_MAX];
	/* the limit as the kernel reports it after writing (read back; rounded down to pages) */
	uint64_t limit_bytes;
	/* swap limited too (v2 memory.swap.max=0, v1 memory.memsw.limit_in_bytes=limit) */
	bool swap_limited;
	bool created;
	/* the guard (cgroup_guard_start): its pid and our end of its pipe, or -1 */
	int guard_pid;
	int guard_fd;
};

/*
 * Find the memory controller (v2 first if its root's cgroup.controllers lists "memory", else a
 * v1 "memory" hierarchy), create a fresh leaf cgroup named memtrace-bpf-<our pid> (with a -N
 * suffix if that exists), set the hard limit and (if the files exist) forbid swapping around
 * it. Prints one error line and returns -1 on failure. cg is reset first, so cgroup_destroy()
 * is safe on it whatever this returned.
 */
int cgroup_create_limited(struct mt_cgroup *cg, uint64_t limit_bytes);
/* The limit_bytes of a cgroup created to be measured, not limited (its peak is read). */
#define MT_CG_NO_LIMIT UINT64_MAX
/* SIGKILL every process in the cgroup (--trial-timeout), until none is left. */
void cgroup_kill_all(const struct mt_cgroup *cg);
/* Move pid into the cgroup (cgroup.procs). Returns 0 or -errno. */
int cgroup_attach(const struct mt_cgroup *cg, pid_t pid);
/*
 * Peak usage the kernel recorded: v2 memory.peak (missing before Linux 5.19: -ENOENT), v1
 * memory.max_usage_in_bytes. *source gets the file name. Returns 0 or -errno.
 */
int cgroup_read_peak(const struct mt_cgroup *cg, uint64_t *bytes, const char **source);
/*
 * OOM kills the kernel counted in this cgroup: v2 "oom_kill N" in memory.events, v1
 * "oom_kill N" in memory.oom_control. Returns 0 or -errno (-ENOENT: no such counter).
 */
int cgroup_read_oom_kills(const struct mt_cgroup *cg, uint64_t *count);
/*
 * Remove the cgroup: processes still in it (descendants of the command that outlived it) are
 * moved back to home_dir (with a warning naming how many), then rmdir, retrying on EBUSY for
 * about 2 s. Safe to call twice or on a cgroup never created (returns 0). On failure warns,
 * naming the directory to remove by hand, and returns -1.
 */
int cgroup_destroy(struct mt_cgroup *cg);

/*
 * A guard for a cgroup we created: a small process, forked now (before any BPF object is
 * loaded, so it holds none), in a session of its own, that removes the cgroup once it is empty
 * if this process dies without removing it (SIGKILL): nothing of ours outlives the tracer for
 * longer than the command it ran. Returns 0, or -1 (warned) when it cannot be started.
 */
int cgroup_guard_start(struct mt_cgroup *cg);
/* Ends the guard: done (the cgroup is gone), or left to remove the cgroup once it empties. */
void cgroup_guard_stop(struct mt_cgroup *cg, bool removed);

#endif
