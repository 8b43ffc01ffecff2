/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A cgroup's path from the kernfs id the BPF side records (the cgroup directory's inode
 * number), as /proc/PID/cgroup would show it: the kernel opens the directory by its handle
 * (open_by_handle_at), so no hierarchy is walked. For the exporter's cgroup labels.
 */
#ifndef MT_CGNAME_H
#define MT_CGNAME_H

#include <stddef.h>
#include <stdint.h>
#include "cgroupfs.h"

struct mt_cgname {
	struct cgroupfs_mounts mounts;
	int v1_fd, v2_fd; /* the memory controller's v1 mount, the cgroup2 mount; -1: none */
};

/* Find the mounts and open them. 0, or -errno when neither hierarchy is mounted. */
int cgname_open(struct mt_cgname *n);
void cgname_close(struct mt_cgname *n);

/*
 * mt_cgroup_name_fn (ctx: a struct mt_cgname): the path of cgroup id, or with id 0 the memory
 * cgroup of process pid from /proc. 0 or -errno (-ESTALE: the cgroup is gone).
 */
int cgname_lookup(void *ctx, uint64_t id, uint32_t pid, char *buf, size_t len);

/*
 * Pure: the path in the hierarchy of a directory opened under mount mnt whose root in the
 * hierarchy is root ("/sys/fs/cgroup/memory/a/b" under "/sys/fs/cgroup/memory" with root "/"
 * is "/a/b"). 0, -EINVAL (not under the mount) or -ENAMETOOLONG.
 */
int cgname_from_dir(const char *dir, const char *mnt, const char *root, char *buf, size_t len);

#endif
