// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include "log.h"
#include "text.h"

int mt_quiet;
int mt_verbose;
void (*mt_log_hook)(void *ctx);
void *mt_log_hook_ctx;

void mt_log_before_output(void)
{
	if (mt_log_hook)
		mt_log_hook(mt_log_hook_ctx);
}

bool mt_stderr_is_journal(void)
{
	static int known = -1;

	if (known < 0) {
		/* "DEV:INODE" of the journal's stream: the same file as our stderr, or inherited
		 * from a parent whose stderr it was (then it is not ours) */
		const char *v = getenv("JOURNAL_STREAM");
		unsigned long long dev, ino;
		struct stat st;

		known = v && sscanf(v, "%llu:%llu", &dev, &ino) == 2 && !fstat(2, &st) &&
			(unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
	}
	return known;
}

/*
 * Messages carry untrusted text (process names, command lines, cgroup names): escaped here, once
 * for every message, so that none can move the cursor, recolour or clear a person's terminal.
 */
static void vline(const char *priority, const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024], safe[4 * sizeof(buf)];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	mt_escape_terminal(buf, safe, sizeof(safe));
	mt_log_before_output();
	/* one write per line so that concurrent writers to a shared stderr do not interleave */
	fprintf(stderr, "%s%s%s\n", mt_stderr_is_journal() ? priority : "", prefix, safe);
}

void mt_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline("<3>", "memtrace-bpf: ", fmt, ap);
	va_end(ap);
}

void mt_warn(const char *fmt, ...)
{
	va_list ap;

	if (mt_quiet)
		return;
	va_start(ap, fmt);
	vline("<4>", "memtrace-bpf: warning: ", fmt, ap);
	va_end(ap);
}

void mt_info(const char *fmt, ...)
{
	va_list ap;

	if (mt_quiet)
		return;
	va_start(ap, fmt);
	vline("", "", fmt, ap);
	va_end(ap);
}

void mt_debug(const char *fmt, ...)
{
	va_list ap;

	if (!mt_verbose)
		return;
	va_start(ap, fmt);
	vline("<7>", "memtrace-bpf: debug: ", fmt, ap);
	va_end(ap);
}
