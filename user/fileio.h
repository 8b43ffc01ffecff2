/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading a whole file whose size is not known before: the kernel's text files (/proc, the
 * cgroup file systems) report a size of 0 and may be long (mountinfo in a busy container host).
 */
#ifndef MT_FILEIO_H
#define MT_FILEIO_H

/* The whole file as a malloc'd, NUL-terminated string in *text (free it). 0 or -errno. */
int mt_read_file(const char *path, char **text);

#endif
