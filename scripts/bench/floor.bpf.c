// SPDX-License-Identifier: GPL-2.0
/*
 * The floor of `make bench`: empty BPF programs on exactly the hooks memtrace-bpf attaches
 * (tp_btf, as memtrace-bpf attaches them on this kernel). No tracer on these hooks can cost
 * less than this: what remains is the kernel's own price of calling a BPF program. Part of
 * the benchmark, not of the product.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/rss_stat")
int BPF_PROG(floor_rss_stat)
{
	return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(floor_fault)
{
	return 0;
}

SEC("tp_btf/mm_page_alloc")
int BPF_PROG(floor_page_alloc)
{
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(floor_fork)
{
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(floor_exec)
{
	return 0;
}

SEC("tp_btf/task_rename")
int BPF_PROG(floor_rename)
{
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(floor_exit)
{
	return 0;
}

SEC("tp_btf/mark_victim")
int BPF_PROG(floor_mark_victim)
{
	return 0;
}
