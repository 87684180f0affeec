/* SPDX-License-Identifier: MIT */
/*
 * session_http: the http mode of a session.  Per request it reads and
 * checks the head (http1.c), routes by Host (SNI when absent) and path,
 * has the head rewritten (rewrite.c: hop-by-hop fields dropped, the
 * framing its own, Host set, forwarding fields by the route's policy),
 * takes an upstream connection from the route's pool or opens one,
 * streams the body both ways with bounded buffers, and gives the
 * connection back to the pool when the exchange
 * was complete and reusable.  Failures of the second hop become real HTTP
 * answers (502/504 with X-Broker-Error) while an answer is still possible.
 * A pooled connection that dies before any response byte, or acknowledges
 * no byte of the request in time (upstream_ack.h), is retried once on a
 * fresh connection when replaying cannot duplicate a request.
 * Chunked request bodies are held and sent with Content-Length unless the
 * route says upstream_chunked; a pipelined request waits until the
 * answers before it went out; a client a write failed to is gone.
 * Lives in session.c's struct session; session_close() is still the only
 * exit.
 */
#include "config.h"

#include "session.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "audit.h"
#include "conf.h"
#include "expect.h"
#include "gen.h"
#include "http1.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "relay.h"
#include "reply.h"
#include "rewrite.h"
#include "route.h"
#include "secret.h"
#include "upstream.h"
#include "upstream_ack.h"
#include "worker.h"

#define HX_MAX_HEADERS		100
#define HX_MAX_HEAD		RELAY_HIGH	/* the client's read watermark bounds a head */
#define HX_LINGER_MS		2000		/* lingering close after an error answer */
#define HX_COALESCE_MAX		16384		/* one TLS record's worth */
#define HX_PARK_MS		100		/* keep-alive idleness before parking */

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
	struct upconn *uc;		/* owned */
	struct event *up_ev;		/* owned: response / 100-continue timer */
	uint64_t t_start;
	uint64_t t_sent;
	struct audit_rec rec;
	char path[AUDIT_PATH_MAX];	/* rec.path points here */
	/* not cleared between requests: the parser fills what it uses */
	struct http1_header req_hdrs[HX_MAX_HEADERS];
	struct http1_header resp_hdrs[HX_MAX_HEADERS];
};

static void hx_client_progress(struct session *s);
static void hx_connect(struct session *s, bool fresh);
static void hx_forward_request_body(struct session *s);
static void hx_close_flushed(struct session *s);
static void hx_client_flush(struct session *s);
static uint64_t hx_wait_left(const struct session *s);
static void hx_arm_park_check(struct session *s, uint64_t left);
static void hx_park(struct session *s);
static void hx_parked_cb(evutil_socket_t fd, short what, void *arg);
static void hx_client_timeoutcb(evutil_socket_t fd, short what, void *arg);
static void hx_up_timeoutcb(evutil_socket_t fd, short what, void *arg);

/*
 * Records OpenSSL read ahead may wait in the SSL of either side, with no
 * epoll event to come (relay.h): read them.  Called after anything that
 * consumed input, once the exchange may have moved on.
 */
static void
hx_kick_reads(struct session *s)
{
	if (s->state == SESSION_ST_CLOSED)
		return;
	if (s->client.bev != NULL)
		relay_kick_read(s->client.bev);
	if (s->ex != NULL && s->ex->uc != NULL && s->ex->uc->bev != NULL)
		relay_kick_read(s->ex->uc->bev);
}

static const struct listener_conf *
hx_listener(const struct session *s)
{
	return &s->gen->conf->listeners[s->li];
}

static struct evbuffer *
client_out(struct session *s)
{
	return bufferevent_get_output(s->client.bev);
}

static struct evbuffer *
client_in(struct session *s)
{
	return bufferevent_get_input(s->client.bev);
}

/* Bytes still to go out to the client (none while parked). */
static size_t
client_out_len(struct session *s)
{
	return s->client.bev != NULL ? evbuffer_get_length(client_out(s)) : 0;
}

static void
timer_add_ms(struct event *ev, uint64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	event_add(ev, &tv);
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
	reply_continue(client_out(s));
	s->ex->sent_continue = true;
	hx_client_flush(s);
}

/* ---- exchange lifetime ----------------------------------------------------- */

/*
 * Exchanges are recycled through a small per-worker cache: a keep-alive
 * request then costs no allocation, and an idle connection holds none.
 */
static struct http_exchange *
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
	memset(ex, 0, offsetof(struct http_exchange, req_hdrs));
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
	ex->rec.req = ++s->nreq;
	return ex;
}

static void
hx_free(struct session *s, struct http_exchange *ex, bool clean_upstream)
{
	struct worker *w = s->w;

	if (ex == NULL)
		return;
	if (ex->uc != NULL)
		upconn_free(ex->uc, clean_upstream);
	ex->uc = NULL;
	event_del(ex->up_ev);
	if (w->nex_cache < WORKER_EX_CACHE) {
		evbuffer_drain(ex->head, evbuffer_get_length(ex->head));
		evbuffer_drain(ex->held, evbuffer_get_length(ex->held));
		w->ex_cache[w->nex_cache++] = ex;
		return;
	}
	evbuffer_free(ex->head);
	evbuffer_free(ex->held);
	event_free(ex->up_ev);
	free(ex);
}

void
session_http_cache_free(struct worker *w)
{
	struct http_exchange *ex;

	while (w->nex_cache > 0) {
		ex = w->ex_cache[--w->nex_cache];
		evbuffer_free(ex->head);
		evbuffer_free(ex->held);
		event_free(ex->up_ev);
		free(ex);
	}
}

/* Finishes the request's audit record and writes it. */
static void
hx_audit(struct session *s, const struct tb_err *err)
{
	struct http_exchange *ex = s->ex;

	if (err != NULL)
		ex->rec.err = *err;
	ex->rec.total_ms = (int64_t)(now_ms() - ex->t_start);
	audit_write(&ex->rec);
	metrics_exchange(s->w->metrics, ex->rc != NULL ? ex->rc->metrics_id :
	    s->gen->unrouted_metrics_id, &ex->rec);
}

bool
session_http_closing(struct session *s, const struct tb_err *err)
{
	struct tb_err ok;

	if (s->ex == NULL)
		return false;
	event_del(s->ex->up_ev);
	if (err == NULL) {
		tb_err_clear(&ok);
		err = &ok;
	}
	/*
	 * A close-delimited answer cut short: its end is our close, and
	 * clients that ignore a missing close_notify (RFC 9112 9.8 says
	 * they should not) would take a FIN for it; a reset they cannot.
	 * A length or chunked answer shows the cut by itself: its FIN
	 * stays, so earlier answers still unread are not destroyed.
	 */
	if (err->code != CR_OK && s->ex->close_delim)
		s->reset_client = true;
	if (s->ex->rec.err.code == CR_OK || err->code != CR_OK)
		hx_audit(s, err);
	else
		hx_audit(s, NULL);
	return true;
}

void
session_http_free(struct session *s)
{
	hx_free(s, s->ex, false);
	s->ex = NULL;
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
	struct http_exchange *ex = s->ex;
	enum log_level lvl;

	if (ex->resp_sent || err->code == CR_CLIENT_CLOSED ||
	    err->code == CR_CLIENT_RESET) {
		/* Part of an answer is out: all we can do is close. */
		session_close(s, err);
		return;
	}
	if (status == 0 && (status = diag_http_status(err->code)) == 0)
		status = 502;
	ex->rec.status = status;
	event_del(ex->up_ev);
	reply_error(client_out(s), status, ex->rec.route, err, false,
	    ex->req.method == HTTP1_M_HEAD);
	ex->resp_sent = true;
	hx_audit(s, err);
	lvl = err->code == CR_BAD_REQUEST || err->code == CR_NO_ROUTE ||
	    err->code == CR_CLIENT_TIMEOUT ? LOG_LVL_INFO : LOG_LVL_WARNING;
	if (log_enabled(lvl) && (lvl != LOG_LVL_WARNING ||
	    session_log_allowed(s, ex->rc)))
		log_at(lvl, "conn=%llu req=%u route=%s client=%s status=%d close=%s phase=%s: %s",
	    (unsigned long long)s->id, ex->rec.req,
	    ex->rec.route != NULL ? ex->rec.route : "-", s->client_addr, status,
	    close_reason_str(err->code), diag_phase_str(err->phase), err->msg);
	s->last_fail = err->code;	/* for the connection's summary line */
	s->last_fail_phase = err->phase;
	/*
	 * Unread request bytes would make our close a reset that eats the
	 * answer: linger unless the head was complete and said "no body" (a
	 * request refused before its body decoder was set up, e.g. 404).
	 */
	s->linger = ex->req.head_len == 0 ||
	    (ex->req.body != HTTP1_BODY_NONE && !ex->req_body.done);
	hx_free(s, ex, false);
	s->ex = NULL;
	s->close_after_flush = true;
	hx_client_flush(s);
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
 * the close (hx_free drops its connection unclean).
 */
static void
hx_fail_bad_body(struct session *s)
{
	struct tb_err err;

	tb_err_set(&err, CR_BAD_REQUEST, PHASE_REQUEST,
	    "invalid chunked request body: %s",
	    http1_err_str(s->ex->req_body.err));
	hx_fail(s, &err);
}

/*
 * The last answer is written.  Close, or, when the client may still be
 * sending a request body we never read, linger as nginx does: half-close
 * (so the client sees the end of the answer), discard what still arrives
 * for up to HX_LINGER_MS, then close.  Closing at once with unread bytes
 * in the socket would make the kernel send a reset, and a reset can
 * destroy the answer before the client reads it.
 */
static void
hx_close_flushed(struct session *s)
{
	if (!s->linger) {
		session_close(s, NULL);
		return;
	}
	s->linger = false;
	s->lingering = true;
	session_shutdown_client(s);
	evbuffer_drain(client_in(s), evbuffer_get_length(client_in(s)));
	relay_enable_read(s->client.bev);
	timer_add_ms(s->idle_ev, HX_LINGER_MS);
}

/*
 * Writes what is queued for the client at once (see relay_ssl_flush()),
 * then does what the write callback would have: finish a close that waited
 * for the flush, or resume an upstream paused for backpressure.
 */
static void
hx_client_flush(struct session *s)
{
	struct http_exchange *ex = s->ex;

	if (s->state == SESSION_ST_CLOSED || s->lingering)
		return;
	if (evbuffer_get_length(client_out(s)) > 0) {
		relay_ssl_flush(s->client.bev);
		if (evbuffer_get_length(client_out(s)) != 0) {
			/* the write callback carries on, unless the client stops reading */
			if (s->close_after_flush && ex == NULL)
				timer_add_ms(s->idle_ev, hx_listener(s)->keepalive_timeout_ms);
			return;
		}
	}
	if (s->close_after_flush && ex == NULL) {
		hx_close_flushed(s);
		return;
	}
	/* the output is empty here: room for the upstream again */
	if (ex != NULL && ex->uc != NULL && ex->uc->bev != NULL)
		(void)relay_resume(ex->uc->bev, s->client.bev, &s->up_paused);
}

/* ---- the end of an exchange --------------------------------------------------- */

/* The exchange left the connection clean; pool_put() judges the socket. */
static bool
hx_upstream_reusable(const struct http_exchange *ex)
{
	return ex->uc != NULL && ex->uc->bev != NULL && !ex->uc->peer_closed &&
	    ex->pool != NULL && ex->req_body.done && ex->resp_body.done &&
	    (ex->resp.flags & HTTP1_F_CLOSE) == 0;
}

/*
 * The answer is complete but the endpoint did not get the whole request
 * body: it answered early (and closed, or we stop sending now), and what
 * the body was for most likely did not happen.  A failed call, whatever
 * the status says; the answer itself went to the client as it came.
 */
static void
hx_audit_body_unread(struct session *s)
{
	struct http_exchange *ex = s->ex;
	struct upconn *uc = ex->uc;	/* set: the answer came from it */
	struct tb_err err;

	tb_err_set(&err, CR_UPSTREAM_BODY_UNREAD, PHASE_REQUEST,
	    "%s answered %d %sbefore it took the whole request body",
	    uc->addr, ex->rec.status, uc->peer_closed || ex->up_stopped ||
	    (ex->resp.flags & HTTP1_F_CLOSE) ? "and closed " : "");
	hx_audit(s, &err);
	s->last_fail = err.code;	/* for the connection's summary line */
	s->last_fail_phase = err.phase;
	if (log_enabled(LOG_LVL_WARNING) && session_log_allowed(s, ex->rc))
		log_warnx("conn=%llu req=%u route=%s client=%s status=%d close=%s: %s",
		    (unsigned long long)s->id, ex->rec.req, ex->rc->name,
		    s->client_addr, ex->rec.status, close_reason_str(err.code),
		    err.msg);
}

static void
hx_exchange_done(struct session *s)
{
	struct http_exchange *ex = s->ex;
	bool client_keep, body_unread = !ex->req_body.done;

	event_del(ex->up_ev);
	if (ex->uc != NULL && ex->uc->bev != NULL && (body_unread ||
	    ex->up_stopped ||
	    evbuffer_get_length(bufferevent_get_output(ex->uc->bev)) > 0))
		hx_audit_body_unread(s);
	else
		hx_audit(s, NULL);
	client_keep = !s->close_after_flush && !body_unread && !s->w->draining;
	if (hx_upstream_reusable(ex)) {
		bufferevent_setcb(ex->uc->bev, NULL, NULL, NULL, NULL);
		pool_put(ex->pool, ex->uc);
		ex->uc = NULL;
	}
	hx_free(s, ex, true);
	s->ex = NULL;
	s->up_paused = false;
	if (!client_keep) {
		s->close_after_flush = true;
		/* The endpoint answered before the whole body came: linger. */
		s->linger = body_unread;
		hx_client_flush(s);
		return;
	}
	/* Keep-alive: wait for the next request, parked once idle a while. */
	s->last_active = now_ms();
	hx_arm_park_check(s, hx_wait_left(s));
	relay_enable_read(s->client.bev);
	hx_client_flush(s);	/* what the client does not take now bounds what comes next */
	if (evbuffer_get_length(client_in(s)) > 0)
		hx_client_progress(s);
}

/* ---- the response ------------------------------------------------------ */

/* Writes the response head the client gets; decides its framing; -1 if it did not fit. */
static int
hx_send_response_head(struct session *s, const char *buf)
{
	struct http_exchange *ex = s->ex;
	enum http1_body kind = ex->resp.body;
	enum http1_body_mode mode = HTTP1_PASS;
	struct rewrite_resp rs;

	if ((ex->req.flags & HTTP1_F_CLOSE) || s->w->draining)
		s->close_after_flush = true;
	if (kind == HTTP1_BODY_CLOSE) {
		/*
		 * An HTTP/1.0 endpoint ends its body by closing.  An HTTP/1.1
		 * client keeps its connection if we re-frame the body as
		 * chunked; a 1.0 client needs the close.
		 */
		if (client_is_11(ex))
			ex->rechunk = true;
		else
			s->close_after_flush = true;
	} else if (kind == HTTP1_BODY_CHUNKED && !client_is_11(ex)) {
		mode = HTTP1_DECHUNK;	/* a 1.0 client cannot read chunked */
		s->close_after_flush = true;
	}
	/* The framing the client reads is ours, whatever the endpoint wrote. */
	memset(&rs, 0, sizeof(rs));
	if (ex->rechunk || (kind == HTTP1_BODY_CHUNKED && mode == HTTP1_PASS))
		rs.framing = HTTP1_BODY_CHUNKED;
	else if (kind == HTTP1_BODY_LENGTH)
		rs.framing = HTTP1_BODY_LENGTH;
	rs.length = ex->resp.content_length;
	rs.keep_length = kind == HTTP1_BODY_NONE &&
	    (ex->req.method == HTTP1_M_HEAD || ex->resp.status == 304);
	rs.close = s->close_after_flush;
	rs.keep_alive = !client_is_11(ex);
	if (rewrite_response_head(client_out(s), buf, &ex->resp, &rs) == -1)
		return -1;
	http1_body_init(&ex->resp_body, kind, ex->resp.content_length, mode);
	ex->close_delim = kind != HTTP1_BODY_NONE && rs.framing == HTTP1_BODY_NONE;
	ex->resp_sent = true;
	ex->rec.status = ex->resp.status;
	return 0;
}

/*
 * Feeds the first contiguous chunk of in to d: no copy to linearise the
 * buffer.  *p is that chunk, for the data span.  Returns what
 * http1_body_feed() returns.
 */
static ssize_t
hx_body_feed(struct http1_body_dec *d, struct evbuffer *in, char **p,
    struct http1_span *data)
{
	size_t len = evbuffer_get_contiguous_space(in);

	*p = (char *)evbuffer_pullup(in, (ssize_t)len);
	return http1_body_feed(d, *p, len, data);
}

/* Moves response body bytes to the client, framing them as decided. */
static int
hx_forward_response_body(struct session *s)
{
	struct http_exchange *ex = s->ex;
	struct evbuffer *in = bufferevent_get_input(ex->uc->bev);
	struct evbuffer *out = client_out(s);
	struct http1_span data;
	struct tb_err err;
	ssize_t n;
	char *p;

	while (!ex->resp_body.done && evbuffer_get_length(in) > 0) {
		n = hx_body_feed(&ex->resp_body, in, &p, &data);
		if (n < 0) {
			tb_err_set(&err, CR_UPSTREAM_BAD_RESPONSE, PHASE_RESPONSE,
			    "%s: invalid response body: %s", ex->uc->addr,
			    http1_err_str(ex->resp_body.err));
			session_close(s, &err);
			return -1;
		}
		if (n == 0)
			break;
		if (ex->resp_body.mode == HTTP1_DECHUNK) {
			evbuffer_add(out, p + data.off, data.len);
			evbuffer_drain(in, (size_t)n);
			ex->rec.bytes_out += data.len;
		} else if (ex->rechunk) {
			evbuffer_add_printf(out, "%zx\r\n", (size_t)n);
			evbuffer_remove_buffer(in, out, (size_t)n);
			evbuffer_add(out, "\r\n", 2);
			ex->rec.bytes_out += (uint64_t)n;
		} else {
			evbuffer_remove_buffer(in, out, (size_t)n);
			ex->rec.bytes_out += (uint64_t)n;
		}
		s->upstream.bytes_read += (uint64_t)n;
	}
	relay_pause_if_full(ex->uc->bev, out, &s->up_paused);
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
	struct http_exchange *ex = s->ex;
	struct evbuffer *in = bufferevent_get_input(ex->uc->bev);
	struct tb_err err;
	size_t len;
	char *p;
	int r;

	while (!ex->resp_head_done && (len = evbuffer_get_length(in)) > 0) {
		p = (char *)evbuffer_pullup(in, -1);
		r = http1_parse_head(&ex->resp, p, len);
		if (r < 0) {
			tb_err_set(&err, CR_UPSTREAM_BAD_RESPONSE, PHASE_RESPONSE,
			    "%s: invalid response head at byte %zu: %s",
			    ex->uc->addr, ex->resp.err_off,
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
				reply_continue(client_out(s));
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
			    "chunked, which the request did not offer", ex->uc->addr);
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
hx_up_readcb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	struct http_exchange *ex = s->ex;

	(void)bev;
	if (s->state == SESSION_ST_CLOSED || ex == NULL || ex->uc == NULL)
		return;
	ex->resp_any = true;
	s->last_active = now_ms();
	timer_add_ms(ex->up_ev, ex->rc->response_timeout_ms);
	if (ex->resp_head_done)
		relay_read_more(ex->uc->bev);	/* bulk bodies: more than libevent's 4 KiB */
	if (!ex->resp_head_done && hx_read_response_head(s) == -1)
		return;
	if (ex->resp_head_done)
		hx_forward_response_body(s);
	hx_client_flush(s);
	hx_kick_reads(s);
}

/*
 * Plain upstreams: write at once, as HAProxy's speculative I/O does,
 * instead of registering for EPOLLOUT and writing on the next loop turn
 * (two epoll_ctl calls and a wake-up per request).  Only what the socket
 * does not take right away waits for the write event.  A write error is
 * left to that event, which reports it through the event callback.
 * TLS upstreams go through relay_ssl_flush(), which does the same with
 * SSL_write().
 */
static void
hx_up_flush(struct session *s)
{
	struct upconn *uc = s->ex->uc;
	struct evbuffer *out;

	if (uc == NULL || uc->bev == NULL)
		return;
	if (uc->cli != NULL) {
		relay_ssl_flush(uc->bev);
		return;
	}
	out = bufferevent_get_output(uc->bev);
	if (evbuffer_get_length(out) > 0) {
		/* A bufferevent freezes the front of its output; its own writer thaws it too. */
		evbuffer_unfreeze(out, 1);
		(void)evbuffer_write(out, bufferevent_getfd(uc->bev));
		evbuffer_freeze(out, 1);
	}
	if (evbuffer_get_length(out) == 0)
		bufferevent_disable(uc->bev, EV_WRITE);
	else
		bufferevent_enable(uc->bev, EV_WRITE);
}

static void
hx_up_writecb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	if (s->state == SESSION_ST_CLOSED || s->ex == NULL || s->ex->uc == NULL)
		return;
	if (s->ex->uc->cli == NULL &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_disable(bev, EV_WRITE);	/* back to writing at once */
	if (relay_resume(s->client.bev, bev, &s->client_paused))
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
	struct http_exchange *ex = s->ex;

	if (ex->resp_any || ex->rec.retries > 0 || !ex->rec.up_reused ||
	    !hx_request_kept(ex) || (!http1_method_idempotent(ex->req.method) &&
	    !upack_none_acked(ex->uc)))
		return false;
	log_info("conn=%llu req=%u route=%s: pooled connection to %s failed "
	    "before any response (%s: %s); retrying once on a new connection",
	    (unsigned long long)s->id, ex->rec.req, ex->rc->name, ex->uc->addr,
	    close_reason_str(why->code), why->msg);
	ex->rec.retries++;
	ex->rec.retry_reason = close_reason_str(why->code);
	if (session_route_metrics(s, ex->rc) != NULL)
		metrics_inc(&session_route_metrics(s, ex->rc)->retries);
	upconn_free(ex->uc, false);
	ex->uc = NULL;
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
	struct http_exchange *ex = s->ex;
	struct evbuffer *out;

	if ((what & BEV_EVENT_WRITING) == 0 || ex->uc->cli != NULL ||
	    ex->up_stopped || ex->resp_body.done)
		return false;
	log_debug("conn=%llu req=%u: a write to %s failed; reading its answer "
	    "before its reset", (unsigned long long)s->id, ex->rec.req,
	    ex->uc->addr);
	out = bufferevent_get_output(ex->uc->bev);
	ex->up_stopped = true;
	evbuffer_drain(out, evbuffer_get_length(out));
	bufferevent_disable(ex->uc->bev, EV_WRITE);
	relay_enable_read(ex->uc->bev);
	return true;
}

static void
hx_up_eventcb(struct bufferevent *bev, short what, void *arg)
{
	int sys_errno = EVUTIL_SOCKET_ERROR();
	struct session *s = arg;
	struct http_exchange *ex = s->ex;
	enum diag_phase phase;
	struct tb_err err;

	if (s->state == SESSION_ST_CLOSED || ex == NULL || ex->uc == NULL)
		return;
	/* Never pooled again, even if the answer completes before the event returns. */
	ex->uc->peer_closed = true;
	if (relay_event_defer(bev, &what, sys_errno) || hx_up_write_failed(s, what))
		return;
	/*
	 * An answer can arrive in the same read as the close, and wait in
	 * the input for a later part of its head: parse what came first.
	 */
	if ((what & BEV_EVENT_EOF) && !ex->resp_head_done &&
	    evbuffer_get_length(bufferevent_get_input(bev)) > 0) {
		ex->resp_any = true;
		if (hx_read_response_head(s) == -1)
			return;
	}
	phase = ex->resp_any ? PHASE_RESPONSE : PHASE_REQUEST;
	if ((what & BEV_EVENT_EOF) && ex->resp_head_done) {
		/* A closed connection never goes back to the pool. */
		ex->resp.flags |= HTTP1_F_CLOSE;
		/* Drain what is still buffered, then see if the body may end here. */
		if (hx_forward_response_body(s) != 0 || s->ex != ex) {
			hx_client_flush(s);
			return;
		}
		if (http1_body_eof(&ex->resp_body) == 0) {
			if (ex->rechunk)
				evbuffer_add(client_out(s), "0\r\n\r\n", 5);
			hx_exchange_done(s);
			hx_client_flush(s);
			return;
		}
		tb_err_set(&err, CR_UPSTREAM_CLOSED, PHASE_RESPONSE,
		    "%s closed the connection after %llu bytes of the response body",
		    ex->uc->addr, (unsigned long long)ex->resp_body.wire);
		session_close(s, &err);
		return;
	}
	if (sys_errno == ECONNRESET || sys_errno == EPIPE)
		tb_err_set(&err, CR_UPSTREAM_RESET, phase,
		    "%s reset the connection %s", ex->uc->addr,
		    ex->resp_any ? "while sending the response" :
		    "before answering the request");
	else
		tb_err_set(&err, CR_UPSTREAM_CLOSED, phase,
		    "%s closed the connection %s", ex->uc->addr,
		    ex->resp_any ? "inside the response head" :
		    "before answering the request");
	if (hx_retry(s, &err))
		return;
	hx_fail(s, &err);
}

static void
hx_up_timeoutcb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct http_exchange *ex = s->ex;
	struct tb_err err;
	uint64_t waited;

	(void)fd;
	(void)what;
	if (s->state == SESSION_ST_CLOSED || ex == NULL)
		return;
	waited = now_ms() - ex->t_sent;
	if (ex->expect && !ex->sent_continue && !ex->resp_any)
		expect_learn(ex->pool, EXPECT_IGNORES);
	if (ex->expect && !ex->sent_continue && !ex->resp_any &&
	    waited < ex->rc->response_timeout_ms) {
		/* The endpoint ignores Expect: let the client send its body anyway. */
		hx_send_continue(s);
		timer_add_ms(ex->up_ev, ex->rc->response_timeout_ms - waited);
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
	    ex->uc != NULL ? ex->uc->addr : ex->rc->name,
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
	struct session *s = arg;
	struct http_exchange *ex = s->ex;
	struct tb_err err;

	if (s->state == SESSION_ST_CLOSED || ex == NULL || ex->uc == NULL ||
	    ex->resp_any)
		return;
	tb_err_set(&err, CR_UPSTREAM_UNACKED, PHASE_REQUEST, "%s acknowledged "
	    "no byte of the request within upstream_reuse_ack_timeout (%llu ms) "
	    "on a connection idle for %llu ms", ex->uc->addr,
	    (unsigned long long)ex->rc->up_reuse_ack_timeout_ms,
	    (unsigned long long)ex->uc->ack.idle_ms);
	pool_learn_blackhole(ex->pool, ex->uc);
	upack_abandon(ex->uc);
	if (hx_retry(s, &err))
		return;
	hx_fail(s, &err);
}

/* ---- sending the request ------------------------------------------------- */

/* Moves request body bytes from the client to the upstream. */
static void
hx_forward_request_body(struct session *s)
{
	struct http_exchange *ex = s->ex;
	struct evbuffer *in = client_in(s), *out;
	struct http1_span data;
	ssize_t n;
	char *p;

	if (ex == NULL || ex->state != HX_EXCHANGE || ex->req_body.done ||
	    ex->uc == NULL || ex->uc->bev == NULL || ex->up_stopped)
		return;	/* stopped: the rest waits for the answer, then the linger */
	out = bufferevent_get_output(ex->uc->bev);
	while (!ex->req_body.done && evbuffer_get_length(in) > 0) {
		n = hx_body_feed(&ex->req_body, in, &p, &data);
		if (n < 0) {
			hx_fail_bad_body(s);
			return;
		}
		if (n == 0)
			break;
		if (ex->expect && !ex->sent_continue)
			ex->body_unasked = true;
		evbuffer_remove_buffer(in, out, (size_t)n);
		ex->rec.bytes_in += (uint64_t)n;
		s->client.bytes_read += (uint64_t)n;
		/* A long upload is activity: response_timeout counts from the last byte. */
		if (!ex->expect || ex->sent_continue || ex->resp_any)
			timer_add_ms(ex->up_ev, ex->rc->response_timeout_ms);
	}
	hx_up_flush(s);
	relay_pause_if_full(s->client.bev, out, &s->client_paused);
	/*
	 * Pipelined requests wait in the input until this exchange ends (the
	 * read watermark bounds them); reading stays on, so an EOF or reset
	 * from the client is still seen during the exchange.
	 */
	hx_kick_reads(s);	/* draining may have resumed a full input */
}

static void
hx_send_request(struct session *s)
{
	struct http_exchange *ex = s->ex;
	struct bufferevent *bev = ex->uc->bev;
	struct evbuffer *out = bufferevent_get_output(bev);
	size_t hlen = evbuffer_get_length(ex->head);
	size_t blen = evbuffer_get_length(ex->held);

	bufferevent_setcb(bev, hx_up_readcb, hx_up_writecb, hx_up_eventcb, s);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	http1_msg_init(&ex->resp, HTTP1_RESPONSE, ex->req.method, ex->resp_hdrs,
	    HX_MAX_HEADERS, HX_MAX_HEAD);
	/* Copies: the head and a held body stay for a retry. */
	evbuffer_add(out, evbuffer_pullup(ex->head, -1), hlen);
	if (ex->dechunk) {
		evbuffer_add_printf(out, "Content-Length: %zu\r\n\r\n", blen);
		evbuffer_add(out, evbuffer_pullup(ex->held, -1), blen);
	} else
		evbuffer_add(out, "\r\n", 2);
	ex->uc->requests++;
	ex->state = HX_EXCHANGE;
	ex->t_sent = now_ms();
	if (ex->rec.up_reused)
		upack_watch(ex->uc, ex->rc->up_reuse_ack_timeout_ms, hx_up_unacked, s);
	timer_add_ms(ex->up_ev, ex->expect && !ex->sent_continue ?
	    EXPECT_WAIT_MS : ex->rc->response_timeout_ms);
	hx_forward_request_body(s);
	if (s->ex == ex)
		hx_up_flush(s);
}

static void
hx_upstream_ready(struct session *s, bool reused)
{
	struct http_exchange *ex = s->ex;
	struct upconn *uc = ex->uc;

	audit_set_upstream(&ex->rec, uc->addr);
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
	struct session *s = arg;
	struct http_exchange *ex = s->ex;

	if (s->state == SESSION_ST_CLOSED || ex == NULL || ex->uc != uc)
		return;
	if (err != NULL) {
		audit_set_upstream(&ex->rec, uc->addr);
		ex->rec.connect_ms = uc->connect_ms;
		ex->rec.handshake_ms = uc->handshake_ms;
		hx_fail(s, err);
		return;
	}
	hx_upstream_ready(s, false);
}

/* Takes a pooled connection, or opens one (always a new one for a retry). */
static void
hx_connect(struct session *s, bool fresh)
{
	struct http_exchange *ex = s->ex;
	struct tb_err err;

	ex->state = HX_CONNECTING;
	if (!fresh && ex->pool != NULL &&
	    (ex->uc = pool_take(ex->pool, !hx_may_replay(ex))) != NULL) {
		hx_upstream_ready(s, true);
		return;
	}
	ex->uc = upstream_connect(s->w, ex->rc, s->gen->clients[ex->rc->index],
	    ex->pool, hx_upstream_cb, s);
	if (ex->uc == NULL) {
		tb_err_set(&err, CR_INTERNAL, PHASE_CONNECT, "out of memory");
		hx_fail(s, &err);
	}
}

/* ---- the request head ----------------------------------------------------- */

/*
 * Picks host and path for routing, from Host, an absolute-form target or
 * SNI (only when there is no Host at all).  host (hcap > HTTP1_HOST_MAX)
 * is always a string afterwards; false if the Host is empty or a Host or
 * authority the parser accepted did not normalise (which the shared rule,
 * route.h, says cannot happen): the request is then refused rather than
 * routed by SNI while the endpoint reads another name.
 */
static bool
hx_route_keys(struct session *s, const char *buf, char *host, size_t hcap,
    const char **path, size_t *plen)
{
	struct http_exchange *ex = s->ex;
	const struct http1_msg *m = &ex->req;
	const char *t = buf + m->target.off;
	size_t tlen = m->target.len, skip;
	bool ok = true;

	host[0] = '\0';
	*path = t;
	*plen = tlen;
	if (m->form == HTTP1_TF_ABSOLUTE) {
		/* scheme://authority[/path][?query]: the authority names the host. */
		ok = route_host_normalize(buf + m->authority.off,
		    m->authority.len, host, hcap);
		skip = m->authority.off + m->authority.len - m->target.off;
		*path = t + skip;
		*plen = tlen - skip;
	} else if (m->flags & HTTP1_F_HOST) {
		/*
		 * An empty Host says the target URI has no authority (RFC 9112
		 * 3.2), which an https URI must not lack (RFC 9110 4.2.2):
		 * refused, not routed by SNI while the endpoint reads "".
		 */
		ok = m->host.len > 0 && route_host_normalize(buf + m->host.off,
		    m->host.len, host, hcap);
	}
	if (ok && host[0] == '\0' && s->sni != NULL)
		snprintf(host, hcap, "%s", s->sni);
	return ok;
}

/* The head the endpoint gets, into ex->head, without its final CRLF; -1 if it did not fit. */
static int
hx_build_request_head(struct session *s, const char *buf, const char *path,
    size_t plen)
{
	struct http_exchange *ex = s->ex;
	const struct http1_msg *m = &ex->req;
	const struct route_conf *rc = ex->rc;
	struct rewrite_req rq;

	rq.path = path;
	rq.plen = plen;
	if (rc->up_host != NULL) {
		rq.host = rc->up_host;
		rq.host_len = strlen(rc->up_host);
	} else if (m->form == HTTP1_TF_ABSOLUTE) {
		rq.host = buf + m->authority.off;
		rq.host_len = m->authority.len;
	} else if (m->flags & HTTP1_F_HOST) {
		rq.host = buf + m->host.off;
		rq.host_len = m->host.len;
	} else {
		rq.host = rc->upstream.host;
		rq.host_len = strlen(rc->upstream.host);
	}
	/* A held body gets its Content-Length once it is in (hx_send_request). */
	rq.framing = ex->dechunk ? HTTP1_BODY_NONE : m->body;
	rq.length = m->content_length;
	rq.drop_expect = ex->dechunk;
	rq.drop_field = rc->secret_header;	/* the secret is for us, never the endpoint */
	rq.forwarded = rc->forwarded;
	rq.client_addr = s->client_addr;
	return rewrite_request_head(ex->head, buf, m, &rq);
}

/* Reads a chunked body to hold it, for endpoints that may not take chunked. */
static void
hx_hold_body(struct session *s)
{
	struct http_exchange *ex = s->ex;
	struct evbuffer *in = client_in(s);
	struct http1_span data;
	struct tb_err err;
	ssize_t n;
	char *p;

	while (!ex->req_body.done && evbuffer_get_length(in) > 0) {
		n = hx_body_feed(&ex->req_body, in, &p, &data);
		if (n < 0) {
			hx_fail_bad_body(s);
			return;
		}
		if (n == 0)
			break;
		if (evbuffer_get_length(ex->held) + data.len > ex->rc->max_buffered_body) {
			tb_err_set(&err, CR_BAD_REQUEST, PHASE_REQUEST,
			    "chunked request body above max_buffered_body (%llu bytes)",
			    (unsigned long long)ex->rc->max_buffered_body);
			err.hint = "the broker holds a chunked request body up to "
			    "max_buffered_body to send it with a Content-Length: raise "
			    "max_buffered_body, or set upstream_chunked = yes if the "
			    "endpoint reads chunked request bodies";
			hx_fail_status(s, &err, 413);
			return;
		}
		evbuffer_add(ex->held, p + data.off, data.len);
		evbuffer_drain(in, (size_t)n);
		ex->rec.bytes_in += (uint64_t)n;
		s->client.bytes_read += (uint64_t)n;
	}
	if (ex->req_body.done) {
		event_del(s->idle_ev);
		hx_connect(s, false);
	} else	/* a held body that stalls is a slow client too */
		timer_add_ms(s->idle_ev, hx_listener(s)->request_timeout_ms);
}

/* A complete request head is at the start of the client's input. */
static void
hx_request_head(struct session *s, size_t head_len)
{
	struct http_exchange *ex = s->ex;
	const struct http1_msg *m = &ex->req;
	const char *buf = (const char *)evbuffer_pullup(client_in(s), -1);
	struct tb_err err;
	char host[HTTP1_HOST_MAX + 1];
	const char *path;
	size_t plen;
	bool routable;
	int status;

	event_del(s->idle_ev);
	ex->rec.method = http1_method_str(m->method);
	routable = hx_route_keys(s, buf, host, sizeof(host), &path, &plen);
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
		    hx_listener(s)->name, host, ex->path);
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
	evbuffer_drain(client_in(s), head_len);
	s->client.bytes_read += head_len;
	ex->rec.bytes_in += head_len;
	if (ex->dechunk) {
		http1_body_init(&ex->req_body, HTTP1_BODY_CHUNKED, 0, HTTP1_DECHUNK);
		if (ex->expect && client_is_11(ex))
			hx_send_continue(s);	/* we read the body ourselves */
		ex->state = HX_HOLD;
		hx_hold_body(s);
		return;
	}
	http1_body_init(&ex->req_body, m->body, m->content_length, HTTP1_PASS);
	/* An endpoint known to ignore Expect must not cost the client its wait. */
	if (ex->expect && client_is_11(ex) && expect_local(ex->pool))
		hx_send_continue(s);
	hx_connect(s, false);
}

/* ---- the client side ----------------------------------------------------- */

/*
 * After a reload, a kept-alive connection's next request uses the new
 * generation (routes, upstream settings, pools), as a new connection
 * would; only requests in flight finish on the old one.  The listener is
 * found again by name; if it was removed, the connection stays on the old
 * generation until it closes.
 */
static void
hx_follow_reload(struct session *s)
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
hx_client_progress(struct session *s)
{
	struct evbuffer *in = client_in(s);
	struct tb_err err;
	size_t len;
	int r;

	if (s->state == SESSION_ST_CLOSED || s->close_after_flush)
		return;
	if (s->ex == NULL) {
		/*
		 * A client that pipelines requests without reading the answers
		 * would make us queue answers without bound: the next request
		 * waits until the output drains (the write callback resumes).
		 */
		if (evbuffer_get_length(in) == 0 || client_out_len(s) >= RELAY_HIGH)
			return;
		hx_follow_reload(s);
		if ((s->ex = hx_new(s)) == NULL) {
			tb_err_set(&err, CR_INTERNAL, PHASE_REQUEST, "out of memory");
			session_close(s, &err);
			return;
		}
		/* A new request began: its head must arrive in time. */
		timer_add_ms(s->idle_ev, hx_listener(s)->request_timeout_ms);
	}
	switch (s->ex->state) {
	case HX_HEAD:
		len = evbuffer_get_length(in);
		r = http1_parse_head(&s->ex->req, (const char *)evbuffer_pullup(in, -1),
		    len);
		if (r < 0) {
			tb_err_set(&err, CR_BAD_REQUEST, PHASE_REQUEST,
			    "invalid request head at byte %zu: %s",
			    s->ex->req.err_off, http1_err_str(s->ex->req.err));
			hx_fail_status(s, &err, http1_err_status(s->ex->req.err));
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

static void
hx_client_readcb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if (s->state == SESSION_ST_CLOSED)
		return;
	if (s->lingering)
		evbuffer_drain(client_in(s), evbuffer_get_length(client_in(s)));
	else {
		s->last_active = now_ms();
		hx_client_progress(s);
	}
	hx_kick_reads(s);
}

static void
hx_client_writecb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	struct http_exchange *ex = s->ex;

	(void)bev;
	if (s->state == SESSION_ST_CLOSED)
		return;
	if (s->close_after_flush && !s->lingering &&
	    evbuffer_get_length(client_out(s)) == 0 && ex == NULL) {
		hx_close_flushed(s);
		return;
	}
	if (ex != NULL && ex->uc != NULL && ex->uc->bev != NULL &&
	    relay_resume(ex->uc->bev, s->client.bev, &s->up_paused)) {
		/* Bytes may already wait in the upstream input. */
		if (ex->resp_head_done)
			hx_forward_response_body(s);
	}
	/* Room again for the answers to pipelined requests. */
	if (ex == NULL && evbuffer_get_length(client_in(s)) > 0) {
		hx_client_progress(s);
		hx_kick_reads(s);
	}
}

/*
 * What a half-closed client is still owed: the last answer on its way out
 * (between requests), or the answer to a request it sent completely.
 */
static bool
hx_client_owed(struct session *s)
{
	struct http_exchange *ex = s->ex;

	if (ex == NULL)
		return client_out_len(s) > 0;
	return (ex->state == HX_CONNECTING || ex->state == HX_EXCHANGE) &&
	    ex->req_body.done;
}

static void
hx_client_eventcb(struct bufferevent *bev, short what, void *arg)
{
	int sys_errno = EVUTIL_SOCKET_ERROR();
	struct session *s = arg;
	struct http_exchange *ex = s->ex;
	struct tb_err err;

	if (s->state == SESSION_ST_CLOSED)
		return;
	if (relay_event_defer(bev, &what, sys_errno)) {
		/*
		 * The end comes back on the next loop turn through this
		 * bufferevent: parking now would free it, and the socket,
		 * its close_notify already read, might never wake the park.
		 */
		s->end_pending = true;
		return;
	}
	if (s->lingering) {
		session_close(s, NULL);	/* the client is done too */
		return;
	}
	/*
	 * A client that only half-closed still reads: deliver what it is
	 * owed, then close.  One that is gone (a failed write, a reset) gets
	 * nothing more: kicking a write towards it would fail again at once,
	 * for ever.
	 */
	if (relay_peer_half_closed(bev, what) && hx_client_owed(s)) {
		s->close_after_flush = true;
		relay_rekick_write(s->client.bev);
		if (ex == NULL)
			timer_add_ms(s->idle_ev, hx_listener(s)->keepalive_timeout_ms);
		return;
	}
	/* Between requests, with nothing owed: the client may go whenever it likes. */
	if (ex == NULL && s->nreq > 0 && client_out_len(s) == 0) {
		session_close(s, NULL);
		return;
	}
	/* nreq > 0 here without an exchange: an answer was still owed */
	session_client_failure(s, what, sys_errno, (ex != NULL ? ex->resp_sent :
	    s->nreq > 0) ? PHASE_RESPONSE : PHASE_REQUEST, &err);
	session_close(s, &err);
}

/* ---- parking an idle connection --------------------------------------------- */

/*
 * A client connection with nothing in flight is parked: its bufferevent
 * (about 1 KiB with its two evbuffers) is freed and the session's timer
 * event waits for the socket to become readable instead, so an idle
 * connection holds little more than its TLS state.  A new connection
 * starts parked; after a response it parks once keep-alive idle for
 * HX_PARK_MS, so a busy keep-alive connection does not rebuild its
 * bufferevent for every request.  Bytes left in the buffers (a pipelined
 * request, an answer still going out, a partial TLS record) keep it
 * unparked.
 */

/* Time left (ms) of the wait for the next request, 0 when it is over. */
static uint64_t
hx_wait_left(const struct session *s)
{
	const struct listener_conf *lc = hx_listener(s);
	uint64_t now = now_ms(), limit = s->nreq == 0 ?
	    lc->request_timeout_ms : lc->keepalive_timeout_ms;	/* never 0 (conf.c) */

	return now - s->last_active < limit ? limit - (now - s->last_active) : 0;
}

/* The client timer fires when the wait ends or, sooner, to try parking. */
static void
hx_arm_park_check(struct session *s, uint64_t left)
{
	timer_add_ms(s->idle_ev, left < HX_PARK_MS ? left : HX_PARK_MS);
}

static bool
hx_parkable(struct session *s)
{
	return s->client.bev == NULL ||
	    (!s->end_pending && evbuffer_get_length(client_in(s)) == 0 &&
	    evbuffer_get_length(client_out(s)) == 0 &&
	    (s->ssl == NULL || !SSL_has_pending(s->ssl)));
}

static void
hx_set_parked(struct session *s, bool parked)
{
	struct metrics_listener *ml = session_listener_metrics(s);

	if (s->parked == parked)
		return;
	s->parked = parked;
	if (ml != NULL)
		metrics_add(&ml->parked, parked ? 1 : -1);
}

/* Waits for the next request parked when possible, else with the bufferevent. */
static void
hx_park(struct session *s)
{
	uint64_t left = hx_wait_left(s);

	event_del(s->idle_ev);
	if (!hx_parkable(s)) {
		event_assign(s->idle_ev, s->w->base, -1, 0, hx_client_timeoutcb, s);
		hx_arm_park_check(s, left);
		return;
	}
	if (s->client.bev != NULL) {
		bufferevent_free(s->client.bev);
		s->client.bev = NULL;
	}
	hx_set_parked(s, true);
	event_assign(s->idle_ev, s->w->base, s->fd, EV_READ, hx_parked_cb, s);
	timer_add_ms(s->idle_ev, left);
}

/* The parked socket is readable (a request, an EOF, a reset) or time is up. */
static void
hx_parked_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	event_assign(s->idle_ev, s->w->base, -1, 0, hx_client_timeoutcb, s);
	hx_set_parked(s, false);
	if ((what & EV_READ) == 0) {
		hx_client_timeoutcb(-1, EV_TIMEOUT, s);
		return;
	}
	if (session_client_bev(s) == -1)
		return;
	relay_read_ahead(s->client.bev);
	bufferevent_setcb(s->client.bev, hx_client_readcb, hx_client_writecb,
	    hx_client_eventcb, s);
	bufferevent_enable(s->client.bev, EV_READ | EV_WRITE);
	/* The bufferevent reads on the next turn; park again if nothing comes. */
	hx_arm_park_check(s, hx_wait_left(s));
}

/* The client timer: a request head too slow (408), or keep-alive idle. */
static void
hx_client_timeoutcb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct tb_err err;

	(void)fd;
	(void)what;
	if (s->state == SESSION_ST_CLOSED)
		return;
	if (s->lingering) {
		session_close(s, NULL);
		return;
	}
	if (s->ex != NULL && (s->ex->state == HX_HEAD || s->ex->state == HX_HOLD)) {
		tb_err_set(&err, CR_CLIENT_TIMEOUT, PHASE_REQUEST,
		    s->ex->state == HX_HEAD ?
		    "no complete request head within request_timeout" :
		    "the chunked request body stalled for request_timeout");
		hx_fail_status(s, &err, 408);
		return;
	}
	if (s->ex == NULL && (s->close_after_flush ||
	    (hx_wait_left(s) == 0 && client_out_len(s) > 0))) {
		tb_err_set(&err, CR_CLIENT_TIMEOUT, PHASE_RESPONSE,
		    "the client did not take the last answer within keepalive_timeout");
		session_close(s, &err);
		return;
	}
	if (s->ex == NULL && hx_wait_left(s) > 0) {
		hx_park(s);
		return;
	}
	if (s->ex == NULL) {
		if (s->nreq == 0) {
			tb_err_set(&err, CR_CLIENT_TIMEOUT, PHASE_REQUEST,
			    "no request within request_timeout");
			session_close(s, &err);
		} else
			session_close(s, NULL);	/* keep-alive expired: routine */
	}
}

bool
session_idle(const struct session *s)
{
	return s->http && s->state == SESSION_ST_HTTP && s->ex == NULL &&
	    !s->close_after_flush && (s->client.bev == NULL ||
	    evbuffer_get_length(bufferevent_get_output(s->client.bev)) == 0);
}

void
session_http_start(struct session *s)
{
	s->http = true;
	session_set_state(s, SESSION_ST_HTTP);
	s->last_active = now_ms();
	hx_park(s);	/* the bufferevent comes with the first request byte */
}

void
session_http_test_timers(struct session *s)
{
	event_active(s->idle_ev, EV_TIMEOUT, 1);
	if (s->ex != NULL)
		event_active(s->ex->up_ev, EV_TIMEOUT, 1);
}
