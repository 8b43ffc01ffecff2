/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --summary-json: the summary as one JSON document (schema "memtrace-bpf/summary/1", its keys
 * in the README and the man page): the COMMAND's runs with their cross-checks, the statistics
 * across them and --find-min-limit's search, or the roots and peaks of -p, -a and -G; OOM kills
 * and losses. Made from what the reports read, never from the kernel.
 */
#ifndef MT_SUMJSON_H
#define MT_SUMJSON_H

#include <stdbool.h>
#include <stdint.h>
#include "bisect.h"
#include "report.h"
#include "runlog.h"
#include "strbuf.h"
#include "summary.h"

struct mt_sumjson_input {
	const char *target;  /* "command", "pids", "all", "cgroup" */
	const char *command; /* what was traced, as a command line */
	const char *label;   /* -a, -G: the target's words ("the whole host", "cgroup v2 /a") */
	uint64_t interval_ns;
	int exit_status; /* memtrace-bpf's own */
	const struct mt_runlog *runs;	  /* COMMAND; NULL otherwise */
	const struct mt_summary *summary; /* the last (or only) trace's */
	const struct mt_report_totals *totals;
	uint64_t rows;
	const char *output;
	const struct mt_bisect *bisect; /* --find-min-limit; NULL otherwise */
	uint64_t trial_timeout_ns;
	uint64_t now_mono_ns; /* the end: the wall time of roots still running */
};

void sumjson_make(const struct mt_sumjson_input *in, struct strbuf *out);

#endif
