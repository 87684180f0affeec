/* SPDX-License-Identifier: MIT */
/*
 * check_probe_wire: the bytes probe builds and parses by hand: the
 * ClientHello layout and its limits, ServerHello and alert parsing (every
 * prefix needs more, malformed input is refused), the HEAD / request and
 * the HTTP response head.
 */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "probe_wire.h"

/* ---- ClientHello --------------------------------------------------------- */

static const unsigned char rnd[32] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32
};

START_TEST(test_hello_layout_sni)
{
	static const uint16_t suites[] = { 0x000a };
	unsigned char b[256];
	int n = probe_client_hello(0x0301, suites, 1, "localhost", rnd, b,
	    sizeof(b));

	ck_assert_int_eq(n, 72);
	ck_assert_int_eq(b[0], 22);
	ck_assert_int_eq(b[1], 3);
	ck_assert_int_eq(b[2], 1);
	ck_assert_int_eq(b[3] << 8 | b[4], n - 5);	/* record length */
	ck_assert_int_eq(b[5], 1);			/* client_hello */
	ck_assert_int_eq(b[6] << 16 | b[7] << 8 | b[8], n - 9);
	ck_assert_int_eq(b[9] << 8 | b[10], 0x0301);
	ck_assert_mem_eq(b + 11, rnd, 32);
	ck_assert_int_eq(b[43], 0);			/* no session id */
	ck_assert_int_eq(b[44] << 8 | b[45], 4);	/* 2 suites */
	ck_assert_int_eq(b[46] << 8 | b[47], 0x000a);
	ck_assert_int_eq(b[48] << 8 | b[49], 0x00ff);	/* RFC 5746 SCSV */
	ck_assert_int_eq(b[50], 1);			/* one method: null */
	ck_assert_int_eq(b[51], 0);
	ck_assert_int_eq(b[52] << 8 | b[53], 18);	/* extensions */
	ck_assert_int_eq(b[54] << 8 | b[55], 0);	/* server_name */
	ck_assert_int_eq(b[56] << 8 | b[57], 14);
	ck_assert_int_eq(b[58] << 8 | b[59], 12);
	ck_assert_int_eq(b[60], 0);			/* host_name */
	ck_assert_int_eq(b[61] << 8 | b[62], 9);
	ck_assert_mem_eq(b + 63, "localhost", 9);
}
END_TEST

START_TEST(test_hello_no_sni_and_limits)
{
	static const uint16_t suites[] = { 0x0005, 0x0004 };
	unsigned char b[256];
	char big[300];
	int n;

	n = probe_client_hello(0x0303, suites, 2, NULL, rnd, b, sizeof(b));
	ck_assert_int_eq(n, 9 + 2 + 32 + 1 + 2 + 6 + 2 + 2);
	ck_assert_int_eq(b[9] << 8 | b[10], 0x0303);
	ck_assert_int_eq(b[44] << 8 | b[45], 6);
	ck_assert_int_eq(b[n - 2] << 8 | b[n - 1], 0);	/* empty extensions */
	/* exactly enough room, one byte too little */
	ck_assert_int_eq(probe_client_hello(0x0303, suites, 2, NULL, rnd, b,
	    (size_t)n), n);
	ck_assert_int_eq(probe_client_hello(0x0303, suites, 2, NULL, rnd, b,
	    (size_t)n - 1), -1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(probe_client_hello(0x0301, suites, 2, big, rnd, b,
	    sizeof(b)), -1);
}
END_TEST

/* ---- ServerHello --------------------------------------------------------- */

/* A ServerHello record: 32-byte session id, suite, optional RI extension. */
static size_t
server_hello(unsigned char *b, uint16_t version, uint16_t suite, bool ri,
    bool exts)
{
	size_t body = 2 + 32 + 1 + 32 + 2 + 1 + (exts ? 2 + (ri ? 5 : 0) : 0);
	size_t n = 0;

	b[n++] = 22;
	b[n++] = 3;
	b[n++] = 1;
	b[n++] = (unsigned char)((body + 4) >> 8);
	b[n++] = (unsigned char)(body + 4);
	b[n++] = 2;
	b[n++] = 0;
	b[n++] = (unsigned char)(body >> 8);
	b[n++] = (unsigned char)body;
	b[n++] = (unsigned char)(version >> 8);
	b[n++] = (unsigned char)version;
	memset(b + n, 0x11, 32);
	n += 32;
	b[n++] = 32;
	memset(b + n, 0x22, 32);
	n += 32;
	b[n++] = (unsigned char)(suite >> 8);
	b[n++] = (unsigned char)suite;
	b[n++] = 0;
	if (exts) {
		b[n++] = 0;
		b[n++] = ri ? 5 : 0;
		if (ri) {
			b[n++] = 0xff;
			b[n++] = 0x01;
			b[n++] = 0;
			b[n++] = 1;
			b[n++] = 0;
		}
	}
	return n;
}

START_TEST(test_server_hello_ri)
{
	unsigned char b[256];
	struct probe_hello h;
	size_t n = server_hello(b, 0x0301, 0x000a, true, true), i;

	ck_assert_int_eq(probe_parse_server_hello(b, n, &h), 1);
	ck_assert(!h.alert);
	ck_assert_uint_eq(h.version, 0x0301);
	ck_assert_uint_eq(h.suite, 0x000a);
	ck_assert(h.reneg_info);
	/* every strict prefix needs more bytes */
	for (i = 0; i < n; i++)
		ck_assert_msg(probe_parse_server_hello(b, i, &h) == 0,
		    "prefix %zu", i);
	/* a Certificate record after it changes nothing */
	memcpy(b + n, "\x16\x03\x01\x00\x04\x0b\x00\x00\x00", 9);
	ck_assert_int_eq(probe_parse_server_hello(b, n + 9, &h), 1);
	ck_assert_uint_eq(h.suite, 0x000a);
}
END_TEST

START_TEST(test_server_hello_no_ri)
{
	unsigned char b[256];
	struct probe_hello h;
	size_t n;

	n = server_hello(b, 0x0302, 0x0005, false, false);
	ck_assert_int_eq(probe_parse_server_hello(b, n, &h), 1);
	ck_assert_uint_eq(h.version, 0x0302);
	ck_assert_uint_eq(h.suite, 0x0005);
	ck_assert(!h.reneg_info);
	n = server_hello(b, 0x0301, 0x0004, false, true);	/* empty extension block */
	ck_assert_int_eq(probe_parse_server_hello(b, n, &h), 1);
	ck_assert(!h.reneg_info);
}
END_TEST

START_TEST(test_server_hello_alert)
{
	static const unsigned char a[] = { 21, 3, 1, 0, 2, 2, 40 };
	struct probe_hello h;

	ck_assert_int_eq(probe_parse_server_hello(a, sizeof(a), &h), 1);
	ck_assert(h.alert);
	ck_assert_int_eq(h.alert_level, 2);
	ck_assert_int_eq(h.alert_desc, 40);
	ck_assert_int_eq(probe_parse_server_hello(a, 6, &h), 0);
}
END_TEST

START_TEST(test_server_hello_garbage)
{
	static const uint16_t suites[] = { 0x000a };
	unsigned char b[256];
	struct probe_hello h;
	size_t n;
	int cn;

	ck_assert_int_eq(probe_parse_server_hello((const unsigned char *)
	    "HTTP/1.1 400 Bad Request\r\n", 26, &h), -1);
	ck_assert_int_eq(probe_parse_server_hello((const unsigned char *)"H", 1,
	    &h), -1);
	/* a ClientHello is not a ServerHello */
	cn = probe_client_hello(0x0301, suites, 1, NULL, rnd, b, sizeof(b));
	ck_assert_int_eq(probe_parse_server_hello(b, (size_t)cn, &h), -1);
	/* extension length that does not match the message */
	n = server_hello(b, 0x0301, 0x000a, true, true);
	b[n - 6] = 9;
	ck_assert_int_eq(probe_parse_server_hello(b, n, &h), -1);
	/* session id longer than 32 */
	n = server_hello(b, 0x0301, 0x000a, false, false);
	b[5 + 4 + 2 + 32] = 33;
	ck_assert_int_eq(probe_parse_server_hello(b, n, &h), -1);
	/* handshake message longer than its record */
	n = server_hello(b, 0x0301, 0x000a, false, false);
	b[8] = (unsigned char)(b[8] + 1);
	ck_assert_int_eq(probe_parse_server_hello(b, n, &h), -1);
	/* record version major must be 3 */
	n = server_hello(b, 0x0301, 0x000a, false, false);
	b[1] = 2;
	ck_assert_int_eq(probe_parse_server_hello(b, n, &h), -1);
}
END_TEST

/* ---- HTTP ---------------------------------------------------------------- */

START_TEST(test_http_request)
{
	char b[128];
	int n;

	n = probe_http_request("erp.example.com", 443, true, b, sizeof(b));
	ck_assert_str_eq(b, "HEAD / HTTP/1.1\r\nHost: erp.example.com\r\n"
	    "Connection: close\r\n\r\n");
	ck_assert_int_eq(n, (int)strlen(b));
	/* a port other than the scheme's default is part of Host */
	probe_http_request("erp.example.com", 443, false, b, sizeof(b));
	ck_assert_ptr_nonnull(strstr(b, "\r\nHost: erp.example.com:443\r\n"));
	probe_http_request("127.0.0.1", 80, false, b, sizeof(b));
	ck_assert_ptr_nonnull(strstr(b, "\r\nHost: 127.0.0.1\r\n"));
	probe_http_request("::1", 8443, true, b, sizeof(b));
	ck_assert_ptr_nonnull(strstr(b, "\r\nHost: [::1]:8443\r\n"));
	/* exactly enough room, one byte too little */
	n = probe_http_request("a", 443, true, b, sizeof(b));
	ck_assert_int_eq(probe_http_request("a", 443, true, b, (size_t)n + 1), n);
	ck_assert_int_eq(probe_http_request("a", 443, true, b, (size_t)n), -1);
}
END_TEST

START_TEST(test_http_head)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
	    "sErVeR:   lighttpd/1.4.69  \r\n\r\nabc";
	char st[128], sv[128];

	ck_assert_int_eq(probe_parse_http_head(resp, sizeof(resp) - 1, st,
	    sizeof(st), sv, sizeof(sv)), 0);
	ck_assert_str_eq(st, "HTTP/1.1 200 OK");
	ck_assert_str_eq(sv, "lighttpd/1.4.69");
}
END_TEST

START_TEST(test_http_head_variants)
{
	char st[16], sv[64];
	const char *s;

	s = "HTTP/1.0 404 Not Found\nConnection: close\n\nServer: body\n";
	ck_assert_int_eq(probe_parse_http_head(s, strlen(s), st, sizeof(st), sv,
	    sizeof(sv)), 0);
	ck_assert_str_eq(st, "HTTP/1.0 404 No");	/* cut to the buffer */
	ck_assert_str_eq(sv, "");			/* a body line is no header */
	s = "HTTP/1.1 502 \x1b[31mx\r\nServer: a\x01z";
	ck_assert_int_eq(probe_parse_http_head(s, strlen(s), st, sizeof(st), sv,
	    sizeof(sv)), 0);
	ck_assert_str_eq(st, "HTTP/1.1 502 ?[");
	ck_assert_str_eq(sv, "a?z");
	s = "\x15\x03\x01\x00\x02\x02\x28";
	ck_assert_int_eq(probe_parse_http_head(s, 7, st, sizeof(st), sv,
	    sizeof(sv)), -1);
	ck_assert_int_eq(probe_parse_http_head("HTTP", 4, st, sizeof(st), sv,
	    sizeof(sv)), -1);
	ck_assert_str_eq(st, "");
}
END_TEST

static Suite *
probe_wire_suite(void)
{
	Suite *s = suite_create("probe_wire");
	TCase *tc;

	tc = tcase_create("client_hello");
	tcase_add_test(tc, test_hello_layout_sni);
	tcase_add_test(tc, test_hello_no_sni_and_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("server_hello");
	tcase_add_test(tc, test_server_hello_ri);
	tcase_add_test(tc, test_server_hello_no_ri);
	tcase_add_test(tc, test_server_hello_alert);
	tcase_add_test(tc, test_server_hello_garbage);
	suite_add_tcase(s, tc);

	tc = tcase_create("http_head");
	tcase_add_test(tc, test_http_request);
	tcase_add_test(tc, test_http_head);
	tcase_add_test(tc, test_http_head_variants);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(probe_wire_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
