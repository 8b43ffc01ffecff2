// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz.h: what every fuzz target shares: the libFuzzer entry point and ASSERT, which names the
 * target and the failed check and aborts (a crash libFuzzer keeps). A target that redirects
 * stderr defines FUZZ_REPORT_STREAM first.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef FUZZ_REPORT_STREAM
#define FUZZ_REPORT_STREAM stderr
#endif

#define ASSERT(cond)                                                                        \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(FUZZ_REPORT_STREAM, "%s: check failed: %s (line %d)\n",      \
				__FILE__, #cond, __LINE__);                                  \
			abort();                                                             \
		}                                                                            \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
