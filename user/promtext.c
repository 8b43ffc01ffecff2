// SPDX-License-Identifier: GPL-2.0
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "promtext.h"
#include "text.h"

void promtext_family(struct strbuf *sb, const char *name, const char *type, const char *help)
{
	sb_addf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void promtext_escape(struct strbuf *sb, const char *value, size_t len)
{
	const unsigned char *s = (const unsigned char *)value;
	size_t i = 0;

	while (i < len) {
		size_t seq = mt_utf8_len(value + i, len - i);

		if (!seq) {
			sb_adds(sb, "\xef\xbf\xbd"); /* U+FFFD */
			i++;
		} else if (s[i] == '\\') {
			sb_adds(sb, "\\\\");
			i++;
		} else if (s[i] == '"') {
			sb_adds(sb, "\\\"");
			i++;
		} else if (s[i] == '\n') {
			sb_adds(sb, "\\n");
			i++;
		} else {
			sb_add(sb, value + i, seq);
			i += seq;
		}
	}
}

static void add_labels(struct strbuf *sb, const char *name, const struct promtext_label *labels,
		       size_t nlabels)
{
	sb_adds(sb, name);
	if (!nlabels)
		return;
	sb_add(sb, "{", 1);
	for (size_t i = 0; i < nlabels; i++) {
		const char *v = labels[i].value ? labels[i].value : "";
		size_t len = labels[i].len ? strnlen(v, labels[i].len) : strlen(v);

		sb_addf(sb, "%s%s=\"", i ? "," : "", labels[i].name);
		promtext_escape(sb, v, len);
		sb_add(sb, "\"", 1);
	}
	sb_add(sb, "}", 1);
}

void promtext_u64(struct strbuf *sb, const char *name, const struct promtext_label *labels,
		  size_t nlabels, uint64_t value)
{
	add_labels(sb, name, labels, nlabels);
	sb_addf(sb, " %llu\n", (unsigned long long)value);
}

void promtext_double(struct strbuf *sb, const char *name, const struct promtext_label *labels,
		     size_t nlabels, double value)
{
	add_labels(sb, name, labels, nlabels);
	if (isnan(value))
		sb_adds(sb, " NaN\n");
	else if (isinf(value))
		sb_adds(sb, value > 0 ? " +Inf\n" : " -Inf\n");
	else
		/* 17 significant digits: a double read back is the same double */
		sb_addf(sb, " %.17g\n", value);
}
