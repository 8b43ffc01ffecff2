/* SPDX-License-Identifier: GPL-2.0 */
/*
 * -F csv, the default: RFC 4180 with a header line, what spreadsheets and most tools read as it
 * is. A field holding a comma, quote or newline (a process name may) is quoted, so one row may
 * span lines.
 */
#ifndef MT_CSV_H
#define MT_CSV_H

#include <stddef.h>
#include "strbuf.h"
#include "writer.h"

extern const struct mt_format_ops mt_csv_format;

/* Append one CSV field (RFC 4180): quoted, quotes doubled, if it holds , " CR or LF. */
void csv_add_field(struct strbuf *sb, const char *field, size_t len);

#endif
