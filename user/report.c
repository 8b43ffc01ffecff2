// SPDX-License-Identifier: GPL-2.0
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "log.h"
#include "report.h"
#include "units.h"

static void describe_end(const struct mt_root *r, char *buf, size_t len)
{
	if (!r->exited) {
		snprintf(buf, len, "still running when tracing stopped");
	} else if (WIFSIGNALED(r->exit_status) && r->oom_killed) {
		snprintf(buf, len, "OOM-killed (SIGKILL, status 137; constraint %s, memcg %s)",
			 oom_constraint_name(r->oom_constraint),
			 r->oom_memcg[0] ? r->oom_memcg : "?");
	} else if (WIFSIGNALED(r->exit_status)) {
		char name[32];

		snprintf(buf, len, "killed by %s (status %d)",
			 mt_signal_name(WTERMSIG(r->exit_status), name, sizeof(name)),
			 128 + WTERMSIG(r->exit_status));
	} else {
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(r->exit_status));
	}
}

/* -a, -G: the trace as a whole (there is no root process to summarise). */
static void summarize_target(const struct mt_summary *s, const struct mt_report_totals *totals)
{
	char a[32], line[512];
	size_t used = 0;

	mt_info("memtrace-bpf: %s: %llu processes traced over %s (%llu exited, %llu still "
		"running)",
		totals->target, (unsigned long long)s->procs_started,
		mt_format_duration(totals->elapsed_ns, a, sizeof(a)),
		(unsigned long long)s->procs_exited, (unsigned long long)s->live_procs);
	line[0] = '\0';
	for (size_t i = 0; i < MT_TOP_PEAKS && s->top_peaks[i].peak_rss_bytes; i++) {
		const struct mt_top_peak *t = &s->top_peaks[i];
		int n = snprintf(line + used, sizeof(line) - used, "%s%s %.16s (pid %u)",
				 used ? ", " : "", mt_format_size(t->peak_rss_bytes, a, sizeof(a)),
				 t->comm, t->pid);

		if (n < 0 || (size_t)n >= sizeof(line) - used)
			break;
		used += (size_t)n;
	}
	if (used)
		mt_info("  largest peak RSS: %s", line);
	if (s->oom_kills)
		mt_info("  OOM kills: %llu (see the oom_kill rows)", (unsigned long long)s->oom_kills);
	if (s->limit_rows)
		mt_info("  RSS limit crossed by %llu process%s (see the limit rows)",
			(unsigned long long)s->limit_rows, s->limit_rows == 1 ? "" : "es");
	mt_info("  process map: at most %llu of %u entries in use at a sample (--max-procs)",
		(unsigned long long)s->max_live_procs, totals->max_procs);
}

/* A traced root (the COMMAND, a -p process): how it ended, its time, memory and tree. */
static void summarize_root(const struct mt_root *r, uint64_t now_mono_ns)
{
	char a[32], b[32], c[32], d[32], end[640];
	const struct proc_stats *st = &r->stats;
	uint64_t wall = root_wall_ns(r, now_mono_ns);

	describe_end(r, end, sizeof(end));
	mt_info("memtrace-bpf: %s (pid %u, %.16s): %s", r->label, r->pid, r->comm, end);
	/* -p: the CPU the process used while traced, not since it started */
	if (r->cpu_known)
		mt_info("  elapsed %s, user %s, sys %s%s",
			mt_format_duration(wall, a, sizeof(a)),
			mt_format_duration(root_user_ns(r), b, sizeof(b)),
			mt_format_duration(root_sys_ns(r), c, sizeof(c)),
			r->launched ? "" : " (CPU time while traced)");
	else
		mt_info("  elapsed %s", mt_format_duration(wall, a, sizeof(a)));
	mt_info("  peak RSS %s (anon %s, file %s, shmem %s); RSS at end %s",
		mt_format_size(st->peak_rss_bytes, a, sizeof(a)),
		mt_format_size(st->peak_anon_bytes, b, sizeof(b)),
		mt_format_size(st->peak_file_bytes, c, sizeof(c)),
		mt_format_size(st->peak_shmem_bytes, d, sizeof(d)),
		mt_format_size(mt_rss_bytes(st), end, sizeof(end)));
	mt_info("  page faults %llu, pages allocated %llu (%s)", (unsigned long long)st->faults,
		(unsigned long long)st->pages_alloc,
		mt_format_size(st->pages_alloc * (uint64_t)sysconf(_SC_PAGESIZE), a, sizeof(a)));
	if (r->descendants)
		mt_info("  descendants traced: %u; largest peak %s (pid %u, %.16s)", r->descendants,
			mt_format_size(r->top_child_peak, a, sizeof(a)), r->top_child_pid,
			r->top_child_comm);
	if (r->oom_kills > (r->oom_killed ? 1u : 0u))
		mt_info("  OOM kills in its tree: %u (see the oom_kill rows)", r->oom_kills);
	if (r->limit_crossings)
		mt_info("  RSS limit crossed by %u process%s (see the limit rows)", r->limit_crossings,
			r->limit_crossings == 1 ? "" : "es");
}

/* -m: the cgroup's own view of what it held. */
static void summarize_cgroup(const struct mt_report_cgroup *cg)
{
	char a[32];

	mt_info("  memory limit %s on cgroup v%d %s (removed)",
		mt_format_size(cg->limit_bytes, a, sizeof(a)), cg->version, cg->path);
	if (cg->peak_known)
		mt_info("    the cgroup's own peak: %s (%s: anon + page cache charged to it)",
			mt_format_size(cg->peak_bytes, a, sizeof(a)), cg->peak_source);
	if (cg->oom_kills_known)
		mt_info("    OOM kills the kernel counted in it: %llu",
			(unsigned long long)cg->oom_kills);
}

/* What was lost, and why tracing stopped early; nothing lost is said too. */
void report_losses(const struct mt_summary *s, const struct mt_writer *w,
			     const struct mt_report_totals *totals)
{
	uint64_t lost = totals->drops[MT_DROP_RINGBUF] + totals->drops[MT_DROP_MAP_FULL] +
			totals->drops[MT_DROP_PY_SAMPLE] + totals->drops[MT_DROP_PY_CODE] +
			totals->drops[MT_DROP_STACK] + s->exits_unexplained;

	if (totals->no_series)
		mt_info("  no time series written (--prometheus without -o); events lost: %s",
			lost ? "" : "none");
	else
		mt_info("  %llu rows written to %s; events lost: %s", (unsigned long long)w->rows,
			w->path, lost ? "" : "none");
	if (totals->drops[MT_DROP_RINGBUF])
		mt_info("    %llu fork/exec/exit/OOM/limit records did not fit in the ring buffer "
			"(fork/exec/exit rows came from the map, later)",
			(unsigned long long)totals->drops[MT_DROP_RINGBUF]);
	if (totals->drops[MT_DROP_MAP_FULL])
		mt_info("    %llu new processes were not traced: the process map was full",
			(unsigned long long)totals->drops[MT_DROP_MAP_FULL]);
	if (totals->drops[MT_DROP_PY_SAMPLE])
		mt_info("    --python: %llu RSS changes' stacks did not fit in the ring buffer: their "
			"bytes are not charged to any line",
			(unsigned long long)totals->drops[MT_DROP_PY_SAMPLE]);
	if (totals->drops[MT_DROP_PY_CODE])
		mt_info("    --python: %llu code objects did not fit in the ring buffer: their frames "
			"show as 'not captured'",
			(unsigned long long)totals->drops[MT_DROP_PY_CODE]);
	if (totals->drops[MT_DROP_STACK])
		mt_info("    --stacks: %llu sampled stacks did not fit in the ring buffer: their "
			"bytes are in no stack",
			(unsigned long long)totals->drops[MT_DROP_STACK]);
	if (s->exits_unexplained)
		mt_info("    %llu processes vanished without an exit record",
			(unsigned long long)s->exits_unexplained);
	if (totals->stop_reason)
		mt_info("  tracing stopped early: %s", totals->stop_reason);
	if (totals->rss_batched)
		mt_info("  precision: this kernel (before Linux 6.2) counts RSS in per-thread batches "
			"of up to 64 pages: RSS and peaks can read up to 256 KiB per thread low");
}

void report_summary_body(const struct mt_summary *s, const struct mt_report_totals *totals,
			 uint64_t now_mono_ns)
{
	if (mt_quiet)
		return;
	for (size_t i = 0; i < s->nroots; i++)
		summarize_root(&s->roots[i], now_mono_ns);
	if (totals->target)
		summarize_target(s, totals);
	if (totals->cgroup && totals->cgroup->used)
		summarize_cgroup(totals->cgroup);
	if (s->untraced_oom_kills)
		mt_info("  untraced processes OOM-killed by an OOM a traced one triggered: %llu",
			(unsigned long long)s->untraced_oom_kills);
}

void report_summary(const struct mt_summary *s, const struct mt_writer *w,
		    const struct mt_report_totals *totals, uint64_t now_mono_ns)
{
	if (mt_quiet)
		return;
	report_summary_body(s, totals, now_mono_ns);
	report_losses(s, w, totals);
}

char *report_sparkline(const uint64_t *values, size_t n, bool utf8, char *buf, size_t len)
{
	static const char *const bars[] = { "\u2581", "\u2582", "\u2583", "\u2584",
					    "\u2585", "\u2586", "\u2587", "\u2588" };
	static const char ascii[] = "_.-:=+*#";
	uint64_t max = 0;
	size_t used = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		if (values[i] > max)
			max = values[i];
	for (size_t i = 0; i < n; i++) {
		unsigned level = max ? (unsigned)((values[i] * 7 + max / 2) / max) : 0;
		const char *cell = utf8 ? bars[level] : (char[]){ ascii[level], 0 };
		size_t cl = strlen(cell);

		if (used + cl + 1 > len)
			break;
		memcpy(buf + used, cell, cl);
		used += cl;
		buf[used] = '\0';
	}
	return buf;
}

static bool stderr_is_utf8(void)
{
	static int known = -1;

	if (known < 0) {
		setlocale(LC_CTYPE, "");
		known = !strcmp(nl_langinfo(CODESET), "UTF-8");
	}
	return known;
}

/* One "-1.5s 120 MiB" entry of the history line. */
static void history_entry(char *line, size_t len, size_t *used, double back_s, uint64_t bytes)
{
	char sz[32];

	if (*used >= len - 1)
		return;
	*used += (size_t)snprintf(line + *used, len - *used, "%s-%gs %s", *used ? ", " : "",
				  back_s, mt_format_size(bytes, sz, sizeof(sz)));
	if (*used >= len)
		*used = len - 1;
}

/*
 * The victim's RSS before the kill, from its rows' history: at 1 s (or 0.5 s) steps over up
 * to six steps when it lived long enough for four, else its last rows as they came.
 */
static void report_history(const struct mt_oom_report *o, const struct mt_rss_hist *h,
			   uint64_t start_mono_ns)
{
	enum { STEPS = 6 };
	uint64_t kill_ms = o->mono_ns > start_mono_ns ? (o->mono_ns - start_mono_ns) / 1000000 : 0;
	uint64_t values[STEPS + 1], rss_kill = mt_rss_bytes(&o->stats);
	char line[512], spark[64], sz[32];
	size_t used = 0, n = 0;
	uint32_t first_ms = 0, ms;
	uint64_t span_ms, v;

	if (h->n)
		rss_hist_point(h, 0, &first_ms, &v);
	span_ms = h->n && first_ms < kill_ms ? kill_ms - first_ms : 0;
	if (span_ms >= 2000) {
		uint64_t step_ms = span_ms >= 4000 ? 1000 : 500;

		for (int k = STEPS; k >= 1; k--) {
			uint64_t back = (uint64_t)k * step_ms;

			if (back > kill_ms || !rss_hist_at(h, (uint32_t)(kill_ms - back), &v))
				continue;
			values[n++] = v;
			history_entry(line, sizeof(line), &used, (double)back / 1000, v);
		}
	} else {
		uint32_t from = h->n > STEPS ? h->n - STEPS : 0;

		for (uint32_t i = from; i < h->n; i++) {
			rss_hist_point(h, i, &ms, &v);
			if (ms >= kill_ms) /* the oom_kill row itself */
				continue;
			values[n++] = v;
			history_entry(line, sizeof(line), &used, (double)(kill_ms - ms) / 1000, v);
		}
	}
	values[n++] = rss_kill;
	snprintf(line + used, sizeof(line) - used, "%skill %s", used ? ", " : "",
		 mt_format_size(rss_kill, sz, sizeof(sz)));
	report_sparkline(values, n, stderr_is_utf8(), spark, sizeof(spark));
	mt_info("  RSS before  %s  %s", spark, line);
}

/* The journal's form: one line, key=value, the fields of the oom_kill row's detail. */
static void report_oom_line(const struct mt_oom_report *o, double at)
{
	struct strbuf sb;
	char num[160];

	sb_init(&sb);
	snprintf(num, sizeof(num),
		 "elapsed_s=%.3f pid=%u rss_bytes=%llu anon_bytes=%llu file_bytes=%llu "
		 "shmem_bytes=%llu peak_rss_bytes=%llu traced=%s comm=",
		 at, o->pid, (unsigned long long)mt_rss_bytes(&o->stats),
		 (unsigned long long)o->stats.anon_bytes, (unsigned long long)o->stats.file_bytes,
		 (unsigned long long)o->stats.shmem_bytes,
		 (unsigned long long)o->stats.peak_rss_bytes, o->traced ? "yes" : "no");
	sb_adds(&sb, num);
	detail_add_value(&sb, o->stats.comm, strnlen(o->stats.comm, MT_COMM_LEN));
	oom_format_detail(o, &sb); /* a space before each of its pairs */
	sb_add(&sb, "", 1);
	mt_warn("OOM kill: %s", sb.data);
	sb_free(&sb);
}

void report_oom(const struct mt_oom_report *o, const struct mt_rss_hist *hist,
		uint64_t start_mono_ns)
{
	char a[32], b[32], c[32], d[32], e[32];
	uint64_t rss = mt_rss_bytes(&o->stats);
	double at = o->mono_ns > start_mono_ns ? (o->mono_ns - start_mono_ns) / 1e9 : 0;

	if (mt_quiet)
		return;
	if (mt_stderr_is_journal()) {
		report_oom_line(o, at);
		return;
	}
	if (!hist) {
		mt_warn("OOM kill of untraced process %u (%.16s, RSS %s, constraint %s, memcg %s), "
			"triggered by traced process %u (%.16s)",
			o->pid, o->stats.comm, mt_format_size(rss, a, sizeof(a)),
			oom_constraint_name(o->constraint), o->memcg[0] ? o->memcg : "?",
			o->trigger_pid, o->trigger_comm);
		return;
	}
	mt_info("memtrace-bpf: OOM kill at %.3f s: %.16s (pid %u) killed by the kernel's OOM killer",
		at, o->stats.comm, o->pid);
	if (o->task_known)
		mt_info("  victim      %.16s pid %u, uid %u, oom_score_adj %d", o->stats.comm, o->pid,
			o->uid, o->oom_score_adj);
	else
		mt_info("  victim      %.16s pid %u", o->stats.comm, o->pid);
	mt_info("  RSS at kill %s (anon %s, file %s, shmem %s); peak %s",
		mt_format_size(rss, a, sizeof(a)), mt_format_size(o->stats.anon_bytes, b, sizeof(b)),
		mt_format_size(o->stats.file_bytes, c, sizeof(c)),
		mt_format_size(o->stats.shmem_bytes, d, sizeof(d)),
		mt_format_size(o->stats.peak_rss_bytes, e, sizeof(e)));
	if (o->task_known)
		mt_info("  memory      total VM %s, page tables %s",
			mt_format_size(o->total_vm_bytes, a, sizeof(a)),
			mt_format_size(o->pgtables_bytes, b, sizeof(b)));
	if (o->constraint == MT_OOM_MEMCG && o->limit_max_bytes)
		mt_info("  constraint  memcg: a memory cgroup hit its limit (%s, %s charged); "
			"victim's memcg %s (cgroup v%d)",
			mt_format_size(o->limit_max_bytes, a, sizeof(a)),
			mt_format_size(o->limit_usage_bytes, b, sizeof(b)),
			o->memcg[0] ? o->memcg : "?", o->memcg_v1 ? 1 : 2);
	else if (o->constraint == MT_OOM_GLOBAL)
		mt_info("  constraint  global: the system ran out of memory; victim's memcg %s",
			o->memcg[0] ? o->memcg : "?");
	else
		mt_info("  constraint  %s; victim's memcg %s", oom_constraint_name(o->constraint),
			o->memcg[0] ? o->memcg : "?");
	if (o->trigger_pid == o->pid)
		mt_info("  trigger     the victim itself: its own allocation could not be served");
	else
		mt_info("  trigger     %.16s pid %u: its allocation could not be served",
			o->trigger_comm, o->trigger_pid);
	report_history(o, hist, start_mono_ns);
}
