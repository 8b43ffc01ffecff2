// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "folded.h"
#include "pyreport.h"
#include "units.h"

#define MIB (1024.0 * 1024.0)

/* The process's record, or one with no directories (its sources are then not quoted). */
static const struct pyprof_proc *proc_of(struct mt_pyprof *p, uint32_t pid)
{
	static struct pyprof_proc unknown = { .root_fd = -1, .cwd_fd = -1 };
	const struct pyprof_proc *pr = pyprof_proc(p, pid);

	if (pr)
		return pr;
	unknown.pid = pid;
	return &unknown;
}

/* ---- source text, read through the process's own root and working directory ---- */

struct source {
	char *text;
	char **lines; /* lines[i]: line i + 1, NUL-terminated */
	size_t n;
};

static void source_load(const struct pyprof_proc *pr, const char *file, struct source *src)
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

static void mib(char *buf, size_t len, double bytes)
{
	snprintf(buf, len, "%.3f MiB", bytes / MIB);
}

static void write_line(FILE *out, int l, const struct pyprof_line *x, const struct source *src)
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
static void write_file_block(struct mt_pyprof *p, FILE *out, const struct pyprof_proc *pr,
			     const struct pyprof_line *rows, size_t n)
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
	shown = calloc((size_t)limit + 2, 1);
	if (!shown)
		abort();
	if (limit)
		pyprof_file_span(p, pr->pid, file, shown, limit + 1);
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
static bool file_matters(const struct pyprof_line *rows, size_t n, uint64_t total)
{
	for (size_t i = 0; i < n; i++)
		if ((rows[i].grown + rows[i].released) * 100 >= total ||
		    rows[i].self_grown >= (1u << 20))
			return true;
	return false;
}

int pyreport_lines(struct mt_pyprof *p, FILE *out)
{
	struct pyprof_lines r = pyprof_lines(p, 0);

	fputs("# memtrace-bpf --python: RSS changes charged to the Python lines that made them.\n"
	      "# Mem usage: the highest RSS of the process while the line ran; Increment: the net\n"
	      "# RSS change while it ran (Grown - Released), the calls it made included;\n"
	      "# Occurrences: the RSS changes charged to it (not its executions).\n\n",
	      out);
	for (size_t i = 0; i < r.n;) {
		const struct pyprof_proc *pr = proc_of(p, r.v[i].pid);
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

void pyreport_frame_text(struct mt_pyprof *p, uint32_t pid, const struct mt_py_frame *f,
			 char *buf, size_t len)
{
	const char *name, *file;
	int line;

	if (!pyprof_frame(p, pid, f, &name, &file, &line))
		snprintf(buf, len, "[code 0x%llx not captured]", (unsigned long long)f->code);
	else if (line < 0)
		snprintf(buf, len, "%s (%s:?)", name, file);
	else
		snprintf(buf, len, "%s (%s:%d)", name, file, line);
}

struct folded_all {
	struct mt_pyprof *p;
	struct mt_folded folded;
};

/* A stack as the folded format's line: root first. */
static void fold_stack(void *ctx, uint32_t pid, const struct mt_py_frame *frames, uint32_t depth,
		       uint64_t grown)
{
	struct folded_all *all = ctx;
	char frame[MT_PY_FILE_LEN + MT_PY_NAME_LEN + 32];
	struct strbuf stack;

	sb_init(&stack);
	if (!depth)
		folded_frame(&stack, "[outside Python code]");
	for (uint32_t i = depth; i-- > 0;) {
		pyreport_frame_text(all->p, pid, &frames[i], frame, sizeof(frame));
		folded_frame(&stack, frame);
	}
	folded_add(&all->folded, &stack, grown);
}

int pyreport_folded(struct mt_pyprof *p, FILE *out)
{
	struct folded_all all = { .p = p };

	pyprof_each_stack(p, fold_stack, &all);
	return folded_write(&all.folded, out);
}

/* ---- the summary and the OOM report ---- */

static int cmp_self_grown(const void *a, const void *b)
{
	const struct pyprof_line *x = a, *y = b;

	return (x->self_grown < y->self_grown) - (x->self_grown > y->self_grown);
}

static void print_top(struct mt_pyprof *p, FILE *out, uint32_t pid, unsigned top, const char *indent)
{
	struct pyprof_lines r = pyprof_lines(p, pid);
	unsigned shown = 0;

	if (r.n)
		qsort(r.v, r.n, sizeof(*r.v), cmp_self_grown);
	for (size_t i = 0; i < r.n && shown < top && r.v[i].self_grown; i++, shown++) {
		const struct pyprof_line *x = &r.v[i];
		const struct pyprof_proc *pr = proc_of(p, x->pid);
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

static void print_frame(struct mt_pyprof *p, FILE *out, const struct pyprof_proc *pr,
			const struct mt_py_frame *f, const char *indent)
{
	const char *name, *file, *text;
	struct source src;
	int line;

	if (!pyprof_frame(p, pr->pid, f, &name, &file, &line)) {
		fprintf(out, "%s[code 0x%llx not captured]\n", indent, (unsigned long long)f->code);
		return;
	}
	source_load(pr, file, &src);
	text = source_line(&src, line);
	while (*text == ' ' || *text == '\t')
		text++;
	if (line < 0)
		fprintf(out, "%s%s:? in %s\n", indent, file, name);
	else
		fprintf(out, "%s%s:%d in %s%s%.*s\n", indent, file, line, name,
			*text ? "  | " : "", 80, text);
	source_free(&src);
}

struct summary_ctx {
	struct mt_pyprof *p;
	FILE *out;
};

/* A process's peak, and what is on no line. */
static void summarize_proc(void *ctx, const struct pyprof_proc *pr)
{
	const struct summary_ctx *t = ctx;
	char size[32], out_grown[32];

	if (!pr->has_peak)
		return;
	mt_format_size(pr->peak.rss, size, sizeof(size));
	if (pr->peak.depth) {
		fprintf(t->out, "  pid %u (%s) reached its peak RSS (%s) at\n", pr->pid, pr->comm,
			size);
		print_frame(t->p, t->out, pr, &pr->peak.frames[0], "    ");
	} else {
		fprintf(t->out, "  pid %u (%s) reached its peak RSS (%s) outside Python code\n",
			pr->pid, pr->comm, size);
	}
	if (pr->rss_found) {
		mt_format_size(pr->rss_found, out_grown, sizeof(out_grown));
		fprintf(t->out, "    %s of RSS before its interpreter was found (at its start or "
				"at -p): on no line\n",
			out_grown);
	}
	if (pr->outside_grown) {
		mt_format_size(pr->outside_grown, out_grown, sizeof(out_grown));
		fprintf(t->out, "    %s grown with no Python frame running (interpreter start-up, "
				"threads without a thread state)\n",
			out_grown);
	}
}

void pyreport_summary(struct mt_pyprof *p, FILE *out, unsigned top)
{
	struct summary_ctx t = { p, out };

	fprintf(out, "  Python lines that grew memory most (the line running at the RSS change):\n");
	print_top(p, out, 0, top, "  ");
	pyprof_each_proc(p, summarize_proc, &t);
}

void pyreport_oom(struct mt_pyprof *p, FILE *out, uint32_t victim, uint32_t trigger)
{
	const struct pyprof_proc *pr = pyprof_proc(p, victim);
	const struct pyprof_stack *k;

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
