// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pyfind.h"

/* A process's mappings, kept: the interpreter's file is looked up in them several times. */
struct maps {
	struct procfs_map *v;
	size_t n, cap;
	bool oom;
};

static bool keep_map(void *ctx, const struct procfs_map *m)
{
	struct maps *maps = ctx;

	if (maps->n == maps->cap) {
		size_t cap = maps->cap ? maps->cap * 2 : 64;
		struct procfs_map *v = realloc(maps->v, cap * sizeof(*v));

		if (!v)
			goto oom;
		maps->v = v;
		maps->cap = cap;
	}
	maps->v[maps->n] = *m;
	maps->v[maps->n].path = strdup(m->path);
	if (!maps->v[maps->n].path)
		goto oom;
	maps->n++;
	return true;
oom:
	maps->oom = true;
	return false;
}

static void maps_free(struct maps *maps)
{
	for (size_t i = 0; i < maps->n; i++)
		free((char *)maps->v[i].path);
	free(maps->v);
	memset(maps, 0, sizeof(*maps));
}

static int maps_read(int pid, struct maps *maps)
{
	int err = procfs_read_maps(pid, keep_map, maps);

	if (!err && maps->oom)
		err = -ENOMEM;
	if (err)
		maps_free(maps);
	return err;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

bool pyfind_libpython_name(const char *name, unsigned *minor)
{
	const char *p = name + strlen("libpython3.");
	char *end;

	if (strncmp(name, "libpython3.", strlen("libpython3.")) || !isdigit((unsigned char)*p))
		return false;
	unsigned long v = strtoul(p, &end, 10);
	/* ABI flags: d (debug), t (free-threaded), m (pymalloc, before 3.8) */
	while (*end >= 'a' && *end <= 'z')
		end++;
	if (strncmp(end, ".so", 3) || (end[3] && end[3] != '.' && end[3] != ' '))
		return false;
	*minor = (unsigned)v;
	return true;
}

struct needed_ctx {
	char *name;
	size_t len;
	bool found;
};

static bool find_libpython_needed(void *ctx, const char *name)
{
	struct needed_ctx *n = ctx;
	unsigned minor;

	if (!pyfind_libpython_name(base_name(name), &minor))
		return true;
	snprintf(n->name, n->len, "%s", name);
	n->found = true;
	return false;
}

static bool find_libc_needed(void *ctx, const char *name)
{
	struct needed_ctx *n = ctx;

	if (strcmp(base_name(name), "libc.so.6"))
		return true;
	snprintf(n->name, n->len, "%s", name);
	n->found = true;
	return false;
}

/*
 * Caught while the dynamic linker maps the libraries (the exec is seen before it runs): which
 * libc the threads use, and so where glibc keeps their thread-specific data, is not known
 * until libc.so.6 is mapped too.
 */
static bool libc_pending(const struct procfs_map *maps, size_t n, struct elfsym_file *exe,
			 struct needed_ctx *nc)
{
	for (size_t i = 0; i < n; i++)
		if (maps[i].inode && !strcmp(base_name(maps[i].path), "libc.so.6"))
			return false;
	return !elfsym_for_each_needed(exe, find_libc_needed, nc) && nc->found;
}

enum pyfind_where pyfind_decide(const struct procfs_map *maps, size_t n, struct elfsym_file *exe,
				size_t *lib, char *needed, size_t needed_len)
{
	struct needed_ctx nc = { .name = needed, .len = needed_len };
	struct elfsym_sym sym;
	unsigned minor;

	if (needed_len)
		needed[0] = '\0';
	/* a library first: a program that embeds Python (uwsgi, gdb) links or loads it */
	for (size_t i = 0; i < n; i++) {
		if (maps[i].inode && pyfind_libpython_name(base_name(maps[i].path), &minor)) {
			*lib = i;
			return exe && libc_pending(maps, n, exe, &nc) ? PYFIND_NOT_LOADED
								      : PYFIND_IN_LIBRARY;
		}
	}
	if (!exe)
		return PYFIND_NOT_PYTHON;
	if (!elfsym_lookup(exe, "_PyRuntime", &sym))
		return libc_pending(maps, n, exe, &nc) ? PYFIND_NOT_LOADED : PYFIND_IN_EXE;
	/* a process caught between execve and the dynamic linker's mapping of its libraries */
	if (!elfsym_for_each_needed(exe, find_libpython_needed, &nc) && nc.found)
		return PYFIND_NOT_LOADED;
	return PYFIND_NOT_PYTHON;
}

static int __attribute__((format(printf, 4, 5)))
say(int ret, char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
	return ret;
}

static bool same_file(const struct procfs_map *a, const struct procfs_map *b)
{
	return a->inode == b->inode && a->dev_major == b->dev_major && a->dev_minor == b->dev_minor;
}

/*
 * Where the process has the variable at st_value of file (one of its mappings): for ET_DYN, the
 * load bias is where the file's bytes at that point are mapped, less their address in the file.
 */
static int address_in_process(struct elfsym_file *elf, const struct maps *maps,
			      const struct procfs_map *file, uint64_t value, uint64_t *addr)
{
	const struct elfsym_seg *segs, *seg = NULL;
	size_t nr_segs;

	if (elfsym_type(elf) == ET_EXEC) {
		*addr = value;
		return 0;
	}
	if (elfsym_type(elf) != ET_DYN)
		return -EINVAL;
	segs = elfsym_segments(elf, &nr_segs);
	for (size_t i = 0; i < nr_segs && !seg; i++)
		if (value >= segs[i].vaddr && value - segs[i].vaddr < segs[i].memsz)
			seg = &segs[i];
	if (!seg || !seg->filesz)
		return -ENOENT;
	/* past filesz (.bss) nothing of the file is mapped there: anchor on the segment's start */
	uint64_t anchor = value - seg->vaddr < seg->filesz ? value : seg->vaddr;
	uint64_t fileoff = anchor - seg->vaddr + seg->offset;
	for (size_t i = 0; i < maps->n; i++) {
		const struct procfs_map *m = &maps->v[i];

		if (!same_file(m, file) || fileoff < m->offset ||
		    fileoff - m->offset >= m->end - m->start)
			continue;
		*addr = m->start + (fileoff - m->offset) + (value - anchor);
		return 0;
	}
	return -ENOENT;
}

/* The ELF file of mapping m: through map_files (the very file mapped, even deleted or in
 * another mount namespace), else by its path under the process's root. */
static int open_mapped(int pid, const struct procfs_map *m, struct elfsym_file **elf, char *why,
		       size_t why_len)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, m->start,
		 m->end);
	if (!elfsym_open(path, elf, why, why_len))
		return 0;
	/* map_files needs CAP_SYS_ADMIN (CAP_CHECKPOINT_RESTORE) */
	snprintf(path, sizeof(path), "/proc/%d/root%s", pid, m->path);
	return elfsym_open(path, elf, why, why_len);
}

static bool is_libc(const char *path)
{
	return !strcmp(base_name(path), "libc.so.6");
}

static bool same_libc(const struct maps *maps)
{
	struct maps self = { 0 };
	const struct procfs_map *theirs = NULL, *ours = NULL;
	bool same;

	for (size_t i = 0; i < maps->n && !theirs; i++)
		if (is_libc(maps->v[i].path))
			theirs = &maps->v[i];
	if (!theirs || maps_read(0, &self))
		return false;
	for (size_t i = 0; i < self.n && !ours; i++)
		if (is_libc(self.v[i].path))
			ours = &self.v[i];
	same = ours && same_file(ours, theirs);
	maps_free(&self);
	return same;
}

/* The version from the file's name: python3.10, libpython3.10.so.1.0. 0 or -1. */
static int version_from_name(const char *path, bool lib, struct py_found *out)
{
	const char *name = base_name(path);
	unsigned minor;

	if (lib) {
		if (!pyfind_libpython_name(name, &minor))
			return -1;
	} else if (sscanf(name, "python3.%u", &minor) != 1) {
		return -1;
	}
	out->major = 3;
	out->minor = minor;
	out->micro = 0;
	return 0;
}

static int find_version(struct elfsym_file *elf, bool lib, struct py_found *out, char *why,
			size_t why_len)
{
	struct elfsym_sym sym;
	uint64_t hex = 0;

	/* 3.11+ export PY_VERSION_HEX as Py_Version (an unsigned long) */
	if (!elfsym_lookup(elf, "Py_Version", &sym)) {
		uint32_t v32;

		if (sym.size == 8 && elfsym_read_initial(elf, &sym, &hex, 8) == 8) {
		} else if (sym.size == 4 && elfsym_read_initial(elf, &sym, &v32, 4) == 4) {
			hex = v32;
		} else {
			return say(-1, why, why_len, "%s: Py_Version unreadable: %s", out->path,
				   elfsym_error(elf));
		}
		out->major = (unsigned)(hex >> 24) & 0xff;
		out->minor = (unsigned)(hex >> 16) & 0xff;
		out->micro = (unsigned)(hex >> 8) & 0xff;
		return 0;
	}
	if (version_from_name(out->path, lib, out))
		return say(-1, why, why_len, "%s: which CPython version it is cannot be told",
			   out->path);
	return 0;
}

static int symbol_address(struct elfsym_file *elf, const struct maps *maps,
			  const struct procfs_map *file, const char *name, struct elfsym_sym *sym,
			  uint64_t *addr, const char *path, char *why, size_t why_len)
{
	if (elfsym_lookup(elf, name, sym))
		return say(-1, why, why_len, "%s: %s", path, elfsym_error(elf));
	if (address_in_process(elf, maps, file, sym->value, addr))
		return say(-1, why, why_len, "%s: where %s is in the process is not found", path,
			   name);
	return 0;
}

/* The interpreter is in elf (mapped as file): fill out. 1 or -1. */
static int describe(struct elfsym_file *elf, bool lib, const struct maps *maps,
		    const struct procfs_map *file, struct py_found *out, char *why,
		    size_t why_len)
{
	struct elfsym_sym runtime, code_type;

	if (find_version(elf, lib, out, why, why_len))
		return -1;
	if (out->major != 3 || out->minor < 11)
		return say(-1, why, why_len, "CPython %u.%u is not supported (3.11+)", out->major,
			   out->minor);
	if (symbol_address(elf, maps, file, "_PyRuntime", &runtime, &out->runtime_addr,
			   out->path, why, why_len) ||
	    symbol_address(elf, maps, file, "PyCode_Type", &code_type, &out->code_type_addr,
			   out->path, why, why_len))
		return -1;
	if (out->minor >= 13) {
		ssize_t got = elfsym_read_initial(elf, &runtime, out->runtime_image,
						  sizeof(out->runtime_image));

		if (got < 0)
			return say(-1, why, why_len, "%s: _PyRuntime's initial value unreadable: %s",
				   out->path, elfsym_error(elf));
		out->runtime_image_len = (size_t)got;
	}
	out->same_libc = same_libc(maps);
	return say(1, why, why_len, "CPython %u.%u.%u in %s", out->major, out->minor, out->micro,
		   out->path);
}

/* The mapping of the executable: the one whose path is what /proc/PID/exe names. */
static const struct procfs_map *exe_mapping(const struct maps *maps, const char *exe_path)
{
	for (size_t i = 0; i < maps->n; i++)
		if (maps->v[i].inode && !strcmp(maps->v[i].path, exe_path))
			return &maps->v[i];
	return NULL;
}

int pyfind_process(pid_t pid, struct py_found *out, char *why, size_t why_len)
{
	struct maps maps = { 0 };
	struct elfsym_file *exe = NULL, *elf = NULL;
	const struct procfs_map *file = NULL;
	char path[64], needed[256], open_why[256];
	size_t lib = 0;
	ssize_t len;
	int err, ret;

	memset(out, 0, sizeof(*out));
	out->pid = pid;
	err = maps_read(pid, &maps);
	if (err == -ENOENT || err == -ESRCH)
		return say(0, why, why_len, "no process %d", (int)pid);
	if (err)
		return say(-1, why, why_len, "/proc/%d/maps: %s", (int)pid, strerror(-err));

	/* /proc/PID/exe is the executable itself, whatever mount namespace it is in */
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	elfsym_open(path, &exe, open_why, sizeof(open_why));
	switch (pyfind_decide(maps.v, maps.n, exe, &lib, needed, sizeof(needed))) {
	case PYFIND_NOT_PYTHON:
		ret = say(0, why, why_len, "no libpython3.X mapped and no _PyRuntime in %s",
			  exe ? "the executable" : open_why);
		goto out;
	case PYFIND_NOT_LOADED:
		ret = say(-EAGAIN, why, why_len, "%s not mapped yet", needed);
		goto out;
	case PYFIND_IN_LIBRARY:
		file = &maps.v[lib];
		snprintf(out->path, sizeof(out->path), "%s", file->path);
		if (open_mapped(pid, file, &elf, open_why, sizeof(open_why))) {
			ret = say(-1, why, why_len, "%s: %s", file->path, open_why);
			goto out;
		}
		ret = describe(elf, true, &maps, file, out, why, why_len);
		goto out;
	case PYFIND_IN_EXE:
		len = readlink(path, out->path, sizeof(out->path) - 1);
		if (len < 0) {
			ret = say(-1, why, why_len, "%s: %s", path, strerror(errno));
			goto out;
		}
		out->path[len] = '\0';
		file = exe_mapping(&maps, out->path);
		if (!file && elfsym_type(exe) == ET_DYN) {
			ret = say(-1, why, why_len, "%s: not found in /proc/%d/maps", out->path,
				  (int)pid);
			goto out;
		}
		ret = describe(exe, false, &maps, file, out, why, why_len);
		goto out;
	}
	ret = say(-1, why, why_len, "internal error");
out:
	elfsym_close(elf);
	elfsym_close(exe);
	maps_free(&maps);
	return ret;
}
