/* SPDX-License-Identifier: GPL-2.0 */
/* What a person reads on stderr at the end: a summary per traced root. */
#ifndef MT_REPORT_H
#define MT_REPORT_H

#include <stdint.h>
#include "memtrace.h"
#include "sampler.h"
#include "writer.h"

struct mt_report_totals {
	uint64_t drops[MT_DROP_NR];
	uint64_t unexplained_exits;
	const char *stop_reason; /* NULL, or why tracing stopped before the targets ended */
};

void report_summary(const struct mt_sampler *s, const struct mt_writer *w,
		    const struct mt_report_totals *totals, uint64_t now_mono_ns);

#endif
