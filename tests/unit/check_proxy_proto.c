/* SPDX-License-Identifier: MIT */
/*
 * check_proxy_proto: PROXY protocol v1 and v2 headers: the addresses they
 * name, their length when the client's bytes follow, every prefix asking
 * for more, the cases the spec says to ignore (UNKNOWN, LOCAL, TLVs), and
 * malformed headers refused; signature detection against TLS, HTTP and
 * partial signatures.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "proxy_proto.h"

static const uint8_t v2sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* "ip:port" of ss. */
static const char *
fmt(const struct sockaddr_storage *ss)
{
	static char buf[2][80];
	static int i;
	char a[INET6_ADDRSTRLEN];
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	i ^= 1;
	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(buf[i], sizeof(buf[i]), "%s:%u", a, ntohs(sin->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		snprintf(buf[i], sizeof(buf[i]), "[%s]:%u", a, ntohs(sin6->sin6_port));
	} else
		snprintf(buf[i], sizeof(buf[i]), "none");
	return buf[i];
}

static int
parse(const void *buf, size_t len, struct proxy_hdr *h, char *err)
{
	return proxy_proto_parse(buf, len, h, err, 200);
}

/* Every proper prefix of buf[0..hlen) asks for more. */
static void
prefixes_need_more(const uint8_t *buf, size_t hlen)
{
	struct proxy_hdr h;
	char err[200];
	size_t n;

	for (n = 1; n < hlen; n++)
		ck_assert_msg(parse(buf, n, &h, err) == 0,
		    "prefix of %zu bytes: %d (%s)", n, parse(buf, n, &h, err), err);
}

/* A v1 line that must be refused, with err naming what. */
static void
v1_bad(const char *line, const char *what)
{
	struct proxy_hdr h;
	char err[200];
	int r = parse(line, strlen(line), &h, err);

	ck_assert_msg(r == PROXY_PROTO_BAD, "'%s': %d", line, r);
	ck_assert_msg(strstr(err, what) != NULL, "'%s': err '%s', want '%s'",
	    line, err, what);
}

START_TEST(v1_tcp4)
{
	const char *hdr = "PROXY TCP4 203.0.113.7 192.0.2.1 51514 443\r\n";
	uint8_t buf[200];
	struct proxy_hdr h;
	char err[200];
	size_t hl = strlen(hdr);

	memcpy(buf, hdr, hl);
	/* the ClientHello that follows is not ours to read */
	buf[hl] = 0x16;
	buf[hl + 1] = 0x03;
	ck_assert_int_eq(parse(buf, hl + 2, &h, err), (int)hl);
	ck_assert_int_eq(h.version, 1);
	ck_assert(!h.local);
	ck_assert_str_eq(fmt(&h.src), "203.0.113.7:51514");
	ck_assert_str_eq(fmt(&h.dst), "192.0.2.1:443");
	prefixes_need_more(buf, hl);
}
END_TEST

START_TEST(v1_tcp6_and_unknown)
{
	const char *six = "PROXY TCP6 2001:db8::7 2001:db8::1 0 65535\r\n";
	const char *longest = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	struct proxy_hdr h;
	char err[200];

	ck_assert_int_eq(parse(six, strlen(six), &h, err), (int)strlen(six));
	ck_assert_str_eq(fmt(&h.src), "[2001:db8::7]:0");
	ck_assert_str_eq(fmt(&h.dst), "[2001:db8::1]:65535");
	/* the longest line with addresses, within the spec's 107 bytes */
	ck_assert_uint_le(strlen(longest), PROXY_PROTO_V1_MAX);
	ck_assert_int_eq(parse(longest, strlen(longest), &h, err), (int)strlen(longest));
	ck_assert(!h.local);

	ck_assert_int_eq(parse("PROXY UNKNOWN\r\n", 15, &h, err), 15);
	ck_assert(h.local);
	ck_assert_int_eq(h.version, 1);
	/* the spec: whatever follows UNKNOWN is ignored */
	ck_assert_int_eq(parse("PROXY UNKNOWN ffff::1 ::1 1 2\r\nX", 32, &h, err), 31);
	ck_assert(h.local);
}
END_TEST

START_TEST(v1_malformed)
{
	v1_bad("PROXY TCP4 203.0.113.7  192.0.2.1 1 2\r\n", "is not 'PROXY");
	v1_bad("PROXY TCP4 203.0.113.7 192.0.2.1 1 2 3\r\n", "is not 'PROXY");
	v1_bad("PROXY TCP4 203.0.113.7 192.0.2.1 1\r\n", "is not 'PROXY");
	v1_bad("PROXY TCP4 203.0.113.7 192.0.2.1 1 \r\n", "is not 'PROXY");
	v1_bad("PROXY TCP4 203.0.113.7 192.0.2.1 01 2\r\n", "malformed");
	v1_bad("PROXY TCP4 203.0.113.7 192.0.2.1 65536 2\r\n", "malformed");
	v1_bad("PROXY TCP4 203.0.113.7 192.0.2.1 -1 2\r\n", "malformed");
	v1_bad("PROXY TCP4 203.0.113.7 192.0.2.1 +1 2\r\n", "malformed");
	v1_bad("PROXY TCP4 203.0.113.256 192.0.2.1 1 2\r\n", "malformed");
	v1_bad("PROXY TCP4 2001:db8::1 192.0.2.1 1 2\r\n", "TCP4 addresses");
	v1_bad("PROXY TCP6 203.0.113.7 2001:db8::1 1 2\r\n", "TCP6 addresses");
	v1_bad("PROXY UDP4 203.0.113.7 192.0.2.1 1 2\r\n", "not TCP4, TCP6");
	v1_bad("PROXY tcp4 203.0.113.7 192.0.2.1 1 2\r\n", "not TCP4, TCP6");
	v1_bad("PROXY \r\n", "not TCP4, TCP6");
	v1_bad("PROXY UNKNOWNX\r\n", "not TCP4, TCP6");
	v1_bad("PROXY TCP4 203.0.113.7 192.0.2.1 1 2\n", "CRLF");
	v1_bad("PROXY TCP4 203.0.113.7 192.0.2.1 1 2\r\r\n", "CR, LF or NUL");
}
END_TEST

START_TEST(v1_bounds)
{
	char line[300];
	struct proxy_hdr h;
	char err[200];

	/* 107 bytes without CRLF: refused, not "need more" */
	memset(line, 'a', sizeof(line));
	memcpy(line, "PROXY TCP6 ", 11);
	ck_assert_int_eq(parse(line, 106, &h, err), 0);
	ck_assert_int_eq(parse(line, 107, &h, err), PROXY_PROTO_BAD);
	ck_assert_ptr_nonnull(strstr(err, "107 bytes"));
	/* CRLF just past the limit */
	line[107] = '\r';
	line[108] = '\n';
	ck_assert_int_eq(parse(line, 109, &h, err), PROXY_PROTO_BAD);
	/* a NUL in the line */
	ck_assert_int_eq(parse("PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n", 34, &h, err),
	    PROXY_PROTO_BAD);
	ck_assert_int_eq(parse("PROXY TCP4 1.2\0", 15, &h, err), PROXY_PROTO_BAD);
	/* found by fuzz_proxy: UNKNOWN's rest of line may not hide a NUL either */
	ck_assert_int_eq(parse("PROXY UNKNOWN\0\r\n", 16, &h, err), PROXY_PROTO_BAD);
	ck_assert_int_eq(parse("PROXY UNKNOWN\0", 14, &h, err), PROXY_PROTO_BAD);
	/* found by fuzz_proxy: nor a bare LF or CR before the CRLF */
	ck_assert_int_eq(parse("PROXY UNKNOWN b\r1\n\r\n", 21, &h, err), PROXY_PROTO_BAD);
	ck_assert_int_eq(parse("PROXY UNKNOWN b\r1", 17, &h, err), PROXY_PROTO_BAD);
	ck_assert_int_eq(parse("PROXY UNKNOWN b\r", 16, &h, err), 0);
	ck_assert_int_eq(parse("PROXY UNKNOWN b\r\r\n", 18, &h, err), PROXY_PROTO_BAD);
}
END_TEST

/* A v2 header: 16 fixed bytes then body; returns its length. */
static size_t
v2(uint8_t *out, uint8_t vercmd, uint8_t fam, const void *body, size_t blen)
{
	memcpy(out, v2sig, 12);
	out[12] = vercmd;
	out[13] = fam;
	out[14] = (uint8_t)(blen >> 8);
	out[15] = (uint8_t)blen;
	if (blen > 0)
		memcpy(out + 16, body, blen);
	return 16 + blen;
}

START_TEST(v2_inet)
{
	/* 203.0.113.7:51514 -> 192.0.2.1:443, then a TLV (type 0x04, NOOP) */
	const uint8_t a4[] = { 203, 0, 113, 7, 192, 0, 2, 1, 0xc9, 0x3a, 0x01, 0xbb,
	    0x04, 0x00, 0x02, 'x', 'y' };
	uint8_t a6[36], buf[2048];
	struct proxy_hdr h;
	char err[200];
	size_t n;

	n = v2(buf, 0x21, 0x11, a4, sizeof(a4));
	buf[n] = 0x16;	/* the ClientHello */
	ck_assert_int_eq(parse(buf, n + 1, &h, err), (int)n);
	ck_assert_int_eq(h.version, 2);
	ck_assert(!h.local);
	ck_assert_str_eq(fmt(&h.src), "203.0.113.7:51514");
	ck_assert_str_eq(fmt(&h.dst), "192.0.2.1:443");
	prefixes_need_more(buf, n);

	memset(a6, 0, sizeof(a6));
	inet_pton(AF_INET6, "2001:db8::7", a6);
	inet_pton(AF_INET6, "2001:db8::1", a6 + 16);
	a6[32] = 0x12;
	a6[33] = 0x34;
	a6[35] = 80;
	n = v2(buf, 0x21, 0x21, a6, sizeof(a6));
	ck_assert_int_eq(parse(buf, n, &h, err), (int)n);
	ck_assert_str_eq(fmt(&h.src), "[2001:db8::7]:4660");
	ck_assert_str_eq(fmt(&h.dst), "[2001:db8::1]:80");
}
END_TEST

START_TEST(v2_local_and_unspec)
{
	uint8_t buf[2048], unix_addrs[216];
	struct proxy_hdr h;
	char err[200];
	size_t n;

	/* LOCAL: a balancer's own health check; whatever block it carries is dropped */
	n = v2(buf, 0x20, 0x00, NULL, 0);
	ck_assert_int_eq(parse(buf, n, &h, err), 16);
	ck_assert(h.local);
	n = v2(buf, 0x20, 0x11, "0123456789ab", 12);
	ck_assert_int_eq(parse(buf, n, &h, err), 28);
	ck_assert(h.local);
	/* PROXY with UNSPEC or a unix socket: the connection's own addresses stand */
	n = v2(buf, 0x21, 0x00, NULL, 0);
	ck_assert_int_eq(parse(buf, n, &h, err), 16);
	ck_assert(h.local);
	memset(unix_addrs, 0, sizeof(unix_addrs));
	n = v2(buf, 0x21, 0x31, unix_addrs, sizeof(unix_addrs));
	ck_assert_int_eq(parse(buf, n, &h, err), 16 + 216);
	ck_assert(h.local);
}
END_TEST

START_TEST(v2_malformed)
{
	uint8_t buf[4096], body[2000];
	struct proxy_hdr h;
	char err[200];
	size_t n;

	memset(body, 0, sizeof(body));
	n = v2(buf, 0x11, 0x11, body, 12);
	ck_assert_int_eq(parse(buf, n, &h, err), PROXY_PROTO_BAD);
	ck_assert_ptr_nonnull(strstr(err, "version"));
	n = v2(buf, 0x22, 0x11, body, 12);
	ck_assert_int_eq(parse(buf, n, &h, err), PROXY_PROTO_BAD);
	ck_assert_ptr_nonnull(strstr(err, "command"));
	n = v2(buf, 0x21, 0x12, body, 12);	/* UDP over IPv4 */
	ck_assert_int_eq(parse(buf, n, &h, err), PROXY_PROTO_BAD);
	ck_assert_ptr_nonnull(strstr(err, "datagram"));
	n = v2(buf, 0x21, 0x41, body, 12);
	ck_assert_int_eq(parse(buf, n, &h, err), PROXY_PROTO_BAD);
	n = v2(buf, 0x21, 0x13, body, 12);
	ck_assert_int_eq(parse(buf, n, &h, err), PROXY_PROTO_BAD);
	n = v2(buf, 0x21, 0x11, body, 11);
	ck_assert_int_eq(parse(buf, n, &h, err), PROXY_PROTO_BAD);
	ck_assert_ptr_nonnull(strstr(err, "shorter than 12"));
	n = v2(buf, 0x21, 0x21, body, 35);
	ck_assert_int_eq(parse(buf, n, &h, err), PROXY_PROTO_BAD);
	/* an announced length over the bound is refused at once, not waited for */
	n = v2(buf, 0x21, 0x11, body, PROXY_PROTO_MAX - 16 + 1);
	ck_assert_int_eq(parse(buf, 16, &h, err), PROXY_PROTO_BAD);
	ck_assert_ptr_nonnull(strstr(err, "longer than"));
	n = v2(buf, 0x21, 0x11, body, PROXY_PROTO_MAX - 16);
	ck_assert_int_eq(parse(buf, n, &h, err), PROXY_PROTO_MAX);
	ck_assert_int_eq(parse(buf, n - 1, &h, err), 0);
}
END_TEST

START_TEST(not_proxy)
{
	const uint8_t hello[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01 };
	struct proxy_hdr h;
	char err[200];

	ck_assert_int_eq(parse(hello, sizeof(hello), &h, err), PROXY_PROTO_NOT);
	ck_assert_int_eq(parse("POST / HTTP/1.1\r\n", 17, &h, err), PROXY_PROTO_NOT);
	ck_assert_int_eq(parse("PROX", 4, &h, err), 0);
	ck_assert_int_eq(parse("PROXy", 5, &h, err), PROXY_PROTO_NOT);
	ck_assert_int_eq(parse("\r\n\r\n", 4, &h, err), 0);
	ck_assert_int_eq(parse("\r\n\r\nGET", 7, &h, err), PROXY_PROTO_NOT);
	ck_assert_int_eq(parse("", 0, &h, err), 0);
}
END_TEST

START_TEST(detect)
{
	const uint8_t hello[] = { 0x16, 0x03, 0x01 };

	ck_assert_int_eq(proxy_proto_detect(hello, sizeof(hello)), -1);
	ck_assert_int_eq(proxy_proto_detect((const uint8_t *)"P", 1), 0);
	ck_assert_int_eq(proxy_proto_detect((const uint8_t *)"PUT /", 5), -1);
	ck_assert_int_eq(proxy_proto_detect((const uint8_t *)"PROXY", 5), 0);
	ck_assert_int_eq(proxy_proto_detect((const uint8_t *)"PROXY ", 6), 1);
	ck_assert_int_eq(proxy_proto_detect((const uint8_t *)"PROXY garbage", 13), 1);
	ck_assert_int_eq(proxy_proto_detect(v2sig, 11), 0);
	ck_assert_int_eq(proxy_proto_detect(v2sig, 12), 1);
	ck_assert_int_eq(proxy_proto_detect((const uint8_t *)"\r\n\r\n\n", 5), -1);
	ck_assert_int_eq(proxy_proto_detect((const uint8_t *)"", 0), 0);
}
END_TEST

static Suite *
proxy_proto_suite(void)
{
	Suite *s = suite_create("proxy_proto");
	TCase *tc;

	tc = tcase_create("v1");
	tcase_add_test(tc, v1_tcp4);
	tcase_add_test(tc, v1_tcp6_and_unknown);
	tcase_add_test(tc, v1_malformed);
	tcase_add_test(tc, v1_bounds);
	suite_add_tcase(s, tc);
	tc = tcase_create("v2");
	tcase_add_test(tc, v2_inet);
	tcase_add_test(tc, v2_local_and_unspec);
	tcase_add_test(tc, v2_malformed);
	suite_add_tcase(s, tc);
	tc = tcase_create("detect");
	tcase_add_test(tc, not_proxy);
	tcase_add_test(tc, detect);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(proxy_proto_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
