/* SPDX-License-Identifier: GPL-2.0 */
/* The hashes of the tracer's own tables (not for anything an attacker chooses the keys of). */
#ifndef MT_HASH_H
#define MT_HASH_H

#include <stdint.h>

/* h with the word v folded in: boost's hash_combine, then a step of murmur3's finalizer. */
static inline uint64_t mt_hash_mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 33);
}

/* FNV-1a of a string. */
static inline uint64_t mt_hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

#endif
