// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_rows.h: the rows the row fuzzers (fuzz_csv, fuzz_jsonl) write: numbers from a
 * deterministic generator seeded from the input (set rng_state), and values that are often
 * the extremes a writer gets wrong.
 */
#ifndef FUZZ_ROWS_H
#define FUZZ_ROWS_H

#include <stdint.h>
#include <string.h>
#include "writer.h"

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* a number, often an extreme */
static uint64_t some_u64(void)
{
	static const uint64_t edges[] = { 0, 1, UINT64_MAX, UINT64_MAX - 1, INT64_MAX,
					  (uint64_t)INT64_MIN, 4096, 1ULL << 53 };
	uint64_t r = rng();

	if (r % 4 == 0)
		return edges[(r >> 8) % (sizeof(edges) / sizeof(edges[0]))];
	return rng() >> (r % 64);
}

static int some_int(void)
{
	static const int edges[] = { 0, 1, -1, INT32_MAX, INT32_MIN, 4194304 };
	uint64_t r = rng();

	if (r % 4 == 0)
		return edges[(r >> 8) % (sizeof(edges) / sizeof(edges[0]))];
	return (int)(uint32_t)rng();
}

/*
 * A writer that only fills its buffer (rows are built by the format, nothing is written out)
 * and a row of random numbers, often extremes, with the given name and detail.
 */
static void random_row(struct mt_writer *w, const struct mt_format_ops *ops, struct mt_row *row,
		       const char *comm, const char *detail)
{
	memset(w, 0, sizeof(*w));
	sb_init(&w->buf);
	w->fd = -1;
	w->ops = ops;
	w->start_mono_ns = rng() >> 2;
	w->start_real_ns = rng() >> 2;

	memset(row, 0, sizeof(*row));
	row->mono_ns = rng() % 2 ? w->start_mono_ns + (rng() >> 2) : rng() >> 2;
	row->pid = some_int();
	row->ppid = some_int();
	row->comm = comm;
	row->event = (enum mt_row_event)(rng() % 5);
	row->rss_bytes = some_u64();
	row->anon_bytes = some_u64();
	row->file_bytes = some_u64();
	row->shmem_bytes = some_u64();
	row->peak_rss_bytes = some_u64();
	row->rss_delta_bytes = (int64_t)some_u64();
	row->faults = some_u64();
	row->pages_alloc = some_u64();
	row->detail = detail;
	row->root = rng() % 2;
}

#endif
