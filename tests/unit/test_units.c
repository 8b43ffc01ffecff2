// SPDX-License-Identifier: GPL-2.0
/*
 * mt_parse_size, mt_parse_duration, mt_parse_signal, mt_format_size, mt_format_duration
 * (SPEC: SIZE, DUR, --kill[=SIGNAL]).
 */
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include "units.h"
#include "unit.h"

#define KIB 1024ULL
#define MIB (1024ULL * KIB)
#define GIB (1024ULL * MIB)
#define TIB (1024ULL * GIB)
#define MS 1000000ULL
#define SEC 1000000000ULL

/* CHECK that text parses as a size of `expected` bytes */
#define CHECK_SIZE(text, expected)                                                                 \
	do {                                                                                       \
		uint64_t v_ = 0xdeadbeef;                                                          \
		int r_ = mt_parse_size(text, &v_);                                                 \
		if (r_ != 0)                                                                       \
			ut_fail(__FILE__, __LINE__, "mt_parse_size(\"%s\") returned %d", text,     \
				r_);                                                               \
		else if (v_ != (uint64_t)(expected))                                               \
			ut_fail(__FILE__, __LINE__,                                                \
				"mt_parse_size(\"%s\") = %" PRIu64 ", want %" PRIu64, text, v_,    \
				(uint64_t)(expected));                                             \
	} while (0)

/* CHECK that text is refused as a size, leaving the result alone */
#define CHECK_SIZE_REJECTED(text)                                                                  \
	do {                                                                                       \
		uint64_t v_ = 0xdeadbeef;                                                          \
		int r_ = mt_parse_size(text, &v_);                                                 \
		if (r_ != -1)                                                                      \
			ut_fail(__FILE__, __LINE__,                                                \
				"mt_parse_size(\"%s\") returned %d (%" PRIu64 "), want -1", text,  \
				r_, v_);                                                           \
	} while (0)

#define CHECK_DURATION(text, expected)                                                             \
	do {                                                                                       \
		uint64_t v_ = 0xdeadbeef;                                                          \
		int r_ = mt_parse_duration(text, &v_);                                             \
		if (r_ != 0)                                                                       \
			ut_fail(__FILE__, __LINE__, "mt_parse_duration(\"%s\") returned %d", text, \
				r_);                                                               \
		else if (v_ != (uint64_t)(expected))                                               \
			ut_fail(__FILE__, __LINE__,                                                \
				"mt_parse_duration(\"%s\") = %" PRIu64 ", want %" PRIu64, text,    \
				v_, (uint64_t)(expected));                                         \
	} while (0)

#define CHECK_DURATION_REJECTED(text)                                                              \
	do {                                                                                       \
		uint64_t v_ = 0xdeadbeef;                                                          \
		int r_ = mt_parse_duration(text, &v_);                                             \
		if (r_ != -1)                                                                      \
			ut_fail(__FILE__, __LINE__,                                                \
				"mt_parse_duration(\"%s\") returned %d (%" PRIu64 "), want -1",    \
				text, r_, v_);                                                     \
	} while (0)

#define CHECK_SIGNAL(text, expected)                                                               \
	do {                                                                                       \
		int s_ = -12345;                                                                   \
		int r_ = mt_parse_signal(text, &s_);                                               \
		if (r_ != 0)                                                                       \
			ut_fail(__FILE__, __LINE__, "mt_parse_signal(\"%s\") returned %d", text,     \
				r_);                                                               \
		else if (s_ != (int)(expected))                                                    \
			ut_fail(__FILE__, __LINE__, "mt_parse_signal(\"%s\") = %d, want %d", text, \
				s_, (int)(expected));                                              \
	} while (0)

/* CHECK that text is refused as a signal, leaving the result alone */
#define CHECK_SIGNAL_REJECTED(text)                                                                \
	do {                                                                                       \
		int s_ = -12345;                                                                   \
		int r_ = mt_parse_signal(text, &s_);                                               \
		if (r_ != -1 || s_ != -12345)                                                      \
			ut_fail(__FILE__, __LINE__,                                                \
				"mt_parse_signal(\"%s\") returned %d (%d), want -1 and untouched", \
				text, r_, s_);                                                     \
	} while (0)

static const char *fmt_size(uint64_t bytes)
{
	static char buf[64];

	return mt_format_size(bytes, buf, sizeof(buf));
}

static const char *fmt_duration(uint64_t ns)
{
	static char buf[64];

	return mt_format_duration(ns, buf, sizeof(buf));
}

/* ---- mt_parse_size ---- */

TEST(size_plain_byte_counts)
{
	CHECK_SIZE("0", 0);
	CHECK_SIZE("1", 1);
	CHECK_SIZE("4096", 4096);
	CHECK_SIZE("1048576", MIB);
}

TEST(size_suffixes_are_powers_of_1024)
{
	CHECK_SIZE("1K", KIB);
	CHECK_SIZE("2M", 2 * MIB);
	CHECK_SIZE("3G", 3 * GIB);
	CHECK_SIZE("1T", TIB);
}

TEST(size_suffixes_ignore_case)
{
	CHECK_SIZE("1k", KIB);
	CHECK_SIZE("2m", 2 * MIB);
	CHECK_SIZE("1gib", GIB);
	CHECK_SIZE("1t", TIB);
}

TEST(size_kib_and_kb_forms_are_binary_too)
{
	CHECK_SIZE("1KiB", KIB);
	CHECK_SIZE("1KB", KIB);
	CHECK_SIZE("2MiB", 2 * MIB);
	CHECK_SIZE("2MB", 2 * MIB);
	CHECK_SIZE("1GiB", GIB);
	CHECK_SIZE("1TiB", TIB);
}

TEST(size_decimals_with_a_suffix)
{
	CHECK_SIZE("1.5G", 1610612736ULL);
	CHECK_SIZE("0.5K", 512);
	CHECK_SIZE("0.75K", 768);
	CHECK_SIZE("1.25T", TIB + TIB / 4);
}

TEST(size_rejects_empty_and_null)
{
	uint64_t v = 7;

	CHECK_SIZE_REJECTED("");
	CHECK_EQ_INT(mt_parse_size(NULL, &v), -1);
	CHECK_EQ_U64(v, 7);
}

TEST(size_rejects_signs)
{
	CHECK_SIZE_REJECTED("-1");
	CHECK_SIZE_REJECTED("-1K");
	CHECK_SIZE_REJECTED("+1K");
}

TEST(size_rejects_unknown_suffixes)
{
	CHECK_SIZE_REJECTED("abc");
	CHECK_SIZE_REJECTED("1X");
	CHECK_SIZE_REJECTED("1P"); /* K, M, G, T only */
	CHECK_SIZE_REJECTED("1KK");
	CHECK_SIZE_REJECTED("1Ki");
	CHECK_SIZE_REJECTED("K");
}

TEST(size_rejects_fractional_byte_count)
{
	CHECK_SIZE_REJECTED("1.5");
	CHECK_SIZE_REJECTED("0.5");
}

TEST(size_rejects_spaces)
{
	CHECK_SIZE_REJECTED(" 1K");
	CHECK_SIZE_REJECTED("1K ");
	CHECK_SIZE_REJECTED("1 K");
	CHECK_SIZE_REJECTED(" ");
}

TEST(size_rejects_what_strtod_would_take)
{
	CHECK_SIZE_REJECTED("inf");
	CHECK_SIZE_REJECTED("nan");
	CHECK_SIZE_REJECTED("infinity");
	CHECK_SIZE_REJECTED("0x10");
	CHECK_SIZE_REJECTED("1e3");
	CHECK_SIZE_REJECTED("1e3K");
}

TEST(size_rejects_malformed_decimals)
{
	CHECK_SIZE_REJECTED("1..5M");
	CHECK_SIZE_REJECTED("1.5.5M");
	CHECK_SIZE_REJECTED(".");
	CHECK_SIZE_REJECTED(".K");
}

TEST(size_rejects_overflow)
{
	CHECK_SIZE_REJECTED("99999999999999999999T");
	CHECK_SIZE_REJECTED("18446744073709551616"); /* 2^64 */
	CHECK_SIZE_REJECTED("16777216T");	     /* 2^64 bytes */
	CHECK_SIZE_REJECTED("99999999999999999999999999999999999999999999");
}

TEST(size_largest_values)
{
	CHECK_SIZE("16777215T", 16777215ULL * TIB);
	CHECK_SIZE("9007199254740992", 9007199254740992ULL); /* 2^53 */
}

/* A plain byte count is a whole number: it must not go through a double. */
TEST(size_large_byte_count_is_exact)
{
	CHECK_SIZE("9007199254740993", 9007199254740993ULL); /* 2^53 + 1 */
	CHECK_SIZE("18000000000000000001", 18000000000000000001ULL);
}

/* ---- mt_parse_duration ---- */

TEST(duration_suffixes)
{
	CHECK_DURATION("100ms", 100 * MS);
	CHECK_DURATION("1ms", MS);
	CHECK_DURATION("1s", SEC);
	CHECK_DURATION("1m", 60 * SEC);
	CHECK_DURATION("1h", 3600 * SEC);
	CHECK_DURATION("0s", 0);
}

TEST(duration_decimals)
{
	CHECK_DURATION("2.5s", 2500 * MS);
	CHECK_DURATION("0.5ms", 500000);
	CHECK_DURATION("1.5m", 90 * SEC);
	CHECK_DURATION("0.1s", 100 * MS);
	CHECK_DURATION("0.3s", 300 * MS);
}

TEST(duration_bare_number_is_seconds)
{
	CHECK_DURATION("3", 3 * SEC);
	CHECK_DURATION("0.5", 500 * MS);
	CHECK_DURATION("0", 0);
}

TEST(duration_rejects_empty_and_null)
{
	uint64_t v = 7;

	CHECK_DURATION_REJECTED("");
	CHECK_EQ_INT(mt_parse_duration(NULL, &v), -1);
	CHECK_EQ_U64(v, 7);
}

TEST(duration_rejects_negative)
{
	CHECK_DURATION_REJECTED("-1s");
	CHECK_DURATION_REJECTED("-1");
	CHECK_DURATION_REJECTED("+1s");
}

TEST(duration_rejects_unknown_suffixes)
{
	CHECK_DURATION_REJECTED("1x");
	CHECK_DURATION_REJECTED("500us");
	CHECK_DURATION_REJECTED("1d");
	CHECK_DURATION_REJECTED("1sec");
	CHECK_DURATION_REJECTED("1mss");
}

TEST(duration_rejects_suffix_without_number)
{
	CHECK_DURATION_REJECTED("ms");
	CHECK_DURATION_REJECTED("s");
	CHECK_DURATION_REJECTED(".s");
}

TEST(duration_rejects_spaces)
{
	CHECK_DURATION_REJECTED("1 s");
	CHECK_DURATION_REJECTED(" 1s");
	CHECK_DURATION_REJECTED("1s ");
}

/* durations take lower-case suffixes only: "1M" is not a minute, let alone a month */
TEST(duration_suffixes_are_lower_case)
{
	CHECK_DURATION_REJECTED("1S");
	CHECK_DURATION_REJECTED("1MS");
	CHECK_DURATION_REJECTED("1Ms");
	CHECK_DURATION_REJECTED("1M");
	CHECK_DURATION_REJECTED("1H");
}

TEST(duration_rejects_what_strtod_would_take)
{
	CHECK_DURATION_REJECTED("inf");
	CHECK_DURATION_REJECTED("nan");
	CHECK_DURATION_REJECTED("0x10s");
	CHECK_DURATION_REJECTED("1e3");
	CHECK_DURATION_REJECTED("1..5s");
	CHECK_DURATION_REJECTED(".");
}

TEST(duration_rejects_overflow)
{
	CHECK_DURATION_REJECTED("9999999999h");
	CHECK_DURATION_REJECTED("99999999999999999999");
	CHECK_DURATION("2000000h", 2000000ULL * 3600 * SEC);
}

/* ---- mt_format_size ---- */

TEST(format_size_bytes)
{
	CHECK_STREQ(fmt_size(0), "0 B");
	CHECK_STREQ(fmt_size(812), "812 B");
	CHECK_STREQ(fmt_size(1023), "1023 B");
}

TEST(format_size_binary_units)
{
	CHECK_STREQ(fmt_size(KIB), "1.00 KiB");
	CHECK_STREQ(fmt_size(1536), "1.50 KiB");
	CHECK_STREQ(fmt_size(MIB), "1.00 MiB");
	CHECK_STREQ(fmt_size(GIB), "1.00 GiB");
	CHECK_STREQ(fmt_size(TIB), "1.00 TiB");
	CHECK_STREQ(fmt_size(1024 * TIB), "1.00 PiB");
}

TEST(format_size_three_significant_digits)
{
	CHECK_STREQ(fmt_size(1610612736ULL), "1.50 GiB");
	CHECK_STREQ(fmt_size(10 * KIB), "10.0 KiB");
	CHECK_STREQ(fmt_size(MIB * 312 / 10), "31.2 MiB");
	CHECK_STREQ(fmt_size(300 * MIB), "300 MiB");
}

TEST(format_size_returns_buf_and_truncates_safely)
{
	char buf[5];

	memset(buf, 'x', sizeof(buf));
	CHECK(mt_format_size(300 * MIB, buf, sizeof(buf)) == buf);
	CHECK_STREQ(buf, "300 ");
}

/* ---- mt_format_duration ---- */

TEST(format_duration_seconds)
{
	CHECK_STREQ(fmt_duration(0), "0.000 s");
	CHECK_STREQ(fmt_duration(123 * MS), "0.123 s");
	CHECK_STREQ(fmt_duration(12300 * MS), "12.30 s");
	CHECK_STREQ(fmt_duration(59 * SEC), "59.00 s");
}

TEST(format_duration_minutes)
{
	CHECK_STREQ(fmt_duration(60 * SEC), "1m00.0s");
	CHECK_STREQ(fmt_duration(125500 * MS), "2m05.5s");
	CHECK_STREQ(fmt_duration(3599 * SEC), "59m59.0s");
}

TEST(format_duration_hours)
{
	CHECK_STREQ(fmt_duration(3600 * SEC), "1h00m00s");
	CHECK_STREQ(fmt_duration(3723 * SEC), "1h02m03s");
	CHECK_STREQ(fmt_duration(100 * 3600 * SEC + 59 * 60 * SEC + 59 * SEC), "100h59m59s");
}

/* Rounding the seconds must carry into the minutes: never "1m60.0s". */
TEST(format_duration_rounding_carries_into_minutes)
{
	static const uint64_t near_a_minute[] = { 179999 * MS, 3599970 * MS };

	CHECK_STREQ(fmt_duration(119970 * MS), "2m00.0s");
	for (size_t i = 0; i < UT_COUNT(near_a_minute); i++) {
		const char *text = fmt_duration(near_a_minute[i]);

		if (strstr(text, "m60"))
			ut_fail(__FILE__, __LINE__, "mt_format_duration(%" PRIu64 ") = \"%s\"",
				near_a_minute[i], text);
	}
}

TEST(format_duration_returns_buf_and_truncates_safely)
{
	char buf[4];

	CHECK(mt_format_duration(3723 * SEC, buf, sizeof(buf)) == buf);
	CHECK_STREQ(buf, "1h0");
}

/* ---- mt_parse_signal ---- */

TEST(signal_names_with_and_without_sig)
{
	CHECK_SIGNAL("KILL", SIGKILL);
	CHECK_SIGNAL("SIGKILL", SIGKILL);
	CHECK_SIGNAL("TERM", SIGTERM);
	CHECK_SIGNAL("SIGTERM", SIGTERM);
	CHECK_SIGNAL("USR1", SIGUSR1);
	CHECK_SIGNAL("SIGUSR2", SIGUSR2);
	CHECK_SIGNAL("HUP", SIGHUP);
	CHECK_SIGNAL("INT", SIGINT);
	CHECK_SIGNAL("SIGSTOP", SIGSTOP);
	CHECK_SIGNAL("SEGV", SIGSEGV);
	CHECK_SIGNAL("SYS", SIGSYS);
}

TEST(signal_names_ignore_case)
{
	CHECK_SIGNAL("kill", SIGKILL);
	CHECK_SIGNAL("sigterm", SIGTERM);
	CHECK_SIGNAL("SigUsr1", SIGUSR1);
	CHECK_SIGNAL("sigRTmin", SIGRTMIN);
	CHECK_SIGNAL("rtmin+2", SIGRTMIN + 2);
}

TEST(signal_numbers_1_to_64)
{
	CHECK_SIGNAL("1", 1);
	CHECK_SIGNAL("9", SIGKILL);
	CHECK_SIGNAL("15", SIGTERM);
	CHECK_SIGNAL("34", 34);
	CHECK_SIGNAL("64", 64);
}

TEST(signal_real_time)
{
	CHECK_SIGNAL("SIGRTMIN", SIGRTMIN);
	CHECK_SIGNAL("RTMIN", SIGRTMIN);
	CHECK_SIGNAL("SIGRTMAX", SIGRTMAX);
	CHECK_SIGNAL("RTMIN+2", SIGRTMIN + 2);
	CHECK_SIGNAL("SIGRTMIN+2", SIGRTMIN + 2);
	CHECK_SIGNAL("RTMIN+0", SIGRTMIN);
	CHECK_SIGNAL("SIGRTMAX-1", SIGRTMAX - 1);
	CHECK_SIGNAL("RTMAX-0", SIGRTMAX);
	/* the whole real-time range from either end */
	CHECK_SIGNAL("RTMIN+30", SIGRTMIN + 30);
	CHECK_EQ_INT(SIGRTMIN + 30, SIGRTMAX);
	CHECK_SIGNAL("RTMAX-30", SIGRTMIN);
	/* glibc keeps two for itself: RTMIN is 34, RTMAX 64 */
	CHECK_SIGNAL("SIGRTMAX-1", 63);
	CHECK_SIGNAL("RTMIN+2", 36);
}

/* a name is given back as the parser reads it, real-time signals included */
TEST(signal_name_reads_back)
{
	char buf[32];

	CHECK_STREQ(mt_signal_name(SIGKILL, buf, sizeof(buf)), "SIGKILL");
	CHECK_STREQ(mt_signal_name(SIGUSR1, buf, sizeof(buf)), "SIGUSR1");
	CHECK_STREQ(mt_signal_name(SIGRTMIN + 2, buf, sizeof(buf)), "SIGRTMIN+2");
	CHECK_STREQ(mt_signal_name(SIGRTMAX, buf, sizeof(buf)), "SIGRTMIN+30");
	CHECK_STREQ(mt_signal_name(65, buf, sizeof(buf)), "65");
	for (int sig = 1; sig <= SIGRTMAX; sig++) {
		int back = 0;

		CHECK_EQ_INT(mt_parse_signal(mt_signal_name(sig, buf, sizeof(buf)), &back), 0);
		CHECK_EQ_INT(back, sig);
	}
}

TEST(signal_rejects_empty_and_null)
{
	int sig = 7;

	CHECK_SIGNAL_REJECTED("");
	CHECK_EQ_INT(mt_parse_signal(NULL, &sig), -1);
	CHECK_EQ_INT(sig, 7);
}

TEST(signal_rejects_numbers_out_of_range)
{
	CHECK_SIGNAL_REJECTED("0");
	CHECK_SIGNAL_REJECTED("65");
	CHECK_SIGNAL_REJECTED("-9");
	CHECK_SIGNAL_REJECTED("+9");
	CHECK_SIGNAL_REJECTED("99999999999999999999");
}

TEST(signal_rejects_junk)
{
	CHECK_SIGNAL_REJECTED("SIGFOO");
	CHECK_SIGNAL_REJECTED("9x");
	CHECK_SIGNAL_REJECTED("0x9");
	CHECK_SIGNAL_REJECTED(" 9");
	CHECK_SIGNAL_REJECTED("9 ");
	CHECK_SIGNAL_REJECTED("SIG");
	CHECK_SIGNAL_REJECTED("SIGSIGKILL");
	CHECK_SIGNAL_REJECTED("KILL ");
	CHECK_SIGNAL_REJECTED(" KILL");
	CHECK_SIGNAL_REJECTED("SIG9");
	CHECK_SIGNAL_REJECTED("KILLX");
}

TEST(signal_rejects_bad_real_time)
{
	CHECK_SIGNAL_REJECTED("RTMIN+99");
	CHECK_SIGNAL_REJECTED("RTMIN+31");
	CHECK_SIGNAL_REJECTED("RTMAX-31");
	CHECK_SIGNAL_REJECTED("RTMIN+");
	CHECK_SIGNAL_REJECTED("RTMIN-1");
	CHECK_SIGNAL_REJECTED("RTMAX+1");
	CHECK_SIGNAL_REJECTED("RTMIN+-1");
	CHECK_SIGNAL_REJECTED("RTMIN+1x");
	CHECK_SIGNAL_REJECTED("RTMIN+ 1");
	CHECK_SIGNAL_REJECTED("RTMID");
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(size_plain_byte_counts),
		UT(size_suffixes_are_powers_of_1024),
		UT(size_suffixes_ignore_case),
		UT(size_kib_and_kb_forms_are_binary_too),
		UT(size_decimals_with_a_suffix),
		UT(size_rejects_empty_and_null),
		UT(size_rejects_signs),
		UT(size_rejects_unknown_suffixes),
		UT(size_rejects_fractional_byte_count),
		UT(size_rejects_spaces),
		UT(size_rejects_what_strtod_would_take),
		UT(size_rejects_malformed_decimals),
		UT(size_rejects_overflow),
		UT(size_largest_values),
		UT(size_large_byte_count_is_exact),
		UT(duration_suffixes),
		UT(duration_decimals),
		UT(duration_bare_number_is_seconds),
		UT(duration_rejects_empty_and_null),
		UT(duration_rejects_negative),
		UT(duration_rejects_unknown_suffixes),
		UT(duration_rejects_suffix_without_number),
		UT(duration_rejects_spaces),
		UT(duration_suffixes_are_lower_case),
		UT(duration_rejects_what_strtod_would_take),
		UT(duration_rejects_overflow),
		UT(format_size_bytes),
		UT(format_size_binary_units),
		UT(format_size_three_significant_digits),
		UT(format_size_returns_buf_and_truncates_safely),
		UT(format_duration_seconds),
		UT(format_duration_minutes),
		UT(format_duration_hours),
		UT(format_duration_rounding_carries_into_minutes),
		UT(format_duration_returns_buf_and_truncates_safely),
		UT(signal_names_with_and_without_sig),
		UT(signal_names_ignore_case),
		UT(signal_numbers_1_to_64),
		UT(signal_real_time),
		UT(signal_name_reads_back),
		UT(signal_rejects_empty_and_null),
		UT(signal_rejects_numbers_out_of_range),
		UT(signal_rejects_junk),
		UT(signal_rejects_bad_real_time),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
