// SPDX-License-Identifier: GPL-2.0
#include <string.h>
#include <sys/wait.h>
#include "json.h"
#include "sumjson.h"
#include "units.h"

/* Keys and values one at a time; a comma before every member but an object's first. */
struct jw {
	struct strbuf *sb;
	bool first;
};

static void key(struct jw *j, const char *name)
{
	if (!j->first)
		sb_add(j->sb, ",", 1);
	j->first = false;
	json_add_string(j->sb, name, strlen(name));
	sb_add(j->sb, ":", 1);
}

static void open_obj(struct jw *j, const char *name)
{
	if (name)
		key(j, name);
	else if (!j->first)
		sb_add(j->sb, ",", 1);
	sb_add(j->sb, "{", 1);
	j->first = true;
}

static void close_obj(struct jw *j)
{
	sb_add(j->sb, "}", 1);
	j->first = false;
}

static void open_arr(struct jw *j, const char *name)
{
	key(j, name);
	sb_add(j->sb, "[", 1);
	j->first = true;
}

static void close_arr(struct jw *j)
{
	sb_add(j->sb, "]", 1);
	j->first = false;
}

static void u64(struct jw *j, const char *name, uint64_t v)
{
	key(j, name);
	sb_addf(j->sb, "%llu", (unsigned long long)v);
}

static void u64_or_null(struct jw *j, const char *name, bool known, uint64_t v)
{
	key(j, name);
	if (known)
		sb_addf(j->sb, "%llu", (unsigned long long)v);
	else
		sb_adds(j->sb, "null");
}

static void i64(struct jw *j, const char *name, long long v)
{
	key(j, name);
	sb_addf(j->sb, "%lld", v);
}

static void num(struct jw *j, const char *name, double v)
{
	key(j, name);
	sb_addf(j->sb, "%.6f", v);
}

static void boolean(struct jw *j, const char *name, bool v)
{
	key(j, name);
	sb_adds(j->sb, v ? "true" : "false");
}

static void str(struct jw *j, const char *name, const char *v)
{
	key(j, name);
	if (v)
		json_add_string(j->sb, v, strlen(v));
	else
		sb_adds(j->sb, "null");
}

static void null(struct jw *j, const char *name)
{
	key(j, name);
	sb_adds(j->sb, "null");
}

/* A root as the stderr summary tells it: how it ended, its time, memory and tree. */
static void root_obj(struct jw *j, const char *name, const struct mt_root *r,
		     uint64_t now_mono_ns)
{
	const struct proc_stats *st = &r->stats;
	char comm[MT_COMM_LEN + 1], sig[32];

	open_obj(j, name);
	snprintf(comm, sizeof(comm), "%.*s", MT_COMM_LEN, r->comm);
	u64(j, "pid", r->pid);
	str(j, "comm", comm);
	str(j, "command", r->label);
	boolean(j, "exited", r->exited);
	if (r->exited && WIFSIGNALED(r->exit_status)) {
		null(j, "exit_code");
		str(j, "signal", mt_signal_name(WTERMSIG(r->exit_status), sig, sizeof(sig)));
	} else if (r->exited) {
		i64(j, "exit_code", WEXITSTATUS(r->exit_status));
		null(j, "signal");
	} else {
		null(j, "exit_code");
		null(j, "signal");
	}
	boolean(j, "oom_killed", r->oom_killed);
	str(j, "oom_constraint", r->oom_killed ? oom_constraint_name(r->oom_constraint) : NULL);
	u64(j, "oom_kills_in_tree", r->oom_kills);
	num(j, "wall_s", (double)root_wall_ns(r, now_mono_ns) / 1e9);
	if (r->cpu_known) {
		/* -p: the CPU used while traced, as the stderr summary says */
		num(j, "user_s", (double)root_user_ns(r) / 1e9);
		num(j, "sys_s", (double)root_sys_ns(r) / 1e9);
	} else {
		null(j, "user_s");
		null(j, "sys_s");
	}
	u64(j, "peak_rss_bytes", st->peak_rss_bytes);
	u64(j, "peak_anon_bytes", st->peak_anon_bytes);
	u64(j, "peak_file_bytes", st->peak_file_bytes);
	u64(j, "peak_shmem_bytes", st->peak_shmem_bytes);
	u64(j, "rss_at_end_bytes", mt_rss_bytes(st));
	u64(j, "faults", st->faults);
	u64(j, "pages_alloc", st->pages_alloc);
	u64(j, "descendants", r->descendants);
	close_obj(j);
}

static void crosscheck_obj(struct jw *j, const struct mt_crosscheck *x)
{
	open_obj(j, "cross_checks");
	u64_or_null(j, "hiwater_rss_bytes", x->hiwater_known, x->hiwater_bytes);
	u64_or_null(j, "ru_maxrss_bytes", x->maxrss_known, x->maxrss_bytes);
	u64_or_null(j, "cgroup_peak_bytes", x->cgroup_known, x->cgroup_peak_bytes);
	str(j, "cgroup_peak_source", x->cgroup_known ? x->cgroup_source : NULL);
	u64_or_null(j, "sampler_0_1s_peak_bytes", x->sampled_known[0], x->sampled_peak_bytes[0]);
	u64_or_null(j, "sampler_1s_peak_bytes", x->sampled_known[1], x->sampled_peak_bytes[1]);
	close_obj(j);
}

static void run_obj(struct jw *j, const struct mt_run *r)
{
	open_obj(j, NULL);
	u64(j, "run", r->number);
	boolean(j, "warmup", r->warmup);
	boolean(j, "started", r->started);
	u64_or_null(j, "limit_bytes", r->limit_bytes && r->limit_bytes != MT_RUN_UNLIMITED,
		    r->limit_bytes);
	str(j, "outcome", r->started ? run_outcome_name(run_outcome(r)) : NULL);
	i64(j, "exit_status", r->exit_status);
	boolean(j, "timed_out", r->timed_out);
	num(j, "wall_s", (double)r->wall_ns / 1e9);
	u64(j, "rows", r->rows);
	u64_or_null(j, "cgroup_oom_kills", r->cgroup_oom_known, r->cgroup_oom_kills);
	/* a run's command has ended by the run's end: now is never used for it */
	root_obj(j, "root", &r->root, r->root.end_mono_ns);
	crosscheck_obj(j, &r->x);
	close_obj(j);
}

static void statistics_obj(struct jw *j, const struct mt_runlog *log)
{
	open_obj(j, "statistics");
	for (int m = 0; m < MT_METRIC_NR; m++) {
		struct mt_stat s;

		if (!runlog_stat(log, m, &s))
			continue;
		open_obj(j, run_metric_info(m)->key);
		u64(j, "n", s.n);
		num(j, "median", s.median);
		num(j, "min", s.min);
		num(j, "max", s.max);
		num(j, "mean", s.mean);
		num(j, "stdev", s.stdev);
		close_obj(j);
	}
	close_obj(j);
}

static void search_obj(struct jw *j, const struct mt_sumjson_input *in)
{
	const struct mt_bisect *b = in->bisect;

	open_obj(j, "find_min_limit");
	boolean(j, "found", bisect_found(b));
	u64_or_null(j, "min_ok_limit_bytes", bisect_found(b), b->min_ok);
	u64_or_null(j, "max_failed_limit_bytes", b->max_failed != 0, b->max_failed);
	u64(j, "resolution_bytes", b->resolution);
	u64(j, "lower_bound_bytes", b->floor);
	num(j, "trial_timeout_s", (double)in->trial_timeout_ns / 1e9);
	open_arr(j, "trials");
	for (size_t i = 0; i < in->runs->n; i++) {
		const struct mt_run *r = &in->runs->runs[i];

		open_obj(j, NULL);
		u64(j, "trial", r->number);
		u64_or_null(j, "limit_bytes", r->limit_bytes != MT_RUN_UNLIMITED, r->limit_bytes);
		str(j, "outcome", r->started ? run_outcome_name(run_outcome(r)) : NULL);
		i64(j, "exit_status", r->exit_status);
		num(j, "wall_s", (double)r->wall_ns / 1e9);
		u64(j, "peak_rss_bytes", r->root.stats.peak_rss_bytes);
		u64_or_null(j, "cgroup_peak_bytes", r->x.cgroup_known, r->x.cgroup_peak_bytes);
		close_obj(j);
	}
	close_arr(j);
	close_obj(j);
}

/* -a, -G: the trace as a whole. */
static void trace_obj(struct jw *j, const struct mt_sumjson_input *in)
{
	const struct mt_summary *s = in->summary;

	open_obj(j, "trace");
	str(j, "label", in->label);
	num(j, "elapsed_s", (double)in->totals->elapsed_ns / 1e9);
	u64(j, "processes", s->procs_started);
	u64(j, "exited", s->procs_exited);
	u64(j, "still_running", s->live_procs);
	u64(j, "max_procs_in_use", s->max_live_procs);
	open_arr(j, "top_peaks");
	for (size_t i = 0; i < MT_TOP_PEAKS && s->top_peaks[i].peak_rss_bytes; i++) {
		char comm[MT_COMM_LEN + 1];

		snprintf(comm, sizeof(comm), "%.*s", MT_COMM_LEN, s->top_peaks[i].comm);
		open_obj(j, NULL);
		u64(j, "pid", s->top_peaks[i].pid);
		str(j, "comm", comm);
		u64(j, "peak_rss_bytes", s->top_peaks[i].peak_rss_bytes);
		close_obj(j);
	}
	close_arr(j);
	close_obj(j);
}

static void losses_obj(struct jw *j, const struct mt_sumjson_input *in)
{
	const uint64_t *d = in->totals->drops;

	open_obj(j, "losses");
	u64(j, "ringbuf_records", d[MT_DROP_RINGBUF]);
	u64(j, "map_full", d[MT_DROP_MAP_FULL]);
	u64(j, "python_stacks", d[MT_DROP_PY_SAMPLE]);
	u64(j, "python_code_objects", d[MT_DROP_PY_CODE]);
	u64(j, "exits_unexplained", in->summary->exits_unexplained);
	close_obj(j);
}

/* OOM kills of traced processes: every run's, or the trace's */
static uint64_t oom_kills(const struct mt_sumjson_input *in)
{
	uint64_t n = 0;

	if (!in->runs)
		return in->summary->oom_kills;
	for (size_t i = 0; i < in->runs->n; i++)
		n += in->runs->runs[i].root.oom_kills;
	return n;
}

void sumjson_make(const struct mt_sumjson_input *in, struct strbuf *out)
{
	struct jw j = { .sb = out, .first = true };
	const struct mt_summary *s = in->summary;

	open_obj(&j, NULL);
	str(&j, "schema", "memtrace-bpf/summary/1");
	str(&j, "version", MT_VERSION);
	str(&j, "target", in->target);
	str(&j, "command", in->command);
	num(&j, "interval_s", (double)in->interval_ns / 1e9);
	i64(&j, "exit_status", in->exit_status);
	str(&j, "stop_reason", in->totals->stop_reason);
	str(&j, "output", in->output);
	u64(&j, "rows", in->rows);
	if (in->runs) {
		open_arr(&j, "runs");
		for (size_t i = 0; i < in->runs->n; i++)
			run_obj(&j, &in->runs->runs[i]);
		close_arr(&j);
		statistics_obj(&j, in->runs);
	} else {
		null(&j, "runs");
		null(&j, "statistics");
	}
	if (in->bisect)
		search_obj(&j, in);
	else
		null(&j, "find_min_limit");
	/* -p: the processes named; the COMMAND's root is its runs' */
	open_arr(&j, "roots");
	for (size_t i = 0; !in->runs && i < s->nroots; i++)
		root_obj(&j, NULL, &s->roots[i], in->now_mono_ns);
	close_arr(&j);
	if (in->label)
		trace_obj(&j, in);
	else
		null(&j, "trace");
	u64(&j, "oom_kills", oom_kills(in));
	u64(&j, "untraced_oom_kills", s->untraced_oom_kills);
	losses_obj(&j, in);
	close_obj(&j);
	sb_add(out, "\n", 1);
}
