/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An OOM kill's forensic report as one JSON object on one line (schema memtrace-bpf/oom/1),
 * for --oom-log: what the stderr report tells, in fields a log shipper keeps whole. Pure.
 */
#ifndef MT_OOMLOG_H
#define MT_OOMLOG_H

#include <stdint.h>
#include "oom.h"
#include "strbuf.h"
#include "summary.h"

#define MT_OOMLOG_SCHEMA "memtrace-bpf/oom/1"

/*
 * o: the kill; hist: the victim's recent RSS (NULL: an untraced victim); start_mono_ns: when
 * tracing began (the history's time base); real_ns: the kill's wall-clock time; host: this
 * machine's name. Appends the object and a newline.
 */
void oomlog_json(const struct mt_oom_report *o, const struct mt_rss_hist *hist,
		 uint64_t start_mono_ns, uint64_t real_ns, const char *host, struct strbuf *sb);

#endif
