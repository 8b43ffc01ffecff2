// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "hash.h"
#include "pylinetable.h"
#include "pyprof.h"
#include "xalloc.h"

/* Buckets of each table: enough for a host's worth of code objects without rehashing. */
#define NBUCKETS 65536u
#define NPROC_BUCKETS 1024u

/* A code object as the BPF side captured it (key: pid, address, identity). */
struct code {
	struct code *next;
	uint32_t pid, ident;
	uint64_t addr;
	int firstlineno;
	char *file, *name;
	uint8_t *table;
	uint32_t table_len;
};

/* One instruction of one code object: what RSS changes it was on the stack for. */
struct site {
	struct site *next;
	uint32_t pid, ident;
	uint64_t code;
	int32_t lasti;
	uint64_t self_grown, self_released, self_n; /* it was the innermost frame */
	uint64_t grown, released, n;		    /* it was on the stack */
	uint64_t max_rss;
};

struct stack {
	struct stack *next;
	uint32_t pid, depth;
	uint64_t hash, grown;
	struct mt_py_frame *frames;
};

struct proc {
	struct proc *next;
	struct pyprof_proc v;
};

struct mt_pyprof {
	struct code *codes[NBUCKETS];
	struct site *sites[NBUCKETS];
	struct stack *stacks[NBUCKETS];
	struct proc *procs[NPROC_BUCKETS];
	unsigned nprocs;
};

struct mt_pyprof *pyprof_new(void)
{
	return mt_xcalloc(1, sizeof(struct mt_pyprof));
}

static struct proc *find_proc(struct mt_pyprof *p, uint32_t pid, bool make)
{
	struct proc **head = &p->procs[pid % NPROC_BUCKETS], *pr;

	for (pr = *head; pr; pr = pr->next)
		if (pr->v.pid == pid)
			return pr;
	if (!make)
		return NULL;
	pr = mt_xcalloc(1, sizeof(*pr));
	pr->v.pid = pid;
	pr->v.root_fd = pr->v.cwd_fd = -1;
	pr->next = *head;
	*head = pr;
	return pr;
}

static void close_dirs(int root_fd, int cwd_fd)
{
	if (root_fd >= 0)
		close(root_fd);
	if (cwd_fd >= 0)
		close(cwd_fd);
}

static void set_dirs(struct proc *pr, int root_fd, int cwd_fd)
{
	close_dirs(pr->v.root_fd, pr->v.cwd_fd);
	pr->v.root_fd = root_fd;
	pr->v.cwd_fd = cwd_fd;
}

void pyprof_process(struct mt_pyprof *p, uint32_t pid, const char *comm, const char *version,
		    int root_fd, int cwd_fd)
{
	struct proc *pr = find_proc(p, pid, true);

	if (!pr->v.python)
		p->nprocs++;
	pr->v.python = true;
	snprintf(pr->v.comm, sizeof(pr->v.comm), "%s", comm ? comm : "");
	snprintf(pr->v.version, sizeof(pr->v.version), "%s", version ? version : "");
	set_dirs(pr, root_fd, cwd_fd);
}

void pyprof_found_at(struct mt_pyprof *p, uint32_t pid, uint64_t rss)
{
	find_proc(p, pid, true)->v.rss_found = rss;
}

void pyprof_forked(struct mt_pyprof *p, uint32_t pid, uint32_t parent, int root_fd, int cwd_fd)
{
	struct proc *pa = find_proc(p, parent, false);

	if (!pa || !pa->v.python) {
		close_dirs(root_fd, cwd_fd);
		return;
	}
	/* the parent may be gone by the report: the child keeps its own copies of everything */
	char comm[MT_COMM_LEN], version[16];

	memcpy(comm, pa->v.comm, sizeof(comm));
	memcpy(version, pa->v.version, sizeof(version));
	pyprof_process(p, pid, comm, version, root_fd, cwd_fd);
}

unsigned pyprof_processes(const struct mt_pyprof *p)
{
	return p->nprocs;
}

static char *utf8_of(unsigned kind, const char *data, uint32_t len)
{
	/* at most 4 bytes of UTF-8 per character, and a NUL */
	size_t cap = (size_t)len * 4 + 1;
	char *out = mt_xcalloc(1, cap);

	py_text_utf8(kind, data, len, out, cap);
	return out;
}

static struct code *find_code(struct mt_pyprof *p, uint32_t pid, uint64_t addr, uint32_t ident)
{
	for (struct code *c = p->codes[mt_hash_mix(mt_hash_mix(pid, addr), ident) % NBUCKETS]; c; c = c->next)
		if (c->pid == pid && c->addr == addr && c->ident == ident)
			return c;
	return NULL;
}

void pyprof_on_code(struct mt_pyprof *p, const struct mt_py_code *m)
{
	uint32_t file_len = m->file_len < MT_PY_FILE_LEN ? m->file_len : MT_PY_FILE_LEN - 1;
	uint32_t name_len = m->name_len < MT_PY_NAME_LEN ? m->name_len : MT_PY_NAME_LEN - 1;
	uint32_t table_len = m->linetable_len < MT_PY_LINETABLE_LEN ? m->linetable_len
								     : MT_PY_LINETABLE_LEN - 1;
	struct code *c;

	if (find_code(p, m->pid, m->code, m->ident))
		return; /* sent again after an LRU eviction: the same object */
	c = mt_xcalloc(1, sizeof(*c));
	c->pid = m->pid;
	c->addr = m->code;
	c->ident = m->ident;
	c->firstlineno = m->firstlineno;
	if (m->file_kind) {
		char *text = utf8_of(m->file_kind, m->file, file_len);

		if (m->flags & MT_PYC_FILE_TRUNCATED) {
			c->file = mt_xcalloc(1, strlen(text) + 4);
			sprintf(c->file, "...%s", text);
			free(text);
		} else {
			c->file = text;
		}
	} else {
		c->file = strdup("<unknown file>");
	}
	c->name = m->name_kind ? utf8_of(m->name_kind, m->name, name_len) : strdup("<unknown>");
	c->table = mt_xcalloc(1, table_len + 1);
	memcpy(c->table, m->linetable, table_len);
	c->table_len = table_len;
	if (!c->file || !c->name)
		abort();

	struct code **head = &p->codes[mt_hash_mix(mt_hash_mix(m->pid, m->code), m->ident) % NBUCKETS];

	c->next = *head;
	*head = c;
}

static struct site *find_site(struct mt_pyprof *p, uint32_t pid, const struct mt_py_frame *f)
{
	uint64_t h = mt_hash_mix(mt_hash_mix(mt_hash_mix(pid, f->code), f->ident), (uint32_t)f->lasti);
	struct site **head = &p->sites[h % NBUCKETS], *s;

	for (s = *head; s; s = s->next)
		if (s->pid == pid && s->code == f->code && s->ident == f->ident && s->lasti == f->lasti)
			return s;
	s = mt_xcalloc(1, sizeof(*s));
	s->pid = pid;
	s->code = f->code;
	s->ident = f->ident;
	s->lasti = f->lasti;
	s->next = *head;
	*head = s;
	return s;
}

static void add_stack(struct mt_pyprof *p, uint32_t pid, const struct mt_py_frame *frames,
		      uint32_t depth, uint64_t grown)
{
	uint64_t h = mt_hash_mix(pid, depth);
	struct stack **head, *s;

	for (uint32_t i = 0; i < depth; i++)
		h = mt_hash_mix(mt_hash_mix(mt_hash_mix(h, frames[i].code), frames[i].ident), (uint32_t)frames[i].lasti);
	head = &p->stacks[h % NBUCKETS];
	for (s = *head; s; s = s->next)
		if (s->hash == h && s->pid == pid && s->depth == depth &&
		    !memcmp(s->frames, frames, depth * sizeof(*frames))) {
			s->grown += grown;
			return;
		}
	s = mt_xcalloc(1, sizeof(*s));
	s->pid = pid;
	s->depth = depth;
	s->hash = h;
	s->grown = grown;
	s->frames = mt_xcalloc(depth ? depth : 1, sizeof(*frames));
	memcpy(s->frames, frames, depth * sizeof(*frames));
	s->next = *head;
	*head = s;
}

static void keep(struct pyprof_stack *k, const struct mt_py_sample *e, uint32_t depth)
{
	k->depth = depth;
	k->flags = e->flags;
	k->rss = e->rss_bytes;
	memcpy(k->frames, e->frames, depth * sizeof(e->frames[0]));
}

static int line_of(const struct code *c, int32_t lasti);

/*
 * Whether frame i's line is already on the stack nearer the top: recursion, or a
 * comprehension's own frame on its line (3.11), ran once for this change. The code records a
 * stack needs come before it in the ring, so its lines are known here.
 */
static bool seen_before(struct mt_pyprof *p, uint32_t pid, const struct mt_py_frame *frames,
			uint32_t i, const char **files, int *lines)
{
	struct code *c = find_code(p, pid, frames[i].code, frames[i].ident);

	files[i] = c ? c->file : NULL;
	lines[i] = line_of(c, frames[i].lasti);
	for (uint32_t j = 0; j < i; j++) {
		if (frames[j].code == frames[i].code && frames[j].ident == frames[i].ident &&
		    frames[j].lasti == frames[i].lasti)
			return true;
		if (files[i] && files[j] && lines[i] == lines[j] && !strcmp(files[i], files[j]))
			return true;
	}
	return false;
}

void pyprof_on_sample(struct mt_pyprof *p, const struct mt_py_sample *e)
{
	struct proc *pr = find_proc(p, e->pid, true);
	uint32_t depth = e->depth < MT_PY_DEPTH ? e->depth : MT_PY_DEPTH;
	const int64_t deltas[] = { e->delta_file, e->delta_anon, e->delta_shmem };
	uint64_t grown = 0, released = 0;

	if (e->flags & MT_PYF_OOM) {
		keep(&pr->v.oom, e, depth);
		pr->v.has_oom = true;
		return;
	}
	/* frames read with offsets that do not fit this interpreter: nothing of them is true */
	if (e->flags & MT_PYF_BAD_CODE)
		return;
	for (size_t i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++) {
		if (deltas[i] > 0)
			grown += (uint64_t)deltas[i];
		else
			released += (uint64_t)-deltas[i];
	}
	pr->v.samples++;
	keep(&pr->v.last, e, depth);
	pr->v.has_last = true;
	if (!pr->v.has_peak || e->rss_bytes >= pr->v.peak.rss) {
		keep(&pr->v.peak, e, depth);
		pr->v.has_peak = true;
	}
	if (!depth) {
		pr->v.outside_grown += grown;
		pr->v.outside_released += released;
	}
	const char *files[MT_PY_DEPTH];
	int lines[MT_PY_DEPTH];

	for (uint32_t i = 0; i < depth; i++) {
		bool again = seen_before(p, e->pid, e->frames, i, files, lines);
		struct site *s;

		if (i > 0 && again)
			continue;
		s = find_site(p, e->pid, &e->frames[i]);
		if (i == 0) {
			s->self_grown += grown;
			s->self_released += released;
			s->self_n++;
		}
		s->grown += grown;
		s->released += released;
		s->n++;
		if (e->rss_bytes > s->max_rss)
			s->max_rss = e->rss_bytes;
	}
	if (grown)
		add_stack(p, e->pid, e->frames, depth, grown);
}

static int line_of(const struct code *c, int32_t lasti)
{
	int line;

	if (!c)
		return -1;
	if (lasti < 0)
		return c->firstlineno;
	line = py_line_of(c->table, c->table_len, c->firstlineno, lasti);
	return line;
}

/* ---- per-line accounts: the sites of a process folded into (file, line) ---- */

static int cmp_rows(const void *a, const void *b)
{
	const struct pyprof_line *x = a, *y = b;
	int c;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	c = strcmp(x->file, y->file);
	if (c)
		return c;
	return (x->line > y->line) - (x->line < y->line);
}

struct pyprof_lines pyprof_lines(struct mt_pyprof *p, uint32_t pid)
{
	struct pyprof_lines r = {};
	size_t cap = 0, out = 0;

	for (size_t b = 0; b < NBUCKETS; b++) {
		for (struct site *s = p->sites[b]; s; s = s->next) {
			if (pid && s->pid != pid)
				continue;
			struct code *c = find_code(p, s->pid, s->code, s->ident);

			if (r.n == cap) {
				cap = cap ? cap * 2 : 256;
				r.v = realloc(r.v, cap * sizeof(*r.v));
				if (!r.v)
					abort();
			}
			r.v[r.n++] = (struct pyprof_line){
				.pid = s->pid,
				.file = c ? c->file : "<code not captured>",
				.name = c ? c->name : "?",
				.line = line_of(c, s->lasti),
				.self_grown = s->self_grown,
				.self_released = s->self_released,
				.self_n = s->self_n,
				.grown = s->grown,
				.released = s->released,
				.n = s->n,
				.max_rss = s->max_rss,
			};
		}
	}
	if (!r.n)
		return r;
	qsort(r.v, r.n, sizeof(*r.v), cmp_rows);
	for (size_t i = 1; i < r.n; i++) {
		struct pyprof_line *a = &r.v[out], *x = &r.v[i];

		if (cmp_rows(a, x)) {
			r.v[++out] = *x;
			continue;
		}
		a->self_grown += x->self_grown;
		a->self_released += x->self_released;
		a->self_n += x->self_n;
		a->grown += x->grown;
		a->released += x->released;
		a->n += x->n;
		if (x->max_rss > a->max_rss)
			a->max_rss = x->max_rss;
	}
	r.n = out + 1;
	return r;
}

void pyprof_file_span(struct mt_pyprof *p, uint32_t pid, const char *file, char *shown, int max)
{
	for (size_t b = 0; b < NBUCKETS; b++) {
		for (struct site *s = p->sites[b]; s; s = s->next) {
			struct code *c;
			int first, last;

			if (s->pid != pid || !(c = find_code(p, pid, s->code, s->ident)) ||
			    strcmp(c->file, file))
				continue;
			if (py_line_span(c->table, c->table_len, c->firstlineno, &first, &last) < 0)
				first = last = c->firstlineno;
			if (c->firstlineno > 0 && c->firstlineno < first)
				first = c->firstlineno;
			for (int l = first > 1 ? first : 1; l <= last && l < max; l++)
				shown[l] = 1;
		}
	}
}

bool pyprof_frame(struct mt_pyprof *p, uint32_t pid, const struct mt_py_frame *f,
		  const char **name, const char **file, int *line)
{
	struct code *c = find_code(p, pid, f->code, f->ident);

	if (!c)
		return false;
	*name = c->name;
	*file = c->file;
	*line = line_of(c, f->lasti);
	return true;
}

const struct pyprof_proc *pyprof_proc(struct mt_pyprof *p, uint32_t pid)
{
	struct proc *pr = find_proc(p, pid, false);

	return pr ? &pr->v : NULL;
}

void pyprof_each_proc(struct mt_pyprof *p, void (*fn)(void *ctx, const struct pyprof_proc *proc),
		      void *ctx)
{
	for (size_t b = 0; b < NPROC_BUCKETS; b++)
		for (struct proc *pr = p->procs[b]; pr; pr = pr->next)
			fn(ctx, &pr->v);
}

void pyprof_each_stack(struct mt_pyprof *p,
		       void (*fn)(void *ctx, uint32_t pid, const struct mt_py_frame *frames,
				  uint32_t depth, uint64_t grown),
		       void *ctx)
{
	for (size_t b = 0; b < NBUCKETS; b++)
		for (struct stack *s = p->stacks[b]; s; s = s->next)
			fn(ctx, s->pid, s->frames, s->depth, s->grown);
}

void pyprof_free(struct mt_pyprof *p)
{
	if (!p)
		return;
	for (size_t b = 0; b < NBUCKETS; b++) {
		for (struct code *c = p->codes[b], *n; c; c = n) {
			n = c->next;
			free(c->file);
			free(c->name);
			free(c->table);
			free(c);
		}
		for (struct site *s = p->sites[b], *n; s; s = n) {
			n = s->next;
			free(s);
		}
		for (struct stack *s = p->stacks[b], *n; s; s = n) {
			n = s->next;
			free(s->frames);
			free(s);
		}
	}
	for (size_t b = 0; b < NPROC_BUCKETS; b++) {
		for (struct proc *pr = p->procs[b], *n; pr; pr = n) {
			n = pr->next;
			set_dirs(pr, -1, -1);
			free(pr);
		}
	}
	free(p);
}
