// SPDX-License-Identifier: GPL-2.0
/*
 * herd N KIB PERIOD_MS: start N child processes that each keep KIB KiB of anonymous memory
 * resident and, every PERIOD_MS (each at a phase of its own), give back or take again the
 * second half of it, so that their RSS keeps changing a little: processes for a tracer to
 * scan that are not idle, and cost next to nothing. Prints "ready <N>" once all are started,
 * then waits until stdin reaches end of file; the children then see end of file on their pipe
 * and exit, and are reaped. The children also go when herd itself goes, however it ends (their
 * pipe closes; and PR_SET_PDEATHSIG). Part of `make bench`.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void touch(char *p, size_t len, long page)
{
	for (size_t off = 0; off < len; off += page)
		p[off] = 1;
}

static _Noreturn void child(int fd, pid_t parent, size_t kib, unsigned period_ms)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t len = kib << 10, half = len / 2 / page * page;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	unsigned phase;
	char *mem, buf[64];
	int wait_ms;
	bool full = true;

	/* gone with herd, even when herd is killed before it closes the pipe */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(0);
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		_exit(1);
	touch(mem, len, page);
	srand(getpid());
	phase = period_ms ? (unsigned)rand() % period_ms : 0;
	wait_ms = period_ms ? (int)phase : -1;
	for (;;) {
		int n = poll(&pfd, 1, wait_ms);

		if (n < 0 && errno != EINTR)
			_exit(1);
		if (n > 0) {
			if (read(fd, buf, sizeof(buf)) <= 0)
				_exit(0);
			continue;
		}
		if (n == 0 && half) {
			if (full)
				madvise(mem + len - half, half, MADV_DONTNEED);
			else
				touch(mem + len - half, half, page);
			full = !full;
		}
		wait_ms = (int)period_ms;
	}
}

int main(int argc, char **argv)
{
	unsigned long n, kib, period_ms, started = 0;
	char buf[64];
	int fds[2];
	pid_t self = getpid();

	if (argc != 4 || (n = strtoul(argv[1], NULL, 10)) == 0 || n > 1000000 ||
	    (kib = strtoul(argv[2], NULL, 10)) == 0 || kib > (1UL << 20) ||
	    (period_ms = strtoul(argv[3], NULL, 10)) > 3600000) {
		fprintf(stderr, "usage: herd N KIB PERIOD_MS\n");
		return 2;
	}
	if (pipe(fds)) {
		perror("herd: pipe");
		return 1;
	}
	fflush(NULL);
	for (; started < n; started++) {
		pid_t pid = fork();

		if (pid == -1) {
			perror("herd: fork");
			break;
		}
		if (pid == 0) {
			close(fds[1]);
			close(0);
			child(fds[0], self, kib, (unsigned)period_ms);
		}
	}
	close(fds[0]);
	printf("ready %lu\n", started);
	fflush(stdout);
	for (;;) {
		ssize_t got = read(0, buf, sizeof(buf));

		if (got == 0 || (got < 0 && errno != EINTR))
			break;
	}
	close(fds[1]);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return started == n ? 0 : 1;
}
