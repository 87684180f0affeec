/* SPDX-License-Identifier: MIT */
/* Unit tests for log.c: the per-route failure-line rate limit and level gating. */
#include "config.h"

#include <check.h>
#include <stdlib.h>

#include "log.h"

START_TEST(test_ratelimit_burst_then_window)
{
	struct log_ratelimit rl = { 0 };
	unsigned dropped, i, allowed = 0;

	for (i = 0; i < 25; i++) {
		if (log_ratelimit_ok(&rl, 1000 + i, &dropped))
			allowed++;
		ck_assert_uint_eq(dropped, 0);
	}
	ck_assert_uint_eq(allowed, LOG_RL_BURST);
	/* Still inside the window: refused, nothing reported yet. */
	ck_assert(!log_ratelimit_ok(&rl, 1000 + LOG_RL_WINDOW_MS - 1, &dropped));
	ck_assert_uint_eq(dropped, 0);
	/* A new window opens: allowed again, and the drops of the old one are told. */
	ck_assert(log_ratelimit_ok(&rl, 1000 + LOG_RL_WINDOW_MS, &dropped));
	ck_assert_uint_eq(dropped, 25 - LOG_RL_BURST + 1);
	/* Reported once only. */
	ck_assert(log_ratelimit_ok(&rl, 1000 + LOG_RL_WINDOW_MS + 1, &dropped));
	ck_assert_uint_eq(dropped, 0);
}
END_TEST

START_TEST(test_ratelimit_quiet_route)
{
	struct log_ratelimit rl = { 0 };
	unsigned dropped, i;

	/* A route failing now and then is never limited. */
	for (i = 0; i < 50; i++) {
		ck_assert(log_ratelimit_ok(&rl, 5000 + (uint64_t)i * LOG_RL_WINDOW_MS,
		    &dropped));
		ck_assert_uint_eq(dropped, 0);
	}
}
END_TEST

START_TEST(test_levels)
{
	log_init(LOG_LVL_WARNING);
	ck_assert(log_enabled(LOG_LVL_ERROR));
	ck_assert(log_enabled(LOG_LVL_WARNING));
	ck_assert(!log_enabled(LOG_LVL_INFO));
	log_set_level(LOG_LVL_DEBUG);
	ck_assert(log_enabled(LOG_LVL_DEBUG));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("ratelimit");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_ratelimit_burst_then_window);
	tcase_add_test(tc, test_ratelimit_quiet_route);
	tcase_add_test(tc, test_levels);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
