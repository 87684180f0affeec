/* SPDX-License-Identifier: MIT */
/*
 * check_sockaddr: the text forms of addresses: a sockaddr with and without
 * its port (IPv4, IPv6 in brackets, an unknown family) and a configured
 * host:port (name, IPv4, IPv6 literal), including a buffer too small.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <check.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"
#include "sockaddr.h"

/* Formats the numeric addr with port into buf, as the resolver gives it. */
static void
fmt(const char *addr, unsigned port, bool with_port, char *buf, size_t cap)
{
	struct addrinfo hints, *ai;
	char service[8];

	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(service, sizeof(service), "%u", port);
	ck_assert_int_eq(getaddrinfo(addr, service, &hints, &ai), 0);
	sockaddr_format(ai->ai_addr, with_port, buf, cap);
	freeaddrinfo(ai);
}

START_TEST(sockaddr_forms)
{
	struct sockaddr_storage ss;
	char buf[64];

	fmt("127.0.0.1", 8443, true, buf, sizeof(buf));
	ck_assert_str_eq(buf, "127.0.0.1:8443");
	fmt("127.0.0.1", 8443, false, buf, sizeof(buf));
	ck_assert_str_eq(buf, "127.0.0.1");
	fmt("2001:db8::1", 443, true, buf, sizeof(buf));
	ck_assert_str_eq(buf, "[2001:db8::1]:443");
	fmt("2001:db8::1", 443, false, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2001:db8::1");
	fmt("::ffff:192.0.2.7", 1, true, buf, sizeof(buf));
	ck_assert_str_eq(buf, "[::ffff:192.0.2.7]:1");
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	sockaddr_format((struct sockaddr *)&ss, true, buf, sizeof(buf));
	ck_assert_str_eq(buf, "unknown");
	/* truncated, but still a string */
	fmt("192.0.2.255", 65535, true, buf, 8);
	ck_assert_str_eq(buf, "192.0.2");
}
END_TEST

START_TEST(hostport_forms)
{
	struct hostport hp;
	char buf[64];

	memset(&hp, 0, sizeof(hp));
	snprintf(hp.host, sizeof(hp.host), "erp.example.test");
	hp.port = 443;
	ck_assert_int_eq(hostport_format(&hp, buf, sizeof(buf)), 20);
	ck_assert_str_eq(buf, "erp.example.test:443");
	snprintf(hp.host, sizeof(hp.host), "10.1.2.3");
	hp.port = 8080;
	ck_assert_int_eq(hostport_format(&hp, buf, sizeof(buf)), 13);
	ck_assert_str_eq(buf, "10.1.2.3:8080");
	snprintf(hp.host, sizeof(hp.host), "::1");
	hp.port = 3128;
	ck_assert_int_eq(hostport_format(&hp, buf, sizeof(buf)), 10);
	ck_assert_str_eq(buf, "[::1]:3128");
	/* one byte short for the NUL: refused, not silently cut */
	ck_assert_int_eq(hostport_format(&hp, buf, 10), -1);
	ck_assert_int_eq(hostport_format(&hp, buf, 11), 10);
}
END_TEST

static Suite *
sockaddr_suite(void)
{
	Suite *s = suite_create("sockaddr");
	TCase *tc;

	tc = tcase_create("format");
	tcase_add_test(tc, sockaddr_forms);
	tcase_add_test(tc, hostport_forms);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sockaddr_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
