// SPDX-License-Identifier: GPL-2.0
/*
 * --python's accounts on synthetic records: a growth on the innermost line, the callers'
 * lines charged what ran under them (once per change, even when a line is on the stack twice),
 * a release, a code object reused at one address, the stack kept for an OOM report, a line
 * past a cut table shown as unknown, and the folded stacks root first. The source files are
 * real files the reports quote, read through the directory descriptors a process would give.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pyreport.h"
#include "unit.h"

#define MIB (1024ULL * 1024)

/* A location table: code unit i on line first + i (no columns: kind 13, one unit each). */
static void table_one_line_per_unit(struct mt_py_code *c, unsigned units)
{
	c->linetable_len = 2 * units;
	for (unsigned i = 0; i < units; i++) {
		c->linetable[2 * i] = 0x80 | (13 << 3);
		c->linetable[2 * i + 1] = i ? 2 : 0; /* svarint +1 (+0 for the first) */
	}
}

static void code(struct mt_pyprof *p, uint64_t addr, uint32_t ident, const char *file,
		 const char *name, int first, unsigned units)
{
	static struct mt_py_code c;

	memset(&c, 0, sizeof(c));
	c.type = MT_EV_PY_CODE;
	c.pid = 100;
	c.code = addr;
	c.ident = ident;
	c.firstlineno = first;
	c.file_kind = c.name_kind = 1;
	c.file_len = (uint32_t)strlen(file);
	c.name_len = (uint32_t)strlen(name);
	memcpy(c.file, file, c.file_len);
	memcpy(c.name, name, c.name_len);
	table_one_line_per_unit(&c, units);
	pyprof_on_code(p, &c);
}

/* A change of anon bytes under a stack given innermost first as (code, ident, lasti). */
static void sample(struct mt_pyprof *p, int64_t anon, uint64_t rss, uint32_t flags, unsigned depth,
		   const struct mt_py_frame *frames)
{
	static struct mt_py_sample e;

	memset(&e, 0, sizeof(e));
	e.type = MT_EV_PY_SAMPLE;
	e.pid = 100;
	e.flags = flags;
	e.delta_anon = anon;
	e.rss_bytes = rss;
	e.depth = depth;
	memcpy(e.frames, frames, depth * sizeof(*frames));
	pyprof_on_sample(p, &e);
}

static char *report(struct mt_pyprof *p, int (*write)(struct mt_pyprof *, FILE *))
{
	static char buf[1 << 16];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	if (!f)
		abort();
	CHECK_EQ_INT(write(p, f), 0);
	fclose(f);
	return buf;
}

static char dir[] = "/tmp/test_pyprof.XXXXXX";

/* /tmp/.../app.py, 6 lines; the process's root is / and its working directory that dir */
static struct mt_pyprof *with_app(void)
{
	char path[256];
	FILE *f;
	struct mt_pyprof *p = pyprof_new();

	snprintf(path, sizeof(path), "%s/app.py", dir);
	f = fopen(path, "w");
	fputs("import sys\ndef g():\n    return bytearray(9)\ndef f():\n    return g()\nx = f()\n", f);
	fclose(f);
	pyprof_process(p, 100, "python3", "3.11.2", open("/", O_PATH | O_DIRECTORY),
		       open(dir, O_PATH | O_DIRECTORY));
	code(p, 0x1000, 1, "app.py", "<module>", 1, 6); /* lasti i: line 1 + i */
	code(p, 0x2000, 2, "app.py", "f", 4, 2);
	code(p, 0x3000, 3, "app.py", "g", 2, 2);
	return p;
}

TEST(growth_on_its_line_callers_inclusive)
{
	struct mt_pyprof *p = with_app();
	const struct mt_py_frame stack[] = { { 0x3000, 3, 1 }, { 0x2000, 2, 1 }, { 0x1000, 1, 5 } };
	char *text;

	CHECK_EQ_INT(pyprof_processes(p), 1);
	for (int i = 0; i < 10; i++)
		sample(p, (int64_t)(10 * MIB), (20 + 10 * (uint64_t)i) * MIB, 0, 3, stack);
	sample(p, -(int64_t)(30 * MIB), 90 * MIB, 0, 3, stack);
	text = report(p, pyreport_lines);
	CHECK(strstr(text, "Process 100 (python3), CPython 3.11.2"));
	/* g's line 3: 100 MiB grown, 30 released, net 70, peak 110, 11 changes, quoted */
	CHECK(strstr(text, "     3  110.000 MiB   70.000 MiB           11  100.000 MiB   30.000 MiB"
			   "       return bytearray(9)"));
	/* its callers: the same, as memory_profiler counts a call's line */
	CHECK(strstr(text, "     5  110.000 MiB   70.000 MiB           11"));
	CHECK(strstr(text, "     6  110.000 MiB   70.000 MiB           11"));
	/* lines no change was made on: shown, blank */
	CHECK(strstr(text, "     1                                                                    import sys"));
	text = report(p, pyreport_folded);
	CHECK_STREQ(text, "<module> (app.py:6);f (app.py:5);g (app.py:3) 104857600\n");
	pyprof_free(p);
}

TEST(a_line_twice_on_the_stack_counts_once)
{
	struct mt_pyprof *p = with_app();
	/* a comprehension's frame on its caller's line (3.11): the same file and line */
	const struct mt_py_frame stack[] = { { 0x2000, 2, 1 }, { 0x1000, 1, 4 } };
	char *text;

	code(p, 0x4000, 4, "app.py", "<listcomp>", 5, 1);
	const struct mt_py_frame twice[] = { { 0x4000, 4, 0 }, { 0x2000, 2, 1 }, { 0x1000, 1, 5 } };

	sample(p, (int64_t)MIB, 8 * MIB, 0, 3, twice);
	sample(p, (int64_t)MIB, 9 * MIB, 0, 2, stack);
	text = report(p, pyreport_lines);
	CHECK(strstr(text, "     5    9.000 MiB    2.000 MiB            2    2.000 MiB    0.000 MiB"));
	pyprof_free(p);
}

TEST(code_object_reused_at_an_address_is_another)
{
	struct mt_pyprof *p = with_app();
	const struct mt_py_frame old[] = { { 0x3000, 3, 0 } }, reused[] = { { 0x3000, 9, 0 } };
	char *text;

	code(p, 0x3000, 9, "other.py", "h", 40, 1);
	sample(p, (int64_t)MIB, 5 * MIB, 0, 1, old);
	sample(p, (int64_t)(2 * MIB), 7 * MIB, 0, 1, reused);
	text = report(p, pyreport_folded);
	CHECK(strstr(text, "g (app.py:2) 1048576\n"));
	CHECK(strstr(text, "h (other.py:40) 2097152\n"));
	pyprof_free(p);
}

TEST(outside_python_and_code_not_captured_are_said)
{
	struct mt_pyprof *p = with_app();
	const struct mt_py_frame lost[] = { { 0x9000, 1, 0 } };
	char *text;

	sample(p, (int64_t)MIB, 5 * MIB, MT_PYF_NO_THREAD, 0, NULL);
	sample(p, (int64_t)MIB, 6 * MIB, 0, 1, lost);
	text = report(p, pyreport_folded);
	CHECK(strstr(text, "[outside Python code] 1048576\n"));
	CHECK(strstr(text, "[code 0x9000 not captured] 1048576\n"));
	pyprof_free(p);
}

TEST(line_past_a_cut_table_is_unknown_not_guessed)
{
	struct mt_pyprof *p = with_app();
	const struct mt_py_frame past[] = { { 0x2000, 2, 7 } }; /* f's table has 2 units */
	char *text;

	sample(p, (int64_t)(3 * MIB), 5 * MIB, 0, 1, past);
	text = report(p, pyreport_lines);
	CHECK(strstr(text, "     ?    5.000 MiB    3.000 MiB"));
	CHECK(strstr(text, "(line unknown: its location table was cut)"));
	text = report(p, pyreport_folded);
	CHECK_STREQ(text, "f (app.py:?) 3145728\n");
	pyprof_free(p);
}

TEST(oom_report_takes_the_trigger_stack_else_the_last)
{
	struct mt_pyprof *p = with_app();
	const struct mt_py_frame grow[] = { { 0x3000, 3, 1 }, { 0x1000, 1, 5 } };
	const struct mt_py_frame at_kill[] = { { 0x2000, 2, 1 }, { 0x1000, 1, 5 } };
	char buf[8192];
	FILE *f;

	sample(p, (int64_t)(50 * MIB), 60 * MIB, 0, 2, grow);
	sample(p, 0, 0, MT_PYF_OOM, 2, at_kill);
	f = fmemopen(buf, sizeof(buf), "w");
	pyreport_oom(p, f, 100, 100);
	fclose(f);
	CHECK(strstr(buf, "its Python stack at the allocation that could not be served:\n"
			  "    app.py:5 in f  | return g()\n    app.py:6 in <module>  | x = f()\n"));
	CHECK(strstr(buf, "50.0 MiB  app.py:3  g  | return bytearray(9)"));
	/* killed for another's allocation: its stack at its last change */
	f = fmemopen(buf, sizeof(buf), "w");
	pyreport_oom(p, f, 100, 7);
	fclose(f);
	CHECK(strstr(buf, "its Python stack at its last RSS change:\n    app.py:3 in g"));
	/* not a Python process: nothing */
	f = fmemopen(buf, sizeof(buf), "w");
	pyreport_oom(p, f, 555, 555);
	CHECK_EQ_INT((int)ftell(f), 0);
	fclose(f);
	pyprof_free(p);
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(growth_on_its_line_callers_inclusive),
		UT(a_line_twice_on_the_stack_counts_once),
		UT(code_object_reused_at_an_address_is_another),
		UT(outside_python_and_code_not_captured_are_said),
		UT(line_past_a_cut_table_is_unknown_not_guessed),
		UT(oom_report_takes_the_trigger_stack_else_the_last),
	};
	int status;

	if (!mkdtemp(dir))
		return 1;
	status = ut_run(argc, argv, tests, UT_COUNT(tests));
	char path[256];

	snprintf(path, sizeof(path), "%s/app.py", dir);
	unlink(path);
	rmdir(dir);
	return status;
}
