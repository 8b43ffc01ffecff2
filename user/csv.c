// SPDX-License-Identifier: GPL-2.0
#include <stdbool.h>
#include <string.h>
#include "csv.h"

void csv_add_field(struct strbuf *sb, const char *field, size_t len)
{
	bool quote = false;

	for (size_t i = 0; i < len; i++) {
		char c = field[i];

		if (c == ',' || c == '"' || c == '\r' || c == '\n') {
			quote = true;
			break;
		}
	}
	if (!quote) {
		sb_add(sb, field, len);
		return;
	}
	sb_add(sb, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		if (field[i] == '"')
			sb_add(sb, "\"", 1);
		sb_add(sb, &field[i], 1);
	}
	sb_add(sb, "\"", 1);
}

static void csv_header(struct mt_writer *w)
{
	sb_adds(&w->buf, "unix_time,elapsed_s,pid,ppid,comm,event,rss_bytes,anon_bytes,file_bytes,"
			 "shmem_bytes,peak_rss_bytes,rss_delta_bytes,faults,pages_alloc,detail");
	/* a column only when there are runs: a single run's table stays as it always was */
	sb_adds(&w->buf, w->run_column ? ",run\n" : "\n");
}

static void csv_row(struct mt_writer *w, const struct mt_row *r)
{
	struct strbuf *sb = &w->buf;

	add_seconds(sb, writer_epoch_ns(w, r->mono_ns), 6);
	sb_add(sb, ",", 1);
	add_seconds(sb, writer_elapsed_ns(w, r->mono_ns), 6);
	sb_addf(sb, ",%d,%d,", r->pid, r->ppid);
	csv_add_field(sb, r->comm, strnlen(r->comm, 16));
	sb_addf(sb, ",%s,%llu,%llu,%llu,%llu,%llu,%lld,%llu,%llu,", mt_row_event_name(r->event),
		(unsigned long long)r->rss_bytes, (unsigned long long)r->anon_bytes,
		(unsigned long long)r->file_bytes, (unsigned long long)r->shmem_bytes,
		(unsigned long long)r->peak_rss_bytes, (long long)r->rss_delta_bytes,
		(unsigned long long)r->faults, (unsigned long long)r->pages_alloc);
	if (r->detail)
		csv_add_field(sb, r->detail, strlen(r->detail));
	if (w->run_column)
		sb_addf(sb, ",%u", w->run);
	sb_add(sb, "\n", 1);
}

const struct mt_format_ops mt_csv_format = {
	.name = "csv",
	.quoted_newlines = true,
	.header_record = true,
	.records_are_rows = true,
	.holds_runs = true,
	.header = csv_header,
	.row = csv_row,
};
