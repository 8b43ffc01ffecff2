// SPDX-License-Identifier: GPL-2.0
/*
 * selfsample.h: a real --stacks sample of the calling thread, taken as the BPF side takes one
 * (bpf/stacks.bpf.h): the registers at one instruction of capture() and a copy of the stack
 * from there up, for the unit tests of the unwinder and of the accounts. The test calls
 * capture() through frames of its own (FRAME, NO_TAIL), after selfsample_begin().
 */
#ifndef SELFSAMPLE_H
#define SELFSAMPLE_H

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "memtrace.h"

/* kept whole, called, never returned from by a jump: each is a frame of its own */
#ifdef __clang__
#define FRAME __attribute__((noinline))
#else
#define FRAME __attribute__((noinline, noclone))
#endif
/* after a call: it is no tail call */
#define NO_TAIL() asm volatile("" ::: "memory")

#define COPY_BYTES 16384u

/* capture()'s frames: "capture (selfsample.h:LINE)" */
#define CAPTURE_AT "capture (selfsample.h:"

static inline uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* the end (highest address) of the calling thread's stack */
static __thread uint64_t stack_end;

static inline void selfsample_begin(void)
{
	pthread_attr_t a;
	void *addr;
	size_t size;

	if (pthread_getattr_np(pthread_self(), &a) || pthread_attr_getstack(&a, &addr, &size))
		abort();
	pthread_attr_destroy(&a);
	stack_end = (uint64_t)(uintptr_t)addr + size;
}

/*
 * The stack from the sampled rsp up, as bpf_probe_read_user() copies it: word by word, not
 * through ASan's eyes (the frames above hold its poisoned redzones).
 */
static FRAME __attribute__((no_sanitize_address)) void copy_stack(struct mt_stack_sample *e)
{
	const volatile uint64_t *src = (const volatile uint64_t *)(uintptr_t)e->regs[7];
	uint64_t n = stack_end - e->regs[7];

	if (n > COPY_BYTES)
		n = COPY_BYTES;
	for (uint64_t i = 0; i < n / 8; i++) {
		uint64_t w = src[i];

		memcpy(e->data + 8 * i, &w, sizeof(w));
	}
	e->data_len = (uint32_t)(n & ~7ull);
}

/* the registers at one instruction, in DWARF order: rbx 3, rbp 6, rsp 7, r12-r15 12-15, rip 16 */
static FRAME void capture(struct mt_stack_sample *e)
{
	asm volatile("lea 0(%%rip), %%rax\n\t"
		     "mov %%rax, 128(%0)\n\t"
		     "mov %%rsp, 56(%0)\n\t"
		     "mov %%rbp, 48(%0)\n\t"
		     "mov %%rbx, 24(%0)\n\t"
		     "mov %%r12, 96(%0)\n\t"
		     "mov %%r13, 104(%0)\n\t"
		     "mov %%r14, 112(%0)\n\t"
		     "mov %%r15, 120(%0)\n\t"
		     :
		     : "r"(e->regs)
		     : "rax", "memory");
	copy_stack(e);
	NO_TAIL();
}

#endif
