/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every /proc file memtrace-bpf reads, one parser per file. The parsers take the file's text and
 * touch nothing else, so the unit tests feed them what the kernel writes; the readers around
 * them do the I/O.
 */
#ifndef MT_PROCFS_H
#define MT_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "memtrace.h"

/* /proc/PID/stat, the fields memtrace-bpf needs. */
struct procfs_stat {
	char comm[MT_COMM_LEN];
	char state; /* R, S, D, Z, X, ... */
	uint32_t ppid;
	unsigned flags; /* PF_* (MT_PF_KTHREAD) */
	unsigned long long utime_ticks, stime_ticks, start_ticks;
	int threads;
};

/* /proc/PID/status, the fields memtrace-bpf needs. */
struct procfs_status {
	int tgid; /* -1 if absent */
	bool has_mm; /* a VmRSS line: an address space (not a kernel thread, not exited) */
	uint64_t anon_bytes, file_bytes, shmem_bytes;
};

/* What a read of a process tells beyond its row: whether there is anything to trace. */
struct proc_facts {
	bool has_mm;  /* an address space: not a kernel thread, not exited */
	bool kthread;
	bool exited;  /* a zombie (or dead) whose threads are all gone */
};

/* Parse /proc/PID/stat text (the whole record: a name may hold a newline). 0 or -EINVAL. */
int procfs_parse_stat(const char *text, struct procfs_stat *out);
/* Parse /proc/PID/status text. Returns 0. */
int procfs_parse_status(const char *text, struct procfs_status *out);

/*
 * From /proc/self/mountinfo text: the mount point of the first cgroup2 mount and of the first
 * v1 "cgroup" mount whose super options hold the "memory" controller, plus each mount's root
 * (field 4: "/" normally, a subpath inside containers). Octal escapes (\040) are decoded.
 * Missing ones (or ones too long for the buffers) get "". Returns 0.
 */
int procfs_parse_mountinfo(const char *text, char *v2_mnt, size_t v2_len, char *v2_root,
			   size_t v2_root_len, char *v1_mnt, size_t v1_len, char *v1_root,
			   size_t v1_root_len);
/* The same from this process's /proc/self/mountinfo. 0 or -errno. */
int procfs_read_mountinfo(char *v2_mnt, size_t v2_len, char *v2_root, size_t v2_root_len,
			  char *v1_mnt, size_t v1_len, char *v1_root, size_t v1_root_len);

/*
 * From /proc/PID/cgroup text: the v2 path ("0::/path") and the v1 memory path
 * ("N:ctrl,memory,...:/path"). Missing (or too long) gets "". Returns 0.
 */
int procfs_parse_pid_cgroup(const char *text, char *v2_path, size_t v2_len, char *v1_mem_path,
			    size_t v1_len);
/* The same from /proc/PID/cgroup. 0 or -errno (-ENOENT: no such process). */
int procfs_read_pid_cgroup(int pid, char *v2_path, size_t v2_len, char *v1_mem_path,
			   size_t v1_len);
/* The same from /proc/self/cgroup: this process, whatever PID namespace /proc belongs to. */
int procfs_read_self_cgroup(char *v2_path, size_t v2_len, char *v1_mem_path, size_t v1_len);

/* From /proc/cgroups text: the hierarchy id of controller, or -1 if it is not listed/enabled. */
int procfs_parse_cgroups(const char *text, const char *controller);
/* The same from /proc/cgroups; -1 also when the file cannot be read. */
int procfs_read_cgroups(const char *controller);

struct mt_ksym_range {
	uint64_t start, end; /* [start, end); both 0 if not found */
};

/*
 * In /proc/kallsyms text read from f: the address ranges of the text symbols names[0..n)
 * (a symbol ends where the next one starts). Returns how many were found, or -EPERM when
 * addresses are hidden (all zero: kptr_restrict without CAP_SYSLOG). A stream, read twice,
 * not a string: the file is megabytes long.
 */
int procfs_parse_kallsyms(FILE *f, const char *const *names, size_t n, struct mt_ksym_range *out);
/* The same from /proc/kallsyms; -errno also when it cannot be opened. */
int procfs_read_kallsyms(const char *const *names, size_t n, struct mt_ksym_range *out);

/*
 * Whether two start times (ns) name the same process: /proc's come in clock ticks, so one read
 * there is rounded down to a tick, the kernel's is not.
 */
bool procfs_same_start(uint64_t a_ns, uint64_t b_ns);

/*
 * The process as /proc shows it now: the start of its rows (RSS split, name, parent, start
 * time, CPU time so far in utime_ns/stime_ns) and its command line quoted for a shell in label
 * ("[comm]" when it has none; with label NULL the command line is not read). facts may be
 * NULL. Returns 0, -ENOENT/-ESRCH (no such process), -EISDIR (pid is a thread, not a process)
 * or -EINVAL.
 */
int procfs_read_process(int pid, struct proc_stats *st, char *label, size_t label_len,
			struct proc_facts *facts);

/* One line of /proc/PID/maps. */
struct procfs_map {
	uint64_t start, end; /* [start, end) */
	uint64_t offset;     /* of the file, at start */
	unsigned dev_major, dev_minor;
	uint64_t inode;	     /* 0: not a file */
	char perms[5];	     /* "r-xp" */
	const char *path;    /* as the process sees it (mount namespace, chroot); "" anonymous */
};

/*
 * Call fn for each line of /proc/PID/maps text (stop early when it returns false); m and its
 * path last only during the call. A path is as the kernel writes it: " (deleted)" after a file
 * removed, "\012" for a newline in a name. 0 or -EINVAL (a line that is not a mapping).
 */
int procfs_parse_maps(const char *text, bool (*fn)(void *ctx, const struct procfs_map *m),
		      void *ctx);
/* The same from /proc/PID/maps (pid 0: /proc/self/maps). 0 or -errno (-ENOENT: no such process). */
int procfs_read_maps(int pid, bool (*fn)(void *ctx, const struct procfs_map *m), void *ctx);

/* Whether this process sees the initial PID namespace (/proc's pids are the host's). */
bool procfs_in_init_pid_ns(void);
/* Call fn for every process /proc lists (stop early when it returns false). Returns 0 or -errno. */
int procfs_for_each_pid(bool (*fn)(void *ctx, int pid), void *ctx);

#endif
