/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Allocations of the accounts (--python's, --stacks'): a tracer cannot go on with half of them,
 * so running out of memory aborts, as strbuf does.
 */
#ifndef MT_XALLOC_H
#define MT_XALLOC_H

#include <stdlib.h>
#include <string.h>

static inline void *mt_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p)
		abort();
	return p;
}

static inline char *mt_xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		abort();
	return d;
}

#endif
