/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel BTF questions start-up asks (does the tracepoint X have a tp_btf typedef
 * "btf_trace_X", how many arguments does it take), answered by streaming the raw BTF file
 * instead of building libbpf's whole BTF object (btf__load_vmlinux_btf: every type indexed,
 * ~9 MB allocated, ~8 ms).
 *
 * How: the header; one pass over the string section for every occurrence of
 * "btf_trace_<name>\0"; one pass over the type section, from id 1, that stops as soon as every
 * question is answered; a few short reads back (from a checkpoint kept every 256 type ids) for
 * the types a typedef or pointer refers to backwards. The file is mapped when it can be (Linux
 * 6.16+ maps /sys/kernel/btf/vmlinux without copying it) or read with pread through one 64 KiB
 * buffer.
 *
 * The answers are libbpf's, exactly (tests/unit/test_btfscan.c compares them):
 *	type_id: btf__find_by_name_kind(btf, "btf_trace_<name>", BTF_KIND_TYPEDEF), 0 if < 0;
 *	nargs:	 t = btf__type_by_id(btf, btf__resolve_type(btf, type_id)); PTR required, then
 *		 t = btf__type_by_id(btf, t->type); FUNC_PROTO required: btf_vlen(t) - 1; else -1.
 * Unlike libbpf it does not validate what it does not read (types after the last one it needs,
 * the string section's contents): a file libbpf rejects may still be answered.
 */
#ifndef MT_BTFSCAN_H
#define MT_BTFSCAN_H

#include <stddef.h>

#define MT_BTF_VMLINUX "/sys/kernel/btf/vmlinux"

struct mt_btf_tp {
	const char *name; /* in: the tracepoint's name, without "btf_trace_" */
	int type_id;	  /* out: id of the typedef btf_trace_<name>, 0 if there is none */
	int nargs;	  /* out: its arguments after the context pointer, -1 if none or if it
			   * is not a pointer to a function prototype */
};

/*
 * Answers tps[0..n) from the raw BTF file at path (MT_BTF_VMLINUX for the kernel's). Returns 0,
 * or a negative errno, every answer then being type_id 0, nargs -1, and the caller falling back
 * to libbpf: -ENOENT etc. from open or read, -EINVAL for a file it cannot parse (bad magic or
 * version, truncated, sections out of bounds, a type of unknown kind before the last type it
 * needs, a NULL name), -ENOTSUP for BTF of the other byte order, -E2BIG when the string
 * section holds more than 4 * n + 16 copies of the strings asked for (never in real BTF,
 * whose strings are deduplicated), -ENOMEM.
 */
int mt_btf_scan_tracepoints(const char *path, struct mt_btf_tp *tps, size_t n);

/*
 * The same on an open file (its offset is not used or moved). buf_size 0: map the file if it
 * can be mapped, else read it through a 64 KiB buffer. Otherwise: always read, through a
 * buffer of buf_size bytes, raised if need be to the minimum the names need: 16 bytes, and
 * room for the longest "btf_trace_<name>\0" (tests use tiny buffers to move every boundary).
 */
int mt_btf_scan_fd(int fd, struct mt_btf_tp *tps, size_t n, size_t buf_size);

#endif
