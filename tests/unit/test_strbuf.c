// SPDX-License-Identifier: GPL-2.0
/* The string buffer (user/strbuf.c). */
#include <stdio.h>
#include <string.h>
#include "strbuf.h"
#include "unit.h"

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
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
