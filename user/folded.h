/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The folded stack format that flamegraph.pl, inferno and speedscope read: one line per stack,
 * its frames root first joined by ';', a space, and its count (here bytes). Stacks are
 * gathered, then written sorted by their text, equal texts merged into one line.
 */
#ifndef MT_FOLDED_H
#define MT_FOLDED_H

#include <stdint.h>
#include <stdio.h>
#include "strbuf.h"

struct mt_folded_line;

struct mt_folded {
	struct mt_folded_line *v;
	size_t n, cap;
};

/* One more frame, outer frames first: ';' and line ends in it (they end a frame or a line
 * in the format) become ':'. */
void folded_frame(struct strbuf *stack, const char *frame);
/* The stack built in stack (its text is taken: stack is left empty), and its bytes. */
void folded_add(struct mt_folded *f, struct strbuf *stack, uint64_t bytes);
/* Every stack, sorted and merged, then let go. Returns 0 or -EIO. */
int folded_write(struct mt_folded *f, FILE *out);

#endif
