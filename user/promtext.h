/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Prometheus text exposition format (version 0.0.4): families (HELP, TYPE) and their
 * samples, label values escaped and made valid UTF-8 whatever bytes the kernel handed us (a
 * process name is the program's choice). The one writer of that format.
 */
#ifndef MT_PROMTEXT_H
#define MT_PROMTEXT_H

#include <stddef.h>
#include <stdint.h>
#include "strbuf.h"

/* The Content-Type that names this format to a scraper. */
#define MT_PROMTEXT_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram, untyped). */
void promtext_family(struct strbuf *sb, const char *name, const char *type, const char *help);

/*
 * One label pair, to be joined into a sample's label set: name="value" with value escaped
 * (\\, \", \n) and every byte that is not part of well-formed UTF-8 written as U+FFFD.
 * len: bytes of value (a process name is not NUL-terminated at 16 bytes).
 */
struct promtext_label {
	const char *name;
	const char *value;
	size_t len; /* 0: strlen(value) */
};

/* A sample: name{labels} value. nlabels may be 0. */
void promtext_u64(struct strbuf *sb, const char *name, const struct promtext_label *labels,
		  size_t nlabels, uint64_t value);
void promtext_double(struct strbuf *sb, const char *name, const struct promtext_label *labels,
		     size_t nlabels, double value);

/* A label value as the format wants it (no quotes around). */
void promtext_escape(struct strbuf *sb, const char *value, size_t len);

#endif
