/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for pool.c over socketpairs (no network, no TLS): reuse of a
 * live connection, eviction at pool_max_idle, refusal after
 * pool_max_requests, a connection the endpoint closes while idle leaving
 * the pool at once (and teaching the pool the endpoint's idle-close time),
 * a stale one dropped at checkout, a retired pool keeping nothing, and a
 * connection near pool_max_requests getting its replacement opened ahead
 * (a real TCP connection to a listener of the test's own).
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "conf.h"
#include "gen.h"
#include "pool.h"
#include "sockio.h"
#include "tlsio.h"
#include "upstream.h"
#include "upstream_limit.h"
#include "worker.h"

static struct worker w;
static struct route_conf rc;
static struct pool pool;

static void
setup(void)
{
	memset(&w, 0, sizeof(w));
	memset(&rc, 0, sizeof(rc));
	w.base = event_base_new();
	ck_assert_ptr_nonnull(w.base);
	rc.name = (char *)"r";
	rc.metrics_id = -1;
	rc.pool_max_idle = 2;
	rc.pool_idle_timeout_ms = 30000;
	rc.pool_max_requests = 3;
	rc.pool_max_lifetime_ms = 600000;
	pool_init(&pool, &w, &rc, 0, NULL);
}

static void
teardown(void)
{
	pool_free(&pool);
	event_base_free(w.base);
}

/* A ready plain upconn on one end of a socketpair; *peer gets the other end. */
static struct upconn *
make_upconn(int *peer)
{
	struct upconn *uc = calloc(1, sizeof(*uc));
	int sv[2];

	ck_assert_ptr_nonnull(uc);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	uc->magic = UPCONN_MAGIC;
	uc->w = &w;
	uc->rc = &rc;
	uc->fd = -1;
	uc->connect_ms = uc->handshake_ms = -1;
	tls_info_init(&uc->tinfo);
	uc->io = sockio_new(w.base, sv[0], NULL, SOCKIO_CLOSE_ON_FREE);
	ck_assert_ptr_nonnull(uc->io);
	uc->created_ms = now_ms();
	/* test_renew_ahead's subject; elsewhere replacements would add connections the test does not count */
	uc->renewed = true;
	*peer = sv[1];
	return uc;
}

static void
loop_once(void)
{
	event_base_loop(w.base, EVLOOP_NONBLOCK);
}

START_TEST(test_reuse_live)
{
	int peer;
	struct upconn *uc = make_upconn(&peer);

	uc->requests = 1;
	pool_put(&pool, uc);
	ck_assert_uint_eq(pool.nidle, 1);
	ck_assert_ptr_eq(pool_take(&pool, false), uc);
	ck_assert_uint_eq(pool.nidle, 0);
	ck_assert_ptr_null(pool_take(&pool, false));
	upconn_free(uc, false);
	close(peer);
}
END_TEST

/*
 * Pooled a moment ago, the endpoint closed since, the loop has not run:
 * a request that may be retried trusts it (no system call); one that
 * cannot (sure) checks the socket and gets nothing.
 */
START_TEST(test_sure_checks_a_fresh_close)
{
	int peer;
	struct upconn *uc = make_upconn(&peer);

	pool_put(&pool, uc);
	close(peer);
	ck_assert_ptr_null(pool_take(&pool, true));
	ck_assert_uint_eq(pool.nidle, 0);

	uc = make_upconn(&peer);
	pool_put(&pool, uc);
	close(peer);
	ck_assert_ptr_eq(pool_take(&pool, false), uc);
	upconn_free(uc, false);
}
END_TEST

START_TEST(test_max_idle_evicts_oldest)
{
	int p1, p2, p3;
	struct upconn *a = make_upconn(&p1), *b = make_upconn(&p2),
	    *c = make_upconn(&p3);

	pool_put(&pool, a);
	pool_put(&pool, b);
	pool_put(&pool, c);	/* pool_max_idle = 2: a goes */
	ck_assert_uint_eq(pool.nidle, 2);
	/* most recently used first */
	ck_assert_ptr_eq(pool_take(&pool, false), c);
	ck_assert_ptr_eq(pool_take(&pool, false), b);
	ck_assert_ptr_null(pool_take(&pool, false));
	upconn_free(b, false);
	upconn_free(c, false);
	close(p1);
	close(p2);
	close(p3);
}
END_TEST

START_TEST(test_max_requests_refused)
{
	int peer;
	struct upconn *uc = make_upconn(&peer);

	uc->requests = rc.pool_max_requests;	/* used up: freed, not kept */
	pool_put(&pool, uc);
	ck_assert_uint_eq(pool.nidle, 0);
	ck_assert_ptr_null(pool_take(&pool, false));
	close(peer);
}
END_TEST

/*
 * Puts n connections opened together (all alive at once, as in a burst),
 * requests used and age_ms old; returns how many the pool kept.
 */
static unsigned
put_used(unsigned n, unsigned requests, uint64_t age_ms, int *peers,
    unsigned *npeers)
{
	struct upconn *ucs[64];
	unsigned before = pool.nidle, i;

	ck_assert_uint_le(n, 64);
	for (i = 0; i < n; i++) {
		ucs[i] = make_upconn(&peers[(*npeers)++]);
		ucs[i]->requests = requests;
		ucs[i]->created_ms -= age_ms;
	}
	for (i = 0; i < n; i++)
		pool_put(&pool, ucs[i]);
	return pool.nidle - before;
}

/*
 * Connections opened together must not all reach their limits together:
 * each one's limit is cut by up to a tenth, never more.
 */
START_TEST(test_limits_spread_over_last_tenth)
{
	enum { N = 40 };
	int peer[5 * N];
	unsigned i, n = 0, kept, kept_age;

	rc.pool_max_idle = 10 * N;	/* never full: no eviction */
	rc.pool_max_requests = 1000;
	/* below every cut limit: all kept; inside the last tenth: some */
	ck_assert_uint_eq(put_used(N, 899, 0, peer, &n), N);
	kept = put_used(N, 950, 0, peer, &n);
	ck_assert_uint_gt(kept, 0);
	ck_assert_uint_lt(kept, N);
	ck_assert_uint_eq(put_used(N, 1000, 0, peer, &n), 0);	/* at the limit */
	rc.pool_max_requests = 3;	/* a tenth of 3 is nothing: exact */
	ck_assert_uint_eq(put_used(N, 2, 0, peer, &n), N);
	/* the same spread applies to age */
	kept_age = put_used(N, 0, rc.pool_max_lifetime_ms * 95 / 100, peer, &n);
	ck_assert_uint_gt(kept_age, 0);
	ck_assert_uint_lt(kept_age, N);
	for (i = 0; i < n; i++)
		close(peer[i]);
}
END_TEST

START_TEST(test_no_pooling_when_max_idle_zero)
{
	int peer;
	struct upconn *uc = make_upconn(&peer);

	rc.pool_max_idle = 0;
	pool_put(&pool, uc);
	ck_assert_uint_eq(pool.nidle, 0);
	close(peer);
}
END_TEST

START_TEST(test_idle_close_leaves_and_teaches)
{
	int peer;
	struct upconn *uc = make_upconn(&peer);

	pool_put(&pool, uc);
	/* Pretend it has been idle for 1.5 s, then the endpoint closes it. */
	uc->idle_since_ms -= 1500;
	close(peer);
	loop_once();
	ck_assert_uint_eq(pool.nidle, 0);
	ck_assert_uint_ge(pool.learned_idle_ms, 1500);
	ck_assert_uint_lt(pool.learned_idle_ms, 2500);
}
END_TEST

START_TEST(test_learned_limit_retires_before_endpoint)
{
	int peer;
	struct upconn *uc = make_upconn(&peer);

	pool.learned_idle_ms = 1000;
	pool.learned_at = now_ms();
	pool_put(&pool, uc);
	/* idle for 900 ms: past the learned time less its margin */
	uc->idle_since_ms -= 900;
	ck_assert_ptr_null(pool_take(&pool, false));
	ck_assert_uint_eq(pool.nidle, 0);
	close(peer);
}
END_TEST

START_TEST(test_stale_dropped_at_checkout)
{
	int peer;
	struct upconn *uc = make_upconn(&peer);

	pool_put(&pool, uc);
	/* The close arrived since the last loop turn: found by the peek. */
	close(peer);
	uc->idle_since_ms -= 100;
	ck_assert_ptr_null(pool_take(&pool, false));
	ck_assert_uint_eq(pool.nidle, 0);
}
END_TEST

START_TEST(test_unsolicited_bytes_drop)
{
	int peer;
	struct upconn *uc = make_upconn(&peer);

	pool_put(&pool, uc);
	ck_assert_int_eq(write(peer, "x", 1), 1);
	loop_once();
	ck_assert_uint_eq(pool.nidle, 0);
	close(peer);
}
END_TEST

START_TEST(test_retired_keeps_nothing)
{
	int p1, p2;
	struct upconn *a = make_upconn(&p1), *b = make_upconn(&p2);

	pool_put(&pool, a);
	pool_retire(&pool);
	ck_assert_uint_eq(pool.nidle, 0);
	pool_put(&pool, b);
	ck_assert_uint_eq(pool.nidle, 0);
	ck_assert_ptr_null(pool_take(&pool, false));
	close(p1);
	close(p2);
}
END_TEST

static void
slot_cb(void *arg, const struct tb_err *err, uint64_t waited_ms)
{
	(void)arg;
	(void)err;
	(void)waited_ms;
}

/*
 * A capped route full of idle connections asks the worker to shed one.
 * The worker offers the request to each of the route's pools (one per
 * address); a pool with nothing idle must leave it to the one that has.
 */
START_TEST(test_shed_reaches_the_pool_with_idle)
{
	struct uplimit *l = uplimit_new();
	struct pool other;
	struct uplimit_wait *wt;
	struct tb_err err;
	int p1;

	ck_assert_ptr_nonnull(l);
	uplimit_configure(l, 1, 4, 30000);
	rc.limit = l;
	pool_init(&other, &w, &rc, 1, NULL);
	ck_assert(uplimit_take(l));		/* the idle connection's slot */
	pool_put(&other, make_upconn(&p1));
	ck_assert_uint_eq(other.nidle, 1);
	/* nothing else idle: shedding one before anything is asked is wrong */
	pool_shed(&other);
	ck_assert_uint_eq(other.nidle, 1);
	wt = uplimit_wait(l, 0, w.base, "r", slot_cb, NULL, &err);
	ck_assert_ptr_nonnull(wt);
	pool_shed(&pool);			/* address 0: nothing idle */
	pool_shed(&other);			/* address 1: closes its idle one */
	ck_assert_uint_eq(other.nidle, 0);
	uplimit_cancel(wt);
	pool_free(&other);
	rc.limit = NULL;
	uplimit_release(l);
	uplimit_worker_exit(0);
	uplimit_free(l);
	close(p1);
}
END_TEST

/* A listening socket on 127.0.0.1 made the route's one address. */
static int
listen_as_upstream(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	strcpy(rc.upstreams[0].hp.host, "127.0.0.1");
	rc.upstreams[0].hp.port = ntohs(sin.sin_port);
	rc.nupstreams = 1;
	rc.connect_timeout_ms = 5000;
	return fd;
}

/* Runs the loop until the replacement is pooled (or 5 s pass: a failure). */
static void
loop_until_idle(unsigned nidle)
{
	uint64_t until = now_ms() + 5000;

	while (pool.nidle < nidle && now_ms() < until)
		event_base_loop(w.base, EVLOOP_ONCE);
}

/* Lets the pool dial (pool_warm_one()): a resolver and a generation. */
static void
dialing_on(void)
{
	static struct conf conf;	/* broker defaults: all zero */
	static struct gen gen = { .conf = &conf };

	w.dns = evdns_base_new(w.base, 0);
	ck_assert_ptr_nonnull(w.dns);
	w.gen = &gen;
}

/* Frees what the pool opened and stops dialing again. */
static void
dialing_off(void)
{
	pool_free(&pool);
	pool_init(&pool, &w, &rc, 0, NULL);
	evdns_base_free(w.dns, 0);
	w.dns = NULL;
	w.gen = NULL;
}

/*
 * A connection that carried requests and is about to reach
 * pool_max_requests gets one replacement opened ahead, once; a connection
 * that carried none (a warm one) asks for nothing.
 */
START_TEST(test_renew_ahead)
{
	int lfd = listen_as_upstream(), peer, acc;
	struct pollfd pfd;
	struct upconn *uc = make_upconn(&peer), *fresh = NULL;

	dialing_on();
	rc.pool_max_requests = 9;	/* under 10: no spread, the limit is exact */
	uc->renewed = false;
	uc->requests = 6;		/* 3 left: nothing yet */
	pool_put(&pool, uc);
	ck_assert_uint_eq(pool.warming, 0);
	ck_assert_ptr_eq(pool_take(&pool, false), uc);
	uc->requests = 7;		/* 2 left: the margin */
	pool_put(&pool, uc);
	ck_assert_uint_eq(pool.warming, 1);
	ck_assert_ptr_eq(pool_take(&pool, false), uc);
	uc->requests = 8;
	pool_put(&pool, uc);		/* once only */
	ck_assert_uint_eq(pool.warming, 1);
	loop_until_idle(2);
	ck_assert_uint_eq(pool.warming, 0);
	ck_assert_uint_eq(pool.nidle, 2);
	pfd.fd = lfd;
	pfd.events = POLLIN;
	ck_assert_int_eq(poll(&pfd, 1, 0), 1);	/* the endpoint has it */
	acc = accept(lfd, NULL, NULL);
	ck_assert_int_ge(acc, 0);
	/* the replacement carried nothing: put back, it opens nothing */
	fresh = pool_take(&pool, false);	/* pooled last: taken first */
	ck_assert_ptr_nonnull(fresh);
	ck_assert_ptr_ne(fresh, uc);
	ck_assert_uint_eq(fresh->requests, 0);
	ck_assert_ptr_eq(pool_take(&pool, false), uc);
	pool_put(&pool, fresh);
	ck_assert_uint_eq(pool.warming, 0);
	upconn_free(uc, false);
	dialing_off();
	close(acc);
	close(lfd);
	close(peer);
}
END_TEST

/*
 * With pool_max_idle = 0 nothing is ever pooled, so a replacement opened
 * ahead would be closed the moment it is ready: a wasted legacy handshake
 * on every connection that nears its limit.  None is opened.
 */
START_TEST(test_no_renew_without_pooling)
{
	int lfd = listen_as_upstream(), peer;
	struct pollfd pfd = { .events = POLLIN };
	struct upconn *uc = make_upconn(&peer);

	dialing_on();
	rc.pool_max_idle = 0;
	rc.pool_max_requests = 9;
	uc->renewed = false;
	uc->requests = 8;		/* 1 left: inside the margin */
	pool_put(&pool, uc);
	ck_assert_uint_eq(pool.warming, 0);
	ck_assert_uint_eq(pool.nidle, 0);
	loop_once();
	pfd.fd = lfd;
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);	/* nobody dialled the endpoint */
	dialing_off();
	close(peer);
	close(lfd);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("pool");
	TCase *tc = tcase_create("idle");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_reuse_live);
	tcase_add_test(tc, test_sure_checks_a_fresh_close);
	tcase_add_test(tc, test_max_idle_evicts_oldest);
	tcase_add_test(tc, test_max_requests_refused);
	tcase_add_test(tc, test_limits_spread_over_last_tenth);
	tcase_add_test(tc, test_no_pooling_when_max_idle_zero);
	tcase_add_test(tc, test_idle_close_leaves_and_teaches);
	tcase_add_test(tc, test_learned_limit_retires_before_endpoint);
	tcase_add_test(tc, test_stale_dropped_at_checkout);
	tcase_add_test(tc, test_unsolicited_bytes_drop);
	tcase_add_test(tc, test_retired_keeps_nothing);
	tcase_add_test(tc, test_shed_reaches_the_pool_with_idle);
	tcase_add_test(tc, test_renew_ahead);
	tcase_add_test(tc, test_no_renew_without_pooling);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
