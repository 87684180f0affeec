/* SPDX-License-Identifier: MIT */
/*
 * check_sockio: the I/O layer's contract (sockio.h) against real peers in
 * process: a socketpair or a loopback TCP pair, plain or with an
 * in-process TLS handshake.
 *
 *  - a close never overtakes the data that came with it (the libevent 2.1
 *    bufferevent_openssl race, provoked the way it used to happen: the
 *    input holds a chain drained almost to its end);
 *  - a reset is an EOF with errno ECONNRESET, a TLS protocol error an
 *    ERROR with its OpenSSL reason and an empty error queue;
 *  - records OpenSSL holds are read without the socket waking again;
 *  - megabytes both ways through small socket buffers and the watermarks
 *    arrive intact and in order (WANT_WRITE retries, suspension, resume);
 *  - a failed write is reported, flush() writes at once, and freeing the
 *    object inside its own callback is safe.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "clock.h"
#include "relay.h"
#include "sockio.h"
#include "testcert.h"
#include "testpair.h"
#include "testclock.h"

#define LEFTOVER	10	/* bytes left in the input's drained chain */
#define PAYLOAD		1000	/* the peer's last record */

/* One end of a pair seen through a sockio, and what its callbacks saw. */
struct end {
	struct event_base *base;
	struct sockio *io;
	struct evbuffer *got;		/* every byte the read callback saw */
	size_t got_at_event;		/* its length when the event came */
	size_t read_before_event;	/* of which the read callback had seen */
	short what;			/* the event */
	int event_errno;		/* errno then */
	int events;
	int reads;
	bool free_in_read;		/* the read callback frees io */
	bool echo;			/* the read callback relays input to output */
	bool paused;			/* echo: reading paused, output full */
	size_t stop_at;			/* loopbreak once got holds this much */
	unsigned long ssl_err;
	bool clock_probe;		/* the read callback checks its clock turn */
	bool clock_held;		/* now_ms() held still while the real clock moved */
	uint64_t clock_turn_ms;		/* what now_ms() said in the callback */
};

struct pair {
	struct event_base *base;
	SSL_CTX *sctx, *cctx;
	SSL *ssl[2];			/* 0: client, 1: server; NULL when plain */
	int fds[2];
	struct end end[2];
};

static SSL_CTX *
server_ctx(void)
{
	SSL_CTX *ctx = testcert_server_ctx(EVP_EC_gen("P-256"), "sockio.test");

	/* TLS 1.2: no session tickets after the handshake, records only */
	ck_assert_int_eq(SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION), 1);
	return ctx;
}

static void
readcb(struct sockio *io, void *arg)
{
	struct end *e = arg;

	e->reads++;
	if (e->clock_probe) {
		e->clock_turn_ms = now_ms();
		spin_past_ms(e->clock_turn_ms + 2);
		e->clock_held = now_ms() == e->clock_turn_ms;
	}
	if (e->echo) {
		relay_move(io, io, &e->paused);
		return;
	}
	evbuffer_add_buffer(e->got, sockio_get_input(io));
	if (e->free_in_read) {
		sockio_free(io);
		e->io = NULL;
	}
	if (e->stop_at != 0 && evbuffer_get_length(e->got) >= e->stop_at)
		event_base_loopbreak(e->base);
}

static void
writecb(struct sockio *io, void *arg)
{
	struct end *e = arg;

	if (e->echo)
		relay_resume(io, io, &e->paused);
}

static void
eventcb(struct sockio *io, short what, void *arg)
{
	int sys_errno = errno;
	struct end *e = arg;

	e->read_before_event = evbuffer_get_length(e->got);
	/* what is left in the input counts as seen, as the sessions drain it */
	evbuffer_add_buffer(e->got, sockio_get_input(io));
	e->got_at_event = evbuffer_get_length(e->got);
	e->what = what;
	e->event_errno = sys_errno;
	e->events++;
	e->ssl_err = sockio_ssl_error(io);
	event_base_loopbreak(e->base);
}

static void
handshake(SSL *c, SSL *sv)
{
	int round, cr = 0, sr = 0;

	for (round = 0; round < 1000 && (cr != 1 || sr != 1); round++) {
		if (cr != 1)
			cr = SSL_do_handshake(c);
		if (sr != 1)
			sr = SSL_do_handshake(sv);
	}
	ck_assert_int_eq(cr, 1);
	ck_assert_int_eq(sr, 1);
}

enum pair_kind { PAIR_UNIX, PAIR_TCP };

/* A pair of sockets, TLS or not; sockios are made by end_open(). */
static void
pair_setup(struct pair *p, enum pair_kind kind, bool tls)
{
	int i;

	memset(p, 0, sizeof(*p));
	signal(SIGPIPE, SIG_IGN);
	p->base = event_base_new();
	ck_assert_ptr_nonnull(p->base);
	if (kind == PAIR_TCP)
		testpair_tcp(p->fds);	/* resets exist there, not on AF_UNIX */
	else
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, p->fds), 0);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(fcntl(p->fds[i], F_SETFL, O_NONBLOCK), 0);
		p->end[i].got = evbuffer_new();
		p->end[i].base = p->base;
	}
	if (!tls)
		return;
	p->sctx = server_ctx();
	p->cctx = SSL_CTX_new(TLS_client_method());
	ck_assert_ptr_nonnull(p->cctx);
	p->ssl[0] = SSL_new(p->cctx);
	p->ssl[1] = SSL_new(p->sctx);
	SSL_set_fd(p->ssl[0], p->fds[0]);
	SSL_set_fd(p->ssl[1], p->fds[1]);
	SSL_set_connect_state(p->ssl[0]);
	SSL_set_accept_state(p->ssl[1]);
	handshake(p->ssl[0], p->ssl[1]);
}

/* End i read and written through a sockio (which then owns fd and SSL). */
static struct sockio *
end_open(struct pair *p, int i)
{
	struct end *e = &p->end[i];

	e->io = sockio_new(p->base, p->fds[i], p->ssl[i], SOCKIO_CLOSE_ON_FREE);
	ck_assert_ptr_nonnull(e->io);
	sockio_setcb(e->io, readcb, writecb, eventcb, e);
	p->fds[i] = -1;
	p->ssl[i] = NULL;
	return e->io;
}

static void
pair_run(struct pair *p)
{
	struct timeval limit = { 20, 0 };

	event_base_loopexit(p->base, &limit);
	event_base_dispatch(p->base);
}

static void
pair_teardown(struct pair *p)
{
	int i;

	for (i = 0; i < 2; i++) {
		sockio_free(p->end[i].io);
		evbuffer_free(p->end[i].got);
		if (p->ssl[i] != NULL)
			SSL_free(p->ssl[i]);
		if (p->fds[i] != -1)
			close(p->fds[i]);
	}
	event_base_free(p->base);
	SSL_CTX_free(p->sctx);
	SSL_CTX_free(p->cctx);
	/* every failure left OpenSSL's error queue empty */
	ck_assert_uint_eq(ERR_peek_error(), 0);
}

/*
 * Leaves LEFTOVER bytes near the end of a chain, with room for the record
 * after them but less than one read, as a request taken out of pipelined
 * ones leaves them: the shape in which bufferevent_openssl reported a
 * close before the record read with it.
 */
static void
leave_drained_chain(struct sockio *io)
{
	struct evbuffer *in = sockio_get_input(io);
	static char junk[120000];

	memset(junk, 'j', sizeof(junk));
	ck_assert_int_eq(evbuffer_add(in, junk, sizeof(junk)), 0);
	evbuffer_drain(in, sizeof(junk) - LEFTOVER);
}

static void
peer_write(SSL *ssl, int fd, size_t n, char c)
{
	char buf[4096];
	size_t done = 0, k;

	memset(buf, c, sizeof(buf));
	while (done < n) {
		k = n - done < sizeof(buf) ? n - done : sizeof(buf);
		if (ssl != NULL)
			ck_assert_int_eq(SSL_write(ssl, buf, (int)k), (int)k);
		else
			ck_assert_int_eq(write(fd, buf, k), (ssize_t)k);
		done += k;
	}
}

START_TEST(test_close_after_its_data)
{
	struct pair p;
	struct sockio *io;

	pair_setup(&p, PAIR_UNIX, true);
	io = end_open(&p, 0);
	relay_setup(io);
	relay_read_ahead(io);
	leave_drained_chain(io);
	/* The last record and the close_notify, waiting together. */
	peer_write(p.ssl[1], -1, PAYLOAD, 'p');
	ck_assert_int_ge(SSL_shutdown(p.ssl[1]), 0);
	sockio_enable(io, EV_READ);
	pair_run(&p);
	ck_assert_int_eq(p.end[0].events, 1);
	ck_assert_int_eq(p.end[0].what, SOCKIO_EOF | SOCKIO_READING);
	ck_assert_uint_eq(p.end[0].got_at_event, LEFTOVER + PAYLOAD);
	/* the read callback had every byte before the close was told */
	ck_assert_uint_eq(p.end[0].read_before_event, LEFTOVER + PAYLOAD);
	ck_assert_uint_eq(p.end[0].ssl_err, 0);
	pair_teardown(&p);
}
END_TEST

/* Plain: the data, then the EOF, in one wake-up. */
START_TEST(test_plain_close_after_its_data)
{
	struct pair p;
	struct sockio *io;

	pair_setup(&p, PAIR_UNIX, false);
	io = end_open(&p, 0);
	relay_setup(io);
	peer_write(NULL, p.fds[1], 3 * PAYLOAD, 'q');
	ck_assert_int_eq(shutdown(p.fds[1], SHUT_WR), 0);
	sockio_enable(io, EV_READ);
	pair_run(&p);
	ck_assert_int_eq(p.end[0].events, 1);
	ck_assert_int_eq(p.end[0].what, SOCKIO_EOF | SOCKIO_READING);
	ck_assert_uint_eq(p.end[0].got_at_event, 3 * PAYLOAD);
	ck_assert_uint_eq(p.end[0].read_before_event, 3 * PAYLOAD);
	ck_assert_int_eq(p.end[0].event_errno, 0);
	pair_teardown(&p);
}
END_TEST

static void
reset_peer(int fd)
{
	struct linger lg = { 1, 0 };

	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	close(fd);
}

/*
 * A reset after data: errno ECONNRESET, an EOF on TLS (as libevent's
 * allow_dirty_shutdown said), an ERROR on a plain socket (as libevent's
 * socket bufferevent said).
 */
START_TEST(test_reset_is_eof_with_errno)
{
	struct pair p;
	struct sockio *io;
	bool tls = _i == 1;

	pair_setup(&p, PAIR_TCP, tls);
	io = end_open(&p, 0);
	peer_write(p.ssl[1], p.fds[1], PAYLOAD, 'r');
	/* the data is in our socket before the reset comes */
	ck_assert_int_eq(poll(&(struct pollfd){ .fd = sockio_fd(io),
	    .events = POLLIN }, 1, 10000), 1);
	reset_peer(p.fds[1]);
	p.fds[1] = -1;
	sockio_enable(io, EV_READ);
	pair_run(&p);
	ck_assert_int_eq(p.end[0].events, 1);
	ck_assert(p.end[0].what & SOCKIO_READING);
	/* Linux may drop queued data on a reset; what did arrive came first */
	ck_assert_uint_le(p.end[0].got_at_event, PAYLOAD);
	ck_assert_uint_eq(p.end[0].read_before_event, p.end[0].got_at_event);
	ck_assert_int_eq(p.end[0].what, SOCKIO_READING |
	    (tls ? SOCKIO_EOF : SOCKIO_ERROR));
	ck_assert_int_eq(p.end[0].event_errno, ECONNRESET);
	ck_assert(relay_socket_reset(sockio_fd(io)));
	pair_teardown(&p);
}
END_TEST

/* Bytes that are no TLS record: an ERROR with OpenSSL's reason, queue empty. */
START_TEST(test_protocol_error)
{
	static const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct pair p;
	struct sockio *io;

	pair_setup(&p, PAIR_UNIX, true);
	io = end_open(&p, 0);
	ck_assert_int_eq(write(p.fds[1], junk, sizeof(junk) - 1),
	    (ssize_t)sizeof(junk) - 1);
	sockio_enable(io, EV_READ | EV_WRITE);
	pair_run(&p);
	ck_assert_int_eq(p.end[0].events, 1);
	ck_assert_int_eq(p.end[0].what, SOCKIO_ERROR | SOCKIO_READING);
	ck_assert_uint_ne(p.end[0].ssl_err, 0);
	ck_assert_uint_eq(ERR_peek_error(), 0);
	/* reading stopped after it; writing is the caller's to end */
	ck_assert_int_eq(sockio_get_enabled(io), EV_WRITE);
	pair_teardown(&p);
}
END_TEST

/*
 * Three records arrive in one read(2) (read-ahead); a read watermark far
 * below a record takes them in small steps.  Nothing more comes on the
 * socket, so each step after the first must come without it waking.
 */
START_TEST(test_records_held_by_openssl)
{
	struct pair p;
	struct sockio *io;

	pair_setup(&p, PAIR_UNIX, true);
	io = end_open(&p, 0);
	relay_read_ahead(io);
	sockio_setwatermark(io, 100, 0);
	peer_write(p.ssl[1], -1, 3 * PAYLOAD, 's');
	p.end[0].stop_at = 3 * PAYLOAD;
	sockio_enable(io, EV_READ);
	pair_run(&p);
	ck_assert_uint_eq(evbuffer_get_length(p.end[0].got), 3 * PAYLOAD);
	ck_assert_int_ge(p.end[0].reads, 30);
	ck_assert_int_eq(p.end[0].events, 0);
	pair_teardown(&p);
}
END_TEST

/* Disabled reading with records held: enabling reads them at once. */
START_TEST(test_enable_reads_held_records)
{
	struct pair p;
	struct sockio *io;

	pair_setup(&p, PAIR_UNIX, true);
	io = end_open(&p, 0);
	relay_read_ahead(io);
	peer_write(p.ssl[1], -1, 2 * PAYLOAD, 't');
	/* OpenSSL takes both records from the socket; the input keeps none */
	ck_assert_int_eq(SSL_read(sockio_ssl(io), (char[1]){0}, 1), 1);
	ck_assert(SSL_has_pending(sockio_ssl(io)));
	p.end[0].stop_at = 2 * PAYLOAD - 1;
	sockio_enable(io, EV_READ);
	pair_run(&p);
	ck_assert_uint_eq(evbuffer_get_length(p.end[0].got), 2 * PAYLOAD - 1);
	pair_teardown(&p);
}
END_TEST

static void
small_buffers(int fd)
{
	int sz = 4096;

	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)), 0);
}

/* The client end's writer: the pattern byte of position i. */
static unsigned char
pattern(size_t i)
{
	return (unsigned char)((i * 7 + i / 4093) & 0xff);
}

/* Keeps the client's output topped up until total bytes were queued. */
struct feeder {
	struct sockio *io;
	size_t queued, total;
};

static void
feed(struct feeder *f)
{
	unsigned char buf[3000];
	size_t i, n;

	while (f->queued < f->total &&
	    evbuffer_get_length(sockio_get_output(f->io)) < RELAY_HIGH) {
		n = f->total - f->queued < sizeof(buf) ? f->total - f->queued :
		    sizeof(buf);
		for (i = 0; i < n; i++)
			buf[i] = pattern(f->queued + i);
		ck_assert_int_eq(evbuffer_add(sockio_get_output(f->io), buf, n), 0);
		f->queued += n;
	}
}

static struct feeder *the_feeder;

static void
feeder_writecb(struct sockio *io, void *arg)
{
	(void)io;
	(void)arg;
	feed(the_feeder);
}

/*
 * The client writes `total` bytes in 3000-byte pieces; the server echoes
 * them (relay_move into its own output, with the watermarks); the client
 * reads them back.  Small socket buffers force WANT_WRITE and EAGAIN.
 */
static void
echo_run(bool tls, size_t total)
{
	struct pair p;
	struct feeder f;
	struct sockio *c, *sv;
	const unsigned char *got;
	size_t i;

	pair_setup(&p, PAIR_UNIX, tls);
	small_buffers(p.fds[0]);
	small_buffers(p.fds[1]);
	c = end_open(&p, 0);
	sv = end_open(&p, 1);
	relay_setup(c);
	relay_setup(sv);
	if (tls) {
		relay_read_ahead(c);
		relay_read_ahead(sv);
	}
	p.end[1].echo = true;
	p.end[0].stop_at = total;
	f.io = c;
	f.queued = 0;
	f.total = total;
	the_feeder = &f;
	sockio_setcb(c, readcb, feeder_writecb, eventcb, &p.end[0]);
	sockio_enable(c, EV_READ | EV_WRITE);
	sockio_enable(sv, EV_READ | EV_WRITE);
	feed(&f);
	pair_run(&p);
	ck_assert_int_eq(p.end[0].events, 0);
	ck_assert_int_eq(p.end[1].events, 0);
	ck_assert_uint_eq(evbuffer_get_length(p.end[0].got), total);
	got = evbuffer_pullup(p.end[0].got, -1);
	for (i = 0; i < total; i++)
		if (got[i] != pattern(i))
			ck_abort_msg("byte %zu: 0x%02x, not 0x%02x", i, got[i],
			    pattern(i));
	/* the server's input stayed bounded by its watermark */
	ck_assert_uint_le(evbuffer_get_length(sockio_get_input(sv)), RELAY_HIGH);
	pair_teardown(&p);
}

START_TEST(test_echo_tls)
{
	echo_run(true, 4 * 1024 * 1024 + 17);
}
END_TEST

START_TEST(test_echo_plain)
{
	echo_run(false, 8 * 1024 * 1024 + 5);
}
END_TEST

/* A write to a peer that is gone: WRITING with EOF (TLS) or ERROR (plain). */
START_TEST(test_write_to_gone_peer)
{
	struct pair p;
	struct sockio *io;
	bool tls = _i == 1;

	pair_setup(&p, PAIR_UNIX, tls);
	io = end_open(&p, 0);
	close(p.fds[1]);
	p.fds[1] = -1;
	sockio_enable(io, EV_WRITE);
	ck_assert_int_eq(evbuffer_add(sockio_get_output(io), "hello", 5), 0);
	pair_run(&p);
	ck_assert_int_eq(p.end[0].events, 1);
	ck_assert(p.end[0].what & SOCKIO_WRITING);
	ck_assert_int_eq(p.end[0].what & ~SOCKIO_WRITING,
	    tls ? SOCKIO_EOF : SOCKIO_ERROR);
	ck_assert_int_eq(p.end[0].event_errno, EPIPE);
	pair_teardown(&p);
}
END_TEST

/*
 * A peer that half-closed (close_notify, or a FIN) still reads: what is
 * written after its EOF reaches it without any kick (05-relay-bytes'
 * half-close through a tcp route).
 */
START_TEST(test_write_after_peer_half_close)
{
	struct pair p;
	struct sockio *io;
	char buf[16];
	bool tls = _i == 1;
	struct pollfd pfd;

	pair_setup(&p, PAIR_UNIX, tls);
	io = end_open(&p, 0);
	if (tls)
		ck_assert_int_ge(SSL_shutdown(p.ssl[1]), 0);
	else
		ck_assert_int_eq(shutdown(p.fds[1], SHUT_WR), 0);
	sockio_enable(io, EV_READ | EV_WRITE);
	pair_run(&p);
	ck_assert_int_eq(p.end[0].what, SOCKIO_EOF | SOCKIO_READING);
	ck_assert_int_eq(evbuffer_add(sockio_get_output(io), "reply", 5), 0);
	pfd.fd = p.fds[1];
	pfd.events = POLLIN;
	while (poll(&pfd, 1, 0) == 0)
		ck_assert_int_ge(event_base_loop(p.base, EVLOOP_ONCE), 0);
	if (tls)
		ck_assert_int_eq(SSL_read(p.ssl[1], buf, sizeof(buf)), 5);
	else
		ck_assert_int_eq(read(p.fds[1], buf, sizeof(buf)), 5);
	ck_assert_int_eq(memcmp(buf, "reply", 5), 0);
	pair_teardown(&p);
}
END_TEST

/* flush() writes before the loop runs; a failure is reported by the loop. */
START_TEST(test_flush)
{
	struct pair p;
	struct sockio *io;
	char buf[16];
	bool tls = _i == 1;

	pair_setup(&p, PAIR_UNIX, tls);
	io = end_open(&p, 0);
	sockio_enable(io, EV_WRITE);
	ck_assert_int_eq(evbuffer_add(sockio_get_output(io), "hello", 5), 0);
	sockio_flush(io);
	ck_assert_uint_eq(evbuffer_get_length(sockio_get_output(io)), 0);
	if (tls)
		ck_assert_int_eq(SSL_read(p.ssl[1], buf, sizeof(buf)), 5);
	else
		ck_assert_int_eq(read(p.fds[1], buf, sizeof(buf)), 5);
	ck_assert_int_eq(memcmp(buf, "hello", 5), 0);

	if (p.ssl[1] != NULL) {
		SSL_free(p.ssl[1]);
		p.ssl[1] = NULL;
	}
	close(p.fds[1]);
	p.fds[1] = -1;
	ck_assert_int_eq(evbuffer_add(sockio_get_output(io), "again", 5), 0);
	sockio_flush(io);
	ck_assert_int_eq(p.end[0].events, 0);	/* no callback inside flush() */
	pair_run(&p);
	ck_assert_int_eq(p.end[0].events, 1);
	ck_assert(p.end[0].what & SOCKIO_WRITING);
	ck_assert_int_eq(p.end[0].event_errno, EPIPE);
	pair_teardown(&p);
}
END_TEST

/*
 * A write scheduled for later in the turn, then flush() into a full
 * socket: the rest must still go once the peer reads (libevent's
 * event_add() ignores an active event; the write must wait for EPOLLOUT
 * after its scheduled run, not before).
 */
START_TEST(test_flush_into_full_socket)
{
	struct pair p;
	struct sockio *c, *sv;
	static char big[1024 * 1024];
	bool tls = _i == 1;

	pair_setup(&p, PAIR_UNIX, tls);
	small_buffers(p.fds[0]);
	small_buffers(p.fds[1]);
	c = end_open(&p, 0);
	sv = end_open(&p, 1);
	memset(big, 'b', sizeof(big));
	sockio_enable(c, EV_WRITE);
	sockio_enable(sv, EV_READ);
	ck_assert_int_eq(evbuffer_add(sockio_get_output(c), big, sizeof(big)), 0);
	sockio_flush(c);
	ck_assert_uint_gt(evbuffer_get_length(sockio_get_output(c)), 0);
	p.end[1].stop_at = sizeof(big);
	pair_run(&p);
	ck_assert_uint_eq(evbuffer_get_length(p.end[1].got), sizeof(big));
	pair_teardown(&p);
}
END_TEST

/* Freed in its read callback with an EOF pending: no event, no use after free. */
START_TEST(test_free_in_read_callback)
{
	struct pair p;
	struct sockio *io;
	bool tls = _i == 1;

	pair_setup(&p, PAIR_UNIX, tls);
	io = end_open(&p, 0);
	peer_write(p.ssl[1], p.fds[1], PAYLOAD, 'f');
	if (tls)
		ck_assert_int_ge(SSL_shutdown(p.ssl[1]), 0);
	ck_assert_int_eq(shutdown(p.fds[1], SHUT_WR), 0);
	p.end[0].free_in_read = true;
	p.end[0].stop_at = PAYLOAD;	/* the handler goes on after the break */
	sockio_enable(io, EV_READ);
	pair_run(&p);
	ck_assert_ptr_null(p.end[0].io);
	ck_assert_int_eq(p.end[0].reads, 1);
	ck_assert_int_eq(p.end[0].events, 0);
	ck_assert_uint_eq(evbuffer_get_length(p.end[0].got), PAYLOAD);
	pair_teardown(&p);
}
END_TEST

/*
 * A read callback runs as one clock turn (clock.h): now_ms() holds still
 * in it while the clock moves on, and reads the clock again after it.
 */
START_TEST(test_read_callback_is_clock_turn)
{
	struct pair p;
	struct sockio *io;

	pair_setup(&p, PAIR_UNIX, false);
	io = end_open(&p, 0);
	peer_write(NULL, p.fds[1], PAYLOAD, 't');
	p.end[0].clock_probe = true;
	p.end[0].stop_at = PAYLOAD;
	sockio_enable(io, EV_READ);
	pair_run(&p);
	ck_assert_int_ge(p.end[0].reads, 1);
	ck_assert(p.end[0].clock_held);
	ck_assert_uint_ge(now_ms(), p.end[0].clock_turn_ms + 2);
	pair_teardown(&p);
}
END_TEST

static Suite *
sockio_suite(void)
{
	Suite *s = suite_create("sockio");
	TCase *tc = tcase_create("contract");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_close_after_its_data);
	tcase_add_test(tc, test_plain_close_after_its_data);
	tcase_add_loop_test(tc, test_reset_is_eof_with_errno, 0, 2);
	tcase_add_test(tc, test_protocol_error);
	tcase_add_test(tc, test_records_held_by_openssl);
	tcase_add_test(tc, test_enable_reads_held_records);
	tcase_add_test(tc, test_echo_tls);
	tcase_add_test(tc, test_echo_plain);
	tcase_add_loop_test(tc, test_write_to_gone_peer, 0, 2);
	tcase_add_loop_test(tc, test_write_after_peer_half_close, 0, 2);
	tcase_add_loop_test(tc, test_flush, 0, 2);
	tcase_add_loop_test(tc, test_flush_into_full_socket, 0, 2);
	tcase_add_loop_test(tc, test_free_in_read_callback, 0, 2);
	tcase_add_test(tc, test_read_callback_is_clock_turn);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sockio_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
