/* SPDX-License-Identifier: GPL-2.0 */
/*
 * -G CGROUP: the cgroup whose processes are traced, found from what the user gave, and asked
 * about while tracing (is a process in it, does it still exist).
 */
#ifndef MT_CGTARGET_H
#define MT_CGTARGET_H

#include <stdbool.h>
#include <stdint.h>
#include "cgroupfs.h"

struct mt_cg_target {
	enum mt_cg_version version; /* V2, or V1 for a v1 memory-controller hierarchy */
	char dir[MT_CG_PATH_MAX];   /* its directory, e.g. /sys/fs/cgroup/memory/a/b */
	char path[MT_CG_PATH_MAX];  /* relative to its hierarchy, as /proc/PID/cgroup shows it */
	uint64_t id;		    /* the kernel's cgroup id: the directory's inode number */
	int hierarchy_id;	    /* the hierarchy (/proc/cgroups); 0 for v2 */
};

/*
 * Resolve -G's argument: a directory under a cgroup2 mount or a v1 memory-controller mount,
 * or a path as /proc/PID/cgroup shows it (tried under the v2 mount, then the v1 memory one).
 * Prints one error line and returns -1 if it names no such cgroup.
 */
int cgroup_resolve_target(const char *arg, struct mt_cg_target *t);
/* Whether /proc/PID/cgroup puts pid in the target cgroup or below it. */
bool cgroup_pid_in_target(int pid, const struct mt_cg_target *t);
/* Whether the cgroup still exists (-G stops when it is removed). */
bool cgroup_target_exists(const struct mt_cg_target *t);

#endif
