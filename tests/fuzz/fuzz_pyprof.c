// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: what --python reads from a traced process's memory. The location table,
 * the names and the instruction indexes come from whatever the process holds (a damaged or
 * hostile interpreter included), so user/pylinetable.c and user/pyprof.c must take any bytes.
 *
 * Input: byte 0 the unicode kind of the names (any value), bytes 1-4 co_firstlineno, bytes 5-6
 * an instruction index, the rest the location table (up to MT_PY_LINETABLE_LEN - 1 bytes) and,
 * as text, the file and function names.
 *
 * Checked, abort() on violation:
 *  - py_line_span gives first <= last when it succeeds, and every line py_line_of gives for an
 *    instruction index is -1 or within that span (the table names no other line);
 *  - py_text_utf8 writes a NUL-terminated string within the buffer, of valid UTF-8, for every
 *    buffer size from 1 to 40;
 *  - the records built from the input, through pyprof (code, samples at every index, an OOM
 *    stack), give a line report, folded stacks, a summary and an OOM report without a crash,
 *    and the folded stacks are lines of "STACK BYTES".
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pylinetable.h"
#include "pyreport.h"

#include "fuzz.h"

static bool valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 :
			(*p & 0xf8) == 0xf0 ? 3 : -1;

		if (n < 0)
			return false;
		p++;
		for (int i = 0; i < n; i++, p++)
			if ((*p & 0xc0) != 0x80)
				return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mt_py_code code;
	static struct mt_py_sample sample;
	int32_t first_line;
	uint16_t lasti;
	const uint8_t *table;
	size_t len;
	int first, last, span;

	if (size < 7)
		return 0;
	memcpy(&first_line, data + 1, 4);
	memcpy(&lasti, data + 5, 2);
	table = data + 7;
	len = size - 7;
	if (len > MT_PY_LINETABLE_LEN - 1)
		len = MT_PY_LINETABLE_LEN - 1;

	span = py_line_span(table, len, first_line, &first, &last);
	if (span == 0)
		ASSERT(first <= last);
	for (int i = 0; i <= (int)len * 2 + 2; i++) {
		int line = py_line_of(table, len, first_line, i);

		if (line != -1 && span == 0)
			ASSERT(line >= first && line <= last);
	}

	for (size_t outlen = 1; outlen <= 40; outlen++) {
		char out[40];

		memset(out, 'x', sizeof(out));
		size_t n = py_text_utf8(data[0], table, len, out, outlen);

		ASSERT(n < outlen);
		ASSERT(out[n] == '\0' && strlen(out) == n);
		ASSERT(valid_utf8(out));
	}

	struct mt_pyprof *p = pyprof_new();

	memset(&code, 0, sizeof(code));
	code.type = MT_EV_PY_CODE;
	code.pid = 42;
	code.code = 0x1000;
	code.ident = 7;
	code.firstlineno = first_line;
	code.file_kind = code.name_kind = data[0];
	code.file_len = len < MT_PY_FILE_LEN ? (uint32_t)len : MT_PY_FILE_LEN + 5;
	code.name_len = len < MT_PY_NAME_LEN ? (uint32_t)len : MT_PY_NAME_LEN + 5;
	code.linetable_len = (uint32_t)len + (data[0] & 1 ? 100000 : 0);
	code.flags = data[0] >> 6;
	memcpy(code.file, table, len < MT_PY_FILE_LEN ? len : MT_PY_FILE_LEN);
	memcpy(code.name, table, len < MT_PY_NAME_LEN ? len : MT_PY_NAME_LEN);
	memcpy(code.linetable, table, len);
	pyprof_process(p, 42, "fuzz", "3.11.2", -1, -1);
	pyprof_on_code(p, &code);
	pyprof_on_code(p, &code); /* sent again after an LRU eviction */

	memset(&sample, 0, sizeof(sample));
	sample.type = MT_EV_PY_SAMPLE;
	sample.pid = 42;
	sample.delta_anon = (int64_t)lasti * 4096 - 100 * 4096;
	sample.delta_file = 4096;
	sample.rss_bytes = 1 << 20;
	sample.depth = data[0] % (MT_PY_DEPTH + 8); /* more than fit: cut to MT_PY_DEPTH */
	for (int i = 0; i < MT_PY_DEPTH; i++) {
		sample.frames[i].code = i % 3 ? 0x1000 : 0x2000; /* one code never captured */
		sample.frames[i].ident = 7;
		sample.frames[i].lasti = (int32_t)lasti - i;
	}
	pyprof_on_sample(p, &sample);
	sample.depth = 0;
	pyprof_on_sample(p, &sample);
	sample.flags = MT_PYF_OOM;
	sample.depth = 3;
	pyprof_on_sample(p, &sample);

	char *buf = NULL;
	size_t buflen = 0;
	FILE *out = open_memstream(&buf, &buflen);

	ASSERT(out);
	ASSERT(pyreport_lines(p, out) == 0);
	ASSERT(pyreport_folded(p, out) == 0);
	pyreport_summary(p, out, 10);
	pyreport_oom(p, out, 42, 42);
	fclose(out);
	free(buf);

	out = open_memstream(&buf, &buflen);
	ASSERT(out);
	ASSERT(pyreport_folded(p, out) == 0);
	fclose(out);
	for (char *line = buf; line && *line;) {
		char *nl = strchr(line, '\n'), *sp;

		ASSERT(nl);
		*nl = '\0';
		sp = strrchr(line, ' ');
		ASSERT(sp && sp > line && sp[1] && strspn(sp + 1, "0123456789") == strlen(sp + 1));
		line = nl + 1;
	}
	free(buf);
	pyprof_free(p);
	return 0;
}
