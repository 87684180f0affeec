/* SPDX-License-Identifier: MIT */
/*
 * check_parse: the value parsers of parse.c, accepted and rejected
 * spellings, bounds and overflow, and the exact error phrases.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "parse.h"

/* ---- durations --------------------------------------------------------- */

START_TEST(duration_units)
{
	static const struct {
		const char *s;
		uint64_t ms;
	} ok[] = {
		{ "250ms", 250 }, { "5s", 5000 }, { "2m", 120000 }, { "1h", 3600000 },
		{ "30", 30000 }, { "0", 0 }, { "0ms", 0 }, { "007s", 7000 },
	};
	char err[PARSE_ERRLEN];
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 42;
		ck_assert_msg(parse_duration_ms(ok[i].s, &v, err) == 0, "%s: %s", ok[i].s, err);
		ck_assert_uint_eq(v, ok[i].ms);
	}
}
END_TEST

START_TEST(duration_bad)
{
	static const char *const bad[] = {
		"", "s", "5x", "5 s", " 5s", "5s ", "-5s", "+5", "1.5s", "5S", "5sec", "ms",
		"1d", "0x10", "5msx",
	};
	char err[PARSE_ERRLEN];
	uint64_t v = 42;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse_duration_ms(bad[i], &v, err) == -1, "%s accepted", bad[i]);
		ck_assert_uint_eq(v, 42);
	}
	parse_duration_ms("5x", &v, err);
	ck_assert_str_eq(err, "'5x' is not a duration like 250ms, 5s, 2m, 1h (a bare number is seconds)");
}
END_TEST

START_TEST(duration_overflow)
{
	char err[PARSE_ERRLEN];
	uint64_t v;

	/* 2^64 / 3600000 is about 5.1e12 */
	ck_assert_int_eq(parse_duration_ms("5124095576030h", &v, err), 0);
	ck_assert_int_eq(parse_duration_ms("5124095576031h", &v, err), -1);
	ck_assert_str_eq(err, "'5124095576031h' is too long a duration");
	ck_assert_int_eq(parse_duration_ms("18446744073709551616ms", &v, err), -1);
	ck_assert_int_eq(parse_duration_ms("18446744073709551615ms", &v, err), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(parse_duration_ms("99999999999999999999999999", &v, err), -1);
}
END_TEST

/* ---- sizes --------------------------------------------------------------- */

START_TEST(size_units)
{
	char err[PARSE_ERRLEN];
	uint64_t v;

	ck_assert_int_eq(parse_size("512", &v, err), 0);
	ck_assert_uint_eq(v, 512);
	ck_assert_int_eq(parse_size("64k", &v, err), 0);
	ck_assert_uint_eq(v, 65536);
	ck_assert_int_eq(parse_size("1m", &v, err), 0);
	ck_assert_uint_eq(v, 1048576);
	ck_assert_int_eq(parse_size("1G", &v, err), 0);
	ck_assert_uint_eq(v, 1073741824);
	ck_assert_int_eq(parse_size("0", &v, err), 0);
	ck_assert_uint_eq(v, 0);
}
END_TEST

START_TEST(size_bad)
{
	static const char *const bad[] = {
		"", "k", "1kb", "1 k", "1t", "-1", "1.5m", "0x10", " 1",
	};
	char err[PARSE_ERRLEN];
	uint64_t v = 7;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse_size(bad[i], &v, err) == -1, "%s accepted", bad[i]);
		ck_assert_uint_eq(v, 7);
	}
	parse_size("1kb", &v, err);
	ck_assert_str_eq(err, "'1kb' is not a size like 512, 64k, 1m, 1g (bytes; k = 1024)");
}
END_TEST

START_TEST(size_overflow)
{
	char err[PARSE_ERRLEN];
	uint64_t v;

	/* 2^64 / 2^30 = 2^34 = 17179869184 */
	ck_assert_int_eq(parse_size("17179869183g", &v, err), 0);
	ck_assert_uint_eq(v, 17179869183ULL << 30);
	ck_assert_int_eq(parse_size("17179869184g", &v, err), -1);
	ck_assert_str_eq(err, "'17179869184g' is too large a size");
	ck_assert_int_eq(parse_size("18446744073709551616", &v, err), -1);
	ck_assert_int_eq(parse_size("18446744073709551615", &v, err), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
}
END_TEST

/* ---- integers and booleans --------------------------------------------- */

START_TEST(uint_bounds)
{
	char err[PARSE_ERRLEN];
	uint64_t v;

	ck_assert_int_eq(parse_uint("1", 1, 256, &v, err), 0);
	ck_assert_uint_eq(v, 1);
	ck_assert_int_eq(parse_uint("256", 1, 256, &v, err), 0);
	ck_assert_uint_eq(v, 256);
	ck_assert_int_eq(parse_uint("0", 1, 256, &v, err), -1);
	ck_assert_str_eq(err, "'0' is not a number from 1 to 256");
	ck_assert_int_eq(parse_uint("257", 1, 256, &v, err), -1);
	ck_assert_int_eq(parse_uint("", 0, 10, &v, err), -1);
	ck_assert_int_eq(parse_uint("-1", 0, 10, &v, err), -1);
	ck_assert_int_eq(parse_uint("1 ", 0, 10, &v, err), -1);
	ck_assert_int_eq(parse_uint("99999999999999999999", 0, UINT64_MAX, &v, err), -1);
	ck_assert_int_eq(parse_uint("18446744073709551615", 0, UINT64_MAX, &v, err), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
}
END_TEST

START_TEST(bool_values)
{
	static const char *const yes[] = { "yes", "true", "on", "1", "YES", "True", "On" };
	static const char *const no[] = { "no", "false", "off", "0", "NO", "False", "OFF" };
	static const char *const bad[] = { "", "y", "n", "2", "yess", "enable", " yes" };
	char err[PARSE_ERRLEN];
	bool b;
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		ck_assert_int_eq(parse_bool(yes[i], &b, err), 0);
		ck_assert(b);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = true;
		ck_assert_int_eq(parse_bool(no[i], &b, err), 0);
		ck_assert(!b);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse_bool(bad[i], &b, err) == -1, "%s accepted", bad[i]);
	parse_bool("maybe", &b, err);
	ck_assert_str_eq(err, "'maybe' is not one of yes, no, true, false, on, off, 1, 0");
}
END_TEST

/* ---- host:port ----------------------------------------------------------- */

START_TEST(hostport_ok)
{
	struct hostport hp;
	char err[PARSE_ERRLEN];

	ck_assert_int_eq(parse_hostport("payroll.corp.local:443", -1, &hp, err), 0);
	ck_assert_str_eq(hp.host, "payroll.corp.local");
	ck_assert_uint_eq(hp.port, 443);
	ck_assert_int_eq(parse_hostport("10.1.2.3:1", -1, &hp, err), 0);
	ck_assert_str_eq(hp.host, "10.1.2.3");
	ck_assert_uint_eq(hp.port, 1);
	ck_assert_int_eq(parse_hostport("[2001:db8::1]:65535", -1, &hp, err), 0);
	ck_assert_str_eq(hp.host, "2001:db8::1");
	ck_assert_uint_eq(hp.port, 65535);
	ck_assert_int_eq(parse_hostport("[::]:8443", -1, &hp, err), 0);
	ck_assert_str_eq(hp.host, "::");
	ck_assert_int_eq(parse_hostport("legacy_host-1:80", -1, &hp, err), 0);
	ck_assert_str_eq(hp.host, "legacy_host-1");
	/* default port */
	ck_assert_int_eq(parse_hostport("example.com", 443, &hp, err), 0);
	ck_assert_str_eq(hp.host, "example.com");
	ck_assert_uint_eq(hp.port, 443);
	ck_assert_int_eq(parse_hostport("[::1]", 8443, &hp, err), 0);
	ck_assert_str_eq(hp.host, "::1");
	ck_assert_uint_eq(hp.port, 8443);
}
END_TEST

START_TEST(hostport_bad)
{
	static const char *const bad[] = {
		"", ":443", "host:", "host:0", "host:65536", "host:-1", "host:+1", "host:44 3",
		"host:443x", "[::1]:", "[::1]x", "[::1", "[]:443", "[zz::1]:443", "::1:443",
		"2001:db8::1", "ho st:443", "a..b:443", ".a:443", "host", "*:443",
	};
	struct hostport hp;
	char err[PARSE_ERRLEN];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse_hostport(bad[i], -1, &hp, err) == -1, "%s accepted", bad[i]);
	parse_hostport("host:70000", -1, &hp, err);
	ck_assert_str_eq(err, "'host:70000': port '70000' is not a number from 1 to 65535");
	parse_hostport("host", -1, &hp, err);
	ck_assert_str_eq(err, "'host' has no port; expected host:port");
	parse_hostport("::1:443", -1, &hp, err);
	ck_assert_str_eq(err, "'::1:443': an IPv6 address needs brackets, like [2001:db8::1]:443");
	parse_hostport("[fe80::zz]:443", -1, &hp, err);
	ck_assert_str_eq(err, "'[fe80::zz]:443': 'fe80::zz' is not an IPv6 address");
	parse_hostport("a b:1", -1, &hp, err);
	ck_assert_str_eq(err, "'a b:1' is not host:port or [IPv6]:port (like backend.example:443)");
}
END_TEST

START_TEST(hostport_long)
{
	struct hostport hp;
	char err[PARSE_ERRLEN], in[600];

	/* 255-byte names fit HOSTPORT_HOSTLEN; 256 do not */
	memset(in, 'a', sizeof(in));
	for (size_t i = 60; i < 255; i += 61)
		in[i] = '.';
	memcpy(in + 255, ":1", 3);
	ck_assert_msg(parse_hostport(in, -1, &hp, err) == 0, "%s", err);
	ck_assert_uint_eq(strlen(hp.host), 255);
	memset(in, 'a', sizeof(in));
	for (size_t i = 60; i < 256; i += 61)
		in[i] = '.';
	memcpy(in + 256, ":1", 3);
	ck_assert_int_eq(parse_hostport(in, -1, &hp, err), -1);
	/* a long value is cut in the message, which still says what is allowed */
	memset(in, 'x', 500);
	in[500] = '\0';
	ck_assert_int_eq(parse_hostport(in, -1, &hp, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "xxx...' is not host:port"));
	ck_assert_uint_lt(strlen(err), PARSE_ERRLEN);
}
END_TEST

/* What SNI, Host matches and certificate checks accept: what conf and probe share. */
START_TEST(server_names)
{
	char in[300];

	ck_assert(parse_is_server_name("erp.example.com", false));
	ck_assert(parse_is_server_name("*.example.com", true));
	ck_assert(!parse_is_server_name("*.example.com", false));
	ck_assert(!parse_is_server_name("erp.example.com.", false));
	ck_assert(!parse_is_server_name("erp example", false));
	ck_assert(!parse_is_server_name("", false));
	memset(in, 'a', sizeof(in));
	for (size_t i = 60; i < sizeof(in); i += 61)
		in[i] = '.';
	in[253] = '\0';		/* 253 bytes: the longest */
	ck_assert(parse_is_server_name(in, false));
	in[253] = 'a';
	in[254] = '\0';
	ck_assert(!parse_is_server_name(in, false));
}
END_TEST

/* What a [route NAME] or [listener NAME] may be called: what conf and probe share. */
START_TEST(section_names)
{
	ck_assert(parse_is_name("payroll"));
	ck_assert(parse_is_name("a_b.c-D9"));
	ck_assert(parse_is_name("-"));		/* conf refuses it by itself */
	ck_assert(!parse_is_name(""));
	ck_assert(!parse_is_name("a b"));
	ck_assert(!parse_is_name("a:b"));
	ck_assert(!parse_is_name("caf\xc3\xa9"));
	ck_assert(parse_is_name_char('_'));
	ck_assert(!parse_is_name_char('/'));
	ck_assert(!parse_is_name_char(0xe9));
}
END_TEST

/* ---- TLS versions --------------------------------------------------------- */

START_TEST(tls_versions)
{
	char err[PARSE_ERRLEN];
	int v;

	ck_assert_int_eq(parse_tls_version("1.0", &v, err), 0);
	ck_assert_int_eq(v, TLS1_VERSION);
	ck_assert_int_eq(parse_tls_version("1.1", &v, err), 0);
	ck_assert_int_eq(v, TLS1_1_VERSION);
	ck_assert_int_eq(parse_tls_version("1.2", &v, err), 0);
	ck_assert_int_eq(v, TLS1_2_VERSION);
	ck_assert_int_eq(parse_tls_version("1.3", &v, err), 0);
	ck_assert_int_eq(v, TLS1_3_VERSION);
	ck_assert_int_eq(parse_tls_version("1.4", &v, err), -1);
	ck_assert_str_eq(err, "'1.4' is not one of 1.0, 1.1, 1.2, 1.3");
	ck_assert_int_eq(parse_tls_version("", &v, err), -1);
	ck_assert_int_eq(parse_tls_version("1", &v, err), -1);
	ck_assert_int_eq(parse_tls_version("1.2 ", &v, err), -1);
	ck_assert_int_eq(parse_tls_version("TLSv1.2", &v, err), -1);
	ck_assert_str_eq(tls_version_name(TLS1_VERSION), "1.0");
	ck_assert_str_eq(tls_version_name(TLS1_3_VERSION), "1.3");
	ck_assert_str_eq(tls_version_name(SSL3_VERSION), "?");
}
END_TEST

START_TEST(tls_ranges)
{
	struct tls_range r;
	char err[PARSE_ERRLEN], buf[16];

	ck_assert_int_eq(parse_tls_range("off", &r, err), 0);
	ck_assert(r.off);
	tls_range_format(&r, buf, sizeof(buf));
	ck_assert_str_eq(buf, "off");
	ck_assert_int_eq(parse_tls_range("1.0", &r, err), 0);
	ck_assert(!r.off);
	ck_assert_int_eq(r.min, TLS1_VERSION);
	ck_assert_int_eq(r.max, TLS1_VERSION);
	tls_range_format(&r, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1.0");
	ck_assert_int_eq(parse_tls_range("1.0-1.2", &r, err), 0);
	ck_assert_int_eq(r.min, TLS1_VERSION);
	ck_assert_int_eq(r.max, TLS1_2_VERSION);
	tls_range_format(&r, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1.0-1.2");
	ck_assert_int_eq(parse_tls_range("1.2 - 1.3", &r, err), 0);
	ck_assert_int_eq(r.min, TLS1_2_VERSION);
	ck_assert_int_eq(r.max, TLS1_3_VERSION);
	ck_assert_int_eq(parse_tls_range("1.1-1.1", &r, err), 0);
	ck_assert_int_eq(r.min, TLS1_1_VERSION);
	ck_assert_int_eq(r.max, TLS1_1_VERSION);
}
END_TEST

START_TEST(tls_ranges_bad)
{
	static const char *const bad[] = {
		"", "1.4", "1.0-", "-1.2", "1.0-1.4", "1.0--1.2", "OFF", "on", "1.0-1.2-1.3", "1.0 1.2",
	};
	struct tls_range r;
	char err[PARSE_ERRLEN];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse_tls_range(bad[i], &r, err) == -1, "%s accepted", bad[i]);
	parse_tls_range("1.4", &r, err);
	ck_assert_str_eq(err, "'1.4' is not one of off, 1.0, 1.1, 1.2, 1.3 or a range like 1.0-1.2");
	ck_assert_int_eq(parse_tls_range("1.2-1.0", &r, err), -1);
	ck_assert_str_eq(err, "'1.2-1.0' is a reversed range; write the lower version first (1.0-1.2)");
}
END_TEST

/* ---- pins ------------------------------------------------------------------ */

START_TEST(pin_ok)
{
	unsigned char pin[32], want[32];
	char err[PARSE_ERRLEN], in[64];
	size_t i;

	/* base64 of bytes 0..31 */
	for (i = 0; i < 32; i++)
		want[i] = (unsigned char)i;
	ck_assert_int_eq(parse_spki_pin("sha256//AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
	    pin, err), 0);
	ck_assert_mem_eq(pin, want, 32);
	/* all 0xff: 42 '/' digits and "8=" */
	memset(want, 0xff, 32);
	memcpy(in, "sha256//", 8);
	memset(in + 8, '/', 42);
	memcpy(in + 50, "8=", 3);
	ck_assert_int_eq(parse_spki_pin(in, pin, err), 0);
	ck_assert_mem_eq(pin, want, 32);
}
END_TEST

START_TEST(pin_bad)
{
	static const char *const bad[] = {
		"",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",			/* no prefix */
		"sha1//AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		"sha256//AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",		/* no '=' */
		"sha256//AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==",		/* 31 bytes */
		"sha256//AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ==",	/* 34 bytes */
		"sha256//AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=",		/* unused bits set */
		"sha256//AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd*h8=",		/* bad digit */
		"sha256//AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= ",
		"sha256//",
	};
	unsigned char pin[32];
	char err[PARSE_ERRLEN];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse_spki_pin(bad[i], pin, err) == -1, "%s accepted", bad[i]);
	parse_spki_pin("sha256//abc", pin, err);
	ck_assert_str_eq(err, "'sha256//abc' is not a pin like sha256//BASE64 "
	    "(44 base64 characters: SHA-256 of the public key)");
}
END_TEST

static Suite *
parse_suite(void)
{
	Suite *s = suite_create("parse");
	TCase *tc;

	tc = tcase_create("duration");
	tcase_add_test(tc, duration_units);
	tcase_add_test(tc, duration_bad);
	tcase_add_test(tc, duration_overflow);
	suite_add_tcase(s, tc);
	tc = tcase_create("size");
	tcase_add_test(tc, size_units);
	tcase_add_test(tc, size_bad);
	tcase_add_test(tc, size_overflow);
	suite_add_tcase(s, tc);
	tc = tcase_create("uint_bool");
	tcase_add_test(tc, uint_bounds);
	tcase_add_test(tc, bool_values);
	suite_add_tcase(s, tc);
	tc = tcase_create("hostport");
	tcase_add_test(tc, hostport_ok);
	tcase_add_test(tc, hostport_bad);
	tcase_add_test(tc, hostport_long);
	tcase_add_test(tc, server_names);
	tcase_add_test(tc, section_names);
	suite_add_tcase(s, tc);
	tc = tcase_create("tls");
	tcase_add_test(tc, tls_versions);
	tcase_add_test(tc, tls_ranges);
	tcase_add_test(tc, tls_ranges_bad);
	suite_add_tcase(s, tc);
	tc = tcase_create("pin");
	tcase_add_test(tc, pin_ok);
	tcase_add_test(tc, pin_bad);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(parse_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
