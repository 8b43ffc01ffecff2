// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "json.h"
#include "oomlog.h"

static void victim_obj(struct json_writer *j, const struct mt_oom_report *o)
{
	char comm[MT_COMM_LEN + 1];

	snprintf(comm, sizeof(comm), "%.*s", MT_COMM_LEN, o->stats.comm);
	jw_open_obj(j, "victim");
	jw_u64(j, "pid", o->pid);
	jw_u64(j, "tid", o->tid);
	jw_str(j, "comm", comm);
	jw_u64(j, "ppid", o->stats.ppid);
	jw_boolean(j, "traced", o->traced);
	jw_u64_or_null(j, "uid", o->task_known, o->uid);
	if (o->task_known)
		jw_i64(j, "oom_score_adj", o->oom_score_adj);
	else
		jw_null(j, "oom_score_adj");
	jw_u64(j, "rss_bytes", mt_rss_bytes(&o->stats));
	jw_u64(j, "anon_bytes", o->stats.anon_bytes);
	jw_u64(j, "file_bytes", o->stats.file_bytes);
	jw_u64(j, "shmem_bytes", o->stats.shmem_bytes);
	jw_u64(j, "peak_rss_bytes", o->stats.peak_rss_bytes);
	jw_u64_or_null(j, "total_vm_bytes", o->task_known, o->total_vm_bytes);
	jw_u64_or_null(j, "pgtables_bytes", o->task_known, o->pgtables_bytes);
	jw_close_obj(j);
}

static void history_arr(struct json_writer *j, const struct mt_rss_hist *h, uint64_t kill_ms)
{
	jw_open_arr(j, "rss_history");
	for (uint32_t i = 0; h && i < h->n; i++) {
		uint32_t ms;
		uint64_t bytes;

		rss_hist_point(h, i, &ms, &bytes);
		if (ms > kill_ms)
			continue;
		jw_open_obj(j, NULL);
		jw_num(j, "elapsed_s", ms / 1e3);
		jw_u64(j, "rss_bytes", bytes);
		jw_close_obj(j);
	}
	jw_close_arr(j);
}

void oomlog_json(const struct mt_oom_report *o, const struct mt_rss_hist *hist,
		 uint64_t start_mono_ns, uint64_t real_ns, const char *host, struct strbuf *sb)
{
	struct json_writer j = { .sb = sb, .first = true };
	uint64_t since = o->mono_ns > start_mono_ns ? o->mono_ns - start_mono_ns : 0;
	time_t secs = (time_t)(real_ns / 1000000000ULL);
	char when[64], trigger[MT_COMM_LEN + 1];
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(real_ns / 1000000 % 1000));
	snprintf(trigger, sizeof(trigger), "%.*s", MT_COMM_LEN, o->trigger_comm);
	jw_open_obj(&j, NULL);
	jw_str(&j, "schema", MT_OOMLOG_SCHEMA);
	jw_str(&j, "time", when);
	jw_num(&j, "unix_time", real_ns / 1e9);
	jw_num(&j, "elapsed_s", since / 1e9);
	jw_str(&j, "host", host);
	victim_obj(&j, o);
	jw_str(&j, "constraint", oom_constraint_name(o->constraint));
	jw_str(&j, "constraint_source", o->constraint_source);
	jw_str(&j, "memcg", o->memcg[0] ? o->memcg : NULL);
	jw_u64(&j, "cgroup_version", o->memcg_v1 ? 1 : 2);
	jw_u64_or_null(&j, "memcg_limit_bytes", o->limit_max_bytes != 0, o->limit_max_bytes);
	jw_u64_or_null(&j, "memcg_usage_bytes", o->limit_max_bytes != 0, o->limit_usage_bytes);
	jw_open_obj(&j, "trigger");
	jw_u64(&j, "pid", o->trigger_pid);
	jw_str(&j, "comm", trigger);
	jw_close_obj(&j);
	history_arr(&j, hist, since / 1000000);
	jw_close_obj(&j);
	sb_add(sb, "\n", 1);
}
