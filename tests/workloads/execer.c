// execer — allocate and touch MIB MiB, sleep 200 ms, print "execing <pid>", then execvp PROGRAM
// with ARGs (PROGRAM is its argv[0]); the exec releases the memory. Exec failure exits 127.
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static const char usage[] = "usage: execer MIB PROGRAM [ARG...]\n";

static void bad(const char *msg, const char *arg)
{
	fprintf(stderr, "execer: %s%s%s\n%s", msg, arg ? ": " : "", arg ? arg : "", usage);
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

int main(int argc, char **argv)
{
	unsigned long mib;
	size_t len, pg = (size_t)sysconf(_SC_PAGESIZE);
	volatile char *p;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc < 3)
		bad("missing arguments", NULL);
	mib = num(argv[1], SIZE_MAX >> 20, "bad MIB");
	len = (size_t)mib << 20;
	if (len) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			perror("execer: mmap");
			return 1;
		}
		madvise((void *)p, len, MADV_NOHUGEPAGE); /* one fault per page, even with THP */
		for (size_t off = 0; off < len; off += pg)
			p[off] = 1;
	}
	sleep_ms(200);
	printf("execing %d\n", (int)getpid());
	fflush(stdout);
	execvp(argv[2], &argv[2]);
	perror("execer: execvp");
	return 127;
}
