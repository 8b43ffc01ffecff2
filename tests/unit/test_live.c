// SPDX-License-Identifier: GPL-2.0
/* The live view from user/live.c: frames rendered into a memory file and read back. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "live.h"
#include "unit.h"

#define MIB (1024ULL * 1024)

/* Where the frames go: a memory file, read back from where the previous capture ended. */
struct sink {
	int fd;
	off_t read_at;
	char text[1 << 16];
};

static bool sink_open(struct sink *k)
{
	k->fd = memfd_create("live", MFD_CLOEXEC);
	k->read_at = 0;
	return k->fd >= 0;
}

/* What was written since the last call. */
static const char *sink_take(struct sink *k)
{
	ssize_t n = pread(k->fd, k->text, sizeof(k->text) - 1, k->read_at);

	if (n < 0)
		n = 0;
	k->text[n] = '\0';
	k->read_at += n;
	return k->text;
}

static struct mt_live *new_view(struct sink *k, bool terminal, bool color, unsigned width,
				unsigned height)
{
	struct mt_live_opts o = { .fd = k->fd, .terminal = terminal, .color = color,
				  .width = width, .height = height };

	return live_new(&o);
}

static void give(struct mt_live *l, uint32_t pid, const char *comm, uint64_t rss, uint64_t *mark)
{
	struct proc_stats st = { .anon_bytes = rss, .peak_rss_bytes = rss + MIB };

	snprintf(st.comm, sizeof(st.comm), "%s", comm);
	live_proc(l, pid, &st, mark);
}

static const struct mt_live_totals totals = { .elapsed_ns = 1500000000ULL, .procs_live = 3,
					      .rows = 42, .output = "out.csv" };

static unsigned count_lines(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The pids of the table's rows, top to bottom: lines that start with a right-aligned pid. */
static size_t frame_pids(const char *text, uint32_t *pids, size_t max)
{
	size_t n = 0;

	for (const char *line = text; *line && n < max;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		bool row = len > 8 && line[7] == ' ' && line[6] >= '0' && line[6] <= '9';

		for (int i = 0; row && i < 7; i++)
			row = line[i] == ' ' || (line[i] >= '0' && line[i] <= '9');
		if (row)
			pids[n++] = (uint32_t)strtoul(line, NULL, 10);
		line += len + (end ? 1 : 0);
	}
	return n;
}

/* the visible width of the longest line: escape sequences and UTF-8 continuations take none */
static unsigned widest_line(const char *s)
{
	unsigned widest = 0, cur = 0;

	while (*s) {
		if (*s == '\033' && s[1] == '[') {
			s += 2;
			while (*s && !(*s >= 0x40 && *s <= 0x7e))
				s++;
			if (*s)
				s++;
			continue;
		}
		if (*s == '\n' || *s == '\r')
			cur = 0;
		else if (((unsigned char)*s & 0xc0) != 0x80 && ++cur > widest)
			widest = cur;
		s++;
	}
	return widest;
}

TEST(rows_ordered_by_rss)
{
	struct sink k;
	struct mt_live *l;
	uint64_t marks[3] = { UINT64_MAX, UINT64_MAX, UINT64_MAX };
	uint32_t pids[8];

	REQUIRE(sink_open(&k));
	l = new_view(&k, false, false, 80, 24);
	REQUIRE(l);
	give(l, 100, "small", 10 * MIB, &marks[0]);
	give(l, 200, "large", 30 * MIB, &marks[1]);
	give(l, 300, "middle", 20 * MIB, &marks[2]);
	live_render(l, &totals);
	const char *f = sink_take(&k);
	REQUIRE(frame_pids(f, pids, 8) == 3);
	CHECK_EQ_U64(pids[0], 200);
	CHECK_EQ_U64(pids[1], 300);
	CHECK_EQ_U64(pids[2], 100);
	CHECK(strstr(f, "large"));
	CHECK(strstr(f, "30.0 MiB"));
	CHECK(strstr(f, "31.0 MiB")); /* the peak */
	CHECK(strstr(f, "60.0 MiB")); /* the total RSS in the header */
	CHECK(strstr(f, "42 rows to out.csv"));
	CHECK(strstr(f, "1.500 s"));
	/* the marks hold the RSS at this frame, for the next one's delta */
	CHECK_EQ_U64(marks[1], 30 * MIB);
	live_free(l);
	close(k.fd);
}

TEST(fastest_grower_gets_a_row)
{
	struct sink k;
	struct mt_live *l;
	uint64_t marks[21];
	uint32_t pids[32];
	size_t n;
	bool grower = false, smallest_big = false;

	REQUIRE(sink_open(&k));
	/* 8 lines: 2 of header, the table's, 5 rows; 21 processes do not fit */
	l = new_view(&k, false, false, 80, 8);
	REQUIRE(l);
	for (int i = 0; i < 21; i++)
		marks[i] = UINT64_MAX;
	for (int frame = 0; frame < 2; frame++) {
		for (int i = 0; i < 20; i++)
			give(l, 1000 + (uint32_t)i, "big", (100 + (uint64_t)i) * MIB, &marks[i]);
		/* tiny, but it grows by 5 MiB between the frames */
		give(l, 7, "grower", (1 + 5 * (uint64_t)frame) * MIB, &marks[20]);
		live_render(l, &totals);
		if (frame == 0)
			sink_take(&k);
	}
	const char *f = sink_take(&k);
	n = frame_pids(f, pids, 32);
	CHECK_EQ_U64(n, 5);
	CHECK_EQ_U64(count_lines(f), 8 + 1); /* and the blank line after it */
	for (size_t i = 0; i < n; i++) {
		grower |= pids[i] == 7;
		smallest_big |= pids[i] == 1015;
	}
	CHECK(grower);
	CHECK(!smallest_big); /* its row went to the grower */
	CHECK_EQ_U64(pids[0], 1019);
	CHECK_EQ_U64(pids[n - 1], 7); /* rows stay in RSS order */
	CHECK(strstr(f, "+5.00 MiB"));
	live_free(l);
	close(k.fd);
}

static const uint64_t *sort_rss;

static int by_rss_then_pid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	if (sort_rss[x] != sort_rss[y])
		return sort_rss[x] > sort_rss[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* At 30,000 processes the rows are exactly those a full sort would give. */
TEST(many_processes_picked_as_by_sorting)
{
	enum { N = 30000, ROWS = 21, GROWERS = 5 };
	static uint64_t rss[N], before[N], marks[N];
	static uint32_t order[N];
	struct sink k;
	struct mt_live *l;
	uint32_t pids[64], want[ROWS];
	size_t n, w = 0;
	bool picked[N] = {};

	REQUIRE(sink_open(&k));
	l = new_view(&k, false, false, 80, 24); /* 24 lines: 21 rows */
	REQUIRE(l);
	srand(42);
	for (int i = 0; i < N; i++) {
		before[i] = (uint64_t)(rand() % 100000) * 4096;
		rss[i] = before[i] + (rand() % 3 == 0 ? (uint64_t)(rand() % 5000) * 4096 : 0);
		marks[i] = before[i]; /* as if the previous frame saw before[] */
		order[i] = (uint32_t)i;
	}
	for (int i = 0; i < N; i++)
		give(l, (uint32_t)i + 1, "p", rss[i], &marks[i]);
	live_render(l, &totals);
	n = frame_pids(sink_take(&k), pids, 64);
	REQUIRE(n == ROWS);

	/* the expected: the 16 largest, then the 5 fastest growers among the rest */
	sort_rss = rss;
	qsort(order, N, sizeof(order[0]), by_rss_then_pid);
	for (int i = 0; i < ROWS - GROWERS; i++) {
		want[w++] = order[i] + 1;
		picked[order[i]] = true;
	}
	for (int g = 0; g < GROWERS; g++) {
		int best = -1;

		for (int i = 0; i < N; i++) {
			int64_t d = (int64_t)(rss[i] - before[i]), bd;

			if (picked[i] || d <= 0)
				continue;
			bd = best < 0 ? 0 : (int64_t)(rss[best] - before[best]);
			if (best < 0 || d > bd || (d == bd && (rss[i] > rss[best] ||
						     (rss[i] == rss[best] && i < best))))
				best = i;
		}
		REQUIRE(best >= 0);
		picked[best] = true;
		want[w++] = (uint32_t)best + 1;
	}
	/* shown largest first: the growers, smaller than the top, come last in RSS order */
	for (size_t i = 0; i < ROWS - GROWERS; i++)
		CHECK_EQ_U64(pids[i], want[i]);
	for (size_t i = ROWS - GROWERS; i < ROWS; i++) {
		bool found = false;

		for (size_t j = ROWS - GROWERS; j < ROWS; j++)
			found |= pids[i] == want[j];
		CHECK(found);
		if (i > ROWS - GROWERS)
			CHECK(rss[pids[i] - 1] <= rss[pids[i - 1] - 1]);
	}
	live_free(l);
	close(k.fd);
}

/* growth red with +, shrink green with -, no change plain 0 */
TEST(delta_signs_and_colours)
{
	struct sink k;
	struct mt_live *l;
	uint64_t marks[3] = { UINT64_MAX, UINT64_MAX, UINT64_MAX };

	for (int color = 0; color <= 1; color++) {
		REQUIRE(sink_open(&k));
		l = new_view(&k, false, color, 80, 24);
		REQUIRE(l);
		for (int i = 0; i < 3; i++)
			marks[i] = UINT64_MAX;
		give(l, 1, "up", 10 * MIB, &marks[0]);
		give(l, 2, "down", 10 * MIB, &marks[1]);
		give(l, 3, "same", 10 * MIB, &marks[2]);
		live_render(l, &totals);
		const char *f = sink_take(&k);
		CHECK(!strstr(f, "+"));
		CHECK(!strstr(f, " -")); /* the first frame has nothing to compare with */
		give(l, 1, "up", 12 * MIB, &marks[0]);
		give(l, 2, "down", 7 * MIB, &marks[1]);
		give(l, 3, "same", 10 * MIB, &marks[2]);
		live_render(l, &totals);
		f = sink_take(&k);
		if (color) {
			CHECK(strstr(f, "\033[31m +2.00 MiB\033[0m"));
			CHECK(strstr(f, "\033[32m -3.00 MiB\033[0m"));
			CHECK(strstr(f, "  10.0 MiB          0  11.0 MiB")); /* "same": plain */
		} else {
			CHECK(!strchr(f, '\033'));
			CHECK(strstr(f, " +2.00 MiB "));
			CHECK(strstr(f, " -3.00 MiB "));
			CHECK(strstr(f, "  10.0 MiB          0  11.0 MiB"));
		}
		live_free(l);
		close(k.fd);
	}
}

TEST(comm_and_events_sanitised)
{
	struct sink k;
	struct mt_live *l;
	uint64_t mark = UINT64_MAX;

	REQUIRE(sink_open(&k));
	l = new_view(&k, false, false, 100, 24);
	REQUIRE(l);
	give(l, 5, "a\033[2J\nb\x7f\xc3\xa9", 1 * MIB, &mark);
	live_event(l, "1.0s OOM kill: %s (pid 5)", "x\033]0;pwned\a\r");
	live_render(l, &totals);
	const char *f = sink_take(&k);
	CHECK(!strchr(f, '\033'));
	CHECK(!strchr(f, '\r'));
	CHECK(!strchr(f, '\a'));
	CHECK(strstr(f, "a?[2J?b???"));
	CHECK(strstr(f, "  1.0s OOM kill: x?]0;pwned?? (pid 5)\n"));
	live_free(l);
	close(k.fd);
}

TEST(latest_events_shown_last)
{
	struct sink k;
	struct mt_live *l;
	uint64_t mark = UINT64_MAX;

	REQUIRE(sink_open(&k));
	l = new_view(&k, false, false, 80, 24);
	REQUIRE(l);
	for (int i = 1; i <= 5; i++)
		live_event(l, "event %d", i);
	give(l, 5, "p", 1 * MIB, &mark);
	live_render(l, &totals);
	const char *f = sink_take(&k);
	CHECK(!strstr(f, "event 2"));
	CHECK(strstr(f, "  event 3\n  event 4\n  event 5\n\n"));
	live_free(l);
	close(k.fd);
}

TEST(frame_fits_height_and_width)
{
	struct sink k;
	struct mt_live *l;
	static uint64_t marks[100];
	uint32_t pids[128];

	REQUIRE(sink_open(&k));
	l = new_view(&k, true, true, 30, 12);
	REQUIRE(l);
	live_event(l, "a long event line that goes on well past thirty columns");
	for (int i = 0; i < 100; i++)
		marks[i] = 5 * MIB;
	for (int frame = 0; frame < 2; frame++) {
		for (int i = 0; i < 100; i++)
			give(l, 100 + (uint32_t)i, "a_long_name_xyz", (uint64_t)(i + 1) * MIB,
			     &marks[i]);
		live_render(l, &totals);
		const char *f = sink_take(&k);
		/* a line for the cursor below the frame: 11 of 12 lines */
		CHECK_EQ_U64(count_lines(f), 11);
		CHECK(widest_line(f) <= 29);
		CHECK_EQ_U64(frame_pids(f, pids, 128), 11 - 3 - 1); /* header, table, one event */
		CHECK(strstr(f, "  a long event line that goes"));
		/* a line cut inside a colour ends it */
		CHECK(!strstr(f, "\033[31m\n") && !strstr(f, "\033[32m\n"));
	}
	live_free(l);
	close(k.fd);

	/* elsewhere the whole height is the frame's */
	REQUIRE(sink_open(&k));
	l = new_view(&k, false, false, 80, 12);
	REQUIRE(l);
	for (int i = 0; i < 100; i++)
		give(l, 100 + (uint32_t)i, "p", MIB, &marks[i]);
	live_render(l, &totals);
	CHECK_EQ_U64(count_lines(sink_take(&k)), 12 + 1);
	live_free(l);
	close(k.fd);
}

/*
 * Back to the frame's first line, erase it, clear the screen from the line below it (never from
 * the top of the screen: tmux would scroll a whole-screen clear into its history), back up.
 */
#define ERASE "\r\033[%uA\033[2K\033[B\033[J\033[A"

/* On a terminal: the previous frame erased and the new one drawn, in the same write. */
TEST(terminal_redraws_in_place)
{
	struct sink k;
	struct mt_live *l;
	uint64_t marks[2] = { UINT64_MAX, UINT64_MAX };
	char want[32];

	REQUIRE(sink_open(&k));
	l = new_view(&k, true, false, 80, 24);
	REQUIRE(l);
	live_clear(l); /* nothing drawn: nothing to erase */
	CHECK_STREQ(sink_take(&k), "");
	give(l, 1, "a", MIB, &marks[0]);
	give(l, 2, "b", MIB, &marks[1]);
	live_render(l, &totals);
	const char *f = sink_take(&k);
	CHECK(strncmp(f, "memtrace-bpf", 12) == 0); /* the first frame moves nothing */
	CHECK(!strchr(f, '\033'));
	unsigned lines = count_lines(f);
	CHECK_EQ_U64(lines, 5); /* 2 header lines, the table's, 2 rows */

	give(l, 1, "a", MIB, &marks[0]);
	live_render(l, &totals);
	f = sink_take(&k);
	snprintf(want, sizeof(want), ERASE "memtrace-bpf", lines);
	CHECK(strncmp(f, want, strlen(want)) == 0);
	CHECK(f[strlen(f) - 1] == '\n' && f[strlen(f) - 2] != '\n'); /* no blank line */

	/* before other output: erased, once */
	live_clear(l);
	snprintf(want, sizeof(want), ERASE, 4u);
	CHECK_STREQ(sink_take(&k), want);
	live_clear(l);
	CHECK_STREQ(sink_take(&k), "");
	/* the frame after is drawn below the text, moving nothing */
	live_render(l, &totals);
	f = sink_take(&k);
	CHECK(strncmp(f, "memtrace-bpf", 12) == 0);
	CHECK(strstr(f, "(no live traced process)"));
	live_free(l);
	close(k.fd);
}

/* Not a terminal: whole frames one after the other, a blank line between, no escapes. */
TEST(elsewhere_frames_follow_each_other)
{
	struct sink k;
	struct mt_live *l;
	uint64_t mark = UINT64_MAX;

	REQUIRE(sink_open(&k));
	l = new_view(&k, false, false, 80, 24);
	REQUIRE(l);
	for (int i = 0; i < 3; i++) {
		give(l, 1, "a", (uint64_t)(i + 1) * MIB, &mark);
		live_render(l, &totals);
	}
	live_clear(l);
	const char *f = sink_take(&k);
	CHECK(!strchr(f, '\033'));
	CHECK(strncmp(f, "memtrace-bpf", 12) == 0);
	const char *second = strstr(f, "\n\nmemtrace-bpf");
	REQUIRE(second);
	CHECK(strstr(second + 2, "\n\nmemtrace-bpf"));
	CHECK(strstr(f, "+1.00 MiB"));
	CHECK(f[strlen(f) - 1] == '\n' && f[strlen(f) - 2] == '\n');
	live_free(l);
	close(k.fd);
}

TEST(utf8_delta_heading_keeps_columns)
{
	struct sink k;
	struct mt_live *l;
	struct mt_live_opts o = { .width = 80, .height = 24, .utf8 = true };
	uint64_t mark = UINT64_MAX;

	REQUIRE(sink_open(&k));
	o.fd = k.fd;
	l = live_new(&o);
	REQUIRE(l);
	give(l, 1, "a", MIB, &mark);
	live_render(l, &totals);
	const char *f = sink_take(&k);
	/* "Δ" is two bytes, one column: it ends where the delta cells end */
	CHECK(strstr(f, "    PID COMM                  RSS          Δ      PEAK\n"));
	CHECK(strstr(f, "      1 a                1.00 MiB          0  2.00 MiB\n"));
	live_free(l);
	close(k.fd);
}

TEST(options_from_the_environment)
{
	struct mt_live_opts o;
	struct winsize ws = { .ws_row = 40, .ws_col = 120 };
	int master, slave, devnull = open("/dev/null", O_WRONLY);

	REQUIRE(devnull >= 0);
	setenv("TERM", "xterm", 1);
	unsetenv("NO_COLOR");
	live_opts_detect(&o, devnull);
	CHECK(!o.terminal);
	CHECK(!o.color);
	CHECK_EQ_U64(o.width, 80);
	CHECK_EQ_U64(o.height, 24);
	close(devnull);

	master = posix_openpt(O_RDWR | O_NOCTTY);
	REQUIRE(master >= 0);
	REQUIRE(grantpt(master) == 0 && unlockpt(master) == 0);
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	REQUIRE(slave >= 0);
	REQUIRE(ioctl(slave, TIOCSWINSZ, &ws) == 0);
	live_opts_detect(&o, slave);
	CHECK(o.terminal);
	CHECK(o.color);
	CHECK_EQ_U64(o.width, 120);
	CHECK_EQ_U64(o.height, 40);
	setenv("NO_COLOR", "", 1); /* empty: as if unset */
	live_opts_detect(&o, slave);
	CHECK(o.color);
	setenv("NO_COLOR", "1", 1);
	live_opts_detect(&o, slave);
	CHECK(o.terminal);
	CHECK(!o.color);
	unsetenv("NO_COLOR");
	setenv("TERM", "dumb", 1); /* no cursor movement: no redraw in place, no colour */
	live_opts_detect(&o, slave);
	CHECK(!o.terminal);
	CHECK(!o.color);

	setenv("LC_ALL", "", 1);
	setenv("LC_CTYPE", "en_US.UTF-8", 1);
	live_opts_detect(&o, slave);
	CHECK(o.utf8);
	setenv("LC_ALL", "C", 1);
	live_opts_detect(&o, slave);
	CHECK(!o.utf8);
	close(slave);
	close(master);
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(rows_ordered_by_rss),
		UT(fastest_grower_gets_a_row),
		UT(many_processes_picked_as_by_sorting),
		UT(delta_signs_and_colours),
		UT(comm_and_events_sanitised),
		UT(latest_events_shown_last),
		UT(frame_fits_height_and_width),
		UT(terminal_redraws_in_place),
		UT(elsewhere_frames_follow_each_other),
		UT(utf8_delta_heading_keeps_columns),
		UT(options_from_the_environment),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
