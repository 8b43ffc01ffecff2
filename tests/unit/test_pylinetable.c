// SPDX-License-Identifier: GPL-2.0
/*
 * user/pylinetable.c: lines of Python instructions from CPython 3.11+ location tables, and
 * CPython's string kinds as UTF-8.
 *
 * The tables are not written by hand: real interpreters compile a known source at test time
 * and give each code object's co_linetable and co_firstlineno, and what they themselves say
 * every instruction's line is (dis, co_positions) and the lines co_lines() spans. The decoder
 * must agree with every one. /usr/bin/python3.11 (Debian 12's) is required; the pyenv builds
 * of 3.12 and 3.13 are used when present and reported as skipped when not.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "memtrace.h"
#include "pylinetable.h"
#include "unit.h"

/* the location-table entry codes the hand-made tables use (first byte: 1, code, length - 1) */
#define ENTRY(code, units) ((uint8_t)(0x80 | ((code) << 3) | ((units)-1)))

TEST(hand_made_table_every_form)
{
	static const uint8_t table[] = {
		ENTRY(0, 2), 0x05,		/* short form: units 0-1 on line 10 */
		ENTRY(11, 1), 4, 9,		/* one line, +1: unit 2 on 11 */
		ENTRY(13, 3), 0x40, 0x02,	/* no columns, +64 (svarint 128: two chunks): 3-5 on 75 */
		ENTRY(15, 2),			/* no location: 6-7 have no line */
		ENTRY(14, 1), 0x09, 0, 1, 2,	/* long form, -4: unit 8 on 71 */
		ENTRY(12, 8), 0, 1,		/* one line, +2: 9-16 on 73 */
		ENTRY(10, 1), 0, 1,		/* one line, +0: 17 on 73 */
	};
	static const int want[] = { 10, 10, 11, 75, 75, 75, -1, -1, 71, 73, 73, 73, 73, 73, 73,
				    73, 73, 73 };
	int first = 0, last = 0;

	for (int u = 0; u < (int)UT_COUNT(want); u++) {
		int got = py_line_of(table, sizeof(table), 10, u);

		if (got != want[u])
			ut_fail(__FILE__, __LINE__, "unit %d: line %d, expected %d", u, got,
				want[u]);
	}
	CHECK_EQ_INT(py_line_of(table, sizeof(table), 10, (int)UT_COUNT(want)), -1);
	CHECK_EQ_INT(py_line_of(table, sizeof(table), 10, -1), -1);
	REQUIRE(py_line_span(table, sizeof(table), 10, &first, &last) == 0);
	CHECK_EQ_INT(first, 10);
	CHECK_EQ_INT(last, 75);
}

TEST(hand_made_table_cut_and_broken)
{
	static const uint8_t table[] = { ENTRY(0, 1), 0x05, ENTRY(13, 1), 0x40, 0x02, ENTRY(0, 1),
					 0x00 };
	static const uint8_t none[] = { ENTRY(15, 4), ENTRY(15, 1) };
	static const uint8_t junk[] = { 0x05, 0x06 }; /* no entry start: not a table */
	int first = -7, last = -7;

	/* cut inside the varint of the second entry: its line is not known, nor anything after */
	CHECK_EQ_INT(py_line_of(table, 4, 1, 0), 1);
	CHECK_EQ_INT(py_line_of(table, 4, 1, 1), -1);
	CHECK_EQ_INT(py_line_of(table, 4, 1, 2), -1);
	/* cut after the line delta but before the columns: the line is known */
	CHECK_EQ_INT(py_line_of(table, 6, 1, 2), 65);
	CHECK_EQ_INT(py_line_of(table, sizeof(table), 1, 2), 65);
	CHECK_EQ_INT(py_line_of(table, 0, 1, 0), -1);
	CHECK_EQ_INT(py_line_of(NULL, 0, 1, 0), -1);
	CHECK_EQ_INT(py_line_of(junk, sizeof(junk), 1, 0), -1);

	CHECK_EQ_INT(py_line_span(table, 4, 1, &first, &last), 0);
	CHECK_EQ_INT(first, 1);
	CHECK_EQ_INT(last, 1);
	first = last = -7;
	CHECK_EQ_INT(py_line_span(none, sizeof(none), 1, &first, &last), -1);
	CHECK_EQ_INT(py_line_span(table, 0, 1, &first, &last), -1);
	CHECK_EQ_INT(first, -7);
	CHECK_EQ_INT(last, -7);
}

/*
 * The source: a function longer than 64 lines with lines that have no code, loops that jump
 * back, a comprehension (its own code object in 3.11, inlined from 3.12), gaps of 70 and 100
 * lines (line deltas over 63), an expression over three lines, try/except/finally (code with
 * no line), a lambda, a with block, and a function whose table is longer than the BPF side
 * keeps (MT_PY_LINETABLE_LEN). Python strings use chr(10) so that C and Python quoting do not
 * mix.
 */
static const char snippet[] =
	"import dis, types\n"
	"NL = chr(10)\n"
	"def block(*lines):\n"
	"    return ''.join(line + NL for line in lines)\n"
	"SRC = (block('x = 1', '', '# a comment: no code', '', 'def long_function(n):',\n"
	"             '    total = 0')\n"
	"       + ''.join(block(f'    total += n * {i}') if i % 3 else NL for i in range(90))\n"
	"       + block('    for i in range(n):', '        if i % 2:', '            continue',\n"
	"               '        total += i', '    while total > 100:', '        total -= 7',\n"
	"               '    squares = [j * j for j in range(n)', '               if j % 3]',\n"
	"               '    total += sum(squares)')\n"
	"       + NL * 70\n"
	"       + block('    total += (1 +', '              2 +', '              3)',\n"
	"               '    return total', '', 'def after_gap(a):')\n"
	"       + NL * 100\n"
	"       + block('    return {k: v for k, v in zip(a, a)}', '', 'class C:',\n"
	"               '    def method(self):', '        try:', '            return 1 / 0',\n"
	"               '        except ZeroDivisionError as e:', '            return str(e)',\n"
	"               '        finally:', '            print(1)', '', 'def huge(v):')\n"
	"       + ''.join(block(f'    v = v * 3 + {i}') for i in range(400))\n"
	"       + block('    return v', 'g = (lambda q: q + 1)(2)',\n"
	"               'with open(\"/dev/null\") as f:', '    pass'))\n"
	"def walk(co):\n"
	"    yield co\n"
	"    for c in co.co_consts:\n"
	"        if isinstance(c, types.CodeType):\n"
	"            yield from walk(c)\n"
	"for co in walk(compile(SRC, 'snippet.py', 'exec')):\n"
	"    print('code', co.co_qualname, co.co_firstlineno, len(co.co_code) // 2,\n"
	"          co.co_linetable.hex() or '-')\n"
	"    for ins in dis.get_instructions(co):\n"
	"        line = ins.positions.lineno\n"
	"        print('i', ins.offset // 2, -1 if line is None else line)\n"
	"    for unit, pos in enumerate(co.co_positions()):\n"
	"        print('u', unit, -1 if pos[0] is None else pos[0])\n"
	"    lines = [line for _s, _e, line in co.co_lines() if line is not None]\n"
	"    print('span', min(lines), max(lines)) if lines else print('span none')\n"
	"    print('end')\n";

struct code_seen {
	char name[128];
	int firstlineno, units;
	uint8_t *table;
	size_t len;
	int *line; /* by code unit, from co_positions */
	bool *has; /* which units co_positions gave */
};

struct run_totals {
	int codes, instructions, no_line, big_gap, back, truncated;
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool unhex(const char *hex, uint8_t **out, size_t *len)
{
	size_t n = strlen(hex);

	*out = NULL;
	*len = 0;
	if (!strcmp(hex, "-"))
		return true;
	if (n % 2)
		return false;
	*out = malloc(n / 2);
	if (!*out)
		return false;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		(*out)[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return true;
}

/*
 * The table cut to cut bytes, against what the interpreter said of the whole one: a unit of
 * an entry the cut leaves whole keeps its line, a unit past the last entry begun has none,
 * and a unit of the entry cut in two has its line or none. Entry boundaries are found by bit
 * 7 alone, without the decoder.
 */
static void check_cut(const char *python, const struct code_seen *c, size_t cut)
{
	int whole_end = 0, begun_end = 0;

	for (size_t i = 0; i < c->len; i++) {
		if (!(c->table[i] & 0x80))
			continue;
		if (i < cut) {
			whole_end = begun_end;
			begun_end += (c->table[i] & 7) + 1;
		}
		if (i == cut)
			whole_end = begun_end;
	}
	if (cut >= c->len)
		whole_end = begun_end;
	for (int u = 0; u < c->units + 8; u++) {
		int got = py_line_of(c->table, cut, c->firstlineno, u);
		int full = u < c->units && c->has[u] ? c->line[u] : -1;

		if (u < whole_end ? got != full : u >= begun_end ? got != -1 : got != full && got != -1)
			ut_fail(__FILE__, __LINE__,
				"%s: %s cut to %zu of %zu bytes: unit %d: line %d, interpreter says %d",
				python, c->name, cut, c->len, u, got, full);
	}
}

static void check_code_end(const char *python, struct code_seen *c, struct run_totals *t)
{
	int prev = -1;

	t->codes++;
	for (int u = 0; u < c->units; u++) {
		int got;

		if (!c->has[u]) {
			ut_fail(__FILE__, __LINE__, "%s: %s: co_positions gave no unit %d", python,
				c->name, u);
			continue;
		}
		got = py_line_of(c->table, c->len, c->firstlineno, u);
		if (got != c->line[u])
			ut_fail(__FILE__, __LINE__, "%s: %s: unit %d: line %d, co_positions says %d",
				python, c->name, u, got, c->line[u]);
		if (c->line[u] < 0) {
			t->no_line++;
			continue;
		}
		if (prev >= 0 && c->line[u] - prev > 63)
			t->big_gap++;
		if (prev >= 0 && c->line[u] < prev)
			t->back++;
		prev = c->line[u];
	}
	/* past the end of the code: nothing */
	CHECK_EQ_INT(py_line_of(c->table, c->len, c->firstlineno, c->units), -1);
	CHECK_EQ_INT(py_line_of(c->table, c->len, c->firstlineno, c->units + 1000), -1);
	CHECK_EQ_INT(py_line_of(c->table, c->len, c->firstlineno, -1), -1);

	if (c->len > MT_PY_LINETABLE_LEN) {
		/* what the BPF side keeps of a long table */
		check_cut(python, c, MT_PY_LINETABLE_LEN);
		t->truncated++;
	}
	if (c->len > 2) {
		check_cut(python, c, c->len / 2);
		check_cut(python, c, c->len / 3 + 1);
		check_cut(python, c, c->len - 1);
		check_cut(python, c, 1);
	}
	check_cut(python, c, 0);
}

static void free_code(struct code_seen *c)
{
	free(c->table);
	free(c->line);
	free(c->has);
	memset(c, 0, sizeof(*c));
}

/* Run python on the snippet and check every code object it reports. */
static void check_interpreter(const char *python, bool required)
{
	char script[] = "/tmp/test_pylinetable.XXXXXX";
	char cmd[512], *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	struct code_seen c = { 0 };
	struct run_totals t = { 0 };
	bool in_code = false;
	FILE *out;
	int fd, status;

	if (access(python, X_OK)) {
		if (required)
			ut_fail(__FILE__, __LINE__, "%s: %s", python, strerror(errno));
		else
			printf("test_pylinetable: SKIP %s: %s (its location tables are not checked)\n",
			       python, strerror(errno));
		return;
	}
	fd = mkstemp(script);
	REQUIRE(fd >= 0);
	REQUIRE(write(fd, snippet, sizeof(snippet) - 1) == (ssize_t)sizeof(snippet) - 1);
	close(fd);
	snprintf(cmd, sizeof(cmd), "'%s' -I '%s'", python, script);
	out = popen(cmd, "r");
	if (!out) {
		unlink(script);
		REQUIRE(out);
	}
	while ((n = getline(&buf, &cap, out)) > 0) {
		char name[128], hex_start;
		int a, b, off;

		if (buf[n - 1] == '\n')
			buf[--n] = '\0';
		if (!strncmp(buf, "code ", 5)) {
			free_code(&c);
			if (sscanf(buf, "code %127s %d %d %n%c", name, &a, &b, &off, &hex_start) != 4 ||
			    b < 0 || !unhex(buf + off, &c.table, &c.len)) {
				ut_fail(__FILE__, __LINE__, "%s: bad line %.80s", python, buf);
				break;
			}
			snprintf(c.name, sizeof(c.name), "%s", name);
			c.firstlineno = a;
			c.units = b;
			c.line = calloc((size_t)b + 1, sizeof(*c.line));
			c.has = calloc((size_t)b + 1, sizeof(*c.has));
			if (!c.line || !c.has)
				break;
			in_code = true;
		} else if (in_code && sscanf(buf, "i %d %d", &a, &b) == 2) {
			int got = py_line_of(c.table, c.len, c.firstlineno, a);

			t.instructions++;
			if (got != b)
				ut_fail(__FILE__, __LINE__,
					"%s: %s: instruction at unit %d: line %d, dis says %d", python,
					c.name, a, got, b);
		} else if (in_code && sscanf(buf, "u %d %d", &a, &b) == 2 && a >= 0 && a < c.units) {
			c.line[a] = b;
			c.has[a] = true;
		} else if (in_code && !strncmp(buf, "span ", 5)) {
			int first = -7, last = -7, rc = py_line_span(c.table, c.len, c.firstlineno,
								    &first, &last);

			if (!strcmp(buf, "span none")) {
				if (rc != -1)
					ut_fail(__FILE__, __LINE__, "%s: %s: a span %d-%d of no lines",
						python, c.name, first, last);
			} else if (sscanf(buf, "span %d %d", &a, &b) != 2 || rc || first != a ||
				   last != b) {
				ut_fail(__FILE__, __LINE__, "%s: %s: span %d-%d (%d), co_lines: %s",
					python, c.name, first, last, rc, buf + 5);
			}
		} else if (in_code && !strcmp(buf, "end")) {
			check_code_end(python, &c, &t);
			in_code = false;
		} else {
			ut_fail(__FILE__, __LINE__, "%s: unexpected line %.80s", python, buf);
			break;
		}
	}
	free(buf);
	free_code(&c);
	status = pclose(out);
	unlink(script);
	CHECK_EQ_INT(status, 0);
	/* the source did give what it is there for */
	CHECK(t.codes >= 6);
	CHECK(t.instructions > 1000);
	CHECK(t.no_line > 0);
	CHECK(t.big_gap >= 2);
	CHECK(t.back > 0);
	CHECK_EQ_INT(t.truncated, 1);
}

TEST(tables_of_python311)
{
	check_interpreter("/usr/bin/python3.11", true);
}

TEST(tables_of_python312)
{
	check_interpreter("/root/.pyenv/versions/3.12.1/bin/python3.12", false);
}

TEST(tables_of_python313)
{
	check_interpreter("/root/.pyenv/versions/3.13.0/bin/python3.13", false);
}

static const char *utf8(unsigned kind, const void *data, size_t nbytes, size_t outlen,
			size_t *written)
{
	static char out[64];

	memset(out, 'Z', sizeof(out));
	*written = py_text_utf8(kind, data, nbytes, out, outlen);
	return out;
}

TEST(text_latin1)
{
	static const uint8_t cafe[] = { 'c', 'a', 'f', 0xe9, '.', 'p', 'y' };
	size_t n;

	CHECK_STREQ(utf8(1, cafe, sizeof(cafe), 64, &n), "caf\xc3\xa9.py");
	CHECK_EQ_U64(n, 8);
	CHECK_STREQ(utf8(1, "main", 4, 64, &n), "main");
	CHECK_EQ_U64(n, 4);
	CHECK_STREQ(utf8(1, "", 0, 64, &n), "");
	CHECK_EQ_U64(n, 0);
}

TEST(text_ucs2_and_ucs4)
{
	static const uint16_t euro[] = { 'f', 0x20ac, 0xe9 };
	static const uint16_t lone_surrogate[] = { 'a', 0xd83d, 'b' };
	static const uint32_t snake[] = { 0x1f40d, '_', 0x20ac };
	static const uint32_t too_big[] = { 0x110000, 'x' };
	size_t n;

	CHECK_STREQ(utf8(2, euro, sizeof(euro), 64, &n), "f\xe2\x82\xac\xc3\xa9");
	CHECK_EQ_U64(n, 6);
	CHECK_STREQ(utf8(4, snake, sizeof(snake), 64, &n), "\xf0\x9f\x90\x8d_\xe2\x82\xac");
	CHECK_EQ_U64(n, 8);
	/* what UTF-8 cannot hold becomes U+FFFD */
	CHECK_STREQ(utf8(2, lone_surrogate, sizeof(lone_surrogate), 64, &n), "a\xef\xbf\xbd" "b");
	CHECK_STREQ(utf8(4, too_big, sizeof(too_big), 64, &n), "\xef\xbf\xbdx");
	/* a copy cut inside a character: the whole ones only */
	CHECK_STREQ(utf8(4, snake, sizeof(snake) - 1, 64, &n), "\xf0\x9f\x90\x8d_");
	CHECK_STREQ(utf8(2, euro, 3, 64, &n), "f");
}

TEST(text_cut_at_a_whole_character)
{
	static const uint32_t snake[] = { 'a', 0x1f40d, 'b' };
	static const uint16_t euro[] = { 0x20ac, 0x20ac };
	static const uint8_t e_acute[] = { 0xe9 };
	static const uint16_t nul[] = { 'a', 0, 'b' };
	size_t n;

	/* room for "a" and the NUL, not the 4 bytes of the snake */
	CHECK_STREQ(utf8(4, snake, sizeof(snake), 5, &n), "a");
	CHECK_EQ_U64(n, 1);
	CHECK_STREQ(utf8(4, snake, sizeof(snake), 6, &n), "a\xf0\x9f\x90\x8d");
	CHECK_EQ_U64(n, 5);
	CHECK_STREQ(utf8(2, euro, sizeof(euro), 6, &n), "\xe2\x82\xac");
	CHECK_EQ_U64(n, 3);
	CHECK_STREQ(utf8(1, e_acute, 1, 2, &n), "");
	CHECK_EQ_U64(n, 0);
	CHECK_STREQ(utf8(1, "ab", 2, 1, &n), "");
	CHECK_EQ_U64(n, 0);
	/* nothing written at all when there is no room for the NUL */
	CHECK(utf8(1, "ab", 2, 0, &n)[0] == 'Z');
	CHECK_EQ_U64(n, 0);
	/* out is a C string: it ends at an embedded NUL */
	CHECK_STREQ(utf8(2, nul, sizeof(nul), 64, &n), "a");
	CHECK_EQ_U64(n, 1);
	CHECK_STREQ(utf8(3, "abc", 3, 64, &n), "");
	CHECK_EQ_U64(n, 0);
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(hand_made_table_every_form),	 UT(hand_made_table_cut_and_broken),
		UT(tables_of_python311),	 UT(tables_of_python312),
		UT(tables_of_python313),	 UT(text_latin1),
		UT(text_ucs2_and_ucs4),		 UT(text_cut_at_a_whole_character),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
