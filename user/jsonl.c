// SPDX-License-Identifier: GPL-2.0
/*
 * The time series as JSON lines (-F jsonl): one self-describing object per row, for readers
 * that would rather not parse CSV; the CSV's columns under the CSV's names, so a reader can
 * switch between the two without a mapping.
 */
#include <string.h>
#include "json.h"
#include "jsonl.h"

/* no header: every line is one self-describing object */
static void jsonl_header(struct mt_writer *w)
{
	(void)w;
}

/* the CSV's 15 columns, in its order, under its names */
static void jsonl_row(struct mt_writer *w, const struct mt_row *r)
{
	struct strbuf *sb = &w->buf;

	sb_adds(sb, "{\"unix_time\":");
	add_seconds(sb, writer_epoch_ns(w, r->mono_ns), 6);
	sb_adds(sb, ",\"elapsed_s\":");
	add_seconds(sb, writer_elapsed_ns(w, r->mono_ns), 6);
	sb_addf(sb, ",\"pid\":%d,\"ppid\":%d,\"comm\":", r->pid, r->ppid);
	json_add_string(sb, r->comm, strnlen(r->comm, 16));
	sb_addf(sb,
		",\"event\":\"%s\",\"rss_bytes\":%llu,\"anon_bytes\":%llu,\"file_bytes\":%llu,"
		"\"shmem_bytes\":%llu,\"peak_rss_bytes\":%llu,\"rss_delta_bytes\":%lld,"
		"\"faults\":%llu,\"pages_alloc\":%llu,\"detail\":",
		mt_row_event_name(r->event), (unsigned long long)r->rss_bytes,
		(unsigned long long)r->anon_bytes, (unsigned long long)r->file_bytes,
		(unsigned long long)r->shmem_bytes, (unsigned long long)r->peak_rss_bytes,
		(long long)r->rss_delta_bytes, (unsigned long long)r->faults,
		(unsigned long long)r->pages_alloc);
	/* already percent-encoded ASCII; escaped all the same, it costs nothing */
	json_add_string(sb, r->detail ? r->detail : "", r->detail ? strlen(r->detail) : 0);
	if (w->run_column)
		sb_addf(sb, ",\"run\":%u", w->run);
	sb_adds(sb, "}\n");
}

const struct mt_format_ops mt_jsonl_format = {
	.name = "jsonl",
	.records_are_rows = true,
	.holds_runs = true,
	.header = jsonl_header,
	.row = jsonl_row,
};
