/* SPDX-License-Identifier: GPL-2.0 */
/* Sizes and durations: the one parser and formatter of each. */
#ifndef MT_UNITS_H
#define MT_UNITS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * SIZE: a plain byte count ("1048576"), or a number (decimals allowed) with K, M, G, T
 * (powers of 1024; also KB/KiB etc., any case). Returns 0, or -1 for anything else
 * (empty, negative, trailing junk, overflow).
 */
int mt_parse_size(const char *text, uint64_t *bytes);

/*
 * DUR: a number (decimals allowed) with ms, s, m or h; a bare number is seconds.
 * Returns 0, or -1 for anything else (empty, negative, junk, overflow).
 */
int mt_parse_duration(const char *text, uint64_t *ns);

/*
 * SIGNAL: a name with or without SIG, any case ("KILL", "SIGTERM", "usr1"), or a number
 * 1..64 (real-time signals as RTMIN+N too). Returns 0, or -1 for anything else.
 */
int mt_parse_signal(const char *text, int *sig);
/*
 * A signal's name as mt_parse_signal reads it back: "SIGKILL", "SIGRTMIN+2" (glibc names no
 * real-time signal), or the bare number for one outside both. Returns buf.
 */
const char *mt_signal_name(int sig, char *buf, size_t len);

/* "312 MiB", "1.00 GiB", "45.3 KiB", "812 B": binary units, for people. Returns buf. */
char *mt_format_size(uint64_t bytes, char *buf, size_t len);

/* "0.123 s", "12.30 s", "2m03.5s", "1h02m03s". Returns buf. */
char *mt_format_duration(uint64_t ns, char *buf, size_t len);

/* A clock's time in ns: CLOCK_MONOTONIC for intervals, CLOCK_REALTIME for the rows' epoch. */
static inline uint64_t mt_clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#endif
