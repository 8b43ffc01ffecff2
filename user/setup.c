// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include "exporter.h"
#include "log.h"
#include "maptrack.h"
#include "procfs.h"
#include "runreport.h"
#include "stackprof.h"
#include "sumjson.h"
#include "notify.h"
#include "setup.h"
#include "targets.h"
#include "text.h"
#include "unwind.h"

void setup_init(struct mt_session *s, char **argv, uint64_t launch_mono_ns)
{
	memset(s, 0, sizeof(*s));
	s->argv = argv;
	s->launch_mono_ns = launch_mono_ns;
	s->writer.fd = -1;
	s->bpf.stats_fd = -1;
	s->launcher.go_fd = s->launcher.exec_fd = -1;
	s->child.pidfd = -1;
	s->epoll_fd = -1;
}

int setup_check_privileges(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	const int cap_perfmon = 38, cap_bpf = 39;

	if (geteuid() == 0)
		return 0;
	if (syscall(SYS_capget, &hdr, data) == 0 &&
	    (data[1].effective & (1u << (cap_perfmon - 32))) &&
	    (data[1].effective & (1u << (cap_bpf - 32))))
		return 0;
	mt_err("needs root, or the CAP_BPF and CAP_PERFMON capabilities, to load BPF programs: "
	       "run it with sudo");
	return -1;
}

int setup_read_refusals(struct mt_session *s)
{
	const char *thread = getenv("MEMTRACE_BPF_PY_THREAD");
	const char *offsets = getenv("MEMTRACE_BPF_PY_OFFSETS");
	const char *maps = getenv("MEMTRACE_BPF_MAPS");
	char err[1024];

	/* and --stacks as where the kernel gives no mmap records: /proc/PID/maps alone */
	if (maps && *maps) {
		if (strcmp(maps, "proc")) {
			mt_err("MEMTRACE_BPF_MAPS='%s': expected proc", maps);
			return -1;
		}
		s->maps_proc_only = true;
	}

	/* and the check that the offsets fit the interpreter, made to fail */
	if (offsets && *offsets) {
		if (strcmp(offsets, "wrong")) {
			mt_err("MEMTRACE_BPF_PY_OFFSETS='%s': expected wrong", offsets);
			return -1;
		}
		s->py_wrong_offsets = true;
	}

	/* a diagnostic aid too: each of --python's two ways to a thread's state alone */
	if (thread && *thread) {
		if (!strcmp(thread, "tss")) {
			s->py_no_thread_list = true;
		} else if (!strcmp(thread, "list")) {
			s->py_no_tss = true;
		} else {
			mt_err("MEMTRACE_BPF_PY_THREAD='%s': expected tss or list", thread);
			return -1;
		}
	}

	/* a diagnostic aid: the loader meets the refusals named there as it meets the kernel's */
	if (!mt_parse_refusals(getenv("MEMTRACE_BPF_REFUSE"), s->refuse, err, sizeof(err)))
		return 0;
	mt_err("%s", err);
	return -1;
}

/* --lines, --folded: opened before tracing, so that a path that cannot be written stops it */
static int open_python_reports(struct mt_session *s)
{
	const char *paths[] = { s->cfg.lines_path, s->cfg.folded_path };
	FILE **files[] = { &s->lines_file, &s->folded_file };

	for (size_t i = 0; i < 2; i++) {
		if (!paths[i])
			continue;
		*files[i] = fopen(paths[i], "we");
		if (!*files[i]) {
			mt_err("cannot write to '%s': %s", paths[i], strerror(errno));
			return -1;
		}
	}
	return 0;
}

int setup_open_output(struct mt_session *s)
{
	/* -F: the format of the time series, found in the table by the option parser */
	const struct mt_format_ops *format = s->cfg.format;
	int err;

	/* --prometheus without -o: no time series, unless asked for (rows are made, for the
	 * summary, but not written) */
	const char *path = s->cfg.output;

	s->no_series = s->cfg.prometheus && !path;
	if (s->no_series)
		path = "/dev/null";
	/* the rows' time base is set when tracing starts */
	err = writer_open(&s->writer, path, format, 0, 0, false);
	s->writer.discard = s->no_series;
	if (err == -ENXIO) {
		/* nothing is loaded or launched yet: Ctrl-C here just ends it */
		mt_info("memtrace-bpf: waiting for a process to open the FIFO %s for reading; "
			"tracing starts then (Ctrl-C to give up)",
			s->cfg.output);
		err = writer_open(&s->writer, s->cfg.output, format, 0, 0, true);
	}
	if (err) {
		mt_err("cannot write to '%s': %s%s", s->cfg.output, strerror(-err),
		       err == -ELOOP ? " (a symlink in a shared directory is not followed)" : "");
		return -1;
	}
	if (open_python_reports(s))
		return -1;
	/* --summary-json: a path that cannot be written stops it before anything runs */
	if (s->cfg.summary_json_path) {
		bool out = !strcmp(s->cfg.summary_json_path, "-");

		s->summary_json = out ? stdout : fopen(s->cfg.summary_json_path, "we");
		if (!s->summary_json) {
			mt_err("cannot write to '%s': %s", s->cfg.summary_json_path,
			       strerror(errno));
			return -1;
		}
	}
	if (s->cfg.oom_log_path) {
		/* appended to: a service's log outlives its restarts */
		int fd = open(s->cfg.oom_log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

		s->oom_log = fd >= 0 ? fdopen(fd, "a") : NULL;
		if (!s->oom_log) {
			mt_err("cannot write to '%s': %s", s->cfg.oom_log_path, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
	}
	/* the command when there is one, else how memtrace-bpf was asked */
	mt_shell_quote_argv(s->cfg.target == MT_TARGET_COMMAND ? s->cfg.argv : s->argv,
			    s->cmdline, sizeof(s->cmdline));
	s->writer.cmdline = s->cmdline;
	return 0;
}

/*
 * --python, --stacks: the stack records go to the accounts, the others to the sampler; an exec
 * may have started an interpreter, a fork copied one; an exit ends what was kept to unwind.
 */
static void on_record_stacks(void *ctx, const struct mt_event *e)
{
	struct mt_session *s = ctx;

	switch (e->type) {
	case MT_EV_STACK:
		if (s->stackprof)
			stackprof_on_sample(s->stackprof, (const struct mt_stack_sample *)e);
		return;
	case MT_EV_PY_SAMPLE:
		if (s->stackprof)
			stackprof_on_py_sample(s->stackprof, (const struct mt_py_sample *)e);
		if (!s->pyprof)
			return;
		pyprof_on_sample(s->pyprof, (const struct mt_py_sample *)e);
		if (s->pyattach)
			pyattach_sampled(s->pyattach, (const struct mt_py_sample *)e);
		return;
	case MT_EV_PY_CODE:
		if (s->pyprof)
			pyprof_on_code(s->pyprof, (const struct mt_py_code *)e);
		return;
	}
	sampler_on_event(&s->sampler, e);
	if (s->stackprof && e->type == MT_EV_EXIT) {
		stackprof_exited(s->stackprof, e->pid);
		maptrack_gone(s->maptrack, e->pid);
	}
	/* the files of the image it left are of no use to unwind the new one */
	if (s->unwinder && e->type == MT_EV_EXEC)
		unwinder_forget(s->unwinder, e->pid);
	if (!s->pyattach)
		return;
	if (e->type == MT_EV_EXEC)
		pyattach_check(s->pyattach, e->pid, mt_clock_ns(CLOCK_MONOTONIC));
	else if (e->type == MT_EV_FORK)
		pyattach_forked(s->pyattach, e->pid, e->stats.ppid);
	else if (e->type == MT_EV_EXIT)
		pyattach_exited(s->pyattach, e->pid);
}

/*
 * --stacks: the kernel's records of what processes map, from before the command execs; the
 * unwinder and the accounts over them.
 */
static void start_stacks(struct mt_session *s)
{
	int err;

	s->maptrack = maptrack_new();
	err = s->maps_proc_only ? -EPERM : maptrack_open_perf(s->maptrack);
	if (err)
		mt_warn("--stacks: the kernel's records of mapped files are not available (%s): "
			"a process's files are read from /proc at its first stack, and a process "
			"gone by then has addresses for frames",
			s->maps_proc_only ? "MEMTRACE_BPF_MAPS=proc" : strerror(-err));
	s->unwinder = unwinder_new(s->maptrack);
	s->stackprof = stackprof_new(s->unwinder, s->pyprof);
}

static bool check_python_pid(void *ctx, int pid)
{
	struct mt_session *s = ctx;

	if (bpfobj_has(&s->bpf, (uint32_t)pid))
		pyattach_check(s->pyattach, (uint32_t)pid, mt_clock_ns(CLOCK_MONOTONIC));
	return true;
}

void setup_python_targets(struct mt_session *s)
{
	if (!s->pyattach)
		return;
	/* a COMMAND is looked at when it execs; the processes traced already, now */
	if (s->cfg.target != MT_TARGET_COMMAND)
		procfs_for_each_pid(check_python_pid, s);
}

int setup_start_tracing(struct mt_session *s)
{
	const struct mt_bpfobj_opts topts = {
		.follow_children = s->cfg.follow_children,
		.max_procs = s->cfg.max_procs,
		.rss_limit_bytes = s->cfg.rss_limit,
		.limit_signal = s->cfg.kill_signal,
		.mode = s->cfg.target == MT_TARGET_ALL	  ? MT_MODE_ALL
			: s->cfg.target == MT_TARGET_CGROUP ? MT_MODE_CGROUP
							    : MT_MODE_PIDS,
		.cgroup_id = s->cg_target.id,
		.hierarchy_id = s->cg_target.hierarchy_id,
		.cgroup_v1 = s->cg_target.version == MT_CG_V1,
		.refuse = s->refuse,
		.python = s->cfg.python,
		.py_no_thread_list = s->py_no_thread_list,
		.exact = s->cfg.exact,
		.stacks = s->cfg.stacks,
		.stack_fp = s->cfg.stack_fp,
		.stack_every = s->cfg.stack_every,
		.stack_size = s->cfg.stack_size,
	};
	const struct mt_sampler_opts sopts = {
		.every = s->cfg.every,
		.rss_limit = s->cfg.rss_limit,
		.hooks = notify_hooks(s),
	};

	/*
	 * --prometheus: listening before the BPF load, so a taken port costs nothing; after the
	 * first run's fork, so its pre-exec copy of this process does not carry libmicrohttpd
	 */
	if (exporter_start(s))
		return -1;
	sampler_init(&s->sampler, &s->writer, &sopts);
	if (s->cfg.python || s->cfg.stacks) {
		if (s->cfg.python)
			s->pyprof = pyprof_new();
		if (s->cfg.stacks)
			start_stacks(s);
		if (bpfobj_start(&s->bpf, &topts, on_record_stacks, s))
			return -1;
		if (s->cfg.python) {
			s->pyattach = pyattach_new(&s->bpf, s->pyprof, s->py_no_tss,
						   s->py_wrong_offsets);
			if (!s->pyattach) {
				mt_err("out of memory");
				return -1;
			}
		}
	} else if (bpfobj_start(&s->bpf, &topts, sampler_on_event, &s->sampler)) {
		return -1;
	}
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epoll_fd < 0) {
		mt_err("epoll_create1: %s", strerror(errno));
		return -1;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = MT_WAKE_RECORDS };
	epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, bpfobj_event_fd(&s->bpf), &ev);
	exporter_watch(s);

	s->start_mono_ns = mt_clock_ns(CLOCK_MONOTONIC);
	s->writer.start_mono_ns = s->start_mono_ns;
	s->writer.start_real_ns = mt_clock_ns(CLOCK_REALTIME);
	mt_debug("attached %.1f ms after launch", (s->start_mono_ns - s->launch_mono_ns) / 1e6);
	return 0;
}

/*
 * A report made whole in memory, then written: the write that fails is then this one, and its
 * errno says why (a stream that failed while a report was being made keeps no errno).
 */
static int write_report(void *p, int (*make)(void *, FILE *), FILE *out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	int err;

	if (!mem)
		return -errno;
	err = make(p, mem);
	if (fclose(mem) && !err)
		err = -errno;
	if (!err && (fwrite(buf, 1, len, out) != len || fflush(out)))
		err = -errno;
	free(buf);
	return err;
}

/*
 * A report file asked for (--lines, --folded), opened before tracing: the report written into
 * it when p has one (tracing began), then closed. 0, or 1 with the failure said.
 */
static int close_report(void *p, int (*make)(void *, FILE *), FILE **file, const char *path)
{
	int err = 0;

	if (!*file)
		return 0;
	if (p)
		err = write_report(p, make, *file);
	if (fclose(*file) && !err)
		err = -errno;
	*file = NULL;
	if (!err)
		return 0;
	mt_err("writing to '%s' failed: %s", path, strerror(-err));
	return 1;
}

/* The reports, as write_report makes them. */
static int py_lines(void *p, FILE *out)
{
	return pyreport_lines(p, out);
}

static int py_folded(void *p, FILE *out)
{
	return pyreport_folded(p, out);
}

static int stacks_folded(void *p, FILE *out)
{
	return stackprof_folded(p, out);
}

/*
 * --stacks: the folded stacks (native, mixed with Python's frames under --python: this file
 * rather than --python's own) and the summary's part.
 */
static int end_stacks(struct mt_session *s)
{
	int status;
	char every[32];

	if (!s->stackprof)
		return 0;
	stackprof_flush(s->stackprof);
	status = close_report(s->traced ? s->stackprof : NULL, stacks_folded, &s->folded_file,
			      s->cfg.folded_path);
	if (s->traced && !mt_quiet) {
		uint64_t lost = maptrack_lost(s->maptrack);

		mt_format_size(s->cfg.stack_every, every, sizeof(every));
		if (s->cfg.stack_fp)
			fprintf(stderr, "  Native stacks (--stacks=fp: frame pointers walked, one "
					"sample per %s grown on average):\n",
				every);
		else
			fprintf(stderr, "  Native stacks (--stacks=dwarf: %u bytes of stack copied, "
					"one sample per %s grown on average):\n",
				s->cfg.stack_size, every);
		stackprof_summary(s->stackprof, stderr, 10);
		if (lost)
			fprintf(stderr, "    %llu records of mapped files were lost: frames in "
					"files mapped then may show as addresses\n",
				(unsigned long long)lost);
	}
	stackprof_free(s->stackprof);
	unwinder_free(s->unwinder);
	maptrack_free(s->maptrack);
	s->stackprof = NULL;
	s->unwinder = NULL;
	s->maptrack = NULL;
	return status;
}

/* --python: the report files, the summary's part, and one word if nothing ran Python. */
static int end_python(struct mt_session *s)
{
	void *made = s->traced ? s->pyprof : NULL;
	int status = close_report(made, py_lines, &s->lines_file, s->cfg.lines_path);

	status |= close_report(made, py_folded, &s->folded_file, s->cfg.folded_path);
	if (s->pyprof && s->traced) {
		if (!pyprof_processes(s->pyprof) && !(s->pyattach && pyattach_warned(s->pyattach)))
			mt_warn("--python: no traced process ran CPython: there are no Python lines "
				"to report");
		else if (!mt_quiet)
			pyreport_summary(s->pyprof, stderr, 10);
	}
	pyattach_free(s->pyattach);
	pyprof_free(s->pyprof);
	s->pyattach = NULL;
	s->pyprof = NULL;
	return status;
}

static const char *target_name(enum mt_target t)
{
	switch (t) {
	case MT_TARGET_PIDS:
		return "pids";
	case MT_TARGET_ALL:
		return "all";
	case MT_TARGET_CGROUP:
		return "cgroup";
	case MT_TARGET_COMMAND:
	case MT_TARGET_NONE:
		break;
	}
	return "command";
}

/* --summary-json: made whole in memory, then written; 0, or 1 when it could not be. */
static int write_summary_json(struct mt_session *s, const struct mt_report_totals *totals,
			      int exit_status)
{
	const bool command = s->cfg.target == MT_TARGET_COMMAND;
	const struct mt_sumjson_input in = {
		.target = target_name(s->cfg.target),
		.command = s->cmdline,
		.label = s->target_label[0] ? s->target_label : NULL,
		.interval_ns = s->cfg.interval_ns,
		.exit_status = exit_status,
		.runs = command ? &s->runs : NULL,
		.summary = &s->sampler.sum,
		.totals = totals,
		.rows = s->writer.rows,
		.output = s->writer.path,
		.bisect = s->cfg.find_min_limit && s->runs.n ? &s->bisect : NULL,
		.trial_timeout_ns = s->trial_timeout_ns,
		.now_mono_ns = mt_clock_ns(CLOCK_MONOTONIC),
	};
	struct strbuf sb = {};
	FILE *f = s->summary_json;
	int err = 0;

	s->summary_json = NULL;
	if (!f)
		return 0;
	/* a command that could not be run (127, 126) is a run to tell of, too */
	if (s->traced || s->runs.n) {
		sumjson_make(&in, &sb);
		if (fwrite(sb.data, 1, sb.len, f) != sb.len || fflush(f))
			err = errno;
	}
	sb_free(&sb);
	if (f != stdout && fclose(f) && !err)
		err = errno;
	if (!err)
		return 0;
	mt_err("writing to '%s' failed: %s", s->cfg.summary_json_path, strerror(err));
	return 1;
}

/* The summary on stderr: one run's, or the runs' of --repeat and --find-min-limit. */
static void report_end(struct mt_session *s, const struct mt_report_totals *totals)
{
	bool runs = s->cfg.repeat || s->cfg.warmup || s->cfg.find_min_limit;
	char label[300];

	if (mt_quiet)
		return;
	if (!runs) {
		report_summary_body(&s->sampler.sum, totals, mt_clock_ns(CLOCK_MONOTONIC));
		if (s->runs.n)
			runreport_crosschecks(&s->runs.runs[s->runs.n - 1]);
		report_losses(&s->sampler.sum, &s->writer, totals);
		return;
	}
	snprintf(label, sizeof(label), "%.290s", s->cmdline);
	if (s->cfg.find_min_limit)
		runreport_trials(&s->runs, &s->bisect, label);
	else
		runreport_repeats(&s->runs, label);
	report_losses(&s->sampler.sum, &s->writer, totals);
}

int setup_end(struct mt_session *s, int exit_status)
{
	struct mt_report_totals totals = {};
	int status;

	notify_live_end(s);
	if (s->traced) {
		bpfobj_drops(&s->bpf, totals.drops);
		totals.stop_reason = s->stop_reason;
		totals.rss_batched = s->bpf.rss_batched;
		if (s->target_label[0]) {
			totals.target = s->target_label;
			totals.elapsed_ns = mt_clock_ns(CLOCK_MONOTONIC) - s->start_mono_ns;
			totals.max_procs = s->cfg.max_procs;
		}
	}
	bpfobj_stop(&s->bpf);
	targets_release(s);
	totals.cgroup = &s->cgroup_report;
	totals.no_series = s->no_series;
	writer_close(&s->writer);
	if (s->traced)
		report_end(s, &totals);
	status = end_stacks(s);
	if (end_python(s))
		status = 1;
	if (write_summary_json(s, &totals, exit_status ? exit_status : status))
		status = 1;
	runlog_free(&s->runs);
	exporter_stop(s);
	if (s->oom_log)
		fclose(s->oom_log);
	s->oom_log = NULL;
	sampler_free(&s->sampler);
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	s->epoll_fd = -1;
	mt_config_free(&s->cfg);
	return status;
}
