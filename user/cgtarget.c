// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include "cgtarget.h"
#include "log.h"
#include "procfs.h"

static int target_from_dir(struct mt_cg_target *t, const char *dir, enum mt_cg_version version,
			   const char *mnt_root, const char *rel)
{
	struct stat st;

	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return -ENOENT;
	t->version = version;
	t->id = (uint64_t)st.st_ino;
	snprintf(t->dir, sizeof(t->dir), "%s", dir);
	/* the hierarchy's own view: the mount's root plus what lies below the mount point */
	if (cgroupfs_pathf(t->path, sizeof(t->path), "%s%s",
		  strcmp(mnt_root, "/") ? mnt_root : (*rel ? "" : "/"), rel))
		return -ENAMETOOLONG;
	t->hierarchy_id = 0;
	if (version == MT_CG_V1) {
		t->hierarchy_id = procfs_read_cgroups("memory");
		if (t->hierarchy_id <= 0)
			return -ENOENT;
	}
	return 0;
}

static bool is_cgroup_fs(const char *dir)
{
	struct statfs fs;

	return !statfs(dir, &fs) && (fs.f_type == CGROUP_SUPER_MAGIC ||
				     fs.f_type == CGROUP2_SUPER_MAGIC);
}

int cgroup_resolve_target(const char *arg, struct mt_cg_target *t)
{
	struct cgroupfs_mounts m;
	char real[PATH_MAX], cg_path[MT_CG_PATH_MAX], dir[MT_CG_PATH_MAX];
	const char *rel;

	memset(t, 0, sizeof(*t));
	if (cgroupfs_find_mounts(&m)) {
		mt_err("cannot read /proc/self/mountinfo: -G needs /proc mounted");
		return -1;
	}

	/* a directory of a cgroup file system */
	if (realpath(arg, real)) {
		if (m.v2_mnt[0] && cgroup_under_mount(real, m.v2_mnt, &rel) &&
		    !target_from_dir(t, real, MT_CG_V2, m.v2_root, rel))
			return 0;
		if (m.v1_mnt[0] && cgroup_under_mount(real, m.v1_mnt, &rel) &&
		    !target_from_dir(t, real, MT_CG_V1, m.v1_root, rel))
			return 0;
		if (is_cgroup_fs(real)) {
			mt_err("'%s' is on a v1 cgroup hierarchy without the memory controller: give "
			       "a cgroup v2 path or a v1 memory-controller path (under %s)",
			       arg, m.v1_mnt[0] ? m.v1_mnt : m.v2_mnt);
			return -1;
		}
	}
	/* a path as /proc/PID/cgroup shows it: v2 first, then the v1 memory hierarchy */
	if (cgroupfs_pathf(cg_path, sizeof(cg_path), "%s%s", arg[0] == '/' ? "" : "/", arg) == 0) {
		if (m.v2_mnt[0] &&
		    !cgroup_join_dir(m.v2_mnt, m.v2_root, cg_path, dir, sizeof(dir)) &&
		    cgroup_under_mount(dir, m.v2_mnt, &rel) &&
		    !target_from_dir(t, dir, MT_CG_V2, m.v2_root, rel))
			return 0;
		if (m.v1_mnt[0] &&
		    !cgroup_join_dir(m.v1_mnt, m.v1_root, cg_path, dir, sizeof(dir)) &&
		    cgroup_under_mount(dir, m.v1_mnt, &rel) &&
		    !target_from_dir(t, dir, MT_CG_V1, m.v1_root, rel))
			return 0;
	}
	if (!m.v2_mnt[0] && !m.v1_mnt[0])
		mt_err("no cgroup '%s': neither a cgroup2 file system nor a v1 memory controller is "
		       "mounted (see /proc/self/mountinfo)",
		       arg);
	else
		mt_err("no cgroup '%s' (looked for it as a directory and under %s%s%s); list them "
		       "with: ls %s",
		       arg, m.v2_mnt[0] ? m.v2_mnt : "", m.v2_mnt[0] && m.v1_mnt[0] ? " and " : "",
		       m.v1_mnt[0] ? m.v1_mnt : "", m.v2_mnt[0] ? m.v2_mnt : m.v1_mnt);
	return -1;
}

bool cgroup_pid_in_target(int pid, const struct mt_cg_target *t)
{
	char v2[MT_CG_PATH_MAX], v1[MT_CG_PATH_MAX];
	const char *rel;

	if (procfs_read_pid_cgroup(pid, v2, sizeof(v2), v1, sizeof(v1)))
		return false;
	/* a cgroup path lies under the target's as a directory lies under a mount point */
	return cgroup_under_mount(t->version == MT_CG_V1 ? v1 : v2, t->path, &rel);
}

bool cgroup_target_exists(const struct mt_cg_target *t)
{
	struct stat st;

	return !stat(t->dir, &st) && (uint64_t)st.st_ino == t->id;
}
