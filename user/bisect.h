/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --find-min-limit's search: the least memory limit under which a command completes, by
 * bisection between a floor and a limit known to be enough, to a resolution. It only decides
 * the next limit from the verdicts it is told; running the trials is someone else's job.
 */
#ifndef MT_BISECT_H
#define MT_BISECT_H

#include <stdbool.h>
#include <stdint.h>

/* A limit that failed is raised by a quarter, so many times, before the search gives up. */
#define MT_BISECT_RAISES 4

struct mt_bisect {
	uint64_t floor;	     /* no limit below it is tried */
	uint64_t resolution; /* done when the bracket is this narrow */
	uint64_t min_ok;     /* the least limit that completed; 0: none yet */
	uint64_t max_failed; /* the largest that did not; 0: none */
	uint64_t next_up;    /* while none completed: the limit to try next */
	unsigned raises;
};

/* Start at first_try (the command's peak without a limit), never below floor. */
void bisect_start(struct mt_bisect *b, uint64_t first_try, uint64_t floor, uint64_t resolution);
/* The limit to try next, page-aligned; 0 when the search is over (see bisect_found). */
uint64_t bisect_next(const struct mt_bisect *b);
/* The verdict of a trial at limit: completed or not. */
void bisect_result(struct mt_bisect *b, uint64_t limit, bool completed);
/* Whether a limit under which the command completes was found. */
bool bisect_found(const struct mt_bisect *b);

#endif
