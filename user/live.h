/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The live view: a compact top-like table on stderr, redrawn every interval, for people
 * watching a trace. It never touches the time series. On a terminal it redraws in place
 * (and erases itself before any other stderr output, through mt_log_hook); elsewhere each
 * frame is printed after the previous one.
 */
#ifndef MT_LIVE_H
#define MT_LIVE_H

#include <stdbool.h>
#include <stdint.h>
#include "memtrace.h"

struct mt_live;

struct mt_live_opts {
	int fd;		/* where frames go: stderr */
	bool terminal;	/* redraw in place with cursor movement */
	bool color;	/* ANSI colours: growth red, shrink green (off with NO_COLOR, TERM=dumb) */
	unsigned width;	/* columns (0: 80) */
	unsigned height; /* lines of the terminal (0: 24): the frame never takes more than this */
	bool utf8;	/* the locale is UTF-8: the delta column is headed "Δ" (else "DELTA") */
};

/*
 * The options for a view on fd as its environment says: terminal when fd is a tty whose TERM
 * is not "dumb" (a dumb terminal cannot move the cursor); colour on such a terminal unless
 * NO_COLOR is set and not empty; its size (80x24 when unknown); UTF-8 from LC_ALL, LC_CTYPE
 * or LANG.
 */
void live_opts_detect(struct mt_live_opts *opts, int fd);
/* The terminal's size now (TIOCGWINSZ); false if fd is no terminal or does not say. */
bool live_term_size(int fd, unsigned *width, unsigned *height);

struct mt_live_totals {
	uint64_t elapsed_ns;
	uint64_t procs_live;	/* traced processes alive now */
	uint64_t procs_exited;	/* exit rows so far */
	uint64_t rows;		/* rows written to the time series */
	const char *output;	/* where they go ("stdout", a file name) */
	uint64_t oom_kills;
	uint64_t limit_crossings;
	uint64_t lost;		/* ring-buffer records lost + processes not traced (map full) */
};

/* NULL on allocation failure. */
struct mt_live *live_new(const struct mt_live_opts *opts);
void live_free(struct mt_live *l);
/* The terminal was resized: the next frames fit the new size. */
void live_resize(struct mt_live *l, unsigned width, unsigned height);

/*
 * One traced process at this interval. mark is a per-process slot the caller keeps for the
 * live view (initialised to UINT64_MAX): the RSS at its previous frame, for the delta.
 */
void live_proc(struct mt_live *l, uint32_t pid, const struct proc_stats *st, uint64_t *mark);
/* An event a person should see in the frame (an OOM kill, a limit crossing): newest kept. */
void live_event(struct mt_live *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Draw the frame from the processes given since the last one, then forget them. */
void live_render(struct mt_live *l, const struct mt_live_totals *totals);
/* Erase the frame on a terminal (before other output, and at the end); no-op elsewhere. */
void live_clear(struct mt_live *l);

#endif
