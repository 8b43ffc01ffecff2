/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Untrusted text (process names, command lines, cgroup names) made safe for where it goes: a
 * line on a terminal, a command line a person can paste back into a shell.
 */
#ifndef MT_TEXT_H
#define MT_TEXT_H

#include <stddef.h>

/* Length of the well-formed UTF-8 character at s (1 for ASCII), 0 if malformed or n is 0. */
size_t mt_utf8_len(const char *s, size_t n);

/*
 * in as one line for a terminal: printable ASCII and well-formed UTF-8 kept; control bytes
 * (escape sequences among them), C1 controls and malformed UTF-8 as \xNN. A backslash stays
 * as it is: a command line already quoted for the shell ($'\x1b') reads as it was written.
 * out always ends in NUL; the text is cut at a whole character when out is short.
 * Returns the length written.
 */
size_t mt_escape_terminal(const char *in, char *out, size_t outlen);

/*
 * argv (NULL-terminated) as a shell command line that gives the same words back: a word of
 * safe characters as it is, others in '...' ('\'' for a quote), and a word holding control
 * bytes or malformed UTF-8 in $'...' with \n, \t, \xNN (bash, zsh, ksh and POSIX.1-2024 sh
 * read it). out always ends in NUL; a line that does not fit ends in "...".
 */
void mt_shell_quote_argv(char *const argv[], char *out, size_t outlen);

/* The same for words packed one after the other, each ending in NUL (as /proc/PID/cmdline). */
void mt_shell_quote_packed(const char *words, size_t len, char *out, size_t outlen);

#endif
