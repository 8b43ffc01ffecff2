// SPDX-License-Identifier: GPL-2.0
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
