// SPDX-License-Identifier: GPL-2.0
/*
 * floor: load and attach the empty programs of floor.bpf.c, print "attached" on stdout, and
 * hold them until SIGINT, SIGTERM or end of file on stdin. With --stats, the kernel times
 * every run (bpf_stats) and the cost per program is printed on stderr at the end, in the
 * words memtrace-bpf -v uses. Part of `make bench`.
 */
#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "floor.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void print_cost(struct floor_bpf *skel)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) || !info.run_cnt)
			continue;
		fprintf(stderr, "floor: BPF cost: %s: %llu runs, %.0f ns per run\n",
			bpf_program__name(prog), (unsigned long long)info.run_cnt,
			(double)info.run_time_ns / info.run_cnt);
	}
}

int main(int argc, char **argv)
{
	bool stats = argc > 1 && !strcmp(argv[1], "--stats");
	int stats_fd = -1;
	struct sigaction sa = { .sa_handler = on_signal };
	struct floor_bpf *skel;
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	int err;

	libbpf_set_print(quiet);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	skel = floor_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "floor: cannot load the empty programs: %s\n", strerror(errno));
		return 1;
	}
	if (stats && (stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME)) < 0)
		fprintf(stderr, "floor: no BPF run-time statistics: %s\n", strerror(errno));
	err = floor_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "floor: cannot attach: %s\n", strerror(-err));
		floor_bpf__destroy(skel);
		return 1;
	}
	printf("attached\n");
	fflush(stdout);
	while (!stop) {
		char buf[256];

		if (poll(&pfd, 1, 200) > 0 && read(STDIN_FILENO, buf, sizeof(buf)) <= 0)
			break;
	}
	if (stats_fd >= 0)
		print_cost(skel);
	floor_bpf__destroy(skel);
	return 0;
}
