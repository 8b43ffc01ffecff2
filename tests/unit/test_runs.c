// SPDX-License-Identifier: GPL-2.0
/* The statistics across runs, the least-limit search, the cross-checks and the JSON summary. */
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include "bisect.h"
#include "runlog.h"
#include "stats.h"
#include "strbuf.h"
#include "sumjson.h"
#include "unit.h"

#define MIB (1ULL << 20)

static int close_to(double a, double b)
{
	return fabs(a - b) <= 1e-9 * (fabs(b) > 1 ? fabs(b) : 1);
}

TEST(stat_of_odd_and_even)
{
	double odd[] = { 5, 1, 3 }, even[] = { 4, 1, 3, 2 };
	struct mt_stat s;

	mt_stat_of(odd, 3, &s);
	CHECK_EQ_U64(s.n, 3);
	CHECK(close_to(s.median, 3) && close_to(s.min, 1) && close_to(s.max, 5));
	CHECK(close_to(s.mean, 3));
	CHECK(close_to(s.stdev, 2)); /* sample: sqrt(((5-3)^2 + (1-3)^2 + 0) / 2) */
	mt_stat_of(even, 4, &s);
	CHECK(close_to(s.median, 2.5));
	CHECK(close_to(s.stdev, sqrt(5.0 / 3)));
}

TEST(stat_of_one_and_none)
{
	double one[] = { 7 };
	struct mt_stat s;

	mt_stat_of(one, 1, &s);
	CHECK(close_to(s.median, 7) && close_to(s.stdev, 0));
	mt_stat_of(NULL, 0, &s);
	CHECK_EQ_U64(s.n, 0);
	CHECK(close_to(s.max, 0));
}

TEST(stat_of_large_byte_counts_keeps_the_spread)
{
	double v[] = { 1099511627776.0, 1099511627776.0 + 4096, 1099511627776.0 + 8192 };
	struct mt_stat s;

	mt_stat_of(v, 3, &s);
	CHECK(close_to(s.stdev, 4096));
}

/* A command that needs `need` bytes: the verdict of every trial the search asks for. */
static unsigned search(struct mt_bisect *b, uint64_t first, uint64_t need, uint64_t res)
{
	uint64_t limit;
	unsigned trials = 0;

	bisect_start(b, first, MIB, res);
	while ((limit = bisect_next(b)) && trials < 100) {
		CHECK_EQ_U64(limit % 4096, 0);
		bisect_result(b, limit, limit >= need);
		trials++;
	}
	return trials;
}

TEST(bisect_finds_the_least_limit_to_the_resolution)
{
	struct mt_bisect b;
	unsigned trials = search(&b, 101 * MIB, 100 * MIB + 12345, MIB);

	REQUIRE(bisect_found(&b));
	CHECK(b.min_ok >= 100 * MIB + 12345);
	CHECK(b.min_ok - b.max_failed <= MIB);
	CHECK(b.max_failed < 100 * MIB + 12345);
	CHECK(trials <= 9);
}

TEST(bisect_raises_a_first_try_that_is_too_little)
{
	struct mt_bisect b;

	search(&b, 80 * MIB, 110 * MIB, MIB);
	REQUIRE(bisect_found(&b));
	CHECK(b.min_ok >= 110 * MIB && b.min_ok - b.max_failed <= MIB);
}

TEST(bisect_gives_up_after_the_raises)
{
	struct mt_bisect b;
	unsigned trials = search(&b, 10 * MIB, 1ULL << 40, MIB);

	CHECK(!bisect_found(&b));
	CHECK_EQ_U64(trials, MT_BISECT_RAISES + 1);
}

TEST(bisect_stops_at_the_floor)
{
	struct mt_bisect b;

	search(&b, 64 * MIB, 0, MIB);
	REQUIRE(bisect_found(&b));
	CHECK(b.min_ok - b.floor <= MIB);
	CHECK_EQ_U64(b.max_failed, 0);
}

TEST(crosscheck_samplers_take_their_own_ticks)
{
	struct mt_crosscheck x;
	const uint64_t ms = 1000000;

	crosscheck_begin(&x, 100 * ms);
	CHECK(x.sampled_known[0] && x.sampled_known[1]);
	crosscheck_tick(&x, 100 * ms, 100 * ms + 3 * ms, 10);	/* 0.1 s tick */
	crosscheck_tick(&x, 100 * ms, 500 * ms + 1 * ms, 50);	/* 0.1 s tick */
	crosscheck_tick(&x, 100 * ms, 1000 * ms + 9 * ms, 30); /* both */
	CHECK_EQ_U64(x.sampled_peak_bytes[0], 50);
	CHECK_EQ_U64(x.sampled_peak_bytes[1], 30);
	/* -i 1s: a 0.1 s sampler cannot be imitated; -i 300ms: neither */
	crosscheck_begin(&x, 1000 * ms);
	CHECK(!x.sampled_known[0] && x.sampled_known[1]);
	crosscheck_begin(&x, 300 * ms);
	CHECK(!x.sampled_known[0] && !x.sampled_known[1]);
}

static void fill_run(struct mt_run *r, unsigned number, bool warmup, uint64_t peak, double wall)
{
	r->number = number;
	r->warmup = warmup;
	r->started = true;
	r->root.exited = true;
	r->root.stats.peak_rss_bytes = peak;
	r->root.stats.peak_anon_bytes = peak;
	r->wall_ns = (uint64_t)(wall * 1e9);
}

TEST(runlog_statistics_leave_out_warmups)
{
	struct mt_runlog log = { 0 };
	struct mt_stat s;

	fill_run(runlog_add(&log), 0, true, 999 * MIB, 9.0);
	fill_run(runlog_add(&log), 1, false, 100 * MIB, 1.0);
	fill_run(runlog_add(&log), 2, false, 102 * MIB, 3.0);
	fill_run(runlog_add(&log), 3, false, 101 * MIB, 2.0);
	CHECK_EQ_U64(runlog_counted(&log), 3);
	REQUIRE(runlog_stat(&log, MT_METRIC_PEAK, &s));
	CHECK(close_to(s.median, 101.0 * MIB) && close_to(s.max, 102.0 * MIB));
	REQUIRE(runlog_stat(&log, MT_METRIC_WALL, &s));
	CHECK(close_to(s.median, 2.0) && close_to(s.stdev, 1.0));
	runlog_free(&log);
}

TEST(run_outcomes)
{
	struct mt_run r;

	memset(&r, 0, sizeof(r));
	r.started = true;
	CHECK_STREQ(run_outcome_name(run_outcome(&r)), "ok");
	r.exit_status = 3;
	CHECK_STREQ(run_outcome_name(run_outcome(&r)), "failed");
	r.interrupted = true;
	r.exit_status = 130;
	CHECK_STREQ(run_outcome_name(run_outcome(&r)), "interrupted");
	r.interrupted = false;
	r.exit_status = 137;
	r.root.oom_killed = true;
	CHECK_STREQ(run_outcome_name(run_outcome(&r)), "oom_killed");
	r.root.oom_killed = false;
	r.cgroup_oom_known = true;
	r.cgroup_oom_kills = 1;
	CHECK_STREQ(run_outcome_name(run_outcome(&r)), "oom_killed");
	r.timed_out = true;
	CHECK_STREQ(run_outcome_name(run_outcome(&r)), "timeout");
}

TEST(sumjson_keys_and_escaping)
{
	struct mt_runlog log = { 0 };
	struct mt_summary sum = { 0 };
	struct mt_report_totals totals = { 0 };
	struct mt_bisect b;
	struct strbuf sb = { 0 };
	struct mt_run *r;

	fill_run(runlog_add(&log), 1, false, 100 * MIB, 1.5);
	r = runlog_add(&log);
	fill_run(r, 2, false, 60 * MIB, 0.5);
	r->limit_bytes = 64 * MIB;
	r->exit_status = 128 + SIGKILL;
	r->root.exit_status = SIGKILL;
	r->root.oom_killed = true;
	snprintf(r->root.label, sizeof(r->root.label), "say \"hi\"\n");
	bisect_start(&b, 100 * MIB, MIB, MIB);
	bisect_result(&b, 100 * MIB, true);
	bisect_result(&b, 64 * MIB, false);
	const struct mt_sumjson_input in = {
		.target = "command",
		.command = "python3 -c 'x'",
		.interval_ns = 100000000,
		.runs = &log,
		.summary = &sum,
		.totals = &totals,
		.output = "runs.csv",
		.bisect = &b,
		.trial_timeout_ns = 10000000000ULL,
	};
	sumjson_make(&in, &sb);
	sb_add(&sb, "", 1);
	CHECK(strstr(sb.data, "\"schema\":\"memtrace-bpf/summary/1\"") != NULL);
	CHECK(strstr(sb.data, "\"command\":\"python3 -c 'x'\"") != NULL);
	CHECK(strstr(sb.data, "\"command\":\"say \\\"hi\\\"\\n\"") != NULL);
	CHECK(strstr(sb.data, "\"signal\":\"SIGKILL\"") != NULL);
	CHECK(strstr(sb.data, "\"outcome\":\"oom_killed\"") != NULL);
	CHECK(strstr(sb.data, "\"limit_bytes\":67108864") != NULL);
	CHECK(strstr(sb.data, "\"min_ok_limit_bytes\":104857600") != NULL);
	CHECK(strstr(sb.data, "\"max_failed_limit_bytes\":67108864") != NULL);
	CHECK(strstr(sb.data, "\"peak_rss_bytes\":{\"n\":2,\"median\":83886080.000000") != NULL);
	CHECK(strstr(sb.data, "\"oom_kills\":0") != NULL);
	CHECK(sb.data[sb.len - 2] == '\n');
	sb_free(&sb);
	runlog_free(&log);
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(stat_of_odd_and_even),
		UT(stat_of_one_and_none),
		UT(stat_of_large_byte_counts_keeps_the_spread),
		UT(bisect_finds_the_least_limit_to_the_resolution),
		UT(bisect_raises_a_first_try_that_is_too_little),
		UT(bisect_gives_up_after_the_raises),
		UT(bisect_stops_at_the_floor),
		UT(crosscheck_samplers_take_their_own_ticks),
		UT(runlog_statistics_leave_out_warmups),
		UT(run_outcomes),
		UT(sumjson_keys_and_escaping),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
