/* SPDX-License-Identifier: MIT */
/*
 * check_json: the JSON writer's escaping (RFC 8259 plus U+FFFD for
 * ill-formed UTF-8), member layout, nesting (objects and arrays, the
 * depth limit, misuse) and sticky overflow; the pull reader's walk, string
 * decoding, integers, and what it refuses.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jsonv.h"

#define FFFD "\\ufffd"

static const struct {
	const char *name;
	const char *in;
	size_t len;		/* 0 = strlen(in) */
	const char *out;
} esc_cases[] = {
	{ "plain", "GET /soap/Employee", 0, "GET /soap/Employee" },
	{ "empty", "", 0, "" },
	{ "quote", "a\"b", 0, "a\\\"b" },
	{ "backslash", "C:\\x\\", 0, "C:\\\\x\\\\" },
	{ "slash not escaped", "/a/b", 0, "/a/b" },
	{ "short escapes", "\n\r\t\b\f", 0, "\\n\\r\\t\\b\\f" },
	{ "other controls", "\x01\x1f", 0, "\\u0001\\u001f" },
	{ "escape char", "\x1b[31m", 0, "\\u001b[31m" },
	{ "NUL inside", "a\0b", 3, "a\\u0000b" },
	{ "DEL is legal JSON", "\x7f", 0, "\x7f" },
	{ "2-byte UTF-8", "caf\xc3\xa9", 0, "caf\xc3\xa9" },
	{ "3-byte UTF-8", "\xe2\x82\xac" "5", 0, "\xe2\x82\xac" "5" },
	{ "4-byte UTF-8", "\xf0\x9f\x98\x80", 0, "\xf0\x9f\x98\x80" },
	{ "U+10FFFF", "\xf4\x8f\xbf\xbf", 0, "\xf4\x8f\xbf\xbf" },
	{ "U+FFFD itself", "\xef\xbf\xbd", 0, "\xef\xbf\xbd" },
	{ "lone 0xff", "a\xff" "b", 0, "a" FFFD "b" },
	{ "stray continuation", "\x80", 0, FFFD },
	{ "overlong C0 AF", "\xc0\xaf", 0, FFFD FFFD },
	{ "overlong E0 80 AF", "\xe0\x80\xaf", 0, FFFD FFFD FFFD },
	{ "surrogate ED A0 80", "\xed\xa0\x80", 0, FFFD FFFD FFFD },
	{ "above U+10FFFF", "\xf4\x90\x80\x80", 0, FFFD FFFD FFFD FFFD },
	{ "F5 lead", "\xf5\x80", 0, FFFD FFFD },
	/* A truncated sequence is one maximal subpart: one U+FFFD. */
	{ "truncated at end", "x\xe2\x82", 0, "x" FFFD },
	{ "truncated then ASCII", "\xe2\x82x", 0, FFFD "x" },
	{ "truncated 4-byte", "\xf0\x9f\x98", 0, FFFD },
	{ "latin-1 path", "/d\xe9j\xe0", 0, "/d" FFFD "j" FFFD },
	{ "mixed", "\"\xc3\xa9\n\xff\\", 0, "\\\"\xc3\xa9\\n" FFFD "\\\\" },
};

START_TEST(test_escape_table)
{
	char out[256];
	size_t len = esc_cases[_i].len != 0 ? esc_cases[_i].len :
	    strlen(esc_cases[_i].in);

	ck_assert_msg(json_escape(out, sizeof(out), esc_cases[_i].in, len),
	    "%s: truncated", esc_cases[_i].name);
	ck_assert_msg(strcmp(out, esc_cases[_i].out) == 0,
	    "%s: got '%s', want '%s'", esc_cases[_i].name, out,
	    esc_cases[_i].out);
}
END_TEST

/*
 * The escape of one byte c that stands alone, by the rule written out
 * here apart from json.c's table: the quote, the backslash and C0
 * controls are escaped, everything else from 0x20 to 0x7f (DEL included)
 * passes, and a byte of 0x80 or above alone is ill-formed UTF-8: U+FFFD.
 */
static void
want_escape(int c, char *want, size_t cap)
{
	if (c == '"' || c == '\\')
		snprintf(want, cap, "\\%c", c);
	else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f')
		snprintf(want, cap, "\\%c", c == '\n' ? 'n' : c == '\r' ? 'r' :
		    c == '\t' ? 't' : c == '\b' ? 'b' : 'f');
	else if (c < 0x20)
		snprintf(want, cap, "\\u%04x", c);
	else if (c >= 0x80)
		snprintf(want, cap, "\\ufffd");
	else
		snprintf(want, cap, "%c", c);
}

START_TEST(test_escape_every_ascii)
{
	char in[1], out[16], want[16];
	int c;

	for (c = 0; c < 0x80; c++) {
		in[0] = (char)c;
		want_escape(c, want, sizeof(want));
		ck_assert(json_escape(out, sizeof(out), in, 1));
		ck_assert_msg(strcmp(out, want) == 0, "0x%02x: got '%s', want '%s'",
		    c, out, want);
	}
}
END_TEST

/*
 * Every byte at every position of strings up to 24 long, amid the plain
 * bytes on each side of the special ones: the writer scans eight bytes at
 * a time, and a special byte in any lane of a word, or a plain one taken
 * for special, must come out as the byte-wise rule says, both through
 * json_escape() and as a member's value.
 */
START_TEST(test_escape_every_byte_every_lane)
{
	static const char fillers[] = { ' ', '!', '#', '[', ']', 0x7f, 'a', '~' };
	char in[24], want[256], out[256], buf[320], one[16];
	struct json_buf j;
	size_t len, pos, f;
	int c;

	for (f = 0; f < sizeof(fillers); f++)
		for (len = 1; len <= sizeof(in); len++)
			for (pos = 0; pos < len; pos++)
				for (c = 0; c < 256; c++) {
					memset(in, fillers[f], len);
					in[pos] = (char)c;
					want_escape(c, one, sizeof(one));
					snprintf(want, sizeof(want), "%.*s%s%.*s",
					    (int)pos, in, one, (int)(len - pos - 1),
					    in + pos + 1);
					ck_assert(json_escape(out, sizeof(out), in, len));
					ck_assert_msg(strcmp(out, want) == 0,
					    "0x%02x at %zu of %zu: got '%s', want '%s'",
					    c, pos, len, out, want);
					json_begin(&j, buf, sizeof(buf));
					json_strn(&j, "k", in, len);
					ck_assert(json_finish(&j) > 0);
					ck_assert_int_eq(strncmp(buf, "{\"k\":\"", 6), 0);
					ck_assert_int_eq(strncmp(buf + 6, want,
					    strlen(want)), 0);
					ck_assert_str_eq(buf + 6 + strlen(want), "\"}\n");
				}
}
END_TEST

/* A key is escaped too, and a plain one of any length comes out whole. */
START_TEST(test_key_every_lane)
{
	char key[24], want[320], buf[320], one[16];
	struct json_buf j;
	size_t len, pos;
	int c;

	for (len = 1; len < sizeof(key); len++)
		for (pos = 0; pos < len; pos++)
			for (c = 1; c < 256; c++) {
				memset(key, 'k', len);
				key[pos] = (char)c;
				key[len] = '\0';
				want_escape(c, one, sizeof(one));
				snprintf(want, sizeof(want),
				    "{\"a\":1,\"%.*s%s%.*s\":2}\n", (int)pos, key,
				    one, (int)(len - pos - 1), key + pos + 1);
				json_begin(&j, buf, sizeof(buf));
				json_uint(&j, "a", 1);
				json_uint(&j, key, 2);
				ck_assert(json_finish(&j) > 0);
				ck_assert_str_eq(buf, want);
			}
}
END_TEST

START_TEST(test_escape_truncation)
{
	char out[8];

	/* ASCII is cut at the last byte that fits. */
	memset(out, 'z', sizeof(out));
	ck_assert(!json_escape(out, 4, "abcdef", 6));
	ck_assert_str_eq(out, "abc");
	/* An escape is never cut in half. */
	ck_assert(!json_escape(out, 4, "ab\n", 3));
	ck_assert_str_eq(out, "ab");
	ck_assert(!json_escape(out, 8, "ab\x01", 3));
	ck_assert_str_eq(out, "ab");
	/* Nor is a UTF-8 character. */
	ck_assert(!json_escape(out, 4, "a\xe2\x82\xac", 4));
	ck_assert_str_eq(out, "a");
	/* Exactly fitting is not truncation. */
	ck_assert(json_escape(out, 4, "abc", 3));
	ck_assert_str_eq(out, "abc");
	ck_assert(json_escape(out, 7, "\x01", 1));
	ck_assert_str_eq(out, "\\u0001");
	ck_assert(!json_escape(out, 0, "a", 1));
}
END_TEST

START_TEST(test_object_members)
{
	char buf[256];
	struct json_buf j;
	long n;
	const char *want = "{\"s\":\"v\",\"k\\\"q\":\"x\",\"n\":\"a\\u0000b\","
	    "\"i\":-42,\"min\":-9223372036854775808,"
	    "\"u\":18446744073709551615,\"t\":true,\"f\":false,\"e\":\"\"}\n";

	json_begin(&j, buf, sizeof(buf));
	json_str(&j, "s", "v");
	json_str(&j, "skipped", NULL);
	json_str(&j, "k\"q", "x");
	json_strn(&j, "n", "a\0bc", 3);
	json_strn(&j, "skipped", NULL, 3);
	json_int(&j, "i", -42);
	json_int(&j, "min", INT64_MIN);
	json_uint(&j, "u", UINT64_MAX);
	json_bool(&j, "t", true);
	json_bool(&j, "f", false);
	json_str(&j, "e", "");
	n = json_finish(&j);
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(n, (long)strlen(want));
}
END_TEST

START_TEST(test_empty_object)
{
	char buf[8];
	struct json_buf j;

	json_begin(&j, buf, sizeof(buf));
	ck_assert_int_eq(json_finish(&j), 3);
	ck_assert_str_eq(buf, "{}\n");
}
END_TEST

/* Writes the same object into a buffer of cap bytes. */
static long
fill(char *buf, size_t cap)
{
	struct json_buf j;

	json_begin(&j, buf, cap);
	json_str(&j, "path", "/a\"b");
	json_uint(&j, "n", 12345);
	return json_finish(&j);
}

START_TEST(test_overflow_boundary)
{
	const char *want = "{\"path\":\"/a\\\"b\",\"n\":12345}\n";
	size_t need = strlen(want);
	char buf[64];

	/* Exactly room for the object and its NUL. */
	ck_assert_int_eq(fill(buf, need + 1), (long)need);
	ck_assert_str_eq(buf, want);
	/* One byte less: -1 and no half object left behind. */
	memset(buf, 'x', sizeof(buf));
	ck_assert_int_eq(fill(buf, need), -1);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(fill(buf, 1), -1);
	ck_assert_int_eq(fill(NULL, 0), -1);
}
END_TEST

START_TEST(test_overflow_sticky)
{
	char buf[16];
	struct json_buf j;
	size_t len;

	json_begin(&j, buf, sizeof(buf));
	json_str(&j, "a", "this value does not fit");
	ck_assert(j.overflow);
	len = j.len;
	/* Later members that would fit on their own are not written. */
	json_bool(&j, "b", true);
	json_int(&j, "c", 1);
	json_str(&j, "d", "");
	ck_assert(j.overflow);
	ck_assert_uint_eq(j.len, len);
	ck_assert_int_eq(json_finish(&j), -1);
	ck_assert_str_eq(buf, "");
}
END_TEST

/* The validator the nesting tests (and check_probe*) rely on refuses what it must. */
START_TEST(test_validator_self)
{
	ck_assert(json_valid("{\"a\":[1,-2,true,false,null,{\"b\":\"\\u00e9\"}]}\n"));
	ck_assert(!json_valid("{\"a\":1,}\n"));
	ck_assert(!json_valid("{\"a\":\"x\ny\"}\n"));
	ck_assert(!json_valid("{\"a\":\"\\q\"}\n"));
	ck_assert(!json_valid("{\"a\":1}"));
	ck_assert(!json_valid("{\"a\" 1}\n"));
}
END_TEST

/* ---- nesting ------------------------------------------------------------- */

START_TEST(test_nested_layout)
{
	char buf[512];
	struct json_buf j;
	const char *want = "{\"a\":1,\"o\":{\"s\":\"x\",\"n\":null,"
	    "\"e\":{}},\"l\":[{\"k\":true},{},[],\"v\",-3,null,false],"
	    "\"z\":[]}\n";

	json_begin(&j, buf, sizeof(buf));
	json_int(&j, "a", 1);
	json_open_object(&j, "o");
	json_str(&j, "s", "x");
	json_null(&j, "n");
	json_open_object(&j, "e");
	json_close(&j);
	json_close(&j);
	json_open_array(&j, "l");
	json_open_object(&j, NULL);
	json_bool(&j, "k", true);
	json_close(&j);
	json_open_object(&j, NULL);
	json_close(&j);
	json_open_array(&j, NULL);
	json_close(&j);
	json_str(&j, NULL, "v");
	json_str(&j, NULL, NULL);	/* skipped in an array too */
	json_int(&j, NULL, -3);
	json_null(&j, NULL);
	json_bool(&j, NULL, false);
	json_close(&j);
	json_open_array(&j, "z");
	json_close(&j);
	ck_assert_int_eq(json_finish(&j), (long)strlen(want));
	ck_assert_str_eq(buf, want);
}
END_TEST

/* levels open levels, the outer object included: arrays and objects in turn. */
static long
nest(char *buf, size_t cap, unsigned levels)
{
	struct json_buf j;
	unsigned i;

	json_begin(&j, buf, cap);
	for (i = 1; i < levels; i++) {
		if (i % 2 == 1)
			json_open_array(&j, "d");
		else
			json_open_object(&j, NULL);
	}
	for (i = 1; i < levels; i++)
		json_close(&j);
	return json_finish(&j);
}

START_TEST(test_depth_limit)
{
	char buf[1024];

	ck_assert_int_eq(nest(buf, sizeof(buf), 1), 3);
	ck_assert_str_eq(buf, "{}\n");
	ck_assert_int_eq(nest(buf, sizeof(buf), 4), 17);
	ck_assert_str_eq(buf, "{\"d\":[{\"d\":[]}]}\n");
	ck_assert_int_gt(nest(buf, sizeof(buf), JSON_MAX_DEPTH), 0);
	ck_assert_int_eq(nest(buf, sizeof(buf), JSON_MAX_DEPTH + 1), -1);
	ck_assert_str_eq(buf, "");
}
END_TEST

/* Each misuse would make invalid JSON: all of them end in -1 and "". */
START_TEST(test_nesting_misuse)
{
	char buf[128];
	struct json_buf j;

	json_begin(&j, buf, sizeof(buf));
	json_open_array(&j, "l");
	json_int(&j, "key_in_array", 1);
	ck_assert(j.overflow);
	json_close(&j);
	ck_assert_int_eq(json_finish(&j), -1);
	ck_assert_str_eq(buf, "");

	json_begin(&j, buf, sizeof(buf));
	json_bool(&j, NULL, true);	/* no key in an object */
	ck_assert_int_eq(json_finish(&j), -1);

	json_begin(&j, buf, sizeof(buf));
	json_close(&j);			/* the outer object is json_finish()'s */
	ck_assert_int_eq(json_finish(&j), -1);

	json_begin(&j, buf, sizeof(buf));
	json_open_object(&j, "left_open");
	ck_assert(!j.overflow);
	ck_assert_int_eq(json_finish(&j), -1);
	ck_assert_str_eq(buf, "");

	/* after json_finish() nothing more lands behind the newline */
	json_begin(&j, buf, sizeof(buf));
	ck_assert_int_eq(json_finish(&j), 3);
	json_str(&j, "late", "x");
	ck_assert(j.overflow);
	ck_assert_str_eq(buf, "{}\n");
}
END_TEST

/* Overflow inside a nested level: all or nothing, as at the top. */
START_TEST(test_nested_overflow_boundary)
{
	const char *want = "{\"o\":{\"l\":[1,\"a\\\"b\"]}}\n";
	size_t need = strlen(want);
	char buf[64];
	struct json_buf j;
	size_t cap;

	for (cap = need - 3; cap <= need + 1; cap++) {
		memset(buf, 'x', sizeof(buf));
		json_begin(&j, buf, cap);
		json_open_object(&j, "o");
		json_open_array(&j, "l");
		json_int(&j, NULL, 1);
		json_str(&j, NULL, "a\"b");
		json_close(&j);
		json_close(&j);
		if (cap < need + 1) {
			ck_assert_int_eq(json_finish(&j), -1);
			ck_assert_str_eq(buf, "");
		} else {
			ck_assert_int_eq(json_finish(&j), (long)need);
			ck_assert_str_eq(buf, want);
		}
	}
}
END_TEST

/* ---- the reader ------------------------------------------------------------ */

/* Skips the whole text; 0 if it is one valid JSON value. */
static int
rd_valid(const char *text)
{
	struct json_rd r;

	json_rd_init(&r, text, strlen(text));
	if (json_rd_skip(&r) == -1)
		return -1;
	return json_rd_finish(&r);
}

START_TEST(test_reader_walk)
{
	static const char text[] =
	    " {\"a\": [1, -2, 3.5e2, true, false, null], \"b\\u00e9\": {\"c\": \"x\"},"
	    " \"n\": 9223372036854775807, \"m\": -9223372036854775808} ";
	struct json_rd r, saved;
	char key[16], buf[8];
	int64_t v;
	size_t len;

	json_rd_init(&r, text, strlen(text));
	ck_assert_int_eq(json_rd_peek(&r), JSON_T_OBJECT);
	ck_assert_int_eq(json_rd_enter(&r), 0);
	ck_assert_int_eq(json_rd_next(&r, key, sizeof(key)), 1);
	ck_assert_str_eq(key, "a");
	ck_assert_int_eq(json_rd_peek(&r), JSON_T_ARRAY);
	saved = r;
	ck_assert_int_eq(json_rd_skip(&r), 0);
	ck_assert_int_eq(json_rd_next(&r, key, sizeof(key)), 1);
	ck_assert_str_eq(key, "b\xc3\xa9");
	ck_assert_int_eq(json_rd_skip(&r), 0);
	ck_assert_int_eq(json_rd_next(&r, key, sizeof(key)), 1);
	ck_assert_int_eq(json_rd_int(&r, &v), 0);
	ck_assert(v == INT64_MAX);
	ck_assert_int_eq(json_rd_next(&r, key, sizeof(key)), 1);
	ck_assert_int_eq(json_rd_int(&r, &v), 0);
	ck_assert(v == INT64_MIN);
	ck_assert_int_eq(json_rd_next(&r, key, sizeof(key)), 0);
	ck_assert_int_eq(json_rd_finish(&r), 0);

	/* a saved position reads the array again */
	ck_assert_int_eq(json_rd_enter(&saved), 0);
	ck_assert_int_eq(json_rd_next(&saved, NULL, 0), 1);
	ck_assert_int_eq(json_rd_int(&saved, &v), 0);
	ck_assert(v == 1);
	ck_assert_int_eq(json_rd_next(&saved, NULL, 0), 1);
	ck_assert_int_eq(json_rd_int(&saved, &v), 0);
	ck_assert(v == -2);
	ck_assert_int_eq(json_rd_next(&saved, NULL, 0), 1);
	ck_assert_int_eq(json_rd_int(&saved, &v), -1);	/* 3.5e2 is no integer */
	ck_assert_str_eq(saved.err, "expected an integer");

	/* strings: escapes, surrogate pairs, cut to the buffer */
	json_rd_init(&r, "\"a\\\"\\\\\\/\\n\\ud83d\\ude00z\"", 26);
	ck_assert_int_eq(json_rd_string(&r, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, 10);		/* a " \ / LF, 4 bytes of U+1F600, z */
	ck_assert_str_eq(buf, "a\"\\/\n\xf0\x9f");
}
END_TEST

static const struct {
	const char *text;
	int ok;
} rd_cases[] = {
	{ "{}", 0 }, { "[]", 0 }, { "\"\"", 0 }, { "0", 0 }, { "-0.5E+3", 0 },
	{ "[[[]]]", 0 }, { "{\"a\":{\"b\":[{}]}}", 0 }, { "\"\xc3\xa9\"", 0 },
	{ "", -1 }, { "{", -1 }, { "[1,]", -1 }, { "{\"a\":1,}", -1 },
	{ "{'a':1}", -1 }, { "[01]", -1 }, { "[1.]", -1 }, { "[.5]", -1 },
	{ "[+1]", -1 }, { "[1e]", -1 }, { "[tru]", -1 }, { "[nul]", -1 },
	{ "\"a\nb\"", -1 }, { "\"\\x\"", -1 }, { "\"\\u12\"", -1 },
	{ "\"\\udc00\"", -1 }, { "\"\\ud800x\"", -1 }, { "\"\xc3\"", -1 },
	{ "\"\xed\xa0\x80\"", -1 }, { "{} {}", -1 }, { "{\"a\" 1}", -1 },
	{ "[1 2]", -1 }, { "/* c */ {}", -1 }, { "\"abc", -1 },
};

START_TEST(test_reader_table)
{
	ck_assert_msg(rd_valid(rd_cases[_i].text) == rd_cases[_i].ok,
	    "case %d: '%s'", _i, rd_cases[_i].text);
}
END_TEST

START_TEST(test_reader_limits)
{
	char deep[2 * JSON_RD_MAX_DEPTH + 3];
	struct json_rd r;
	int64_t v;
	size_t i;

	/* JSON_RD_MAX_DEPTH levels are fine, one more is refused */
	for (i = 0; i < JSON_RD_MAX_DEPTH; i++) {
		deep[i] = '[';
		deep[2 * JSON_RD_MAX_DEPTH - 1 - i] = ']';
	}
	deep[2 * JSON_RD_MAX_DEPTH] = '\0';
	ck_assert_int_eq(rd_valid(deep), 0);
	memmove(deep + 1, deep, 2 * JSON_RD_MAX_DEPTH);
	deep[0] = '[';
	deep[2 * JSON_RD_MAX_DEPTH + 1] = ']';
	deep[2 * JSON_RD_MAX_DEPTH + 2] = '\0';
	json_rd_init(&r, deep, strlen(deep));
	ck_assert_int_eq(json_rd_skip(&r), -1);
	ck_assert_str_eq(r.err, "nested too deeply");
	ck_assert_uint_eq(r.err_off, JSON_RD_MAX_DEPTH);

	json_rd_init(&r, "9223372036854775808", 19);
	ck_assert_int_eq(json_rd_int(&r, &v), -1);
	ck_assert_str_eq(r.err, "integer out of range");
	/* after an error every call fails */
	ck_assert_int_eq(json_rd_peek(&r), JSON_T_ERROR);
	ck_assert_int_eq(json_rd_skip(&r), -1);
	/* a length, not a NUL, ends the text */
	json_rd_init(&r, "[1]]", 3);
	ck_assert_int_eq(json_rd_skip(&r), 0);
	ck_assert_int_eq(json_rd_finish(&r), 0);
}
END_TEST

static Suite *
json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc;

	tc = tcase_create("escape");
	tcase_add_loop_test(tc, test_escape_table, 0,
	    (int)(sizeof(esc_cases) / sizeof(esc_cases[0])));
	tcase_add_test(tc, test_escape_truncation);
	tcase_add_test(tc, test_escape_every_ascii);
	tcase_add_test(tc, test_escape_every_byte_every_lane);
	tcase_add_test(tc, test_key_every_lane);
	suite_add_tcase(s, tc);

	tc = tcase_create("object");
	tcase_add_test(tc, test_object_members);
	tcase_add_test(tc, test_empty_object);
	suite_add_tcase(s, tc);

	tc = tcase_create("nesting");
	tcase_add_test(tc, test_validator_self);
	tcase_add_test(tc, test_nested_layout);
	tcase_add_test(tc, test_depth_limit);
	tcase_add_test(tc, test_nesting_misuse);
	tcase_add_test(tc, test_nested_overflow_boundary);
	suite_add_tcase(s, tc);

	tc = tcase_create("overflow");
	tcase_add_test(tc, test_overflow_boundary);
	tcase_add_test(tc, test_overflow_sticky);
	suite_add_tcase(s, tc);

	tc = tcase_create("reader");
	tcase_add_test(tc, test_reader_walk);
	tcase_add_loop_test(tc, test_reader_table, 0,
	    sizeof(rd_cases) / sizeof(rd_cases[0]));
	tcase_add_test(tc, test_reader_limits);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(json_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
