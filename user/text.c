// SPDX-License-Identifier: GPL-2.0
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "text.h"

size_t mt_utf8_len(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (!n)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	/* the second byte's range is narrower after the lead bytes that begin the bad forms */
	if (s[0] == 0xe0)
		lo = 0xa0; /* overlong */
	else if (s[0] == 0xed)
		hi = 0x9f; /* surrogates */
	else if (s[0] == 0xf0)
		lo = 0x90; /* overlong */
	else if (s[0] == 0xf4)
		hi = 0x8f; /* above U+10FFFF */
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/*
 * Length of the printable character beyond ASCII at s: well-formed UTF-8 and not a C1 control
 * (U+0080..U+009F, 0xc2 0x80..0x9f: 8-bit terminals read some as escape sequences); else 0.
 */
static size_t printable_utf8_len(const unsigned char *s, size_t n)
{
	size_t len = mt_utf8_len((const char *)s, n);

	if (len < 2 || (s[0] == 0xc2 && s[1] < 0xa0))
		return 0;
	return len;
}

/* Appends to a fixed buffer; a piece that does not fit ends the text. */
struct out {
	char *buf;
	size_t cap; /* bytes for text, the NUL and any ellipsis excluded */
	size_t used;
	bool full;
};

static bool put(struct out *o, const char *s, size_t n)
{
	if (o->full || o->used + n > o->cap) {
		o->full = true;
		return false;
	}
	memcpy(o->buf + o->used, s, n);
	o->used += n;
	return true;
}

static void put_hex(struct out *o, unsigned char c)
{
	char hex[5];

	snprintf(hex, sizeof(hex), "\\x%02x", c);
	put(o, hex, 4);
}

size_t mt_escape_terminal(const char *in, char *out, size_t outlen)
{
	struct out o = { .buf = out, .cap = outlen ? outlen - 1 : 0 };
	const unsigned char *s = (const unsigned char *)in;
	size_t n = strlen(in);

	if (!outlen)
		return 0;
	for (size_t i = 0; i < n && !o.full;) {
		size_t k = s[i] >= 0x80 ? printable_utf8_len(s + i, n - i) : 0;

		if (s[i] >= 0x20 && s[i] < 0x7f)
			put(&o, (const char *)s + i, 1);
		else if (k)
			put(&o, (const char *)s + i, k);
		else
			put_hex(&o, s[i]);
		i += k ? k : 1;
	}
	out[o.used] = '\0';
	return o.used;
}

static bool shell_safe(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("_@%+=:,./-", c);
}

/* One word: bare, '...' or $'...'. Returns false when it did not fit. */
static bool quote_word(struct out *o, const char *word, size_t n)
{
	const unsigned char *s = (const unsigned char *)word;
	bool bare = n > 0, ansi = false;
	struct out piece;
	char buf[4096];

	for (size_t i = 0; i < n;) {
		size_t k = s[i] >= 0x80 ? printable_utf8_len(s + i, n - i) : 0;

		if (!s[i] || !shell_safe(s[i]))
			bare = false;
		if (s[i] < 0x20 || s[i] == 0x7f || (s[i] >= 0x80 && !k))
			ansi = true;
		i += k ? k : 1;
	}
	if (bare)
		return put(o, word, n);
	/* the word is built whole first: it goes in complete or not at all */
	piece = (struct out){ .buf = buf, .cap = sizeof(buf) };
	put(&piece, ansi ? "$'" : "'", ansi ? 2 : 1);
	for (size_t i = 0; i < n;) {
		size_t k = s[i] >= 0x80 ? printable_utf8_len(s + i, n - i) : 0;

		if (!ansi && s[i] == '\'')
			put(&piece, "'\\''", 4);
		else if (!ansi || k)
			put(&piece, word + i, k ? k : 1);
		else if (s[i] == '\'' || s[i] == '\\')
			put(&piece, s[i] == '\'' ? "\\'" : "\\\\", 2);
		else if (s[i] == '\n' || s[i] == '\t' || s[i] == '\r')
			put(&piece, s[i] == '\n' ? "\\n" : s[i] == '\t' ? "\\t" : "\\r", 2);
		else if (s[i] >= 0x20 && s[i] < 0x7f)
			put(&piece, word + i, 1);
		else
			put_hex(&piece, s[i]);
		i += k ? k : 1;
	}
	put(&piece, "'", 1);
	return !piece.full && put(o, buf, piece.used);
}

static void finish(struct out *o, size_t outlen)
{
	if (o->full && outlen >= 4) {
		memcpy(o->buf + o->used, "...", 3);
		o->used += 3;
	}
	o->buf[o->used] = '\0';
}

void mt_shell_quote_argv(char *const argv[], char *out, size_t outlen)
{
	struct out o = { .buf = out, .cap = outlen >= 4 ? outlen - 4 : 0 };

	if (!outlen)
		return;
	for (size_t i = 0; argv[i]; i++) {
		if ((i && !put(&o, " ", 1)) || !quote_word(&o, argv[i], strlen(argv[i])))
			break;
	}
	finish(&o, outlen);
}

void mt_shell_quote_packed(const char *words, size_t len, char *out, size_t outlen)
{
	struct out o = { .buf = out, .cap = outlen >= 4 ? outlen - 4 : 0 };

	if (!outlen)
		return;
	for (size_t at = 0, i = 0; at < len; i++) {
		const char *end = memchr(words + at, '\0', len - at);
		size_t n = end ? (size_t)(end - words - at) : len - at;

		if ((i && !put(&o, " ", 1)) || !quote_word(&o, words + at, n))
			break;
		at += n + 1;
	}
	finish(&o, outlen);
}
