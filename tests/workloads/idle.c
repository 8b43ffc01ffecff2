// SPDX-License-Identifier: GPL-2.0
/*
 * idle MIB: map MIB MiB of anonymous memory without touching it, print
 * "ready <pid> <address-hex>", then wait until stdin reaches end of file.
 * Another process can fill the mapping through /proc/PID/mem: the kernel then changes this
 * process's RSS from the other process's context (rss_stat with curr=0).
 */
#define WL_NAME "idle"
#define WL_USAGE "usage: idle MIB\n"
#include "workload.h"

int main(int argc, char **argv)
{
	char buf[64];
	void *p;

	if (argc != 2) {
		fputs(WL_USAGE, stderr);
		return 2;
	}
	p = wl_map((size_t)atol(argv[1]) << 20);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	printf("ready %d %lx\n", getpid(), (unsigned long)p);
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}
