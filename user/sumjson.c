// SPDX-License-Identifier: GPL-2.0
#include <string.h>
#include <sys/wait.h>
#include "json.h"
#include "sumjson.h"
#include "units.h"

/* A root as the stderr summary tells it: how it ended, its time, memory and tree. */
static void root_obj(struct json_writer *j, const char *name, const struct mt_root *r,
		     uint64_t now_mono_ns)
{
	const struct proc_stats *st = &r->stats;
	char comm[MT_COMM_LEN + 1], sig[32];

	jw_open_obj(j, name);
	snprintf(comm, sizeof(comm), "%.*s", MT_COMM_LEN, r->comm);
	jw_u64(j, "pid", r->pid);
	jw_str(j, "comm", comm);
	jw_str(j, "command", r->label);
	jw_boolean(j, "exited", r->exited);
	if (r->exited && WIFSIGNALED(r->exit_status)) {
		jw_null(j, "exit_code");
		jw_str(j, "signal", mt_signal_name(WTERMSIG(r->exit_status), sig, sizeof(sig)));
	} else if (r->exited) {
		jw_i64(j, "exit_code", WEXITSTATUS(r->exit_status));
		jw_null(j, "signal");
	} else {
		jw_null(j, "exit_code");
		jw_null(j, "signal");
	}
	jw_boolean(j, "oom_killed", r->oom_killed);
	jw_str(j, "oom_constraint", r->oom_killed ? oom_constraint_name(r->oom_constraint) : NULL);
	jw_u64(j, "oom_kills_in_tree", r->oom_kills);
	jw_num(j, "wall_s", (double)root_wall_ns(r, now_mono_ns) / 1e9);
	if (r->cpu_known) {
		/* -p: the CPU used while traced, as the stderr summary says */
		jw_num(j, "user_s", (double)root_user_ns(r) / 1e9);
		jw_num(j, "sys_s", (double)root_sys_ns(r) / 1e9);
	} else {
		jw_null(j, "user_s");
		jw_null(j, "sys_s");
	}
	jw_u64(j, "peak_rss_bytes", st->peak_rss_bytes);
	jw_u64(j, "peak_anon_bytes", st->peak_anon_bytes);
	jw_u64(j, "peak_file_bytes", st->peak_file_bytes);
	jw_u64(j, "peak_shmem_bytes", st->peak_shmem_bytes);
	jw_u64(j, "rss_at_end_bytes", mt_rss_bytes(st));
	jw_u64(j, "faults", st->faults);
	jw_u64(j, "pages_alloc", st->pages_alloc);
	jw_u64(j, "descendants", r->descendants);
	jw_close_obj(j);
}

static void crosscheck_obj(struct json_writer *j, const struct mt_crosscheck *x)
{
	jw_open_obj(j, "cross_checks");
	jw_u64_or_null(j, "hiwater_rss_bytes", x->hiwater_known, x->hiwater_bytes);
	jw_u64_or_null(j, "ru_maxrss_bytes", x->maxrss_known, x->maxrss_bytes);
	jw_u64_or_null(j, "cgroup_peak_bytes", x->cgroup_known, x->cgroup_peak_bytes);
	jw_str(j, "cgroup_peak_source", x->cgroup_known ? x->cgroup_source : NULL);
	jw_u64_or_null(j, "sampler_0_1s_peak_bytes", x->sampled_known[0], x->sampled_peak_bytes[0]);
	jw_u64_or_null(j, "sampler_1s_peak_bytes", x->sampled_known[1], x->sampled_peak_bytes[1]);
	jw_close_obj(j);
}

static void run_obj(struct json_writer *j, const struct mt_run *r)
{
	jw_open_obj(j, NULL);
	jw_u64(j, "run", r->number);
	jw_boolean(j, "warmup", r->warmup);
	jw_boolean(j, "started", r->started);
	jw_u64_or_null(j, "limit_bytes", r->limit_bytes && r->limit_bytes != MT_RUN_UNLIMITED,
		    r->limit_bytes);
	jw_str(j, "outcome", r->started ? run_outcome_name(run_outcome(r)) : NULL);
	jw_i64(j, "exit_status", r->exit_status);
	jw_boolean(j, "timed_out", r->timed_out);
	jw_num(j, "wall_s", (double)r->wall_ns / 1e9);
	jw_u64(j, "rows", r->rows);
	jw_u64_or_null(j, "cgroup_oom_kills", r->cgroup_oom_known, r->cgroup_oom_kills);
	/* a run's command has ended by the run's end: now is never used for it */
	root_obj(j, "root", &r->root, r->root.end_mono_ns);
	crosscheck_obj(j, &r->x);
	jw_close_obj(j);
}

static void statistics_obj(struct json_writer *j, const struct mt_runlog *log)
{
	jw_open_obj(j, "statistics");
	for (int m = 0; m < MT_METRIC_NR; m++) {
		struct mt_stat s;

		if (!runlog_stat(log, m, &s))
			continue;
		jw_open_obj(j, run_metric_info(m)->key);
		jw_u64(j, "n", s.n);
		jw_num(j, "median", s.median);
		jw_num(j, "min", s.min);
		jw_num(j, "max", s.max);
		jw_num(j, "mean", s.mean);
		jw_num(j, "stdev", s.stdev);
		jw_close_obj(j);
	}
	jw_close_obj(j);
}

static void search_obj(struct json_writer *j, const struct mt_sumjson_input *in)
{
	const struct mt_bisect *b = in->bisect;

	jw_open_obj(j, "find_min_limit");
	jw_boolean(j, "found", bisect_found(b));
	jw_u64_or_null(j, "min_ok_limit_bytes", bisect_found(b), b->min_ok);
	jw_u64_or_null(j, "max_failed_limit_bytes", b->max_failed != 0, b->max_failed);
	jw_u64(j, "resolution_bytes", b->resolution);
	jw_u64(j, "lower_bound_bytes", b->floor);
	jw_num(j, "trial_timeout_s", (double)in->trial_timeout_ns / 1e9);
	jw_open_arr(j, "trials");
	for (size_t i = 0; i < in->runs->n; i++) {
		const struct mt_run *r = &in->runs->runs[i];

		jw_open_obj(j, NULL);
		jw_u64(j, "trial", r->number);
		jw_u64_or_null(j, "limit_bytes", r->limit_bytes != MT_RUN_UNLIMITED, r->limit_bytes);
		jw_str(j, "outcome", r->started ? run_outcome_name(run_outcome(r)) : NULL);
		jw_i64(j, "exit_status", r->exit_status);
		jw_num(j, "wall_s", (double)r->wall_ns / 1e9);
		jw_u64(j, "peak_rss_bytes", r->root.stats.peak_rss_bytes);
		jw_u64_or_null(j, "cgroup_peak_bytes", r->x.cgroup_known, r->x.cgroup_peak_bytes);
		jw_close_obj(j);
	}
	jw_close_arr(j);
	jw_close_obj(j);
}

/* -a, -G: the trace as a whole. */
static void trace_obj(struct json_writer *j, const struct mt_sumjson_input *in)
{
	const struct mt_summary *s = in->summary;

	jw_open_obj(j, "trace");
	jw_str(j, "label", in->label);
	jw_num(j, "elapsed_s", (double)in->totals->elapsed_ns / 1e9);
	jw_u64(j, "processes", s->procs_started);
	jw_u64(j, "exited", s->procs_exited);
	jw_u64(j, "still_running", s->live_procs);
	jw_u64(j, "max_procs_in_use", s->max_live_procs);
	jw_open_arr(j, "top_peaks");
	for (size_t i = 0; i < MT_TOP_PEAKS && s->top_peaks[i].peak_rss_bytes; i++) {
		char comm[MT_COMM_LEN + 1];

		snprintf(comm, sizeof(comm), "%.*s", MT_COMM_LEN, s->top_peaks[i].comm);
		jw_open_obj(j, NULL);
		jw_u64(j, "pid", s->top_peaks[i].pid);
		jw_str(j, "comm", comm);
		jw_u64(j, "peak_rss_bytes", s->top_peaks[i].peak_rss_bytes);
		jw_close_obj(j);
	}
	jw_close_arr(j);
	jw_close_obj(j);
}

static void losses_obj(struct json_writer *j, const struct mt_sumjson_input *in)
{
	const uint64_t *d = in->totals->drops;

	jw_open_obj(j, "losses");
	jw_u64(j, "ringbuf_records", d[MT_DROP_RINGBUF]);
	jw_u64(j, "map_full", d[MT_DROP_MAP_FULL]);
	jw_u64(j, "python_stacks", d[MT_DROP_PY_SAMPLE]);
	jw_u64(j, "python_code_objects", d[MT_DROP_PY_CODE]);
	jw_u64(j, "native_stacks", d[MT_DROP_STACK]);
	jw_u64(j, "exits_unexplained", in->summary->exits_unexplained);
	jw_close_obj(j);
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
	struct json_writer j = { .sb = out, .first = true };
	const struct mt_summary *s = in->summary;

	jw_open_obj(&j, NULL);
	jw_str(&j, "schema", "memtrace-bpf/summary/1");
	jw_str(&j, "version", MT_VERSION);
	jw_str(&j, "target", in->target);
	jw_str(&j, "command", in->command);
	jw_num(&j, "interval_s", (double)in->interval_ns / 1e9);
	jw_i64(&j, "exit_status", in->exit_status);
	jw_str(&j, "stop_reason", in->totals->stop_reason);
	jw_str(&j, "output", in->output);
	jw_u64(&j, "rows", in->rows);
	if (in->runs) {
		jw_open_arr(&j, "runs");
		for (size_t i = 0; i < in->runs->n; i++)
			run_obj(&j, &in->runs->runs[i]);
		jw_close_arr(&j);
		statistics_obj(&j, in->runs);
	} else {
		jw_null(&j, "runs");
		jw_null(&j, "statistics");
	}
	if (in->bisect)
		search_obj(&j, in);
	else
		jw_null(&j, "find_min_limit");
	/* -p: the processes named; the COMMAND's root is its runs' */
	jw_open_arr(&j, "roots");
	for (size_t i = 0; !in->runs && i < s->nroots; i++)
		root_obj(&j, NULL, &s->roots[i], in->now_mono_ns);
	jw_close_arr(&j);
	if (in->label)
		trace_obj(&j, in);
	else
		jw_null(&j, "trace");
	jw_u64(&j, "oom_kills", oom_kills(in));
	jw_u64(&j, "untraced_oom_kills", s->untraced_oom_kills);
	losses_obj(&j, in);
	jw_close_obj(&j);
	sb_add(out, "\n", 1);
}
