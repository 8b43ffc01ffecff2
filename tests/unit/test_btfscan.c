// SPDX-License-Identifier: GPL-2.0
/*
 * The streaming BTF scanner (user/btfscan.c): its answers against libbpf's on the live kernel
 * BTF and on small hand-built BTF files, through every buffer size from the smallest up (so
 * that every string and type straddles a buffer boundary somewhere), and its errors on files it
 * cannot parse. libbpf is opened with dlopen (the unit tests link no library); without it the
 * hand-built cases still check their expected answers.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/btf.h>
#include <linux/btf.h>
#include "btfscan.h"
#include "unit.h"

static void skip(const char *why)
{
	fprintf(ut_out, "%s: SKIP %s: %s\n", ut_prog, ut_test_name, why);
	fflush(ut_out);
}

/* ---- libbpf, through dlopen ---- */

static struct {
	bool tried, ok;
	struct btf *(*load_vmlinux)(void);
	struct btf *(*btf_new)(const void *data, __u32 size);
	void (*btf_free)(struct btf *btf);
	__s32 (*find_by_name_kind)(const struct btf *btf, const char *name, __u32 kind);
	const struct btf_type *(*type_by_id)(const struct btf *btf, __u32 id);
	int (*resolve_type)(const struct btf *btf, __u32 id);
} lib;

static bool libbpf_open(void)
{
	void *h;

	if (lib.tried)
		return lib.ok;
	lib.tried = true;
	h = dlopen("libbpf.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return false;
	lib.load_vmlinux = (struct btf * (*)(void)) dlsym(h, "btf__load_vmlinux_btf");
	lib.btf_new = (struct btf * (*)(const void *, __u32)) dlsym(h, "btf__new");
	lib.btf_free = (void (*)(struct btf *))dlsym(h, "btf__free");
	lib.find_by_name_kind = (__s32(*)(const struct btf *, const char *, __u32))dlsym(
		h, "btf__find_by_name_kind");
	lib.type_by_id = (const struct btf_type *(*)(const struct btf *, __u32))dlsym(
		h, "btf__type_by_id");
	lib.resolve_type = (int (*)(const struct btf *, __u32))dlsym(h, "btf__resolve_type");
	lib.ok = lib.load_vmlinux && lib.btf_new && lib.btf_free && lib.find_by_name_kind &&
		 lib.type_by_id && lib.resolve_type;
	return lib.ok;
}

/* user/tracer.c's questions, asked of libbpf */
static void libbpf_answer(const struct btf *btf, const char *name, int *type_id, int *nargs)
{
	char typedef_name[128];
	const struct btf_type *t;
	int id;

	snprintf(typedef_name, sizeof(typedef_name), "btf_trace_%s", name);
	id = lib.find_by_name_kind(btf, typedef_name, BTF_KIND_TYPEDEF);
	*type_id = id > 0 ? id : 0;
	*nargs = -1;
	if (id <= 0)
		return;
	t = lib.type_by_id(btf, (__u32)lib.resolve_type(btf, (__u32)id));
	if (!t || !btf_is_ptr(t))
		return;
	t = lib.type_by_id(btf, t->type);
	if (!t || !btf_is_func_proto(t))
		return;
	*nargs = btf_vlen(t) - 1;
}

/* ---- hand-built BTF ---- */

struct blob {
	uint32_t types[8192];
	size_t words;
	uint32_t at[2048]; /* [id]: where its struct btf_type starts in types[] */
	uint32_t nr_types;
	char strs[8192];
	size_t strs_len;
};

static void blob_init(struct blob *b)
{
	memset(b, 0, sizeof(*b));
	b->strs_len = 1; /* "" at offset 0 */
}

static uint32_t str(struct blob *b, const char *s)
{
	uint32_t off = (uint32_t)b->strs_len;

	memcpy(b->strs + b->strs_len, s, strlen(s) + 1);
	b->strs_len += strlen(s) + 1;
	return off;
}

static void word(struct blob *b, uint32_t w)
{
	b->types[b->words++] = w;
}

/* a struct btf_type; what follows it (word()) is up to the caller */
static uint32_t type_at(struct blob *b, uint32_t name_off, unsigned int kind, unsigned int vlen,
			uint32_t size_or_type)
{
	b->at[b->nr_types + 1] = (uint32_t)b->words;
	word(b, name_off);
	word(b, (kind << 24) | vlen);
	word(b, size_or_type);
	return ++b->nr_types;
}

static uint32_t type(struct blob *b, const char *name, unsigned int kind, unsigned int vlen,
		     uint32_t size_or_type)
{
	return type_at(b, name ? str(b, name) : 0, kind, vlen, size_or_type);
}

static uint32_t add_int(struct blob *b)
{
	uint32_t id = type(b, "int", BTF_KIND_INT, 0, 4);

	word(b, BTF_INT_SIGNED << 24 | 32); /* encoding, offset 0, 32 bits */
	return id;
}

/* int (*)(int, ..., int): params parameters of type param */
static uint32_t add_proto(struct blob *b, unsigned int params, uint32_t param)
{
	uint32_t id = type(b, NULL, BTF_KIND_FUNC_PROTO, params, param);

	for (unsigned int i = 0; i < params; i++) {
		word(b, 0);
		word(b, param);
	}
	return id;
}

/* points type id at another */
static void retarget(struct blob *b, uint32_t id, uint32_t target)
{
	b->types[b->at[id] + 2] = target;
}

/* the file: header, types, strings */
static size_t blob_bytes(const struct blob *b, unsigned char *out, size_t cap)
{
	struct btf_header h = {
		.magic = BTF_MAGIC,
		.version = BTF_VERSION,
		.hdr_len = sizeof(h),
		.type_off = 0,
		.type_len = (uint32_t)(b->words * 4),
		.str_off = (uint32_t)(b->words * 4),
		.str_len = (uint32_t)b->strs_len,
	};
	size_t len = sizeof(h) + h.type_len + h.str_len;

	if (len > cap)
		return 0;
	memcpy(out, &h, sizeof(h));
	memcpy(out + sizeof(h), b->types, h.type_len);
	memcpy(out + sizeof(h) + h.type_len, b->strs, h.str_len);
	return len;
}

static char tmp_path[64];

/* a temporary file holding data, open for reading (-1 if it cannot be made) */
static int temp_file(const void *data, size_t len)
{
	int fd;

	snprintf(tmp_path, sizeof(tmp_path), "/tmp/mt-test-btfscan-XXXXXX");
	fd = mkstemp(tmp_path);
	if (fd < 0)
		return -1;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		unlink(tmp_path);
		return -1;
	}
	return fd;
}

static void temp_close(int fd)
{
	close(fd);
	unlink(tmp_path);
}

struct want {
	const char *name;
	int type_id;
	int nargs;
};

#define MAX_NAMES 32
#define MAX_BUF 300 /* buffer sizes 1 (raised to the minimum) .. MAX_BUF, then 64 KiB and mapped */

/*
 * The blob scanned through every buffer size and mapped: every answer must be the expected one
 * and libbpf's (when libbpf takes the blob).
 */
static void check_blob(const struct blob *b, const struct want *w, size_t n)
{
	static unsigned char data[65536];
	struct mt_btf_tp tps[MAX_NAMES];
	size_t len = blob_bytes(b, data, sizeof(data));
	int fd, err;

	REQUIRE(len > 0 && n <= MAX_NAMES);
	if (libbpf_open()) {
		struct btf *btf = lib.btf_new(data, (__u32)len);

		CHECK(btf != NULL);
		for (size_t i = 0; btf && i < n; i++) {
			int id, nargs;

			libbpf_answer(btf, w[i].name, &id, &nargs);
			if (id != w[i].type_id || nargs != w[i].nargs)
				ut_fail(__FILE__, __LINE__,
					"libbpf says %s: type_id %d nargs %d, the test expects %d %d",
					w[i].name, id, nargs, w[i].type_id, w[i].nargs);
		}
		if (btf)
			lib.btf_free(btf);
	}
	fd = temp_file(data, len);
	REQUIRE(fd >= 0);
	for (size_t buf = 1; buf <= MAX_BUF + 2; buf++) {
		/* then the default buffer, then 0: mapped */
		size_t size = buf <= MAX_BUF ? buf : buf == MAX_BUF + 1 ? 65536 : 0;

		for (size_t i = 0; i < n; i++)
			tps[i] = (struct mt_btf_tp){ .name = w[i].name, .type_id = 77, .nargs = 77 };
		err = mt_btf_scan_fd(fd, tps, n, size);
		if (err) {
			ut_fail(__FILE__, __LINE__, "buffer %zu: error %d", size, err);
			break;
		}
		for (size_t i = 0; i < n; i++) {
			if (tps[i].type_id != w[i].type_id || tps[i].nargs != w[i].nargs) {
				ut_fail(__FILE__, __LINE__,
					"buffer %zu: %s: type_id %d nargs %d, expected %d %d", size,
					w[i].name, tps[i].type_id, tps[i].nargs, w[i].type_id,
					w[i].nargs);
				buf = MAX_BUF + 3; /* one size's failures are enough */
			}
		}
	}
	temp_close(fd);
}

/* the error for these bytes, through a small buffer, the default one and a mapping */
static void check_error(const unsigned char *data, size_t len, int expected)
{
	static const size_t sizes[] = { 16, 65536, 0 };
	struct mt_btf_tp tp = { .name = "foo" };
	int fd = temp_file(data, len);

	REQUIRE(fd >= 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int err = mt_btf_scan_fd(fd, &tp, 1, sizes[i]);

		if (err != expected)
			ut_fail(__FILE__, __LINE__, "%zu bytes, buffer %zu: error %d, expected %d",
				len, sizes[i], err, expected);
		CHECK_EQ_INT(tp.type_id, 0);
		CHECK_EQ_INT(tp.nargs, -1);
	}
	temp_close(fd);
}

/* btf_trace_<name> -> PTR -> FUNC_PROTO with nargs + 1 parameters, in that order */
static uint32_t add_tracepoint(struct blob *b, const char *name, uint32_t param,
			       unsigned int nargs)
{
	char full[128];
	uint32_t id;

	snprintf(full, sizeof(full), "btf_trace_%s", name);
	id = type(b, full, BTF_KIND_TYPEDEF, 0, b->nr_types + 2);
	type(b, NULL, BTF_KIND_PTR, 0, b->nr_types + 2);
	add_proto(b, nargs + 1, param);
	return id;
}

/* ---- found, absent ---- */

TEST(typedef_found_forward)
{
	struct blob b;
	uint32_t i, id;

	blob_init(&b);
	i = add_int(&b);
	id = add_tracepoint(&b, "foo", i, 3);
	check_blob(&b, (struct want[]){ { "foo", (int)id, 3 } }, 1);
}

/* the pointer and prototype before the typedef: read again from a checkpoint */
TEST(typedef_found_backward)
{
	struct blob b;
	uint32_t i, proto, ptr, id;

	blob_init(&b);
	i = add_int(&b);
	proto = add_proto(&b, 2, i);
	ptr = type(&b, NULL, BTF_KIND_PTR, 0, proto);
	for (int k = 0; k < 600; k++) /* past two checkpoints */
		type(&b, NULL, BTF_KIND_CONST, 0, i);
	id = type(&b, "btf_trace_back", BTF_KIND_TYPEDEF, 0, ptr);
	check_blob(&b, (struct want[]){ { "back", (int)id, 1 } }, 1);
}

TEST(typedef_absent)
{
	struct blob b;
	uint32_t i;

	blob_init(&b);
	i = add_int(&b);
	type(&b, "btf_trace_foo", BTF_KIND_STRUCT, 0, 0); /* the name, not a typedef */
	add_tracepoint(&b, "fooo", i, 1);
	check_blob(&b,
		   (struct want[]){ { "foo", 0, -1 },
				    { "fo", 0, -1 }, /* prefix of a typedef's name */
				    { "oo", 0, -1 }, /* its suffix */
				    { "nothere", 0, -1 },
				    { "", 0, -1 } },
		   5);
}

TEST(many_names_some_absent)
{
	struct blob b;
	uint32_t i, a, c, d;

	blob_init(&b);
	i = add_int(&b);
	a = add_tracepoint(&b, "sched_process_fork", i, 2);
	for (int k = 0; k < 300; k++)
		type(&b, NULL, BTF_KIND_PTR, 0, i);
	c = add_tracepoint(&b, "cgroup_attach_task", i, 4);
	d = add_tracepoint(&b, "mark_victim", i, 1);
	check_blob(&b,
		   (struct want[]){ { "mark_victim", (int)d, 1 },
				    { "page_fault_user", 0, -1 },
				    { "sched_process_fork", (int)a, 2 },
				    { "cgroup_attach_task", (int)c, 4 },
				    { "sched_process_fork", (int)a, 2 } }, /* asked twice */
		   5);
}

/* ---- what libbpf's resolution does ---- */

TEST(not_a_function_pointer)
{
	struct blob b;
	uint32_t i, s, p, a, bb, c, d, e, f, g;

	blob_init(&b);
	i = add_int(&b);
	s = type(&b, "task", BTF_KIND_STRUCT, 0, 8);
	p = add_proto(&b, 0, i); /* no parameter: btf_vlen - 1 = -1 */
	a = type(&b, "btf_trace_a", BTF_KIND_TYPEDEF, 0, i);	     /* to an int */
	bb = type(&b, "btf_trace_b", BTF_KIND_TYPEDEF, 0, b.nr_types + 2);
	type(&b, NULL, BTF_KIND_PTR, 0, s);			     /* to a struct pointer */
	c = type(&b, "btf_trace_c", BTF_KIND_TYPEDEF, 0, b.nr_types + 2);
	type(&b, NULL, BTF_KIND_PTR, 0, 0);			     /* to void * */
	d = type(&b, "btf_trace_d", BTF_KIND_TYPEDEF, 0, 0);	     /* to void */
	e = type(&b, "btf_trace_e", BTF_KIND_TYPEDEF, 0, b.nr_types + 2);
	type(&b, NULL, BTF_KIND_PTR, 0, p);			     /* to (void) */
	f = type(&b, "btf_trace_f", BTF_KIND_TYPEDEF, 0, b.nr_types + 2);
	type(&b, NULL, BTF_KIND_PTR, 0, b.nr_types + 2);	     /* to a pointer */
	type(&b, NULL, BTF_KIND_PTR, 0, p);
	g = type(&b, "btf_trace_g", BTF_KIND_TYPEDEF, 0, b.nr_types + 1); /* to itself */
	check_blob(&b,
		   (struct want[]){ { "a", (int)a, -1 },
				    { "b", (int)bb, -1 },
				    { "c", (int)c, -1 },
				    { "d", (int)d, -1 },
				    { "e", (int)e, -1 },
				    { "f", (int)f, -1 },
				    { "g", (int)g, -1 } },
		   7);
}

/* a target past the last type: none (libbpf's btf__type_by_id gives NULL) */
TEST(target_past_the_last_type)
{
	static unsigned char data[4096];
	struct blob b;
	struct mt_btf_tp tps[2] = { { .name = "past" }, { .name = "ptrpast" } };
	uint32_t past, ptrpast;
	size_t len;
	int fd;

	blob_init(&b);
	past = type(&b, "btf_trace_past", BTF_KIND_TYPEDEF, 0, 99);
	ptrpast = type(&b, "btf_trace_ptrpast", BTF_KIND_TYPEDEF, 0, 3);
	type(&b, NULL, BTF_KIND_PTR, 0, 98);
	len = blob_bytes(&b, data, sizeof(data));
	fd = temp_file(data, len);
	REQUIRE(fd >= 0);
	for (size_t size = 1; size < 100; size++) {
		CHECK_EQ_INT(mt_btf_scan_fd(fd, tps, 2, size), 0);
		CHECK_EQ_INT(tps[0].type_id, past);
		CHECK_EQ_INT(tps[0].nargs, -1);
		CHECK_EQ_INT(tps[1].type_id, ptrpast);
		CHECK_EQ_INT(tps[1].nargs, -1);
	}
	temp_close(fd);
}

/* btf__resolve_type: through modifiers, typedefs and vars, 31 steps at most */
TEST(resolves_through_modifiers)
{
	static const unsigned int mods[] = { BTF_KIND_CONST, BTF_KIND_VOLATILE,
					     BTF_KIND_TYPEDEF, BTF_KIND_TYPE_TAG,
					     BTF_KIND_RESTRICT, BTF_KIND_VAR };
	struct blob b;
	uint32_t i, proto, ptr, mixed, deep30, deep31, behind, filler;

	blob_init(&b);
	i = add_int(&b);
	proto = add_proto(&b, 3, i);
	ptr = type(&b, NULL, BTF_KIND_PTR, 0, proto);
	/* typedef -> const -> volatile -> typedef -> type tag -> restrict -> var -> ptr */
	mixed = type(&b, "btf_trace_mixed", BTF_KIND_TYPEDEF, 0, b.nr_types + 2);
	for (size_t k = 0; k < sizeof(mods) / sizeof(mods[0]); k++) {
		type(&b, mods[k] == BTF_KIND_TYPE_TAG ? "tag" : "m", mods[k], 0,
		     k + 1 < sizeof(mods) / sizeof(mods[0]) ? b.nr_types + 2 : ptr);
		if (mods[k] == BTF_KIND_VAR)
			word(&b, 0); /* linkage */
	}
	/* a typedef and 30 consts: 31 steps to the pointer; one more is one too many */
	deep30 = type(&b, "btf_trace_deep30", BTF_KIND_TYPEDEF, 0, b.nr_types + 2);
	for (int k = 0; k < 30; k++)
		type(&b, NULL, BTF_KIND_CONST, 0, k < 29 ? b.nr_types + 2 : ptr);
	deep31 = type(&b, "btf_trace_deep31", BTF_KIND_TYPEDEF, 0, b.nr_types + 2);
	for (int k = 0; k < 31; k++)
		type(&b, NULL, BTF_KIND_CONST, 0, k < 30 ? b.nr_types + 2 : ptr);
	/*
	 * A chain back and forth across checkpoints (one every 256 ids): typedef -> filler 500
	 * -> filler 100 -> filler 400 -> filler 10 -> ptr
	 */
	filler = b.nr_types + 1;

	for (int k = 0; k < 520; k++)
		type(&b, NULL, BTF_KIND_CONST, 0, i);
	behind = type(&b, "btf_trace_behind", BTF_KIND_TYPEDEF, 0, filler + 500);
	retarget(&b, filler + 500, filler + 100);
	retarget(&b, filler + 100, filler + 400);
	retarget(&b, filler + 400, filler + 10);
	retarget(&b, filler + 10, ptr);
	check_blob(&b,
		   (struct want[]){ { "mixed", (int)mixed, 2 },
				    { "deep30", (int)deep30, 2 },
				    { "deep31", (int)deep31, -1 },
				    { "behind", (int)behind, 2 } },
		   4);
}

/* ---- strings ---- */

/* libbpf compares the string at name_off: a second copy, or the tail of a longer string */
TEST(duplicate_and_suffix_strings)
{
	struct blob b;
	uint32_t i, first, second, tail, ptr;

	blob_init(&b);
	i = add_int(&b);
	str(&b, "btf_trace_dup");
	second = str(&b, "btf_trace_dup");
	tail = str(&b, "xbtf_trace_tail") + 1;
	ptr = type(&b, NULL, BTF_KIND_PTR, 0, b.nr_types + 2);
	add_proto(&b, 2, i);
	first = type_at(&b, second, BTF_KIND_TYPEDEF, 0, ptr);
	type_at(&b, tail, BTF_KIND_TYPEDEF, 0, ptr);
	check_blob(&b, (struct want[]){ { "dup", (int)first, 1 }, { "tail", (int)first + 1, 1 } },
		   2);
}

/* btf__find_by_name_kind: the first typedef of the name */
TEST(first_typedef_wins)
{
	struct blob b;
	uint32_t i, name, first, ptr, later;

	blob_init(&b);
	i = add_int(&b);
	name = str(&b, "btf_trace_two");
	first = type_at(&b, name, BTF_KIND_TYPEDEF, 0, 0);
	type_at(&b, name, BTF_KIND_TYPEDEF, 0, b.nr_types + 2); /* the second: 4 arguments */
	type(&b, NULL, BTF_KIND_PTR, 0, b.nr_types + 2);
	add_proto(&b, 5, i);
	ptr = type(&b, NULL, BTF_KIND_PTR, 0, b.nr_types + 2); /* the first's, after the second */
	add_proto(&b, 2, i);
	retarget(&b, first, ptr);
	later = add_tracepoint(&b, "later", i, 3); /* still sought at the second "two" */
	check_blob(&b, (struct want[]){ { "two", (int)first, 1 }, { "later", (int)later, 3 } }, 2);
}

/*
 * Straddling: check_blob already moves every buffer boundary across every string and type;
 * here the strings are long and many, the types of every size, so that some straddle with
 * every buffer size.
 */
TEST(straddles_every_boundary)
{
	static const char *const names[] = { "a", "bb", "a_rather_long_tracepoint_name",
					      "ccc", "sched_process_exec" };
	struct want w[5];
	struct blob b;
	uint32_t i;

	blob_init(&b);
	i = add_int(&b);
	for (int k = 0; k < 40; k++) {
		char junk[64];

		snprintf(junk, sizeof(junk), "some_string_%d_btf_trace_", k); /* false starts */
		str(&b, junk);
		type(&b, "s", BTF_KIND_STRUCT, (unsigned int)k % 3, 4);
		for (int m = 0; m < k % 3; m++) {
			word(&b, 0);
			word(&b, i);
			word(&b, 0);
		}
		type(&b, NULL, BTF_KIND_ARRAY, 0, 0);
		word(&b, i);
		word(&b, i);
		word(&b, 4);
		type(&b, "e", BTF_KIND_ENUM64, 1, 8);
		word(&b, 0);
		word(&b, 1);
		word(&b, 0);
		type(&b, "d", BTF_KIND_DECL_TAG, 0, i);
		word(&b, (uint32_t)-1);
		if (k % 8 == 3) {
			size_t t = (size_t)k / 8;

			w[t].name = names[t];
			w[t].type_id = (int)add_tracepoint(&b, names[t], i, (unsigned int)t);
			w[t].nargs = (int)t;
		}
	}
	check_blob(&b, w, 5);
}

/* ---- errors ---- */

static size_t small_blob(unsigned char *data, size_t cap)
{
	struct blob b;

	blob_init(&b);
	add_tracepoint(&b, "foo", add_int(&b), 1);
	return blob_bytes(&b, data, cap);
}

TEST(truncated_file)
{
	unsigned char data[1024];
	size_t len = small_blob(data, sizeof(data));

	REQUIRE(len > 0);
	for (size_t cut = 0; cut < len; cut++)
		check_error(data, cut, -EINVAL);
}

TEST(bad_header)
{
	unsigned char data[1024];
	struct btf_header *h = (struct btf_header *)data;
	size_t len = small_blob(data, sizeof(data));

	REQUIRE(len > 0);
	h->magic = 0x1234;
	check_error(data, len, -EINVAL);
	h->magic = __builtin_bswap16(BTF_MAGIC); /* the other byte order */
	check_error(data, len, -ENOTSUP);
	h->magic = BTF_MAGIC;
	h->version = 2;
	check_error(data, len, -EINVAL);
	h->version = BTF_VERSION;
	h->hdr_len = 16;
	check_error(data, len, -EINVAL);
	h->hdr_len = sizeof(*h);
	h->str_off -= 4; /* the type section runs into the strings */
	check_error(data, len, -EINVAL);
	h->str_off += 4;
	h->type_len -= 4; /* the last type runs past its section */
	check_error(data, len, -EINVAL);
	h->type_len += 4;
	h->str_len += 1; /* the strings run past the file */
	check_error(data, len, -EINVAL);
}

/* a longer header (its tail zero) moves both sections */
TEST(longer_header)
{
	unsigned char data[1024], longer[1024];
	struct btf_header *h = (struct btf_header *)longer;
	size_t len = small_blob(data, sizeof(data));
	struct mt_btf_tp tp = { .name = "foo" };
	int fd;

	REQUIRE(len > 0);
	memcpy(longer, data, sizeof(*h));
	memset(longer + sizeof(*h), 0, 8);
	memcpy(longer + sizeof(*h) + 8, data + sizeof(*h), len - sizeof(*h));
	h->hdr_len += 8;
	fd = temp_file(longer, len + 8);
	REQUIRE(fd >= 0);
	CHECK_EQ_INT(mt_btf_scan_fd(fd, &tp, 1, 16), 0);
	CHECK_EQ_INT(tp.type_id, 2);
	CHECK_EQ_INT(tp.nargs, 1);
	temp_close(fd);
}

TEST(unknown_kind)
{
	static const unsigned int kinds[] = { 0, 20, 31 };
	unsigned char data[1024];

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		struct blob b;

		blob_init(&b);
		type(&b, "x", kinds[k], 0, 0); /* before what is asked for */
		add_tracepoint(&b, "foo", 1, 1);
		check_error(data, blob_bytes(&b, data, sizeof(data)), -EINVAL);
	}
}

TEST(not_btf_at_all)
{
	static const char text[] = "this is not BTF, only some text long enough for a header\n";

	check_error((const unsigned char *)text, sizeof(text) - 1, -EINVAL);
}

TEST(arguments_and_paths)
{
	unsigned char data[1024];
	size_t len = small_blob(data, sizeof(data));
	struct mt_btf_tp tps[2] = { { .name = "foo" }, { .name = NULL } };
	int fd;

	REQUIRE(len > 0);
	fd = temp_file(data, len);
	REQUIRE(fd >= 0);
	CHECK_EQ_INT(mt_btf_scan_fd(fd, tps, 0, 0), 0); /* nothing asked */
	CHECK_EQ_INT(mt_btf_scan_fd(fd, tps, 2, 0), -EINVAL);
	CHECK_EQ_INT(tps[0].type_id, 0);
	CHECK_EQ_INT(mt_btf_scan_tracepoints(tmp_path, tps, 1), 0);
	CHECK_EQ_INT(tps[0].type_id, 2);
	CHECK_EQ_INT(tps[0].nargs, 1);
	temp_close(fd);
	CHECK_EQ_INT(mt_btf_scan_tracepoints(tmp_path, tps, 1), -ENOENT);
	CHECK_EQ_INT(tps[0].type_id, 0);
	CHECK_EQ_INT(tps[0].nargs, -1);
	CHECK_EQ_INT(mt_btf_scan_fd(-1, tps, 1, 0), -EBADF);
}

/* ---- the running kernel's BTF ---- */

/* every tracepoint memtrace-bpf asks about (user/tracer.c), and one no kernel has */
static const char *const live_names[] = {
	"rss_stat",	      "page_fault_user",    "mm_page_alloc", "sched_process_fork",
	"sched_process_exec", "sched_process_exit", "task_rename",   "mark_victim",
	"cgroup_attach_task", "no_such_tracepoint_here",
};
#define NR_LIVE (sizeof(live_names) / sizeof(live_names[0]))

TEST(live_vmlinux_matches_libbpf)
{
	/* mapped (Linux 6.16+) or read, the default buffer, odd small ones (slower: many reads) */
	static const size_t sizes[] = { 0, 65536, 4093, 333 };
	struct mt_btf_tp tps[NR_LIVE];
	int want_id[NR_LIVE], want_nargs[NR_LIVE];
	struct btf *btf;
	int fd;

	if (access(MT_BTF_VMLINUX, R_OK)) {
		skip(MT_BTF_VMLINUX " is absent (no CONFIG_DEBUG_INFO_BTF)");
		return;
	}
	if (!libbpf_open()) {
		skip("libbpf.so.1 cannot be opened: nothing to compare with");
		return;
	}
	btf = lib.load_vmlinux();
	REQUIRE(btf != NULL);
	for (size_t i = 0; i < NR_LIVE; i++)
		libbpf_answer(btf, live_names[i], &want_id[i], &want_nargs[i]);
	lib.btf_free(btf);
	CHECK(want_id[0] > 0); /* rss_stat is there on every kernel memtrace-bpf runs on */
	CHECK_EQ_INT(want_id[NR_LIVE - 1], 0);

	fd = open(MT_BTF_VMLINUX, O_RDONLY);
	REQUIRE(fd >= 0);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (size_t i = 0; i < NR_LIVE; i++)
			tps[i] = (struct mt_btf_tp){ .name = live_names[i] };
		CHECK_EQ_INT(mt_btf_scan_fd(fd, tps, NR_LIVE, sizes[s]), 0);
		for (size_t i = 0; i < NR_LIVE; i++)
			if (tps[i].type_id != want_id[i] || tps[i].nargs != want_nargs[i])
				ut_fail(__FILE__, __LINE__,
					"buffer %zu: %s: type_id %d nargs %d, libbpf %d %d",
					sizes[s], live_names[i], tps[i].type_id, tps[i].nargs,
					want_id[i], want_nargs[i]);
	}
	close(fd);
	for (size_t i = 0; i < NR_LIVE; i++)
		tps[i] = (struct mt_btf_tp){ .name = live_names[i] };
	CHECK_EQ_INT(mt_btf_scan_tracepoints(MT_BTF_VMLINUX, tps, NR_LIVE), 0);
	for (size_t i = 0; i < NR_LIVE; i++) {
		CHECK_EQ_INT(tps[i].type_id, want_id[i]);
		CHECK_EQ_INT(tps[i].nargs, want_nargs[i]);
	}
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(typedef_found_forward),
		UT(typedef_found_backward),
		UT(typedef_absent),
		UT(many_names_some_absent),
		UT(not_a_function_pointer),
		UT(target_past_the_last_type),
		UT(resolves_through_modifiers),
		UT(duplicate_and_suffix_strings),
		UT(first_typedef_wins),
		UT(straddles_every_boundary),
		UT(truncated_file),
		UT(bad_header),
		UT(longer_header),
		UT(unknown_kind),
		UT(not_btf_at_all),
		UT(arguments_and_paths),
		UT(live_vmlinux_matches_libbpf),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
