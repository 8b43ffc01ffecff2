// spike — after 50 ms (--delay MS) allocate MIB MiB, make every page resident, hold, munmap, then
// live on for AFTER_MS. After the munmap it prints one line for tests and the bench to read:
//   spike <bytes> <VmHWM kiB> rise_us=N hold_us=N fall_us=N huge_kib=N fill=F threads=N
// rise: from the first page filled to every page resident; hold: from then to the munmap; fall:
// the munmap; huge_kib: how much of it the kernel gave as transparent huge pages; fill: touch
// or populate, how the pages were made resident.
//
// By default one thread writes one byte a 4 KiB page with THP off: a fault a page, so on a
// machine where a fault costs 12 µs a 1 GiB rise takes seconds. --huge (MADV_HUGEPAGE, one
// fault a 2 MiB page where the kernel has THP), --populate (MADV_POPULATE_WRITE, 5.14+: the
// kernel fills the range in one call, no user fault a page) and --threads N (the region split
// in N slices filled at once) make the rise short whatever a fault costs. --delay sets when the
// spike comes: a sampler started with the process would otherwise find it at the same phase of
// its period every run.
#include <pthread.h>
#include <stdbool.h>

#define WL_NAME "spike"
#define WL_USAGE                                                                                   \
	"usage: spike [--huge] [--populate] [--threads N] [--delay MS] MIB HOLD_MS [AFTER_MS]\n"
#include "workload.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define HUGE_ALIGN (2UL << 20)

struct slice {
	char *start;
	size_t len;
	bool populate;
	bool populated; /* out: MADV_POPULATE_WRITE did it (else every page was touched) */
};

static long status_kib(const char *path, const char *key)
{
	char line[256];
	long kib = -1;
	size_t klen = strlen(key);
	FILE *f = fopen(path, "r");

	if (!f) {
		fprintf(stderr, "spike: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && sscanf(line + klen, " %ld kB", &kib) == 1)
			break;
	fclose(f);
	if (kib < 0)
		fprintf(stderr, "spike: no %s in %s\n", key, path);
	return kib;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void sleep_until_us(uint64_t t)
{
	struct timespec ts = {(time_t)(t / 1000000), (long)(t % 1000000) * 1000};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void *fill(void *arg)
{
	struct slice *s = arg;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	s->populated = s->populate && madvise(s->start, s->len, MADV_POPULATE_WRITE) == 0;
	if (!s->populated)
		for (size_t off = 0; off < s->len; off += pg)
			((volatile char *)s->start)[off] = 1;
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"huge", no_argument, NULL, 'u'},	       {"populate", no_argument, NULL, 'P'},
	    {"threads", required_argument, NULL, 'T'}, {"delay", required_argument, NULL, 'D'},
	    {"help", no_argument, NULL, 'h'},	       {NULL, 0, NULL, 0},
	};
	unsigned long mib, hold, after = 1500, nthreads = 1, delay = 50;
	bool huge = false, populate = false, populated = true;
	struct slice slices[64];
	pthread_t tids[64];
	uint64_t t_rise, t_full, t_fall, t_gone;
	long huge_kib = 0;
	size_t len, chunk;
	char *p = NULL;
	int c;

	while ((c = wl_getopt(argc, argv, opts)) != -1) {
		if (c == 'u')
			huge = true;
		else if (c == 'P')
			populate = true;
		else if (c == 'D')
			delay = wl_ms(optarg, "bad --delay");
		else if (c == 'T')
			nthreads = wl_num(optarg, 64, "bad --threads (1 to 64)");
		else
			wl_opt_other(c, argv);
	}
	if (!nthreads)
		wl_bad("bad --threads (1 to 64)", "0");
	wl_nargs(argc - optind, 2, 3);
	mib = wl_mib(argv[optind], "bad MIB");
	hold = wl_ms(argv[optind + 1], "bad HOLD_MS");
	if (argc - optind == 3)
		after = wl_ms(argv[optind + 2], "bad AFTER_MS");
	len = (size_t)mib << 20;

	wl_sleep_ms(delay);
	if (len) {
		/* 2 MiB-aligned, so that every 2 MiB of it can be one huge page */
		char *raw = mmap(NULL, len + HUGE_ALIGN, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		size_t head;

		if (raw == MAP_FAILED) {
			perror("spike: mmap");
			return 1;
		}
		p = (char *)(((uintptr_t)raw + HUGE_ALIGN - 1) & ~(HUGE_ALIGN - 1));
		head = (size_t)(p - raw);
		if (head)
			munmap(raw, head);
		munmap(p + len, HUGE_ALIGN - head);
		/* THP off unless asked for, so that the default faults once a 4 KiB page even
		 * with THP=always; a kernel without THP refuses MADV_HUGEPAGE: huge_kib says 0 */
		madvise(p, len, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	}
	/* slices of whole 2 MiB pages */
	chunk = (len / nthreads + HUGE_ALIGN - 1) & ~(HUGE_ALIGN - 1);
	t_rise = now_us();
	for (unsigned long i = 0; i < nthreads; i++) {
		size_t off = i * chunk < len ? i * chunk : len;

		slices[i] =
		    (struct slice){p + off, len - off < chunk ? len - off : chunk, populate, false};
		if (nthreads == 1) {
			fill(&slices[i]);
		} else if ((c = pthread_create(&tids[i], NULL, fill, &slices[i]))) {
			fprintf(stderr, "spike: pthread_create: %s\n", strerror(c));
			return 1;
		}
	}
	for (unsigned long i = 0; i < nthreads; i++) {
		if (nthreads > 1)
			pthread_join(tids[i], NULL);
		if (slices[i].len)
			populated &= slices[i].populated;
	}
	t_full = now_us();
	if (huge && len)
		huge_kib = status_kib("/proc/self/smaps_rollup", "AnonHugePages:");
	/* the hold counts from t_full: reading smaps_rollup is part of it */
	sleep_until_us(t_full + (uint64_t)hold * 1000);
	t_fall = now_us();
	if (len && munmap(p, len) == -1) {
		perror("spike: munmap");
		return 1;
	}
	t_gone = now_us();
	printf("spike %zu %ld rise_us=%llu hold_us=%llu fall_us=%llu huge_kib=%ld fill=%s "
	       "threads=%lu\n",
	       len, status_kib("/proc/self/status", "VmHWM:"),
	       (unsigned long long)(t_full - t_rise), (unsigned long long)(t_fall - t_full),
	       (unsigned long long)(t_gone - t_fall), huge_kib,
	       populate && populated && len ? "populate" : "touch", nthreads);
	fflush(stdout);
	wl_sleep_ms(after);
	return 0;
}
