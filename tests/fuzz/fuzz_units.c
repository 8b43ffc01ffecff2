// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the parsers and formatters of user/units.c.
 *
 * Input: the bytes as a C string (cut at the first NUL) go to mt_parse_size,
 * mt_parse_duration and mt_parse_signal; the first 8 bytes (little endian, zero-padded) are a
 * number N for mt_format_size, mt_format_duration and the round trips; byte 8 (if any) picks
 * the size of the output buffer given to the formatters (1 to 40 bytes, allocated to the byte
 * so that ASan sees any write past it).
 *
 * Checked against a reference written here (long double and 128-bit arithmetic), abort() on
 * violation:
 *  - SIZE: accepted exactly when the text is DIGITS[.DIGITS] (a digit somewhere) plus one of
 *    the documented suffixes, a byte count is whole, and the value fits in 64 bits; a whole
 *    number gives the exact value (beyond a double's 53 bits), a decimal one within rounding;
 *  - DUR: the same grammar with ms, s, m, h or nothing (seconds), below 9.2e18 ns, rounded to
 *    the nanosecond within a double's precision;
 *  - SIGNAL: a decimal is accepted exactly in 1..SIGRTMAX; an accepted name is the signal's
 *    own abbreviation (with or without SIG, any case) or RTMIN+n / RTMAX-n; every signal number
 *    round-trips through its number, its name and its RT form;
 *  - mt_parse_size round-trips N, N>>10 "K" ... N>>40 "T";
 *  - mt_format_size(N): "N B" below 1024, else D.DD / DD.D / DDD with the smallest unit that
 *    keeps the number under 1024 (never "1024 KiB", "10.00", "100.0"), within half a unit of
 *    the last digit shown;
 *  - mt_format_duration(N): one of its four forms, fields in range (no "1m60.0s"), the form
 *    matching the size, and within half a unit of the last digit shown of N, for every N;
 *  - with a short buffer, both formatters write a NUL-terminated prefix of the full text.
 */
#include <ctype.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "units.h"

#include "fuzz.h"

typedef unsigned __int128 u128;

/* ---- reference grammar: DIGITS[.DIGITS], at least one digit ---- */

struct number {
	bool ok;
	bool dot;
	const char *rest;   /* the suffix after the number */
	long double value;  /* the number, as exactly as a long double holds it */
	u128 whole;	    /* without a dot: its exact value, saturated at 2^100 */
};

static struct number ref_number(const char *text)
{
	struct number n = { 0 };
	const char *p = text;
	int digits = 0;

	while (*p >= '0' && *p <= '9') {
		if (n.whole < ((u128)1 << 100))
			n.whole = n.whole * 10 + (u128)(*p - '0');
		p++;
		digits++;
	}
	if (*p == '.') {
		n.dot = true;
		p++;
		while (*p >= '0' && *p <= '9') {
			p++;
			digits++;
		}
	}
	if (!digits)
		return n;
	n.ok = true;
	n.rest = p;

	size_t len = (size_t)(p - text);
	char *copy = malloc(len + 1);

	ASSERT(copy);
	memcpy(copy, text, len);
	copy[len] = '\0';
	n.value = strtold(copy, NULL);
	free(copy);
	return n;
}

static bool near(long double got, long double want, long double abs_tol)
{
	return fabsl(got - want) <= abs_tol + fabsl(want) * 1e-12L;
}

/* ---- SIZE ---- */

static int size_shift(const char *suffix)
{
	static const char *const names[][3] = {
		{ "", "b", NULL }, { "k", "kb", "kib" }, { "m", "mb", "mib" },
		{ "g", "gb", "gib" }, { "t", "tb", "tib" },
	};
	char lower[4];
	size_t len = strlen(suffix);

	if (len > 3)
		return -1;
	for (size_t i = 0; i <= len; i++)
		lower[i] = (char)tolower((unsigned char)suffix[i]);
	for (int u = 0; u < 5; u++)
		for (int k = 0; k < 3; k++)
			if (names[u][k] && !strcmp(lower, names[u][k]))
				return 10 * u;
	return -1;
}

static void check_size(const char *text)
{
	uint64_t got = 0xdeadbeef;
	int rc = mt_parse_size(text, &got);
	struct number n = ref_number(text);
	int shift = n.ok ? size_shift(n.rest) : -1;

	if (!n.ok || shift < 0 || (shift == 0 && n.dot)) {
		ASSERT(rc == -1);
		return;
	}
	if (!n.dot) {
		u128 want = n.whole << shift;

		if (n.whole >= ((u128)1 << 100) || want > UINT64_MAX) {
			ASSERT(rc == -1);
		} else {
			ASSERT(rc == 0);
			ASSERT(got == (uint64_t)want);
		}
		return;
	}
	long double want = ldexpl(n.value, shift);
	long double limit = 18446744073709551616.0L;

	if (want < limit * (1 - 1e-12L)) {
		ASSERT(rc == 0);
		ASSERT(near((long double)got, want, 1));
	} else if (want > limit * (1 + 1e-12L)) {
		ASSERT(rc == -1);
	}
}

/* ---- DUR ---- */

static void check_duration(const char *text)
{
	static const struct {
		const char *suffix;
		long double ns;
	} units[] = { { "", 1e9L }, { "s", 1e9L }, { "ms", 1e6L }, { "m", 60e9L }, { "h", 3600e9L } };
	uint64_t got = 0xdeadbeef;
	int rc = mt_parse_duration(text, &got);
	struct number n = ref_number(text);
	long double unit = 0;

	for (size_t i = 0; n.ok && i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(n.rest, units[i].suffix))
			unit = units[i].ns;
	if (!n.ok || !unit) {
		ASSERT(rc == -1);
		return;
	}
	long double want = n.value * unit;

	if (want < 9.2e18L * (1 - 1e-12L)) {
		ASSERT(rc == 0);
		ASSERT(near((long double)got, want, 1));
	} else if (want > 9.2e18L * (1 + 1e-12L)) {
		ASSERT(rc == -1);
	}
}

/* ---- SIGNAL ---- */

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* decimal value of a digit string, saturated */
static u128 decimal(const char *s)
{
	u128 v = 0;

	for (; *s; s++)
		if (v < ((u128)1 << 100))
			v = v * 10 + (u128)(*s - '0');
	return v;
}

static int parse_signal(const char *text)
{
	int sig = -12345;

	if (mt_parse_signal(text, &sig))
		return -1;
	ASSERT(sig >= 1 && sig <= SIGRTMAX);
	return sig;
}

static void check_signal(const char *text)
{
	int sig = parse_signal(text);

	if (all_digits(text)) {
		u128 v = decimal(text);

		ASSERT(sig == (v >= 1 && v <= (u128)SIGRTMAX ? (int)v : -1));
		return;
	}
	if (sig < 0)
		return;
	/* accepted: then it is the signal's own name, or an RT form that names it */
	const char *name = text;

	if (!strncasecmp(name, "SIG", 3))
		name += 3;
	const char *abbrev = sig < SIGRTMIN ? sigabbrev_np(sig) : NULL;

	if (abbrev && !strcasecmp(name, abbrev))
		return;
	if (!strcasecmp(name, "RTMIN")) {
		ASSERT(sig == SIGRTMIN);
		return;
	}
	if (!strcasecmp(name, "RTMAX")) {
		ASSERT(sig == SIGRTMAX);
		return;
	}
	ASSERT(!strncasecmp(name, "RTMIN+", 6) || !strncasecmp(name, "RTMAX-", 6));
	ASSERT(all_digits(name + 6));
	u128 k = decimal(name + 6);

	if (!strncasecmp(name, "RTMIN+", 6))
		ASSERT(k <= (u128)(SIGRTMAX - SIGRTMIN) && sig == SIGRTMIN + (int)k);
	else
		ASSERT(k <= (u128)(SIGRTMAX - SIGRTMIN) && sig == SIGRTMAX - (int)k);
}

static void signal_round_trip(int sig)
{
	char text[64];

	snprintf(text, sizeof(text), "%d", sig);
	ASSERT(parse_signal(text) == (sig >= 1 && sig <= SIGRTMAX ? sig : -1));
	if (sig < 1 || sig > SIGRTMAX)
		return;
	if (sig < SIGRTMIN) {
		const char *abbrev = sigabbrev_np(sig);

		if (!abbrev)
			return;
		ASSERT(parse_signal(abbrev) == sig);
		snprintf(text, sizeof(text), "sig%s", abbrev);
		for (char *p = text; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		ASSERT(parse_signal(text) == sig);
	} else {
		snprintf(text, sizeof(text), "RTMIN+%d", sig - SIGRTMIN);
		ASSERT(parse_signal(text) == sig);
		snprintf(text, sizeof(text), "SIGrtmax-%d", SIGRTMAX - sig);
		ASSERT(parse_signal(text) == sig);
	}
}

/* ---- round trips of SIZE ---- */

static void size_round_trip(uint64_t n)
{
	static const char *const suffixes[] = { "", "K", "M", "G", "T" };
	char text[64];
	uint64_t got;

	for (int u = 0; u < 5; u++) {
		uint64_t v = n >> (10 * u);

		snprintf(text, sizeof(text), "%llu%s", (unsigned long long)v, suffixes[u]);
		ASSERT(mt_parse_size(text, &got) == 0 && got == v << (10 * u));
	}
}

/* ---- formatters ---- */

/* the formatter again into a buffer of exactly len bytes: a NUL-terminated prefix of full */
static void check_short(char *(*format)(uint64_t, char *, size_t), uint64_t n, size_t len,
			const char *full)
{
	char *buf = malloc(len);
	size_t want = strlen(full) < len - 1 ? strlen(full) : len - 1;

	ASSERT(buf);
	memset(buf, 'x', len);
	ASSERT(format(n, buf, len) == buf);
	ASSERT(strnlen(buf, len) == want);
	ASSERT(!memcmp(buf, full, want));
	free(buf);
}

/* "D[.D...]" at *p: value, number of decimals; advances *p */
static bool read_fixed(const char **p, long double *value, int *decimals, int *int_digits)
{
	const char *s = *p;
	long double v = 0, scale = 1;

	*decimals = 0;
	*int_digits = 0;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (*s++ - '0');
		(*int_digits)++;
	}
	if (!*int_digits)
		return false;
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9') {
			scale /= 10;
			v += (*s++ - '0') * scale;
			(*decimals)++;
		}
		if (!*decimals)
			return false;
	}
	*value = v;
	*p = s;
	return true;
}

static void check_format_size(uint64_t n, size_t short_len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	char full[64];
	const char *p = full;
	long double shown;
	int decimals, int_digits, unit = -1;

	ASSERT(mt_format_size(n, full, sizeof(full)) == full);
	check_short(mt_format_size, n, short_len, full);
	if (n < 1024) {
		char want[32];

		snprintf(want, sizeof(want), "%llu B", (unsigned long long)n);
		ASSERT(!strcmp(full, want));
		return;
	}
	ASSERT(read_fixed(&p, &shown, &decimals, &int_digits));
	ASSERT(*p++ == ' ');
	for (int i = 0; i < 5; i++)
		if (!strcmp(p, units[i]))
			unit = i;
	ASSERT(unit >= 0);
	/* no leading zeros, two significant digits at least, the precision that goes with it */
	ASSERT(int_digits == 1 || full[0] != '0');
	ASSERT(shown >= 1);
	if (decimals == 2)
		ASSERT(shown < 10);
	else if (decimals == 1)
		ASSERT(shown >= 10 && shown < 100);
	else
		ASSERT(decimals == 0 && shown >= 100);
	/* the smallest unit that keeps it under 1024 */
	long double scale = ldexpl(1, 10 * (unit + 1));

	if (unit < 4)
		ASSERT(shown < 1024);
	if (unit > 0)
		ASSERT((long double)n / (scale / 1024) >= 1023.5L * (1 - 1e-12L));
	/* within half a unit of the last digit */
	ASSERT(near(shown * scale, (long double)n, 0.5L * powl(10, -decimals) * scale));
}

/* mt_format_duration's output read back, in ns; the form (1..4) and the last digit's unit */
static void check_format_duration(uint64_t n, size_t short_len)
{
	char full[64];
	const char *p = full;
	long double a, b, c, total, unit_ns;
	int decimals, digits, form;

	ASSERT(mt_format_duration(n, full, sizeof(full)) == full);
	check_short(mt_format_duration, n, short_len, full);
	ASSERT(read_fixed(&p, &a, &decimals, &digits));
	if (!strcmp(p, " s")) {
		/* "S.mmm s" below 10 s, "SS.cc s" below a minute */
		ASSERT(decimals == 3 || decimals == 2);
		form = decimals == 3 ? 1 : 2;
		ASSERT(form == 1 ? a < 10 : (a >= 10 && a < 60));
		total = a * 1e9L;
		unit_ns = form == 1 ? 1e6L : 1e7L;
	} else if (*p == 'm') {
		/* "MmSS.ds" below an hour */
		ASSERT(decimals == 0);
		p++;
		ASSERT(p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9');
		ASSERT(read_fixed(&p, &b, &decimals, &digits) && digits == 2 && decimals == 1);
		ASSERT(!strcmp(p, "s"));
		form = 3;
		ASSERT(a >= 1 && a < 60 && b < 60);
		total = (a * 60 + b) * 1e9L;
		unit_ns = 1e8L;
	} else {
		/* "HhMMmSSs" */
		ASSERT(*p == 'h' && decimals == 0);
		p++;
		ASSERT(read_fixed(&p, &b, &decimals, &digits) && digits == 2 && !decimals);
		ASSERT(*p++ == 'm');
		ASSERT(read_fixed(&p, &c, &decimals, &digits) && digits == 2 && !decimals);
		ASSERT(!strcmp(p, "s"));
		form = 4;
		ASSERT(a >= 1 && b < 60 && c < 60);
		total = (a * 3600 + b * 60 + c) * 1e9L;
		unit_ns = 1e9L;
	}
	ASSERT(full[0] != '0' || full[1] == '.');
	ASSERT(near(total, (long double)n, unit_ns / 2));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	uint64_t n = 0;
	size_t short_len = size > 8 ? data[8] % 40 + 1 : 40;

	ASSERT(text);
	memcpy(text, data, size);
	text[size] = '\0';
	check_size(text);
	check_duration(text);
	check_signal(text);
	free(text);

	for (size_t i = 0; i < 8 && i < size; i++)
		n |= (uint64_t)data[i] << (8 * i);
	size_round_trip(n);
	signal_round_trip((int)(n % (uint64_t)(SIGRTMAX + 2)));
	check_format_size(n, short_len);
	check_format_duration(n, short_len);
	return 0;
}
