/* SPDX-License-Identifier: GPL-2.0 */
/* JSON text from untrusted bytes: the one encoder of strings for every JSON this tool writes. */
#ifndef MT_JSON_H
#define MT_JSON_H

#include <stddef.h>
#include "strbuf.h"

/*
 * A JSON string (RFC 8259) from untrusted bytes: '"', '\\' and control characters escaped,
 * well-formed UTF-8 kept as it is, and every byte that is not part of well-formed UTF-8 written
 * as \u00XX (the byte read as Latin-1), so the text is valid UTF-8 and valid JSON whatever the
 * kernel hands us.
 */
void json_add_string(struct strbuf *sb, const char *text, size_t len);

#endif
