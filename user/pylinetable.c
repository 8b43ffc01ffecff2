// SPDX-License-Identifier: GPL-2.0
/*
 * CPython 3.11+ location tables (Objects/locations.md in CPython). A table is a run of
 * entries, each for 1 to 8 consecutive code units. The first byte of an entry has bit 7 set,
 * its "code" in bits 3-6 and the length minus one in bits 0-2; no later byte of an entry has
 * bit 7 set. What follows the first byte depends on the code:
 *
 *	0-9	short form: one column byte; same line as before
 *	10-12	one-line form: start and end column bytes; the line moves by code - 10
 *	13	no columns: line delta (svarint)
 *	14	long form: line delta (svarint), end line delta, start and end column (varints)
 *	15	no location: these code units have no line; the line does not move
 *
 * A varint is 6-bit chunks, least significant first, bit 6 set on every chunk but the last;
 * an svarint is a varint v holding -(v >> 1) when v & 1, else v >> 1. The line starts at
 * co_firstlineno and each entry's delta adds to it.
 */
#include <string.h>
#include "pylinetable.h"

enum {
	LOC_SHORT_LAST = 9,
	LOC_ONE_LINE0 = 10,
	LOC_ONE_LINE2 = 12,
	LOC_NO_COLUMNS = 13,
	LOC_LONG = 14,
	LOC_NONE = 15,
};

struct loc_cursor {
	const uint8_t *p, *end;
	long line;	/* the line after the last entry read */
	long unit;	/* first code unit of the next entry */
};

/* An unsigned varint at *p (advanced past it); -1 when the table ends inside it, or the value
 * does not fit (not a real table: no code object has lines past 2^31). */
static long read_varint(const uint8_t **p, const uint8_t *end)
{
	unsigned long val = 0;
	unsigned shift = 0;

	for (;;) {
		uint8_t b;

		if (*p >= end || (**p & 0x80))
			return -1;
		b = *(*p)++;
		val |= (unsigned long)(b & 63) << shift;
		if (val > 0x7fffffffUL)
			return -1;
		if (!(b & 64))
			return (long)val;
		shift += 6;
		if (shift > 30)
			return -1;
	}
}

static int read_svarint(const uint8_t **p, const uint8_t *end, long *out)
{
	long v = read_varint(p, end);

	if (v < 0)
		return -1;
	*out = (v & 1) ? -(v >> 1) : (v >> 1);
	return 0;
}

/*
 * The next entry: its first code unit, length and line (-1: none). Returns 0, or -1 at the end
 * of the table or where its line cannot be read (a table cut inside the entry).
 * The rest of an entry is skipped by its bit 7 rather than decoded: the columns do not
 * matter here, and an entry whose columns were cut off still has its line.
 */
static int next_entry(struct loc_cursor *c, long *start, int *units, int *line)
{
	const uint8_t *p = c->p;
	uint8_t first;
	int code;
	long delta = 0;

	if (p >= c->end || !(*p & 0x80))
		return -1;
	first = *p++;
	code = (first >> 3) & 15;
	if (code >= LOC_ONE_LINE0 && code <= LOC_ONE_LINE2)
		delta = code - LOC_ONE_LINE0;
	else if ((code == LOC_NO_COLUMNS || code == LOC_LONG) && read_svarint(&p, c->end, &delta))
		return -1;
	while (p < c->end && !(*p & 0x80))
		p++;
	c->p = p;
	c->line += delta;
	/* a line out of an int's range, or before the first, is no real table's: no line */
	if (c->line > 0x7fffffffL || c->line < -0x7fffffffL)
		return -1;
	*start = c->unit;
	*units = (first & 7) + 1;
	*line = code == LOC_NONE || c->line < 0 ? -1 : (int)c->line;
	c->unit += *units;
	return 0;
}

int py_line_of(const uint8_t *table, size_t len, int firstlineno, int lasti)
{
	struct loc_cursor c = { table, table + len, firstlineno, 0 };
	long start;
	int units, line;

	if (!table || lasti < 0)
		return -1;
	while (!next_entry(&c, &start, &units, &line)) {
		if (lasti < start + units)
			return line;
	}
	return -1;
}

int py_line_span(const uint8_t *table, size_t len, int firstlineno, int *first, int *last)
{
	struct loc_cursor c = { table, table + len, firstlineno, 0 };
	long start;
	int units, line, lo = 0, hi = 0, found = 0;

	if (!table)
		return -1;
	while (!next_entry(&c, &start, &units, &line)) {
		if (line < 0)
			continue;
		if (!found || line < lo)
			lo = line;
		if (!found || line > hi)
			hi = line;
		found = 1;
	}
	if (!found)
		return -1;
	*first = lo;
	*last = hi;
	return 0;
}

/* cp as UTF-8 in buf (room for 4); returns its length */
static size_t utf8_encode(uint32_t cp, char *buf)
{
	if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		cp = 0xfffd;
	if (cp < 0x80) {
		buf[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		buf[0] = (char)(0xc0 | (cp >> 6));
		buf[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		buf[0] = (char)(0xe0 | (cp >> 12));
		buf[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		buf[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	buf[0] = (char)(0xf0 | (cp >> 18));
	buf[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	buf[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	buf[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

size_t py_text_utf8(unsigned kind, const void *data, size_t nbytes, char *out, size_t outlen)
{
	const uint8_t *in = data;
	size_t n = 0;

	if (!outlen)
		return 0;
	if ((kind != 1 && kind != 2 && kind != 4) || !data) {
		out[0] = '\0';
		return 0;
	}
	/* a partial last character (a copy cut mid-character) is dropped */
	for (size_t i = 0; i + kind <= nbytes; i += kind) {
		uint32_t cp;
		char enc[4];
		size_t elen;

		if (kind == 1) {
			cp = in[i];
		} else if (kind == 2) {
			uint16_t u;

			memcpy(&u, in + i, sizeof(u)); /* the capture need not be aligned */
			cp = u;
		} else {
			memcpy(&cp, in + i, sizeof(cp));
		}
		if (!cp)
			break;
		elen = utf8_encode(cp, enc);
		if (n + elen > outlen - 1)
			break;
		memcpy(out + n, enc, elen);
		n += elen;
	}
	out[n] = '\0';
	return n;
}
