// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "btfscan.h"
#include "log.h"
#include "programs.h"

#define ALL MT_IN_ALL_MODES
#define HOST_AND_CGROUP (MT_IN_MODE(MT_MODE_ALL) | MT_IN_MODE(MT_MODE_CGROUP))

/*
 * Essential: without these there is no RSS, no peak, no process that starts or exits. Every
 * other program is optional; its twin (a classic tracepoint for a tp_btf one) is tried first,
 * then the run goes on without what it gives. README "Supported kernels" lists the same.
 */
const struct mt_prog_info mt_progs[MT_PROG_NR] = {
	[MT_PROG_RSS_STAT] = {
		.name = "on_rss_stat", .hook = "tp_btf/rss_stat", .essential = true, .modes = ALL,
		.twin = MT_PROG_NONE, .gives = "RSS and its exact peak",
	},
	/* --exact: present only when asked for (bpfobj.c finds its tracepoint's id) */
	[MT_PROG_RSS_EXACT] = {
		.name = "tp_rss_exact", .hook = "tp/kmem/rss_stat", .on_request = true,
		.modes = ALL, .twin = MT_PROG_NONE,
		.gives = "RSS exact to the page, asked for with --exact",
	},
	[MT_PROG_FORK] = {
		.name = "on_fork", .hook = "tp_btf/sched_process_fork", .essential = true,
		.modes = ALL, .twin = MT_PROG_NONE,
		.gives = "new processes, traced from their fork",
	},
	[MT_PROG_EXEC] = {
		.name = "on_exec", .hook = "tp_btf/sched_process_exec", .essential = true,
		.modes = ALL, .twin = MT_PROG_NONE,
		.gives = "exec: where a COMMAND starts, and the name it takes",
	},
	[MT_PROG_EXIT] = {
		.name = "on_exit", .hook = "tp_btf/sched_process_exit", .essential = true,
		.modes = ALL, .twin = MT_PROG_NONE,
		.gives = "exit rows, with the exit status and the final statistics",
	},
	[MT_PROG_FAULT] = {
		.name = "on_fault", .hook = "tp_btf/page_fault_user", .modes = ALL,
		.twin = MT_PROG_FAULT_TP, .gives = "page faults (the faults column)",
		.without = "the faults column stays 0", .visible = true,
	},
	[MT_PROG_FAULT_TP] = {
		.name = "tp_fault", .hook = "tp/exceptions/page_fault_user", .modes = ALL,
		.twin = MT_PROG_NONE, .is_twin = true,
		.gives = "page faults, through the classic tracepoint (tracefs)",
	},
	[MT_PROG_PAGE_ALLOC] = {
		.name = "on_page_alloc", .hook = "tp_btf/mm_page_alloc", .modes = ALL,
		.twin = MT_PROG_PAGE_ALLOC_TP,
		.gives = "page allocations (the pages_alloc column)",
		.without = "the pages_alloc column stays 0", .visible = true,
	},
	[MT_PROG_PAGE_ALLOC_TP] = {
		.name = "tp_page_alloc", .hook = "tp/kmem/mm_page_alloc", .modes = ALL,
		.twin = MT_PROG_NONE, .is_twin = true,
		.gives = "page allocations, through the classic tracepoint (tracefs)",
	},
	[MT_PROG_RENAME] = {
		.name = "on_rename", .hook = "tp_btf/task_rename", .modes = ALL,
		.twin = MT_PROG_NONE, .gives = "renames (prctl(PR_SET_NAME))",
		.without = "process names follow exec only, not renames", .visible = true,
	},
	/* one shape or the other is on a kernel (6.9 changed it), never both */
	[MT_PROG_OOM] = {
		.name = "on_mark_victim", .hook = "tp_btf/mark_victim", .modes = ALL,
		.twin = MT_PROG_OOM_PID, .gives = "OOM kills: oom_kill rows and forensic reports",
		.without = "OOM kills are seen only as SIGKILL exits, without oom_kill rows or "
			   "forensic reports",
		.visible = true,
	},
	[MT_PROG_OOM_PID] = {
		.name = "on_mark_victim_pid", .hook = "tp_btf/mark_victim, pid only (before 6.9)",
		.modes = ALL, .twin = MT_PROG_NONE, .is_twin = true,
		.gives = "OOM kills, on kernels with the older shape of the tracepoint",
	},
	[MT_PROG_CGROUP_ATTACH] = {
		.name = "on_cgroup_attach", .hook = "tp_btf/cgroup_attach_task",
		.modes = MT_IN_MODE(MT_MODE_CGROUP), .twin = MT_PROG_NONE,
		.gives = "processes moved into the -G cgroup",
		.without = "processes moved into the cgroup after tracing starts are not traced "
			   "(their children are)",
		.visible = true,
	},
	[MT_PROG_SEED] = {
		.name = "seed_procs", .hook = "iter/task", .modes = HOST_AND_CGROUP,
		.twin = MT_PROG_NONE, .gives = "the processes running at start, listed in the kernel",
		.without = "the processes running at start are found in /proc instead",
	},
	[MT_PROG_READ] = {
		.name = "read_procs", .hook = "iter/bpf_map_elem", .modes = ALL,
		.twin = MT_PROG_NONE,
		.gives = "reading only the processes that changed, once the map is dense",
		.without = "every interval reads every traced process with batch lookups",
	},
};

enum mt_prog mt_prog_by_name(const char *name)
{
	for (int p = 0; p < MT_PROG_NR; p++)
		if (!strcmp(mt_progs[p].name, name))
			return (enum mt_prog)p;
	return MT_PROG_NONE;
}

enum mt_prog mt_prog_in_libbpf_message(const char *msg)
{
	const char *start = strstr(msg, "prog '"), *end;
	char name[64];

	if (!start)
		return MT_PROG_NONE;
	start += strlen("prog '");
	end = strchr(start, '\'');
	if (!end || (size_t)(end - start) >= sizeof(name))
		return MT_PROG_NONE;
	memcpy(name, start, (size_t)(end - start));
	name[end - start] = '\0';
	return mt_prog_by_name(name);
}

static void list_names(char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int p = 0; p < MT_PROG_NR && used < len; p++) {
		int n = snprintf(buf + used, len - used, "%s%s", p ? ", " : "", mt_progs[p].name);

		if (n < 0)
			break;
		used += (size_t)n;
	}
}

int mt_parse_refusals(const char *spec, enum mt_refuse_at at[MT_PROG_NR], char *err, size_t errlen)
{
	char names[512];

	for (int p = 0; p < MT_PROG_NR; p++)
		at[p] = MT_REFUSE_NOT;
	while (spec && *spec) {
		size_t len = strcspn(spec, ","), name_len;
		const char *phase = memchr(spec, '@', len);
		enum mt_refuse_at where = MT_REFUSE_AT_LOAD;
		char name[64];
		enum mt_prog p;

		name_len = phase ? (size_t)(phase - spec) : len;
		if (phase) {
			size_t phase_len = len - name_len - 1;

			if (phase_len == 4 && !strncmp(phase + 1, "load", 4)) {
				where = MT_REFUSE_AT_LOAD;
			} else if (phase_len == 6 && !strncmp(phase + 1, "attach", 6)) {
				where = MT_REFUSE_AT_ATTACH;
			} else {
				snprintf(err, errlen,
					 "MEMTRACE_BPF_REFUSE: '%.*s': say @load or @attach after the "
					 "program's name",
					 (int)(len > 64 ? 64 : len), spec);
				return -1;
			}
		}
		if (len && name_len < sizeof(name)) {
			memcpy(name, spec, name_len);
			name[name_len] = '\0';
			p = mt_prog_by_name(name);
		} else {
			p = MT_PROG_NONE;
		}
		if (len && p == MT_PROG_NONE) {
			list_names(names, sizeof(names));
			snprintf(err, errlen,
				 "MEMTRACE_BPF_REFUSE: no BPF program named '%.*s' (the programs: %s)",
				 (int)(name_len > 64 ? 64 : name_len), spec, names);
			return -1;
		}
		if (len)
			at[p] = where;
		spec += len;
		if (*spec == ',')
			spec++;
	}
	return 0;
}

enum mt_prog mt_prog_feature(enum mt_prog p)
{
	for (int head = 0; head < MT_PROG_NR; head++) {
		if (mt_progs[head].is_twin)
			continue;
		for (enum mt_prog q = (enum mt_prog)head; q != MT_PROG_NONE; q = mt_progs[q].twin)
			if (q == p)
				return (enum mt_prog)head;
	}
	return p;
}

/* Load the first program of head's chain that is present and not refused. Returns it. */
static enum mt_prog choose(struct mt_load_plan *plan, enum mt_prog head)
{
	enum mt_prog q;

	for (q = head; q != MT_PROG_NONE; q = mt_progs[q].twin)
		plan->load[q] = false;
	if (!(mt_progs[head].modes & plan->mode_bit))
		return MT_PROG_NONE;
	for (q = head; q != MT_PROG_NONE; q = mt_progs[q].twin) {
		if (plan->present[q] && !plan->refused[q]) {
			plan->load[q] = true;
			return q;
		}
	}
	return MT_PROG_NONE;
}

void mt_plan_init(struct mt_load_plan *plan, enum mt_target_mode mode,
		  const bool present[MT_PROG_NR])
{
	memset(plan, 0, sizeof(*plan));
	plan->mode_bit = MT_IN_MODE(mode);
	memcpy(plan->present, present, sizeof(plan->present));
	for (int p = 0; p < MT_PROG_NR; p++)
		if (!mt_progs[p].is_twin)
			choose(plan, (enum mt_prog)p);
}

bool mt_plan_refuse(struct mt_load_plan *plan, enum mt_prog p, int err, bool at_attach)
{
	plan->refused[p] = err ? err : -EPERM;
	plan->refused_at_attach[p] = at_attach;
	return choose(plan, mt_prog_feature(p)) != MT_PROG_NONE;
}

enum mt_prog mt_plan_chosen(const struct mt_load_plan *plan, enum mt_prog head)
{
	for (enum mt_prog q = head; q != MT_PROG_NONE; q = mt_progs[q].twin)
		if (plan->load[q])
			return q;
	return MT_PROG_NONE;
}

bool mt_plan_essential(const struct mt_load_plan *plan, enum mt_prog p)
{
	return mt_progs[p].essential || (mt_progs[p].on_request && plan->present[p]);
}

bool mt_plan_has(const struct mt_load_plan *plan, enum mt_prog head)
{
	return mt_plan_chosen(plan, head) != MT_PROG_NONE;
}

const char *mt_refusal_hint(int err)
{
	switch (-err) {
	case EPERM:
	case EACCES:
		return "a security policy forbids it: check kernel lockdown "
		       "(/sys/kernel/security/lockdown), SELinux or AppArmor denials, BPF LSM "
		       "programs (bpftool prog list) and the container's seccomp profile";
	case EINVAL:
	case ENOENT:
	case ESRCH:
	case E2BIG:
	case EOPNOTSUPP:
	case 524: /* ENOTSUPP, the kernel's own */
		return "this kernel lacks the hook or a BPF feature the program uses (Linux 5.11 "
		       "or later with CONFIG_DEBUG_INFO_BTF=y is needed); run with -v for the "
		       "verifier's messages";
	default:
		return "run with -v for the kernel verifier's and libbpf's messages";
	}
}

/* ---- what this kernel offers: its hooks and BPF features, before anything loads ---- */

/*
 * What the kernel's BTF says of each tracepoint memtrace-bpf may attach to as tp_btf (a
 * tp_btf program needs the typedef btf_trace_<name>): whether it is there, and its number of
 * arguments. Read by a scan of /sys/kernel/btf/vmlinux that builds nothing (well under a
 * millisecond; libbpf parses the whole BTF again during load anyway), or through libbpf when
 * the scan cannot read the file.
 */
static struct mt_btf_tp btf_tps[] = {
	{ .name = "rss_stat" },		  { .name = "sched_process_fork" },
	{ .name = "sched_process_exec" }, { .name = "sched_process_exit" },
	{ .name = "task_rename" },	  { .name = "page_fault_user" },
	{ .name = "mm_page_alloc" },	  { .name = "mark_victim" },
	{ .name = "cgroup_attach_task" },
};
#define NR_BTF_TPS (sizeof(btf_tps) / sizeof(btf_tps[0]))

static const struct mt_btf_tp *btf_tp(const char *name)
{
	for (size_t i = 0; i < NR_BTF_TPS; i++)
		if (!strcmp(btf_tps[i].name, name))
			return &btf_tps[i];
	return NULL;
}

static bool has_btf_tracepoint(const char *name)
{
	const struct mt_btf_tp *tp = btf_tp(name);

	return tp && tp->type_id > 0;
}

/* Number of arguments of a tp_btf tracepoint (without the context pointer), -1 if none. */
static int btf_tracepoint_args(const char *name)
{
	const struct mt_btf_tp *tp = btf_tp(name);

	return tp ? tp->nargs : -1;
}

/* The same answers through libbpf's parse of the kernel's BTF (wherever libbpf finds it). */
static int scan_btf_with_libbpf(void)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();

	if (!vmlinux)
		return -errno;
	for (size_t i = 0; i < NR_BTF_TPS; i++) {
		char typedef_name[128];
		const struct btf_type *t;
		int id;

		snprintf(typedef_name, sizeof(typedef_name), "btf_trace_%s", btf_tps[i].name);
		id = btf__find_by_name_kind(vmlinux, typedef_name, BTF_KIND_TYPEDEF);
		btf_tps[i].type_id = id > 0 ? id : 0;
		btf_tps[i].nargs = -1;
		if (id <= 0)
			continue;
		t = btf__type_by_id(vmlinux, btf__resolve_type(vmlinux, id));
		if (!t || !btf_is_ptr(t))
			continue;
		t = btf__type_by_id(vmlinux, t->type);
		if (t && btf_is_func_proto(t))
			btf_tps[i].nargs = btf_vlen(t) - 1;
	}
	btf__free(vmlinux);
	return 0;
}

/* A classic tracepoint needs tracefs; libbpf looks in both of its usual places. */
static bool has_classic_tracepoint(const char *category, const char *name)
{
	static const char *const roots[] = { "/sys/kernel/tracing/events",
					     "/sys/kernel/debug/tracing/events" };
	char path[256];

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s/%s/id", roots[i], category, name);
		if (access(path, R_OK) == 0)
			return true;
	}
	return false;
}

/*
 * Which programs' hooks this kernel has, from its BTF (a tp_btf program needs the typedef
 * btf_trace_<name>) and tracefs (a classic tracepoint needs its id there). oom/mark_victim
 * changed shape in 6.9 (and in 6.1.y/6.6.y stable backports), from (int pid) to (struct
 * task_struct *, uid_t): one program per shape, only the kernel's is present. The iterators
 * are there from 5.8, before the oldest kernel memtrace-bpf runs on.
 */
static void find_hooks(bool present[MT_PROG_NR])
{
	int oom_args = btf_tracepoint_args("mark_victim");

	present[MT_PROG_RSS_STAT] = has_btf_tracepoint("rss_stat");
	present[MT_PROG_FORK] = has_btf_tracepoint("sched_process_fork");
	present[MT_PROG_EXEC] = has_btf_tracepoint("sched_process_exec");
	present[MT_PROG_EXIT] = has_btf_tracepoint("sched_process_exit");
	present[MT_PROG_FAULT] = has_btf_tracepoint("page_fault_user");
	present[MT_PROG_FAULT_TP] = has_classic_tracepoint("exceptions", "page_fault_user");
	present[MT_PROG_PAGE_ALLOC] = has_btf_tracepoint("mm_page_alloc");
	present[MT_PROG_PAGE_ALLOC_TP] = has_classic_tracepoint("kmem", "mm_page_alloc");
	present[MT_PROG_RENAME] = has_btf_tracepoint("task_rename");
	present[MT_PROG_OOM] = oom_args == 2;
	present[MT_PROG_OOM_PID] = oom_args == 1;
	present[MT_PROG_CGROUP_ATTACH] = has_btf_tracepoint("cgroup_attach_task");
	present[MT_PROG_SEED] = true;
	present[MT_PROG_READ] = true;
	/* asked for with --exact only: bpfobj_start sets it once it has the tracepoint's id */
	present[MT_PROG_RSS_EXACT] = false;
}

int mt_kernel_probe(struct mt_kernel *k)
{
	int err;

	memset(k, 0, sizeof(*k));
	err = mt_btf_scan_tracepoints(MT_BTF_VMLINUX, btf_tps, NR_BTF_TPS);
	if (err) {
		mt_debug("scanning %s: %s; asking libbpf", MT_BTF_VMLINUX, strerror(-err));
		err = scan_btf_with_libbpf();
	}
	if (err) {
		mt_err("cannot read the kernel's BTF (%s): memtrace-bpf needs a kernel built with "
		       "CONFIG_DEBUG_INFO_BTF=y (/sys/kernel/btf/vmlinux)",
		       strerror(-err));
		return -1;
	}
	find_hooks(k->present);
	for (int p = 0; p < MT_PROG_NR; p++) {
		if (mt_progs[p].essential && !k->present[p]) {
			mt_err("this kernel has no BTF for the tracepoint %s that memtrace-bpf needs "
			       "(Linux 5.11 or later with CONFIG_DEBUG_INFO_BTF=y required)",
			       mt_progs[p].hook);
			return -1;
		}
	}

	/* the newest kernel features every program relies on: a clear line, not a verifier log */
	if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_get_current_task_btf,
				    NULL) == 0 ||
	    libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 0) {
		mt_err("this kernel lacks BPF features memtrace-bpf needs (bpf_get_current_task_btf, "
		       "the BPF ring buffer): Linux 5.11 or later is required");
		return -1;
	}
	k->percpu_lookup = libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT,
						   BPF_FUNC_map_lookup_percpu_elem, NULL) == 1;
	if (!k->percpu_lookup)
		mt_debug("no bpf_map_lookup_percpu_elem (Linux 5.19+): faults and page allocations "
			 "a process's threads left counted on other CPUs at its exit are not in its "
			 "exit row");
	/* before 6.2 rss_stat has a third argument (the count), and the counters it reports are
	 * updated in per-thread batches */
	k->rss_batched = btf_tracepoint_args("rss_stat") == 3;
	if (k->rss_batched)
		mt_debug("rss_stat(mm, member, count): this kernel counts RSS in per-thread batches "
			 "of up to 64 pages (Linux before 6.2)");
	return 0;
}

/* ---- what a refusal costs, told to the user ---- */

/* The object could not be loaded, and no program of ours was named as the one refused. */
int mt_load_error(int err)
{
	if ((err == -EPERM || err == -EACCES) && geteuid() != 0)
		mt_err("the kernel refused to load the BPF programs (%s): run as root, or with "
		       "CAP_BPF and CAP_PERFMON (and check kernel.unprivileged_bpf_disabled and "
		       "lockdown)",
		       strerror(-err));
	else
		mt_err("loading the BPF programs failed (%s); run with -v to see the kernel "
		       "verifier's and libbpf's messages",
		       strerror(-err));
	return -1;
}

/* One error line for an essential program the kernel refused, and what to check. */
int mt_prog_refused_error(enum mt_prog p, int err, const char *at)
{
	if ((err == -EPERM || err == -EACCES) && geteuid() != 0)
		mt_err("the kernel refused to %s the BPF program %s (%s): run as root, or with "
		       "CAP_BPF and CAP_PERFMON (and check kernel.unprivileged_bpf_disabled and "
		       "lockdown)",
		       at, mt_progs[p].name, strerror(-err));
	else
		mt_err("the kernel refused to %s the BPF program %s (%s), which memtrace-bpf cannot "
		       "work without (%s): %s; %s",
		       at, mt_progs[p].name, mt_progs[p].hook, mt_progs[p].gives, strerror(-err),
		       mt_refusal_hint(err));
	return -1;
}

/* What the kernel refused or lacks, told once per feature: -v always, a warning if visible. */
void mt_plan_report(const struct mt_load_plan *plan)
{

	for (int i = 0; i < MT_PROG_NR; i++) {
		enum mt_prog p = (enum mt_prog)i, head = mt_prog_feature(p), chosen;

		if (!plan->refused[p])
			continue;
		chosen = mt_plan_chosen(plan, head);
		mt_debug("the kernel refused the BPF program %s (%s) at %s: %s; %s%s%s", mt_progs[p].name,
			 mt_progs[p].hook, plan->refused_at_attach[p] ? "attach" : "load",
			 strerror(-plan->refused[p]),
			 chosen != MT_PROG_NONE ? "using " : mt_progs[head].without,
			 chosen != MT_PROG_NONE ? mt_progs[chosen].hook : "",
			 chosen != MT_PROG_NONE ? " instead" : "");
	}
	for (int i = 0; i < MT_PROG_NR; i++) {
		enum mt_prog head = (enum mt_prog)i, refused = MT_PROG_NONE;

		/* an option's program is not a loss when not asked for, and an error when it is */
		if (mt_progs[head].is_twin || mt_progs[head].essential || mt_progs[head].on_request ||
		    !(mt_progs[head].modes & plan->mode_bit) || mt_plan_has(plan, head))
			continue;
		for (enum mt_prog q = head; q != MT_PROG_NONE; q = mt_progs[q].twin)
			if (plan->refused[q])
				refused = q;
		if (refused != MT_PROG_NONE && mt_progs[head].visible)
			mt_warn("the kernel refused the BPF program %s (%s: %s): %s (-v for details)",
				mt_progs[refused].name, mt_progs[refused].hook,
				strerror(-plan->refused[refused]), mt_progs[head].without);
		else if (refused == MT_PROG_NONE && mt_progs[head].visible)
			mt_warn("this kernel has no %s hook: %s", mt_progs[head].hook,
				mt_progs[head].without);
		else if (refused == MT_PROG_NONE)
			mt_debug("this kernel has no %s hook: %s", mt_progs[head].hook,
				 mt_progs[head].without);
	}
}

const char *mt_plan_hook(const struct mt_load_plan *plan, enum mt_prog head)
{
	enum mt_prog p = mt_plan_chosen(plan, head);

	return p == MT_PROG_NONE ? "none" : mt_progs[p].hook;
}
