// SPDX-License-Identifier: GPL-2.0
/*
 * -m SIZE: the command runs in a leaf memory cgroup of its own with a hard limit.
 *
 * v2 (the memory controller in the cgroup2 root's cgroup.controllers): the leaf goes under the
 * nearest cgroup above ours that delegates "memory" in cgroup.subtree_control (not under ours,
 * which holds processes: the "no internal processes" rule), or under ours if ours is the root.
 * v1: the leaf goes inside our own memory cgroup.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cglimit.h"
#include "log.h"
#include "procfs.h"

#define CG_NAME_PREFIX "memtrace-bpf-"
#define CG_NAME_TRIES 100
#define CG_RMDIR_TRIES 200 /* EBUSY retries, 10 ms apart: about 2 s */
#define CG_MOVE_ROUNDS 100 /* rounds of emptying cgroup.procs */

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- finding where the leaf goes ---- */

struct cg_env {
	struct cgroupfs_mounts m; /* where the hierarchies are */
	char v2_path[MT_CG_PATH_MAX], v1_path[MT_CG_PATH_MAX];
	char parent_dir[MT_CG_PATH_MAX];  /* where the leaf is created */
	char parent_path[MT_CG_PATH_MAX]; /* the same relative to the hierarchy, no trailing '/' */
};

static int load_env(struct cg_env *env)
{
	int err;

	err = cgroupfs_find_mounts(&env->m);
	if (err) {
		mt_err("cannot read /proc/self/mountinfo: %s: -m needs /proc mounted",
		       strerror(-err));
		return -1;
	}
	err = procfs_read_self_cgroup(env->v2_path, sizeof(env->v2_path), env->v1_path,
				      sizeof(env->v1_path));
	if (err) {
		mt_err("cannot read /proc/self/cgroup: %s: -m needs a kernel with cgroups",
		       strerror(-err));
		return -1;
	}
	mt_debug("cgroup mounts: v2 '%s' (root '%s'), v1 memory '%s' (root '%s'); ours: v2 '%s', "
		 "v1 memory '%s'",
		 env->m.v2_mnt, env->m.v2_root, env->m.v1_mnt, env->m.v1_root, env->v2_path,
		 env->v1_path);
	return 0;
}

static bool v2_has_memory(const struct cg_env *env)
{
	char *controllers;
	bool has;

	if (!env->m.v2_mnt[0] || cgroupfs_read(env->m.v2_mnt, "cgroup.controllers", &controllers))
		return false;
	has = cgroup_list_has(controllers, "memory");
	free(controllers);
	return has;
}

static bool delegates_memory(const char *dir)
{
	char *control;
	bool has;

	if (cgroupfs_read(dir, "cgroup.subtree_control", &control))
		return false;
	has = cgroup_list_has(control, "memory");
	free(control);
	return has;
}

/* our own directory in a hierarchy into home_dir, our path (no '/' at the end) into parent_path */
static int own_dir(struct mt_cgroup *cg, struct cg_env *env, const char *mnt, const char *root,
		   const char *path, const char *what)
{
	size_t len;
	int err;

	if (!path[0]) {
		mt_err("this process is in no %s cgroup (/proc/self/cgroup has no such line): -m "
		       "needs one",
		       what);
		return -1;
	}
	err = cgroup_join_dir(mnt, root, path, cg->home_dir, sizeof(cg->home_dir));
	if (err) {
		mt_err("our %s cgroup %s is not visible under its mount %s (mount root %s): -m "
		       "cannot create a cgroup here",
		       what, path, mnt, root);
		return -1;
	}
	len = strlen(path);
	while (len && path[len - 1] == '/')
		len--;
	snprintf(env->parent_path, sizeof(env->parent_path), "%.*s", (int)len, path);
	return 0;
}

/* v2: the parent of the leaf, per the "no internal processes" rule */
static int choose_v2_parent(struct mt_cgroup *cg, struct cg_env *env)
{
	size_t root_len = strlen(env->m.v2_root);
	char *slash;

	if (own_dir(cg, env, env->m.v2_mnt, env->m.v2_root, env->v2_path, "v2"))
		return -1;
	while (root_len && env->m.v2_root[root_len - 1] == '/')
		root_len--;
	snprintf(env->parent_dir, sizeof(env->parent_dir), "%s", cg->home_dir);
	/* the true root (no cgroup.events there) may hold processes and children alike */
	if (strlen(env->parent_path) == root_len && !cgroupfs_exists(env->parent_dir, "cgroup.events")) {
		if (delegates_memory(env->parent_dir))
			return 0;
		mt_err("the cgroup v2 root %s does not delegate the memory controller: enable it "
		       "(echo +memory > %s/cgroup.subtree_control) or run under systemd-run -p "
		       "MemoryMax=SIZE",
		       env->parent_dir, env->parent_dir);
		return -1;
	}
	/* else walk up from our parent to the top of what the mount shows */
	while (strlen(env->parent_path) > root_len) {
		slash = strrchr(env->parent_path, '/');
		*slash = '\0';
		slash = strrchr(env->parent_dir, '/');
		if (slash == env->parent_dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (delegates_memory(env->parent_dir))
			return 0;
	}
	mt_err("no cgroup v2 above %s delegates the memory controller: enable it (echo +memory > "
	       "<dir>/cgroup.subtree_control) or run under systemd-run -p MemoryMax=SIZE",
	       cg->home_dir);
	return -1;
}

/* mkdir PARENT/memtrace-bpf-PID[-N] */
static int make_leaf(struct mt_cgroup *cg, const struct cg_env *env)
{
	const char *sep = strcmp(env->parent_dir, "/") ? "/" : "";
	int pid = (int)getpid();

	for (int i = 0; i < CG_NAME_TRIES; i++) {
		char name[64];

		if (i)
			snprintf(name, sizeof(name), CG_NAME_PREFIX "%d-%d", pid, i);
		else
			snprintf(name, sizeof(name), CG_NAME_PREFIX "%d", pid);
		if (cgroupfs_pathf(cg->dir, sizeof(cg->dir), "%s%s%s", env->parent_dir, sep, name) ||
		    cgroupfs_pathf(cg->path, sizeof(cg->path), "%s/%s", env->parent_path, name)) {
			mt_err("cgroup path %s/%s is too long: -m cannot create a cgroup here",
			       env->parent_dir, name);
			return -1;
		}
		if (!mkdir(cg->dir, 0755)) {
			cg->created = true;
			return 0;
		}
		if (errno == EEXIST)
			continue;
		if (errno == EACCES || errno == EPERM)
			mt_err("cannot create cgroup %s: %s: -m needs root (or write access to %s)",
			       cg->dir, strerror(errno), env->parent_dir);
		else if (errno == EROFS)
			mt_err("cannot create cgroup %s: the cgroup hierarchy is mounted read-only "
			       "(as in many containers): mount it read-write or run without -m",
			       cg->dir);
		else
			mt_err("cannot create cgroup %s: %s", cg->dir, strerror(errno));
		return -1;
	}
	mt_err("cannot create cgroup %s: %d cgroups named %s%d* exist already: remove the "
	       "leftovers (rmdir)",
	       cg->dir, CG_NAME_TRIES, CG_NAME_PREFIX, pid);
	return -1;
}

static int set_limit(struct mt_cgroup *cg, uint64_t limit_bytes)
{
	const char *limit_file = cg->version == MT_CG_V2 ? "memory.max" : "memory.limit_in_bytes";
	const char *swap_file = cg->version == MT_CG_V2 ? "memory.swap.max"
							: "memory.memsw.limit_in_bytes";
	bool unlimited = limit_bytes == MT_CG_NO_LIMIT;
	char value[32];
	int err;

	if (unlimited)
		snprintf(value, sizeof(value), "%s", cg->version == MT_CG_V2 ? "max" : "-1");
	else
		snprintf(value, sizeof(value), "%" PRIu64, limit_bytes);
	err = cgroupfs_write(cg->dir, limit_file, value);
	if (err == -EBUSY || err == -EINVAL) {
		mt_err("the kernel does not accept a memory limit of %s bytes in %s/%s (%s): give "
		       "another -m SIZE",
		       value, cg->dir, limit_file, strerror(-err));
		return -1;
	}
	if (err) {
		mt_err("cannot set the memory limit in %s/%s: %s", cg->dir, limit_file,
		       strerror(-err));
		return -1;
	}
	/* swap around the limit would hide the pressure: forbid it where the kernel accounts it */
	err = cgroupfs_write(cg->dir, swap_file, cg->version == MT_CG_V2 ? "0" : value);
	cg->swap_limited = !err;
	if (err == -ENOENT || (err == -EINVAL && cg->version == MT_CG_V1))
		mt_debug("no swap limit for %s: %s/%s: %s (swap is not accounted)", cg->dir,
			 cg->dir, swap_file, strerror(-err));
	else if (err)
		mt_warn("cannot forbid swap in %s/%s: %s: the command may swap instead of reaching "
			"the limit",
			cg->dir, swap_file, strerror(-err));
	err = unlimited ? 0 : cgroupfs_read_u64(cg->dir, limit_file, &cg->limit_bytes);
	if (unlimited) {
		cg->limit_bytes = MT_CG_NO_LIMIT;
	} else if (err) {
		mt_debug("cannot read %s/%s back: %s", cg->dir, limit_file, strerror(-err));
		cg->limit_bytes = limit_bytes;
	}
	return 0;
}

int cgroup_create_limited(struct mt_cgroup *cg, uint64_t limit_bytes)
{
	struct cg_env *env;
	int ret = -1;

	memset(cg, 0, sizeof(*cg));
	env = calloc(1, sizeof(*env));
	if (!env) {
		mt_err("out of memory");
		return -1;
	}
	if (load_env(env))
		goto out;
	if (v2_has_memory(env)) {
		cg->version = MT_CG_V2;
		if (choose_v2_parent(cg, env))
			goto out;
	} else if (env->m.v1_mnt[0]) {
		cg->version = MT_CG_V1;
		if (own_dir(cg, env, env->m.v1_mnt, env->m.v1_root, env->v1_path, "v1 memory"))
			goto out;
		snprintf(env->parent_dir, sizeof(env->parent_dir), "%s", cg->home_dir);
	} else if (env->m.v2_mnt[0]) {
		mt_err("no usable memory controller: cgroup v2 at %s does not offer it and no v1 "
		       "memory hierarchy is mounted: boot with cgroup_enable=memory (or mount -t "
		       "cgroup -o memory none DIR), or run without -m",
		       env->m.v2_mnt);
		goto out;
	} else {
		mt_err("no usable memory controller: no cgroup hierarchy is mounted: mount one "
		       "(mount -t cgroup2 none /sys/fs/cgroup), or run without -m");
		goto out;
	}
	if (make_leaf(cg, env))
		goto out;
	if (set_limit(cg, limit_bytes)) {
		if (rmdir(cg->dir))
			mt_warn("cannot remove cgroup %s: %s: remove it by hand (rmdir %s)",
				cg->dir, strerror(errno), cg->dir);
		goto out;
	}
	mt_debug("cgroup v%d %s (%s): limit %" PRIu64 " bytes, swap %s; leftovers go back to %s",
		 (int)cg->version, cg->dir, cg->path, cg->limit_bytes,
		 cg->swap_limited ? "forbidden" : "not limited", cg->home_dir);
	ret = 0;
out:
	if (ret)
		memset(cg, 0, sizeof(*cg));
	free(env);
	return ret;
}

int cgroup_attach(const struct mt_cgroup *cg, pid_t pid)
{
	char value[32];

	if (!cg->created)
		return -EINVAL;
	snprintf(value, sizeof(value), "%d", (int)pid);
	return cgroupfs_write(cg->dir, "cgroup.procs", value);
}

int cgroup_read_peak(const struct mt_cgroup *cg, uint64_t *bytes, const char **source)
{
	const char *name = cg->version == MT_CG_V2 ? "memory.peak" : "memory.max_usage_in_bytes";

	if (source)
		*source = name;
	if (!cg->created)
		return -EINVAL;
	return cgroupfs_read_u64(cg->dir, name, bytes);
}

int cgroup_read_oom_kills(const struct mt_cgroup *cg, uint64_t *count)
{
	const char *name = cg->version == MT_CG_V2 ? "memory.events" : "memory.oom_control";

	if (!cg->created)
		return -EINVAL;
	return cgroupfs_read_key(cg->dir, name, "oom_kill", count);
}

/* ---- removal ---- */

struct pid_set {
	pid_t *pids;
	size_t nr, cap;
};

/* add pid unless present; false only when out of memory */
static bool pid_set_add(struct pid_set *set, pid_t pid)
{
	for (size_t i = 0; i < set->nr; i++)
		if (set->pids[i] == pid)
			return true;
	if (set->nr == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 16;
		pid_t *pids = realloc(set->pids, cap * sizeof(*pids));

		if (!pids)
			return false;
		set->pids = pids;
		set->cap = cap;
	}
	set->pids[set->nr++] = pid;
	return true;
}

/*
 * One pass over the cgroup's members (cgroup.procs), fn called with each pid. Returns how many
 * it listed, or -errno when the file cannot be read.
 */
static long for_each_member(const struct mt_cgroup *cg, void (*fn)(void *ctx, pid_t pid),
			    void *ctx)
{
	char *text, *p, *end;
	long listed = 0;
	int err = cgroupfs_read(cg->dir, "cgroup.procs", &text);

	if (err)
		return err;
	for (p = text;; p = end) {
		long pid;

		errno = 0;
		pid = strtol(p, &end, 10);
		if (end == p || errno || pid <= 0)
			break;
		listed++;
		fn(ctx, (pid_t)pid);
	}
	free(text);
	return listed;
}

struct move_pass {
	const struct mt_cgroup *cg;
	struct pid_set *moved;
	bool progress;
	int first_err;
	pid_t failed_pid;
};

static void move_member(void *ctx, pid_t pid)
{
	struct move_pass *m = ctx;
	char value[32];
	int err;

	snprintf(value, sizeof(value), "%d", (int)pid);
	/* one pid per write: the kernel takes one per write(2) */
	err = cgroupfs_write(m->cg->home_dir, "cgroup.procs", value);
	if (!err) {
		m->progress = true;
		pid_set_add(m->moved, pid);
	} else if (err != -ESRCH && !m->first_err) {
		m->first_err = err;
		m->failed_pid = pid;
	}
}

/* move whatever is left in the cgroup back home; returns how many processes were moved */
static size_t move_out(struct mt_cgroup *cg)
{
	struct pid_set moved = { 0 };
	struct move_pass m = { .cg = cg, .moved = &moved };
	size_t count;

	for (int round = 0; round < CG_MOVE_ROUNDS; round++) {
		long listed;

		m.progress = false;
		listed = for_each_member(cg, move_member, &m);
		if (listed < 0) {
			if (listed != -ENOENT)
				mt_debug("cannot read %s/cgroup.procs: %s", cg->dir,
					 strerror((int)-listed));
			break;
		}
		if (!listed) {
			m.first_err = 0;
			break;
		}
		/* exiting tasks may stay listed a moment and refuse to move: let them go */
		if (!m.progress)
			sleep_ms(10);
	}
	if (m.first_err)
		mt_warn("cannot move process %d out of cgroup %s into %s: %s", (int)m.failed_pid,
			cg->dir, cg->home_dir, strerror(-m.first_err));
	count = moved.nr;
	free(moved.pids);
	return count;
}

static void kill_member(void *ctx, pid_t pid)
{
	(void)ctx;
	kill(pid, SIGKILL);
}

void cgroup_kill_all(const struct mt_cgroup *cg)
{
	/* v2 kills the whole cgroup in one write (5.14+); elsewhere pass by pass, as a fork
	 * may add a member behind the pass */
	if (cg->version == MT_CG_V2 && !cgroupfs_write(cg->dir, "cgroup.kill", "1"))
		return;
	for (int pass = 0; pass < CG_MOVE_ROUNDS && for_each_member(cg, kill_member, NULL) > 0;
	     pass++)
		sleep_ms(10);
}

int cgroup_destroy(struct mt_cgroup *cg)
{
	size_t moved;
	int err = 0;

	if (!cg->created)
		return 0;
	moved = move_out(cg);
	if (moved)
		mt_warn("%zu process%s still in cgroup %s after the command ended (descendants "
			"that outlived it) moved back to %s",
			moved, moved == 1 ? "" : "es", cg->dir, cg->home_dir);
	for (int i = 0; i <= CG_RMDIR_TRIES; i++) {
		size_t more;

		if (!rmdir(cg->dir) || errno == ENOENT) {
			mt_debug("cgroup %s removed", cg->dir);
			cg->created = false;
			return 0;
		}
		err = errno;
		if (err != EBUSY)
			break;
		/* a process forked meanwhile, or exiting tasks linger briefly */
		if (i % 20 == 19 && (more = move_out(cg)))
			mt_warn("%zu more process%s left cgroup %s for %s", more,
				more == 1 ? "" : "es", cg->dir, cg->home_dir);
		sleep_ms(10);
	}
	mt_warn("cannot remove cgroup %s: %s: remove it by hand (rmdir %s)", cg->dir, strerror(err),
		cg->dir);
	return -1;
}

/* The guard's life: wait for word from the tracer; without it, remove the cgroup once empty. */
static _Noreturn void guard_main(int fd, const char *dir)
{
	struct timespec pause = { .tv_nsec = 200 * 1000000L };
	char word = 0;
	ssize_t n;

	do
		n = read(fd, &word, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1 && word == 'd')
		_exit(0);
	/* the tracer is gone, or left the cgroup to us: its processes may still run (EBUSY until
	 * they are gone); any other error will not change by waiting */
	while (rmdir(dir) && errno == EBUSY)
		nanosleep(&pause, NULL);
	_exit(0);
}

int cgroup_guard_start(struct mt_cgroup *cg)
{
	char dir[MT_CG_PATH_MAX];
	int fds[2];
	pid_t pid;

	cg->guard_pid = -1;
	cg->guard_fd = -1;
	if (pipe2(fds, O_CLOEXEC)) {
		mt_warn("cannot start the guard of cgroup %s (pipe: %s): if memtrace-bpf is killed, "
			"remove it by hand", cg->dir, strerror(errno));
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", cg->dir);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		mt_warn("cannot start the guard of cgroup %s (fork: %s): if memtrace-bpf is killed, "
			"remove it by hand", cg->dir, strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		sigset_t none;

		/* out of the terminal's reach (a Ctrl-C is the tracer's to handle), holding no
		 * file of the tracer's (a reader of its output must see end of file when it ends) */
		setsid();
		prctl(PR_SET_NAME, "memtrace-guard");
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		if (dup2(fds[0], 3) < 0)
			_exit(1);
		close_range(4, ~0U, 0);
		guard_main(3, dir);
	}
	close(fds[0]);
	cg->guard_pid = pid;
	cg->guard_fd = fds[1];
	return 0;
}

void cgroup_guard_stop(struct mt_cgroup *cg, bool removed)
{
	if (cg->guard_pid <= 0)
		return;
	if (removed && write(cg->guard_fd, "d", 1) != 1)
		mt_debug("the guard of cgroup %s: %s", cg->dir, strerror(errno));
	close(cg->guard_fd);
	cg->guard_fd = -1;
	/* removed: it ends now; otherwise it goes on alone until the cgroup empties */
	if (removed)
		while (waitpid(cg->guard_pid, NULL, 0) < 0 && errno == EINTR)
			;
	cg->guard_pid = -1;
}
