// SPDX-License-Identifier: GPL-2.0
#include "bisect.h"

#define PAGE 4096ULL

static uint64_t page_up(uint64_t v)
{
	return (v + PAGE - 1) / PAGE * PAGE;
}

void bisect_start(struct mt_bisect *b, uint64_t first_try, uint64_t floor, uint64_t resolution)
{
	*b = (struct mt_bisect){
		.floor = page_up(floor),
		.resolution = resolution < PAGE ? PAGE : resolution,
	};
	b->next_up = page_up(first_try > b->floor ? first_try : b->floor);
}

uint64_t bisect_next(const struct mt_bisect *b)
{
	uint64_t low, mid;

	if (!b->min_ok)
		return b->raises > MT_BISECT_RAISES ? 0 : b->next_up;
	/* below the least failure nothing is tried; without one, the floor is the bracket's end */
	low = b->max_failed > b->floor ? b->max_failed : b->floor;
	if (b->min_ok <= low || b->min_ok - low <= b->resolution)
		return 0;
	mid = (low + (b->min_ok - low) / 2) / PAGE * PAGE;
	if (mid <= low)
		mid = low + PAGE;
	return mid < b->min_ok ? mid : 0;
}

void bisect_result(struct mt_bisect *b, uint64_t limit, bool completed)
{
	if (completed) {
		if (!b->min_ok || limit < b->min_ok)
			b->min_ok = limit;
		return;
	}
	if (limit > b->max_failed)
		b->max_failed = limit;
	if (!b->min_ok) {
		b->raises++;
		b->next_up = page_up(limit + limit / 4);
	}
}

bool bisect_found(const struct mt_bisect *b)
{
	return b->min_ok != 0;
}
