// stacklib.h — the one function of libstackgrow.so, and what stackgrow.c shares with it.
#ifndef STACKLIB_H
#define STACKLIB_H

#include <stddef.h>

/* Never inlined, and with gcc no IPA either: no clone (g.constprop.0 would be another name in
 * .symtab) and no identical-code folding of two look-alike growers into one. */
#ifdef __has_attribute
#if __has_attribute(noipa)
#define SG_NOINLINE __attribute__((noinline, noipa))
#endif
#endif
#ifndef SG_NOINLINE
#define SG_NOINLINE __attribute__((noinline))
#endif

/* Map BYTES of private anonymous memory (no transparent huge pages) and fill it with memset:
 * its pages are grown in the C library's memset, called from here. The block is never freed;
 * NULL for 0 bytes; a failed mapping exits 1. */
void *lib_grow(size_t bytes);

#endif /* STACKLIB_H */
