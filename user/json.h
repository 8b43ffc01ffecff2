/* SPDX-License-Identifier: GPL-2.0 */
/* JSON text from untrusted bytes: the one encoder of strings for every JSON this tool writes. */
#ifndef MT_JSON_H
#define MT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "strbuf.h"

/*
 * A JSON string (RFC 8259) from untrusted bytes: '"', '\\' and control characters escaped,
 * well-formed UTF-8 kept as it is, and every byte that is not part of well-formed UTF-8 written
 * as \u00XX (the byte read as Latin-1), so the text is valid UTF-8 and valid JSON whatever the
 * kernel hands us.
 */
void json_add_string(struct strbuf *sb, const char *text, size_t len);

/*
 * A JSON document written member by member: a comma goes before every member but an object's
 * or array's first. name NULL: an array element (an object inside an array).
 */
struct json_writer {
	struct strbuf *sb;
	bool first;
};

void jw_key(struct json_writer *j, const char *name);
void jw_open_obj(struct json_writer *j, const char *name);
void jw_close_obj(struct json_writer *j);
void jw_open_arr(struct json_writer *j, const char *name);
void jw_close_arr(struct json_writer *j);
void jw_u64(struct json_writer *j, const char *name, uint64_t v);
void jw_u64_or_null(struct json_writer *j, const char *name, bool known, uint64_t v);
void jw_i64(struct json_writer *j, const char *name, long long v);
/* six decimals: seconds to the microsecond */
void jw_num(struct json_writer *j, const char *name, double v);
void jw_boolean(struct json_writer *j, const char *name, bool v);
/* NULL: null */
void jw_str(struct json_writer *j, const char *name, const char *v);
void jw_null(struct json_writer *j, const char *name);

#endif
