/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A growable string buffer: every line the tracer writes (a row, a frame of the live view, a
 * detail list) is built here first, so that it goes out whole or not at all.
 */
#ifndef MT_STRBUF_H
#define MT_STRBUF_H

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

#endif
