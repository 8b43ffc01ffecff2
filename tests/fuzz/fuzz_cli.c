// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: mt_parse_args (user/cli.c) on a fuzzer-made command line.
 *
 * Input: the arguments after argv[0], each ended by a NUL byte (an unterminated tail is the
 * last one; "a\0\0" is "a" and ""). argv[0] is "memtrace-bpf".
 *
 * mt_parse_args never exits: it returns OK, EXIT (--help/--version printed) or USAGE (one error
 * line printed). stdout and stderr are captured per run (glibc's stdout/stderr are plain
 * variables), so the fuzzer stays quiet and what was printed is checked too. Checked, abort()
 * on violation:
 *  - the result is one of the three, and what was printed matches it: nothing for OK, the
 *    usage or the version on stdout for EXIT, exactly "memtrace-bpf: ... (see --help)\n" on
 *    stderr for USAGE, without control bytes unless the arguments themselves had some;
 *  - an accepted configuration obeys every rule the parser states (one target, ranges of -i,
 *    --max-procs, -m, -L, --kill, options that need a COMMAND, -q against -v/--live, pids
 *    positive and distinct, COMMAND pointing into argv);
 *  - the argv array and its strings are left as they were (no permutation: options stop at
 *    COMMAND);
 *  - a second parse of the same argv gives the same result and configuration (no state kept
 *    from one parse to the next in getopt's globals).
 * ASan/UBSan/LSan catch the rest (cfg->pids is freed with mt_config_free).
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "formats.h"
#include "writer.h"

#define MAX_ARGS 256

#define FUZZ_REPORT_STREAM real_stderr
#include "fuzz.h"

static FILE *real_stdout, *real_stderr;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	real_stdout = stdout;
	real_stderr = stderr;
	return 0;
}

struct captured {
	char *out, *err;
	size_t out_len, err_len;
};

static enum mt_args_result parse(int argc, char **argv, struct mt_config *cfg, struct captured *c)
{
	FILE *out = open_memstream(&c->out, &c->out_len);
	FILE *err = open_memstream(&c->err, &c->err_len);
	enum mt_args_result r;

	if (!out || !err)
		abort();
	stdout = out;
	stderr = err;
	r = mt_parse_args(argc, argv, cfg);
	stdout = real_stdout;
	stderr = real_stderr;
	fclose(out);
	fclose(err);
	return r;
}

static bool has_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && !memcmp(s + len - n, suffix, n);
}

static bool points_into(const char *p, char **argv, int argc)
{
	for (int i = 1; i < argc; i++)
		if (p >= argv[i] && p <= argv[i] + strlen(argv[i]))
			return true;
	return false;
}

static void check_config(const struct mt_config *cfg, char **argv, int argc)
{
	ASSERT(cfg->target == MT_TARGET_PIDS || cfg->target == MT_TARGET_COMMAND ||
	       cfg->target == MT_TARGET_ALL || cfg->target == MT_TARGET_CGROUP);
	if (cfg->target == MT_TARGET_PIDS) {
		ASSERT(cfg->nr_pids > 0 && cfg->pids);
		for (size_t i = 0; i < cfg->nr_pids; i++) {
			ASSERT(cfg->pids[i] > 0);
			for (size_t j = 0; j < i; j++)
				ASSERT(cfg->pids[i] != cfg->pids[j]);
		}
	} else {
		ASSERT(cfg->nr_pids == 0);
	}
	if (cfg->target == MT_TARGET_COMMAND) {
		ASSERT(cfg->argv >= argv + 1 && cfg->argv < argv + argc);
	} else {
		ASSERT(cfg->argv == NULL);
		ASSERT(!cfg->user && !cfg->memory_limit);
	}
	if (cfg->target == MT_TARGET_CGROUP)
		ASSERT(cfg->cgroup && *cfg->cgroup && points_into(cfg->cgroup, argv, argc));
	else
		ASSERT(!cfg->cgroup);
	ASSERT(cfg->interval_ns >= MT_MIN_INTERVAL_NS);
	ASSERT(cfg->max_procs >= MT_MIN_MAX_PROCS && cfg->max_procs <= MT_MAX_MAX_PROCS);
	ASSERT(!cfg->memory_limit || cfg->memory_limit >= MT_MIN_MEMORY_LIMIT);
	ASSERT(cfg->kill_signal >= 0 && cfg->kill_signal <= SIGRTMAX);
	ASSERT(!cfg->kill_signal || cfg->rss_limit);
	ASSERT(cfg->format && mt_format_by_name(cfg->format->name) == cfg->format);
	ASSERT(!cfg->output || (*cfg->output && points_into(cfg->output, argv, argc)));
	ASSERT(!cfg->user || (*cfg->user && points_into(cfg->user, argv, argc)));
	ASSERT(!(cfg->quiet && (cfg->live || cfg->verbose)));
	ASSERT(cfg->verbose >= 0);
}

static bool same_config(const struct mt_config *a, const struct mt_config *b)
{
	return a->target == b->target && a->nr_pids == b->nr_pids &&
	       (!a->nr_pids || !memcmp(a->pids, b->pids, a->nr_pids * sizeof(*a->pids))) &&
	       a->argv == b->argv && a->follow_children == b->follow_children &&
	       a->interval_ns == b->interval_ns && a->duration_ns == b->duration_ns &&
	       a->output == b->output && a->format == b->format && a->every == b->every &&
	       a->live == b->live && a->cgroup == b->cgroup && a->max_procs == b->max_procs &&
	       a->quiet == b->quiet && a->verbose == b->verbose && a->user == b->user &&
	       a->memory_limit == b->memory_limit && a->rss_limit == b->rss_limit &&
	       a->kill_signal == b->kill_signal;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char prog[] = "memtrace-bpf";
	char *argv[MAX_ARGS + 2], *saved[MAX_ARGS + 2];
	char *text = malloc(size + 1), *text_copy;
	int argc = 0;
	bool control = false;

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	argv[argc++] = prog;
	for (size_t start = 0; start < size && argc <= MAX_ARGS;) {
		size_t len = strlen(text + start);

		argv[argc++] = text + start;
		control |= has_control(text + start, len);
		start += len + 1;
	}
	argv[argc] = NULL;
	memcpy(saved, argv, sizeof(argv[0]) * (size_t)(argc + 1));
	text_copy = malloc(size + 1);
	if (!text_copy)
		abort();
	memcpy(text_copy, text, size + 1);

	struct mt_config cfg, again;
	struct captured c = { 0 }, c2 = { 0 };
	enum mt_args_result r = parse(argc, argv, &cfg, &c);

	/* nothing rearranged or written into */
	ASSERT(!memcmp(saved, argv, sizeof(argv[0]) * (size_t)(argc + 1)));
	ASSERT(!memcmp(text_copy, text, size + 1));

	switch (r) {
	case MT_ARGS_OK:
		ASSERT(c.out_len == 0 && c.err_len == 0);
		check_config(&cfg, argv, argc);
		break;
	case MT_ARGS_EXIT:
		ASSERT(c.err_len == 0);
		ASSERT(!strncmp(c.out, "Usage: memtrace-bpf ", 20) ||
		       !strcmp(c.out, "memtrace-bpf " MT_VERSION "\n"));
		break;
	case MT_ARGS_USAGE:
		ASSERT(c.out_len == 0);
		ASSERT(c.err_len > 14 && !strncmp(c.err, "memtrace-bpf: ", 14));
		ASSERT(ends_with(c.err, c.err_len, " (see --help)\n"));
		ASSERT(strlen(c.err) == c.err_len);
		/* the message may quote an argument, but makes up no control bytes itself */
		ASSERT(control || !has_control(c.err, c.err_len - 1));
		break;
	default:
		ASSERT(!"unknown result");
	}

	/* the same again: getopt's globals are reset by every parse */
	enum mt_args_result r2 = parse(argc, argv, &again, &c2);

	ASSERT(r2 == r);
	ASSERT(c.out_len == c2.out_len && !memcmp(c.out, c2.out, c.out_len));
	ASSERT(c.err_len == c2.err_len && !memcmp(c.err, c2.err, c.err_len));
	if (r == MT_ARGS_OK)
		ASSERT(same_config(&cfg, &again));

	mt_config_free(&cfg);
	mt_config_free(&again);
	ASSERT(cfg.pids == NULL && cfg.nr_pids == 0);
	free(c.out);
	free(c.err);
	free(c2.out);
	free(c2.err);
	free(text);
	free(text_copy);
	return 0;
}
