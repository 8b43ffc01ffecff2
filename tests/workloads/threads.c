// threads — start NTHREADS pthreads that each allocate and touch MIB_PER_THREAD MiB; the main
// thread joins them, holds MS (default 200) and exits 0 (nothing is freed).
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static const char usage[] = "usage: threads NTHREADS MIB_PER_THREAD [--hold MS]\n";
static unsigned long mib;

static void bad(const char *msg, const char *arg)
{
	fprintf(stderr, "threads: %s%s%s\n%s", msg, arg ? ": " : "", arg ? arg : "", usage);
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

static void *worker(void *arg)
{
	size_t len = (size_t)mib << 20, pg = (size_t)sysconf(_SC_PAGESIZE);
	volatile char *p;

	(void)arg;
	if (!len)
		return NULL;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("threads: mmap");
		exit(1);
	}
	madvise((void *)p, len, MADV_NOHUGEPAGE); /* one fault per page, even with THP=always */
	for (size_t off = 0; off < len; off += pg)
		p[off] = 1;
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"hold", required_argument, NULL, 'H'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	unsigned long n, hold = 200;
	pthread_t *tids;
	int c, err;

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
	if (argc - optind != 2)
		bad(argc - optind < 2 ? "missing arguments" : "too many arguments", NULL);
	n = num(argv[optind], 4096, "bad NTHREADS");
	mib = num(argv[optind + 1], SIZE_MAX >> 20, "bad MIB_PER_THREAD");

	tids = calloc(n ? n : 1, sizeof(*tids));
	if (!tids) {
		perror("threads: calloc");
		return 1;
	}
	for (unsigned long i = 0; i < n; i++) {
		err = pthread_create(&tids[i], NULL, worker, NULL);
		if (err) {
			fprintf(stderr, "threads: pthread_create: %s\n", strerror(err));
			return 1;
		}
	}
	for (unsigned long i = 0; i < n; i++)
		pthread_join(tids[i], NULL);
	sleep_ms(hold);
	return 0;
}
