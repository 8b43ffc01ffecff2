// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pylinetable.h"
#include "pyprof.h"
#include "units.h"

/* Buckets of each table: enough for a host's worth of code objects without rehashing. */
#define NBUCKETS 65536u
#define MIB (1024.0 * 1024.0)

/* A code object as the BPF side captured it (key: pid, address, identity). */
struct code {
	struct code *next;
	uint32_t pid, ident;
	uint64_t addr;
	int firstlineno;
	char *file, *name;
	uint8_t *table;
	uint32_t table_len;
};

/* One instruction of one code object: what RSS changes it was on the stack for. */
struct site {
	struct site *next;
	uint32_t pid, ident;
	uint64_t code;
	int32_t lasti;
	uint64_t self_grown, self_released, self_n; /* it was the innermost frame */
	uint64_t grown, released, n;		    /* it was on the stack */
	uint64_t max_rss;
};

struct stack {
	struct stack *next;
	uint32_t pid, depth;
	uint64_t hash, grown;
	struct mt_py_frame *frames;
};

/* A stack kept whole: at the peak, the latest, at an OOM kill. */
struct kept {
	uint32_t depth, flags;
	uint64_t rss;
	struct mt_py_frame frames[MT_PY_DEPTH];
};

struct proc {
	struct proc *next;
	uint32_t pid;
	char comm[MT_COMM_LEN];
	char version[16];
	int root_fd, cwd_fd;
	bool python; /* found to run CPython (not only seen in a sample) */
	uint64_t samples;
	uint64_t outside_grown, outside_released; /* no Python frame at the change */
	uint64_t rss_found;			  /* RSS when its interpreter was found */
	struct kept peak, last, oom;
	bool has_peak, has_last, has_oom;
};

struct mt_pyprof {
	struct code *codes[NBUCKETS];
	struct site *sites[NBUCKETS];
	struct stack *stacks[NBUCKETS];
	struct proc *procs[1024];
	unsigned nprocs;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 33);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p)
		abort(); /* as strbuf: a tracer cannot go on without its accounts */
	return p;
}

struct mt_pyprof *pyprof_new(void)
{
	return xcalloc(1, sizeof(struct mt_pyprof));
}

static struct proc *find_proc(struct mt_pyprof *p, uint32_t pid, bool make)
{
	struct proc **head = &p->procs[pid % 1024], *pr;

	for (pr = *head; pr; pr = pr->next)
		if (pr->pid == pid)
			return pr;
	if (!make)
		return NULL;
	pr = xcalloc(1, sizeof(*pr));
	pr->pid = pid;
	pr->root_fd = pr->cwd_fd = -1;
	pr->next = *head;
	*head = pr;
	return pr;
}

static void set_dirs(struct proc *pr, int root_fd, int cwd_fd)
{
	if (pr->root_fd >= 0)
		close(pr->root_fd);
	if (pr->cwd_fd >= 0)
		close(pr->cwd_fd);
	pr->root_fd = root_fd;
	pr->cwd_fd = cwd_fd;
}

void pyprof_process(struct mt_pyprof *p, uint32_t pid, const char *comm, const char *version,
		    int root_fd, int cwd_fd)
{
	struct proc *pr = find_proc(p, pid, true);

	if (!pr->python)
		p->nprocs++;
	pr->python = true;
	snprintf(pr->comm, sizeof(pr->comm), "%s", comm ? comm : "");
	snprintf(pr->version, sizeof(pr->version), "%s", version ? version : "");
	set_dirs(pr, root_fd, cwd_fd);
}

void pyprof_found_at(struct mt_pyprof *p, uint32_t pid, uint64_t rss)
{
	find_proc(p, pid, true)->rss_found = rss;
}

void pyprof_forked(struct mt_pyprof *p, uint32_t pid, uint32_t parent, int root_fd, int cwd_fd)
{
	struct proc *pa = find_proc(p, parent, false);

	if (!pa || !pa->python) {
		set_dirs(&(struct proc){ .root_fd = -1, .cwd_fd = -1 }, root_fd, cwd_fd);
		return;
	}
	/* the parent may be gone by the report: the child keeps its own copies of everything */
	char comm[MT_COMM_LEN], version[16];

	memcpy(comm, pa->comm, sizeof(comm));
	memcpy(version, pa->version, sizeof(version));
	pyprof_process(p, pid, comm, version, root_fd, cwd_fd);
}

unsigned pyprof_processes(const struct mt_pyprof *p)
{
	return p->nprocs;
}

static char *utf8_of(unsigned kind, const char *data, uint32_t len)
{
	/* at most 4 bytes of UTF-8 per character, and a NUL */
	size_t cap = (size_t)len * 4 + 1;
	char *out = xcalloc(1, cap);

	py_text_utf8(kind, data, len, out, cap);
	return out;
}

static struct code *find_code(struct mt_pyprof *p, uint32_t pid, uint64_t addr, uint32_t ident)
{
	for (struct code *c = p->codes[mix(mix(pid, addr), ident) % NBUCKETS]; c; c = c->next)
		if (c->pid == pid && c->addr == addr && c->ident == ident)
			return c;
	return NULL;
}

void pyprof_on_code(struct mt_pyprof *p, const struct mt_py_code *m)
{
	uint32_t file_len = m->file_len < MT_PY_FILE_LEN ? m->file_len : MT_PY_FILE_LEN - 1;
	uint32_t name_len = m->name_len < MT_PY_NAME_LEN ? m->name_len : MT_PY_NAME_LEN - 1;
	uint32_t table_len = m->linetable_len < MT_PY_LINETABLE_LEN ? m->linetable_len
								     : MT_PY_LINETABLE_LEN - 1;
	struct code *c;

	if (find_code(p, m->pid, m->code, m->ident))
		return; /* sent again after an LRU eviction: the same object */
	c = xcalloc(1, sizeof(*c));
	c->pid = m->pid;
	c->addr = m->code;
	c->ident = m->ident;
	c->firstlineno = m->firstlineno;
	if (m->file_kind) {
		char *text = utf8_of(m->file_kind, m->file, file_len);

		if (m->flags & MT_PYC_FILE_TRUNCATED) {
			c->file = xcalloc(1, strlen(text) + 4);
			sprintf(c->file, "...%s", text);
			free(text);
		} else {
			c->file = text;
		}
	} else {
		c->file = strdup("<unknown file>");
	}
	c->name = m->name_kind ? utf8_of(m->name_kind, m->name, name_len) : strdup("<unknown>");
	c->table = xcalloc(1, table_len + 1);
	memcpy(c->table, m->linetable, table_len);
	c->table_len = table_len;
	if (!c->file || !c->name)
		abort();

	struct code **head = &p->codes[mix(mix(m->pid, m->code), m->ident) % NBUCKETS];

	c->next = *head;
	*head = c;
}

static struct site *find_site(struct mt_pyprof *p, uint32_t pid, const struct mt_py_frame *f)
{
	uint64_t h = mix(mix(mix(pid, f->code), f->ident), (uint32_t)f->lasti);
	struct site **head = &p->sites[h % NBUCKETS], *s;

	for (s = *head; s; s = s->next)
		if (s->pid == pid && s->code == f->code && s->ident == f->ident && s->lasti == f->lasti)
			return s;
	s = xcalloc(1, sizeof(*s));
	s->pid = pid;
	s->code = f->code;
	s->ident = f->ident;
	s->lasti = f->lasti;
	s->next = *head;
	*head = s;
	return s;
}

static void add_stack(struct mt_pyprof *p, uint32_t pid, const struct mt_py_frame *frames,
		      uint32_t depth, uint64_t grown)
{
	uint64_t h = mix(pid, depth);
	struct stack **head, *s;

	for (uint32_t i = 0; i < depth; i++)
		h = mix(mix(mix(h, frames[i].code), frames[i].ident), (uint32_t)frames[i].lasti);
	head = &p->stacks[h % NBUCKETS];
	for (s = *head; s; s = s->next)
		if (s->hash == h && s->pid == pid && s->depth == depth &&
		    !memcmp(s->frames, frames, depth * sizeof(*frames))) {
			s->grown += grown;
			return;
		}
	s = xcalloc(1, sizeof(*s));
	s->pid = pid;
	s->depth = depth;
	s->hash = h;
	s->grown = grown;
	s->frames = xcalloc(depth ? depth : 1, sizeof(*frames));
	memcpy(s->frames, frames, depth * sizeof(*frames));
	s->next = *head;
	*head = s;
}

static void keep(struct kept *k, const struct mt_py_sample *e, uint32_t depth)
{
	k->depth = depth;
	k->flags = e->flags;
	k->rss = e->rss_bytes;
	memcpy(k->frames, e->frames, depth * sizeof(e->frames[0]));
}

static int line_of(const struct code *c, int32_t lasti);

/*
 * Whether frame i's line is already on the stack nearer the top: recursion, or a
 * comprehension's own frame on its line (3.11), ran once for this change. The code records a
 * stack needs come before it in the ring, so its lines are known here.
 */
static bool seen_before(struct mt_pyprof *p, uint32_t pid, const struct mt_py_frame *frames,
			uint32_t i, const char **files, int *lines)
{
	struct code *c = find_code(p, pid, frames[i].code, frames[i].ident);

	files[i] = c ? c->file : NULL;
	lines[i] = line_of(c, frames[i].lasti);
	for (uint32_t j = 0; j < i; j++) {
		if (frames[j].code == frames[i].code && frames[j].ident == frames[i].ident &&
		    frames[j].lasti == frames[i].lasti)
			return true;
		if (files[i] && files[j] && lines[i] == lines[j] && !strcmp(files[i], files[j]))
			return true;
	}
	return false;
}

void pyprof_on_sample(struct mt_pyprof *p, const struct mt_py_sample *e)
{
	struct proc *pr = find_proc(p, e->pid, true);
	uint32_t depth = e->depth < MT_PY_DEPTH ? e->depth : MT_PY_DEPTH;
	const int64_t deltas[] = { e->delta_file, e->delta_anon, e->delta_shmem };
	uint64_t grown = 0, released = 0;

	if (e->flags & MT_PYF_OOM) {
		keep(&pr->oom, e, depth);
		pr->has_oom = true;
		return;
	}
	for (size_t i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++) {
		if (deltas[i] > 0)
			grown += (uint64_t)deltas[i];
		else
			released += (uint64_t)-deltas[i];
	}
	pr->samples++;
	keep(&pr->last, e, depth);
	pr->has_last = true;
	if (!pr->has_peak || e->rss_bytes >= pr->peak.rss) {
		keep(&pr->peak, e, depth);
		pr->has_peak = true;
	}
	if (!depth) {
		pr->outside_grown += grown;
		pr->outside_released += released;
	}
	const char *files[MT_PY_DEPTH];
	int lines[MT_PY_DEPTH];

	for (uint32_t i = 0; i < depth; i++) {
		bool again = seen_before(p, e->pid, e->frames, i, files, lines);
		struct site *s;

		if (i > 0 && again)
			continue;
		s = find_site(p, e->pid, &e->frames[i]);
		if (i == 0) {
			s->self_grown += grown;
			s->self_released += released;
			s->self_n++;
		}
		s->grown += grown;
		s->released += released;
		s->n++;
		if (e->rss_bytes > s->max_rss)
			s->max_rss = e->rss_bytes;
	}
	if (grown)
		add_stack(p, e->pid, e->frames, depth, grown);
}

static int line_of(const struct code *c, int32_t lasti)
{
	int line;

	if (!c)
		return -1;
	if (lasti < 0)
		return c->firstlineno;
	line = py_line_of(c->table, c->table_len, c->firstlineno, lasti);
	return line;
}

/* ---- per-line accounts: the sites of a process folded into (file, line) ---- */

struct line_row {
	uint32_t pid;
	const char *file;
	const char *name; /* the function of the first site seen on it */
	int line;
	uint64_t self_grown, self_released, self_n, grown, released, n, max_rss;
};

struct line_rows {
	struct line_row *v;
	size_t n;
};

static int cmp_rows(const void *a, const void *b)
{
	const struct line_row *x = a, *y = b;
	int c;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	c = strcmp(x->file, y->file);
	if (c)
		return c;
	return (x->line > y->line) - (x->line < y->line);
}

/* Every site resolved to its line and merged; pid 0: all processes. Sorted by pid, file, line. */
static struct line_rows collect_rows(struct mt_pyprof *p, uint32_t pid)
{
	struct line_rows r = {};
	size_t cap = 0, out = 0;

	for (size_t b = 0; b < NBUCKETS; b++) {
		for (struct site *s = p->sites[b]; s; s = s->next) {
			if (pid && s->pid != pid)
				continue;
			struct code *c = find_code(p, s->pid, s->code, s->ident);

			if (r.n == cap) {
				cap = cap ? cap * 2 : 256;
				r.v = realloc(r.v, cap * sizeof(*r.v));
				if (!r.v)
					abort();
			}
			r.v[r.n++] = (struct line_row){
				.pid = s->pid,
				.file = c ? c->file : "<code not captured>",
				.name = c ? c->name : "?",
				.line = line_of(c, s->lasti),
				.self_grown = s->self_grown,
				.self_released = s->self_released,
				.self_n = s->self_n,
				.grown = s->grown,
				.released = s->released,
				.n = s->n,
				.max_rss = s->max_rss,
			};
		}
	}
	if (!r.n)
		return r;
	qsort(r.v, r.n, sizeof(*r.v), cmp_rows);
	for (size_t i = 1; i < r.n; i++) {
		struct line_row *a = &r.v[out], *x = &r.v[i];

		if (cmp_rows(a, x)) {
			r.v[++out] = *x;
			continue;
		}
		a->self_grown += x->self_grown;
		a->self_released += x->self_released;
		a->self_n += x->self_n;
		a->grown += x->grown;
		a->released += x->released;
		a->n += x->n;
		if (x->max_rss > a->max_rss)
			a->max_rss = x->max_rss;
	}
	r.n = out + 1;
	return r;
}

/* ---- source text, read through the process's own root and working directory ---- */

struct source {
	char *text;
	char **lines; /* lines[i]: line i + 1, NUL-terminated */
	size_t n;
};

static void source_load(const struct proc *pr, const char *file, struct source *src)
{
	int dir = file[0] == '/' ? pr->root_fd : pr->cwd_fd;
	const char *rel = file[0] == '/' ? file + 1 : file;
	size_t len = 0, cap = 0;
	int fd;

	memset(src, 0, sizeof(*src));
	/* <string>, <frozen ...>: no file */
	if (dir < 0 || file[0] == '<')
		return;
	fd = openat(dir, rel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	for (;;) {
		if (len + 65536 > cap) {
			if (cap >= 64u << 20)
				break; /* a "source file" this big is not one */
			cap = cap ? cap * 2 : 65536 * 2;
			src->text = realloc(src->text, cap + 1);
			if (!src->text)
				abort();
		}
		ssize_t n = read(fd, src->text + len, cap - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (!src->text)
		return;
	src->text[len] = '\0';
	for (size_t i = 0, start = 0; i <= len; i++) {
		if (i < len && src->text[i] != '\n')
			continue;
		src->lines = realloc(src->lines, (src->n + 1) * sizeof(*src->lines));
		if (!src->lines)
			abort();
		src->text[i] = '\0';
		src->lines[src->n++] = src->text + start;
		start = i + 1;
	}
}

static const char *source_line(const struct source *src, int line)
{
	if (line < 1 || (size_t)line > src->n)
		return "";
	return src->lines[line - 1];
}

static void source_free(struct source *src)
{
	free(src->text);
	free(src->lines);
	memset(src, 0, sizeof(*src));
}

/* ---- --lines ---- */

/* The lines of a file to show: every code object on some stack, from its first to last line. */
static void file_span(struct mt_pyprof *p, uint32_t pid, const char *file, char *shown, int max)
{
	for (size_t b = 0; b < NBUCKETS; b++) {
		for (struct site *s = p->sites[b]; s; s = s->next) {
			struct code *c;
			int first, last;

			if (s->pid != pid || !(c = find_code(p, pid, s->code, s->ident)) ||
			    strcmp(c->file, file))
				continue;
			if (py_line_span(c->table, c->table_len, c->firstlineno, &first, &last) < 0)
				first = last = c->firstlineno;
			if (c->firstlineno > 0 && c->firstlineno < first)
				first = c->firstlineno;
			for (int l = first > 1 ? first : 1; l <= last && l < max; l++)
				shown[l] = 1;
		}
	}
}

static void mib(char *buf, size_t len, double bytes)
{
	snprintf(buf, len, "%.3f MiB", bytes / MIB);
}

static void write_line(FILE *out, int l, const struct line_row *x, const struct source *src)
{
	char use[32], inc[32], grown[32], rel[32];

	if (!x) {
		fprintf(out, "%6d %12s %12s %12s %12s %12s   %s\n", l, "", "", "", "", "",
			source_line(src, l));
		return;
	}
	mib(use, sizeof(use), (double)x->max_rss);
	mib(inc, sizeof(inc), (double)x->grown - (double)x->released);
	mib(grown, sizeof(grown), (double)x->grown);
	mib(rel, sizeof(rel), (double)x->released);
	if (l > 0)
		fprintf(out, "%6d ", l);
	fprintf(out, "%12s %12s %12llu %12s %12s   %s\n", use, inc, (unsigned long long)x->n, grown,
		rel, l > 0 ? source_line(src, l) : "(line unknown: its location table was cut)");
}

/*
 * One file: the lines charged, and the rest of the functions they are in where the source
 * could be read (the lines between come from the file, not from the process's tables, which
 * are trusted for no more than the line numbers charged).
 */
static void write_file_block(struct mt_pyprof *p, FILE *out, const struct proc *pr,
			     const struct line_row *rows, size_t n)
{
	static const char header[] = "Line #    Mem usage    Increment  Occurrences        Grown     "
				     "Released   Line Contents";
	const char *file = rows[0].file;
	struct source src;
	int limit;
	char *shown;
	size_t r = 0;
	bool gap = false;

	source_load(pr, file, &src);
	limit = src.n < 10000000 ? (int)src.n : 10000000;
	shown = xcalloc((size_t)limit + 2, 1);
	if (limit)
		file_span(p, pr->pid, file, shown, limit + 1);
	for (size_t i = 0; i < n; i++)
		if (rows[i].line > 0 && rows[i].line <= limit)
			shown[rows[i].line] = 1;

	fprintf(out, "Filename: %s\n\n%s\n", file, header);
	for (size_t i = 0; i < sizeof(header) - 1; i++)
		fputc('=', out);
	fputc('\n', out);
	while (r < n && rows[r].line < 1)
		r++;
	for (int l = 1; l <= limit; l++) {
		if (!shown[l]) {
			gap = true;
			continue;
		}
		if (gap && l > 1)
			fputs("...\n", out);
		gap = false;
		while (r < n && rows[r].line < l)
			r++;
		write_line(out, l, r < n && rows[r].line == l ? &rows[r] : NULL, &src);
	}
	/* past the end of the source read (or none): the lines charged alone */
	for (r = 0; r < n; r++) {
		if (rows[r].line >= 1)
			break;
		/* where the location table was cut: charged to the function, line unknown */
		fputs("     ? ", out);
		write_line(out, 0, &rows[r], &src);
	}
	for (; r < n; r++) {
		if (rows[r].line <= limit)
			continue;
		if (limit || r)
			fputs("...\n", out);
		write_line(out, rows[r].line, &rows[r], &src);
	}
	fputs("\n\n", out);
	free(shown);
	source_free(&src);
}

/*
 * Whether a file's block is worth its lines: one of its lines saw 1 % of all the process's
 * changes, or grew 1 MiB itself. The interpreter's start-up touches dozens of library files by
 * a page or two each; they stay in --folded and in the count below the report.
 */
static bool file_matters(const struct line_row *rows, size_t n, uint64_t total)
{
	for (size_t i = 0; i < n; i++)
		if ((rows[i].grown + rows[i].released) * 100 >= total ||
		    rows[i].self_grown >= (1u << 20))
			return true;
	return false;
}

int pyprof_write_lines(struct mt_pyprof *p, FILE *out)
{
	struct line_rows r = collect_rows(p, 0);

	fputs("# memtrace-bpf --python: RSS changes charged to the Python lines that made them.\n"
	      "# Mem usage: the highest RSS of the process while the line ran; Increment: the net\n"
	      "# RSS change while it ran (Grown - Released), the calls it made included;\n"
	      "# Occurrences: the RSS changes charged to it (not its executions).\n\n",
	      out);
	for (size_t i = 0; i < r.n;) {
		const struct proc *pr = find_proc(p, r.v[i].pid, true);
		size_t j = i;

		while (j < r.n && r.v[j].pid == r.v[i].pid)
			j++;
		uint64_t total = 0;
		unsigned small = 0;

		for (size_t k = i; k < j; k++)
			total += r.v[k].self_grown + r.v[k].self_released;
		fprintf(out, "Process %u (%s), CPython %s\n\n", pr->pid, pr->comm,
			pr->version[0] ? pr->version : "?");
		for (size_t k = i; k < j;) {
			size_t m = k;

			while (m < j && !strcmp(r.v[m].file, r.v[k].file))
				m++;
			if (file_matters(&r.v[k], m - k, total))
				write_file_block(p, out, pr, &r.v[k], m - k);
			else
				small++;
			k = m;
		}
		if (small)
			fprintf(out, "(%u more files, none with a line that saw 1 %% of the changes or "
				     "grew 1 MiB: they are in --folded)\n\n",
				small);
		i = j;
	}
	free(r.v);
	return ferror(out) ? -EIO : 0;
}

/* ---- --folded ---- */

static void frame_text(struct mt_pyprof *p, uint32_t pid, const struct mt_py_frame *f, char *buf,
		       size_t len)
{
	struct code *c = find_code(p, pid, f->code, f->ident);

	if (!c) {
		snprintf(buf, len, "[code 0x%llx not captured]", (unsigned long long)f->code);
		return;
	}
	int line = line_of(c, f->lasti);

	if (line < 0)
		snprintf(buf, len, "%s (%s:?)", c->name, c->file);
	else
		snprintf(buf, len, "%s (%s:%d)", c->name, c->file, line);
	/* ';' separates frames and a space ends the stack in the folded format */
	for (char *s = buf; *s; s++)
		if (*s == ';')
			*s = ':';
}

struct folded {
	char *text;
	uint64_t bytes;
};

static int cmp_folded(const void *a, const void *b)
{
	return strcmp(((const struct folded *)a)->text, ((const struct folded *)b)->text);
}

int pyprof_write_folded(struct mt_pyprof *p, FILE *out)
{
	struct folded *v = NULL;
	size_t n = 0, cap = 0;

	for (size_t b = 0; b < NBUCKETS; b++) {
		for (struct stack *s = p->stacks[b]; s; s = s->next) {
			size_t tlen = 0, tcap = 256;
			char *text = xcalloc(1, tcap), frame[MT_PY_FILE_LEN + MT_PY_NAME_LEN + 32];

			if (!s->depth)
				snprintf(text, tcap, "[outside Python code]");
			for (uint32_t i = s->depth; i-- > 0;) {
				frame_text(p, s->pid, &s->frames[i], frame, sizeof(frame));
				size_t fl = strlen(frame);

				if (tlen + fl + 2 > tcap) {
					tcap = (tlen + fl + 2) * 2;
					text = realloc(text, tcap);
					if (!text)
						abort();
				}
				if (tlen)
					text[tlen++] = ';';
				memcpy(text + tlen, frame, fl + 1);
				tlen += fl;
			}
			for (char *c = text; *c; c++)
				if (*c == '\n')
					*c = ' ';
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				v = realloc(v, cap * sizeof(*v));
				if (!v)
					abort();
			}
			v[n++] = (struct folded){ text, s->grown };
		}
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_folded);
	for (size_t i = 0; i < n;) {
		uint64_t bytes = 0;
		size_t j = i;

		while (j < n && !strcmp(v[j].text, v[i].text))
			bytes += v[j++].bytes;
		fprintf(out, "%s %llu\n", v[i].text, (unsigned long long)bytes);
		i = j;
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].text);
	free(v);
	return ferror(out) ? -EIO : 0;
}

/* ---- the summary and the OOM report ---- */

static int cmp_self_grown(const void *a, const void *b)
{
	const struct line_row *x = a, *y = b;

	return (x->self_grown < y->self_grown) - (x->self_grown > y->self_grown);
}

static void print_top(struct mt_pyprof *p, FILE *out, uint32_t pid, unsigned top, const char *indent)
{
	struct line_rows r = collect_rows(p, pid);
	unsigned shown = 0;

	if (r.n)
		qsort(r.v, r.n, sizeof(*r.v), cmp_self_grown);
	for (size_t i = 0; i < r.n && shown < top && r.v[i].self_grown; i++, shown++) {
		const struct line_row *x = &r.v[i];
		struct proc *pr = find_proc(p, x->pid, true);
		struct source src;
		char size[32];
		const char *text;

		source_load(pr, x->file, &src);
		text = source_line(&src, x->line);
		while (*text == ' ' || *text == '\t')
			text++;
		mt_format_size(x->self_grown, size, sizeof(size));
		fprintf(out, "%s%10s  %s:%d  %s", indent, size, x->file, x->line, x->name);
		if (!pid)
			fprintf(out, "  (pid %u)", x->pid);
		fprintf(out, "%s%.*s\n", *text ? "  | " : "", 80, text);
		source_free(&src);
	}
	if (!shown)
		fprintf(out, "%s(no growth charged to a Python line)\n", indent);
	free(r.v);
}

static void print_frame(struct mt_pyprof *p, FILE *out, const struct proc *pr,
			const struct mt_py_frame *f, const char *indent)
{
	struct code *c = find_code(p, pr->pid, f->code, f->ident);
	struct source src;
	const char *text;
	int line;

	if (!c) {
		fprintf(out, "%s[code 0x%llx not captured]\n", indent, (unsigned long long)f->code);
		return;
	}
	line = line_of(c, f->lasti);
	source_load(pr, c->file, &src);
	text = source_line(&src, line);
	while (*text == ' ' || *text == '\t')
		text++;
	fprintf(out, "%s%s:%d in %s%s%.*s\n", indent, c->file, line, c->name, *text ? "  | " : "",
		80, text);
	source_free(&src);
}

void pyprof_summary(struct mt_pyprof *p, FILE *out, unsigned top)
{
	fprintf(out, "  Python lines that grew memory most (the line running at the RSS change):\n");
	print_top(p, out, 0, top, "  ");
	for (size_t b = 0; b < 1024; b++) {
		for (struct proc *pr = p->procs[b]; pr; pr = pr->next) {
			char size[32], out_grown[32];

			if (!pr->has_peak)
				continue;
			mt_format_size(pr->peak.rss, size, sizeof(size));
			if (pr->peak.depth) {
				fprintf(out, "  pid %u (%s) reached its peak RSS (%s) at\n", pr->pid,
					pr->comm, size);
				print_frame(p, out, pr, &pr->peak.frames[0], "    ");
			} else {
				fprintf(out, "  pid %u (%s) reached its peak RSS (%s) outside Python "
					     "code\n",
					pr->pid, pr->comm, size);
			}
			if (pr->rss_found) {
				mt_format_size(pr->rss_found, out_grown, sizeof(out_grown));
				fprintf(out, "    %s of RSS before its interpreter was found (at its "
					     "start or at -p): on no line\n",
					out_grown);
			}
			if (pr->outside_grown) {
				mt_format_size(pr->outside_grown, out_grown, sizeof(out_grown));
				fprintf(out, "    %s grown with no Python frame running (interpreter "
					     "start-up, threads without a thread state)\n",
					out_grown);
			}
		}
	}
}

void pyprof_oom(struct mt_pyprof *p, FILE *out, uint32_t victim, uint32_t trigger)
{
	struct proc *pr = find_proc(p, victim, false);
	const struct kept *k;

	if (!pr || !pr->python)
		return;
	if (victim == trigger && pr->has_oom && pr->oom.depth) {
		k = &pr->oom;
		fprintf(out, "  its Python stack at the allocation that could not be served:\n");
	} else if (pr->has_last && pr->last.depth) {
		k = &pr->last;
		fprintf(out, "  its Python stack at its last RSS change:\n");
	} else {
		fprintf(out, "  no Python stack of it was seen\n");
		return;
	}
	for (uint32_t i = 0; i < k->depth; i++)
		print_frame(p, out, pr, &k->frames[i], "    ");
	fprintf(out, "  the Python lines that grew it most:\n");
	print_top(p, out, victim, 5, "  ");
}

void pyprof_free(struct mt_pyprof *p)
{
	if (!p)
		return;
	for (size_t b = 0; b < NBUCKETS; b++) {
		for (struct code *c = p->codes[b], *n; c; c = n) {
			n = c->next;
			free(c->file);
			free(c->name);
			free(c->table);
			free(c);
		}
		for (struct site *s = p->sites[b], *n; s; s = n) {
			n = s->next;
			free(s);
		}
		for (struct stack *s = p->stacks[b], *n; s; s = n) {
			n = s->next;
			free(s->frames);
			free(s);
		}
	}
	for (size_t b = 0; b < 1024; b++) {
		for (struct proc *pr = p->procs[b], *n; pr; pr = n) {
			n = pr->next;
			set_dirs(pr, -1, -1);
			free(pr);
		}
	}
	free(p);
}
