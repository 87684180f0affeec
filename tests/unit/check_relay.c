/* SPDX-License-Identifier: MIT */
/*
 * check_relay: the libevent 2.1 close race relay_event_defer() exists for.
 * A TLS bufferevent (read-ahead and watermarks as the sessions set them)
 * reads from an in-process TLS peer over a socketpair.  The peer's last
 * record and its close_notify wait in the socket together, and the
 * bufferevent's input holds a few bytes in a chain drained almost to its
 * end, so do_read() splits its reservation in two: the record goes into
 * the first part, the close into the second.  Without the deferral the
 * event callback sees the EOF before the record is in the input
 * (test_race_without_defer proves the setting provokes the race); with it
 * the callback acts only once every byte arrived.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "relay.h"
#include "testcert.h"

#define LEFTOVER	10	/* bytes left in the input's drained chain */
#define PAYLOAD		1000	/* the peer's last record */

struct pair {
	struct event_base *base;
	struct bufferevent *bev;	/* our side */
	SSL *peer;			/* the other side, driven by hand */
	SSL_CTX *sctx, *cctx;
	int fds[2];
	bool defer;			/* use relay_event_defer() */
	struct evbuffer *got;		/* everything the read callback saw */
	size_t got_at_eof;		/* its length when the EOF was acted on */
	short what;			/* the event acted on */
	int eof_errno;			/* errno then */
	int events;			/* event callbacks acted on */
};

static SSL_CTX *
server_ctx(void)
{
	SSL_CTX *ctx = testcert_server_ctx(EVP_EC_gen("P-256"), "relay.test");

	/* TLS 1.2: no session tickets after the handshake, records only */
	ck_assert_int_eq(SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION), 1);
	return ctx;
}

static void
readcb(struct bufferevent *bev, void *arg)
{
	struct pair *p = arg;

	evbuffer_add_buffer(p->got, bufferevent_get_input(bev));
}

static void
eventcb(struct bufferevent *bev, short what, void *arg)
{
	int sys_errno = errno;
	struct pair *p = arg;

	if (p->defer && relay_event_defer(bev, &what, sys_errno))
		return;
	/* what is left in the input counts as seen, as the sessions drain it */
	evbuffer_add_buffer(p->got, bufferevent_get_input(bev));
	p->got_at_eof = evbuffer_get_length(p->got);
	p->what = what;
	p->eof_errno = errno;
	p->events++;
	event_base_loopbreak(p->base);
}

static void
handshake(struct pair *p, SSL *c)
{
	int round, cr = 0, sr = 0;

	for (round = 0; round < 1000 && (cr != 1 || sr != 1); round++) {
		if (cr != 1)
			cr = SSL_do_handshake(c);
		if (sr != 1)
			sr = SSL_do_handshake(p->peer);
	}
	ck_assert_int_eq(cr, 1);
	ck_assert_int_eq(sr, 1);
}

/*
 * Leaves LEFTOVER bytes near the end of a chain, with room for the record
 * after them but less than one read, as a request taken out of pipelined
 * ones leaves them.  (120000 bytes go into one 128 KiB chain.)
 */
static void
leave_drained_chain(struct bufferevent *bev)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	static char junk[120000];
	struct evbuffer_iovec v[2];
	ev_ssize_t n = bufferevent_get_max_single_read(bev);

	memset(junk, 'j', sizeof(junk));
	ck_assert_int_eq(evbuffer_add(in, junk, sizeof(junk)), 0);
	evbuffer_drain(in, sizeof(junk) - LEFTOVER);
	/* the precondition: do_read()'s reservation comes in two parts */
	if (n > RELAY_HIGH - LEFTOVER)
		n = RELAY_HIGH - LEFTOVER;
	ck_assert_int_eq(evbuffer_reserve_space(in, n, v, 2), 2);
	ck_assert_uint_gt(v[0].iov_len, PAYLOAD);
	evbuffer_commit_space(in, v, 0);
}

static void
pair_setup(struct pair *p, bool defer)
{
	SSL *c;
	char payload[PAYLOAD];

	memset(p, 0, sizeof(*p));
	p->defer = defer;
	p->base = event_base_new();
	p->got = evbuffer_new();
	p->sctx = server_ctx();
	p->cctx = SSL_CTX_new(TLS_client_method());
	ck_assert_ptr_nonnull(p->base);
	ck_assert_ptr_nonnull(p->cctx);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, p->fds), 0);
	ck_assert_int_eq(fcntl(p->fds[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(fcntl(p->fds[1], F_SETFL, O_NONBLOCK), 0);
	c = SSL_new(p->cctx);
	p->peer = SSL_new(p->sctx);
	SSL_set_fd(c, p->fds[0]);
	SSL_set_fd(p->peer, p->fds[1]);
	SSL_set_connect_state(c);
	SSL_set_accept_state(p->peer);
	handshake(p, c);

	p->bev = bufferevent_openssl_socket_new(p->base, p->fds[0], c,
	    BUFFEREVENT_SSL_OPEN, BEV_OPT_CLOSE_ON_FREE);
	ck_assert_ptr_nonnull(p->bev);
	bufferevent_openssl_set_allow_dirty_shutdown(p->bev, 1);
	relay_setup(p->bev);
	relay_read_ahead(p->bev);
	bufferevent_setcb(p->bev, readcb, NULL, eventcb, p);
	leave_drained_chain(p->bev);

	/* The last record and the close_notify, waiting together. */
	memset(payload, 'p', sizeof(payload));
	ck_assert_int_eq(SSL_write(p->peer, payload, sizeof(payload)),
	    sizeof(payload));
	ck_assert_int_ge(SSL_shutdown(p->peer), 0);
	bufferevent_enable(p->bev, EV_READ);
}

static void
pair_run(struct pair *p)
{
	struct timeval limit = { 10, 0 };

	event_base_loopexit(p->base, &limit);
	event_base_dispatch(p->base);
}

static void
pair_teardown(struct pair *p)
{
	bufferevent_free(p->bev);
	event_base_free(p->base);
	SSL_free(p->peer);
	close(p->fds[1]);
	SSL_CTX_free(p->sctx);
	SSL_CTX_free(p->cctx);
	evbuffer_free(p->got);
}

START_TEST(test_race_without_defer)
{
	struct pair p;

	pair_setup(&p, false);
	pair_run(&p);
	ck_assert_int_eq(p.events, 1);
	ck_assert(p.what & BEV_EVENT_EOF);
	/* the record was read, but not yet in the input when the EOF came */
	ck_assert_uint_eq(p.got_at_eof, LEFTOVER);
	pair_teardown(&p);
}
END_TEST

START_TEST(test_defer_sees_every_byte)
{
	struct pair p;

	pair_setup(&p, true);
	pair_run(&p);
	ck_assert_int_eq(p.events, 1);
	ck_assert_int_eq(p.what, BEV_EVENT_EOF | BEV_EVENT_READING);
	ck_assert_uint_eq(p.got_at_eof, LEFTOVER + PAYLOAD);
	pair_teardown(&p);
}
END_TEST

/* A reset, not a close_notify: the error event is deferred too, errno kept. */
START_TEST(test_defer_keeps_errno)
{
	struct pair p;
	short what = BEV_EVENT_ERROR | BEV_EVENT_READING;

	pair_setup(&p, true);
	ck_assert(relay_event_defer(p.bev, &what, ECONNRESET));
	errno = 0;
	pair_run(&p);
	/* the redelivered error came first, with its errno */
	ck_assert_int_eq(p.events, 1);
	ck_assert(p.what & BEV_EVENT_ERROR);
	ck_assert_int_eq(p.eof_errno, ECONNRESET);
	pair_teardown(&p);
}
END_TEST

/* Plain sockets and writing events need no deferral. */
START_TEST(test_no_defer_for_plain_or_write)
{
	struct event_base *base = event_base_new();
	struct bufferevent *plain;
	struct pair p;
	short what = BEV_EVENT_EOF | BEV_EVENT_READING;
	int fds[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	plain = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
	ck_assert(!relay_event_defer(plain, &what, 0));
	ck_assert_int_eq(what, BEV_EVENT_EOF | BEV_EVENT_READING);
	bufferevent_free(plain);
	close(fds[1]);
	event_base_free(base);

	pair_setup(&p, true);
	what = BEV_EVENT_EOF | BEV_EVENT_WRITING;
	ck_assert(!relay_event_defer(p.bev, &what, EPIPE));
	ck_assert_int_eq(what, BEV_EVENT_EOF | BEV_EVENT_WRITING);
	pair_teardown(&p);
}
END_TEST

static Suite *
relay_suite(void)
{
	Suite *s = suite_create("relay");
	TCase *tc = tcase_create("close race");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_race_without_defer);
	tcase_add_test(tc, test_defer_sees_every_byte);
	tcase_add_test(tc, test_defer_keeps_errno);
	tcase_add_test(tc, test_no_defer_for_plain_or_write);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(relay_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
