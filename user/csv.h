/* SPDX-License-Identifier: GPL-2.0 */
/* Text building blocks for the writers: a growable buffer, RFC 4180 fields, detail values. */
#ifndef MT_CSV_H
#define MT_CSV_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *data;
	size_t len;
	size_t cap;
};

void sb_init(struct strbuf *sb);
void sb_free(struct strbuf *sb);
void sb_reset(struct strbuf *sb);
/* append; abort()s on out-of-memory, which a tracer cannot recover from anyway */
void sb_add(struct strbuf *sb, const char *data, size_t len);
void sb_adds(struct strbuf *sb, const char *s);
void sb_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* drop the first n bytes */
void sb_consume(struct strbuf *sb, size_t n);

/* Append one CSV field (RFC 4180): quoted, quotes doubled, if it holds , " CR or LF. */
void csv_add_field(struct strbuf *sb, const char *field, size_t len);

/*
 * Append a value for the `detail` column's key=value list: '%', space, '=', '"', ',' and bytes
 * outside printable ASCII become %XX, so the value never breaks the list or the CSV.
 */
void detail_add_value(struct strbuf *sb, const char *value, size_t len);

#endif
