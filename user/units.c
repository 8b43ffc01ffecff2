// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "units.h"

/*
 * A non-negative decimal number: digits, optionally '.' and digits. Parsed by hand so that
 * "inf", "nan", hex, exponents, signs and leading spaces (all accepted by strtod) are not.
 */
static int parse_number(const char *text, double *value, const char **rest, int *had_dot)
{
	const char *p = text;
	double v = 0, scale = 0.1;
	int digits = 0;

	*had_dot = 0;
	while (isdigit((unsigned char)*p)) {
		v = v * 10 + (*p - '0');
		p++;
		digits++;
	}
	if (*p == '.') {
		*had_dot = 1;
		p++;
		while (isdigit((unsigned char)*p)) {
			v += (*p - '0') * scale;
			scale /= 10;
			p++;
			digits++;
		}
	}
	if (!digits)
		return -1;
	*value = v;
	*rest = p;
	return 0;
}

int mt_parse_size(const char *text, uint64_t *bytes)
{
	static const struct {
		const char *suffix;
		int shift;
	} units[] = {
		{ "", 0 },	 { "b", 0 },	 { "k", 10 },	  { "kb", 10 },	   { "kib", 10 },
		{ "m", 20 },	 { "mb", 20 },	 { "mib", 20 },	  { "g", 30 },	   { "gb", 30 },
		{ "gib", 30 }, { "t", 40 },	 { "tb", 40 },	  { "tib", 40 },
	};
	const char *rest;
	double v;
	int had_dot;

	if (!text || parse_number(text, &v, &rest, &had_dot))
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(rest, units[i].suffix))
			continue;
		/* a byte count is whole */
		if (units[i].shift == 0 && had_dot)
			return -1;
		if (!had_dot) {
			/* whole numbers exactly, beyond a double's 53 bits */
			uint64_t whole = 0;

			for (const char *d = text; d < rest; d++) {
				if (whole > (UINT64_MAX - (uint64_t)(*d - '0')) / 10)
					return -1;
				whole = whole * 10 + (uint64_t)(*d - '0');
			}
			if (units[i].shift && whole > (UINT64_MAX >> units[i].shift))
				return -1;
			*bytes = whole << units[i].shift;
			return 0;
		}
		v = ldexp(v, units[i].shift);
		if (v >= 18446744073709551615.0)
			return -1;
		*bytes = (uint64_t)v;
		return 0;
	}
	return -1;
}

static int parse_small_number(const char *text, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)*text))
		return -1;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int mt_parse_signal(const char *text, int *sig)
{
	long n;

	if (!text || !*text)
		return -1;
	if (isdigit((unsigned char)*text)) {
		if (parse_small_number(text, 1, SIGRTMAX, &n))
			return -1;
		*sig = (int)n;
		return 0;
	}
	if (!strncasecmp(text, "SIG", 3))
		text += 3;
	if (!strncasecmp(text, "RTMIN+", 6) || !strncasecmp(text, "RTMAX-", 6)) {
		bool min = !strncasecmp(text, "RTMIN", 5);

		if (parse_small_number(text + 6, 0, SIGRTMAX - SIGRTMIN, &n))
			return -1;
		*sig = min ? SIGRTMIN + (int)n : SIGRTMAX - (int)n;
		return 0;
	}
	if (!strcasecmp(text, "RTMIN") || !strcasecmp(text, "RTMAX")) {
		*sig = !strcasecmp(text, "RTMIN") ? SIGRTMIN : SIGRTMAX;
		return 0;
	}
	for (int i = 1; i < SIGRTMIN; i++) {
		const char *abbrev = sigabbrev_np(i);

		if (abbrev && !strcasecmp(text, abbrev)) {
			*sig = i;
			return 0;
		}
	}
	return -1;
}

const char *mt_signal_name(int sig, char *buf, size_t len)
{
	const char *abbrev = sig > 0 && sig < SIGRTMIN ? sigabbrev_np(sig) : NULL;

	if (abbrev)
		snprintf(buf, len, "SIG%s", abbrev);
	else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		snprintf(buf, len, "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(buf, len, "%d", sig);
	return buf;
}

int mt_parse_duration(const char *text, uint64_t *ns)
{
	static const struct {
		const char *suffix;
		double ns;
	} units[] = {
		{ "", 1e9 }, { "s", 1e9 }, { "ms", 1e6 }, { "m", 60e9 }, { "h", 3600e9 },
	};
	const char *rest;
	double v;
	int had_dot;

	if (!text || parse_number(text, &v, &rest, &had_dot))
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(rest, units[i].suffix))
			continue;
		v *= units[i].ns;
		if (v >= 9.2e18)
			return -1;
		*ns = (uint64_t)(v + 0.5);
		return 0;
	}
	return -1;
}

char *mt_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const names[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	int i = -1;

	if (bytes < 1024) {
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
		return buf;
	}
	/* 1023.6 KiB would print as "1024 KiB": step up a unit when rounding reaches it */
	while (v >= 1023.5 && i < 4) {
		v /= 1024;
		i++;
	}
	if (v >= 99.95 && v < 100)
		v = 100;
	else if (v >= 9.995 && v < 10)
		v = 10;
	snprintf(buf, len, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, names[i]);
	return buf;
}

/* n / d rounded half up; (n + d / 2) / d would wrap for n near UINT64_MAX */
static uint64_t div_round(uint64_t n, uint64_t d)
{
	return n / d + (n % d >= d / 2);
}

char *mt_format_duration(uint64_t ns, char *buf, size_t len)
{
	/* round once, to the precision shown, then choose the form: no "1m60.0s" */
	uint64_t ms = div_round(ns, 1000000);

	if (ms < 10000) {
		snprintf(buf, len, "%llu.%03llu s", (unsigned long long)(ms / 1000),
			 (unsigned long long)(ms % 1000));
		return buf;
	}
	uint64_t cs = div_round(ns, 10000000);
	if (cs < 6000) {
		snprintf(buf, len, "%llu.%02llu s", (unsigned long long)(cs / 100),
			 (unsigned long long)(cs % 100));
		return buf;
	}
	uint64_t ds = div_round(ns, 100000000);
	if (ds < 36000) {
		snprintf(buf, len, "%llum%02llu.%llus", (unsigned long long)(ds / 600),
			 (unsigned long long)(ds / 10 % 60), (unsigned long long)(ds % 10));
		return buf;
	}
	uint64_t s = div_round(ns, 1000000000);
	snprintf(buf, len, "%lluh%02llum%02llus", (unsigned long long)(s / 3600),
		 (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60));
	return buf;
}
