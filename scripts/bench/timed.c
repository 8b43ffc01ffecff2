// SPDX-License-Identifier: GPL-2.0
/*
 * timed COMMAND [ARG...]: wait for a line on stdin (so a tracer can attach to this process
 * first: it follows the children), then run COMMAND (stdin from /dev/null, its output to
 * stderr), wait for it, and print its elapsed time and the CPU time it used (user + system,
 * getrusage RUSAGE_CHILDREN), in seconds, as faultloop does. Exits 1 if COMMAND could not be
 * run or did not exit with 0. Part of `make bench` (a workload that does not time itself).
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	char line[64];
	struct rusage ru;
	double t0;
	pid_t pid;
	int status, fd;

	if (argc < 2) {
		fprintf(stderr, "usage: timed COMMAND [ARG...]\n");
		return 2;
	}
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	t0 = now();
	pid = fork();
	if (pid < 0) {
		perror("timed: fork");
		return 1;
	}
	if (pid == 0) {
		fd = open("/dev/null", O_RDONLY);
		if (fd < 0 || dup2(fd, 0) < 0 || dup2(2, 1) < 0) {
			perror("timed: redirecting");
			_exit(127);
		}
		execvp(argv[1], argv + 1);
		perror("timed: exec");
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid) {
		perror("timed: waitpid");
		return 1;
	}
	t0 = now() - t0;
	if (getrusage(RUSAGE_CHILDREN, &ru) != 0) {
		perror("timed: getrusage");
		return 1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "timed: %s: status %#x\n", argv[1], status);
		return 1;
	}
	printf("%.6f %.6f\n", t0,
	       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
		       ru.ru_stime.tv_usec / 1e6);
	return 0;
}
