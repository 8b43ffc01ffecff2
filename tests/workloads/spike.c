// spike — after 50 ms allocate MIB MiB, touch every page, hold, munmap, then live on for AFTER_MS.
// Prints "spike <bytes touched> <VmHWM kiB>" after the munmap so tests can compare peaks.
#define WL_NAME "spike"
#define WL_USAGE "usage: spike MIB HOLD_MS [AFTER_MS]\n"
#include "workload.h"

static long vmhwm_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f) {
		perror("spike: /proc/self/status");
		return -1;
	}
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(f);
	if (kib < 0)
		fprintf(stderr, "spike: no VmHWM in /proc/self/status\n");
	return kib;
}

int main(int argc, char **argv)
{
	unsigned long mib, hold, after = 1500;
	size_t len;
	void *p;

	wl_help(argc, argv);
	wl_nargs(argc - 1, 2, 3);
	mib = wl_mib(argv[1], "bad MIB");
	hold = wl_ms(argv[2], "bad HOLD_MS");
	if (argc == 4)
		after = wl_ms(argv[3], "bad AFTER_MS");
	len = (size_t)mib << 20;

	wl_sleep_ms(50);
	p = wl_alloc_touch(mib);
	wl_sleep_ms(hold);
	if (len && munmap(p, len) == -1) {
		perror("spike: munmap");
		return 1;
	}
	printf("spike %zu %ld\n", len, vmhwm_kib());
	fflush(stdout);
	wl_sleep_ms(after);
	return 0;
}
