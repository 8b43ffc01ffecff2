/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The cgroup file systems: where the cgroup2 hierarchy and the v1 memory-controller hierarchy
 * are mounted, how a cgroup's path maps to its directory there, and its control files read
 * and written. -m and -G stand on this; it knows neither.
 */
#ifndef MT_CGROUPFS_H
#define MT_CGROUPFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MT_CG_PATH_MAX 4096

enum mt_cg_version { MT_CG_NONE = 0, MT_CG_V1 = 1, MT_CG_V2 = 2 };

/* Each hierarchy's mount point and that mount's root in the hierarchy ("" when not mounted). */
struct cgroupfs_mounts {
	char v2_mnt[MT_CG_PATH_MAX], v2_root[MT_CG_PATH_MAX];
	char v1_mnt[MT_CG_PATH_MAX], v1_root[MT_CG_PATH_MAX]; /* the v1 memory controller's */
};

/* The mounts this process sees (/proc/self/mountinfo). 0 or -errno. */
int cgroupfs_find_mounts(struct cgroupfs_mounts *m);

/* snprintf for paths: a path cut short names another file, so -ENAMETOOLONG instead. 0 or that. */
int __attribute__((format(printf, 3, 4))) cgroupfs_pathf(char *out, size_t len, const char *fmt,
							  ...);

/* Control files: NAME in the cgroup directory DIR. Each returns 0 or -errno. */

/* The whole file, malloc'd, in *text. */
int cgroupfs_read(const char *dir, const char *name, char **text);
/* One write(2) of the whole value: the kernel takes a control file's value from one write. */
int cgroupfs_write(const char *dir, const char *name, const char *value);
bool cgroupfs_exists(const char *dir, const char *name);
/* A file holding one number ("max" reads as UINT64_MAX); -EINVAL if it holds something else. */
int cgroupfs_read_u64(const char *dir, const char *name, uint64_t *value);
/* The "KEY N" line of a flat keyed file (memory.events, memory.oom_control); -ENOENT: none. */
int cgroupfs_read_key(const char *dir, const char *name, const char *key, uint64_t *value);

/* Pure (no file access). */

/*
 * Where an absolute, canonical directory lies: under mnt (a mount point), with *rel set to
 * the rest ("" for the mount point itself, else "/a/b"). Returns false if not under it.
 */
bool cgroup_under_mount(const char *dir, const char *mnt, const char **rel);

/*
 * Join a mount point, that mount's root and a cgroup path into a directory:
 * ("/sys/fs/cgroup", "/", "/a/b") -> /sys/fs/cgroup/a/b; ("/mnt", "/a", "/a/b") -> /mnt/b.
 * Trailing slashes are dropped. Returns 0, -EINVAL (an argument not absolute, the path not
 * under the root, or a ".." component) or -ENAMETOOLONG.
 */
int cgroup_join_dir(const char *mnt, const char *mnt_root, const char *cg_path, char *out,
		    size_t len);
/* Whether a whitespace separated list (cgroup.controllers, ...) holds name as a whole word. */
bool cgroup_list_has(const char *list, const char *name);

#endif
