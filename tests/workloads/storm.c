// SPDX-License-Identifier: GPL-2.0
/*
 * storm N [PARALLEL]: a fork storm. Start N short-lived child processes, at most PARALLEL
 * (default 8) alive at once; child i exits at once with code i % 100. Waits for each; then
 * prints "storm <N> <failures> <elapsed-ms>". Exits 1 if a fork failed or a child's status
 * was not what it should be.
 */
#include <sys/wait.h>

#define WL_NAME "storm"
#define WL_USAGE "usage: storm N [PARALLEL]\n"
#include "workload.h"

int main(int argc, char **argv)
{
	unsigned long n, parallel = 8, started = 0, done = 0, failures = 0;
	struct timespec t0, t1;

	wl_nargs(argc - 1, 1, 2);
	n = wl_num(argv[1], 10000000, "bad N");
	if (argc > 2)
		parallel = wl_num(argv[2], 1024, "bad PARALLEL");
	if (!parallel)
		wl_bad("PARALLEL must be at least 1", argv[2]);
	/* the child's code is its index: remember each live child's */
	pid_t *pids = calloc(parallel, sizeof(*pids));
	unsigned long *index = calloc(parallel, sizeof(*index));

	if (!pids || !index)
		return 1;
	fflush(NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (done < n) {
		for (unsigned long slot = 0; slot < parallel && started < n; slot++) {
			if (pids[slot])
				continue;
			pid_t pid = fork();

			if (pid == -1) {
				perror("storm: fork");
				failures++;
				n = started; /* stop starting; reap what runs */
				break;
			}
			if (pid == 0)
				_exit((int)(started % 100));
			pids[slot] = pid;
			index[slot] = started++;
		}
		int st;
		pid_t got = wait(&st);

		if (got == -1) {
			if (errno == EINTR)
				continue;
			if (errno == ECHILD)
				break;
			perror("storm: wait");
			return 1;
		}
		for (unsigned long slot = 0; slot < parallel; slot++) {
			if (pids[slot] != got)
				continue;
			if (!WIFEXITED(st) || WEXITSTATUS(st) != (int)(index[slot] % 100))
				failures++;
			pids[slot] = 0;
			done++;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("storm %lu %lu %ld\n", started, failures,
	       (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
	return failures ? 1 : 0;
}
