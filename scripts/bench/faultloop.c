// SPDX-License-Identifier: GPL-2.0
/*
 * faultloop MIB ROUNDS: ROUNDS times, map MIB MiB of anonymous memory (no huge pages), write
 * one byte per 4 KiB page, unmap. Waits for a line on stdin first (so a tracer can attach
 * before the work starts), then prints the loop's own elapsed time and the CPU time it used
 * (user + system: the faults, and the tracers' programs that run in them), in seconds. Part
 * of `make bench`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

static double now(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	char line[64];
	unsigned long mib, rounds;
	double t0, c0;

	if (argc != 3 || (mib = strtoul(argv[1], NULL, 10)) == 0 ||
	    (rounds = strtoul(argv[2], NULL, 10)) == 0) {
		fprintf(stderr, "usage: faultloop MIB ROUNDS\n");
		return 2;
	}
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	t0 = now(CLOCK_MONOTONIC);
	c0 = now(CLOCK_PROCESS_CPUTIME_ID);
	for (unsigned long r = 0; r < rounds; r++) {
		size_t len = mib << 20;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			perror("faultloop: mmap");
			return 1;
		}
		madvise(p, len, MADV_NOHUGEPAGE);
		for (size_t off = 0; off < len; off += 4096)
			p[off] = 1;
		munmap(p, len);
	}
	printf("%.6f %.6f\n", now(CLOCK_MONOTONIC) - t0, now(CLOCK_PROCESS_CPUTIME_ID) - c0);
	return 0;
}
