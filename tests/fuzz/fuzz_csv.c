// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the CSV side of the writers, with hostile process names and values:
 * csv_add_field and the CSV row format (mt_csv_format, user/csv.c), and detail_add_value
 * (user/writer.c), whose values end up in the CSV.
 *
 * Input: byte 0 picks the comm's length (0..16; 16 = the kernel's full TASK_COMM_LEN, no NUL);
 * the comm bytes follow; the rest is a value (any bytes). The row's numbers come from a
 * PRNG seeded with the input, with the extremes (0, UINT64_MAX, INT64_MIN, negative pids)
 * often.
 *
 * Checked with a strict RFC 4180 reader written here (quoted fields may hold anything, a quote
 * in them doubled; unquoted fields no quote, comma, CR or LF; records end in LF or CRLF),
 * abort() on violation:
 *  - csv_add_field(value) reads back as exactly one field equal to value, NUL and control
 *    bytes, non-UTF-8 included; it is quoted exactly when value holds , " CR or LF;
 *  - detail_add_value(value) is printable ASCII without space, comma, quote or '=', every '%'
 *    starts %XX (upper-case hex), and percent-decoding gives value back;
 *  - header + a row (comm, detail = the value) + a row without detail read back as exactly 3
 *    records of 15 fields: the header's names; comm equal to the comm's bytes (up to 16, never
 *    read past them), detail equal to the value; every number equal to what was given.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "csv.h"
#include "writer.h"
#include "fuzz_rows.h"

#include "fuzz.h"

#define NR_COLUMNS 15
#define MAX_FIELDS 64

/* ---- a strict RFC 4180 reader ---- */

struct field {
	char *data; /* decoded bytes, malloc'd */
	size_t len;
};

struct record {
	struct field f[MAX_FIELDS];
	size_t n;
};

static void record_free(struct record *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->f[i].data);
	r->n = 0;
}

/*
 * One record from buf[*pos..len): its fields decoded into r. Returns 1 with *pos after the
 * record's line end (or at len when the last record has none), 0 at the end of input, -1 on
 * anything RFC 4180 does not allow.
 */
static int read_record(const char *buf, size_t len, size_t *pos, struct record *r)
{
	size_t i = *pos;

	r->n = 0;
	if (i >= len)
		return 0;
	for (;;) {
		struct field *f;

		if (r->n == MAX_FIELDS)
			return -1;
		f = &r->f[r->n++];
		f->data = malloc(len - i + 1);
		f->len = 0;
		ASSERT(f->data);
		if (i < len && buf[i] == '"') {
			i++;
			for (;;) {
				if (i >= len)
					return -1; /* unterminated quote */
				if (buf[i] == '"') {
					if (i + 1 < len && buf[i + 1] == '"') {
						f->data[f->len++] = '"';
						i += 2;
						continue;
					}
					i++;
					break;
				}
				f->data[f->len++] = buf[i++];
			}
		} else {
			while (i < len && buf[i] != ',' && buf[i] != '\n' && buf[i] != '\r') {
				if (buf[i] == '"')
					return -1; /* a quote in an unquoted field */
				f->data[f->len++] = buf[i++];
			}
		}
		/* after a field: a comma, a line end, or the end */
		if (i >= len) {
			*pos = i;
			return 1;
		}
		if (buf[i] == ',') {
			i++;
			continue;
		}
		if (buf[i] == '\r') {
			if (i + 1 >= len || buf[i + 1] != '\n')
				return -1;
			i++;
		}
		if (buf[i] != '\n')
			return -1; /* junk after a closing quote */
		*pos = i + 1;
		return 1;
	}
}

static bool field_is(const struct field *f, const char *data, size_t len)
{
	return f->len == len && (!len || !memcmp(f->data, data, len));
}

static bool field_is_str(const struct field *f, const char *s)
{
	return field_is(f, s, strlen(s));
}

/* ---- csv_add_field ---- */

static void check_field(const char *value, size_t len)
{
	struct strbuf sb;
	struct record r = { 0 };
	size_t pos = 0;
	bool special = false;

	for (size_t i = 0; i < len; i++)
		special |= value[i] == ',' || value[i] == '"' || value[i] == '\r' || value[i] == '\n';
	sb_init(&sb);
	sb_adds(&sb, "x,"); /* a field before it: the reader must start this one at a comma */
	csv_add_field(&sb, value, len);
	sb_add(&sb, "\n", 1);
	ASSERT(sb.data[sb.len] == '\0');
	ASSERT(read_record(sb.data, sb.len, &pos, &r) == 1);
	ASSERT(pos == sb.len);
	ASSERT(r.n == 2);
	ASSERT(field_is_str(&r.f[0], "x"));
	ASSERT(field_is(&r.f[1], value, len));
	/* quoted exactly when it has to be, and then only that */
	if (special)
		ASSERT(sb.data[2] == '"' && sb.len >= len + 5);
	else
		ASSERT(sb.len == len + 3 && (!len || !memcmp(sb.data + 2, value, len)));
	record_free(&r);
	sb_free(&sb);
}

/* ---- detail_add_value ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1; /* lower case is not what it writes */
}

static void check_detail(const char *value, size_t len)
{
	struct strbuf sb;
	char *decoded = malloc(len + 1);
	size_t n = 0;

	ASSERT(decoded);
	sb_init(&sb);
	sb_adds(&sb, "k=");
	detail_add_value(&sb, value, len);
	ASSERT(sb.data[sb.len] == '\0');
	for (size_t i = 2; i < sb.len; i++) {
		unsigned char c = (unsigned char)sb.data[i];

		ASSERT(c > ' ' && c < 0x7f && c != ',' && c != '"' && c != '=');
		if (c == '%') {
			ASSERT(i + 2 < sb.len);
			int hi = hexval(sb.data[i + 1]), lo = hexval(sb.data[i + 2]);

			ASSERT(hi >= 0 && lo >= 0);
			c = (unsigned char)(hi * 16 + lo);
			/* only what had to be encoded is */
			ASSERT(c <= ' ' || c >= 0x7f || c == '%' || c == '=' || c == '"' || c == ',');
			i += 2;
		}
		ASSERT(n < len);
		decoded[n++] = (char)c;
	}
	ASSERT(n == len && (!len || !memcmp(decoded, value, len)));
	free(decoded);
	sb_free(&sb);
}

/* ---- rows ---- */


static void check_number_field(const struct field *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void check_number_field(const struct field *f, const char *fmt, ...)
{
	char want[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	ASSERT(field_is_str(f, want));
}

static const char *const columns[NR_COLUMNS] = {
	"unix_time", "elapsed_s", "pid", "ppid", "comm", "event", "rss_bytes", "anon_bytes",
	"file_bytes", "shmem_bytes", "peak_rss_bytes", "rss_delta_bytes", "faults",
	"pages_alloc", "detail",
};

static void check_row_fields(const struct record *r, const struct mt_writer *w,
			     const struct mt_row *row, size_t comm_len)
{
	uint64_t elapsed = row->mono_ns > w->start_mono_ns ? row->mono_ns - w->start_mono_ns : 0;
	uint64_t real = w->start_real_ns + elapsed;

	ASSERT(r->n == NR_COLUMNS);
	check_number_field(&r->f[0], "%" PRIu64 ".%06" PRIu64, real / 1000000000,
			   real % 1000000000 / 1000);
	check_number_field(&r->f[1], "%" PRIu64 ".%06" PRIu64, elapsed / 1000000000,
			   elapsed % 1000000000 / 1000);
	check_number_field(&r->f[2], "%d", row->pid);
	check_number_field(&r->f[3], "%d", row->ppid);
	ASSERT(field_is(&r->f[4], row->comm, comm_len));
	ASSERT(field_is_str(&r->f[5], mt_row_event_name(row->event)));
	check_number_field(&r->f[6], "%" PRIu64, row->rss_bytes);
	check_number_field(&r->f[7], "%" PRIu64, row->anon_bytes);
	check_number_field(&r->f[8], "%" PRIu64, row->file_bytes);
	check_number_field(&r->f[9], "%" PRIu64, row->shmem_bytes);
	check_number_field(&r->f[10], "%" PRIu64, row->peak_rss_bytes);
	check_number_field(&r->f[11], "%" PRId64, row->rss_delta_bytes);
	check_number_field(&r->f[12], "%" PRIu64, row->faults);
	check_number_field(&r->f[13], "%" PRIu64, row->pages_alloc);
	ASSERT(field_is_str(&r->f[14], row->detail ? row->detail : ""));
}

static void check_rows(const char *comm, size_t comm_len, const char *detail)
{
	struct mt_writer w;
	struct mt_row row = { 0 };
	struct record r = { 0 };
	size_t pos = 0;

	random_row(&w, &mt_csv_format, &row, comm, detail);

	w.ops->header(&w);
	w.ops->row(&w, &row);
	struct mt_row bare = row;

	bare.detail = NULL;
	bare.event = (enum mt_row_event)((row.event + 1) % 5);
	w.ops->row(&w, &bare);

	ASSERT(w.buf.len > 0 && w.buf.data[w.buf.len - 1] == '\n');
	ASSERT(read_record(w.buf.data, w.buf.len, &pos, &r) == 1);
	ASSERT(r.n == NR_COLUMNS);
	for (int i = 0; i < NR_COLUMNS; i++)
		ASSERT(field_is_str(&r.f[i], columns[i]));
	record_free(&r);

	ASSERT(read_record(w.buf.data, w.buf.len, &pos, &r) == 1);
	check_row_fields(&r, &w, &row, comm_len);
	record_free(&r);

	ASSERT(read_record(w.buf.data, w.buf.len, &pos, &r) == 1);
	check_row_fields(&r, &w, &bare, comm_len);
	record_free(&r);

	ASSERT(pos == w.buf.len);
	ASSERT(read_record(w.buf.data, w.buf.len, &pos, &r) == 0);
	sb_free(&w.buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t comm_len = 0, comm_alloc;
	const char *value;
	size_t value_len;
	char *comm, *detail;
	uint64_t seed = 1469598103934665603ULL;

	for (size_t i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 1099511628211ULL;
	rng_state = seed;

	if (size) {
		comm_len = data[0] % 17;
		if (comm_len > size - 1)
			comm_len = size - 1;
	}
	/* the comm exactly as big as it is: 16 bytes without NUL, else its bytes and a NUL */
	comm_alloc = comm_len == 16 ? 16 : comm_len + 1;
	comm = malloc(comm_alloc);
	ASSERT(comm);
	memset(comm, 0, comm_alloc);
	if (comm_len)
		memcpy(comm, data + 1, comm_len);
	comm_len = strnlen(comm, comm_alloc); /* a NUL inside ends the name */

	value = size ? (const char *)data + 1 + (data[0] % 17 < size - 1 ? data[0] % 17 : size - 1)
		     : "";
	value_len = size ? size - (size_t)(value - (const char *)data) : 0;

	check_field(value, value_len);
	check_field(comm, comm_len);
	check_detail(value, value_len);

	/* detail as the sampler hands it over: a C string (cut at a NUL) */
	detail = malloc(value_len + 1);
	ASSERT(detail);
	if (value_len)
		memcpy(detail, value, value_len);
	detail[value_len] = '\0';
	check_rows(comm, comm_len, detail);

	free(detail);
	free(comm);
	return 0;
}
