// SPDX-License-Identifier: GPL-2.0
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "stats.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void mt_stat_of(double *values, size_t n, struct mt_stat *out)
{
	double sum = 0, squares = 0;

	memset(out, 0, sizeof(*out));
	out->n = n;
	if (!n)
		return;
	qsort(values, n, sizeof(*values), cmp_double);
	out->min = values[0];
	out->max = values[n - 1];
	out->median = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
	for (size_t i = 0; i < n; i++)
		sum += values[i];
	out->mean = sum / (double)n;
	/* two passes: the one-pass formula loses digits on byte counts near 2^40 */
	for (size_t i = 0; i < n; i++)
		squares += (values[i] - out->mean) * (values[i] - out->mean);
	out->stdev = n > 1 ? sqrt(squares / (double)(n - 1)) : 0;
}
