// spike — after 50 ms allocate MIB MiB, touch every page, hold, munmap, then live on for AFTER_MS.
// Prints "spike <bytes touched> <VmHWM kiB>" after the munmap so tests can compare peaks.
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static const char usage[] = "usage: spike MIB HOLD_MS [AFTER_MS]\n";

static void bad(const char *msg, const char *arg)
{
	fprintf(stderr, "spike: %s%s%s\n%s", msg, arg ? ": " : "", arg ? arg : "", usage);
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

static long vmhwm_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f) {
		perror("spike: /proc/self/status");
		return -1;
	}
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(f);
	if (kib < 0)
		fprintf(stderr, "spike: no VmHWM in /proc/self/status\n");
	return kib;
}

int main(int argc, char **argv)
{
	unsigned long mib, hold, after = 1500;
	size_t len, pg = (size_t)sysconf(_SC_PAGESIZE);
	volatile char *p = NULL;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc < 3 || argc > 4)
		bad(argc < 3 ? "missing arguments" : "too many arguments", NULL);
	mib = num(argv[1], SIZE_MAX >> 20, "bad MIB");
	hold = num(argv[2], LONG_MAX, "bad HOLD_MS");
	if (argc == 4)
		after = num(argv[3], LONG_MAX, "bad AFTER_MS");
	len = (size_t)mib << 20;

	sleep_ms(50);
	if (len) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			perror("spike: mmap");
			return 1;
		}
		/* one fault per page, even with THP=always */
		madvise((void *)p, len, MADV_NOHUGEPAGE);
		for (size_t off = 0; off < len; off += pg)
			p[off] = 1;
	}
	sleep_ms(hold);
	if (len && munmap((void *)p, len) == -1) {
		perror("spike: munmap");
		return 1;
	}
	printf("spike %zu %ld\n", len, vmhwm_kib());
	fflush(stdout);
	sleep_ms(after);
	return 0;
}
