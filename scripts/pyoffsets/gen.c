// SPDX-License-Identifier: GPL-2.0
/*
 * Prints one initializer of struct mt_py_offsets (bpf/memtrace.h) for the CPython whose headers
 * it is compiled against:
 *
 *	cc -Ibpf -I<prefix>/include/python3.X -I<prefix>/include/python3.X/internal \
 *		scripts/pyoffsets/gen.c -o gen && ./gen
 *
 * The offsets are the compiler's, from the interpreter's own (internal) structure definitions,
 * so they are right for that minor version by construction rather than copied from anywhere.
 * The Makefile runs it once per minor version it finds headers for and gathers the lines in
 * $(OUTPUT)/pyoffsets_table.h.
 */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "internal/pycore_code.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_runtime.h"

#include "memtrace.h"

#if PY_VERSION_HEX < 0x030b0000
#error "the frame walk reads _PyInterpreterFrame, which CPython has from 3.11 on"
#endif

/*
 * A bit field has no offsetof: set one field at a time in a zeroed object and see which bit of
 * the 32-bit word it lives in moved. This holds whatever order the compiler gives bit fields.
 */
static unsigned lowest_bit(uint32_t word)
{
	unsigned bit = 0;

	if (!word)
		return MT_PY_NONE;
	while (!(word >> bit & 1))
		bit++;
	return bit;
}

static uint32_t state_word(const PyASCIIObject *o)
{
	uint32_t word;

	memcpy(&word, (const char *)o + offsetof(PyASCIIObject, state), sizeof(word));
	return word;
}

int main(void)
{
	struct mt_py_offsets o;
	PyASCIIObject a;

	memset(&o, 0xff, sizeof(o)); /* every field MT_PY_NONE until set */
	o.version = PY_MAJOR_VERSION << 8 | PY_MINOR_VERSION;

#if PY_VERSION_HEX < 0x030c0000
	o.runtime_tss = offsetof(_PyRuntimeState, gilstate.autoTSSkey);
#else
	o.runtime_tss = offsetof(_PyRuntimeState, autoTSSkey);
#endif
	o.runtime_interp_head = offsetof(_PyRuntimeState, interpreters.head);
	o.interp_threads_head = offsetof(PyInterpreterState, threads.head);

	o.ts_next = offsetof(PyThreadState, next);
	o.ts_native_thread_id = offsetof(PyThreadState, native_thread_id);
#if PY_VERSION_HEX < 0x030d0000
	/* 3.11 and 3.12 reach the innermost frame through the thread's _PyCFrame */
	o.ts_cframe = offsetof(PyThreadState, cframe);
	o.cframe_current_frame = offsetof(_PyCFrame, current_frame);
#else
	o.ts_current_frame = offsetof(PyThreadState, current_frame);
#endif

	o.frame_previous = offsetof(_PyInterpreterFrame, previous);
#if PY_VERSION_HEX < 0x030d0000
	o.frame_code = offsetof(_PyInterpreterFrame, f_code);
	o.frame_instr = offsetof(_PyInterpreterFrame, prev_instr);
#else
	o.frame_code = offsetof(_PyInterpreterFrame, f_executable);
	o.frame_instr = offsetof(_PyInterpreterFrame, instr_ptr);
#endif
	o.frame_owner = offsetof(_PyInterpreterFrame, owner);
#if PY_VERSION_HEX >= 0x030c0000
	/* 3.11 marks its entry frames with is_entry instead and has no shim frames to skip */
	o.owner_cstack = FRAME_OWNED_BY_CSTACK;
#else
	o.frame_is_entry = offsetof(_PyInterpreterFrame, is_entry);
#endif

	o.code_filename = offsetof(PyCodeObject, co_filename);
	o.code_qualname = offsetof(PyCodeObject, co_qualname);
	o.code_firstlineno = offsetof(PyCodeObject, co_firstlineno);
	o.code_linetable = offsetof(PyCodeObject, co_linetable);
	o.code_adaptive = offsetof(PyCodeObject, co_code_adaptive);

	o.object_type = offsetof(PyObject, ob_type);
	o.var_size = offsetof(PyVarObject, ob_size);
	o.bytes_sval = offsetof(PyBytesObject, ob_sval);

	o.unicode_length = offsetof(PyASCIIObject, length);
	o.unicode_state = offsetof(PyASCIIObject, state);
	memset(&a, 0, sizeof(a));
	a.state.kind = 1;
	o.unicode_kind_shift = lowest_bit(state_word(&a));
	memset(&a, 0, sizeof(a));
	a.state.compact = 1;
	o.unicode_compact_bit = lowest_bit(state_word(&a));
	memset(&a, 0, sizeof(a));
	a.state.ascii = 1;
	o.unicode_ascii_bit = lowest_bit(state_word(&a));
	o.unicode_ascii_size = sizeof(PyASCIIObject);
	o.unicode_compact_size = sizeof(PyCompactUnicodeObject);

	if (o.unicode_kind_shift == MT_PY_NONE || o.unicode_compact_bit == MT_PY_NONE ||
	    o.unicode_ascii_bit == MT_PY_NONE) {
		fprintf(stderr, "gen: a unicode state bit is not in the 32-bit word at state\n");
		return 1;
	}

	/* one line, the fields in the struct's order; MT_PY_NONE spelt out so the table reads */
#define F(name)                                                                                    \
	do {                                                                                       \
		if (o.name == MT_PY_NONE)                                                          \
			printf(" ." #name " = MT_PY_NONE,");                                       \
		else                                                                               \
			printf(" ." #name " = %u,", o.name);                                       \
	} while (0)
	printf("\t/* %s */\n\t{", PY_VERSION);
	printf(" .version = 0x%04x,", o.version);
	F(runtime_tss);
	F(runtime_interp_head);
	F(interp_threads_head);
	F(ts_next);
	F(ts_native_thread_id);
	F(ts_cframe);
	F(cframe_current_frame);
	F(ts_current_frame);
	F(frame_previous);
	F(frame_code);
	F(frame_instr);
	F(frame_owner);
	F(owner_cstack);
	F(frame_is_entry);
	F(code_filename);
	F(code_qualname);
	F(code_firstlineno);
	F(code_linetable);
	F(code_adaptive);
	F(object_type);
	F(var_size);
	F(bytes_sval);
	F(unicode_length);
	F(unicode_state);
	F(unicode_kind_shift);
	F(unicode_compact_bit);
	F(unicode_ascii_bit);
	F(unicode_ascii_size);
	F(unicode_compact_size);
	printf(" },\n");
	return 0;
}
