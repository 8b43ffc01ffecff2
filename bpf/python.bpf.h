/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --python: at an RSS change a CPython thread makes in its own context, its Python stack, read
 * from the process's memory in the kernel at that instant, and each code object on it captured
 * (names, location table) the first time it is seen, while it exists: a process that exits or
 * is OOM-killed right after still has its lines reported. User space (user/pyprof.c) turns
 * code addresses and instruction indexes into lines.
 */
#ifndef PYTHON_BPF_H
#define PYTHON_BPF_H

/* the traced processes that run CPython, each with its interpreter's addresses (user space) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* tgid */
	__type(value, struct mt_py_proc);
} py_procs SEC(".maps");

/* where each known interpreter build keeps what the walk reads (mt_py_proc.slot) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MT_PY_SLOTS);
	__type(key, __u32);
	__type(value, struct mt_py_offsets);
} py_offsets SEC(".maps");

struct py_code_key {
	__u32 tgid;
	__u32 pad;
	__u64 code;
};

/*
 * The code objects already sent to user space, with the identity they had: a code object
 * freed and another allocated at the same address has another identity, and is sent again.
 * LRU: a code object evicted is only sent once more.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct py_code_key);
	__type(value, __u32);
} py_codes SEC(".maps");

static __always_inline __u64 py_read_ptr(__u64 addr, bool *failed)
{
	__u64 v = 0;

	if (bpf_probe_read_user(&v, sizeof(v), (const void *)addr))
		*failed = true;
	return v;
}

static __always_inline __u32 py_read_u32(__u64 addr, bool *failed)
{
	__u32 v = 0;

	if (bpf_probe_read_user(&v, sizeof(v), (const void *)addr))
		*failed = true;
	return v;
}

/* The thread-list walk reads at most this many thread states. */
#define MT_PY_MAX_THREADS 64

/*
 * The thread's own thread state, not the GIL holder's: a thread that released the GIL (a
 * C extension allocating, a sleep) is still running its own Python line. First through the
 * interpreter's thread-specific storage key as glibc's pthread_getspecific reads it (one read
 * from the thread pointer); the state found must name this thread (its kernel tid), else
 * the interpreter's list of threads is searched for it.
 */
static __always_inline __u64 py_thread_state(struct task_struct *task, const struct mt_py_proc *pp,
					     const struct mt_py_offsets *o, bool *failed)
{
	__u32 tid = task->pid;
	__u64 ts = 0;

#ifdef __TARGET_ARCH_x86
	if (pp->tss_offset != MT_PY_NONE && o->runtime_tss != MT_PY_NONE) {
		struct {
			__s32 initialized;
			__u32 key;
		} tss = {};

		if (!bpf_probe_read_user(&tss, sizeof(tss), (const void *)(pp->runtime + o->runtime_tss)) &&
		    tss.initialized && tss.key < 32) {
			__u64 tp = BPF_CORE_READ(task, thread.fsbase);

			ts = py_read_ptr(tp + pp->tss_offset + 16 * (__u64)tss.key + 8, failed);
			if (ts && py_read_ptr(ts + o->ts_native_thread_id, failed) == tid)
				return ts;
		}
	}
#endif
	if (!py_thread_list)
		return 0;
	ts = py_read_ptr(pp->runtime + o->runtime_interp_head, failed);
	if (!ts)
		return 0;
	ts = py_read_ptr(ts + o->interp_threads_head, failed);
	for (int i = 0; i < MT_PY_MAX_THREADS && ts; i++) {
		if (py_read_ptr(ts + o->ts_native_thread_id, failed) == tid)
			return ts;
		ts = py_read_ptr(ts + o->ts_next, failed);
	}
	return 0;
}

/*
 * A compact str's text (ASCII or latin-1 from the one, UCS-2/4 from the other header size):
 * up to max - 1 bytes, the end of it when keep_end (a file name's end says more than its
 * start). Returns the bytes copied; *kind is the unicode kind, 0 when unreadable.
 */
static __always_inline __u32 py_read_str(__u64 obj, const struct mt_py_offsets *o, char *dst,
					 __u32 max, bool keep_end, __u16 *kind, bool *truncated)
{
	bool failed = false;
	__u32 state, len, n, k, from = 0;
	__u64 data;

	*kind = 0;
	if (!obj)
		return 0;
	state = py_read_u32(obj + o->unicode_state, &failed);
	len = (__u32)py_read_ptr(obj + o->unicode_length, &failed);
	if (failed || !((state >> o->unicode_compact_bit) & 1))
		return 0;
	k = (state >> o->unicode_kind_shift) & 7;
	if (k != 1 && k != 2 && k != 4)
		return 0;
	data = obj + (((state >> o->unicode_ascii_bit) & 1) ? o->unicode_ascii_size
							    : o->unicode_compact_size);
	n = len * k;
	if (n > max - 1) {
		*truncated = true;
		if (keep_end)
			from = n - (max - 1) + ((n - (max - 1)) % k ? k - (n - (max - 1)) % k : 0);
		n = max - 1;
	}
	/* the verifier needs the bound on the register the helper gets */
	barrier_var(n);
	n &= max - 1;
	if (bpf_probe_read_user(dst, n, (const void *)(data + from)))
		return 0;
	*kind = k;
	return n;
}

/*
 * The code object's identity: what a code object allocated later at the same address would
 * not share (its name, line table and first line).
 */
static __always_inline __u32 py_code_ident(__u64 code, const struct mt_py_offsets *o, bool *failed)
{
	__u64 name = py_read_ptr(code + o->code_qualname, failed);
	__u64 table = py_read_ptr(code + o->code_linetable, failed);
	__u32 first = py_read_u32(code + o->code_firstlineno, failed);
	__u64 h = name * 0x9E3779B97F4A7C15ull ^ table * 0xC2B2AE3D27D4EB4Full ^ first;

	return (__u32)(h ^ (h >> 32)) | 1; /* never 0: 0 is "not captured" */
}

/*
 * The code object sent to user space once per identity (names and location table). A global
 * function: the verifier checks it once, not once per frame of the walk's loop.
 */
__noinline int py_capture_code(__u32 tgid, __u64 code, __u32 ident, __u32 slot)
{
	struct py_code_key key = { .tgid = tgid, .code = code };
	__u32 *known = bpf_map_lookup_elem(&py_codes, &key);
	const struct mt_py_offsets *o;
	struct mt_py_code *c;
	bool failed = false, truncated = false;
	__u64 table;
	__u32 n;

	if (known && *known == ident)
		return 0;
	o = bpf_map_lookup_elem(&py_offsets, &slot);
	if (!o)
		return 0;
	c = bpf_ringbuf_reserve(&events, sizeof(*c), 0);
	if (!c) {
		count_drop(MT_DROP_PY_CODE);
		return 0;
	}
	c->type = MT_EV_PY_CODE;
	c->pid = tgid;
	c->code = code;
	c->ident = ident;
	c->flags = 0;
	c->firstlineno = (__s32)py_read_u32(code + o->code_firstlineno, &failed);
	c->file_len = py_read_str(py_read_ptr(code + o->code_filename, &failed), o, c->file,
				  MT_PY_FILE_LEN, true, &c->file_kind, &truncated);
	if (truncated)
		c->flags |= MT_PYC_FILE_TRUNCATED;
	truncated = false;
	c->name_len = py_read_str(py_read_ptr(code + o->code_qualname, &failed), o, c->name,
				  MT_PY_NAME_LEN, false, &c->name_kind, &truncated);
	table = py_read_ptr(code + o->code_linetable, &failed);
	n = table ? (__u32)py_read_ptr(table + o->var_size, &failed) : 0;
	if (n > MT_PY_LINETABLE_LEN - 1) {
		n = MT_PY_LINETABLE_LEN - 1;
		c->flags |= MT_PYC_LINETABLE_TRUNCATED;
	}
	barrier_var(n);
	n &= MT_PY_LINETABLE_LEN - 1;
	if (!table || bpf_probe_read_user(c->linetable, n, (const void *)(table + o->bytes_sval)))
		n = 0;
	c->linetable_len = n;
	bpf_ringbuf_submit(c, wakeup_flags(false));
	bpf_map_update_elem(&py_codes, &key, &ident, BPF_ANY);
	return 0;
}

/* The sample is built here and copied into the ring: the walk runs in global functions. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mt_py_sample);
} py_scratch SEC(".maps");

/* Where the walk stands (scalars only: it is handed to a global function). */
struct py_walk_state {
	__u64 frame;
	__u64 code_type;
	__u32 tgid;
	__u32 slot;
};

/*
 * One frame of the walk into the sample in py_scratch: 1 to go on, 0 at the end. A global
 * function, so that the verifier checks the frame's reads once rather than once per frame.
 * Frames the C stack put there as shims (3.12+) are not Python code and are skipped.
 */
__noinline int py_walk_step(struct py_walk_state *w)
{
	__u32 zero = 0;
	struct mt_py_sample *e = bpf_map_lookup_elem(&py_scratch, &zero);
	const struct mt_py_offsets *o;
	bool failed = false;
	__u64 code, instr, first;
	__u8 owner = 0, is_entry = 0;
	__u32 ident, depth, slot;

	if (!w || !e || !w->frame)
		return 0;
	/* a key on the stack: before 6.x a map key may not point into the argument's memory */
	slot = w->slot;
	o = bpf_map_lookup_elem(&py_offsets, &slot);
	if (!o)
		return 0;
	code = py_read_ptr(w->frame + o->frame_code, &failed);
	instr = py_read_ptr(w->frame + o->frame_instr, &failed);
	if (o->owner_cstack != MT_PY_NONE)
		bpf_probe_read_user(&owner, 1, (const void *)(w->frame + o->frame_owner));
	if (o->frame_is_entry != MT_PY_NONE)
		bpf_probe_read_user(&is_entry, 1, (const void *)(w->frame + o->frame_is_entry));
	w->frame = py_read_ptr(w->frame + o->frame_previous, &failed);
	if (failed) {
		e->flags |= MT_PYF_READ_FAILED;
		return 0;
	}
	/* the shim under an eval call's first frame: that frame, the last kept, is its entry */
	if (o->owner_cstack != MT_PY_NONE && owner == o->owner_cstack) {
		if (e->depth)
			e->entries |= 1ull << ((e->depth - 1) & 63);
		return 1;
	}
	if (py_read_ptr(code + o->object_type, &failed) != w->code_type) {
		e->flags |= MT_PYF_BAD_CODE;
		return 0;
	}
	depth = e->depth;
	if (depth >= MT_PY_DEPTH) {
		e->flags |= MT_PYF_TRUNCATED;
		return 0;
	}
	ident = py_code_ident(code, o, &failed);
	first = code + o->code_adaptive;

	struct mt_py_frame *f = &e->frames[depth];

	f->code = code;
	f->ident = ident;
	f->lasti = instr >= first && instr - first < (1u << 30) ? (__s32)((instr - first) / 2) : -1;
	if (is_entry)
		e->entries |= 1ull << (depth & 63);
	e->depth++;
	py_capture_code(w->tgid, code, ident, w->slot);
	return 1;
}

/* The Python stack of the current thread into e (innermost first). */
static __always_inline void py_walk(struct mt_py_sample *e, __u32 tgid, struct task_struct *task,
				    const struct mt_py_proc *pp, const struct mt_py_offsets *o)
{
	bool failed = false;
	__u64 ts = py_thread_state(task, pp, o, &failed);
	struct py_walk_state w = { .code_type = pp->code_type, .tgid = tgid, .slot = pp->slot };

	if (!ts) {
		e->flags |= failed ? MT_PYF_READ_FAILED : MT_PYF_NO_THREAD;
		return;
	}
	if (o->ts_cframe != MT_PY_NONE)
		w.frame = py_read_ptr(py_read_ptr(ts + o->ts_cframe, &failed) + o->cframe_current_frame,
				      &failed);
	else
		w.frame = py_read_ptr(ts + o->ts_current_frame, &failed);
	for (int i = 0; i < MT_PY_DEPTH + 16; i++)
		if (!py_walk_step(&w))
			break;
}

/*
 * One sample: the change and the stack of current (a thread of tgid, in its own context).
 * flags MT_PYF_OOM: no change, the stack of an OOM kill's trigger. stack_seq: the native stack
 * sampled at the same change (0: none).
 */
static __always_inline void py_sample(__u32 tgid, __s64 dfile, __s64 danon, __s64 dshmem,
				      __u64 rss, __u32 flags, __u32 stack_seq)
{
	struct mt_py_proc *pp = bpf_map_lookup_elem(&py_procs, &tgid);
	struct mt_py_offsets *o;
	struct mt_py_sample *e;
	__u32 zero = 0;

	if (!pp)
		return;
	o = bpf_map_lookup_elem(&py_offsets, &pp->slot);
	e = bpf_map_lookup_elem(&py_scratch, &zero);
	if (!o || !o->version || !e)
		return;
	e->type = MT_EV_PY_SAMPLE;
	e->pid = tgid;
	e->ts_ns = bpf_ktime_get_ns();
	e->tid = (__u32)bpf_get_current_pid_tgid();
	e->flags = flags;
	e->delta_file = dfile;
	e->delta_anon = danon;
	e->delta_shmem = dshmem;
	e->rss_bytes = rss;
	e->depth = 0;
	e->stack_seq = stack_seq;
	e->entries = 0;
	py_walk(e, tgid, bpf_get_current_task_btf(), pp, o);
	if (bpf_ringbuf_output(&events, e, sizeof(*e), wakeup_flags(flags & MT_PYF_OOM)))
		count_drop(MT_DROP_PY_SAMPLE);
}

#endif /* PYTHON_BPF_H */
