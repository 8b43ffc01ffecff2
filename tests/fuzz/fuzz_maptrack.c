// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: --stacks' map tracker (user/maptrack.c). It takes the kernel's mmap, exec,
 * fork and exit records as they sit in the perf rings, cut at any length, in any order and
 * with any times, and answers lookups by address and time.
 *
 * Input: a sequence of operations, each one byte then its operands:
 *   0: a raw record: a length (2 bytes, at most what is left) and that many bytes;
 *   1: an mmap: pid, time, start, length, file offset, executable, path (one of a few);
 *   2: an exec: pid, time;   3: a fork: pid, parent, time;   4: an exit: pid, time;
 *   5: gone, then forget.
 * Pids are 1-4 and times small, so that records meet.
 *
 * Checked, abort() on violation, after every operation and for every pid at a few times:
 *  - every mapping maptrack_each gives has start < end, and they come lowest address first
 *    without overlapping;
 *  - maptrack_find at each one's start finds a mapping that holds that address.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "maptrack.h"

#include "fuzz.h"

struct input {
	const uint8_t *p;
	size_t left;
};

static uint64_t take(struct input *in, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n && in->left; i++, in->left--)
		v |= (uint64_t)*in->p++ << (8 * i);
	return v;
}

#define MAX_SEEN 256

struct seen {
	struct mt_mapping v[MAX_SEEN];
	size_t n;
};

static void keep(void *ctx, const struct mt_mapping *m)
{
	struct seen *s = ctx;

	if (s->n < MAX_SEEN)
		s->v[s->n++] = *m;
}

static void check(struct mt_maptrack *m)
{
	static const uint64_t times[] = { 0, 1, 100, 1000, UINT64_MAX };

	for (uint32_t pid = 1; pid <= 4; pid++) {
		for (size_t t = 0; t < sizeof(times) / sizeof(times[0]); t++) {
			struct seen s = { .n = 0 };

			maptrack_each(m, pid, times[t], keep, &s);
			for (size_t i = 0; i < s.n; i++) {
				ASSERT(s.v[i].start < s.v[i].end);
				if (i)
					ASSERT(s.v[i - 1].end <= s.v[i].start);
			}
			for (size_t i = 0; i < s.n; i++) {
				const struct mt_mapping *f = maptrack_find(m, pid, s.v[i].start,
									   times[t]);

				ASSERT(f && f->start <= s.v[i].start && s.v[i].start < f->end);
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = { "/usr/bin/x", "/usr/lib/libc.so.6", "/tmp/a (deleted)",
					     "" };
	struct mt_maptrack *m = maptrack_new();
	struct input in = { data, size };
	int ops = 0;

	while (in.left && ops++ < 64) {
		uint8_t op = (uint8_t)take(&in, 1) % 6;
		uint32_t pid = 1 + (uint32_t)take(&in, 1) % 4;

		switch (op) {
		case 0: {
			size_t len = (size_t)take(&in, 2);
			uint8_t *rec;

			if (len > in.left)
				len = in.left;
			/* exactly len bytes: a read past the record is a read past the buffer */
			rec = malloc(len ? len : 1);
			if (!rec)
				abort();
			memcpy(rec, in.p, len);
			in.p += len;
			in.left -= len;
			maptrack_record(m, rec, len);
			free(rec);
			break;
		}
		case 1: {
			uint64_t ts = take(&in, 2), start = take(&in, 2) << 12;
			uint64_t len = take(&in, 1) << 12, pgoff = take(&in, 1) << 12;
			uint8_t flags = (uint8_t)take(&in, 1);

			maptrack_mmap(m, pid, ts, start, len, pgoff, 8, 1, flags >> 2, flags & 1,
				      paths[(flags >> 1) % 4]);
			break;
		}
		case 2:
			maptrack_exec(m, pid, take(&in, 2));
			break;
		case 3:
			maptrack_fork(m, pid, 1 + (uint32_t)take(&in, 1) % 4, take(&in, 2));
			break;
		case 4:
			maptrack_exit(m, pid, take(&in, 2));
			break;
		default:
			maptrack_gone(m, pid);
			maptrack_forget_gone(m);
			break;
		}
		check(m);
	}
	maptrack_free(m);
	return 0;
}
