// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel BTF tracepoint questions answered by streaming the raw file (user/btfscan.h).
 *
 * The raw format: struct btf_header, then (at offsets relative to its end) the type section,
 * a sequence of struct btf_type each followed by kind-dependent data, type ids counting from 1
 * in order; and the string section, NUL-terminated strings that types name by byte offset.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/btf.h>
#include "btfscan.h"

#define PREFIX "btf_trace_"
#define PREFIX_LEN (sizeof(PREFIX) - 1)
#define DEFAULT_BUF (64 * 1024)
#define MIN_BUF 16
#define CHECKPOINT_EVERY 256 /* type ids between two remembered type offsets */
#define MAX_RESOLVE_DEPTH 32 /* libbpf's limit in btf__resolve_type */

/* bytes [start, start + len) of the file at win: a window of the buffer, or the whole mapping */
struct reader {
	int fd;
	const unsigned char *win;
	uint64_t start;
	size_t len;
	unsigned char *buf;
	size_t cap;
	size_t ahead; /* when reading: read on until this many bytes are in the buffer */
	bool mapped;
};

enum tp_state {
	TP_DONE,
	TP_SEEK,    /* looking for the first typedef named btf_trace_<name> */
	TP_RESOLVE, /* following modifiers, typedefs, vars from it: want is the next one */
	TP_PROTO,   /* resolved to a pointer: want is its target */
};

struct tp {
	const char *name;
	size_t len;
	enum tp_state state;
	uint32_t want;
	int depth;
};

/* an offset in the string section where "btf_trace_<tps[tp].name>\0" starts */
struct cand {
	uint32_t off;
	uint32_t tp;
};

struct scan {
	struct reader rd;
	struct mt_btf_tp *out;
	struct tp *tps;
	size_t n;
	struct cand *cands;
	size_t ncands, cands_cap;
	size_t seeking; /* tps in TP_SEEK */
	bool dirty;	/* a want changed since the walk last looked */
	uint64_t type_base, str_base;
	uint32_t type_len, str_len;
	uint32_t *checkpoints; /* [i]: section offset of type id i * CHECKPOINT_EVERY + 1 */
	size_t ncheckpoints, checkpoints_cap;
	uint32_t nr_types; /* once end_known */
	bool end_known;
};

/*
 * Points *p at file offset off with at least n bytes there (*avail: how many, up to the end of
 * the window), reading them in if need be. -EINVAL if the file ends first.
 */
static int rd_get(struct reader *r, uint64_t off, size_t n, const unsigned char **p,
		  size_t *avail)
{
	size_t keep = 0, want;

	if (off >= r->start && off - r->start <= r->len && r->len - (off - r->start) >= n)
		goto out;
	if (r->mapped || n > r->cap)
		return -EINVAL;
	if (off >= r->start && off - r->start < r->len) { /* keep what is already there */
		keep = r->len - (size_t)(off - r->start);
		memmove(r->buf, r->buf + (off - r->start), keep);
	}
	r->start = off;
	r->len = keep;
	want = r->ahead > n ? r->ahead : n;
	while (r->len < want) {
		/* sysfs gives at most a page a call, a regular file all there is */
		ssize_t got = pread(r->fd, r->buf + r->len, r->cap - r->len, (off_t)(off + r->len));

		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (got == 0)
			break;
		r->len += (size_t)got;
	}
	if (r->len < n)
		return -EINVAL;
out:
	*p = r->win + (off - r->start);
	*avail = r->len - (size_t)(off - r->start);
	return 0;
}

static void finish(struct scan *s, size_t i, int nargs)
{
	s->tps[i].state = TP_DONE;
	s->tps[i].want = 0;
	s->out[i].nargs = nargs;
	s->dirty = true;
}

/* tps[i] needs type id next: 0 is void, an id past the last type is none (libbpf: NULL) */
static void set_want(struct scan *s, size_t i, uint32_t next)
{
	if (!next || (s->end_known && next > s->nr_types)) {
		finish(s, i, -1);
		return;
	}
	s->tps[i].want = next;
	s->dirty = true;
}

/* tps[i] at the type it wanted: one step of btf__resolve_type, or the pointer's target */
static void step(struct scan *s, size_t i, const struct btf_type *t)
{
	struct tp *tp = &s->tps[i];
	unsigned int kind = BTF_INFO_KIND(t->info);

	if (tp->state == TP_PROTO) {
		finish(s, i, kind == BTF_KIND_FUNC_PROTO ? (int)BTF_INFO_VLEN(t->info) - 1 : -1);
		return;
	}
	switch (kind) {
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_TYPE_TAG:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VAR:
		if (++tp->depth >= MAX_RESOLVE_DEPTH)
			finish(s, i, -1);
		else
			set_want(s, i, t->type);
		return;
	case BTF_KIND_PTR:
		tp->state = TP_PROTO;
		set_want(s, i, t->type);
		return;
	default:
		finish(s, i, -1);
	}
}

/* a typedef: the first one with a name asked for is the answer, resolved from there */
static void typedef_seen(struct scan *s, uint32_t id, const struct btf_type *t)
{
	for (size_t c = 0; c < s->ncands; c++) {
		size_t i = s->cands[c].tp;

		if (s->cands[c].off != t->name_off || s->tps[i].state != TP_SEEK)
			continue;
		s->out[i].type_id = (int)id;
		s->tps[i].state = TP_RESOLVE;
		s->tps[i].depth = 1;
		s->seeking--;
		set_want(s, i, t->type);
	}
}

/* every tp waiting for type id (a step may want the same id again) */
static void visit(struct scan *s, uint32_t id, const struct btf_type *t)
{
	for (size_t i = 0; i < s->n; i++)
		while (s->tps[i].state != TP_DONE && s->tps[i].state != TP_SEEK &&
		       s->tps[i].want == id)
			step(s, i, t);
}

/* the smallest type id at least from that some tp waits for, 0 if none */
static uint32_t next_want(const struct scan *s, uint32_t from)
{
	uint32_t best = 0;

	for (size_t i = 0; i < s->n; i++) {
		uint32_t w = s->tps[i].want;

		if (s->tps[i].state != TP_DONE && s->tps[i].state != TP_SEEK && w >= from &&
		    (!best || w < best))
			best = w;
	}
	return best;
}

/*
 * What follows a struct btf_type of each kind: fixed bytes + vlen * per_vlen bytes. A table, not
 * a switch: kinds come in no order, and a mispredicted branch per type is most of the walk.
 * BAD_KIND: a kind this does not know (0 is not one: libbpf rejects it too).
 */
#define BAD_KIND 0xff
static const unsigned char kind_fixed[32] = {
	[0] = BAD_KIND,
	[BTF_KIND_INT] = sizeof(__u32),
	[BTF_KIND_ARRAY] = sizeof(struct btf_array),
	[BTF_KIND_VAR] = sizeof(struct btf_var),
	[BTF_KIND_DECL_TAG] = sizeof(struct btf_decl_tag),
	[BTF_KIND_ENUM64 + 1 ... 31] = BAD_KIND,
};
static const unsigned char kind_per_vlen[32] = {
	[BTF_KIND_STRUCT] = sizeof(struct btf_member),
	[BTF_KIND_UNION] = sizeof(struct btf_member),
	[BTF_KIND_ENUM] = sizeof(struct btf_enum),
	[BTF_KIND_FUNC_PROTO] = sizeof(struct btf_param),
	[BTF_KIND_DATASEC] = sizeof(struct btf_var_secinfo),
	[BTF_KIND_ENUM64] = sizeof(struct btf_enum64),
};

/* the end of the type section after type id last: nothing more is coming */
static void types_end(struct scan *s, uint32_t last)
{
	s->end_known = true;
	s->nr_types = last;
	for (size_t i = 0; i < s->n; i++) {
		if (s->tps[i].state == TP_SEEK) {
			s->tps[i].state = TP_DONE;
			s->seeking--;
		} else if (s->tps[i].state != TP_DONE && s->tps[i].want > last) {
			finish(s, i, -1);
		}
	}
}

/*
 * Walks the type section from type id at section offset off for as long as a tp seeks its
 * typedef or waits for a type at or after the current one; wants left behind are for later.
 */
static int walk(struct scan *s, uint32_t id, uint32_t off)
{
	struct reader *r = &s->rd;
	const unsigned char *p = NULL;
	size_t avail = 0; /* bytes at p */
	uint32_t next = next_want(s, id);

	s->dirty = false;
	while (s->seeking || next) {
		struct btf_type t;
		uint32_t kind, extra;

		if (off == s->type_len) {
			types_end(s, id - 1);
			return 0;
		}
		if (s->type_len - off < sizeof(t))
			return -EINVAL;
		if (avail < sizeof(t)) {
			int err = rd_get(r, s->type_base + off, sizeof(t), &p, &avail);

			if (err)
				return err;
		}
		memcpy(&t, p, sizeof(t));
		kind = BTF_INFO_KIND(t.info);
		extra = kind_fixed[kind] + BTF_INFO_VLEN(t.info) * (uint32_t)kind_per_vlen[kind];
		if (kind_fixed[kind] == BAD_KIND || extra > s->type_len - off - sizeof(t) ||
		    id > BTF_MAX_TYPE)
			return -EINVAL;
		if ((id - 1) % CHECKPOINT_EVERY == 0 &&
		    (id - 1) / CHECKPOINT_EVERY == s->ncheckpoints &&
		    s->ncheckpoints < s->checkpoints_cap)
			s->checkpoints[s->ncheckpoints++] = off;

		if (kind == BTF_KIND_TYPEDEF && s->seeking)
			typedef_seen(s, id, &t);
		if (s->dirty) {
			next = next_want(s, id);
			s->dirty = false;
		}
		if (next == id) {
			visit(s, id, &t);
			next = next_want(s, id + 1);
			s->dirty = false;
		}

		off += (uint32_t)sizeof(t) + extra;
		id++;
		if (avail >= sizeof(t) + extra) {
			p += sizeof(t) + extra;
			avail -= sizeof(t) + extra;
		} else {
			avail = 0;
		}
	}
	return 0;
}

typedef unsigned char mt_v16 __attribute__((vector_size(16)));
typedef uint64_t mt_v2 __attribute__((vector_size(16)));

/*
 * memmem(p, len, "btf_trace_"), three times as fast: 16 starts at a time tested for 'b' there
 * and '_' 3 and 9 bytes on (plain vectors: SSE2 on x86-64, NEON on arm64), then compared.
 */
static const unsigned char *find_prefix(const unsigned char *p, size_t len)
{
	size_t i = 0;

	for (; i + 16 + PREFIX_LEN - 1 <= len; i += 16) {
		mt_v16 a, b, c, m;
		mt_v2 any;

		memcpy(&a, p + i, sizeof(a));
		memcpy(&b, p + i + 3, sizeof(b));
		memcpy(&c, p + i + PREFIX_LEN - 1, sizeof(c));
		m = (mt_v16)((a == 'b') & (b == '_') & (c == '_'));
		memcpy(&any, &m, sizeof(any));
		if (!(any[0] | any[1]))
			continue;
		for (size_t j = 0; j < 16; j++)
			if (m[j] && !memcmp(p + i + j, PREFIX, PREFIX_LEN))
				return p + i + j;
	}
	return i < len ? memmem(p + i, len - i, PREFIX, PREFIX_LEN) : NULL;
}

/* a "btf_trace_" at string section offset off, rest (len bytes) after it */
static int prefix_seen(struct scan *s, uint32_t off, const unsigned char *rest, size_t len)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct tp *tp = &s->tps[i];

		if (tp->len >= len || rest[tp->len] || memcmp(rest, tp->name, tp->len))
			continue;
		if (s->ncands == s->cands_cap)
			return -E2BIG;
		s->cands[s->ncands].off = off;
		s->cands[s->ncands].tp = (uint32_t)i;
		s->ncands++;
	}
	return 0;
}

/* every offset in the string section where a "btf_trace_<name>\0" asked for starts */
static int scan_strings(struct scan *s, size_t max_len)
{
	size_t need = PREFIX_LEN + max_len + 1; /* the longest string that can match */
	uint32_t pos = 0;

	while (pos < s->str_len) {
		uint32_t left = s->str_len - pos;
		const unsigned char *p, *hit;
		size_t avail, at = 0;
		bool last;
		int err = rd_get(&s->rd, s->str_base + pos, need < left ? need : left, &p, &avail);

		if (err)
			return err;
		if (avail > left)
			avail = left;
		last = avail == left;
		while ((hit = find_prefix(p + at, avail - at))) {
			at = (size_t)(hit - p);
			if (!last && avail - at < need)
				break; /* it may go on past the window: start the next one there */
			err = prefix_seen(s, pos + (uint32_t)at, hit + PREFIX_LEN,
					  avail - at - PREFIX_LEN);
			if (err)
				return err;
			at++;
		}
		if (last)
			break;
		/* need > PREFIX_LEN: at least one byte of progress */
		pos += hit ? (uint32_t)at : (uint32_t)(avail - (PREFIX_LEN - 1));
	}
	return 0;
}

static int scan_header(struct scan *s, uint64_t file_size)
{
	struct btf_header h;
	size_t got = 0;

	if (s->rd.mapped) {
		memcpy(&h, s->rd.win, sizeof(h)); /* the mapping is at least this long */
		got = sizeof(h);
	}
	while (got < sizeof(h)) {
		ssize_t r = pread(s->rd.fd, (char *)&h + got, sizeof(h) - got, (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EINVAL;
		got += (size_t)r;
	}
	if (h.magic == __builtin_bswap16(BTF_MAGIC))
		return -ENOTSUP;
	if (h.magic != BTF_MAGIC || h.version != BTF_VERSION || h.hdr_len < sizeof(h))
		return -EINVAL;
	if (h.type_off % 4 || (uint64_t)h.type_off + h.type_len > h.str_off)
		return -EINVAL;
	if (file_size && file_size < (uint64_t)h.hdr_len + h.str_off + h.str_len)
		return -EINVAL;
	s->type_base = (uint64_t)h.hdr_len + h.type_off;
	s->type_len = h.type_len;
	s->str_base = (uint64_t)h.hdr_len + h.str_off;
	s->str_len = h.str_len;
	return 0;
}

/* after the header, with the buffers in place */
static int scan(struct scan *s, size_t max_len)
{
	uint32_t w;
	int err;

	s->rd.ahead = s->rd.cap;
	err = scan_strings(s, max_len);
	if (err)
		return err;
	for (size_t c = 0; c < s->ncands; c++) {
		if (s->tps[s->cands[c].tp].state == TP_DONE) {
			s->tps[s->cands[c].tp].state = TP_SEEK;
			s->seeking++;
		}
	}
	err = walk(s, 1, 0);
	/* the types wanted behind the walk: back to the checkpoint before each, in short reads */
	s->rd.ahead = s->rd.cap < 4096 ? s->rd.cap : 4096;
	while (!err && (w = next_want(s, 1))) {
		size_t c = (w - 1) / CHECKPOINT_EVERY;

		if (c >= s->ncheckpoints) /* cannot be: the walk went past every want */
			return -EINVAL;
		err = walk(s, (uint32_t)(c * CHECKPOINT_EVERY + 1), s->checkpoints[c]);
	}
	return err;
}

int mt_btf_scan_fd(int fd, struct mt_btf_tp *tps, size_t n, size_t buf_size)
{
	struct scan s = { .rd = { .fd = fd }, .out = tps, .n = n };
	size_t max_len = 0, bytes;
	uint64_t file_size = 0;
	void *map = MAP_FAILED, *mem;
	struct stat st;
	int err;

	for (size_t i = 0; i < n; i++) {
		tps[i].type_id = 0;
		tps[i].nargs = -1;
		if (!tps[i].name)
			return -EINVAL;
		if (strlen(tps[i].name) > max_len)
			max_len = strlen(tps[i].name);
	}
	if (fstat(fd, &st))
		return -errno;
	if (S_ISREG(st.st_mode) && st.st_size > 0)
		file_size = (uint64_t)st.st_size;
	if (!buf_size && file_size >= sizeof(struct btf_header) && file_size <= SIZE_MAX)
		map = mmap(NULL, (size_t)file_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map != MAP_FAILED) {
		s.rd.mapped = true;
		s.rd.win = map;
		s.rd.len = (size_t)file_size;
		s.rd.cap = 0;
	} else {
		if (!buf_size)
			buf_size = DEFAULT_BUF;
		if (buf_size < MIN_BUF)
			buf_size = MIN_BUF;
		if (buf_size < PREFIX_LEN + max_len + 1)
			buf_size = PREFIX_LEN + max_len + 1;
		s.rd.cap = (buf_size + 7) & ~(size_t)7;
	}

	err = scan_header(&s, file_size);
	if (err || !n)
		goto out;

	/* one allocation: buffer, tp states, candidates, checkpoints */
	s.cands_cap = 4 * n + 16;
	s.checkpoints_cap = s.type_len / sizeof(struct btf_type) / CHECKPOINT_EVERY + 1;
	bytes = s.rd.cap + n * sizeof(*s.tps) + s.cands_cap * sizeof(*s.cands) +
		s.checkpoints_cap * sizeof(*s.checkpoints);
	mem = malloc(bytes);
	if (!mem) {
		err = -ENOMEM;
		goto out;
	}
	if (!s.rd.mapped) {
		s.rd.buf = mem;
		s.rd.win = mem;
	}
	s.tps = (struct tp *)((unsigned char *)mem + s.rd.cap);
	s.cands = (struct cand *)(s.tps + n);
	s.checkpoints = (uint32_t *)(s.cands + s.cands_cap);
	for (size_t i = 0; i < n; i++)
		s.tps[i] = (struct tp){ .name = tps[i].name, .len = strlen(tps[i].name),
					.state = TP_DONE };
	err = scan(&s, max_len);
	free(mem);
out:
	if (map != MAP_FAILED)
		munmap(map, (size_t)file_size);
	if (err) {
		for (size_t i = 0; i < n; i++) {
			tps[i].type_id = 0;
			tps[i].nargs = -1;
		}
	}
	return err;
}

int mt_btf_scan_tracepoints(const char *path, struct mt_btf_tp *tps, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0) {
		err = -errno;
		for (size_t i = 0; i < n; i++) {
			tps[i].type_id = 0;
			tps[i].nargs = -1;
		}
		return err;
	}
	err = mt_btf_scan_fd(fd, tps, n, 0);
	close(fd);
	return err;
}
