// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "formats.h"
#include "log.h"
#include "units.h"

enum {
	OPT_NO_CHILDREN = 0x100,
	OPT_EVERY,
	OPT_KILL,
	OPT_LIVE,
	OPT_MAX_PROCS,
	OPT_PYTHON,
	OPT_LINES,
	OPT_FOLDED,
	OPT_REPEAT,
	OPT_WARMUP,
	OPT_SUMMARY_JSON,
	OPT_FIND_MIN_LIMIT,
	OPT_RESOLUTION,
	OPT_TRIAL_TIMEOUT,
	OPT_EXACT,
	OPT_PROMETHEUS,
	OPT_OOM_LOG,
	OPT_STACKS,
	OPT_STACK_SIZE,
	OPT_STACK_EVERY,
};

static const struct option long_options[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "all", no_argument, NULL, 'a' },
	{ "cgroup", required_argument, NULL, 'G' },
	{ "no-children", no_argument, NULL, OPT_NO_CHILDREN },
	{ "interval", required_argument, NULL, 'i' },
	{ "duration", required_argument, NULL, 'd' },
	{ "output", required_argument, NULL, 'o' },
	{ "format", required_argument, NULL, 'F' },
	{ "every", no_argument, NULL, OPT_EVERY },
	{ "exact", no_argument, NULL, OPT_EXACT },
	{ "live", no_argument, NULL, OPT_LIVE },
	{ "max-procs", required_argument, NULL, OPT_MAX_PROCS },
	{ "memory-limit", required_argument, NULL, 'm' },
	{ "rss-limit", required_argument, NULL, 'L' },
	{ "kill", optional_argument, NULL, OPT_KILL },
	{ "python", no_argument, NULL, OPT_PYTHON },
	{ "lines", required_argument, NULL, OPT_LINES },
	{ "folded", required_argument, NULL, OPT_FOLDED },
	{ "stacks", optional_argument, NULL, OPT_STACKS },
	{ "stack-size", required_argument, NULL, OPT_STACK_SIZE },
	{ "stack-every", required_argument, NULL, OPT_STACK_EVERY },
	{ "repeat", required_argument, NULL, OPT_REPEAT },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "summary-json", required_argument, NULL, OPT_SUMMARY_JSON },
	{ "find-min-limit", no_argument, NULL, OPT_FIND_MIN_LIMIT },
	{ "resolution", required_argument, NULL, OPT_RESOLUTION },
	{ "trial-timeout", required_argument, NULL, OPT_TRIAL_TIMEOUT },
	{ "prometheus", required_argument, NULL, OPT_PROMETHEUS },
	{ "oom-log", required_argument, NULL, OPT_OOM_LOG },
	{ "user", required_argument, NULL, 'u' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{},
};

void mt_print_usage(FILE *out)
{
	fputs("Usage: memtrace-bpf [OPTIONS] -p PID[,PID...]\n"
	      "       memtrace-bpf [OPTIONS] [--] COMMAND [ARG...]\n"
	      "       memtrace-bpf [OPTIONS] -a\n"
	      "       memtrace-bpf [OPTIONS] -G CGROUP\n"
	      "\n"
	      "Trace how processes use memory, from the kernel: RSS over time (anon/file/shmem),\n"
	      "exact peaks, page faults, page allocations, exits and OOM kills, as a time series.\n"
	      "\n"
	      "Targets (exactly one):\n"
	      "  -p, --pid PID[,PID...]   trace running processes (repeatable)\n"
	      "  COMMAND [ARG...]         run COMMAND and trace it from its first instruction\n"
	      "  -a, --all                trace every process on the host\n"
	      "  -G, --cgroup CGROUP      trace a cgroup and its descendants: a cgroup v2 path or\n"
	      "                           a v1 memory-controller path, either as a directory\n"
	      "                           (/sys/fs/cgroup/...) or as /proc/PID/cgroup shows it\n"
	      "      --no-children        do not follow processes started after tracing starts\n"
	      "      --max-procs N        processes traced at once (default 32768; more are\n"
	      "                           counted and reported, never silently dropped)\n"
	      "\n"
	      "Output:\n"
	      "  -o, --output FILE        write the time series to FILE ('-': stdout, the default\n"
	      "                           unless --prometheus)\n"
	      "  -F, --format FMT         csv (default), jsonl, or mprof (memory_profiler's .dat:\n"
	      "                           'mprof plot FILE' draws it)\n"
	      "  -i, --interval DUR       sampling interval (default 100ms; e.g. 1s, 2.5s)\n"
	      "  -d, --duration DUR       stop after DUR (default: when the targets exit, or at\n"
	      "                           Ctrl-C for -a and -G)\n"
	      "      --every              a row for every live process at every interval\n"
	      "      --exact              RSS and peaks exact to the page at every change (the\n"
	      "                           kernel's sums over the CPUs, not its folded counters:\n"
	      "                           more work per RSS change; Linux 6.2 or later)\n"
	      "      --live               a live top-like view on stderr, refreshed every interval\n"
	      "                           (on by default for -p, -a and -G when stderr is a\n"
	      "                           terminal and the time series goes elsewhere)\n"
	      "      --summary-json FILE  the summary (runs, statistics, cross-checks, OOM kills,\n"
	      "                           losses) as one JSON document\n"
	      "      --oom-log FILE       append every OOM kill's forensic report to FILE as one\n"
	      "                           JSON object per line\n"
	      "  -q, --quiet              nothing on stderr but errors\n"
	      "  -v, --verbose            diagnostics: hooks chosen, map sizes, libbpf messages,\n"
	      "                           and what the BPF programs cost (bpf_stats) at the end\n"
	      "\n"
	      "Python (CPython 3.11, 3.12, 3.13):\n"
	      "      --python             charge every RSS change a CPython process makes to the\n"
	      "                           Python line and stack running at that moment (read in\n"
	      "                           the kernel); the summary gets the lines that grew most\n"
	      "      --lines FILE         with it, a line-by-line report in memory_profiler's\n"
	      "                           layout (implies --python)\n"
	      "      --folded FILE        with it, folded stacks of the bytes grown, for flame\n"
	      "                           graphs (implies --python unless --stacks is given)\n"
	      "\n"
	      "Native stacks (C, C++, Rust, ... and Python with --python):\n"
	      "      --stacks[=MODE]      charge RSS growth to the user stack that made it,\n"
	      "                           sampled by bytes grown: dwarf (the default) copies the\n"
	      "                           top of the stack and unwinds it with the binaries'\n"
	      "                           unwind tables; fp walks frame pointers in the kernel.\n"
	      "                           The summary gets the functions that grew most, the\n"
	      "                           OOM report the stack; --folded FILE the stacks\n"
	      "      --stack-size SIZE    bytes of stack copied per sample (default 8K)\n"
	      "      --stack-every SIZE   one sample per SIZE grown on average (default 256K;\n"
	      "                           4K: every growth)\n"
	      "\n"
	      "Limits:\n"
	      "  -m, --memory-limit SIZE  COMMAND only: run it in a fresh cgroup with this hard\n"
	      "                           memory limit (cgroup v2 memory.max or v1\n"
	      "                           memory.limit_in_bytes, no swapping around it); the\n"
	      "                           cgroup is removed afterwards\n"
	      "  -L, --rss-limit SIZE     flag every traced process whose RSS crosses SIZE\n"
	      "                           (a 'limit' row and a warning)\n"
	      "      --kill[=SIGNAL]      with -L: also send SIGNAL (default KILL) from the kernel\n"
	      "                           at the moment of crossing\n"
	      "\n"
	      "Command mode:\n"
	      "  -u, --user USER          run COMMAND as USER (default: the user who ran sudo)\n"
	      "      --repeat N           run COMMAND N times (each in a fresh -m cgroup), one\n"
	      "                           BPF load for all: the rows get a 'run' column, the\n"
	      "                           summary median, min, max and standard deviation\n"
	      "      --warmup K           with it, K runs first that are traced but neither\n"
	      "                           written nor counted\n"
	      "      --find-min-limit     find the least memory limit under which COMMAND still\n"
	      "                           completes: a run without a limit, then a bisection over\n"
	      "                           -m, each trial in a fresh cgroup without swap\n"
	      "      --resolution SIZE    with it, stop when the bracket is this narrow (default:\n"
	      "                           1% of the unlimited run's peak, at least 1M)\n"
	      "      --trial-timeout DUR  with it, a trial running longer counts as too little\n"
	      "                           memory and is killed (default: 10x the unlimited run,\n"
	      "                           at least 10s)\n"
	      "\n"
	      "Fleets:\n"
	      "      --prometheus ADDR    serve /metrics for Prometheus on ADDR while tracing\n"
	      "                           (:9464 every address, 127.0.0.1:9464, [::1]:9464):\n"
	      "                           memory per cgroup, OOM kills, peaks at exit, the\n"
	      "                           tracer's health; without -o no time series is written\n"
	      "\n"
	      "  -h, --help               this help\n"
	      "  -V, --version            version\n"
	      "\n"
	      "SIZE: bytes, or with K, M, G, T (powers of 1024). DUR: ms, s, m, h; bare = seconds.\n"
	      "\n"
	      "Examples:\n"
	      "  sudo memtrace-bpf -- python3 -c 'x = [0] * 10**8'\n"
	      "  sudo memtrace-bpf -m 256M -- python3 -c 'sum([i for i in range(10**8)])'\n"
	      "  sudo memtrace-bpf -L 1G --kill -- ./leaky-server\n"
	      "  sudo memtrace-bpf -p 4242 -i 1s -o run.csv\n"
	      "  sudo memtrace-bpf -d 30s -p \"$(pgrep -d, postgres)\"\n"
	      "  sudo memtrace-bpf -a -i 1s -o host.csv          (whole host, live view on stderr)\n"
	      "  sudo memtrace-bpf -G /sys/fs/cgroup/system.slice/nginx.service -F jsonl\n"
	      "  sudo memtrace-bpf -F mprof -o run.dat -- python3 train.py && mprof plot run.dat\n"
	      "  sudo memtrace-bpf --repeat 5 --summary-json s.json -o runs.csv -- ./experiment\n"
	      "  sudo memtrace-bpf --find-min-limit -- python3 -c 'sum([i for i in range(10**7)])'\n"
	      "  sudo memtrace-bpf -a --prometheus 127.0.0.1:9464 --oom-log /var/log/oom.jsonl\n"
	      "\n"
	      "Exit status: COMMAND's own status (128+N if killed by signal N; with --repeat the\n"
	      "first run's that was not 0; with --find-min-limit 0 once a limit was found);\n"
	      "otherwise 0, 1 if tracing could not be set up, 2 on a usage error.\n",
	      out);
}

static enum mt_args_result usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static enum mt_args_result usage_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mt_err("%s (see --help)", msg);
	return MT_ARGS_USAGE;
}

/* One target only; -p may be repeated. */
static int set_target(struct mt_config *cfg, enum mt_target target)
{
	if (cfg->target != MT_TARGET_NONE && cfg->target != target)
		return -1;
	if (target != MT_TARGET_PIDS && cfg->target == target)
		return -1;
	cfg->target = target;
	return 0;
}

static int parse_count(const char *text, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (*text < '0' || *text > '9')
		return -1;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int add_pids(struct mt_config *cfg, const char *list)
{
	const char *p = list;

	if (!*p)
		return -1;
	while (*p) {
		char *end;
		long v;

		if (*p < '0' || *p > '9')
			return -1;
		errno = 0;
		v = strtol(p, &end, 10);
		if (errno || v <= 0 || v > INT_MAX || (*end && *end != ','))
			return -1;
		if (*end == ',' && !end[1])
			return -1;
		bool seen = false;
		for (size_t i = 0; i < cfg->nr_pids; i++)
			seen |= cfg->pids[i] == (int)v;
		if (!seen) {
			int *pids = realloc(cfg->pids, (cfg->nr_pids + 1) * sizeof(*pids));
			if (!pids)
				return -1;
			cfg->pids = pids;
			cfg->pids[cfg->nr_pids++] = (int)v;
		}
		p = *end ? end + 1 : end;
	}
	return 0;
}

/* One option and its argument (optarg) into cfg; MT_ARGS_OK to go on to the next. */
static enum mt_args_result parse_option(int c, char **argv, struct mt_config *cfg)
{
	switch (c) {
	case 'p':
		if (add_pids(cfg, optarg))
			return usage_error("invalid PID list '%s': expected PID[,PID...] of "
					   "positive numbers",
					   optarg);
		if (set_target(cfg, MT_TARGET_PIDS))
			return usage_error("give exactly one target: "
					   "-p, -a, -G or a COMMAND");
		return MT_ARGS_OK;
	case 'a':
		if (set_target(cfg, MT_TARGET_ALL))
			return usage_error("give exactly one target: "
					   "-p, -a, -G or a COMMAND");
		return MT_ARGS_OK;
	case 'G':
		if (!*optarg)
			return usage_error("-G needs a cgroup path");
		if (set_target(cfg, MT_TARGET_CGROUP))
			return usage_error("give exactly one target: "
					   "-p, -a, -G or a COMMAND");
		cfg->cgroup = optarg;
		return MT_ARGS_OK;
	case 'm':
		if (mt_parse_size(optarg, &cfg->memory_limit))
			return usage_error("invalid memory limit '%s': expected a size such "
					   "as 512M or 2G",
					   optarg);
		if (cfg->memory_limit < MT_MIN_MEMORY_LIMIT)
			return usage_error("memory limit '%s' is too small: the command "
					   "could not even start; give at least 1M",
					   optarg);
		return MT_ARGS_OK;
	case 'L':
		if (mt_parse_size(optarg, &cfg->rss_limit))
			return usage_error("invalid RSS limit '%s': expected a size such as "
					   "100M or 2G",
					   optarg);
		if (!cfg->rss_limit)
			return usage_error("RSS limit '%s' must be more than zero", optarg);
		return MT_ARGS_OK;
	case OPT_KILL:
		cfg->kill_signal = SIGKILL;
		if (optarg && mt_parse_signal(optarg, &cfg->kill_signal))
			return usage_error("--kill=%s: unknown signal (give a name such as "
					   "KILL, TERM, SIGUSR1, or a number)",
					   optarg);
		return MT_ARGS_OK;
	case 'F':
		cfg->format = mt_format_by_name(optarg);
		if (!cfg->format)
			return usage_error("unknown format '%s': give %s", optarg,
					   mt_format_names());
		return MT_ARGS_OK;
	case OPT_LIVE:
		cfg->live = true;
		return MT_ARGS_OK;
	case OPT_MAX_PROCS:
		if (parse_count(optarg, &cfg->max_procs) || cfg->max_procs < MT_MIN_MAX_PROCS ||
		    cfg->max_procs > MT_MAX_MAX_PROCS)
			return usage_error("invalid --max-procs '%s': expected a number of "
					   "processes from 16 to 4194304",
					   optarg);
		return MT_ARGS_OK;
	case OPT_NO_CHILDREN:
		cfg->follow_children = false;
		return MT_ARGS_OK;
	case 'i':
		if (mt_parse_duration(optarg, &cfg->interval_ns))
			return usage_error("invalid interval '%s': expected a duration such "
					   "as 100ms, 1s or 2.5s",
					   optarg);
		if (cfg->interval_ns < MT_MIN_INTERVAL_NS)
			return usage_error("interval '%s' is too short: the shortest is 1ms",
					   optarg);
		return MT_ARGS_OK;
	case 'd':
		if (mt_parse_duration(optarg, &cfg->duration_ns))
			return usage_error("invalid duration '%s': expected a duration such "
					   "as 500ms, 30s, 5m or 1h",
					   optarg);
		if (!cfg->duration_ns)
			return usage_error("duration '%s' must be more than zero", optarg);
		return MT_ARGS_OK;
	case 'o':
		if (!*optarg)
			return usage_error("-o needs a file name ('-' for stdout)");
		cfg->output = optarg;
		return MT_ARGS_OK;
	case OPT_EVERY:
		cfg->every = true;
		return MT_ARGS_OK;
	case OPT_EXACT:
		cfg->exact = true;
		return MT_ARGS_OK;
	case OPT_PYTHON:
		cfg->python = true;
		return MT_ARGS_OK;
	case OPT_LINES:
	case OPT_FOLDED:
		/* a report of Python lines is asked for: --python is implied (for --folded only
		 * without --stacks, whose folded stacks are native: check_stacks) */
		if (!*optarg)
			return usage_error("%s needs a file name", c == OPT_LINES ? "--lines" : "--folded");
		*(c == OPT_LINES ? &cfg->lines_path : &cfg->folded_path) = optarg;
		if (c == OPT_LINES)
			cfg->python = true;
		return MT_ARGS_OK;
	case OPT_STACKS:
		cfg->stacks = true;
		if (!optarg || !strcmp(optarg, "dwarf"))
			cfg->stack_fp = false;
		else if (!strcmp(optarg, "fp"))
			cfg->stack_fp = true;
		else
			return usage_error("invalid --stacks mode '%s': expected dwarf (the default: "
					   "unwound with the binaries' unwind tables) or fp (frame "
					   "pointers)",
					   optarg);
		return MT_ARGS_OK;
	case OPT_STACK_SIZE: {
		uint64_t v;

		if (mt_parse_size(optarg, &v) || v < MT_STACK_SIZE_MIN || v > MT_STACK_SIZE_MAX ||
		    v % 8)
			return usage_error("invalid --stack-size '%s': expected a multiple of 8 "
					   "bytes from 512 to 65528 (such as 8K or 16K)",
					   optarg);
		cfg->stack_size = (uint32_t)v;
		return MT_ARGS_OK;
	}
	case OPT_STACK_EVERY:
		if (mt_parse_size(optarg, &cfg->stack_every) ||
		    cfg->stack_every < MT_STACK_EVERY_MIN || cfg->stack_every > MT_STACK_EVERY_MAX)
			return usage_error("invalid --stack-every '%s': expected a size from 4K (every "
					   "growth) to 1G, such as 256K",
					   optarg);
		return MT_ARGS_OK;
	case OPT_REPEAT:
	case OPT_WARMUP:
		if (parse_count(optarg, c == OPT_REPEAT ? &cfg->repeat : &cfg->warmup) ||
		    (c == OPT_REPEAT && !cfg->repeat) ||
		    (c == OPT_REPEAT ? cfg->repeat : cfg->warmup) > MT_MAX_RUNS)
			return usage_error("invalid %s '%s': expected a number of runs from %d to %d",
					   c == OPT_REPEAT ? "--repeat" : "--warmup", optarg,
					   c == OPT_REPEAT ? 1 : 0, MT_MAX_RUNS);
		return MT_ARGS_OK;
	case OPT_SUMMARY_JSON:
		if (!*optarg)
			return usage_error("--summary-json needs a file name ('-' for stdout)");
		cfg->summary_json_path = optarg;
		return MT_ARGS_OK;
	case OPT_FIND_MIN_LIMIT:
		cfg->find_min_limit = true;
		return MT_ARGS_OK;
	case OPT_RESOLUTION:
		if (mt_parse_size(optarg, &cfg->resolution_bytes) || !cfg->resolution_bytes)
			return usage_error("invalid --resolution '%s': expected a size such as 1M "
					   "or 512K",
					   optarg);
		return MT_ARGS_OK;
	case OPT_TRIAL_TIMEOUT:
		if (mt_parse_duration(optarg, &cfg->trial_timeout_ns) || !cfg->trial_timeout_ns)
			return usage_error("invalid --trial-timeout '%s': expected a duration such "
					   "as 30s or 5m",
					   optarg);
		return MT_ARGS_OK;
	case OPT_PROMETHEUS: {
		char why[160];

		if (netaddr_parse(optarg, &cfg->prometheus_addr, why, sizeof(why)))
			return usage_error("invalid --prometheus address '%s': %s", optarg, why);
		cfg->prometheus = optarg;
		return MT_ARGS_OK;
	}
	case OPT_OOM_LOG:
		if (!*optarg)
			return usage_error("--oom-log needs a file name");
		cfg->oom_log_path = optarg;
		return MT_ARGS_OK;
	case 'u':
		if (!*optarg)
			return usage_error("-u needs a user name or uid");
		cfg->user = optarg;
		return MT_ARGS_OK;
	case 'q':
		cfg->quiet = true;
		return MT_ARGS_OK;
	case 'v':
		cfg->verbose++;
		return MT_ARGS_OK;
	case 'h':
		mt_print_usage(stdout);
		return MT_ARGS_EXIT;
	case 'V':
		printf("memtrace-bpf %s\n", MT_VERSION);
		return MT_ARGS_EXIT;
	case ':':
		/* a short option's letter; long-only ones (OPT_*) are named from argv */
		if (optopt > 0 && optopt < 0x100)
			return usage_error("option -%c needs an argument", optopt);
		return usage_error("option '%s' needs an argument", argv[optind - 1]);
	default:
		if (optopt > 0 && optopt < 0x100)
			return usage_error("unknown option -%c", optopt);
		return usage_error("unknown option '%s'", argv[optind - 1]);
	}
	return MT_ARGS_OK;
}

/* Many runs of one COMMAND: what goes with --repeat, --warmup and --find-min-limit. */
static enum mt_args_result check_runs(const struct mt_config *cfg)
{
	bool repeated = cfg->repeat || cfg->warmup;
	const char *which = cfg->find_min_limit ? "--find-min-limit"
			    : cfg->repeat	    ? "--repeat"
						    : "--warmup";

	if ((cfg->resolution_bytes || cfg->trial_timeout_ns) && !cfg->find_min_limit)
		return usage_error("%s only applies with --find-min-limit",
				   cfg->resolution_bytes ? "--resolution" : "--trial-timeout");
	if (!repeated && !cfg->find_min_limit)
		return MT_ARGS_OK;
	if (cfg->target != MT_TARGET_COMMAND)
		return usage_error("%s only applies to a COMMAND (it runs the command itself, "
				   "again and again)",
				   which);
	if (cfg->find_min_limit && repeated)
		return usage_error("--find-min-limit and %s cannot go together: each trial is "
				   "one run",
				   cfg->repeat ? "--repeat" : "--warmup");
	if (cfg->find_min_limit && cfg->memory_limit)
		return usage_error("--find-min-limit sets the memory limit of every trial itself: "
				   "leave out -m");
	if (cfg->duration_ns)
		return usage_error("-d cannot go with %s: every run goes to its end%s", which,
				   cfg->find_min_limit ? " (see --trial-timeout)" : "");
	if (cfg->python || cfg->stacks)
		return usage_error("%s reports one run: it cannot go with %s",
				   cfg->python ? "--python" : "--stacks", which);
	if (!mt_format_holds_runs(cfg->format))
		return usage_error("-F %s holds one run: %s needs csv or jsonl",
				   mt_format_name(cfg->format), which);
	return MT_ARGS_OK;
}

/* --stacks and its options together; their defaults. */
static enum mt_args_result check_stacks(struct mt_config *cfg)
{
	if (!cfg->stacks) {
		if (cfg->stack_size || cfg->stack_every)
			return usage_error("%s only applies with --stacks",
					   cfg->stack_size ? "--stack-size" : "--stack-every");
		if (cfg->folded_path)
			cfg->python = true; /* --folded alone: Python's folded stacks */
		return MT_ARGS_OK;
	}
	if (cfg->stack_fp && cfg->stack_size)
		return usage_error("--stack-size is the copy --stacks=dwarf unwinds: --stacks=fp "
				   "walks frame pointers and copies no stack");
#ifndef __x86_64__
	if (!cfg->stack_fp)
		return usage_error("--stacks=dwarf reads x86-64 registers: use --stacks=fp here");
#endif
	if (!cfg->stack_size)
		cfg->stack_size = MT_STACK_SIZE_DEFAULT;
	if (!cfg->stack_every)
		cfg->stack_every = MT_STACK_EVERY_DEFAULT;
	return MT_ARGS_OK;
}

/* After the options: the COMMAND, and what the options together must make sense as. */
static enum mt_args_result check_config(int argc, char **argv, struct mt_config *cfg)
{
	if (optind < argc) {
		if (cfg->target != MT_TARGET_NONE)
			return usage_error("give exactly one target: -p, -a, -G or a COMMAND, not "
					   "two (COMMAND starts at '%s')",
					   argv[optind]);
		cfg->target = MT_TARGET_COMMAND;
		cfg->argv = &argv[optind];
	}
	if (cfg->target == MT_TARGET_NONE)
		return usage_error("nothing to trace: give -p PID, -a, -G CGROUP or a COMMAND");
	if (cfg->user && cfg->target != MT_TARGET_COMMAND)
		return usage_error("-u/--user only applies to a COMMAND");
	if (cfg->memory_limit && cfg->target != MT_TARGET_COMMAND)
		return usage_error("-m/--memory-limit only applies to a COMMAND (it runs the "
				   "command in a new cgroup); for a running process use -L");
	if (cfg->kill_signal && !cfg->rss_limit)
		return usage_error("--kill needs -L/--rss-limit SIZE: the RSS at which to send "
				   "the signal");
	if (check_stacks(cfg) != MT_ARGS_OK)
		return MT_ARGS_USAGE;
	if (check_runs(cfg) != MT_ARGS_OK)
		return MT_ARGS_USAGE;
	if (cfg->summary_json_path && !strcmp(cfg->summary_json_path, "-") &&
	    ((!cfg->output && !cfg->prometheus) || (cfg->output && !strcmp(cfg->output, "-"))))
		return usage_error("--summary-json - and the time series would share stdout: give "
				   "one of them a file (-o FILE)");
	if (cfg->quiet && cfg->live)
		return usage_error("-q and --live contradict each other: give one");
	if (cfg->quiet && cfg->verbose)
		return usage_error("-q and -v contradict each other: give one");
	return MT_ARGS_OK;
}

static enum mt_args_result parse_args(int argc, char **argv, struct mt_config *cfg)
{
	enum mt_args_result res = MT_ARGS_OK;
	int c;

	memset(cfg, 0, sizeof(*cfg));
	cfg->follow_children = true;
	cfg->interval_ns = MT_DEFAULT_INTERVAL_NS;
	cfg->max_procs = MT_DEFAULT_MAX_PROCS;
	cfg->format = mt_format_default();
	optind = 0; /* 0: glibc forgets everything of an earlier parse */
	opterr = 0;

	/* '+': options end at COMMAND, so its own options are left alone */
	while (res == MT_ARGS_OK &&
	       (c = getopt_long(argc, argv, "+:p:aG:i:d:o:F:m:L:u:qvhV", long_options, NULL)) != -1)
		res = parse_option(c, argv, cfg);
	return res == MT_ARGS_OK ? check_config(argc, argv, cfg) : res;
}

enum mt_args_result mt_parse_args(int argc, char **argv, struct mt_config *cfg)
{
	enum mt_args_result res = parse_args(argc, argv, cfg);

	/* a usage error or --help ends the run: nothing of the parse stays allocated (-p's list) */
	if (res != MT_ARGS_OK)
		mt_config_free(cfg);
	return res;
}

void mt_config_free(struct mt_config *cfg)
{
	free(cfg->pids);
	cfg->pids = NULL;
	cfg->nr_pids = 0;
}
