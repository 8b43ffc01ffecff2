// SPDX-License-Identifier: GPL-2.0
/*
 * A BPF LSM policy for the tests: the kernel refuses, with a chosen errno, to load or to attach
 * the BPF programs named, when memtrace-bpf asks. The refusal is the kernel's own, made by the
 * same security hook a site's policy would use (security_bpf), so the tests meet what users
 * meet under lockdown, SELinux or a BPF LSM.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

#define DENY_MAX 8
#define NAME_LEN 16 /* BPF_OBJ_NAME_LEN: the kernel keeps 15 bytes of a program's name */

/* set by the loader */
const volatile char names[DENY_MAX][NAME_LEN] = {};
const volatile __u32 nr_names = 0;
const volatile __s32 deny_errno = 1;
const volatile bool at_load = true;
const volatile bool at_attach = false;
const char tracer_comm[NAME_LEN] = "memtrace-bpf";

/* refusals made, for the loader's report */
__u64 denied = 0;

static __always_inline bool same(const char *a, const volatile char *b)
{
	for (int i = 0; i < NAME_LEN; i++) {
		if (a[i] != b[i])
			return false;
		if (!a[i])
			return true;
	}
	return true;
}

static __always_inline bool listed(const char *name)
{
	for (__u32 i = 0; i < DENY_MAX; i++) {
		if (i >= nr_names)
			break;
		if (same(name, names[i]))
			return true;
	}
	return false;
}

static __always_inline bool by_tracer(void)
{
	char comm[NAME_LEN];

	bpf_get_current_comm(comm, sizeof(comm));
	for (int i = 0; i < NAME_LEN; i++) {
		if (comm[i] != tracer_comm[i])
			return false;
		if (!comm[i])
			break;
	}
	return true;
}

/* The name of the BPF program behind one of the caller's file descriptors. */
static __always_inline bool prog_name_of_fd(__u32 fd, char name[NAME_LEN])
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct bpf_prog_aux *aux;
	struct bpf_prog *prog;
	struct file *file;

	if (fd >= BPF_CORE_READ(fdt, max_fds))
		return false;
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return false;
	prog = (struct bpf_prog *)BPF_CORE_READ(file, private_data);
	aux = prog ? BPF_CORE_READ(prog, aux) : NULL;
	/* the whole name: name is a pointer here, so not BPF_CORE_READ_INTO (sizeof *name) */
	return aux && bpf_core_read(name, NAME_LEN, &aux->name) == 0;
}

SEC("lsm/bpf")
int BPF_PROG(deny_bpf, int cmd, union bpf_attr *attr, unsigned int size)
{
	char name[NAME_LEN] = {};
	__u32 fd;

	if (!by_tracer())
		return 0;
	if (cmd == BPF_PROG_LOAD && at_load) {
		if (BPF_CORE_READ_INTO(&name, attr, prog_name))
			return 0;
	} else if ((cmd == BPF_RAW_TRACEPOINT_OPEN || cmd == BPF_LINK_CREATE) && at_attach) {
		fd = cmd == BPF_LINK_CREATE ? BPF_CORE_READ(attr, link_create.prog_fd)
					    : BPF_CORE_READ(attr, raw_tracepoint.prog_fd);
		if (!prog_name_of_fd(fd, name))
			return 0;
	} else {
		return 0;
	}
	if (!listed(name))
		return 0;
	__sync_fetch_and_add(&denied, 1);
	return -deny_errno;
}
