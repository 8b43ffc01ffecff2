// SPDX-License-Identifier: GPL-2.0
#include <string.h>
#include "json.h"
#include "text.h"

/*
 * A JSON string (RFC 8259) from untrusted bytes: '"', '\\' and control characters escaped,
 * well-formed UTF-8 kept as it is, and every byte that is not part of well-formed UTF-8 written
 * as \u00XX (the byte read as Latin-1), so the line is valid UTF-8 and valid JSON whatever the
 * kernel hands us. DEL is escaped too: harmless for JSON, kinder to terminals.
 */
void json_add_string(struct strbuf *sb, const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;

	sb_add(sb, "\"", 1);
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		size_t n = mt_utf8_len((const char *)s + i, len - i);

		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };

			sb_add(sb, esc, 2);
		} else if (c == '\n') {
			sb_adds(sb, "\\n");
		} else if (c == '\r') {
			sb_adds(sb, "\\r");
		} else if (c == '\t') {
			sb_adds(sb, "\\t");
		} else if (c < 0x20 || c == 0x7f || !n) {
			sb_addf(sb, "\\u%04x", c);
		} else {
			sb_add(sb, (const char *)s + i, n);
			i += n;
			continue;
		}
		i++;
	}
	sb_add(sb, "\"", 1);
}

/* Keys and values one at a time; a comma before every member but an object's first. */
void jw_key(struct json_writer *j, const char *name)
{
	if (!j->first)
		sb_add(j->sb, ",", 1);
	j->first = false;
	json_add_string(j->sb, name, strlen(name));
	sb_add(j->sb, ":", 1);
}

void jw_open_obj(struct json_writer *j, const char *name)
{
	if (name)
		jw_key(j, name);
	else if (!j->first)
		sb_add(j->sb, ",", 1);
	sb_add(j->sb, "{", 1);
	j->first = true;
}

void jw_close_obj(struct json_writer *j)
{
	sb_add(j->sb, "}", 1);
	j->first = false;
}

void jw_open_arr(struct json_writer *j, const char *name)
{
	jw_key(j, name);
	sb_add(j->sb, "[", 1);
	j->first = true;
}

void jw_close_arr(struct json_writer *j)
{
	sb_add(j->sb, "]", 1);
	j->first = false;
}

void jw_u64(struct json_writer *j, const char *name, uint64_t v)
{
	jw_key(j, name);
	sb_addf(j->sb, "%llu", (unsigned long long)v);
}

void jw_u64_or_null(struct json_writer *j, const char *name, bool known, uint64_t v)
{
	jw_key(j, name);
	if (known)
		sb_addf(j->sb, "%llu", (unsigned long long)v);
	else
		sb_adds(j->sb, "null");
}

void jw_i64(struct json_writer *j, const char *name, long long v)
{
	jw_key(j, name);
	sb_addf(j->sb, "%lld", v);
}

void jw_num(struct json_writer *j, const char *name, double v)
{
	jw_key(j, name);
	sb_addf(j->sb, "%.6f", v);
}

void jw_boolean(struct json_writer *j, const char *name, bool v)
{
	jw_key(j, name);
	sb_adds(j->sb, v ? "true" : "false");
}

void jw_str(struct json_writer *j, const char *name, const char *v)
{
	jw_key(j, name);
	if (v)
		json_add_string(j->sb, v, strlen(v));
	else
		sb_adds(j->sb, "null");
}

void jw_null(struct json_writer *j, const char *name)
{
	jw_key(j, name);
	sb_adds(j->sb, "null");
}
