/* SPDX-License-Identifier: GPL-2.0 */
/*
 * For the tests of one format (test_jsonl.c, test_mprof.c): a real writer (user/writer.c) on a
 * temporary file, rows on one time base, and what the writer wrote, read back byte for byte.
 * Functions static inline: a test file that needs only some of them still builds.
 */
#ifndef MT_TEST_WRITER_RUN_H
#define MT_TEST_WRITER_RUN_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "formats.h"
#include "writer.h"

#define MIB (1024ULL * 1024)
#define SEC 1000000000ULL
/* the time base every test uses: tracing started at mono 5 s, epoch 1700000000 s */
#define T0_MONO (5 * SEC)
#define T0_REAL (1700000000ULL * SEC)

static char out[1 << 22]; /* what the last writer wrote */

struct run {
	struct mt_writer w;
	char path[64];
};

static inline int run_open(struct run *r, const char *format, const char *cmdline)
{
	const struct mt_format_ops *ops = mt_format_by_name(format);
	int fd;

	snprintf(r->path, sizeof(r->path), "/tmp/mt-test-formats-XXXXXX");
	fd = mkstemp(r->path);
	if (fd < 0 || !ops)
		return -1;
	close(fd);
	if (writer_open(&r->w, r->path, ops, T0_MONO, T0_REAL, false))
		return -1;
	r->w.cmdline = cmdline;
	writer_header(&r->w);
	return 0;
}

/* close the writer and leave its whole output in out[] */
static inline const char *run_close(struct run *r)
{
	FILE *f;
	size_t n = 0;

	writer_close(&r->w);
	f = fopen(r->path, "r");
	if (f) {
		n = fread(out, 1, sizeof(out) - 1, f);
		fclose(f);
	}
	out[n] = '\0';
	unlink(r->path);
	return out;
}

static inline struct mt_row row_at(uint64_t ms, int pid, int ppid, enum mt_row_event event,
				  uint64_t rss)
{
	return (struct mt_row){
		.mono_ns = T0_MONO + ms * 1000000ULL,
		.pid = pid,
		.ppid = ppid,
		.comm = "proc",
		.event = event,
		.rss_bytes = rss,
		.anon_bytes = rss,
		.peak_rss_bytes = rss,
	};
}

static inline void row(struct run *r, uint64_t ms, int pid, int ppid, enum mt_row_event event,
		       uint64_t rss, bool root)
{
	struct mt_row x = row_at(ms, pid, ppid, event, rss);

	x.root = root;
	writer_row(&r->w, &x);
}

static inline void interval_end(struct run *r, uint64_t ms)
{
	writer_interval_end(&r->w, T0_MONO + ms * 1000000ULL);
}

#endif
