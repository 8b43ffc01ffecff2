// SPDX-License-Identifier: GPL-2.0
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"
#include "promtext.h"

/* a cgroup path longer than this is cut (and says so with a trailing "...") */
#define CG_PATH_LEN 512
#define ID_CACHE 1024 /* memcg id -> slot; a power of two */

struct cg {
	bool used;
	char path[CG_PATH_LEN];
	uint64_t procs;
	uint64_t anon, file, shmem; /* its live processes' RSS */
	uint64_t faults, pages;	    /* since tracing began, exited processes included */
	uint64_t limits;
	uint64_t idle_since; /* when its last process left (metrics.seq), for eviction */
};

struct proc {
	uint32_t pid;
	uint64_t start_ns;
	uint64_t memcg_id;
	int cg;
	uint64_t anon, file, shmem, faults, pages; /* what its cgroup holds of it */
	struct proc *next;
};

struct oom_series {
	char cgroup[CG_PATH_LEN];
	char constraint[16];
	char victim[MT_COMM_LEN + 1];
	uint64_t kills;
};

struct mt_metrics {
	mt_cgroup_name_fn name;
	void *ctx;
	struct cg cgs[MT_METRICS_MAX_CGROUPS + 1]; /* the last one: "(other)" */
	struct {
		uint64_t id;
		int cg; /* -1: empty */
	} ids[ID_CACHE];
	uint64_t seq;
	struct proc **buckets;
	size_t nbuckets, nprocs;
	struct oom_series *ooms; /* MT_METRICS_MAX_OOM_SERIES + 1, the last "(other)" */
	size_t nooms;
	uint64_t peak_buckets[MT_METRICS_PEAK_BUCKETS];
	uint64_t peak_count, peak_sum;
};

#define OTHER_CG MT_METRICS_MAX_CGROUPS

static void clear_ids(struct mt_metrics *m)
{
	for (size_t i = 0; i < ID_CACHE; i++)
		m->ids[i].cg = -1;
}

struct mt_metrics *metrics_new(mt_cgroup_name_fn name, void *ctx)
{
	struct mt_metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->name = name;
	m->ctx = ctx;
	m->nbuckets = 256;
	m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
	m->ooms = calloc(MT_METRICS_MAX_OOM_SERIES + 1, sizeof(*m->ooms));
	if (!m->buckets || !m->ooms) {
		metrics_free(m);
		return NULL;
	}
	clear_ids(m);
	m->cgs[OTHER_CG].used = false;
	strcpy(m->cgs[OTHER_CG].path, MT_METRICS_OTHER);
	return m;
}

void metrics_free(struct mt_metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nbuckets && m->buckets; i++) {
		struct proc *p = m->buckets[i], *next;

		for (; p; p = next) {
			next = p->next;
			free(p);
		}
	}
	free(m->buckets);
	free(m->ooms);
	free(m);
}

size_t metrics_cgroups(const struct mt_metrics *m)
{
	size_t n = 0;

	for (size_t i = 0; i <= OTHER_CG; i++)
		n += m->cgs[i].used;
	return n;
}

size_t metrics_procs(const struct mt_metrics *m)
{
	return m->nprocs;
}

/* ---- cgroups ---- */

/* A path cut to fit says so with "..." at its end. */
static void copy_path(char *dst, const char *src)
{
	size_t n = strlen(src);

	if (n < CG_PATH_LEN) {
		memcpy(dst, src, n + 1);
		return;
	}
	memcpy(dst, src, CG_PATH_LEN - 4);
	memcpy(dst + CG_PATH_LEN - 4, "...", 4);
}

static size_t id_slot(uint64_t id)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ULL) >> 54) & (ID_CACHE - 1);
}

/* A slot for a new cgroup: a free one, else the one idle longest, else "(other)". */
static int new_cg(struct mt_metrics *m, const char *path)
{
	int victim = -1;

	for (int i = 0; i < MT_METRICS_MAX_CGROUPS; i++) {
		if (!m->cgs[i].used) {
			victim = i;
			break;
		}
		if (!m->cgs[i].procs &&
		    (victim < 0 || m->cgs[i].idle_since < m->cgs[victim].idle_since))
			victim = i;
	}
	if (victim < 0) {
		m->cgs[OTHER_CG].used = true;
		return OTHER_CG;
	}
	if (m->cgs[victim].used) {
		/* its series end here; ids that named it must be asked again */
		for (size_t i = 0; i < ID_CACHE; i++)
			if (m->ids[i].cg == victim)
				m->ids[i].cg = -1;
	}
	memset(&m->cgs[victim], 0, sizeof(m->cgs[victim]));
	m->cgs[victim].used = true;
	copy_path(m->cgs[victim].path, path);
	return victim;
}

static int cg_by_path(struct mt_metrics *m, const char *path)
{
	for (int i = 0; i < MT_METRICS_MAX_CGROUPS; i++)
		if (m->cgs[i].used && !strncmp(m->cgs[i].path, path, CG_PATH_LEN - 4))
			return i;
	return new_cg(m, path);
}

static int cg_of(struct mt_metrics *m, uint64_t id, uint32_t pid)
{
	char path[CG_PATH_LEN + 8];
	size_t slot = id_slot(id);
	int cg;

	if (id && m->ids[slot].cg >= 0 && m->ids[slot].id == id)
		return m->ids[slot].cg;
	if (!m->name || m->name(m->ctx, id, pid, path, sizeof(path)))
		snprintf(path, sizeof(path), "%s", MT_METRICS_UNKNOWN);
	cg = cg_by_path(m, path);
	/* an id that could not be named is asked again (the cgroup may be readable later) */
	if (id && cg != OTHER_CG && strcmp(path, MT_METRICS_UNKNOWN)) {
		m->ids[slot].id = id;
		m->ids[slot].cg = cg;
	}
	return cg;
}

/* ---- processes ---- */

static size_t bucket_of(const struct mt_metrics *m, uint32_t pid)
{
	return (pid * 2654435761u) & (m->nbuckets - 1);
}

static void grow(struct mt_metrics *m)
{
	size_t n = m->nbuckets * 2;
	struct proc **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct proc *p = m->buckets[i], *next;

		for (; p; p = next) {
			next = p->next;
			size_t k = (p->pid * 2654435761u) & (n - 1);

			p->next = b[k];
			b[k] = p;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
}

static struct proc **find(struct mt_metrics *m, uint32_t pid)
{
	struct proc **pp = &m->buckets[bucket_of(m, pid)];

	while (*pp && (*pp)->pid != pid)
		pp = &(*pp)->next;
	return pp;
}

/* The process's share of its cgroup's gauges, taken out (it leaves, or moves). */
static void leave_cg(struct mt_metrics *m, struct proc *p)
{
	struct cg *c = &m->cgs[p->cg];

	c->procs--;
	c->anon -= p->anon;
	c->file -= p->file;
	c->shmem -= p->shmem;
	if (!c->procs)
		c->idle_since = ++m->seq;
}

static void join_cg(struct mt_metrics *m, struct proc *p, int cg)
{
	struct cg *c = &m->cgs[cg];

	p->cg = cg;
	c->procs++;
	c->anon += p->anon;
	c->file += p->file;
	c->shmem += p->shmem;
}

/* Counters only go forward: a value lower than the last (never expected) is a new base. */
static uint64_t forward(uint64_t now, uint64_t *last)
{
	uint64_t d = now > *last ? now - *last : 0;

	*last = now;
	return d;
}

static void update(struct mt_metrics *m, struct proc *p, const struct proc_stats *st)
{
	struct cg *c;

	if (st->memcg_id && st->memcg_id != p->memcg_id) {
		int cg = cg_of(m, st->memcg_id, p->pid);

		p->memcg_id = st->memcg_id;
		if (cg != p->cg) {
			leave_cg(m, p);
			join_cg(m, p, cg);
		}
	}
	c = &m->cgs[p->cg];
	c->anon += st->anon_bytes - p->anon;
	c->file += st->file_bytes - p->file;
	c->shmem += st->shmem_bytes - p->shmem;
	p->anon = st->anon_bytes;
	p->file = st->file_bytes;
	p->shmem = st->shmem_bytes;
	c->faults += forward(st->faults, &p->faults);
	c->pages += forward(st->pages_alloc, &p->pages);
}

static void forget(struct mt_metrics *m, struct proc **pp)
{
	struct proc *p = *pp;

	leave_cg(m, p);
	*pp = p->next;
	free(p);
	m->nprocs--;
}

void metrics_proc(struct mt_metrics *m, uint32_t pid, const struct proc_stats *st)
{
	struct proc **pp, *p;

	/* a launched command before its exec is still a copy of the tracer */
	if (st->flags & MT_PROC_PRE_EXEC)
		return;
	pp = find(m, pid);
	if (*pp && (*pp)->start_ns != st->start_ns) {
		forget(m, pp); /* the pid was reused: the old process is gone */
		pp = find(m, pid);
	}
	if (!*pp) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return;
		if (m->nprocs >= m->nbuckets)
			grow(m);
		p->pid = pid;
		p->start_ns = st->start_ns;
		p->memcg_id = st->memcg_id;
		join_cg(m, p, cg_of(m, st->memcg_id, pid));
		pp = find(m, pid);
		p->next = *pp;
		*pp = p;
		m->nprocs++;
	}
	update(m, *pp, st);
}

static void observe_peak(struct mt_metrics *m, uint64_t peak)
{
	uint64_t bound = MT_METRICS_PEAK_FIRST;

	for (size_t i = 0; i < MT_METRICS_PEAK_BUCKETS; i++, bound <<= 1)
		if (peak <= bound)
			m->peak_buckets[i]++;
	m->peak_count++;
	m->peak_sum += peak;
}

void metrics_proc_gone(struct mt_metrics *m, uint32_t pid, uint64_t start_ns,
		       const struct proc_stats *final)
{
	struct proc **pp = find(m, pid);

	if (!*pp || (*pp)->start_ns != start_ns)
		return;
	if (final) {
		update(m, *pp, final);
		observe_peak(m, final->peak_rss_bytes);
	}
	forget(m, pp);
}

void metrics_limit(struct mt_metrics *m, uint32_t pid, const struct proc_stats *st)
{
	struct proc **pp;

	metrics_proc(m, pid, st);
	pp = find(m, pid);
	if (*pp)
		m->cgs[(*pp)->cg].limits++;
}

void metrics_oom(struct mt_metrics *m, const struct mt_oom_report *o)
{
	const char *cgroup = o->memcg[0] ? o->memcg : MT_METRICS_UNKNOWN;
	const char *constraint = oom_constraint_name(o->constraint);
	char victim[MT_COMM_LEN + 1];
	struct oom_series *s;
	size_t i;

	snprintf(victim, sizeof(victim), "%.*s", MT_COMM_LEN, o->stats.comm);
	for (i = 0; i < m->nooms; i++) {
		s = &m->ooms[i];
		if (!strncmp(s->cgroup, cgroup, CG_PATH_LEN - 1) && !strcmp(s->victim, victim) &&
		    !strcmp(s->constraint, constraint))
			break;
	}
	if (i == m->nooms) {
		if (m->nooms == MT_METRICS_MAX_OOM_SERIES) {
			/* the overflow series: (other) for both free labels, per constraint is
			 * not kept either, or it could grow again */
			s = &m->ooms[MT_METRICS_MAX_OOM_SERIES];
			snprintf(s->cgroup, sizeof(s->cgroup), "%s", MT_METRICS_OTHER);
			snprintf(s->victim, sizeof(s->victim), "%s", MT_METRICS_OTHER);
			snprintf(s->constraint, sizeof(s->constraint), "%s", MT_METRICS_OTHER);
			s->kills++;
			return;
		}
		s = &m->ooms[m->nooms++];
		copy_path(s->cgroup, cgroup);
		snprintf(s->constraint, sizeof(s->constraint), "%s", constraint);
		memcpy(s->victim, victim, sizeof(victim));
	}
	m->ooms[i].kills++;
}

/* ---- exposition ---- */

/* The cgroup families of one value each: where the value is in struct cg. */
static const struct cg_family {
	const char *name, *type, *help;
	size_t field;
} cg_families[] = {
	{ "memtrace_cgroup_processes", "gauge",
	  "Traced processes alive in the cgroup (the memory cgroup they are charged to) at the "
	  "latest scan.",
	  offsetof(struct cg, procs) },
	{ "memtrace_cgroup_page_faults_total", "counter",
	  "User page faults (minor and major) of the cgroup's traced processes since tracing "
	  "began, exited ones included.",
	  offsetof(struct cg, faults) },
	{ "memtrace_cgroup_pages_allocated_total", "counter",
	  "Pages (base pages: an order-n allocation counts 2^n) the page allocator gave the "
	  "cgroup's traced processes since tracing began.",
	  offsetof(struct cg, pages) },
	{ "memtrace_cgroup_rss_limit_crossings_total", "counter",
	  "Traced processes of the cgroup whose RSS crossed the -L limit.",
	  offsetof(struct cg, limits) },
};

static void render_cg_family(const struct mt_metrics *m, const struct cg_family *f,
			     struct strbuf *sb)
{
	promtext_family(sb, f->name, f->type, f->help);
	for (const struct cg *c = m->cgs; c <= &m->cgs[OTHER_CG]; c++) {
		struct promtext_label l = { "cgroup", c->path, 0 };
		uint64_t v;

		if (!c->used)
			continue;
		memcpy(&v, (const char *)c + f->field, sizeof(v));
		promtext_u64(sb, f->name, &l, 1, v);
	}
}

void metrics_render(const struct mt_metrics *m, struct strbuf *sb)
{
	static const char *const types[] = { "anon", "file", "shmem" };

	render_cg_family(m, &cg_families[0], sb);
	promtext_family(sb, "memtrace_cgroup_rss_bytes", "gauge",
			"Sum of the RSS of the cgroup's traced processes, by type (the kernel's "
			"three RSS counters), at the latest scan.");
	for (const struct cg *c = m->cgs; c <= &m->cgs[OTHER_CG]; c++) {
		uint64_t v[3] = { c->anon, c->file, c->shmem };

		for (size_t t = 0; c->used && t < 3; t++) {
			struct promtext_label l[2] = { { "cgroup", c->path, 0 },
						       { "type", types[t], 0 } };

			promtext_u64(sb, "memtrace_cgroup_rss_bytes", l, 2, v[t]);
		}
	}
	for (size_t i = 1; i < sizeof(cg_families) / sizeof(cg_families[0]); i++)
		render_cg_family(m, &cg_families[i], sb);

	promtext_family(sb, "memtrace_oom_kills_total", "counter",
			"OOM kills seen (oom/mark_victim), by the victim's memory cgroup, the "
			"constraint (memcg: a cgroup limit; global: the machine) and the victim's "
			"name.");
	for (size_t i = 0; i <= MT_METRICS_MAX_OOM_SERIES; i++) {
		const struct oom_series *s = &m->ooms[i];

		if (!s->kills)
			continue;
		struct promtext_label l[3] = { { "cgroup", s->cgroup, 0 },
					       { "constraint", s->constraint, 0 },
					       { "victim", s->victim, 0 } };

		promtext_u64(sb, "memtrace_oom_kills_total", l, 3, s->kills);
	}

	promtext_family(sb, "memtrace_process_peak_rss_bytes", "histogram",
			"Exact peak RSS of traced processes at their exit (every change seen in "
			"the kernel, not sampled).");
	uint64_t bound = MT_METRICS_PEAK_FIRST;

	for (size_t i = 0; i < MT_METRICS_PEAK_BUCKETS; i++, bound <<= 1) {
		char le[32];
		struct promtext_label l = { "le", le, 0 };

		snprintf(le, sizeof(le), "%llu", (unsigned long long)bound);
		promtext_u64(sb, "memtrace_process_peak_rss_bytes_bucket", &l, 1,
			     m->peak_buckets[i]);
	}
	struct promtext_label inf = { "le", "+Inf", 0 };

	promtext_u64(sb, "memtrace_process_peak_rss_bytes_bucket", &inf, 1, m->peak_count);
	promtext_u64(sb, "memtrace_process_peak_rss_bytes_sum", NULL, 0, m->peak_sum);
	promtext_u64(sb, "memtrace_process_peak_rss_bytes_count", NULL, 0, m->peak_count);
}
