/* SPDX-License-Identifier: MIT */
/*
 * check_clock: ms_timeval() splits milliseconds into whole seconds and
 * microseconds at the boundaries libevent cares about, and the two clocks
 * read the clocks they name (the monotonic one never goes back, the wall
 * one agrees with time(2)), and a clock turn reads the clock once.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#include "clock.h"
#include "testclock.h"

START_TEST(test_timeval_split)
{
	static const struct {
		uint64_t ms;
		long sec, usec;
	} cases[] = {
		{ 0, 0, 0 }, { 1, 0, 1000 }, { 999, 0, 999000 },
		{ 1000, 1, 0 }, { 1001, 1, 1000 }, { 120000, 120, 0 },
		{ 86400123, 86400, 123000 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct timeval tv = ms_timeval(cases[i].ms);

		ck_assert_int_eq(tv.tv_sec, cases[i].sec);
		ck_assert_int_eq(tv.tv_usec, cases[i].usec);
	}
}
END_TEST

/*
 * event_add_ms() arms the timeout it is given: the event's deadline, as
 * libevent reports it, is ms after the loop's cached time (1.5 s here, so
 * a conversion that drops the seconds or the milliseconds shows).
 */
START_TEST(test_event_add_ms_deadline)
{
	struct event_base *base = event_base_new();
	struct event *ev;
	struct timeval now, when;
	int64_t left_ms;

	ck_assert_ptr_nonnull(base);
	ev = event_new(base, -1, 0, NULL, NULL);
	ck_assert_ptr_nonnull(ev);
	ck_assert_int_eq(event_base_gettimeofday_cached(base, &now), 0);
	ck_assert_int_eq(event_add_ms(ev, 1500), 0);
	ck_assert(event_pending(ev, EV_TIMEOUT, &when));
	left_ms = ((int64_t)when.tv_sec - now.tv_sec) * 1000 +
	    ((int64_t)when.tv_usec - now.tv_usec) / 1000;
	/* the same clock read twice: a few ms apart at most */
	ck_assert_int_ge(left_ms, 1490);
	ck_assert_int_le(left_ms, 1600);
	event_free(ev);
	event_base_free(base);
}
END_TEST

START_TEST(test_monotonic_never_back)
{
	uint64_t prev = now_ms(), t;
	int i;

	for (i = 0; i < 100000; i++) {
		t = now_ms();
		ck_assert_uint_ge(t, prev);
		prev = t;
	}
}
END_TEST

/*
 * Epoch milliseconds of the precise clock.  Not time(): it reads the
 * coarse clock, up to a tick behind, so a read at a second's turn failed.
 */
static uint64_t
realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

START_TEST(test_wall_is_epoch_ms)
{
	uint64_t before = realtime_ms();
	uint64_t ms = wall_ms();
	uint64_t after = realtime_ms();

	ck_assert_uint_ge(ms, before);
	ck_assert_uint_le(ms, after);
	/* epoch milliseconds, not seconds or the monotonic clock: after 2020 */
	ck_assert_uint_gt(ms, (uint64_t)1577836800 * 1000);
}
END_TEST

/*
 * Inside a clock turn now_ms() gives the turn's first reading, nested
 * turns included; once the outermost ends it reads the clock again, and
 * an end without a begin changes nothing.
 */
START_TEST(test_turn_reads_clock_once)
{
	uint64_t t0, t1;

	clock_turn_begin();
	t0 = now_ms();
	spin_past_ms(t0 + 2);
	ck_assert_uint_eq(now_ms(), t0);
	clock_turn_begin();
	ck_assert_uint_eq(now_ms(), t0);
	clock_turn_end();
	ck_assert_uint_eq(now_ms(), t0);	/* the outer turn goes on */
	clock_turn_end();
	t1 = now_ms();
	ck_assert_uint_ge(t1, t0 + 2);
	clock_turn_begin();			/* a new turn, a new reading */
	ck_assert_uint_ge(now_ms(), t1);
	clock_turn_end();
	clock_turn_end();			/* unbalanced: still outside */
	spin_past_ms(t1 + 2);
	ck_assert_uint_ge(now_ms(), t1 + 2);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("clock");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_timeval_split);
	tcase_add_test(tc, test_event_add_ms_deadline);
	tcase_add_test(tc, test_monotonic_never_back);
	tcase_add_test(tc, test_wall_is_epoch_ms);
	tcase_add_test(tc, test_turn_reads_clock_once);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
