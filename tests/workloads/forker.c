// forker — fork child A (touches MIB_A MiB, holds, exits 3) and child B (MIB_B MiB, holds,
// exits 4), both started before either is waited for; then print "children <pidA> <pidB>".
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char usage[] = "usage: forker MIB_A MIB_B [--hold MS]\n";

static void bad(const char *msg, const char *arg)
{
	fprintf(stderr, "forker: %s%s%s\n%s", msg, arg ? ": " : "", arg ? arg : "", usage);
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

/* Fork a child that touches mib MiB, holds, and _exit()s with code; returns its pid. */
static pid_t child(unsigned long mib, unsigned long hold, int code)
{
	size_t len = (size_t)mib << 20, pg = (size_t)sysconf(_SC_PAGESIZE);
	volatile char *p;
	pid_t pid = fork();

	if (pid == -1) {
		perror("forker: fork");
		return -1;
	}
	if (pid > 0)
		return pid;
	if (len) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			perror("forker: mmap");
			_exit(1);
		}
		madvise((void *)p, len, MADV_NOHUGEPAGE); /* one fault per page, even with THP */
		for (size_t off = 0; off < len; off += pg)
			p[off] = 1;
	}
	sleep_ms(hold);
	_exit(code);
}

static int reap(pid_t pid, int want)
{
	int st;

	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR) {
			perror("forker: waitpid");
			return 1;
		}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != want)
		fprintf(stderr, "forker: child %d: unexpected status 0x%x\n", (int)pid, st);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"hold", required_argument, NULL, 'H'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	unsigned long mib_a, mib_b, hold = 300;
	pid_t a, b;
	int c, rc = 0;

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
	mib_a = num(argv[optind], SIZE_MAX >> 20, "bad MIB_A");
	mib_b = num(argv[optind + 1], SIZE_MAX >> 20, "bad MIB_B");

	fflush(NULL); /* nothing buffered may be written twice by the children */
	a = child(mib_a, hold, 3);
	b = a > 0 ? child(mib_b, hold, 4) : -1;
	if (a > 0)
		rc |= reap(a, 3);
	if (b > 0)
		rc |= reap(b, 4);
	if (a <= 0 || b <= 0)
		return 1;
	printf("children %d %d\n", (int)a, (int)b);
	return rc;
}
