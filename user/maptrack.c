// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "fileio.h"
#include "hash.h"
#include "maptrack.h"
#include "procfs.h"

/* how many forks back a child looks for what it shares with its ancestors */
#define MAX_DEPTH 16
/* data pages of each CPU's ring (a power of two), drained by polling */
#define RING_PAGES 64
/*
 * A record is applied within a drain of being written, and a sample is looked up soon after it
 * was taken: what only a lookup further back than this could see is dropped when a process's
 * mappings pile up (dlopen/dlclose in a loop).
 */
#define HORIZON_NS (10ULL * 1000000000ULL)
/* gone by maptrack_gone(): whatever its records say */
#define GONE_ANY UINT64_MAX

/* A path shared by every mapping of the file, counted. */
struct istr {
	struct istr *next;
	uint32_t hash, refs;
	char s[];
};

struct spans {
	struct mt_mapping *v;
	size_t n, cap;
};

struct proc {
	struct proc *next; /* in its hash bucket */
	uint32_t pid, ppid;
	uint64_t fork_ts; /* 0: no fork record (running before tracing, or not yet applied) */
	uint64_t last_ts; /* its latest record */
	uint64_t gone_ts; /* 0: alive, GONE_ANY, or when its exit record says it left */
	uint64_t tomb_ts; /* forgotten: records up to then are leftovers of it */
	uint64_t proc_ts; /* when /proc/PID/maps was read; 0: never */
	bool tomb, dying;
	struct spans own; /* its mmaps (and /proc's, ts 0) */
	struct spans inh; /* its parent's at the fork, for when the parent is forgotten */
	uint64_t *execs;
	size_t nr_execs, cap_execs;
};

struct ring {
	int fd;
	struct perf_event_mmap_page *meta;
	size_t map_len;
	unsigned char *data;
	uint64_t size;
};

/* A mapping gathered for maptrack_each: the lowest rank wins where several cover an address. */
struct cand {
	const struct mt_mapping *map;
	unsigned rank;
	size_t seq;
};

struct mt_maptrack {
	struct proc **procs;
	size_t proc_buckets, nr_procs;
	struct istr **strs;
	size_t str_buckets, nr_strs;
	size_t nr_tombs;
	bool any_gone; /* a process may be marked gone */
	struct ring *rings;
	int nr_rings;
	uint64_t lost;
	/* scratch of maptrack_each and of a fork's copy */
	struct cand *cands;
	size_t nr_cands, cap_cands;
	uint64_t *bounds;
	size_t cap_bounds;
	struct spans pieces;
	/* a record wrapped around the end of a ring, made whole (a record is at most 64 KiB) */
	uint64_t rec[65536 / sizeof(uint64_t)];
};

static bool grow(void **v, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 16;
	void *bigger;

	if (need <= *cap)
		return true;
	while (n < need)
		n *= 2;
	bigger = realloc(*v, n * size);
	if (!bigger)
		return false;
	*v = bigger;
	*cap = n;
	return true;
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* ---- interned paths ---- */

static struct istr *istr_of(const char *s)
{
	return (struct istr *)(s - offsetof(struct istr, s));
}

static bool strs_grow(struct mt_maptrack *m)
{
	size_t n = m->str_buckets ? m->str_buckets * 2 : 256;
	struct istr **b = calloc(n, sizeof(*b));

	if (!b)
		return false;
	for (size_t i = 0; i < m->str_buckets; i++) {
		for (struct istr *s = m->strs[i], *next; s; s = next) {
			next = s->next;
			s->next = b[s->hash & (n - 1)];
			b[s->hash & (n - 1)] = s;
		}
	}
	free(m->strs);
	m->strs = b;
	m->str_buckets = n;
	return true;
}

static const char *intern(struct mt_maptrack *m, const char *path)
{
	uint32_t h = (uint32_t)mt_hash_str(path);
	size_t len = strlen(path);
	struct istr *s;

	if (m->str_buckets) {
		for (s = m->strs[h & (m->str_buckets - 1)]; s; s = s->next) {
			if (s->hash == h && !strcmp(s->s, path)) {
				s->refs++;
				return s->s;
			}
		}
	}
	if (m->nr_strs >= m->str_buckets && !strs_grow(m) && !m->str_buckets)
		return NULL;
	s = malloc(sizeof(*s) + len + 1);
	if (!s)
		return NULL;
	s->hash = h;
	s->refs = 1;
	memcpy(s->s, path, len + 1);
	s->next = m->strs[h & (m->str_buckets - 1)];
	m->strs[h & (m->str_buckets - 1)] = s;
	m->nr_strs++;
	return s->s;
}

static void str_ref(const char *path)
{
	istr_of(path)->refs++;
}

static void str_unref(struct mt_maptrack *m, const char *path)
{
	struct istr *s = istr_of(path), **pp;

	if (--s->refs)
		return;
	for (pp = &m->strs[s->hash & (m->str_buckets - 1)]; *pp != s; pp = &(*pp)->next)
		;
	*pp = s->next;
	m->nr_strs--;
	free(s);
}

/* ---- mapping arrays ---- */

static void spans_clear(struct mt_maptrack *m, struct spans *sp)
{
	for (size_t i = 0; i < sp->n; i++)
		str_unref(m, sp->v[i].path);
	sp->n = 0;
}

static void spans_free(struct mt_maptrack *m, struct spans *sp)
{
	spans_clear(m, sp);
	free(sp->v);
	memset(sp, 0, sizeof(*sp));
}

static void spans_drop(struct mt_maptrack *m, struct spans *sp, size_t i)
{
	str_unref(m, sp->v[i].path);
	sp->v[i] = sp->v[--sp->n];
}

/* ---- processes ---- */

static size_t pid_bucket(const struct mt_maptrack *m, uint32_t pid)
{
	uint32_t h = pid * 0x9e3779b1u;

	return (h ^ (h >> 16)) & (m->proc_buckets - 1);
}

static struct proc *lookup(const struct mt_maptrack *m, uint32_t pid)
{
	if (!m->proc_buckets)
		return NULL;
	for (struct proc *p = m->procs[pid_bucket(m, pid)]; p; p = p->next)
		if (p->pid == pid)
			return p;
	return NULL;
}

static bool procs_grow(struct mt_maptrack *m)
{
	size_t old = m->proc_buckets, n = old ? old * 2 : 256;
	struct proc **b = calloc(n, sizeof(*b)), **prev = m->procs;

	if (!b)
		return false;
	m->procs = b;
	m->proc_buckets = n;
	for (size_t i = 0; i < old; i++) {
		for (struct proc *p = prev[i], *next; p; p = next) {
			next = p->next;
			p->next = b[pid_bucket(m, p->pid)];
			b[pid_bucket(m, p->pid)] = p;
		}
	}
	free(prev);
	return true;
}

static struct proc *proc_new(struct mt_maptrack *m, uint32_t pid)
{
	struct proc *p;

	if (m->nr_procs >= m->proc_buckets && !procs_grow(m) && !m->proc_buckets)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->next = m->procs[pid_bucket(m, pid)];
	m->procs[pid_bucket(m, pid)] = p;
	m->nr_procs++;
	return p;
}

/* what was known of the process goes; the entry stays (as a tomb, or to be filled again) */
static void proc_clear(struct mt_maptrack *m, struct proc *p)
{
	spans_free(m, &p->own);
	spans_free(m, &p->inh);
	free(p->execs);
	p->execs = NULL;
	p->nr_execs = p->cap_execs = 0;
	p->ppid = 0;
	p->fork_ts = p->last_ts = p->gone_ts = p->tomb_ts = p->proc_ts = 0;
	p->tomb = p->dying = false;
}

static void proc_free(struct mt_maptrack *m, struct proc *p)
{
	struct proc **pp = &m->procs[pid_bucket(m, p->pid)];

	while (*pp != p)
		pp = &(*pp)->next;
	*pp = p->next;
	m->nr_procs--;
	if (p->tomb)
		m->nr_tombs--;
	proc_clear(m, p);
	free(p);
}

/* a forgotten pid names a new process */
static void revive(struct mt_maptrack *m, struct proc *p)
{
	m->nr_tombs--;
	proc_clear(m, p);
}

/* the latest exec of p at or before ts, 0 if none: what it had mapped before is gone */
static uint64_t latest_exec(const struct proc *p, uint64_t ts)
{
	uint64_t e = 0;

	for (size_t i = 0; i < p->nr_execs; i++)
		if (p->execs[i] <= ts && p->execs[i] > e)
			e = p->execs[i];
	return e;
}

/* whether p at ts still shares what its parent had at the fork: forked by then, no exec since */
static bool inherits(const struct proc *p, uint64_t ts, uint64_t exec_ts)
{
	return p->fork_ts && p->fork_ts <= ts && exec_ts <= p->fork_ts;
}

/*
 * The process that forked p, if what the tracker holds under its pid is that one: not a later
 * process with the same pid (forked after p), not an earlier one (left before p was forked).
 * Each step back goes to an earlier fork, so the chain ends.
 */
static struct proc *parent_of(const struct mt_maptrack *m, const struct proc *p)
{
	struct proc *q = lookup(m, p->ppid);

	if (!q || q == p || q->tomb || q->fork_ts >= p->fork_ts)
		return NULL;
	if (q->gone_ts && q->gone_ts != GONE_ANY && q->gone_ts < p->fork_ts)
		return NULL;
	return q;
}

/*
 * The process a record at ts is about, or NULL when it is a leftover: of a forgotten process,
 * or of an earlier process with the same pid.
 */
static struct proc *proc_at(struct mt_maptrack *m, uint32_t pid, uint64_t ts)
{
	struct proc *p = lookup(m, pid);

	if (!p)
		return proc_new(m, pid);
	if (p->tomb) {
		if (ts <= p->tomb_ts)
			return NULL;
		revive(m, p);
	}
	if (ts < p->fork_ts)
		return NULL;
	return p;
}

static void saw(struct proc *p, uint64_t ts)
{
	if (ts > p->last_ts)
		p->last_ts = ts;
}

/* ---- lookups ---- */

static bool covers(const struct mt_mapping *s, uint64_t addr)
{
	return s->start <= addr && addr < s->end;
}

static const struct mt_mapping *find_in(const struct mt_maptrack *m, const struct proc *p,
					uint64_t addr, uint64_t ts, unsigned depth)
{
	uint64_t e = latest_exec(p, ts);
	const struct mt_mapping *best = NULL;
	const struct proc *q;

	for (size_t i = 0; i < p->own.n; i++) {
		const struct mt_mapping *s = &p->own.v[i];

		if (covers(s, addr) && s->ts_ns <= ts && s->ts_ns >= e &&
		    (!best || s->ts_ns >= best->ts_ns))
			best = s;
	}
	if (best || depth >= MAX_DEPTH || !inherits(p, ts, e))
		return best;
	q = parent_of(m, p);
	if (q && (best = find_in(m, q, addr, p->fork_ts, depth + 1)))
		return best;
	/* the copy: the parent is forgotten, or it lost what it had then (its own pile trimmed) */
	for (size_t i = 0; i < p->inh.n; i++)
		if (covers(&p->inh.v[i], addr))
			return &p->inh.v[i];
	return NULL;
}

const struct mt_mapping *maptrack_find(struct mt_maptrack *m, uint32_t pid, uint64_t addr,
				       uint64_t ts_ns)
{
	struct proc *p = lookup(m, pid);

	return p && !p->tomb ? find_in(m, p, addr, ts_ns, 0) : NULL;
}

static bool add_cand(struct mt_maptrack *m, const struct mt_mapping *map, unsigned rank)
{
	if (!grow((void **)&m->cands, &m->cap_cands, m->nr_cands + 1, sizeof(*m->cands)))
		return false;
	m->cands[m->nr_cands] = (struct cand){ map, rank, m->nr_cands };
	m->nr_cands++;
	return true;
}

/*
 * What find_in() would search, in its order as ranks: own mappings by depth, then the copies
 * from the deepest up (a process's copy is searched after its whole parent chain).
 */
static bool gather(struct mt_maptrack *m, const struct proc *p, uint64_t ts, unsigned depth)
{
	uint64_t e = latest_exec(p, ts);
	const struct proc *q;

	for (size_t i = 0; i < p->own.n; i++) {
		const struct mt_mapping *s = &p->own.v[i];

		if (s->ts_ns <= ts && s->ts_ns >= e && !add_cand(m, s, depth))
			return false;
	}
	if (depth >= MAX_DEPTH || !inherits(p, ts, e))
		return true;
	q = parent_of(m, p);
	if (q && !gather(m, q, p->fork_ts, depth + 1))
		return false;
	for (size_t i = 0; i < p->inh.n; i++)
		if (!add_cand(m, &p->inh.v[i], 2 * MAX_DEPTH + 1 - depth))
			return false;
	return true;
}

static int cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->map->ts_ns != y->map->ts_ns)
		return x->map->ts_ns > y->map->ts_ns ? -1 : 1;
	return x->seq > y->seq ? -1 : x->seq < y->seq;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The gathered mappings as the process saw them: between each two consecutive ends of any of
 * them, the one find_in() would pick; consecutive pieces of one mapping joined. Into m->pieces,
 * lowest address first.
 */
static bool resolve(struct mt_maptrack *m)
{
	const struct mt_mapping *last = NULL;
	size_t nb = 0;

	m->pieces.n = 0;
	if (!m->nr_cands)
		return true;
	if (!grow((void **)&m->bounds, &m->cap_bounds, 2 * m->nr_cands, sizeof(*m->bounds)))
		return false;
	qsort(m->cands, m->nr_cands, sizeof(*m->cands), cand_cmp);
	for (size_t i = 0; i < m->nr_cands; i++) {
		m->bounds[nb++] = m->cands[i].map->start;
		m->bounds[nb++] = m->cands[i].map->end;
	}
	qsort(m->bounds, nb, sizeof(*m->bounds), u64_cmp);
	for (size_t b = 0; b + 1 < nb; b++) {
		uint64_t lo = m->bounds[b], hi = m->bounds[b + 1];
		const struct mt_mapping *w = NULL;
		struct mt_mapping *piece;

		if (lo == hi)
			continue;
		for (size_t i = 0; i < m->nr_cands && !w; i++)
			if (covers(m->cands[i].map, lo) && m->cands[i].map->end >= hi)
				w = m->cands[i].map;
		if (!w) {
			last = NULL;
			continue;
		}
		if (w == last) {
			m->pieces.v[m->pieces.n - 1].end = hi;
			continue;
		}
		if (!grow((void **)&m->pieces.v, &m->pieces.cap, m->pieces.n + 1,
			  sizeof(*m->pieces.v)))
			return false;
		piece = &m->pieces.v[m->pieces.n++];
		*piece = *w;
		piece->start = lo;
		piece->end = hi;
		piece->pgoff = w->pgoff + (lo - w->start);
		last = w;
	}
	return true;
}

void maptrack_each(struct mt_maptrack *m, uint32_t pid, uint64_t ts_ns,
		   void (*fn)(void *ctx, const struct mt_mapping *map), void *ctx)
{
	struct proc *p = lookup(m, pid);

	m->nr_cands = 0;
	if (!p || p->tomb || !gather(m, p, ts_ns, 0) || !resolve(m))
		return;
	for (size_t i = 0; i < m->pieces.n; i++)
		fn(ctx, &m->pieces.v[i]);
}

/* p's copy of what its parent q had mapped at the fork, kept in case q is forgotten first */
static void copy_parent(struct mt_maptrack *m, struct proc *p, const struct proc *q)
{
	struct spans *inh = &p->inh;

	m->nr_cands = 0;
	spans_clear(m, inh);
	if (!gather(m, q, p->fork_ts, 0) || !resolve(m) ||
	    !grow((void **)&inh->v, &inh->cap, m->pieces.n, sizeof(*inh->v)))
		return;
	for (size_t i = 0; i < m->pieces.n; i++) {
		inh->v[inh->n++] = m->pieces.v[i];
		str_ref(m->pieces.v[i].path);
	}
}

/* the children of q forked before ts take their copy again: what q holds now is about to go */
static void orphan_children(struct mt_maptrack *m, const struct proc *q, uint64_t ts)
{
	for (size_t b = 0; b < m->proc_buckets; b++)
		for (struct proc *p = m->procs[b]; p; p = p->next)
			if (!p->tomb && p->fork_ts && p->fork_ts < ts && p->ppid == q->pid &&
			    parent_of(m, p) == q)
				copy_parent(m, p, q);
}

/* ---- records ---- */

/* true if the mapping is gone for every lookup no older than horizon */
static bool past(const struct proc *p, const struct mt_mapping *s, uint64_t horizon,
		 uint64_t exec_h)
{
	if (s->ts_ns < exec_h)
		return true;
	for (size_t i = 0; i < p->own.n; i++) {
		const struct mt_mapping *t = &p->own.v[i];

		if (t->ts_ns > s->ts_ns && t->ts_ns <= horizon && t->start <= s->start &&
		    t->end >= s->end)
			return true;
	}
	return false;
}

/* what only a lookup older than HORIZON_NS before p's latest record could see */
static void trim(struct mt_maptrack *m, struct proc *p)
{
	uint64_t horizon, exec_h;
	size_t i = 0, kept = 0;

	if (p->last_ts <= HORIZON_NS)
		return;
	horizon = p->last_ts - HORIZON_NS;
	exec_h = latest_exec(p, horizon);
	while (i < p->own.n) {
		if (past(p, &p->own.v[i], horizon, exec_h))
			spans_drop(m, &p->own, i);
		else
			i++;
	}
	if (exec_h && exec_h > p->fork_ts)
		spans_clear(m, &p->inh);
	for (i = 0; i < p->nr_execs; i++)
		if (p->execs[i] >= exec_h)
			p->execs[kept++] = p->execs[i];
	p->nr_execs = kept;
}

static bool add_own(struct mt_maptrack *m, struct proc *p, const struct mt_mapping *map)
{
	struct spans *own = &p->own;

	if (own->n == own->cap && own->n >= 64) {
		trim(m, p);
		/* trimmed enough: no need to grow yet */
		if (own->n > own->cap / 4 * 3 &&
		    !grow((void **)&own->v, &own->cap, own->n + 1, sizeof(*own->v)))
			return false;
	} else if (!grow((void **)&own->v, &own->cap, own->n + 1, sizeof(*own->v))) {
		return false;
	}
	own->v[own->n++] = *map;
	return true;
}

/* a file the process can have code or data in: not //anon, [vdso], //toolong */
static bool is_file(const char *path)
{
	return path[0] == '/' && path[1] != '/';
}

void maptrack_mmap(struct mt_maptrack *m, uint32_t pid, uint64_t ts_ns, uint64_t start,
		   uint64_t len, uint64_t pgoff, uint32_t maj, uint32_t min, uint64_t ino,
		   bool exec, const char *path)
{
	struct mt_mapping map = {
		.start = start,
		.end = start + len,
		.pgoff = pgoff,
		.ts_ns = ts_ns,
		.dev_major = maj,
		.dev_minor = min,
		.ino = ino,
		.exec = exec,
	};
	struct proc *p;

	if (!pid || !len || !is_file(path))
		return;
	p = proc_at(m, pid, ts_ns);
	if (!p)
		return;
	map.path = intern(m, path);
	if (!map.path)
		return;
	if (!add_own(m, p, &map)) {
		str_unref(m, map.path);
		return;
	}
	saw(p, ts_ns);
}

void maptrack_exec(struct mt_maptrack *m, uint32_t pid, uint64_t ts_ns)
{
	struct proc *p = pid ? proc_at(m, pid, ts_ns) : NULL;

	if (!p)
		return;
	for (size_t i = 0; i < p->nr_execs; i++)
		if (p->execs[i] == ts_ns)
			return;
	if (!grow((void **)&p->execs, &p->cap_execs, p->nr_execs + 1, sizeof(*p->execs)))
		return;
	p->execs[p->nr_execs++] = ts_ns;
	saw(p, ts_ns);
}

/* older than a fork at ts: an earlier process's (a /proc read after the fork is not) */
static bool before_fork(const struct proc *p, const struct mt_mapping *s, uint64_t ts)
{
	return s->ts_ns < ts && !(s->ts_ns == 0 && p->proc_ts > ts);
}

/*
 * The pid now names a process forked at ts: what is older belongs to an earlier one (whose
 * records may also come before its exit is handled), what is newer was applied before the fork.
 */
static void reuse(struct mt_maptrack *m, struct proc *p, uint64_t ts)
{
	size_t i, kept = 0;
	bool old = p->fork_ts;

	for (i = 0; i < p->own.n && !old; i++)
		old = before_fork(p, &p->own.v[i], ts);
	/* a scan of every process, only when a pid is reused before its process was forgotten */
	if (old)
		orphan_children(m, p, ts);
	i = 0;
	while (i < p->own.n) {
		if (before_fork(p, &p->own.v[i], ts))
			spans_drop(m, &p->own, i);
		else
			i++;
	}
	spans_clear(m, &p->inh);
	for (i = 0; i < p->nr_execs; i++)
		if (p->execs[i] >= ts)
			p->execs[kept++] = p->execs[i];
	p->nr_execs = kept;
	if (p->proc_ts < ts)
		p->proc_ts = 0;
	if (p->gone_ts == GONE_ANY || p->gone_ts < ts)
		p->gone_ts = 0;
	p->last_ts = 0;
	for (i = 0; i < p->own.n; i++)
		saw(p, p->own.v[i].ts_ns);
	for (i = 0; i < p->nr_execs; i++)
		saw(p, p->execs[i]);
}

void maptrack_fork(struct mt_maptrack *m, uint32_t pid, uint32_t ppid, uint64_t ts_ns)
{
	struct proc *p = lookup(m, pid), *q;

	if (!pid || pid == ppid) /* a thread */
		return;
	if (!p) {
		p = proc_new(m, pid);
		if (!p)
			return;
	} else if (p->tomb) {
		if (ts_ns <= p->tomb_ts)
			return;
		revive(m, p);
	} else if (p->fork_ts >= ts_ns) {
		return; /* this one's fork again, or an earlier process's */
	} else {
		reuse(m, p, ts_ns);
	}
	p->ppid = ppid;
	p->fork_ts = ts_ns;
	saw(p, ts_ns);
	q = parent_of(m, p);
	if (q)
		copy_parent(m, p, q);
}

void maptrack_exit(struct mt_maptrack *m, uint32_t pid, uint64_t ts_ns)
{
	struct proc *p = lookup(m, pid);

	if (!p || p->tomb || ts_ns < p->fork_ts || p->gone_ts == GONE_ANY)
		return;
	if (ts_ns > p->gone_ts)
		p->gone_ts = ts_ns;
	m->any_gone = true;
}

void maptrack_gone(struct mt_maptrack *m, uint32_t pid)
{
	struct proc *p = lookup(m, pid);

	if (p && !p->tomb) {
		p->gone_ts = GONE_ANY;
		m->any_gone = true;
	}
}

void maptrack_forget_gone(struct mt_maptrack *m)
{
	bool any = false;

	/* last call's tombs have caught the leftovers of their processes by now */
	for (size_t b = 0; b < m->proc_buckets && m->nr_tombs; b++) {
		for (struct proc *p = m->procs[b], *next; p; p = next) {
			next = p->next;
			if (p->tomb)
				proc_free(m, p);
		}
	}
	if (!m->any_gone)
		return;
	m->any_gone = false;
	for (size_t b = 0; b < m->proc_buckets; b++) {
		for (struct proc *p = m->procs[b]; p; p = p->next) {
			if (!p->gone_ts)
				continue;
			/* a record after its exit: a thread exec'd, the leader only had left */
			if (p->gone_ts != GONE_ANY && p->last_ts > p->gone_ts)
				p->gone_ts = 0;
			else
				p->dying = any = true;
		}
	}
	if (!any)
		return;
	/*
	 * Their children take their copies before any of them goes: a copy reaches through a
	 * dying grandparent too.
	 */
	for (size_t b = 0; b < m->proc_buckets; b++) {
		for (struct proc *p = m->procs[b]; p; p = p->next) {
			struct proc *q = p->fork_ts && !p->dying ? parent_of(m, p) : NULL;

			if (q && q->dying)
				copy_parent(m, p, q);
		}
	}
	for (size_t b = 0; b < m->proc_buckets; b++) {
		for (struct proc *p = m->procs[b]; p; p = p->next) {
			uint64_t until = p->last_ts;

			if (!p->dying)
				continue;
			if (p->gone_ts != GONE_ANY && p->gone_ts > until)
				until = p->gone_ts;
			proc_clear(m, p);
			p->tomb = true;
			p->tomb_ts = until;
			m->nr_tombs++;
		}
	}
}

/* ---- /proc ---- */

struct proc_read {
	struct mt_maptrack *m;
	struct spans got;
	bool oom;
};

static bool keep_proc_map(void *ctx, const struct procfs_map *pm)
{
	struct proc_read *r = ctx;
	struct mt_mapping *s;

	if (!is_file(pm->path) || pm->end <= pm->start)
		return true;
	if (!grow((void **)&r->got.v, &r->got.cap, r->got.n + 1, sizeof(*r->got.v)))
		goto oom;
	s = &r->got.v[r->got.n];
	*s = (struct mt_mapping){
		.start = pm->start,
		.end = pm->end,
		.pgoff = pm->offset,
		.dev_major = pm->dev_major,
		.dev_minor = pm->dev_minor,
		.ino = pm->inode,
		.exec = pm->perms[2] == 'x',
	};
	s->path = intern(r->m, pm->path);
	if (!s->path)
		goto oom;
	r->got.n++;
	return true;
oom:
	r->oom = true;
	return false;
}

int maptrack_read_proc(struct mt_maptrack *m, uint32_t pid)
{
	struct proc_read r = { .m = m };
	struct proc *p = lookup(m, pid);
	uint64_t when = now_ns();
	int err;

	if (!pid)
		return -EINVAL;
	/* what the kernel recorded since its exec, or its fork from a known parent, is complete */
	if (p && !p->tomb && (p->proc_ts || p->nr_execs || (p->fork_ts && parent_of(m, p))))
		return 0;
	err = procfs_read_maps((int)pid, keep_proc_map, &r);
	if (!err && r.oom)
		err = -ENOMEM;
	if (err == -ESRCH)
		err = -ENOENT;
	if (!err && !p && !(p = proc_new(m, pid)))
		err = -ENOMEM;
	if (err) {
		spans_free(m, &r.got);
		return err;
	}
	if (p->tomb)
		revive(m, p);
	for (size_t i = 0; i < r.got.n; i++) {
		if (!add_own(m, p, &r.got.v[i])) {
			for (; i < r.got.n; i++)
				str_unref(m, r.got.v[i].path);
			break;
		}
	}
	free(r.got.v);
	p->proc_ts = when;
	return 0;
}

/* ---- the kernel's records ---- */

/* sample_type PERF_SAMPLE_TID | PERF_SAMPLE_TIME, at the end of every record (sample_id_all) */
struct sample_id {
	uint32_t pid, tid;
	uint64_t time;
};

struct rec_mmap2 {
	struct perf_event_header header;
	uint32_t pid, tid;
	uint64_t addr, len, pgoff;
	union {
		struct {
			uint32_t maj, min;
			uint64_t ino, ino_generation;
		};
		struct {
			uint8_t build_id_size, reserved_1;
			uint16_t reserved_2;
			uint8_t build_id[20];
		};
	};
	uint32_t prot, flags;
	/* then the file name, NUL-padded to 8 bytes */
};

struct rec_comm {
	struct perf_event_header header;
	uint32_t pid, tid;
};

struct rec_task {
	struct perf_event_header header;
	uint32_t pid, ppid, tid, ptid;
	uint64_t time;
};

struct rec_lost {
	struct perf_event_header header;
	uint64_t id, lost;
};

static void apply_mmap2(struct mt_maptrack *m, const unsigned char *rec, size_t len, uint64_t ts)
{
	const char *name = (const char *)rec + sizeof(struct rec_mmap2);
	size_t room = len - sizeof(struct sample_id) - sizeof(struct rec_mmap2);
	struct rec_mmap2 r;

	if (len < sizeof(r) + sizeof(struct sample_id) || !memchr(name, '\0', room))
		return;
	memcpy(&r, rec, sizeof(r));
	/* with a build id (attr.build_id) the device and inode are not given */
	if (r.header.misc & PERF_RECORD_MISC_MMAP_BUILD_ID) {
		r.maj = r.min = 0;
		r.ino = 0;
	}
	maptrack_mmap(m, r.pid, ts, r.addr, r.len, r.pgoff, r.maj, r.min, r.ino,
		      r.prot & PROT_EXEC, name);
}

void maptrack_record(struct mt_maptrack *m, const void *rec, size_t len)
{
	struct perf_event_header h;
	struct sample_id id;

	if (len < sizeof(h) + sizeof(id))
		return;
	memcpy(&h, rec, sizeof(h));
	memcpy(&id, (const unsigned char *)rec + len - sizeof(id), sizeof(id));
	switch (h.type) {
	case PERF_RECORD_MMAP2:
		apply_mmap2(m, rec, len, id.time);
		break;
	case PERF_RECORD_COMM: {
		struct rec_comm r;

		/* a rename (prctl) keeps the mappings */
		if (len < sizeof(r) + sizeof(id) || !(h.misc & PERF_RECORD_MISC_COMM_EXEC))
			break;
		memcpy(&r, rec, sizeof(r));
		maptrack_exec(m, r.pid, id.time);
		break;
	}
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT: {
		struct rec_task r;

		if (len < sizeof(r) + sizeof(id))
			break;
		memcpy(&r, rec, sizeof(r));
		if (h.type == PERF_RECORD_FORK)
			maptrack_fork(m, r.pid, r.ppid, id.time);
		else if (r.pid == r.tid) /* another thread's exit leaves the process */
			maptrack_exit(m, r.pid, id.time);
		break;
	}
	case PERF_RECORD_LOST: {
		struct rec_lost r;

		if (len < sizeof(r) + sizeof(id))
			break;
		memcpy(&r, rec, sizeof(r));
		m->lost += r.lost;
		break;
	}
	}
}

static void drain_ring(struct mt_maptrack *m, struct ring *r)
{
	uint64_t head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = r->meta->data_tail;

	while (tail < head) {
		uint64_t off = tail & (r->size - 1);
		struct perf_event_header h;
		const void *rec = r->data + off;

		/* records are 8-byte aligned: a header never wraps */
		memcpy(&h, rec, sizeof(h));
		if (h.size < sizeof(h) || h.size > head - tail) {
			tail = head; /* cannot happen; skip what cannot be parsed */
			break;
		}
		if (off + h.size > r->size) {
			size_t first = (size_t)(r->size - off);

			memcpy(m->rec, rec, first);
			memcpy((unsigned char *)m->rec + first, r->data, h.size - first);
			rec = m->rec;
		}
		maptrack_record(m, rec, h.size);
		tail += h.size;
	}
	/* the kernel may write over what was read only after this */
	__atomic_store_n(&r->meta->data_tail, tail, __ATOMIC_RELEASE);
}

void maptrack_drain(struct mt_maptrack *m)
{
	for (int i = 0; i < m->nr_rings; i++)
		drain_ring(m, &m->rings[i]);
}

uint64_t maptrack_lost(const struct mt_maptrack *m)
{
	return m->lost;
}

static void close_perf(struct mt_maptrack *m)
{
	for (int i = 0; i < m->nr_rings; i++) {
		munmap(m->rings[i].meta, m->rings[i].map_len);
		close(m->rings[i].fd);
	}
	free(m->rings);
	m->rings = NULL;
	m->nr_rings = 0;
}

static int open_ring(struct ring *r, int cpu)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(a),
		.config = PERF_COUNT_SW_DUMMY,
		.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME,
		/* mmap too: the kernel counts mmap watchers by it alone (mmap2 picks the layout) */
		.mmap = 1,
		.mmap2 = 1,
		.comm = 1,
		.comm_exec = 1,
		.task = 1,
		.sample_id_all = 1,
		/* bpf_ktime_get_ns()'s clock: a sample's time compares with the records' */
		.use_clockid = 1,
		.clockid = CLOCK_MONOTONIC,
	};
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	r->fd = (int)syscall(__NR_perf_event_open, &a, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (r->fd < 0)
		return -errno;
	/* writable: the kernel then keeps what is not read yet and counts what it loses */
	r->map_len = (1 + RING_PAGES) * page;
	p = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (p == MAP_FAILED) {
		int err = -errno;

		close(r->fd);
		return err;
	}
	r->meta = p;
	r->data = (unsigned char *)p + (r->meta->data_offset ? r->meta->data_offset : page);
	r->size = r->meta->data_size ? r->meta->data_size : RING_PAGES * page;
	return 0;
}

int maptrack_open_perf(struct mt_maptrack *m)
{
	char text[4096];
	ssize_t n = mt_read_into("/sys/devices/system/cpu/online", text, sizeof(text));
	char *s = text;
	int err = 0;

	if (n < 0)
		return (int)n;
	close_perf(m);
	/* "0-3,5,7-8" */
	while (!err && *s && *s != '\n') {
		char *end;
		long lo = strtol(s, &end, 10), hi = lo;

		if (end == s || lo < 0)
			err = -EINVAL;
		else if (*end == '-')
			hi = strtol(end + 1, &end, 10);
		if (err || hi < lo || hi > 65535) {
			err = -EINVAL;
			break;
		}
		for (long cpu = lo; cpu <= hi && !err; cpu++) {
			struct ring *rings = realloc(m->rings, (m->nr_rings + 1) * sizeof(*rings));

			if (!rings) {
				err = -ENOMEM;
				break;
			}
			m->rings = rings;
			err = open_ring(&m->rings[m->nr_rings], (int)cpu);
			if (!err)
				m->nr_rings++;
		}
		s = *end == ',' ? end + 1 : end;
	}
	if (!err && !m->nr_rings)
		err = -ENOENT;
	if (err)
		close_perf(m);
	return err;
}

struct mt_maptrack *maptrack_new(void)
{
	return calloc(1, sizeof(struct mt_maptrack));
}

void maptrack_free(struct mt_maptrack *m)
{
	if (!m)
		return;
	close_perf(m);
	for (size_t b = 0; b < m->proc_buckets; b++) {
		for (struct proc *p = m->procs[b], *next; p; p = next) {
			next = p->next;
			proc_clear(m, p);
			free(p);
		}
	}
	free(m->procs);
	free(m->strs); /* every path was released with its mappings */
	free(m->cands);
	free(m->bounds);
	free(m->pieces.v);
	free(m);
}
