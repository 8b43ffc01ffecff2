/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --python's reports, made of the accounts in pyprof.h: the line report in memory_profiler's
 * layout (--lines), folded stacks for flame graphs (--folded), the lines in the summary and in
 * an OOM report. The source lines they quote are read through each process's own root and
 * working directory.
 */
#ifndef MT_PYREPORT_H
#define MT_PYREPORT_H

#include <stdint.h>
#include <stdio.h>
#include "pyprof.h"

/* --lines: the line report. Returns 0 or -errno. */
int pyreport_lines(struct mt_pyprof *p, FILE *out);
/* --folded: one line per stack, root first, and the bytes grown under it. Returns 0 or -errno. */
int pyreport_folded(struct mt_pyprof *p, FILE *out);
/* A frame as the reports write it: "name (file:line)". */
void pyreport_frame_text(struct mt_pyprof *p, uint32_t pid, const struct mt_py_frame *f,
			 char *buf, size_t len);
/* The summary's part: the lines that grew memory most, the line at each process's peak. */
void pyreport_summary(struct mt_pyprof *p, FILE *out, unsigned top);
/*
 * The OOM report's part for a victim: its stack at the kill (the allocation that could not
 * be served, when it was the trigger) and the lines that grew it most.
 */
void pyreport_oom(struct mt_pyprof *p, FILE *out, uint32_t victim, uint32_t trigger);

#endif
