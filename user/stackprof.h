/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --stacks' accounts: the sampled stacks, unwound (unwind.h), weighed by the bytes each sample
 * stands for, with --python's frames put in place of the interpreter's eval loop where the same
 * change has both; and the reports made of them: folded stacks, the functions that grew most,
 * the stack of an OOM kill's trigger.
 */
#ifndef MT_STACKPROF_H
#define MT_STACKPROF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "memtrace.h"

struct mt_stackprof;
struct mt_unwinder;
struct mt_pyprof;

/* py: --python's accounts, whose code objects name the Python frames (NULL: no --python) */
struct mt_stackprof *stackprof_new(struct mt_unwinder *u, struct mt_pyprof *py);
void stackprof_free(struct mt_stackprof *p);

void stackprof_on_sample(struct mt_stackprof *p, const struct mt_stack_sample *e);
/* A Python sample: taken at the same change as a held native stack, they are one stack. */
void stackprof_on_py_sample(struct mt_stackprof *p, const struct mt_py_sample *e);
/* The process left: its held stacks are accounted, what was kept for it let go. */
void stackprof_exited(struct mt_stackprof *p, uint32_t pid);
/* Stacks held for a Python sample that never came (lost) are accounted native alone. */
void stackprof_flush(struct mt_stackprof *p);

/* Every stack as a folded line: comm;outermost;...;innermost BYTES. */
int stackprof_folded(struct mt_stackprof *p, FILE *out);
/* The summary's part: what was sampled, how deep it unwound, the top functions. */
void stackprof_summary(struct mt_stackprof *p, FILE *out, unsigned top);
/* The OOM report's part: the victim's stack at the allocation that failed, or its last. */
void stackprof_oom(struct mt_stackprof *p, FILE *out, uint32_t victim, uint32_t trigger);

/* One function's bytes (its lines together): where it was the innermost frame, and where it
 * was on the stack. */
struct stackprof_func {
	const char *text;
	uint64_t self, total;
};
/* Functions by self bytes, most first (free() the array). */
size_t stackprof_top(struct mt_stackprof *p, struct stackprof_func **out);
uint64_t stackprof_total(const struct mt_stackprof *p);

#endif
