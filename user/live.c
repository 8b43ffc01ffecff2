// SPDX-License-Identifier: GPL-2.0
/*
 * The live view (see live.h). Every interval the sampler hands over each live traced process;
 * only what a frame can show is kept (pid, comm, RSS, delta, peak), in one array reused from
 * frame to frame, and the rows shown are picked with heaps bounded by the frame's height:
 * O(n log rows) per frame and no allocation per process, at 30,000 processes as at 3.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "strbuf.h"
#include "live.h"
#include "units.h"

#define LIVE_EVENTS 3	     /* the latest events shown */
#define LIVE_EVENT_LEN 200   /* one event's text, NUL included */
#define LIVE_MAX_LINES 1000u /* whatever the terminal claims: a frame is for reading */
#define LIVE_MAX_GROWERS 5u  /* rows kept for the fastest growers under the top by RSS */

#define SGR_RESET "\033[0m"
#define SGR_BOLD "\033[1m"
#define SGR_RED "\033[31m"
#define SGR_GREEN "\033[32m"

struct live_row {
	uint64_t rss;
	uint64_t peak;
	int64_t delta; /* since the process's previous frame; 0 on its first */
	uint32_t pid;
	bool picked;
	char comm[MT_COMM_LEN]; /* as the kernel gave it: sanitised when shown */
};

struct mt_live {
	struct mt_live_opts o;
	struct live_row *rows; /* this interval's processes */
	size_t n, cap;
	uint64_t rss_total;
	uint32_t *pick; /* indices into rows of the ones shown */
	size_t pick_cap;
	char events[LIVE_EVENTS][LIVE_EVENT_LEN]; /* a ring: event i in events[i % LIVE_EVENTS] */
	uint64_t nevents;
	struct strbuf frame;
	unsigned lines;	    /* lines of the frame being built */
	unsigned max_lines; /* of this frame */
	unsigned drawn;	    /* terminal: lines of the frame on the screen now, for the redraw */
};

/* Untrusted text (comm, file names) never reaches the terminal as control bytes: '?' instead. */
static void sanitize(char *s, size_t len)
{
	for (size_t i = 0; i < len && s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			s[i] = '?';
}

static bool env_utf8(void)
{
	static const char *const vars[] = { "LC_ALL", "LC_CTYPE", "LANG" };

	/* the first one set decides, as setlocale(LC_CTYPE, "") would */
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);

		if (v && *v)
			return strcasestr(v, "utf-8") || strcasestr(v, "utf8");
	}
	return false;
}

bool live_term_size(int fd, unsigned *width, unsigned *height)
{
	struct winsize ws;

	if (ioctl(fd, TIOCGWINSZ, &ws) || !ws.ws_col || !ws.ws_row)
		return false;
	*width = ws.ws_col;
	*height = ws.ws_row;
	return true;
}

void live_opts_detect(struct mt_live_opts *o, int fd)
{
	const char *term = getenv("TERM"), *no_color = getenv("NO_COLOR");

	memset(o, 0, sizeof(*o));
	o->fd = fd;
	o->terminal = isatty(fd) && !(term && !strcmp(term, "dumb"));
	o->color = o->terminal && !(no_color && *no_color);
	o->utf8 = env_utf8();
	if (!o->terminal || !live_term_size(fd, &o->width, &o->height)) {
		o->width = 80;
		o->height = 24;
	}
}

struct mt_live *live_new(const struct mt_live_opts *opts)
{
	struct mt_live *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->o = *opts;
	live_resize(l, opts->width, opts->height);
	sb_init(&l->frame);
	return l;
}

void live_free(struct mt_live *l)
{
	if (!l)
		return;
	free(l->rows);
	free(l->pick);
	sb_free(&l->frame);
	free(l);
}

void live_resize(struct mt_live *l, unsigned width, unsigned height)
{
	l->o.width = width ? width : 80;
	l->o.height = height ? height : 24;
	if (l->o.height > LIVE_MAX_LINES)
		l->o.height = LIVE_MAX_LINES;
	/* lines scrolled off a shrunken screen cannot be reached: redraw from what can */
	if (l->drawn >= l->o.height)
		l->drawn = l->o.height - 1;
}

void live_proc(struct mt_live *l, uint32_t pid, const struct proc_stats *st, uint64_t *mark)
{
	uint64_t rss = mt_rss_bytes(st);
	int64_t delta = *mark == UINT64_MAX ? 0 : (int64_t)(rss - *mark);
	struct live_row *row;

	*mark = rss;
	l->rss_total += rss;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct live_row *rows = realloc(l->rows, cap * sizeof(*rows));

		if (!rows)
			return; /* the frame shows fewer processes; the totals stay right */
		l->rows = rows;
		l->cap = cap;
	}
	row = &l->rows[l->n++];
	row->rss = rss;
	row->peak = st->peak_rss_bytes;
	row->delta = delta;
	row->pid = pid;
	row->picked = false;
	memcpy(row->comm, st->comm, MT_COMM_LEN);
}

void live_event(struct mt_live *l, const char *fmt, ...)
{
	char *slot = l->events[l->nevents % LIVE_EVENTS];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(slot, LIVE_EVENT_LEN, fmt, ap);
	va_end(ap);
	sanitize(slot, LIVE_EVENT_LEN);
	l->nevents++;
}

/* ---- picking the rows shown ---- */

typedef bool (*better_fn)(const struct live_row *a, const struct live_row *b);

/* ties by pid, so that equal processes do not swap places from frame to frame */
static bool bigger(const struct live_row *a, const struct live_row *b)
{
	if (a->rss != b->rss)
		return a->rss > b->rss;
	return a->pid < b->pid;
}

static bool faster(const struct live_row *a, const struct live_row *b)
{
	if (a->delta != b->delta)
		return a->delta > b->delta;
	return bigger(a, b);
}

static void heap_swap(uint32_t *h, size_t i, size_t j)
{
	uint32_t t = h[i];

	h[i] = h[j];
	h[j] = t;
}

/*
 * The k best processes not picked yet (only growing ones with growers) into out; returns how
 * many. A heap keeps the worst of the best so far at its top: one comparison per process,
 * log k more for the few that get in.
 */
static size_t pick_best(struct mt_live *l, uint32_t *out, size_t k, better_fn better,
			bool growers)
{
	const struct live_row *rows = l->rows;
	size_t h = 0;

	if (!k)
		return 0;
	for (size_t i = 0; i < l->n; i++) {
		size_t at;

		if (rows[i].picked || (growers && rows[i].delta <= 0))
			continue;
		if (h < k) {
			/* in at the bottom, then up past every parent better than it */
			out[h] = (uint32_t)i;
			for (at = h++; at && better(&rows[out[(at - 1) / 2]], &rows[out[at]]);
			     at = (at - 1) / 2)
				heap_swap(out, at, (at - 1) / 2);
			continue;
		}
		if (!better(&rows[i], &rows[out[0]]))
			continue;
		out[0] = (uint32_t)i;
		for (at = 0;;) {
			size_t worst = at, c = 2 * at + 1;

			if (c < h && better(&rows[out[worst]], &rows[out[c]]))
				worst = c;
			if (c + 1 < h && better(&rows[out[worst]], &rows[out[c + 1]]))
				worst = c + 1;
			if (worst == at)
				break;
			heap_swap(out, at, worst);
			at = worst;
		}
	}
	for (size_t j = 0; j < h; j++)
		l->rows[out[j]].picked = true;
	return h;
}

static int cmp_bigger(const void *a, const void *b, void *ctx)
{
	const struct live_row *rows = ctx;
	const struct live_row *x = &rows[*(const uint32_t *)a], *y = &rows[*(const uint32_t *)b];

	return bigger(x, y) ? -1 : bigger(y, x) ? 1 : 0;
}

/*
 * Up to nrows processes: the largest by RSS, but the last few rows go to the fastest growers
 * not among them (a small process growing fast is the one about to matter), filled up by RSS
 * when fewer grow. Shown largest first. Returns how many.
 */
static size_t pick_rows(struct mt_live *l, size_t nrows)
{
	size_t growers = 0, got;

	if (nrows > l->pick_cap) {
		uint32_t *pick = realloc(l->pick, nrows * sizeof(*pick));

		if (!pick)
			return 0;
		l->pick = pick;
		l->pick_cap = nrows;
	}
	if (l->n > nrows) {
		growers = nrows / 4;
		if (growers > LIVE_MAX_GROWERS)
			growers = LIVE_MAX_GROWERS;
		if (!growers && nrows >= 2)
			growers = 1;
	}
	got = pick_best(l, l->pick, nrows - growers, bigger, false);
	got += pick_best(l, l->pick + got, growers, faster, true);
	got += pick_best(l, l->pick + got, nrows - got, bigger, false);
	qsort_r(l->pick, got, sizeof(*l->pick), cmp_bigger, l->rows);
	return got;
}

/* ---- drawing ---- */

/*
 * One line of the frame, cut to the width (escape sequences take no room; nor do UTF-8
 * continuation bytes): a line longer than the terminal would wrap and throw off the count of
 * lines the redraw goes back over. The last column stays free: some terminals wrap there.
 */
static void add_line(struct mt_live *l, const char *s)
{
	size_t room = l->o.width > 1 ? l->o.width - 1 : 1, used = 0;
	const char *p = s;

	if (l->lines >= l->max_lines)
		return;
	while (*p) {
		if (*p == '\033' && p[1] == '[') {
			const char *q = p + 2;

			while (*q && !(*q >= 0x40 && *q <= 0x7e))
				q++;
			if (*q)
				q++;
			sb_add(&l->frame, p, (size_t)(q - p));
			p = q;
			continue;
		}
		if (((unsigned char)*p & 0xc0) != 0x80 && used++ == room)
			break;
		sb_add(&l->frame, p, 1);
		p++;
	}
	if (*p && l->o.color)
		sb_adds(&l->frame, SGR_RESET); /* cut inside a coloured span */
	sb_adds(&l->frame, "\n");
	l->lines++;
}

/* a count, red when not zero: something a person watching should notice */
static const char *count_cell(const struct mt_live *l, uint64_t v, char *buf, size_t len)
{
	if (l->o.color && v)
		snprintf(buf, len, SGR_RED "%llu" SGR_RESET, (unsigned long long)v);
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

static void add_header(struct mt_live *l, const struct mt_live_totals *t)
{
	char line[512], dur[32], rss[32], out[128], oom[48], lim[48], lost[48];

	snprintf(line, sizeof(line), "memtrace-bpf  %s  %llu live, %llu exited  RSS %s",
		 mt_format_duration(t->elapsed_ns, dur, sizeof(dur)),
		 (unsigned long long)t->procs_live, (unsigned long long)t->procs_exited,
		 mt_format_size(l->rss_total, rss, sizeof(rss)));
	add_line(l, line);

	snprintf(out, sizeof(out), "%s", t->output ? t->output : "stdout");
	sanitize(out, sizeof(out));
	snprintf(line, sizeof(line), "%llu rows to %s  OOM kills %s  limit crossings %s  lost %s",
		 (unsigned long long)t->rows, out, count_cell(l, t->oom_kills, oom, sizeof(oom)),
		 count_cell(l, t->limit_crossings, lim, sizeof(lim)),
		 count_cell(l, t->lost, lost, sizeof(lost)));
	add_line(l, line);
}

static void add_row(struct mt_live *l, const struct live_row *r)
{
	char comm[MT_COMM_LEN], rss[32], peak[32], size[32], delta[32], line[256];
	const char *sgr = NULL;

	memcpy(comm, r->comm, MT_COMM_LEN);
	comm[MT_COMM_LEN - 1] = '\0';
	sanitize(comm, sizeof(comm));
	if (r->delta > 0) {
		snprintf(delta, sizeof(delta), "+%s",
			 mt_format_size((uint64_t)r->delta, size, sizeof(size)));
		sgr = SGR_RED;
	} else if (r->delta < 0) {
		snprintf(delta, sizeof(delta), "-%s",
			 mt_format_size(-(uint64_t)r->delta, size, sizeof(size)));
		sgr = SGR_GREEN;
	} else {
		snprintf(delta, sizeof(delta), "0");
	}
	/* the colour goes around the padded cell: escapes inside printf's width would shift it */
	if (!l->o.color)
		sgr = NULL;
	snprintf(line, sizeof(line), "%7u %-15s %9s %s%10s%s %9s", r->pid, comm,
		 mt_format_size(r->rss, rss, sizeof(rss)), sgr ? sgr : "", delta,
		 sgr ? SGR_RESET : "", mt_format_size(r->peak, peak, sizeof(peak)));
	add_line(l, line);
}

/*
 * Back to the first line of the frame on the screen and clear from there to the end of the
 * screen. Not with one "clear to the end" from that line: when the frame starts at the top of
 * the screen that clears the whole screen, which tmux (scroll-on-clear) and some terminals
 * first scroll into the history: every frame would pile up there. So the first line is erased
 * alone (EL), the rest from the line below it (ED there), and the cursor goes back up.
 */
static void add_erase(struct mt_live *l)
{
	if (!l->drawn)
		return;
	sb_addf(&l->frame, "\r\033[%uA\033[2K\033[B\033[J\033[A", l->drawn);
	l->drawn = 0;
}

static void write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* a view that cannot be shown is no reason to stop tracing */
		p += n;
		len -= (size_t)n;
	}
}

void live_render(struct mt_live *l, const struct mt_live_totals *t)
{
	unsigned events = l->nevents < LIVE_EVENTS ? (unsigned)l->nevents : LIVE_EVENTS;
	unsigned room, nrows;
	char line[256];

	sb_reset(&l->frame);
	/* the previous frame erased in the same write as the new one: no flicker, and no
	 * other output can come between the two */
	if (l->o.terminal)
		add_erase(l);
	l->lines = 0;
	/* on a terminal the cursor's line below the frame counts: a frame as high as the
	 * screen would scroll its first line out of the redraw's reach */
	l->max_lines = l->o.terminal ? l->o.height - 1 : l->o.height;
	if (!l->max_lines)
		l->max_lines = 1;

	add_header(l, t);
	/* below the two header lines and the table's: the events, keeping a row for a process */
	room = l->max_lines > 3 ? l->max_lines - 3 : 0;
	if (events > (room ? room - 1 : 0))
		events = room ? room - 1 : 0;
	nrows = room - events;

	snprintf(line, sizeof(line), "%s%7s %-15s %9s %*s %9s%s", l->o.color ? SGR_BOLD : "",
		 "PID", "COMM", "RSS", l->o.utf8 ? 11 : 10, l->o.utf8 ? "Δ" : "DELTA", "PEAK",
		 l->o.color ? SGR_RESET : "");
	add_line(l, line);
	if (!l->n) {
		add_line(l, "        (no live traced process)");
	} else {
		size_t shown = pick_rows(l, nrows);

		for (size_t i = 0; i < shown; i++)
			add_row(l, &l->rows[l->pick[i]]);
	}
	for (uint64_t i = l->nevents - events; i < l->nevents; i++) {
		snprintf(line, sizeof(line), "  %s", l->events[i % LIVE_EVENTS]);
		add_line(l, line);
	}
	if (!l->o.terminal)
		sb_adds(&l->frame, "\n"); /* frames one after the other, a blank line between */

	write_all(l->o.fd, l->frame.data, l->frame.len);
	l->drawn = l->o.terminal ? l->lines : 0;
	l->n = 0;
	l->rss_total = 0;
}

void live_clear(struct mt_live *l)
{
	if (!l || !l->o.terminal || !l->drawn)
		return;
	sb_reset(&l->frame);
	add_erase(l);
	write_all(l->o.fd, l->frame.data, l->frame.len);
}
