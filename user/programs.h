/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel feature policy: the BPF programs under bpf/ named in one place (the few that RSS,
 * peaks and exit rows cannot exist without, and for every other one what it gives, what takes
 * its place when the kernel refuses it, whether the user sees the difference); which of their
 * hooks and BPF features this kernel offers; the plan of which programs to load, kept up to
 * date as the kernel refuses some; and what each refusal is told as. Applying the plan to the
 * BPF object (libbpf's open, load, attach) is bpfobj.c's job, not this one's.
 */
#ifndef MT_PROGRAMS_H
#define MT_PROGRAMS_H

#include <stdbool.h>
#include <stddef.h>
#include "memtrace.h"

enum mt_prog {
	MT_PROG_RSS_STAT,
	MT_PROG_RSS_EXACT,
	MT_PROG_FORK,
	MT_PROG_EXEC,
	MT_PROG_EXIT,
	MT_PROG_FAULT,
	MT_PROG_FAULT_TP,
	MT_PROG_PAGE_ALLOC,
	MT_PROG_PAGE_ALLOC_TP,
	MT_PROG_RENAME,
	MT_PROG_OOM,
	MT_PROG_OOM_PID,
	MT_PROG_CGROUP_ATTACH,
	MT_PROG_SEED,
	MT_PROG_READ,
	MT_PROG_NR,
	MT_PROG_NONE = MT_PROG_NR,
};

/* The modes (enum mt_target_mode) a program serves, as a bit mask. */
#define MT_IN_MODE(m) (1u << (m))
#define MT_IN_ALL_MODES (MT_IN_MODE(MT_MODE_PIDS) | MT_IN_MODE(MT_MODE_ALL) | MT_IN_MODE(MT_MODE_CGROUP))

struct mt_prog_info {
	const char *name; /* the program's name in the BPF object (and, cut to 15 bytes, in bpftool) */
	const char *hook; /* what it attaches to, as a person would look it up */
	bool essential;
	/* loaded only when an option asks for it (present only then), and then as essential as
	 * the essential ones: what was asked for cannot be gone without */
	bool on_request;
	unsigned modes;	    /* MT_IN_MODE bits: the modes that load it */
	enum mt_prog twin;  /* tried in its place when it is refused or absent (MT_PROG_NONE) */
	bool is_twin;	    /* the second choice of another program: not a feature of its own */
	const char *gives;  /* what it gives */
	/* not a twin: what memtrace-bpf does when it and its twins are all missing, and whether the
	 * user sees that (a warning, not only -v) */
	const char *without;
	bool visible;
};

extern const struct mt_prog_info mt_progs[MT_PROG_NR];

/* The program of that name in the table, or MT_PROG_NONE. */
enum mt_prog mt_prog_by_name(const char *name);

/*
 * The program a libbpf message names ("prog 'NAME': ..."), or MT_PROG_NONE. libbpf names the
 * program whose load failed in a warning before it gives up on the whole object.
 */
enum mt_prog mt_prog_in_libbpf_message(const char *msg);

/* A refusal made on purpose (MEMTRACE_BPF_REFUSE): where the loader meets it. */
enum mt_refuse_at {
	MT_REFUSE_NOT = 0,
	MT_REFUSE_AT_LOAD,
	MT_REFUSE_AT_ATTACH,
};

/*
 * MEMTRACE_BPF_REFUSE's value: NAME[@load|@attach] separated by commas (load when not said).
 * Fills at[] (MT_REFUSE_NOT for the programs not named). Returns 0, or -1 with a message for
 * the user in err.
 */
int mt_parse_refusals(const char *spec, enum mt_refuse_at at[MT_PROG_NR], char *err, size_t errlen);

struct mt_load_plan {
	unsigned mode_bit;	  /* MT_IN_MODE(mode) */
	bool present[MT_PROG_NR]; /* its hook is on this kernel (decided before load) */
	bool load[MT_PROG_NR];	  /* to be loaded and attached */
	int refused[MT_PROG_NR];  /* -errno the kernel refused it with, 0 if it did not */
	bool refused_at_attach[MT_PROG_NR];
};

/* The first plan: for each feature the mode needs, its first program whose hook is present. */
void mt_plan_init(struct mt_load_plan *plan, enum mt_target_mode mode,
		  const bool present[MT_PROG_NR]);

/*
 * The kernel refused p (err: -errno) at load or at attach. Returns true when a twin takes its
 * place (the object must be loaded again with it), false when the feature goes without.
 */
bool mt_plan_refuse(struct mt_load_plan *plan, enum mt_prog p, int err, bool at_attach);

/* The feature p heads (the program of the chain p belongs to that is not a twin). */
enum mt_prog mt_prog_feature(enum mt_prog p);

/* Whether the run has the feature head, through head or one of its twins. */
bool mt_plan_has(const struct mt_load_plan *plan, enum mt_prog head);

/* Whether the run cannot go on without p: an essential program, or one asked for. */
bool mt_plan_essential(const struct mt_load_plan *plan, enum mt_prog p);

/* The program of head's chain that the plan loads, or MT_PROG_NONE. */
enum mt_prog mt_plan_chosen(const struct mt_load_plan *plan, enum mt_prog head);

/*
 * What to check when the kernel refuses an essential program with err (-errno): a security
 * policy for EPERM/EACCES, a missing hook or BPF feature for EINVAL/ENOENT and their kin.
 */
const char *mt_refusal_hint(int err);

/* What this kernel offers memtrace-bpf, probed before anything is loaded. */
struct mt_kernel {
	bool present[MT_PROG_NR]; /* each program's hook is there */
	bool percpu_lookup;	  /* bpf_map_lookup_percpu_elem (5.19+) */
	bool rss_batched; /* rss_stat(mm, member, count): RSS counted in per-thread batches (< 6.2) */
};

/*
 * Probe the kernel's BTF (its tracepoints), tracefs (classic tracepoints) and BPF helpers.
 * Returns 0, or -1 after one error line when an essential hook or feature is missing.
 */
int mt_kernel_probe(struct mt_kernel *k);

/* What the kernel refused or lacks, told once per feature: -v always, a warning if visible. */
void mt_plan_report(const struct mt_load_plan *plan);
/* The hook a feature runs on ("none" without it), for -v. */
const char *mt_plan_hook(const struct mt_load_plan *plan, enum mt_prog head);
/* One error line for an essential program the kernel refused at (load, attach). Returns -1. */
int mt_prog_refused_error(enum mt_prog p, int err, const char *at);
/* One error line when the object could not be loaded and no program was named. Returns -1. */
int mt_load_error(int err);

#endif
