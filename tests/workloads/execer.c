// execer — allocate and touch MIB MiB, sleep 200 ms, print "execing <pid>", then execvp PROGRAM
// with ARGs (PROGRAM is its argv[0]); the exec releases the memory. Exec failure exits 127.
#define WL_NAME "execer"
#define WL_USAGE "usage: execer MIB PROGRAM [ARG...]\n"
#include "workload.h"

int main(int argc, char **argv)
{
	unsigned long mib;

	wl_help(argc, argv);
	wl_nargs(argc - 1, 2, INT_MAX);
	mib = wl_mib(argv[1], "bad MIB");
	wl_alloc_touch(mib);
	wl_sleep_ms(200);
	printf("execing %d\n", (int)getpid());
	fflush(stdout);
	execvp(argv[2], &argv[2]);
	perror("execer: execvp");
	return 127;
}
