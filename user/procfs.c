// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fileio.h"
#include "procfs.h"
#include "text.h"

int procfs_parse_stat(const char *text, struct procfs_stat *out)
{
	/* the name is between the first '(' and the last ')': it may hold both, and spaces */
	const char *open = strchr(text, '('), *close = strrchr(text, ')');

	memset(out, 0, sizeof(*out));
	if (!open || !close || close < open || !close[1])
		return -EINVAL;
	size_t n = (size_t)(close - open - 1);
	memcpy(out->comm, open + 1, n < MT_COMM_LEN - 1 ? n : MT_COMM_LEN - 1);
	/* fields 3 state, 4 ppid, 9 flags, 14 utime, 15 stime, 20 num_threads, 22 starttime */
	if (sscanf(close + 2, "%c %u %*d %*d %*d %*d %u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
			      "%d %*d %llu",
		   &out->state, &out->ppid, &out->flags, &out->utime_ticks, &out->stime_ticks,
		   &out->threads, &out->start_ticks) != 7)
		return -EINVAL;
	return 0;
}

static const char *next_line(const char *line)
{
	const char *nl = strchr(line, '\n');

	return nl ? nl + 1 : NULL;
}

int procfs_parse_status(const char *text, struct procfs_status *out)
{
	memset(out, 0, sizeof(*out));
	out->tgid = -1;
	for (const char *line = text; line && *line; line = next_line(line)) {
		unsigned long long kib;

		if (sscanf(line, "Tgid: %d", &out->tgid) == 1)
			continue;
		/* only a process with an mm (not a kernel thread, not a zombie) has RSS lines */
		if (!strncmp(line, "VmRSS:", 6))
			out->has_mm = true;
		else if (sscanf(line, "RssAnon: %llu", &kib) == 1)
			out->anon_bytes = kib * 1024;
		else if (sscanf(line, "RssFile: %llu", &kib) == 1)
			out->file_bytes = kib * 1024;
		else if (sscanf(line, "RssShmem: %llu", &kib) == 1)
			out->shmem_bytes = kib * 1024;
	}
	return 0;
}

/* copy src decoding mountinfo's octal escapes (\040 space, \011 tab, \012 newline, \134 \) */
static bool unescape_into(const char *src, char *out, size_t len)
{
	size_t o = 0;

	if (!len)
		return false;
	for (const char *s = src; *s; s++) {
		char c = *s;

		if (c == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			c = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
			s += 3;
		}
		if (o + 1 >= len) {
			out[0] = '\0';
			return false;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return true;
}

/* whether the comma separated list list[0..n) holds name */
static bool comma_list_has(const char *list, size_t n, const char *name)
{
	const char *p = list, *end = list + n;
	size_t name_len = strlen(name);

	while (p <= end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end;

		if ((size_t)(stop - p) == name_len && !memcmp(p, name, name_len))
			return true;
		if (!comma)
			break;
		p = comma + 1;
	}
	return false;
}

static void clear_out(char *out, size_t len)
{
	if (out && len)
		out[0] = '\0';
}

/* copy n bytes of src as a string, or "" if they do not fit */
static bool copy_into(const char *src, size_t n, char *out, size_t len)
{
	if (!len)
		return false;
	if (n >= len) {
		out[0] = '\0';
		return false;
	}
	memcpy(out, src, n);
	out[n] = '\0';
	return true;
}

int procfs_parse_mountinfo(const char *text, char *v2_mnt, size_t v2_len, char *v2_root,
			   size_t v2_root_len, char *v1_mnt, size_t v1_len, char *v1_root,
			   size_t v1_root_len)
{
	bool have_v2 = false, have_v1 = false;
	const char *line = text;

	clear_out(v2_mnt, v2_len);
	clear_out(v2_root, v2_root_len);
	clear_out(v1_mnt, v1_len);
	clear_out(v1_root, v1_root_len);
	while (line && *line && !(have_v2 && have_v1)) {
		const char *eol = strchr(line, '\n');
		size_t n = eol ? (size_t)(eol - line) : strlen(line);
		char *copy = strndup(line, n), *save = NULL, *tok, *field[6];
		char *fstype = NULL, *opts = NULL;
		int nr = 0;

		line = eol ? eol + 1 : NULL;
		if (!copy)
			break;
		/* ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER */
		while (nr < 6 && (tok = strtok_r(nr ? NULL : copy, " ", &save)))
			field[nr++] = tok;
		if (nr == 6) {
			while ((tok = strtok_r(NULL, " ", &save)) && strcmp(tok, "-"))
				;
			fstype = tok ? strtok_r(NULL, " ", &save) : NULL;
			if (fstype && strtok_r(NULL, " ", &save)) /* the source */
				opts = strtok_r(NULL, " ", &save);
		}
		if (fstype && !have_v2 && !strcmp(fstype, "cgroup2")) {
			have_v2 = unescape_into(field[4], v2_mnt, v2_len) &&
				  unescape_into(field[3], v2_root, v2_root_len);
			if (!have_v2) {
				clear_out(v2_mnt, v2_len);
				clear_out(v2_root, v2_root_len);
			}
		} else if (fstype && opts && !have_v1 && !strcmp(fstype, "cgroup") &&
			   comma_list_has(opts, strlen(opts), "memory")) {
			have_v1 = unescape_into(field[4], v1_mnt, v1_len) &&
				  unescape_into(field[3], v1_root, v1_root_len);
			if (!have_v1) {
				clear_out(v1_mnt, v1_len);
				clear_out(v1_root, v1_root_len);
			}
		}
		free(copy);
	}
	return 0;
}

int procfs_read_mountinfo(char *v2_mnt, size_t v2_len, char *v2_root, size_t v2_root_len,
			  char *v1_mnt, size_t v1_len, char *v1_root, size_t v1_root_len)
{
	char *text;
	int err = mt_read_file("/proc/self/mountinfo", &text);

	if (err)
		return err;
	procfs_parse_mountinfo(text, v2_mnt, v2_len, v2_root, v2_root_len, v1_mnt, v1_len, v1_root,
			       v1_root_len);
	free(text);
	return 0;
}

int procfs_parse_pid_cgroup(const char *text, char *v2_path, size_t v2_len, char *v1_mem_path,
			    size_t v1_len)
{
	bool have_v2 = false, have_v1 = false;
	const char *line = text;

	clear_out(v2_path, v2_len);
	clear_out(v1_mem_path, v1_len);
	while (line && *line) {
		const char *eol = strchr(line, '\n');
		size_t n = eol ? (size_t)(eol - line) : strlen(line);
		/* HIERARCHY_ID:CONTROLLERS:PATH, and the path may hold colons itself */
		const char *c1 = memchr(line, ':', n), *c2 = NULL, *path;

		if (c1)
			c2 = memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - line));
		if (c2) {
			path = c2 + 1;
			size_t path_len = n - (size_t)(path - line);

			if (!have_v2 && c1 - line == 1 && line[0] == '0' && c2 == c1 + 1)
				have_v2 = copy_into(path, path_len, v2_path, v2_len);
			else if (!have_v1 &&
				 comma_list_has(c1 + 1, (size_t)(c2 - c1 - 1), "memory"))
				have_v1 = copy_into(path, path_len, v1_mem_path, v1_len);
		}
		line = eol ? eol + 1 : NULL;
	}
	return 0;
}

static int read_cgroup_file(const char *path, char *v2_path, size_t v2_len, char *v1_mem_path,
			    size_t v1_len)
{
	char *text;
	int err = mt_read_file(path, &text);

	if (err)
		return err;
	procfs_parse_pid_cgroup(text, v2_path, v2_len, v1_mem_path, v1_len);
	free(text);
	return 0;
}

int procfs_read_pid_cgroup(int pid, char *v2_path, size_t v2_len, char *v1_mem_path,
			   size_t v1_len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	return read_cgroup_file(path, v2_path, v2_len, v1_mem_path, v1_len);
}

int procfs_read_self_cgroup(char *v2_path, size_t v2_len, char *v1_mem_path, size_t v1_len)
{
	return read_cgroup_file("/proc/self/cgroup", v2_path, v2_len, v1_mem_path, v1_len);
}

int procfs_parse_cgroups(const char *text, const char *controller)
{
	const char *line = text;

	while (line && *line) {
		char name[64];
		int hierarchy, enabled;
		unsigned long num;

		if (*line != '#' && sscanf(line, "%63s %d %lu %d", name, &hierarchy, &num,
					   &enabled) == 4 &&
		    !strcmp(name, controller))
			return enabled ? hierarchy : -1;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -1;
}

int procfs_read_cgroups(const char *controller)
{
	char *text;
	int hierarchy;

	if (mt_read_file("/proc/cgroups", &text))
		return -1;
	hierarchy = procfs_parse_cgroups(text, controller);
	free(text);
	return hierarchy;
}

int procfs_parse_kallsyms(FILE *f, const char *const *names, size_t n, struct mt_ksym_range *out)
{
	char line[512];
	bool any_address = false;
	int found = 0;

	for (size_t i = 0; i < n; i++)
		out[i] = (struct mt_ksym_range){ 0, 0 };
	/* first pass: the starts, by name; second: each end, the lowest address above it */
	uint64_t *ends = calloc(n ? n : 1, sizeof(*ends));
	if (!ends)
		return -ENOMEM;
	while (fgets(line, sizeof(line), f)) {
		char type, name[256];
		uint64_t addr;

		if (sscanf(line, "%" SCNx64 " %c %255s", &addr, &type, name) != 3)
			continue;
		if (addr)
			any_address = true;
		for (size_t i = 0; i < n; i++) {
			if (!out[i].start && (type == 't' || type == 'T') && !strcmp(name, names[i]))
				out[i].start = addr;
		}
	}
	if (!any_address) {
		free(ends);
		return -EPERM;
	}
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		uint64_t addr;

		if (sscanf(line, "%" SCNx64, &addr) != 1)
			continue;
		for (size_t i = 0; i < n; i++)
			if (out[i].start && addr > out[i].start && (!ends[i] || addr < ends[i]))
				ends[i] = addr;
	}
	for (size_t i = 0; i < n; i++) {
		if (!out[i].start)
			continue;
		/* the last symbol of all: give it a page */
		out[i].end = ends[i] ? ends[i] : out[i].start + 4096;
		found++;
	}
	free(ends);
	return found;
}

int procfs_read_kallsyms(const char *const *names, size_t n, struct mt_ksym_range *out)
{
	FILE *f = fopen("/proc/kallsyms", "re");
	int found;

	if (!f)
		return -errno;
	found = procfs_parse_kallsyms(f, names, n, out);
	fclose(f);
	return found;
}

/* Nanoseconds per clock tick (the unit of /proc's times). */
static uint64_t procfs_tick_ns(void)
{
	return 1000000000ULL / (uint64_t)sysconf(_SC_CLK_TCK);
}

bool procfs_same_start(uint64_t a_ns, uint64_t b_ns)
{
	uint64_t tick_ns = procfs_tick_ns();

	return a_ns / tick_ns == b_ns / tick_ns;
}

int procfs_read_process(int pid, struct proc_stats *st, char *label, size_t label_len,
			struct proc_facts *facts)
{
	char path[64], buf[4096];
	struct procfs_stat stat;
	struct procfs_status status;
	ssize_t got;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	got = mt_read_into(path, buf, sizeof(buf));
	if (got < 0)
		return (int)got;
	if (!got)
		return -ESRCH;
	if (procfs_parse_stat(buf, &stat))
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	got = mt_read_into(path, buf, sizeof(buf));
	if (got < 0)
		return (int)got;
	if ((size_t)got == sizeof(buf) - 1) {
		/* cut short: a long Groups: line (hundreds of groups) comes before the RSS lines */
		char *whole;
		int err = mt_read_file(path, &whole);

		if (err)
			return err;
		procfs_parse_status(whole, &status);
		free(whole);
	} else {
		procfs_parse_status(buf, &status);
	}
	if (status.tgid != pid)
		return status.tgid > 0 ? -EISDIR : -ESRCH;

	uint64_t tick_ns = procfs_tick_ns();
	memcpy(st->comm, stat.comm, MT_COMM_LEN);
	st->ppid = stat.ppid;
	st->start_ns = stat.start_ticks * tick_ns;
	st->utime_ns = stat.utime_ticks * tick_ns;
	st->stime_ns = stat.stime_ticks * tick_ns;
	st->anon_bytes = status.anon_bytes;
	st->file_bytes = status.file_bytes;
	st->shmem_bytes = status.shmem_bytes;
	st->peak_rss_bytes = mt_rss_bytes(st);
	st->peak_anon_bytes = st->anon_bytes;
	st->peak_file_bytes = st->file_bytes;
	st->peak_shmem_bytes = st->shmem_bytes;

	if (label) {
		/* the command line, quoted as a shell would need it to give the same words back */
		snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
		label[0] = '\0';
		got = mt_read_into(path, buf, sizeof(buf));
		if (got > 0)
			mt_shell_quote_packed(buf, (size_t)got, label, label_len);
		if (!label[0])
			snprintf(label, label_len, "[%s]", st->comm);
	}
	if (facts) {
		facts->has_mm = status.has_mm;
		facts->kthread = stat.flags & MT_PF_KTHREAD;
		/* a leader that exited while its other threads run is a zombie too, but not the
		 * process */
		facts->exited = stat.state == 'X' || (stat.state == 'Z' && stat.threads <= 1);
	}
	return 0;
}

bool procfs_in_init_pid_ns(void)
{
	/* the initial PID namespace's inode number (PROC_PID_INIT_INO) */
	const ino_t init_pid_ns = 0xEFFFFFFCU;
	struct stat ns;

	return stat("/proc/self/ns/pid", &ns) != 0 || ns.st_ino == init_pid_ns;
}

int procfs_for_each_pid(bool (*fn)(void *ctx, int pid), void *ctx)
{
	struct dirent *de;
	DIR *dir = opendir("/proc");

	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || pid > INT32_MAX)
			continue;
		if (!fn(ctx, (int)pid))
			break;
	}
	closedir(dir);
	return 0;
}

int procfs_parse_maps(const char *text, bool (*fn)(void *ctx, const struct procfs_map *m),
		      void *ctx)
{
	char line_buf[4096 + 128];

	for (const char *line = text; line && *line; line = next_line(line)) {
		struct procfs_map m = { 0 };
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		int path_at = -1;

		/* one line at a time: sscanf on the rest of the text would measure all of it for
		 * every line */
		if (len >= sizeof(line_buf))
			len = sizeof(line_buf) - 1;
		memcpy(line_buf, line, len);
		line_buf[len] = '\0';
		if (sscanf(line_buf, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64 " %n",
			   &m.start, &m.end, m.perms, &m.offset, &m.dev_major, &m.dev_minor,
			   &m.inode, &path_at) != 7 ||
		    path_at < 0)
			return -EINVAL;
		m.path = line_buf + path_at; /* the blanks that pad the path column skipped */
		if (!fn(ctx, &m))
			break;
	}
	return 0;
}

int procfs_read_maps(int pid, bool (*fn)(void *ctx, const struct procfs_map *m), void *ctx)
{
	char path[64], *text;
	int err;

	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/maps");
	err = mt_read_file(path, &text);
	if (err)
		return err;
	err = procfs_parse_maps(text, fn, ctx);
	free(text);
	return err;
}
