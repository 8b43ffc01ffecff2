// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stddef.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <libiberty/demangle.h>
#include "elfsym.h"
#include "hash.h"
#include "log.h"
#include "maptrack.h"
#include "unwind.h"
#include "xalloc.h"

#define NBUCKETS 4096u

/* A file reported to one process's Dwfl: where, which file, and what libdwfl made of it. */
struct module {
	uint64_t start, end; /* the executable mapping */
	char *path;
	Dwfl_Module *mod; /* NULL: the file could not be read: its addresses are file+0x... */
	uint64_t bias;	  /* address in the process = address in the file + bias */
};

/*
 * One process's address space as libdwfl sees it. A Dwfl is attached to one process once and
 * for all, so the sample being unwound is handed to the callbacks through `cur`.
 */
struct aspace {
	struct aspace *next;
	uint32_t pid;
	Dwfl *dwfl;
	bool attached;
	struct module *mods;
	size_t nmods, cap;
	const struct mt_stack_sample *cur;
	bool past_copy; /* the unwinding asked for stack beyond the copy */
};

/* Functions inlined into one another at one address, at most (the innermost are kept). */
#define MAX_INLINED 16

/*
 * An address of a file, kept for every process that maps the file. Unwinding names it from the
 * symbol tables (f: MT_FRAME_ADDR); its lines and the functions inlined there are read from the
 * debug information only when a report asks (unwind_expand): that can take a tenth of a second
 * for a large library, which the loop does not wait for while the process runs.
 */
struct symbol {
	struct symbol *next;
	struct mt_frame f;
	char *path;
	uint64_t addr; /* in the file */
	bool expanded;
	unsigned n;
	const struct mt_frame *frames[MAX_INLINED]; /* innermost first, once expanded */
};

struct interned {
	struct interned *next;
	struct mt_frame f;
};

/*
 * A file as the symbols see it: one Dwfl of its own, at its own addresses, for all processes.
 * Its symbols and debug information (a separate file of megabytes for the C library) are read
 * once per run, not once per process that maps it.
 */
struct symfile {
	struct symfile *next;
	char *path;
	Dwfl *dwfl;
	Dwfl_Module *mod; /* NULL: it could not be read */
};

struct mt_unwinder {
	struct mt_maptrack *maps;
	struct symfile *files[NBUCKETS];
	struct aspace *spaces[NBUCKETS];
	struct symbol *symbols[NBUCKETS];
	struct interned *frames[NBUCKETS];
	struct mt_unwind_stats stats;
	const struct mt_frame *unknown;
};

static const struct mt_frame *intern_func(struct mt_unwinder *u, const char *text, uint32_t flags,
					  const struct mt_frame *func)
{
	struct interned **head = &u->frames[mt_hash_str(text) % NBUCKETS], *f;

	for (f = *head; f; f = f->next)
		if (f->f.flags == flags && !strcmp(f->f.text, text))
			return &f->f;
	f = mt_xcalloc(1, sizeof(*f));
	f->f.text = mt_xstrdup(text);
	f->f.flags = flags;
	f->f.func = func ? func : &f->f;
	f->next = *head;
	*head = f;
	return &f->f;
}

static const struct mt_frame *intern(struct mt_unwinder *u, const char *text, uint32_t flags)
{
	return intern_func(u, text, flags, NULL);
}

const struct mt_frame *unwind_intern(struct mt_unwinder *u, const char *text, uint32_t flags)
{
	return intern(u, text, flags);
}

struct mt_unwinder *unwinder_new(struct mt_maptrack *maps)
{
	struct mt_unwinder *u = mt_xcalloc(1, sizeof(*u));

	u->maps = maps;
	u->unknown = intern(u, "[unknown]", 0);
	return u;
}

static void free_space(struct aspace *a)
{
	if (a->dwfl)
		dwfl_end(a->dwfl);
	for (size_t i = 0; i < a->nmods; i++)
		free(a->mods[i].path);
	free(a->mods);
	free(a);
}

void unwinder_forget(struct mt_unwinder *u, uint32_t pid)
{
	struct aspace **p = &u->spaces[pid % NBUCKETS];

	for (; *p; p = &(*p)->next) {
		if ((*p)->pid == pid) {
			struct aspace *a = *p;

			*p = a->next;
			free_space(a);
			return;
		}
	}
}

void unwinder_free(struct mt_unwinder *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < NBUCKETS; i++) {
		while (u->spaces[i]) {
			struct aspace *a = u->spaces[i];

			u->spaces[i] = a->next;
			free_space(a);
		}
		while (u->symbols[i]) {
			struct symbol *s = u->symbols[i];

			u->symbols[i] = s->next;
			free(s->path);
			free((char *)s->f.text);
			free(s);
		}
		while (u->files[i]) {
			struct symfile *f = u->files[i];

			u->files[i] = f->next;
			if (f->dwfl)
				dwfl_end(f->dwfl);
			free(f->path);
			free(f);
		}
		while (u->frames[i]) {
			struct interned *f = u->frames[i];

			u->frames[i] = f->next;
			free((char *)f->f.text);
			free(f);
		}
	}
	free(u);
}

void unwinder_stats(const struct mt_unwinder *u, struct mt_unwind_stats *out)
{
	*out = u->stats;
}

/* ---- libdwfl's view of a sampled thread ---- */

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_arg)
{
	struct aspace *a = arg;

	(void)dwfl;
	if (*thread_arg)
		return 0;
	*thread_arg = a;
	return (pid_t)a->cur->tid;
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_arg)
{
	struct aspace *a = arg;

	(void)dwfl;
	*thread_arg = a;
	return a->cur && (uint32_t)tid == a->cur->tid;
}

/* Only the stack copied at the sample can be read: the process may be long gone. */
static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct aspace *a = arg;
	uint64_t sp = a->cur->regs[7];

	(void)dwfl;
	if (addr < sp || addr - sp > a->cur->data_len || a->cur->data_len - (addr - sp) < 8) {
		a->past_copy |= addr >= sp && addr - sp < (1u << 20);
		return false;
	}
	memcpy(result, a->cur->data + (addr - sp), sizeof(*result));
	return true;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	const struct aspace *a = thread_arg;
	Dwarf_Word regs[MT_STACK_NREGS];

	for (int i = 0; i < MT_STACK_NREGS; i++)
		regs[i] = a->cur->regs[i];
	return dwfl_thread_state_registers(thread, 0, MT_STACK_NREGS, regs);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

static char *debuginfo_path = NULL; /* libdwfl's default: beside the file, then /usr/lib/debug */

static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

/* ---- the modules of a process ---- */

/*
 * Where the file's addresses land in the process: its executable segment holding the file
 * offset the mapping starts at was mapped at start. 0 for a position-dependent executable.
 * false when the file cannot be read or has no such segment.
 */
static bool file_bias(const char *path, uint64_t start, uint64_t pgoff, uint64_t *bias)
{
	struct elfsym_file *f;
	const struct elfsym_seg *seg;
	size_t n;
	bool found = false;

	if (elfsym_open(path, &f, NULL, 0))
		return false;
	seg = elfsym_segments(f, &n);
	for (size_t i = 0; i < n && !found; i++) {
		if (!(seg[i].flags & PF_X) ||
		    ((seg[i].offset & ~0xfffull) != (pgoff & ~0xfffull) &&
		     !(seg[i].offset <= pgoff && pgoff < seg[i].offset + seg[i].filesz)))
			continue;
		/* the address of file offset pgoff is start */
		*bias = elfsym_type(f) == ET_EXEC ? 0 : start - (seg[i].vaddr + (pgoff - seg[i].offset));
		found = true;
	}
	elfsym_close(f);
	return found;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

struct sync_ctx {
	struct mt_unwinder *u;
	struct aspace *a;
	bool stale; /* a module is reported where another file is now: start again */
	bool added;
};

static struct module *module_at(struct aspace *a, uint64_t addr)
{
	for (size_t i = 0; i < a->nmods; i++)
		if (a->mods[i].start <= addr && addr < a->mods[i].end)
			return &a->mods[i];
	return NULL;
}

/* A mapping of the process: reported to libdwfl unless it is there already. */
static void sync_mapping(void *ctx, const struct mt_mapping *m)
{
	struct sync_ctx *c = ctx;
	struct aspace *a = c->a;
	struct module *have;
	uint64_t bias = 0;

	if (!m->exec || !m->path || m->path[0] != '/')
		return;
	have = module_at(a, m->start);
	if (have) {
		if (strcmp(have->path, m->path))
			c->stale = true;
		return;
	}
	if (a->nmods == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 32;
		a->mods = realloc(a->mods, a->cap * sizeof(*a->mods));
		if (!a->mods)
			abort();
	}
	struct module *mod = &a->mods[a->nmods++];

	memset(mod, 0, sizeof(*mod));
	mod->start = m->start;
	mod->end = m->end;
	mod->path = mt_xstrdup(m->path);
	if (!file_bias(m->path, m->start, m->pgoff, &bias)) {
		mt_debug("--stacks: cannot read %s: its frames are addresses", m->path);
		mod->bias = m->start - m->pgoff;
		return;
	}
	mod->bias = bias;
	/* one Dwfl_Module per file: a second executable mapping of it is the same module */
	for (size_t i = 0; i + 1 < a->nmods; i++)
		if (a->mods[i].mod && a->mods[i].bias == bias && !strcmp(a->mods[i].path, m->path)) {
			mod->mod = a->mods[i].mod;
			return;
		}
	if (!c->added) {
		dwfl_report_begin_add(a->dwfl);
		c->added = true;
	}
	mod->mod = dwfl_report_elf(a->dwfl, base_name(m->path), m->path, -1, bias, true);
	if (!mod->mod)
		mt_debug("--stacks: libdwfl cannot take %s: %s", m->path, dwfl_errmsg(-1));
}

static struct aspace *new_space(struct mt_unwinder *u, uint32_t pid)
{
	struct aspace *a = mt_xcalloc(1, sizeof(*a));

	a->pid = pid;
	a->dwfl = dwfl_begin(&dwfl_callbacks);
	if (!a->dwfl)
		abort();
	a->next = u->spaces[pid % NBUCKETS];
	u->spaces[pid % NBUCKETS] = a;
	return a;
}

/* The process's Dwfl with every file it had mapped when e was sampled. */
static struct aspace *space_for(struct mt_unwinder *u, const struct mt_stack_sample *e,
				 uint64_t ip)
{
	struct aspace *a;
	struct sync_ctx c = { .u = u };

	for (a = u->spaces[e->pid % NBUCKETS]; a; a = a->next)
		if (a->pid == e->pid)
			break;
	if (!a)
		a = new_space(u, e->pid);
	/* records the kernel wrote since the last look, then the process's /proc if it was
	 * running before the kernel's records began */
	if (!maptrack_find(u->maps, e->pid, ip, e->ts_ns)) {
		maptrack_drain(u->maps);
		if (!maptrack_find(u->maps, e->pid, ip, e->ts_ns))
			maptrack_read_proc(u->maps, e->pid);
	}
	c.a = a;
	maptrack_each(u->maps, e->pid, e->ts_ns, sync_mapping, &c);
	if (c.added)
		dwfl_report_end(a->dwfl, NULL, NULL);
	if (c.stale) {
		/* it exec'd, or a file was mapped where another was: a Dwfl only grows */
		unwinder_forget(u, e->pid);
		a = new_space(u, e->pid);
		c = (struct sync_ctx){ .u = u, .a = a };
		maptrack_each(u->maps, e->pid, e->ts_ns, sync_mapping, &c);
		if (c.added)
			dwfl_report_end(a->dwfl, NULL, NULL);
	}
	return a;
}

/* ---- symbols ---- */

static bool in_libc(const char *path)
{
	const char *b = base_name(path);

	return !strncmp(b, "libc.so", 7) || !strncmp(b, "libc-", 5) || !strncmp(b, "ld-linux", 8) ||
	       !strncmp(b, "libpthread", 10);
}

/* Where a thread's stack starts: the C runtime's start of main, or a thread's start. */
static bool is_root(const char *name)
{
	return !strcmp(name, "_start") || !strncmp(name, "__libc_start_main", 17) ||
	       !strcmp(name, "__libc_start_call_main") || !strcmp(name, "__clone") ||
	       !strcmp(name, "__clone3") || !strcmp(name, "clone") || !strcmp(name, "clone3") ||
	       !strcmp(name, "start_thread");
}

/*
 * The compile unit whose own ranges hold addr. libdwfl's lookup goes by .debug_aranges, which
 * clang does not write, and gives the nearest unit below an address no unit has (crt1's _start
 * after main): every unit is asked then.
 */
static Dwarf_Die *unit_of(Dwfl_Module *mod, Dwarf_Addr addr, Dwarf_Addr *bias)
{
	Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, bias);

	if (cu && dwarf_haspc(cu, addr - *bias) == 1)
		return cu;
	for (cu = NULL; (cu = dwfl_module_nextcu(mod, cu, bias));)
		if (dwarf_haspc(cu, addr - *bias) == 1)
			return cu;
	return NULL;
}

/* A function's name as its programmers write it: unversioned, demangled. */
static void function_name(const char *name, char *out, size_t len)
{
	const char *at = strchr(name, '@');
	char bare[512];
	char *demangled = NULL;

	/* a versioned symbol (__libc_start_main@@GLIBC_2.34) is its function */
	if (at && at > name) {
		snprintf(bare, sizeof(bare), "%.*s", (int)(at - name), name);
		name = bare;
	}
	/* C++, Rust, D...: binutils' demangler */
	if (name[0] == '_' && (name[1] == 'Z' || name[1] == 'R' || name[1] == 'D'))
		demangled = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
	snprintf(out, len, "%s", demangled ? demangled : name);
	free(demangled);
}

/* A frame "name (file:line)", or "name" without a line, and its function "name (file)". */
static const struct mt_frame *named_frame(struct mt_unwinder *u, const char *name,
					  const char *src, int line, uint32_t flags)
{
	char text[1024];
	const struct mt_frame *func;

	flags |= MT_FRAME_NAMED;
	if (is_root(name))
		flags |= MT_FRAME_ROOT;
	if (!strcmp(name, "_PyEval_EvalFrameDefault"))
		flags |= MT_FRAME_EVAL;
	if (!src || line <= 0) {
		snprintf(text, sizeof(text), "%s", name);
		return intern(u, text, flags);
	}
	/* the summary counts a function whole, whatever its lines */
	snprintf(text, sizeof(text), "%s (%s)", name, base_name(src));
	func = intern(u, text, flags);
	snprintf(text, sizeof(text), "%s (%s:%d)", name, base_name(src), line);
	return intern_func(u, text, flags | MT_FRAME_LINE, func);
}

/* The name of a function's DIE: its linkage name demangled (C++'s qualified one), else its
 * name; through an inlined instance's abstract origin. */
static bool die_name(Dwarf_Die *die, char *out, size_t len)
{
	Dwarf_Attribute attr;
	const char *name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));

	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
	if (!name)
		name = dwarf_diename(die);
	if (!name)
		return false;
	function_name(name, out, len);
	return true;
}

/* Where an inlined instance was called from: its caller's file and line. */
static const char *call_site(Dwarf_Die *cu, Dwarf_Die *inlined, int *line)
{
	Dwarf_Attribute attr;
	Dwarf_Word file, l;
	Dwarf_Files *files;
	size_t nfiles;

	if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attr), &file) ||
	    dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &attr), &l) ||
	    dwarf_getsrcfiles(cu, &files, &nfiles) || file >= nfiles)
		return NULL;
	*line = (int)l;
	return dwarf_filesrc(files, file, NULL, NULL);
}

/* The file's symbols, read the first time it is asked for. */
static Dwfl_Module *symbols_of(struct mt_unwinder *u, const char *path)
{
	struct symfile **head = &u->files[mt_hash_str(path) % NBUCKETS], *f;

	for (f = *head; f; f = f->next)
		if (!strcmp(f->path, path))
			return f->mod;
	f = mt_xcalloc(1, sizeof(*f));
	f->path = mt_xstrdup(path);
	f->dwfl = dwfl_begin(&dwfl_callbacks);
	if (f->dwfl) {
		dwfl_report_begin(f->dwfl);
		/* at bias 0: its addresses are the file's own, as the unwinder hands them */
		f->mod = dwfl_report_elf(f->dwfl, base_name(path), path, -1, 0, true);
		dwfl_report_end(f->dwfl, NULL, NULL);
		if (!f->mod)
			mt_debug("--stacks: no symbols from %s: %s", path, dwfl_errmsg(-1));
	}
	f->next = *head;
	*head = f;
	return f->mod;
}

/*
 * The frames of one address, innermost first: the functions inlined there, each at its line,
 * then the function the code is in, at the line the outermost of them was called from. Without
 * debug information one frame, named from the symbol tables, or file+0xaddress.
 */
static unsigned address_frames(struct mt_unwinder *u, const char *path, uint64_t addr,
			       const struct mt_frame **out, unsigned max)
{
	Dwfl_Module *mod = symbols_of(u, path);
	uint32_t flags = in_libc(path) ? MT_FRAME_LIBC : 0;
	const char *sym = NULL, *src = NULL;
	Dwarf_Die *cu = NULL, *scopes = NULL;
	Dwarf_Addr cu_bias = 0;
	Dwarf_Line *line;
	char name[512];
	int lineno = 0, nscopes = 0;
	unsigned n = 0;

	if (mod) {
		GElf_Off off;
		GElf_Sym elf_sym;

		sym = dwfl_module_addrinfo(mod, addr, &off, &elf_sym, NULL, NULL, NULL);
	}
	if (!sym || !*sym) {
		snprintf(name, sizeof(name), "%s+0x%llx", base_name(path), (unsigned long long)addr);
		out[0] = intern(u, name, flags);
		return 1;
	}
	function_name(sym, name, sizeof(name));
	cu = unit_of(mod, addr, &cu_bias);
	line = cu ? dwarf_getsrc_die(cu, addr - cu_bias) : NULL;
	if (line && !dwarf_lineno(line, &lineno))
		src = dwarf_linesrc(line, NULL, NULL);
	if (cu)
		nscopes = dwarf_getscopes(cu, addr - cu_bias, &scopes);
	for (int i = 0; i < nscopes && n + 1 < max; i++) {
		char inl[512];
		int call_line = 0;
		const char *call_file;

		if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine)
			continue;
		if (!die_name(&scopes[i], inl, sizeof(inl)))
			snprintf(inl, sizeof(inl), "[inlined]");
		out[n++] = named_frame(u, inl, src, lineno, flags);
		/* its caller, the next scope out, is at the line it was called from */
		call_file = call_site(cu, &scopes[i], &call_line);
		src = call_file;
		lineno = call_file ? call_line : 0;
	}
	free(scopes);
	out[n++] = named_frame(u, name, src, lineno, flags);
	return n;
}

/*
 * The frame of address addr of the module (in the process, already the call's own), as
 * unwinding gives it: its function from the symbol tables, or file+0xaddress.
 */
static const struct mt_frame *symbolize(struct mt_unwinder *u, const struct module *m,
					uint64_t addr)
{
	uint64_t rel = addr - m->bias, h = mt_hash_mix(mt_hash_str(m->path), rel);
	struct symbol **head = &u->symbols[h % NBUCKETS], *s;
	Dwfl_Module *mod;
	const char *sym = NULL;
	uint32_t flags = MT_FRAME_ADDR | (in_libc(m->path) ? MT_FRAME_LIBC : 0);
	char name[512];

	for (s = *head; s; s = s->next)
		if (s->addr == rel && !strcmp(s->path, m->path))
			return &s->f;
	mod = m->mod ? symbols_of(u, m->path) : NULL;
	if (mod) {
		GElf_Off off;
		GElf_Sym elf_sym;

		sym = dwfl_module_addrinfo(mod, rel, &off, &elf_sym, NULL, NULL, NULL);
	}
	if (sym && *sym) {
		function_name(sym, name, sizeof(name));
		flags |= MT_FRAME_NAMED | (is_root(name) ? MT_FRAME_ROOT : 0) |
			 (!strcmp(name, "_PyEval_EvalFrameDefault") ? MT_FRAME_EVAL : 0);
	} else {
		snprintf(name, sizeof(name), "%s+0x%llx", base_name(m->path), (unsigned long long)rel);
	}
	s = mt_xcalloc(1, sizeof(*s));
	s->f.text = mt_xstrdup(name);
	s->f.flags = flags;
	s->f.func = &s->f;
	/* a file that could not be read has no lines to give */
	s->path = mt_xstrdup(m->path);
	s->addr = rel;
	if (!mod) {
		s->expanded = true;
		s->n = 1;
		s->frames[0] = intern(u, name, flags & ~MT_FRAME_ADDR);
	}
	s->next = *head;
	*head = s;
	return &s->f;
}

unsigned unwind_expand(struct mt_unwinder *u, const struct mt_frame *f, const struct mt_frame **out,
		       unsigned max)
{
	struct symbol *s;
	unsigned n;

	if (!max)
		return 0;
	if (!(f->flags & MT_FRAME_ADDR)) {
		out[0] = f;
		return 1;
	}
	s = (struct symbol *)((char *)f - offsetof(struct symbol, f));
	if (!s->expanded) {
		s->n = address_frames(u, s->path, s->addr, s->frames, MAX_INLINED);
		s->expanded = true;
	}
	n = s->n < max ? s->n : max;
	memcpy(out, s->frames, n * sizeof(out[0]));
	return n;
}

/* ---- unwinding ---- */

struct walk {
	uint64_t pcs[MT_UNWIND_MAX_FRAMES];
	unsigned n, max;
};

static int on_frame(Dwfl_Frame *state, void *arg)
{
	struct walk *w = arg;
	Dwarf_Addr pc;
	bool activation;

	if (!dwfl_frame_pc(state, &pc, &activation) || !pc)
		return DWARF_CB_ABORT;
	/* a return address is the instruction after the call: the call is the one before */
	w->pcs[w->n++] = activation ? pc : pc - 1;
	return w->n < w->max ? DWARF_CB_OK : DWARF_CB_ABORT;
}

unsigned unwind_sample(struct mt_unwinder *u, const struct mt_stack_sample *e,
		       const struct mt_frame **frames, unsigned max)
{
	struct walk w = { .max = max < MT_UNWIND_MAX_FRAMES ? max : MT_UNWIND_MAX_FRAMES };
	uint64_t ip = e->regs[16];
	struct aspace *a;
	unsigned n = 0;
	bool past_copy = false;

	if (!max)
		return 0;
	if ((e->flags & MT_STKF_FP) && e->data_len >= 8)
		memcpy(&ip, e->data, sizeof(ip));
	a = space_for(u, e, ip);

	u->stats.samples++;
	if (e->flags & MT_STKF_FP) {
		uint32_t nr = e->data_len / 8;

		for (uint32_t i = 0; i < nr && w.n < w.max; i++) {
			uint64_t ip;

			memcpy(&ip, e->data + 8 * i, sizeof(ip));
			if (!ip)
				break;
			/* the kernel's walk gives return addresses after the first */
			w.pcs[w.n++] = i ? ip - 1 : ip;
		}
	} else if (e->regs[16]) {
		a->cur = e;
		a->past_copy = false;
		if (!a->attached && a->nmods && dwfl_attach_state(a->dwfl, NULL, (pid_t)e->pid,
								  &thread_callbacks, a))
			a->attached = true;
		if (a->attached)
			dwfl_getthread_frames(a->dwfl, (pid_t)e->tid, on_frame, &w);
		if (!w.n)
			w.pcs[w.n++] = e->regs[16];
		a->cur = NULL;
		/* a copy that ended where the stack does cannot be blamed */
		past_copy = a->past_copy && !(e->flags & MT_STKF_COPY_SHORT);
	}
	for (unsigned i = 0; i < w.n; i++) {
		const struct module *m = module_at(a, w.pcs[i]);

		if (!m) {
			u->stats.no_module++;
			frames[n++] = u->unknown;
			break;
		}
		frames[n++] = symbolize(u, m, w.pcs[i]);
	}
	/*
	 * glibc's __libc_start_call_main calls main and nothing else: a stripped program's main
	 * has no symbol, but is known by its caller
	 */
	for (unsigned i = 0; i + 1 < n; i++)
		if (!(frames[i]->flags & MT_FRAME_NAMED) &&
		    !strncmp(frames[i + 1]->text, "__libc_start_call_main", 22))
			frames[i] = intern(u, "main", MT_FRAME_NAMED);
	u->stats.frames += n;
	for (unsigned i = n; i-- > 0;) {
		if (frames[i]->flags & MT_FRAME_ROOT) {
			u->stats.to_root++;
			return n;
		}
	}
	if (past_copy)
		u->stats.cut++;
	else
		u->stats.lost++;
	return n;
}
