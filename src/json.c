/* SPDX-License-Identifier: MIT */
/*
 * json: writes one JSON object, flat or nested, into a caller's fixed
 * buffer.  Owns the RFC 8259 string escaping (quote, backslash, control
 * characters; valid UTF-8 passed through, each ill-formed UTF-8
 * subsequence replaced by \ufffd so a hostile SNI or path can never make
 * a record invalid JSON) and the separators between members at each
 * level.  It allocates nothing and does no I/O; the audit log and probe
 * own what is written and where.
 */
#include "config.h"

#include "json.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/*
 * Appends n bytes, all or nothing, always keeping one byte for the NUL.
 * After the first chunk that does not fit nothing more is written, so a
 * buffer that overflowed ends at a whole escape or character.
 */
static void
json_put(struct json_buf *j, const char *s, size_t n)
{
	if (j->overflow)
		return;
	if (j->cap == 0 || n >= j->cap - j->len) {
		j->overflow = true;
		return;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
}

/*
 * Length of the valid UTF-8 sequence at s (2-4), or 0 if the lead byte s[0]
 * (>= 0x80) does not start one; then *bad is set to the length of the
 * ill-formed subsequence to replace with one U+FFFD (Unicode's "maximal
 * subpart" practice, as browsers do).  Rejects overlongs, surrogates and
 * code points above U+10FFFF (RFC 3629).
 */
static size_t
utf8_valid_len(const unsigned char *s, size_t avail, size_t *bad)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* UTF-16 surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90;	/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else {
		*bad = 1;	/* stray continuation, C0, C1, F5..FF */
		return 0;
	}
	for (i = 1; i < need; i++) {
		if (i >= avail || s[i] < lo || s[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return need;
}

/* True for the bytes JSON takes as they are within plain ASCII. */
static bool
json_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/*
 * Appends a run of plain ASCII.  When it does not fit, it fills the
 * buffer up to the end before overflowing: ASCII can be cut anywhere.
 */
static void
json_put_run(struct json_buf *j, const char *src, size_t n)
{
	if (n < j->cap - j->len) {
		json_put(j, src, n);
		return;
	}
	n = j->cap - j->len - 1;
	memcpy(j->buf + j->len, src, n);
	j->len += n;
	j->overflow = true;
}

/* Appends the escape of an ASCII byte that JSON does not take as it is. */
static void
json_put_escape(struct json_buf *j, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	const char *two = NULL;
	char esc[6];

	switch (c) {
	case '"':
		two = "\\\"";
		break;
	case '\\':
		two = "\\\\";
		break;
	case '\b':
		two = "\\b";
		break;
	case '\f':
		two = "\\f";
		break;
	case '\n':
		two = "\\n";
		break;
	case '\r':
		two = "\\r";
		break;
	case '\t':
		two = "\\t";
		break;
	}
	if (two != NULL) {
		json_put(j, two, 2);
		return;
	}
	memcpy(esc, "\\u00", 4);
	esc[4] = hex[c >> 4];
	esc[5] = hex[c & 0xf];
	json_put(j, esc, 6);
}

/* Appends src[0..len) escaped, without quotes. */
static void
json_put_escaped(struct json_buf *j, const char *src, size_t len)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, run, n, bad;

	if (j->cap == 0) {
		j->overflow = true;
		return;
	}
	while (i < len && !j->overflow) {
		/* The longest run of plain ASCII goes in one copy. */
		for (run = i; run < len && json_plain(s[run]); run++)
			;
		if (run > i) {
			json_put_run(j, src + i, run - i);
			i = run;
		} else if (s[i] < 0x80) {
			json_put_escape(j, s[i]);
			i++;
		} else if ((n = utf8_valid_len(s + i, len - i, &bad)) > 0) {
			json_put(j, src + i, n);
			i += n;
		} else {
			json_put(j, "\\ufffd", 6);
			i += bad;
		}
	}
}

/* The bit of the innermost open level in used and array. */
static uint32_t
json_level(const struct json_buf *j)
{
	return (uint32_t)1 << (j->depth - 1);
}

/*
 * Writes the separator and "key": of the next member, or only the
 * separator for an array element.  A key in an array or none in an object
 * would make invalid JSON, so either one poisons the buffer.
 */
static void
json_key(struct json_buf *j, const char *key)
{
	uint32_t bit;

	if (j->depth == 0) {
		j->overflow = true;	/* after json_finish(), or never begun */
		return;
	}
	bit = json_level(j);
	if ((key == NULL) != ((j->array & bit) != 0)) {
		j->overflow = true;
		return;
	}
	if (j->used & bit)
		json_put(j, ",", 1);
	j->used |= bit;
	if (key == NULL)
		return;
	json_put(j, "\"", 1);
	json_put_escaped(j, key, strlen(key));
	json_put(j, "\":", 2);
}

/* Writes the bracket of a new level and makes it the innermost. */
static void
json_push(struct json_buf *j, bool array)
{
	uint32_t bit;

	if (j->depth >= JSON_MAX_DEPTH) {
		j->overflow = true;
		return;
	}
	j->depth++;
	bit = json_level(j);
	j->used &= ~bit;
	if (array)
		j->array |= bit;
	else
		j->array &= ~bit;
	json_put(j, array ? "[" : "{", 1);
}

void
json_begin(struct json_buf *j, char *buf, size_t cap)
{
	j->buf = buf;
	j->cap = buf != NULL ? cap : 0;
	j->len = 0;
	j->overflow = false;
	j->depth = 0;
	j->used = 0;
	j->array = 0;
	json_push(j, false);
}

void
json_open_object(struct json_buf *j, const char *key)
{
	json_key(j, key);
	json_push(j, false);
}

void
json_open_array(struct json_buf *j, const char *key)
{
	json_key(j, key);
	json_push(j, true);
}

/* The outer object is json_finish()'s to close, with its newline. */
void
json_close(struct json_buf *j)
{
	if (j->depth <= 1) {
		j->overflow = true;
		return;
	}
	json_put(j, j->array & json_level(j) ? "]" : "}", 1);
	j->depth--;
}

void
json_str(struct json_buf *j, const char *key, const char *val)
{
	if (val == NULL)
		return;
	json_strn(j, key, val, strlen(val));
}

void
json_strn(struct json_buf *j, const char *key, const char *val, size_t len)
{
	if (val == NULL)
		return;
	json_key(j, key);
	json_put(j, "\"", 1);
	json_put_escaped(j, val, len);
	json_put(j, "\"", 1);
}

/* A member whose value is the literal text val (a number, true, null). */
static void
json_raw(struct json_buf *j, const char *key, const char *val, int n)
{
	json_key(j, key);
	json_put(j, val, (size_t)n);
}

void
json_int(struct json_buf *j, const char *key, int64_t val)
{
	char num[24];

	json_raw(j, key, num, snprintf(num, sizeof(num), "%" PRId64, val));
}

void
json_uint(struct json_buf *j, const char *key, uint64_t val)
{
	char num[24];

	json_raw(j, key, num, snprintf(num, sizeof(num), "%" PRIu64, val));
}

void
json_bool(struct json_buf *j, const char *key, bool val)
{
	json_raw(j, key, val ? "true" : "false", val ? 4 : 5);
}

void
json_null(struct json_buf *j, const char *key)
{
	json_raw(j, key, "null", 4);
}

/*
 * On overflow the buffer is reset to "" so that a caller ignoring the -1
 * can never emit half an object.  depth 0 afterwards: any later member
 * poisons the buffer rather than landing after the newline.
 */
long
json_finish(struct json_buf *j)
{
	if (j->depth != 1)
		j->overflow = true;
	json_put(j, "}\n", 2);
	j->depth = 0;
	if (j->overflow) {
		if (j->cap > 0)
			j->buf[0] = '\0';
		return -1;
	}
	j->buf[j->len] = '\0';
	return (long)j->len;
}

bool
json_escape(char *dst, size_t cap, const char *src, size_t len)
{
	struct json_buf j;

	if (cap == 0)
		return false;
	memset(&j, 0, sizeof(j));
	j.buf = dst;
	j.cap = cap;
	json_put_escaped(&j, src, len);
	dst[j.len] = '\0';
	return !j.overflow;
}
