// SPDX-License-Identifier: GPL-2.0
/*
 * idle MIB: map MIB MiB of anonymous memory without touching it, print
 * "ready <pid> <address-hex>", then wait until stdin reaches end of file.
 * Another process can fill the mapping through /proc/PID/mem: the kernel then changes this
 * process's RSS from the other process's context (rss_stat with curr=0).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char buf[64];
	void *p;

	if (argc != 2) {
		fprintf(stderr, "usage: idle MIB\n");
		return 2;
	}
	p = mmap(NULL, (size_t)atol(argv[1]) << 20, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	madvise(p, (size_t)atol(argv[1]) << 20, MADV_NOHUGEPAGE);
	printf("ready %d %lx\n", getpid(), (unsigned long)p);
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}
