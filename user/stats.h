/* SPDX-License-Identifier: GPL-2.0 */
/* Descriptive statistics of repeated measurements: what a table of runs is summed up by. */
#ifndef MT_STATS_H
#define MT_STATS_H

#include <stddef.h>

struct mt_stat {
	size_t n;
	double median; /* the middle value; the mean of the two middle ones when n is even */
	double min;
	double max;
	double mean;
	/* sample standard deviation (n - 1 in the denominator, as numpy's ddof=1 and R's sd);
	 * 0 for a single value, where there is no spread to estimate */
	double stdev;
};

/* The statistics of values[0..n) (reordered: sorted). n 0 gives all zeros. */
void mt_stat_of(double *values, size_t n, struct mt_stat *out);

#endif
