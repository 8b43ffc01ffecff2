// SPDX-License-Identifier: GPL-2.0
/*
 * The time series as memory_profiler's .dat (-F mprof), so that `mprof plot` and `mprof peak`
 * read a trace as their own.
 *
 * What mprof (python3-memory-profiler 0.61) writes and reads back:
 *	mprof.py, run_action:
 *		f.write("CMDLINE {0}\n".format(cmd_line))
 *	memory_profiler.py, memory_usage:
 *		stream.write("MEM {0:.6f} {1:.4f}\n".format(*mem_usage))
 *		stream.write("CHLD {0} {1:.6f} {2:.4f}\n".format(idx, chldmem, time.time()))
 * with MiB = bytes / 2^20, the epoch from time.time(), and idx the child's pid
 * (_get_child_memory yields child.pid). read_mprofile_file splits every line at its first
 * space and the values at single spaces; a line without a space, or an empty line, stops it.
 *
 * MEM is the traced set as a whole at each interval's end (mprof run -C: the process plus all
 * its children); CHLD one line per traced process that is not a root (mprof run -M). Rows come
 * only when a process changed, so the last RSS of every live process is kept here and carried
 * forward to each interval's end.
 *
 * A process that exits between two interval ends is gone at the second, yet its memory was
 * real: mprof, sampling, would simply miss it, and `mprof peak` (the largest MEM) would miss a
 * peak the tracer did record. So in the interval it exits in, a process counts (in MEM and in
 * its CHLD line) with the largest RSS among its rows of that interval: at least its exit row,
 * whose RSS is taken before the kernel tears the memory down, and an oom_kill or limit row's
 * RSS at the moment of the kill or crossing. That is what it held shortly before the interval's
 * end, not at it: MEM may then exceed the true total at that instant by what the exited
 * processes held, never by memory that was not resident at some moment of the interval. It
 * leaves the state after that interval's lines.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mprof.h"
#include "text.h"

/*
 * num/den with `decimals` digits after the point, rounded half to even: what Python's
 * "{:.6f}".format(num / den) prints, without floating point (no rounding of large byte counts,
 * no LC_NUMERIC decimal comma). den * 10^decimals must fit in 64 bits.
 */
static void add_fixed(struct strbuf *sb, uint64_t num, uint64_t den, int decimals)
{
	uint64_t whole = num / den, rem = num % den, scale = 1, frac, r;

	for (int i = 0; i < decimals; i++)
		scale *= 10;
	frac = rem * scale / den;
	r = rem * scale % den;
	if (2 * r > den || (2 * r == den && (frac & 1)))
		frac++;
	if (frac == scale) {
		whole++;
		frac = 0;
	}
	sb_addf(sb, "%llu.%0*llu", (unsigned long long)whole, decimals, (unsigned long long)frac);
}

struct mprof_proc {
	int pid;
	bool used;
	bool root;
	uint64_t rss;	  /* its last row's */
	uint64_t max_rss; /* the largest of its rows since the last interval end */
};

/* a process that exited during the current interval, counted once more at its end */
struct mprof_gone {
	int pid;
	bool root;
	uint64_t rss;
};

struct mprof_state {
	/* open addressing, linear probing, at most half full: O(1) per row at any count */
	struct mprof_proc *slots;
	size_t nslots; /* a power of two, 2^(32 - shift) */
	unsigned shift;
	size_t used;
	struct mprof_gone *gone;
	size_t ngone, gone_cap;
	struct mprof_gone *chld; /* scratch: this interval's CHLD lines, sorted by pid */
	size_t chld_cap;
};

/* Fibonacci hashing: the product's high bits, so pids with a common stride still spread */
static size_t mprof_slot(const struct mprof_state *st, int pid)
{
	return ((uint32_t)pid * 2654435761u) >> st->shift;
}

static struct mprof_proc *mprof_find(struct mprof_state *st, int pid)
{
	for (size_t i = mprof_slot(st, pid);; i = (i + 1) & (st->nslots - 1)) {
		if (!st->slots[i].used)
			return NULL;
		if (st->slots[i].pid == pid)
			return &st->slots[i];
	}
}

static void mprof_grow(struct mprof_state *st)
{
	struct mprof_proc *old = st->slots;
	size_t nold = st->nslots;

	st->nslots = nold ? nold * 2 : 1024;
	st->shift = nold ? st->shift - 1 : 22;
	st->slots = calloc(st->nslots, sizeof(*st->slots));
	if (!st->slots)
		abort(); /* as the strbuf does: a tracer cannot go on without memory */
	for (size_t i = 0; i < nold; i++) {
		if (!old[i].used)
			continue;
		size_t j = mprof_slot(st, old[i].pid);

		while (st->slots[j].used)
			j = (j + 1) & (st->nslots - 1);
		st->slots[j] = old[i];
	}
	free(old);
}

static struct mprof_proc *mprof_insert(struct mprof_state *st, int pid)
{
	size_t i;

	if (2 * (st->used + 1) > st->nslots)
		mprof_grow(st);
	for (i = mprof_slot(st, pid); st->slots[i].used; i = (i + 1) & (st->nslots - 1))
		;
	memset(&st->slots[i], 0, sizeof(st->slots[i]));
	st->slots[i].used = true;
	st->slots[i].pid = pid;
	st->used++;
	return &st->slots[i];
}

/*
 * Remove by shifting back the entries of the probe run that follows, so lookups never need
 * tombstones and the table never fills with dead slots as processes come and go.
 */
static void mprof_remove(struct mprof_state *st, struct mprof_proc *p)
{
	size_t mask = st->nslots - 1, hole = (size_t)(p - st->slots);

	for (size_t i = (hole + 1) & mask; st->slots[i].used; i = (i + 1) & mask) {
		size_t home = mprof_slot(st, st->slots[i].pid);

		/* move it into the hole unless its home lies cyclically in (hole, i] */
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			st->slots[hole] = st->slots[i];
			hole = i;
		}
	}
	st->slots[hole].used = false;
	st->used--;
}

static void *grow_array(void *array, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return array;
	size_t n = *cap ? *cap : 64;

	while (n < need)
		n *= 2;
	array = realloc(array, n * size);
	if (!array)
		abort();
	*cap = n;
	return array;
}

static struct mprof_state *mprof_state(struct mt_writer *w)
{
	if (!w->state) {
		struct mprof_state *st = calloc(1, sizeof(*st));

		if (!st)
			abort();
		w->state = st;
		mprof_grow(st);
	}
	return w->state;
}

/*
 * CMDLINE is only shown, but a newline or CR in it would end the line early (and Python reads
 * the file in text mode, as UTF-8): control characters and bytes that are not well-formed
 * UTF-8 are written as \xNN.
 */
static void mprof_header(struct mt_writer *w)
{
	const char *cmd = w->cmdline ? w->cmdline : "";
	const unsigned char *s = (const unsigned char *)cmd;
	size_t len = strlen(cmd);

	mprof_state(w);
	sb_adds(&w->buf, "CMDLINE ");
	for (size_t i = 0; i < len;) {
		size_t n = mt_utf8_len((const char *)s + i, len - i);

		if (!n || s[i] < 0x20 || s[i] == 0x7f) {
			sb_addf(&w->buf, "\\x%02x", s[i]);
			n = 1;
		} else {
			sb_add(&w->buf, (const char *)s + i, n);
		}
		i += n;
	}
	sb_add(&w->buf, "\n", 1);
}

static void mprof_row(struct mt_writer *w, const struct mt_row *r)
{
	struct mprof_state *st = mprof_state(w);
	struct mprof_proc *p = mprof_find(st, r->pid);

	if (!p) {
		p = mprof_insert(st, r->pid);
	} else if (r->event == MT_ROW_START) {
		/* a pid the kernel reused before the old process's exit row came: a new process */
		p->max_rss = 0;
	}
	p->root = r->root;
	p->rss = r->rss_bytes;
	if (r->rss_bytes > p->max_rss)
		p->max_rss = r->rss_bytes;
	if (r->event != MT_ROW_EXIT)
		return;
	/* its exit row is its last: it leaves the table now and counts once more at this
	 * interval's end (see above) */
	st->gone = grow_array(st->gone, &st->gone_cap, st->ngone + 1, sizeof(*st->gone));
	st->gone[st->ngone++] = (struct mprof_gone){ .pid = p->pid, .root = p->root,
						     .rss = p->max_rss };
	mprof_remove(st, p);
}

static int by_pid(const void *a, const void *b)
{
	const struct mprof_gone *x = a, *y = b;

	/* a pid reused within one interval has two lines: in a fixed order all the same */
	if (x->pid != y->pid)
		return (x->pid > y->pid) - (x->pid < y->pid);
	return (x->rss > y->rss) - (x->rss < y->rss);
}

/* MiB as mprof writes them: bytes / 2^20, 6 decimals */
static void add_mib(struct strbuf *sb, uint64_t bytes)
{
	add_fixed(sb, bytes, 1ULL << 20, 6);
}

/* a line's end: " <epoch>\n", cut to the 4 decimals mprof writes (its time.time() "{:.4f}") */
static void add_when(struct strbuf *sb, uint64_t epoch_ns)
{
	sb_add(sb, " ", 1);
	add_seconds(sb, epoch_ns, 4);
	sb_add(sb, "\n", 1);
}

static void mprof_interval_end(struct mt_writer *w, uint64_t mono_ns)
{
	struct mprof_state *st = mprof_state(w);
	uint64_t total = 0, epoch = writer_epoch_ns(w, mono_ns);
	size_t nchld = 0;

	/* the live processes and those gone in this interval: one pass, O(n log n) for CHLD */
	st->chld = grow_array(st->chld, &st->chld_cap, st->used + st->ngone, sizeof(*st->chld));
	for (size_t i = 0; i < st->nslots; i++) {
		struct mprof_proc *p = &st->slots[i];

		if (!p->used)
			continue;
		total += p->rss;
		if (!p->root)
			st->chld[nchld++] = (struct mprof_gone){ .pid = p->pid, .rss = p->rss };
		p->max_rss = 0; /* an exit counts with the rows of its own interval only */
	}
	for (size_t i = 0; i < st->ngone; i++) {
		total += st->gone[i].rss;
		if (!st->gone[i].root)
			st->chld[nchld++] = st->gone[i];
	}
	st->ngone = 0;
	/* by pid: the table's order is the hash's, and a reader (or a diff) wants a fixed one */
	if (nchld > 1)
		qsort(st->chld, nchld, sizeof(*st->chld), by_pid);

	sb_adds(&w->buf, "MEM ");
	add_mib(&w->buf, total);
	add_when(&w->buf, epoch);
	for (size_t i = 0; i < nchld; i++) {
		sb_addf(&w->buf, "CHLD %d ", st->chld[i].pid);
		add_mib(&w->buf, st->chld[i].rss);
		add_when(&w->buf, epoch);
	}
}

static void mprof_free(struct mt_writer *w)
{
	struct mprof_state *st = w->state;

	if (!st)
		return;
	free(st->slots);
	free(st->gone);
	free(st->chld);
	free(st);
	w->state = NULL;
}

const struct mt_format_ops mt_mprof_format = {
	.name = "mprof",
	.header_record = true,
	.header = mprof_header,
	.row = mprof_row,
	.interval_end = mprof_interval_end,
	.free = mprof_free,
};
