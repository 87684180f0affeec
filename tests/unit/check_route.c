/* SPDX-License-Identifier: MIT */
/* Unit tests for route.c: host normalisation, wildcards, tcp and http matching. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "http1.h"
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

/* route_match_http() for a NUL-terminated path (or NULL). */
static const struct route_conf *
match_http(unsigned li, const char *host, const char *path)
{
	return route_match_http(&conf, li, host, path,
	    path != NULL ? strlen(path) : 0);
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
	ck_assert_str_eq(out, "");
}
END_TEST

/*
 * Regression: on a byte such as '!' normalisation
 * returned false with out unterminated, the caller ignored it, and stack
 * bytes became the routing key and the 404 text.  Now: one rule with the
 * parser (a name the parser accepts is routed as read, "secret.internal!"
 * is not secret.internal), and out is a string on every path.
 */
START_TEST(test_host_normalize_parser_rule)
{
	char in[8], out[32], head[64];
	struct http1_header hdrs[4];
	struct http1_msg m;
	bool parsed, norm;
	int c, r;

	memset(out, 'X', sizeof(out));
	ck_assert(route_host_normalize("Secret.Internal!", 16, out, sizeof(out)));
	ck_assert_str_eq(out, "secret.internal!");
	for (c = 0; c < 256; c++) {
		in[0] = 'a';
		in[1] = (char)c;
		in[2] = 'b';
		memset(out, 'X', sizeof(out));
		norm = route_host_normalize(in, 3, out, sizeof(out));
		ck_assert_msg(memchr(out, '\0', sizeof(out)) != NULL,
		    "byte 0x%02x: out left unterminated", c);
		if (!norm)
			ck_assert_msg(out[0] == '\0', "byte 0x%02x: out not empty", c);
		/* what the parser says of the same bytes as a Host field */
		r = snprintf(head, sizeof(head), "GET / HTTP/1.1\r\nHost: ");
		memcpy(head + r, in, 3);
		memcpy(head + r + 3, "\r\n\r\n", 4);
		http1_msg_init(&m, HTTP1_REQUEST, HTTP1_M_OTHER, hdrs, 4, 1024);
		parsed = http1_parse_head(&m, head, (size_t)r + 7) > 0;
		ck_assert_msg(parsed == norm, "byte 0x%02x: parser %d, routing %d",
		    c, parsed, norm);
	}
}
END_TEST

/* The host length limit is the parser's: 255 bytes route, 256 do not. */
START_TEST(test_host_normalize_length)
{
	char in[300], out[HTTP1_HOST_MAX + 1];
	struct http1_span h;

	memset(in, 'a', sizeof(in));
	ck_assert(route_host_normalize(in, HTTP1_HOST_MAX, out, sizeof(out)));
	ck_assert_uint_eq(strlen(out), HTTP1_HOST_MAX);
	ck_assert(http1_authority_host(in, HTTP1_HOST_MAX, &h));
	ck_assert(!route_host_normalize(in, HTTP1_HOST_MAX + 1, out, sizeof(out)));
	ck_assert_str_eq(out, "");
	ck_assert(!http1_authority_host(in, HTTP1_HOST_MAX + 1, &h));
	memcpy(in + HTTP1_HOST_MAX, ":443", 4);
	ck_assert(route_host_normalize(in, HTTP1_HOST_MAX + 4, out, sizeof(out)));
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
	ck_assert_str_eq(name_of(match_http(1, "erp.test",
	    "/soap/Employee/1")), "http-soap-emp");
	ck_assert_str_eq(name_of(match_http(1, "erp.test",
	    "/soap/Payroll")), "http-soap");
	/* host specificity wins over a longer prefix on a host-less route */
	ck_assert_str_eq(name_of(match_http(1, "erp.test",
	    "/other")), "http-any-host");
	ck_assert_str_eq(name_of(match_http(1, "evil.test",
	    "/soap/Employee")), "http-any-host");
	ck_assert_str_eq(name_of(match_http(1, NULL, "/x")),
	    "http-any-host");
	ck_assert_str_eq(name_of(match_http(2, "whatever",
	    "/")), "http-other-listener");
	ck_assert_ptr_null(match_http(0, "a.test", "/"));
}
END_TEST

/*
 * Regression: "GET http://h?q=1" has an empty path;
 * it goes upstream as "/?q=1" and is routed as that, never as "?q=1".
 */
START_TEST(test_match_http_empty_path)
{
	ck_assert_str_eq(name_of(match_http(1, "evil.test", "?q=1")),
	    "http-any-host");
	ck_assert_str_eq(name_of(match_http(1, "evil.test", "")),
	    "http-any-host");
	/* a query is no path: "/?/soap/" is not under /soap/ */
	ck_assert_str_eq(name_of(match_http(1, "erp.test", "?/soap/")),
	    "http-any-host");
	conf.nroutes = 5;	/* drop the host-less http routes */
	ck_assert_ptr_null(match_http(1, "erp.test", "?q=1"));
	/* the path ends where its length says, not at a NUL */
	ck_assert_ptr_null(route_match_http(&conf, 1, "erp.test",
	    "/soap/Employee", 4));
	ck_assert_str_eq(name_of(route_match_http(&conf, 1, "erp.test",
	    "/soap/Employee", 6)), "http-soap");
}
END_TEST

START_TEST(test_match_http_no_route)
{
	conf.nroutes = 5;	/* drop the host-less http routes */
	ck_assert_ptr_null(match_http(1, "evil.test", "/soap/"));
	ck_assert_ptr_null(match_http(1, "erp.test", "/so"));
	ck_assert_ptr_null(match_http(1, "erp.test", NULL));
	/* a name is routed as the parser read it: erp.test! is not erp.test */
	ck_assert_ptr_null(match_http(1, "erp.test!", "/soap/"));
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
	tcase_add_test(tc, test_host_normalize_parser_rule);
	tcase_add_test(tc, test_host_normalize_length);
	suite_add_tcase(s, tc);
	tc = tcase_create("match");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_match_tcp);
	tcase_add_test(tc, test_match_tcp_no_fallback);
	tcase_add_test(tc, test_match_http);
	tcase_add_test(tc, test_match_http_no_route);
	tcase_add_test(tc, test_match_http_empty_path);
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
