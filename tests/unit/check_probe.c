/* SPDX-License-Identifier: MIT */
/*
 * check_probe: probe's command line: the default route name, usage
 * errors and the exit statuses, and a whole run against a port nothing
 * listens on.  The parts have their own suites (check_probe_wire,
 * check_probe_cand, check_probe_report); the network parts are covered by
 * tests/integration/08-probe.sh.
 */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonv.h"
#include "probe.h"

/* ---- route names --------------------------------------------------------- */

START_TEST(test_route_name)
{
	char b[16];

	probe_route_name("payroll.corp.local", b, sizeof(b));
	ck_assert_str_eq(b, "payroll.corp.lo");
	probe_route_name("::1", b, sizeof(b));
	ck_assert_str_eq(b, "--1");
	probe_route_name("a_b-c", b, sizeof(b));
	ck_assert_str_eq(b, "a_b-c");
	probe_route_name("", b, sizeof(b));
	ck_assert_str_eq(b, "endpoint");
}
END_TEST

/* ---- command line -------------------------------------------------------- */

static int
run_main(int argc, const char *const *args)
{
	char *argv[16];
	int i;

	ck_assert_int_lt(argc, 16);
	for (i = 0; i < argc; i++)
		argv[i] = strdup(args[i]);
	argv[argc] = NULL;
	i = probe_main(argc, argv);
	while (argc-- > 0)
		free(argv[argc]);
	return i;
}

#define RUN(...) run_main(sizeof((const char *[]){ __VA_ARGS__ }) / \
    sizeof(const char *), (const char *const []){ __VA_ARGS__ })

START_TEST(test_main_usage)
{
	/* run twice in one process: getopt state must be reset each time */
	ck_assert_int_eq(RUN("probe"), 2);
	ck_assert_int_eq(RUN("probe"), 2);
	ck_assert_int_eq(RUN("probe", "--bogus", "127.0.0.1:1"), 2);
	ck_assert_int_eq(RUN("probe", "--sni"), 2);
	/* the config would refuse it in the [route] block probe prints */
	ck_assert_int_eq(RUN("probe", "--sni", "erp.example.com.", "127.0.0.1:1"), 2);
	ck_assert_int_eq(RUN("probe", "127.0.0.1:1", "127.0.0.1:2"), 2);
	ck_assert_int_eq(RUN("probe", "--timeout", "0", "127.0.0.1:1"), 2);
	ck_assert_int_eq(RUN("probe", "--timeout", "5x", "127.0.0.1:1"), 2);
	ck_assert_int_eq(RUN("probe", "--name", "a b", "127.0.0.1:1"), 2);
	ck_assert_int_eq(RUN("probe", "127.0.0.1:99999"), 2);
	ck_assert_int_eq(RUN("probe", "-c", "/dev/null", "127.0.0.1:1"), 2);
	ck_assert_int_eq(RUN("probe", "--route", "x", "127.0.0.1:1"), 2);
	ck_assert_int_eq(RUN("probe", "--route", "x", "--json"), 2);
	ck_assert_int_eq(RUN("probe", "--help"), 0);
	/* a config that does not load: 1, like tlsbroker -t */
	ck_assert_int_eq(RUN("probe", "--route", "x", "-c",
	    "/nonexistent/tlsbroker.ini"), 1);
}
END_TEST

/* Nothing listens on 127.0.0.1:1: exit 1 and a JSON report saying why. */
START_TEST(test_main_refused_json)
{
	char path[] = "/tmp/check_probe.XXXXXX", buf[8192];
	FILE *f;
	size_t n;
	int fd, rc;

	ck_assert_int_ne(fd = mkstemp(path), -1);
	fflush(stdout);
	ck_assert_ptr_nonnull(freopen(path, "w", stdout));
	rc = RUN("probe", "--json", "--timeout", "2s", "127.0.0.1:1");
	fflush(stdout);
	ck_assert_int_eq(rc, 1);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	close(fd);
	unlink(path);
	ck_assert_msg(json_valid(buf), "invalid JSON: %s", buf);
	ck_assert_ptr_nonnull(strstr(buf, "\"code\":\"upstream_refused\""));
	ck_assert_ptr_nonnull(strstr(buf, "\"message\":\"cannot connect: "));
}
END_TEST

static Suite *
probe_suite(void)
{
	Suite *s = suite_create("probe");
	TCase *tc;

	tc = tcase_create("route_name");
	tcase_add_test(tc, test_route_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("main");
	tcase_add_test(tc, test_main_usage);
	tcase_add_test(tc, test_main_refused_json);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(probe_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
