// SPDX-License-Identifier: GPL-2.0
/*
 * --stacks' accounts (user/stackprof.h) on real samples of this process, taken as the BPF side
 * takes them (registers and a copy of the stack, in capture()) on several paths: weights
 * summed, equal stacks one folded line under the sample's comm, self and total per frame (a
 * frame twice on one stack counted once), an OOM sample kept for the OOM report and not
 * accounted, and the native stacks held for their Python sample: mixed with its frames in place
 * of the eval loop's (a function of this file is named _PyEval_EvalFrameDefault), or accounted
 * alone when it never comes.
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
#include "pyprof.h"
#include "stackprof.h"
#include "selfsample.h"
#include "unit.h"
#include "unwind.h"

/*
 * Frames of this file are "function (test_stackprof.c:LINE)", built with gcc or clang (which
 * writes no .debug_aranges: the unwinder asks every unit then).
 */
#define AT(fn) fn " (test_stackprof.c:"
#define FN(fn) fn " (test_stackprof.c)" /* a function whole, its lines together */
#define MAIN ";main ("

static FRAME void middle(struct mt_stack_sample *e)
{
	capture(e);
	NO_TAIL();
}

static FRAME void path_a(struct mt_stack_sample *e)
{
	middle(e);
	NO_TAIL();
}

static FRAME void path_b(struct mt_stack_sample *e)
{
	middle(e);
	NO_TAIL();
}

/* rec(2) -> rec(1) -> rec(0): the frame of the recursive call twice on the stack */
static FRAME void rec(int n, struct mt_stack_sample *e)
{
	if (n > 0)
		rec(n - 1, e);
	else
		middle(e);
	NO_TAIL();
}

static FRAME void path_rec(struct mt_stack_sample *e)
{
	rec(2, e);
	NO_TAIL();
}

/*
 * CPython's eval loop as the unwinder knows it, by its name: two calls of it, the inner one
 * through py_call (a C function Python called)
 */
void _PyEval_EvalFrameDefault(int n, struct mt_stack_sample *e);
static void py_call(int n, struct mt_stack_sample *e);

FRAME void _PyEval_EvalFrameDefault(int n, struct mt_stack_sample *e)
{
	if (n > 0)
		py_call(n - 1, e);
	else
		middle(e);
	NO_TAIL();
}

static FRAME void py_call(int n, struct mt_stack_sample *e)
{
	_PyEval_EvalFrameDefault(n, e);
	NO_TAIL();
}

static FRAME void path_eval(struct mt_stack_sample *e)
{
	_PyEval_EvalFrameDefault(1, e);
	NO_TAIL();
}

/* A sample of this thread taken on path (free() it). */
static FRAME struct mt_stack_sample *take(void (*path)(struct mt_stack_sample *), uint64_t weight,
					  uint32_t flags)
{
	struct mt_stack_sample *e = calloc(1, sizeof(*e));

	if (!e)
		abort();
	selfsample_begin();
	path(e);
	NO_TAIL();
	e->type = MT_EV_STACK;
	e->pid = (uint32_t)getpid();
	e->tid = (uint32_t)gettid();
	e->ts_ns = now_ns();
	e->flags = flags;
	e->weight_bytes = weight;
	memcpy(e->comm, "my app;x", 8);
	return e;
}

struct fixture {
	struct mt_maptrack *maps;
	struct mt_unwinder *u;
	struct mt_pyprof *py;
	struct mt_stackprof *p;
};

static bool setup(struct fixture *x, bool python)
{
	memset(x, 0, sizeof(*x));
	x->maps = maptrack_new();
	x->u = x->maps ? unwinder_new(x->maps) : NULL;
	x->py = python ? pyprof_new() : NULL;
	x->p = x->u && (x->py || !python) ? stackprof_new(x->u, x->py) : NULL;
	return x->p;
}

static void teardown(struct fixture *x)
{
	stackprof_free(x->p);
	pyprof_free(x->py);
	unwinder_free(x->u);
	maptrack_free(x->maps);
}

/* What a report wrote (free() it). */
struct text {
	char *buf;
	size_t len;
	FILE *f;
};

static FILE *text_open(struct text *t)
{
	t->buf = NULL;
	t->f = open_memstream(&t->buf, &t->len);
	if (!t->f)
		abort();
	return t->f;
}

static char *text_close(struct text *t)
{
	fclose(t->f);
	return t->buf;
}

static char *folded(struct mt_stackprof *p)
{
	struct text t;

	CHECK_EQ_INT(stackprof_folded(p, text_open(&t)), 0);
	return text_close(&t);
}

static unsigned count_lines(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* the line of the folded stacks that holds needle, its bytes in *bytes */
static const char *line_with(const char *text, const char *needle, uint64_t *bytes)
{
	const char *at = strstr(text, needle), *start, *end, *sp;

	if (!at)
		return NULL;
	for (start = at; start > text && start[-1] != '\n'; start--)
		;
	end = strchr(at, '\n');
	if (!end)
		return NULL;
	for (sp = end; sp > start && sp[-1] != ' '; sp--)
		;
	*bytes = strtoull(sp, NULL, 10);
	return start;
}

/* every line's stack (before its last space) before the next one's */
static bool lines_sorted(const char *text)
{
	const char *prev = NULL;
	size_t prev_len = 0;

	for (const char *at = text; *at;) {
		const char *end = strchr(at, '\n'), *sp;
		size_t len;

		if (!end)
			return false;
		for (sp = end; sp > at && sp[-1] != ' '; sp--)
			;
		len = sp > at ? (size_t)(sp - 1 - at) : 0;
		if (prev) {
			int c = strncmp(prev, at, prev_len < len ? prev_len : len);

			if (c > 0 || (!c && prev_len >= len))
				return false;
		}
		prev = at;
		prev_len = len;
		at = end + 1;
	}
	return true;
}

/* text is function name's frame: "name (file:line)" or "name" */
static bool named(const char *text, const char *name)
{
	size_t len = strlen(name);

	return !strncmp(text, name, len) && (text[len] == ' ' || !text[len]);
}

static bool starts(const char *text, const char *prefix)
{
	return !strncmp(text, prefix, strlen(prefix));
}

static const struct stackprof_func *func(const struct stackprof_func *v, size_t n,
					 const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (named(v[i].text, name))
			return &v[i];
	return NULL;
}

static void feed(struct mt_stackprof *p, struct mt_stack_sample *e, uint64_t weight)
{
	e->weight_bytes = weight;
	stackprof_on_sample(p, e);
}

TEST(folded_stacks_merged_sorted)
{
	struct fixture x;
	struct mt_stack_sample *a = take(path_a, 0, 0), *b = take(path_b, 0, 0);
	char *text;
	const char *la, *lb, *inner;
	uint64_t ba = 0, bb = 0;

	REQUIRE(setup(&x, false));
	feed(x.p, a, 100);
	feed(x.p, b, 7);
	feed(x.p, a, 50); /* the same stack: one line */
	CHECK_EQ_U64(stackprof_total(x.p), 157);
	text = folded(x.p);
	CHECK_EQ_INT(count_lines(text), 2);
	la = line_with(text, ";" AT("path_a"), &ba);
	lb = line_with(text, ";" AT("path_b"), &bb);
	CHECK(la && lb);
	CHECK_EQ_U64(ba, 150);
	CHECK_EQ_U64(bb, 7);
	/* comm first (';' and ' ' made '_'), outermost on, innermost last */
	CHECK(starts(text, "my_app_x;"));
	CHECK(strstr(text, ";" AT("middle")));
	CHECK(strstr(text, MAIN));
	CHECK(strstr(text, ";_start;") && strstr(text, ";_start;") < strstr(text, MAIN));
	CHECK(strstr(text, MAIN) < strstr(text, ";" AT("path_a")));
	CHECK(strstr(text, ";" AT("path_a")) < strstr(text, ";" AT("middle")));
	inner = la ? strstr(la, ";" CAPTURE_AT) : NULL;
	CHECK(inner && inner < strchr(la, '\n'));
	CHECK(lines_sorted(text));
	free(text);
	teardown(&x);
	free(a);
	free(b);
}

TEST(empty_comm_and_nothing_sampled)
{
	struct fixture x;
	struct mt_stack_sample *a = take(path_a, 9, 0);
	char *text;
	struct stackprof_func *v;

	REQUIRE(setup(&x, false));
	text = folded(x.p);
	CHECK_STREQ(text, "");
	free(text);
	CHECK_EQ_INT(stackprof_top(x.p, &v), 0);
	free(v);
	memset(a->comm, 0, sizeof(a->comm));
	stackprof_on_sample(x.p, a);
	text = folded(x.p);
	CHECK(starts(text, "?;"));
	CHECK(strstr(text, " 9\n"));
	free(text);
	teardown(&x);
	free(a);
}

TEST(top_self_and_total)
{
	struct fixture x;
	struct mt_stack_sample *a = take(path_a, 100, 0), *b = take(path_b, 7, 0);
	struct mt_stack_sample *r = take(path_rec, 1000, 0);
	struct stackprof_func *v;
	const struct stackprof_func *f;
	size_t n;
	struct text t;
	char *sum;

	REQUIRE(setup(&x, false));
	stackprof_on_sample(x.p, a);
	stackprof_on_sample(x.p, b);
	stackprof_on_sample(x.p, r);
	CHECK_EQ_U64(stackprof_total(x.p), 1107);
	n = stackprof_top(x.p, &v);
	REQUIRE(n > 5);
	/* the innermost frame: all of it self; a function is counted whole, whatever its lines */
	CHECK_STREQ(v[0].text, "capture (selfsample.h)");
	CHECK_EQ_U64(v[0].self, 1107);
	CHECK_EQ_U64(v[0].total, 1107);
	CHECK_EQ_U64(v[1].self, 0);
	f = func(v, n, "middle");
	CHECK(f && f->self == 0 && f->total == 1107);
	f = func(v, n, "path_a");
	CHECK(f && f->self == 0 && f->total == 100);
	f = func(v, n, "path_b");
	CHECK(f && f->self == 0 && f->total == 7);
	f = func(v, n, "main");
	CHECK(f && f->total == 1107);
	/*
	 * rec(2) and rec(1) are one frame (the line of the recursive call), rec(0) another (the
	 * line of its call of middle), all one function: counted once
	 */
	unsigned recs = 0;

	for (size_t i = 0; i < n; i++) {
		if (!named(v[i].text, "rec"))
			continue;
		recs++;
		CHECK_EQ_U64(v[i].self, 0);
		CHECK_EQ_U64(v[i].total, 1000);
	}
	CHECK_EQ_INT(recs, 1);
	/* sorted by self, then total */
	for (size_t i = 1; i < n; i++)
		CHECK(v[i - 1].self > v[i].self ||
		      (v[i - 1].self == v[i].self && v[i - 1].total >= v[i].total));
	free(v);

	stackprof_summary(x.p, text_open(&t), 3);
	sum = text_close(&t);
	CHECK(strstr(sum, "3 samples standing for "));
	CHECK(strstr(sum, "100.0 % unwound to where the thread started"));
	CHECK(strstr(sum, "Functions that grew memory most"));
	CHECK(strstr(sum, "  " "capture (selfsample.h)" "\n"));
	/* only functions with self bytes */
	CHECK(!strstr(sum, "  middle ("));
	CHECK(!strstr(sum, "mixed with their Python frames"));
	free(sum);
	teardown(&x);
	free(a);
	free(b);
	free(r);
}

static char *oom_report(struct mt_stackprof *p, uint32_t victim, uint32_t trigger)
{
	struct text t;

	stackprof_oom(p, text_open(&t), victim, trigger);
	return text_close(&t);
}

TEST(oom_stacks)
{
	struct fixture x;
	uint32_t self = (uint32_t)getpid();
	struct mt_stack_sample *a = take(path_a, 100, 0), *b = take(path_b, 0, MT_STKF_OOM);
	char *text;

	REQUIRE(setup(&x, false));
	/* nothing sampled yet */
	text = oom_report(x.p, self, self);
	CHECK_STREQ(text, "  no stack of it was sampled\n");
	free(text);

	stackprof_on_sample(x.p, a);
	/* the trigger killed without a stack at the failed allocation: its last growth */
	text = oom_report(x.p, self, self);
	CHECK(starts(text, "  its stack at its last sampled growth:\n    #0  " CAPTURE_AT));
	CHECK(strstr(text, "\n    #2  " AT("path_a")));
	free(text);

	stackprof_on_sample(x.p, b);
	/* not accounted: no growth */
	CHECK_EQ_U64(stackprof_total(x.p), 100);
	text = folded(x.p);
	CHECK_EQ_INT(count_lines(text), 1);
	CHECK(!strstr(text, "path_b"));
	free(text);

	text = oom_report(x.p, self, self);
	CHECK(starts(text, "  its stack at the allocation that could not be served:\n"
			   "    #0  " CAPTURE_AT));
	CHECK(strstr(text, "\n    #1  " AT("middle")));
	CHECK(strstr(text, "\n    #2  " AT("path_b")));
	CHECK(strstr(text, "\n    #3  " AT("take")));
	CHECK(!strstr(text, "path_a"));
	free(text);

	/* a victim other than the trigger: its last growth */
	text = oom_report(x.p, self, self + 1);
	CHECK(starts(text, "  its stack at its last sampled growth:\n"));
	CHECK(strstr(text, "\n    #2  " AT("path_a")));
	CHECK(!strstr(text, "path_b"));
	free(text);

	/* a process never sampled */
	text = oom_report(x.p, self + 1, self + 1);
	CHECK_STREQ(text, "  no stack of it was sampled\n");
	free(text);

	/* once it has left, nothing is kept of it */
	stackprof_exited(x.p, self);
	text = oom_report(x.p, self, self);
	CHECK_STREQ(text, "  no stack of it was sampled\n");
	free(text);
	CHECK_EQ_U64(stackprof_total(x.p), 100);
	teardown(&x);
	free(a);
	free(b);
}

/* ---- --python: native stacks held for their Python sample ---- */

/* code unit i on line first + i (no columns: kind 13, one unit each), as test_pyprof.c */
static void code(struct mt_pyprof *p, uint64_t addr, uint32_t ident, const char *file,
		 const char *name, int first, unsigned units)
{
	static struct mt_py_code c;

	memset(&c, 0, sizeof(c));
	c.type = MT_EV_PY_CODE;
	c.pid = (uint32_t)getpid();
	c.code = addr;
	c.ident = ident;
	c.firstlineno = first;
	c.file_kind = c.name_kind = 1;
	c.file_len = (uint32_t)strlen(file);
	c.name_len = (uint32_t)strlen(name);
	memcpy(c.file, file, c.file_len);
	memcpy(c.name, name, c.name_len);
	c.linetable_len = 2 * units;
	for (unsigned i = 0; i < units; i++) {
		c.linetable[2 * i] = 0x80 | (13 << 3);
		c.linetable[2 * i + 1] = i ? 2 : 0;
	}
	pyprof_on_code(p, &c);
}

/* app.py: <module> line 6 calls f, line 5 of f calls g, g at line 3 */
static void app_codes(struct mt_pyprof *p)
{
	code(p, 0x1000, 1, "app.py", "<module>", 1, 6);
	code(p, 0x2000, 2, "app.py", "f", 4, 2);
	code(p, 0x3000, 3, "app.py", "g", 2, 2);
}

static struct mt_py_sample *py_sample(uint32_t tid, uint32_t seq, uint64_t entries)
{
	struct mt_py_sample *e = calloc(1, sizeof(*e));
	static const struct mt_py_frame frames[] = {
		{ 0x3000, 3, 1 }, { 0x2000, 2, 1 }, { 0x1000, 1, 5 } };

	if (!e)
		abort();
	e->type = MT_EV_PY_SAMPLE;
	e->pid = (uint32_t)getpid();
	e->tid = tid;
	e->stack_seq = seq;
	e->entries = entries;
	e->delta_anon = 4096;
	e->depth = 3;
	memcpy(e->frames, frames, sizeof(frames));
	return e;
}

TEST(python_frames_in_place_of_the_eval_loop)
{
	struct fixture x;
	struct mt_stack_sample *e = take(path_eval, 4096, MT_STKF_PYTHON);
	/* g and f run by the inner call of the eval loop, <module> by the outer */
	struct mt_py_sample *py = py_sample(0, 7, 1u << 1 | 1u << 2);
	struct text t;
	char *text, *sum;
	uint64_t bytes = 0;

	REQUIRE(setup(&x, true));
	app_codes(x.py);
	e->seq = 7;
	py->tid = e->tid;
	stackprof_on_sample(x.p, e);
	/* held until its Python sample */
	CHECK_EQ_U64(stackprof_total(x.p), 0);
	/* not its own: another seq, another thread, none */
	py->stack_seq = 8;
	stackprof_on_py_sample(x.p, py);
	py->stack_seq = 7;
	py->tid = e->tid + 1;
	stackprof_on_py_sample(x.p, py);
	py->tid = e->tid;
	py->stack_seq = 0;
	stackprof_on_py_sample(x.p, py);
	CHECK_EQ_U64(stackprof_total(x.p), 0);

	py->stack_seq = 7;
	stackprof_on_py_sample(x.p, py);
	CHECK_EQ_U64(stackprof_total(x.p), 4096);
	/* accounted once */
	stackprof_on_py_sample(x.p, py);
	stackprof_flush(x.p);
	CHECK_EQ_U64(stackprof_total(x.p), 4096);

	text = folded(x.p);
	CHECK_EQ_INT(count_lines(text), 1);
	CHECK(line_with(text, ";", &bytes) && bytes == 4096);
	CHECK(!strstr(text, "_PyEval_EvalFrameDefault"));
	CHECK(strstr(text, ";" AT("path_eval")));
	CHECK(strstr(text, ";<module> (app.py:6);" AT("py_call")));
	CHECK(strstr(text, ";" AT("py_call")));
	CHECK(strstr(text, ";f (app.py:5);g (app.py:3);" AT("middle")));
	CHECK(strstr(text, ";path_eval (") < strstr(text, ";<module> ("));
	if (!strstr(text, ";f (app.py:5);g (app.py:3);" AT("middle")))
		fprintf(ut_out, "%s", text);
	free(text);

	stackprof_summary(x.p, text_open(&t), 10);
	sum = text_close(&t);
	CHECK(strstr(sum, "1 stacks mixed with their Python frames, 0 without"));
	free(sum);
	teardown(&x);
	free(e);
	free(py);
}

TEST(python_frames_past_the_native_unwinding_outermost)
{
	struct fixture x;
	/* no eval loop on the native stack (it stopped short of it): Python's frames go outside */
	struct mt_stack_sample *e = take(path_a, 10, MT_STKF_PYTHON);
	struct mt_py_sample *py = py_sample(0, 5, 1u << 2);
	char *text;

	REQUIRE(setup(&x, true));
	app_codes(x.py);
	py->frames[2].code = 0x9000; /* never captured */
	e->seq = 5;
	py->tid = e->tid;
	stackprof_on_sample(x.p, e);
	stackprof_on_py_sample(x.p, py);
	CHECK_EQ_U64(stackprof_total(x.p), 10);
	text = folded(x.p);
	CHECK(starts(text, "my_app_x;[code 0x9000 not captured];f (app.py:5);g (app.py:3);_start;"));
	free(text);
	teardown(&x);
	free(e);
	free(py);
}

TEST(held_stacks_accounted_native_alone)
{
	struct fixture x;
	struct mt_stack_sample *e = take(path_eval, 1, MT_STKF_PYTHON);
	struct mt_py_sample *py = py_sample(0, 3, 1u << 2);
	struct text t;
	char *text, *sum;

	REQUIRE(setup(&x, true));
	app_codes(x.py);
	py->tid = e->tid;
	/* its Python sample lost: accounted at the flush */
	e->seq = 1;
	stackprof_on_sample(x.p, e);
	CHECK_EQ_U64(stackprof_total(x.p), 0);
	stackprof_flush(x.p);
	CHECK_EQ_U64(stackprof_total(x.p), 1);
	text = folded(x.p);
	CHECK(strstr(text, ";" AT("_PyEval_EvalFrameDefault")));
	CHECK(!strstr(text, "app.py"));
	free(text);
	stackprof_flush(x.p);
	CHECK_EQ_U64(stackprof_total(x.p), 1);

	/* more held than there is room for: the first ones let go */
	for (uint32_t i = 0; i < 65; i++) {
		e->seq = 100 + i;
		e->weight_bytes = 2;
		stackprof_on_sample(x.p, e);
	}
	CHECK_EQ_U64(stackprof_total(x.p), 1 + 64 * 2);
	/* the last one is still held: its Python sample mixes it */
	py->stack_seq = 164;
	stackprof_on_py_sample(x.p, py);
	CHECK_EQ_U64(stackprof_total(x.p), 1 + 65 * 2);

	/* held when its process leaves: accounted then */
	e->seq = 9;
	e->weight_bytes = 1000;
	stackprof_on_sample(x.p, e);
	stackprof_exited(x.p, e->pid);
	CHECK_EQ_U64(stackprof_total(x.p), 1131);
	py->stack_seq = 9;
	stackprof_on_py_sample(x.p, py);
	stackprof_flush(x.p);
	CHECK_EQ_U64(stackprof_total(x.p), 1131);

	stackprof_summary(x.p, text_open(&t), 10);
	sum = text_close(&t);
	CHECK(strstr(sum, "67 samples standing for "));
	CHECK(strstr(sum, "1 stacks mixed with their Python frames, 66 without"));
	free(sum);
	teardown(&x);
	free(e);
	free(py);
}

TEST(python_flag_without_pyprof_accounted_at_once)
{
	struct fixture x;
	struct mt_stack_sample *e = take(path_eval, 5, MT_STKF_PYTHON);

	REQUIRE(setup(&x, false));
	e->seq = 1;
	stackprof_on_sample(x.p, e);
	CHECK_EQ_U64(stackprof_total(x.p), 5);
	stackprof_flush(x.p);
	CHECK_EQ_U64(stackprof_total(x.p), 5);
	teardown(&x);
	free(e);
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(folded_stacks_merged_sorted),
		UT(empty_comm_and_nothing_sampled),
		UT(top_self_and_total),
		UT(oom_stacks),
		UT(python_frames_in_place_of_the_eval_loop),
		UT(python_frames_past_the_native_unwinding_outermost),
		UT(held_stacks_accounted_native_alone),
		UT(python_flag_without_pyprof_accounted_at_once),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
