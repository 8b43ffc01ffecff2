// anonwalk — touch MIB MiB of anon memory, then say how much anon memory a walk of its own page
// tables finds (/proc/self/smaps_rollup "Anonymous:", kB); with FREE, unmap FREE MiB of it and
// say it again. Writes "anon_peak_kib=A anon_end_kib=B" on stdout and exits 0.
//
// What it reports must be what its RSS counters hold at its exit, to the page: nothing after
// the last reading may fault a page in or out. So the whole path (the reading, the formatting,
// munmap, write, syscall) runs once on a page of its own first, which faults in every code,
// data and stack page it needs, and the exit is a bare exit_group.
#include <fcntl.h>
#include <sys/syscall.h>

#define WL_NAME "anonwalk"
#define WL_USAGE "usage: anonwalk MIB [FREE]\n"
#include "workload.h"

static char smaps[8192];
static char line[128];

/* "Anonymous:" of /proc/self/smaps_rollup in kB, or -1. */
static long anon_kib(void)
{
	ssize_t n, have = 0;
	const char *at;
	int fd = open("/proc/self/smaps_rollup", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((n = read(fd, smaps + have, sizeof(smaps) - 1 - (size_t)have)) > 0)
		have += n;
	close(fd);
	smaps[have] = '\0';
	at = strstr(smaps, "\nAnonymous:");
	return at ? strtol(at + strlen("\nAnonymous:"), NULL, 10) : -1;
}

/* Touch len bytes at p, read the walk, unmap free_len of them, read it again; 0 or -1. */
static int walk(volatile char *p, size_t len, size_t free_len, long *peak, long *end)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	for (size_t off = 0; off < len; off += pg)
		p[off] = 1;
	*peak = anon_kib();
	if (free_len && munmap((char *)p + len - free_len, free_len))
		return -1;
	*end = free_len ? anon_kib() : *peak;
	return *peak < 0 || *end < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), len, free_len = 0;
	long peak, end;
	volatile char *p;
	int n;

	wl_help(argc, argv);
	wl_nargs(argc - 1, 1, 2);
	len = (size_t)wl_mib(argv[1], "bad MIB") << 20;
	if (argc > 2)
		free_len = (size_t)wl_mib(argv[2], "bad FREE") << 20;
	if (!len || free_len > len)
		wl_bad("MIB must be more than 0 and at least FREE", NULL);

	/* the rehearsal: the same path on two pages of their own, written nowhere */
	p = wl_map(2 * pg);
	if (p == MAP_FAILED || walk(p, 2 * pg, pg, &peak, &end))
		wl_bad("cannot map or read /proc/self/smaps_rollup", NULL);
	n = snprintf(line, sizeof(line), "anon_peak_kib=%ld anon_end_kib=%ld\n", peak, end);
	if (write(STDOUT_FILENO, line, 0) < 0 || syscall(SYS_getpid) < 0)
		return 1;

	p = wl_map(len);
	if (p == MAP_FAILED || walk(p, len, free_len, &peak, &end))
		return 1;
	n = snprintf(line, sizeof(line), "anon_peak_kib=%ld anon_end_kib=%ld\n", peak, end);
	if (write(STDOUT_FILENO, line, (size_t)n) != n)
		return 1;
	syscall(SYS_exit_group, 0);
	return 0;
}
