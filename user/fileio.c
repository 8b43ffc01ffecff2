// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include "fileio.h"

/* Read until buf is full or the file ends: the kernel's text files may come in several reads. */
static ssize_t read_until_full(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

ssize_t mt_read_into(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t got;

	if (fd < 0)
		return -errno;
	got = read_until_full(fd, buf, len - 1);
	close(fd);
	if (got >= 0)
		buf[got] = '\0';
	return got;
}

int mt_read_file(const char *path, char **text)
{
	size_t cap = 4096, len = 0;
	char *buf = NULL, *bigger;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (;;) {
		bigger = realloc(buf, cap);
		if (!bigger) {
			free(buf);
			close(fd);
			return -ENOMEM;
		}
		buf = bigger;
		ssize_t n = read_until_full(fd, buf + len, cap - len - 1);
		if (n < 0) {
			free(buf);
			close(fd);
			return (int)n;
		}
		len += (size_t)n;
		if (len + 1 < cap)
			break; /* the file ended before the buffer was full */
		cap *= 2;
	}
	close(fd);
	buf[len] = '\0';
	*text = buf;
	return 0;
}
