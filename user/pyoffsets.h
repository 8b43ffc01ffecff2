/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where one CPython build keeps what the --python frame walk reads (struct mt_py_offsets), and
 * where glibc keeps a thread's pthread_getspecific data, which is how the walk finds a thread's
 * PyThreadState quickly. Nothing here reads another process: the callers hand over the bytes.
 */
#ifndef MT_PYOFFSETS_H
#define MT_PYOFFSETS_H

#include <stddef.h>
#include <stdint.h>
#include "memtrace.h"

/*
 * The offsets of CPython major.minor as compiled from its headers at build time
 * ($(OUTPUT)/pyoffsets_table.h): 3.11 and 3.12 only, whose interpreters publish none.
 * 0, or -ENOENT (another version, or its headers were not there at build time).
 */
int py_offsets_built(unsigned major, unsigned minor, struct mt_py_offsets *out);

/*
 * 3.13+: the offsets from the _Py_DebugOffsets the interpreter keeps at the start of
 * _PyRuntime. runtime: the first len bytes of _PyRuntime (its initial value in the ELF file,
 * or read from the process). 0, or -EINVAL with the reason in why (not a debug-offsets block,
 * a version whose layout is not known, values out of range).
 */
int py_offsets_from_debug(const void *runtime, size_t len, struct mt_py_offsets *out, char *why,
			  size_t why_len);

/*
 * glibc, x86-64: the offset from a thread's thread pointer (its fs base, what pthread_self()
 * returns) of struct pthread's first block of key data (specific_1stblock, for keys below 32):
 * key k's { seq, data } pair starts at *out + 16 * k, so its data is at *out + 16 * k + 8
 * (mt_py_proc.tss_offset). Found in this process, whose glibc the traced processes on this
 * machine share in the usual case. 0, -ENOENT (not found: not glibc, or no key below 32
 * free), -ENOTSUP (another architecture), or another -errno.
 */
int py_glibc_tss_offset(uint32_t *out);

#endif
