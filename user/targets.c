// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "log.h"
#include "procfs.h"
#include "targets.h"
#include "text.h"

int targets_resolve(struct mt_session *s)
{
	if (s->cfg.target == MT_TARGET_CGROUP) {
		if (cgroup_resolve_target(s->cfg.cgroup, &s->cg_target))
			return -1;
		snprintf(s->target_label, sizeof(s->target_label), "cgroup v%d %.4000s",
			 s->cg_target.version == MT_CG_V1 ? 1 : 2, s->cg_target.path);
		mt_debug("-G: %s (directory %s, id %llu, hierarchy %d)", s->target_label,
			 s->cg_target.dir, (unsigned long long)s->cg_target.id,
			 s->cg_target.hierarchy_id);
	} else if (s->cfg.target == MT_TARGET_ALL) {
		snprintf(s->target_label, sizeof(s->target_label), "the whole host");
	}
	return 0;
}

static int limit_command(struct mt_session *s)
{
	int err;

	if (cgroup_create_limited(&s->cgroup, s->run_limit_bytes))
		return -1;
	cgroup_guard_start(&s->cgroup);
	err = cgroup_attach(&s->cgroup, s->launcher.pid);
	if (err) {
		mt_err("cannot move the command into cgroup %s: %s", s->cgroup.dir, strerror(-err));
		return -1;
	}
	if (s->cgroup.limit_bytes == MT_CG_NO_LIMIT)
		mt_debug("command measured, not limited, in cgroup v%d %s",
			 s->cgroup.version == MT_CG_V1 ? 1 : 2, s->cgroup.dir);
	else
		mt_debug("command limited to %llu bytes in cgroup v%d %s",
			 (unsigned long long)s->cgroup.limit_bytes,
			 s->cgroup.version == MT_CG_V1 ? 1 : 2, s->cgroup.dir);
	return 0;
}

int targets_spawn(struct mt_session *s)
{
	int err;

	if (s->cfg.target != MT_TARGET_COMMAND)
		return 0;
	err = launcher_spawn(&s->launcher, s->cfg.argv, s->cfg.user);
	if (err)
		return err == -2 ? 2 : 1;
	/* -m: the command, not the tracer, goes into a fresh limited cgroup before exec */
	if (s->run_limit_bytes && limit_command(s)) {
		launcher_abort(&s->launcher);
		cgroup_guard_stop(&s->cgroup, cgroup_destroy(&s->cgroup) == 0);
		return 1;
	}
	return 0;
}

/*
 * Whether pid still names the process that started at start_ns, not exited (with need_mm: with
 * an address space too). It may have exited, and its pid been reused, while it was being added:
 * its exit would then never be seen.
 */
static bool still_there(int pid, uint64_t start_ns, bool need_mm)
{
	struct proc_stats now;
	struct proc_facts facts;

	if (procfs_read_process(pid, &now, NULL, 0, &facts) || now.start_ns != start_ns)
		return false;
	return need_mm ? facts.has_mm : !facts.exited;
}

/* -p: one PID checked before a line is written. 0, or -1 with its one error line. */
static int check_pid(int pid, struct proc_stats *st, char *label, size_t label_len)
{
	struct proc_facts facts;
	int err = procfs_read_process(pid, st, label, label_len, &facts);

	if (err == -EISDIR) {
		mt_err("PID %d is a thread, not a process: give its process id (the Tgid in "
		       "/proc/%d/status)",
		       pid, pid);
		return -1;
	}
	if (err == -ENOENT || err == -ESRCH) {
		mt_err("no process with PID %d (check it with: ps -p %d)", pid, pid);
		return -1;
	}
	if (err) {
		mt_err("cannot read /proc/%d: %s", pid, strerror(-err));
		return -1;
	}
	if (facts.kthread) {
		mt_err("PID %d (%s) is a kernel thread: it has no user-space memory to trace", pid,
		       st->comm);
		return -1;
	}
	if (facts.exited) {
		mt_err("PID %d (%s) has exited: it is a zombie until its parent (PID %u) reaps it, "
		       "with no memory left to trace",
		       pid, st->comm, st->ppid);
		return -1;
	}
	return 0;
}

/* -p: every PID is checked before a line is written; each is added, then checked again. */
static int add_pid_targets(struct mt_session *s, uint64_t now)
{
	enum { LABEL_LEN = 256 };
	size_t n = s->cfg.nr_pids;
	struct proc_stats *st = calloc(n, sizeof(*st));
	char *labels = calloc(n, LABEL_LEN);
	int ret = -1;

	if (!st || !labels) {
		mt_err("no memory for %zu PIDs", n);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (check_pid(s->cfg.pids[i], &st[i], labels + i * LABEL_LEN, LABEL_LEN))
			goto out;
	writer_header(&s->writer);
	for (size_t i = 0; i < n; i++) {
		int pid = s->cfg.pids[i];
		int err = bpfobj_add(&s->bpf, (uint32_t)pid, &st[i]);

		if (err) {
			mt_err("cannot add PID %d to the traced set: %s", pid, strerror(-err));
			goto out;
		}
		if (!still_there(pid, st[i].start_ns, false)) {
			bpfobj_remove(&s->bpf, (uint32_t)pid);
			mt_err("process %d exited before tracing could start", pid);
			goto out;
		}
		sampler_add_root(&s->sampler, (uint32_t)pid, &st[i], labels + i * LABEL_LEN, false,
				 now);
	}
	ret = 0;
out:
	free(st);
	free(labels);
	return ret;
}

struct seed_walk {
	struct mt_session *s;
	long added;
};

static bool seed_one(void *ctx, int pid)
{
	struct seed_walk *walk = ctx;
	struct mt_session *s = walk->s;
	struct proc_stats st;
	struct proc_facts facts;

	if (bpfobj_has(&s->bpf, (uint32_t)pid))
		return true;
	/* the cgroup first: -G's non-members cost one read, not three */
	if (s->cfg.target == MT_TARGET_CGROUP && !cgroup_pid_in_target(pid, &s->cg_target))
		return true;
	if (procfs_read_process(pid, &st, NULL, 0, &facts) || !facts.has_mm)
		return true;
	if (bpfobj_add_new(&s->bpf, (uint32_t)pid, &st))
		return true;
	if (!still_there(pid, st.start_ns, true)) {
		bpfobj_remove(&s->bpf, (uint32_t)pid);
		return true;
	}
	walk->added++;
	return true;
}

/*
 * What the task iterator did not add: it has been seen to skip the first task of the walk
 * (PID 1 here, on 6.18). Every process in /proc that belongs to the target and is not in the
 * set is added as /proc shows it, and checked again afterwards: if it exited meanwhile its
 * entry is taken back. Returns how many were added.
 */
static long seed_from_proc(struct mt_session *s)
{
	struct seed_walk walk = { .s = s };

	/* in another PID namespace /proc's pids are not the host's the rows use */
	if (!procfs_in_init_pid_ns()) {
		mt_warn("memtrace-bpf runs in a PID namespace: the processes running at start are "
			"those of this namespace only (new ones are traced host-wide); the pids in "
			"the rows are the host's");
		return 0;
	}
	procfs_for_each_pid(seed_one, &walk);
	return walk.added;
}

/*
 * -a, -G: what runs now; whatever starts later is added in the kernel. The task iterator lists
 * it in the kernel; /proc adds what the iterator skipped, or everything when the kernel refused
 * the iterator.
 */
static void seed_target(struct mt_session *s)
{
	long n, more;

	writer_header(&s->writer);
	n = bpfobj_seed(&s->bpf);
	if (n < 0) {
		mt_debug("the BPF task iterator failed (%s): the running processes come from /proc",
			 strerror((int)-n));
		n = 0;
	}
	more = seed_from_proc(s);
	mt_debug("%ld running processes added to the traced set (%ld of them from /proc)", n + more,
		 more);
}

static int launch_command(struct mt_session *s)
{
	struct proc_stats st = { .flags = MT_PROC_PRE_EXEC };
	char label[256];
	int err;

	writer_header(&s->writer);
	mt_shell_quote_argv(s->cfg.argv, label, sizeof(label));
	snprintf(st.comm, sizeof(st.comm), "%s", "memtrace-bpf");
	st.ppid = (uint32_t)getpid();
	err = bpfobj_add(&s->bpf, (uint32_t)s->launcher.pid, &st);
	if (err) {
		mt_err("cannot add the command to the traced set: %s", strerror(-err));
		return 1;
	}
	sampler_add_root(&s->sampler, (uint32_t)s->launcher.pid, &st, label, true, 0);
	s->child.pidfd = (int)syscall(SYS_pidfd_open, s->launcher.pid, 0);
	if (s->child.pidfd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = MT_WAKE_CHILD };

		epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->child.pidfd, &ev);
	}
	err = launcher_release(&s->launcher);
	if (err) {
		mt_err("cannot run '%s': %s", s->cfg.argv[0], strerror(err));
		/* the child exits 127 (not found) or 126 on its own, like a shell */
		while (waitpid(s->launcher.pid, &s->child.status, 0) < 0 && errno == EINTR)
			;
		s->child.reaped = true;
		return err == ENOENT ? 127 : 126;
	}
	return 0;
}

int targets_start(struct mt_session *s, uint64_t now_ns)
{
	switch (s->cfg.target) {
	case MT_TARGET_COMMAND:
		return launch_command(s);
	case MT_TARGET_PIDS:
		return add_pid_targets(s, now_ns) ? 1 : 0;
	case MT_TARGET_ALL:
	case MT_TARGET_CGROUP:
		seed_target(s);
		return 0;
	case MT_TARGET_NONE:
		break;
	}
	return 0;
}

bool targets_ended(struct mt_session *s)
{
	switch (s->cfg.target) {
	case MT_TARGET_COMMAND:
		return s->child.reaped;
	case MT_TARGET_PIDS:
		return sampler_roots_done(&s->sampler);
	case MT_TARGET_CGROUP:
		if (cgroup_target_exists(&s->cg_target))
			return false;
		s->stop_reason = "the cgroup was removed";
		return true;
	case MT_TARGET_ALL:
	case MT_TARGET_NONE:
		break;
	}
	return false;
}

void targets_reap(struct mt_session *s)
{
	if (s->child.reaped || s->cfg.target != MT_TARGET_COMMAND)
		return;
	pid_t got = wait4(s->launcher.pid, &s->child.status, WNOHANG, &s->child.usage);
	if (got == s->launcher.pid)
		s->child.reaped = true;
}

void targets_forward_signal(struct mt_session *s, int sig)
{
	if (s->cfg.target == MT_TARGET_COMMAND && !s->child.reaped)
		kill(s->launcher.pid, sig);
}

/*
 * The launched command is not left behind, untraced and unwaited for (and with -m soon out of
 * its limit), as perf record does not leave its workload.
 */
bool targets_stop_command(struct mt_session *s)
{
	if (s->cfg.target != MT_TARGET_COMMAND || s->child.reaped)
		return false;
	kill(s->launcher.pid, SIGTERM);
	for (int i = 0; i < 200 && !s->child.reaped; i++) {
		struct timespec ts = { .tv_nsec = 10 * 1000000L };

		nanosleep(&ts, NULL);
		targets_reap(s);
	}
	if (!s->child.reaped) {
		kill(s->launcher.pid, SIGKILL);
		while (wait4(s->launcher.pid, &s->child.status, 0, &s->child.usage) < 0 &&
		       errno == EINTR)
			;
		s->child.reaped = true;
	}
	return true;
}

void targets_time_out(struct mt_session *s)
{
	if (s->cfg.target != MT_TARGET_COMMAND || s->child.reaped || s->timed_out)
		return;
	s->timed_out = true;
	mt_debug("the command ran past --trial-timeout: killed");
	/* its whole tree, where a cgroup holds it: a trial leaves nothing running behind */
	if (s->cgroup.created)
		cgroup_kill_all(&s->cgroup);
	kill(s->launcher.pid, SIGKILL);
}

void targets_signal(uint32_t pid, uint64_t start_ns, int sig)
{
	/* the pidfd pins the process: once it is checked, the pid cannot be reused under us */
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct proc_stats now;

	if (pidfd < 0)
		return;
	if (!procfs_read_process((int)pid, &now, NULL, 0, NULL) &&
	    procfs_same_start(now.start_ns, start_ns))
		syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
	close(pidfd);
}

static uint64_t timeval_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000000ULL + (uint64_t)tv->tv_usec * 1000ULL;
}

/* Roots still running at the end: their CPU time so far, if the pid still names them. */
static void root_cpu_so_far(struct mt_session *s)
{
	for (size_t i = 0; i < s->sampler.sum.nroots; i++) {
		const struct mt_root *root = &s->sampler.sum.roots[i];
		struct proc_stats now;

		if (root->exited || root->cpu_known ||
		    procfs_read_process((int)root->pid, &now, NULL, 0, NULL) ||
		    !procfs_same_start(now.start_ns, root->start_ns))
			continue;
		sampler_root_cpu(&s->sampler, i, now.utime_ns, now.stime_ns);
	}
}

int targets_finish(struct mt_session *s, int status)
{
	if (s->cfg.target == MT_TARGET_COMMAND) {
		targets_reap(s);
		if (s->child.reaped && s->sampler.sum.nroots)
			sampler_root_reaped(&s->sampler, 0, s->child.status,
					    timeval_ns(&s->child.usage.ru_utime),
					    timeval_ns(&s->child.usage.ru_stime));
		if (status == 0 && s->child.reaped)
			status = WIFSIGNALED(s->child.status) ? 128 + WTERMSIG(s->child.status)
							      : WEXITSTATUS(s->child.status);
	}
	root_cpu_so_far(s);
	return status;
}

/* What the kernel itself says of the cgroup (a cross-check of our numbers), then remove it. */
static void finish_cgroup(struct mt_session *s)
{
	struct mt_report_cgroup *cr = &s->cgroup_report;

	if (!s->cgroup.created)
		return;
	cr->used = true;
	cr->version = s->cgroup.version == MT_CG_V1 ? 1 : 2;
	snprintf(cr->path, sizeof(cr->path), "%s", s->cgroup.path);
	cr->limit_bytes = s->cgroup.limit_bytes;
	cr->peak_known = !cgroup_read_peak(&s->cgroup, &cr->peak_bytes, &cr->peak_source);
	cr->oom_kills_known = !cgroup_read_oom_kills(&s->cgroup, &cr->oom_kills);
	cgroup_guard_stop(&s->cgroup, cgroup_destroy(&s->cgroup) == 0);
}

void targets_next_run(struct mt_session *s)
{
	targets_release(s);
	memset(&s->launcher, 0, sizeof(s->launcher));
	s->launcher.go_fd = s->launcher.exec_fd = -1;
	memset(&s->child, 0, sizeof(s->child));
	s->child.pidfd = -1;
	memset(&s->cgroup, 0, sizeof(s->cgroup));
	memset(&s->cgroup_report, 0, sizeof(s->cgroup_report));
	s->timed_out = false;
	s->kill_at_ns = 0;
}

void targets_release(struct mt_session *s)
{
	if (s->cfg.target == MT_TARGET_COMMAND && s->launcher.go_fd >= 0)
		launcher_abort(&s->launcher);
	finish_cgroup(s);
	if (s->child.pidfd >= 0) {
		close(s->child.pidfd);
		s->child.pidfd = -1;
	}
}
