// SPDX-License-Identifier: GPL-2.0
/* memtrace-bpf: wires the modules together; each does one job (see DESIGN.md). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include "cgroup.h"
#include "cli.h"
#include "launcher.h"
#include "live.h"
#include "log.h"
#include "programs.h"
#include "report.h"
#include "sampler.h"
#include "text.h"
#include "tracer.h"
#include "units.h"
#include "writer.h"

/* ring buffer: 1 MiB, or 64 bytes per traced process for large sets (a power of 2) */
#define MT_RINGBUF_MIN_BYTES (1u << 20)
#define MT_RINGBUF_MAX_BYTES (1u << 26)

static uint32_t ringbuf_bytes_for(uint32_t max_procs)
{
	uint32_t want = max_procs > MT_RINGBUF_MAX_BYTES / 64 ? MT_RINGBUF_MAX_BYTES : max_procs * 64;
	uint32_t bytes = MT_RINGBUF_MIN_BYTES;

	while (bytes < want)
		bytes <<= 1;
	return bytes;
}

static volatile sig_atomic_t pending[NSIG];
static volatile sig_atomic_t pending_from_user[NSIG];
static volatile sig_atomic_t sigint_count;

static void on_signal(int sig, siginfo_t *info, void *uctx)
{
	(void)uctx;
	pending[sig] = 1;
	/* a terminal's Ctrl-C already reached the command (same process group): forward only
	 * what a process sent to us (kill, sudo relaying) */
	if (info->si_code <= 0)
		pending_from_user[sig] = 1;
	if (sig == SIGINT)
		sigint_count++;
}

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Root, or CAP_BPF + CAP_PERFMON (Linux 5.8+): say so before libbpf fails obscurely. */
static int check_privileges(void)
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

/* read_proc() only, never in the map: the process has an mm (it is not a kernel thread) */
#define MT_PROC_HAS_MM_HINT (1u << 31)
/* What read_proc tells beyond the row: whether there is anything to trace. */
struct proc_facts {
	bool has_mm;  /* an address space: not a kernel thread, not exited */
	bool kthread;
	bool exited;  /* a zombie (or dead) whose threads are all gone */
};

/*
 * The process as /proc shows it now: the start of its rows and the key of its identity, with
 * its CPU time so far (utime_ns, stime_ns: what -p's summary counts from).
 */
static int read_proc(int pid, struct proc_stats *st, char *label, size_t label_len,
		     struct proc_facts *facts)
{
	struct proc_facts got_facts = {};
	char path[64], buf[4096], state = '?';
	unsigned long long start_ticks = 0, utime_ticks = 0, stime_ticks = 0;
	unsigned flags = 0;
	int ppid = 0, tgid = -1, threads = 0;
	FILE *f;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	/* the whole record: a process name may hold a newline */
	size_t got = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	if (!got)
		return -ESRCH;
	buf[got] = '\0';
	char *open = strchr(buf, '('), *close = strrchr(buf, ')');
	if (!open || !close || close < open)
		return -EINVAL;
	size_t n = (size_t)(close - open - 1);
	memcpy(st->comm, open + 1, n < MT_COMM_LEN - 1 ? n : MT_COMM_LEN - 1);
	/* fields 3 state, 4 ppid, 9 flags, 14 utime, 15 stime, 20 num_threads, 22 starttime */
	if (sscanf(close + 2, "%c %d %*d %*d %*d %*d %u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
			      "%d %*d %llu",
		   &state, &ppid, &flags, &utime_ticks, &stime_ticks, &threads, &start_ticks) != 7)
		return -EINVAL;
	st->ppid = (uint32_t)ppid;
	unsigned long long tick_ns = 1000000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK);
	st->start_ns = start_ticks * tick_ns;
	st->utime_ns = utime_ticks * tick_ns;
	st->stime_ns = stime_ticks * tick_ns;
	got_facts.kthread = flags & MT_PF_KTHREAD;
	/* a leader that exited while its other threads run is a zombie too, but not the process */
	got_facts.exited = state == 'X' || (state == 'Z' && threads <= 1);

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(buf, sizeof(buf), f)) {
		unsigned long long kib;

		if (sscanf(buf, "Tgid: %d", &tgid) == 1)
			continue;
		/* only a process with an mm (not a kernel thread, not a zombie) has RSS lines */
		if (!strncmp(buf, "VmRSS:", 6))
			st->flags |= MT_PROC_HAS_MM_HINT;
		if (sscanf(buf, "RssAnon: %llu", &kib) == 1)
			st->anon_bytes = kib * 1024;
		else if (sscanf(buf, "RssFile: %llu", &kib) == 1)
			st->file_bytes = kib * 1024;
		else if (sscanf(buf, "RssShmem: %llu", &kib) == 1)
			st->shmem_bytes = kib * 1024;
	}
	fclose(f);
	if (tgid != pid)
		return tgid > 0 ? -EISDIR : -ESRCH; /* a thread, not a process */
	got_facts.has_mm = st->flags & MT_PROC_HAS_MM_HINT;
	st->flags &= ~MT_PROC_HAS_MM_HINT;
	st->peak_rss_bytes = st->anon_bytes + st->file_bytes + st->shmem_bytes;
	st->peak_anon_bytes = st->anon_bytes;
	st->peak_file_bytes = st->file_bytes;
	st->peak_shmem_bytes = st->shmem_bytes;

	/* the command line, quoted as a shell would need it to give the same words back */
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	label[0] = '\0';
	f = fopen(path, "re");
	if (f) {
		char words[4096];
		size_t got = fread(words, 1, sizeof(words), f);

		fclose(f);
		mt_shell_quote_packed(words, got, label, label_len);
	}
	if (!label[0])
		snprintf(label, label_len, "[%s]", st->comm);
	if (facts)
		*facts = got_facts;
	return 0;
}

/* Whether two start times name the same process: /proc's are in clock ticks, the kernel's in ns. */
static bool same_start(uint64_t a_ns, uint64_t b_ns)
{
	uint64_t tick_ns = 1000000000ULL / (uint64_t)sysconf(_SC_CLK_TCK);

	return a_ns / tick_ns == b_ns / tick_ns;
}

struct run {
	struct mt_config cfg;
	struct mt_writer writer;
	struct mt_tracer tracer;
	struct mt_sampler sampler;
	struct mt_launcher launcher;
	int epoll_fd;
	int child_pidfd;
	bool child_reaped;
	int child_status;
	struct rusage child_usage;
	const char *stop_reason;
	uint64_t drops_seen[MT_DROP_NR];
	struct mt_cgroup cgroup; /* -m */
	struct mt_report_cgroup cgroup_report;
	char cmdline[1024]; /* what is traced, for formats that name it (mprof's CMDLINE) */
	struct mt_cg_target cg_target; /* -G */
	char target_label[MT_CG_PATH_MAX + 32]; /* -a, -G: for the summary */
	struct mt_live *live; /* the live view on stderr; NULL when off */
	enum mt_refuse_at refuse[MT_PROG_NR]; /* MEMTRACE_BPF_REFUSE */
	uint64_t live_next_ns; /* its next frame is due at this tick or the first after it */
};

/* ---- the live view (user/live.c): when it is on, what feeds it, when it draws ---- */

/* a person cannot read more than this: shorter intervals do not redraw more often */
#define MT_LIVE_MIN_PERIOD_NS 100000000ULL

static bool live_due(const struct run *r, uint64_t now)
{
	return r->live && now >= r->live_next_ns;
}

/* The sampler's scan, for the frame due (the mark holds the RSS at the previous frame). */
static void live_on_proc(void *ctx, uint32_t pid, const struct proc_stats *st, uint64_t *mark)
{
	struct run *r = ctx;

	if (live_due(r, r->sampler.now_ns))
		live_proc(r->live, pid, st, mark);
}

/* Before any other stderr output: erase the frame; the next one is drawn below the text. */
static void live_log_hook(void *ctx)
{
	live_clear(ctx);
}

static double live_secs(const struct run *r, uint64_t mono_ns)
{
	return mono_ns > r->writer.start_mono_ns ? (mono_ns - r->writer.start_mono_ns) / 1e9 : 0;
}

/*
 * --live, or on its own for a person at a terminal without -q; but not with a COMMAND (its
 * own output shares the terminal and would tear the view), nor when the time series itself
 * goes to that terminal (stdout a tty, no -o FILE).
 */
static void live_setup(struct run *r)
{
	struct mt_live_opts opts;

	if (r->cfg.quiet)
		return;
	live_opts_detect(&opts, STDERR_FILENO);
	if (!r->cfg.live && (!opts.terminal || r->cfg.target == MT_TARGET_COMMAND ||
			     (r->writer.fd == STDOUT_FILENO && isatty(STDOUT_FILENO))))
		return;
	r->live = live_new(&opts);
	if (!r->live) {
		mt_warn("no memory for the live view: going on without it");
		return;
	}
	r->sampler.on_proc = live_on_proc;
	mt_log_hook_ctx = r->live;
	mt_log_hook = live_log_hook;
}

/* After a sampling interval: the frame, if one is due (the final scan draws none). */
static void live_tick(struct run *r, uint64_t now, bool final)
{
	uint64_t drops[MT_DROP_NR], period = r->cfg.interval_ns;
	unsigned width, height;

	if (final || !live_due(r, now))
		return;
	if (period < MT_LIVE_MIN_PERIOD_NS)
		period = MT_LIVE_MIN_PERIOD_NS;
	/* three quarters of a period on: a tick woken a little early still draws */
	r->live_next_ns = now + period - period / 4;
	tracer_drops(&r->tracer, drops);
	if (live_term_size(STDERR_FILENO, &width, &height))
		live_resize(r->live, width, height);
	struct mt_live_totals totals = {
		.elapsed_ns = now - r->writer.start_mono_ns,
		.procs_live = r->sampler.live_procs,
		.procs_exited = r->sampler.procs_exited,
		.rows = r->writer.rows,
		.output = r->writer.path,
		.oom_kills = r->sampler.oom_kills + r->sampler.untraced_oom_kills,
		.limit_crossings = r->sampler.limit_rows,
		.lost = drops[MT_DROP_RINGBUF] + drops[MT_DROP_MAP_FULL],
	};
	live_render(r->live, &totals);
}

/* The end: the frame erased before the summary, nothing left hooked. */
static void live_end(struct run *r)
{
	if (!r->live)
		return;
	mt_log_hook = NULL;
	mt_log_hook_ctx = NULL;
	r->sampler.on_proc = NULL;
	live_clear(r->live);
	live_free(r->live);
	r->live = NULL;
}

/* ---- end of the live view ---- */

static void on_oom(void *ctx, const struct mt_oom_report *o, const struct mt_rss_hist *hist)
{
	struct run *r = ctx;

	report_oom(o, hist, r->writer.start_mono_ns);
	if (r->live) {
		char size[32];

		live_event(r->live, "%.1fs OOM kill: %.16s (pid %u%s) at %s, memcg %s",
			   live_secs(r, o->mono_ns), o->stats.comm, o->pid, hist ? "" : ", untraced",
			   mt_format_size(o->stats.anon_bytes + o->stats.file_bytes +
						  o->stats.shmem_bytes,
					  size, sizeof(size)),
			   o->memcg[0] ? o->memcg : "?");
	}
}

/*
 * A limit crossing: the warning, and the signal if the kernel could not send it (the
 * crossing happened outside the process's own context). The pid is checked to still be that
 * process (same start time) before anything is sent.
 */
static void on_limit(void *ctx, const struct mt_event *e)
{
	struct run *r = ctx;
	const struct proc_stats *st = &e->stats;
	char a[32], b[32], label[256];
	const char *abbrev = e->signal ? sigabbrev_np((int)e->signal) : NULL;

	mt_warn("PID %u (%.16s) crossed the RSS limit of %s at %s%s%s%s", e->pid, st->comm,
		mt_format_size(r->cfg.rss_limit, a, sizeof(a)),
		mt_format_size(st->anon_bytes + st->file_bytes + st->shmem_bytes, b, sizeof(b)),
		e->signal ? ": sent SIG" : "", abbrev ? abbrev : "",
		e->signal && (e->ev_flags & MT_EVF_SIGNAL_DEFERRED) ? " (from user space)" : "");
	if (r->live)
		live_event(r->live, "%.1fs limit: %.16s (pid %u) crossed %s at %s%s%s",
			   live_secs(r, e->ts_ns), st->comm, e->pid, a, b,
			   e->signal ? ", sent SIG" : "", abbrev ? abbrev : "");
	if (e->signal && (e->ev_flags & MT_EVF_SIGNAL_DEFERRED)) {
		struct proc_stats now;
		int pidfd = (int)syscall(SYS_pidfd_open, e->pid, 0);

		if (pidfd < 0)
			return;
		if (!read_proc((int)e->pid, &now, label, sizeof(label), NULL) &&
		    same_start(now.start_ns, st->start_ns))
			syscall(SYS_pidfd_send_signal, pidfd, e->signal, NULL, 0);
		close(pidfd);
	}
}

static int add_pid_targets(struct run *r, uint64_t now)
{
	struct proc_stats st[r->cfg.nr_pids];
	char label[256];

	/* every PID is checked before a line is written */
	for (size_t i = 0; i < r->cfg.nr_pids; i++) {
		int pid = r->cfg.pids[i];
		struct proc_facts facts;
		int err = read_proc(pid, &st[i], label, sizeof(label), &facts);

		if (err == -EISDIR) {
			mt_err("PID %d is a thread, not a process: give its process id (the Tgid "
			       "in /proc/%d/status)",
			       pid, pid);
			return -1;
		}
		if (err) {
			mt_err("no process with PID %d (check it with: ps -p %d)", pid, pid);
			return -1;
		}
		if (facts.kthread) {
			mt_err("PID %d (%s) is a kernel thread: it has no user-space memory to trace",
			       pid, st[i].comm);
			return -1;
		}
		if (facts.exited) {
			mt_err("PID %d (%s) has exited: it is a zombie until its parent (PID %u) reaps "
			       "it, with no memory left to trace",
			       pid, st[i].comm, st[i].ppid);
			return -1;
		}
	}
	writer_header(&r->writer);
	for (size_t i = 0; i < r->cfg.nr_pids; i++) {
		int pid = r->cfg.pids[i];
		struct proc_stats again;
		struct proc_facts facts;
		int err = tracer_add(&r->tracer, (uint32_t)pid, &st[i]);

		if (err) {
			mt_err("cannot add PID %d to the traced set: %s", pid, strerror(-err));
			return -1;
		}
		/* it may have exited, and its pid been reused, while it was being added: its exit
		 * would then never be seen */
		if (read_proc(pid, &again, label, sizeof(label), &facts) ||
		    again.start_ns != st[i].start_ns || facts.exited) {
			tracer_remove(&r->tracer, (uint32_t)pid);
			mt_err("process %d exited before tracing could start", pid);
			return -1;
		}
		sampler_add_root(&r->sampler, (uint32_t)pid, &st[i], label, false, now);
	}
	return 0;
}

/*
 * What the task iterator did not add: it has been seen to skip the first task of the walk
 * (PID 1 here, on 6.18). Every process in /proc that belongs to the target and is not in the
 * set is added as /proc shows it, and checked again afterwards: if it exited meanwhile its
 * entry is taken back. Returns how many were added.
 */
static long seed_from_proc(struct run *r)
{
	/* the initial PID namespace's inode number (PROC_PID_INIT_INO) */
	const ino_t init_pid_ns = 0xEFFFFFFCU;
	struct stat ns;
	struct dirent *de;
	long added = 0;
	DIR *dir;

	/* in another PID namespace /proc's pids are not the host's the rows use */
	if (stat("/proc/self/ns/pid", &ns) == 0 && ns.st_ino != init_pid_ns) {
		mt_warn("memtrace-bpf runs in a PID namespace: the processes running at start are "
			"those of this namespace only (new ones are traced host-wide); the pids in "
			"the rows are the host's");
		return 0;
	}
	dir = opendir("/proc");
	if (!dir)
		return 0;
	while ((de = readdir(dir))) {
		struct proc_stats st, again;
		char label[256], *end;
		long pid = strtol(de->d_name, &end, 10);
		struct proc_facts facts;

		if (*end || pid <= 0 || pid > INT32_MAX || tracer_has(&r->tracer, (uint32_t)pid))
			continue;
		if (read_proc((int)pid, &st, label, sizeof(label), &facts) || !facts.has_mm)
			continue;
		if (r->cfg.target == MT_TARGET_CGROUP && !cgroup_pid_in_target((int)pid, &r->cg_target))
			continue;
		if (tracer_add_new(&r->tracer, (uint32_t)pid, &st))
			continue;
		if (read_proc((int)pid, &again, label, sizeof(label), &facts) || !facts.has_mm ||
		    again.start_ns != st.start_ns) {
			tracer_remove(&r->tracer, (uint32_t)pid);
			continue;
		}
		added++;
	}
	closedir(dir);
	return added;
}

/*
 * -a, -G: what runs now; whatever starts later is added in the kernel. The task iterator lists
 * it in the kernel; /proc adds what the iterator skipped, or everything when the kernel refused
 * the iterator.
 */
static void seed_target(struct run *r)
{
	long n, more;

	writer_header(&r->writer);
	n = tracer_seed(&r->tracer);
	if (n < 0) {
		mt_debug("the BPF task iterator failed (%s): the running processes come from /proc",
			 strerror((int)-n));
		n = 0;
	}
	more = seed_from_proc(r);
	mt_debug("%ld running processes added to the traced set (%ld of them from /proc)", n + more,
		 more);
}

static int launch_command(struct run *r)
{
	struct proc_stats st = { .flags = MT_PROC_PRE_EXEC };
	char label[256];
	int err;

	writer_header(&r->writer);
	mt_shell_quote_argv(r->cfg.argv, label, sizeof(label));
	snprintf(st.comm, sizeof(st.comm), "%s", "memtrace-bpf");
	st.ppid = (uint32_t)getpid();
	err = tracer_add(&r->tracer, (uint32_t)r->launcher.pid, &st);
	if (err) {
		mt_err("cannot add the command to the traced set: %s", strerror(-err));
		return -1;
	}
	sampler_add_root(&r->sampler, (uint32_t)r->launcher.pid, &st, label, true, 0);
	r->child_pidfd = (int)syscall(SYS_pidfd_open, r->launcher.pid, 0);
	if (r->child_pidfd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 1 };

		epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, r->child_pidfd, &ev);
	}
	err = launcher_release(&r->launcher);
	if (err) {
		mt_err("cannot run '%s': %s", r->cfg.argv[0], strerror(err));
		/* the child exits 127 (not found) or 126 on its own, like a shell */
		while (waitpid(r->launcher.pid, &r->child_status, 0) < 0 && errno == EINTR)
			;
		r->child_reaped = true;
		return err == ENOENT ? 127 : 126;
	}
	return 0;
}

static int limit_command(struct run *r)
{
	int err;

	if (cgroup_create_limited(&r->cgroup, r->cfg.memory_limit))
		return -1;
	cgroup_guard_start(&r->cgroup);
	err = cgroup_attach(&r->cgroup, r->launcher.pid);
	if (err) {
		mt_err("cannot move the command into cgroup %s: %s", r->cgroup.dir, strerror(-err));
		return -1;
	}
	mt_debug("command limited to %llu bytes in cgroup v%d %s",
		 (unsigned long long)r->cgroup.limit_bytes, r->cgroup.version == MT_CG_V1 ? 1 : 2,
		 r->cgroup.dir);
	return 0;
}

/* What the kernel itself says of the cgroup (a cross-check of our numbers), then remove it. */
static void finish_cgroup(struct run *r)
{
	struct mt_report_cgroup *cr = &r->cgroup_report;

	if (!r->cgroup.created)
		return;
	cr->used = true;
	cr->version = r->cgroup.version == MT_CG_V1 ? 1 : 2;
	snprintf(cr->path, sizeof(cr->path), "%s", r->cgroup.path);
	cr->limit_bytes = r->cgroup.limit_bytes;
	cr->peak_known = !cgroup_read_peak(&r->cgroup, &cr->peak_bytes, &cr->peak_source);
	cr->oom_kills_known = !cgroup_read_oom_kills(&r->cgroup, &cr->oom_kills);
	cgroup_guard_stop(&r->cgroup, cgroup_destroy(&r->cgroup) == 0);
}

static void reap_child(struct run *r)
{
	if (r->child_reaped || r->cfg.target != MT_TARGET_COMMAND)
		return;
	pid_t got = wait4(r->launcher.pid, &r->child_status, WNOHANG, &r->child_usage);
	if (got == r->launcher.pid)
		r->child_reaped = true;
}

/*
 * The time series cannot be written: tracing is over, and the launched command is not left
 * behind, untraced and unwaited for (and with -m soon out of its limit), as perf record does
 * not leave its workload: SIGTERM, SIGKILL after 2 s. One error line says it all.
 */
static int output_failed(struct run *r, int err)
{
	bool stopped = false;

	if (r->cfg.target == MT_TARGET_COMMAND && !r->child_reaped) {
		kill(r->launcher.pid, SIGTERM);
		for (int i = 0; i < 200 && !r->child_reaped; i++) {
			struct timespec ts = { .tv_nsec = 10 * 1000000L };

			nanosleep(&ts, NULL);
			reap_child(r);
		}
		if (!r->child_reaped) {
			kill(r->launcher.pid, SIGKILL);
			while (wait4(r->launcher.pid, &r->child_status, 0, &r->child_usage) < 0 &&
			       errno == EINTR)
				;
			r->child_reaped = true;
		}
		stopped = true;
	}
	mt_err("writing to %s failed: %s%s", r->writer.path, strerror(-err),
	       stopped ? "; the command was stopped" : "");
	return 1;
}

/* Signals: -p mode stops cleanly; COMMAND mode forwards to the command, and a second
 * Ctrl-C stops at once. Returns true if tracing must stop now. */
static bool handle_signals(struct run *r, int *status)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	bool stop = false;

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		int sig = sigs[i];

		if (!pending[sig])
			continue;
		pending[sig] = 0;
		if (r->cfg.target != MT_TARGET_COMMAND || r->child_reaped) {
			stop = true;
			r->stop_reason = NULL;
			continue;
		}
		if (sig == SIGINT && sigint_count >= 2) {
			stop = true;
			*status = 128 + SIGINT;
			r->stop_reason = "a second SIGINT";
			continue;
		}
		if (pending_from_user[sig]) {
			pending_from_user[sig] = 0;
			kill(r->launcher.pid, sig);
		}
	}
	return stop;
}

/* With -v, losses are told as they happen (the summary always has the totals). */
static void report_new_drops(struct run *r)
{
	static const char *const what[MT_DROP_NR] = {
		[MT_DROP_RINGBUF] = "fork/exec/exit records did not fit in the ring buffer",
		[MT_DROP_MAP_FULL] = "new processes not traced: the process map is full",
	};
	uint64_t now[MT_DROP_NR];

	if (!mt_verbose)
		return;
	tracer_drops(&r->tracer, now);
	for (int i = 0; i < MT_DROP_NR; i++) {
		if (now[i] > r->drops_seen[i])
			mt_debug("%llu more %s", (unsigned long long)(now[i] - r->drops_seen[i]),
				 what[i]);
		r->drops_seen[i] = now[i];
	}
}

static int finish_tick(struct run *r, uint64_t now, bool final)
{
	int err;

	/* a frame of the live view needs every process, not only those that changed */
	r->sampler.scan_all = live_due(r, now);
	err = sampler_tick(&r->sampler, now, final);

	if (err)
		mt_warn("reading the traced processes failed: %s", strerror(-err));
	report_new_drops(r);
	err = writer_flush(&r->writer);
	live_tick(r, now, final); /* after the flush: the frame counts the rows written */
	return err;
}

/* Returns the exit status. */
static int trace_loop(struct run *r, uint64_t start)
{
	uint64_t interval = r->cfg.interval_ns, next_tick = start + interval;
	uint64_t deadline = r->cfg.duration_ns ? start + r->cfg.duration_ns : 0;
	sigset_t unblocked;
	int status = 0;
	bool stop = false;

	sigprocmask(SIG_SETMASK, NULL, &unblocked);
	sigdelset(&unblocked, SIGINT);
	sigdelset(&unblocked, SIGTERM);
	sigdelset(&unblocked, SIGHUP);

	while (!stop) {
		struct epoll_event evs[4];
		uint64_t now = clock_ns(CLOCK_MONOTONIC), wake = next_tick;
		bool records = false;
		int timeout_ms, n;

		if (deadline && deadline < wake)
			wake = deadline;
		timeout_ms = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;
		n = epoll_pwait(r->epoll_fd, evs, 4, timeout_ms, &unblocked);
		for (int i = 0; i < n; i++)
			records |= evs[i].data.u32 == 0;
		now = clock_ns(CLOCK_MONOTONIC);

		stop = handle_signals(r, &status);
		reap_child(r);
		if (r->cfg.target == MT_TARGET_COMMAND && r->child_reaped)
			stop = true;
		if (deadline && now >= deadline) {
			stop = true;
			r->stop_reason = r->cfg.target == MT_TARGET_COMMAND && !r->child_reaped
						 ? "the -d duration ended; the command goes on "
						   "untraced"
						 : NULL;
		}
		if (stop)
			break;
		/*
		 * The kernel wakes us only when the ring buffer is half full (or for a record a
		 * person waits for): drain it now rather than at the tick, or a fork storm
		 * between two ticks would overflow it.
		 */
		if (records && now < next_tick)
			tracer_drain(&r->tracer);
		if (now >= next_tick) {
			int err = finish_tick(r, now, false);

			if (err)
				return err == -EPIPE ? 0 : output_failed(r, err);
			while (next_tick <= now)
				next_tick += interval;
		}
		if (r->cfg.target == MT_TARGET_PIDS && sampler_roots_done(&r->sampler))
			break;
		if (r->cfg.target == MT_TARGET_CGROUP && !cgroup_target_exists(&r->cg_target)) {
			r->stop_reason = "the cgroup was removed";
			break;
		}
	}

	int err = finish_tick(r, clock_ns(CLOCK_MONOTONIC), true);
	if (err && err != -EPIPE)
		return output_failed(r, err);
	return status;
}

/* Roots still running at the end: their CPU time so far, if the pid still names them. */
static void root_cpu_so_far(struct run *r)
{
	for (size_t i = 0; i < r->sampler.nroots; i++) {
		struct mt_root *root = &r->sampler.roots[i];
		struct proc_stats now;
		char label[256];

		if (root->exited || root->cpu_known ||
		    read_proc((int)root->pid, &now, label, sizeof(label), NULL) ||
		    !same_start(now.start_ns, root->start_ns))
			continue;
		root->utime_ns = now.utime_ns;
		root->stime_ns = now.stime_ns;
		root->cpu_known = true;
	}
}

static int command_status(const struct run *r)
{
	if (!r->child_reaped)
		return 0;
	if (WIFSIGNALED(r->child_status))
		return 128 + WTERMSIG(r->child_status);
	return WEXITSTATUS(r->child_status);
}

static int trace_main(struct run *r, int argc, char **argv)
{
	struct mt_tracer_opts topts;
	struct mt_report_totals totals = {};
	struct sigaction sa = {};
	sigset_t block;
	uint64_t start_mono, start_real, launch_mono = clock_ns(CLOCK_MONOTONIC);
	bool traced = false;
	int status = 1, err;

	switch (mt_parse_args(argc, argv, &r->cfg)) {
	case MT_ARGS_EXIT:
		return 0;
	case MT_ARGS_USAGE:
		return 2;
	case MT_ARGS_OK:
		break;
	}
	mt_quiet = r->cfg.quiet;
	mt_verbose = r->cfg.verbose;
	/* diagnostics as they happen, even when stderr is a pipe */
	setvbuf(stderr, NULL, _IOLBF, 0);

	if (check_privileges())
		return 1;
	/* a diagnostic aid: the loader meets the refusals named there as it meets the kernel's */
	char refuse_err[1024];
	if (mt_parse_refusals(getenv("MEMTRACE_BPF_REFUSE"), r->refuse, refuse_err,
			      sizeof(refuse_err))) {
		mt_err("%s", refuse_err);
		return 2;
	}
	if (r->cfg.target == MT_TARGET_CGROUP) {
		if (cgroup_resolve_target(r->cfg.cgroup, &r->cg_target))
			return 1;
		snprintf(r->target_label, sizeof(r->target_label), "cgroup v%d %.4000s",
			 r->cg_target.version == MT_CG_V1 ? 1 : 2, r->cg_target.path);
		mt_debug("-G: %s (directory %s, id %llu, hierarchy %d)", r->target_label,
			 r->cg_target.dir, (unsigned long long)r->cg_target.id,
			 r->cg_target.hierarchy_id);
	} else if (r->cfg.target == MT_TARGET_ALL) {
		snprintf(r->target_label, sizeof(r->target_label), "the whole host");
	}

	start_mono = clock_ns(CLOCK_MONOTONIC);
	start_real = clock_ns(CLOCK_REALTIME);
	/* -F: the format of the time series, found in the table by the option parser */
	const struct mt_format_ops *format = r->cfg.format;
	err = writer_open(&r->writer, r->cfg.output, format, start_mono, start_real, false);
	if (err == -ENXIO) {
		/* nothing is loaded or launched yet: Ctrl-C here just ends it */
		mt_info("memtrace-bpf: waiting for a process to open the FIFO %s for reading; "
			"tracing starts then (Ctrl-C to give up)",
			r->cfg.output);
		err = writer_open(&r->writer, r->cfg.output, format, start_mono, start_real, true);
	}
	if (err) {
		mt_err("cannot write to '%s': %s%s", r->cfg.output, strerror(-err),
		       err == -ELOOP ? " (a symlink in a shared directory is not followed)" : "");
		return 1;
	}
	/* the command when there is one, else how memtrace-bpf was asked */
	mt_shell_quote_argv(r->cfg.target == MT_TARGET_COMMAND ? r->cfg.argv : argv, r->cmdline,
			    sizeof(r->cmdline));
	r->writer.cmdline = r->cmdline;

	/* the launched command must be forked before the tracer loads libbpf and the kernel's
	 * BTF: its pre-exec copy of our memory stays small */
	if (r->cfg.target == MT_TARGET_COMMAND) {
		err = launcher_spawn(&r->launcher, r->cfg.argv, r->cfg.user);
		if (err) {
			writer_close(&r->writer);
			return err == -2 ? 2 : 1;
		}
		/* -m: the command, not the tracer, goes into a fresh limited cgroup before exec */
		if (r->cfg.memory_limit && limit_command(r)) {
			launcher_abort(&r->launcher);
			cgroup_guard_stop(&r->cgroup, cgroup_destroy(&r->cgroup) == 0);
			writer_close(&r->writer);
			return 1;
		}
	}

	/* SIGPIPE: a closed output is seen as EPIPE, then a clean stop */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	topts = (struct mt_tracer_opts){
		.follow_children = r->cfg.follow_children,
		.max_procs = r->cfg.max_procs,
		.ringbuf_bytes = ringbuf_bytes_for(r->cfg.max_procs),
		.rss_limit_bytes = r->cfg.rss_limit,
		.limit_signal = r->cfg.kill_signal,
		.mode = r->cfg.target == MT_TARGET_ALL	  ? MT_MODE_ALL
			: r->cfg.target == MT_TARGET_CGROUP ? MT_MODE_CGROUP
							    : MT_MODE_PIDS,
		.cgroup_id = r->cg_target.id,
		.hierarchy_id = r->cg_target.hierarchy_id,
		.cgroup_v1 = r->cg_target.version == MT_CG_V1,
		.refuse = r->refuse,
	};
	sampler_init(&r->sampler, &r->writer, &r->tracer, r->cfg.every);
	r->sampler.rss_limit = r->cfg.rss_limit;
	r->sampler.on_oom = on_oom;
	r->sampler.on_limit = on_limit;
	r->sampler.cb_ctx = r;
	if (tracer_start(&r->tracer, &topts, sampler_on_event, &r->sampler))
		goto out;
	r->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epoll_fd < 0) {
		mt_err("epoll_create1: %s", strerror(errno));
		goto out;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 0 };
	epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, tracer_event_fd(&r->tracer), &ev);

	start_mono = clock_ns(CLOCK_MONOTONIC);
	start_real = clock_ns(CLOCK_REALTIME);
	r->writer.start_mono_ns = start_mono;
	r->writer.start_real_ns = start_real;
	mt_debug("attached %.1f ms after launch", (start_mono - launch_mono) / 1e6);

	if (r->cfg.target == MT_TARGET_COMMAND) {
		int exec_status = launch_command(r);

		if (exec_status) {
			status = exec_status;
			goto out;
		}
	} else if (r->cfg.target == MT_TARGET_PIDS) {
		if (add_pid_targets(r, start_mono))
			goto out;
	} else {
		seed_target(r);
	}

	live_setup(r);
	traced = true;
	status = trace_loop(r, start_mono);
	if (r->cfg.target == MT_TARGET_COMMAND) {
		reap_child(r);
		if (r->child_reaped && r->sampler.nroots) {
			struct mt_root *root = &r->sampler.roots[0];

			root->exited = true;
			root->exit_status = r->child_status;
			root->utime_ns = (uint64_t)r->child_usage.ru_utime.tv_sec * 1000000000ULL +
					 (uint64_t)r->child_usage.ru_utime.tv_usec * 1000ULL;
			root->stime_ns = (uint64_t)r->child_usage.ru_stime.tv_sec * 1000000000ULL +
					 (uint64_t)r->child_usage.ru_stime.tv_usec * 1000ULL;
			root->cpu_known = true;
		}
		if (status == 0)
			status = command_status(r);
	}
	root_cpu_so_far(r);
	tracer_drops(&r->tracer, totals.drops);
	totals.unexplained_exits = r->sampler.exits_unexplained;
	totals.stop_reason = r->stop_reason;
	totals.oom_kills = r->sampler.oom_kills;
	totals.untraced_oom_kills = r->sampler.untraced_oom_kills;
	totals.rss_batched = r->tracer.rss_batched;
	if (r->target_label[0]) {
		totals.target = r->target_label;
		totals.elapsed_ns = clock_ns(CLOCK_MONOTONIC) - start_mono;
		totals.max_procs = r->cfg.max_procs;
	}
out:
	live_end(r);
	tracer_stop(&r->tracer);
	if (r->cfg.target == MT_TARGET_COMMAND && r->launcher.go_fd >= 0)
		launcher_abort(&r->launcher);
	finish_cgroup(r);
	totals.cgroup = &r->cgroup_report;
	writer_close(&r->writer);
	if (traced)
		report_summary(&r->sampler, &r->writer, &totals, clock_ns(CLOCK_MONOTONIC));
	sampler_free(&r->sampler);
	if (r->epoll_fd >= 0)
		close(r->epoll_fd);
	if (r->child_pidfd >= 0)
		close(r->child_pidfd);
	mt_config_free(&r->cfg);
	return status;
}

int main(int argc, char **argv)
{
	struct run run = { .epoll_fd = -1, .child_pidfd = -1 };
	int status = trace_main(&run, argc, argv);

	/* every early return too (sanitizer builds check for leaks) */
	mt_config_free(&run.cfg);
	return status;
}
