/* SPDX-License-Identifier: GPL-2.0 */
/* Diagnostics on stderr: errors always, information unless -q, debug only with -v. */
#ifndef MT_LOG_H
#define MT_LOG_H

#include <stdarg.h>
#include <stdbool.h>

extern int mt_quiet;
extern int mt_verbose;
/*
 * Called before anything is written to stderr (the live view erases itself here so that the
 * message is not drawn over); NULL when nothing needs it. Anything printing to stderr outside
 * these functions calls mt_log_before_output() first.
 */
extern void (*mt_log_hook)(void *ctx);
extern void *mt_log_hook_ctx;
void mt_log_before_output(void);

/*
 * Whether stderr is systemd's journal (JOURNAL_STREAM names it): each line then starts with
 * its priority (<3> error, <4> warning, <7> debug) for journald to file it, and reports that
 * span lines (the OOM report) come as one line each, so that no entry is a fragment.
 */
bool mt_stderr_is_journal(void);

/* One line "memtrace-bpf: ..." on stderr, whatever -q says. */
void mt_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "memtrace-bpf: warning: ..." unless -q. */
void mt_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Plain text for people on stderr, unless -q. */
void mt_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "memtrace-bpf: debug: ..." with -v only. */
void mt_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
