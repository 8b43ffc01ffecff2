// SPDX-License-Identifier: GPL-2.0
#include <stdbool.h>
#include "csv.h"

void csv_add_field(struct strbuf *sb, const char *field, size_t len)
{
	bool quote = false;

	for (size_t i = 0; i < len; i++) {
		char c = field[i];

		if (c == ',' || c == '"' || c == '\r' || c == '\n') {
			quote = true;
			break;
		}
	}
	if (!quote) {
		sb_add(sb, field, len);
		return;
	}
	sb_add(sb, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		if (field[i] == '"')
			sb_add(sb, "\"", 1);
		sb_add(sb, &field[i], 1);
	}
	sb_add(sb, "\"", 1);
}

void detail_add_value(struct strbuf *sb, const char *value, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c <= ' ' || c >= 0x7f || c == '%' || c == '=' || c == '"' || c == ',')
			sb_addf(sb, "%%%02X", c);
		else
			sb_add(sb, (const char *)&c, 1);
	}
}
