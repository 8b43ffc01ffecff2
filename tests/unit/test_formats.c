// SPDX-License-Identifier: GPL-2.0
/*
 * The jsonl and mprof formats (user/formats.c), written through a real writer (user/writer.c)
 * into a temporary file and read back byte for byte.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "writer.h"
#include "unit.h"

#define MIB (1024ULL * 1024)
#define SEC 1000000000ULL
/* the time base every test uses: tracing started at mono 5 s, epoch 1700000000 s */
#define T0_MONO (5 * SEC)
#define T0_REAL (1700000000ULL * SEC)

static char out[1 << 22]; /* what the last writer wrote */

struct run {
	struct mt_writer w;
	char path[64];
};

static int run_open(struct run *r, const char *format, const char *cmdline)
{
	const struct mt_format_ops *ops = writer_format(format);
	int fd;

	snprintf(r->path, sizeof(r->path), "/tmp/mt-test-formats-XXXXXX");
	fd = mkstemp(r->path);
	if (fd < 0 || !ops)
		return -1;
	close(fd);
	if (writer_open(&r->w, r->path, ops, T0_MONO, T0_REAL, false))
		return -1;
	r->w.cmdline = cmdline;
	writer_header(&r->w);
	return 0;
}

/* close the writer and leave its whole output in out[] */
static const char *run_close(struct run *r)
{
	FILE *f;
	size_t n = 0;

	writer_close(&r->w);
	f = fopen(r->path, "r");
	if (f) {
		n = fread(out, 1, sizeof(out) - 1, f);
		fclose(f);
	}
	out[n] = '\0';
	unlink(r->path);
	return out;
}

static struct mt_row row_at(uint64_t ms, int pid, int ppid, enum mt_row_event event, uint64_t rss)
{
	return (struct mt_row){
		.mono_ns = T0_MONO + ms * 1000000ULL,
		.pid = pid,
		.ppid = ppid,
		.comm = "proc",
		.event = event,
		.rss_bytes = rss,
		.anon_bytes = rss,
		.peak_rss_bytes = rss,
	};
}

static void row(struct run *r, uint64_t ms, int pid, int ppid, enum mt_row_event event,
		uint64_t rss, bool root)
{
	struct mt_row x = row_at(ms, pid, ppid, event, rss);

	x.root = root;
	writer_row(&r->w, &x);
}

static void interval_end(struct run *r, uint64_t ms)
{
	writer_interval_end(&r->w, T0_MONO + ms * 1000000ULL);
}

/* the comm field of one jsonl row whose comm is `comm`, as written (quotes included) */
static const char *json_comm(const char *comm)
{
	static char field[256];
	struct run r;
	struct mt_row x = row_at(0, 1, 0, MT_ROW_SAMPLE, 0);
	const char *start, *end;

	field[0] = '\0';
	if (run_open(&r, "jsonl", NULL))
		return "(open failed)";
	x.comm = comm;
	writer_row(&r.w, &x);
	run_close(&r);
	start = strstr(out, "\"comm\":");
	end = strstr(out, ",\"event\":");
	if (!start || !end || end < start)
		return "(no comm)";
	start += strlen("\"comm\":");
	snprintf(field, sizeof(field), "%.*s", (int)(end - start), start);
	return field;
}

/* ---- the format table ---- */

TEST(formats_by_name)
{
	CHECK(writer_format("csv") == &mt_csv_format);
	CHECK(writer_format("jsonl") == &mt_jsonl_format);
	CHECK(writer_format("mprof") == &mt_mprof_format);
	CHECK(writer_format("json") == NULL);
	CHECK(writer_format("") == NULL);
	CHECK_STREQ(mt_jsonl_format.name, "jsonl");
	CHECK_STREQ(mt_mprof_format.name, "mprof");
}

/* ---- jsonl ---- */

TEST(jsonl_no_header)
{
	struct run r;

	REQUIRE(run_open(&r, "jsonl", "cmd") == 0);
	interval_end(&r, 100); /* and nothing per interval either */
	CHECK_STREQ(run_close(&r), "");
}

TEST(jsonl_row_exact)
{
	struct run r;
	struct mt_row x = {
		.mono_ns = T0_MONO + 1500000000ULL + 123456789ULL,
		.pid = 4242,
		.ppid = 1,
		.comm = "python3",
		.event = MT_ROW_SAMPLE,
		.rss_bytes = 300,
		.anon_bytes = 100,
		.file_bytes = 120,
		.shmem_bytes = 80,
		.peak_rss_bytes = 4096,
		.rss_delta_bytes = -8192,
		.faults = 7,
		.pages_alloc = 9,
	};

	REQUIRE(run_open(&r, "jsonl", "cmd") == 0);
	writer_row(&r.w, &x);
	/* seconds cut to microseconds as the CSV cuts them; integers as integers */
	CHECK_STREQ(run_close(&r),
		    "{\"unix_time\":1700000001.623456,\"elapsed_s\":1.623456,\"pid\":4242,"
		    "\"ppid\":1,\"comm\":\"python3\",\"event\":\"sample\",\"rss_bytes\":300,"
		    "\"anon_bytes\":100,\"file_bytes\":120,\"shmem_bytes\":80,"
		    "\"peak_rss_bytes\":4096,\"rss_delta_bytes\":-8192,\"faults\":7,"
		    "\"pages_alloc\":9,\"detail\":\"\"}\n");
}

TEST(jsonl_events_and_detail)
{
	struct run r;
	struct mt_row x = row_at(0, 7, 6, MT_ROW_EXIT, 0);
	const char *text;

	REQUIRE(run_open(&r, "jsonl", "cmd") == 0);
	x.detail = "signal=SIGKILL core_dumped=1";
	writer_row(&r.w, &x);
	x.event = MT_ROW_OOM_KILL;
	x.detail = "trigger_comm=a%20b";
	writer_row(&r.w, &x);
	x.event = MT_ROW_LIMIT;
	x.detail = NULL;
	writer_row(&r.w, &x);
	x.event = MT_ROW_START;
	writer_row(&r.w, &x);
	text = run_close(&r);
	CHECK(strstr(text, "\"event\":\"exit\",") != NULL);
	CHECK(strstr(text, "\"detail\":\"signal=SIGKILL core_dumped=1\"}\n") != NULL);
	CHECK(strstr(text, "\"event\":\"oom_kill\",") != NULL);
	CHECK(strstr(text, "\"detail\":\"trigger_comm=a%20b\"}\n") != NULL);
	CHECK(strstr(text, "\"event\":\"limit\",") != NULL);
	CHECK(strstr(text, "\"event\":\"start\",") != NULL);
	CHECK(strstr(text, "\"detail\":\"\"}\n") != NULL);
}

TEST(jsonl_time_before_start_is_zero)
{
	struct run r;
	struct mt_row x = row_at(0, 1, 0, MT_ROW_SAMPLE, 0);

	REQUIRE(run_open(&r, "jsonl", "cmd") == 0);
	x.mono_ns = T0_MONO - 5;
	writer_row(&r.w, &x);
	CHECK(strncmp(run_close(&r), "{\"unix_time\":1700000000.000000,\"elapsed_s\":0.000000,",
		      strlen("{\"unix_time\":1700000000.000000,\"elapsed_s\":0.000000,")) == 0);
}

TEST(jsonl_large_numbers)
{
	struct run r;
	struct mt_row x = row_at(0, 2147483647, 2147483647, MT_ROW_SAMPLE, UINT64_MAX);
	const char *text;

	REQUIRE(run_open(&r, "jsonl", "cmd") == 0);
	x.rss_delta_bytes = INT64_MIN;
	x.faults = UINT64_MAX;
	writer_row(&r.w, &x);
	text = run_close(&r);
	CHECK(strstr(text, "\"pid\":2147483647,\"ppid\":2147483647,") != NULL);
	CHECK(strstr(text, "\"rss_bytes\":18446744073709551615,") != NULL);
	CHECK(strstr(text, "\"rss_delta_bytes\":-9223372036854775808,") != NULL);
	CHECK(strstr(text, "\"faults\":18446744073709551615,") != NULL);
}

TEST(jsonl_hostile_comm_escaped)
{
	/* quote, backslash, newline, an invalid byte and a control byte: 15 bytes, as the kernel
	 * allows */
	CHECK_STREQ(json_comm("a\"b\\c\nd\xff\x01zzzzz"), "\"a\\\"b\\\\c\\nd\\u00ff\\u0001zzzzz\"");
	CHECK_STREQ(json_comm("\r\t\b\f\x1f\x7f"), "\"\\r\\t\\u0008\\u000c\\u001f\\u007f\"");
	CHECK_STREQ(json_comm("\""), "\"\\\"\"");
	CHECK_STREQ(json_comm(""), "\"\"");
}

TEST(jsonl_comm_utf8)
{
	/* well-formed UTF-8 is kept as is */
	CHECK_STREQ(json_comm("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
	CHECK_STREQ(json_comm("\xe2\x82\xac\xf0\x9f\x98\x80"), "\"\xe2\x82\xac\xf0\x9f\x98\x80\"");
	/* a name the kernel cut in the middle of a character */
	CHECK_STREQ(json_comm("abcdefghijklm\xe2\x82"), "\"abcdefghijklm\\u00e2\\u0082\"");
	/* stray continuation, overlong, surrogate, above U+10FFFF, bad lead bytes */
	CHECK_STREQ(json_comm("\x80"), "\"\\u0080\"");
	CHECK_STREQ(json_comm("\xc0\xaf"), "\"\\u00c0\\u00af\"");
	CHECK_STREQ(json_comm("\xe0\x80\xaf"), "\"\\u00e0\\u0080\\u00af\"");
	CHECK_STREQ(json_comm("\xed\xa0\x80"), "\"\\u00ed\\u00a0\\u0080\"");
	CHECK_STREQ(json_comm("\xf4\x90\x80\x80"), "\"\\u00f4\\u0090\\u0080\\u0080\"");
	CHECK_STREQ(json_comm("\xf5\xfe"), "\"\\u00f5\\u00fe\"");
	/* a valid character right after an invalid byte survives */
	CHECK_STREQ(json_comm("\xc3\xc3\xa9"), "\"\\u00c3\xc3\xa9\"");
}

/* the comm is read up to 16 bytes even without a NUL, as the CSV reads it */
TEST(jsonl_comm_bounded)
{
	char comm[17];

	memset(comm, 'x', 16);
	comm[16] = 'Y'; /* past the field: must not appear */
	CHECK_STREQ(json_comm(comm), "\"xxxxxxxxxxxxxxxx\"");
}

/* every single byte: an ASCII printable one as itself (quote and backslash escaped), any
 * other as \u00XX */
TEST(jsonl_every_byte)
{
	for (int c = 1; c < 256; c++) {
		char comm[2] = { (char)c, 0 }, want[16];

		if (c == '"' || c == '\\')
			snprintf(want, sizeof(want), "\"\\%c\"", c);
		else if (c == '\n')
			snprintf(want, sizeof(want), "\"\\n\"");
		else if (c == '\r')
			snprintf(want, sizeof(want), "\"\\r\"");
		else if (c == '\t')
			snprintf(want, sizeof(want), "\"\\t\"");
		else if (c >= 0x20 && c < 0x7f)
			snprintf(want, sizeof(want), "\"%c\"", c);
		else
			snprintf(want, sizeof(want), "\"\\u%04x\"", c);
		const char *got = json_comm(comm);

		if (strcmp(got, want))
			ut_fail(__FILE__, __LINE__, "byte 0x%02x: %s, want %s", c, got, want);
	}
}

/* ---- mprof ---- */

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
		UT(formats_by_name),
		UT(jsonl_no_header),
		UT(jsonl_row_exact),
		UT(jsonl_events_and_detail),
		UT(jsonl_time_before_start_is_zero),
		UT(jsonl_large_numbers),
		UT(jsonl_hostile_comm_escaped),
		UT(jsonl_comm_utf8),
		UT(jsonl_comm_bounded),
		UT(jsonl_every_byte),
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
