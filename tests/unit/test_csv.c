// SPDX-License-Identifier: GPL-2.0
/* csv_add_field (RFC 4180) from user/csv.c. */
#include <stdio.h>
#include <string.h>
#include "csv.h"
#include "unit.h"

/* csv_add_field(text) on an empty buffer, as a string (static: valid until the next call) */
static const char *csv_field(const char *text)
{
	static char out[256];
	struct strbuf sb;

	sb_init(&sb);
	csv_add_field(&sb, text, strlen(text));
	snprintf(out, sizeof(out), "%s", sb.data ? sb.data : "(null)");
	sb_free(&sb);
	return out;
}

TEST(csv_plain_field_unchanged)
{
	CHECK_STREQ(csv_field("python3"), "python3");
	CHECK_STREQ(csv_field("kworker/0:1H"), "kworker/0:1H");
}

TEST(csv_comma_and_quote_are_quoted_and_doubled)
{
	CHECK_STREQ(csv_field("a,b\"c"), "\"a,b\"\"c\"");
	CHECK_STREQ(csv_field("a,b"), "\"a,b\"");
	CHECK_STREQ(csv_field("\""), "\"\"\"\"");
	CHECK_STREQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
}

TEST(csv_newline_is_quoted)
{
	CHECK_STREQ(csv_field("a\nb"), "\"a\nb\"");
	CHECK_STREQ(csv_field("\n"), "\"\n\"");
}

TEST(csv_carriage_return_is_quoted)
{
	CHECK_STREQ(csv_field("a\rb"), "\"a\rb\"");
	CHECK_STREQ(csv_field("a\r\nb"), "\"a\r\nb\"");
}

TEST(csv_empty_field_is_empty)
{
	struct strbuf sb;

	sb_init(&sb);
	csv_add_field(&sb, "", 0);
	CHECK_EQ_U64(sb.len, 0);
	CHECK(!sb.data || !strcmp(sb.data, ""));
	sb_free(&sb);
}

TEST(csv_spaces_stay_unquoted)
{
	CHECK_STREQ(csv_field(" leading"), " leading");
	CHECK_STREQ(csv_field("trailing "), "trailing ");
	CHECK_STREQ(csv_field("a b"), "a b");
	CHECK_STREQ(csv_field("tab\there"), "tab\there");
}

TEST(csv_high_bytes_unchanged)
{
	CHECK_STREQ(csv_field("caf\xc3\xa9"), "caf\xc3\xa9");
	CHECK_STREQ(csv_field("\x80\xff"), "\x80\xff");
}

TEST(csv_respects_len)
{
	struct strbuf sb;

	sb_init(&sb);
	csv_add_field(&sb, "abc,def", 3);
	CHECK_STREQ(sb.data, "abc");
	sb_free(&sb);
}

TEST(csv_appends_to_a_row)
{
	struct strbuf sb;

	sb_init(&sb);
	csv_add_field(&sb, "1", 1);
	sb_adds(&sb, ",");
	csv_add_field(&sb, "x,y", 3);
	sb_adds(&sb, ",");
	csv_add_field(&sb, "z", 1);
	CHECK_STREQ(sb.data, "1,\"x,y\",z");
	sb_free(&sb);
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(csv_plain_field_unchanged),
		UT(csv_comma_and_quote_are_quoted_and_doubled),
		UT(csv_newline_is_quoted),
		UT(csv_carriage_return_is_quoted),
		UT(csv_empty_field_is_empty),
		UT(csv_spaces_stay_unquoted),
		UT(csv_high_bytes_unchanged),
		UT(csv_respects_len),
		UT(csv_appends_to_a_row),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
