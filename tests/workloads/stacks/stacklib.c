// stacklib.c — libstackgrow.so, the shared library of the stack workload (stackgrow.c): its
// exported lib_grow grows memory inside the C library's memset.
#include "stacklib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* what the library grew: written after memset returns, so that call is not the last thing
 * lib_grow does */
static volatile size_t lib_grown;

SG_NOINLINE void *lib_grow(size_t bytes)
{
	void *p;

	if (!bytes)
		return NULL;
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("stackgrow: lib_grow: mmap");
		exit(1);
	}
	madvise(p, bytes, MADV_NOHUGEPAGE);
	/* not 0: malloc + memset 0 may become calloc, and a zero fill may be skipped one day */
	memset(p, 0x5a, bytes);
	lib_grown += bytes;
	return p;
}
