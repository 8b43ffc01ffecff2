// SPDX-License-Identifier: GPL-2.0
/*
 * The cgroup modules: cgroupfs's path helpers, -G's test of a process (cgtarget), and, as root
 * where a memory controller is mounted, -m's real limited cgroup (cglimit) created, joined,
 * read and removed.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cglimit.h"
#include "cgtarget.h"
#include "procfs.h"
#include "unit.h"

#define MIB (1024ULL * 1024ULL)

struct mounts {
	char v2[256], v2_root[256], v1[256], v1_root[256];
};

/* this process's cgroup mounts, as procfs reads them */
static void read_mounts(struct mounts *m)
{
	memset(m, 'x', sizeof(*m)); /* what is not found must come back "" */
	CHECK_EQ_INT(procfs_read_mountinfo(m->v2, sizeof(m->v2), m->v2_root, sizeof(m->v2_root),
					   m->v1, sizeof(m->v1), m->v1_root, sizeof(m->v1_root)),
		     0);
}

/* ---- -G: cgroup_under_mount ---- */

TEST(under_mount)
{
	const char *rel = NULL;

	REQUIRE(cgroup_under_mount("/sys/fs/cgroup/memory/a/b", "/sys/fs/cgroup/memory", &rel));
	CHECK_STREQ(rel, "/a/b");
	REQUIRE(cgroup_under_mount("/sys/fs/cgroup/memory", "/sys/fs/cgroup/memory/", &rel));
	CHECK_STREQ(rel, "");
	/* a sibling whose name only starts like the mount point is not under it */
	CHECK(!cgroup_under_mount("/sys/fs/cgroup/memory2/a", "/sys/fs/cgroup/memory", &rel));
	CHECK(!cgroup_under_mount("/sys/fs/cgroup", "/sys/fs/cgroup/memory", &rel));
	CHECK(!cgroup_under_mount("relative/a", "/sys/fs/cgroup", &rel));
	CHECK(!cgroup_under_mount("/a", "", &rel));
	REQUIRE(cgroup_under_mount("/a/b", "/", &rel));
	CHECK_STREQ(rel, "/a/b");
	REQUIRE(cgroup_under_mount("/", "/", &rel));
	CHECK_STREQ(rel, "");
}

TEST(pid_in_target_from_proc)
{
	char v2[MT_CG_PATH_MAX], v1[MT_CG_PATH_MAX];
	struct mt_cg_target t = { .version = MT_CG_V2 };

	REQUIRE(procfs_read_self_cgroup(v2, sizeof(v2), v1, sizeof(v1)) == 0);
	if (!v2[0]) {
		t.version = MT_CG_V1;
		snprintf(v2, sizeof(v2), "%s", v1);
	}
	REQUIRE(v2[0] == '/');
	/* its own cgroup, the root, and not a sibling whose name only starts the same */
	snprintf(t.path, sizeof(t.path), "%s", v2);
	CHECK(cgroup_pid_in_target(getpid(), &t));
	snprintf(t.path, sizeof(t.path), "/");
	CHECK(cgroup_pid_in_target(getpid(), &t));
	snprintf(t.path, sizeof(t.path), "%.4000s-not", strcmp(v2, "/") ? v2 : "/x");
	CHECK(!cgroup_pid_in_target(getpid(), &t));
	snprintf(t.path, sizeof(t.path), "%.4000s/child", strcmp(v2, "/") ? v2 : "");
	CHECK(!cgroup_pid_in_target(getpid(), &t));
	/* no such process */
	CHECK(!cgroup_pid_in_target(0, &t));
}

/* ---- cgroup_join_dir ---- */

#define CHECK_JOIN(mnt, root, path, want)                                                          \
	do {                                                                                       \
		char out_[256] = "junk";                                                           \
		int r_ = cgroup_join_dir(mnt, root, path, out_, sizeof(out_));                     \
		CHECK_EQ_INT(r_, 0);                                                               \
		CHECK_STREQ(out_, want);                                                           \
	} while (0)

#define CHECK_JOIN_FAILS(mnt, root, path, err)                                                     \
	do {                                                                                       \
		char out_[256] = "junk";                                                           \
		CHECK_EQ_INT(cgroup_join_dir(mnt, root, path, out_, sizeof(out_)), err);           \
		CHECK_STREQ(out_, "");                                                             \
	} while (0)

TEST(join_dir_root_mount)
{
	CHECK_JOIN("/sys/fs/cgroup", "/", "/a/b", "/sys/fs/cgroup/a/b");
	CHECK_JOIN("/sys/fs/cgroup", "/", "/", "/sys/fs/cgroup");
	CHECK_JOIN("/sys/fs/cgroup/memory", "/", "/process_api/ffc5d814788eacb6d56e29671f429a6b",
		   "/sys/fs/cgroup/memory/process_api/ffc5d814788eacb6d56e29671f429a6b");
	/* trailing slashes anywhere are dropped */
	CHECK_JOIN("/sys/fs/cgroup/", "/", "/a/b/", "/sys/fs/cgroup/a/b");
	CHECK_JOIN("/sys/fs/cgroup//", "//", "/", "/sys/fs/cgroup");
	/* a hierarchy mounted on / itself */
	CHECK_JOIN("/", "/", "/a", "/a");
	CHECK_JOIN("/", "/", "/", "/");
	/* dots that are not a ".." component are names like any other */
	CHECK_JOIN("/cg", "/", "/a..b/..c/d..", "/cg/a..b/..c/d..");
}

TEST(join_dir_nested_mount_root)
{
	CHECK_JOIN("/mnt", "/a", "/a/b", "/mnt/b");
	CHECK_JOIN("/mnt", "/a", "/a", "/mnt");
	CHECK_JOIN("/mnt", "/a/", "/a/b/c", "/mnt/b/c");
	CHECK_JOIN("/sys/fs/cgroup/memory", "/docker/3f1c0e9a8b7d", "/docker/3f1c0e9a8b7d",
		   "/sys/fs/cgroup/memory");
	CHECK_JOIN("/sys/fs/cgroup", "/system.slice/docker-3f.scope",
		   "/system.slice/docker-3f.scope/init", "/sys/fs/cgroup/init");
}

TEST(join_dir_not_under_root)
{
	CHECK_JOIN_FAILS("/mnt", "/a", "/b", -EINVAL);
	CHECK_JOIN_FAILS("/mnt", "/a", "/ab", -EINVAL); /* a prefix, not a parent */
	CHECK_JOIN_FAILS("/mnt", "/a/b", "/a", -EINVAL);
	CHECK_JOIN_FAILS("/mnt", "/a", "/", -EINVAL);
	/* outside our cgroup namespace: ".." must not climb out of the mount */
	CHECK_JOIN_FAILS("/sys/fs/cgroup", "/", "/../sibling", -EINVAL);
	CHECK_JOIN_FAILS("/sys/fs/cgroup", "/", "/a/../../b", -EINVAL);
	CHECK_JOIN_FAILS("/sys/fs/cgroup", "/", "/a/..", -EINVAL);
	/* relative or empty arguments */
	CHECK_JOIN_FAILS("/sys/fs/cgroup", "/", "a/b", -EINVAL);
	CHECK_JOIN_FAILS("/sys/fs/cgroup", "/", "", -EINVAL);
	CHECK_JOIN_FAILS("", "/", "/a", -EINVAL);
	CHECK_JOIN_FAILS("sys/fs/cgroup", "/", "/a", -EINVAL);
	CHECK_JOIN_FAILS("/sys/fs/cgroup", "", "/a", -EINVAL);
	CHECK_JOIN_FAILS(NULL, "/", "/a", -EINVAL);
	CHECK_JOIN_FAILS("/mnt", NULL, "/a", -EINVAL);
	CHECK_JOIN_FAILS("/mnt", "/", NULL, -EINVAL);
}

TEST(join_dir_too_long)
{
	char out[16] = "junk";
	char big[MT_CG_PATH_MAX + 16], path[MT_CG_PATH_MAX];

	/* "/mnt/abcdefghij" is 15 bytes: fits exactly in 16 with its NUL, not in 15 */
	CHECK_EQ_INT(cgroup_join_dir("/mnt", "/", "/abcdefghij", out, sizeof(out)), 0);
	CHECK_STREQ(out, "/mnt/abcdefghij");
	CHECK_EQ_INT(cgroup_join_dir("/mnt", "/", "/abcdefghij", out, 15), -ENAMETOOLONG);
	CHECK_STREQ(out, "");
	CHECK_EQ_INT(cgroup_join_dir("/mnt", "/", "/abcdefghijk", out, sizeof(out)), -ENAMETOOLONG);
	CHECK_EQ_INT(cgroup_join_dir("/mnt", "/", "/", out, 0), -EINVAL);
	/* a cgroup path as long as the struct's buffers under a mount point */
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	CHECK_EQ_INT(cgroup_join_dir("/sys/fs/cgroup", "/", path, big, MT_CG_PATH_MAX),
		     -ENAMETOOLONG);
	CHECK_EQ_INT(cgroup_join_dir("/sys/fs/cgroup", "/", path, big, sizeof(big)), 0);
	CHECK_EQ_U64(strlen(big), strlen("/sys/fs/cgroup") + sizeof(path) - 1);
}

/* ---- cgroup_list_has ---- */

TEST(list_has_whole_words)
{
	const char *v2_root = "cpuset cpu io memory hugetlb pids rdma misc\n";

	CHECK(cgroup_list_has(v2_root, "memory"));
	CHECK(cgroup_list_has(v2_root, "cpu"));
	CHECK(cgroup_list_has(v2_root, "cpuset"));
	CHECK(cgroup_list_has(v2_root, "misc")); /* last word, before the newline */
	CHECK(!cgroup_list_has(v2_root, "mem"));
	CHECK(!cgroup_list_has(v2_root, "memor"));
	CHECK(!cgroup_list_has(v2_root, "set"));
	CHECK(!cgroup_list_has("memory_foo", "memory"));
	CHECK(!cgroup_list_has("foo_memory pids", "memory"));
	CHECK(!cgroup_list_has("cpu io", "memory"));
	CHECK(cgroup_list_has("memory", "memory"));
	CHECK(cgroup_list_has("  memory  ", "memory"));
	CHECK(cgroup_list_has("io\tmemory\n", "memory"));
	CHECK(cgroup_list_has("pids memory", "memory"));
}

TEST(list_has_empty)
{
	CHECK(!cgroup_list_has("", "memory"));
	CHECK(!cgroup_list_has("\n", "memory"));
	CHECK(!cgroup_list_has("   ", "memory"));
	CHECK(!cgroup_list_has(NULL, "memory"));
	CHECK(!cgroup_list_has("memory", ""));
	CHECK(!cgroup_list_has("memory", NULL));
}

/* ---- live: a real cgroup (root only) ---- */

static void skip(const char *why)
{
	fprintf(ut_out, "%s: SKIP %s: %s\n", ut_prog, ut_test_name, why);
	fflush(ut_out);
}

static char *slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	buf[0] = '\0';
	if (f) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

/* NULL if a limited cgroup can be made here, else why not */
static const char *live_unavailable(void)
{
	struct mounts m;
	char path[512], controllers[1024];

	if (geteuid() != 0)
		return "not root";
	read_mounts(&m);
	if (m.v2[0]) {
		snprintf(path, sizeof(path), "%s/cgroup.controllers", m.v2);
		if (cgroup_list_has(slurp(path, controllers, sizeof(controllers)), "memory"))
			return NULL;
	}
	return m.v1[0] ? NULL : "no cgroup v2 with the memory controller, no v1 memory hierarchy";
}

/* this process's path in the hierarchy the cgroup was made in */
static void own_path(const struct mt_cgroup *cg, pid_t pid, char *out, size_t len)
{
	char v2[MT_CG_PATH_MAX] = "", v1[MT_CG_PATH_MAX] = "";

	CHECK_EQ_INT(procfs_read_pid_cgroup((int)pid, v2, sizeof(v2), v1, sizeof(v1)), 0);
	snprintf(out, len, "%s", cg->version == MT_CG_V2 ? v2 : v1);
}

static bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

/* call cgroup_destroy with stderr captured into err */
static int destroy_captured(struct mt_cgroup *cg, char *err, size_t len)
{
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO), r;

	fflush(stderr);
	if (f)
		dup2(fileno(f), STDERR_FILENO);
	r = cgroup_destroy(cg);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	err[0] = '\0';
	if (f) {
		size_t n;

		rewind(f);
		n = fread(err, 1, len - 1, f);
		err[n] = '\0';
		fclose(f);
	}
	return r;
}

/* a child that waits for a byte on go, touches `bytes` of memory, writes a byte on done, sleeps */
static pid_t spawn_toucher(int go[2], int done[2], size_t bytes)
{
	pid_t pid = fork();

	if (pid == 0) {
		volatile char *mem; /* volatile: the stores must not be optimised away */
		char c;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(go[1]);
		close(done[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		mem = malloc(bytes);
		if (!mem)
			_exit(2);
		for (size_t i = 0; i < bytes; i += 512)
			mem[i] = 1;
		if (write(done[1], "x", 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	return pid;
}

/* the checks on a cgroup made with 64 MiB and a child in it (cleanup is the caller's) */
static void live_checks(struct mt_cgroup *cg, pid_t child, int go, int done)
{
	char home[MT_CG_PATH_MAX], expect_home[MT_CG_PATH_MAX], where[MT_CG_PATH_MAX];
	char err[4096];
	const char *source = NULL, *name;
	uint64_t peak = 0, kills = 99;
	struct mounts m;
	char c;

	CHECK(cg->created);
	CHECK(cg->version == MT_CG_V1 || cg->version == MT_CG_V2);
	CHECK(is_dir(cg->dir));
	CHECK_EQ_U64(cg->limit_bytes, 67108864);
	/* named memtrace-bpf-<pid>, dir and path end the same */
	name = strrchr(cg->dir, '/');
	REQUIRE(name);
	CHECK(!strncmp(name, "/memtrace-bpf-", 14));
	CHECK(strlen(cg->path) <= strlen(cg->dir) &&
	      !strcmp(cg->dir + strlen(cg->dir) - strlen(name), cg->path + strlen(cg->path) -
								 strlen(name)));
	CHECK(cg->path[0] == '/');
	/* home_dir is where this process is */
	own_path(cg, getpid(), home, sizeof(home));
	read_mounts(&m);
	CHECK_EQ_INT(cgroup_join_dir(cg->version == MT_CG_V2 ? m.v2 : m.v1,
				     cg->version == MT_CG_V2 ? m.v2_root : m.v1_root, home,
				     expect_home, sizeof(expect_home)),
		     0);
	CHECK_STREQ(cg->home_dir, expect_home);

	/* attach: /proc/CHILD/cgroup names cg->path */
	REQUIRE(cgroup_attach(cg, child) == 0);
	own_path(cg, child, where, sizeof(where));
	CHECK_STREQ(where, cg->path);
	CHECK_EQ_INT(cgroup_attach(cg, 0x7ffffff0), -ESRCH);
	/* the child touches 8 MiB in there: the peak sees it */
	REQUIRE(write(go, "x", 1) == 1);
	REQUIRE(read(done, &c, 1) == 1);
	int r = cgroup_read_peak(cg, &peak, &source);
	if (cg->version == MT_CG_V2 && r == -ENOENT) {
		CHECK_STREQ(source, "memory.peak");
	} else {
		CHECK_EQ_INT(r, 0);
		CHECK_STREQ(source, cg->version == MT_CG_V2 ? "memory.peak"
							     : "memory.max_usage_in_bytes");
		CHECK(peak >= 8 * MIB);
		CHECK(peak <= 64 * MIB);
	}
	CHECK_EQ_INT(cgroup_read_oom_kills(cg, &kills), 0);
	CHECK_EQ_U64(kills, 0);

	/* destroy: the child is moved back home (with a warning), the directory goes */
	CHECK_EQ_INT(destroy_captured(cg, err, sizeof(err)), 0);
	CHECK(strstr(err, "warning: 1 process still in cgroup ") != NULL);
	CHECK(strstr(err, cg->home_dir) != NULL);
	CHECK(!cg->created);
	CHECK(!is_dir(cg->dir));
	CHECK_EQ_INT(errno, ENOENT);
	own_path(cg, child, where, sizeof(where));
	CHECK_STREQ(where, home);
	CHECK_EQ_INT(kill(child, 0), 0); /* moved, not killed */
	/* twice is harmless and silent */
	CHECK_EQ_INT(destroy_captured(cg, err, sizeof(err)), 0);
	CHECK_STREQ(err, "");
	CHECK_EQ_INT(cgroup_attach(cg, child), -EINVAL);
}

TEST(live_limit_attach_peak_destroy)
{
	const char *why = live_unavailable();
	struct mt_cgroup *cg;
	int go[2], done[2];
	pid_t child;

	if (why) {
		skip(why);
		return;
	}
	cg = calloc(1, sizeof(*cg));
	REQUIRE(cg);
	REQUIRE(pipe(go) == 0);
	REQUIRE(pipe(done) == 0);
	if (cgroup_create_limited(cg, 64 * MIB)) {
		CHECK(!"cgroup_create_limited failed");
		CHECK(!cg->created);
	} else {
		child = spawn_toucher(go, done, 8 * MIB);
		CHECK(child > 0);
		if (child > 0)
			live_checks(cg, child, go[1], done[0]);
		cgroup_destroy(cg); /* after a failed check */
		if (child > 0) {
			kill(child, SIGKILL);
			CHECK_EQ_INT(waitpid(child, NULL, 0), child);
		}
	}
	close(go[0]);
	close(go[1]);
	close(done[0]);
	close(done[1]);
	free(cg);
}

/* the limit read back is what the kernel made of it (whole pages); a second one gets -1 */
TEST(live_rounding_and_second_cgroup)
{
	const char *why = live_unavailable();
	struct mt_cgroup *a, *b;
	char err[4096];
	long page = sysconf(_SC_PAGESIZE);

	if (why) {
		skip(why);
		return;
	}
	a = calloc(1, sizeof(*a));
	b = calloc(1, sizeof(*b));
	REQUIRE(a && b);
	if (cgroup_create_limited(a, 1000000) == 0) {
		CHECK_EQ_U64(a->limit_bytes, 1000000 / page * page);
		if (cgroup_create_limited(b, 3 * MIB) == 0) {
			size_t len = strlen(b->dir);

			CHECK(len > 2 && !strcmp(b->dir + len - 2, "-1"));
			CHECK_EQ_U64(b->limit_bytes, 3 * MIB);
			CHECK(strcmp(a->dir, b->dir));
			CHECK_EQ_INT(destroy_captured(b, err, sizeof(err)), 0);
			CHECK_STREQ(err, ""); /* empty: nothing to move, nothing to say */
		} else {
			CHECK(!"second cgroup_create_limited failed");
		}
		CHECK_EQ_INT(cgroup_destroy(a), 0);
		CHECK(!is_dir(a->dir));
	} else {
		CHECK(!"cgroup_create_limited failed");
	}
	free(a);
	free(b);
}

TEST(destroy_never_created)
{
	struct mt_cgroup *cg = calloc(1, sizeof(*cg));
	uint64_t v;

	REQUIRE(cg);
	CHECK_EQ_INT(cgroup_destroy(cg), 0);
	CHECK_EQ_INT(cgroup_destroy(cg), 0);
	CHECK_EQ_INT(cgroup_attach(cg, getpid()), -EINVAL);
	CHECK_EQ_INT(cgroup_read_oom_kills(cg, &v), -EINVAL);
	free(cg);
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(join_dir_root_mount),
		UT(join_dir_nested_mount_root),
		UT(join_dir_not_under_root),
		UT(join_dir_too_long),
		UT(list_has_whole_words),
		UT(list_has_empty),
		UT(live_limit_attach_peak_destroy),
		UT(live_rounding_and_second_cgroup),
		UT(destroy_never_created),
		UT(under_mount),
		UT(pid_in_target_from_proc),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
