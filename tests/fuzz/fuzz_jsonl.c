// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the JSON lines format (mt_jsonl_format, user/jsonl.c) with hostile process
 * names and detail values, and the mprof format's CMDLINE line (user/mprof.c, the same UTF-8
 * rule).
 *
 * Input: byte 0 picks the comm's length (0..16; 16 = the kernel's full TASK_COMM_LEN, no NUL);
 * the comm bytes follow; the rest (cut at a NUL) is the detail value and the mprof command
 * line. The row's numbers come from a PRNG seeded with the input, extremes often.
 *
 * Checked, abort() on violation:
 *  - the header writes nothing; two rows (one with detail, one without) write exactly two
 *    lines, each ended by its only LF, without any raw control byte (C0 or DEL);
 *  - every line is one valid JSON text by a strict RFC 8259 validator written here: strict
 *    UTF-8 (no overlongs, surrogates, code points past U+10FFFF, cut sequences), no raw
 *    control characters in strings, only the defined escapes, \u surrogates in pairs, the
 *    number grammar (no leading zeros, no bare '.'), true/false/null, nothing after the value;
 *  - the object has the CSV's 15 keys in the CSV's order; every number is what was given;
 *    comm and detail decode back to the exact bytes given (a \u00XX escape standing for the
 *    byte XX that was not well-formed UTF-8, as the writer documents);
 *  - mprof's "CMDLINE ..." is one line, valid UTF-8, no raw control byte, each byte that is a
 *    control or not well-formed UTF-8 written as \xNN and everything else as it is.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jsonl.h"
#include "mprof.h"
#include "strbuf.h"
#include "writer.h"
#include "fuzz_rows.h"

#include "fuzz.h"

#define NR_COLUMNS 15
#define MAX_MEMBERS 32
#define MAX_DEPTH 64

/* ---- strict UTF-8: decode one scalar value, 0 if s does not start a well-formed one ---- */

static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t v, min;

	if (!n)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		v = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		v = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		v = s[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

static bool valid_utf8(const unsigned char *s, size_t n)
{
	uint32_t cp;

	for (size_t i = 0; i < n;) {
		size_t k = utf8_decode(s + i, n - i, &cp);

		if (!k)
			return false;
		i += k;
	}
	return true;
}

/* ---- a strict JSON (RFC 8259) validator ---- */

struct bytes {
	unsigned char *data;
	size_t len, cap;
};

static void bytes_add(struct bytes *b, unsigned char c)
{
	if (!b)
		return;
	if (b->len == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->data = realloc(b->data, b->cap);
		ASSERT(b->data);
	}
	b->data[b->len++] = c;
}

struct member {
	struct bytes key;
	struct bytes str; /* the value decoded, when it is a string */
	bool is_string;
	size_t start, end; /* the value's text */
};

struct json {
	const unsigned char *s;
	size_t len, pos;
	int depth;
	struct member members[MAX_MEMBERS]; /* the top-level object's */
	size_t nmembers;
};

static bool parse_value(struct json *j, struct bytes *str, bool *is_string);

static void skip_ws(struct json *j)
{
	while (j->pos < j->len && (j->s[j->pos] == ' ' || j->s[j->pos] == '\t' ||
				   j->s[j->pos] == '\n' || j->s[j->pos] == '\r'))
		j->pos++;
}

static int hex4(const unsigned char *s)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		unsigned char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

static void add_utf8(struct bytes *b, uint32_t cp)
{
	if (cp < 0x80) {
		bytes_add(b, (unsigned char)cp);
	} else if (cp < 0x800) {
		bytes_add(b, (unsigned char)(0xc0 | cp >> 6));
		bytes_add(b, (unsigned char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		bytes_add(b, (unsigned char)(0xe0 | cp >> 12));
		bytes_add(b, (unsigned char)(0x80 | (cp >> 6 & 0x3f)));
		bytes_add(b, (unsigned char)(0x80 | (cp & 0x3f)));
	} else {
		bytes_add(b, (unsigned char)(0xf0 | cp >> 18));
		bytes_add(b, (unsigned char)(0x80 | (cp >> 12 & 0x3f)));
		bytes_add(b, (unsigned char)(0x80 | (cp >> 6 & 0x3f)));
		bytes_add(b, (unsigned char)(0x80 | (cp & 0x3f)));
	}
}

/*
 * A string. Decoded into out as the writer's inverse: raw UTF-8 as it is, \u0000..\u00ff as
 * that one byte (the writer's escape of a byte that is not well-formed UTF-8, or of a control),
 * any other \u as its UTF-8.
 */
static bool parse_string(struct json *j, struct bytes *out)
{
	if (j->pos >= j->len || j->s[j->pos] != '"')
		return false;
	j->pos++;
	for (;;) {
		if (j->pos >= j->len)
			return false;
		unsigned char c = j->s[j->pos];

		if (c == '"') {
			j->pos++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c == '\\') {
			if (j->pos + 1 >= j->len)
				return false;
			unsigned char e = j->s[j->pos + 1];
			const char *simple = strchr("\"\\/bfnrt", e);

			if (e && simple) {
				static const char decoded[] = "\"\\/\b\f\n\r\t";

				bytes_add(out, (unsigned char)decoded[simple - "\"\\/bfnrt"]);
				j->pos += 2;
				continue;
			}
			if (e != 'u' || j->pos + 6 > j->len)
				return false;
			int u = hex4(j->s + j->pos + 2);

			if (u < 0)
				return false;
			j->pos += 6;
			if (u >= 0xdc00 && u <= 0xdfff)
				return false; /* a low surrogate alone */
			if (u >= 0xd800 && u <= 0xdbff) {
				if (j->pos + 6 > j->len || j->s[j->pos] != '\\' ||
				    j->s[j->pos + 1] != 'u')
					return false;
				int lo = hex4(j->s + j->pos + 2);

				if (lo < 0xdc00 || lo > 0xdfff)
					return false;
				j->pos += 6;
				add_utf8(out, 0x10000 + ((uint32_t)(u - 0xd800) << 10) +
						      (uint32_t)(lo - 0xdc00));
			} else if (u < 0x100) {
				bytes_add(out, (unsigned char)u);
			} else {
				add_utf8(out, (uint32_t)u);
			}
			continue;
		}
		uint32_t cp;
		size_t n = utf8_decode(j->s + j->pos, j->len - j->pos, &cp);

		if (!n)
			return false;
		for (size_t i = 0; i < n; i++)
			bytes_add(out, j->s[j->pos + i]);
		j->pos += n;
	}
}

static bool digit(struct json *j)
{
	return j->pos < j->len && j->s[j->pos] >= '0' && j->s[j->pos] <= '9';
}

static bool parse_number(struct json *j)
{
	if (j->pos < j->len && j->s[j->pos] == '-')
		j->pos++;
	if (!digit(j))
		return false;
	if (j->s[j->pos] == '0') {
		j->pos++;
	} else {
		while (digit(j))
			j->pos++;
	}
	if (j->pos < j->len && j->s[j->pos] == '.') {
		j->pos++;
		if (!digit(j))
			return false;
		while (digit(j))
			j->pos++;
	}
	if (j->pos < j->len && (j->s[j->pos] == 'e' || j->s[j->pos] == 'E')) {
		j->pos++;
		if (j->pos < j->len && (j->s[j->pos] == '+' || j->s[j->pos] == '-'))
			j->pos++;
		if (!digit(j))
			return false;
		while (digit(j))
			j->pos++;
	}
	return true;
}

static bool parse_literal(struct json *j, const char *word)
{
	size_t n = strlen(word);

	if (j->len - j->pos < n || memcmp(j->s + j->pos, word, n))
		return false;
	j->pos += n;
	return true;
}

static bool parse_object(struct json *j)
{
	bool top = j->depth == 1;

	j->pos++; /* '{' */
	skip_ws(j);
	if (j->pos < j->len && j->s[j->pos] == '}') {
		j->pos++;
		return true;
	}
	for (;;) {
		struct member scratch = { 0 }, *m = &scratch;
		bool ok;

		if (top) {
			if (j->nmembers == MAX_MEMBERS)
				return false;
			m = &j->members[j->nmembers++];
		}
		skip_ws(j);
		ok = parse_string(j, top ? &m->key : NULL);
		skip_ws(j);
		if (!ok || j->pos >= j->len || j->s[j->pos] != ':')
			return false;
		j->pos++;
		skip_ws(j);
		m->start = j->pos;
		if (!parse_value(j, top ? &m->str : NULL, &m->is_string))
			return false;
		m->end = j->pos;
		skip_ws(j);
		if (j->pos >= j->len)
			return false;
		if (j->s[j->pos] == '}') {
			j->pos++;
			return true;
		}
		if (j->s[j->pos] != ',')
			return false;
		j->pos++;
	}
}

static bool parse_array(struct json *j)
{
	bool is_string;

	j->pos++; /* '[' */
	skip_ws(j);
	if (j->pos < j->len && j->s[j->pos] == ']') {
		j->pos++;
		return true;
	}
	for (;;) {
		skip_ws(j);
		if (!parse_value(j, NULL, &is_string))
			return false;
		skip_ws(j);
		if (j->pos >= j->len)
			return false;
		if (j->s[j->pos] == ']') {
			j->pos++;
			return true;
		}
		if (j->s[j->pos] != ',')
			return false;
		j->pos++;
	}
}

static bool parse_value(struct json *j, struct bytes *str, bool *is_string)
{
	bool ok;

	*is_string = false;
	if (j->pos >= j->len)
		return false;
	switch (j->s[j->pos]) {
	case '{':
	case '[':
		if (++j->depth > MAX_DEPTH)
			return false;
		ok = j->s[j->pos] == '{' ? parse_object(j) : parse_array(j);
		j->depth--;
		return ok;
	case '"':
		*is_string = true;
		return parse_string(j, str);
	case 't':
		return parse_literal(j, "true");
	case 'f':
		return parse_literal(j, "false");
	case 'n':
		return parse_literal(j, "null");
	default:
		return parse_number(j);
	}
}

/* one whole JSON text: a value, whitespace around it, nothing else */
static bool parse_json(struct json *j, const unsigned char *s, size_t len)
{
	bool is_string;

	memset(j, 0, sizeof(*j));
	j->s = s;
	j->len = len;
	skip_ws(j);
	if (!parse_value(j, NULL, &is_string))
		return false;
	skip_ws(j);
	return j->pos == j->len;
}

static void json_free(struct json *j)
{
	for (size_t i = 0; i < j->nmembers; i++) {
		free(j->members[i].key.data);
		free(j->members[i].str.data);
	}
	j->nmembers = 0;
}

/* ---- rows ---- */


static const char *const columns[NR_COLUMNS] = {
	"unix_time", "elapsed_s", "pid", "ppid", "comm", "event", "rss_bytes", "anon_bytes",
	"file_bytes", "shmem_bytes", "peak_rss_bytes", "rss_delta_bytes", "faults",
	"pages_alloc", "detail",
};

static bool bytes_are(const struct bytes *b, const void *data, size_t len)
{
	return b->len == len && (!len || !memcmp(b->data, data, len));
}

static void check_number(const struct json *j, const struct member *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void check_number(const struct json *j, const struct member *m, const char *fmt, ...)
{
	char want[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	ASSERT(!m->is_string);
	ASSERT(m->end - m->start == strlen(want) && !memcmp(j->s + m->start, want, strlen(want)));
}

static void check_line(const unsigned char *line, size_t len, const struct mt_writer *w,
		       const struct mt_row *row, size_t comm_len)
{
	struct json j;
	uint64_t elapsed = row->mono_ns > w->start_mono_ns ? row->mono_ns - w->start_mono_ns : 0;
	uint64_t real = w->start_real_ns + elapsed;
	const char *detail = row->detail ? row->detail : "";

	for (size_t i = 0; i < len; i++)
		ASSERT(line[i] >= 0x20 && line[i] != 0x7f);
	ASSERT(valid_utf8(line, len));
	ASSERT(parse_json(&j, line, len));
	ASSERT(len > 0 && line[0] == '{');
	ASSERT(j.nmembers == NR_COLUMNS);
	for (int i = 0; i < NR_COLUMNS; i++)
		ASSERT(bytes_are(&j.members[i].key, columns[i], strlen(columns[i])));
	check_number(&j, &j.members[0], "%" PRIu64 ".%06" PRIu64, real / 1000000000,
		     real % 1000000000 / 1000);
	check_number(&j, &j.members[1], "%" PRIu64 ".%06" PRIu64, elapsed / 1000000000,
		     elapsed % 1000000000 / 1000);
	check_number(&j, &j.members[2], "%d", row->pid);
	check_number(&j, &j.members[3], "%d", row->ppid);
	ASSERT(j.members[4].is_string && bytes_are(&j.members[4].str, row->comm, comm_len));
	ASSERT(j.members[5].is_string);
	ASSERT(bytes_are(&j.members[5].str, mt_row_event_name(row->event),
			 strlen(mt_row_event_name(row->event))));
	check_number(&j, &j.members[6], "%" PRIu64, row->rss_bytes);
	check_number(&j, &j.members[7], "%" PRIu64, row->anon_bytes);
	check_number(&j, &j.members[8], "%" PRIu64, row->file_bytes);
	check_number(&j, &j.members[9], "%" PRIu64, row->shmem_bytes);
	check_number(&j, &j.members[10], "%" PRIu64, row->peak_rss_bytes);
	check_number(&j, &j.members[11], "%" PRId64, row->rss_delta_bytes);
	check_number(&j, &j.members[12], "%" PRIu64, row->faults);
	check_number(&j, &j.members[13], "%" PRIu64, row->pages_alloc);
	ASSERT(j.members[14].is_string && bytes_are(&j.members[14].str, detail, strlen(detail)));
	json_free(&j);
}

static void check_rows(const char *comm, size_t comm_len, const char *detail)
{
	struct mt_writer w;
	struct mt_row row = { 0 };

	random_row(&w, &mt_jsonl_format, &row, comm, detail);

	w.ops->header(&w);
	ASSERT(w.buf.len == 0);
	w.ops->row(&w, &row);
	struct mt_row bare = row;

	bare.detail = NULL;
	bare.event = (enum mt_row_event)((row.event + 1) % 5);
	w.ops->row(&w, &bare);

	const unsigned char *s = (const unsigned char *)w.buf.data;
	const unsigned char *nl1 = memchr(s, '\n', w.buf.len);

	ASSERT(nl1);
	const unsigned char *nl2 = memchr(nl1 + 1, '\n', w.buf.len - (size_t)(nl1 + 1 - s));

	ASSERT(nl2 && nl2 == s + w.buf.len - 1);
	check_line(s, (size_t)(nl1 - s), &w, &row, comm_len);
	check_line(nl1 + 1, (size_t)(nl2 - nl1 - 1), &w, &bare, comm_len);
	sb_free(&w.buf);
}

/* ---- mprof's CMDLINE ---- */

static void check_cmdline(const char *cmdline)
{
	struct mt_writer w;
	const unsigned char *in = (const unsigned char *)cmdline;
	size_t len = strlen(cmdline), o = 8;

	memset(&w, 0, sizeof(w));
	sb_init(&w.buf);
	w.fd = -1;
	w.ops = &mt_mprof_format;
	w.cmdline = cmdline;
	w.ops->header(&w);

	const unsigned char *out = (const unsigned char *)w.buf.data;

	ASSERT(w.buf.len >= 9 && !memcmp(out, "CMDLINE ", 8));
	ASSERT(out[w.buf.len - 1] == '\n');
	for (size_t i = 0; i + 1 < w.buf.len; i++)
		ASSERT(out[i] >= 0x20 && out[i] != 0x7f);
	ASSERT(valid_utf8(out, w.buf.len));
	/* input and output side by side */
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_decode(in + i, len - i, &cp);

		if (!n || cp < 0x20 || cp == 0x7f) {
			char esc[5];

			snprintf(esc, sizeof(esc), "\\x%02x", in[i]);
			ASSERT(o + 4 <= w.buf.len - 1 && !memcmp(out + o, esc, 4));
			o += 4;
			i++;
		} else {
			ASSERT(o + n <= w.buf.len - 1 && !memcmp(out + o, in + i, n));
			o += n;
			i += n;
		}
	}
	ASSERT(o == w.buf.len - 1);
	w.ops->free(&w);
	sb_free(&w.buf);
}

/* ---- the validator itself, on the raw input: it must never accept a raw control ---- */

static void check_validator(const uint8_t *data, size_t size)
{
	struct json j;

	if (!parse_json(&j, data, size)) {
		json_free(&j);
		return;
	}
	json_free(&j);
	for (size_t i = 0; i < size; i++)
		ASSERT(data[i] >= 0x20 || data[i] == '\t' || data[i] == '\n' || data[i] == '\r');
	ASSERT(valid_utf8(data, size));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t comm_len = 0, comm_alloc, skip;
	char *comm, *detail;
	uint64_t seed = 1469598103934665603ULL;

	for (size_t i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 1099511628211ULL;
	rng_state = seed;

	skip = size ? 1 + (data[0] % 17 < size - 1 ? data[0] % 17 : size - 1) : 0;
	if (size)
		comm_len = skip - 1;
	/* the comm exactly as big as it is: 16 bytes without NUL, else its bytes and a NUL */
	comm_alloc = comm_len == 16 ? 16 : comm_len + 1;
	comm = malloc(comm_alloc);
	ASSERT(comm);
	memset(comm, 0, comm_alloc);
	if (comm_len)
		memcpy(comm, data + 1, comm_len);
	comm_len = strnlen(comm, comm_alloc); /* a NUL inside ends the name */

	/* the rest as a C string, as the sampler and main hand them over */
	detail = malloc(size - skip + 1);
	ASSERT(detail);
	if (size > skip)
		memcpy(detail, data + skip, size - skip);
	detail[size - skip] = '\0';

	check_rows(comm, comm_len, detail);
	check_cmdline(detail);
	check_validator(data, size);

	free(detail);
	free(comm);
	return 0;
}
