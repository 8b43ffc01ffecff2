/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading a whole file whose size is not known before: the kernel's text files (/proc, the
 * cgroup file systems) report a size of 0 and may be long (mountinfo in a busy container host).
 */
#ifndef MT_FILEIO_H
#define MT_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* The file into buf (len bytes, NUL included), what does not fit cut. Its length or -errno. */
ssize_t mt_read_into(const char *path, char *buf, size_t len);
/* The whole file as a malloc'd, NUL-terminated string in *text (free it). 0 or -errno. */
int mt_read_file(const char *path, char **text);

#endif
