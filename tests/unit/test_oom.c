// SPDX-License-Identifier: GPL-2.0
/*
 * The pure parts of the OOM decoder (user/oom.h): the memcg path from the record's names, the
 * constraint from a stack or a memcg's usage, the oom_kill row's detail. oom_decode itself
 * reads /proc/kallsyms: not called here.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "strbuf.h"
#include "oom.h"
#include "unit.h"

#define KIB 1024ULL
#define MIB (1024ULL * KIB)
#define GIB (1024ULL * MIB)

/* ---- oom_memcg_path ---- */

/* oom_memcg_path into a buffer of out_len bytes followed by a canary that must survive */
struct path_out {
	char buf[MT_CGPATH_LEN + 8];
	unsigned char canary[16];
};

#define CANARY 0xA5

static const char *memcg_path(struct path_out *p, const char *names, size_t names_len,
			      uint32_t levels, bool truncated, size_t out_len)
{
	memset(p->buf, 'Z', sizeof(p->buf));
	memset(p->canary, CANARY, sizeof(p->canary));
	/* out_len bytes end exactly where the canary starts */
	char *out = p->buf + sizeof(p->buf) - out_len;

	oom_memcg_path(names, names_len, levels, truncated, out, out_len);
	return out;
}

static bool canary_intact(const struct path_out *p)
{
	for (size_t i = 0; i < sizeof(p->canary); i++)
		if (p->canary[i] != CANARY)
			return false;
	return true;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n >= t && !strcmp(s + n - t, tail);
}

/* NUL-terminated within out_len (the function must always leave a string) */
static bool terminated(const char *out, size_t out_len)
{
	return memchr(out, '\0', out_len) != NULL;
}

TEST(memcg_path_leaf_first_names_become_root_first_path)
{
	static const char names[] = "leaf\0mid\0top\0";
	struct path_out p;

	CHECK_STREQ(memcg_path(&p, names, sizeof(names) - 1, 3, false, 64), "/top/mid/leaf");
	CHECK(canary_intact(&p));
}

TEST(memcg_path_one_level)
{
	static const char names[] = "user.slice\0";
	struct path_out p;

	CHECK_STREQ(memcg_path(&p, names, sizeof(names) - 1, 1, false, 64), "/user.slice");
}

/* the record's buffer is bigger than the names in it: the rest is zeros */
TEST(memcg_path_in_a_zero_padded_record_buffer)
{
	char names[MT_CGPATH_LEN * 2] = { 0 };
	static const char leaf_first[] = "memtrace-42.scope\0system.slice\0";
	struct path_out p;

	memcpy(names, leaf_first, sizeof(leaf_first) - 1);
	CHECK_STREQ(memcg_path(&p, names, sizeof(names), 2, false, sizeof(p.buf)),
		    "/system.slice/memtrace-42.scope");
	CHECK(canary_intact(&p));
}

TEST(memcg_path_root_is_slash)
{
	char names[8] = { 0 };
	struct path_out p;

	CHECK_STREQ(memcg_path(&p, names, sizeof(names), 0, false, 64), "/");
	/* levels 0 ignores whatever the buffer holds */
	CHECK_STREQ(memcg_path(&p, "junk\0", 5, 0, false, 64), "/");
	CHECK_STREQ(memcg_path(&p, "", 0, 0, false, 64), "/");
}

TEST(memcg_path_truncated_gets_dots_in_front)
{
	static const char names[] = "leaf\0mid\0";
	struct path_out p;

	CHECK_STREQ(memcg_path(&p, names, sizeof(names) - 1, 2, true, 64), "/.../mid/leaf");
	/* truncated with no name at all: just the marker, not "/.../" nor "/" */
	CHECK_STREQ(memcg_path(&p, names, sizeof(names) - 1, 0, true, 64), "/...");
}

/* the last name runs to the end of the buffer with no NUL: dropped, nothing read beyond */
TEST(memcg_path_unterminated_name_is_cut)
{
	/* names_len 8 covers "leaf\0mid"; the "XYZ\0" after it must never be read */
	static const char names[] = "leaf\0midXYZ";
	struct path_out p;
	const char *out = memcg_path(&p, names, 8, 2, false, 64);

	CHECK(strstr(out, "mid") == NULL);
	CHECK(strstr(out, "XYZ") == NULL);
	CHECK(ends_with(out, "/leaf"));
	/* the only name unterminated: no level at all */
	out = memcg_path(&p, "leafXYZ", 4, 1, false, 64);
	CHECK(strstr(out, "leaf") == NULL);
	CHECK(strstr(out, "XYZ") == NULL);
	CHECK(terminated(out, 64));
	CHECK(canary_intact(&p));
}

/* more levels claimed than names in names_len: only what is there */
TEST(memcg_path_more_levels_than_the_buffer_holds)
{
	static const char names[] = "b\0a\0ZZZZ";
	struct path_out p;

	const char *out = memcg_path(&p, names, 4, 5, false, 64);

	CHECK(ends_with(out, "/a/b"));
	CHECK(strstr(out, "ZZ") == NULL);
	CHECK(strstr(out, "//") == NULL);
	out = memcg_path(&p, names, 4, UINT32_MAX, false, 64);
	CHECK(ends_with(out, "/a/b"));
	CHECK(strstr(out, "ZZ") == NULL);
	CHECK(canary_intact(&p));
}

/* at most MT_CGPATH_MAX_DEPTH levels are taken, whatever `levels` says */
TEST(memcg_path_depth_is_bounded)
{
	char names[256] = { 0 };
	char want[256] = "";
	size_t off = 0;
	struct path_out p;
	const char *out;

	/* leaf first: n20 ... n1 */
	for (int i = 20; i >= 1; i--)
		off += (size_t)snprintf(names + off, sizeof(names) - off, "n%d", i) + 1;
	/* the 16 names nearest the leaf: /n5/n6/.../n20 */
	for (int i = 20 - MT_CGPATH_MAX_DEPTH + 1; i <= 20; i++)
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "/n%d", i);
	CHECK_STREQ(want, "/n5/n6/n7/n8/n9/n10/n11/n12/n13/n14/n15/n16/n17/n18/n19/n20");
	out = memcg_path(&p, names, off, 20, true, sizeof(p.buf));
	CHECK(!strncmp(out, "/...", 4));
	CHECK_STREQ(out + 4, want);
	/* not flagged truncated: still never more than 16 levels, the leaf side */
	out = memcg_path(&p, names, off, 20, false, sizeof(p.buf));
	CHECK(ends_with(out, want));
	CHECK(strstr(out, "/n4/") == NULL);
	CHECK(canary_intact(&p));
}

TEST(memcg_path_names_kept_verbatim)
{
	static const char names[] = "my job%1\0a=b,c\0";
	struct path_out p;

	/* encoding is the detail writer's business, not the path's */
	CHECK_STREQ(memcg_path(&p, names, sizeof(names) - 1, 2, false, 64), "/a=b,c/my job%1");
}

/* a small output buffer: cut, NUL-terminated, never written past */
TEST(memcg_path_small_output_is_cut_without_overflow)
{
	static const char names[] = "leaf\0mid\0top\0";
	struct path_out p;

	for (size_t len = 1; len <= 16; len++) {
		const char *out = memcg_path(&p, names, sizeof(names) - 1, 3, false, len);

		if (!terminated(out, len)) {
			ut_fail(__FILE__, __LINE__, "out_len %zu: no NUL in the output", len);
			continue;
		}
		if (strncmp(out, "/top/mid/leaf", strlen(out)))
			ut_fail(__FILE__, __LINE__, "out_len %zu: \"%s\" is not a prefix", len, out);
		if (len > 13 && strcmp(out, "/top/mid/leaf"))
			ut_fail(__FILE__, __LINE__, "out_len %zu: \"%s\", want it whole", len, out);
		if (!canary_intact(&p))
			ut_fail(__FILE__, __LINE__, "out_len %zu: wrote past the buffer", len);
	}
	CHECK_STREQ(memcg_path(&p, names, sizeof(names) - 1, 3, false, 6), "/top/");
	CHECK_STREQ(memcg_path(&p, names, sizeof(names) - 1, 3, true, 3), "/.");
	CHECK(canary_intact(&p));
	CHECK_STREQ(memcg_path(&p, names, sizeof(names) - 1, 0, false, 1), "");
	CHECK(canary_intact(&p));
}

/* out_len 0: nothing written at all */
TEST(memcg_path_zero_output_length)
{
	char out[4] = "abc";

	oom_memcg_path("leaf\0", 5, 1, true, out, 0);
	CHECK_STREQ(out, "abc");
}

/* the longest record: 16 names of 63 bytes, more than the report's memcg field holds */
TEST(memcg_path_longest_record_fits_safely)
{
	char names[MT_CGPATH_LEN * 2];
	struct mt_oom_report r;
	struct path_out p;
	const char *out;

	memset(names, 0, sizeof(names));
	for (int i = 0; i < MT_CGPATH_MAX_DEPTH; i++)
		memset(names + i * 64, 'a' + i, 63);
	_Static_assert(MT_CGPATH_MAX_DEPTH * 64 <= sizeof(names), "names fit");
	out = memcg_path(&p, names, sizeof(names), MT_CGPATH_MAX_DEPTH, true, sizeof(r.memcg));
	CHECK(terminated(out, sizeof(r.memcg)));
	CHECK(!strncmp(out, "/.../", 5));
	CHECK_EQ_U64(strlen(out), sizeof(r.memcg) - 1);
	/* root first: the last name gathered ('p'...) comes right after the marker */
	CHECK(out[5] == 'a' + MT_CGPATH_MAX_DEPTH - 1);
	CHECK(canary_intact(&p));
}

/* ---- oom_constraint_from_stack ---- */

static const struct mt_ksym_range two_ranges[] = {
	{ 0xffffffff8168bab0ULL, 0xffffffff8168bc40ULL },
	{ 0xffffffff8168bc40ULL, 0xffffffff8168bd00ULL },
};

TEST(stack_address_inside_a_range_is_memcg)
{
	const uint64_t stack[] = { 0xffffffff81200010ULL, 0xffffffff8168bb23ULL,
				   0xffffffff81300000ULL };

	CHECK_EQ_INT(oom_constraint_from_stack(stack, 3, two_ranges, 2), MT_OOM_MEMCG);
	/* in the second range only */
	const uint64_t stack2[] = { 0xffffffff8168bc80ULL };
	CHECK_EQ_INT(oom_constraint_from_stack(stack2, 1, two_ranges, 2), MT_OOM_MEMCG);
}

TEST(stack_outside_every_range_is_global)
{
	const uint64_t stack[] = { 0xffffffff81200010ULL, 0xffffffff8168bab0ULL - 1,
				   0xffffffff8168bd00ULL + 1, 0xffffffff81300000ULL };

	CHECK_EQ_INT(oom_constraint_from_stack(stack, 4, two_ranges, 2), MT_OOM_GLOBAL);
}

/*
 * A return address points after its call: one equal to a function's start belongs to the
 * function before, one equal to its end (the call was its last instruction) to it.
 */
TEST(stack_range_boundaries_follow_return_addresses)
{
	const struct mt_ksym_range r[] = { { 0x1000, 0x2000 } };
	const uint64_t at_start = 0x1000, after_start = 0x1001, at_end = 0x2000,
		       after_end = 0x2001;

	CHECK_EQ_INT(oom_constraint_from_stack(&at_start, 1, r, 1), MT_OOM_GLOBAL);
	CHECK_EQ_INT(oom_constraint_from_stack(&after_start, 1, r, 1), MT_OOM_MEMCG);
	CHECK_EQ_INT(oom_constraint_from_stack(&at_end, 1, r, 1), MT_OOM_MEMCG);
	CHECK_EQ_INT(oom_constraint_from_stack(&after_end, 1, r, 1), MT_OOM_GLOBAL);
}

/* only the first n entries are the stack */
TEST(stack_entries_beyond_n_are_ignored)
{
	const uint64_t stack[] = { 0xffffffff81200010ULL, 0xffffffff8168bb23ULL };

	CHECK_EQ_INT(oom_constraint_from_stack(stack, 1, two_ranges, 2), MT_OOM_GLOBAL);
	CHECK_EQ_INT(oom_constraint_from_stack(stack, 2, two_ranges, 2), MT_OOM_MEMCG);
}

TEST(stack_empty_or_no_range_is_unknown)
{
	const uint64_t stack[] = { 0xffffffff8168bb23ULL };
	const struct mt_ksym_range none[2] = { { 0, 0 }, { 0, 0 } };

	CHECK_EQ_INT(oom_constraint_from_stack(stack, 0, two_ranges, 2), MT_OOM_UNKNOWN);
	CHECK_EQ_INT(oom_constraint_from_stack(stack, 1, none, 2), MT_OOM_UNKNOWN);
	CHECK_EQ_INT(oom_constraint_from_stack(stack, 1, two_ranges, 0), MT_OOM_UNKNOWN);
	/* an address 0 in the stack does not match a range not found */
	const uint64_t zero = 0;
	const struct mt_ksym_range one_missing[] = { { 0, 0 }, { 0x1000, 0x2000 } };
	CHECK_EQ_INT(oom_constraint_from_stack(&zero, 1, one_missing, 2), MT_OOM_GLOBAL);
}

/* one range found, the other not: the found one still decides */
TEST(stack_one_range_known_is_enough)
{
	const struct mt_ksym_range r[] = { { 0, 0 }, { 0xffffffff8168bc40ULL,
						       0xffffffff8168bd00ULL } };
	const uint64_t in = 0xffffffff8168bc50ULL, out = 0xffffffff8168bb00ULL;

	CHECK_EQ_INT(oom_constraint_from_stack(&in, 1, r, 2), MT_OOM_MEMCG);
	CHECK_EQ_INT(oom_constraint_from_stack(&out, 1, r, 2), MT_OOM_GLOBAL);
}

/* ---- oom_constraint_from_usage ---- */

TEST(usage_no_limit_is_global)
{
	CHECK_EQ_INT(oom_constraint_from_usage(0, 0), MT_OOM_GLOBAL);
	CHECK_EQ_INT(oom_constraint_from_usage(4 * GIB, 0), MT_OOM_GLOBAL);
}

TEST(usage_at_the_limit_is_memcg)
{
	CHECK_EQ_INT(oom_constraint_from_usage(256 * MIB, 256 * MIB), MT_OOM_MEMCG);
	CHECK_EQ_INT(oom_constraint_from_usage(256 * MIB - 4096, 256 * MIB), MT_OOM_MEMCG);
	/* usage may overshoot a little */
	CHECK_EQ_INT(oom_constraint_from_usage(256 * MIB + 4096, 256 * MIB), MT_OOM_MEMCG);
}

/* slack: 1/64 of the limit for large limits */
TEST(usage_slack_is_a_64th_of_large_limits)
{
	uint64_t max = 256 * MIB, slack = max / 64; /* 4 MiB */

	CHECK_EQ_INT(oom_constraint_from_usage(max - slack, max), MT_OOM_MEMCG);
	CHECK_EQ_INT(oom_constraint_from_usage(max - slack - 1, max), MT_OOM_GLOBAL);
	CHECK_EQ_INT(oom_constraint_from_usage(max / 2, max), MT_OOM_GLOBAL);
	CHECK_EQ_INT(oom_constraint_from_usage(0, max), MT_OOM_GLOBAL);
}

/* slack: at least 256 KiB for small limits */
TEST(usage_slack_is_at_least_256k)
{
	uint64_t max = 8 * MIB; /* max / 64 = 128 KiB */

	CHECK_EQ_INT(oom_constraint_from_usage(max - 256 * KIB, max), MT_OOM_MEMCG);
	CHECK_EQ_INT(oom_constraint_from_usage(max - 200 * KIB, max), MT_OOM_MEMCG);
	CHECK_EQ_INT(oom_constraint_from_usage(max - 256 * KIB - 1, max), MT_OOM_GLOBAL);
	CHECK_EQ_INT(oom_constraint_from_usage(1 * MIB, max), MT_OOM_GLOBAL);
}

/* ---- oom_constraint_name ---- */

TEST(constraint_names)
{
	CHECK_STREQ(oom_constraint_name(MT_OOM_GLOBAL), "global");
	CHECK_STREQ(oom_constraint_name(MT_OOM_MEMCG), "memcg");
	CHECK_STREQ(oom_constraint_name(MT_OOM_UNKNOWN), "unknown");
	CHECK_STREQ(oom_constraint_name((enum mt_oom_constraint)42), "unknown");
}

/* ---- oom_format_detail ---- */

/* a memcg OOM of python3's cgroup, the victim's task known */
static void memcg_report(struct mt_oom_report *r)
{
	memset(r, 0, sizeof(*r));
	r->mono_ns = 123456789;
	r->pid = 4242;
	r->tid = 4242;
	r->traced = true;
	snprintf(r->stats.comm, sizeof(r->stats.comm), "python3");
	r->uid = 1000;
	r->oom_score_adj = -1000;
	r->task_known = true;
	r->total_vm_bytes = 4096;
	r->pgtables_bytes = 8192;
	r->constraint = MT_OOM_MEMCG;
	r->constraint_source = "kernel stack";
	snprintf(r->memcg, sizeof(r->memcg), "/a/b");
	r->limit_max_bytes = 256 * MIB;
	r->limit_usage_bytes = 256 * MIB;
	r->trigger_pid = 5;
	snprintf(r->trigger_comm, sizeof(r->trigger_comm), "python3");
}

/* the keys SPEC requires of every oom_kill row */
static void check_required_keys(const char *detail, const char *file, int line)
{
	static const char *const keys[] = { "constraint=",	 "memcg=",	   "trigger_pid=",
					    "trigger_comm=",	 "oom_score_adj=", "total_vm_bytes=" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *p = strstr(detail, keys[i]);

		/* at the start or after a space, as a key */
		while (p && p != detail && p[-1] != ' ')
			p = strstr(p + 1, keys[i]);
		if (!p)
			ut_fail(file, line, "detail \"%s\" lacks %s", detail, keys[i]);
	}
}

/* oom_format_detail(r) into a fresh buffer: the text, NUL-terminated, in buf */
static const char *detail_at(const struct mt_oom_report *r, char *buf, size_t len,
			     const char *file, int line)
{
	struct strbuf sb;

	sb_init(&sb);
	oom_format_detail(r, &sb);
	snprintf(buf, len, "%.*s", (int)sb.len, sb.data ? sb.data : "");
	if (sb.len >= len)
		ut_fail(file, line, "detail is %zu bytes, test buffer %zu", sb.len, len);
	sb_free(&sb);
	check_required_keys(buf, file, line);
	if (strchr(buf, ',') || strchr(buf, '"') || strchr(buf, '\n'))
		ut_fail(file, line, "detail \"%s\" would break the CSV field or the list", buf);
	return buf;
}

#define DETAIL(r, buf) detail_at((r), (buf), sizeof(buf), __FILE__, __LINE__)

TEST(detail_memcg_oom_with_task)
{
	struct mt_oom_report r;
	char buf[1024];

	memcg_report(&r);
	CHECK_STREQ(DETAIL(&r, buf),
		    "constraint=memcg memcg=/a/b trigger_pid=5 trigger_comm=python3 "
		    "oom_score_adj=-1000 total_vm_bytes=4096 pgtables_bytes=8192 uid=1000 "
		    "memcg_limit_bytes=268435456");
}

TEST(detail_global_oom_without_limit)
{
	struct mt_oom_report r;
	char buf[1024];

	memcg_report(&r);
	r.constraint = MT_OOM_GLOBAL;
	snprintf(r.memcg, sizeof(r.memcg), "/");
	r.limit_max_bytes = 0;
	r.limit_usage_bytes = 0;
	r.oom_score_adj = 1000;
	r.uid = 0;
	r.total_vm_bytes = 3 * GIB;
	CHECK_STREQ(DETAIL(&r, buf),
		    "constraint=global memcg=/ trigger_pid=5 trigger_comm=python3 "
		    "oom_score_adj=1000 total_vm_bytes=3221225472 pgtables_bytes=8192 uid=0");
	CHECK(strstr(buf, "memcg_limit_bytes") == NULL);
}

/* the old tracepoint: no task, so no oom_score_adj, sizes, uid; keys still there */
TEST(detail_without_task_has_placeholders)
{
	struct mt_oom_report r;
	char buf[1024];

	memcg_report(&r);
	r.task_known = false;
	r.constraint = MT_OOM_UNKNOWN;
	r.constraint_source = NULL;
	r.memcg[0] = '\0';
	r.limit_max_bytes = 0;
	CHECK_STREQ(DETAIL(&r, buf), "constraint=unknown memcg=? trigger_pid=5 "
				     "trigger_comm=python3 oom_score_adj=? total_vm_bytes=?");
	CHECK(strstr(buf, "pgtables_bytes") == NULL);
	CHECK(strstr(buf, "uid=") == NULL);
}

/* the kernel marked a thread other than the main one */
TEST(detail_victim_tid_when_not_the_pid)
{
	struct mt_oom_report r;
	char buf[1024];

	memcg_report(&r);
	r.tid = 4250;
	CHECK_STREQ(DETAIL(&r, buf),
		    "constraint=memcg memcg=/a/b trigger_pid=5 trigger_comm=python3 "
		    "oom_score_adj=-1000 total_vm_bytes=4096 pgtables_bytes=8192 uid=1000 "
		    "memcg_limit_bytes=268435456 victim_tid=4250");
	/* the same without a task */
	r.task_known = false;
	r.limit_max_bytes = 0;
	CHECK_STREQ(DETAIL(&r, buf),
		    "constraint=memcg memcg=/a/b trigger_pid=5 trigger_comm=python3 "
		    "oom_score_adj=? total_vm_bytes=? victim_tid=4250");
}

/* untrusted names: '%', space, '=', ',', '"' and non-printable bytes become %XX */
TEST(detail_untrusted_values_are_percent_encoded)
{
	struct mt_oom_report r;
	char buf[1024];

	memcg_report(&r);
	snprintf(r.trigger_comm, sizeof(r.trigger_comm), "a b=c,d%%e\"\n\xff");
	snprintf(r.memcg, sizeof(r.memcg), "/my cg/x=1,y%%");
	DETAIL(&r, buf);
	CHECK(strstr(buf, " trigger_comm=a%20b%3Dc%2Cd%25e%22%0A%FF ") != NULL);
	CHECK(strstr(buf, " memcg=/my%20cg/x%3D1%2Cy%25 ") != NULL);
	/* exactly the keys' '=' remain: constraint, memcg, trigger_pid, trigger_comm, and 5 more */
	int eq = 0;
	for (const char *p = buf; *p; p++)
		eq += *p == '=';
	CHECK_EQ_INT(eq, 9);
	CHECK(!strncmp(buf, "constraint=memcg memcg=/my%20cg/x%3D1%2Cy%25 trigger_pid=5 "
			    "trigger_comm=a%20b%3Dc%2Cd%25e%22%0A%FF oom_score_adj=-1000 ",
		       strlen("constraint=memcg memcg=/my%20cg/x%3D1%2Cy%25 trigger_pid=5 "
			      "trigger_comm=a%20b%3Dc%2Cd%25e%22%0A%FF oom_score_adj=-1000 ")));
}

/* an empty trigger comm and the largest numbers */
TEST(detail_extreme_values)
{
	struct mt_oom_report r;
	char buf[1024];

	memcg_report(&r);
	r.trigger_pid = UINT32_MAX;
	r.trigger_comm[0] = '\0';
	r.oom_score_adj = -2147483647 - 1;
	r.total_vm_bytes = UINT64_MAX;
	r.pgtables_bytes = 0;
	r.uid = UINT32_MAX;
	r.limit_max_bytes = UINT64_MAX;
	CHECK_STREQ(DETAIL(&r, buf),
		    "constraint=memcg memcg=/a/b trigger_pid=4294967295 trigger_comm= "
		    "oom_score_adj=-2147483648 total_vm_bytes=18446744073709551615 "
		    "pgtables_bytes=0 uid=4294967295 memcg_limit_bytes=18446744073709551615");
}

/* appended to a detail already started: one space between */
TEST(detail_appends_after_existing_text)
{
	struct mt_oom_report r;
	struct strbuf sb;

	memcg_report(&r);
	sb_init(&sb);
	sb_adds(&sb, "x=1");
	oom_format_detail(&r, &sb);
	REQUIRE(sb.len > 0);
	CHECK(!strncmp(sb.data, "x=1 constraint=memcg memcg=/a/b ", 32));
	CHECK(sb.data[sb.len - 1] != ' ');
	sb_free(&sb);
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(memcg_path_leaf_first_names_become_root_first_path),
		UT(memcg_path_one_level),
		UT(memcg_path_in_a_zero_padded_record_buffer),
		UT(memcg_path_root_is_slash),
		UT(memcg_path_truncated_gets_dots_in_front),
		UT(memcg_path_unterminated_name_is_cut),
		UT(memcg_path_more_levels_than_the_buffer_holds),
		UT(memcg_path_depth_is_bounded),
		UT(memcg_path_names_kept_verbatim),
		UT(memcg_path_small_output_is_cut_without_overflow),
		UT(memcg_path_zero_output_length),
		UT(memcg_path_longest_record_fits_safely),
		UT(stack_address_inside_a_range_is_memcg),
		UT(stack_outside_every_range_is_global),
		UT(stack_range_boundaries_follow_return_addresses),
		UT(stack_entries_beyond_n_are_ignored),
		UT(stack_empty_or_no_range_is_unknown),
		UT(stack_one_range_known_is_enough),
		UT(usage_no_limit_is_global),
		UT(usage_at_the_limit_is_memcg),
		UT(usage_slack_is_a_64th_of_large_limits),
		UT(usage_slack_is_at_least_256k),
		UT(constraint_names),
		UT(detail_memcg_oom_with_task),
		UT(detail_global_oom_without_limit),
		UT(detail_without_task_has_placeholders),
		UT(detail_victim_tid_when_not_the_pid),
		UT(detail_untrusted_values_are_percent_encoded),
		UT(detail_extreme_values),
		UT(detail_appends_after_existing_text),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
