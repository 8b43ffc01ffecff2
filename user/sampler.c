// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "log.h"
#include "sampler.h"
#include "units.h"

struct mt_proc {
	struct mt_proc *next;
	uint32_t pid;
	uint64_t start_ns;
	bool is_root;	/* the root of its tree itself, not a descendant */
	int root_index; /* the tree it belongs to, -1 if none */
	bool started;	      /* start row written */
	/* what the last row said: change detection and rss_delta_bytes */
	uint64_t row_rss;
	uint64_t row_peak;
	uint64_t row_faults;
	uint64_t row_pages;
	char row_comm[MT_COMM_LEN];
	bool oom_reported; /* one oom_kill row per process, though the kernel marks threads */
	uint64_t live_mark; /* the live view's slot (its RSS at the previous frame) */
	uint64_t row_ns;    /* time of its latest row */
	struct mt_rss_hist hist;
	/* the entry's gen when proc_updated was last called: where the kernel refuses the map
	 * iterator every scan reads every entry, and the unchanged ones need not be told */
	bool told;
	uint32_t told_gen;
};

static size_t bucket_of(const struct mt_sampler *s, uint32_t pid)
{
	return (pid * 2654435761u) & (s->nbuckets - 1);
}

static void grow_table(struct mt_sampler *s)
{
	size_t n = s->nbuckets ? s->nbuckets * 2 : 1024;
	struct mt_proc **b = calloc(n, sizeof(*b));

	if (!b)
		abort();
	for (size_t i = 0; i < s->nbuckets; i++) {
		struct mt_proc *p = s->buckets[i], *next;

		for (; p; p = next) {
			next = p->next;
			size_t j = (p->pid * 2654435761u) & (n - 1);
			p->next = b[j];
			b[j] = p;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = n;
}

static struct mt_proc *find_proc(struct mt_sampler *s, uint32_t pid)
{
	struct mt_proc *p;

	if (!s->nbuckets)
		return NULL;
	for (p = s->buckets[bucket_of(s, pid)]; p; p = p->next)
		if (p->pid == pid)
			return p;
	return NULL;
}

static struct mt_proc *new_proc(struct mt_sampler *s, uint32_t pid, uint64_t start_ns)
{
	struct mt_proc *p = calloc(1, sizeof(*p));

	if (!p)
		abort();
	if (s->nprocs >= s->nbuckets)
		grow_table(s);
	p->pid = pid;
	p->start_ns = start_ns;
	p->root_index = -1;
	p->live_mark = UINT64_MAX;
	size_t b = bucket_of(s, pid);
	p->next = s->buckets[b];
	s->buckets[b] = p;
	s->nprocs++;
	return p;
}

/* final: the exit statistics of a process that exited; NULL when it vanished or never ran */
static void drop_proc(struct mt_sampler *s, struct mt_proc *victim, const struct proc_stats *final)
{
	struct mt_proc **pp = &s->buckets[bucket_of(s, victim->pid)];

	if (s->opts.hooks.proc_gone)
		s->opts.hooks.proc_gone(s->opts.hooks.ctx, victim->pid, victim->start_ns, final);
	for (; *pp; pp = &(*pp)->next) {
		if (*pp == victim) {
			*pp = victim->next;
			free(victim);
			s->nprocs--;
			return;
		}
	}
}

void sampler_init(struct mt_sampler *s, struct mt_writer *w, const struct mt_sampler_opts *opts)
{
	memset(s, 0, sizeof(*s));
	s->w = w;
	s->opts = *opts;
	grow_table(s);
}

void sampler_free(struct mt_sampler *s)
{
	for (size_t i = 0; i < s->nbuckets; i++) {
		struct mt_proc *p = s->buckets[i], *next;

		for (; p; p = next) {
			next = p->next;
			free(p);
		}
	}
	free(s->buckets);
	free(s->sum.roots);
	memset(s, 0, sizeof(*s));
}

static void write_row(struct mt_sampler *s, struct mt_proc *p, enum mt_row_event event,
		      uint64_t mono_ns, const struct proc_stats *st, const char *detail)
{
	uint64_t rss = mt_rss_bytes(st);

	/*
	 * A record stamped in the kernel just before a scan can reach the ring buffer just after
	 * the scan has drained it (another CPU): its row then comes after the scan's. A process's
	 * rows stay in time order: such a row takes the time of the one before it.
	 */
	if (p->started && mono_ns < p->row_ns)
		mono_ns = p->row_ns;
	p->row_ns = mono_ns;
	struct mt_row row = {
		.mono_ns = mono_ns,
		.pid = (int)p->pid,
		.ppid = (int)st->ppid,
		.comm = st->comm,
		.event = event,
		.rss_bytes = rss,
		.anon_bytes = st->anon_bytes,
		.file_bytes = st->file_bytes,
		.shmem_bytes = st->shmem_bytes,
		.peak_rss_bytes = st->peak_rss_bytes,
		.rss_delta_bytes = p->started ? (int64_t)(rss - p->row_rss) : 0,
		.faults = st->faults,
		.pages_alloc = st->pages_alloc,
		.detail = detail,
		.root = p->is_root,
	};

	writer_row(s->w, &row);
	rss_hist_add(&p->hist, mono_ns > s->w->start_mono_ns ? mono_ns - s->w->start_mono_ns : 0, rss);
	p->started = true;
	p->row_rss = rss;
	p->row_peak = st->peak_rss_bytes;
	p->row_faults = st->faults;
	p->row_pages = st->pages_alloc;
	memcpy(p->row_comm, st->comm, MT_COMM_LEN);
}

static bool changed_since_row(const struct mt_proc *p, const struct proc_stats *st)
{
	return mt_rss_bytes(st) != p->row_rss || st->peak_rss_bytes != p->row_peak ||
	       st->faults != p->row_faults || st->pages_alloc != p->row_pages ||
	       memcmp(st->comm, p->row_comm, MT_COMM_LEN);
}

/* The root of p's tree, and the root record of p itself if p is a root. Indexes, not pointers:
 * the roots array grows. */
static struct mt_root *root_of(struct mt_sampler *s, const struct mt_proc *p)
{
	return p->root_index >= 0 ? &s->sum.roots[p->root_index] : NULL;
}

static struct mt_root *own_root(struct mt_sampler *s, const struct mt_proc *p)
{
	return p->is_root ? root_of(s, p) : NULL;
}

/* Keep the largest peaks of the trace: a process has one slot, the list stays sorted. */
static void note_top_peak(struct mt_sampler *s, const struct mt_proc *p, const struct proc_stats *st)
{
	struct mt_top_peak *top = s->sum.top_peaks;
	size_t i, n = MT_TOP_PEAKS;

	if (st->peak_rss_bytes <= top[n - 1].peak_rss_bytes)
		return;
	for (i = 0; i < n - 1; i++)
		if (top[i].pid == p->pid && top[i].start_ns == p->start_ns && top[i].peak_rss_bytes)
			break;
	/* i: its own slot, or the last one; move it up to where it belongs */
	while (i > 0 && top[i - 1].peak_rss_bytes < st->peak_rss_bytes) {
		top[i] = top[i - 1];
		i--;
	}
	top[i].pid = p->pid;
	top[i].start_ns = p->start_ns;
	top[i].peak_rss_bytes = st->peak_rss_bytes;
	memcpy(top[i].comm, st->comm, MT_COMM_LEN);
}

/* Keep the root's view of itself and of its tree current. */
static void note_stats(struct mt_sampler *s, struct mt_proc *p, const struct proc_stats *st)
{
	struct mt_root *r = root_of(s, p);

	note_top_peak(s, p, st);
	if (s->opts.hooks.proc_updated && (!p->told || st->gen != p->told_gen)) {
		p->told = true;
		p->told_gen = st->gen;
		s->opts.hooks.proc_updated(s->opts.hooks.ctx, p->pid, st);
	}
	if (!r)
		return;
	if (p->is_root) {
		r->stats = *st;
		memcpy(r->comm, st->comm, MT_COMM_LEN);
	} else if (st->peak_rss_bytes > r->top_child_peak) {
		r->top_child_peak = st->peak_rss_bytes;
		r->top_child_pid = p->pid;
		memcpy(r->top_child_comm, st->comm, MT_COMM_LEN);
	}
}

static void format_exit_detail(char *buf, size_t len, int status)
{
	if (WIFSIGNALED(status)) {
		char name[32];

		snprintf(buf, len, "signal=%s%s", mt_signal_name(WTERMSIG(status), name, sizeof(name)),
			 WCOREDUMP(status) ? " core_dumped=1" : "");
	} else {
		snprintf(buf, len, "exit_code=%d", WEXITSTATUS(status));
	}
}

static void write_start(struct mt_sampler *s, struct mt_proc *p, uint64_t mono_ns,
			const struct proc_stats *st)
{
	struct mt_root *r = own_root(s, p);

	write_row(s, p, MT_ROW_START, mono_ns, st, NULL);
	s->sum.procs_started++;
	note_stats(s, p, st);
	if (r) {
		r->start_mono_ns = mono_ns;
		r->start_ns = st->start_ns;
	}
}

static void write_exit(struct mt_sampler *s, struct mt_proc *p, uint64_t mono_ns,
		       const struct proc_stats *st)
{
	char detail[64];

	format_exit_detail(detail, sizeof(detail), st->exit_status);
	write_row(s, p, MT_ROW_EXIT, mono_ns, st, detail);
	s->sum.procs_exited++;
	note_stats(s, p, st);
	struct mt_root *r = own_root(s, p);

	if (r) {
		r->exited = true;
		r->exit_status = st->exit_status;
		r->end_mono_ns = mono_ns;
		if (!r->launched) {
			r->utime_ns = st->utime_ns;
			r->stime_ns = st->stime_ns;
			r->cpu_known = true;
		}
	}
	drop_proc(s, p, st);
}

/* A process the table does not know yet: a child whose fork record was not seen. */
static struct mt_proc *adopt(struct mt_sampler *s, uint32_t pid, const struct proc_stats *st)
{
	struct mt_proc *p = new_proc(s, pid, st->start_ns);
	struct mt_proc *parent = find_proc(s, st->ppid);

	if (parent) {
		p->root_index = parent->root_index;
		if (p->root_index >= 0)
			s->sum.roots[p->root_index].descendants++;
	}
	return p;
}

/*
 * The pid now names another process (it was reused) and the old one's exit was never seen:
 * close its rows honestly rather than mix two processes.
 */
static void retire_vanished(struct mt_sampler *s, struct mt_proc *old, uint64_t mono_ns)
{
	s->sum.exits_unexplained++;
	mt_debug("pid %u was reused before its exit was seen", old->pid);
	struct mt_root *r = own_root(s, old);

	if (r) {
		r->exited = true;
		r->end_mono_ns = mono_ns;
	}
	drop_proc(s, old, NULL);
}

/*
 * The table's entry for the process (pid, start_ns), or NULL. An entry under that pid for an
 * earlier process is retired: the pid was reused.
 */
static struct mt_proc *current_proc(struct mt_sampler *s, uint32_t pid, uint64_t start_ns,
				    uint64_t mono_ns)
{
	struct mt_proc *p = find_proc(s, pid);

	if (p && p->started && p->start_ns != start_ns) {
		retire_vanished(s, p, mono_ns);
		p = NULL;
	}
	return p;
}

/* The table's entry for a process an event names, with its start row out. */
static struct mt_proc *started_proc(struct mt_sampler *s, uint32_t pid,
				    const struct proc_stats *st, uint64_t mono_ns)
{
	struct mt_proc *p = current_proc(s, pid, st->start_ns, mono_ns);

	if (!p)
		p = adopt(s, pid, st);
	if (!p->started)
		write_start(s, p, mono_ns, st);
	return p;
}

static void limit_row(struct mt_sampler *s, const struct mt_event *e)
{
	struct mt_proc *p = started_proc(s, e->pid, &e->stats, e->ts_ns);
	struct mt_root *r = root_of(s, p);
	char detail[128];

	if (e->signal) {
		char name[32];

		snprintf(detail, sizeof(detail), "limit_bytes=%llu action=kill signal=%s",
			 (unsigned long long)s->opts.rss_limit,
			 mt_signal_name((int)e->signal, name, sizeof(name)));
		if (e->ev_flags & MT_EVF_SIGNAL_DEFERRED)
			strncat(detail, " sent_from=user", sizeof(detail) - strlen(detail) - 1);
	} else {
		snprintf(detail, sizeof(detail), "limit_bytes=%llu action=warn",
			 (unsigned long long)s->opts.rss_limit);
	}
	write_row(s, p, MT_ROW_LIMIT, e->ts_ns, &e->stats, detail);
	note_stats(s, p, &e->stats);
	if (r)
		r->limit_crossings++;
	s->sum.limit_rows++;
	if (s->opts.hooks.limit_crossed)
		s->opts.hooks.limit_crossed(s->opts.hooks.ctx, e);
}

/* The kernel marks every thread of a victim: an untraced victim is told once, too. */
static bool untraced_seen(struct mt_sampler *s, const struct mt_oom_report *o)
{
	size_t n = sizeof(s->untraced_victims) / sizeof(s->untraced_victims[0]);

	for (size_t i = 0; i < n; i++)
		if (s->untraced_victims[i].pid == o->pid &&
		    s->untraced_victims[i].start_ns == o->stats.start_ns)
			return true;
	s->untraced_victims[s->untraced_next % n].pid = o->pid;
	s->untraced_victims[s->untraced_next % n].start_ns = o->stats.start_ns;
	s->untraced_next++;
	return false;
}

static void oom_kill_row(struct mt_sampler *s, const struct mt_oom_event *e)
{
	struct mt_oom_report o;
	struct strbuf detail;
	struct mt_proc *p;
	struct mt_root *r;

	oom_decode(e, &o);
	p = find_proc(s, o.pid);
	if (p && p->started && p->start_ns != o.stats.start_ns)
		p = NULL; /* an older process under the same pid: not this victim */
	if (!o.traced && !p) {
		/* not ours; worth telling only when one of ours made the kernel kill it */
		if (find_proc(s, o.trigger_pid) && !untraced_seen(s, &o)) {
			s->sum.untraced_oom_kills++;
			if (s->opts.hooks.oom_killed)
				s->opts.hooks.oom_killed(s->opts.hooks.ctx, &o, NULL);
		}
		return;
	}
	p = started_proc(s, o.pid, &o.stats, o.mono_ns);
	if (p->oom_reported)
		return;
	p->oom_reported = true;
	sb_init(&detail);
	oom_format_detail(&o, &detail);
	sb_add(&detail, "", 1); /* NUL */
	write_row(s, p, MT_ROW_OOM_KILL, o.mono_ns, &o.stats, detail.data);
	sb_free(&detail);
	note_stats(s, p, &o.stats);
	s->sum.oom_kills++;
	r = root_of(s, p);
	if (r) {
		r->oom_kills++;
		if (p->is_root) {
			r->oom_killed = true;
			r->oom_constraint = o.constraint;
			snprintf(r->oom_memcg, sizeof(r->oom_memcg), "%s", o.memcg);
		}
	}
	if (s->opts.hooks.oom_killed)
		s->opts.hooks.oom_killed(s->opts.hooks.ctx, &o, &p->hist);
}

/*
 * The peak is never below the RSS: a record the kernel was writing while it was copied (a map
 * read, or a program on another CPU changing a counter while this one copies the entry) can
 * hold a counter newer than the peak. The peak it was about to take is at least that RSS.
 */
static const struct proc_stats *whole(const struct proc_stats *st, struct proc_stats *buf)
{
	if (mt_rss_bytes(st) <= st->peak_rss_bytes)
		return st;
	*buf = *st;
	buf->peak_rss_bytes = mt_rss_bytes(st);
	buf->peak_file_bytes = st->file_bytes;
	buf->peak_anon_bytes = st->anon_bytes;
	buf->peak_shmem_bytes = st->shmem_bytes;
	return buf;
}

void sampler_on_event(void *ctx, const struct mt_event *e)
{
	struct mt_sampler *s = ctx;
	struct proc_stats buf;
	const struct proc_stats *st = whole(&e->stats, &buf);
	struct mt_proc *p;

	if (e->type == MT_EV_OOM) {
		oom_kill_row(s, (const struct mt_oom_event *)e);
		return;
	}
	if (e->type == MT_EV_LIMIT) {
		limit_row(s, e);
		return;
	}
	p = current_proc(s, e->pid, st->start_ns, e->ts_ns);
	switch (e->type) {
	case MT_EV_FORK:
		if (!p) {
			p = adopt(s, e->pid, st);
			write_start(s, p, e->ts_ns, st);
		}
		break;
	case MT_EV_EXEC:
		if (!p)
			p = adopt(s, e->pid, st);
		p->start_ns = st->start_ns;
		if (!p->started)
			write_start(s, p, e->ts_ns, st);
		break;
	case MT_EV_EXIT:
		if (!p)
			p = adopt(s, e->pid, st);
		if (!p->started) {
			/* a launched command whose exec failed never became the command */
			struct mt_root *r = own_root(s, p);

			if (r && r->launched) {
				r->exited = true;
				r->exit_status = st->exit_status;
				drop_proc(s, p, NULL);
				break;
			}
			write_start(s, p, e->ts_ns, st);
		}
		write_exit(s, p, e->ts_ns, st);
		break;
	}
}

bool sampler_scan_begin(struct mt_sampler *s, uint64_t now_ns, bool final, bool want_all)
{
	s->now_ns = now_ns;
	s->force_rows = final;
	return final || s->opts.every || want_all;
}

bool sampler_scan_proc(struct mt_sampler *s, uint32_t pid, const struct proc_stats *record)
{
	struct proc_stats buf;
	const struct proc_stats *st = whole(record, &buf);
	struct mt_proc *p;

	if (st->flags & MT_PROC_PRE_EXEC)
		return false;
	p = current_proc(s, pid, st->start_ns, s->now_ns);
	if (!p)
		p = adopt(s, pid, st);
	if (!p->started) {
		write_start(s, p, s->now_ns, st);
		if (!(st->flags & MT_PROC_EXITED))
			return false;
	}
	if (st->flags & MT_PROC_EXITED) {
		/* its exit record was lost (ring buffer full): the map kept it for us */
		write_exit(s, p, st->exit_ns, st);
		return true;
	}
	if (s->force_rows || s->opts.every || changed_since_row(p, st))
		write_row(s, p, MT_ROW_SAMPLE, s->now_ns, st, NULL);
	note_stats(s, p, st);
	if (s->opts.hooks.proc_scanned)
		s->opts.hooks.proc_scanned(s->opts.hooks.ctx, pid, st, &p->live_mark);
	return false;
}

void sampler_scan_end(struct mt_sampler *s, uint64_t entries)
{
	s->force_rows = false;
	s->sum.live_procs = entries;
	if (entries > s->sum.max_live_procs)
		s->sum.max_live_procs = entries;
	writer_interval_end(s->w, s->now_ns);
}

size_t sampler_add_root(struct mt_sampler *s, uint32_t pid, const struct proc_stats *stats,
			const char *label, bool launched, uint64_t now_ns)
{
	struct mt_root *roots = realloc(s->sum.roots, (s->sum.nroots + 1) * sizeof(*roots));
	struct mt_root *r;
	struct mt_proc *p;

	if (!roots)
		abort();
	s->sum.roots = roots;
	r = &s->sum.roots[s->sum.nroots];
	memset(r, 0, sizeof(*r));
	r->pid = pid;
	r->launched = launched;
	r->stats = *stats;
	r->start_ns = stats->start_ns;
	if (!launched) {
		r->utime_base_ns = stats->utime_ns;
		r->stime_base_ns = stats->stime_ns;
	}
	memcpy(r->comm, stats->comm, MT_COMM_LEN);
	snprintf(r->label, sizeof(r->label), "%s", label);
	p = new_proc(s, pid, stats->start_ns);
	p->root_index = (int)s->sum.nroots;
	p->is_root = true;
	s->sum.nroots++;
	if (!launched)
		write_start(s, p, now_ns, stats);
	return s->sum.nroots - 1;
}

void sampler_root_reaped(struct mt_sampler *s, size_t root, int status, uint64_t utime_ns,
			 uint64_t stime_ns)
{
	struct mt_root *r = &s->sum.roots[root];

	r->exited = true;
	r->exit_status = status;
	sampler_root_cpu(s, root, utime_ns, stime_ns);
}

void sampler_root_cpu(struct mt_sampler *s, size_t root, uint64_t utime_ns, uint64_t stime_ns)
{
	struct mt_root *r = &s->sum.roots[root];

	r->utime_ns = utime_ns;
	r->stime_ns = stime_ns;
	r->cpu_known = true;
}

bool sampler_roots_done(const struct mt_sampler *s)
{
	for (size_t i = 0; i < s->sum.nroots; i++)
		if (!s->sum.roots[i].exited)
			return false;
	return true;
}
