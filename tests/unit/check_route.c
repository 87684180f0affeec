/* SPDX-License-Identifier: MIT */
/* Unit tests for route.c: host normalisation, wildcards, tcp and http matching. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "route.h"

static struct route_conf routes[8];
static struct conf conf;

static void
add_route(const char *name, unsigned li, enum route_mode mode, const char *host,
    const char *path)
{
	struct route_conf *rc = &routes[conf.nroutes];

	memset(rc, 0, sizeof(*rc));
	rc->name = (char *)name;
	rc->listener_index = li;
	rc->mode = mode;
	rc->host = (char *)host;
	rc->path = (char *)path;
	rc->index = conf.nroutes++;
}

static void
setup(void)
{
	memset(&conf, 0, sizeof(conf));
	conf.routes = routes;
	add_route("tcp-a", 0, ROUTE_MODE_TCP, "a.test", NULL);
	add_route("tcp-wild", 0, ROUTE_MODE_TCP, "*.wild.test", NULL);
	add_route("tcp-any", 0, ROUTE_MODE_TCP, NULL, NULL);
	add_route("http-soap", 1, ROUTE_MODE_HTTP, "erp.test", "/soap/");
	add_route("http-soap-emp", 1, ROUTE_MODE_HTTP, "erp.test", "/soap/Employee");
	add_route("http-any-host", 1, ROUTE_MODE_HTTP, NULL, "/");
	add_route("http-other-listener", 2, ROUTE_MODE_HTTP, NULL, NULL);
}

static const char *
name_of(const struct route_conf *rc)
{
	return rc != NULL ? rc->name : "(none)";
}

START_TEST(test_host_match)
{
	ck_assert(route_host_match(NULL, "x.test"));
	ck_assert(route_host_match(NULL, NULL));
	ck_assert(route_host_match("a.test", "a.test"));
	ck_assert(!route_host_match("a.test", "b.test"));
	ck_assert(!route_host_match("a.test", NULL));
	ck_assert(route_host_match("*.wild.test", "x.wild.test"));
	ck_assert(route_host_match("*.wild.test", "y.x.wild.test"));
	ck_assert(!route_host_match("*.wild.test", "wild.test"));
	ck_assert(!route_host_match("*.wild.test", "xwild.test"));
}
END_TEST

START_TEST(test_host_normalize)
{
	char out[64];

	ck_assert(route_host_normalize("Erp.Test:443", 12, out, sizeof(out)));
	ck_assert_str_eq(out, "erp.test");
	ck_assert(route_host_normalize("erp.test.", 9, out, sizeof(out)));
	ck_assert_str_eq(out, "erp.test");
	ck_assert(route_host_normalize("[::1]:8443", 10, out, sizeof(out)));
	ck_assert_str_eq(out, "::1");
	ck_assert(route_host_normalize("10.0.0.1", 8, out, sizeof(out)));
	ck_assert_str_eq(out, "10.0.0.1");
	ck_assert(!route_host_normalize("", 0, out, sizeof(out)));
	ck_assert(!route_host_normalize("a b", 3, out, sizeof(out)));
	ck_assert(!route_host_normalize("a/b", 3, out, sizeof(out)));
	ck_assert(!route_host_normalize("[::1", 4, out, sizeof(out)));
	ck_assert(!route_host_normalize("averylonghostname", 17, out, 8));
}
END_TEST

START_TEST(test_match_tcp)
{
	ck_assert_str_eq(name_of(route_match_tcp(&conf, 0, "a.test")), "tcp-a");
	ck_assert_str_eq(name_of(route_match_tcp(&conf, 0, "x.wild.test")), "tcp-wild");
	ck_assert_str_eq(name_of(route_match_tcp(&conf, 0, "b.test")), "tcp-any");
	ck_assert_str_eq(name_of(route_match_tcp(&conf, 0, NULL)), "tcp-any");
	/* http routes are never picked for a tcp connection, nor other listeners' */
	ck_assert_ptr_null(route_match_tcp(&conf, 1, "erp.test"));
	ck_assert_ptr_null(route_match_tcp(&conf, 3, "a.test"));
}
END_TEST

START_TEST(test_match_tcp_no_fallback)
{
	conf.nroutes = 2;	/* only tcp-a and tcp-wild */
	ck_assert_ptr_null(route_match_tcp(&conf, 0, "b.test"));
	ck_assert_ptr_null(route_match_tcp(&conf, 0, NULL));
}
END_TEST

START_TEST(test_match_http)
{
	ck_assert_str_eq(name_of(route_match_http(&conf, 1, "erp.test",
	    "/soap/Employee/1")), "http-soap-emp");
	ck_assert_str_eq(name_of(route_match_http(&conf, 1, "erp.test",
	    "/soap/Payroll")), "http-soap");
	/* host specificity wins over a longer prefix on a host-less route */
	ck_assert_str_eq(name_of(route_match_http(&conf, 1, "erp.test",
	    "/other")), "http-any-host");
	ck_assert_str_eq(name_of(route_match_http(&conf, 1, "evil.test",
	    "/soap/Employee")), "http-any-host");
	ck_assert_str_eq(name_of(route_match_http(&conf, 1, NULL, "/x")),
	    "http-any-host");
	ck_assert_str_eq(name_of(route_match_http(&conf, 2, "whatever",
	    "/")), "http-other-listener");
	ck_assert_ptr_null(route_match_http(&conf, 0, "a.test", "/"));
}
END_TEST

START_TEST(test_match_http_no_route)
{
	conf.nroutes = 5;	/* drop the host-less http routes */
	ck_assert_ptr_null(route_match_http(&conf, 1, "evil.test", "/soap/"));
	ck_assert_ptr_null(route_match_http(&conf, 1, "erp.test", "/so"));
	ck_assert_ptr_null(route_match_http(&conf, 1, "erp.test", NULL));
}
END_TEST

static Suite *
route_suite(void)
{
	Suite *s = suite_create("route");
	TCase *tc;

	tc = tcase_create("hosts");
	tcase_add_test(tc, test_host_match);
	tcase_add_test(tc, test_host_normalize);
	suite_add_tcase(s, tc);
	tc = tcase_create("match");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_match_tcp);
	tcase_add_test(tc, test_match_tcp_no_fallback);
	tcase_add_test(tc, test_match_http);
	tcase_add_test(tc, test_match_http_no_route);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(route_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
