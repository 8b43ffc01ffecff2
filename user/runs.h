/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What is traced, run by run, under one BPF load: -p, -a and -G are one trace; a COMMAND is
 * one run, or --warmup K and --repeat N runs, or --find-min-limit's trials, each launched,
 * traced to its end, recorded in the run log and cleared away before the next.
 */
#ifndef MT_RUNS_H
#define MT_RUNS_H

#include "session.h"

/* Before the first command is spawned: the memory limit it runs under. */
void runs_init(struct mt_session *s);
/* Tracing is on: every run. Returns the exit status (see --help). */
int runs_execute(struct mt_session *s);

#endif
