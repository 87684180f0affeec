/* SPDX-License-Identifier: MIT */
/*
 * http_conn: the http mode's client connection between exchanges
 * (http_conn.h says what it owns).
 */
#include "config.h"

#include "http_conn.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "clock.h"
#include "conf.h"
#include "gen.h"
#include "http_exchange.h"
#include "log.h"
#include "metrics.h"
#include "relay.h"
#include "session.h"
#include "sockio.h"
#include "upstream.h"
#include "worker.h"

#define HC_LINGER_MS		2000		/* the most a lingering close waits for the client's */
#define HC_PARK_MS		100		/* keep-alive idleness before parking */

static void hc_client_progress(struct session *s);
static void hc_close_flushed(struct session *s);
static uint64_t hc_wait_left(const struct session *s);
static void hc_arm_park_check(struct session *s, uint64_t left);
static void hc_park(struct session *s);
static void hc_parked_cb(evutil_socket_t fd, short what, void *arg);
static void hc_client_timeoutcb(evutil_socket_t fd, short what, void *arg);

static const char *
hc_state_str(enum http_conn_state st)
{
	switch (st) {
	case HC_ST_OPEN:		return "open";
	case HC_ST_PARKED:		return "parked";
	case HC_ST_CLOSE_AFTER_FLUSH:	return "close-after-flush";
	case HC_ST_LINGERING:		return "lingering";
	}
	return "?";
}

static void
hc_set_state(struct session *s, enum http_conn_state st)
{
	if (log_enabled(LOG_LVL_DEBUG))
		log_debug("conn=%llu http %s -> %s", (unsigned long long)s->id,
		    hc_state_str(s->http->state), hc_state_str(st));
	s->http->state = st;
}

/* No more requests on this connection: the answer being written is the last. */
bool
hc_closing(const struct http_conn *hc)
{
	return hc->state >= HC_ST_CLOSE_AFTER_FLUSH;
}

/* Closes (lingering) once the answer is out. */
void
hc_close_after_flush(struct session *s)
{
	if (!hc_closing(s->http))
		hc_set_state(s, HC_ST_CLOSE_AFTER_FLUSH);
}

const struct listener_conf *
hc_listener(const struct session *s)
{
	return &s->gen->conf->listeners[s->li];
}

struct evbuffer *
hc_client_out(struct session *s)
{
	return sockio_get_output(s->client.io);
}

struct evbuffer *
hc_client_in(struct session *s)
{
	return sockio_get_input(s->client.io);
}

/* Bytes still to go out to the client (none while parked). */
static size_t
hc_client_out_len(struct session *s)
{
	return s->client.io != NULL ? evbuffer_get_length(hc_client_out(s)) : 0;
}

struct session *
hc_live(void *arg)
{
	struct session *s = session_from_arg(arg);

	if (s->http == NULL || s->http->magic != HTTP_CONN_MAGIC)
		fatalx("conn=%llu: http callback without its http state",
		    (unsigned long long)s->id);
	return s->state == SESSION_ST_CLOSED ? NULL : s;
}

/* ---- closing after the last answer ------------------------------------------ */

/*
 * The last answer is written: linger as nginx and HAProxy do.  Half-close
 * (so the client sees the end of the answer), discard what still arrives
 * until the client closes too or for up to HC_LINGER_MS, then close.
 * Closing at once while any byte of the client's is unread in the socket
 * (a request body we never read, a pipelined request, one on its way)
 * would make the kernel send a reset, and a reset destroys what the
 * client has not read yet: the answer itself.  Which bytes are unread or
 * still coming cannot be known here, so every such close lingers.
 */
static void
hc_close_flushed(struct session *s)
{
	hc_set_state(s, HC_ST_LINGERING);
	side_shutdown_write(&s->client);
	evbuffer_drain(hc_client_in(s), evbuffer_get_length(hc_client_in(s)));
	sockio_enable(s->client.io, EV_READ);
	session_timer_add(s, HC_LINGER_MS);
}

/*
 * Writes what is queued for the client at once (see sockio_flush()),
 * then does what the write callback would have: finish a close that waited
 * for the flush, or resume an upstream paused for backpressure.
 */
void
hc_client_flush(struct session *s)
{
	struct http_exchange *ex = s->http->ex;

	if (s->state == SESSION_ST_CLOSED || s->http->state == HC_ST_LINGERING)
		return;
	if (evbuffer_get_length(hc_client_out(s)) > 0) {
		sockio_flush(s->client.io);
		if (evbuffer_get_length(hc_client_out(s)) != 0) {
			/* the write callback carries on, unless the client stops reading */
			if (hc_closing(s->http) && ex == NULL)
				session_timer_add(s, hc_listener(s)->keepalive_timeout_ms);
			return;
		}
	}
	if (hc_closing(s->http) && ex == NULL) {
		hc_close_flushed(s);
		return;
	}
	/* the output is empty here: room for the upstream again */
	if (ex != NULL && s->uc != NULL && s->uc->io != NULL)
		(void)relay_resume(s->uc->io, s->client.io, &s->upstream.paused);
}

/* ---- the client side ----------------------------------------------------- */

void
hc_request_timer(struct session *s, bool on)
{
	if (on)
		session_timer_add(s, hc_listener(s)->request_timeout_ms);
	else
		event_del(s->timer);
}

/*
 * The exchange ended (hx_end()) with the client connection still open:
 * keep it alive for the next request, parked once idle a while, or close
 * it (lingering) once the answer is written.
 */
void
hc_exchange_ended(struct session *s, bool keep)
{
	if (!keep) {
		hc_set_state(s, HC_ST_CLOSE_AFTER_FLUSH);
		hc_client_flush(s);
		return;
	}
	/* Keep-alive: wait for the next request, parked once idle a while. */
	s->last_active = now_ms();
	hc_arm_park_check(s, hc_wait_left(s));
	sockio_enable(s->client.io, EV_READ);
	hc_client_flush(s);	/* what the client does not take now bounds what comes next */
	if (evbuffer_get_length(hc_client_in(s)) > 0)
		hc_client_progress(s);
}

/*
 * After a reload, a kept-alive connection's next request uses the new
 * generation (routes, upstream settings, pools), as a new connection
 * would; only requests in flight finish on the old one.  The listener is
 * found again by name; if it was removed, the connection stays on the old
 * generation until it closes.
 */
static void
hc_follow_reload(struct session *s)
{
	const struct conf *nc = s->w->gen->conf;
	const char *name = s->gen->conf->listeners[s->li].name;
	unsigned i;

	if (s->gen == s->w->gen)
		return;
	for (i = 0; i < nc->nlisteners; i++) {
		if (strcmp(nc->listeners[i].name, name) != 0)
			continue;
		gen_unref(s->gen);
		s->gen = gen_ref(s->w->gen);
		s->li = i;
		s->rc = NULL;
		return;
	}
}

static void
hc_client_progress(struct session *s)
{
	struct evbuffer *in = hc_client_in(s);
	struct tb_err err;
	unsigned started = 0;

	if (s->state == SESSION_ST_CLOSED || hc_closing(s->http))
		return;
	if (s->http->ex == NULL) {
		/*
		 * A client that pipelines requests without reading the answers
		 * would make us queue answers without bound: the next request
		 * waits until the output drains (the write callback resumes).
		 */
		if (evbuffer_get_length(in) == 0 || hc_client_out_len(s) >= RELAY_HIGH)
			return;
		hc_follow_reload(s);
		if ((s->http->ex = hx_new(s)) == NULL) {
			tb_err_set(&err, CR_INTERNAL, PHASE_REQUEST, "out of memory");
			session_close(s, &err);
			return;
		}
		started = s->http->nreq;
	}
	hx_client_input(s);
	/*
	 * A new request began: its head must arrive in time.  Armed only
	 * when the head did not come whole with its first bytes (the usual
	 * keep-alive request), which would stop the timer at once: an
	 * event_add and event_del less per request.  Until then the wait
	 * timer still runs, and the end of the head stops it too.
	 */
	if (started != 0 && s->state != SESSION_ST_CLOSED &&
	    s->http->ex != NULL && s->http->nreq == started &&
	    hx_reading_head(s->http->ex))
		hc_request_timer(s, true);
}

static void
hc_client_writecb(struct sockio *io, void *arg)
{
	struct session *s = hc_live(arg);

	(void)io;
	if (s == NULL)
		return;
	if (s->http->ex != NULL) {
		hx_client_drained(s);
		return;
	}
	if (hc_closing(s->http) && s->http->state != HC_ST_LINGERING &&
	    evbuffer_get_length(hc_client_out(s)) == 0) {
		hc_close_flushed(s);
		return;
	}
	/* Room again for the answers to pipelined requests. */
	if (evbuffer_get_length(hc_client_in(s)) > 0)
		hc_client_progress(s);
}

/*
 * What a half-closed client is still owed: the last answer on its way out
 * (between requests), or the answer to a request it sent completely.
 */
static bool
hc_client_owed(struct session *s)
{
	if (s->http->ex == NULL)
		return hc_client_out_len(s) > 0;
	return hx_answer_owed(s->http->ex);
}

static void
hc_client_readcb(struct sockio *io, void *arg)
{
	struct session *s = hc_live(arg);
	struct evbuffer *in = sockio_get_input(io);

	if (s == NULL)
		return;
	if (s->http->state == HC_ST_LINGERING)	/* read only to be discarded */
		evbuffer_drain(in, evbuffer_get_length(in));
	else {
		s->last_active = now_ms();
		hc_client_progress(s);
	}
}

static void
hc_client_eventcb(struct sockio *io, short what, void *arg)
{
	int sys_errno = EVUTIL_SOCKET_ERROR();	/* before anything can clobber it */
	struct session *s = hc_live(arg);
	struct tb_err err;

	if (s == NULL)
		return;
	if (s->http->state == HC_ST_LINGERING) {
		session_close(s, NULL);	/* the client is done too */
		return;
	}
	/*
	 * A client that only half-closed still reads: deliver what it is
	 * owed, then close.  One that is gone (a failed write, a reset) gets
	 * nothing more: kicking a write towards it would fail again at once,
	 * for ever.
	 */
	if (relay_peer_half_closed(io, what) && hc_client_owed(s)) {
		hc_close_after_flush(s);
		relay_rekick_write(s->client.io);
		if (s->http->ex == NULL)
			session_timer_add(s, hc_listener(s)->keepalive_timeout_ms);
		return;
	}
	/* Between requests, with nothing owed: the client may go whenever it likes. */
	if (s->http->ex == NULL && s->http->nreq > 0 && hc_client_out_len(s) == 0) {
		session_close(s, NULL);
		return;
	}
	/* nreq > 0 here without an exchange: an answer was still owed */
	session_client_failure(s, what, sys_errno, (s->http->ex != NULL ?
	    hx_answer_started(s->http->ex) :
	    s->http->nreq > 0) ? PHASE_RESPONSE : PHASE_REQUEST, &err);
	session_close(s, &err);
}

/* ---- parking an idle connection --------------------------------------------- */

/*
 * A client connection with nothing in flight is parked: its sockio
 * (about 1 KiB with its two evbuffers) is freed and the session's timer
 * event waits for the socket to become readable instead, so an idle
 * connection holds little more than its TLS state.  A new connection
 * starts parked; after a response it parks once keep-alive idle for
 * HC_PARK_MS, so a busy keep-alive connection does not rebuild its
 * sockio for every request.  Bytes left in the buffers (a pipelined
 * request, an answer still going out, a partial TLS record) keep it
 * unparked.
 */

/* Time left (ms) of the wait for the next request, 0 when it is over. */
static uint64_t
hc_wait_left(const struct session *s)
{
	const struct listener_conf *lc = hc_listener(s);
	uint64_t now = now_ms(), limit = s->http->nreq == 0 ?
	    lc->request_timeout_ms : lc->keepalive_timeout_ms;	/* never 0 (conf.c) */

	return now - s->last_active < limit ? limit - (now - s->last_active) : 0;
}

/* The client timer fires when the wait ends or, sooner, to try parking. */
static void
hc_arm_park_check(struct session *s, uint64_t left)
{
	session_timer_add(s, left < HC_PARK_MS ? left : HC_PARK_MS);
}

static bool
hc_parkable(struct session *s)
{
	return s->client.io == NULL ||
	    (evbuffer_get_length(hc_client_in(s)) == 0 &&
	    evbuffer_get_length(hc_client_out(s)) == 0 &&
	    !sockio_tls_pending(s->client.io));
}

static void
hc_set_parked(struct session *s, bool parked)
{
	struct metrics_listener *ml = session_listener_metrics(s);

	if ((s->http->state == HC_ST_PARKED) == parked)
		return;
	hc_set_state(s, parked ? HC_ST_PARKED : HC_ST_OPEN);
	if (ml != NULL)
		metrics_add(&ml->parked, parked ? 1 : -1);
}

/* Waits for the next request parked when possible, else with the sockio. */
static void
hc_park(struct session *s)
{
	uint64_t left = hc_wait_left(s);

	if (!hc_parkable(s)) {
		session_timer_set(s, SESSION_TIMER_HTTP_CLIENT, -1, 0,
		    hc_client_timeoutcb);
		hc_arm_park_check(s, left);
		return;
	}
	if (s->client.io != NULL) {
		sockio_free(s->client.io);
		s->client.io = NULL;
	}
	session_tls_idle(s);
	hc_set_parked(s, true);
	session_timer_set(s, SESSION_TIMER_HTTP_PARKED, s->fd, EV_READ,
	    hc_parked_cb);
	session_timer_add(s, left);
}

/* The parked socket is readable (a request, an EOF, a reset) or time is up. */
static void
hc_parked_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = session_timer_arg(arg, SESSION_TIMER_HTTP_PARKED);

	(void)fd;
	session_timer_set(s, SESSION_TIMER_HTTP_CLIENT, -1, 0, hc_client_timeoutcb);
	hc_set_parked(s, false);
	if ((what & EV_READ) == 0) {
		hc_client_timeoutcb(-1, EV_TIMEOUT, s);
		return;
	}
	if (session_client_io(s) == -1)
		return;
	relay_read_ahead(s->client.io);
	sockio_setcb(s->client.io, hc_client_readcb, hc_client_writecb,
	    hc_client_eventcb, s);
	sockio_enable(s->client.io, EV_READ | EV_WRITE);
	/* The sockio reads on the next turn; park again if nothing comes. */
	hc_arm_park_check(s, hc_wait_left(s));
}

/* The client timer: a request head too slow (408), or keep-alive idle. */
static void
hc_client_timeoutcb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = session_timer_arg(arg, SESSION_TIMER_HTTP_CLIENT);
	struct http_exchange *ex = s->http->ex;
	struct tb_err err;

	(void)fd;
	(void)what;
	if (s->state == SESSION_ST_CLOSED)
		return;
	if (s->http->state == HC_ST_LINGERING) {
		session_close(s, NULL);
		return;
	}
	if (ex != NULL) {
		if (hx_reading_request(ex))
			hx_request_timeout(s);
		return;
	}
	if (hc_closing(s->http) || (hc_wait_left(s) == 0 &&
	    hc_client_out_len(s) > 0)) {
		tb_err_set(&err, CR_CLIENT_TIMEOUT, PHASE_RESPONSE,
		    "the client did not take the last answer within keepalive_timeout");
		session_close(s, &err);
		return;
	}
	if (hc_wait_left(s) > 0) {
		hc_park(s);
		return;
	}
	if (s->http->nreq == 0) {
		tb_err_set(&err, CR_CLIENT_TIMEOUT, PHASE_REQUEST,
		    "no request within request_timeout");
		session_close(s, &err);
	} else
		session_close(s, NULL);	/* keep-alive expired: routine */
}

/* ---- the mode ------------------------------------------------------------ */

static bool
hc_idle(const struct session *s)
{
	return s->state == SESSION_ST_HTTP && s->http->ex == NULL &&
	    !hc_closing(s->http) && (s->client.io == NULL ||
	    evbuffer_get_length(sockio_get_output(s->client.io)) == 0);
}

static void
hc_start(struct session *s)
{
	if ((s->http = calloc(1, sizeof(*s->http))) == NULL) {
		struct tb_err err;

		tb_err_set(&err, CR_INTERNAL, PHASE_REQUEST, "out of memory");
		session_close(s, &err);
		return;
	}
	s->http->magic = HTTP_CONN_MAGIC;
	session_set_state(s, SESSION_ST_HTTP);
	s->last_active = now_ms();
	hc_park(s);	/* the sockio comes with the first request byte */
}

static const char *
hc_mode_state_str(const struct session *s)
{
	return s->http != NULL ? hc_state_str(s->http->state) : "-";
}

/*
 * http mode audits per request: the connection gets a record of its own
 * only when it ended before any request.  A normal end's summary names
 * the last failed request's reason.
 */
static bool
hc_closing_hook(struct session *s, const struct tb_err *err,
    struct audit_rec *rec)
{
	if (s->http == NULL)
		return true;
	if (!hx_closing(s, err) && s->http->nreq == 0)
		return true;
	if (err == NULL) {
		rec->err.code = s->http->last_fail;
		rec->err.phase = s->http->last_fail_phase;
	}
	return false;
}

static void
hc_free(struct session *s)
{
	struct metrics_listener *ml = session_listener_metrics(s);

	if (s->http == NULL)
		return;
	if (s->http->state == HC_ST_PARKED && ml != NULL)
		metrics_add(&ml->parked, -1);
	s->http->magic = 0;
	free(s->http);
	s->http = NULL;
}

static void
hc_test_timers(struct session *s)
{
	event_active(s->timer, EV_TIMEOUT, 1);
	if (s->http != NULL)
		hx_test_timers(s);
}

const struct session_mode http_mode = {
	.name = "http",
	.start = hc_start,
	.closing = hc_closing_hook,
	.free = hc_free,
	.idle = hc_idle,
	.test_timers = hc_test_timers,
	.state_str = hc_mode_state_str,
	.worker_free = hx_cache_free,
	.logs_failures = true,
};
