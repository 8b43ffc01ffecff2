// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "live.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "stackprof.h"
#include "oomlog.h"
#include "targets.h"
#include "units.h"

/* a person cannot read more than this: shorter intervals do not redraw more often */
#define MT_LIVE_MIN_PERIOD_NS 100000000ULL

static double secs_since_start(const struct mt_session *s, uint64_t mono_ns)
{
	return mono_ns > s->start_mono_ns ? (mono_ns - s->start_mono_ns) / 1e9 : 0;
}

/* --oom-log: the report as one JSON line, written at once (a service may be killed next). */
static void log_oom_kill(struct mt_session *s, const struct mt_oom_report *o,
			 const struct mt_rss_hist *hist)
{
	uint64_t real = mt_clock_ns(CLOCK_REALTIME) - (mt_clock_ns(CLOCK_MONOTONIC) - o->mono_ns);
	char host[256] = "";
	struct strbuf sb;

	gethostname(host, sizeof(host) - 1);
	sb_init(&sb);
	oomlog_json(o, hist, s->start_mono_ns, real, host, &sb);
	if (fwrite(sb.data, 1, sb.len, s->oom_log) != sb.len || fflush(s->oom_log))
		mt_warn("writing to %s failed: %s", s->cfg.oom_log_path, strerror(errno));
	sb_free(&sb);
}

static void tell_oom_kill(void *ctx, const struct mt_oom_report *o, const struct mt_rss_hist *hist)
{
	struct mt_session *s = ctx;

	if (s->metrics)
		metrics_oom(s->metrics, o);
	if (s->oom_log)
		log_oom_kill(s, o, hist);

	/* --find-min-limit's trials are OOM-killed on purpose: the trial table tells them */
	if (!s->cfg.find_min_limit)
		report_oom(o, hist, s->start_mono_ns);
	if (s->pyprof && !mt_quiet)
		pyreport_oom(s->pyprof, stderr, o->pid, o->trigger_pid);
	if (s->stackprof && !mt_quiet)
		stackprof_oom(s->stackprof, stderr, o->pid, o->trigger_pid);
	if (s->live) {
		char size[32];

		live_event(s->live, "%.1fs OOM kill: %.16s (pid %u%s) at %s, memcg %s",
			   secs_since_start(s, o->mono_ns), o->stats.comm, o->pid,
			   hist ? "" : ", untraced",
			   mt_format_size(mt_rss_bytes(&o->stats), size, sizeof(size)),
			   o->memcg[0] ? o->memcg : "?");
	}
}

/*
 * A limit crossing: the warning, and the signal if the kernel could not send it (the crossing
 * happened outside the process's own context).
 */
static void tell_limit_crossing(void *ctx, const struct mt_event *e)
{
	struct mt_session *s = ctx;
	const struct proc_stats *st = &e->stats;
	char a[32], b[32], name[32];
	const char *sent = e->signal ? mt_signal_name((int)e->signal, name, sizeof(name)) : "";
	bool deferred = e->signal && (e->ev_flags & MT_EVF_SIGNAL_DEFERRED);

	if (s->metrics)
		metrics_limit(s->metrics, e->pid, st);
	mt_warn("PID %u (%.16s) crossed the RSS limit of %s at %s%s%s%s", e->pid, st->comm,
		mt_format_size(s->cfg.rss_limit, a, sizeof(a)),
		mt_format_size(mt_rss_bytes(st), b, sizeof(b)), e->signal ? ": sent " : "", sent,
		deferred ? " (from user space)" : "");
	if (s->live)
		live_event(s->live, "%.1fs limit: %.16s (pid %u) crossed %s at %s%s%s",
			   secs_since_start(s, e->ts_ns), st->comm, e->pid, a, b,
			   e->signal ? ", sent " : "", sent);
	if (deferred)
		targets_signal(e->pid, st->start_ns, (int)e->signal);
}

/* The sampler's scan, for the frame due (the mark holds the RSS at the previous frame). */
static void feed_frame(void *ctx, uint32_t pid, const struct proc_stats *st, uint64_t *mark)
{
	struct mt_session *s = ctx;

	if (notify_frame_due(s, s->sampler.now_ns))
		live_proc(s->live, pid, st, mark);
}

/* The exporter's sums follow every process's newest statistics. */
static void count_proc(void *ctx, uint32_t pid, const struct proc_stats *st)
{
	struct mt_session *s = ctx;

	if (s->metrics)
		metrics_proc(s->metrics, pid, st);
}

static void uncount_proc(void *ctx, uint32_t pid, uint64_t start_ns, const struct proc_stats *final)
{
	struct mt_session *s = ctx;

	if (s->metrics)
		metrics_proc_gone(s->metrics, pid, start_ns, final);
}

struct mt_sampler_hooks notify_hooks(struct mt_session *s)
{
	return (struct mt_sampler_hooks){
		.limit_crossed = tell_limit_crossing,
		.oom_killed = tell_oom_kill,
		.proc_scanned = feed_frame,
		.proc_updated = count_proc,
		.proc_gone = uncount_proc,
		.ctx = s,
	};
}

/* Before any other stderr output: erase the frame; the next one is drawn below the text. */
static void erase_frame(void *ctx)
{
	live_clear(ctx);
}

void notify_live_start(struct mt_session *s)
{
	struct mt_live_opts opts;

	if (s->cfg.quiet)
		return;
	live_opts_detect(&opts, STDERR_FILENO);
	if (!s->cfg.live && (!opts.terminal || s->cfg.target == MT_TARGET_COMMAND ||
			     (s->writer.fd == STDOUT_FILENO && isatty(STDOUT_FILENO))))
		return;
	s->live = live_new(&opts);
	if (!s->live) {
		mt_warn("no memory for the live view: going on without it");
		return;
	}
	mt_log_hook_ctx = s->live;
	mt_log_hook = erase_frame;
}

bool notify_frame_due(const struct mt_session *s, uint64_t now)
{
	return s->live && now >= s->live_next_ns;
}

void notify_tick(struct mt_session *s, uint64_t now, bool final)
{
	uint64_t drops[MT_DROP_NR], period = s->cfg.interval_ns;
	unsigned width, height;

	if (final || !notify_frame_due(s, now))
		return;
	if (period < MT_LIVE_MIN_PERIOD_NS)
		period = MT_LIVE_MIN_PERIOD_NS;
	/* three quarters of a period on: a tick woken a little early still draws */
	s->live_next_ns = now + period - period / 4;
	bpfobj_drops(&s->bpf, drops);
	if (live_term_size(STDERR_FILENO, &width, &height))
		live_resize(s->live, width, height);
	const struct mt_summary *sum = &s->sampler.sum;
	struct mt_live_totals totals = {
		.elapsed_ns = now - s->start_mono_ns,
		.procs_live = sum->live_procs,
		.procs_exited = sum->procs_exited,
		.rows = s->writer.rows,
		.output = s->writer.path,
		.oom_kills = sum->oom_kills + sum->untraced_oom_kills,
		.limit_crossings = sum->limit_rows,
		.lost = drops[MT_DROP_RINGBUF] + drops[MT_DROP_MAP_FULL],
	};
	live_render(s->live, &totals);
}

void notify_live_end(struct mt_session *s)
{
	if (!s->live)
		return;
	mt_log_hook = NULL;
	mt_log_hook_ctx = NULL;
	live_clear(s->live);
	live_free(s->live);
	s->live = NULL;
}
