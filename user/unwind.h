/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --stacks: a sampled user stack (bpf/stacks.bpf.h) turned into frames. DWARF mode unwinds the
 * copy of the stack from the sampled registers with elfutils' libdwfl and the binaries' own
 * .eh_frame/.debug_frame; frame-pointer mode has its return addresses already. Every frame is
 * symbolized once per distinct address of a file: function from .symtab/.dynsym, file:line from
 * the debug info (in the file, or found by build id or .gnu_debuglink under /usr/lib/debug),
 * else file+0xaddress. What a process had mapped comes from the map tracker, so a process that
 * has exited is unwound as it was when sampled.
 */
#ifndef MT_UNWIND_H
#define MT_UNWIND_H

#include <stdbool.h>
#include <stdint.h>
#include "memtrace.h"

struct mt_maptrack;
struct mt_unwinder;

/* mt_frame.flags */
enum {
	MT_FRAME_EVAL = 1u << 0,  /* CPython's eval loop: runs Python frames (--python replaces it) */
	MT_FRAME_LIBC = 1u << 1,  /* in the C library or the dynamic loader */
	MT_FRAME_ROOT = 1u << 2,  /* where a thread starts (_start, clone, start_thread) */
	MT_FRAME_NAMED = 1u << 3, /* a function name is known */
	MT_FRAME_LINE = 1u << 4,  /* and its file:line */
	MT_FRAME_PYTHON = 1u << 5, /* a Python frame (--python) */
	MT_FRAME_ADDR = 1u << 6,   /* an address as unwinding names it: unwind_expand it to report */
};

/* One symbolized address, interned: equal frames are one pointer. */
struct mt_frame {
	const char *text; /* "func (file.c:12)", "func", "file+0x1f2e", "[unknown]" */
	uint32_t flags;	  /* MT_FRAME_* */
	const struct mt_frame *func; /* the function's own frame, without a line (itself if none) */
};

#define MT_UNWIND_MAX_FRAMES 128

struct mt_unwinder *unwinder_new(struct mt_maptrack *maps);
void unwinder_free(struct mt_unwinder *u);

/*
 * The frames of a sample, innermost first, into frames[max], one per address (unwind_expand
 * gives what a report shows of each). Returns how many (0: none at all).
 */
unsigned unwind_sample(struct mt_unwinder *u, const struct mt_stack_sample *e,
		       const struct mt_frame **frames, unsigned max);

/*
 * The frames a report shows for f, innermost first: for an address, the functions inlined
 * there (each at its line), then the function it is in at its line; any other frame itself.
 * Reads the debug information the first time an address asks. Returns how many, up to max.
 */
unsigned unwind_expand(struct mt_unwinder *u, const struct mt_frame *f, const struct mt_frame **out,
		       unsigned max);

/* A frame of another kind (a Python frame), interned with the others. */
const struct mt_frame *unwind_intern(struct mt_unwinder *u, const char *text, uint32_t flags);

/* The process left: what was kept to unwind it (its modules) is let go. */
void unwinder_forget(struct mt_unwinder *u, uint32_t pid);

/* What unwinding met, for the summary. */
struct mt_unwind_stats {
	uint64_t samples, frames;
	uint64_t to_root;   /* samples unwound to where their thread started */
	uint64_t cut;	    /* not: the whole --stack-size was copied and unwound (it is too small) */
	uint64_t lost;	    /* not: no unwind information, or the copy ended at the stack's end */
	uint64_t no_module; /* an address in no file known to be mapped */
};
void unwinder_stats(const struct mt_unwinder *u, struct mt_unwind_stats *out);

#endif
