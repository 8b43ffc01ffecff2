// grow — print "ready <pid>", wait 300 ms for a tracer to attach, then STEPS times allocate and
// touch STEP_MIB MiB and sleep EVERY_MS; finally hold MS and exit 0 (nothing is freed).
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static const char usage[] = "usage: grow STEP_MIB EVERY_MS STEPS [--hold MS]\n";

static void bad(const char *msg, const char *arg)
{
	fprintf(stderr, "grow: %s%s%s\n%s", msg, arg ? ": " : "", arg ? arg : "", usage);
	exit(2);
}

static unsigned long num(const char *s, unsigned long max, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	if (*s < '0' || *s > '9')
		bad(what, s);
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		bad(what, s);
	return v;
}

static void sleep_ms(unsigned long ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void *alloc_touch(unsigned long mib)
{
	size_t len = (size_t)mib << 20, pg = (size_t)sysconf(_SC_PAGESIZE);
	volatile char *p;

	if (!len)
		return NULL;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("grow: mmap");
		exit(1);
	}
	madvise((void *)p, len, MADV_NOHUGEPAGE); /* one fault per page, even with THP=always */
	for (size_t off = 0; off < len; off += pg)
		p[off] = 1;
	return (void *)p;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"hold", required_argument, NULL, 'H'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	unsigned long step, every, steps, hold = 0;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			hold = num(optarg, LONG_MAX, "bad --hold");
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			bad("option needs an argument", argv[optind - 1]);
			break;
		default:
			bad("unknown option", argv[optind - 1]);
		}
	}
	if (argc - optind != 3)
		bad(argc - optind < 3 ? "missing arguments" : "too many arguments", NULL);
	step = num(argv[optind], SIZE_MAX >> 20, "bad STEP_MIB");
	every = num(argv[optind + 1], LONG_MAX, "bad EVERY_MS");
	steps = num(argv[optind + 2], LONG_MAX, "bad STEPS");

	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	sleep_ms(300);
	for (unsigned long i = 0; i < steps; i++) {
		alloc_touch(step);
		sleep_ms(every);
	}
	sleep_ms(hold);
	return 0;
}
