// SPDX-License-Identifier: GPL-2.0
/* What every format takes from user/writer.c: detail values (percent-encoding), times. */
#include <stdio.h>
#include <string.h>
#include "writer.h"
#include "unit.h"

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

/* ---- add_seconds ---- */

static const char *seconds(uint64_t ns, int decimals)
{
	static char out[64];
	struct strbuf sb;

	sb_init(&sb);
	add_seconds(&sb, ns, decimals);
	snprintf(out, sizeof(out), "%s", sb.data ? sb.data : "");
	sb_free(&sb);
	return out;
}

/* cut, not rounded, so that two formats never disagree on a row's time */
TEST(seconds_cut_to_the_digits_asked)
{
	CHECK_STREQ(seconds(1700000001623456789ULL, 6), "1700000001.623456");
	CHECK_STREQ(seconds(1700000001623456789ULL, 4), "1700000001.6234");
	CHECK_STREQ(seconds(999999999ULL, 6), "0.999999");
	CHECK_STREQ(seconds(123456789ULL, 9), "0.123456789");
	CHECK_STREQ(seconds(0, 6), "0.000000");
	CHECK_STREQ(seconds(5000001000ULL, 6), "5.000001");
	CHECK_STREQ(seconds(UINT64_MAX, 6), "18446744073.709551");
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(detail_plain_value_unchanged),
		UT(detail_space_and_equals_encoded),
		UT(detail_percent_encoded),
		UT(detail_csv_specials_encoded),
		UT(detail_non_printable_bytes_encoded_upper_hex),
		UT(detail_nul_byte_encoded),
		UT(detail_respects_len),
		UT(detail_every_byte_round_trips),
		UT(seconds_cut_to_the_digits_asked),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
