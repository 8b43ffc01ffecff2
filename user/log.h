/* SPDX-License-Identifier: GPL-2.0 */
/* Diagnostics on stderr: errors always, information unless -q, debug only with -v. */
#ifndef MT_LOG_H
#define MT_LOG_H

#include <stdarg.h>

extern int mt_quiet;
extern int mt_verbose;

/* One line "memtrace-bpf: ..." on stderr, whatever -q says. */
void mt_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "memtrace-bpf: warning: ..." unless -q. */
void mt_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Plain text for people on stderr, unless -q. */
void mt_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "memtrace-bpf: debug: ..." with -v only. */
void mt_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
