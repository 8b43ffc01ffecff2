// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/libbpf_version.h>
#include "cgname.h"
#include "exporter.h"
#include "fileio.h"
#include "log.h"
#include "metrics.h"
#include "promhttp.h"
#include "promtext.h"

struct mt_exporter {
	struct mt_promhttp *http;
	struct mt_cgname names;
	bool names_open;
	struct mt_session *s;
	uint64_t start_real_ns; /* the tracer's own start, for process_start_time_seconds */
};

static void render(void *ctx, struct strbuf *sb);

static int name_cgroup(void *ctx, uint64_t id, uint32_t pid, char *buf, size_t len)
{
	struct mt_exporter *e = ctx;

	return e->names_open ? cgname_lookup(&e->names, id, pid, buf, len) : -ENOENT;
}

int exporter_start(struct mt_session *s)
{
	struct mt_exporter *e;
	char err[256];

	if (!s->cfg.prometheus)
		return 0;
	e = calloc(1, sizeof(*e));
	if (!e) {
		mt_err("out of memory");
		return -1;
	}
	e->s = s;
	e->start_real_ns = mt_clock_ns(CLOCK_REALTIME) -
			   (mt_clock_ns(CLOCK_MONOTONIC) - s->launch_mono_ns);
	e->names_open = !cgname_open(&e->names);
	if (!e->names_open)
		mt_warn("no cgroup hierarchy mounted: the exporter's cgroup labels read %s",
			MT_METRICS_UNKNOWN);
	s->exporter = e;
	s->metrics = metrics_new(name_cgroup, e);
	if (!s->metrics) {
		mt_err("out of memory");
		return -1;
	}
	e->http = promhttp_start(&s->cfg.prometheus_addr, render, e, err, sizeof(err));
	if (!e->http) {
		mt_err("cannot serve metrics on %s: %s", s->cfg.prometheus, err);
		return -1;
	}
	mt_info("memtrace-bpf: serving metrics on http://%s/metrics", promhttp_address(e->http));
	return 0;
}

void exporter_watch(struct mt_session *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = MT_WAKE_HTTP };

	if (s->exporter && s->epoll_fd >= 0 &&
	    epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, promhttp_fd(s->exporter->http), &ev))
		mt_warn("the exporter cannot wait for its clients: %s; it answers at every "
			"interval only",
			strerror(errno));
}

void exporter_serve(struct mt_session *s)
{
	if (s->exporter)
		promhttp_run(s->exporter->http);
}

void exporter_stop(struct mt_session *s)
{
	struct mt_exporter *e = s->exporter;

	metrics_free(s->metrics);
	s->metrics = NULL;
	if (!e)
		return;
	promhttp_stop(e->http);
	if (e->names_open)
		cgname_close(&e->names);
	free(e);
	s->exporter = NULL;
}

/* ---- what a scrape adds to the metrics ---- */

static void family_u64(struct strbuf *sb, const char *name, const char *type, const char *help,
		       uint64_t v)
{
	promtext_family(sb, name, type, help);
	promtext_u64(sb, name, NULL, 0, v);
}

static void build_info(struct strbuf *sb)
{
	struct utsname u;
	char libbpf[32];
	struct promtext_label l[3] = {
		{ "version", MT_VERSION, 0 },
		{ "libbpf", libbpf, 0 },
		{ "kernel", "", 0 },
	};

	snprintf(libbpf, sizeof(libbpf), "%d.%d", LIBBPF_MAJOR_VERSION, LIBBPF_MINOR_VERSION);
	if (!uname(&u))
		l[2].value = u.release;
	promtext_family(sb, "memtrace_build_info", "gauge",
			"Always 1: the memtrace-bpf version, the libbpf it was built with and the "
			"running kernel.");
	promtext_u64(sb, "memtrace_build_info", l, 3, 1);
}

static void losses(struct mt_session *s, struct strbuf *sb)
{
	static const char *const reason[MT_DROP_NR] = {
		[MT_DROP_RINGBUF] = "ringbuf_full",
		[MT_DROP_MAP_FULL] = "process_map_full",
		[MT_DROP_PY_SAMPLE] = "python_stack_ringbuf_full",
		[MT_DROP_PY_CODE] = "python_code_ringbuf_full",
		[MT_DROP_STACK] = "native_stack_ringbuf_full",
	};
	uint64_t drops[MT_DROP_NR];

	bpfobj_drops(&s->bpf, drops);
	promtext_family(sb, "memtrace_events_lost_total", "counter",
			"Events the BPF side could not pass on, by reason (ringbuf_full: a fork, "
			"exec or exit record; process_map_full: a process not traced).");
	for (int i = 0; i < MT_DROP_NR; i++) {
		struct promtext_label l = { "reason", reason[i], 0 };

		promtext_u64(sb, "memtrace_events_lost_total", &l, 1, drops[i]);
	}
	family_u64(sb, "memtrace_processes_vanished_total", "counter",
		   "Traced processes whose pid was reused before their exit was seen.",
		   s->sampler.sum.exits_unexplained);
}

struct prog_pass {
	struct strbuf *sb;
	bool seconds;
};

static void prog_sample(void *ctx, const char *name, uint64_t runs, uint64_t run_ns)
{
	struct prog_pass *p = ctx;
	struct promtext_label l = { "program", name, 0 };

	if (p->seconds)
		promtext_double(p->sb, "memtrace_bpf_program_run_seconds_total", &l, 1, run_ns / 1e9);
	else
		promtext_u64(p->sb, "memtrace_bpf_program_runs_total", &l, 1, runs);
}

static void bpf_programs(struct mt_session *s, struct strbuf *sb)
{
	struct prog_pass pass = { .sb = sb };
	char text[16] = "";

	mt_read_into("/proc/sys/kernel/bpf_stats_enabled", text, sizeof(text));
	family_u64(sb, "memtrace_bpf_stats_enabled", "gauge",
		   "1 when the kernel counts BPF programs' runs and time (sysctl "
		   "kernel.bpf_stats_enabled=1, or -v); the two program families stand still "
		   "otherwise.",
		   atoi(text) > 0);
	promtext_family(sb, "memtrace_bpf_program_runs_total", "counter",
			"Runs of each loaded BPF program, as the kernel counts them.");
	bpfobj_prog_stats(&s->bpf, prog_sample, &pass);
	pass.seconds = true;
	promtext_family(sb, "memtrace_bpf_program_run_seconds_total", "counter",
			"CPU time spent in each loaded BPF program, as the kernel counts it.");
	bpfobj_prog_stats(&s->bpf, prog_sample, &pass);
}

static void tracing(struct mt_session *s, struct strbuf *sb)
{
	const struct mt_summary *sum = &s->sampler.sum;
	uint64_t scan_real = 0;

	family_u64(sb, "memtrace_traced_processes", "gauge",
		   "Processes in the traced set at the latest scan.", s->bpf.entries);
	family_u64(sb, "memtrace_traced_processes_limit", "gauge",
		   "Processes the traced set can hold (--max-procs); more are counted as lost.",
		   s->bpf.max_procs);
	family_u64(sb, "memtrace_processes_started_total", "counter",
		   "Traced processes seen starting (or running when tracing began).",
		   sum->procs_started);
	family_u64(sb, "memtrace_processes_exited_total", "counter",
		   "Traced processes seen exiting.", sum->procs_exited);
	if (s->sampler.now_ns)
		scan_real = mt_clock_ns(CLOCK_REALTIME) -
			    (mt_clock_ns(CLOCK_MONOTONIC) - s->sampler.now_ns);
	promtext_family(sb, "memtrace_last_scan_timestamp_seconds", "gauge",
			"When the metrics were last brought up to date (Unix time): the scan of "
			"the traced set at every interval (-i).");
	promtext_double(sb, "memtrace_last_scan_timestamp_seconds", NULL, 0, scan_real / 1e9);
}

static void root_labels(const struct mt_root *r, struct promtext_label l[2], char *pid, size_t len)
{
	snprintf(pid, len, "%u", r->pid);
	l[0] = (struct promtext_label){ "pid", pid, 0 };
	l[1] = (struct promtext_label){ "comm", r->comm, MT_COMM_LEN };
}

static void roots(struct mt_session *s, struct strbuf *sb)
{
	static const char *const types[] = { "anon", "file", "shmem" };
	const struct mt_summary *sum = &s->sampler.sum;
	size_t n = sum->nroots < MT_EXPORTER_MAX_ROOTS ? sum->nroots : MT_EXPORTER_MAX_ROOTS;
	struct promtext_label l[3];
	char pid[16];

	if (!n)
		return;
	promtext_family(sb, "memtrace_root_rss_bytes", "gauge",
			"RSS of a root (the COMMAND, or a -p process) by type, at the latest "
			"scan.");
	for (size_t i = 0; i < n; i++) {
		const struct mt_root *r = &sum->roots[i];
		uint64_t v[3] = { r->stats.anon_bytes, r->stats.file_bytes, r->stats.shmem_bytes };

		root_labels(r, l, pid, sizeof(pid));
		for (int t = 0; t < 3; t++) {
			l[2] = (struct promtext_label){ "type", types[t], 0 };
			promtext_u64(sb, "memtrace_root_rss_bytes", l, 3, v[t]);
		}
	}
#define ROOT_FAMILY(name, type, help, expr)                               \
	do {                                                              \
		promtext_family(sb, name, type, help);                    \
		for (size_t i = 0; i < n; i++) {                          \
			const struct mt_root *r = &sum->roots[i];         \
			root_labels(r, l, pid, sizeof(pid));              \
			promtext_u64(sb, name, l, 2, (expr));             \
		}                                                         \
	} while (0)
	ROOT_FAMILY("memtrace_root_peak_rss_bytes", "gauge",
		    "Exact peak RSS of a root since tracing began.", r->stats.peak_rss_bytes);
	ROOT_FAMILY("memtrace_root_page_faults_total", "counter",
		    "User page faults of a root since tracing began.", r->stats.faults);
	ROOT_FAMILY("memtrace_root_pages_allocated_total", "counter",
		    "Pages allocated to a root since tracing began.", r->stats.pages_alloc);
	ROOT_FAMILY("memtrace_root_descendants_total", "counter",
		    "Processes a root started (children and theirs) since tracing began.",
		    r->descendants);
	ROOT_FAMILY("memtrace_root_oom_kills_total", "counter",
		    "OOM kills in a root's tree (the root itself included).", r->oom_kills);
	ROOT_FAMILY("memtrace_root_running", "gauge", "1 while a root runs, 0 once it has ended.",
		    !r->exited);
#undef ROOT_FAMILY
}

/* What client libraries export of their own process: the exporter's cost at a glance. */
static void own_process(struct mt_exporter *e, struct strbuf *sb)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned long long vm_pages = 0, rss_pages = 0;
	struct rusage ru;
	struct rlimit rl;
	char text[128];
	uint64_t fds = 0;
	DIR *d;

	if (mt_read_into("/proc/self/statm", text, sizeof(text)) > 0)
		sscanf(text, "%llu %llu", &vm_pages, &rss_pages);
	getrusage(RUSAGE_SELF, &ru);
	promtext_family(sb, "process_cpu_seconds_total", "counter",
			"Total user and system CPU time spent in seconds.");
	promtext_double(sb, "process_cpu_seconds_total", NULL, 0,
			ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
				(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	family_u64(sb, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
		   rss_pages * (uint64_t)page);
	family_u64(sb, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
		   vm_pages * (uint64_t)page);
	d = opendir("/proc/self/fd");
	if (d) {
		while (readdir(d))
			fds++;
		closedir(d);
		fds = fds > 3 ? fds - 3 : 0; /* ".", ".." and the directory's own fd */
	}
	family_u64(sb, "process_open_fds", "gauge", "Number of open file descriptors.", fds);
	if (!getrlimit(RLIMIT_NOFILE, &rl))
		family_u64(sb, "process_max_fds", "gauge",
			   "Maximum number of open file descriptors.", rl.rlim_cur);
	promtext_family(sb, "process_start_time_seconds", "gauge",
			"Start time of the process since unix epoch in seconds.");
	promtext_double(sb, "process_start_time_seconds", NULL, 0, e->start_real_ns / 1e9);
}

static void render(void *ctx, struct strbuf *sb)
{
	struct mt_exporter *e = ctx;
	struct mt_session *s = e->s;

	build_info(sb);
	tracing(s, sb);
	losses(s, sb);
	bpf_programs(s, sb);
	roots(s, sb);
	metrics_render(s->metrics, sb);
	own_process(e, sb);
}
