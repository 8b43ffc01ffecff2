/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tiny self-contained unit-test harness: one header, no library.
 *
 *	TEST(size_plain_bytes)
 *	{
 *		uint64_t v;
 *
 *		REQUIRE(mt_parse_size("4096", &v) == 0);	// on failure: stop this test
 *		CHECK_EQ_U64(v, 4096);				// on failure: note it, go on
 *	}
 *
 *	int main(int argc, char **argv)
 *	{
 *		static const struct ut_test tests[] = { UT(size_plain_bytes) };
 *
 *		return ut_run(argc, argv, tests, UT_COUNT(tests));
 *	}
 *
 * A test passes when all its checks pass. Every failed check prints
 * "<binary>: FAIL <test>: <file>:<line>: <what>"; the run ends with exactly one line
 * "N passed, M failed" (N, M counting test functions) and exits 1 if M > 0.
 * Test names given as arguments run only those tests.
 *
 * TEST functions are static, so one defined but left out of the list is a -Wunused-function
 * error under -Werror. The harness writes to its own copy of stdout, so tests may redirect
 * file descriptors 1 and 2 without hiding its output.
 */
#ifndef MT_UNIT_H
#define MT_UNIT_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ut_test {
	const char *name;
	void (*fn)(void);
};

#define TEST(name) static void name(void)
#define UT(name) { #name, name }
#define UT_COUNT(array) (sizeof(array) / sizeof((array)[0]))

static FILE *ut_out;
static const char *ut_prog = "unit";
static const char *ut_test_name = "";
static int ut_test_failures; /* failed checks in the running test */

static inline void __attribute__((format(printf, 3, 4)))
ut_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(ut_out, "%s: FAIL %s: %s:%d: ", ut_prog, ut_test_name, file, line);
	va_start(ap, fmt);
	vfprintf(ut_out, fmt, ap);
	va_end(ap);
	fputc('\n', ut_out);
	fflush(ut_out);
	ut_test_failures++;
}

/* s as a C string literal (escapes for quotes, backslashes and non-printable bytes), or NULL */
static inline const char *ut_quote(const char *s, char *buf, size_t len)
{
	size_t n = 0;

	if (!s)
		return "NULL";
	buf[n++] = '"';
	for (; *s && n + 10 < len; s++) { /* room for one escape, "...", quote, NUL */
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			n += (size_t)snprintf(buf + n, len - n, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			n += (size_t)snprintf(buf + n, len - n, "\\x%02x", c);
		else
			buf[n++] = (char)c;
	}
	if (*s)
		n += (size_t)snprintf(buf + n, len - n, "...");
	snprintf(buf + n, len - n, "\"");
	return buf;
}

static inline void ut_check_streq(const char *a, const char *b, const char *a_text,
				  const char *b_text, const char *file, int line)
{
	char qa[256], qb[256];

	if (a == b || (a && b && !strcmp(a, b)))
		return;
	ut_fail(file, line, "%s == %s: %s != %s", a_text, b_text, ut_quote(a, qa, sizeof(qa)),
		ut_quote(b, qb, sizeof(qb)));
}

/* note a failure and go on */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			ut_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                           \
	} while (0)

/* note a failure and end the test (for checks later ones depend on) */
#define REQUIRE(cond)                                                                              \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			ut_fail(__FILE__, __LINE__, "REQUIRE(%s)", #cond);                         \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define CHECK_EQ_U64(a, b)                                                                         \
	do {                                                                                       \
		uint64_t ut_a = (uint64_t)(a), ut_b = (uint64_t)(b);                               \
		if (ut_a != ut_b)                                                                  \
			ut_fail(__FILE__, __LINE__, "%s == %s: %" PRIu64 " != %" PRIu64, #a, #b,   \
				ut_a, ut_b);                                                       \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
	do {                                                                                       \
		long long ut_a = (long long)(a), ut_b = (long long)(b);                            \
		if (ut_a != ut_b)                                                                  \
			ut_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, ut_a, ut_b); \
	} while (0)

#define CHECK_STREQ(a, b) ut_check_streq((a), (b), #a, #b, __FILE__, __LINE__)

static inline int ut_run(int argc, char **argv, const struct ut_test *tests, size_t nr_tests)
{
	int passed = 0, failed = 0, out_fd;

	out_fd = dup(STDOUT_FILENO);
	ut_out = out_fd >= 0 ? fdopen(out_fd, "w") : NULL;
	if (!ut_out)
		ut_out = stdout;
	if (argc > 0 && argv[0]) {
		const char *slash = strrchr(argv[0], '/');

		ut_prog = slash ? slash + 1 : argv[0];
	}
	for (int i = 1; i < argc; i++) {
		size_t t = 0;

		while (t < nr_tests && strcmp(tests[t].name, argv[i]))
			t++;
		if (t == nr_tests) {
			fprintf(ut_out, "%s: no test named '%s'\n", ut_prog, argv[i]);
			failed++;
		}
	}
	for (size_t t = 0; t < nr_tests; t++) {
		if (argc > 1) {
			int wanted = 0;

			for (int i = 1; i < argc; i++)
				wanted |= !strcmp(tests[t].name, argv[i]);
			if (!wanted)
				continue;
		}
		ut_test_name = tests[t].name;
		ut_test_failures = 0;
		tests[t].fn();
		if (ut_test_failures)
			failed++;
		else
			passed++;
	}
	fprintf(ut_out, "%d passed, %d failed\n", passed, failed);
	fflush(ut_out);
	return failed ? 1 : 0;
}

#endif
