/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for upstream_limit.c: slots up to the cap, FIFO order within
 * a worker and across workers (by ticket), no barging past the queue, the
 * queue timeout and the queue length limit with their close reasons, a
 * cancelled waiter passing its turn on, idle connections asked to close
 * for a waiter, and a slot released by another thread waking the waiting
 * worker's loop through its eventfd.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "diag.h"
#include "upstream_limit.h"

static struct event_base *base;
static struct uplimit *l;

/* What the waker was asked: the workers woken, in order. */
static unsigned woken[64];
static unsigned nwoken;
static int wake_fd = -1;	/* also written, when set: worker 0's loop */

static void
test_waker(unsigned wid, void *arg)
{
	uint64_t one = 1;

	(void)arg;
	if (nwoken < 64)
		woken[nwoken++] = wid;
	if (wake_fd != -1 && wid == 0)
		(void)write(wake_fd, &one, sizeof(one));
}

/* Each waiter records its grant or timeout here. */
struct waiter {
	int id;
	bool done;
	enum close_reason code;		/* CR_OK: granted */
	uint64_t waited;
};
static int order[16];
static unsigned norder;

static void
waiter_cb(void *arg, const struct tb_err *err, uint64_t waited_ms)
{
	struct waiter *wt = arg;

	wt->done = true;
	wt->code = err != NULL ? err->code : CR_OK;
	wt->waited = waited_ms;
	if (err != NULL)
		ck_assert_ptr_nonnull(strstr(diag_hint(err), "upstream_queue_timeout"));
	if (norder < 16)
		order[norder++] = wt->id;
}

static struct uplimit_wait *
wait_for(struct waiter *wt, int id, unsigned wid)
{
	struct tb_err err;
	struct uplimit_wait *h;

	memset(wt, 0, sizeof(*wt));
	wt->id = id;
	h = uplimit_wait(l, wid, base, "legacy", waiter_cb, wt, &err);
	ck_assert_ptr_nonnull(h);
	return h;
}

static void
setup(void)
{
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	l = uplimit_new();
	ck_assert_ptr_nonnull(l);
	uplimit_configure(l, 1, 8, 30000);
	nwoken = 0;
	norder = 0;
	wake_fd = -1;
	uplimit_set_waker(test_waker, NULL, 4);
}

static void
teardown(void)
{
	uplimit_free(l);
	event_base_free(base);
	uplimit_set_waker(NULL, NULL, 0);
}

static bool
was_woken(unsigned wid)
{
	unsigned i;

	for (i = 0; i < nwoken; i++)
		if (woken[i] == wid)
			return true;
	return false;
}

START_TEST(test_slots)
{
	uplimit_configure(l, 2, 8, 30000);
	ck_assert(uplimit_take(l));
	ck_assert(uplimit_take(l));
	ck_assert(!uplimit_take(l));
	uplimit_release(l);
	ck_assert(uplimit_take(l));
	ck_assert(!uplimit_take(l));
	/* unlimited still counts, so a cap set by a reload sees them */
	uplimit_configure(l, 0, 8, 30000);
	ck_assert(uplimit_take(l));
	uplimit_configure(l, 3, 8, 30000);
	ck_assert(!uplimit_take(l));
	uplimit_release(l);
	ck_assert(uplimit_take(l));
	/* no limit at all (a route without a registry id) */
	ck_assert(uplimit_take(NULL));
	uplimit_release(NULL);
	ck_assert(!uplimit_queued(NULL));
}
END_TEST

START_TEST(test_fifo_one_worker)
{
	struct waiter a, b, c;

	ck_assert(uplimit_take(l));
	wait_for(&a, 1, 0);
	wait_for(&b, 2, 0);
	wait_for(&c, 3, 0);
	ck_assert(uplimit_queued(l));
	uplimit_run(l, 0);		/* no slot yet: nothing happens */
	ck_assert(!a.done);
	nwoken = 0;
	uplimit_release(l);
	ck_assert(was_woken(0));
	/* no barging: a slot is free, but the queue comes first */
	ck_assert(!uplimit_take(l));
	uplimit_run(l, 0);
	ck_assert(a.done && a.code == CR_OK);
	ck_assert(!b.done);
	uplimit_release(l);
	uplimit_run(l, 0);
	uplimit_release(l);
	uplimit_run(l, 0);
	ck_assert_uint_eq(norder, 3);
	ck_assert_int_eq(order[0], 1);
	ck_assert_int_eq(order[1], 2);
	ck_assert_int_eq(order[2], 3);
	ck_assert(!uplimit_queued(l));
	ck_assert(!uplimit_take(l));	/* c holds the one slot */
}
END_TEST

START_TEST(test_fifo_across_workers)
{
	struct waiter a, b, c;
	struct uplimit_stats st;

	ck_assert(uplimit_take(l));
	wait_for(&a, 1, 2);
	wait_for(&b, 2, 1);
	wait_for(&c, 3, 2);
	nwoken = 0;
	uplimit_release(l);
	/* a (worker 2) came first: only worker 2 is woken */
	ck_assert_uint_eq(nwoken, 1);
	ck_assert_uint_eq(woken[0], 2);
	uplimit_run(l, 1);		/* worker 1 must not jump the queue */
	ck_assert(!b.done);
	uplimit_run(l, 2);
	ck_assert(a.done);
	ck_assert(!c.done);		/* c waits behind b, who is in worker 1 */
	nwoken = 0;
	uplimit_release(l);
	ck_assert_uint_eq(woken[0], 1);
	uplimit_run(l, 2);
	ck_assert(!c.done);
	uplimit_run(l, 1);
	ck_assert(b.done);
	uplimit_release(l);
	uplimit_run(l, 2);
	ck_assert(c.done);
	ck_assert_int_eq(order[0], 1);
	ck_assert_int_eq(order[1], 2);
	ck_assert_int_eq(order[2], 3);
	ck_assert(uplimit_stats(-1, &st) == false);
}
END_TEST

START_TEST(test_timeout)
{
	struct waiter a, b;

	uplimit_configure(l, 1, 8, 50);
	ck_assert(uplimit_take(l));
	wait_for(&a, 1, 0);
	wait_for(&b, 2, 0);
	event_base_dispatch(base);	/* both timers fire, nothing else is armed */
	ck_assert(a.done && b.done);
	ck_assert_int_eq(a.code, CR_UPSTREAM_QUEUE_TIMEOUT);
	ck_assert_int_eq(b.code, CR_UPSTREAM_QUEUE_TIMEOUT);
	ck_assert_uint_ge(a.waited, 45);
	ck_assert_int_eq(order[0], 1);
	ck_assert(!uplimit_queued(l));
	/* the slot is still held: the timeouts gave nothing back */
	ck_assert(!uplimit_take(l));
	uplimit_release(l);
	ck_assert(uplimit_take(l));
}
END_TEST

START_TEST(test_queue_full)
{
	struct waiter a, b, c;
	struct tb_err err;

	uplimit_configure(l, 1, 2, 30000);
	ck_assert(uplimit_take(l));
	wait_for(&a, 1, 0);
	wait_for(&b, 2, 1);
	memset(&c, 0, sizeof(c));
	ck_assert_ptr_null(uplimit_wait(l, 0, base, "legacy", waiter_cb, &c, &err));
	ck_assert_int_eq(err.code, CR_UPSTREAM_BUSY);
	ck_assert_int_eq(diag_http_status(err.code), 503);
	ck_assert_ptr_nonnull(strstr(err.msg, "legacy"));
	ck_assert_ptr_nonnull(strstr(diag_hint(&err), "upstream_queue_max"));
	ck_assert_ptr_nonnull(strstr(diag_hint(&err), "upstream_max_connections"));
	/* no queue at all: beyond the cap is refused at once */
	uplimit_configure(l, 1, 0, 30000);
	ck_assert_ptr_null(uplimit_wait(l, 2, base, "legacy", waiter_cb, &c, &err));
	ck_assert_int_eq(err.code, CR_UPSTREAM_BUSY);
	ck_assert(!c.done);
}
END_TEST

START_TEST(test_cancel_passes_turn)
{
	struct waiter a, b;
	struct uplimit_wait *ha;

	ck_assert(uplimit_take(l));
	ha = wait_for(&a, 1, 3);
	wait_for(&b, 2, 1);
	uplimit_release(l);		/* worker 3 woken for a ... */
	nwoken = 0;
	uplimit_cancel(ha);		/* ... whose client left */
	ck_assert(was_woken(1));	/* b's turn, in worker 1 */
	uplimit_run(l, 1);
	ck_assert(b.done && b.code == CR_OK);
	ck_assert(!a.done);
	uplimit_cancel(NULL);
}
END_TEST

START_TEST(test_shed_idle)
{
	struct waiter a;

	ck_assert(uplimit_take(l));	/* the one slot: an idle connection in worker 2 */
	uplimit_idle_add(l, 2, 1);
	nwoken = 0;
	wait_for(&a, 1, 0);
	ck_assert(was_woken(2));
	ck_assert(!uplimit_shed_wanted(l, 0));
	ck_assert(uplimit_shed_wanted(l, 2));
	ck_assert(!uplimit_shed_wanted(l, 2));	/* once */
	/* worker 2 closes it */
	uplimit_idle_add(l, 2, -1);
	nwoken = 0;
	uplimit_release(l);
	ck_assert(was_woken(0));
	uplimit_run(l, 0);
	ck_assert(a.done && a.code == CR_OK);
}
END_TEST

static void *
release_thread(void *arg)
{
	uplimit_release(arg);
	return NULL;
}

static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t v;

	(void)what;
	(void)arg;
	(void)read(fd, &v, sizeof(v));
	uplimit_run(l, 0);
}

static void
giveup_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopbreak(base);
}

START_TEST(test_release_from_thread)
{
	struct waiter a;
	struct event *ev, *giveup;
	struct timeval five = { 5, 0 };
	pthread_t t;

	wake_fd = eventfd(0, EFD_NONBLOCK);
	ck_assert_int_ne(wake_fd, -1);
	ev = event_new(base, wake_fd, EV_READ | EV_PERSIST, wake_cb, NULL);
	giveup = evtimer_new(base, giveup_cb, NULL);
	event_add(ev, NULL);
	evtimer_add(giveup, &five);
	ck_assert(uplimit_take(l));
	wait_for(&a, 1, 0);
	ck_assert_int_eq(pthread_create(&t, NULL, release_thread, l), 0);
	while (!a.done && event_base_loop(base, EVLOOP_ONCE) == 0 &&
	    !event_base_got_break(base))
		;
	pthread_join(t, NULL);
	ck_assert(a.done);
	ck_assert_int_eq(a.code, CR_OK);
	event_free(ev);
	event_free(giveup);
	close(wake_fd);
	wake_fd = -1;
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("upstream_limit");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_slots);
	tcase_add_test(tc, test_fifo_one_worker);
	tcase_add_test(tc, test_fifo_across_workers);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_queue_full);
	tcase_add_test(tc, test_cancel_passes_turn);
	tcase_add_test(tc, test_shed_idle);
	tcase_add_test(tc, test_release_from_thread);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
