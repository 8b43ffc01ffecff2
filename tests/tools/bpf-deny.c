// SPDX-License-Identifier: GPL-2.0
/*
 * bpf-deny: run a command while a BPF LSM policy (bpf_deny.bpf.c) makes the kernel refuse
 * memtrace-bpf's BPF programs of the given names, at load or at attach, with the given errno.
 * For the integration tests: a real refusal by the kernel, the kind a site's security policy
 * makes.
 *
 *   bpf-deny [--attach] [--errno N] NAME[,NAME...] -- COMMAND [ARG...]
 *
 * Exits with the command's status (128+N for a signal); 77 when this kernel cannot take the
 * policy (no active BPF LSM: lsm= without "bpf", or LSM programs refused): the tests skip then;
 * 1 on its own errors.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "bpf_deny.skel.h"

#define EXIT_NO_LSM 77

static int lsm_has_bpf(void)
{
	char buf[512] = "";
	FILE *f = fopen("/sys/kernel/security/lsm", "re");

	if (!f) {
		/* securityfs may be unmounted; mount it where it belongs */
		mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL);
		f = fopen("/sys/kernel/security/lsm", "re");
	}
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	for (char *tok = strtok(buf, ",\n"); tok; tok = strtok(NULL, ",\n"))
		if (!strcmp(tok, "bpf"))
			return 1;
	return 0;
}

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	struct bpf_deny_bpf *skel;
	bool attach = false;
	int errno_out = EPERM, i = 1, status;
	char *names;
	pid_t pid;

	for (; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--attach"))
			attach = true;
		else if (!strcmp(argv[i], "--errno") && i + 1 < argc)
			errno_out = atoi(argv[++i]);
		else
			break;
	}
	if (i + 2 >= argc || strcmp(argv[i + 1], "--")) {
		fprintf(stderr, "usage: bpf-deny [--attach] [--errno N] NAME[,NAME...] -- COMMAND "
				"[ARG...]\n");
		return 1;
	}
	if (!lsm_has_bpf()) {
		fprintf(stderr, "bpf-deny: the kernel has no active BPF LSM (\"bpf\" is not in "
				"/sys/kernel/security/lsm)\n");
		return EXIT_NO_LSM;
	}
	libbpf_set_print(quiet_print);
	skel = bpf_deny_bpf__open();
	if (!skel) {
		perror("bpf-deny: open");
		return 1;
	}
	names = argv[i];
	for (char *tok = strtok(names, ","); tok; tok = strtok(NULL, ",")) {
		if (skel->rodata->nr_names >= sizeof(skel->rodata->names) / sizeof(skel->rodata->names[0]))
			break;
		/* the kernel keeps 15 bytes of a name */
		strncpy((char *)skel->rodata->names[skel->rodata->nr_names++], tok, 15);
	}
	skel->rodata->deny_errno = errno_out;
	skel->rodata->at_load = !attach;
	skel->rodata->at_attach = attach;
	if (bpf_deny_bpf__load(skel) || bpf_deny_bpf__attach(skel)) {
		fprintf(stderr, "bpf-deny: this kernel does not take the BPF LSM policy: %s\n",
			strerror(errno));
		bpf_deny_bpf__destroy(skel);
		return EXIT_NO_LSM;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		execvp(argv[i + 2], argv + i + 2);
		fprintf(stderr, "bpf-deny: cannot run %s: %s\n", argv[i + 2], strerror(errno));
		_exit(127);
	}
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	fprintf(stderr, "bpf-deny: %llu refusal%s made\n", (unsigned long long)skel->bss->denied,
		skel->bss->denied == 1 ? "" : "s");
	bpf_deny_bpf__destroy(skel);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}
