// SPDX-License-Identifier: GPL-2.0
/* csv_add_field (RFC 4180) and detail_add_value (percent-encoding) from user/csv.c. */
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

static const char *detail_value(const char *text, size_t len)
{
	static char out[256];
	struct strbuf sb;

	sb_init(&sb);
	detail_add_value(&sb, text, len);
	snprintf(out, sizeof(out), "%s", sb.data ? sb.data : "");
	sb_free(&sb);
	return out;
}

#define DETAIL(text) detail_value(text, sizeof(text) - 1)

/* ---- csv_add_field ---- */

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

/* ---- detail_add_value ---- */

TEST(detail_plain_value_unchanged)
{
	CHECK_STREQ(DETAIL("python3"), "python3");
	CHECK_STREQ(DETAIL("/user.slice/a-b_c.scope:~!"), "/user.slice/a-b_c.scope:~!");
}

TEST(detail_space_and_equals_encoded)
{
	CHECK_STREQ(DETAIL("a b=c"), "a%20b%3Dc");
	CHECK_STREQ(DETAIL("="), "%3D");
	CHECK_STREQ(DETAIL(" "), "%20");
}

TEST(detail_percent_encoded)
{
	CHECK_STREQ(DETAIL("%"), "%25");
	CHECK_STREQ(DETAIL("100%20"), "100%2520");
}

TEST(detail_csv_specials_encoded)
{
	CHECK_STREQ(DETAIL(","), "%2C");
	CHECK_STREQ(DETAIL("\""), "%22");
	CHECK_STREQ(DETAIL("\n"), "%0A");
	CHECK_STREQ(DETAIL("\r"), "%0D");
}

TEST(detail_non_printable_bytes_encoded_upper_hex)
{
	CHECK_STREQ(DETAIL("\x01"), "%01");
	CHECK_STREQ(DETAIL("\xff"), "%FF");
	CHECK_STREQ(DETAIL("\x7f"), "%7F");
	CHECK_STREQ(DETAIL("\t"), "%09");
	CHECK_STREQ(DETAIL("caf\xc3\xa9"), "caf%C3%A9");
}

TEST(detail_nul_byte_encoded)
{
	CHECK_STREQ(detail_value("a\0b", 3), "a%00b");
}

TEST(detail_respects_len)
{
	CHECK_STREQ(detail_value("ab cd", 2), "ab");
}

/* every byte: either itself (printable, not special) or %XX of itself */
TEST(detail_every_byte_round_trips)
{
	for (int c = 0; c < 256; c++) {
		char in = (char)c, want[4];
		const char *out = detail_value(&in, 1);
		int plain = c > ' ' && c < 0x7f && !strchr("%=\",", c);

		if (plain)
			snprintf(want, sizeof(want), "%c", c);
		else
			snprintf(want, sizeof(want), "%%%02X", c);
		if (strcmp(out, want))
			ut_fail(__FILE__, __LINE__, "byte 0x%02x: \"%s\", want \"%s\"", c, out, want);
	}
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
		UT(detail_plain_value_unchanged),
		UT(detail_space_and_equals_encoded),
		UT(detail_percent_encoded),
		UT(detail_csv_specials_encoded),
		UT(detail_non_printable_bytes_encoded_upper_hex),
		UT(detail_nul_byte_encoded),
		UT(detail_respects_len),
		UT(detail_every_byte_round_trips),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
