/* SPDX-License-Identifier: MIT */
/*
 * check_upstream_proxy: the CONNECT request bytes, the classification of
 * proxy answers (squid's and tinyproxy's shapes, refusals, garbage,
 * truncation), the credentials file rule, and the bounded read over a
 * socketpair leaving the tunnel's first bytes unread.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "diag.h"
#include "parse.h"
#include "upstream_proxy.h"

#define P "127.0.0.1:3128"
#define T "legacy.example:443"

static int
answer(const char *s, bool eof, struct tb_err *err)
{
	return upstream_proxy_answer(s, strlen(s), eof, P, T, err);
}

START_TEST(test_request)
{
	struct hostport hp = { "legacy.example", 443 };
	struct hostport v6 = { "::1", 8443 };
	char buf[UPSTREAM_PROXY_REQ_MAX];
	int n;

	n = upstream_proxy_request(&hp, NULL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "CONNECT legacy.example:443 HTTP/1.1\r\n"
	    "Host: legacy.example:443\r\n\r\n");
	ck_assert_int_eq(n, (int)strlen(buf));
	n = upstream_proxy_request(&v6, "dXNlcjpwYXNz", buf, sizeof(buf));
	ck_assert_str_eq(buf, "CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n"
	    "Proxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\n");
	ck_assert_int_eq(n, (int)strlen(buf));
	/* too small: refused, and nothing of the credential stays behind */
	ck_assert_int_eq(upstream_proxy_request(&v6, "dXNlcjpwYXNz", buf, 50), -1);
	ck_assert_ptr_null(memmem(buf, 50, "dXNl", 4));
}
END_TEST

START_TEST(test_answer_open)
{
	struct tb_err err;
	const char *squid = "HTTP/1.1 200 Connection established\r\n\r\n";
	const char *tiny = "HTTP/1.0 200 Connection established\r\n"
	    "Proxy-agent: tinyproxy/1.11.1\r\n\r\n";
	char more[128];

	ck_assert_int_eq(answer(squid, false, &err), (int)strlen(squid));
	ck_assert_int_eq(answer(tiny, false, &err), (int)strlen(tiny));
	/* the tunnel's bytes after the head are not part of it */
	snprintf(more, sizeof(more), "%s\x16\x03\x01", squid);
	ck_assert_int_eq(answer(more, false, &err), (int)strlen(squid));
	/* incomplete: wait */
	ck_assert_int_eq(answer("HTTP/1.1 200 Conn", false, &err), 0);
	ck_assert_int_eq(answer("HTTP/1.1 200 OK\r\nX: y\r\n", false, &err), 0);
	ck_assert_int_eq(answer("HTT", false, &err), 0);
	ck_assert_int_eq(answer("", false, &err), 0);
}
END_TEST

static const struct {
	const char *in;
	bool eof;
	enum close_reason code;
} refusals[] = {
	/* a refusal counts from its status line; the rest need not arrive */
	{ "HTTP/1.1 407 Proxy Authentication Required\r\n", false, CR_PROXY_AUTH },
	{ "HTTP/1.0 407 Proxy Authentication Required\r\nProxy-Authenticate: "
	    "Basic realm=\"x\"\r\n\r\n", false, CR_PROXY_AUTH },
	/* tinyproxy 1.11's answer to a CONNECT with bad or no credentials */
	{ "HTTP/1.0 401 Unauthorized\r\n", false, CR_PROXY_AUTH },
	{ "HTTP/1.1 403 Forbidden\r\n", false, CR_PROXY_FORBIDDEN },
	{ "HTTP/1.1 502 Bad Gateway\r\n", false, CR_PROXY_BAD_GATEWAY },
	{ "HTTP/1.1 503 Service Unavailable\r\n", false, CR_PROXY_BAD_GATEWAY },
	{ "HTTP/1.1 504 Gateway Timeout\r\n", false, CR_PROXY_BAD_GATEWAY },
	{ "HTTP/1.1 500 Internal Server Error\r\n", false, CR_PROXY_BAD_ANSWER },
	{ "HTTP/1.1 405 Method Not Allowed\r\n", false, CR_PROXY_BAD_ANSWER },
	{ "HTTP/1.1 100 Continue\r\n\r\n", false, CR_PROXY_BAD_ANSWER },
	{ "HTTP/1.1 301 Moved\r\n", false, CR_PROXY_BAD_ANSWER },
	/* not HTTP at all: a TLS port, an SSH port, SOCKS */
	{ "\x16\x03\x01\x00", false, CR_PROXY_BAD_ANSWER },
	{ "SSH-2.0-OpenSSH_9.2\r\n", false, CR_PROXY_BAD_ANSWER },
	{ "HTTP/2 200\r\n", false, CR_PROXY_BAD_ANSWER },
	{ "HTTP/1.1 2000 OK\r\n", false, CR_PROXY_BAD_ANSWER },
	{ "HTTP/1.1 20x OK\r\n", false, CR_PROXY_BAD_ANSWER },
	/* a 2xx head the strict parser refuses */
	{ "HTTP/1.1 200 OK\r\nBad Header\r\n\r\n", false, CR_PROXY_BAD_ANSWER },
	{ "HTTP/1.1 200 OK\n\n", false, CR_PROXY_BAD_ANSWER },
	/* closed early */
	{ "", true, CR_PROXY_BAD_ANSWER },
	{ "HTTP/1.1 200 OK\r\n", true, CR_PROXY_BAD_ANSWER },
	{ "HTTP/1.", true, CR_PROXY_BAD_ANSWER },
};

START_TEST(test_answer_refused)
{
	struct tb_err err;

	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(answer(refusals[_i].in, refusals[_i].eof, &err), -1);
	ck_assert_str_eq(close_reason_str(err.code),
	    close_reason_str(refusals[_i].code));
	ck_assert_int_eq(err.phase, PHASE_CONNECT);
	ck_assert_ptr_nonnull(strstr(err.msg, P));
	ck_assert_ptr_nonnull(strstr(err.msg, T));
}
END_TEST

START_TEST(test_answer_too_long)
{
	static char big[UPSTREAM_PROXY_HEAD_MAX + 1];
	struct tb_err err;
	size_t off;

	off = (size_t)snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\n");
	while (off + 10 < sizeof(big) - 1)
		off += (size_t)snprintf(big + off, sizeof(big) - off,
		    "X-Pad: 12\r\n");
	memset(big + off, 'a', sizeof(big) - 1 - off);
	ck_assert_int_eq(upstream_proxy_answer(big, UPSTREAM_PROXY_HEAD_MAX,
	    false, P, T, &err), -1);
	ck_assert_int_eq(err.code, CR_PROXY_BAD_ANSWER);
}
END_TEST

START_TEST(test_basic)
{
	char out[UPSTREAM_PROXY_BASIC_MAX], big[600];
	const char *why;

	ck_assert_int_eq(upstream_proxy_basic("user:pass\n", 10, out,
	    sizeof(out), &why), 0);
	ck_assert_str_eq(out, "dXNlcjpwYXNz");
	ck_assert_int_eq(upstream_proxy_basic("user:pass\r\n", 11, out,
	    sizeof(out), &why), 0);
	ck_assert_str_eq(out, "dXNlcjpwYXNz");
	/* the password may hold ':' and blanks (RFC 7617: the first ':' splits) */
	ck_assert_int_eq(upstream_proxy_basic("u:p: q", 6, out, sizeof(out),
	    &why), 0);
	ck_assert_str_eq(out, "dTpwOiBx");
	ck_assert_int_eq(upstream_proxy_basic("bob", 3, out, sizeof(out),
	    &why), -1);
	ck_assert_ptr_null(strstr(why, "bob"));
	ck_assert_int_eq(upstream_proxy_basic(":pass", 5, out, sizeof(out),
	    &why), -1);
	ck_assert_int_eq(upstream_proxy_basic("\n", 1, out, sizeof(out),
	    &why), -1);
	ck_assert_int_eq(upstream_proxy_basic("a:b\nc:d\n", 8, out, sizeof(out),
	    &why), -1);
	ck_assert_int_eq(upstream_proxy_basic("a:b\0c", 5, out, sizeof(out),
	    &why), -1);
	memset(big, 'a', sizeof(big));
	big[1] = ':';
	ck_assert_int_eq(upstream_proxy_basic(big, sizeof(big), out,
	    sizeof(out), &why), -1);
}
END_TEST

START_TEST(test_dial_failed)
{
	struct tb_err err;

	diag_from_connect_errno(&err, ECONNREFUSED, P);
	upstream_proxy_dial_failed(&err);
	ck_assert_int_eq(err.code, CR_PROXY_REFUSED);
	ck_assert_ptr_nonnull(strstr(err.msg, "upstream_proxy: "));
	ck_assert_ptr_nonnull(strstr(diag_hint(&err), "upstream_proxy"));
	tb_err_set(&err, CR_UPSTREAM_CONNECT_TIMEOUT, PHASE_CONNECT, "x");
	upstream_proxy_dial_failed(&err);
	ck_assert_int_eq(err.code, CR_UPSTREAM_CONNECT_TIMEOUT);
	ck_assert_ptr_nonnull(strstr(diag_hint(&err), "upstream_proxy"));
}
END_TEST

/* The head is consumed, the tunnel's first bytes are left for TLS. */
START_TEST(test_recv)
{
	char head[UPSTREAM_PROXY_HEAD_MAX], rest[16];
	struct tb_err err;
	size_t have = 0;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	ck_assert_int_eq(upstream_proxy_recv(sv[0], head, &have, P, T, &err), 0);
	ck_assert_int_eq(write(sv[1], "HTTP/1.1 200 Connection est", 27), 27);
	ck_assert_int_eq(upstream_proxy_recv(sv[0], head, &have, P, T, &err), 0);
	ck_assert_uint_eq(have, 27);
	ck_assert_int_eq(write(sv[1], "ablished\r\n\r\nTLS", 15), 15);
	ck_assert_int_eq(upstream_proxy_recv(sv[0], head, &have, P, T, &err), 1);
	ck_assert_uint_eq(have, 39);
	ck_assert_int_eq(read(sv[0], rest, sizeof(rest)), 3);
	ck_assert_int_eq(memcmp(rest, "TLS", 3), 0);
	close(sv[1]);
	have = 0;
	ck_assert_int_eq(upstream_proxy_recv(sv[0], head, &have, P, T, &err), -1);
	ck_assert_int_eq(err.code, CR_PROXY_BAD_ANSWER);
	close(sv[0]);
}
END_TEST

static Suite *
upstream_proxy_suite(void)
{
	Suite *s = suite_create("upstream_proxy");
	TCase *tc;

	tc = tcase_create("request");
	tcase_add_test(tc, test_request);
	tcase_add_test(tc, test_basic);
	suite_add_tcase(s, tc);

	tc = tcase_create("answer");
	tcase_add_test(tc, test_answer_open);
	tcase_add_loop_test(tc, test_answer_refused, 0,
	    (int)(sizeof(refusals) / sizeof(refusals[0])));
	tcase_add_test(tc, test_answer_too_long);
	tcase_add_test(tc, test_dial_failed);
	tcase_add_test(tc, test_recv);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(upstream_proxy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
