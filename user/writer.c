// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "writer.h"

#define FLUSH_THRESHOLD (64 * 1024)

const char *mt_row_event_name(enum mt_row_event event)
{
	switch (event) {
	case MT_ROW_START:
		return "start";
	case MT_ROW_SAMPLE:
		return "sample";
	case MT_ROW_EXIT:
		return "exit";
	case MT_ROW_OOM_KILL:
		return "oom_kill";
	case MT_ROW_LIMIT:
		return "limit";
	}
	return "?";
}

void detail_add_value(struct strbuf *sb, const char *value, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c <= ' ' || c >= 0x7f || c == '%' || c == '=' || c == '"' || c == ',')
			sb_addf(sb, "%%%02X", c);
		else
			sb_add(sb, (const char *)&c, 1);
	}
}

/* whether path's directory is shared and sticky (like /tmp); its owner in *owner */
static bool in_sticky_shared_dir(const char *path, uid_t *owner)
{
	char copy[PATH_MAX];
	struct stat st;

	snprintf(copy, sizeof(copy), "%s", path);
	if (stat(dirname(copy), &st))
		return false;
	*owner = st.st_uid;
	return (st.st_mode & S_ISVTX) && (st.st_mode & S_IWOTH);
}

/*
 * In a sticky world-writable directory another user may have planted the name: a symlink is
 * not followed (fs.protected_symlinks), and a file or FIFO that is neither ours nor the
 * directory owner's is not written (fs.protected_regular, fs.protected_fifos), whether those
 * sysctls are on or not. O_NONBLOCK: a planted FIFO cannot hold us before its owner is checked;
 * the truncation waits for the check too. Returns the fd or -errno (-ENXIO: a FIFO with no
 * reader, unless told to wait for one).
 */
static int open_shared(const char *path, uid_t dir_owner, bool wait_for_reader)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
	int err;

	if (fd < 0) {
		err = errno;
		/* a FIFO with no reader yet: ours waits for its reader, as anywhere else */
		if (err != ENXIO || lstat(path, &st))
			return -err;
		if (st.st_uid != geteuid() && st.st_uid != dir_owner)
			return -EACCES;
		if (!wait_for_reader)
			return -ENXIO;
		fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	if (fstat(fd, &st)) {
		err = -errno;
	} else if (st.st_uid != geteuid() && st.st_uid != dir_owner) {
		err = -EACCES;
	} else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) ||
		   (S_ISREG(st.st_mode) && ftruncate(fd, 0))) {
		err = -errno;
	} else {
		return fd;
	}
	close(fd);
	return err;
}

/* O_NONBLOCK first: a FIFO without a reader answers ENXIO instead of holding us silently. */
static int open_plain(const char *path, bool wait_for_reader)
{
	int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
	int fd = open(path, flags | O_NONBLOCK, 0644);

	if (fd < 0 && errno == ENXIO && wait_for_reader)
		fd = open(path, flags, 0644);
	if (fd < 0)
		return -errno;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int writer_open(struct mt_writer *w, const char *path, const struct mt_format_ops *ops,
		uint64_t start_mono_ns, uint64_t start_real_ns, bool wait_for_reader)
{
	struct stat st;
	uid_t dir_owner;

	memset(w, 0, sizeof(*w));
	sb_init(&w->buf);
	w->ops = ops;
	w->start_mono_ns = start_mono_ns;
	w->start_real_ns = start_real_ns;
	if (!path || !strcmp(path, "-")) {
		w->fd = STDOUT_FILENO;
		w->path = "stdout";
	} else {
		if (in_sticky_shared_dir(path, &dir_owner))
			w->fd = open_shared(path, dir_owner, wait_for_reader);
		else
			w->fd = open_plain(path, wait_for_reader);
		if (w->fd < 0)
			return w->fd;
		w->own_fd = true;
		w->path = path;
	}
	if (fstat(w->fd, &st) == 0) {
		w->regular = S_ISREG(st.st_mode);
		w->line_buffered = S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) ||
				   S_ISSOCK(st.st_mode);
		if (w->regular)
			w->committed = lseek(w->fd, 0, SEEK_CUR);
	}
	return 0;
}

/*
 * How many bytes of the buffer's first `upto` form whole records, and how many records that
 * is. The buffer always starts at a record's start. A record ends at a newline, unless the
 * format lets a quoted field (a process name, say) hold one.
 */
static size_t whole_records(const struct mt_writer *w, size_t upto, size_t *records)
{
	bool quotes = w->ops->quoted_newlines, quoted = false;
	size_t end = 0, n = 0;

	for (size_t i = 0; i < upto; i++) {
		char c = w->buf.data[i];

		if (c == '"' && quotes) {
			quoted = !quoted;
		} else if (c == '\n' && !quoted) {
			end = i + 1;
			n++;
		}
	}
	*records = n;
	return end;
}

int writer_flush(struct mt_writer *w)
{
	size_t done = 0;

	if (w->error) {
		sb_reset(&w->buf);
		return w->error;
	}
	while (done < w->buf.len) {
		ssize_t n = write(w->fd, w->buf.data + done, w->buf.len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			size_t kept, all, whole;

			w->error = n < 0 ? -errno : -EIO;
			whole = whole_records(w, done, &kept);
			whole_records(w, w->buf.len, &all);
			/* rows that did not make it whole are not written; a header that did not
			 * make it either was no row */
			if (w->ops->records_are_rows) {
				uint64_t lost = all - kept;

				if (w->ops->header_record && w->committed == 0 && !kept && lost)
					lost--;
				w->rows -= lost < w->rows ? lost : w->rows;
			}
			if (w->regular) {
				/* keep only complete records: cut back to the last one written */
				if (ftruncate(w->fd, w->committed + (off_t)whole) == 0)
					w->committed += (off_t)whole;
			}
			sb_reset(&w->buf);
			return w->error;
		}
		done += (size_t)n;
	}
	w->committed += (off_t)done;
	sb_reset(&w->buf);
	return 0;
}

static void after_line(struct mt_writer *w)
{
	if (w->line_buffered || w->buf.len >= FLUSH_THRESHOLD)
		writer_flush(w);
}

void writer_header(struct mt_writer *w)
{
	/* once per output, however many runs go into it */
	if (w->header_done)
		return;
	w->header_done = true;
	w->ops->header(w);
	after_line(w);
}

void writer_row(struct mt_writer *w, const struct mt_row *row)
{
	if (w->error || w->discard)
		return;
	w->ops->row(w, row);
	w->rows++;
	after_line(w);
}

void writer_interval_end(struct mt_writer *w, uint64_t mono_ns)
{
	if (w->error || !w->ops->interval_end)
		return;
	w->ops->interval_end(w, mono_ns);
	after_line(w);
}

void writer_close(struct mt_writer *w)
{
	writer_flush(w);
	if (w->ops && w->ops->free)
		w->ops->free(w);
	w->state = NULL;
	if (w->own_fd)
		close(w->fd);
	w->fd = -1;
	sb_free(&w->buf);
}

uint64_t writer_elapsed_ns(const struct mt_writer *w, uint64_t mono_ns)
{
	return mono_ns > w->start_mono_ns ? mono_ns - w->start_mono_ns : 0;
}

uint64_t writer_epoch_ns(const struct mt_writer *w, uint64_t mono_ns)
{
	return w->start_real_ns + writer_elapsed_ns(w, mono_ns);
}

void add_seconds(struct strbuf *sb, uint64_t ns, int decimals)
{
	uint64_t unit = 1000000000ULL;

	for (int i = 0; i < decimals; i++)
		unit /= 10;
	sb_addf(sb, "%llu.%0*llu", (unsigned long long)(ns / 1000000000ULL), decimals,
		(unsigned long long)(ns % 1000000000ULL / unit));
}
