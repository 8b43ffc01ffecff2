/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The event loop: wakes for ring-buffer records, the command's exit, signals and sampling
 * ticks; feeds the sampler from the BPF side; stops when the target ends, -d runs out or a
 * signal says so.
 */
#ifndef MT_LOOP_H
#define MT_LOOP_H

#include <stdbool.h>
#include "session.h"

/*
 * SIGINT, SIGTERM and SIGHUP are held (blocked, caught only while the loop waits) and SIGPIPE
 * ignored, so that a closed output is an EPIPE and every stop goes through the loop's end.
 */
void loop_catch_signals(void);
/* Runs until tracing stops; the last scan gives every process a final row. Returns the exit
 * status so far (128 + SIGINT after a second Ctrl-C, 1 when the output failed). */
int loop_run(struct mt_session *s);
/* Whether SIGINT, SIGTERM or SIGHUP came (during a run, or since): no further run then. */
bool loop_interrupted(void);

#endif
