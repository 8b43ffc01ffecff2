// SPDX-License-Identifier: GPL-2.0
/*
 * The exporter's pure parts: listening addresses (netaddr.c), the exposition format
 * (promtext.c), the metrics kept from synthetic process records (metrics.c: sums per cgroup,
 * counters that never go back, the cardinality bounds, the peak histogram), the OOM log's JSON
 * line (oomlog.c) and a cgroup's path from its directory (cgname.c).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "cgname.h"
#include "metrics.h"
#include "netaddr.h"
#include "oomlog.h"
#include "promtext.h"
#include "strbuf.h"
#include "unit.h"

#define MIB (1024ULL * 1024)

/* ---- netaddr ---- */

static unsigned port_of(const struct mt_netaddr *a)
{
	return a->ss.ss_family == AF_INET6 ? ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port)
					   : ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
}

TEST(netaddr_forms)
{
	struct mt_netaddr a;
	char err[160], text[80];

	REQUIRE(netaddr_parse(":9464", &a, err, sizeof(err)) == 0);
	CHECK(a.any);
	CHECK_EQ_INT(a.ss.ss_family, AF_INET6);
	CHECK_EQ_INT(port_of(&a), 9464);
	netaddr_format(&a, 9464, text, sizeof(text));
	CHECK_STREQ(text, ":9464");

	REQUIRE(netaddr_parse("127.0.0.1:9464", &a, err, sizeof(err)) == 0);
	CHECK(!a.any);
	CHECK_EQ_INT(a.ss.ss_family, AF_INET);
	netaddr_format(&a, 40000, text, sizeof(text));
	CHECK_STREQ(text, "127.0.0.1:40000");

	REQUIRE(netaddr_parse("[::1]:0", &a, err, sizeof(err)) == 0);
	CHECK_EQ_INT(a.ss.ss_family, AF_INET6);
	CHECK_EQ_INT(port_of(&a), 0);
	netaddr_format(&a, 5, text, sizeof(text));
	CHECK_STREQ(text, "[::1]:5");

	REQUIRE(netaddr_parse("localhost:65535", &a, err, sizeof(err)) == 0);
	netaddr_format(&a, 65535, text, sizeof(text));
	CHECK_STREQ(text, "127.0.0.1:65535");
}

TEST(netaddr_refused)
{
	static const char *const bad[] = {
		"9464",	      "", ":",	     ":65536",	    ":-1",	  ":94a",     "1.2.3:80",
		"[::1:80",    "::1:80",	    "[]:80",	    "[zz]:80",	  "host.example:80",
		"1.2.3.4:",   ":123456",    " 1.2.3.4:80", "1.2.3.4:80 ",
	};
	struct mt_netaddr a;
	char err[160];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK(netaddr_parse(bad[i], &a, err, sizeof(err)) == -1);
		CHECK(err[0] != '\0');
	}
}

/* ---- promtext ---- */

TEST(promtext_escapes_and_utf8)
{
	struct strbuf sb;
	struct promtext_label l[2] = { { "a", "q\"b\\s\nx", 0 }, { "comm", "ab\xff\xc3\xa9z", 0 } };

	sb_init(&sb);
	promtext_u64(&sb, "m", l, 2, 7);
	sb_add(&sb, "", 1);
	CHECK_STREQ(sb.data, "m{a=\"q\\\"b\\\\s\\nx\",comm=\"ab\xef\xbf\xbd\xc3\xa9z\"} 7\n");
	sb_reset(&sb);
	/* a 16-byte comm without its NUL stops at len */
	struct promtext_label c = { "comm", "0123456789abcdefGARBAGE", 16 };

	promtext_u64(&sb, "m", &c, 1, 1);
	sb_add(&sb, "", 1);
	CHECK_STREQ(sb.data, "m{comm=\"0123456789abcdef\"} 1\n");
	sb_reset(&sb);
	promtext_double(&sb, "d", NULL, 0, 0.5);
	sb_add(&sb, "", 1);
	CHECK_STREQ(sb.data, "d 0.5\n");
	sb_reset(&sb);
	/* overlong and surrogate encodings are not well-formed */
	promtext_escape(&sb, "\xc0\xaf\xed\xa0\x80", 5);
	sb_add(&sb, "", 1);
	CHECK_STREQ(sb.data, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	sb_free(&sb);
}

/* ---- metrics ---- */

struct names {
	unsigned calls;
	bool fail;
};

static int name_by_id(void *ctx, uint64_t id, uint32_t pid, char *buf, size_t len)
{
	struct names *n = ctx;

	n->calls++;
	if (n->fail)
		return -2;
	if (!id)
		return snprintf(buf, len, "/by-pid/%u", pid) >= (int)len ? -36 : 0;
	snprintf(buf, len, "/cg%llu", (unsigned long long)id);
	return 0;
}

static struct proc_stats stats(uint64_t start, uint64_t cg, uint64_t anon, uint64_t file,
			       uint64_t faults)
{
	struct proc_stats st = { .start_ns = start, .memcg_id = cg, .anon_bytes = anon,
				 .file_bytes = file, .faults = faults, .pages_alloc = faults };

	st.peak_rss_bytes = anon + file;
	memcpy(st.comm, "worker", 7);
	return st;
}

/* The value of the exposition's line that starts with prefix (-1: none). */
static long long value_of(const struct strbuf *sb, const char *prefix)
{
	const char *p = sb->data;
	size_t n = strlen(prefix);

	while (p && *p) {
		if (!strncmp(p, prefix, n) && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return -1;
}

static void render(const struct mt_metrics *m, struct strbuf *sb)
{
	sb_reset(sb);
	metrics_render(m, sb);
	sb_add(sb, "", 1);
	sb->len--;
}

TEST(metrics_sums_per_cgroup)
{
	struct names n = {};
	struct mt_metrics *m = metrics_new(name_by_id, &n);
	struct strbuf sb;
	struct proc_stats a = stats(1, 7, 10 * MIB, 1 * MIB, 100);
	struct proc_stats b = stats(2, 7, 5 * MIB, 0, 50);
	struct proc_stats c = stats(3, 9, 1 * MIB, 0, 5);

	REQUIRE(m);
	sb_init(&sb);
	metrics_proc(m, 100, &a);
	metrics_proc(m, 101, &b);
	metrics_proc(m, 102, &c);
	CHECK_EQ_U64(metrics_procs(m), 3);
	CHECK_EQ_U64(metrics_cgroups(m), 2);
	CHECK_EQ_INT(n.calls, 2); /* one lookup per cgroup, not per process */
	render(m, &sb);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_processes{cgroup=\"/cg7\"}"), 2);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_rss_bytes{cgroup=\"/cg7\",type=\"anon\"}"),
		     15 * MIB);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_rss_bytes{cgroup=\"/cg7\",type=\"file\"}"),
		     1 * MIB);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_page_faults_total{cgroup=\"/cg7\"}"), 150);

	/* a process shrinks and faults more; its exit keeps its faults in the counter */
	a.anon_bytes = 2 * MIB;
	a.faults = 130;
	metrics_proc(m, 100, &a);
	render(m, &sb);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_rss_bytes{cgroup=\"/cg7\",type=\"anon\"}"),
		     7 * MIB);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_page_faults_total{cgroup=\"/cg7\"}"), 180);
	a.faults = 140;
	metrics_proc_gone(m, 100, 1, &a);
	render(m, &sb);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_processes{cgroup=\"/cg7\"}"), 1);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_rss_bytes{cgroup=\"/cg7\",type=\"anon\"}"),
		     5 * MIB);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_page_faults_total{cgroup=\"/cg7\"}"), 190);
	/* a vanished one only stops counting */
	metrics_proc_gone(m, 101, 2, NULL);
	render(m, &sb);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_processes{cgroup=\"/cg7\"}"), 0);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_rss_bytes{cgroup=\"/cg7\",type=\"anon\"}"), 0);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_page_faults_total{cgroup=\"/cg7\"}"), 190);
	CHECK_EQ_U64(value_of(&sb, "memtrace_process_peak_rss_bytes_count"), 1);
	sb_free(&sb);
	metrics_free(m);
}

TEST(metrics_exec_moves_and_pid_reuse)
{
	struct names n = {};
	struct mt_metrics *m = metrics_new(name_by_id, &n);
	struct strbuf sb;
	struct proc_stats a = stats(1, 7, 4 * MIB, 0, 10);

	sb_init(&sb);
	metrics_proc(m, 100, &a);
	/* an exec into another cgroup takes the process's RSS with it, not its past faults */
	a.memcg_id = 9;
	a.faults = 15;
	metrics_proc(m, 100, &a);
	render(m, &sb);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_processes{cgroup=\"/cg7\"}"), 0);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_processes{cgroup=\"/cg9\"}"), 1);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_rss_bytes{cgroup=\"/cg9\",type=\"anon\"}"),
		     4 * MIB);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_page_faults_total{cgroup=\"/cg7\"}"), 10);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_page_faults_total{cgroup=\"/cg9\"}"), 5);
	/* pid 100 reused by another process: the first leaves its cgroup */
	struct proc_stats b = stats(2, 9, 1 * MIB, 0, 1);

	metrics_proc(m, 100, &b);
	render(m, &sb);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_processes{cgroup=\"/cg9\"}"), 1);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_rss_bytes{cgroup=\"/cg9\",type=\"anon\"}"),
		     1 * MIB);
	/* a counter that reads lower (never expected) does not take the sum back */
	b.faults = 0;
	metrics_proc(m, 100, &b);
	render(m, &sb);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_page_faults_total{cgroup=\"/cg9\"}"), 6);
	/* a launched command before its exec is not counted */
	struct proc_stats pre = stats(3, 7, 9 * MIB, 0, 1);

	pre.flags = MT_PROC_PRE_EXEC;
	metrics_proc(m, 200, &pre);
	CHECK_EQ_U64(metrics_procs(m), 1);
	/* id 0 (an entry user space made): named from the process, every time */
	struct proc_stats z = stats(4, 0, 1 * MIB, 0, 0);

	metrics_proc(m, 300, &z);
	render(m, &sb);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_processes{cgroup=\"/by-pid/300\"}"), 1);
	sb_free(&sb);
	metrics_free(m);
}

/* A reused pid whose old process shares its hash chain with another process's */
TEST(metrics_pid_reuse_in_a_shared_chain)
{
	struct mt_metrics *m = metrics_new(name_by_id, &(struct names){});
	struct proc_stats a = stats(1, 7, 1 * MIB, 0, 10), b = stats(2, 7, 4 * MIB, 0, 1);
	struct proc_stats a2 = stats(3, 9, 2 * MIB, 0, 1);
	struct strbuf sb;

	sb_init(&sb);
	/* pids 256 apart land in one bucket of the first table, in the order they came */
	metrics_proc(m, 100, &a);
	metrics_proc(m, 356, &b);
	metrics_proc(m, 100, &a2);
	render(m, &sb);
	CHECK_EQ_U64(metrics_procs(m), 2);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_processes{cgroup=\"/cg7\"}"), 1);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_rss_bytes{cgroup=\"/cg7\",type=\"anon\"}"),
		     4 * MIB);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_processes{cgroup=\"/cg9\"}"), 1);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_rss_bytes{cgroup=\"/cg9\",type=\"anon\"}"),
		     2 * MIB);
	sb_free(&sb);
	metrics_free(m);
}

TEST(metrics_cgroups_bounded)
{
	struct names n = {};
	struct mt_metrics *m = metrics_new(name_by_id, &n);
	struct strbuf sb;
	uint32_t pid = 1;

	sb_init(&sb);
	/* every slot taken by a cgroup with a live process */
	for (uint64_t id = 1; id <= MT_METRICS_MAX_CGROUPS; id++, pid++) {
		struct proc_stats st = stats(pid, id, MIB, 0, 1);

		metrics_proc(m, pid, &st);
	}
	CHECK_EQ_U64(metrics_cgroups(m), MT_METRICS_MAX_CGROUPS);
	/* one more: no slot idle, it goes under (other) */
	struct proc_stats extra = stats(pid, 100000, MIB, 0, 1);

	metrics_proc(m, pid, &extra);
	render(m, &sb);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_processes{cgroup=\"(other)\"}"), 1);
	CHECK_EQ_U64(metrics_cgroups(m), MT_METRICS_MAX_CGROUPS + 1);
	/* cgroup 5 empties: the next new cgroup takes its slot, its series end */
	struct proc_stats five = stats(5, 5, MIB, 0, 1);

	metrics_proc_gone(m, 5, 5, &five);
	struct proc_stats newer = stats(pid + 1, 200000, MIB, 0, 1);

	metrics_proc(m, pid + 1, &newer);
	render(m, &sb);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_processes{cgroup=\"/cg200000\"}"), 1);
	CHECK(value_of(&sb, "memtrace_cgroup_processes{cgroup=\"/cg5\"}") == -1);
	CHECK_EQ_U64(metrics_cgroups(m), MT_METRICS_MAX_CGROUPS + 1);
	/* a name that cannot be found is asked again next time */
	n.fail = true;
	struct proc_stats lost = stats(pid + 2, 300000, MIB, 0, 1);
	unsigned before = n.calls;

	metrics_proc_gone(m, 6, 6, NULL);
	metrics_proc(m, pid + 2, &lost);
	metrics_proc_gone(m, pid + 2, pid + 2, NULL);
	lost.start_ns++;
	metrics_proc(m, pid + 2, &lost);
	CHECK_EQ_INT(n.calls - before, 2);
	render(m, &sb);
	CHECK(value_of(&sb, "memtrace_cgroup_processes{cgroup=\"(unknown)\"}") == 1);
	sb_free(&sb);
	metrics_free(m);
}

static struct mt_oom_report oom_of(const char *comm, const char *memcg)
{
	struct mt_oom_report o = { .pid = 42, .tid = 42, .traced = true, .constraint = MT_OOM_MEMCG };

	snprintf(o.stats.comm, sizeof(o.stats.comm), "%s", comm);
	snprintf(o.memcg, sizeof(o.memcg), "%s", memcg);
	return o;
}

TEST(metrics_oom_and_limit_series)
{
	struct mt_metrics *m = metrics_new(name_by_id, &(struct names){});
	struct strbuf sb;
	struct mt_oom_report o = oom_of("python3", "/a/b");

	sb_init(&sb);
	metrics_oom(m, &o);
	metrics_oom(m, &o);
	o.constraint = MT_OOM_GLOBAL;
	metrics_oom(m, &o);
	render(m, &sb);
	CHECK_EQ_U64(value_of(&sb, "memtrace_oom_kills_total{cgroup=\"/a/b\",constraint=\"memcg\","
				   "victim=\"python3\"}"),
		     2);
	CHECK_EQ_U64(value_of(&sb, "memtrace_oom_kills_total{cgroup=\"/a/b\",constraint=\"global\","
				   "victim=\"python3\"}"),
		     1);
	/* bounded: past the limit, one (other) series */
	for (int i = 0; i < MT_METRICS_MAX_OOM_SERIES + 10; i++) {
		char cg[32];

		snprintf(cg, sizeof(cg), "/job%d", i);
		o = oom_of("w", cg);
		metrics_oom(m, &o);
	}
	render(m, &sb);
	CHECK_EQ_U64(value_of(&sb, "memtrace_oom_kills_total{cgroup=\"(other)\",constraint=\"(other)"
				   "\",victim=\"(other)\"}"),
		     12);
	struct proc_stats st = stats(1, 7, 3 * MIB, 0, 1);

	metrics_limit(m, 9, &st);
	render(m, &sb);
	CHECK_EQ_U64(value_of(&sb, "memtrace_cgroup_rss_limit_crossings_total{cgroup=\"/cg7\"}"), 1);
	sb_free(&sb);
	metrics_free(m);
}

TEST(metrics_peak_histogram)
{
	struct mt_metrics *m = metrics_new(name_by_id, &(struct names){});
	static const uint64_t peaks[] = { 512 * 1024, MIB, MIB + 1, 100 * MIB, 128ULL << 30 };
	struct strbuf sb;

	sb_init(&sb);
	for (uint32_t i = 0; i < sizeof(peaks) / sizeof(peaks[0]); i++) {
		struct proc_stats st = stats(i + 1, 7, peaks[i], 0, 0);

		metrics_proc(m, i + 1, &st);
		metrics_proc_gone(m, i + 1, i + 1, &st);
	}
	render(m, &sb);
	CHECK_EQ_U64(value_of(&sb, "memtrace_process_peak_rss_bytes_bucket{le=\"1048576\"}"), 2);
	CHECK_EQ_U64(value_of(&sb, "memtrace_process_peak_rss_bytes_bucket{le=\"2097152\"}"), 3);
	CHECK_EQ_U64(value_of(&sb, "memtrace_process_peak_rss_bytes_bucket{le=\"134217728\"}"), 4);
	CHECK_EQ_U64(value_of(&sb, "memtrace_process_peak_rss_bytes_bucket{le=\"68719476736\"}"), 4);
	CHECK_EQ_U64(value_of(&sb, "memtrace_process_peak_rss_bytes_bucket{le=\"+Inf\"}"), 5);
	CHECK_EQ_U64(value_of(&sb, "memtrace_process_peak_rss_bytes_count"), 5);
	CHECK_EQ_U64(value_of(&sb, "memtrace_process_peak_rss_bytes_sum"),
		     512 * 1024 + MIB + MIB + 1 + 100 * MIB + (128ULL << 30));
	/* every family is declared once, before its samples */
	CHECK(strstr(sb.data, "# TYPE memtrace_process_peak_rss_bytes histogram\n") != NULL);
	CHECK(strstr(sb.data, "# TYPE memtrace_oom_kills_total counter\n") != NULL);
	sb_free(&sb);
	metrics_free(m);
}

/* ---- oomlog ---- */

TEST(oomlog_one_json_line)
{
	struct mt_oom_report o = oom_of("py\"th\non", "/a/b");
	struct mt_rss_hist h = {};
	struct strbuf sb;

	o.mono_ns = 5000000000ULL;
	o.stats.anon_bytes = 3 * MIB;
	o.task_known = false;
	rss_hist_add(&h, 1000000000ULL, MIB);
	rss_hist_add(&h, 2000000000ULL, 2 * MIB);
	sb_init(&sb);
	oomlog_json(&o, &h, 1000000000ULL, 1796284269123000000ULL, "host-1", &sb);
	sb_add(&sb, "", 1);
	/* one line, ended by a newline */
	CHECK(strchr(sb.data, '\n') == sb.data + strlen(sb.data) - 1);
	CHECK(strstr(sb.data, "{\"schema\":\"memtrace-bpf/oom/1\","
			      "\"time\":\"2026-12-03T07:51:09.123Z\"") != NULL);
	CHECK(strstr(sb.data, "\"elapsed_s\":4.000000,\"host\":\"host-1\"") != NULL);
	CHECK(strstr(sb.data, "\"comm\":\"py\\\"th\\non\"") != NULL);
	CHECK(strstr(sb.data, "\"uid\":null,\"oom_score_adj\":null") != NULL);
	CHECK(strstr(sb.data, "\"rss_bytes\":3145728") != NULL);
	CHECK(strstr(sb.data, "\"constraint\":\"memcg\"") != NULL);
	CHECK(strstr(sb.data, "\"memcg\":\"/a/b\"") != NULL);
	CHECK(strstr(sb.data, "\"rss_history\":[{\"elapsed_s\":1.000000,\"rss_bytes\":1048576},"
			      "{\"elapsed_s\":2.000000,\"rss_bytes\":2097152}]}") != NULL);
	sb_free(&sb);
}

/* ---- cgname ---- */

TEST(cgname_paths)
{
	char buf[64];

	REQUIRE(cgname_from_dir("/sys/fs/cgroup/memory/a/b", "/sys/fs/cgroup/memory", "/", buf,
				sizeof(buf)) == 0);
	CHECK_STREQ(buf, "/a/b");
	REQUIRE(cgname_from_dir("/sys/fs/cgroup/memory", "/sys/fs/cgroup/memory", "/", buf,
				sizeof(buf)) == 0);
	CHECK_STREQ(buf, "/");
	/* a mount of a subtree (a container's cgroup namespace) */
	REQUIRE(cgname_from_dir("/sys/fs/cgroup/x", "/sys/fs/cgroup", "/kubepods/pod1", buf,
				sizeof(buf)) == 0);
	CHECK_STREQ(buf, "/kubepods/pod1/x");
	CHECK(cgname_from_dir("/elsewhere/a", "/sys/fs/cgroup", "/", buf, sizeof(buf)) != 0);
	CHECK(cgname_from_dir("/sys/fs/cgroup/memoryX", "/sys/fs/cgroup/memory", "/", buf,
			      sizeof(buf)) != 0);
	CHECK(cgname_from_dir("/m/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
			      "/m", "/", buf, sizeof(buf)) != 0);
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(netaddr_forms),
		UT(netaddr_refused),
		UT(promtext_escapes_and_utf8),
		UT(metrics_sums_per_cgroup),
		UT(metrics_exec_moves_and_pid_reuse),
		UT(metrics_pid_reuse_in_a_shared_chain),
		UT(metrics_cgroups_bounded),
		UT(metrics_oom_and_limit_series),
		UT(metrics_peak_histogram),
		UT(oomlog_one_json_line),
		UT(cgname_paths),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
