/* SPDX-License-Identifier: MIT */
/*
 * check_clock: ms_timeval() splits milliseconds into whole seconds and
 * microseconds at the boundaries libevent cares about, and the two clocks
 * read the clocks they name (the monotonic one never goes back, the wall
 * one agrees with time(2)), a clock turn reads the clock once, and the
 * timers of fixed durations fire once each, when they are due.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
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

/* Milliseconds from the base's cached time to ev's deadline. */
static int64_t
deadline_left_ms(struct event_base *base, struct event *ev)
{
	struct timeval now, when;

	ck_assert_int_eq(event_base_gettimeofday_cached(base, &now), 0);
	ck_assert(event_pending(ev, EV_TIMEOUT, &when));
	return ((int64_t)when.tv_sec - now.tv_sec) * 1000 +
	    ((int64_t)when.tv_usec - now.tv_usec) / 1000;
}

/*
 * event_add_ms() and event_add_fixed_ms() arm the timeout they are given:
 * the event's deadline, as libevent reports it, is ms after the loop's
 * cached time (1.5 s here, so a conversion that drops the seconds or the
 * milliseconds shows).  A re-arm moves a timer between libevent's heap
 * and a fixed duration's queue either way.
 */
START_TEST(test_event_add_ms_deadline)
{
	int (*const add[])(struct event *, uint64_t) = {
		event_add_ms, event_add_fixed_ms
	};
	struct event_base *base = event_base_new();
	struct event *ev;
	int64_t left_ms;
	size_t i;

	ck_assert_ptr_nonnull(base);
	ev = event_new(base, -1, 0, NULL, NULL);
	ck_assert_ptr_nonnull(ev);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(add[i % 2](ev, 1500), 0);
		left_ms = deadline_left_ms(base, ev);
		/* the same clock read twice: a few ms apart at most */
		ck_assert_int_ge(left_ms, 1490);
		ck_assert_int_le(left_ms, 1600);
		ck_assert_int_eq(add[(i + 1) % 2](ev, 90000), 0);
		left_ms = deadline_left_ms(base, ev);
		ck_assert_int_ge(left_ms, 89990);
		ck_assert_int_le(left_ms, 90100);
	}
	event_free(ev);
	event_base_free(base);
}
END_TEST

#define FIXED_N	300	/* more durations than a base has queues for (256) */

static uint64_t armed_us, fired_us[FIXED_N];
static int times_fired[FIXED_N];

static uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t
fixed_duration_ms(int k)
{
	return 2 * (uint64_t)k + 1;
}

static void
record_fired(evutil_socket_t fd, short what, void *arg)
{
	int k = (int)(intptr_t)arg;

	(void)fd;
	(void)what;
	fired_us[k] = mono_us();
	times_fired[k]++;
}

/*
 * Arms the timers from inside the loop, where libevent's cached time holds
 * still (it was read just before this callback, so no deadline is later
 * than armed_us plus its duration).  Scrambled order, so the queues are
 * made in another order than the deadlines'.
 */
static void
arm_fixed_timers(evutil_socket_t fd, short what, void *arg)
{
	struct event **ev = arg;
	int i, k;

	(void)fd;
	(void)what;
	armed_us = mono_us();
	for (i = 0; i < FIXED_N; i++) {
		k = (i * 7) % FIXED_N;	/* 7 and 300 are coprime: each k once */
		ck_assert_int_eq(event_add_fixed_ms(ev[k], fixed_duration_ms(k)), 0);
	}
}

/*
 * Timers of 300 durations, every one fixed: the first 256 get a queue of
 * their own, the rest fall back to the heap, and each fires once and not
 * before it is due.  Allowed: 1 ms for the time libevent cached before
 * arm_fixed_timers() ran, and one tick of CLOCK_MONOTONIC_COARSE, the
 * clock libevent's timers run on (4 ms at HZ=250).  Timers due in the
 * same loop turn may run in either order: a queue's timers run from its
 * own callback.
 */
START_TEST(test_fixed_durations_fire_when_due)
{
	struct event_base *base = event_base_new();
	struct event *ev[FIXED_N];
	struct timespec tick;
	struct timeval unused;
	uint64_t slack_us = 1000;
	int k;

	ck_assert_ptr_nonnull(base);
	if (clock_getres(CLOCK_MONOTONIC_COARSE, &tick) == 0)
		slack_us += (uint64_t)tick.tv_sec * 1000000 +
		    (uint64_t)tick.tv_nsec / 1000;
	for (k = 0; k < FIXED_N; k++) {
		ev[k] = evtimer_new(base, record_fired, (void *)(intptr_t)k);
		ck_assert_ptr_nonnull(ev[k]);
		times_fired[k] = 0;
	}
	ck_assert_int_eq(event_base_once(base, -1, EV_TIMEOUT, arm_fixed_timers,
	    ev, NULL), 0);
	ck_assert_int_eq(event_base_dispatch(base), 1);	/* no events left */
	/* the timers took every queue the base has: none left for another */
	unused = ms_timeval(99999);
	ck_assert_ptr_null(event_base_init_common_timeout(base, &unused));
	for (k = 0; k < FIXED_N; k++) {
		ck_assert_int_eq(times_fired[k], 1);
		ck_assert_msg(fired_us[k] + slack_us >= armed_us +
		    fixed_duration_ms(k) * 1000, "timer %d fired %lld us early", k,
		    (long long)(armed_us + fixed_duration_ms(k) * 1000 - fired_us[k]));
		event_free(ev[k]);
	}
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
	tcase_add_test(tc, test_fixed_durations_fire_when_due);
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
