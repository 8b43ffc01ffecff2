/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a person reads on stderr of a COMMAND's runs: the cross-checks of one run's peak, the
 * table and statistics of --repeat, the trials and answer of --find-min-limit.
 */
#ifndef MT_RUNREPORT_H
#define MT_RUNREPORT_H

#include "bisect.h"
#include "runlog.h"

/* The other views of a run's peak beside the traced one, and how far each is from it. */
void runreport_crosschecks(const struct mt_run *run);
/* --repeat: a line per run, then median, min, max and standard deviation of each figure. */
void runreport_repeats(const struct mt_runlog *log, const char *label);
/* --find-min-limit: the answer, then every trial. */
void runreport_trials(const struct mt_runlog *log, const struct mt_bisect *b, const char *label);

#endif
