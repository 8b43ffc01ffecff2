/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One run of memtrace-bpf: the state the targets, the event loop and the notices share. It
 * lives in a header of its own, below all three, so that none of them reaches up into main.c
 * or into one another for it.
 */
#ifndef MT_SESSION_H
#define MT_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include "bisect.h"
#include "cglimit.h"
#include "cgtarget.h"
#include "cli.h"
#include "launcher.h"
#include "programs.h"
#include "pyattach.h"
#include "pyprof.h"
#include "pyreport.h"
#include "report.h"
#include "runlog.h"
#include "sampler.h"
#include "units.h"
#include "bpfobj.h"
#include "writer.h"

struct mt_live;
struct mt_maptrack;
struct mt_unwinder;
struct mt_stackprof;
struct mt_exporter;
struct mt_metrics;

/* COMMAND mode: the launched command, as wait4 gave it back. */
struct mt_child {
	int pidfd; /* -1 when pidfd_open is not there: the loop then wakes at ticks only */
	bool reaped;
	int status;
	struct rusage usage;
};

struct mt_session {
	struct mt_config cfg;
	char **argv; /* memtrace-bpf's own, for formats that name what was traced */
	struct mt_writer writer;
	struct mt_bpfobj bpf;
	struct mt_sampler sampler;
	struct mt_launcher launcher;
	struct mt_child child;
	struct mt_cgroup cgroup; /* -m */
	struct mt_report_cgroup cgroup_report;
	struct mt_cg_target cg_target; /* -G */
	char target_label[MT_CG_PATH_MAX + 32]; /* -a, -G: for the summary */
	char cmdline[1024]; /* what is traced, for formats that name it (mprof's CMDLINE) */
	enum mt_refuse_at refuse[MT_PROG_NR]; /* MEMTRACE_BPF_REFUSE */
	int epoll_fd;
	uint64_t launch_mono_ns; /* when memtrace-bpf began: start-up time (-v) */
	uint64_t start_mono_ns;	 /* when tracing began: the time base of the rows */
	bool traced;		 /* tracing began: there is a summary to print */
	const char *stop_reason; /* NULL, or why tracing stopped before the targets ended */
	uint64_t drops_seen[MT_DROP_NR]; /* -v: losses already told */
	struct mt_live *live;		 /* the live view on stderr; NULL when off */
	uint64_t live_next_ns; /* its next frame is due at this tick or the first after it */
	/* --python: the accounts, who runs CPython, and the report files (NULL: not asked) */
	struct mt_pyprof *pyprof;
	struct mt_pyattach *pyattach;
	FILE *lines_file, *folded_file;
	bool py_no_tss, py_no_thread_list; /* MEMTRACE_BPF_PY_THREAD */
	bool py_wrong_offsets;		    /* MEMTRACE_BPF_PY_OFFSETS=wrong */
	/* --stacks: what each process maps, the unwinder, the accounts (NULL: off) */
	struct mt_maptrack *maptrack;
	struct mt_unwinder *unwinder;
	struct mt_stackprof *stackprof;
	bool maps_proc_only; /* MEMTRACE_BPF_MAPS=proc: no mmap records from the kernel */
	/* COMMAND: its runs (one, --repeat's, --find-min-limit's trials), one BPF load for all */
	struct mt_runlog runs;
	uint64_t run_limit_bytes;    /* the next command's cgroup limit: 0 none, MT_CG_NO_LIMIT */
	uint64_t kill_at_ns;	     /* --trial-timeout: the run's command is killed then; 0 never */
	bool timed_out;		     /* and it was */
	struct mt_crosscheck xcheck; /* the run under way: what samplers would have seen */
	struct mt_bisect bisect;     /* --find-min-limit */
	uint64_t trial_timeout_ns;   /* --find-min-limit: as given, or derived from the baseline */
	FILE *summary_json;	     /* --summary-json */
	/* --prometheus: the server, and what it shows of the traced processes (NULL: off) */
	struct mt_exporter *exporter;
	struct mt_metrics *metrics;
	bool no_series;	/* --prometheus without -o: rows are not written anywhere */
	FILE *oom_log;	/* --oom-log */
};

/* Where the loop's epoll events come from (epoll_event.data.u32). */
enum mt_wake { MT_WAKE_RECORDS, MT_WAKE_CHILD, MT_WAKE_HTTP };


#endif
