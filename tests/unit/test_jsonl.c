// SPDX-License-Identifier: GPL-2.0
/* The jsonl format (user/jsonl.c), written through a real writer and read back byte for byte. */
#include <stdio.h>
#include <string.h>
#include "writer.h"
#include "unit.h"
#include "writer_run.h"

/* the comm field of one jsonl row whose comm is `comm`, as written (quotes included) */
static const char *json_comm(const char *comm)
{
	static char field[256];
	struct run r;
	struct mt_row x = row_at(0, 1, 0, MT_ROW_SAMPLE, 0);
	const char *start, *end;

	field[0] = '\0';
	if (run_open(&r, "jsonl", NULL))
		return "(open failed)";
	x.comm = comm;
	writer_row(&r.w, &x);
	run_close(&r);
	start = strstr(out, "\"comm\":");
	end = strstr(out, ",\"event\":");
	if (!start || !end || end < start)
		return "(no comm)";
	start += strlen("\"comm\":");
	snprintf(field, sizeof(field), "%.*s", (int)(end - start), start);
	return field;
}

TEST(jsonl_no_header)
{
	struct run r;

	REQUIRE(run_open(&r, "jsonl", "cmd") == 0);
	interval_end(&r, 100); /* and nothing per interval either */
	CHECK_STREQ(run_close(&r), "");
}

TEST(jsonl_row_exact)
{
	struct run r;
	struct mt_row x = {
		.mono_ns = T0_MONO + 1500000000ULL + 123456789ULL,
		.pid = 4242,
		.ppid = 1,
		.comm = "python3",
		.event = MT_ROW_SAMPLE,
		.rss_bytes = 300,
		.anon_bytes = 100,
		.file_bytes = 120,
		.shmem_bytes = 80,
		.peak_rss_bytes = 4096,
		.rss_delta_bytes = -8192,
		.faults = 7,
		.pages_alloc = 9,
	};

	REQUIRE(run_open(&r, "jsonl", "cmd") == 0);
	writer_row(&r.w, &x);
	/* seconds cut to microseconds as the CSV cuts them; integers as integers */
	CHECK_STREQ(run_close(&r),
		    "{\"unix_time\":1700000001.623456,\"elapsed_s\":1.623456,\"pid\":4242,"
		    "\"ppid\":1,\"comm\":\"python3\",\"event\":\"sample\",\"rss_bytes\":300,"
		    "\"anon_bytes\":100,\"file_bytes\":120,\"shmem_bytes\":80,"
		    "\"peak_rss_bytes\":4096,\"rss_delta_bytes\":-8192,\"faults\":7,"
		    "\"pages_alloc\":9,\"detail\":\"\"}\n");
}

TEST(jsonl_events_and_detail)
{
	struct run r;
	struct mt_row x = row_at(0, 7, 6, MT_ROW_EXIT, 0);
	const char *text;

	REQUIRE(run_open(&r, "jsonl", "cmd") == 0);
	x.detail = "signal=SIGKILL core_dumped=1";
	writer_row(&r.w, &x);
	x.event = MT_ROW_OOM_KILL;
	x.detail = "trigger_comm=a%20b";
	writer_row(&r.w, &x);
	x.event = MT_ROW_LIMIT;
	x.detail = NULL;
	writer_row(&r.w, &x);
	x.event = MT_ROW_START;
	writer_row(&r.w, &x);
	text = run_close(&r);
	CHECK(strstr(text, "\"event\":\"exit\",") != NULL);
	CHECK(strstr(text, "\"detail\":\"signal=SIGKILL core_dumped=1\"}\n") != NULL);
	CHECK(strstr(text, "\"event\":\"oom_kill\",") != NULL);
	CHECK(strstr(text, "\"detail\":\"trigger_comm=a%20b\"}\n") != NULL);
	CHECK(strstr(text, "\"event\":\"limit\",") != NULL);
	CHECK(strstr(text, "\"event\":\"start\",") != NULL);
	CHECK(strstr(text, "\"detail\":\"\"}\n") != NULL);
}

TEST(jsonl_time_before_start_is_zero)
{
	struct run r;
	struct mt_row x = row_at(0, 1, 0, MT_ROW_SAMPLE, 0);

	REQUIRE(run_open(&r, "jsonl", "cmd") == 0);
	x.mono_ns = T0_MONO - 5;
	writer_row(&r.w, &x);
	CHECK(strncmp(run_close(&r), "{\"unix_time\":1700000000.000000,\"elapsed_s\":0.000000,",
		      strlen("{\"unix_time\":1700000000.000000,\"elapsed_s\":0.000000,")) == 0);
}

TEST(jsonl_large_numbers)
{
	struct run r;
	struct mt_row x = row_at(0, 2147483647, 2147483647, MT_ROW_SAMPLE, UINT64_MAX);
	const char *text;

	REQUIRE(run_open(&r, "jsonl", "cmd") == 0);
	x.rss_delta_bytes = INT64_MIN;
	x.faults = UINT64_MAX;
	writer_row(&r.w, &x);
	text = run_close(&r);
	CHECK(strstr(text, "\"pid\":2147483647,\"ppid\":2147483647,") != NULL);
	CHECK(strstr(text, "\"rss_bytes\":18446744073709551615,") != NULL);
	CHECK(strstr(text, "\"rss_delta_bytes\":-9223372036854775808,") != NULL);
	CHECK(strstr(text, "\"faults\":18446744073709551615,") != NULL);
}

TEST(jsonl_hostile_comm_escaped)
{
	/* quote, backslash, newline, an invalid byte and a control byte: 15 bytes, as the kernel
	 * allows */
	CHECK_STREQ(json_comm("a\"b\\c\nd\xff\x01zzzzz"), "\"a\\\"b\\\\c\\nd\\u00ff\\u0001zzzzz\"");
	CHECK_STREQ(json_comm("\r\t\b\f\x1f\x7f"), "\"\\r\\t\\u0008\\u000c\\u001f\\u007f\"");
	CHECK_STREQ(json_comm("\""), "\"\\\"\"");
	CHECK_STREQ(json_comm(""), "\"\"");
}

TEST(jsonl_comm_utf8)
{
	/* well-formed UTF-8 is kept as is */
	CHECK_STREQ(json_comm("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
	CHECK_STREQ(json_comm("\xe2\x82\xac\xf0\x9f\x98\x80"), "\"\xe2\x82\xac\xf0\x9f\x98\x80\"");
	/* a name the kernel cut in the middle of a character */
	CHECK_STREQ(json_comm("abcdefghijklm\xe2\x82"), "\"abcdefghijklm\\u00e2\\u0082\"");
	/* stray continuation, overlong, surrogate, above U+10FFFF, bad lead bytes */
	CHECK_STREQ(json_comm("\x80"), "\"\\u0080\"");
	CHECK_STREQ(json_comm("\xc0\xaf"), "\"\\u00c0\\u00af\"");
	CHECK_STREQ(json_comm("\xe0\x80\xaf"), "\"\\u00e0\\u0080\\u00af\"");
	CHECK_STREQ(json_comm("\xed\xa0\x80"), "\"\\u00ed\\u00a0\\u0080\"");
	CHECK_STREQ(json_comm("\xf4\x90\x80\x80"), "\"\\u00f4\\u0090\\u0080\\u0080\"");
	CHECK_STREQ(json_comm("\xf5\xfe"), "\"\\u00f5\\u00fe\"");
	/* a valid character right after an invalid byte survives */
	CHECK_STREQ(json_comm("\xc3\xc3\xa9"), "\"\\u00c3\xc3\xa9\"");
}

/* the comm is read up to 16 bytes even without a NUL, as the CSV reads it */
TEST(jsonl_comm_bounded)
{
	char comm[17];

	memset(comm, 'x', 16);
	comm[16] = 'Y'; /* past the field: must not appear */
	CHECK_STREQ(json_comm(comm), "\"xxxxxxxxxxxxxxxx\"");
}

/* every single byte: an ASCII printable one as itself (quote and backslash escaped), any
 * other as \u00XX */
TEST(jsonl_every_byte)
{
	for (int c = 1; c < 256; c++) {
		char comm[2] = { (char)c, 0 }, want[16];

		if (c == '"' || c == '\\')
			snprintf(want, sizeof(want), "\"\\%c\"", c);
		else if (c == '\n')
			snprintf(want, sizeof(want), "\"\\n\"");
		else if (c == '\r')
			snprintf(want, sizeof(want), "\"\\r\"");
		else if (c == '\t')
			snprintf(want, sizeof(want), "\"\\t\"");
		else if (c >= 0x20 && c < 0x7f)
			snprintf(want, sizeof(want), "\"%c\"", c);
		else
			snprintf(want, sizeof(want), "\"\\u%04x\"", c);
		const char *got = json_comm(comm);

		if (strcmp(got, want))
			ut_fail(__FILE__, __LINE__, "byte 0x%02x: %s, want %s", c, got, want);
	}
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(jsonl_no_header),
		UT(jsonl_row_exact),
		UT(jsonl_events_and_detail),
		UT(jsonl_time_before_start_is_zero),
		UT(jsonl_large_numbers),
		UT(jsonl_hostile_comm_escaped),
		UT(jsonl_comm_utf8),
		UT(jsonl_comm_bounded),
		UT(jsonl_every_byte),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
