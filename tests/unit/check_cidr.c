/* SPDX-License-Identifier: MIT */
/*
 * check_cidr: allow-list parsing (IPv4, IPv6, mapped, prefixes 0/32/128,
 * host bits, bad input) and matching of sockaddrs, including IPv4-mapped
 * clients on a dual-stack socket.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

/* A sockaddr_storage holding addr (v4 or v6 literal). */
static struct sockaddr_storage
sa_of(const char *addr)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(1234);
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(1234);
	}
	return ss;
}

/* Parses text into a fresh list and tells whether addr matches it. */
static bool
matches(const char *text, const char *addr)
{
	struct cidr_list list = { NULL, 0 };
	struct sockaddr_storage ss = sa_of(addr);
	char err[200];
	bool m;

	ck_assert_msg(cidr_list_parse(&list, text, err) == 0, "%s: %s", text, err);
	m = cidr_list_match(&list, (struct sockaddr *)&ss);
	cidr_list_free(&list);
	return m;
}

START_TEST(v4_networks)
{
	ck_assert(matches("10.0.0.0/8", "10.255.1.2"));
	ck_assert(!matches("10.0.0.0/8", "11.0.0.1"));
	ck_assert(matches("192.168.1.0/24", "192.168.1.255"));
	ck_assert(!matches("192.168.1.0/24", "192.168.2.0"));
	ck_assert(matches("172.16.0.0/12", "172.31.255.255"));
	ck_assert(!matches("172.16.0.0/12", "172.32.0.0"));
	ck_assert(matches("192.0.2.7", "192.0.2.7"));		/* bare = /32 */
	ck_assert(!matches("192.0.2.7", "192.0.2.8"));
	ck_assert(matches("192.0.2.7/32", "192.0.2.7"));
	ck_assert(matches("0.0.0.0/0", "203.0.113.9"));		/* everything v4 */
	ck_assert(!matches("0.0.0.0/0", "2001:db8::1"));	/* but not v6 */
	ck_assert(matches("10.0.0.0/9", "10.127.0.1"));
	ck_assert(!matches("10.0.0.0/9", "10.128.0.1"));
}
END_TEST

START_TEST(v6_networks)
{
	ck_assert(matches("2001:db8::/32", "2001:db8:ffff::1"));
	ck_assert(!matches("2001:db8::/32", "2001:db9::1"));
	ck_assert(matches("2603:1000::/24", "2603:10ff::1"));
	ck_assert(!matches("2603:1000::/24", "2603:1100::1"));
	ck_assert(matches("::1", "::1"));			/* bare = /128 */
	ck_assert(!matches("::1", "::2"));
	ck_assert(matches("::/0", "2001:db8::1"));
	ck_assert(!matches("::/0", "10.0.0.1"));
	ck_assert(matches("2001:db8::1/128", "2001:db8::1"));
	ck_assert(matches("2001:db8::/63", "2001:db8:0:1::1"));
	ck_assert(!matches("2001:db8::/63", "2001:db8:0:2::1"));
}
END_TEST

START_TEST(mapped)
{
	/* a dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d */
	ck_assert(matches("10.0.0.0/8", "::ffff:10.1.2.3"));
	ck_assert(!matches("10.0.0.0/8", "::ffff:11.1.2.3"));
	ck_assert(matches("0.0.0.0/0", "::ffff:1.2.3.4"));
	/* a mapped network in the config is the IPv4 network */
	ck_assert(matches("::ffff:10.0.0.0/104", "10.9.9.9"));
	ck_assert(matches("::ffff:10.0.0.0/104", "::ffff:10.9.9.9"));
	ck_assert(!matches("::ffff:10.0.0.0/104", "11.9.9.9"));
	ck_assert(matches("::ffff:192.0.2.1", "192.0.2.1"));
	/* ::/0 does not cover mapped clients: they are IPv4 */
	ck_assert(!matches("::/0", "::ffff:10.1.2.3"));
}
END_TEST

START_TEST(lists)
{
	struct cidr_list list = { NULL, 0 };
	struct sockaddr_storage ss;
	char err[200];

	ck_assert_int_eq(cidr_list_parse(&list, "10.0.0.0/8, 2001:db8::/32  192.0.2.7", err), 0);
	ck_assert_uint_eq(list.count, 3);
	ck_assert_int_eq(cidr_list_parse(&list, "\t198.51.100.0/24,,", err), 0);
	ck_assert_uint_eq(list.count, 4);
	ss = sa_of("198.51.100.3");
	ck_assert(cidr_list_match(&list, (struct sockaddr *)&ss));
	ss = sa_of("2001:db8::5");
	ck_assert(cidr_list_match(&list, (struct sockaddr *)&ss));
	ss = sa_of("192.0.2.7");
	ck_assert(cidr_list_match(&list, (struct sockaddr *)&ss));
	ss = sa_of("192.0.2.8");
	ck_assert(!cidr_list_match(&list, (struct sockaddr *)&ss));
	/* a bad token leaves the list as it was */
	ck_assert_int_eq(cidr_list_parse(&list, "203.0.113.0/24 bogus", err), -1);
	ck_assert_uint_eq(list.count, 4);
	ss = sa_of("203.0.113.1");
	ck_assert(!cidr_list_match(&list, (struct sockaddr *)&ss));
	/* non-IP families never match a non-empty list */
	ss.ss_family = AF_UNIX;
	ck_assert(!cidr_list_match(&list, (struct sockaddr *)&ss));
	ck_assert(!cidr_list_match(&list, NULL));
	cidr_list_free(&list);
	ck_assert_uint_eq(list.count, 0);
	ck_assert_ptr_null(list.items);
	/* empty list = no allow-list: everyone */
	ss = sa_of("203.0.113.1");
	ck_assert(cidr_list_match(&list, (struct sockaddr *)&ss));
}
END_TEST

START_TEST(prefixes)
{
	struct cidr_list list = { NULL, 0 };
	char err[200];

	ck_assert_int_eq(cidr_list_parse(&list, "0.0.0.0/0 1.2.3.4/32 ::/0 ::1/128", err), 0);
	ck_assert_uint_eq(list.count, 4);
	ck_assert_int_eq(list.items[0].family, AF_INET);
	ck_assert_uint_eq(list.items[0].prefix, 0);
	ck_assert_uint_eq(list.items[1].prefix, 32);
	ck_assert_int_eq(list.items[2].family, AF_INET6);
	ck_assert_uint_eq(list.items[2].prefix, 0);
	ck_assert_uint_eq(list.items[3].prefix, 128);
	ck_assert_int_eq(cidr_list_parse(&list, "1.2.3.4/33", err), -1);
	ck_assert_str_eq(err, "'1.2.3.4/33': the prefix length must be 0 to 32");
	ck_assert_int_eq(cidr_list_parse(&list, "::/129", err), -1);
	ck_assert_str_eq(err, "'::/129': the prefix length must be 0 to 128");
	ck_assert_int_eq(cidr_list_parse(&list, "10.0.0.0/", err), -1);
	ck_assert_int_eq(cidr_list_parse(&list, "10.0.0.0/-8", err), -1);
	ck_assert_int_eq(cidr_list_parse(&list, "10.0.0.0/+8", err), -1);
	ck_assert_int_eq(cidr_list_parse(&list, "10.0.0.0/8/8", err), -1);
	ck_assert_int_eq(cidr_list_parse(&list, "10.0.0.0/1000", err), -1);
	ck_assert_uint_eq(list.count, 4);
	cidr_list_free(&list);
}
END_TEST

START_TEST(host_bits)
{
	struct cidr_list list = { NULL, 0 };
	char err[200];

	ck_assert_int_eq(cidr_list_parse(&list, "10.1.2.3/8", err), -1);
	ck_assert_str_eq(err, "'10.1.2.3/8' has host bits set; did you mean 10.0.0.0/8?");
	ck_assert_int_eq(cidr_list_parse(&list, "192.168.1.1/24", err), -1);
	ck_assert_str_eq(err, "'192.168.1.1/24' has host bits set; did you mean 192.168.1.0/24?");
	ck_assert_int_eq(cidr_list_parse(&list, "2001:db8::1/32", err), -1);
	ck_assert_str_eq(err, "'2001:db8::1/32' has host bits set; did you mean 2001:db8::/32?");
	ck_assert_int_eq(cidr_list_parse(&list, "1.2.3.4/0", err), -1);
	ck_assert_str_eq(err, "'1.2.3.4/0' has host bits set; did you mean 0.0.0.0/0?");
	ck_assert_uint_eq(list.count, 0);
	ck_assert_ptr_null(list.items);
}
END_TEST

START_TEST(bad_input)
{
	static const char *const bad[] = {
		"", " , ", "10.0.0", "10.0.0.256", "1.2.3.4.5", "example.com", "10.0.0.0/8x",
		"2001:db8:::1", "fe80::1%eth0", "::ffff:1.2.3.4.5", "0x0a000000",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	struct cidr_list list = { NULL, 0 };
	char err[200];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(cidr_list_parse(&list, bad[i], err) == -1, "'%s' accepted", bad[i]);
		ck_assert_uint_lt(strlen(err), sizeof(err));
	}
	ck_assert_uint_eq(list.count, 0);
	cidr_list_parse(&list, "example.com", err);
	ck_assert_str_eq(err, "'example.com' is not an IPv4 or IPv6 address or network "
	    "(like 10.0.0.0/8, 2001:db8::/32)");
	cidr_list_parse(&list, " ", err);
	ck_assert_str_eq(err, "empty list; expected addresses or networks like 10.0.0.0/8, 2001:db8::/32");
}
END_TEST

static Suite *
cidr_suite(void)
{
	Suite *s = suite_create("cidr");
	TCase *tc;

	tc = tcase_create("match");
	tcase_add_test(tc, v4_networks);
	tcase_add_test(tc, v6_networks);
	tcase_add_test(tc, mapped);
	tcase_add_test(tc, lists);
	suite_add_tcase(s, tc);
	tc = tcase_create("parse");
	tcase_add_test(tc, prefixes);
	tcase_add_test(tc, host_bits);
	tcase_add_test(tc, bad_input);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cidr_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
