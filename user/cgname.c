// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cgname.h"
#include "procfs.h"

/* the kernel's handle type for a kernfs node: its 64-bit id (include/linux/exportfs.h) */
#define FILEID_KERNFS 0xfe

/* open_by_handle_at takes a mount's fd opened for reading, not O_PATH (EBADF) */
int cgname_open(struct mt_cgname *n)
{
	int err = cgroupfs_find_mounts(&n->mounts);

	n->v1_fd = n->v2_fd = -1;
	if (err)
		return err;
	if (n->mounts.v1_mnt[0])
		n->v1_fd = open(n->mounts.v1_mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (n->mounts.v2_mnt[0])
		n->v2_fd = open(n->mounts.v2_mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return n->v1_fd < 0 && n->v2_fd < 0 ? -ENOENT : 0;
}

void cgname_close(struct mt_cgname *n)
{
	if (n->v1_fd >= 0)
		close(n->v1_fd);
	if (n->v2_fd >= 0)
		close(n->v2_fd);
	n->v1_fd = n->v2_fd = -1;
}

int cgname_from_dir(const char *dir, const char *mnt, const char *root, char *buf, size_t len)
{
	const char *rel;
	size_t root_len = strlen(root);
	int n;

	if (!cgroup_under_mount(dir, mnt, &rel))
		return -EINVAL;
	while (root_len && root[root_len - 1] == '/')
		root_len--;
	if (!root_len && !*rel)
		n = snprintf(buf, len, "/");
	else
		n = snprintf(buf, len, "%.*s%s", (int)root_len, root, rel);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int by_handle(int mnt_fd, const char *mnt, const char *root, uint64_t id, char *buf,
		     size_t len)
{
	union {
		struct file_handle fh;
		char space[sizeof(struct file_handle) + sizeof(uint64_t)];
	} h;
	char link[64], dir[MT_CG_PATH_MAX];
	ssize_t n;
	int fd, err;

	h.fh.handle_bytes = sizeof(uint64_t);
	h.fh.handle_type = FILEID_KERNFS;
	memcpy(h.fh.f_handle, &id, sizeof(id));
	fd = open_by_handle_at(mnt_fd, &h.fh, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, dir, sizeof(dir) - 1);
	err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	if ((size_t)n >= sizeof(dir) - 1)
		return -ENAMETOOLONG;
	dir[n] = '\0';
	return cgname_from_dir(dir, mnt, root, buf, len);
}

int cgname_lookup(void *ctx, uint64_t id, uint32_t pid, char *buf, size_t len)
{
	struct mt_cgname *n = ctx;
	char v2[MT_CG_PATH_MAX], v1[MT_CG_PATH_MAX];
	int err = -ENOENT;

	if (!id) {
		err = procfs_read_pid_cgroup((int)pid, v2, sizeof(v2), v1, sizeof(v1));
		if (err)
			return err;
		/* the memory controller's cgroup, as the BPF side records it */
		if (!v1[0] && !v2[0])
			return -ENOENT;
		return snprintf(buf, len, "%s", v1[0] ? v1 : v2) >= (int)len ? -ENAMETOOLONG : 0;
	}
	/*
	 * The id is the memory controller's cgroup: in its v1 hierarchy when it has one (ids are
	 * per hierarchy, so the other one could hold the same number for another cgroup).
	 */
	if (n->v1_fd >= 0)
		return by_handle(n->v1_fd, n->mounts.v1_mnt, n->mounts.v1_root, id, buf, len);
	if (n->v2_fd >= 0)
		err = by_handle(n->v2_fd, n->mounts.v2_mnt, n->mounts.v2_root, id, buf, len);
	return err;
}
