// stackgrow — known call stacks growing known amounts of memory, for --stacks. main calls
//   grow_exe  (static, here)          EXE MiB, one byte written per page in its own loop
//   lib_grow  (libstackgrow.so)       LIB MiB, filled by the C library's memset
//   f -> g    (static, here)          G MiB, one byte per page in g's own loop
// (defaults 64, 128, 256). Nothing is freed: RSS only grows. Then it returns 0, or with
// --exit-now calls _exit(0) right after the growth. Built with -fno-optimize-sibling-calls
// (f calls g, it does not jump to it) and, for the frame-pointer walk, once more with
// -fno-omit-frame-pointer; the executable finds its library through its RUNPATH, $ORIGIN.
#define WL_NAME "stackgrow"
#define WL_USAGE "usage: stackgrow [--mib EXE,LIB,G] [--exit-now]\n"
#include "workload.h"

#include "stacklib.h"

/* the blocks, held to the end */
static void *volatile held[3];
static volatile unsigned long calls;

/* BYTES of private anonymous memory, no huge pages, not touched yet; exits 1 if mmap fails */
static void *map_block(size_t bytes)
{
	void *p = wl_map(bytes);

	if (p == MAP_FAILED) {
		perror(WL_NAME ": mmap");
		exit(1);
	}
	return p;
}

static SG_NOINLINE void *grow_exe(size_t bytes)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	volatile char *p;

	if (!bytes)
		return NULL;
	p = map_block(bytes);
	for (size_t off = 0; off < bytes; off += pg)
		p[off] = 1;
	return (void *)p;
}

static SG_NOINLINE void *g(size_t bytes)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	volatile char *p;

	if (!bytes)
		return NULL;
	p = map_block(bytes);
	for (size_t off = 0; off < bytes; off += pg)
		p[off] = 3;
	return (void *)p;
}

static SG_NOINLINE void *f(size_t bytes)
{
	void *p = g(bytes);

	calls++; /* after the call: f stays on the stack under g */
	return p;
}

/* --mib EXE,LIB,G: three sizes in MiB */
static void parse_mib(const char *arg, unsigned long mib[3])
{
	char *copy = strdup(arg), *s = copy, *comma;

	if (!copy) {
		perror(WL_NAME ": strdup");
		exit(1);
	}
	for (int i = 0; i < 3; i++) {
		comma = strchr(s, ',');
		if ((i < 2) != (comma != NULL))
			wl_bad("bad --mib (expected EXE,LIB,G in MiB)", arg);
		if (comma)
			*comma = '\0';
		mib[i] = wl_mib(s, "bad --mib (expected EXE,LIB,G in MiB)");
		if (comma)
			s = comma + 1;
	}
	free(copy);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"mib", required_argument, NULL, 'm'},
	    {"exit-now", no_argument, NULL, 'x'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	unsigned long mib[3] = {64, 128, 256};
	int c, exit_now = 0;

	while ((c = wl_getopt(argc, argv, opts)) != -1) {
		if (c == 'm')
			parse_mib(optarg, mib);
		else if (c == 'x')
			exit_now = 1;
		else
			wl_opt_other(c, argv);
	}
	wl_nargs(argc - optind, 0, 0);

	held[0] = grow_exe((size_t)mib[0] << 20);
	held[1] = lib_grow((size_t)mib[1] << 20);
	held[2] = f((size_t)mib[2] << 20);
	if (exit_now)
		_exit(0);
	return 0;
}
