// workload.h — helpers shared by the test workloads in this directory.
//
// Each workload is built on its own from its one .c file. Before including this header it
// defines WL_NAME (its name: the prefix of its messages) and WL_USAGE (its usage line, ending
// in a newline). Everything here is static inline, so a workload pays nothing for what it
// does not use.
#ifndef WORKLOAD_H
#define WORKLOAD_H

#if !defined(WL_NAME) || !defined(WL_USAGE)
#error "define WL_NAME and WL_USAGE before including workload.h"
#endif

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* Print "NAME: MSG[: ARG]" and the usage on stderr, then exit 2. */
static inline _Noreturn void wl_bad(const char *msg, const char *arg)
{
	fprintf(stderr, WL_NAME ": %s%s%s\n%s", msg, arg ? ": " : "", arg ? arg : "", WL_USAGE);
	exit(2);
}

/* Parse S, plain decimal digits worth at most MAX; anything else is wl_bad(WHAT, S). */
static inline unsigned long wl_num(const char *s, unsigned long max, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	if (*s < '0' || *s > '9')
		wl_bad(what, s);
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		wl_bad(what, s);
	return v;
}

/* A size in MiB: at most what a size_t holds in bytes. */
static inline unsigned long wl_mib(const char *s, const char *what)
{
	return wl_num(s, SIZE_MAX >> 20, what);
}

/* A duration in milliseconds. */
static inline unsigned long wl_ms(const char *s, const char *what)
{
	return wl_num(s, LONG_MAX, what);
}

/* Require at least MIN and at most MAX operands; HAVE is how many there are. */
static inline void wl_nargs(int have, int min, int max)
{
	if (have < min)
		wl_bad("missing arguments", NULL);
	if (have > max)
		wl_bad("too many arguments", NULL);
}

/* For a workload without options: if argv[1] is -h or --help, print the usage and exit 0. */
static inline void wl_help(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(WL_USAGE, stdout);
		exit(0);
	}
}

/* getopt_long quietly, with -h and reporting a missing option argument as ':'. */
static inline int wl_getopt(int argc, char **argv, const struct option *opts)
{
	opterr = 0;
	return getopt_long(argc, argv, ":h", opts, NULL);
}

/* What every workload does with a wl_getopt result it does not handle itself: 'h' (-h, --help)
 * prints the usage and exits 0, ':' (missing argument) and anything else exit 2. */
static inline _Noreturn void wl_opt_other(int c, char **argv)
{
	if (c == 'h') {
		fputs(WL_USAGE, stdout);
		exit(0);
	}
	wl_bad(c == ':' ? "option needs an argument" : "unknown option", argv[optind - 1]);
}

/* Parse the options of a workload whose only one is --hold MS (into *HOLD, which keeps its
 * default when the option is absent), then require NARGS operands, from argv[optind] on. */
static inline void wl_hold_opts(int argc, char **argv, unsigned long *hold, int nargs)
{
	static const struct option opts[] = {
	    {"hold", required_argument, NULL, 'H'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	while ((c = wl_getopt(argc, argv, opts)) != -1) {
		if (c == 'H')
			*hold = wl_ms(optarg, "bad --hold");
		else
			wl_opt_other(c, argv);
	}
	wl_nargs(argc - optind, nargs, nargs);
}

static inline void wl_sleep_ms(unsigned long ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Map LEN bytes of private anonymous memory with transparent huge pages off, so that touching
 * it faults once a page even with THP=always; MAP_FAILED on error. */
static inline void *wl_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p != MAP_FAILED)
		madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

/* Map MIB MiB with wl_map and touch every page; NULL for 0 MiB. If the mmap fails, print
 * "NAME: mmap: ERROR" and exit 1. */
static inline void *wl_alloc_touch(unsigned long mib)
{
	size_t len = (size_t)mib << 20, pg = (size_t)sysconf(_SC_PAGESIZE);
	volatile char *p;

	if (!len)
		return NULL;
	p = wl_map(len);
	if (p == MAP_FAILED) {
		perror(WL_NAME ": mmap");
		exit(1);
	}
	for (size_t off = 0; off < len; off += pg)
		p[off] = 1;
	return (void *)p;
}

/* Print "ready <pid>" and flush it, for a test waiting on that line. */
static inline void wl_ready(void)
{
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
}

#endif /* WORKLOAD_H */
