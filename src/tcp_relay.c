/* SPDX-License-Identifier: MIT */
/*
 * tcp_relay: the tcp mode of a session (session.h).  A route chosen by
 * SNI gets an upstream connection (warmed from the pool when one waits, to
 * save a legacy handshake, else a new one, once the route's
 * upstream_max_connections has a slot: the session queues for it), then
 * bytes flow both ways with bounded buffers (relay.c), EOFs are passed on
 * as half-closes, and idle_timeout ends a connection with no byte either
 * way.  Its end is session_close(); this file only adds the upstream's
 * facts (and the time queued) to the connection's audit record.
 */
#include "config.h"

#include "tcp_relay.h"

#include <errno.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/err.h>

#include "audit.h"
#include "clock.h"
#include "conf.h"
#include "gen.h"
#include "pool.h"
#include "relay.h"
#include "session.h"
#include "sockio.h"
#include "upstream.h"
#include "upstream_limit.h"
#include "worker.h"

static bool
side_output_empty(const struct side *sd)
{
	return evbuffer_get_length(sockio_get_output(sd->io)) == 0;
}

/* Both sides said EOF and everything was written: a normal end. */
static void
tcp_check_done(struct session *s)
{
	if (s->client.eof && s->upstream.eof && side_output_empty(&s->client) &&
	    side_output_empty(&s->upstream))
		session_close(s, NULL);
}

/* The side of a callback's arg (its session's magic checked), NULL unless relaying. */
static struct side *
side_live(void *arg)
{
	struct side *sd = arg;

	return session_from_arg(sd->sess)->state == SESSION_ST_RELAY ? sd : NULL;
}

static void
side_readcb(struct sockio *io, void *arg)
{
	struct side *sd = side_live(arg);

	(void)io;
	if (sd == NULL)
		return;
	sd->bytes_read += relay_move(sd->io, sd->peer->io, &sd->paused);
	sd->sess->last_active = now_ms();
}

static void
side_writecb(struct sockio *io, void *arg)
{
	struct side *sd;

	(void)io;
	if ((sd = side_live(arg)) == NULL)
		return;
	sd->sess->last_active = now_ms();
	relay_resume(sd->peer->io, sd->io, &sd->peer->paused);
	if (sd->peer->eof && side_output_empty(sd)) {
		side_shutdown_write(sd);
		tcp_check_done(sd->sess);
	}
}

/* Classifies an error event on one side during the relay. */
static void
side_error(struct side *sd, int sys_errno, struct tb_err *err)
{
	struct session *s = sd->sess;
	unsigned long ssl_err;
	char buf[160];

	if (sd == &s->client) {
		session_client_failure(s, SOCKIO_ERROR, sys_errno,
		    PHASE_EXCHANGE, err);
		return;
	}
	ssl_err = session_io_ssl_error(sd->io);
	if (sys_errno == ECONNRESET || sys_errno == EPIPE)
		tb_err_set(err, CR_UPSTREAM_RESET, PHASE_EXCHANGE,
		    "connection reset by %s during the exchange", s->uc->addr);
	else if (ssl_err != 0) {
		ERR_error_string_n(ssl_err, buf, sizeof(buf));
		tb_err_set(err, CR_UPSTREAM_TLS_FAILED, PHASE_EXCHANGE,
		    "TLS error from %s: %s", s->uc->addr, buf);
	} else
		tb_err_set(err, CR_UPSTREAM_CLOSED, PHASE_EXCHANGE,
		    "%s: %s", s->uc->addr,
		    sys_errno != 0 ? strerror(sys_errno) : "connection lost");
}

static void
side_eventcb(struct sockio *io, short what, void *arg)
{
	int sys_errno = EVUTIL_SOCKET_ERROR();	/* before anything can clobber it */
	struct side *sd = side_live(arg);
	struct session *s;
	struct tb_err err;

	(void)io;
	if (sd == NULL)
		return;
	s = sd->sess;
	/*
	 * An EOF while output is owed to that side is only a half-close if
	 * the side can still read it; a failed write or a reset ends the relay.
	 */
	if ((what & SOCKIO_EOF) && !relay_peer_half_closed(sd->io, what) &&
	    ((what & SOCKIO_WRITING) || !side_output_empty(sd))) {
		side_error(sd, (what & SOCKIO_WRITING) && sys_errno != ECONNRESET ?
		    EPIPE : ECONNRESET, &err);
		session_close(s, &err);
		return;
	}
	if (what & SOCKIO_EOF) {
		sd->eof = true;
		sd->bytes_read += relay_move(sd->io, sd->peer->io, &sd->paused);
		sockio_disable(sd->io, EV_READ);
		relay_rekick_write(sd->io);
		if (side_output_empty(sd->peer))
			side_shutdown_write(sd->peer);
		tcp_check_done(s);
		return;
	}
	if (what & SOCKIO_ERROR) {
		side_error(sd, sys_errno, &err);
		session_close(s, &err);
	}
}

static void
tcp_idle_timeoutcb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = session_timer_arg(arg, SESSION_TIMER_RELAY_IDLE);
	uint64_t idle = s->rc->idle_timeout_ms, now = now_ms();
	struct tb_err err;

	(void)fd;
	(void)what;
	if (now - s->last_active >= idle) {
		tb_err_set(&err, CR_IDLE_TIMEOUT, PHASE_EXCHANGE,
		    "no data either way for idle_timeout (%llu ms)",
		    (unsigned long long)idle);
		session_close(s, &err);
		return;
	}
	/* Re-arm for the rest: one timer per session, not one per read. */
	session_timer_add(s, idle - (now - s->last_active));
}

/* sd's sess and peer were set by session_client_io(). */
static void
side_init(struct side *sd, struct sockio *io)
{
	sd->io = io;
	sockio_setcb(io, side_readcb, side_writecb, side_eventcb, sd);
}

static void
tcp_start_relay(struct session *s)
{
	if (session_client_io(s) == -1)
		return;
	side_init(&s->client, s->client.io);
	side_init(&s->upstream, s->uc->io);
	session_set_state(s, SESSION_ST_RELAY);
	s->last_active = now_ms();
	sockio_enable(s->client.io, EV_READ | EV_WRITE);
	sockio_enable(s->upstream.io, EV_READ | EV_WRITE);
	session_timer_set(s, SESSION_TIMER_RELAY_IDLE, -1, 0, tcp_idle_timeoutcb);
	session_timer_add(s, s->rc->idle_timeout_ms);
}

static void
tcp_upstream_cb(struct upconn *uc, const struct tb_err *err, void *arg)
{
	struct session *s = session_from_arg(arg);

	(void)uc;	/* s->uc */
	if (err != NULL) {
		session_close(s, err);
		return;
	}
	tcp_start_relay(s);
}

/* Opens the upstream connection to addr; the caller holds a slot of its cap. */
static void
tcp_open(struct session *s, int addr, struct pool *pool)
{
	struct tb_err err;

	s->uc = upstream_connect(s->w, s->rc, addr, UPSTREAM_F_FAILOVER,
	    s->gen->clients[s->rc->index], pool, tcp_upstream_cb, s);
	if (s->uc == NULL) {
		tb_err_set(&err, CR_INTERNAL, PHASE_CONNECT, "out of memory");
		session_close(s, &err);
	}
}

/*
 * The wait for a slot of upstream_max_connections ended (err: it timed
 * out).  The address is picked again: its health may have changed.
 */
static void
tcp_slot_cb(void *arg, const struct tb_err *err, uint64_t waited_ms)
{
	struct session *s = session_from_arg(arg);
	int addr;

	s->wait = NULL;
	s->queue_ms = (int64_t)waited_ms;
	if (err != NULL) {
		session_close(s, err);
		return;
	}
	addr = upstream_pick(s->rc);
	tcp_open(s, addr, pool_sibling(session_pool_for(s, s->rc), addr));
}

/*
 * The routed session's upstream: a warmed one from the pool of the address
 * picked, or, once the route's cap has a slot, a new one that fails over
 * to the route's other addresses.
 */
static void
tcp_start(struct session *s)
{
	struct tb_err err;
	struct pool *pool;
	int addr;

	session_set_state(s, SESSION_ST_CONNECTING);
	/* the address first (weights, health), then its warm connection */
	addr = upstream_pick(s->rc);
	pool = pool_sibling(session_pool_for(s, s->rc), addr);
	s->queue_ms = -1;
	/* A connection warmed ahead (pool_min_idle) saves the legacy handshake. */
	if (pool != NULL && (s->uc = pool_take(pool, true)) != NULL) {
		s->up_reused = true;
		tcp_upstream_cb(s->uc, NULL, s);
		return;
	}
	if (!uplimit_take(s->rc->limit)) {
		/* the whole session waits: it holds its connection for life */
		s->wait = uplimit_wait(s->rc->limit, s->w->id, s->w->base,
		    s->rc->name, tcp_slot_cb, s, &err);
		if (s->wait == NULL)
			session_close(s, &err);
		return;
	}
	tcp_open(s, addr, pool);
}

/* The connection's record names its upstream: tcp mode audits per connection. */
static bool
tcp_closing(struct session *s, const struct tb_err *err, struct audit_rec *rec)
{
	(void)err;
	uplimit_cancel(s->wait);	/* the client left while queued */
	s->wait = NULL;
	rec->queue_ms = s->queue_ms;
	if (s->uc == NULL)
		return true;
	audit_set_upstream(rec, s->uc->addr);
	rec->up_tries = s->uc->tries;
	rec->up_reused = s->up_reused;
	rec->connect_ms = s->up_reused ? 0 : s->uc->connect_ms;
	rec->handshake_ms = s->up_reused ? 0 : s->uc->handshake_ms;
	if (s->upstream.io != NULL) {	/* the relay started */
		rec->up_tls = upconn_tls_str(s->uc);
		rec->up_cipher = upconn_cipher(s->uc);
	}
	return true;
}

static void
tcp_test_timers(struct session *s)
{
	event_active(s->timer, EV_TIMEOUT, 1);
}

static const char *
tcp_state_str(const struct session *s)
{
	return session_state_str(s->state);
}

/*
 * No state of its own (the session frees both sides and the upstream), and
 * never idle for a drain: bytes may be in flight at any time.
 */
const struct session_mode tcp_mode = {
	.name = "tcp",
	.start = tcp_start,
	.closing = tcp_closing,
	.test_timers = tcp_test_timers,
	.state_str = tcp_state_str,
};
