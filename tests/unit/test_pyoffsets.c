// SPDX-License-Identifier: GPL-2.0
/*
 * The CPython offsets (user/pyoffsets.h): the table compiled from the headers, the reading of
 * 3.13's _Py_DebugOffsets checked against the real interpreter's _PyRuntime, and where glibc
 * keeps pthread_getspecific's data.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pyoffsets.h"
#define MT_PY_WANT_HEADER_313
#include "pyoffsets_table.h"
#include "unit.h"

static void skip(const char *why)
{
	fprintf(ut_out, "%s: SKIP %s: %s\n", ut_prog, ut_test_name, why);
	fflush(ut_out);
}

/* what any 3.11+ layout has, whatever the version */
static void check_plausible(const struct mt_py_offsets *o)
{
	CHECK(o->runtime_interp_head < 4096);
	CHECK(o->interp_threads_head < 16384);
	CHECK(o->ts_next < 256);
	CHECK(o->ts_native_thread_id < 512);
	CHECK(o->frame_previous < 128);
	CHECK(o->frame_code < 128);
	CHECK(o->frame_instr < 128);
	CHECK(o->frame_owner < 128);
	CHECK(o->code_filename < o->code_qualname);
	CHECK(o->code_qualname < o->code_linetable);
	CHECK(o->code_firstlineno < o->code_filename);
	CHECK(o->code_adaptive > o->code_linetable);
	CHECK(o->code_adaptive < 512);
	CHECK_EQ_U64(o->object_type, 8);
	CHECK_EQ_U64(o->var_size, 16);
	CHECK_EQ_U64(o->bytes_sval, 32);
	CHECK_EQ_U64(o->unicode_length, 16);
	CHECK(o->unicode_state > o->unicode_length);
	CHECK(o->unicode_kind_shift + 3 <= 32);
	CHECK(o->unicode_compact_bit < 32 && o->unicode_ascii_bit < 32);
	CHECK(o->unicode_compact_bit != o->unicode_ascii_bit);
	CHECK(o->unicode_compact_bit < o->unicode_kind_shift ||
	      o->unicode_compact_bit >= o->unicode_kind_shift + 3);
	CHECK(o->unicode_ascii_size > o->unicode_state);
	CHECK(o->unicode_compact_size > o->unicode_ascii_size);
}

TEST(built_311)
{
	struct mt_py_offsets o;

	CHECK(MT_PY_HEADERS_311[0] != '\0'); /* python3.11-dev is among the build's packages */
	REQUIRE(py_offsets_built(3, 11, &o) == 0);
	CHECK_EQ_U64(o.version, 0x030b);
	check_plausible(&o);
	CHECK(o.runtime_tss != MT_PY_NONE);
	CHECK(o.ts_cframe != MT_PY_NONE);
	CHECK(o.cframe_current_frame != MT_PY_NONE);
	CHECK_EQ_U64(o.ts_current_frame, MT_PY_NONE);
	CHECK_EQ_U64(o.owner_cstack, MT_PY_NONE);
	CHECK(o.frame_is_entry != MT_PY_NONE); /* 3.11 marks entry frames itself */
}

TEST(built_312)
{
	struct mt_py_offsets o;

	if (!MT_PY_HEADERS_312[0]) {
		skip("no CPython 3.12 headers at build time (pyenv install 3.12): 3.12 untested");
		CHECK_EQ_INT(py_offsets_built(3, 12, &o), -ENOENT);
		return;
	}
	REQUIRE(py_offsets_built(3, 12, &o) == 0);
	CHECK_EQ_U64(o.version, 0x030c);
	check_plausible(&o);
	CHECK(o.runtime_tss != MT_PY_NONE);
	CHECK(o.ts_cframe != MT_PY_NONE);
	CHECK_EQ_U64(o.ts_current_frame, MT_PY_NONE);
	CHECK_EQ_U64(o.owner_cstack, 3);
	CHECK_EQ_U64(o.frame_is_entry, MT_PY_NONE); /* the shim frames mark them */
}

/* one row per version, and no version the interpreter should give instead */
TEST(built_table_rows)
{
	struct mt_py_offsets o;

	CHECK_EQ_U64(mt_py_built_count, !!MT_PY_HEADERS_311[0] + !!MT_PY_HEADERS_312[0]);
	for (unsigned i = 0; i < mt_py_built_count; i++) {
		CHECK(mt_py_built_offsets[i].version == 0x030b ||
		      mt_py_built_offsets[i].version == 0x030c);
		for (unsigned j = 0; j < i; j++)
			CHECK(mt_py_built_offsets[i].version != mt_py_built_offsets[j].version);
	}
	CHECK_EQ_INT(py_offsets_built(3, 13, &o), -ENOENT);
	CHECK_EQ_INT(py_offsets_built(3, 14, &o), -ENOENT);
	CHECK_EQ_INT(py_offsets_built(3, 10, &o), -ENOENT);
	CHECK_EQ_INT(py_offsets_built(2, 11, &o), -ENOENT);
}

/* ---- 3.13: _Py_DebugOffsets ---- */

/* The initial bytes of _PyRuntime in an ELF file (its value in .data). Bytes copied, or -1. */
static long elf_symbol_bytes(const char *path, const char *name, unsigned char *buf, size_t len)
{
	Elf_Scn *scn = NULL;
	long got = -1;
	Elf *elf;
	int fd;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	while (elf && got < 0 && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *syms;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_DYNSYM || !shdr.sh_entsize)
			continue;
		syms = elf_getdata(scn, NULL);
		for (size_t i = 0; syms && i < shdr.sh_size / shdr.sh_entsize; i++) {
			GElf_Sym sym;
			GElf_Shdr dshdr;
			Elf_Scn *dscn;
			Elf_Data *data;
			const char *sname;
			size_t off, n;

			if (!gelf_getsym(syms, (int)i, &sym))
				break;
			sname = elf_strptr(elf, shdr.sh_link, sym.st_name);
			if (!sname || strcmp(sname, name) || sym.st_shndx == SHN_UNDEF)
				continue;
			dscn = elf_getscn(elf, sym.st_shndx);
			if (!dscn || !gelf_getshdr(dscn, &dshdr) || dshdr.sh_type == SHT_NOBITS)
				break;
			data = elf_getdata(dscn, NULL);
			off = sym.st_value - dshdr.sh_addr;
			if (!data || off >= data->d_size)
				break;
			n = data->d_size - off;
			n = n < len ? n : len;
			n = n < sym.st_size ? n : sym.st_size;
			memcpy(buf, (const char *)data->d_buf + off, n);
			got = (long)n;
			break;
		}
	}
	elf_end(elf);
	close(fd);
	return got;
}

static unsigned char py313_runtime[4096];

/* _PyRuntime's first bytes from the 3.13 whose headers made mt_py_header_offsets_313 */
static long read_py313_runtime(void)
{
	static const char *const files[] = { "lib/libpython3.13.so.1.0", "bin/python3.13" };
	char prefix[512], path[600];
	char *inc;

	snprintf(prefix, sizeof(prefix), "%s", MT_PY_HEADERS_313);
	inc = strstr(prefix, "/include/python3.13");
	if (!inc)
		return -1;
	*inc = '\0';
	for (size_t i = 0; i < UT_COUNT(files); i++) {
		long got;

		snprintf(path, sizeof(path), "%s/%s", prefix, files[i]);
		got = elf_symbol_bytes(path, "_PyRuntime", py313_runtime, sizeof(py313_runtime));
		if (got > 0)
			return got;
	}
	return -1;
}

TEST(debug_313_matches_headers)
{
	const struct mt_py_offsets *h;
	struct mt_py_offsets o;
	char why[256];
	long got;

	if (!mt_py_header_count_313) {
		skip("no CPython 3.13 headers at build time (pyenv install 3.13.0): 3.13 untested");
		return;
	}
	h = &mt_py_header_offsets_313[0];
	got = read_py313_runtime();
	REQUIRE(got > 0);
	REQUIRE(py_offsets_from_debug(py313_runtime, (size_t)got, &o, why, sizeof(why)) == 0);
	CHECK_STREQ(why, "");
	check_plausible(&o);
	/* not published; the BPF side finds the thread by native_thread_id instead */
	CHECK_EQ_U64(o.runtime_tss, MT_PY_NONE);
#define SAME(f) CHECK_EQ_U64(o.f, h->f)
	SAME(version);
	SAME(runtime_interp_head);
	SAME(interp_threads_head);
	SAME(ts_next);
	SAME(ts_native_thread_id);
	SAME(ts_cframe);
	SAME(cframe_current_frame);
	SAME(ts_current_frame);
	SAME(frame_previous);
	SAME(frame_code);
	SAME(frame_instr);
	SAME(frame_owner);
	SAME(owner_cstack);
	SAME(code_filename);
	SAME(code_qualname);
	SAME(code_firstlineno);
	SAME(code_linetable);
	SAME(code_adaptive);
	SAME(object_type);
	SAME(var_size);
	SAME(bytes_sval);
	SAME(unicode_length);
	SAME(unicode_state);
	SAME(unicode_kind_shift);
	SAME(unicode_compact_bit);
	SAME(unicode_ascii_bit);
	SAME(unicode_ascii_size);
	SAME(unicode_compact_size);
#undef SAME
}

/* a made-up 3.13.1 block with every offset 8 inside structures of 64 bytes */
static void fake_313(unsigned char *buf, size_t len, uint64_t version)
{
	/* each group's size field, in fields after the cookie (version is 0) */
	static const unsigned sizes[] = { 2, 5, 18, 27, 33, 43, 45, 49, 52, 55, 58, 60, 63, 66, 70 };
	uint64_t v;

	memset(buf, 0, len);
	memcpy(buf, "xdebugpy", 8);
	memcpy(buf + 8, &version, 8);
	for (size_t off = 24; off + 8 <= 8 + 72 * 8; off += 8) {
		v = 8;
		memcpy(buf + off, &v, 8);
	}
	for (size_t i = 0; i < UT_COUNT(sizes); i++) {
		v = 64;
		memcpy(buf + 8 + sizes[i] * 8, &v, 8);
	}
}

TEST(debug_fake_313)
{
	unsigned char buf[1024];
	struct mt_py_offsets o;
	char why[256];

	fake_313(buf, sizeof(buf), 0x030d01f0);
	REQUIRE(py_offsets_from_debug(buf, sizeof(buf), &o, why, sizeof(why)) == 0);
	CHECK_EQ_U64(o.version, 0x030d);
	CHECK_EQ_U64(o.frame_code, 8);
	CHECK_EQ_U64(o.code_adaptive, 8);
	CHECK_EQ_U64(o.unicode_compact_size, 8 + 16);
	CHECK_EQ_U64(o.ts_cframe, MT_PY_NONE);
}

TEST(debug_bad_cookie)
{
	unsigned char buf[1024];
	struct mt_py_offsets o;
	char why[256];

	fake_313(buf, sizeof(buf), 0x030d01f0);
	buf[0] = 'y';
	CHECK_EQ_INT(py_offsets_from_debug(buf, sizeof(buf), &o, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "cookie") != NULL);
}

TEST(debug_other_versions)
{
	unsigned char buf[1024];
	struct mt_py_offsets o;
	char why[256];

	fake_313(buf, sizeof(buf), 0x030e00f0);
	CHECK_EQ_INT(py_offsets_from_debug(buf, sizeof(buf), &o, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "3.14's debug offsets have another layout") != NULL);

	fake_313(buf, sizeof(buf), 0x030d00b2); /* 3.13.0b2 */
	CHECK_EQ_INT(py_offsets_from_debug(buf, sizeof(buf), &o, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "pre-release") != NULL);

	fake_313(buf, sizeof(buf), 0x030d00f0);
	CHECK_EQ_INT(py_offsets_from_debug(buf, 300, &o, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "too short") != NULL);
	CHECK_EQ_INT(py_offsets_from_debug(buf, 4, &o, why, sizeof(why)), -EINVAL);
}

/* a garbled value is refused here, not handed to the kernel */
TEST(debug_offset_outside_structure)
{
	unsigned char buf[1024];
	struct mt_py_offsets o;
	char why[256];
	uint64_t big = 64; /* == the frame's size */

	fake_313(buf, sizeof(buf), 0x030d00f0);
	memcpy(buf + 8 + 29 * 8, &big, 8); /* interpreter_frame.executable */
	CHECK_EQ_INT(py_offsets_from_debug(buf, sizeof(buf), &o, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "executable") != NULL);
}

/* ---- glibc's pthread_getspecific ---- */

static void *tss_thread(void *arg)
{
	int *err = arg;
	uint32_t off = 0;

	*err = py_glibc_tss_offset(&off);
	return (void *)(uintptr_t)off;
}

TEST(glibc_tss_offset)
{
	uint32_t a = 0, b = 0, c;
	pthread_key_t key;
	pthread_t t;
	void *ret;
	int err = -1;
	static const char mine = 0;

	REQUIRE(py_glibc_tss_offset(&a) == 0);
	REQUIRE(py_glibc_tss_offset(&b) == 0);
	CHECK_EQ_U64(a, b);
	CHECK(a > 0 && a < 4096);

	REQUIRE(pthread_create(&t, NULL, tss_thread, &err) == 0);
	REQUIRE(pthread_join(t, &ret) == 0);
	CHECK_EQ_INT(err, 0);
	c = (uint32_t)(uintptr_t)ret;
	CHECK_EQ_U64(c, a);

	/* the way the BPF side reads it: the thread pointer, the offset, the key */
	REQUIRE(pthread_key_create(&key, NULL) == 0);
	if (key < 32) {
		REQUIRE(pthread_setspecific(key, &mine) == 0);
		void *const *slot = (void *const *)((char *)pthread_self() + a + 16 * key + 8);
		CHECK(*slot == &mine);
		CHECK(pthread_getspecific(key) == &mine);
	}
	pthread_key_delete(key);
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(built_311),
		UT(built_312),
		UT(built_table_rows),
		UT(debug_313_matches_headers),
		UT(debug_fake_313),
		UT(debug_bad_cookie),
		UT(debug_other_versions),
		UT(debug_offset_outside_structure),
		UT(glibc_tss_offset),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
