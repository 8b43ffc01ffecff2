/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The time series with no format in it: the row the sampler hands over, the ops a format
 * fills in, and the writer that owns the output (opened safely, flushed, cut back to whole
 * records when a write fails), so that a format only turns rows into text. Which formats
 * there are: formats.h.
 */
#ifndef MT_WRITER_H
#define MT_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "strbuf.h"

enum mt_row_event {
	MT_ROW_START,
	MT_ROW_SAMPLE,
	MT_ROW_EXIT,
	MT_ROW_OOM_KILL,
	MT_ROW_LIMIT,
};

const char *mt_row_event_name(enum mt_row_event event);

/*
 * Append a value for a row's `detail` key=value list: '%', space, '=', '"', ',' and bytes
 * outside printable ASCII become %XX, so the value never breaks the list, nor the CSV or JSON
 * it ends up in.
 */
void detail_add_value(struct strbuf *sb, const char *value, size_t len);

struct mt_row {
	uint64_t mono_ns; /* CLOCK_MONOTONIC time of the row */
	int pid;
	int ppid;
	const char *comm; /* NUL-terminated, untrusted */
	enum mt_row_event event;
	uint64_t rss_bytes;
	uint64_t anon_bytes;
	uint64_t file_bytes;
	uint64_t shmem_bytes;
	uint64_t peak_rss_bytes;
	int64_t rss_delta_bytes;
	uint64_t faults;
	uint64_t pages_alloc;
	const char *detail; /* key=value ..., values by detail_add_value; may be NULL */
	bool root; /* a root of the trace (the COMMAND, a -p process): mprof's MEM, not a CHLD */
};

struct mt_writer;

struct mt_format_ops {
	const char *name;
	/*
	 * What the writer needs to know of a format when a write fails, to cut the output back to
	 * whole records and count only the rows that went out whole:
	 *  quoted_newlines: a record may hold newlines inside double quotes (RFC 4180); without
	 *	it every newline ends a record.
	 *  header_record: the header is one record, the output's first, and no row.
	 *  records_are_rows: every record after the header is a row; without it the records are
	 *	the format's own (per interval, say) and the row count stays as it is.
	 */
	bool quoted_newlines;
	bool header_record;
	bool records_are_rows;
	/* its rows can carry the number of their run (w->run_column): --repeat */
	bool holds_runs;
	void (*header)(struct mt_writer *w);
	void (*row)(struct mt_writer *w, const struct mt_row *row);
	/* Optional: the sampler finished one interval at mono_ns (every row of it written). */
	void (*interval_end)(struct mt_writer *w, uint64_t mono_ns);
	/* Optional: free what the format keeps in w->state. */
	void (*free)(struct mt_writer *w);
};

struct mt_writer {
	const struct mt_format_ops *ops;
	const char *path; /* for messages: "stdout" or the file name */
	int fd;
	bool own_fd;
	bool line_buffered; /* pipes and terminals get every line as it is made */
	bool regular;	    /* a regular file: a failed write is cut back to whole lines */
	off_t committed;    /* file offset after the last complete line written */
	struct strbuf buf;
	uint64_t rows;
	int error; /* first write error (-errno); later rows are dropped */
	/* time base: rows carry CLOCK_MONOTONIC, printed as epoch and elapsed seconds */
	uint64_t start_mono_ns;
	uint64_t start_real_ns;
	/* what is traced, as a command line (mprof's CMDLINE); set before writer_header */
	const char *cmdline;
	/* --repeat, --find-min-limit: every row says which run it belongs to, and elapsed_s counts
	 * from that run's start (the time base is moved at each run) */
	bool run_column;
	unsigned run;
	/* a warm-up run: traced, but its rows are not written */
	bool discard;
	bool header_done;
	void *state; /* the format's own, freed by ops->free */
};

/*
 * Open FILE (NULL or "-": stdout). In a sticky world-writable directory (/tmp) a symlink is
 * not followed, so nobody can plant one there to make root overwrite a file. A FIFO that no
 * process reads yet: with wait_for_reader, wait until one opens it; without, -ENXIO at once
 * (so that the caller can say what it waits for first). Returns 0 or -errno.
 */
int writer_open(struct mt_writer *w, const char *path, const struct mt_format_ops *ops,
		uint64_t start_mono_ns, uint64_t start_real_ns, bool wait_for_reader);
void writer_header(struct mt_writer *w);
void writer_row(struct mt_writer *w, const struct mt_row *row);
/* The end of one sampling interval (formats that write per interval, such as mprof). */
void writer_interval_end(struct mt_writer *w, uint64_t mono_ns);
/* Write out what is buffered. Returns 0 or the first write error (-EPIPE, -ENOSPC, ...). */
int writer_flush(struct mt_writer *w);
void writer_close(struct mt_writer *w);

/*
 * For the formats: a row's CLOCK_MONOTONIC time on the trace's time base, as seconds since the
 * trace started and since the epoch. A row stamped before the start counts as at the start.
 */
uint64_t writer_elapsed_ns(const struct mt_writer *w, uint64_t mono_ns);
uint64_t writer_epoch_ns(const struct mt_writer *w, uint64_t mono_ns);
/*
 * ns as seconds with `decimals` (1 to 9) digits after the point, cut rather than rounded: every
 * format cuts the same way, so the times of one row agree to the digit whatever the format.
 */
void add_seconds(struct strbuf *sb, uint64_t ns, int decimals);

#endif
