/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Whether a process runs CPython, and where in it the interpreter's globals are: what --python
 * gives the BPF side (struct mt_py_proc) before it can walk the process's Python frames.
 */
#ifndef MT_PYFIND_H
#define MT_PYFIND_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "elfsym.h"
#include "procfs.h"

#define PYFIND_IMAGE_LEN 4096

struct py_found {
	pid_t pid;
	unsigned major, minor, micro;
	char path[PATH_MAX]; /* the file holding the interpreter, as the process names it */
	uint64_t runtime_addr;	 /* _PyRuntime in the process */
	uint64_t code_type_addr; /* PyCode_Type in the process */
	/*
	 * 3.13+: the start of _PyRuntime as the file holds it, before the process runs: its
	 * _Py_DebugOffsets (the "xdebugpy" cookie, then the offsets of this build). Read from the
	 * file, not the process, so it is known before the interpreter has started.
	 */
	uint8_t runtime_image[PYFIND_IMAGE_LEN];
	size_t runtime_image_len; /* 0 before 3.13 */
	/*
	 * The process maps the very libc.so.6 file this process does, so glibc's struct pthread
	 * layout measured here holds there too (not in a container with another glibc).
	 */
	bool same_libc;
};

/*
 * Look at process pid. Returns
 *	1	it runs CPython 3.11+: *out filled;
 *	0	it does not run CPython (or is gone);
 *	-EAGAIN	its executable needs a libpython3.X that is not mapped yet: the dynamic linker has
 *		not run, ask again soon;
 *	-1	it runs CPython but cannot be followed (a version before 3.11, a symbol missing, a
 *		file unreadable).
 * why says what was found or what failed, for every result.
 */
int pyfind_process(pid_t pid, struct py_found *out, char *why, size_t why_len);

/* ---- internal, exposed for the tests ---- */

enum pyfind_where {
	PYFIND_NOT_PYTHON,
	PYFIND_IN_LIBRARY, /* maps[*lib] is a mapping of libpython3.X */
	PYFIND_IN_EXE,	   /* the executable defines _PyRuntime */
	PYFIND_NOT_LOADED, /* the executable needs libpython3.X, not mapped yet */
};

/*
 * Where the interpreter of a process is, from its mappings and its executable (NULL when that
 * cannot be read). With PYFIND_NOT_LOADED, the library's name goes in needed.
 */
enum pyfind_where pyfind_decide(const struct procfs_map *maps, size_t n, struct elfsym_file *exe,
				size_t *lib, char *needed, size_t needed_len);

/* Whether a file name (a path's last part) is libpython3.X's (libpython3.11.so.1.0,
 * libpython3.13t.so, not libpython3.so); its minor version in *minor. */
bool pyfind_libpython_name(const char *name, unsigned *minor);

#endif
