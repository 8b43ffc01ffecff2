// SPDX-License-Identifier: GPL-2.0
/*
 * user/text.c: untrusted names made safe for a terminal line (SPEC: process names are untrusted
 * input) and command lines quoted so that a shell gives the same words back.
 */
#include <string.h>
#include "text.h"
#include "unit.h"

static const char *esc(const char *in)
{
	static char out[256];

	mt_escape_terminal(in, out, sizeof(out));
	return out;
}

static const char *quote(char *const argv[])
{
	static char out[512];

	mt_shell_quote_argv(argv, out, sizeof(out));
	return out;
}

TEST(terminal_keeps_plain_and_utf8_text)
{
	CHECK_STREQ(esc("python3 -c 'x'"), "python3 -c 'x'");
	CHECK_STREQ(esc("caf\xc3\xa9 \xe2\x96\x81\xe2\x96\x88"), "caf\xc3\xa9 \xe2\x96\x81\xe2\x96\x88");
	CHECK_STREQ(esc("\xf0\x9f\x90\x8d"), "\xf0\x9f\x90\x8d");
	CHECK_STREQ(esc(""), "");
}

TEST(terminal_escapes_control_bytes)
{
	/* the hostile name of the report: clear the screen, go red, a newline */
	CHECK_STREQ(esc("\x1b[2J\x1b[31mEVIL\n"), "\\x1b[2J\\x1b[31mEVIL\\x0a");
	CHECK_STREQ(esc("a\tb\rc\x7f"), "a\\x09b\\x0dc\\x7f");
	/* a backslash stays: a shell-quoted line ($'\x1b') reads as written */
	CHECK_STREQ(esc("$'\\x1b'"), "$'\\x1b'");
}

TEST(terminal_escapes_c1_and_malformed_utf8)
{
	/* U+009B (CSI in 8-bit terminals), encoded and raw */
	CHECK_STREQ(esc("\xc2\x9b" "2J"), "\\xc2\\x9b2J");
	CHECK_STREQ(esc("\x9b" "2J"), "\\x9b2J");
	/* overlong '/', a surrogate, a lone continuation byte, a cut sequence */
	CHECK_STREQ(esc("\xc0\xaf"), "\\xc0\\xaf");
	CHECK_STREQ(esc("\xed\xa0\x80"), "\\xed\\xa0\\x80");
	CHECK_STREQ(esc("\x80x"), "\\x80x");
	CHECK_STREQ(esc("\xe2\x96"), "\\xe2\\x96");
}

TEST(terminal_cuts_at_a_whole_character)
{
	char out[6];

	CHECK_EQ_U64(mt_escape_terminal("ab\x1b", out, sizeof(out)), 2);
	CHECK_STREQ(out, "ab");
	CHECK_EQ_U64(mt_escape_terminal("abcd\xc3\xa9", out, sizeof(out)), 4);
	CHECK_STREQ(out, "abcd");
	CHECK_EQ_U64(mt_escape_terminal("anything", out, 1), 0);
	CHECK_STREQ(out, "");
}

TEST(shell_quotes_only_what_needs_it)
{
	char *plain[] = { "python3", "-m", "x.y", "--n=10", "a,b:c@d%e+f", NULL };
	char *spaces[] = { "python3", "-c", "sum([i for i in range(10**9)])", NULL };
	char *empty[] = { "echo", "", "x y", NULL };

	CHECK_STREQ(quote(plain), "python3 -m x.y --n=10 a,b:c@d%e+f");
	CHECK_STREQ(quote(spaces), "python3 -c 'sum([i for i in range(10**9)])'");
	CHECK_STREQ(quote(empty), "echo '' 'x y'");
}

TEST(shell_quotes_quotes_and_specials)
{
	char *quotes[] = { "sh", "-c", "echo 'hi' $HOME; ls *", NULL };
	char *utf8[] = { "touch", "caf\xc3\xa9", NULL };

	CHECK_STREQ(quote(quotes), "sh -c 'echo '\\''hi'\\'' $HOME; ls *'");
	CHECK_STREQ(quote(utf8), "touch 'caf\xc3\xa9'");
}

TEST(shell_uses_ansi_c_quoting_for_control_bytes)
{
	char *ctl[] = { "printf", "a\nb\t'\\\x1b", NULL };
	char *bad[] = { "cat", "\xff\xfe", NULL };

	CHECK_STREQ(quote(ctl), "printf $'a\\nb\\t\\'\\\\\\x1b'");
	CHECK_STREQ(quote(bad), "cat $'\\xff\\xfe'");
}

TEST(shell_line_that_does_not_fit_ends_in_dots)
{
	char *argv[] = { "command", "with-a-long-argument", NULL };
	char out[16];

	mt_shell_quote_argv(argv, out, sizeof(out));
	CHECK_STREQ(out, "command ...");
	mt_shell_quote_argv(argv, out, 3);
	CHECK_STREQ(out, "");
}

TEST(shell_quotes_packed_words)
{
	/* /proc/PID/cmdline: each word ends in NUL */
	static const char cmdline[] = "python3\0-c\0print('x y')\0";
	char out[64];

	mt_shell_quote_packed(cmdline, sizeof(cmdline) - 1, out, sizeof(out));
	CHECK_STREQ(out, "python3 -c 'print('\\''x y'\\'')'");
	/* a last word without its NUL (cut short by the reader) */
	mt_shell_quote_packed("ls\0-l", 5, out, sizeof(out));
	CHECK_STREQ(out, "ls -l");
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(terminal_keeps_plain_and_utf8_text),
		UT(terminal_escapes_control_bytes),
		UT(terminal_escapes_c1_and_malformed_utf8),
		UT(terminal_cuts_at_a_whole_character),
		UT(shell_quotes_only_what_needs_it),
		UT(shell_quotes_quotes_and_specials),
		UT(shell_uses_ansi_c_quoting_for_control_bytes),
		UT(shell_line_that_does_not_fit_ends_in_dots),
		UT(shell_quotes_packed_words),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
