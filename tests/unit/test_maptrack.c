// SPDX-License-Identifier: GPL-2.0
/*
 * The mapping tracker of --stacks (user/maptrack.h): its answers from mmap, exec, fork and exit
 * records applied in every order (the per-CPU rings are not merged), the kernel's record layouts,
 * /proc/self/maps, and, as root, a real child traced with perf events and looked up after it
 * was reaped.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "maptrack.h"
#include "unit.h"

static void skip(const char *why)
{
	fprintf(ut_out, "%s: SKIP %s: %s\n", ut_prog, ut_test_name, why);
	fflush(ut_out);
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* ---- records applied in every order ---- */

enum ev_type { EV_MMAP, EV_EXEC, EV_FORK, EV_EXIT };

struct ev {
	enum ev_type type;
	uint32_t pid, ppid; /* ppid: EV_FORK */
	uint64_t ts, start, len, pgoff;
	const char *path;
};

static void apply(struct mt_maptrack *m, const struct ev *e)
{
	switch (e->type) {
	case EV_MMAP:
		maptrack_mmap(m, e->pid, e->ts, e->start, e->len, e->pgoff, 8, 1, e->start, true,
			      e->path);
		break;
	case EV_EXEC:
		maptrack_exec(m, e->pid, e->ts);
		break;
	case EV_FORK:
		maptrack_fork(m, e->pid, e->ppid, e->ts);
		break;
	case EV_EXIT:
		maptrack_exit(m, e->pid, e->ts);
		break;
	}
}

static bool next_order(size_t *idx, size_t n)
{
	size_t i = n - 1, j = n - 1, t;

	while (i > 0 && idx[i - 1] >= idx[i])
		i--;
	if (i == 0)
		return false;
	while (idx[j] <= idx[i - 1])
		j--;
	t = idx[i - 1], idx[i - 1] = idx[j], idx[j] = t;
	for (j = n - 1; i < j; i++, j--)
		t = idx[i], idx[i] = idx[j], idx[j] = t;
	return true;
}

/*
 * Apply evs in every order, each into a new tracker, and check the result; the first order
 * that fails is printed and ends the test. Returns how many orders were checked.
 */
static size_t every_order(const struct ev *evs, size_t n, void (*check)(struct mt_maptrack *m))
{
	size_t idx[10], orders = 0;

	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	do {
		struct mt_maptrack *m = maptrack_new();
		int before = ut_test_failures;

		if (!m) {
			CHECK(m);
			return orders;
		}
		for (size_t i = 0; i < n; i++)
			apply(m, &evs[idx[i]]);
		check(m);
		maptrack_free(m);
		orders++;
		if (ut_test_failures != before) {
			fprintf(ut_out, "%s: %s: in the order", ut_prog, ut_test_name);
			for (size_t i = 0; i < n; i++)
				fprintf(ut_out, " %zu", idx[i]);
			fprintf(ut_out, "\n");
			return orders;
		}
	} while (next_order(idx, n));
	return orders;
}

static const char *path_at(struct mt_maptrack *m, uint32_t pid, uint64_t addr, uint64_t ts)
{
	const struct mt_mapping *map = maptrack_find(m, pid, addr, ts);

	return map ? map->path : NULL;
}

/* maptrack_each's answer as "start-end:pgoff:path ..." */
struct listing {
	char text[1024];
	size_t len;
	uint64_t last_start;
	bool unsorted;
};

static void list_one(void *ctx, const struct mt_mapping *map)
{
	struct listing *l = ctx;

	if (l->len && map->start < l->last_start)
		l->unsorted = true;
	l->last_start = map->start;
	l->len += (size_t)snprintf(l->text + l->len, sizeof(l->text) - l->len,
				   "%s%" PRIx64 "-%" PRIx64 ":%" PRIx64 ":%s", l->len ? " " : "",
				   map->start, map->end, map->pgoff, map->path);
}

static const char *list(struct mt_maptrack *m, uint32_t pid, uint64_t ts, struct listing *l)
{
	memset(l, 0, sizeof(*l));
	maptrack_each(m, pid, ts, list_one, l);
	CHECK(!l->unsorted);
	return l->text;
}

TEST(find_one_mapping)
{
	struct mt_maptrack *m = maptrack_new();
	const struct mt_mapping *map;

	REQUIRE(m);
	maptrack_mmap(m, 10, 100, 0x1000, 0x2000, 0x3000, 8, 1, 77, true, "/bin/a");
	maptrack_mmap(m, 10, 100, 0x8000, 0x1000, 0, 0, 0, 0, true, "//anon");
	maptrack_mmap(m, 10, 100, 0x9000, 0x1000, 0, 0, 0, 0, true, "[vdso]");
	map = maptrack_find(m, 10, 0x1000, 100);
	REQUIRE(map);
	CHECK_EQ_U64(map->start, 0x1000);
	CHECK_EQ_U64(map->end, 0x3000);
	CHECK_EQ_U64(map->pgoff, 0x3000);
	CHECK_EQ_U64(map->ts_ns, 100);
	CHECK_EQ_U64(map->dev_major, 8);
	CHECK_EQ_U64(map->dev_minor, 1);
	CHECK_EQ_U64(map->ino, 77);
	CHECK(map->exec);
	CHECK_STREQ(map->path, "/bin/a");
	CHECK_STREQ(path_at(m, 10, 0x2fff, 500), "/bin/a");
	CHECK(!maptrack_find(m, 10, 0x3000, 500));
	CHECK(!maptrack_find(m, 10, 0xfff, 500));
	CHECK(!maptrack_find(m, 10, 0x1000, 99)); /* not mapped yet */
	CHECK(!maptrack_find(m, 11, 0x1000, 500));
	CHECK(!maptrack_find(m, 10, 0x8000, 500));
	CHECK(!maptrack_find(m, 10, 0x9000, 500));
	maptrack_free(m);
}

TEST(paths_are_shared)
{
	struct mt_maptrack *m = maptrack_new();
	const char *a, *b;

	REQUIRE(m);
	maptrack_mmap(m, 10, 100, 0x1000, 0x1000, 0, 8, 1, 5, true, "/lib/libc.so.6");
	maptrack_mmap(m, 11, 100, 0x5000, 0x1000, 0, 8, 1, 5, true, "/lib/libc.so.6");
	a = path_at(m, 10, 0x1000, 100);
	b = path_at(m, 11, 0x5000, 100);
	REQUIRE(a && b);
	CHECK(a == b);
	maptrack_free(m);
}

/* an exec ends what was mapped before it, whenever its record comes */
static const struct ev exec_evs[] = {
	{ EV_MMAP, 10, 0, 10, 0x1000, 0x1000, 0, "/bin/old" },
	{ EV_MMAP, 10, 0, 12, 0x5000, 0x1000, 0, "/lib/old.so" },
	{ EV_EXEC, 10, 0, 20, 0, 0, 0, NULL },
	{ EV_MMAP, 10, 0, 30, 0x1000, 0x2000, 0, "/bin/new" },
};

static void exec_check(struct mt_maptrack *m)
{
	struct listing l;

	CHECK_STREQ(path_at(m, 10, 0x1000, 15), "/bin/old");
	CHECK_STREQ(path_at(m, 10, 0x5000, 15), "/lib/old.so");
	CHECK(!path_at(m, 10, 0x1000, 20));
	CHECK(!path_at(m, 10, 0x1000, 25));
	CHECK(!path_at(m, 10, 0x5000, 35));
	CHECK_STREQ(path_at(m, 10, 0x1000, 30), "/bin/new");
	CHECK_STREQ(path_at(m, 10, 0x2fff, 35), "/bin/new");
	CHECK_STREQ(list(m, 10, 15, &l), "1000-2000:0:/bin/old 5000-6000:0:/lib/old.so");
	CHECK_STREQ(list(m, 10, 35, &l), "1000-3000:0:/bin/new");
	CHECK_STREQ(list(m, 10, 25, &l), "");
}

TEST(exec_in_any_order)
{
	CHECK_EQ_U64(every_order(exec_evs, UT_COUNT(exec_evs), exec_check), 24);
}

/* a later mmap over a range wins there, an earlier one shows where it is not covered */
static const struct ev replace_evs[] = {
	{ EV_MMAP, 10, 0, 10, 0x1000, 0x3000, 0, "/a" },
	{ EV_MMAP, 10, 0, 20, 0x2000, 0x1000, 0x5000, "/b" },
	{ EV_MMAP, 10, 0, 30, 0x1000, 0x3000, 0, "/c" },
};

static void replace_check(struct mt_maptrack *m)
{
	struct listing l;
	const struct mt_mapping *map;

	CHECK_STREQ(path_at(m, 10, 0x2500, 15), "/a");
	CHECK_STREQ(path_at(m, 10, 0x2500, 25), "/b");
	CHECK_STREQ(path_at(m, 10, 0x1500, 25), "/a");
	CHECK_STREQ(path_at(m, 10, 0x3500, 25), "/a");
	CHECK_STREQ(path_at(m, 10, 0x2500, 35), "/c");
	map = maptrack_find(m, 10, 0x2500, 25);
	if (map) {
		CHECK_EQ_U64(map->pgoff, 0x5000);
		CHECK_EQ_U64(map->ts_ns, 20);
	}
	CHECK_STREQ(list(m, 10, 25, &l),
		    "1000-2000:0:/a 2000-3000:5000:/b 3000-4000:2000:/a");
	CHECK_STREQ(list(m, 10, 35, &l), "1000-4000:0:/c");
}

TEST(mmap_replaces_in_any_order)
{
	CHECK_EQ_U64(every_order(replace_evs, UT_COUNT(replace_evs), replace_check), 6);
}

/*
 * A child shares its parent's mappings of the fork's time, even those whose records come after
 * the fork's, but neither the parent's later ones nor any once it exec'd.
 */
static const struct ev fork_evs[] = {
	{ EV_MMAP, 10, 0, 10, 0x1000, 0x1000, 0, "/bin/sh" },
	{ EV_MMAP, 10, 0, 15, 0x8000, 0x1000, 0, "/lib/libc" },
	{ EV_FORK, 11, 10, 20, 0, 0, 0, NULL },
	{ EV_MMAP, 10, 0, 25, 0x1000, 0x1000, 0, "/bin/other" },
	{ EV_MMAP, 10, 0, 30, 0x9000, 0x1000, 0, "/lib/late" },
	{ EV_MMAP, 11, 0, 40, 0xa000, 0x1000, 0, "/lib/kid" },
	{ EV_EXEC, 11, 0, 50, 0, 0, 0, NULL },
	{ EV_MMAP, 11, 0, 60, 0x1000, 0x1000, 0, "/bin/ls" },
};

static void fork_check_child(struct mt_maptrack *m)
{
	struct listing l;

	CHECK(!path_at(m, 11, 0x1000, 19)); /* not forked yet */
	CHECK_STREQ(path_at(m, 11, 0x1000, 20), "/bin/sh");
	CHECK_STREQ(path_at(m, 11, 0x1000, 45), "/bin/sh");
	CHECK_STREQ(path_at(m, 11, 0x8000, 45), "/lib/libc");
	CHECK(!path_at(m, 11, 0x9000, 45));
	CHECK_STREQ(path_at(m, 11, 0xa000, 45), "/lib/kid");
	CHECK(!path_at(m, 11, 0x1000, 55));
	CHECK(!path_at(m, 11, 0x8000, 55));
	CHECK_STREQ(path_at(m, 11, 0x1000, 65), "/bin/ls");
	CHECK_STREQ(list(m, 11, 45, &l),
		    "1000-2000:0:/bin/sh 8000-9000:0:/lib/libc a000-b000:0:/lib/kid");
	CHECK_STREQ(list(m, 11, 65, &l), "1000-2000:0:/bin/ls");
}

static void fork_check(struct mt_maptrack *m)
{
	fork_check_child(m);
	CHECK_STREQ(path_at(m, 10, 0x1000, 45), "/bin/other");
	CHECK_STREQ(path_at(m, 10, 0x9000, 45), "/lib/late");
	CHECK(!path_at(m, 10, 0xa000, 45));
	/* the parent exits and is forgotten: the child keeps what it shared */
	maptrack_exit(m, 10, 70);
	maptrack_forget_gone(m);
	CHECK(!path_at(m, 10, 0x1000, 45));
	fork_check_child(m);
	maptrack_forget_gone(m);
	fork_check_child(m);
}

TEST(fork_in_any_order)
{
	CHECK_EQ_U64(every_order(fork_evs, UT_COUNT(fork_evs), fork_check), 40320);
}

/* three generations, the middle one forgotten first */
TEST(grandchild_through_forgotten_parent)
{
	struct mt_maptrack *m = maptrack_new();

	REQUIRE(m);
	maptrack_fork(m, 12, 11, 30);
	maptrack_fork(m, 11, 10, 20);
	maptrack_mmap(m, 10, 10, 0x1000, 0x1000, 0, 0, 0, 0, true, "/bin/sh");
	maptrack_mmap(m, 11, 25, 0x2000, 0x1000, 0, 0, 0, 0, true, "/lib/mid");
	CHECK_STREQ(path_at(m, 12, 0x1000, 35), "/bin/sh");
	CHECK_STREQ(path_at(m, 12, 0x2000, 35), "/lib/mid");
	maptrack_gone(m, 11);
	maptrack_forget_gone(m);
	CHECK_STREQ(path_at(m, 12, 0x1000, 35), "/bin/sh");
	CHECK_STREQ(path_at(m, 12, 0x2000, 35), "/lib/mid");
	maptrack_gone(m, 10);
	maptrack_forget_gone(m);
	CHECK_STREQ(path_at(m, 12, 0x1000, 35), "/bin/sh");
	CHECK(!path_at(m, 10, 0x1000, 35));
	maptrack_free(m);
}

/*
 * Pid 10 exits and is forked again: nothing of the first process shows in the second, its
 * records after the fork's are dropped, and the second outlives the first one's exit.
 */
static const struct ev reuse_evs[] = {
	{ EV_MMAP, 10, 0, 10, 0x1000, 0x1000, 0, "/old" },
	{ EV_MMAP, 10, 0, 15, 0x3000, 0x1000, 0, "/stale" },
	{ EV_EXIT, 10, 0, 20, 0, 0, 0, NULL },
	{ EV_MMAP, 5, 0, 1, 0x7000, 0x1000, 0, "/parent" },
	{ EV_FORK, 10, 5, 30, 0, 0, 0, NULL },
	{ EV_MMAP, 10, 0, 40, 0x2000, 0x1000, 0, "/new" },
};

static void reuse_check(struct mt_maptrack *m)
{
	struct listing l;

	CHECK(!path_at(m, 10, 0x1000, 35));
	CHECK(!path_at(m, 10, 0x3000, 45));
	CHECK_STREQ(path_at(m, 10, 0x7000, 35), "/parent");
	CHECK_STREQ(path_at(m, 10, 0x2000, 45), "/new");
	CHECK_STREQ(list(m, 10, 45, &l), "2000-3000:0:/new 7000-8000:0:/parent");
	maptrack_forget_gone(m);
	CHECK_STREQ(path_at(m, 10, 0x2000, 45), "/new");
	CHECK_STREQ(path_at(m, 10, 0x7000, 45), "/parent");
}

TEST(pid_reuse_in_any_order)
{
	CHECK_EQ_U64(every_order(reuse_evs, UT_COUNT(reuse_evs), reuse_check), 720);
}

/* maptrack_gone() of the first process, the second one's fork record drained after it */
TEST(pid_reuse_after_gone)
{
	struct mt_maptrack *m = maptrack_new();

	REQUIRE(m);
	maptrack_mmap(m, 10, 10, 0x1000, 0x1000, 0, 0, 0, 0, true, "/old");
	maptrack_gone(m, 10);
	maptrack_fork(m, 10, 5, 30);
	maptrack_mmap(m, 10, 40, 0x2000, 0x1000, 0, 0, 0, 0, true, "/new");
	maptrack_forget_gone(m);
	CHECK_STREQ(path_at(m, 10, 0x2000, 45), "/new");
	CHECK(!path_at(m, 10, 0x1000, 45));
	CHECK(!path_at(m, 10, 0x1000, 15));
	maptrack_free(m);
}

TEST(gone_then_forgotten)
{
	struct mt_maptrack *m = maptrack_new();

	REQUIRE(m);
	maptrack_mmap(m, 10, 10, 0x1000, 0x1000, 0, 0, 0, 0, true, "/bin/a");
	maptrack_exit(m, 10, 50);
	maptrack_mmap(m, 10, 30, 0x2000, 0x1000, 0, 0, 0, 0, true, "/lib/b");
	/* until forgotten, a sample taken before the exit still finds its files */
	CHECK_STREQ(path_at(m, 10, 0x1000, 40), "/bin/a");
	CHECK_STREQ(path_at(m, 10, 0x2000, 40), "/lib/b");
	maptrack_forget_gone(m);
	CHECK(!path_at(m, 10, 0x1000, 40));
	/* a record of it drained after it was forgotten does not bring it back */
	maptrack_mmap(m, 10, 45, 0x3000, 0x1000, 0, 0, 0, 0, true, "/lib/c");
	CHECK(!path_at(m, 10, 0x3000, 46));
	maptrack_forget_gone(m);
	/* the pid's next process */
	maptrack_fork(m, 10, 1, 60);
	maptrack_mmap(m, 10, 70, 0x3000, 0x1000, 0, 0, 0, 0, true, "/lib/d");
	CHECK_STREQ(path_at(m, 10, 0x3000, 75), "/lib/d");
	maptrack_forget_gone(m);
	CHECK_STREQ(path_at(m, 10, 0x3000, 75), "/lib/d");
	maptrack_free(m);
}

/* a thread other than the leader execs: the leader's exit record comes first */
TEST(exit_of_leader_then_exec_by_thread)
{
	struct mt_maptrack *m = maptrack_new();

	REQUIRE(m);
	maptrack_mmap(m, 10, 10, 0x1000, 0x1000, 0, 0, 0, 0, true, "/bin/old");
	maptrack_exit(m, 10, 20);
	maptrack_exec(m, 10, 25);
	maptrack_mmap(m, 10, 30, 0x1000, 0x1000, 0, 0, 0, 0, true, "/bin/new");
	maptrack_forget_gone(m);
	CHECK_STREQ(path_at(m, 10, 0x1000, 35), "/bin/new");
	CHECK_STREQ(path_at(m, 10, 0x1000, 15), "/bin/old");
	maptrack_free(m);
}

/*
 * A library mapped again and again over the same range (dlopen, dlclose): what no lookup within
 * the horizon before the latest record can see is dropped, the rest answers as before.
 */
TEST(remaps_kept_no_further_back_than_the_horizon)
{
	struct mt_maptrack *m = maptrack_new();
	const uint64_t s = 1000000000ULL;
	char path[32];

	REQUIRE(m);
	maptrack_mmap(m, 10, 0, 0x100000, 0x1000, 0, 0, 0, 0, true, "/bin/main");
	for (int i = 1; i <= 1000; i++) {
		snprintf(path, sizeof(path), "/lib/v%d", i);
		maptrack_mmap(m, 10, i * s, 0x1000, 0x1000, 0, 0, 0, 0, true, path);
	}
	CHECK_STREQ(path_at(m, 10, 0x1000, 1000 * s + s / 2), "/lib/v1000");
	CHECK_STREQ(path_at(m, 10, 0x1000, 995 * s + s / 2), "/lib/v995");
	CHECK_STREQ(path_at(m, 10, 0x100000, 1000 * s), "/bin/main");
	CHECK(!path_at(m, 10, 0x1000, s + s / 2));
	maptrack_free(m);
}

/* ---- the kernel's records ---- */

struct rec_buf {
	unsigned char b[512];
	size_t len;
};

static void rec_start(struct rec_buf *r, uint32_t type, uint16_t misc)
{
	struct perf_event_header h = { .type = type, .misc = misc };

	memset(r, 0, sizeof(*r));
	memcpy(r->b, &h, sizeof(h));
	r->len = sizeof(h);
}

static void rec_put(struct rec_buf *r, const void *v, size_t n)
{
	memcpy(r->b + r->len, v, n);
	r->len += n;
}

static void rec_u32(struct rec_buf *r, uint32_t v)
{
	rec_put(r, &v, sizeof(v));
}

static void rec_u64(struct rec_buf *r, uint64_t v)
{
	rec_put(r, &v, sizeof(v));
}

/* the sample_id trailer (pid, tid, time), and the size in the header */
static void rec_end(struct rec_buf *r, uint32_t pid, uint32_t tid, uint64_t ts)
{
	uint16_t size;

	r->len = (r->len + 7) & ~(size_t)7;
	rec_u32(r, pid);
	rec_u32(r, tid);
	rec_u64(r, ts);
	size = (uint16_t)r->len;
	memcpy(r->b + offsetof(struct perf_event_header, size), &size, sizeof(size));
}

static void rec_mmap2(struct mt_maptrack *m, bool build_id, uint32_t pid, uint64_t ts,
		      uint64_t addr, const char *name)
{
	struct rec_buf r;

	rec_start(&r, PERF_RECORD_MMAP2, build_id ? PERF_RECORD_MISC_MMAP_BUILD_ID : 0);
	rec_u32(&r, pid);
	rec_u32(&r, pid + 1);
	rec_u64(&r, addr);
	rec_u64(&r, 0x2000);
	rec_u64(&r, 0x1000);
	if (build_id) {
		unsigned char id[24] = { 20 };

		memset(id + 4, 0xab, 20);
		rec_put(&r, id, sizeof(id));
	} else {
		rec_u32(&r, 259);
		rec_u32(&r, 3);
		rec_u64(&r, 4242);
		rec_u64(&r, 1);
	}
	rec_u32(&r, PROT_READ | PROT_EXEC);
	rec_u32(&r, MAP_PRIVATE);
	rec_put(&r, name, strlen(name) + 1);
	rec_end(&r, pid, pid + 1, ts);
	maptrack_record(m, r.b, r.len);
}

static void rec_task(struct mt_maptrack *m, uint32_t type, uint32_t pid, uint32_t ppid,
		     uint32_t tid, uint64_t ts)
{
	struct rec_buf r;

	rec_start(&r, type, 0);
	rec_u32(&r, pid);
	rec_u32(&r, ppid);
	rec_u32(&r, tid);
	rec_u32(&r, tid);
	rec_u64(&r, ts);
	rec_end(&r, pid, tid, ts);
	maptrack_record(m, r.b, r.len);
}

static void rec_comm(struct mt_maptrack *m, bool exec, uint32_t pid, uint64_t ts)
{
	struct rec_buf r;

	rec_start(&r, PERF_RECORD_COMM, exec ? PERF_RECORD_MISC_COMM_EXEC : 0);
	rec_u32(&r, pid);
	rec_u32(&r, pid);
	rec_put(&r, "worker", 7);
	rec_end(&r, pid, pid, ts);
	maptrack_record(m, r.b, r.len);
}

TEST(kernel_records)
{
	struct mt_maptrack *m = maptrack_new();
	const struct mt_mapping *map;
	struct rec_buf r;

	REQUIRE(m);
	rec_mmap2(m, false, 10, 100, 0x10000, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	rec_mmap2(m, true, 10, 100, 0x20000, "/usr/bin/bash");
	rec_mmap2(m, false, 10, 100, 0x30000, "//anon");
	map = maptrack_find(m, 10, 0x11fff, 100);
	REQUIRE(map);
	CHECK_STREQ(map->path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	CHECK_EQ_U64(map->start, 0x10000);
	CHECK_EQ_U64(map->end, 0x12000);
	CHECK_EQ_U64(map->pgoff, 0x1000);
	CHECK_EQ_U64(map->dev_major, 259);
	CHECK_EQ_U64(map->dev_minor, 3);
	CHECK_EQ_U64(map->ino, 4242);
	CHECK(map->exec);
	map = maptrack_find(m, 10, 0x20000, 100);
	REQUIRE(map);
	CHECK_STREQ(map->path, "/usr/bin/bash");
	CHECK_EQ_U64(map->dev_major, 0);
	CHECK_EQ_U64(map->ino, 0);
	CHECK(!maptrack_find(m, 10, 0x30000, 100));

	/* a rename is no exec; an exec is */
	rec_comm(m, false, 10, 110);
	CHECK(maptrack_find(m, 10, 0x10000, 120));
	rec_comm(m, true, 10, 115);
	CHECK(!maptrack_find(m, 10, 0x10000, 120));
	CHECK(maptrack_find(m, 10, 0x10000, 112));

	/* a thread is no new process; a new process inherits */
	rec_task(m, PERF_RECORD_FORK, 10, 10, 12, 105);
	rec_task(m, PERF_RECORD_FORK, 11, 10, 11, 106);
	CHECK_STREQ(path_at(m, 11, 0x20000, 107), "/usr/bin/bash");
	CHECK(!path_at(m, 12, 0x20000, 107));

	/* a thread's exit leaves the process; the leader's is its end */
	rec_task(m, PERF_RECORD_EXIT, 11, 11, 13, 130);
	maptrack_forget_gone(m);
	CHECK_STREQ(path_at(m, 11, 0x20000, 107), "/usr/bin/bash");
	rec_task(m, PERF_RECORD_EXIT, 11, 11, 11, 131);
	maptrack_forget_gone(m);
	CHECK(!path_at(m, 11, 0x20000, 107));

	rec_start(&r, PERF_RECORD_LOST, 0);
	rec_u64(&r, 1);
	rec_u64(&r, 17);
	rec_end(&r, 0, 0, 140);
	maptrack_record(m, r.b, r.len);
	maptrack_record(m, r.b, r.len);
	CHECK_EQ_U64(maptrack_lost(m), 34);

	/* cut short: ignored */
	rec_mmap2(m, false, 20, 100, 0x10000, "/bin/cut");
	maptrack_record(m, r.b, 12);
	maptrack_free(m);
}

/* a name without its NUL within the record is not read past the record */
TEST(kernel_record_unterminated_name)
{
	struct mt_maptrack *m = maptrack_new();
	struct rec_buf r;

	REQUIRE(m);
	rec_start(&r, PERF_RECORD_MMAP2, 0);
	rec_u32(&r, 10);
	rec_u32(&r, 10);
	rec_u64(&r, 0x1000);
	rec_u64(&r, 0x1000);
	rec_u64(&r, 0);
	rec_put(&r, (unsigned char[24]){ 0 }, 24);
	rec_u32(&r, PROT_EXEC);
	rec_u32(&r, 0);
	rec_put(&r, "/bin/abcdefgh", 8); /* "/bin/abc", no NUL */
	rec_end(&r, 10, 10, 5);
	maptrack_record(m, r.b, r.len);
	CHECK(!maptrack_find(m, 10, 0x1000, 5));
	maptrack_free(m);
}

/* ---- /proc ---- */

static void exe_path(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);

	buf[n > 0 ? n : 0] = '\0';
}

static void count_each(void *ctx, const struct mt_mapping *map)
{
	(void)map;
	++*(int *)ctx;
}

TEST(proc_self_maps)
{
	struct mt_maptrack *m = maptrack_new();
	uint32_t self = (uint32_t)getpid();
	uint64_t fn = (uint64_t)(uintptr_t)&count_each;
	const struct mt_mapping *map;
	char exe[PATH_MAX];
	int before = 0, after = 0, status;
	pid_t child;

	REQUIRE(m);
	exe_path(exe, sizeof(exe));
	REQUIRE(exe[0] == '/');
	CHECK_EQ_INT(maptrack_read_proc(m, self), 0);
	map = maptrack_find(m, self, fn, now_ns());
	REQUIRE(map);
	CHECK_STREQ(map->path, exe);
	CHECK(map->exec);
	CHECK_EQ_U64(map->ts_ns, 0);
	CHECK(map->start <= fn && fn < map->end);
	CHECK(maptrack_find(m, self, fn, 0));
	/* read once */
	maptrack_each(m, self, 1, count_each, &before);
	CHECK(before > 0);
	CHECK_EQ_INT(maptrack_read_proc(m, self), 0);
	maptrack_each(m, self, 1, count_each, &after);
	CHECK_EQ_INT(after, before);
	/* an exec recorded later ends what /proc showed */
	maptrack_exec(m, self, 1000);
	CHECK(maptrack_find(m, self, fn, 999));
	CHECK(!maptrack_find(m, self, fn, 1000));

	child = fork();
	REQUIRE(child >= 0);
	if (!child)
		_exit(0);
	REQUIRE(waitpid(child, &status, 0) == child);
	CHECK_EQ_INT(maptrack_read_proc(m, (uint32_t)child), -ENOENT);
	CHECK(!maptrack_find(m, (uint32_t)child, fn, 0));
	maptrack_free(m);
}

/* ---- real perf events (root) ---- */

struct mapped {
	uint64_t addr, ts;
};

/* the child maps the file executable, says where and when, and exits */
static void map_and_exit(int fd_out, const char *file)
{
	struct mapped got = { 0 };
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	void *p = fd < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);

	if (p != MAP_FAILED) {
		got.addr = (uint64_t)(uintptr_t)p;
		got.ts = now_ns();
	}
	if (write(fd_out, &got, sizeof(got)) != sizeof(got))
		_exit(2);
	_exit(0);
}

struct seen {
	const char *want, *not_want;
	bool found, found_not;
};

static void see(void *ctx, const struct mt_mapping *map)
{
	struct seen *s = ctx;

	s->found |= !strcmp(map->path, s->want);
	s->found_not |= !strcmp(map->path, s->not_want);
}

TEST(perf_traced_child)
{
	struct mt_maptrack *m;
	const struct mt_mapping *map;
	struct mapped got = { 0 };
	char true_path[PATH_MAX], exe[PATH_MAX];
	uint64_t before, after_exit;
	struct seen seen = { 0 };
	int fds[2], status, err;
	pid_t child;

	if (geteuid() != 0) {
		skip("not root (host-wide perf events)");
		return;
	}
	REQUIRE(realpath("/bin/true", true_path));
	exe_path(exe, sizeof(exe));
	m = maptrack_new();
	REQUIRE(m);
	err = maptrack_open_perf(m);
	if (err) {
		fprintf(ut_out, "%s: SKIP %s: perf_event_open: %s\n", ut_prog, ut_test_name,
			strerror(-err));
		maptrack_free(m);
		return;
	}
	REQUIRE(pipe(fds) == 0);
	before = now_ns();
	child = fork();
	REQUIRE(child >= 0);
	if (!child) {
		close(fds[0]);
		map_and_exit(fds[1], "/bin/true");
	}
	close(fds[1]);
	CHECK(read(fds[0], &got, sizeof(got)) == sizeof(got));
	close(fds[0]);
	REQUIRE(waitpid(child, &status, 0) == child);
	REQUIRE(got.addr && got.ts);
	maptrack_drain(m);
	map = maptrack_find(m, (uint32_t)child, got.addr, got.ts);
	REQUIRE(map);
	CHECK_STREQ(map->path, true_path);
	CHECK_EQ_U64(map->start, got.addr);
	CHECK_EQ_U64(map->pgoff, 0);
	CHECK(map->exec);
	CHECK(map->ino != 0);
	CHECK(map->ts_ns > before && map->ts_ns <= got.ts);
	CHECK(!maptrack_find(m, (uint32_t)child, got.addr, before));
	/* the exit record is in: forgotten at the next call */
	maptrack_drain(m);
	CHECK(maptrack_find(m, (uint32_t)child, got.addr, got.ts));
	maptrack_gone(m, (uint32_t)child);
	maptrack_forget_gone(m);
	CHECK(!maptrack_find(m, (uint32_t)child, got.addr, got.ts));

	/* a child that execs: its own binary and loader, nothing of this test's */
	child = fork();
	REQUIRE(child >= 0);
	if (!child) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	REQUIRE(waitpid(child, &status, 0) == child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	after_exit = now_ns();
	maptrack_drain(m);
	seen.want = true_path;
	seen.not_want = exe;
	maptrack_each(m, (uint32_t)child, after_exit, see, &seen);
	CHECK(seen.found);
	CHECK(!seen.found_not);
	/* its leader's exit record marked it gone */
	maptrack_forget_gone(m);
	seen.found = false;
	maptrack_each(m, (uint32_t)child, after_exit, see, &seen);
	CHECK(!seen.found);
	if (maptrack_lost(m))
		fprintf(ut_out, "%s: %s: %" PRIu64 " records lost\n", ut_prog, ut_test_name,
			maptrack_lost(m));
	maptrack_free(m);
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(find_one_mapping),
		UT(paths_are_shared),
		UT(exec_in_any_order),
		UT(mmap_replaces_in_any_order),
		UT(fork_in_any_order),
		UT(grandchild_through_forgotten_parent),
		UT(pid_reuse_in_any_order),
		UT(pid_reuse_after_gone),
		UT(gone_then_forgotten),
		UT(exit_of_leader_then_exec_by_thread),
		UT(remaps_kept_no_further_back_than_the_horizon),
		UT(kernel_records),
		UT(kernel_record_unterminated_name),
		UT(proc_self_maps),
		UT(perf_traced_child),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
