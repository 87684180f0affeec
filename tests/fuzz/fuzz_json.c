/* SPDX-License-Identifier: MIT */
/*
 * fuzz_json: libFuzzer target for json.c's writer, with an oracle.  The
 * audit log writes client bytes (SNI, path, method) through it, and it
 * scans eight bytes at a time, so a lane it misjudges would put a raw
 * quote or control byte into a record.
 *
 * Input: a capacity byte (0: room for anything, else cap = byte * 3),
 * then a key (up to the first NUL, at most 15 bytes) and the value (the
 * rest, any bytes).  The writer writes {key: value, "n": length}.
 *
 * The oracle, beyond ASan and UBSan: the result is either -1 with an empty
 * buffer (only when cap is short) or exactly one object that json.c's
 * strict reader accepts, whose key and value decode to the input with each
 * ill-formed UTF-8 subsequence replaced by one U+FFFD.  That replacement
 * is computed here from the Unicode table of well-formed byte sequences,
 * apart from the writer's own code.  Seeds: corpus/json/.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define VALUE_MAX	1024
#define DECODED_MAX	(VALUE_MAX * 3 + 1)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Unicode 15, table 3-7: the byte ranges after each lead byte. */
struct utf8_form {
	uint8_t lead_lo, lead_hi, n;
	uint8_t lo[3], hi[3];
};

static const struct utf8_form forms[] = {
	{ 0xc2, 0xdf, 1, { 0x80 }, { 0xbf } },
	{ 0xe0, 0xe0, 2, { 0xa0, 0x80 }, { 0xbf, 0xbf } },
	{ 0xe1, 0xec, 2, { 0x80, 0x80 }, { 0xbf, 0xbf } },
	{ 0xed, 0xed, 2, { 0x80, 0x80 }, { 0x9f, 0xbf } },
	{ 0xee, 0xef, 2, { 0x80, 0x80 }, { 0xbf, 0xbf } },
	{ 0xf0, 0xf0, 3, { 0x90, 0x80, 0x80 }, { 0xbf, 0xbf, 0xbf } },
	{ 0xf1, 0xf3, 3, { 0x80, 0x80, 0x80 }, { 0xbf, 0xbf, 0xbf } },
	{ 0xf4, 0xf4, 3, { 0x80, 0x80, 0x80 }, { 0x8f, 0xbf, 0xbf } },
};

/*
 * s[0..n) with each maximal subpart of an ill-formed sequence replaced by
 * EF BF BD; returns the length written to out.
 */
static size_t
expect_decoded(const uint8_t *s, size_t n, uint8_t *out)
{
	size_t i = 0, o = 0, k, t;
	const struct utf8_form *f;

	while (i < n) {
		f = NULL;
		for (t = 0; t < sizeof(forms) / sizeof(forms[0]); t++)
			if (s[i] >= forms[t].lead_lo && s[i] <= forms[t].lead_hi)
				f = &forms[t];
		if (s[i] < 0x80) {
			out[o++] = s[i++];
			continue;
		}
		for (k = 0; f != NULL && k < f->n && i + 1 + k < n &&
		    s[i + 1 + k] >= f->lo[k] && s[i + 1 + k] <= f->hi[k]; k++)
			;
		if (f != NULL && k == f->n) {
			memcpy(out + o, s + i, k + 1);
			o += k + 1;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
		}
		i += (f != NULL ? k : 0) + 1;
	}
	return o;
}

static void
check_string(const uint8_t *got, size_t got_len, const uint8_t *in, size_t n)
{
	static uint8_t want[DECODED_MAX];
	size_t want_len = expect_decoded(in, n, want);

	if (got_len != want_len || memcmp(got, want, want_len) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[8 * VALUE_MAX];
	static char dec[DECODED_MAX];
	char key[16], rkey[64];
	const uint8_t *val;
	struct json_buf j;
	struct json_rd r;
	size_t cap, klen, vlen, len;
	int64_t num;
	long n;

	if (size < 1)
		return 0;
	cap = data[0] == 0 ? sizeof(buf) : (size_t)data[0] * 3;
	data++, size--;
	klen = strnlen((const char *)data, size < sizeof(key) - 1 ? size :
	    sizeof(key) - 1);
	memcpy(key, data, klen);
	key[klen] = '\0';
	val = data + klen + (klen < size);
	vlen = size - (size_t)(val - data);
	if (vlen > VALUE_MAX)
		vlen = VALUE_MAX;

	json_begin(&j, buf, cap);
	json_strn(&j, key, (const char *)val, vlen);
	json_uint(&j, "n", vlen);
	n = json_finish(&j);
	if (n == -1) {
		/* Only a short buffer may overflow, and it leaves nothing. */
		if (cap == sizeof(buf) || buf[0] != '\0')
			abort();
		return 0;
	}
	if (n < 3 || strlen(buf) != (size_t)n || buf[n - 1] != '\n')
		abort();

	json_rd_init(&r, buf, (size_t)n);
	if (json_rd_enter(&r) != 0 ||
	    json_rd_next(&r, rkey, sizeof(rkey)) != 1)
		abort();
	check_string((const uint8_t *)rkey, strlen(rkey), (const uint8_t *)key,
	    klen);
	if (json_rd_string(&r, dec, sizeof(dec), &len) != 0 || len >= sizeof(dec))
		abort();
	check_string((const uint8_t *)dec, len, val, vlen);
	if (json_rd_next(&r, rkey, sizeof(rkey)) != 1 || strcmp(rkey, "n") != 0 ||
	    json_rd_int(&r, &num) != 0 || num != (int64_t)vlen ||
	    json_rd_next(&r, NULL, 0) != 0 || json_rd_finish(&r) != 0)
		abort();
	return 0;
}
