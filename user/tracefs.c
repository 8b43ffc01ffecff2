// SPDX-License-Identifier: GPL-2.0
/*
 * Where tracefs is mounted at /sys/kernel/tracing, the id is read there. Where it is not, a
 * private instance of tracefs is made with the new mount API (fsopen, fsmount: Linux 5.2+)
 * and read through its file descriptor: it is never attached to any directory, so the host's
 * mounts are left exactly as found, nothing races other programs that mount or unmount tracefs,
 * and nothing stays mounted if memtrace-bpf dies half-way. Closing the descriptor frees it.
 * /sys/kernel/debug/tracing is not looked at: touching it mounts tracefs there (an automount).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>
#include "tracefs.h"

#define MT_TRACEFS_MOUNTED "/sys/kernel/tracing"

int mt_tracepoint_id_parse(const char *text)
{
	char *end;
	long id;

	if (*text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	id = strtol(text, &end, 10);
	if (errno || id <= 0 || id > INT_MAX || (*end && *end != '\n'))
		return -EINVAL;
	return (int)id;
}

/* The id file under root (a directory descriptor), or -errno. */
static int read_id_at(int root, const char *category, const char *name)
{
	char path[256], text[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "events/%s/%s/id", category, name);
	fd = openat(root, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	text[n] = '\0';
	return mt_tracepoint_id_parse(text);
}

/* A tracefs instance of our own, attached nowhere: its root as a descriptor, or -errno. */
static int private_tracefs(void)
{
	int fs, mnt, err;

	fs = fsopen("tracefs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -errno;
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0)) {
		err = -errno;
		close(fs);
		return err;
	}
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
	err = mnt < 0 ? -errno : 0;
	close(fs);
	return mnt < 0 ? err : mnt;
}

/* The mounted tracefs's root (not the empty directory sysfs has in its place), or -errno. */
static int open_mounted_tracefs(void)
{
	int fd = open(MT_TRACEFS_MOUNTED, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (faccessat(fd, "events", F_OK, 0)) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

int mt_tracepoint_id(const char *category, const char *name, const char **via)
{
	int root, id;

	root = open_mounted_tracefs();
	*via = "tracefs mounted at " MT_TRACEFS_MOUNTED;
	if (root < 0) {
		root = private_tracefs();
		*via = "a private tracefs instance (fsmount), mounted nowhere";
	}
	if (root < 0)
		return root;
	id = read_id_at(root, category, name);
	close(root);
	return id;
}
