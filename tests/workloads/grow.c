// grow — print "ready <pid>", wait 300 ms for a tracer to attach, then STEPS times allocate and
// touch STEP_MIB MiB and sleep EVERY_MS; finally hold MS and exit 0 (nothing is freed).
#define WL_NAME "grow"
#define WL_USAGE "usage: grow STEP_MIB EVERY_MS STEPS [--hold MS]\n"
#include "workload.h"

int main(int argc, char **argv)
{
	unsigned long step, every, steps, hold = 0;

	wl_hold_opts(argc, argv, &hold, 3);
	step = wl_mib(argv[optind], "bad STEP_MIB");
	every = wl_ms(argv[optind + 1], "bad EVERY_MS");
	steps = wl_num(argv[optind + 2], LONG_MAX, "bad STEPS");

	wl_ready();
	wl_sleep_ms(300);
	for (unsigned long i = 0; i < steps; i++) {
		wl_alloc_touch(step);
		wl_sleep_ms(every);
	}
	wl_sleep_ms(hold);
	return 0;
}
