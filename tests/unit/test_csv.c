// SPDX-License-Identifier: GPL-2.0
/* strbuf, csv_add_field (RFC 4180) and detail_add_value (percent-encoding) from user/csv.c. */
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

/* ---- strbuf ---- */

TEST(sb_init_is_empty)
{
	struct strbuf sb;

	sb_init(&sb);
	CHECK(sb.data == NULL);
	CHECK_EQ_U64(sb.len, 0);
	CHECK_EQ_U64(sb.cap, 0);
	sb_free(&sb);
}

TEST(sb_add_appends_and_terminates)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_add(&sb, "abcdef", 3);
	sb_adds(&sb, "-xyz");
	REQUIRE(sb.data != NULL);
	CHECK_STREQ(sb.data, "abc-xyz");
	CHECK_EQ_U64(sb.len, 7);
	CHECK(sb.cap > sb.len);
	sb_free(&sb);
}

TEST(sb_addf_formats)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_addf(&sb, "%d-%s", 42, "x");
	sb_addf(&sb, ",%.2f", 2.5);
	REQUIRE(sb.data != NULL);
	CHECK_STREQ(sb.data, "42-x,2.50");
	CHECK_EQ_U64(sb.len, strlen("42-x,2.50"));
	sb_free(&sb);
}

TEST(sb_addf_empty_result_still_terminates)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_addf(&sb, "%s", "");
	REQUIRE(sb.data != NULL);
	CHECK_STREQ(sb.data, "");
	CHECK_EQ_U64(sb.len, 0);
	sb_free(&sb);
}

TEST(sb_addf_longer_than_initial_capacity)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_adds(&sb, "x");
	sb_addf(&sb, "%01000d|", 7);
	REQUIRE(sb.data != NULL);
	CHECK_EQ_U64(sb.len, 1002);
	CHECK_EQ_U64(strlen(sb.data), 1002);
	CHECK(sb.data[0] == 'x' && sb.data[1] == '0' && sb.data[999] == '0');
	CHECK(sb.data[1000] == '7' && sb.data[1001] == '|');
	CHECK(sb.cap > sb.len);
	sb_free(&sb);
}

TEST(sb_consume_partial)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_adds(&sb, "hello world");
	sb_consume(&sb, 6);
	CHECK_STREQ(sb.data, "world");
	CHECK_EQ_U64(sb.len, 5);
	sb_consume(&sb, 0);
	CHECK_STREQ(sb.data, "world");
	sb_adds(&sb, "!");
	CHECK_STREQ(sb.data, "world!");
	sb_free(&sb);
}

TEST(sb_consume_all)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_adds(&sb, "hello");
	sb_consume(&sb, 5);
	CHECK_EQ_U64(sb.len, 0);
	CHECK_STREQ(sb.data, "");
	sb_adds(&sb, "again");
	sb_consume(&sb, 1000);
	CHECK_EQ_U64(sb.len, 0);
	CHECK_STREQ(sb.data, "");
	sb_free(&sb);
}

TEST(sb_consume_on_empty_buffer)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_consume(&sb, 3);
	CHECK_EQ_U64(sb.len, 0);
	CHECK(sb.data == NULL);
	sb_free(&sb);
}

TEST(sb_reset_keeps_memory)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_adds(&sb, "some text");
	size_t cap = sb.cap;
	sb_reset(&sb);
	CHECK_EQ_U64(sb.len, 0);
	CHECK_EQ_U64(sb.cap, cap);
	sb_adds(&sb, "new");
	CHECK_STREQ(sb.data, "new");
	sb_free(&sb);
}

TEST(sb_free_resets)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_adds(&sb, "text");
	sb_free(&sb);
	CHECK(sb.data == NULL);
	CHECK_EQ_U64(sb.len, 0);
	CHECK_EQ_U64(sb.cap, 0);
	sb_free(&sb); /* twice is harmless */
}

TEST(sb_grows_over_many_appends)
{
	struct strbuf sb;
	int bad = -1;

	sb_init(&sb);
	for (int i = 0; i < 10000; i++) {
		if (i % 2)
			sb_adds(&sb, "0123456789");
		else
			sb_addf(&sb, "%010d", i);
	}
	REQUIRE(sb.data != NULL);
	CHECK_EQ_U64(sb.len, 100000);
	CHECK_EQ_U64(strlen(sb.data), 100000);
	CHECK(sb.cap > sb.len);
	for (int i = 0; i < 10000 && bad < 0; i++) {
		char want[16] = "0123456789";

		if (i % 2 == 0)
			snprintf(want, sizeof(want), "%010d", i);
		if (memcmp(sb.data + i * 10, want, 10))
			bad = i;
	}
	CHECK_EQ_INT(bad, -1);
	sb_free(&sb);
}

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
		UT(sb_init_is_empty),
		UT(sb_add_appends_and_terminates),
		UT(sb_addf_formats),
		UT(sb_addf_empty_result_still_terminates),
		UT(sb_addf_longer_than_initial_capacity),
		UT(sb_consume_partial),
		UT(sb_consume_all),
		UT(sb_consume_on_empty_buffer),
		UT(sb_reset_keeps_memory),
		UT(sb_free_resets),
		UT(sb_grows_over_many_appends),
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
