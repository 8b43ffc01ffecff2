/* SPDX-License-Identifier: GPL-2.0 */
/* Command line → struct mt_config. Nothing here touches the kernel. */
#ifndef MT_CLI_H
#define MT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "netaddr.h"

enum mt_target {
	MT_TARGET_NONE,
	MT_TARGET_PIDS,
	MT_TARGET_COMMAND,
	MT_TARGET_ALL,	  /* -a: every process on the host */
	MT_TARGET_CGROUP, /* -G: a cgroup and its descendants */
};

struct mt_format_ops;

struct mt_config {
	enum mt_target target;
	int *pids;
	size_t nr_pids;
	char **argv; /* COMMAND and its arguments (points into the caller's argv) */
	bool follow_children;
	uint64_t interval_ns;
	uint64_t duration_ns; /* 0: until the targets exit or a signal */
	const char *output;   /* NULL or "-": stdout */
	const struct mt_format_ops *format; /* -F, one of the table's (formats.h) */
	bool every;
	bool exact;	       /* --exact: RSS exact to the page (the rss_stat record's sums) */
	bool live;	       /* --live: the live view even when stderr is not a terminal */
	const char *cgroup;    /* -G PATH */
	uint32_t max_procs;    /* --max-procs: processes traced at once */
	bool quiet;
	int verbose;
	const char *user; /* -u */
	uint64_t memory_limit; /* -m, bytes; 0: none */
	uint64_t rss_limit;    /* -L, bytes; 0: none */
	int kill_signal;       /* --kill[=SIGNAL]; 0: warn only */
	bool python;	       /* --python (also implied by --lines, and --folded without --stacks) */
	const char *lines_path;	 /* --lines FILE: the line report */
	const char *folded_path; /* --folded FILE: folded stacks */
	/* --stacks[=dwarf|fp]: user stacks at RSS growth; --stack-size, --stack-every */
	bool stacks;
	bool stack_fp;
	uint32_t stack_size;  /* bytes of stack copied (DWARF) */
	uint64_t stack_every; /* bytes grown per sample, on average */
	uint32_t repeat;	 /* --repeat N: counted runs; 0: one run and no run column */
	uint32_t warmup;	 /* --warmup K: runs before them, traced, neither written nor counted */
	const char *summary_json_path; /* --summary-json FILE */
	bool find_min_limit;	       /* --find-min-limit */
	uint64_t resolution_bytes;     /* --resolution; 0: the default */
	uint64_t trial_timeout_ns;     /* --trial-timeout; 0: the default */
	const char *prometheus;	       /* --prometheus ADDR as given; NULL: no exporter */
	struct mt_netaddr prometheus_addr;
	const char *oom_log_path;      /* --oom-log FILE */
};

/* --stacks' defaults and bounds */
#define MT_STACK_SIZE_DEFAULT 8192u
#define MT_STACK_SIZE_MIN 512u
#define MT_STACK_SIZE_MAX 65528u
#define MT_STACK_EVERY_DEFAULT (256u * 1024)
#define MT_STACK_EVERY_MIN 4096u
#define MT_STACK_EVERY_MAX (1ull << 30)

enum mt_args_result {
	MT_ARGS_OK = 0,
	MT_ARGS_EXIT = 1,  /* --help or --version printed: exit 0 */
	MT_ARGS_USAGE = 2, /* a usage error was printed: exit 2 */
};

enum mt_args_result mt_parse_args(int argc, char **argv, struct mt_config *cfg);
void mt_config_free(struct mt_config *cfg);
void mt_print_usage(FILE *out);

#define MT_DEFAULT_INTERVAL_NS 100000000ULL
#define MT_MIN_INTERVAL_NS 1000000ULL
#define MT_MIN_MEMORY_LIMIT (1ULL << 20)
#define MT_MAX_RUNS 10000
#define MT_DEFAULT_MAX_PROCS 32768u
#define MT_MIN_MAX_PROCS 16u
#define MT_MAX_MAX_PROCS (1u << 22) /* the kernel's largest pid_max */

#endif
