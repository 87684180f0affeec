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

#include <string.h>

/*
 * Where the next n bytes go, keeping one byte for the NUL; NULL once the
 * buffer overflowed (this call may be the one that overflows it).
 */
static char *
json_room(struct json_buf *j, size_t n)
{
	if (j->overflow)
		return NULL;
	if (j->cap == 0 || n >= j->cap - j->len) {
		j->overflow = true;
		return NULL;
	}
	return j->buf + j->len;
}

/*
 * Appends n bytes, all or nothing, always keeping one byte for the NUL.
 * After the first chunk that does not fit nothing more is written, so a
 * buffer that overflowed ends at a whole escape or character.
 */
static void
json_put(struct json_buf *j, const char *s, size_t n)
{
	char *p = json_room(j, n);

	if (p == NULL)
		return;
	memcpy(p, s, n);
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

/*
 * The bytes JSON takes as they are: printable ASCII but the quote and the
 * backslash.  A table, so the scan for a run costs one load a byte.
 */
static const bool json_plain_byte[256] = {
	[0x20 ... 0x21] = true,		/* the quote is 0x22 */
	[0x23 ... 0x5b] = true,		/* the backslash is 0x5c */
	[0x5d ... 0x7f] = true,
};

static bool
json_plain(unsigned char c)
{
	return json_plain_byte[c];
}

#define BYTES_OF(c)	(0x0101010101010101ULL * (uint64_t)(c))
#define HIGH_BITS	BYTES_OF(0x80)

/*
 * True if some byte of w is not plain: below 0x20, 0x80 or above, the
 * quote or the backslash.  (x - BYTES_OF(n)) & ~x & HIGH_BITS is non-zero
 * exactly when some byte of x is below n (n <= 0x80), so a plain word is
 * never taken for a special one and a special one never for plain; a zero
 * byte of w ^ BYTES_OF(c) is a byte equal to c.
 */
static bool
json_word_special(uint64_t w)
{
	uint64_t quote = w ^ BYTES_OF('"'), bslash = w ^ BYTES_OF('\\');

	return ((w | ((w - BYTES_OF(0x20)) & ~w) |
	    ((quote - BYTES_OF(1)) & ~quote) |
	    ((bslash - BYTES_OF(1)) & ~bslash)) & HIGH_BITS) != 0;
}

/*
 * Length of the run of plain bytes that s[0..n) starts with.  Eight bytes
 * a step: most of a record is field names, versions, ciphers and
 * addresses with nothing to escape, so this is the writer's inner loop.
 */
static size_t
json_plain_len(const unsigned char *s, size_t n)
{
	size_t i = 0;
	uint64_t w;

	for (; n - i >= 8; i += 8) {
		memcpy(&w, s + i, sizeof(w));
		if (json_word_special(w))
			break;
	}
	while (i < n && json_plain(s[i]))
		i++;
	return i;
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
		run = i + json_plain_len(s + i, len - i);
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
	size_t n;
	bool comma;
	char *p;

	if (j->depth == 0) {
		j->overflow = true;	/* after json_finish(), or never begun */
		return;
	}
	bit = json_level(j);
	if ((key == NULL) != ((j->array & bit) != 0)) {
		j->overflow = true;
		return;
	}
	comma = (j->used & bit) != 0;
	j->used |= bit;
	if (key == NULL) {
		if (comma)
			json_put(j, ",", 1);
		return;
	}
	n = strlen(key);
	if (json_plain_len((const unsigned char *)key, n) < n) {
		if (comma)
			json_put(j, ",", 1);
		json_put(j, "\"", 1);
		json_put_escaped(j, key, n);
		json_put(j, "\":", 2);
		return;
	}
	/* Keys are the program's own names: plain, written in one piece. */
	if ((p = json_room(j, comma + n + 3)) == NULL)
		return;
	if (comma)
		*p++ = ',';
	*p++ = '"';
	memcpy(p, key, n);
	p[n] = '"';
	p[n + 1] = ':';
	j->len += comma + n + 3;
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
	char *p;

	if (val == NULL)
		return;
	json_key(j, key);
	/* A value with nothing to escape goes in one copy, quotes and all. */
	if (json_plain_len((const unsigned char *)val, len) == len) {
		if ((p = json_room(j, len + 2)) != NULL) {
			p[0] = '"';
			memcpy(p + 1, val, len);
			p[len + 1] = '"';
			j->len += len + 2;
		}
		return;
	}
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

/* Writes v in decimal ending at end; returns where the digits start. */
static char *
json_u64_digits(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return end;
}

/* Numbers without stdio: a record has a dozen, and snprintf was half its cost. */
void
json_int(struct json_buf *j, const char *key, int64_t val)
{
	char num[24], *end = num + sizeof(num), *p;
	/* the magnitude, INT64_MIN included, without signed overflow */
	uint64_t mag = val < 0 ? (uint64_t)0 - (uint64_t)val : (uint64_t)val;

	p = json_u64_digits(end, mag);
	if (val < 0)
		*--p = '-';
	json_raw(j, key, p, (int)(end - p));
}

void
json_uint(struct json_buf *j, const char *key, uint64_t val)
{
	char num[24], *end = num + sizeof(num), *p;

	p = json_u64_digits(end, val);
	json_raw(j, key, p, (int)(end - p));
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

/* ---- reading ------------------------------------------------------------ */

/*
 * The reader is strict RFC 8259: no comments, no trailing commas, no
 * single quotes, no control characters or ill-formed UTF-8 in strings,
 * numbers in the grammar's form only.  Files from elsewhere are read with
 * it, so a byte the grammar does not allow is an error with its offset,
 * never a guess.
 */

static int
json_rd_fail(struct json_rd *r, const char *why)
{
	if (r->err == NULL) {
		r->err = why;
		r->err_off = (size_t)(r->p - r->text);
	}
	return -1;
}

void
json_rd_init(struct json_rd *r, const char *text, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->text = r->p = text;
	r->end = text + len;
}

static void
json_rd_blanks(struct json_rd *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' ||
	    *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

/* True if the bytes at p are lit (len bytes). */
static bool
json_rd_lit(const struct json_rd *r, const char *lit, size_t len)
{
	return (size_t)(r->end - r->p) >= len && memcmp(r->p, lit, len) == 0;
}

enum json_type
json_rd_peek(struct json_rd *r)
{
	if (r->err != NULL)
		return JSON_T_ERROR;
	json_rd_blanks(r);
	if (r->p == r->end)
		return JSON_T_END;
	switch (*r->p) {
	case '{':
		return JSON_T_OBJECT;
	case '[':
		return JSON_T_ARRAY;
	case '"':
		return JSON_T_STRING;
	case 't':
	case 'f':
		return JSON_T_BOOL;
	case 'n':
		return JSON_T_NULL;
	default:
		if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9'))
			return JSON_T_NUMBER;
		json_rd_fail(r, "not the start of a JSON value");
		return JSON_T_ERROR;
	}
}

int
json_rd_enter(struct json_rd *r)
{
	enum json_type t = json_rd_peek(r);
	uint64_t bit;

	if (t != JSON_T_OBJECT && t != JSON_T_ARRAY)
		return json_rd_fail(r, "expected an object or an array");
	if (r->depth >= JSON_RD_MAX_DEPTH)
		return json_rd_fail(r, "nested too deeply");
	bit = (uint64_t)1 << r->depth;
	if (t == JSON_T_OBJECT)
		r->is_obj |= bit;
	else
		r->is_obj &= ~bit;
	r->first |= bit;
	r->depth++;
	r->p++;
	return 0;
}

/* Appends code point cp as UTF-8 to buf (cap bytes, room for a NUL kept). */
static void
json_rd_put_cp(char *buf, size_t cap, size_t *n, uint32_t cp)
{
	char u[4];
	size_t k, i;

	if (cp < 0x80) {
		u[0] = (char)cp;
		k = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		k = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		k = 4;
	}
	for (i = 0; i < k; i++, (*n)++)
		if (buf != NULL && *n + 1 < cap)
			buf[*n] = u[i];
}

/* Four hex digits at p; -1 if they are not. */
static long
json_rd_hex4(const char *p, const char *end)
{
	long v = 0;
	int i;

	if (end - p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		v <<= 4;
		if (p[i] >= '0' && p[i] <= '9')
			v |= p[i] - '0';
		else if ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'f')
			v |= (p[i] | 0x20) - 'a' + 10;
		else
			return -1;
	}
	return v;
}

/* Reads the \u escape at r->p (after the backslash and 'u'); -1 if bad. */
static int
json_rd_unicode(struct json_rd *r, uint32_t *cp)
{
	long hi, lo;

	if ((hi = json_rd_hex4(r->p, r->end)) < 0)
		return json_rd_fail(r, "bad \\u escape");
	r->p += 4;
	if (hi >= 0xdc00 && hi <= 0xdfff)
		return json_rd_fail(r, "lone low surrogate in \\u escape");
	if (hi < 0xd800 || hi > 0xdbff) {
		*cp = (uint32_t)hi;
		return 0;
	}
	if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' ||
	    (lo = json_rd_hex4(r->p + 2, r->end)) < 0xdc00 || lo > 0xdfff)
		return json_rd_fail(r, "high surrogate without its low half");
	r->p += 6;
	*cp = 0x10000 + (((uint32_t)hi - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
	return 0;
}

/* Scans the string at r->p, decoding into buf (may be NULL); 0 / -1. */
static int
json_rd_str(struct json_rd *r, char *buf, size_t cap, size_t *len)
{
	static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
	const char *e;
	size_t n = 0, k, bad;
	unsigned char c;
	uint32_t cp;

	if (json_rd_peek(r) != JSON_T_STRING)
		return json_rd_fail(r, "expected a string");
	for (r->p++;;) {
		if (r->p == r->end)
			return json_rd_fail(r, "unterminated string");
		c = (unsigned char)*r->p;
		if (c == '"')
			break;
		if (c < 0x20)
			return json_rd_fail(r, "control character in a string");
		if (c >= 0x80) {
			if ((k = utf8_valid_len((const unsigned char *)r->p,
			    (size_t)(r->end - r->p), &bad)) == 0)
				return json_rd_fail(r, "ill-formed UTF-8 in a string");
		} else if (c == '\\') {
			r->p++;
			if (r->p < r->end && *r->p == 'u') {
				r->p++;
				if (json_rd_unicode(r, &cp) == -1)
					return -1;
				json_rd_put_cp(buf, cap, &n, cp);
				continue;
			}
			if (r->p == r->end || *r->p == '\0' ||
			    (e = strchr(esc_in, *r->p)) == NULL)
				return json_rd_fail(r, "bad escape in a string");
			json_rd_put_cp(buf, cap, &n, (unsigned char)esc_out[e - esc_in]);
			r->p++;
			continue;
		} else
			k = 1;
		for (; k > 0; k--, n++, r->p++)
			if (buf != NULL && n + 1 < cap)
				buf[n] = *r->p;
	}
	r->p++;
	if (buf != NULL && cap > 0)
		buf[n < cap ? n : cap - 1] = '\0';
	if (len != NULL)
		*len = n;
	return 0;
}

int
json_rd_next(struct json_rd *r, char *key, size_t keycap)
{
	uint64_t bit;
	size_t len;

	if (r->err != NULL)
		return -1;
	if (r->depth == 0)
		return json_rd_fail(r, "not inside an object or array");
	bit = (uint64_t)1 << (r->depth - 1);
	json_rd_blanks(r);
	if (r->p < r->end && *r->p == ((r->is_obj & bit) ? '}' : ']')) {
		r->p++;
		r->depth--;
		return 0;
	}
	if (!(r->first & bit)) {
		if (r->p == r->end || *r->p != ',')
			return json_rd_fail(r, (r->is_obj & bit) ?
			    "expected ',' or '}'" : "expected ',' or ']'");
		r->p++;
	}
	r->first &= ~bit;
	if (!(r->is_obj & bit))
		return json_rd_peek(r) == JSON_T_ERROR ? -1 : 1;
	if (json_rd_str(r, key, keycap, &len) == -1)
		return -1;
	if (key != NULL && keycap > 0 && len >= keycap)
		key[0] = '\0';
	json_rd_blanks(r);
	if (r->p == r->end || *r->p != ':')
		return json_rd_fail(r, "expected ':' after a member name");
	r->p++;
	return json_rd_peek(r) == JSON_T_ERROR ? -1 : 1;
}

int
json_rd_string(struct json_rd *r, char *buf, size_t cap, size_t *len)
{
	return json_rd_str(r, buf, cap, len);
}

/* Scans a number in RFC 8259's form; *integral is false with a fraction or exponent. */
static int
json_rd_number(struct json_rd *r, bool *integral)
{
	const char *p = r->p;

	*integral = true;
	if (p < r->end && *p == '-')
		p++;
	if (p < r->end && *p == '0')
		p++;
	else if (p < r->end && *p >= '1' && *p <= '9')
		while (p < r->end && *p >= '0' && *p <= '9')
			p++;
	else
		return json_rd_fail(r, "bad number");
	if (p < r->end && *p == '.') {
		*integral = false;
		if (++p == r->end || *p < '0' || *p > '9')
			return json_rd_fail(r, "bad number");
		while (p < r->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < r->end && (*p == 'e' || *p == 'E')) {
		*integral = false;
		if (++p < r->end && (*p == '+' || *p == '-'))
			p++;
		if (p == r->end || *p < '0' || *p > '9')
			return json_rd_fail(r, "bad number");
		while (p < r->end && *p >= '0' && *p <= '9')
			p++;
	}
	r->p = p;
	return 0;
}

int
json_rd_int(struct json_rd *r, int64_t *v)
{
	const char *start;
	bool integral, neg;
	uint64_t acc = 0, limit;

	if (json_rd_peek(r) != JSON_T_NUMBER)
		return json_rd_fail(r, "expected a number");
	start = r->p;
	if (json_rd_number(r, &integral) == -1)
		return -1;
	if (!integral) {
		r->p = start;
		return json_rd_fail(r, "expected an integer");
	}
	neg = *start == '-';
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (start += neg; start < r->p; start++) {
		if (acc > (limit - (uint64_t)(*start - '0')) / 10) {
			r->p = start;
			return json_rd_fail(r, "integer out of range");
		}
		acc = acc * 10 + (uint64_t)(*start - '0');
	}
	*v = neg ? (acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc) :
	    (int64_t)acc;
	return 0;
}

int
json_rd_skip(struct json_rd *r)
{
	bool integral;
	int n;

	switch (json_rd_peek(r)) {
	case JSON_T_OBJECT:
	case JSON_T_ARRAY:
		if (json_rd_enter(r) == -1)
			return -1;
		while ((n = json_rd_next(r, NULL, 0)) == 1)
			if (json_rd_skip(r) == -1)
				return -1;
		return n;
	case JSON_T_STRING:
		return json_rd_str(r, NULL, 0, NULL);
	case JSON_T_NUMBER:
		return json_rd_number(r, &integral);
	case JSON_T_BOOL:
		if (json_rd_lit(r, "true", 4) || json_rd_lit(r, "false", 5)) {
			r->p += *r->p == 't' ? 4 : 5;
			return 0;
		}
		return json_rd_fail(r, "bad literal");
	case JSON_T_NULL:
		if (json_rd_lit(r, "null", 4)) {
			r->p += 4;
			return 0;
		}
		return json_rd_fail(r, "bad literal");
	case JSON_T_END:
		return json_rd_fail(r, "unexpected end of the text");
	default:
		return -1;
	}
}

int
json_rd_finish(struct json_rd *r)
{
	if (r->err != NULL)
		return -1;
	if (r->depth != 0)
		return json_rd_fail(r, "unexpected end of the text");
	json_rd_blanks(r);
	return r->p == r->end ? 0 : json_rd_fail(r, "text after the JSON value");
}
