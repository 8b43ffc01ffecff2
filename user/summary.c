// SPDX-License-Identifier: GPL-2.0
#include "summary.h"

void rss_hist_add(struct mt_rss_hist *h, uint64_t since_ns, uint64_t rss)
{
	uint32_t ms = (uint32_t)(since_ns / 1000000), kib = (uint32_t)(rss >> 10);
	uint32_t last = (h->next + MT_HIST_LEN - 1) % MT_HIST_LEN;
	uint32_t before = (h->next + MT_HIST_LEN - 2) % MT_HIST_LEN;

	/* the newest point is always the latest row; the ones before it stay a slot apart */
	if (h->n >= 2 && ms - h->pt[before].ms < MT_HIST_SLOT_MS) {
		h->pt[last].ms = ms;
		h->pt[last].kib = kib;
		return;
	}
	h->pt[h->next].ms = ms;
	h->pt[h->next].kib = kib;
	h->next = (h->next + 1) % MT_HIST_LEN;
	if (h->n < MT_HIST_LEN)
		h->n++;
}

void rss_hist_point(const struct mt_rss_hist *h, uint32_t i, uint32_t *ms, uint64_t *bytes)
{
	uint32_t idx = (h->next + MT_HIST_LEN - h->n + i) % MT_HIST_LEN;

	*ms = h->pt[idx].ms;
	*bytes = (uint64_t)h->pt[idx].kib << 10;
}

bool rss_hist_at(const struct mt_rss_hist *h, uint32_t ms, uint64_t *bytes)
{
	bool found = false;

	/* oldest first: the last point at or before ms wins */
	for (uint32_t i = 0; i < h->n; i++) {
		uint32_t at;
		uint64_t v;

		rss_hist_point(h, i, &at, &v);
		if (at > ms)
			break;
		*bytes = v;
		found = true;
	}
	return found;
}

uint64_t root_wall_ns(const struct mt_root *r, uint64_t now_mono_ns)
{
	uint64_t until = r->exited && r->end_mono_ns ? r->end_mono_ns : now_mono_ns;
	uint64_t from = r->start_mono_ns ? r->start_mono_ns : until;

	return until > from ? until - from : 0;
}

/* a counter's growth since base; 0 if it reads lower (a tick-rounded base against ns) */
static uint64_t since(uint64_t value, uint64_t base)
{
	return value > base ? value - base : 0;
}

uint64_t root_user_ns(const struct mt_root *r)
{
	return since(r->utime_ns, r->utime_base_ns);
}

uint64_t root_sys_ns(const struct mt_root *r)
{
	return since(r->stime_ns, r->stime_base_ns);
}
