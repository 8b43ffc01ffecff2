/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --python's accounts: the stacks and code objects the BPF side sends (bpf/python.bpf.h) turned
 * into bytes per Python line and per stack, and the reports made of them: the line report in
 * memory_profiler's layout (--lines), folded stacks (--folded), the lines in the summary and in
 * an OOM report. No BPF and no /proc here but the source files the reports quote.
 */
#ifndef MT_PYPROF_H
#define MT_PYPROF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "memtrace.h"

struct mt_pyprof;

struct mt_pyprof *pyprof_new(void);
void pyprof_free(struct mt_pyprof *p);

/*
 * A process found to run CPython: its name, the interpreter ("3.11.2"), and its root and
 * working directories (O_PATH descriptors, owned from now on; -1 when unknown) through which
 * its source files are read when the report is written, after it may have exited.
 */
void pyprof_process(struct mt_pyprof *p, uint32_t pid, const char *comm, const char *version,
		    int root_fd, int cwd_fd);
/*
 * The RSS the process had when its interpreter was found (a few ms after exec, or at -p):
 * what it grew before that is on no line, and the summary says so.
 */
void pyprof_found_at(struct mt_pyprof *p, uint32_t pid, uint64_t rss);
/* A forked child: the parent's interpreter, its own directories. */
void pyprof_forked(struct mt_pyprof *p, uint32_t pid, uint32_t parent, int root_fd, int cwd_fd);

void pyprof_on_code(struct mt_pyprof *p, const struct mt_py_code *c);
void pyprof_on_sample(struct mt_pyprof *p, const struct mt_py_sample *e);

/* How many processes were found to run CPython. */
unsigned pyprof_processes(const struct mt_pyprof *p);

/* --lines: the line report. Returns 0 or -errno. */
int pyprof_write_lines(struct mt_pyprof *p, FILE *out);
/* --folded: one line per stack, root first, and the bytes grown under it. Returns 0 or -errno. */
int pyprof_write_folded(struct mt_pyprof *p, FILE *out);
/* The summary's part: the lines that grew memory most, the line at each process's peak. */
void pyprof_summary(struct mt_pyprof *p, FILE *out, unsigned top);
/*
 * The OOM report's part for a victim: its stack at the kill (the allocation that could not
 * be served, when it was the trigger) and the lines that grew it most.
 */
void pyprof_oom(struct mt_pyprof *p, FILE *out, uint32_t victim, uint32_t trigger);

#endif
