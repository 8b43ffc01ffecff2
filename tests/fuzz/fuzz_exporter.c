// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: what the exporter makes of untrusted bytes.
 *
 * Input: the bytes up to the first NUL are a --prometheus address for netaddr_parse, and all
 * of them are a label value for promtext_escape; the rest, in 24-byte records, drive the
 * metrics (metrics.c): each record is one event (a process's statistics, its exit, its
 * vanishing, an OOM kill, a -L crossing) for one of a few pids and cgroups, with the process
 * name and cgroup path taken from the input too.
 *
 * Checked, abort() on violation:
 *  - an accepted address formats back into text that parses to the same address;
 *  - an escaped label value is valid UTF-8 with no raw newline, and every '"' and '\' in it
 *    is escaped;
 *  - the exposition is valid UTF-8, every line a comment or `name{labels} value`, and the
 *    processes it counts over all cgroups equal the processes the metrics hold; no cgroup
 *    counts a negative number of processes or bytes (a u64 gone round).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"
#include "netaddr.h"
#include "promtext.h"
#include "strbuf.h"

#include "fuzz.h"

static bool valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], len, min;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2, min = 0x80, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3, min = 0x800, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4, min = 0x10000, cp = c & 0x07;
		else
			return false;
		if (i + len > n)
			return false;
		for (unsigned k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

static void check_address(const char *text)
{
	struct mt_netaddr a, b;
	char err[160], back[96];
	unsigned port;

	if (netaddr_parse(text, &a, err, sizeof(err)))
		return;
	port = a.ss.ss_family == 10 /* AF_INET6 */ ? ((uint8_t *)&a.ss)[2] << 8 | ((uint8_t *)&a.ss)[3]
						  : ((uint8_t *)&a.ss)[2] << 8 | ((uint8_t *)&a.ss)[3];
	netaddr_format(&a, port, back, sizeof(back));
	ASSERT(netaddr_parse(back, &b, err, sizeof(err)) == 0);
	ASSERT(a.len == b.len && a.any == b.any && !memcmp(&a.ss, &b.ss, a.len));
}

static void check_escape(const uint8_t *data, size_t size)
{
	struct strbuf sb;

	sb_init(&sb);
	promtext_escape(&sb, (const char *)data, size);
	ASSERT(valid_utf8((const unsigned char *)sb.data, sb.len));
	for (size_t i = 0; i < sb.len; i++) {
		ASSERT(sb.data[i] != '\n');
		if (sb.data[i] == '\\') {
			ASSERT(i + 1 < sb.len);
			ASSERT(sb.data[i + 1] == '\\' || sb.data[i + 1] == '"' || sb.data[i + 1] == 'n');
			i++;
		} else {
			ASSERT(sb.data[i] != '"');
		}
	}
	sb_free(&sb);
}

/* cgroup names from the input itself: ids 1..8 name "/" + some of its bytes */
static const uint8_t *names_data;
static size_t names_size;

static int name_of(void *ctx, uint64_t id, uint32_t pid, char *buf, size_t len)
{
	size_t n = names_size < 12 ? names_size : 12, from = (id + pid) % (names_size + 1);

	(void)ctx;
	if (id == 7)
		return -2; /* one cgroup that cannot be named */
	if (from + n > names_size)
		n = names_size - from;
	snprintf(buf, len, "/%.*s%llu", (int)n, (const char *)names_data + from,
		 (unsigned long long)id);
	return 0;
}

static void check_metrics(const uint8_t *data, size_t size)
{
	struct mt_metrics *m = metrics_new(name_of, NULL);
	struct strbuf sb;

	ASSERT(m);
	for (size_t off = 0; off + 24 <= size; off += 24) {
		const uint8_t *r = data + off;
		uint32_t pid = 1 + r[0] % 6;
		struct proc_stats st = {
			.start_ns = 1 + r[1] % 3,
			.memcg_id = r[2] % 9,
			.anon_bytes = (uint64_t)r[3] << 20,
			.file_bytes = (uint64_t)r[4] << 12,
			.shmem_bytes = (uint64_t)r[5] << 12,
			.faults = r[6] | (uint64_t)r[7] << 8,
			.pages_alloc = r[8],
			.flags = r[9] & 1 ? MT_PROC_PRE_EXEC : 0,
		};

		st.peak_rss_bytes = mt_rss_bytes(&st) + ((uint64_t)r[10] << 20);
		memcpy(st.comm, r + 11, MT_COMM_LEN - 3);
		switch (r[23] % 6) {
		case 0:
		case 1:
			metrics_proc(m, pid, &st);
			break;
		case 2:
			metrics_proc_gone(m, pid, st.start_ns, &st);
			break;
		case 3:
			metrics_proc_gone(m, pid, st.start_ns, NULL);
			break;
		case 4: {
			struct mt_oom_report o = { .pid = pid, .stats = st, .constraint = r[9] % 3 };

			memcpy(o.memcg, r + 11, 12);
			metrics_oom(m, &o);
			break;
		}
		default:
			metrics_limit(m, pid, &st);
		}
	}
	sb_init(&sb);
	metrics_render(m, &sb);
	ASSERT(valid_utf8((const unsigned char *)sb.data, sb.len));
	uint64_t procs = 0;

	for (const char *line = sb.data; line && line < sb.data + sb.len;) {
		const char *end = memchr(line, '\n', sb.data + sb.len - line);

		ASSERT(end);
		if (*line != '#') {
			const char *sp = end;

			while (sp > line && sp[-1] != ' ')
				sp--;
			ASSERT(sp > line);
			char *num_end;
			unsigned long long v = strtoull(sp, &num_end, 10);

			ASSERT(v < (1ULL << 62)); /* a u64 that went below zero is near 2^64 */
			if (!strncmp(line, "memtrace_cgroup_processes{", 26))
				procs += v;
		}
		line = end + 1;
	}
	ASSERT(procs == metrics_procs(m));
	sb_free(&sb);
	metrics_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t text_len = strnlen((const char *)data, size);
	char *text = malloc(text_len + 1);

	if (!text)
		return 0;
	memcpy(text, data, text_len);
	text[text_len] = '\0';
	check_address(text);
	free(text);
	check_escape(data, size);
	names_data = data;
	names_size = size;
	check_metrics(data, size);
	return 0;
}
