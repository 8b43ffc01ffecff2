// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "folded.h"
#include "hash.h"
#include "pyreport.h"
#include "stackprof.h"
#include "units.h"
#include "unwind.h"
#include "xalloc.h"

#define NBUCKETS 16384u
#define NPROCS 1024u
/* native stacks held for their Python sample, which follows within the same drain */
#define MAX_HELD 64
/* frames of a mixed stack: native, and Python in place of the eval loop */
#define MAX_FRAMES (MT_UNWIND_MAX_FRAMES + MT_PY_DEPTH)

struct stack {
	struct stack *next;
	uint64_t hash;
	const struct mt_frame *comm;
	unsigned depth;
	uint64_t bytes, samples;
	const struct mt_frame **frames; /* innermost first */
};

/* A stack kept whole for a process's report. */
struct kept {
	unsigned depth;
	const struct mt_frame *frames[MAX_FRAMES];
};

struct proc {
	struct proc *next;
	uint32_t pid;
	bool has_last, has_oom;
	struct kept last, oom;
};

struct held {
	bool used;
	struct mt_stack_sample head; /* the record without its stack copy */
	unsigned depth;
	const struct mt_frame *frames[MT_UNWIND_MAX_FRAMES];
};

struct mt_stackprof {
	struct mt_unwinder *u;
	struct mt_pyprof *py;
	struct stack *stacks[NBUCKETS];
	size_t nstacks;
	struct proc *procs[NPROCS];
	struct held held[MAX_HELD];
	uint64_t total, samples, mixed, py_lost;
};

/* frames of a stack as reports show it, inlined functions included */
#define MAX_SHOWN 512

struct mt_stackprof *stackprof_new(struct mt_unwinder *u, struct mt_pyprof *py)
{
	struct mt_stackprof *p = mt_xcalloc(1, sizeof(*p));

	p->u = u;
	p->py = py;
	return p;
}

void stackprof_free(struct mt_stackprof *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < NBUCKETS; i++) {
		while (p->stacks[i]) {
			struct stack *s = p->stacks[i];

			p->stacks[i] = s->next;
			free(s->frames);
			free(s);
		}
	}
	for (size_t i = 0; i < NPROCS; i++) {
		while (p->procs[i]) {
			struct proc *pr = p->procs[i];

			p->procs[i] = pr->next;
			free(pr);
		}
	}
	free(p);
}

uint64_t stackprof_total(const struct mt_stackprof *p)
{
	return p->total;
}

static struct proc *find_proc(struct mt_stackprof *p, uint32_t pid, bool make)
{
	struct proc **head = &p->procs[pid % NPROCS], *pr;

	for (pr = *head; pr; pr = pr->next)
		if (pr->pid == pid)
			return pr;
	if (!make)
		return NULL;
	pr = mt_xcalloc(1, sizeof(*pr));
	pr->pid = pid;
	pr->next = *head;
	*head = pr;
	return pr;
}

static uint64_t hash_frames(const struct mt_frame *comm, const struct mt_frame **f, unsigned n)
{
	uint64_t h = mt_hash_mix(0, (uintptr_t)comm);

	for (unsigned i = 0; i < n; i++)
		h = mt_hash_mix(h, (uintptr_t)f[i]);
	return h;
}

/* One sample's stack, weighed. */
static void account(struct mt_stackprof *p, const struct mt_stack_sample *e,
		    const struct mt_frame **frames, unsigned n)
{
	const struct mt_frame *comm;
	struct proc *pr = find_proc(p, e->pid, true);
	struct kept *k = (e->flags & MT_STKF_OOM) ? &pr->oom : &pr->last;
	char name[MT_COMM_LEN + 1];

	k->depth = n < MAX_FRAMES ? n : MAX_FRAMES;
	memcpy(k->frames, frames, k->depth * sizeof(*frames));
	if (e->flags & MT_STKF_OOM) {
		pr->has_oom = true;
		return;
	}
	pr->has_last = true;
	memcpy(name, e->comm, MT_COMM_LEN);
	name[MT_COMM_LEN] = '\0';
	for (char *c = name; *c; c++)
		if (*c == ';' || *c == ' ' || *c == '\n')
			*c = '_';
	comm = unwind_intern(p->u, name[0] ? name : "?", 0);

	uint64_t h = hash_frames(comm, frames, n);
	struct stack **head = &p->stacks[h % NBUCKETS], *s;

	for (s = *head; s; s = s->next)
		if (s->hash == h && s->comm == comm && s->depth == n &&
		    !memcmp(s->frames, frames, n * sizeof(*frames)))
			break;
	if (!s) {
		s = mt_xcalloc(1, sizeof(*s));
		s->hash = h;
		s->comm = comm;
		s->depth = n;
		s->frames = mt_xcalloc(n ? n : 1, sizeof(*frames));
		memcpy(s->frames, frames, n * sizeof(*frames));
		s->next = *head;
		*head = s;
		p->nstacks++;
	}
	s->bytes += e->weight_bytes;
	s->samples++;
	p->total += e->weight_bytes;
	p->samples++;
}

void stackprof_on_sample(struct mt_stackprof *p, const struct mt_stack_sample *e)
{
	const struct mt_frame *frames[MT_UNWIND_MAX_FRAMES];
	unsigned n = unwind_sample(p->u, e, frames, MT_UNWIND_MAX_FRAMES);
	struct held *h = NULL;

	if (!(e->flags & MT_STKF_PYTHON) || !p->py) {
		account(p, e, frames, n);
		return;
	}
	/* its Python sample is the next record of this thread: hold it until then */
	for (int i = 0; i < MAX_HELD && !h; i++)
		if (!p->held[i].used)
			h = &p->held[i];
	if (!h) {
		stackprof_flush(p);
		h = &p->held[0];
	}
	h->used = true;
	memcpy(&h->head, e, offsetof(struct mt_stack_sample, data));
	h->depth = n;
	memcpy(h->frames, frames, n * sizeof(*frames));
}

/* A Python frame as the Python report writes it. */
static const struct mt_frame *py_frame(struct mt_stackprof *p, uint32_t pid,
				       const struct mt_py_frame *f)
{
	char text[MT_PY_FILE_LEN + MT_PY_NAME_LEN + 32];

	pyreport_frame_text(p->py, pid, f, text, sizeof(text));
	return unwind_intern(p->u, text, MT_FRAME_PYTHON | MT_FRAME_NAMED | MT_FRAME_LINE);
}

/*
 * The native stack with each eval-loop frame replaced by the Python frames it runs: the Python
 * stack cut at its entry frames, innermost first, one piece per eval frame met innermost
 * first. Pieces left over (the native unwinding stopped short of their eval frames) are outer
 * than everything unwound: they go at the outer end.
 */
static unsigned mix(struct mt_stackprof *p, const struct held *h, const struct mt_py_sample *py,
		    const struct mt_frame **out)
{
	unsigned n = 0, next = 0, depth = py->depth < MT_PY_DEPTH ? py->depth : MT_PY_DEPTH;

	for (unsigned i = 0; i < h->depth && n < MAX_FRAMES; i++) {
		if (!(h->frames[i]->flags & MT_FRAME_EVAL) || next >= depth) {
			out[n++] = h->frames[i];
			continue;
		}
		do {
			out[n++] = py_frame(p, py->pid, &py->frames[next]);
		} while (!(py->entries >> next++ & 1) && next < depth && n < MAX_FRAMES);
	}
	while (next < depth && n < MAX_FRAMES)
		out[n++] = py_frame(p, py->pid, &py->frames[next++]);
	return n;
}

void stackprof_on_py_sample(struct mt_stackprof *p, const struct mt_py_sample *e)
{
	const struct mt_frame *frames[MAX_FRAMES];

	if (!e->stack_seq)
		return;
	for (int i = 0; i < MAX_HELD; i++) {
		struct held *h = &p->held[i];

		if (!h->used || h->head.tid != e->tid || h->head.seq != e->stack_seq)
			continue;
		account(p, &h->head, frames, mix(p, h, e, frames));
		p->mixed++;
		h->used = false;
		return;
	}
}

void stackprof_flush(struct mt_stackprof *p)
{
	for (int i = 0; i < MAX_HELD; i++) {
		struct held *h = &p->held[i];

		if (!h->used)
			continue;
		account(p, &h->head, h->frames, h->depth);
		p->py_lost++;
		h->used = false;
	}
}

void stackprof_exited(struct mt_stackprof *p, uint32_t pid)
{
	struct proc **pp = &p->procs[pid % NPROCS];

	for (int i = 0; i < MAX_HELD; i++) {
		struct held *h = &p->held[i];

		if (h->used && h->head.pid == pid) {
			account(p, &h->head, h->frames, h->depth);
			p->py_lost++;
			h->used = false;
		}
	}
	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->pid == pid) {
			struct proc *pr = *pp;

			*pp = pr->next;
			free(pr);
			break;
		}
	}
	unwinder_forget(p->u, pid);
}

/* ---- reports ---- */

/* A stack as reports show it, innermost first: every address expanded to its lines. */
static unsigned shown(struct mt_stackprof *p, const struct mt_frame *const *frames, unsigned depth,
		      const struct mt_frame **out)
{
	unsigned n = 0;

	for (unsigned i = 0; i < depth && n < MAX_SHOWN; i++)
		n += unwind_expand(p->u, frames[i], out + n, MAX_SHOWN - n);
	return n;
}

int stackprof_folded(struct mt_stackprof *p, FILE *out)
{
	const struct mt_frame **f = mt_xcalloc(MAX_SHOWN, sizeof(*f));
	struct mt_folded folded = { 0 };
	struct strbuf stack;

	sb_init(&stack);
	for (size_t b = 0; b < NBUCKETS; b++) {
		for (const struct stack *s = p->stacks[b]; s; s = s->next) {
			unsigned n = shown(p, s->frames, s->depth, f);

			folded_frame(&stack, s->comm->text);
			for (unsigned i = n; i-- > 0;)
				folded_frame(&stack, f[i]->text);
			folded_add(&folded, &stack, s->bytes);
		}
	}
	free(f);
	return folded_write(&folded, out);
}

struct func_acc {
	struct func_acc *next;
	const struct mt_frame *f;
	uint64_t self, total;
};

static int cmp_func(const void *a, const void *b)
{
	const struct stackprof_func *x = a, *y = b;

	if (x->self != y->self)
		return x->self < y->self ? 1 : -1;
	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	return strcmp(x->text, y->text);
}

size_t stackprof_top(struct mt_stackprof *p, struct stackprof_func **out)
{
	struct func_acc **tab = mt_xcalloc(NBUCKETS, sizeof(*tab));
	const struct mt_frame **frames = mt_xcalloc(MAX_SHOWN, sizeof(*frames));
	size_t n = 0;

	for (size_t b = 0; b < NBUCKETS; b++) {
		for (const struct stack *s = p->stacks[b]; s; s = s->next) {
			unsigned depth = shown(p, s->frames, s->depth, frames);

			for (unsigned i = 0; i < depth; i++) {
				const struct mt_frame *f = frames[i]->func;
				struct func_acc **head = &tab[((uintptr_t)f >> 4) % NBUCKETS], *a;
				bool again = false;

				/* a recursive function counts once per stack in its total */
				for (unsigned j = 0; j < i; j++)
					again |= frames[j]->func == f;
				for (a = *head; a && a->f != f; a = a->next)
					;
				if (!a) {
					a = mt_xcalloc(1, sizeof(*a));
					a->f = f;
					a->next = *head;
					*head = a;
					n++;
				}
				if (!i)
					a->self += s->bytes;
				if (!again)
					a->total += s->bytes;
			}
		}
	}
	struct stackprof_func *v = mt_xcalloc(n ? n : 1, sizeof(*v));
	size_t k = 0;

	for (size_t b = 0; b < NBUCKETS; b++) {
		while (tab[b]) {
			struct func_acc *a = tab[b];

			tab[b] = a->next;
			v[k++] = (struct stackprof_func){ a->f->text, a->self, a->total };
			free(a);
		}
	}
	free(tab);
	free(frames);
	qsort(v, k, sizeof(*v), cmp_func);
	*out = v;
	return k;
}

void stackprof_summary(struct mt_stackprof *p, FILE *out, unsigned top)
{
	struct mt_unwind_stats st;
	struct stackprof_func *v;
	size_t n;
	char total[32], self[32], all[32];

	unwinder_stats(p->u, &st);
	mt_format_size(p->total, total, sizeof(total));
	fprintf(out, "    %llu samples standing for %s grown", (unsigned long long)p->samples,
		total);
	if (st.samples)
		fprintf(out, "; %.1f frames deep on average, %.1f %% unwound to where the thread "
			     "started",
			(double)st.frames / (double)st.samples,
			100.0 * (double)st.to_root / (double)st.samples);
	fputc('\n', out);
	if (st.cut)
		fprintf(out, "    %llu stacks stopped at the end of the stack copy: a larger "
			     "--stack-size reaches further\n",
			(unsigned long long)st.cut);
	if (st.lost)
		fprintf(out, "    %llu stacks stopped where no unwind information was found (code "
			     "without it, JIT code, or frame pointers missing)\n",
			(unsigned long long)st.lost);
	if (p->mixed || p->py_lost)
		fprintf(out, "    %llu stacks mixed with their Python frames, %llu without (their "
			     "Python sample was lost)\n",
			(unsigned long long)p->mixed, (unsigned long long)p->py_lost);
	if (!p->samples)
		return;
	n = stackprof_top(p, &v);
	fprintf(out, "  Functions that grew memory most (sampled user stacks):\n");
	fprintf(out, "    %10s %10s  %s\n", "self", "total", "function");
	for (size_t i = 0; i < n && i < top && v[i].self; i++) {
		mt_format_size(v[i].self, self, sizeof(self));
		mt_format_size(v[i].total, all, sizeof(all));
		fprintf(out, "    %10s %10s  %s\n", self, all, v[i].text);
	}
	free(v);
}

static void print_kept(struct mt_stackprof *p, FILE *out, const struct kept *k)
{
	const struct mt_frame **f = mt_xcalloc(MAX_SHOWN, sizeof(*f));
	unsigned n = shown(p, k->frames, k->depth, f);

	for (unsigned i = 0; i < n; i++)
		fprintf(out, "    #%-2u %s\n", i, f[i]->text);
	free(f);
}

void stackprof_oom(struct mt_stackprof *p, FILE *out, uint32_t victim, uint32_t trigger)
{
	const struct proc *pr;

	stackprof_flush(p);
	pr = find_proc(p, victim, false);
	if (victim == trigger && pr && pr->has_oom && pr->oom.depth) {
		fprintf(out, "  its stack at the allocation that could not be served:\n");
		print_kept(p, out, &pr->oom);
	} else if (pr && pr->has_last && pr->last.depth) {
		fprintf(out, "  its stack at its last sampled growth:\n");
		print_kept(p, out, &pr->last);
	} else {
		fprintf(out, "  no stack of it was sampled\n");
	}
}
