// SPDX-License-Identifier: GPL-2.0
/* The mprof format (user/mprof.c), written through a real writer and read back byte for byte. */
#include <stdio.h>
#include <string.h>
#include "writer.h"
#include "unit.h"
#include "writer_run.h"

TEST(mprof_cmdline)
{
	struct run r;

	REQUIRE(run_open(&r, "mprof", "python3 -c 'print(1)' caf\xc3\xa9") == 0);
	CHECK_STREQ(run_close(&r), "CMDLINE python3 -c 'print(1)' caf\xc3\xa9\n");
	REQUIRE(run_open(&r, "mprof", NULL) == 0);
	CHECK_STREQ(run_close(&r), "CMDLINE \n");
}

/* a newline would end the line early, invalid UTF-8 would stop Python's text-mode reader */
TEST(mprof_cmdline_hostile)
{
	struct run r;

	REQUIRE(run_open(&r, "mprof", "a\nb\rc\x01\xff\xc3(\x7f") == 0);
	CHECK_STREQ(run_close(&r), "CMDLINE a\\x0ab\\x0dc\\x01\\xff\\xc3(\\x7f\n");
}

/* A root and two children over four intervals: starts, carried values, an exit. */
TEST(mprof_root_and_children)
{
	struct run r;

	REQUIRE(run_open(&r, "mprof", "./app") == 0);
	/* interval 1: all three start, then each has a sample */
	row(&r, 10, 100, 1, MT_ROW_START, 0, true);
	row(&r, 20, 101, 100, MT_ROW_START, 0, false);
	row(&r, 30, 102, 100, MT_ROW_START, 0, false);
	row(&r, 1000, 100, 1, MT_ROW_SAMPLE, 1 * MIB, true);
	row(&r, 1000, 101, 100, MT_ROW_SAMPLE, 10 * MIB, false);
	row(&r, 1000, 102, 100, MT_ROW_SAMPLE, 20 * MIB + 8192, false);
	interval_end(&r, 1000);
	/* interval 2: only 101 changed; 100 and 102 are carried forward */
	row(&r, 2000, 101, 100, MT_ROW_SAMPLE, 15 * MIB, false);
	interval_end(&r, 2000);
	/* interval 3: 102 crosses a limit at 50 MiB, then exits holding 40 MiB: it counts once
	 * more, with the largest RSS of its rows in this interval */
	row(&r, 2400, 102, 100, MT_ROW_LIMIT, 50 * MIB, false);
	row(&r, 2500, 102, 100, MT_ROW_EXIT, 40 * MIB, false);
	interval_end(&r, 3000);
	/* interval 4: nothing changed; 102 is gone */
	interval_end(&r, 4000);
	/* interval 5: the root exits, its child lives on */
	row(&r, 4500, 100, 1, MT_ROW_EXIT, 2 * MIB, true);
	interval_end(&r, 5000);
	interval_end(&r, 6000);
	CHECK_STREQ(run_close(&r), "CMDLINE ./app\n"
				   "MEM 31.007812 1700000001.0000\n"
				   "CHLD 101 10.000000 1700000001.0000\n"
				   "CHLD 102 20.007812 1700000001.0000\n"
				   "MEM 36.007812 1700000002.0000\n"
				   "CHLD 101 15.000000 1700000002.0000\n"
				   "CHLD 102 20.007812 1700000002.0000\n"
				   "MEM 66.000000 1700000003.0000\n"
				   "CHLD 101 15.000000 1700000003.0000\n"
				   "CHLD 102 50.000000 1700000003.0000\n"
				   "MEM 16.000000 1700000004.0000\n"
				   "CHLD 101 15.000000 1700000004.0000\n"
				   "MEM 17.000000 1700000005.0000\n"
				   "CHLD 101 15.000000 1700000005.0000\n"
				   "MEM 15.000000 1700000006.0000\n"
				   "CHLD 101 15.000000 1700000006.0000\n");
}

/* An exit counts with the rows of its own interval, not with what it held an interval ago. */
TEST(mprof_exit_counts_its_interval_only)
{
	struct run r;

	REQUIRE(run_open(&r, "mprof", "x") == 0);
	row(&r, 0, 200, 1, MT_ROW_START, 100 * MIB, false);
	interval_end(&r, 1000);
	row(&r, 1500, 200, 1, MT_ROW_EXIT, 4096, false);
	interval_end(&r, 2000);
	CHECK_STREQ(run_close(&r), "CMDLINE x\n"
				   "MEM 100.000000 1700000001.0000\n"
				   "CHLD 200 100.000000 1700000001.0000\n"
				   "MEM 0.003906 1700000002.0000\n"
				   "CHLD 200 0.003906 1700000002.0000\n");
}

/* A process born and gone within one interval still shows. */
TEST(mprof_short_lived_process)
{
	struct run r;

	REQUIRE(run_open(&r, "mprof", "x") == 0);
	row(&r, 0, 1, 0, MT_ROW_START, MIB, true);
	interval_end(&r, 1000);
	row(&r, 1100, 2, 1, MT_ROW_START, 0, false);
	row(&r, 1200, 2, 1, MT_ROW_OOM_KILL, 900 * MIB, false);
	row(&r, 1210, 2, 1, MT_ROW_EXIT, 3 * MIB, false);
	interval_end(&r, 2000);
	interval_end(&r, 3000);
	CHECK_STREQ(run_close(&r), "CMDLINE x\n"
				   "MEM 1.000000 1700000001.0000\n"
				   "MEM 901.000000 1700000002.0000\n"
				   "CHLD 2 900.000000 1700000002.0000\n"
				   "MEM 1.000000 1700000003.0000\n");
}

/* -a, -G: nothing is a root, every process is a CHLD; lines sorted by pid */
TEST(mprof_no_roots)
{
	struct run r;

	REQUIRE(run_open(&r, "mprof", "memtrace-bpf -a") == 0);
	row(&r, 0, 900, 1, MT_ROW_START, 3 * MIB, false);
	row(&r, 0, 5, 1, MT_ROW_START, 2 * MIB, false);
	row(&r, 0, 70, 1, MT_ROW_START, MIB / 2, false);
	interval_end(&r, 100);
	CHECK_STREQ(run_close(&r), "CMDLINE memtrace-bpf -a\n"
				   "MEM 5.500000 1700000000.1000\n"
				   "CHLD 5 2.000000 1700000000.1000\n"
				   "CHLD 70 0.500000 1700000000.1000\n"
				   "CHLD 900 3.000000 1700000000.1000\n");
}

/* nothing traced yet, or nothing left: MEM 0, no CHLD */
TEST(mprof_empty_interval)
{
	struct run r;

	REQUIRE(run_open(&r, "mprof", "x") == 0);
	interval_end(&r, 100);
	CHECK_STREQ(run_close(&r), "CMDLINE x\nMEM 0.000000 1700000000.1000\n");
}

/* MiB and seconds printed as Python's "{:.6f}" and "{:.4f}" print them */
TEST(mprof_number_formats)
{
	struct run r;

	REQUIRE(run_open(&r, "mprof", "x") == 0);
	row(&r, 0, 1, 0, MT_ROW_START, 8192, true); /* 0.0078125: a tie, to even */
	writer_interval_end(&r.w, T0_MONO + 123456789ULL); /* cut to 0.1 ms */
	row(&r, 0, 1, 0, MT_ROW_SAMPLE, 24576, true); /* 0.0234375: a tie, up to even */
	interval_end(&r, 200);
	row(&r, 0, 1, 0, MT_ROW_SAMPLE, MIB - 1, true); /* 0.99999904...: not 1 */
	interval_end(&r, 300);
	row(&r, 0, 1, 0, MT_ROW_SAMPLE, 1536, true);
	interval_end(&r, 400);
	row(&r, 0, 1, 0, MT_ROW_SAMPLE, (1ULL << 50) + 4096, true); /* 1 PiB: no float rounding */
	interval_end(&r, 500);
	CHECK_STREQ(run_close(&r), "CMDLINE x\n"
				   "MEM 0.007812 1700000000.1234\n"
				   "MEM 0.023438 1700000000.2000\n"
				   "MEM 0.999999 1700000000.3000\n"
				   "MEM 0.001465 1700000000.4000\n"
				   "MEM 1073741824.003906 1700000000.5000\n");
}

/* A pid reused within one interval: the old process counts once, the new one carries on. */
TEST(mprof_pid_reused)
{
	struct run r;

	REQUIRE(run_open(&r, "mprof", "x") == 0);
	row(&r, 0, 1, 0, MT_ROW_START, 0, true);
	row(&r, 0, 9, 1, MT_ROW_START, 4 * MIB, false);
	interval_end(&r, 1000);
	row(&r, 1100, 9, 1, MT_ROW_EXIT, 4 * MIB, false);
	row(&r, 1200, 9, 1, MT_ROW_START, 1 * MIB, false);
	interval_end(&r, 2000);
	interval_end(&r, 3000);
	CHECK_STREQ(run_close(&r), "CMDLINE x\n"
				   "MEM 4.000000 1700000001.0000\n"
				   "CHLD 9 4.000000 1700000001.0000\n"
				   "MEM 5.000000 1700000002.0000\n"
				   "CHLD 9 1.000000 1700000002.0000\n"
				   "CHLD 9 4.000000 1700000002.0000\n"
				   "MEM 1.000000 1700000003.0000\n"
				   "CHLD 9 1.000000 1700000003.0000\n");
}

static unsigned count_lines(const char *text, const char *prefix)
{
	unsigned n = 0;
	size_t len = strlen(prefix);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, prefix, len))
			n++;
	return n;
}

/*
 * 30,000 processes come and half of them go: the table grows and shrinks (removals shift
 * entries back within probe runs) and still finds every one.
 */
TEST(mprof_many_processes)
{
	enum { N = 30000 };
	struct run r;
	char line[64];
	const char *text;
	unsigned bad = 0;

	REQUIRE(run_open(&r, "mprof", "x") == 0);
	/* pids with a stride: neighbours in the table's hash, long probe runs */
	for (int i = 1; i <= N; i++)
		row(&r, 0, i * 64, 1, MT_ROW_START, 4096, false);
	interval_end(&r, 1000);
	for (int i = 1; i <= N; i += 2)
		row(&r, 1500, i * 64, 1, MT_ROW_EXIT, 4096, false);
	for (int i = 2; i <= N; i += 2)
		row(&r, 1600, i * 64, 1, MT_ROW_SAMPLE, 8192, false);
	interval_end(&r, 2000);
	interval_end(&r, 3000);
	text = run_close(&r);
	/* 1: N x 4 KiB; 2: N/2 gone x 4 KiB + N/2 x 8 KiB; 3: N/2 x 8 KiB */
	CHECK(strstr(text, "MEM 117.187500 1700000001.0000\n") != NULL);
	CHECK(strstr(text, "MEM 175.781250 1700000002.0000\n") != NULL);
	CHECK(strstr(text, "MEM 117.187500 1700000003.0000\n") != NULL);
	CHECK_EQ_U64(count_lines(text, "CHLD "), N + N + N / 2);
	/* the last interval: exactly the even ones, in pid order */
	text = strstr(text, "MEM 117.187500 1700000003.0000\n");
	REQUIRE(text != NULL);
	text = strchr(text, '\n') + 1;
	for (int i = 2; i <= N; i += 2) {
		snprintf(line, sizeof(line), "CHLD %d 0.007812 1700000003.0000\n", i * 64);
		if (strncmp(text, line, strlen(line))) {
			bad++;
			break;
		}
		text += strlen(line);
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_STREQ(text, "");
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(mprof_cmdline),
		UT(mprof_cmdline_hostile),
		UT(mprof_root_and_children),
		UT(mprof_exit_counts_its_interval_only),
		UT(mprof_short_lived_process),
		UT(mprof_no_roots),
		UT(mprof_empty_interval),
		UT(mprof_number_formats),
		UT(mprof_pid_reused),
		UT(mprof_many_processes),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
