/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for upstream_ack.c over real TCP connections on 127.0.0.1
 * (the loopback acknowledges at once): the acknowledged byte count, "none
 * acknowledged" before and after the peer's kernel took bytes, the timer
 * calling back only while nothing is acknowledged and never after a stop
 * or on a connection used a moment ago, the idle check seeing a peer's close, the RST-on-close of an abandoned
 * connection, and the safe answers where TCP_INFO cannot tell (AF_UNIX).
 * The blackhole itself (no ACK at all) needs a namespace: integration
 * test 46.
 */
#include "config.h"

#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "sockio.h"
#include "testpair.h"
#include "upstream.h"
#include "upstream_ack.h"

static struct event_base *base;
static int calls;

static void
setup(void)
{
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	calls = 0;
}

static void
teardown(void)
{
	event_base_free(base);
}

/* A connected TCP pair on 127.0.0.1: *a connects, *b is accepted. */
static void
tcp_pair(int *a, int *b)
{
	int fds[2];

	testpair_tcp(fds);
	*a = fds[0];
	*b = fds[1];
}

/* A ready plain upconn on fd, idle since idle_ms ago. */
static struct upconn *
make_upconn(int fd, uint64_t idle_ms)
{
	struct upconn *uc = calloc(1, sizeof(*uc));

	ck_assert_ptr_nonnull(uc);
	uc->magic = UPCONN_MAGIC;
	uc->fd = -1;
	uc->io = sockio_new(base, fd, NULL, SOCKIO_CLOSE_ON_FREE);
	ck_assert_ptr_nonnull(uc->io);
	uc->idle_since_ms = now_ms() - idle_ms;
	return uc;
}

static void
drop_upconn(struct upconn *uc)
{
	upack_free(uc);
	sockio_free(uc->io);
	free(uc);
}

/* Until fd's acknowledged count reaches want (the loopback is quick). */
static uint64_t
wait_acked(int fd, uint64_t want)
{
	uint64_t acked = 0;
	int i;

	for (i = 0; i < 200; i++) {
		ck_assert(upack_bytes_acked(fd, &acked));
		if (acked >= want)
			break;
		(void)poll(NULL, 0, 5);
	}
	return acked;
}

static void
count_cb(void *arg)
{
	ck_assert_ptr_eq(arg, &calls);
	calls++;
}

/* Runs the loop for ms milliseconds. */
static void
run_for(unsigned ms)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = (suseconds_t)ms * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

START_TEST(test_bytes_acked)
{
	uint64_t before, after;
	int a, b, sv[2];

	tcp_pair(&a, &b);
	ck_assert(upack_bytes_acked(a, &before));
	ck_assert_int_eq(write(a, "0123456789", 10), 10);
	after = wait_acked(a, before + 10);
	ck_assert_uint_eq(after, before + 10);	/* acknowledged though b never read */
	close(a);
	close(b);
	/* not TCP: no count, so "acknowledged" (the old rule) everywhere */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert(!upack_bytes_acked(sv[0], &after));
	ck_assert(!upack_idle_unanswered(sv[0]));
	ck_assert(!upack_bytes_acked(-1, &after));
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_none_acked)
{
	struct upconn *uc;
	uint64_t base_acked;
	int a, b;

	tcp_pair(&a, &b);
	uc = make_upconn(a, 1500);
	ck_assert(!upack_none_acked(uc));	/* no watch: never "none" */
	upack_watch(uc, 0, NULL, NULL);
	ck_assert(uc->ack.known);
	ck_assert_uint_ge(uc->ack.idle_ms, 1500);
	ck_assert(upack_none_acked(uc));	/* nothing sent yet */
	base_acked = uc->ack.base;
	ck_assert_int_eq(write(a, "GET / HTTP/1.1\r\n\r\n", 18), 18);
	(void)wait_acked(a, base_acked + 18);
	ck_assert(!upack_none_acked(uc));
	upack_stop(uc);
	ck_assert(!upack_none_acked(uc));	/* stopped: no claim any more */
	drop_upconn(uc);
	close(b);
}
END_TEST

START_TEST(test_timer)
{
	struct upconn *uc;
	int a, b;

	tcp_pair(&a, &b);
	uc = make_upconn(a, 0);
	/* used a moment ago: trusted, no watch, no call */
	upack_watch(uc, 20, count_cb, &calls);
	ck_assert(!uc->ack.known);
	run_for(60);
	ck_assert_int_eq(calls, 0);
	ck_assert(!upack_none_acked(uc));
	uc->idle_since_ms = now_ms() - 1000;
	/* nothing acknowledged when it fires: called back, once */
	upack_watch(uc, 20, count_cb, &calls);
	run_for(80);
	ck_assert_int_eq(calls, 1);
	/* acknowledged before it fires: no call */
	upack_watch(uc, 40, count_cb, &calls);
	ck_assert_int_eq(write(a, "x", 1), 1);
	(void)wait_acked(a, uc->ack.base + 1);
	run_for(80);
	ck_assert_int_eq(calls, 1);
	/* stopped (back to the pool) before it fires: no call */
	upack_watch(uc, 20, count_cb, &calls);
	upack_stop(uc);
	run_for(60);
	ck_assert_int_eq(calls, 1);
	/* off: only notes */
	upack_watch(uc, 0, count_cb, &calls);
	run_for(30);
	ck_assert_int_eq(calls, 1);
	ck_assert(upack_none_acked(uc));
	drop_upconn(uc);
	close(b);
}
END_TEST

START_TEST(test_idle_unanswered)
{
	int a, b, i;
	bool seen = false;

	tcp_pair(&a, &b);
	ck_assert(!upack_idle_unanswered(a));	/* idle, all answered */
	close(b);				/* the peer's FIN: no longer established */
	for (i = 0; i < 200 && !seen; i++) {
		seen = upack_idle_unanswered(a);
		if (!seen)
			(void)poll(NULL, 0, 5);
	}
	ck_assert(seen);
	close(a);
}
END_TEST

START_TEST(test_abandon)
{
	struct upconn *uc;
	struct linger lg;
	socklen_t len = sizeof(lg);
	int a, b;

	tcp_pair(&a, &b);
	uc = make_upconn(a, 0);
	upack_abandon(uc);
	ck_assert_int_eq(getsockopt(a, SOL_SOCKET, SO_LINGER, &lg, &len), 0);
	ck_assert_int_eq(lg.l_onoff, 1);
	ck_assert_int_eq(lg.l_linger, 0);
	drop_upconn(uc);
	close(b);
}
END_TEST

static Suite *
upstream_ack_suite(void)
{
	Suite *s = suite_create("upstream_ack");
	TCase *tc = tcase_create("ack");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_bytes_acked);
	tcase_add_test(tc, test_none_acked);
	tcase_add_test(tc, test_timer);
	tcase_add_test(tc, test_idle_unanswered);
	tcase_add_test(tc, test_abandon);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(upstream_ack_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
