// SPDX-License-Identifier: GPL-2.0
/*
 * The unwinder of --stacks (user/unwind.h) on real samples of this very process: the registers
 * and a copy of the stack taken, as the BPF side takes them, in a chain of functions
 * (capture <- middle <- outer), unwound with the maps /proc/self/maps gives, and symbolized from
 * this binary's own debug info. The main thread's stack reaches where the program started, a
 * thread's where it was cloned; the same sample twice is the same frames; no stack copy leaves
 * one frame, an address in no mapping "[unknown]", and the frame-pointer mode's return addresses
 * are their functions.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "maptrack.h"
#include "selfsample.h"
#include "unit.h"
#include "unwind.h"

/*
 * Frames of this file are "function (test_unwind.c:LINE)", built with gcc or clang (which writes
 * no .debug_aranges: the unwinder asks every unit then).
 */
#define AT(fn) fn " (test_unwind.c:"

static FRAME void middle(struct mt_stack_sample *e)
{
	capture(e);
	NO_TAIL();
}

static FRAME void outer(struct mt_stack_sample *e)
{
	middle(e);
	NO_TAIL();
}

/* A sample of the calling thread taken in capture() (free() it). */
static FRAME struct mt_stack_sample *take(uint64_t weight)
{
	struct mt_stack_sample *e = calloc(1, sizeof(*e));

	if (!e)
		abort();
	selfsample_begin();
	outer(e);
	NO_TAIL();
	e->type = MT_EV_STACK;
	e->pid = (uint32_t)getpid();
	e->tid = (uint32_t)gettid();
	e->ts_ns = now_ns();
	e->weight_bytes = weight;
	snprintf(e->comm, sizeof(e->comm), "test_unwind");
	return e;
}

static bool starts(const struct mt_frame *f, const char *prefix)
{
	return !strncmp(f->text, prefix, strlen(prefix));
}

/* the first frame from i on whose text begins with name and a space or its end */
static unsigned find_frame(const struct mt_frame **f, unsigned n, unsigned i, const char *name)
{
	size_t len = strlen(name);

	for (; i < n; i++)
		if (!strncmp(f[i]->text, name, len) && (!f[i]->text[len] || f[i]->text[len] == ' '))
			return i;
	return n;
}

static void dump(const struct mt_frame **f, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		fprintf(ut_out, "    #%-2u %s [0x%x]\n", i, f[i]->text, f[i]->flags);
}

struct fixture {
	struct mt_maptrack *maps;
	struct mt_unwinder *u;
};

static bool setup(struct fixture *x)
{
	x->maps = maptrack_new();
	x->u = x->maps ? unwinder_new(x->maps) : NULL;
	return x->u;
}

static void teardown(struct fixture *x)
{
	unwinder_free(x->u);
	maptrack_free(x->maps);
}

/* capture, middle, outer innermost first, with their lines; then on to main */
static void check_chain(const struct mt_frame **f, unsigned n, const char *caller)
{
	static const char *const chain[] = { "capture", "middle", "outer" };
	unsigned at;

	if (n < 4) {
		ut_fail(__FILE__, __LINE__, "%u frames", n);
		dump(f, n);
		return;
	}
	for (unsigned i = 0; i < 3; i++) {
		char want[64];

		/* capture() is selfsample.h's */
		snprintf(want, sizeof(want), "%s (%s:", chain[i], i ? "test_unwind.c" : "selfsample.h");
		if (!starts(f[i], want)) {
			ut_fail(__FILE__, __LINE__, "frame %u is not %s", i, want);
			dump(f, n);
			return;
		}
		CHECK(f[i]->flags & MT_FRAME_NAMED);
		CHECK(f[i]->flags & MT_FRAME_LINE);
		CHECK(!(f[i]->flags & (MT_FRAME_LIBC | MT_FRAME_ROOT | MT_FRAME_EVAL)));
	}
	at = find_frame(f, n, 3, caller);
	if (at == n) {
		ut_fail(__FILE__, __LINE__, "no frame %s past outer", caller);
		dump(f, n);
	}
}

static unsigned full_frames(const struct mt_frame **f, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (f[i]->flags & MT_FRAME_ROOT)
			return i + 1;
	return 0;
}

/* What a report shows of a sample: each address expanded to its lines and inlined functions. */
static unsigned unwind_shown(struct mt_unwinder *u, const struct mt_stack_sample *e,
			     const struct mt_frame **out, unsigned max)
{
	const struct mt_frame *raw[MT_UNWIND_MAX_FRAMES];
	unsigned n = unwind_sample(u, e, raw, MT_UNWIND_MAX_FRAMES), m = 0;

	for (unsigned i = 0; i < n && m < max; i++)
		m += unwind_expand(u, raw[i], out + m, max - m);
	return m;
}

TEST(main_thread_to_its_start)
{
	struct fixture x;
	struct mt_stack_sample *e = take(4096);
	const struct mt_frame *f[MT_UNWIND_MAX_FRAMES], *g[MT_UNWIND_MAX_FRAMES];
	const struct mt_frame *r[MT_UNWIND_MAX_FRAMES];
	struct mt_unwind_stats st;
	unsigned n, m, rn, at_main;

	REQUIRE(setup(&x));
	CHECK(e->data_len >= 256);
	/* one frame per address as unwound, named from the symbol tables only */
	rn = unwind_sample(x.u, e, r, MT_UNWIND_MAX_FRAMES);
	CHECK(rn > 0 && (r[0]->flags & MT_FRAME_ADDR) && !strcmp(r[0]->text, "capture"));
	n = 0;
	for (unsigned i = 0; i < rn; i++)
		n += unwind_expand(x.u, r[i], f + n, MT_UNWIND_MAX_FRAMES - n);
	check_chain(f, n, "take");
	at_main = find_frame(f, n, 3, "main");
	/* unit.h's ut_run, inlined in main, is a frame of its own, at the line of its call */
	CHECK(at_main < n);
	CHECK(at_main > 4 && starts(f[at_main - 1], "ut_run (unit.h:") &&
	      starts(f[at_main - 2], AT("main_thread_to_its_start")));
	CHECK(at_main < n && starts(f[at_main], "main (test_unwind.c:"));
	/* past main: the C library's start of main, the program's _start */
	CHECK(full_frames(f, n) > at_main);
	CHECK(find_frame(f, n, at_main, "_start") < n);
	if (at_main < n && find_frame(f, n, at_main, "__libc_start_call_main") == n)
		fprintf(ut_out, "%s: note: no symbol for __libc_start_call_main (no libc debug info)\n",
			ut_prog);

	/* again: the same frames, interned */
	m = unwind_sample(x.u, e, g, MT_UNWIND_MAX_FRAMES);
	CHECK_EQ_INT(m, rn);
	for (unsigned i = 0; i < rn && i < m; i++)
		CHECK(r[i] == g[i]);
	CHECK(unwind_intern(x.u, f[0]->text, f[0]->flags) == f[0]);
	CHECK(unwind_intern(x.u, f[0]->text, 0) != f[0]);

	/* a process let go is found again (its maps from /proc) */
	unwinder_forget(x.u, e->pid);
	m = unwind_sample(x.u, e, g, MT_UNWIND_MAX_FRAMES);
	CHECK_EQ_INT(m, rn);
	for (unsigned i = 0; i < rn && i < m; i++)
		CHECK(r[i] == g[i]);

	/* fewer asked, fewer given */
	m = unwind_sample(x.u, e, g, 2);
	CHECK_EQ_INT(m, 2);
	CHECK(g[0] == r[0] && g[1] == r[1]);

	unwinder_stats(x.u, &st);
	CHECK_EQ_U64(st.samples, 4);
	CHECK_EQ_U64(st.to_root, 3);
	CHECK_EQ_U64(st.frames, 3 * (uint64_t)rn + 2);
	CHECK_EQ_U64(st.no_module, 0);
	CHECK_EQ_U64(st.cut, 0);
	teardown(&x);
	free(e);
}

struct thread_out {
	const struct mt_frame *f[MT_UNWIND_MAX_FRAMES];
	unsigned n;
	struct mt_unwinder *u;
	uint32_t tid;
};

static FRAME void *thread_main(void *arg)
{
	struct thread_out *o = arg;
	struct mt_stack_sample *e = take(1);

	o->tid = e->tid;
	/* unwound in the thread: its stack is still what was copied, not that it matters */
	o->n = unwind_shown(o->u, e, o->f, MT_UNWIND_MAX_FRAMES);
	free(e);
	NO_TAIL();
	return NULL;
}

TEST(thread_to_its_clone)
{
	struct fixture x;
	struct thread_out o = { .n = 0 };
	pthread_t t;
	unsigned at;

	REQUIRE(setup(&x));
	o.u = x.u;
	REQUIRE(!pthread_create(&t, NULL, thread_main, &o));
	REQUIRE(!pthread_join(t, NULL));
	CHECK(o.tid != (uint32_t)getpid());
	check_chain(o.f, o.n, "take");
	at = find_frame(o.f, o.n, 3, "thread_main");
	CHECK(at < o.n);
	/* beyond it only the C library's thread start, ending where the thread was cloned */
	CHECK(at + 1 < o.n);
	for (unsigned i = at + 1; i < o.n; i++)
		CHECK(o.f[i]->flags & MT_FRAME_LIBC);
	if (at + 1 < o.n && (o.f[o.n - 1]->flags & MT_FRAME_NAMED))
		CHECK(o.f[o.n - 1]->flags & MT_FRAME_ROOT);
	if (at + 1 >= o.n)
		dump(o.f, o.n);
	teardown(&x);
}

TEST(no_stack_copy_one_frame)
{
	struct fixture x;
	struct mt_stack_sample *e = take(1);
	const struct mt_frame *f[MT_UNWIND_MAX_FRAMES];
	struct mt_unwind_stats st;
	unsigned n;

	REQUIRE(setup(&x));
	e->data_len = 0;
	e->flags |= MT_STKF_COPY_FAILED;
	n = unwind_shown(x.u, e, f, MT_UNWIND_MAX_FRAMES);
	CHECK_EQ_INT(n, 1);
	CHECK(n >= 1 && starts(f[0], CAPTURE_AT));
	unwinder_stats(x.u, &st);
	CHECK_EQ_U64(st.samples, 1);
	CHECK_EQ_U64(st.to_root, 0);
	teardown(&x);
	free(e);
}

TEST(short_copy_stops_early)
{
	struct fixture x;
	struct mt_stack_sample *e = take(1);
	const struct mt_frame *f[MT_UNWIND_MAX_FRAMES], *g[MT_UNWIND_MAX_FRAMES];
	struct mt_unwind_stats st;
	unsigned n, m;

	REQUIRE(setup(&x));
	n = unwind_shown(x.u, e, f, MT_UNWIND_MAX_FRAMES);
	REQUIRE(full_frames(f, n));
	/* the copy ends within the frames of the chain: what is unwound is the top of them, and
	 * the unwinding stopped at the copy's end (a larger --stack-size would go on) */
	e->data_len = 64;
	m = unwind_shown(x.u, e, g, MT_UNWIND_MAX_FRAMES);
	CHECK(m >= 1 && m < n);
	for (unsigned i = 0; i < m && i < n; i++)
		CHECK(g[i] == f[i]);
	unwinder_stats(x.u, &st);
	CHECK_EQ_U64(st.samples, 2);
	CHECK_EQ_U64(st.to_root, 1);
	CHECK_EQ_U64(st.cut, 1);
	CHECK_EQ_U64(st.lost, 0);
	/* a copy that ended at the stack's own end is not the size's fault */
	e->flags |= MT_STKF_COPY_SHORT;
	m = unwind_shown(x.u, e, g, MT_UNWIND_MAX_FRAMES);
	CHECK(m >= 1 && m < n);
	unwinder_stats(x.u, &st);
	CHECK_EQ_U64(st.cut, 1);
	CHECK_EQ_U64(st.lost, 1);
	teardown(&x);
	free(e);
}

TEST(address_in_no_mapping_unknown)
{
	struct fixture x;
	struct mt_stack_sample *e = take(1);
	const struct mt_frame *f[MT_UNWIND_MAX_FRAMES];
	struct mt_unwind_stats st;
	unsigned n;

	REQUIRE(setup(&x));
	/* never mapped: the first page */
	memset(e->regs, 0, sizeof(e->regs));
	e->regs[16] = 0x1000;
	e->data_len = 0;
	n = unwind_shown(x.u, e, f, MT_UNWIND_MAX_FRAMES);
	CHECK_EQ_INT(n, 1);
	CHECK(n >= 1 && !strcmp(f[0]->text, "[unknown]"));
	CHECK(n >= 1 && !(f[0]->flags & MT_FRAME_NAMED));
	unwinder_stats(x.u, &st);
	CHECK_EQ_U64(st.no_module, 1);
	CHECK_EQ_U64(st.to_root, 0);

	/* the same after a known frame: the unwinding ends there */
	memset(e, 0, offsetof(struct mt_stack_sample, data));
	e->pid = (uint32_t)getpid();
	e->tid = e->pid;
	e->ts_ns = now_ns();
	e->flags = MT_STKF_FP;
	uint64_t ips[] = { (uint64_t)(uintptr_t)&middle, 0x1001, (uint64_t)(uintptr_t)&outer + 1 };
	memcpy(e->data, ips, sizeof(ips));
	e->data_len = sizeof(ips);
	n = unwind_shown(x.u, e, f, MT_UNWIND_MAX_FRAMES);
	CHECK_EQ_INT(n, 2);
	CHECK(n == 2 && starts(f[0], AT("middle")) && !strcmp(f[1]->text, "[unknown]"));
	teardown(&x);
	free(e);
}

static FRAME int fp_leaf(int v)
{
	NO_TAIL();
	return v + 1;
}

static FRAME int fp_caller(int v)
{
	int r = fp_leaf(v);

	NO_TAIL();
	return r * 2;
}

TEST(frame_pointer_mode_return_addresses)
{
	struct fixture x;
	struct mt_stack_sample *e = calloc(1, sizeof(*e));
	const struct mt_frame *f[MT_UNWIND_MAX_FRAMES];
	/* the first is the sampled ip itself, the others return addresses (the call is before) */
	uint64_t ips[] = { (uint64_t)(uintptr_t)&fp_leaf, (uint64_t)(uintptr_t)&fp_caller + 1,
			   (uint64_t)(uintptr_t)&outer + 1, 0, (uint64_t)(uintptr_t)&middle + 1 };
	unsigned n;

	REQUIRE(e);
	REQUIRE(setup(&x));
	CHECK_EQ_INT(fp_caller(1), 4);
	e->type = MT_EV_STACK;
	e->pid = (uint32_t)getpid();
	e->tid = e->pid;
	e->ts_ns = now_ns();
	e->flags = MT_STKF_FP;
	memcpy(e->data, ips, sizeof(ips));
	e->data_len = sizeof(ips);
	/* registers are not looked at */
	e->regs[16] = 0x1000;
	n = unwind_shown(x.u, e, f, MT_UNWIND_MAX_FRAMES);
	CHECK_EQ_INT(n, 3); /* to the first 0 */
	if (n == 3) {
		CHECK(starts(f[0], AT("fp_leaf")));
		CHECK(starts(f[1], AT("fp_caller")));
		CHECK(starts(f[2], AT("outer")));
	}
	if (n != 3 || !starts(f[0], "fp_leaf") || !starts(f[1], "fp_caller"))
		dump(f, n);
	/* fewer asked, fewer given */
	CHECK_EQ_INT(unwind_sample(x.u, e, f, 1), 1);
	teardown(&x);
	free(e);
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(main_thread_to_its_start),	     UT(thread_to_its_clone),
		UT(no_stack_copy_one_frame),	     UT(short_copy_stops_early),
		UT(address_in_no_mapping_unknown), UT(frame_pointer_mode_return_addresses),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
