// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "memtrace.skel.h"
#include "log.h"
#include "bpfobj.h"
#include "tracefs.h"
#include "units.h"

/* The program libbpf's latest warning named: when a load fails, the one the kernel refused. */
static enum mt_prog libbpf_named_prog = MT_PROG_NONE;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN) {
		char msg[256];
		va_list copy;
		enum mt_prog p;

		va_copy(copy, ap);
		vsnprintf(msg, sizeof(msg), fmt, copy);
		va_end(copy);
		p = mt_prog_in_libbpf_message(msg);
		if (p != MT_PROG_NONE)
			libbpf_named_prog = p;
	}
	if (!mt_verbose || (level == LIBBPF_DEBUG && mt_verbose < 2))
		return 0;
	mt_log_before_output();
	fputs("memtrace-bpf: libbpf: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

/* Start-up phases and the cost report in ms, on the clock the rest of the run uses. */
static double ms_now(void)
{
	return mt_clock_ns(CLOCK_MONOTONIC) / 1e6;
}

static int handle_record(void *ctx, void *data, size_t size)
{
	struct mt_bpfobj *t = ctx;

	const struct mt_event *e = data;

	if (size < sizeof(struct mt_event))
		return 0;
	if (e->type == MT_EV_OOM && size < sizeof(struct mt_oom_event))
		return 0;
	if ((e->type == MT_EV_PY_SAMPLE && size < sizeof(struct mt_py_sample)) ||
	    (e->type == MT_EV_PY_CODE && size < sizeof(struct mt_py_code)))
		return 0;
	/* a stack record comes with the used part of its data only */
	if (e->type == MT_EV_STACK) {
		const struct mt_stack_sample *k = data;

		if (size < offsetof(struct mt_stack_sample, data) ||
		    k->data_len > size - offsetof(struct mt_stack_sample, data))
			return 0;
	}
	t->on_event(t->ctx, e);
	return 0;
}

/* The program of each table entry in the skeleton, and where the skeleton keeps its link. */
static int bind_programs(struct mt_bpfobj *t)
{
	const struct bpf_object_skeleton *s = t->skel->skeleton;
	bool bound[MT_PROG_NR] = {};

	for (int i = 0; i < s->prog_cnt; i++) {
		enum mt_prog p = mt_prog_by_name(s->progs[i].name);

		/* a program the table does not classify would be loaded blindly */
		if (p == MT_PROG_NONE) {
			mt_err("internal error: the BPF program %s is not in user/programs.c's table",
			       s->progs[i].name);
			return -1;
		}
		t->progs[p] = *s->progs[i].prog;
		t->links[p] = s->progs[i].link;
		bound[p] = true;
	}
	for (int p = 0; p < MT_PROG_NR; p++) {
		if (!bound[p]) {
			mt_err("internal error: the BPF object has no program %s", mt_progs[p].name);
			return -1;
		}
	}
	return 0;
}

/*
 * MEMTRACE_BPF_REFUSE=NAME (at load): the program goes to the kernel with a flag no kernel
 * defines, so the kernel itself refuses it (EINVAL) and the loader meets that refusal exactly
 * as it would meet any other.
 */
#define MT_UNDEFINED_PROG_FLAG (1u << 31)

/* Opens the object and sets it up for a load: the plan's programs, sizes, settings. */
static int open_object(struct mt_bpfobj *t, const struct mt_bpfobj_opts *opts)
{
	struct memtrace_bpf *skel = memtrace_bpf__open();

	if (!skel) {
		mt_err("cannot open the BPF object: %s", strerror(errno));
		return -1;
	}
	t->skel = skel;
	if (bind_programs(t))
		return -1;
	for (int p = 0; p < MT_PROG_NR; p++) {
		bpf_program__set_autoload(t->progs[p], t->plan.load[p]);
		if (t->plan.load[p] && t->injected[p] == MT_REFUSE_AT_LOAD)
			bpf_program__set_flags(t->progs[p], bpf_program__flags(t->progs[p]) |
								    MT_UNDEFINED_PROG_FLAG);
	}

	skel->rodata->follow_children = opts->follow_children;
	skel->rodata->nr_cpus = (uint32_t)libbpf_num_possible_cpus();
	skel->rodata->percpu_lookup = t->percpu_lookup;
	skel->rodata->page_shift = (uint32_t)__builtin_ctzl((unsigned long)sysconf(_SC_PAGESIZE));
	skel->rodata->ringbuf_bytes = t->ringbuf_bytes;
	skel->rodata->rss_limit_bytes = opts->rss_limit_bytes;
	skel->rodata->limit_signal = (uint32_t)opts->limit_signal;
	skel->rodata->target_mode = opts->mode;
	skel->rodata->target_cgroup_id = opts->cgroup_id;
	skel->rodata->target_hierarchy_id = opts->hierarchy_id;
	skel->rodata->target_cgroup_v1 = opts->cgroup_v1;
	skel->rodata->python_on = opts->python;
	skel->rodata->py_thread_list = !opts->py_no_thread_list;
	skel->rodata->rss_exact = opts->exact;
	skel->rodata->stacks_on = opts->stacks;
	skel->rodata->stack_fp = opts->stack_fp;
	if (opts->stacks) {
		skel->rodata->stack_every = opts->stack_every;
		skel->rodata->stack_size = opts->stack_size;
		bpf_map__set_max_entries(skel->maps.stack_left, opts->max_procs);
		bpf_map__set_max_entries(skel->maps.stack_scratch,
					 (uint32_t)libbpf_num_possible_cpus());
	}
	bpf_map__set_max_entries(skel->maps.procs, opts->max_procs);
	bpf_map__set_max_entries(skel->maps.events, t->ringbuf_bytes);
	return 0;
}

static void close_object(struct mt_bpfobj *t)
{
	memtrace_bpf__destroy(t->skel);
	t->skel = NULL;
	memset(t->progs, 0, sizeof(t->progs));
	memset(t->links, 0, sizeof(t->links));
}

/* one read of the map iterator: room for a few hundred records */
#define MT_READ_BUF (64 * 1024)

/*
 * The process map is read every interval through a map iterator that passes only the
 * entries that changed (Linux 5.9+); without it, batch lookups read every entry.
 */
static int attach_map_reader(struct mt_bpfobj *t)
{
	union bpf_iter_link_info info = { .map.map_fd = (uint32_t)t->procs_fd };
	DECLARE_LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &info,
			    .link_info_len = sizeof(info));
	struct bpf_link *link = bpf_program__attach_iter(t->progs[MT_PROG_READ], &opts);

	if (!link)
		return -errno;
	t->read_buf = malloc(MT_READ_BUF);
	if (!t->read_buf) {
		bpf_link__destroy(link);
		return -ENOMEM;
	}
	t->read_link = link;
	return 0;
}

/* ring buffer: 1 MiB, or 64 bytes per traced process for large sets (a power of 2) */
#define MT_RINGBUF_MIN_BYTES (1u << 20)
#define MT_RINGBUF_MAX_BYTES (1u << 26)
#define MT_RINGBUF_PYTHON_BYTES (1u << 24)

static uint32_t ringbuf_bytes_for(uint32_t max_procs)
{
	uint32_t want = max_procs > MT_RINGBUF_MAX_BYTES / 64 ? MT_RINGBUF_MAX_BYTES : max_procs * 64;
	uint32_t bytes = MT_RINGBUF_MIN_BYTES;

	while (bytes < want)
		bytes <<= 1;
	return bytes;
}

static void close_map_reader(struct mt_bpfobj *t)
{
	bpf_link__destroy(t->read_link);
	t->read_link = NULL;
	free(t->read_buf);
	t->read_buf = NULL;
}

/*
 * A classic tracepoint by its id (user/tracefs.c): libbpf's own attach would read the id from
 * a tracefs mounted at one of two fixed places, which --exact does not need. One perf event,
 * on any one CPU, runs the program for the tracepoint on every CPU. The link owns the event.
 */
static int attach_tracepoint_id(struct mt_bpfobj *t, enum mt_prog p, int id)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(attr),
		.config = (uint64_t)id,
		.sample_period = 1,
		.wakeup_events = 1,
	};
	struct bpf_link *link;
	int pfd, err;

	pfd = (int)syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (pfd < 0)
		return -errno;
	link = bpf_program__attach_perf_event(t->progs[p], pfd);
	if (!link) {
		err = -errno;
		close(pfd);
		return err;
	}
	*t->links[p] = link;
	return 0;
}

/* Attach p. MEMTRACE_BPF_REFUSE=NAME@attach: the loader takes EPERM without asking the kernel. */
static int attach_prog(struct mt_bpfobj *t, enum mt_prog p)
{
	if (t->injected[p] == MT_REFUSE_AT_ATTACH)
		return -EPERM;
	if (p == MT_PROG_READ)
		return attach_map_reader(t);
	if (p == MT_PROG_RSS_EXACT)
		return attach_tracepoint_id(t, p, t->exact_tp_id);
	*t->links[p] = bpf_program__attach(t->progs[p]);
	return *t->links[p] ? 0 : -errno;
}

/*
 * Attach every program loaded. Returns 0, 1 when a refused program's twin must be loaded (the
 * object is loaded again), or -1 after the error line for an essential one.
 */
static int attach_all(struct mt_bpfobj *t)
{
	for (int i = 0; i < MT_PROG_NR; i++) {
		enum mt_prog p = (enum mt_prog)i;
		int err;

		if (!t->plan.load[p])
			continue;
		err = attach_prog(t, p);
		if (!err)
			continue;
		if (mt_plan_essential(&t->plan, p))
			return mt_prog_refused_error(p, err, "attach");
		if (mt_plan_refuse(&t->plan, p, err, true))
			return 1;
	}
	return 0;
}

/*
 * Load and attach what the plan holds. A program the kernel refuses costs only itself: an
 * essential one is an error; an optional one leaves the plan (its twin, if it has one, takes
 * its place) and the object is loaded again without it. libbpf loads all or nothing and names
 * the program that failed in a warning (libbpf_print keeps it). Nothing is tried twice when the
 * kernel accepts everything.
 */
static int load_and_attach(struct mt_bpfobj *t, const struct mt_bpfobj_opts *opts)
{
	for (unsigned attempt = 0; attempt <= MT_PROG_NR; attempt++) {
		double t0 = ms_now(), t1;
		enum mt_prog p;
		int err;

		if (open_object(t, opts))
			return -1;
		libbpf_named_prog = MT_PROG_NONE;
		t->loads++;
		t1 = ms_now();
		t->open_ms += t1 - t0;
		err = memtrace_bpf__load(t->skel);
		p = libbpf_named_prog;
		t0 = ms_now();
		t->load_ms += t0 - t1;
		if (err) {
			close_object(t);
			if (p == MT_PROG_NONE || !t->plan.load[p])
				return mt_load_error(err);
			if (mt_plan_essential(&t->plan, p))
				return mt_prog_refused_error(p, err, "load");
			mt_plan_refuse(&t->plan, p, err, false);
			continue;
		}
		t->procs_fd = bpf_map__fd(t->skel->maps.procs);
		err = attach_all(t);
		t->attach_ms += ms_now() - t0;
		if (err <= 0)
			return err;
		/* a twin to load in place of a program refused at attach */
		close_map_reader(t);
		close_object(t);
	}
	mt_err("the kernel refused the BPF programs again and again; run with -v for details");
	return -1;
}

/*
 * --exact: the classic rss_stat record, whose id is in tracefs. Before 6.2 the kernel counts RSS
 * in per-thread batches of up to 64 pages, so no record of it is exact: asking for exact
 * values there is an error, not a warning, because what comes out would not be what was asked.
 */
static int find_exact_rss(struct mt_bpfobj *t, struct mt_kernel *kernel)
{
	int id;

	if (kernel->rss_batched) {
		mt_err("--exact needs Linux 6.2 or later: before it the kernel counts RSS in "
		       "per-thread batches of up to 64 pages, and none of its records is exact");
		return -1;
	}
	id = mt_tracepoint_id("kmem", "rss_stat", &t->exact_tp_via);
	if (id == -ENOENT) {
		mt_err("--exact: this kernel has no kmem/rss_stat tracepoint in tracefs "
		       "(CONFIG_TRACING is needed)");
		return -1;
	}
	if (id < 0) {
		mt_err("--exact: cannot find the kmem/rss_stat tracepoint (%s): tracefs is not "
		       "mounted and could not be opened; mount it (mount -t tracefs nodev "
		       "/sys/kernel/tracing) or run as root",
		       strerror(-id));
		return -1;
	}
	t->exact_tp_id = id;
	kernel->present[MT_PROG_RSS_EXACT] = true;
	return 0;
}

/*
 * Keep what the allocator gets back between loads: a second load after a refusal parses the
 * kernel's BTF again (12 MiB here), and reusing the first parse's pages spares it thousands of
 * page faults. Handed back to the kernel once started (malloc_trim).
 */
#define MT_LOAD_HEAP_KEEP (64 << 20)

int bpfobj_start(struct mt_bpfobj *t, const struct mt_bpfobj_opts *opts, mt_event_fn on_event,
		 void *ctx)
{
	struct mt_kernel kernel;
	double t0 = ms_now(), t_btf;
	int err;

	memset(t, 0, sizeof(*t));
	t->on_event = on_event;
	t->ctx = ctx;
	t->procs_fd = -1;
	t->stats_fd = -1;
	t->max_procs = opts->max_procs;
	t->ringbuf_bytes = ringbuf_bytes_for(opts->max_procs);
	/* --python: a stack record per RSS change (~830 bytes) rather than a few per process */
	if ((opts->python || opts->stacks) && t->ringbuf_bytes < MT_RINGBUF_PYTHON_BYTES)
		t->ringbuf_bytes = MT_RINGBUF_PYTHON_BYTES;
	if (opts->refuse)
		memcpy(t->injected, opts->refuse, sizeof(t->injected));
	libbpf_set_print(libbpf_print);

	if (mt_kernel_probe(&kernel))
		return -1;
	t->percpu_lookup = kernel.percpu_lookup;
	t->rss_batched = kernel.rss_batched;
	if (opts->exact && find_exact_rss(t, &kernel))
		return -1;
	mt_plan_init(&t->plan, opts->mode, kernel.present);

	t_btf = ms_now();
	mallopt(M_MMAP_THRESHOLD, MT_LOAD_HEAP_KEEP);
	mallopt(M_TRIM_THRESHOLD, MT_LOAD_HEAP_KEEP);
	err = load_and_attach(t, opts);
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);
	malloc_trim(0);
	if (err)
		return -1;
	/* -v: the kernel times every run of our programs (a few ns each) for the cost report */
	if (mt_verbose) {
		t->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (t->stats_fd < 0)
			mt_debug("no BPF run-time statistics (BPF_ENABLE_STATS: %s): no cost report",
				 strerror(errno));
	}
	mt_plan_report(&t->plan);
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.events), handle_record, t, NULL);
	if (!t->rb) {
		mt_err("cannot set up the ring buffer: %s", strerror(errno));
		return -1;
	}
	t->attached_ms = ms_now();
	mt_debug("start-up: kernel BTF checked in %.1f ms, BPF object opened in %.1f ms, loaded "
		 "(CO-RE, verifier) in %.1f ms, attached in %.1f ms (%u load%s)",
		 t_btf - t0, t->open_ms, t->load_ms, t->attach_ms, t->loads,
		 t->loads == 1 ? "" : "s: the kernel refused a program");

	if (opts->exact)
		mt_debug("exact RSS (--exact): a process's own changes from the rss_stat record "
			 "(tp/kmem/rss_stat, id %d from %s: the kernel's exact sums over the CPUs), "
			 "changes made from elsewhere (reclaim, exit, another process) from the folded "
			 "counters (tp_btf/rss_stat)",
			 t->exact_tp_id, t->exact_tp_via);
	mt_debug("attached: rss_stat=%s, faults=%s, page allocations=%s, fork/exec/exit=tp_btf, "
		 "renames=%s, OOM kills=%s",
		 opts->exact ? "tp/kmem/rss_stat + tp_btf/rss_stat (exact: the rss_stat record)"
			     : "tp_btf/rss_stat (RSS read from the mm's counters, as /proc shows "
			       "them)",
		 mt_plan_hook(&t->plan, MT_PROG_FAULT), mt_plan_hook(&t->plan, MT_PROG_PAGE_ALLOC), mt_plan_hook(&t->plan, MT_PROG_RENAME),
		 mt_plan_hook(&t->plan, MT_PROG_OOM));
	mt_debug("maps: procs %u entries x %zu bytes, ring buffer %u KiB, children %s",
		 opts->max_procs, sizeof(struct proc_stats), t->ringbuf_bytes / 1024,
		 opts->follow_children ? "followed" : "not followed");
	return 0;
}

void bpfobj_prog_stats(struct mt_bpfobj *t, mt_prog_stats_fn fn, void *ctx)
{
	struct bpf_program *prog;

	if (!t->skel)
		return;
	bpf_object__for_each_program(prog, t->skel->obj) {
		struct bpf_prog_info info = {};
		uint32_t len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		fn(ctx, bpf_program__name(prog), info.run_cnt, info.run_time_ns);
	}
}

static void tell_prog_cost(void *ctx, const char *name, uint64_t runs, uint64_t run_ns)
{
	uint64_t *total_ns = ctx;

	*total_ns += run_ns;
	if (runs)
		mt_debug("BPF cost: %s: %llu runs, %.0f ns per run, %.1f ms in all", name,
			 (unsigned long long)runs, (double)run_ns / runs, run_ns / 1e6);
}

/*
 * -v: what our programs cost, from the kernel's own accounting (bpf_stats): runs, time per
 * run, and the CPU time in all against the time traced.
 */
static void report_bpf_cost(struct mt_bpfobj *t)
{
	double traced_s = (ms_now() - t->attached_ms) / 1e3;
	uint64_t total_ns = 0;

	if (!t->skel || t->stats_fd < 0)
		return;
	bpfobj_prog_stats(t, tell_prog_cost, &total_ns);
	mt_debug("BPF cost in all: %.1f ms of CPU over %.3f s traced (%.3f%% of one CPU; timing "
		 "each run adds a few ns to it)",
		 total_ns / 1e6, traced_s, traced_s > 0 ? total_ns / 1e7 / traced_s : 0.0);
}

void bpfobj_stop(struct mt_bpfobj *t)
{
	report_bpf_cost(t);
	if (t->stats_fd >= 0)
		close(t->stats_fd);
	t->stats_fd = -1;
	ring_buffer__free(t->rb);
	t->rb = NULL;
	close_map_reader(t);
	/* destroying the skeleton closes every link and program fd: nothing stays loaded */
	memtrace_bpf__destroy(t->skel);
	t->skel = NULL;
	free(t->keys);
	free(t->values);
	t->keys = NULL;
	t->values = NULL;
}

long bpfobj_seed(struct mt_bpfobj *t)
{
	struct bpf_link *link = t->skel->links.seed_procs;
	char buf[64];
	ssize_t n;
	int fd;

	if (!link)
		return 0; /* the kernel refused the iterator */
	/* the iterator runs while it is read; it writes nothing, so one read reaches the end */
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, sizeof(buf));
	while (n > 0 || (n < 0 && errno == EINTR));
	close(fd);
	if (n < 0)
		return -errno;
	return (long)t->skel->bss->seeded_procs;
}

/* An entry made here is new to the map reader too: its generation differs from the seen one. */
static int add_entry(struct mt_bpfobj *t, uint32_t pid, const struct proc_stats *init, __u64 flags)
{
	struct proc_stats st = *init;

	st.gen = st.seen_gen + 1;
	if (bpf_map_update_elem(t->procs_fd, &pid, &st, flags))
		return -errno;
	/* a CPU that found pid untraced looks again (its faults are counted from now) */
	__atomic_fetch_add(&t->skel->bss->trace_epoch, 1, __ATOMIC_SEQ_CST);
	return 0;
}

int bpfobj_add(struct mt_bpfobj *t, uint32_t pid, const struct proc_stats *init)
{
	return add_entry(t, pid, init, BPF_ANY);
}

int bpfobj_add_new(struct mt_bpfobj *t, uint32_t pid, const struct proc_stats *init)
{
	return add_entry(t, pid, init, BPF_NOEXIST);
}

bool bpfobj_has(struct mt_bpfobj *t, uint32_t pid)
{
	struct proc_stats st;

	return bpf_map_lookup_elem(t->procs_fd, &pid, &st) == 0;
}

int bpfobj_remove(struct mt_bpfobj *t, uint32_t pid)
{
	return bpf_map_delete_elem(t->procs_fd, &pid) ? -errno : 0;
}

int bpfobj_py_offsets(struct mt_bpfobj *t, uint32_t slot, const struct mt_py_offsets *o)
{
	return bpf_map__update_elem(t->skel->maps.py_offsets, &slot, sizeof(slot), o, sizeof(*o),
				    BPF_ANY);
}

int bpfobj_py_add(struct mt_bpfobj *t, uint32_t pid, const struct mt_py_proc *proc)
{
	return bpf_map__update_elem(t->skel->maps.py_procs, &pid, sizeof(pid), proc, sizeof(*proc),
				    BPF_ANY);
}

int bpfobj_py_remove(struct mt_bpfobj *t, uint32_t pid)
{
	return bpf_map__delete_elem(t->skel->maps.py_procs, &pid, sizeof(pid), 0);
}

bool bpfobj_py_has(struct mt_bpfobj *t, uint32_t pid)
{
	struct mt_py_proc proc;

	return !bpf_map__lookup_elem(t->skel->maps.py_procs, &pid, sizeof(pid), &proc,
				     sizeof(proc), 0);
}

int bpfobj_drain(struct mt_bpfobj *t)
{
	return ring_buffer__consume(t->rb);
}

int bpfobj_event_fd(struct mt_bpfobj *t)
{
	return ring_buffer__epoll_fd(t->rb);
}

static int ensure_scratch(struct mt_bpfobj *t, size_t n)
{
	if (t->scratch_len >= n)
		return 0;
	uint32_t *keys = realloc(t->keys, n * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	t->keys = keys;
	struct proc_stats *values = realloc(t->values, n * sizeof(*values));
	if (!values)
		return -ENOMEM;
	t->values = values;
	t->scratch_len = n;
	return 0;
}

/* One syscall per few hundred processes rather than two per process. */
static int for_each_batch(struct mt_bpfobj *t, mt_proc_fn fn, void *ctx)
{
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
	size_t chunk = t->max_procs < 1024 ? t->max_procs : 1024;
	uint32_t in_batch = 0, out_batch = 0;
	bool first = true;
	int err;

	if ((err = ensure_scratch(t, chunk)))
		return err;
	for (;;) {
		uint32_t count = (uint32_t)t->scratch_len;

		err = bpf_map_lookup_batch(t->procs_fd, first ? NULL : &in_batch, &out_batch,
					   t->keys, t->values, &count, &opts);
		err = err ? -errno : 0;
		if (err && err != -ENOENT) {
			if (err == -ENOSPC && t->scratch_len < t->max_procs * 2u) {
				/* one hash bucket held more than the scratch: grow and redo */
				if (ensure_scratch(t, t->scratch_len * 2))
					return -ENOMEM;
				continue;
			}
			return err;
		}
		for (uint32_t i = 0; i < count; i++)
			fn(ctx, t->keys[i], &t->values[i]);
		if (err == -ENOENT)
			return 0;
		in_batch = out_batch;
		first = false;
	}
}

/* Records of struct mt_proc_record, never split by a read (seq_file gives whole objects). */
static int for_each_changed(struct mt_bpfobj *t, mt_proc_fn fn, void *ctx, bool all)
{
	size_t have = 0;
	ssize_t n;
	int fd;

	t->skel->bss->report_all = all;
	t->skel->bss->entries_seen = 0;
	fd = bpf_iter_create(bpf_link__fd(t->read_link));
	if (fd < 0)
		return -errno;
	for (;;) {
		n = read(fd, t->read_buf + have, MT_READ_BUF - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		size_t used = 0;

		for (; have - used >= sizeof(struct mt_proc_record);
		     used += sizeof(struct mt_proc_record)) {
			struct mt_proc_record rec;

			memcpy(&rec, t->read_buf + used, sizeof(rec));
			fn(ctx, rec.pid, &rec.stats);
		}
		memmove(t->read_buf, t->read_buf + used, have - used);
		have -= used;
	}
	int err = n < 0 ? -errno : 0;

	close(fd);
	t->entries = t->skel->bss->entries_seen;
	return err;
}

struct counting {
	mt_proc_fn fn;
	void *ctx;
	uint64_t n;
};

static void count_and_call(void *ctx, uint32_t pid, const struct proc_stats *stats)
{
	struct counting *c = ctx;

	c->n++;
	c->fn(c->ctx, pid, stats);
}

int bpfobj_for_each(struct mt_bpfobj *t, mt_proc_fn fn, void *ctx, bool all)
{
	struct counting c = { .fn = fn, .ctx = ctx };
	int err;

	/*
	 * The iterator walks every bucket of the map (as many as --max-procs: a fixed ~0.8 ms per
	 * read here at 32768) but copies only what changed; batch lookups skip empty buckets but
	 * copy every entry (~0.5 us each). The iterator wins once the map is an eighth full and
	 * only the changed entries are wanted.
	 */
	if (t->read_link && !all && t->entries * 8 >= t->max_procs) {
		err = for_each_changed(t, fn, ctx, all);
		if (!t->told_reader) {
			t->told_reader = true;
			mt_debug("%llu traced processes: reading only the changed ones through the "
				 "map iterator",
				 (unsigned long long)t->entries);
		}
		if (!err)
			return 0;
		mt_debug("reading the process map through its iterator failed (%s): reading "
			 "every entry from now on",
			 strerror(-err));
		close_map_reader(t);
	}
	/* every entry, counted on the way (batch lookups: Linux 5.6+) */
	err = for_each_batch(t, count_and_call, &c);
	t->entries = c.n;
	return err;
}

void bpfobj_drops(struct mt_bpfobj *t, uint64_t drops[MT_DROP_NR])
{
	int ncpu = libbpf_num_possible_cpus();
	int fd = bpf_map__fd(t->skel->maps.drops);

	for (uint32_t i = 0; i < MT_DROP_NR; i++) {
		drops[i] = 0;
		if (ncpu <= 0)
			continue;
		uint64_t per_cpu[ncpu];
		if (bpf_map_lookup_elem(fd, &i, per_cpu))
			continue;
		for (int c = 0; c < ncpu; c++)
			drops[i] += per_cpu[c];
	}
}
