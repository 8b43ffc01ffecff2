/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --python: which traced processes run CPython, and telling the BPF side where their
 * interpreters keep their frames. A process is looked at when it is a target, when it execs
 * and when the BPF side's stacks show the offsets do not fit; one warning per process that
 * runs an interpreter it cannot read, and its rows go on.
 */
#ifndef MT_PYATTACH_H
#define MT_PYATTACH_H

#include <stdbool.h>
#include <stdint.h>
#include "bpfobj.h"
#include "pyprof.h"

struct mt_pyattach;

/*
 * glibc's layout of thread-specific data is measured here, in the tracer, once; with no_tss
 * (MEMTRACE_BPF_PY_THREAD=list) it is not used and threads are found in the list only. With
 * wrong_offsets (MEMTRACE_BPF_PY_OFFSETS=wrong) a frame's code object is read a word off, so
 * that the check of its type fails as it would on an interpreter the offsets do not describe.
 */
struct mt_pyattach *pyattach_new(struct mt_bpfobj *bpf, struct mt_pyprof *prof, bool no_tss,
				 bool wrong_offsets);
void pyattach_free(struct mt_pyattach *a);

/* A process to look at now: a target, or one that has just exec'd. */
void pyattach_check(struct mt_pyattach *a, uint32_t pid, uint64_t now_ns);
/* A traced process forked: the BPF side gave the child its parent's interpreter already. */
void pyattach_forked(struct mt_pyattach *a, uint32_t pid, uint32_t parent);
void pyattach_exited(struct mt_pyattach *a, uint32_t pid);
/* A stack record: its flags may say the offsets do not fit that interpreter. */
void pyattach_sampled(struct mt_pyattach *a, const struct mt_py_sample *e);
/*
 * Processes whose interpreter library was not mapped yet when they exec'd (the dynamic linker
 * had not run) are looked at again: when, in CLOCK_MONOTONIC ns (0: none waiting).
 */
uint64_t pyattach_next_retry(const struct mt_pyattach *a);
void pyattach_retry(struct mt_pyattach *a, uint64_t now_ns);
/* How many processes were warned about (their lines are not reported). */
unsigned pyattach_warned(const struct mt_pyattach *a);

#endif
