// SPDX-License-Identifier: GPL-2.0
/*
 * The sampler's row guarantees, on synthetic records: one start and one exit row per process,
 * rows in time order, a reused pid never mixing two processes, the exit row of a process whose
 * exit record was lost, an OOM row before the exit row. The rows are caught by a format of the
 * test's own, so what is checked is what any format would be handed.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include "sampler.h"
#include "unit.h"

#define MAX_ROWS 64
#define MS 1000000ULL

struct caught {
	enum mt_row_event event;
	uint64_t mono_ns;
	int pid;
	uint64_t rss;
	uint64_t peak;
	int64_t delta;
	char comm[MT_COMM_LEN];
	char detail[256];
	bool root;
};

static struct caught rows[MAX_ROWS];
static size_t nrows;
static unsigned intervals;

static void catch_header(struct mt_writer *w)
{
	(void)w;
}

static void catch_row(struct mt_writer *w, const struct mt_row *r)
{
	(void)w;
	if (nrows >= MAX_ROWS)
		return;
	struct caught *c = &rows[nrows++];
	c->event = r->event;
	c->mono_ns = r->mono_ns;
	c->pid = r->pid;
	c->rss = r->rss_bytes;
	c->peak = r->peak_rss_bytes;
	c->delta = r->rss_delta_bytes;
	c->root = r->root;
	snprintf(c->comm, sizeof(c->comm), "%s", r->comm);
	snprintf(c->detail, sizeof(c->detail), "%s", r->detail ? r->detail : "");
}

static void catch_interval(struct mt_writer *w, uint64_t mono_ns)
{
	(void)w;
	(void)mono_ns;
	intervals++;
}

static const struct mt_format_ops catching = {
	.name = "test",
	.header = catch_header,
	.row = catch_row,
	.interval_end = catch_interval,
};

/* what the hooks were told */
static unsigned limits_told, ooms_told, untraced_told, scanned_told, updated_told, gone_told,
	exited_told;

static void on_limit(void *ctx, const struct mt_event *e)
{
	(void)ctx;
	(void)e;
	limits_told++;
}

static void on_oom(void *ctx, const struct mt_oom_report *o, const struct mt_rss_hist *hist)
{
	(void)ctx;
	(void)o;
	if (hist)
		ooms_told++;
	else
		untraced_told++;
}

static void on_scan(void *ctx, uint32_t pid, const struct proc_stats *st, uint64_t *mark)
{
	(void)ctx;
	(void)pid;
	(void)st;
	(void)mark;
	scanned_told++;
}

static void on_updated(void *ctx, uint32_t pid, const struct proc_stats *st)
{
	(void)ctx;
	(void)pid;
	(void)st;
	updated_told++;
}

static void on_gone(void *ctx, uint32_t pid, uint64_t start_ns, const struct proc_stats *final)
{
	(void)ctx;
	(void)pid;
	(void)start_ns;
	gone_told++;
	exited_told += final != NULL;
}

static struct mt_writer w;
static struct mt_sampler s;

static void setup(bool every)
{
	const struct mt_sampler_opts opts = {
		.every = every,
		.rss_limit = 100 << 20,
		.hooks = { .limit_crossed = on_limit, .oom_killed = on_oom, .proc_scanned = on_scan,
			   .proc_updated = on_updated, .proc_gone = on_gone },
	};

	memset(&w, 0, sizeof(w));
	w.ops = &catching;
	w.path = "test";
	w.fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	nrows = 0;
	intervals = limits_told = ooms_told = untraced_told = scanned_told = 0;
	updated_told = gone_told = exited_told = 0;
	sampler_init(&s, &w, &opts);
}

static void teardown(void)
{
	sampler_free(&s);
	close(w.fd);
	sb_free(&w.buf);
}

static struct proc_stats stats(uint32_t ppid, uint64_t start_ns, uint64_t anon, const char *comm)
{
	struct proc_stats st = { .ppid = ppid, .start_ns = start_ns, .anon_bytes = anon };

	st.peak_rss_bytes = anon;
	st.peak_anon_bytes = anon;
	snprintf(st.comm, sizeof(st.comm), "%s", comm);
	return st;
}

static void event(uint32_t type, uint32_t pid, uint64_t ts_ns, struct proc_stats st)
{
	struct mt_event e = { .type = type, .pid = pid, .ts_ns = ts_ns, .stats = st };

	sampler_on_event(&s, &e);
}

/* One scan at now over the records given; returns how many entries must leave the set. */
static unsigned scan(uint64_t now, bool final, const uint32_t *pids, const struct proc_stats *st,
		     size_t n)
{
	unsigned leave = 0;

	sampler_scan_begin(&s, now, final, false);
	for (size_t i = 0; i < n; i++)
		leave += sampler_scan_proc(&s, pids[i], &st[i]);
	sampler_scan_end(&s, n - leave);
	return leave;
}

static unsigned count_rows(int pid, enum mt_row_event ev)
{
	unsigned n = 0;

	for (size_t i = 0; i < nrows; i++)
		n += rows[i].pid == pid && rows[i].event == ev;
	return n;
}

/* every process's rows in time order, starting with its start row, none after its exit row */
static void check_row_order(void)
{
	for (size_t i = 0; i < nrows; i++) {
		bool seen_start = false;

		for (size_t j = 0; j < i; j++) {
			if (rows[j].pid != rows[i].pid)
				continue;
			CHECK(rows[j].mono_ns <= rows[i].mono_ns);
			seen_start |= rows[j].event == MT_ROW_START;
		}
		CHECK(rows[i].event == MT_ROW_START || seen_start);
	}
}

TEST(one_start_samples_on_change_one_exit)
{
	struct proc_stats st = stats(1, 1000, 4096, "app");
	uint32_t pid = 100;

	setup(false);
	event(MT_EV_FORK, pid, 10 * MS, st);
	REQUIRE(nrows == 1);
	CHECK(rows[0].event == MT_ROW_START);
	CHECK_EQ_U64(rows[0].mono_ns, 10 * MS);
	CHECK(rows[0].delta == 0);

	/* unchanged: no row; changed: a sample row with the growth since the last row */
	scan(20 * MS, false, &pid, &st, 1);
	CHECK(nrows == 1);
	st.anon_bytes = st.peak_rss_bytes = 3 * 4096;
	scan(30 * MS, false, &pid, &st, 1);
	REQUIRE(nrows == 2);
	CHECK(rows[1].event == MT_ROW_SAMPLE);
	CHECK(rows[1].delta == 2 * 4096);
	CHECK(scanned_told == 2);

	st.exit_status = 3 << 8;
	event(MT_EV_EXIT, pid, 35 * MS, st);
	/* gone from the set: the next scan has no record of it and writes nothing more */
	scan(40 * MS, true, NULL, NULL, 0);
	CHECK(count_rows(pid, MT_ROW_START) == 1);
	CHECK(count_rows(pid, MT_ROW_EXIT) == 1);
	CHECK(!strcmp(rows[2].detail, "exit_code=3"));
	CHECK_EQ_U64(s.sum.procs_started, 1);
	CHECK_EQ_U64(s.sum.procs_exited, 1);
	CHECK(intervals == 3);
	check_row_order();
	teardown();
}

/* The exporter is told of a process when its entry changed (gen), and when it goes. */
TEST(updates_told_once_per_change_and_the_end)
{
	struct proc_stats st = stats(1, 1000, 4096, "app"), other = stats(1, 2000, 4096, "b");
	uint32_t pid = 100, pid2 = 200;

	setup(false);
	event(MT_EV_FORK, pid, 10 * MS, st);
	CHECK_EQ_INT(updated_told, 1);
	/* read again at every scan, unchanged: not told again */
	scan(20 * MS, false, &pid, &st, 1);
	scan(30 * MS, false, &pid, &st, 1);
	CHECK_EQ_INT(updated_told, 1);
	st.gen++;
	st.faults = 7; /* no row (RSS the same), but the exporter counts faults */
	scan(40 * MS, false, &pid, &st, 1);
	CHECK_EQ_INT(updated_told, 2);
	/* a pid reused before the old process's exit was seen: the old one is gone, vanished */
	event(MT_EV_FORK, pid, 45 * MS, other);
	CHECK_EQ_INT(gone_told, 1);
	CHECK_EQ_INT(exited_told, 0);
	/* an exit: told with its final statistics */
	event(MT_EV_FORK, pid2, 50 * MS, st);
	st.exit_status = 0;
	event(MT_EV_EXIT, pid2, 60 * MS, st);
	CHECK_EQ_INT(gone_told, 2);
	CHECK_EQ_INT(exited_told, 1);
	teardown();
}

/* A record copied while the kernel wrote it: a counter newer than the peak */
TEST(a_torn_record_never_has_the_peak_below_the_rss)
{
	struct proc_stats st = stats(1, 1000, 8192, "app");
	uint32_t pid = 100;

	setup(false);
	event(MT_EV_FORK, pid, 10 * MS, st);
	st.anon_bytes = 3 * 4096; /* the counter moved on, its peak not yet */
	st.gen++;
	scan(20 * MS, false, &pid, &st, 1);
	REQUIRE(nrows == 2);
	CHECK_EQ_U64(rows[1].rss, 3 * 4096);
	CHECK_EQ_U64(rows[1].peak, 3 * 4096);
	CHECK_EQ_U64(s.sum.top_peaks[0].peak_rss_bytes, 3 * 4096);
	/* an exit record copied the same way */
	st.anon_bytes = 4 * 4096;
	event(MT_EV_EXIT, pid, 30 * MS, st);
	REQUIRE(nrows == 3);
	CHECK_EQ_U64(rows[2].peak, 4 * 4096);
	teardown();
}

TEST(lost_exit_record_comes_from_the_map)
{
	struct proc_stats st = stats(1, 1000, 8192, "lost");
	uint32_t pid = 200;

	setup(false);
	event(MT_EV_FORK, pid, 10 * MS, st);
	/* the ring buffer was full at exit: the map kept the process, flagged, with its end */
	st.flags = MT_PROC_EXITED;
	st.exit_ns = 15 * MS;
	st.exit_status = SIGKILL;
	CHECK(scan(20 * MS, false, &pid, &st, 1) == 1);
	REQUIRE(nrows == 2);
	CHECK(rows[1].event == MT_ROW_EXIT);
	CHECK_EQ_U64(rows[1].mono_ns, 15 * MS);
	CHECK(!strcmp(rows[1].detail, "signal=SIGKILL"));
	/* gone from the table: a later scan without it writes nothing */
	scan(30 * MS, true, NULL, NULL, 0);
	CHECK(nrows == 2);
	CHECK_EQ_U64(s.sum.exits_unexplained, 0);
	teardown();
}

TEST(lost_start_and_exit_both_from_the_map)
{
	struct proc_stats st = stats(1, 1000, 8192, "brief");
	uint32_t pid = 210;

	setup(false);
	st.flags = MT_PROC_EXITED;
	st.exit_ns = 12 * MS;
	CHECK(scan(20 * MS, false, &pid, &st, 1) == 1);
	REQUIRE(nrows == 2);
	CHECK(rows[0].event == MT_ROW_START);
	CHECK(rows[1].event == MT_ROW_EXIT);
	teardown();
}

TEST(reused_pid_never_mixes_two_processes)
{
	struct proc_stats old = stats(1, 1000, 4096, "old"), young = stats(1, 9000, 65536, "young");
	uint32_t pid = 300;

	setup(false);
	event(MT_EV_FORK, pid, 10 * MS, old);
	/* old's exit record was lost and the pid went to a new process */
	event(MT_EV_FORK, pid, 50 * MS, young);
	REQUIRE(nrows == 2);
	CHECK(rows[1].event == MT_ROW_START);
	CHECK(!strcmp(rows[1].comm, "young"));
	CHECK(rows[1].delta == 0); /* not measured against the old process's RSS */
	CHECK_EQ_U64(s.sum.exits_unexplained, 1);
	/* a late map record of the old process does not become a row of the new one */
	young.anon_bytes = young.peak_rss_bytes = 2 * 65536;
	scan(60 * MS, false, &pid, &young, 1);
	REQUIRE(nrows == 3);
	CHECK(!strcmp(rows[2].comm, "young"));
	CHECK(rows[2].delta == 65536);
	teardown();
}

TEST(a_record_older_than_the_last_row_keeps_time_order)
{
	struct proc_stats st = stats(1, 1000, 4096, "late");
	uint32_t pid = 400;

	setup(false);
	event(MT_EV_FORK, pid, 10 * MS, st);
	st.anon_bytes = st.peak_rss_bytes = 8192;
	scan(100 * MS, false, &pid, &st, 1);
	/* stamped on another CPU before the scan, drained after it */
	event(MT_EV_EXIT, pid, 90 * MS, st);
	REQUIRE(nrows == 3);
	CHECK(rows[2].event == MT_ROW_EXIT);
	CHECK_EQ_U64(rows[2].mono_ns, 100 * MS);
	check_row_order();
	teardown();
}

TEST(a_process_that_lives_between_two_scans)
{
	struct proc_stats st = stats(1, 1000, 4096, "brief");

	setup(false);
	scan(10 * MS, false, NULL, NULL, 0);
	event(MT_EV_FORK, 500, 12 * MS, st);
	event(MT_EV_EXIT, 500, 14 * MS, st);
	scan(20 * MS, false, NULL, NULL, 0);
	CHECK(nrows == 2);
	CHECK(count_rows(500, MT_ROW_START) == 1);
	CHECK(count_rows(500, MT_ROW_EXIT) == 1);
	CHECK(count_rows(500, MT_ROW_SAMPLE) == 0);
	/* an exit whose fork was never seen still gets its start row first */
	event(MT_EV_EXIT, 501, 16 * MS, stats(1, 2000, 4096, "unseen"));
	REQUIRE(nrows == 4);
	CHECK(rows[2].event == MT_ROW_START && rows[2].pid == 501);
	CHECK(rows[3].event == MT_ROW_EXIT && rows[3].pid == 501);
	teardown();
}

static void oom_event(uint32_t pid, uint64_t ts_ns, struct proc_stats st, uint32_t flags,
		      uint32_t trigger)
{
	struct mt_oom_event e = {
		.head = { .type = MT_EV_OOM, .pid = pid, .ts_ns = ts_ns, .stats = st },
		.oom = { .victim_tid = pid, .trigger_pid = trigger, .flags = flags },
	};

	sampler_on_event(&s, &e.head);
}

TEST(oom_row_before_exit_row_once_per_process)
{
	struct proc_stats st = stats(1, 1000, 512 << 20, "hog");
	uint32_t pid = 600;

	setup(false);
	sampler_add_root(&s, pid, &st, "hog --big", false, 5 * MS);
	/* the kernel marks every thread of the victim: one row */
	oom_event(pid, 20 * MS, st, MT_OOM_TRACED | MT_OOM_VICTIM_TASK, pid);
	oom_event(pid, 20 * MS, st, MT_OOM_TRACED | MT_OOM_VICTIM_TASK, pid);
	st.exit_status = SIGKILL;
	event(MT_EV_EXIT, pid, 21 * MS, st);
	REQUIRE(nrows == 3);
	CHECK(rows[0].event == MT_ROW_START);
	CHECK(rows[1].event == MT_ROW_OOM_KILL);
	CHECK(rows[2].event == MT_ROW_EXIT);
	CHECK(rows[1].root && rows[2].root);
	CHECK(ooms_told == 1);
	CHECK_EQ_U64(s.sum.oom_kills, 1);
	REQUIRE(s.sum.nroots == 1);
	CHECK(s.sum.roots[0].oom_killed);
	CHECK(s.sum.roots[0].exited);
	CHECK(sampler_roots_done(&s));
	teardown();
}

TEST(untraced_victim_of_a_traced_trigger_told_once)
{
	struct proc_stats st = stats(1, 1000, 4096, "app"), other = stats(1, 77, 1 << 30, "db");

	setup(false);
	event(MT_EV_FORK, 700, 10 * MS, st);
	oom_event(701, 20 * MS, other, MT_OOM_VICTIM_TASK, 700);
	oom_event(701, 20 * MS, other, MT_OOM_VICTIM_TASK, 700);
	/* triggered by a process we do not trace either: not ours to tell */
	oom_event(702, 20 * MS, other, MT_OOM_VICTIM_TASK, 999);
	CHECK(untraced_told == 1);
	CHECK_EQ_U64(s.sum.untraced_oom_kills, 1);
	CHECK(nrows == 1); /* no row for an untraced process */
	teardown();
}

TEST(limit_row_says_the_action)
{
	struct proc_stats st = stats(1, 1000, 200 << 20, "big");
	struct mt_event e = { .type = MT_EV_LIMIT, .pid = 800, .ts_ns = 30 * MS, .stats = st,
			      .signal = SIGTERM, .ev_flags = MT_EVF_SIGNAL_DEFERRED };

	setup(false);
	sampler_on_event(&s, &e);
	REQUIRE(nrows == 2);
	CHECK(rows[0].event == MT_ROW_START);
	CHECK(rows[1].event == MT_ROW_LIMIT);
	CHECK(!strcmp(rows[1].detail,
		      "limit_bytes=104857600 action=kill signal=SIGTERM sent_from=user"));
	CHECK(limits_told == 1);
	CHECK_EQ_U64(s.sum.limit_rows, 1);
	teardown();
}

TEST(launched_command_whose_exec_failed_has_no_rows)
{
	struct proc_stats pre = { .flags = MT_PROC_PRE_EXEC, .comm = "memtrace-bpf" };
	uint32_t pid = 900;

	setup(false);
	sampler_add_root(&s, pid, &pre, "nosuchcommand", true, 0);
	/* before exec the map entry is the tracer's own copy: not a row */
	scan(10 * MS, false, &pid, &pre, 1);
	CHECK(nrows == 0);
	pre.exit_status = 127 << 8;
	event(MT_EV_EXIT, pid, 12 * MS, pre);
	CHECK(nrows == 0);
	CHECK(s.sum.roots[0].exited);
	CHECK(WEXITSTATUS(s.sum.roots[0].exit_status) == 127);
	teardown();
}

TEST(children_counted_in_their_roots_tree)
{
	struct proc_stats root = stats(1, 1000, 4096, "sh"), kid = stats(1000, 2000, 1 << 20, "kid");

	setup(false);
	root.ppid = 1;
	sampler_add_root(&s, 1000, &root, "sh -c kid", false, 1 * MS);
	event(MT_EV_FORK, 1001, 5 * MS, kid);
	kid.ppid = 1001;
	event(MT_EV_FORK, 1002, 6 * MS, kid); /* a grandchild */
	REQUIRE(s.sum.nroots == 1);
	CHECK(s.sum.roots[0].descendants == 2);
	CHECK_EQ_U64(s.sum.roots[0].top_child_peak, 1 << 20);
	CHECK(rows[0].root && !rows[1].root && !rows[2].root);
	CHECK(!sampler_roots_done(&s));
	teardown();
}

TEST(final_scan_and_every_write_unchanged_processes)
{
	struct proc_stats st = stats(1, 1000, 4096, "still");
	uint32_t pid = 1100;

	setup(false);
	event(MT_EV_FORK, pid, 10 * MS, st);
	scan(20 * MS, false, &pid, &st, 1);
	CHECK(nrows == 1);
	scan(30 * MS, true, &pid, &st, 1);
	CHECK(nrows == 2);
	CHECK(rows[1].event == MT_ROW_SAMPLE);
	teardown();

	setup(true);
	event(MT_EV_FORK, pid, 10 * MS, st);
	scan(20 * MS, false, &pid, &st, 1);
	scan(30 * MS, false, &pid, &st, 1);
	CHECK(nrows == 3);
	teardown();
}

TEST(largest_peaks_kept_in_order_one_slot_a_process)
{
	setup(false);
	for (uint32_t i = 0; i < 8; i++)
		event(MT_EV_FORK, 1200 + i, 10 * MS, stats(1, 1000 + i, (i + 1) << 20, "p"));
	/* a process already among the largest moves up, it does not take a second slot */
	uint32_t pid = 1200;
	struct proc_stats grown = stats(1, 1000, 64 << 20, "p");
	scan(20 * MS, false, &pid, &grown, 1);
	CHECK_EQ_U64(s.sum.top_peaks[0].peak_rss_bytes, 64 << 20);
	CHECK(s.sum.top_peaks[0].pid == 1200);
	for (int i = 1; i < MT_TOP_PEAKS; i++) {
		CHECK(s.sum.top_peaks[i].pid != 1200);
		CHECK(s.sum.top_peaks[i].peak_rss_bytes < s.sum.top_peaks[i - 1].peak_rss_bytes);
	}
	CHECK_EQ_U64(s.sum.top_peaks[1].peak_rss_bytes, 8 << 20);
	teardown();
}

TEST(recent_rss_history_for_the_oom_report)
{
	struct mt_rss_hist h = {};
	uint64_t v;

	for (uint32_t ms = 0; ms < 10000; ms += 100)
		rss_hist_add(&h, ms * MS, (uint64_t)ms << 10);
	CHECK(h.n == MT_HIST_LEN);
	/* the newest point is the latest row */
	uint32_t at;
	rss_hist_point(&h, h.n - 1, &at, &v);
	CHECK(at == 9900);
	CHECK_EQ_U64(v, 9900ULL << 10);
	CHECK(!rss_hist_at(&h, 1000, &v)); /* older than what is kept */
	CHECK(rss_hist_at(&h, 9950, &v));
	CHECK_EQ_U64(v, 9900ULL << 10);
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(one_start_samples_on_change_one_exit),
		UT(updates_told_once_per_change_and_the_end),
		UT(a_torn_record_never_has_the_peak_below_the_rss),
		UT(lost_exit_record_comes_from_the_map),
		UT(lost_start_and_exit_both_from_the_map),
		UT(reused_pid_never_mixes_two_processes),
		UT(a_record_older_than_the_last_row_keeps_time_order),
		UT(a_process_that_lives_between_two_scans),
		UT(oom_row_before_exit_row_once_per_process),
		UT(untraced_victim_of_a_traced_trigger_told_once),
		UT(limit_row_says_the_action),
		UT(launched_command_whose_exec_failed_has_no_rows),
		UT(children_counted_in_their_roots_tree),
		UT(final_scan_and_every_write_unchanged_processes),
		UT(largest_peaks_kept_in_order_one_slot_a_process),
		UT(recent_rss_history_for_the_oom_report),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
