// SPDX-License-Identifier: GPL-2.0
/* mt_parse_args: argv → struct mt_config, or a usage error (SPEC: command line). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "formats.h"
#include "unit.h"

/*
 * An argv with argv[0] and the NULL at the end: ARGV("-p", "1"). A compound literal lives only
 * to the end of its block, and CHECK/REQUIRE are blocks: when cfg.argv will be looked at, keep
 * it in a variable (char **argv = ARGV(...)) rather than writing it inside REQUIRE(...).
 */
#define ARGV(...) ((char *[]){ "memtrace-bpf", ##__VA_ARGS__, NULL })

/* what one mt_parse_args call wrote on stdout and stderr */
struct output {
	char out[8192];
	char err[4096];
};

static void read_back(FILE *f, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	if (!f)
		return;
	rewind(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* mt_parse_args(argv) with file descriptors 1 and 2 captured into tmpfiles */
static enum mt_args_result parse(char **argv, struct mt_config *cfg, struct output *o)
{
	FILE *out = tmpfile(), *err = tmpfile();
	int saved_out, saved_err, argc = 0;
	enum mt_args_result r;

	while (argv[argc])
		argc++;
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(STDOUT_FILENO);
	saved_err = dup(STDERR_FILENO);
	if (out)
		dup2(fileno(out), STDOUT_FILENO);
	if (err)
		dup2(fileno(err), STDERR_FILENO);
	r = mt_parse_args(argc, argv, cfg);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, STDOUT_FILENO);
	dup2(saved_err, STDERR_FILENO);
	close(saved_out);
	close(saved_err);
	read_back(out, o->out, sizeof(o->out));
	read_back(err, o->err, sizeof(o->err));
	return r;
}

static const char *result_name(enum mt_args_result r)
{
	switch (r) {
	case MT_ARGS_OK:
		return "OK";
	case MT_ARGS_EXIT:
		return "EXIT";
	case MT_ARGS_USAGE:
		return "USAGE";
	}
	return "?";
}

static const char *joined(char **argv)
{
	static char buf[512];
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 1; argv[i] && n < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s'%s'", i > 1 ? " " : "", argv[i]);
	return buf;
}

/*
 * Parse argv, which must succeed silently; cfg is left for the caller to check and
 * mt_config_free. Returns 0 if it did not (the failure is already recorded).
 */
static int expect_ok_at(char **argv, struct mt_config *cfg, const char *file, int line)
{
	struct output o;
	enum mt_args_result r = parse(argv, cfg, &o);

	if (r != MT_ARGS_OK) {
		ut_fail(file, line, "[%s]: %s, want OK; stderr: %s", joined(argv), result_name(r),
			o.err);
		return 0;
	}
	if (o.out[0] || o.err[0])
		ut_fail(file, line, "[%s]: printed \"%s\" / \"%s\", want nothing", joined(argv),
			o.out, o.err);
	return 1;
}

/*
 * Parse argv, which must be a usage error: MT_ARGS_USAGE, nothing on stdout, and on stderr
 * exactly one line starting "memtrace-bpf: ". The line is copied to err (if not NULL).
 */
static void expect_usage_at(char **argv, char *err, size_t err_len, const char *file, int line)
{
	struct output o;
	struct mt_config cfg;
	enum mt_args_result r = parse(argv, &cfg, &o);
	size_t len = strlen(o.err);

	mt_config_free(&cfg);
	if (err)
		snprintf(err, err_len, "%s", o.err);
	if (r != MT_ARGS_USAGE)
		ut_fail(file, line, "[%s]: %s, want USAGE", joined(argv), result_name(r));
	if (o.out[0])
		ut_fail(file, line, "[%s]: printed \"%s\" on stdout", joined(argv), o.out);
	if (strncmp(o.err, "memtrace-bpf: ", strlen("memtrace-bpf: ")) || !len ||
	    o.err[len - 1] != '\n' || strchr(o.err, '\n') != &o.err[len - 1])
		ut_fail(file, line, "[%s]: stderr \"%s\", want one line \"memtrace-bpf: ...\"",
			joined(argv), o.err);
}

#define EXPECT_OK(argv, cfg) expect_ok_at((argv), (cfg), __FILE__, __LINE__)
#define EXPECT_USAGE(argv) expect_usage_at((argv), NULL, 0, __FILE__, __LINE__)
#define EXPECT_USAGE_MSG(argv, buf) expect_usage_at((argv), (buf), sizeof(buf), __FILE__, __LINE__)

/* ---- many runs of a COMMAND ---- */

TEST(repeat_and_warmup)
{
	struct mt_config cfg;

	REQUIRE(EXPECT_OK(ARGV("--repeat", "5", "--warmup", "2", "true"), &cfg));
	CHECK_EQ_U64(cfg.repeat, 5);
	CHECK_EQ_U64(cfg.warmup, 2);
	CHECK(!cfg.find_min_limit);
	mt_config_free(&cfg);
	/* --warmup alone: one counted run after the warm-ups */
	REQUIRE(EXPECT_OK(ARGV("--warmup", "1", "true"), &cfg));
	CHECK_EQ_U64(cfg.repeat, 0);
	CHECK_EQ_U64(cfg.warmup, 1);
	mt_config_free(&cfg);
	REQUIRE(EXPECT_OK(ARGV("--repeat", "3", "-m", "100M", "-F", "jsonl", "true"), &cfg));
	CHECK_EQ_U64(cfg.repeat, 3);
	mt_config_free(&cfg);
}

TEST(repeat_invalid)
{
	char err[512];

	EXPECT_USAGE_MSG(ARGV("--repeat", "0", "true"), err);
	CHECK(strstr(err, "invalid --repeat '0'") != NULL);
	EXPECT_USAGE(ARGV("--repeat", "x", "true"));
	EXPECT_USAGE(ARGV("--repeat", "-1", "true"));
	EXPECT_USAGE(ARGV("--repeat", "10001", "true"));
	EXPECT_USAGE(ARGV("--warmup", "10001", "true"));
	EXPECT_USAGE(ARGV("--warmup", "", "true"));
	EXPECT_USAGE(ARGV("--repeat"));
}

TEST(repeat_needs_a_command)
{
	char err[512];

	EXPECT_USAGE_MSG(ARGV("--repeat", "3", "-p", "1"), err);
	CHECK(strstr(err, "--repeat only applies to a COMMAND") != NULL);
	EXPECT_USAGE(ARGV("--repeat", "3", "-a"));
	EXPECT_USAGE(ARGV("--warmup", "1", "-G", "/sys/fs/cgroup"));
	EXPECT_USAGE(ARGV("--find-min-limit", "-a"));
}

TEST(repeat_does_not_go_with)
{
	char err[512];

	EXPECT_USAGE_MSG(ARGV("--repeat", "2", "-d", "1s", "true"), err);
	CHECK(strstr(err, "-d cannot go with --repeat") != NULL);
	EXPECT_USAGE_MSG(ARGV("--repeat", "2", "-F", "mprof", "true"), err);
	CHECK(strstr(err, "-F mprof holds one run") != NULL);
	EXPECT_USAGE_MSG(ARGV("--repeat", "2", "--python", "true"), err);
	CHECK(strstr(err, "--python reports one run") != NULL);
	EXPECT_USAGE(ARGV("--repeat", "2", "--lines", "x.txt", "true"));
}

TEST(find_min_limit_options)
{
	struct mt_config cfg;
	char err[512];

	REQUIRE(EXPECT_OK(ARGV("--find-min-limit", "--resolution", "2M", "--trial-timeout", "30s",
			       "true"),
			  &cfg));
	CHECK(cfg.find_min_limit);
	CHECK_EQ_U64(cfg.resolution_bytes, 2 << 20);
	CHECK_EQ_U64(cfg.trial_timeout_ns, 30000000000ULL);
	mt_config_free(&cfg);
	EXPECT_USAGE_MSG(ARGV("--find-min-limit", "-m", "1G", "true"), err);
	CHECK(strstr(err, "leave out -m") != NULL);
	EXPECT_USAGE_MSG(ARGV("--find-min-limit", "--repeat", "2", "true"), err);
	CHECK(strstr(err, "cannot go together") != NULL);
	EXPECT_USAGE_MSG(ARGV("--find-min-limit", "-d", "5s", "true"), err);
	CHECK(strstr(err, "--trial-timeout") != NULL);
	EXPECT_USAGE_MSG(ARGV("--resolution", "1M", "true"), err);
	CHECK(strstr(err, "--resolution only applies with --find-min-limit") != NULL);
	EXPECT_USAGE_MSG(ARGV("--trial-timeout", "1s", "true"), err);
	CHECK(strstr(err, "--trial-timeout only applies") != NULL);
	EXPECT_USAGE(ARGV("--find-min-limit", "--resolution", "0", "true"));
	EXPECT_USAGE(ARGV("--find-min-limit", "--resolution", "lots", "true"));
	EXPECT_USAGE(ARGV("--find-min-limit", "--trial-timeout", "0", "true"));
	EXPECT_USAGE(ARGV("--find-min-limit", "--trial-timeout", "soon", "true"));
}

TEST(summary_json_option)
{
	struct mt_config cfg;

	REQUIRE(EXPECT_OK(ARGV("--summary-json", "s.json", "-p", "1"), &cfg));
	CHECK_STREQ(cfg.summary_json_path, "s.json");
	mt_config_free(&cfg);
	EXPECT_USAGE(ARGV("--summary-json", "", "true"));
	EXPECT_USAGE(ARGV("--summary-json"));
	/* both on stdout would be one stream nobody can split */
	EXPECT_USAGE(ARGV("--summary-json", "-", "true"));
	EXPECT_USAGE(ARGV("--summary-json", "-", "-o", "-", "true"));
	REQUIRE(EXPECT_OK(ARGV("--summary-json", "-", "-o", "t.csv", "true"), &cfg));
	mt_config_free(&cfg);
}

TEST(prometheus_option)
{
	struct mt_config cfg;

	REQUIRE(EXPECT_OK(ARGV("-a", "--prometheus", "127.0.0.1:9464"), &cfg));
	CHECK_STREQ(cfg.prometheus, "127.0.0.1:9464");
	CHECK(!cfg.prometheus_addr.any);
	mt_config_free(&cfg);
	REQUIRE(EXPECT_OK(ARGV("--prometheus", ":0", "-p", "1"), &cfg));
	CHECK(cfg.prometheus_addr.any);
	mt_config_free(&cfg);
	REQUIRE(EXPECT_OK(ARGV("--prometheus", "[::1]:9464", "--", "true"), &cfg));
	mt_config_free(&cfg);
	EXPECT_USAGE(ARGV("-a", "--prometheus", "9464"));
	EXPECT_USAGE(ARGV("-a", "--prometheus", "host.example:9464"));
	EXPECT_USAGE(ARGV("-a", "--prometheus", ":70000"));
	EXPECT_USAGE(ARGV("-a", "--prometheus"));
	/* no time series on stdout without -o: the summary JSON may have it */
	REQUIRE(EXPECT_OK(ARGV("--prometheus", ":0", "--summary-json", "-", "true"), &cfg));
	mt_config_free(&cfg);
	EXPECT_USAGE(ARGV("--prometheus", ":0", "--summary-json", "-", "-o", "-", "true"));
}

TEST(oom_log_option)
{
	struct mt_config cfg;

	REQUIRE(EXPECT_OK(ARGV("-a", "--oom-log", "/var/log/oom.jsonl"), &cfg));
	CHECK_STREQ(cfg.oom_log_path, "/var/log/oom.jsonl");
	mt_config_free(&cfg);
	EXPECT_USAGE(ARGV("-a", "--oom-log", ""));
	EXPECT_USAGE(ARGV("-a", "--oom-log"));
}

/* ---- targets ---- */

TEST(defaults)
{
	struct mt_config cfg;

	REQUIRE(EXPECT_OK(ARGV("-p", "1"), &cfg));
	CHECK(cfg.follow_children);
	CHECK_EQ_U64(cfg.interval_ns, MT_DEFAULT_INTERVAL_NS);
	CHECK_EQ_U64(cfg.interval_ns, 100000000);
	CHECK_EQ_U64(cfg.duration_ns, 0);
	CHECK(cfg.output == NULL);
	CHECK(!cfg.every);
	CHECK(!cfg.exact);
	CHECK(!cfg.quiet);
	CHECK_EQ_INT(cfg.verbose, 0);
	CHECK(cfg.user == NULL);
	CHECK(cfg.argv == NULL);
	mt_config_free(&cfg);
}

TEST(pid_single)
{
	struct mt_config cfg;

	REQUIRE(EXPECT_OK(ARGV("-p", "1"), &cfg));
	CHECK_EQ_INT(cfg.target, MT_TARGET_PIDS);
	REQUIRE(cfg.nr_pids == 1);
	CHECK_EQ_INT(cfg.pids[0], 1);
	mt_config_free(&cfg);
}

TEST(pid_long_forms)
{
	struct mt_config cfg;

	if (EXPECT_OK(ARGV("--pid", "42"), &cfg)) {
		CHECK(cfg.nr_pids == 1 && cfg.pids[0] == 42);
		mt_config_free(&cfg);
	}
	if (EXPECT_OK(ARGV("--pid=43"), &cfg)) {
		CHECK(cfg.nr_pids == 1 && cfg.pids[0] == 43);
		mt_config_free(&cfg);
	}
	if (EXPECT_OK(ARGV("-p44"), &cfg)) {
		CHECK(cfg.nr_pids == 1 && cfg.pids[0] == 44);
		mt_config_free(&cfg);
	}
}

TEST(pid_list_and_repeats)
{
	struct mt_config cfg;

	REQUIRE(EXPECT_OK(ARGV("-p", "1,2", "-p", "3"), &cfg));
	CHECK_EQ_INT(cfg.target, MT_TARGET_PIDS);
	REQUIRE(cfg.nr_pids == 3);
	CHECK_EQ_INT(cfg.pids[0], 1);
	CHECK_EQ_INT(cfg.pids[1], 2);
	CHECK_EQ_INT(cfg.pids[2], 3);
	mt_config_free(&cfg);
}

TEST(pid_duplicates_deduped)
{
	struct mt_config cfg;

	REQUIRE(EXPECT_OK(ARGV("-p", "5,5", "-p", "6,5", "-p", "6"), &cfg));
	REQUIRE(cfg.nr_pids == 2);
	CHECK_EQ_INT(cfg.pids[0], 5);
	CHECK_EQ_INT(cfg.pids[1], 6);
	mt_config_free(&cfg);
}

TEST(pid_largest)
{
	struct mt_config cfg;

	REQUIRE(EXPECT_OK(ARGV("-p", "2147483647"), &cfg));
	CHECK(cfg.nr_pids == 1 && cfg.pids[0] == 2147483647);
	mt_config_free(&cfg);
}

TEST(pid_invalid_lists)
{
	EXPECT_USAGE(ARGV("-p", "0"));
	EXPECT_USAGE(ARGV("-p", "abc"));
	EXPECT_USAGE(ARGV("-p", "1,"));
	EXPECT_USAGE(ARGV("-p", ",1"));
	EXPECT_USAGE(ARGV("-p", "1,,2"));
	EXPECT_USAGE(ARGV("-p", "-5"));
	EXPECT_USAGE(ARGV("-p", "+5"));
	EXPECT_USAGE(ARGV("-p", "99999999999"));
	EXPECT_USAGE(ARGV("-p", "2147483648"));
	EXPECT_USAGE(ARGV("-p", ""));
	EXPECT_USAGE(ARGV("-p", " 1"));
	EXPECT_USAGE(ARGV("-p", "1 "));
	EXPECT_USAGE(ARGV("-p", "1x"));
	EXPECT_USAGE(ARGV("-p", "1", "-p", "0"));
}

TEST(pid_error_names_the_list)
{
	char err[512];

	EXPECT_USAGE_MSG(ARGV("-p", "12,x"), err);
	CHECK(strstr(err, "'12,x'") != NULL);
}

TEST(command_after_double_dash)
{
	struct mt_config cfg;
	char **argv = ARGV("--", "true");

	REQUIRE(EXPECT_OK(argv, &cfg));
	CHECK_EQ_INT(cfg.target, MT_TARGET_COMMAND);
	REQUIRE(cfg.argv != NULL);
	CHECK(cfg.argv == &argv[2]);
	CHECK_STREQ(cfg.argv[0], "true");
	CHECK(cfg.argv[1] == NULL);
	CHECK_EQ_U64(cfg.nr_pids, 0);
	mt_config_free(&cfg);
}

TEST(command_without_double_dash)
{
	struct mt_config cfg;
	char **argv = ARGV("true");

	REQUIRE(EXPECT_OK(argv, &cfg));
	CHECK_EQ_INT(cfg.target, MT_TARGET_COMMAND);
	REQUIRE(cfg.argv != NULL);
	CHECK(cfg.argv == &argv[1]);
	CHECK_STREQ(cfg.argv[0], "true");
	CHECK(cfg.argv[1] == NULL);
	mt_config_free(&cfg);
}

TEST(command_after_options)
{
	struct mt_config cfg;
	char **argv = ARGV("-i", "1s", "--", "sh", "-c", "exit 3");

	REQUIRE(EXPECT_OK(argv, &cfg));
	CHECK_EQ_INT(cfg.target, MT_TARGET_COMMAND);
	CHECK_EQ_U64(cfg.interval_ns, 1000000000);
	REQUIRE(cfg.argv != NULL);
	CHECK_STREQ(cfg.argv[0], "sh");
	CHECK_STREQ(cfg.argv[1], "-c");
	CHECK_STREQ(cfg.argv[2], "exit 3");
	CHECK(cfg.argv[3] == NULL);
	mt_config_free(&cfg);
}

/* options after COMMAND are COMMAND's own */
TEST(command_keeps_its_options)
{
	struct mt_config cfg;
	char **argv = ARGV("true", "-p", "5", "--help");

	REQUIRE(EXPECT_OK(argv, &cfg));
	CHECK_EQ_INT(cfg.target, MT_TARGET_COMMAND);
	CHECK_EQ_U64(cfg.nr_pids, 0);
	REQUIRE(cfg.argv != NULL);
	CHECK_STREQ(cfg.argv[0], "true");
	CHECK_STREQ(cfg.argv[1], "-p");
	CHECK_STREQ(cfg.argv[2], "5");
	CHECK_STREQ(cfg.argv[3], "--help");
	mt_config_free(&cfg);
}

TEST(command_double_dash_after_command_is_its_own)
{
	struct mt_config cfg;
	char **argv = ARGV("--", "env", "--", "x");

	REQUIRE(EXPECT_OK(argv, &cfg));
	REQUIRE(cfg.argv != NULL);
	CHECK_STREQ(cfg.argv[0], "env");
	CHECK_STREQ(cfg.argv[1], "--");
	CHECK_STREQ(cfg.argv[2], "x");
	mt_config_free(&cfg);
}

TEST(pids_and_command_is_usage)
{
	EXPECT_USAGE(ARGV("-p", "1", "--", "true"));
	EXPECT_USAGE(ARGV("-p", "1", "true"));
}

TEST(no_target_is_usage)
{
	char err[512];

	EXPECT_USAGE_MSG(ARGV(), err);
	CHECK(strstr(err, "nothing to trace") != NULL);
	EXPECT_USAGE(ARGV("--"));
	EXPECT_USAGE(ARGV("-i", "1s"));
}

/* ---- options ---- */

TEST(interval_values)
{
	struct mt_config cfg;

	if (EXPECT_OK(ARGV("-i", "250ms", "-p", "1"), &cfg)) {
		CHECK_EQ_U64(cfg.interval_ns, 250000000);
		mt_config_free(&cfg);
	}
	if (EXPECT_OK(ARGV("--interval=2.5s", "-p", "1"), &cfg)) {
		CHECK_EQ_U64(cfg.interval_ns, 2500000000ULL);
		mt_config_free(&cfg);
	}
	if (EXPECT_OK(ARGV("-i", "1ms", "-p", "1"), &cfg)) {
		CHECK_EQ_U64(cfg.interval_ns, MT_MIN_INTERVAL_NS);
		mt_config_free(&cfg);
	}
	if (EXPECT_OK(ARGV("-i", "2", "-p", "1"), &cfg)) {
		CHECK_EQ_U64(cfg.interval_ns, 2000000000ULL);
		mt_config_free(&cfg);
	}
}

TEST(interval_invalid)
{
	EXPECT_USAGE(ARGV("-i", "0", "-p", "1"));
	EXPECT_USAGE(ARGV("-i", "500us", "-p", "1"));
	EXPECT_USAGE(ARGV("-i", "abc", "-p", "1"));
	EXPECT_USAGE(ARGV("-i", "", "-p", "1"));
	EXPECT_USAGE(ARGV("-i", "-1s", "-p", "1"));
	EXPECT_USAGE(ARGV("-i", "1S", "-p", "1"));
}

TEST(interval_below_minimum)
{
	char err[512];

	EXPECT_USAGE_MSG(ARGV("-i", "0.5ms", "-p", "1"), err);
	CHECK(strstr(err, "1ms") != NULL);
	EXPECT_USAGE(ARGV("-i", "0.999ms", "-p", "1"));
}

TEST(duration_values)
{
	struct mt_config cfg;

	if (EXPECT_OK(ARGV("-d", "2s", "-p", "1"), &cfg)) {
		CHECK_EQ_U64(cfg.duration_ns, 2000000000ULL);
		mt_config_free(&cfg);
	}
	if (EXPECT_OK(ARGV("--duration", "5m", "-p", "1"), &cfg)) {
		CHECK_EQ_U64(cfg.duration_ns, 300000000000ULL);
		mt_config_free(&cfg);
	}
}

TEST(duration_invalid)
{
	EXPECT_USAGE(ARGV("-d", "0", "-p", "1"));
	EXPECT_USAGE(ARGV("-d", "0ms", "-p", "1"));
	EXPECT_USAGE(ARGV("-d", "abc", "-p", "1"));
	EXPECT_USAGE(ARGV("-d", "", "-p", "1"));
}

TEST(output_file)
{
	struct mt_config cfg;

	if (EXPECT_OK(ARGV("-o", "out.csv", "-p", "1"), &cfg)) {
		CHECK_STREQ(cfg.output, "out.csv");
		mt_config_free(&cfg);
	}
	if (EXPECT_OK(ARGV("--output=-", "-p", "1"), &cfg)) {
		CHECK_STREQ(cfg.output, "-");
		mt_config_free(&cfg);
	}
}

TEST(output_empty_is_usage)
{
	EXPECT_USAGE(ARGV("-o", "", "-p", "1"));
	EXPECT_USAGE(ARGV("--output=", "-p", "1"));
}

TEST(flag_every)
{
	struct mt_config cfg;

	REQUIRE(EXPECT_OK(ARGV("--every", "-p", "1"), &cfg));
	CHECK(cfg.every);
	mt_config_free(&cfg);
}

TEST(flag_exact)
{
	struct mt_config cfg;

	REQUIRE(EXPECT_OK(ARGV("--exact", "-p", "1"), &cfg));
	CHECK(cfg.exact);
	mt_config_free(&cfg);
	/* a COMMAND's own --exact is its own */
	REQUIRE(EXPECT_OK(ARGV("--", "prog", "--exact"), &cfg));
	CHECK(!cfg.exact);
	mt_config_free(&cfg);
	EXPECT_USAGE(ARGV("--exact=1", "-p", "1"));
}

TEST(flag_no_children)
{
	struct mt_config cfg;

	REQUIRE(EXPECT_OK(ARGV("--no-children", "-p", "1"), &cfg));
	CHECK(!cfg.follow_children);
	mt_config_free(&cfg);
}

TEST(flag_quiet)
{
	struct mt_config cfg;

	if (EXPECT_OK(ARGV("-q", "-p", "1"), &cfg)) {
		CHECK(cfg.quiet);
		CHECK_EQ_INT(cfg.verbose, 0);
		mt_config_free(&cfg);
	}
	if (EXPECT_OK(ARGV("--quiet", "-p", "1"), &cfg)) {
		CHECK(cfg.quiet);
		mt_config_free(&cfg);
	}
}

TEST(flag_verbose_counts)
{
	struct mt_config cfg;

	if (EXPECT_OK(ARGV("-v", "-p", "1"), &cfg)) {
		CHECK_EQ_INT(cfg.verbose, 1);
		CHECK(!cfg.quiet);
		mt_config_free(&cfg);
	}
	if (EXPECT_OK(ARGV("-vv", "--verbose", "-p", "1"), &cfg)) {
		CHECK_EQ_INT(cfg.verbose, 3);
		mt_config_free(&cfg);
	}
}

TEST(quiet_and_verbose_is_usage)
{
	EXPECT_USAGE(ARGV("-q", "-v", "-p", "1"));
	EXPECT_USAGE(ARGV("-v", "--quiet", "--", "true"));
}

TEST(user_with_command)
{
	struct mt_config cfg;

	REQUIRE(EXPECT_OK(ARGV("-u", "nobody", "--", "true"), &cfg));
	CHECK_STREQ(cfg.user, "nobody");
	CHECK_EQ_INT(cfg.target, MT_TARGET_COMMAND);
	mt_config_free(&cfg);
}

TEST(user_without_command_is_usage)
{
	EXPECT_USAGE(ARGV("-u", "nobody", "-p", "1"));
	EXPECT_USAGE(ARGV("--user=nobody"));
	EXPECT_USAGE(ARGV("-u", "", "--", "true"));
}

TEST(format_csv_accepted)
{
	struct mt_config cfg;

	if (EXPECT_OK(ARGV("-F", "csv", "-p", "1"), &cfg))
		mt_config_free(&cfg);
	if (EXPECT_OK(ARGV("--format=csv", "-p", "1"), &cfg))
		mt_config_free(&cfg);
}

/* ---- limits: -m, -L, --kill ---- */

TEST(limits_off_by_default)
{
	struct mt_config cfg;

	if (EXPECT_OK(ARGV("-p", "1"), &cfg)) {
		CHECK_EQ_U64(cfg.memory_limit, 0);
		CHECK_EQ_U64(cfg.rss_limit, 0);
		CHECK_EQ_INT(cfg.kill_signal, 0);
		mt_config_free(&cfg);
	}
	if (EXPECT_OK(ARGV("--", "true"), &cfg)) {
		CHECK_EQ_U64(cfg.memory_limit, 0);
		CHECK_EQ_U64(cfg.rss_limit, 0);
		CHECK_EQ_INT(cfg.kill_signal, 0);
		mt_config_free(&cfg);
	}
}

TEST(memory_limit_with_command)
{
	struct mt_config cfg;
	char **argv = ARGV("-m", "256M", "--", "true");

	REQUIRE(EXPECT_OK(argv, &cfg));
	CHECK_EQ_U64(cfg.memory_limit, 268435456ULL);
	CHECK_EQ_INT(cfg.target, MT_TARGET_COMMAND);
	REQUIRE(cfg.argv != NULL);
	CHECK_STREQ(cfg.argv[0], "true");
	CHECK_EQ_U64(cfg.rss_limit, 0);
	CHECK_EQ_INT(cfg.kill_signal, 0);
	mt_config_free(&cfg);
	/* after COMMAND, -m is COMMAND's own */
	argv = ARGV("--", "true", "-m", "256M");
	REQUIRE(EXPECT_OK(argv, &cfg));
	CHECK_EQ_U64(cfg.memory_limit, 0);
	REQUIRE(cfg.argv != NULL);
	CHECK_STREQ(cfg.argv[1], "-m");
	mt_config_free(&cfg);
}

TEST(memory_limit_long_forms)
{
	struct mt_config cfg;

	if (EXPECT_OK(ARGV("--memory-limit=1G", "--", "true"), &cfg)) {
		CHECK_EQ_U64(cfg.memory_limit, 1073741824ULL);
		mt_config_free(&cfg);
	}
	if (EXPECT_OK(ARGV("--memory-limit", "2G", "true"), &cfg)) {
		CHECK_EQ_U64(cfg.memory_limit, 2147483648ULL);
		mt_config_free(&cfg);
	}
	if (EXPECT_OK(ARGV("-m512M", "true"), &cfg)) {
		CHECK_EQ_U64(cfg.memory_limit, 536870912ULL);
		mt_config_free(&cfg);
	}
	/* the smallest limit accepted */
	if (EXPECT_OK(ARGV("-m", "1M", "--", "true"), &cfg)) {
		CHECK_EQ_U64(cfg.memory_limit, MT_MIN_MEMORY_LIMIT);
		CHECK_EQ_U64(cfg.memory_limit, 1048576);
		mt_config_free(&cfg);
	}
}

TEST(memory_limit_needs_a_command)
{
	char err[512];

	EXPECT_USAGE_MSG(ARGV("-m", "256M", "-p", "1"), err);
	CHECK(strstr(err, "-m/--memory-limit only applies to a COMMAND") != NULL);
	EXPECT_USAGE(ARGV("-p", "1", "--memory-limit=1G"));
	EXPECT_USAGE(ARGV("-m", "256M"));
}

TEST(memory_limit_invalid)
{
	char err[512];

	EXPECT_USAGE_MSG(ARGV("-m", "bogus", "--", "true"), err);
	CHECK(strstr(err, "invalid memory limit 'bogus'") != NULL);
	EXPECT_USAGE(ARGV("-m", "", "--", "true"));
	EXPECT_USAGE(ARGV("-m", "-1G", "--", "true"));
	EXPECT_USAGE(ARGV("-m", "1.5", "--", "true"));
	EXPECT_USAGE(ARGV("-m", "1P", "--", "true"));
	EXPECT_USAGE(ARGV("-m", "--", "true")); /* "--" taken as -m's argument */
}

TEST(memory_limit_below_the_minimum)
{
	char err[512];

	EXPECT_USAGE_MSG(ARGV("-m", "0", "--", "true"), err);
	CHECK(strstr(err, "memory limit '0' is too small") != NULL);
	EXPECT_USAGE_MSG(ARGV("-m", "512K", "--", "true"), err);
	CHECK(strstr(err, "'512K'") != NULL);
	CHECK(strstr(err, "1M") != NULL);
	EXPECT_USAGE(ARGV("-m", "1048575", "--", "true"));
	EXPECT_USAGE(ARGV("-m", "0.99M", "--", "true"));
}

TEST(rss_limit_with_pids)
{
	struct mt_config cfg;

	REQUIRE(EXPECT_OK(ARGV("-L", "100M", "-p", "1"), &cfg));
	CHECK_EQ_U64(cfg.rss_limit, 104857600ULL);
	CHECK_EQ_INT(cfg.target, MT_TARGET_PIDS);
	CHECK_EQ_INT(cfg.kill_signal, 0); /* warn only */
	CHECK_EQ_U64(cfg.memory_limit, 0);
	mt_config_free(&cfg);
}

TEST(rss_limit_with_command)
{
	struct mt_config cfg;
	char **argv = ARGV("--rss-limit=2G", "--", "true");

	if (EXPECT_OK(argv, &cfg)) {
		CHECK_EQ_U64(cfg.rss_limit, 2147483648ULL);
		CHECK_EQ_INT(cfg.target, MT_TARGET_COMMAND);
		CHECK(cfg.argv == &argv[3]);
		mt_config_free(&cfg);
	}
	/* with -m as well: two different limits */
	if (EXPECT_OK(ARGV("-m", "256M", "-L", "100M", "true"), &cfg)) {
		CHECK_EQ_U64(cfg.memory_limit, 268435456ULL);
		CHECK_EQ_U64(cfg.rss_limit, 104857600ULL);
		mt_config_free(&cfg);
	}
	/* below -m's minimum is fine for -L */
	if (EXPECT_OK(ARGV("-L", "4K", "-p", "1"), &cfg)) {
		CHECK_EQ_U64(cfg.rss_limit, 4096);
		mt_config_free(&cfg);
	}
}

TEST(rss_limit_invalid)
{
	char err[512];

	EXPECT_USAGE_MSG(ARGV("-L", "0", "-p", "1"), err);
	CHECK(strstr(err, "RSS limit '0' must be more than zero") != NULL);
	EXPECT_USAGE_MSG(ARGV("-L", "x", "-p", "1"), err);
	CHECK(strstr(err, "invalid RSS limit 'x'") != NULL);
	EXPECT_USAGE(ARGV("-L", "", "-p", "1"));
	EXPECT_USAGE(ARGV("-L", "-1M", "-p", "1"));
	EXPECT_USAGE(ARGV("--rss-limit=0K", "-p", "1"));
	EXPECT_USAGE(ARGV("-p", "1", "-L"));
}

TEST(kill_needs_rss_limit)
{
	char err[512];

	EXPECT_USAGE_MSG(ARGV("--kill", "-p", "1"), err);
	CHECK(strstr(err, "--kill needs -L/--rss-limit") != NULL);
	EXPECT_USAGE(ARGV("--kill=9", "-p", "1"));
	EXPECT_USAGE(ARGV("--kill", "--", "true"));
	EXPECT_USAGE(ARGV("-m", "256M", "--kill", "--", "true"));
}

TEST(kill_default_is_sigkill)
{
	struct mt_config cfg;

	if (EXPECT_OK(ARGV("-L", "1G", "--kill", "-p", "1"), &cfg)) {
		CHECK_EQ_INT(cfg.kill_signal, SIGKILL);
		CHECK_EQ_U64(cfg.rss_limit, 1073741824ULL);
		mt_config_free(&cfg);
	}
	/* order does not matter */
	if (EXPECT_OK(ARGV("--kill", "-p", "1", "-L", "1G"), &cfg)) {
		CHECK_EQ_INT(cfg.kill_signal, SIGKILL);
		mt_config_free(&cfg);
	}
	if (EXPECT_OK(ARGV("-L", "1G", "--kill", "--", "true"), &cfg)) {
		CHECK_EQ_INT(cfg.kill_signal, SIGKILL);
		CHECK_EQ_INT(cfg.target, MT_TARGET_COMMAND);
		mt_config_free(&cfg);
	}
}

TEST(kill_with_a_signal)
{
	struct mt_config cfg;

	if (EXPECT_OK(ARGV("-L", "1G", "--kill=TERM", "-p", "1"), &cfg)) {
		CHECK_EQ_INT(cfg.kill_signal, SIGTERM);
		mt_config_free(&cfg);
	}
	if (EXPECT_OK(ARGV("-L", "1G", "--kill=15", "-p", "1"), &cfg)) {
		CHECK_EQ_INT(cfg.kill_signal, 15);
		mt_config_free(&cfg);
	}
	if (EXPECT_OK(ARGV("-L", "1G", "--kill=SIGUSR1", "-p", "1"), &cfg)) {
		CHECK_EQ_INT(cfg.kill_signal, SIGUSR1);
		mt_config_free(&cfg);
	}
	if (EXPECT_OK(ARGV("-L", "1G", "--kill=kill", "-p", "1"), &cfg)) {
		CHECK_EQ_INT(cfg.kill_signal, SIGKILL);
		mt_config_free(&cfg);
	}
	if (EXPECT_OK(ARGV("-L", "1G", "--kill=RTMIN+2", "-p", "1"), &cfg)) {
		CHECK_EQ_INT(cfg.kill_signal, SIGRTMIN + 2);
		mt_config_free(&cfg);
	}
	/* the last --kill wins */
	if (EXPECT_OK(ARGV("-L", "1G", "--kill=TERM", "--kill", "-p", "1"), &cfg)) {
		CHECK_EQ_INT(cfg.kill_signal, SIGKILL);
		mt_config_free(&cfg);
	}
}

TEST(kill_unknown_signal)
{
	char err[512];

	EXPECT_USAGE_MSG(ARGV("-L", "1G", "--kill=BOGUS", "-p", "1"), err);
	CHECK(strstr(err, "BOGUS") != NULL);
	CHECK(strstr(err, "unknown signal") != NULL);
	EXPECT_USAGE_MSG(ARGV("-L", "1G", "--kill=0", "-p", "1"), err);
	CHECK(strstr(err, "--kill=0") != NULL);
	EXPECT_USAGE(ARGV("-L", "1G", "--kill=65", "-p", "1"));
	EXPECT_USAGE(ARGV("-L", "1G", "--kill=", "-p", "1"));
	EXPECT_USAGE(ARGV("-L", "1G", "--kill=SIG", "-p", "1"));
}

/* an optional argument must be attached: "--kill TERM" is --kill, then COMMAND "TERM" */
TEST(kill_signal_as_separate_word_is_the_command)
{
	struct mt_config cfg;
	char **argv = ARGV("-L", "1G", "--kill", "TERM");

	REQUIRE(EXPECT_OK(argv, &cfg));
	CHECK_EQ_INT(cfg.kill_signal, SIGKILL);
	CHECK_EQ_INT(cfg.target, MT_TARGET_COMMAND);
	REQUIRE(cfg.argv != NULL);
	CHECK(cfg.argv == &argv[4]);
	CHECK_STREQ(cfg.argv[0], "TERM");
	CHECK(cfg.argv[1] == NULL);
	mt_config_free(&cfg);
	/* so with -p it is a PID-and-COMMAND usage error */
	EXPECT_USAGE(ARGV("-L", "1G", "-p", "1", "--kill", "TERM"));
}

TEST(all_target)
{
	struct mt_config cfg;

	REQUIRE(EXPECT_OK(ARGV("-a"), &cfg));
	CHECK_EQ_INT(cfg.target, MT_TARGET_ALL);
	CHECK_EQ_U64(cfg.max_procs, MT_DEFAULT_MAX_PROCS);
	mt_config_free(&cfg);
	REQUIRE(EXPECT_OK(ARGV("--all", "-i", "1s", "--no-children"), &cfg));
	CHECK_EQ_INT(cfg.target, MT_TARGET_ALL);
	CHECK(!cfg.follow_children);
	mt_config_free(&cfg);
}

TEST(cgroup_target)
{
	struct mt_config cfg;

	REQUIRE(EXPECT_OK(ARGV("-G", "/sys/fs/cgroup/x"), &cfg));
	CHECK_EQ_INT(cfg.target, MT_TARGET_CGROUP);
	CHECK_STREQ(cfg.cgroup, "/sys/fs/cgroup/x");
	mt_config_free(&cfg);
	REQUIRE(EXPECT_OK(ARGV("--cgroup=system.slice/a b", "-L", "1G"), &cfg));
	CHECK_STREQ(cfg.cgroup, "system.slice/a b");
	mt_config_free(&cfg);
}

TEST(one_target_only)
{
	char err[512];

	EXPECT_USAGE_MSG(ARGV("-a", "-p", "1"), err);
	CHECK(strstr(err, "exactly one target") != NULL);
	EXPECT_USAGE(ARGV("-p", "1", "-a"));
	EXPECT_USAGE(ARGV("-a", "-a"));
	EXPECT_USAGE(ARGV("-a", "-G", "/"));
	EXPECT_USAGE(ARGV("-G", "/", "-G", "/x"));
	EXPECT_USAGE(ARGV("-G", "/", "--", "true"));
	EXPECT_USAGE(ARGV("-a", "true"));
	EXPECT_USAGE(ARGV("-G", ""));
	EXPECT_USAGE(ARGV("-m", "1G", "-a"));
	EXPECT_USAGE(ARGV("-u", "nobody", "-G", "/"));
}

TEST(formats)
{
	struct mt_config cfg;

	REQUIRE(EXPECT_OK(ARGV("-p", "1"), &cfg));
	CHECK(cfg.format == mt_format_by_name("csv"));
	mt_config_free(&cfg);
	REQUIRE(EXPECT_OK(ARGV("-F", "jsonl", "-p", "1"), &cfg));
	CHECK(cfg.format == mt_format_by_name("jsonl"));
	mt_config_free(&cfg);
	REQUIRE(EXPECT_OK(ARGV("--format=mprof", "-a"), &cfg));
	CHECK(cfg.format == mt_format_by_name("mprof"));
	mt_config_free(&cfg);
	EXPECT_USAGE(ARGV("-F", "CSV", "-p", "1"));
	EXPECT_USAGE(ARGV("-F", "", "-p", "1"));
	EXPECT_USAGE(ARGV("-F", "json", "-p", "1"));
}

TEST(max_procs)
{
	struct mt_config cfg;

	REQUIRE(EXPECT_OK(ARGV("--max-procs", "16", "-a"), &cfg));
	CHECK_EQ_U64(cfg.max_procs, 16);
	mt_config_free(&cfg);
	REQUIRE(EXPECT_OK(ARGV("--max-procs=4194304", "-a"), &cfg));
	CHECK_EQ_U64(cfg.max_procs, 4194304);
	mt_config_free(&cfg);
	EXPECT_USAGE(ARGV("--max-procs", "15", "-a"));
	EXPECT_USAGE(ARGV("--max-procs", "4194305", "-a"));
	EXPECT_USAGE(ARGV("--max-procs", "0", "-a"));
	EXPECT_USAGE(ARGV("--max-procs", "-1", "-a"));
	EXPECT_USAGE(ARGV("--max-procs", "1k", "-a"));
	EXPECT_USAGE(ARGV("--max-procs", "", "-a"));
	EXPECT_USAGE(ARGV("--max-procs", "99999999999999999999", "-a"));
}

TEST(live_option)
{
	struct mt_config cfg;

	REQUIRE(EXPECT_OK(ARGV("--live", "-a"), &cfg));
	CHECK(cfg.live);
	mt_config_free(&cfg);
	REQUIRE(EXPECT_OK(ARGV("-a"), &cfg));
	CHECK(!cfg.live);
	mt_config_free(&cfg);
	EXPECT_USAGE(ARGV("--live", "-q", "-a"));
}

TEST(unknown_options_are_usage)
{
	char err[512];

	EXPECT_USAGE_MSG(ARGV("--bogus", "-p", "1"), err);
	CHECK(strstr(err, "--bogus") != NULL);
	EXPECT_USAGE_MSG(ARGV("-Z", "-p", "1"), err);
	CHECK(strstr(err, "-Z") != NULL);
	EXPECT_USAGE(ARGV("-p", "1", "-x"));
}

TEST(missing_argument_is_usage)
{
	EXPECT_USAGE(ARGV("-p"));
	EXPECT_USAGE(ARGV("--pid"));
	EXPECT_USAGE(ARGV("-p", "1", "-i"));
	EXPECT_USAGE(ARGV("-p", "1", "--duration"));
	EXPECT_USAGE(ARGV("-p", "1", "-o"));
}

/* the message names the option that lacks its argument */
TEST(missing_argument_message_names_the_option)
{
	char err[512];

	EXPECT_USAGE_MSG(ARGV("-p"), err);
	CHECK_STREQ(err, "memtrace-bpf: option -p needs an argument (see --help)\n");
	EXPECT_USAGE_MSG(ARGV("-p", "1", "-i"), err);
	CHECK(strstr(err, "-i needs an argument") != NULL);
}

/* ---- --help, --version ---- */

TEST(help_exits)
{
	struct mt_config cfg;
	struct output o;

	CHECK_EQ_INT(parse(ARGV("--help"), &cfg, &o), MT_ARGS_EXIT);
	mt_config_free(&cfg);
	CHECK(!strncmp(o.out, "Usage: memtrace-bpf", strlen("Usage: memtrace-bpf")));
	CHECK_STREQ(o.err, "");
	CHECK_EQ_INT(parse(ARGV("-h"), &cfg, &o), MT_ARGS_EXIT);
	mt_config_free(&cfg);
	CHECK(!strncmp(o.out, "Usage: memtrace-bpf", strlen("Usage: memtrace-bpf")));
}

TEST(version_exits)
{
	struct mt_config cfg;
	struct output o;

	CHECK_EQ_INT(parse(ARGV("--version"), &cfg, &o), MT_ARGS_EXIT);
	mt_config_free(&cfg);
	CHECK_STREQ(o.out, "memtrace-bpf " MT_VERSION "\n");
	CHECK_STREQ(o.err, "");
	CHECK_EQ_INT(parse(ARGV("-V"), &cfg, &o), MT_ARGS_EXIT);
	mt_config_free(&cfg);
	CHECK_STREQ(o.out, "memtrace-bpf " MT_VERSION "\n");
}

/* ---- repeated calls ---- */

/* glibc getopt keeps a cursor inside a cluster such as "-Zq"; optind = 0 resets it, 1 does not */
static void reset_getopt(void)
{
	char *argv[] = { "reset", NULL };

	optind = 0;
	getopt(1, argv, "+");
}

/* a parse that stops inside "-Zq" must not leak the "q" into the next parse */
TEST(reparse_after_error_inside_option_cluster)
{
	struct mt_config cfg;

	EXPECT_USAGE(ARGV("-Zq"));
	if (EXPECT_OK(ARGV("-p", "1"), &cfg)) {
		CHECK(!cfg.quiet);
		mt_config_free(&cfg);
	}
	reset_getopt(); /* whatever the outcome, leave a clean getopt for later tests */
}

TEST(reparse_gives_fresh_config)
{
	struct mt_config cfg;

	if (EXPECT_OK(ARGV("-q", "--every", "-i", "1s", "-L", "1G", "--kill=TERM", "-p", "1,2"),
		      &cfg))
		mt_config_free(&cfg);
	REQUIRE(EXPECT_OK(ARGV("-p", "3"), &cfg));
	CHECK(!cfg.quiet);
	CHECK_EQ_U64(cfg.rss_limit, 0);
	CHECK_EQ_INT(cfg.kill_signal, 0);
	CHECK(!cfg.every);
	CHECK_EQ_U64(cfg.interval_ns, MT_DEFAULT_INTERVAL_NS);
	CHECK(cfg.nr_pids == 1 && cfg.pids[0] == 3);
	mt_config_free(&cfg);
}

TEST(config_free_twice_is_harmless)
{
	struct mt_config cfg;

	REQUIRE(EXPECT_OK(ARGV("-p", "1,2"), &cfg));
	mt_config_free(&cfg);
	CHECK(cfg.pids == NULL);
	CHECK_EQ_U64(cfg.nr_pids, 0);
	mt_config_free(&cfg);
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(defaults),
		UT(pid_single),
		UT(pid_long_forms),
		UT(pid_list_and_repeats),
		UT(pid_duplicates_deduped),
		UT(pid_largest),
		UT(pid_invalid_lists),
		UT(pid_error_names_the_list),
		UT(command_after_double_dash),
		UT(command_without_double_dash),
		UT(command_after_options),
		UT(command_keeps_its_options),
		UT(command_double_dash_after_command_is_its_own),
		UT(pids_and_command_is_usage),
		UT(no_target_is_usage),
		UT(interval_values),
		UT(interval_invalid),
		UT(interval_below_minimum),
		UT(duration_values),
		UT(duration_invalid),
		UT(output_file),
		UT(output_empty_is_usage),
		UT(flag_every),
		UT(flag_exact),
		UT(flag_no_children),
		UT(flag_quiet),
		UT(flag_verbose_counts),
		UT(quiet_and_verbose_is_usage),
		UT(user_with_command),
		UT(user_without_command_is_usage),
		UT(format_csv_accepted),
		UT(limits_off_by_default),
		UT(memory_limit_with_command),
		UT(memory_limit_long_forms),
		UT(memory_limit_needs_a_command),
		UT(memory_limit_invalid),
		UT(memory_limit_below_the_minimum),
		UT(rss_limit_with_pids),
		UT(rss_limit_with_command),
		UT(rss_limit_invalid),
		UT(kill_needs_rss_limit),
		UT(kill_default_is_sigkill),
		UT(kill_with_a_signal),
		UT(kill_unknown_signal),
		UT(kill_signal_as_separate_word_is_the_command),
		UT(repeat_and_warmup),
		UT(repeat_invalid),
		UT(repeat_needs_a_command),
		UT(repeat_does_not_go_with),
		UT(find_min_limit_options),
		UT(summary_json_option),
		UT(prometheus_option),
		UT(oom_log_option),
		UT(all_target),
		UT(cgroup_target),
		UT(one_target_only),
		UT(formats),
		UT(max_procs),
		UT(live_option),
		UT(unknown_options_are_usage),
		UT(missing_argument_is_usage),
		UT(missing_argument_message_names_the_option),
		UT(help_exits),
		UT(version_exits),
		UT(reparse_gives_fresh_config),
		UT(config_free_twice_is_harmless),
		/* last: it may leave getopt in a bad state (it resets it, but to be safe) */
		UT(reparse_after_error_inside_option_cluster),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
