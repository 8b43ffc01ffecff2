// SPDX-License-Identifier: GPL-2.0
/*
 * swarm N: start N idle child processes (each blocks reading a pipe), print "ready <N>",
 * then wait until stdin reaches end of file; the children then see end of file on their
 * pipe and exit 0, and are reaped. For measuring a tracer's footprint at many processes.
 */
#include <signal.h>
#include <sys/wait.h>

#define WL_NAME "swarm"
#define WL_USAGE "usage: swarm N\n"
#include "workload.h"

int main(int argc, char **argv)
{
	unsigned long n, started = 0;
	char buf[64];
	int fds[2];

	wl_nargs(argc - 1, 1, 1);
	n = wl_num(argv[1], 1000000, "bad N");
	if (pipe(fds)) {
		perror("swarm: pipe");
		return 1;
	}
	fflush(NULL);
	for (; started < n; started++) {
		pid_t pid = fork();

		if (pid == -1) {
			perror("swarm: fork");
			break;
		}
		if (pid == 0) {
			close(fds[1]);
			while (read(fds[0], buf, sizeof(buf)) > 0)
				;
			_exit(0);
		}
	}
	close(fds[0]);
	printf("ready %lu\n", started);
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	close(fds[1]);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return started == n ? 0 : 1;
}
