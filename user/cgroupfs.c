// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cgroupfs.h"
#include "fileio.h"
#include "procfs.h"

int cgroupfs_find_mounts(struct cgroupfs_mounts *m)
{
	return procfs_read_mountinfo(m->v2_mnt, sizeof(m->v2_mnt), m->v2_root, sizeof(m->v2_root),
				     m->v1_mnt, sizeof(m->v1_mnt), m->v1_root, sizeof(m->v1_root));
}

/* ---- where a cgroup's directory is (pure) ---- */

/* whether an absolute path has a ".." component (a cgroup outside our namespace's root) */
static bool has_dotdot(const char *path)
{
	for (const char *p = path; (p = strstr(p, "..")); p += 2)
		if ((p == path || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))
			return true;
	return false;
}

int cgroup_join_dir(const char *mnt, const char *mnt_root, const char *cg_path, char *out,
		    size_t len)
{
	size_t mnt_len, root_len, rel_len;
	const char *rel;

	if (!out || !len)
		return -EINVAL;
	out[0] = '\0';
	if (!mnt || mnt[0] != '/' || !mnt_root || mnt_root[0] != '/' || !cg_path ||
	    cg_path[0] != '/' || has_dotdot(cg_path) || has_dotdot(mnt_root))
		return -EINVAL;
	root_len = strlen(mnt_root);
	while (root_len && mnt_root[root_len - 1] == '/')
		root_len--;
	if (strncmp(cg_path, mnt_root, root_len) ||
	    (cg_path[root_len] != '/' && cg_path[root_len] != '\0'))
		return -EINVAL;
	rel = cg_path + root_len; /* "" or "/..." */
	rel_len = strlen(rel);
	while (rel_len && rel[rel_len - 1] == '/')
		rel_len--;
	mnt_len = strlen(mnt);
	while (mnt_len > 1 && mnt[mnt_len - 1] == '/')
		mnt_len--;
	if (mnt_len == 1 && rel_len) /* mounted on "/" itself */
		mnt_len = 0;
	if (mnt_len + rel_len >= len)
		return -ENAMETOOLONG;
	memcpy(out, mnt, mnt_len);
	memcpy(out + mnt_len, rel, rel_len);
	out[mnt_len + rel_len] = '\0';
	return 0;
}

bool cgroup_list_has(const char *list, const char *name)
{
	size_t name_len = name ? strlen(name) : 0;
	const char *p = list;

	if (!list || !name_len)
		return false;
	while (*p) {
		const char *word;

		while (*p && isspace((unsigned char)*p))
			p++;
		word = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if ((size_t)(p - word) == name_len && !memcmp(word, name, name_len))
			return true;
	}
	return false;
}

bool cgroup_under_mount(const char *dir, const char *mnt, const char **rel)
{
	size_t n = mnt ? strlen(mnt) : 0;

	while (n > 1 && mnt[n - 1] == '/')
		n--;
	if (!n || !dir || dir[0] != '/')
		return false;
	if (n == 1) { /* mounted on "/" */
		*rel = dir[1] ? dir : "";
		return true;
	}
	if (strncmp(dir, mnt, n) || (dir[n] != '/' && dir[n] != '\0'))
		return false;
	*rel = dir + n;
	return true;
}

/* ---- control files ---- */

int cgroupfs_pathf(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

int cgroupfs_read(const char *dir, const char *name, char **text)
{
	char path[MT_CG_PATH_MAX + 64];
	int err = cgroupfs_pathf(path, sizeof(path), "%s/%s", dir, name);

	return err ? err : mt_read_file(path, text);
}

int cgroupfs_write(const char *dir, const char *name, const char *value)
{
	char path[MT_CG_PATH_MAX + 64];
	size_t len = strlen(value);
	ssize_t n;
	int fd, err;

	err = cgroupfs_pathf(path, sizeof(path), "%s/%s", dir, name);
	if (err)
		return err;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do
		n = write(fd, value, len);
	while (n < 0 && errno == EINTR);
	err = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
	close(fd);
	return err;
}

bool cgroupfs_exists(const char *dir, const char *name)
{
	char path[MT_CG_PATH_MAX + 64];

	return !cgroupfs_pathf(path, sizeof(path), "%s/%s", dir, name) && !access(path, F_OK);
}

/* a decimal number at *p ("max" is UINT64_MAX); 0 or -EINVAL */
static int parse_u64(const char *p, uint64_t *value)
{
	unsigned long long v;
	char *end;

	while (*p == ' ' || *p == '\t')
		p++;
	if (!strncmp(p, "max", 3) && (p[3] == '\0' || isspace((unsigned char)p[3]))) {
		*value = UINT64_MAX;
		return 0;
	}
	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	errno = 0;
	v = strtoull(p, &end, 10);
	if (errno || (*end && !isspace((unsigned char)*end)))
		return -EINVAL;
	*value = v;
	return 0;
}

int cgroupfs_read_u64(const char *dir, const char *name, uint64_t *value)
{
	char *text;
	int err = cgroupfs_read(dir, name, &text);

	if (err)
		return err;
	err = parse_u64(text, value);
	free(text);
	return err;
}

int cgroupfs_read_key(const char *dir, const char *name, const char *key, uint64_t *value)
{
	size_t key_len = strlen(key);
	char *text;
	int err = cgroupfs_read(dir, name, &text);

	if (err)
		return err;
	err = -ENOENT;
	for (const char *line = text; line && *line;) {
		if (!strncmp(line, key, key_len) && line[key_len] == ' ') {
			err = parse_u64(line + key_len + 1, value);
			break;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	free(text);
	return err;
}
