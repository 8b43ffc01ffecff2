/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What is told while tracing runs: to a person, OOM kills and limit crossings as they happen
 * (and the signal the kernel left to user space), and the live view's frames on stderr; to
 * --oom-log, each OOM kill as a JSON line; to the exporter's metrics, every process's change.
 */
#ifndef MT_NOTIFY_H
#define MT_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include "session.h"

/* The sampler's hooks, bound to the session. */
struct mt_sampler_hooks notify_hooks(struct mt_session *s);
/*
 * The live view: on with --live, or on its own for a person at a terminal without -q; but not
 * with a COMMAND (its own output shares the terminal and would tear the view), nor when the
 * time series itself goes to that terminal (stdout a tty, no -o FILE).
 */
void notify_live_start(struct mt_session *s);
/* Whether the scan at now draws a frame (it then needs every process). */
bool notify_frame_due(const struct mt_session *s, uint64_t now);
/* After a scan: the frame, if one is due (the final scan draws none). */
void notify_tick(struct mt_session *s, uint64_t now, bool final);
/* The frame erased before the summary, nothing left hooked. */
void notify_live_end(struct mt_session *s);

#endif
