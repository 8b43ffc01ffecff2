// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
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
