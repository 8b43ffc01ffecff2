// SPDX-License-Identifier: GPL-2.0
/*
 * Finding CPython in a process (user/pyfind.h) and the ELF reading under it (user/elfsym.h), on
 * real interpreters run as children: Debian's python3.11 (the interpreter in a non-PIE
 * executable) and pyenv's shared-library builds. An interpreter that is not installed is
 * skipped, saying so.
 */
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "elfsym.h"
#include "procfs.h"
#include "pyfind.h"
#include "unit.h"

#define DEBIAN_PYTHON "/usr/bin/python3.11"

/* in this test's own .symtab (not exported): initial values the file holds, or does not */
__attribute__((used)) char elfsym_data_probe[32] = "elfsym data probe";
__attribute__((used)) char elfsym_bss_probe[64];

static void skip(const char *what, const char *why)
{
	printf("test_pyfind: SKIP %s: %s\n", what, why);
	fflush(stdout);
}

static const char *pyenv_root(char *buf, size_t len)
{
	const char *root = getenv("PYENV_ROOT"), *home = getenv("HOME");

	if (root && *root)
		snprintf(buf, len, "%s", root);
	else
		snprintf(buf, len, "%s/.pyenv", home && *home ? home : "/root");
	return buf;
}

/* bin/python3.MINOR of pyenv's VERSION, or NULL (with a SKIP line) when it is not installed */
static const char *pyenv_python(const char *version, unsigned minor, char *buf, size_t len)
{
	char root[PATH_MAX / 2];

	if (snprintf(buf, len, "%s/versions/%s/bin/python3.%u", pyenv_root(root, sizeof(root)),
		     version, minor) >= (int)len ||
	    access(buf, X_OK)) {
		skip(version, "not installed under pyenv");
		return NULL;
	}
	return buf;
}

/*
 * Start exe with argv, its stdout a pipe, and wait (10 s at most) for its first line, given back
 * in line. The pid, or -1.
 */
static pid_t spawn(const char *exe, char *const argv[], char *line, size_t len)
{
	int fds[2];
	size_t got = 0;
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv(exe, argv);
		_exit(127);
	}
	close(fds[1]);
	line[0] = '\0';
	while (got + 1 < len && !strchr(line, '\n')) {
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 10000) <= 0)
			break;
		n = read(fds[0], line + got, len - got - 1);
		if (n <= 0)
			break;
		got += (size_t)n;
		line[got] = '\0';
	}
	close(fds[0]);
	if (!strchr(line, '\n')) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* python at exe, started and past its initialisation; its version in major.minor.micro */
static pid_t spawn_python(const char *exe, unsigned v[3])
{
	static char script[] = "import sys,time; "
			       "sys.stdout.write('ready %d.%d.%d\\n' % sys.version_info[:3]); "
			       "sys.stdout.flush(); time.sleep(30)";
	char *argv[] = { (char *)exe, "-c", script, NULL };
	char line[128];
	pid_t pid = spawn(exe, argv, line, sizeof(line));

	if (pid > 0 && sscanf(line, "ready %u.%u.%u", &v[0], &v[1], &v[2]) != 3) {
		stop(pid);
		return -1;
	}
	return pid;
}

struct find_map {
	uint64_t addr;
	const char *path;
	bool found;
};

static bool addr_in_file(void *ctx, const struct procfs_map *m)
{
	struct find_map *f = ctx;

	if (f->addr >= m->start && f->addr < m->end && !strcmp(m->path, f->path))
		f->found = true;
	return !f->found;
}

/* whether addr lies in a mapping of path in process pid */
static bool mapped_from(pid_t pid, uint64_t addr, const char *path)
{
	struct find_map f = { .addr = addr, .path = path };

	return !procfs_read_maps(pid, addr_in_file, &f) && f.found;
}

static bool read_remote(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = len };

	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}

/* the checks on a CPython 3.11+ found in pid (path_end: how the interpreter file's path ends) */
static void check_found(pid_t pid, const unsigned v[3], const char *path_end)
{
	struct py_found *found = malloc(sizeof(*found));
	char why[512], name[16] = "";
	uint64_t tp_name = 0;
	int ret;

	REQUIRE(found);
	ret = pyfind_process(pid, found, why, sizeof(why));
	if (ret != 1)
		printf("test_pyfind: pyfind_process: %d: %s\n", ret, why);
	CHECK_EQ_INT(ret, 1);
	if (ret != 1)
		goto out;
	CHECK_EQ_INT(found->pid, pid);
	CHECK_EQ_U64(found->major, v[0]);
	CHECK_EQ_U64(found->minor, v[1]);
	CHECK_EQ_U64(found->micro, v[2]);
	size_t n = strlen(found->path), m = strlen(path_end);
	CHECK(n >= m && !strcmp(found->path + n - m, path_end));
	CHECK(mapped_from(pid, found->runtime_addr, found->path));
	CHECK(mapped_from(pid, found->code_type_addr, found->path));
	/* PyCode_Type's tp_name (after ob_refcnt, ob_type, ob_size) is the C string "code" */
	CHECK(read_remote(pid, found->code_type_addr + 24, &tp_name, sizeof(tp_name)));
	CHECK(tp_name && read_remote(pid, tp_name, name, 5));
	CHECK_STREQ(name, "code");
	if (v[1] >= 13) {
		CHECK(found->runtime_image_len >= 8);
		CHECK(!memcmp(found->runtime_image, "xdebugpy", 8));
	} else {
		CHECK_EQ_U64(found->runtime_image_len, 0);
	}
	/* every interpreter here runs on this Debian's glibc */
	CHECK(found->same_libc);
out:
	free(found);
}

static void check_interpreter(const char *exe, const char *path_end)
{
	unsigned v[3];
	pid_t pid = spawn_python(exe, v);

	if (pid < 0) {
		ut_fail(__FILE__, __LINE__, "%s did not start", exe);
		return;
	}
	check_found(pid, v, path_end);
	stop(pid);
}

/* ---- /proc/PID/maps ---- */

struct maps_seen {
	struct procfs_map m[8];
	char paths[8][128];
	size_t n;
};

static bool keep(void *ctx, const struct procfs_map *m)
{
	struct maps_seen *s = ctx;

	if (s->n == 8)
		return false;
	s->m[s->n] = *m;
	snprintf(s->paths[s->n], sizeof(s->paths[0]), "%s", m->path);
	s->m[s->n].path = s->paths[s->n];
	s->n++;
	return true;
}

/* the kinds of lines Linux 6.1 writes: a file, an anonymous mapping, a named one, a path with
 * spaces, a deleted file */
TEST(maps_lines)
{
	static const char text[] =
		"00400000-0041f000 r--p 00000000 fe:01 1835066                            "
		"/usr/bin/python3.11\n"
		"7f3a2c000000-7f3a2c021000 rw-p 00000000 00:00 0 \n"
		"55d4c6e3e000-55d4c6e5f000 rw-p 00000000 00:00 0                          [heap]\n"
		"7f3a2d5e1000-7f3a2d5e3000 r-xp 0001a000 103:02 42 /tmp/a b/lib x.so\n"
		"7ffd1e7f0000-7ffd1e7f1000 rw-s 00000000 00:01 1057                       "
		"/memfd:x (deleted)\n";
	struct maps_seen s = { 0 };

	REQUIRE(procfs_parse_maps(text, keep, &s) == 0);
	REQUIRE(s.n == 5);
	CHECK_EQ_U64(s.m[0].start, 0x400000);
	CHECK_EQ_U64(s.m[0].end, 0x41f000);
	CHECK_STREQ(s.m[0].perms, "r--p");
	CHECK_EQ_U64(s.m[0].dev_major, 0xfe);
	CHECK_EQ_U64(s.m[0].dev_minor, 1);
	CHECK_EQ_U64(s.m[0].inode, 1835066);
	CHECK_STREQ(s.m[0].path, "/usr/bin/python3.11");
	CHECK_EQ_U64(s.m[1].inode, 0);
	CHECK_STREQ(s.m[1].path, "");
	CHECK_STREQ(s.m[2].path, "[heap]");
	CHECK_EQ_U64(s.m[3].offset, 0x1a000);
	CHECK_EQ_U64(s.m[3].dev_major, 0x103);
	CHECK_EQ_U64(s.m[3].dev_minor, 2);
	CHECK_STREQ(s.m[3].path, "/tmp/a b/lib x.so");
	CHECK_STREQ(s.m[4].path, "/memfd:x (deleted)");
	CHECK_EQ_INT(procfs_parse_maps("not a mapping\n", keep, &s), -EINVAL);
}

/* ---- ELF files ---- */

static bool has_libc(void *ctx, const char *name)
{
	if (!strcmp(name, "libc.so.6"))
		*(bool *)ctx = true;
	return true;
}

/* this test binary: symbols from .symtab, a .data value from the file, .bss zeros */
TEST(elf_own_symbols)
{
	struct elfsym_file *f;
	struct elfsym_sym sym;
	char why[256], buf[64];
	const struct elfsym_seg *segs;
	size_t nr;
	bool libc = false;

	memset(elfsym_bss_probe, 'x', sizeof(elfsym_bss_probe)); /* the file's value stays 0 */
	REQUIRE(elfsym_open("/proc/self/exe", &f, why, sizeof(why)) == 0);
	CHECK(elfsym_type(f) == ET_DYN || elfsym_type(f) == ET_EXEC);
	segs = elfsym_segments(f, &nr);
	CHECK(nr >= 2);
	CHECK(nr && segs[0].filesz);
	CHECK(elfsym_lookup(f, "elfsym_data_probe", &sym) == 0);
	CHECK_EQ_U64(sym.size, 32);
	CHECK_EQ_INT(elfsym_read_initial(f, &sym, buf, sizeof(buf)), 32);
	CHECK_STREQ(buf, "elfsym data probe");
	CHECK(elfsym_lookup(f, "elfsym_bss_probe", &sym) == 0);
	memset(buf, 'y', sizeof(buf));
	CHECK_EQ_INT(elfsym_read_initial(f, &sym, buf, 16), 16);
	CHECK(!memcmp(buf, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16));
	CHECK_EQ_INT(elfsym_lookup(f, "no_such_symbol_here", &sym), -ENOENT);
	CHECK(strstr(elfsym_error(f), "no_such_symbol_here") != NULL);
	CHECK(elfsym_for_each_needed(f, has_libc, &libc) == 0);
	CHECK(libc);
	elfsym_close(f);
}

TEST(elf_open_errors)
{
	struct elfsym_file *f = (void *)1;
	char why[256] = "";

	CHECK_EQ_INT(elfsym_open("/nonexistent/file", &f, why, sizeof(why)), -ENOENT);
	CHECK(f == NULL);
	CHECK(strstr(why, "/nonexistent/file") != NULL);
	why[0] = '\0';
	CHECK_EQ_INT(elfsym_open("/proc/self/status", &f, why, sizeof(why)), -ENOEXEC);
	CHECK(f == NULL);
	CHECK(why[0] != '\0');
}

/* Debian's python3.11: a stripped non-PIE executable that still exports its globals */
TEST(elf_debian_python)
{
	struct elfsym_file *f;
	struct elfsym_sym sym;
	char why[256];
	uint64_t hex = 0;

	if (access(DEBIAN_PYTHON, R_OK)) {
		skip(DEBIAN_PYTHON, "not installed");
		return;
	}
	REQUIRE(elfsym_open(DEBIAN_PYTHON, &f, why, sizeof(why)) == 0);
	CHECK_EQ_U64(elfsym_type(f), ET_EXEC);
	CHECK(elfsym_lookup(f, "_PyRuntime", &sym) == 0);
	CHECK(elfsym_lookup(f, "PyCode_Type", &sym) == 0);
	REQUIRE(elfsym_lookup(f, "Py_Version", &sym) == 0);
	CHECK_EQ_INT(elfsym_read_initial(f, &sym, &hex, sizeof(hex)), 8);
	CHECK_EQ_U64(hex >> 16, 0x030b);
	elfsym_close(f);
}

/* ---- the decision ---- */

TEST(libpython_names)
{
	unsigned minor = 0;

	CHECK(pyfind_libpython_name("libpython3.11.so.1.0", &minor));
	CHECK_EQ_U64(minor, 11);
	CHECK(pyfind_libpython_name("libpython3.13t.so.1.0", &minor));
	CHECK_EQ_U64(minor, 13);
	CHECK(pyfind_libpython_name("libpython3.9d.so", &minor));
	CHECK_EQ_U64(minor, 9);
	CHECK(pyfind_libpython_name("libpython3.12.so.1.0 (deleted)", &minor));
	CHECK(!pyfind_libpython_name("libpython3.so", &minor));
	CHECK(!pyfind_libpython_name("libpython2.7.so.1.0", &minor));
	CHECK(!pyfind_libpython_name("libpython3.11.a", &minor));
	CHECK(!pyfind_libpython_name("python3.11", &minor));
}

/*
 * pyenv's python3.11 needs libpython3.11.so.1.0: before the dynamic linker maps it (only the
 * executable and ld.so in the maps) the answer is "not yet"; with it but before libc.so.6 (the
 * threads' libc, whose layout the thread-specific data is read with) "not yet" still; with
 * both, the library.
 */
TEST(decide_library_not_loaded_yet)
{
	char exe_path[PATH_MAX], why[256], needed[128];
	struct elfsym_file *exe;
	size_t lib = 99;
	struct procfs_map maps[] = {
		{ .start = 0x400000, .end = 0x401000, .inode = 10, .path = "/opt/py/bin/python3.11" },
		{ .start = 0x7f0000000000, .end = 0x7f0000001000, .inode = 11,
		  .path = "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" },
		{ .start = 0x7f0000100000, .end = 0x7f0000101000, .inode = 0, .path = "" },
		{ .start = 0x7f0000200000, .end = 0x7f0000201000, .inode = 12,
		  .path = "/opt/py/lib/libpython3.11.so.1.0" },
		{ .start = 0x7f0000300000, .end = 0x7f0000301000, .inode = 13,
		  .path = "/usr/lib/x86_64-linux-gnu/libc.so.6" },
	};

	if (!pyenv_python("3.11.7", 11, exe_path, sizeof(exe_path)))
		return;
	REQUIRE(elfsym_open(exe_path, &exe, why, sizeof(why)) == 0);
	CHECK_EQ_INT(pyfind_decide(maps, 3, exe, &lib, needed, sizeof(needed)),
		     PYFIND_NOT_LOADED);
	CHECK_STREQ(needed, "libpython3.11.so.1.0");
	CHECK_EQ_INT(pyfind_decide(maps, 4, exe, &lib, needed, sizeof(needed)),
		     PYFIND_NOT_LOADED);
	CHECK_STREQ(needed, "libc.so.6");
	CHECK_EQ_INT(pyfind_decide(maps, 5, exe, &lib, needed, sizeof(needed)),
		     PYFIND_IN_LIBRARY);
	CHECK_EQ_U64(lib, 3);
	elfsym_close(exe);
}

TEST(decide_exe_or_nothing)
{
	struct elfsym_file *exe;
	char why[256], needed[128];
	size_t lib;
	struct procfs_map maps[] = {
		{ .start = 0x400000, .end = 0x401000, .inode = 10, .path = "/usr/bin/x" },
		{ .start = 0x7f0000300000, .end = 0x7f0000301000, .inode = 13,
		  .path = "/usr/lib/x86_64-linux-gnu/libc.so.6" },
	};

	if (!access(DEBIAN_PYTHON, R_OK)) {
		REQUIRE(elfsym_open(DEBIAN_PYTHON, &exe, why, sizeof(why)) == 0);
		/* caught at exec: the interpreter is there, its libc not yet */
		CHECK_EQ_INT(pyfind_decide(maps, 1, exe, &lib, needed, sizeof(needed)),
			     PYFIND_NOT_LOADED);
		CHECK_STREQ(needed, "libc.so.6");
		CHECK_EQ_INT(pyfind_decide(maps, 2, exe, &lib, needed, sizeof(needed)),
			     PYFIND_IN_EXE);
		elfsym_close(exe);
	} else {
		skip(DEBIAN_PYTHON, "not installed");
	}
	REQUIRE(elfsym_open("/bin/sleep", &exe, why, sizeof(why)) == 0);
	CHECK_EQ_INT(pyfind_decide(maps, 1, exe, &lib, needed, sizeof(needed)),
		     PYFIND_NOT_PYTHON);
	elfsym_close(exe);
	CHECK_EQ_INT(pyfind_decide(maps, 1, NULL, &lib, needed, sizeof(needed)),
		     PYFIND_NOT_PYTHON);
}

/* ---- real processes ---- */

TEST(debian_python_3_11)
{
	if (access(DEBIAN_PYTHON, X_OK)) {
		skip(DEBIAN_PYTHON, "not installed");
		return;
	}
	check_interpreter(DEBIAN_PYTHON, DEBIAN_PYTHON);
}

static void check_pyenv(const char *version, unsigned minor)
{
	char exe[PATH_MAX], lib[64];

	if (!pyenv_python(version, minor, exe, sizeof(exe)))
		return;
	snprintf(lib, sizeof(lib), "/lib/libpython3.%u.so.1.0", minor);
	check_interpreter(exe, lib);
}

TEST(pyenv_3_11)
{
	check_pyenv("3.11.7", 11);
}

TEST(pyenv_3_12)
{
	check_pyenv("3.12.1", 12);
}

TEST(pyenv_3_13)
{
	check_pyenv("3.13.0", 13);
}

TEST(pyenv_3_10_unsupported)
{
	char exe[PATH_MAX], why[512];
	struct py_found *found;
	unsigned v[3];
	pid_t pid;

	if (!pyenv_python("3.10.13", 10, exe, sizeof(exe)))
		return;
	found = malloc(sizeof(*found));
	REQUIRE(found);
	pid = spawn_python(exe, v);
	if (pid < 0) {
		ut_fail(__FILE__, __LINE__, "%s did not start", exe);
		free(found);
		return;
	}
	CHECK_EQ_INT(pyfind_process(pid, found, why, sizeof(why)), -1);
	CHECK(strstr(why, "3.10") != NULL);
	stop(pid);
	free(found);
}

TEST(not_python)
{
	char *argv[] = { "/bin/sh", "-c", "echo ready; exec sleep 30", NULL };
	char line[64], why[512], exe[PATH_MAX];
	struct py_found *found = malloc(sizeof(*found));
	pid_t pid;

	REQUIRE(found);
	pid = spawn("/bin/sh", argv, line, sizeof(line));
	if (pid < 0) {
		ut_fail(__FILE__, __LINE__, "sh did not start");
		free(found);
		return;
	}
	/* past the exec of sleep */
	snprintf(line, sizeof(line), "/proc/%d/exe", (int)pid);
	for (int i = 0; i < 500; i++) {
		ssize_t n = readlink(line, exe, sizeof(exe) - 1);

		exe[n > 0 ? n : 0] = '\0';
		if (strstr(exe, "sleep"))
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	}
	CHECK(strstr(exe, "sleep") != NULL);
	CHECK_EQ_INT(pyfind_process(pid, found, why, sizeof(why)), 0);
	stop(pid);
	/* gone: not CPython either */
	CHECK_EQ_INT(pyfind_process(pid, found, why, sizeof(why)), 0);
	free(found);
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(maps_lines),
		UT(elf_own_symbols),
		UT(elf_open_errors),
		UT(elf_debian_python),
		UT(libpython_names),
		UT(decide_library_not_loaded_yet),
		UT(decide_exe_or_nothing),
		UT(debian_python_3_11),
		UT(pyenv_3_11),
		UT(pyenv_3_12),
		UT(pyenv_3_13),
		UT(pyenv_3_10_unsupported),
		UT(not_python),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
