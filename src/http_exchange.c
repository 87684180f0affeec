/* SPDX-License-Identifier: MIT */
/*
 * http_exchange: one exchange of an http session, from the request head to
 * the end of the answer (http_exchange.h says what it owns).
 */
#include "config.h"

#include "http_exchange.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "audit.h"
#include "clock.h"
#include "conf.h"
#include "expect.h"
#include "gen.h"
#include "http1.h"
#include "http_conn.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "relay.h"
#include "reply.h"
#include "rewrite.h"
#include "route.h"
#include "secret.h"
#include "session.h"
#include "sockio.h"
#include "upstream.h"
#include "upstream_ack.h"
#include "upstream_limit.h"
#include "worker.h"

#define HX_MAX_HEADERS		100
#define HX_MAX_HEAD		RELAY_HIGH	/* the client's read watermark bounds a head */
#define HX_COALESCE_MAX		16384		/* one TLS record's worth */

enum hx_state {
	HX_HEAD = 0,		/* reading the request head */
	HX_HOLD,		/* holding a chunked body to send it with Content-Length */
	HX_CONNECTING,		/* waiting for an upstream connection */
	HX_EXCHANGE		/* request sent (body streaming), response awaited or streaming */
};

struct http_exchange {
	enum hx_state state;
	const struct route_conf *rc;	/* NULL before routing */
	struct pool *pool;		/* NULL when the generation changed */
	struct http1_msg req;
	struct http1_body_dec req_body;
	bool dechunk;			/* request body held and sent with Content-Length */
	bool expect;			/* the client waits for 100 Continue */
	bool sent_continue;		/* a 100 went to the client */
	bool up_continue;		/* the endpoint sent a 100 */
	bool body_unasked;		/* body bytes came before any 100 (the client stopped waiting) */
	struct evbuffer *head;		/* owned: rewritten request head, no final CRLF */
	struct evbuffer *held;		/* owned: the held (de-chunked) body */
	struct http1_msg resp;
	bool resp_head_done;
	struct http1_body_dec resp_body;
	bool rechunk;			/* close-delimited response sent chunked */
	bool close_delim;		/* the client reads the answer's end from our close */
	bool resp_any;			/* a byte of response came from the upstream */
	bool resp_sent;			/* a byte of the answer went to the client */
	bool up_stopped;		/* a write failed: the endpoint takes no more of the request */
	struct event *up_ev;		/* owned: response / 100-continue timer */
	uint64_t t_start;
	uint64_t t_sent;
	/*
	 * The last response byte or request body move that restarts
	 * response_timeout (0: none since the request went): the timer is
	 * not re-armed for each, it finds the time when it fires.
	 */
	uint64_t t_active;
	struct audit_rec rec;
	/* not cleared between requests: written before anything reads it */
	char path[AUDIT_PATH_MAX];	/* rec.path points here once written */
	/* not cleared between requests: the parser fills what it uses */
	struct http1_header req_hdrs[HX_MAX_HEADERS];
	struct http1_header resp_hdrs[HX_MAX_HEADERS];
};

/* How an exchange ends (hx_end()). */
enum hx_ending {
	HX_END_ANSWERED = 0,	/* the answer is complete: the connection may go on */
	HX_END_FAILED,		/* our own answer (or none) ends it: the connection closes */
	HX_END_CLOSED		/* the session closes (session_close()) */
};

static void hx_connect(struct session *s, bool fresh);
static void hx_forward_request_body(struct session *s);
static void hx_up_timeoutcb(evutil_socket_t fd, short what, void *arg);
static void hx_end(struct session *s, const struct tb_err *err,
    enum hx_ending how);

/*
 * The session of an upstream callback's arg (checked by hc_live()), NULL
 * unless it is open with an exchange on an upstream connection.
 */
static struct session *
hx_live(void *arg)
{
	struct session *s = hc_live(arg);

	return s != NULL && s->http->ex != NULL && s->uc != NULL ? s : NULL;
}

static bool
client_is_11(const struct http_exchange *ex)
{
	return ex->req.version >= 11;
}

/* Our own 100 Continue: the client may send its body now. */
static void
hx_send_continue(struct session *s)
{
	reply_continue(hc_client_out(s));
	s->http->ex->sent_continue = true;
	hc_client_flush(s);
}

/* ---- exchange lifetime ----------------------------------------------------- */

/*
 * Exchanges are recycled through a small per-worker cache: a keep-alive
 * request then costs no allocation, and an idle connection holds none.
 */
struct http_exchange *
hx_new(struct session *s)
{
	struct worker *w = s->w;
	struct http_exchange *ex;
	struct evbuffer *head, *held;
	struct event *up_ev;

	if (w->nex_cache > 0) {
		ex = w->ex_cache[--w->nex_cache];
		head = ex->head;
		held = ex->held;
		up_ev = ex->up_ev;
	} else {
		if ((ex = malloc(sizeof(*ex))) == NULL)
			return NULL;
		head = evbuffer_new();
		held = evbuffer_new();
		up_ev = evtimer_new(w->base, hx_up_timeoutcb, s);
		if (head == NULL || held == NULL || up_ev == NULL) {
			if (head != NULL)
				evbuffer_free(head);
			if (held != NULL)
				evbuffer_free(held);
			if (up_ev != NULL)
				event_free(up_ev);
			free(ex);
			return NULL;
		}
	}
	memset(ex, 0, offsetof(struct http_exchange, path));
	ex->head = head;
	ex->held = held;
	ex->up_ev = up_ev;
	event_assign(up_ev, w->base, -1, 0, hx_up_timeoutcb, s);
	http1_msg_init(&ex->req, HTTP1_REQUEST, HTTP1_M_OTHER, ex->req_hdrs,
	    HX_MAX_HEADERS, HX_MAX_HEAD);
	ex->t_start = now_ms();
	session_audit_rec(s, &ex->rec);
	ex->rec.ts_ms = wall_ms();
	ex->rec.route = NULL;		/* until this request is routed */
	ex->rec.req = ++s->http->nreq;
	return ex;
}

static void
hx_free_one(struct http_exchange *ex)
{
	evbuffer_free(ex->head);
	evbuffer_free(ex->held);
	event_free(ex->up_ev);
	free(ex);
}

/* An evbuffer emptied; the drain of an empty one costs more than the test. */
static void
hx_empty(struct evbuffer *buf)
{
	size_t len = evbuffer_get_length(buf);

	if (len > 0)
		evbuffer_drain(buf, len);
}

/*
 * Gives the exchange's memory back to the worker's cache, or frees it.
 * Its timer is stopped already (hx_end(), the only caller).
 */
static void
hx_recycle(struct worker *w, struct http_exchange *ex)
{
	if (w->nex_cache < WORKER_EX_CACHE) {
		hx_empty(ex->head);
		hx_empty(ex->held);
		w->ex_cache[w->nex_cache++] = ex;
		return;
	}
	hx_free_one(ex);
}

void
hx_cache_free(struct worker *w)
{
	while (w->nex_cache > 0)
		hx_free_one(w->ex_cache[--w->nex_cache]);
}

/* The exchange left the connection clean; pool_put() judges the socket. */
static bool
hx_upstream_reusable(const struct session *s)
{
	const struct http_exchange *ex = s->http->ex;

	return s->uc != NULL && s->uc->io != NULL && !s->uc->peer_closed &&
	    ex->pool != NULL && ex->req_body.done && ex->resp_body.done &&
	    (ex->resp.flags & HTTP1_F_CLOSE) == 0;
}

/* Pools the upstream connection if the exchange left it reusable, else frees it. */
static void
hx_upstream_release(struct session *s, enum hx_ending how)
{
	struct http_exchange *ex = s->http->ex;

	if (s->uc == NULL)
		return;
	if (how == HX_END_ANSWERED && hx_upstream_reusable(s)) {
		sockio_setcb(s->uc->io, NULL, NULL, NULL, NULL);
		pool_put(ex->pool, s->uc);
	} else	/* close_notify only after a complete answer */
		upconn_free(s->uc, how == HX_END_ANSWERED);
	s->uc = NULL;
}

/*
 * The one ending of every exchange.  Writes its audit record and metrics
 * (err NULL: it went well), pools or frees the upstream connection, and
 * clears the exchange; then the client connection goes on (keep-alive,
 * or a lingering close after the answer), unless the session itself is
 * closing.
 */
static void
hx_end(struct session *s, const struct tb_err *err, enum hx_ending how)
{
	struct http_exchange *ex = s->http->ex;
	bool keep = false;

	event_del(ex->up_ev);
	uplimit_cancel(s->wait);	/* it ended while queued for a slot */
	s->wait = NULL;
	if (err != NULL)
		ex->rec.err = *err;
	ex->rec.total_ms = (int64_t)(now_ms() - ex->t_start);
	audit_write(&ex->rec);
	metrics_exchange(s->w->metrics, ex->rc != NULL ? ex->rc->metrics_id :
	    s->gen->unrouted_metrics_id, &ex->rec);
	/* An answer before the whole request body came ends the connection. */
	if (how == HX_END_ANSWERED)
		keep = !hc_closing(s->http) && ex->req_body.done && !s->w->draining;
	hx_upstream_release(s, how);
	s->upstream.paused = false;	/* the backpressure of that upstream ended with it */
	s->http->ex = NULL;
	hx_recycle(s->w, ex);
	if (how != HX_END_CLOSED)
		hc_exchange_ended(s, keep);
}

bool
hx_closing(struct session *s, const struct tb_err *err)
{
	if (s->http->ex == NULL)
		return false;
	/*
	 * A close-delimited answer cut short: its end is our close, and
	 * clients that ignore a missing close_notify (RFC 9112 9.8 says
	 * they should not) would take a FIN for it; a reset they cannot.
	 * A length or chunked answer shows the cut by itself: its FIN
	 * stays, so earlier answers still unread are not destroyed.
	 */
	if (err != NULL && err->code != CR_OK && s->http->ex->close_delim)
		s->reset_client = true;
	hx_end(s, err, HX_END_CLOSED);
	return true;
}

void
hx_test_timers(struct session *s)
{
	if (s->http->ex != NULL) {
		s->http->ex->t_active = 0;	/* as if response_timeout had passed */
		event_active(s->http->ex->up_ev, EV_TIMEOUT, 1);
	}
}

/* ---- answers of our own --------------------------------------------------- */

/*
 * Ends the exchange with an answer of our own when one is still possible
 * (status 0: the one diag gives for the reason), then closes the client
 * connection once it is written: after a failure the client's stream may
 * hold an unread body, so it cannot be trusted for another request.
 */
static void
hx_fail_status(struct session *s, const struct tb_err *err, int status)
{
	struct http_exchange *ex = s->http->ex;
	enum log_level lvl;

	if (ex->resp_sent || diag_client_gone(err->code)) {
		/* Part of an answer is out: all we can do is close. */
		session_close(s, err);
		return;
	}
	if (status == 0 && (status = diag_http_status(err->code)) == 0)
		status = 502;
	ex->rec.status = status;
	event_del(ex->up_ev);
	reply_error(hc_client_out(s), status, ex->rec.route, err, false,
	    ex->req.method == HTTP1_M_HEAD);
	ex->resp_sent = true;
	lvl = diag_request_level(err->code);
	if (log_enabled(lvl) && (lvl != LOG_LVL_WARNING ||
	    session_log_allowed(s, ex->rc)))
		log_at(lvl, "conn=%llu req=%u route=%s client=%s status=%d close=%s phase=%s: %s",
	    (unsigned long long)s->id, ex->rec.req,
	    ex->rec.route != NULL ? ex->rec.route : "-", s->client_addr, status,
	    close_reason_str(err->code), diag_phase_str(err->phase), err->msg);
	s->http->last_fail = err->code;	/* for the connection's summary line */
	s->http->last_fail_phase = err->phase;
	hx_end(s, err, HX_END_FAILED);
}

static void
hx_fail(struct session *s, const struct tb_err *err)
{
	hx_fail_status(s, err, 0);
}

/*
 * The client's chunked body broke its framing.  Whether it was being held
 * or already streaming to the endpoint, the client gets a 400 unless part
 * of an answer is out; an endpoint holding part of the request gets only
 * the close (hx_end frees its connection unclean).
 */
static void
hx_fail_bad_body(struct session *s)
{
	struct tb_err err;

	tb_err_set(&err, CR_BAD_REQUEST, PHASE_REQUEST,
	    "invalid chunked request body: %s",
	    http1_err_str(s->http->ex->req_body.err));
	hx_fail(s, &err);
}

void
hx_request_timeout(struct session *s)
{
	struct tb_err err;

	tb_err_set(&err, CR_CLIENT_TIMEOUT, PHASE_REQUEST,
	    s->http->ex->state == HX_HEAD ?
	    "no complete request head within request_timeout" :
	    "the chunked request body stalled for request_timeout");
	hx_fail_status(s, &err, 408);
}

/* ---- the end of an exchange --------------------------------------------------- */

/*
 * The answer is complete but the endpoint did not get the whole request
 * body: it answered early (and closed, or we stop sending now), and what
 * the body was for most likely did not happen.  A failed call, whatever
 * the status says; the answer itself went to the client as it came.
 * Fills err for the audit record and logs it.
 */
static void
hx_body_unread(struct session *s, struct tb_err *err)
{
	struct http_exchange *ex = s->http->ex;
	struct upconn *uc = s->uc;	/* set: the answer came from it */

	tb_err_set(err, CR_UPSTREAM_BODY_UNREAD, PHASE_REQUEST,
	    "%s answered %d %sbefore it took the whole request body",
	    uc->addr, ex->rec.status, uc->peer_closed || ex->up_stopped ||
	    (ex->resp.flags & HTTP1_F_CLOSE) ? "and closed " : "");
	s->http->last_fail = err->code;	/* for the connection's summary line */
	s->http->last_fail_phase = err->phase;
	if (log_enabled(LOG_LVL_WARNING) && session_log_allowed(s, ex->rc))
		log_warnx("conn=%llu req=%u route=%s client=%s status=%d close=%s: %s",
		    (unsigned long long)s->id, ex->rec.req, ex->rc->name,
		    s->client_addr, ex->rec.status, close_reason_str(err->code),
		    err->msg);
}

/* The answer is complete: the exchange ends, well unless the endpoint left part of the request. */
static void
hx_exchange_done(struct session *s)
{
	struct http_exchange *ex = s->http->ex;
	struct tb_err err;

	if (s->uc != NULL && s->uc->io != NULL && (!ex->req_body.done ||
	    ex->up_stopped ||
	    evbuffer_get_length(sockio_get_output(s->uc->io)) > 0)) {
		hx_body_unread(s, &err);
		hx_end(s, &err, HX_END_ANSWERED);
	} else
		hx_end(s, NULL, HX_END_ANSWERED);
}

/* ---- the response ------------------------------------------------------ */

/* Writes the response head the client gets; decides its framing; -1 if it did not fit. */
static int
hx_send_response_head(struct session *s, const char *buf)
{
	struct http_exchange *ex = s->http->ex;
	struct rewrite_resp_plan plan;

	rewrite_resp_plan(&ex->req, &ex->resp, hc_closing(s->http) ||
	    s->w->draining, &plan);
	if (plan.close)
		hc_close_after_flush(s);
	ex->rechunk = plan.rechunk;
	/* a small body is copied behind the head (hx_forward_response_body()) */
	if (plan.rs.framing == HTTP1_BODY_LENGTH && plan.mode == HTTP1_PASS &&
	    ex->resp.head_len + ex->resp.content_length <= HX_COALESCE_MAX)
		plan.rs.body_room = (size_t)ex->resp.content_length;
	if (rewrite_response_head(hc_client_out(s), buf, &ex->resp, &plan.rs) == -1)
		return -1;
	http1_body_init(&ex->resp_body, ex->resp.body, ex->resp.content_length,
	    plan.mode);
	ex->close_delim = plan.close_delim;
	ex->resp_sent = true;
	ex->rec.status = ex->resp.status;
	return 0;
}

/*
 * The next piece of the body d decodes from in, fed from in's first
 * contiguous chunk (no copy to linearise the buffer; *p is that chunk, for
 * the data span).  Returns what http1_body_feed() returns: > 0 the input
 * bytes the piece spans, 0 when d is done or needs more, < 0 when the
 * framing broke.
 */
static ssize_t
hx_body_next(struct http1_body_dec *d, struct evbuffer *in, char **p,
    struct http1_span *data)
{
	size_t len;

	if (d->done || evbuffer_get_length(in) == 0)
		return 0;
	len = evbuffer_get_contiguous_space(in);
	*p = (char *)evbuffer_pullup(in, (ssize_t)len);
	return http1_body_feed(d, *p, len, data);
}

/*
 * Parses a head at the start of in, linearising no more of in than it
 * needs: the first chain, which holds the head as a rule, then, if the
 * head goes on past it, all of in up to the longest head m takes.  A
 * pullup of all of in would copy the body bytes behind the head too (an
 * upload, or a long answer read with its head).  Returns what
 * http1_parse_head() returns; *headp is the head's contiguous copy.
 */
static int
hx_parse_head(struct http1_msg *m, struct evbuffer *in, char **headp)
{
	size_t avail = evbuffer_get_length(in);
	size_t n = evbuffer_get_contiguous_space(in);
	int r;

	for (;;) {
		*headp = (char *)evbuffer_pullup(in, (ev_ssize_t)n);
		r = http1_parse_head(m, *headp, n);
		if (r != 0 || n == avail)
			return r;
		n = avail < m->max_head ? avail : m->max_head;
	}
}

/* n request bytes came from the client. */
static void
hx_count_in(struct session *s, size_t n)
{
	s->http->ex->rec.bytes_in += (uint64_t)n;
	s->client.bytes_read += (uint64_t)n;
}

/* The endpoint's body broke its framing: part of the answer is out, so only a close is left. */
static void
hx_bad_response_body(struct session *s)
{
	struct tb_err err;

	tb_err_set(&err, CR_UPSTREAM_BAD_RESPONSE, PHASE_RESPONSE,
	    "%s: invalid response body: %s", s->uc->addr,
	    http1_err_str(s->http->ex->resp_body.err));
	session_close(s, &err);
}

/* Moves response body bytes to the client, framing them as decided. */
static int
hx_forward_response_body(struct session *s)
{
	struct http_exchange *ex = s->http->ex;
	struct evbuffer *in = sockio_get_input(s->uc->io);
	struct evbuffer *out = hc_client_out(s);
	struct http1_span data;
	ssize_t n;
	char *p;

	while ((n = hx_body_next(&ex->resp_body, in, &p, &data)) > 0) {
		if (ex->resp_body.mode == HTTP1_DECHUNK) {
			evbuffer_add(out, p + data.off, data.len);
			evbuffer_drain(in, (size_t)n);
			ex->rec.bytes_out += data.len;
		} else if (ex->rechunk) {
			evbuffer_add_printf(out, "%zx\r\n", (size_t)n);
			evbuffer_remove_buffer(in, out, (size_t)n);
			evbuffer_add(out, "\r\n", 2);
			ex->rec.bytes_out += (uint64_t)n;
		} else if (ex->resp_body.done &&
		    evbuffer_get_length(out) + (size_t)n <= HX_COALESCE_MAX) {
			/*
			 * The end of a small answer: copied into the room left
			 * behind its head, it is one piece without the pullup
			 * below (a copy of the head and the body both).
			 */
			evbuffer_add(out, p, (size_t)n);
			evbuffer_drain(in, (size_t)n);
			ex->rec.bytes_out += (uint64_t)n;
		} else {
			evbuffer_remove_buffer(in, out, (size_t)n);
			ex->rec.bytes_out += (uint64_t)n;
		}
		s->upstream.bytes_read += (uint64_t)n;
	}
	if (n < 0) {
		hx_bad_response_body(s);
		return -1;
	}
	relay_pause_if_full(s->uc->io, out, &s->upstream.paused);
	if (ex->resp_body.done) {
		if (ex->rechunk)
			evbuffer_add(out, "0\r\n\r\n", 5);
		/*
		 * A small answer in one piece goes out as one TLS record and
		 * one write(2), instead of one per buffer chain.
		 */
		if (evbuffer_get_length(out) <= HX_COALESCE_MAX &&
		    evbuffer_peek(out, -1, NULL, NULL, 0) > 1)
			evbuffer_pullup(out, -1);
		hx_exchange_done(s);
		return 1;
	}
	return 0;
}

/* Parses response heads; relays 100 Continue; returns -1 if s was closed. */
static int
hx_read_response_head(struct session *s)
{
	struct http_exchange *ex = s->http->ex;
	struct evbuffer *in = sockio_get_input(s->uc->io);
	struct tb_err err;
	char *p;
	int r;

	while (!ex->resp_head_done && evbuffer_get_length(in) > 0) {
		r = hx_parse_head(&ex->resp, in, &p);
		if (r < 0) {
			tb_err_set(&err, CR_UPSTREAM_BAD_RESPONSE, PHASE_RESPONSE,
			    "%s: invalid response head at byte %zu: %s",
			    s->uc->addr, ex->resp.err_off,
			    http1_err_str(ex->resp.err));
			hx_fail(s, &err);
			return -1;
		}
		if (r == 0)
			return 0;
		if (ex->resp.status >= 100 && ex->resp.status < 200) {
			/* Interim answers: 100 goes to a 1.1 client once, others are dropped. */
			if (ex->resp.status == 100 && ex->expect) {
				ex->up_continue = true;
				expect_learn(ex->pool, EXPECT_ANSWERS);
			}
			if (ex->resp.status == 100 && ex->expect &&
			    !ex->sent_continue && client_is_11(ex)) {
				reply_continue(hc_client_out(s));
				ex->sent_continue = true;
			}
			evbuffer_drain(in, (size_t)r);
			http1_msg_init(&ex->resp, HTTP1_RESPONSE, ex->req.method,
			    ex->resp_hdrs, HX_MAX_HEADERS, HX_MAX_HEAD);
			continue;
		}
		if ((ex->resp.flags & HTTP1_F_TE_CODING) &&
		    ex->resp.body != HTTP1_BODY_NONE) {
			/*
			 * Codings we never asked for (our request sends no TE):
			 * the broker frames what it forwards and cannot frame
			 * these without decoding them.
			 */
			tb_err_set(&err, CR_UPSTREAM_BAD_RESPONSE, PHASE_RESPONSE,
			    "%s: response with a transfer coding other than "
			    "chunked, which the request did not offer", s->uc->addr);
			hx_fail(s, &err);
			return -1;
		}
		ex->resp_head_done = true;
		/*
		 * The client gave up waiting and the endpoint answered its whole
		 * body without a 100.  An answer before the body's end may be a
		 * refusal of the head, which says nothing about Expect.
		 */
		if (ex->body_unasked && !ex->up_continue && ex->req_body.done)
			expect_learn(ex->pool, EXPECT_IGNORES);
		ex->rec.ttfb_ms = (int64_t)(now_ms() - ex->t_start);
		if (ex->pool != NULL)
			ex->pool->http_version = ex->resp.version;	/* an HTTP/1.0 one never sends 100 */
		if (hx_send_response_head(s, p) == -1) {
			tb_err_set(&err, CR_INTERNAL, PHASE_RESPONSE,
			    "out of memory for the response head");
			hx_fail(s, &err);
			return -1;
		}
		evbuffer_drain(in, (size_t)r);
		s->upstream.bytes_read += (uint64_t)r;
	}
	return 0;
}

static void
hx_up_readcb(struct sockio *io, void *arg)
{
	struct session *s = hx_live(arg);
	struct http_exchange *ex = s != NULL ? s->http->ex : NULL;

	(void)io;
	if (ex == NULL)
		return;
	ex->resp_any = true;
	s->last_active = now_ms();
	ex->t_active = s->last_active;	/* response_timeout restarts (hx_up_timeoutcb()) */
	/* what goes to the client is flushed below: no write to schedule */
	sockio_cork(s->client.io);
	if (ex->resp_head_done || hx_read_response_head(s) == 0) {
		if (ex->resp_head_done)
			hx_forward_response_body(s);
		hc_client_flush(s);
	}
	if (s->client.io != NULL)
		sockio_uncork(s->client.io);
}

/*
 * Writes the request at once, as HAProxy's speculative I/O does, instead
 * of later in the loop turn: what the endpoint's socket does not take
 * right away waits for the write event.  A write error is reported
 * through the event callback (hx_up_write_failed()).
 */
static void
hx_up_flush(struct session *s)
{
	if (s->uc != NULL && s->uc->io != NULL)
		sockio_flush(s->uc->io);
}

static void
hx_up_writecb(struct sockio *io, void *arg)
{
	struct session *s = hx_live(arg);

	if (s == NULL)
		return;
	if (relay_resume(s->client.io, io, &s->client.paused))
		hx_forward_request_body(s);
}

/* We still hold the whole request: no body, or a held one. */
static bool
hx_request_kept(const struct http_exchange *ex)
{
	return ex->req.body == HTTP1_BODY_NONE || ex->dechunk ||
	    (ex->req.body == HTTP1_BODY_LENGTH && ex->req.content_length == 0);
}

/* The request could go again on a fresh connection: idempotent, body kept. */
static bool
hx_may_replay(const struct http_exchange *ex)
{
	return hx_request_kept(ex) && http1_method_idempotent(ex->req.method);
}

/*
 * A pooled connection failed before any byte of the response: the stale
 * keep-alive race, or a blackhole (upstream_ack.h).  Retry once on a
 * fresh connection when replaying the request cannot duplicate it: we
 * still have all of it, and its method is idempotent or the endpoint
 * acknowledged no byte of it.  Never for a streamed body.
 */
static bool
hx_retry(struct session *s, const struct tb_err *why)
{
	struct http_exchange *ex = s->http->ex;

	if (ex->resp_any || ex->rec.retries > 0 || !ex->rec.up_reused ||
	    !hx_request_kept(ex) || (!http1_method_idempotent(ex->req.method) &&
	    !upack_none_acked(s->uc)))
		return false;
	log_info("conn=%llu req=%u route=%s: pooled connection to %s failed "
	    "before any response (%s: %s); retrying once on a new connection",
	    (unsigned long long)s->id, ex->rec.req, ex->rc->name, s->uc->addr,
	    close_reason_str(why->code), why->msg);
	ex->rec.retries++;
	ex->rec.retry_reason = close_reason_str(why->code);
	if (session_route_metrics(s, ex->rc) != NULL)
		metrics_inc(&session_route_metrics(s, ex->rc)->retries);
	upconn_free(s->uc, false);
	s->uc = NULL;
	event_del(ex->up_ev);
	hx_connect(s, true);
	return true;
}

/*
 * A write to a plain endpoint failed: it stopped taking the request (it
 * answered early and closed, and its kernel reset the rest).  Its answer
 * may still wait in the socket ahead of the reset, so the request's rest
 * is dropped and reading goes on: the answer, or the reset, decides.  A
 * TLS connection cannot be read after a failed write.  True if handled.
 */
static bool
hx_up_write_failed(struct session *s, short what)
{
	struct http_exchange *ex = s->http->ex;
	struct evbuffer *out;

	if ((what & SOCKIO_WRITING) == 0 || s->uc->cli != NULL ||
	    ex->up_stopped || ex->resp_body.done)
		return false;
	log_debug("conn=%llu req=%u: a write to %s failed; reading its answer "
	    "before its reset", (unsigned long long)s->id, ex->rec.req,
	    s->uc->addr);
	out = sockio_get_output(s->uc->io);
	ex->up_stopped = true;
	evbuffer_drain(out, evbuffer_get_length(out));
	sockio_disable(s->uc->io, EV_WRITE);
	sockio_enable(s->uc->io, EV_READ);
	return true;
}

static void
hx_up_eventcb(struct sockio *io, short what, void *arg)
{
	int sys_errno = EVUTIL_SOCKET_ERROR();	/* before anything can clobber it */
	struct session *s = hx_live(arg);
	struct http_exchange *ex;
	enum diag_phase phase;
	struct tb_err err;

	if (s == NULL)
		return;
	ex = s->http->ex;
	/* Never pooled again, even if the answer completes before the event returns. */
	s->uc->peer_closed = true;
	if (hx_up_write_failed(s, what))
		return;
	/*
	 * An answer can arrive in the same read as the close, and wait in
	 * the input for a later part of its head: parse what came first.
	 */
	if ((what & SOCKIO_EOF) && !ex->resp_head_done &&
	    evbuffer_get_length(sockio_get_input(io)) > 0) {
		ex->resp_any = true;
		if (hx_read_response_head(s) == -1)
			return;
	}
	phase = ex->resp_any ? PHASE_RESPONSE : PHASE_REQUEST;
	if ((what & SOCKIO_EOF) && ex->resp_head_done) {
		/* A closed connection never goes back to the pool. */
		ex->resp.flags |= HTTP1_F_CLOSE;
		/* Drain what is still buffered, then see if the body may end here. */
		if (hx_forward_response_body(s) != 0) {
			hc_client_flush(s);
			return;
		}
		if (http1_body_eof(&ex->resp_body) == 0) {
			if (ex->rechunk)
				evbuffer_add(hc_client_out(s), "0\r\n\r\n", 5);
			hx_exchange_done(s);
			hc_client_flush(s);
			return;
		}
		tb_err_set(&err, CR_UPSTREAM_CLOSED, PHASE_RESPONSE,
		    "%s closed the connection after %llu bytes of the response body",
		    s->uc->addr, (unsigned long long)ex->resp_body.wire);
		session_close(s, &err);
		return;
	}
	if (sys_errno == ECONNRESET || sys_errno == EPIPE)
		tb_err_set(&err, CR_UPSTREAM_RESET, phase,
		    "%s reset the connection %s", s->uc->addr,
		    ex->resp_any ? "while sending the response" :
		    "before answering the request");
	else
		tb_err_set(&err, CR_UPSTREAM_CLOSED, phase,
		    "%s closed the connection %s", s->uc->addr,
		    ex->resp_any ? "inside the response head" :
		    "before answering the request");
	if (hx_retry(s, &err))
		return;
	hx_fail(s, &err);
}

static void
hx_up_timeoutcb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = hc_live(arg);
	struct http_exchange *ex;
	struct tb_err err;
	uint64_t now, waited;

	(void)fd;
	(void)what;
	if (s == NULL || (ex = s->http->ex) == NULL)
		return;
	now = now_ms();
	if (ex->t_active != 0 && now - ex->t_active < ex->rc->response_timeout_ms) {
		/* activity since it was armed: response_timeout counts from there */
		event_add_ms(ex->up_ev, ex->rc->response_timeout_ms -
		    (now - ex->t_active));
		return;
	}
	waited = now - ex->t_sent;
	if (ex->expect && !ex->sent_continue && !ex->resp_any)
		expect_learn(ex->pool, EXPECT_IGNORES);
	if (ex->expect && !ex->sent_continue && !ex->resp_any &&
	    waited < ex->rc->response_timeout_ms) {
		/* The endpoint ignores Expect: let the client send its body anyway. */
		hx_send_continue(s);
		event_add_ms(ex->up_ev, ex->rc->response_timeout_ms - waited);
		return;
	}
	/*
	 * A client that reset while its reading was suspended (its pipelined
	 * requests fill the input) and nothing was written to it went
	 * unnoticed: it ended this exchange, not the endpoint.
	 */
	if (relay_socket_reset(s->fd)) {
		tb_err_set(&err, CR_CLIENT_RESET, ex->resp_sent ? PHASE_RESPONSE :
		    PHASE_REQUEST, "client reset the connection while the "
		    "request was in flight");
		session_close(s, &err);
		return;
	}
	tb_err_set(&err, CR_UPSTREAM_TIMEOUT, ex->resp_any ? PHASE_RESPONSE :
	    PHASE_REQUEST, "%s: no response data within response_timeout (%llu ms)",
	    s->uc != NULL ? s->uc->addr : ex->rc->name,
	    (unsigned long long)ex->rc->response_timeout_ms);
	hx_fail(s, &err);
}

/*
 * The request went out on a reused connection and the endpoint
 * acknowledged none of it within upstream_reuse_ack_timeout: the
 * connection was blackholed (upstream_ack.h).  Nothing reached the
 * endpoint: drop the connection with an RST, so its queued bytes are never
 * delivered, and resend, or fail with the reason that says so.
 */
static void
hx_up_unacked(void *arg)
{
	struct session *s = hx_live(arg);
	struct http_exchange *ex;
	struct tb_err err;

	if (s == NULL || (ex = s->http->ex)->resp_any)
		return;
	tb_err_set(&err, CR_UPSTREAM_UNACKED, PHASE_REQUEST, "%s acknowledged "
	    "no byte of the request within upstream_reuse_ack_timeout (%llu ms) "
	    "on a connection idle for %llu ms", s->uc->addr,
	    (unsigned long long)ex->rc->up_reuse_ack_timeout_ms,
	    (unsigned long long)s->uc->ack.idle_ms);
	pool_learn_blackhole(ex->pool, s->uc);
	upack_abandon(s->uc);
	if (hx_retry(s, &err))
		return;
	hx_fail(s, &err);
}

/* ---- sending the request ------------------------------------------------- */

/* Moves request body bytes from the client to the upstream. */
static void
hx_forward_request_body(struct session *s)
{
	struct http_exchange *ex = s->http->ex;
	struct evbuffer *in = hc_client_in(s), *out;
	struct http1_span data;
	bool moved = false;
	ssize_t n;
	char *p;

	if (ex == NULL || ex->state != HX_EXCHANGE || ex->req_body.done ||
	    s->uc == NULL || s->uc->io == NULL || ex->up_stopped)
		return;	/* stopped: the rest waits for the answer, then the linger */
	out = sockio_get_output(s->uc->io);
	while ((n = hx_body_next(&ex->req_body, in, &p, &data)) > 0) {
		if (ex->expect && !ex->sent_continue)
			ex->body_unasked = true;
		evbuffer_remove_buffer(in, out, (size_t)n);
		hx_count_in(s, (size_t)n);
		moved = true;
	}
	if (n < 0) {
		hx_fail_bad_body(s);
		return;
	}
	/*
	 * A long upload is activity: response_timeout counts from the last
	 * byte.  Once per call, not per buffer chain: the time is the same.
	 */
	if (moved && (!ex->expect || ex->sent_continue || ex->resp_any))
		ex->t_active = now_ms();	/* hx_up_timeoutcb() re-arms from it */
	hx_up_flush(s);
	/*
	 * Pipelined requests wait in the input until this exchange ends (the
	 * read watermark bounds them); reading stays on, so an EOF or reset
	 * from the client is still seen during the exchange.
	 */
	relay_pause_if_full(s->client.io, out, &s->client.paused);
}

static void
hx_send_request(struct session *s)
{
	struct http_exchange *ex = s->http->ex;
	struct sockio *io = s->uc->io;
	struct evbuffer *out = sockio_get_output(io);
	size_t hlen = evbuffer_get_length(ex->head);
	size_t blen = evbuffer_get_length(ex->held);

	sockio_setcb(io, hx_up_readcb, hx_up_writecb, hx_up_eventcb, s);
	sockio_cork(io);	/* the request is flushed below */
	sockio_enable(io, EV_READ | EV_WRITE);
	http1_msg_init(&ex->resp, HTTP1_RESPONSE, ex->req.method, ex->resp_hdrs,
	    HX_MAX_HEADERS, HX_MAX_HEAD);
	/* Copies: the head and a held body stay for a retry. */
	evbuffer_add(out, evbuffer_pullup(ex->head, -1), hlen);
	if (ex->dechunk) {
		evbuffer_add_printf(out, "Content-Length: %zu\r\n\r\n", blen);
		evbuffer_add(out, evbuffer_pullup(ex->held, -1), blen);
	} else
		evbuffer_add(out, "\r\n", 2);
	s->uc->requests++;
	ex->state = HX_EXCHANGE;
	ex->t_sent = now_ms();
	ex->t_active = 0;
	if (ex->rec.up_reused)
		upack_watch(s->uc, ex->rc->up_reuse_ack_timeout_ms, hx_up_unacked, s);
	event_add_ms(ex->up_ev, ex->expect && !ex->sent_continue ?
	    EXPECT_WAIT_MS : ex->rc->response_timeout_ms);
	hx_forward_request_body(s);
	if (s->http->ex == ex)
		hx_up_flush(s);	/* ends the cork; an ended exchange freed the connection */
}

static void
hx_upstream_ready(struct session *s, bool reused)
{
	struct http_exchange *ex = s->http->ex;
	struct upconn *uc = s->uc;

	audit_set_upstream(&ex->rec, uc->addr);
	ex->rec.up_tries = uc->tries;
	ex->pool = uc->pool;	/* a failover moved it to another address's pool */
	ex->rec.up_tls = upconn_tls_str(uc);
	ex->rec.up_cipher = upconn_cipher(uc);
	ex->rec.up_reused = reused;
	ex->rec.up_resumed = uc->resumed;
	if (reused && session_route_metrics(s, ex->rc) != NULL)
		metrics_inc(&session_route_metrics(s, ex->rc)->up_reused);
	ex->rec.connect_ms = reused ? 0 : uc->connect_ms;
	ex->rec.handshake_ms = reused ? 0 : uc->handshake_ms;
	hx_send_request(s);
}

static void
hx_upstream_cb(struct upconn *uc, const struct tb_err *err, void *arg)
{
	struct session *s = hc_live(arg);
	struct http_exchange *ex;

	if (s == NULL || (ex = s->http->ex) == NULL || s->uc != uc)
		return;
	if (err != NULL) {
		audit_set_upstream(&ex->rec, uc->addr);
		ex->rec.up_tries = uc->tries;
		ex->rec.connect_ms = uc->connect_ms;
		ex->rec.handshake_ms = uc->handshake_ms;
		hx_fail(s, err);
		return;
	}
	hx_upstream_ready(s, false);
}

/*
 * An endpoint known to ignore Expect must not cost the client its wait;
 * sent only once a connection or a slot is ours, so a queued client
 * holds its body until the endpoint can take it.
 */
static void
hx_continue_local(struct session *s)
{
	struct http_exchange *ex = s->http->ex;

	if (ex->expect && !ex->sent_continue && client_is_11(ex) &&
	    expect_local(ex->pool))
		hx_send_continue(s);
}

/*
 * Opens a new connection to addr (its pool is ex->pool), failing over to
 * the route's other addresses; the caller holds a slot of the route's cap.
 */
static void
hx_open(struct session *s, int addr)
{
	struct http_exchange *ex = s->http->ex;
	struct tb_err err;

	hx_continue_local(s);
	s->uc = upstream_connect(s->w, ex->rc, addr, UPSTREAM_F_FAILOVER,
	    s->gen->clients[ex->rc->index], ex->pool, hx_upstream_cb, s);
	if (s->uc == NULL) {
		tb_err_set(&err, CR_INTERNAL, PHASE_CONNECT, "out of memory");
		hx_fail(s, &err);
	}
}

/* The wait for a slot of upstream_max_connections ended (err: it timed out). */
static void
hx_slot_cb(void *arg, const struct tb_err *err, uint64_t waited_ms)
{
	struct session *s = hc_live(arg);
	int addr;

	if (s == NULL || s->http->ex == NULL)
		return;		/* cannot happen: hx_end() cancels the wait */
	s->wait = NULL;
	s->http->ex->rec.queue_ms = (int64_t)waited_ms;
	if (err != NULL) {
		hx_fail(s, err);
		return;
	}
	/* picked again: the address's health may have changed while queued */
	addr = upstream_pick(s->http->ex->rc);
	s->http->ex->pool = pool_sibling(session_pool_for(s, s->http->ex->rc), addr);
	hx_open(s, addr);
}

/*
 * Takes a pooled connection, or opens one (always a new one for a retry)
 * once the route's cap has a slot: until then the exchange queues.
 */
static void
hx_connect(struct session *s, bool fresh)
{
	struct http_exchange *ex = s->http->ex;
	struct tb_err err;
	int addr;

	ex->state = HX_CONNECTING;
	/* the address first (weights, health), then an idle connection to it */
	addr = upstream_pick(ex->rc);
	ex->pool = pool_sibling(session_pool_for(s, ex->rc), addr);
	if (!fresh && ex->pool != NULL &&
	    (s->uc = pool_take(ex->pool, !hx_may_replay(ex))) != NULL) {
		hx_continue_local(s);
		hx_upstream_ready(s, true);
		return;
	}
	if (uplimit_take(ex->rc->limit)) {
		hx_open(s, addr);
		return;
	}
	s->wait = uplimit_wait(ex->rc->limit, s->w->id, s->w->base,
	    ex->rc->name, hx_slot_cb, s, &err);
	if (s->wait == NULL)
		hx_fail(s, &err);
}

/* ---- the request head ----------------------------------------------------- */

/* The head the endpoint gets, into ex->head, without its final CRLF; -1 if it did not fit. */
static int
hx_build_request_head(struct session *s, const char *buf, const char *path,
    size_t plen)
{
	struct http_exchange *ex = s->http->ex;
	struct rewrite_req rq;

	rewrite_req_plan(&rq, buf, &ex->req, ex->rc, path, plen, ex->dechunk,
	    s->client_addr);
	return rewrite_request_head(ex->head, buf, &ex->req, &rq);
}

/* A held body would pass max_buffered_body: 413, with what to change. */
static void
hx_fail_held_too_big(struct session *s)
{
	const struct route_conf *rc = s->http->ex->rc;
	struct tb_err err;

	tb_err_set(&err, CR_BAD_REQUEST, PHASE_REQUEST,
	    "chunked request body above max_buffered_body (%llu bytes)",
	    (unsigned long long)rc->max_buffered_body);
	err.hint = "the broker holds a chunked request body up to "
	    "max_buffered_body to send it with a Content-Length: raise "
	    "max_buffered_body, or set upstream_chunked = yes if the "
	    "endpoint reads chunked request bodies";
	hx_fail_status(s, &err, 413);
}

/* Reads a chunked body to hold it, for endpoints that may not take chunked. */
static void
hx_hold_body(struct session *s)
{
	struct http_exchange *ex = s->http->ex;
	struct evbuffer *in = hc_client_in(s);
	struct http1_span data;
	ssize_t n;
	char *p;

	while ((n = hx_body_next(&ex->req_body, in, &p, &data)) > 0) {
		if (evbuffer_get_length(ex->held) + data.len > ex->rc->max_buffered_body) {
			hx_fail_held_too_big(s);
			return;
		}
		evbuffer_add(ex->held, p + data.off, data.len);
		evbuffer_drain(in, (size_t)n);
		hx_count_in(s, (size_t)n);
	}
	if (n < 0) {
		hx_fail_bad_body(s);
		return;
	}
	if (ex->req_body.done) {
		hc_request_timer(s, false);
		hx_connect(s, false);
	} else	/* a held body that stalls is a slow client too */
		hc_request_timer(s, true);
}

static void
hx_request_head(struct session *s, size_t head_len)
{
	struct http_exchange *ex = s->http->ex;
	const struct http1_msg *m = &ex->req;
	/* hx_parse_head() made the head contiguous */
	const char *buf = (const char *)evbuffer_pullup(hc_client_in(s),
	    (ev_ssize_t)head_len);
	struct tb_err err;
	char host[HTTP1_HOST_MAX + 1];
	const char *path;
	size_t plen;
	bool routable;
	int status;

	hc_request_timer(s, false);
	ex->rec.method = http1_method_str(m->method);
	routable = rewrite_route_keys(buf, m, s->sni, host, sizeof(host), &path,
	    &plen);
	rewrite_log_path(ex->path, sizeof(ex->path), path, plen);
	ex->rec.path = ex->path;
	if (!routable) {
		tb_err_set(&err, CR_BAD_REQUEST, PHASE_REQUEST,
		    "the Host or target authority is no name to route by");
		hx_fail(s, &err);
		return;
	}
	if (m->method == HTTP1_M_CONNECT) {
		tb_err_set(&err, CR_BAD_REQUEST, PHASE_REQUEST,
		    "CONNECT refused: tlsbroker only reaches its configured routes");
		hx_fail_status(s, &err, 405);
		return;
	}
	ex->rc = route_match_http(s->gen->conf, s->li, host[0] != '\0' ? host :
	    NULL, path, plen);
	if (ex->rc == NULL) {
		/* the path as logged: a query may hold a credential */
		tb_err_set(&err, CR_NO_ROUTE, PHASE_ROUTE,
		    "no route of listener %s for host '%s' and path '%.200s'",
		    hc_listener(s)->name, host, ex->path);
		hx_fail(s, &err);
		return;
	}
	s->rc = ex->rc;		/* the connection's summary names its last route */
	ex->rec.route = ex->rc->name;
	/* before any upstream work: a caller without the secret costs nothing */
	if ((status = secret_check(ex->rc, buf, ex->req_hdrs, m->nhdrs, &err)) != 0) {
		hx_fail_status(s, &err, status);
		return;
	}
	ex->pool = session_pool_for(s, ex->rc);
	ex->expect = (m->flags & HTTP1_F_EXPECT_CONTINUE) != 0;
	/*
	 * A chunked body is held and sent with Content-Length unless the
	 * route says its endpoint reads chunked ones: an HTTP/1.1 status line
	 * proves nothing (busybox httpd answers HTTP/1.1 and hands its CGI
	 * an empty body), and an HTTP/1.0 server would silently lose it.
	 */
	ex->dechunk = m->body == HTTP1_BODY_CHUNKED && !ex->rc->up_chunked;
	if (hx_build_request_head(s, buf, path, plen) == -1) {
		tb_err_set(&err, CR_INTERNAL, PHASE_REQUEST,
		    "out of memory for the request head");
		hx_fail(s, &err);
		return;
	}
	evbuffer_drain(hc_client_in(s), head_len);
	hx_count_in(s, head_len);
	if (ex->dechunk) {
		http1_body_init(&ex->req_body, HTTP1_BODY_CHUNKED, 0, HTTP1_DECHUNK);
		if (ex->expect && client_is_11(ex))
			hx_send_continue(s);	/* we read the body ourselves */
		ex->state = HX_HOLD;
		hx_hold_body(s);
		return;
	}
	http1_body_init(&ex->req_body, m->body, m->content_length, HTTP1_PASS);
	hx_connect(s, false);	/* with a local 100 Continue if the endpoint needs one */
}

/* ---- driven by the client connection ---------------------------------------- */

void
hx_client_input(struct session *s)
{
	struct http_exchange *ex = s->http->ex;
	struct evbuffer *in = hc_client_in(s);
	struct tb_err err;
	char *head;
	int r;

	switch (ex->state) {
	case HX_HEAD:
		r = hx_parse_head(&ex->req, in, &head);
		if (r < 0) {
			tb_err_set(&err, CR_BAD_REQUEST, PHASE_REQUEST,
			    "invalid request head at byte %zu: %s",
			    ex->req.err_off, http1_err_str(ex->req.err));
			hx_fail_status(s, &err, http1_err_status(ex->req.err));
			return;
		}
		if (r > 0)
			hx_request_head(s, (size_t)r);
		return;
	case HX_HOLD:
		hx_hold_body(s);
		return;
	case HX_CONNECTING:
		return;
	case HX_EXCHANGE:
		hx_forward_request_body(s);
		return;
	}
}

void
hx_client_drained(struct session *s)
{
	struct http_exchange *ex = s->http->ex;

	if (s->uc != NULL && s->uc->io != NULL &&
	    relay_resume(s->uc->io, s->client.io, &s->upstream.paused)) {
		/* Bytes may already wait in the upstream input. */
		if (ex->resp_head_done)
			hx_forward_response_body(s);
	}
}

bool
hx_reading_request(const struct http_exchange *ex)
{
	return ex->state == HX_HEAD || ex->state == HX_HOLD;
}

bool
hx_reading_head(const struct http_exchange *ex)
{
	return ex->state == HX_HEAD;
}

bool
hx_answer_owed(const struct http_exchange *ex)
{
	return (ex->state == HX_CONNECTING || ex->state == HX_EXCHANGE) &&
	    ex->req_body.done;
}

bool
hx_answer_started(const struct http_exchange *ex)
{
	return ex->resp_sent;
}
