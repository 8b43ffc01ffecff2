// threads — start NTHREADS pthreads that each allocate and touch MIB_PER_THREAD MiB; the main
// thread joins them, holds MS (default 200) and exits 0 (nothing is freed).
#include <pthread.h>

#define WL_NAME "threads"
#define WL_USAGE "usage: threads NTHREADS MIB_PER_THREAD [--hold MS]\n"
#include "workload.h"

static unsigned long mib;

static void *worker(void *arg)
{
	(void)arg;
	wl_alloc_touch(mib);
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned long n, hold = 200;
	pthread_t *tids;
	int err;

	wl_hold_opts(argc, argv, &hold, 2);
	n = wl_num(argv[optind], 4096, "bad NTHREADS");
	mib = wl_mib(argv[optind + 1], "bad MIB_PER_THREAD");

	tids = calloc(n ? n : 1, sizeof(*tids));
	if (!tids) {
		perror("threads: calloc");
		return 1;
	}
	for (unsigned long i = 0; i < n; i++) {
		err = pthread_create(&tids[i], NULL, worker, NULL);
		if (err) {
			fprintf(stderr, "threads: pthread_create: %s\n", strerror(err));
			return 1;
		}
	}
	for (unsigned long i = 0; i < n; i++)
		pthread_join(tids[i], NULL);
	wl_sleep_ms(hold);
	return 0;
}
