// forker — fork child A (touches MIB_A MiB, holds, exits 3) and child B (MIB_B MiB, holds,
// exits 4), both started before either is waited for; then print "children <pidA> <pidB>".
#include <sys/wait.h>

#define WL_NAME "forker"
#define WL_USAGE "usage: forker MIB_A MIB_B [--hold MS]\n"
#include "workload.h"

/* Fork a child that touches mib MiB, holds, and _exit()s with code; returns its pid. */
static pid_t child(unsigned long mib, unsigned long hold, int code)
{
	pid_t pid = fork();

	if (pid == -1) {
		perror("forker: fork");
		return -1;
	}
	if (pid > 0)
		return pid;
	wl_alloc_touch(mib); /* exits 1 if the mmap fails: nothing is buffered to flush twice */
	wl_sleep_ms(hold);
	_exit(code);
}

static int reap(pid_t pid, int want)
{
	int st;

	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR) {
			perror("forker: waitpid");
			return 1;
		}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != want)
		fprintf(stderr, "forker: child %d: unexpected status 0x%x\n", (int)pid, st);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long mib_a, mib_b, hold = 300;
	pid_t a, b;
	int rc = 0;

	wl_hold_opts(argc, argv, &hold, 2);
	mib_a = wl_mib(argv[optind], "bad MIB_A");
	mib_b = wl_mib(argv[optind + 1], "bad MIB_B");

	fflush(NULL); /* nothing buffered may be written twice by the children */
	a = child(mib_a, hold, 3);
	b = a > 0 ? child(mib_b, hold, 4) : -1;
	if (a > 0)
		rc |= reap(a, 3);
	if (b > 0)
		rc |= reap(b, 4);
	if (a <= 0 || b <= 0)
		return 1;
	printf("children %d %d\n", (int)a, (int)b);
	return rc;
}
