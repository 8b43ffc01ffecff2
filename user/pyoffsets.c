// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include "pyoffsets.h"
#include "pyoffsets_table.h"

int py_offsets_built(unsigned major, unsigned minor, struct mt_py_offsets *out)
{
	/*
	 * 3.13+ publish their own offsets; taking them from the interpreter also covers a build
	 * whose layout differs from the headers seen here (free-threaded, another patch level).
	 */
	if (major != 3 || minor < 11 || minor > 12)
		return -ENOENT;
	for (unsigned i = 0; i < mt_py_built_count; i++) {
		if (mt_py_built_offsets[i].version == (major << 8 | minor)) {
			*out = mt_py_built_offsets[i];
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * CPython 3.13's _Py_DebugOffsets (Include/internal/pycore_runtime.h), field for field. Its own
 * comment says the layout holds only within a minor version, so this mirror is for 3.13.x
 * alone; 3.14 adds and moves fields.
 */
struct py313_debug_offsets {
	char cookie[8];
	uint64_t version;
	uint64_t free_threaded;
	struct {
		uint64_t size, finalizing, interpreters_head;
	} runtime_state;
	struct {
		uint64_t size, id, next, threads_head, gc, imports_modules, sysdict, builtins,
			ceval_gil, gil_runtime_state, gil_runtime_state_enabled,
			gil_runtime_state_locked, gil_runtime_state_holder;
	} interpreter_state;
	struct {
		uint64_t size, prev, next, interp, current_frame, thread_id, native_thread_id,
			datastack_chunk, status;
	} thread_state;
	struct {
		uint64_t size, previous, executable, instr_ptr, localsplus, owner;
	} interpreter_frame;
	struct {
		uint64_t size, filename, name, qualname, linetable, firstlineno, argcount,
			localsplusnames, localspluskinds, co_code_adaptive;
	} code_object;
	struct {
		uint64_t size, ob_type;
	} pyobject;
	struct {
		uint64_t size, tp_name, tp_repr, tp_flags;
	} type_object;
	struct {
		uint64_t size, ob_item, ob_size;
	} tuple_object;
	struct {
		uint64_t size, ob_item, ob_size;
	} list_object;
	struct {
		uint64_t size, ma_keys, ma_values;
	} dict_object;
	struct {
		uint64_t size, ob_fval;
	} float_object;
	struct {
		uint64_t size, lv_tag, ob_digit;
	} long_object;
	struct {
		uint64_t size, ob_size, ob_sval;
	} bytes_object;
	struct {
		uint64_t size, state, length, asciiobject_size;
	} unicode_object;
	struct {
		uint64_t size, collecting;
	} gc;
};

/* 72 eight-byte fields after the cookie: a field lost or added above would shift the rest */
_Static_assert(sizeof(struct py313_debug_offsets) == 8 + 72 * 8,
	       "the mirror of 3.13's _Py_DebugOffsets has its 72 fields");

static int why_fail(char *why, size_t why_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int why_fail(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (why && why_len) {
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/*
 * An offset the walk can use: inside the structure it belongs to (size, when the block gives
 * one) and far from MT_PY_NONE. A garbled block fails here rather than in the kernel.
 */
static int take(uint64_t value, uint64_t size, const char *name, __u32 *field, char *why,
		size_t why_len)
{
	if (value >= (1u << 20) || (size && value >= size))
		return why_fail(why, why_len,
				"debug offset %s = %llu is outside its structure (size %llu)", name,
				(unsigned long long)value, (unsigned long long)size);
	*field = (__u32)value;
	return 0;
}

int py_offsets_from_debug(const void *runtime, size_t len, struct mt_py_offsets *out, char *why,
			  size_t why_len)
{
	static const char cookie[8] = "xdebugpy";
	struct py313_debug_offsets d;
	struct mt_py_offsets o;
	int err = 0;

	if (why && why_len)
		why[0] = '\0';
	if (len < sizeof(d.cookie) + sizeof(d.version))
		return why_fail(why, why_len, "%zu bytes is too short for a debug-offsets block",
				len);
	if (memcmp(runtime, cookie, sizeof(cookie)))
		return why_fail(why, why_len,
				"no \"xdebugpy\" cookie at the start of _PyRuntime (not 3.13+, or "
				"not _PyRuntime)");
	memcpy(&d.version, (const char *)runtime + sizeof(d.cookie), sizeof(d.version));
	unsigned major = d.version >> 24 & 0xff, minor = d.version >> 16 & 0xff;

	if (major != 3 || minor != 13)
		return why_fail(why, why_len,
				"%u.%u's debug offsets have another layout than 3.13's (version "
				"0x%llx)",
				major, minor, (unsigned long long)d.version);
	/* the block was still changing during 3.13's alphas and betas; it is fixed from rc1 */
	if (d.version < 0x030d00c1)
		return why_fail(why, why_len,
				"3.13 pre-release 0x%llx: its debug offsets may predate 3.13.0's "
				"layout",
				(unsigned long long)d.version);
	if (len < sizeof(d))
		return why_fail(why, why_len, "%zu bytes is too short for 3.13's debug offsets (%zu)",
				len, sizeof(d));
	memcpy(&d, runtime, sizeof(d));

	memset(&o, 0xff, sizeof(o)); /* MT_PY_NONE in whatever is not set below */
	o.version = 3 << 8 | 13;

	/* published by the interpreter in _Py_DebugOffsets */
#define TAKE(field, value, size)                                                                   \
	do {                                                                                       \
		if (!err)                                                                          \
			err = take(value, size, #value, &o.field, why, why_len);                   \
	} while (0)
	TAKE(runtime_interp_head, d.runtime_state.interpreters_head, d.runtime_state.size);
	TAKE(interp_threads_head, d.interpreter_state.threads_head, d.interpreter_state.size);
	TAKE(ts_next, d.thread_state.next, d.thread_state.size);
	TAKE(ts_native_thread_id, d.thread_state.native_thread_id, d.thread_state.size);
	TAKE(ts_current_frame, d.thread_state.current_frame, d.thread_state.size);
	TAKE(frame_previous, d.interpreter_frame.previous, d.interpreter_frame.size);
	TAKE(frame_code, d.interpreter_frame.executable, d.interpreter_frame.size);
	TAKE(frame_instr, d.interpreter_frame.instr_ptr, d.interpreter_frame.size);
	TAKE(frame_owner, d.interpreter_frame.owner, d.interpreter_frame.size);
	TAKE(code_filename, d.code_object.filename, d.code_object.size);
	TAKE(code_qualname, d.code_object.qualname, d.code_object.size);
	TAKE(code_firstlineno, d.code_object.firstlineno, d.code_object.size);
	TAKE(code_linetable, d.code_object.linetable, d.code_object.size);
	/* co_code_adaptive is a char[1] at the end: the fixed size covers its first byte */
	TAKE(code_adaptive, d.code_object.co_code_adaptive, d.code_object.size);
	TAKE(object_type, d.pyobject.ob_type, d.pyobject.size);
	/* bytes' ob_size is PyVarObject's (ob_base comes first), which var_size means */
	TAKE(var_size, d.bytes_object.ob_size, d.bytes_object.size);
	/* ob_sval is a char[1] at the end: size covers it */
	TAKE(bytes_sval, d.bytes_object.ob_sval, d.bytes_object.size);
	TAKE(unicode_length, d.unicode_object.length, d.unicode_object.size);
	TAKE(unicode_state, d.unicode_object.state, d.unicode_object.size);
	TAKE(unicode_ascii_size, d.unicode_object.asciiobject_size, 0);
#undef TAKE
	if (err)
		return err;

	/*
	 * Not published; from 3.13's headers, which fix them for every 3.13.x:
	 * - owner_cstack: FRAME_OWNED_BY_CSTACK is 3 in 3.13's enum _frameowner
	 *   (internal/pycore_frame.h), as in 3.12's.
	 * - the state bits: 3.13's PyASCIIObject.state starts interned:2, kind:3, compact:1,
	 *   ascii:1 (cpython/unicodeobject.h), as 3.12's does, and the x86-64 and arm64 ABIs fill
	 *   a bit field from the least significant bit: kind at 2, compact 5, ascii 6.
	 * - PyCompactUnicodeObject is PyASCIIObject followed by Py_ssize_t utf8_length and
	 *   char *utf8, no padding on a 64-bit target.
	 * The unit test checks all three against 3.13's headers compiled.
	 * Left MT_PY_NONE: runtime_tss (autoTSSkey's place is not published and depends on most of
	 * _PyRuntimeState; the walk finds the thread's state by native_thread_id in the
	 * interpreter's list of threads instead), ts_cframe and cframe_current_frame (3.13 has no
	 * _PyCFrame: ts_current_frame instead).
	 */
	o.owner_cstack = 3;
	o.unicode_kind_shift = 2;
	o.unicode_compact_bit = 5;
	o.unicode_ascii_bit = 6;
	o.unicode_compact_size = o.unicode_ascii_size + (__u32)(sizeof(int64_t) + sizeof(void *));
	*out = o;
	return 0;
}

/*
 * The bytes of this process from addr on, without faulting where they end: as many as are
 * mapped, up to len. process_vm_readv on oneself stops at the first unmapped page; /proc/self/mem
 * is the fallback where the syscall is filtered.
 */
static ssize_t read_self(uintptr_t addr, void *buf, size_t len)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)addr, .iov_len = len };
	ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	int fd;

	if (n >= 0)
		return n;
	fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = pread(fd, buf, len, (off_t)addr);
	if (n < 0)
		n = -errno;
	close(fd);
	return n;
}

int py_glibc_tss_offset(uint32_t *out)
{
#if defined(__x86_64__)
	/*
	 * struct pthread_key_data { uintptr_t seq; void *data; } specific_1stblock[32] lies inside
	 * struct pthread, which starts at the thread pointer and is some 2 KiB long.
	 */
	enum { SCAN = 4096, PAIR = 16, DATA = 8, FIRST_BLOCK_KEYS = 32 };
	/* two objects whose addresses are stored nowhere else in struct pthread */
	static const char sentinel_a, sentinel_b;
	unsigned char buf[SCAN];
	uintptr_t tp = (uintptr_t)pthread_self();
	pthread_key_t ka, kb;
	ssize_t got;
	int err;

	err = pthread_key_create(&ka, NULL);
	if (err)
		return -err;
	err = pthread_key_create(&kb, NULL);
	if (err) {
		pthread_key_delete(ka);
		return -err;
	}
	/* higher keys live in blocks glibc allocates elsewhere: nothing to find near the TCB */
	if (ka >= FIRST_BLOCK_KEYS || kb >= FIRST_BLOCK_KEYS) {
		err = -ENOENT;
		goto out;
	}
	if ((err = pthread_setspecific(ka, &sentinel_a)) ||
	    (err = pthread_setspecific(kb, &sentinel_b))) {
		err = -err;
		goto out;
	}
	got = read_self(tp, buf, sizeof(buf));
	if (got < 0) {
		err = (int)got;
		goto out;
	}
	err = -ENOENT;
	for (size_t pos = 0; pos + sizeof(uintptr_t) <= (size_t)got; pos += sizeof(uintptr_t)) {
		size_t first = (size_t)ka * PAIR + DATA, other;
		uintptr_t v;

		memcpy(&v, buf + pos, sizeof(v));
		if (v != (uintptr_t)&sentinel_a || pos < first)
			continue;
		/* the same layout must put the second key's data where it is */
		other = pos - first + (size_t)kb * PAIR + DATA;
		if (other + sizeof(v) > (size_t)got)
			continue;
		memcpy(&v, buf + other, sizeof(v));
		if (v != (uintptr_t)&sentinel_b)
			continue;
		*out = (uint32_t)(pos - first);
		err = 0;
		break;
	}
out:
	pthread_setspecific(ka, NULL);
	pthread_setspecific(kb, NULL);
	pthread_key_delete(ka);
	pthread_key_delete(kb);
	return err;
#else
	(void)out;
	return -ENOTSUP;
#endif
}
