// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "folded.h"

struct mt_folded_line {
	char *text;
	uint64_t bytes;
};

void folded_frame(struct strbuf *stack, const char *frame)
{
	size_t from;

	if (stack->len)
		sb_add(stack, ";", 1);
	from = stack->len;
	sb_adds(stack, frame);
	for (size_t i = from; i < stack->len; i++)
		if (stack->data[i] == ';' || stack->data[i] == '\n')
			stack->data[i] = ':';
}

void folded_add(struct mt_folded *f, struct strbuf *stack, uint64_t bytes)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 256;
		f->v = realloc(f->v, f->cap * sizeof(*f->v));
		if (!f->v)
			abort(); /* as strbuf: a report cannot be written half */
	}
	sb_add(stack, "", 1); /* its terminating NUL, whatever it held */
	f->v[f->n++] = (struct mt_folded_line){ stack->data, bytes };
	sb_init(stack);
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct mt_folded_line *)a)->text,
		      ((const struct mt_folded_line *)b)->text);
}

int folded_write(struct mt_folded *f, FILE *out)
{
	if (f->n)
		qsort(f->v, f->n, sizeof(*f->v), cmp_line);
	for (size_t i = 0; i < f->n;) {
		uint64_t bytes = 0;
		size_t j = i;

		while (j < f->n && !strcmp(f->v[j].text, f->v[i].text))
			bytes += f->v[j++].bytes;
		fprintf(out, "%s %llu\n", f->v[i].text, (unsigned long long)bytes);
		i = j;
	}
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].text);
	free(f->v);
	*f = (struct mt_folded){ 0 };
	return ferror(out) ? -EIO : 0;
}
