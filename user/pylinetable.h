/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What --python needs from a code object captured by the BPF side (struct mt_py_code): the
 * line of an instruction, read from the code object's location table (co_linetable, the
 * CPython 3.11+ format), and its names made UTF-8. Pure functions: no I/O, no allocation.
 *
 * The table may be truncated (MT_PYC_LINETABLE_TRUNCATED): what it does not cover has no
 * line, it is never guessed.
 */
#ifndef MT_PYLINETABLE_H
#define MT_PYLINETABLE_H

#include <stddef.h>
#include <stdint.h>

/*
 * The line of the instruction at code-unit index lasti (the frame's instruction index, in
 * 2-byte units), lines counted from firstlineno (co_firstlineno). -1 if lasti is negative or
 * past what the table covers, or if the instruction has no line (an artificial instruction).
 */
int py_line_of(const uint8_t *table, size_t len, int firstlineno, int lasti);

/*
 * The smallest and largest line any instruction of the table has, in *first and *last.
 * Returns 0, or -1 (first and last untouched) if no instruction has a line.
 */
int py_line_span(const uint8_t *table, size_t len, int firstlineno, int *first, int *last);

/*
 * CPython compact string data (kind 1: latin-1 or ASCII, 2: UCS-2, 4: UCS-4, native byte
 * order; nbytes of it) as UTF-8 in out, always NUL-terminated when outlen > 0. Cut at a whole
 * character when out is short, and at the first U+0000 (out is a C string); a surrogate or a
 * value past U+10FFFF becomes U+FFFD; an unknown kind gives "". Returns the bytes written,
 * without the NUL.
 */
size_t py_text_utf8(unsigned kind, const void *data, size_t nbytes, char *out, size_t outlen);

#endif
