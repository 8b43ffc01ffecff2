/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --python's accounts: the stacks and code objects the BPF side sends (bpf/python.bpf.h) turned
 * into bytes per Python line and per stack, per process. The reports made of them are in
 * pyreport.h.
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

/* A stack kept whole: at a process's peak, its latest change, an OOM kill it triggered. */
struct pyprof_stack {
	uint32_t depth, flags;
	uint64_t rss;
	struct mt_py_frame frames[MT_PY_DEPTH]; /* innermost first */
};

/* What is known of one process. */
struct pyprof_proc {
	uint32_t pid;
	char comm[MT_COMM_LEN];
	char version[16];
	int root_fd, cwd_fd; /* its directories, for its source files; -1: unknown */
	bool python;	     /* found to run CPython (not only seen in a sample) */
	uint64_t samples;
	uint64_t outside_grown, outside_released; /* no Python frame at the change */
	uint64_t rss_found;			  /* RSS when its interpreter was found */
	struct pyprof_stack peak, last, oom;
	bool has_peak, has_last, has_oom;
};

const struct pyprof_proc *pyprof_proc(struct mt_pyprof *p, uint32_t pid);
void pyprof_each_proc(struct mt_pyprof *p, void (*fn)(void *ctx, const struct pyprof_proc *proc),
		      void *ctx);

/* One line of a process: what every instruction of it was charged, its code objects merged. */
struct pyprof_line {
	uint32_t pid;
	const char *file;
	const char *name; /* the function of the first instruction seen on it */
	int line;	  /* -1: unknown (past a location table that was cut) */
	uint64_t self_grown, self_released, self_n; /* it was the innermost frame */
	uint64_t grown, released, n;		    /* it was on the stack */
	uint64_t max_rss;
};

struct pyprof_lines {
	struct pyprof_line *v; /* free() it */
	size_t n;
};

/* The lines of pid (0: of every process), sorted by pid, file and line. */
struct pyprof_lines pyprof_lines(struct mt_pyprof *p, uint32_t pid);
/*
 * Marks shown[l] for every line l < max of the code objects of file that pid had on a stack,
 * from each one's first line to its last (a function shown whole, as memory_profiler does).
 */
void pyprof_file_span(struct mt_pyprof *p, uint32_t pid, const char *file, char *shown, int max);
/* A frame's function, file and line (-1: unknown); false when its code object was not captured. */
bool pyprof_frame(struct mt_pyprof *p, uint32_t pid, const struct mt_py_frame *f,
		  const char **name, const char **file, int *line);
/* Every stack that grew memory, with the bytes grown under it. */
void pyprof_each_stack(struct mt_pyprof *p,
		       void (*fn)(void *ctx, uint32_t pid, const struct mt_py_frame *frames,
				  uint32_t depth, uint64_t grown),
		       void *ctx);

#endif
