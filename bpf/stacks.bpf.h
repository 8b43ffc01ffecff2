/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --stacks: the user stack behind RSS growth, sampled by bytes grown. A process draws the bytes
 * to its next sample from [3/4, 5/4] of the mean (stack_every); a change that reaches it is
 * sampled and stands for the mean times the draws it used up. The jitter keeps a workload that
 * allocates in steps of the mean from being seen always at the same step; its narrow width
 * keeps the count of samples in a long phase within a few per cent of its bytes / mean.
 *
 * DWARF mode: the thread's user registers (as it entered the kernel: its fault, or the system
 * call that faulted on its behalf) and a copy of its stack from the stack pointer up; user
 * space unwinds that with the binaries' own unwind tables. Frame-pointer mode: the kernel's
 * walk of the frame-pointer chain, cheap and right only for code built with frame pointers.
 */
#ifndef STACKS_BPF_H
#define STACKS_BPF_H

/*
 * bytes left to a process's next sample; LRU: the entry of a process whose exit went unseen is
 * not kept, and a live process that loses its own starts a fresh draw away
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1); /* the loader sizes it as procs */
	__type(key, __u32);	/* tgid */
	__type(value, __s64);
} stack_left SEC(".maps");

/*
 * The record is built here and only its used part copied into the ring: a per-CPU slot of an
 * array, not a per-CPU array, whose values are limited to 32 KiB. The loader sets the CPUs.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mt_stack_sample);
} stack_scratch SEC(".maps");

static __always_inline __s64 stack_draw(void)
{
	__u64 mean = stack_every;

	return (__s64)(mean - mean / 4 + bpf_get_prandom_u32() % (mean / 2 + 1));
}

/*
 * The bytes a growth of `grown` stands for when it is sampled, 0 when it is not. With a mean
 * of a page or less every growth is sampled, weighing what it grew.
 */
static __always_inline __u64 stack_weight(__u32 tgid, __u64 grown)
{
	__s64 *left, init, now;
	__u64 behind, draws;

	if (stack_every <= 4096)
		return grown;
	left = bpf_map_lookup_elem(&stack_left, &tgid);
	if (!left) {
		/* a fresh process starts a whole draw away, as it would after a sample */
		init = stack_draw();
		bpf_map_update_elem(&stack_left, &tgid, &init, BPF_NOEXIST);
		left = bpf_map_lookup_elem(&stack_left, &tgid);
		if (!left)
			return 0;
	}
	/*
	 * threads of one process share the count: an atomic add loses none of their bytes (the
	 * value read after it may hold another thread's too: then both may sample, each weighing
	 * its own draws)
	 */
	__sync_fetch_and_add(left, -(__s64)grown);
	now = *left;
	if (now > 0)
		return 0;
	behind = (__u64)(-now);
	draws = 1 + behind / stack_every;
	__sync_fetch_and_add(left, (__s64)((draws - 1) * stack_every) + stack_draw());
	return draws * stack_every;
}

#ifdef __TARGET_ARCH_x86
/* The DWARF registers from the thread's user pt_regs (x86-64 numbering 0-16). */
static __always_inline void stack_regs(struct mt_stack_sample *e, struct task_struct *task)
{
	struct pt_regs *r = (struct pt_regs *)bpf_task_pt_regs(task);

	e->regs[0] = BPF_CORE_READ(r, ax);
	e->regs[1] = BPF_CORE_READ(r, dx);
	e->regs[2] = BPF_CORE_READ(r, cx);
	e->regs[3] = BPF_CORE_READ(r, bx);
	e->regs[4] = BPF_CORE_READ(r, si);
	e->regs[5] = BPF_CORE_READ(r, di);
	e->regs[6] = BPF_CORE_READ(r, bp);
	e->regs[7] = BPF_CORE_READ(r, sp);
	e->regs[8] = BPF_CORE_READ(r, r8);
	e->regs[9] = BPF_CORE_READ(r, r9);
	e->regs[10] = BPF_CORE_READ(r, r10);
	e->regs[11] = BPF_CORE_READ(r, r11);
	e->regs[12] = BPF_CORE_READ(r, r12);
	e->regs[13] = BPF_CORE_READ(r, r13);
	e->regs[14] = BPF_CORE_READ(r, r14);
	e->regs[15] = BPF_CORE_READ(r, r15);
	e->regs[16] = BPF_CORE_READ(r, ip);
}
#else
static __always_inline void stack_regs(struct mt_stack_sample *e, struct task_struct *task)
{
	/* the option parser refuses --stacks=dwarf off x86-64 */
}
#endif

/*
 * The stack from sp up, as much of stack_size as is mapped: a read fails whole when its end
 * passes the top of the stack's mapping (the main thread's sits a few KiB above main's frame),
 * so shorter reads are tried down to 1 KiB. The main thread's environment strings end its
 * mapping's used part: the first try stops there.
 */
static __always_inline __u32 stack_copy(struct mt_stack_sample *e, struct task_struct *task)
{
	__u64 sp = e->regs[7], env_end = BPF_CORE_READ(task, mm, env_end);
	__u32 len = stack_size;

	if (env_end > sp && env_end - sp < len)
		len = (__u32)(env_end - sp);
	for (int i = 0; i < 6; i++) {
		barrier_var(len);
		len &= MT_STACK_MAX_BYTES - 1;
		if (len < 8)
			break;
		if (!bpf_probe_read_user(e->data, len, (const void *)sp))
			return len;
		len = len > 1024 ? len / 2 : 0;
	}
	return 0;
}

/*
 * One sample of current's user stack, standing for `weight` bytes (0 with MT_STKF_OOM). Before
 * the Python sample of the same change: user space holds it until that one comes.
 */
static __always_inline __u32 stack_sample(void *ctx, __u32 tgid, __u64 weight, __u64 rss,
					  __u32 flags)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 cpu = bpf_get_smp_processor_id(), len;
	struct mt_stack_sample *e = bpf_map_lookup_elem(&stack_scratch, &cpu);
	long n;

	if (!e)
		return 0;
	e->type = MT_EV_STACK;
	e->pid = tgid;
	e->ts_ns = bpf_ktime_get_ns();
	e->tid = (__u32)bpf_get_current_pid_tgid();
	e->weight_bytes = weight;
	e->rss_bytes = rss;
	e->seq = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	/* random rather than counted (an atomic's result needs BPF v3): it pairs two records
	 * of one thread that follow each other, never 0 */
	if (python_on && bpf_map_lookup_elem(&py_procs, &tgid)) {
		flags |= MT_STKF_PYTHON;
		e->seq = bpf_get_prandom_u32() | 1;
	}
	if (stack_fp) {
		flags |= MT_STKF_FP;
		__builtin_memset(e->regs, 0, sizeof(e->regs));
		n = bpf_get_stack(ctx, e->data, MT_STACK_FP_DEPTH * sizeof(__u64), BPF_F_USER_STACK);
		len = n > 0 ? (__u32)n : 0;
		if (!len)
			flags |= MT_STKF_COPY_FAILED;
	} else {
		stack_regs(e, task);
		len = stack_copy(e, task);
		if (!len)
			flags |= MT_STKF_COPY_FAILED;
		else if (len < stack_size)
			flags |= MT_STKF_COPY_SHORT;
	}
	e->flags = flags;
	e->data_len = len;
	barrier_var(len);
	len &= MT_STACK_MAX_BYTES - 1;
	if (bpf_ringbuf_output(&events, e, __builtin_offsetof(struct mt_stack_sample, data) + len,
			       wakeup_flags(flags & MT_STKF_OOM))) {
		count_drop(MT_DROP_STACK);
		return 0;
	}
	return e->seq;
}

#endif /* STACKS_BPF_H */
