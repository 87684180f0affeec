/* SPDX-License-Identifier: MIT */
/*
 * http_conn: the http mode of a session (http_mode): the client connection
 * between and around exchanges.  It starts a connection parked (no
 * sockio until the first byte), begins an exchange per request
 * (http_exchange.c) when the input holds one and the output has room,
 * keeps the connection alive after a complete answer and parks it once
 * idle for a while, closes it after the last answer is written (lingering
 * first when the client may still be sending), follows a reload between
 * requests, and owns the session timer's http roles: request_timeout,
 * keepalive_timeout, the linger, the park check and the parked wait.  Its
 * state is struct http_conn (s->http), with an explicit state enum.  What
 * happens inside one exchange is http_exchange.c's.
 */
#ifndef TLSBROKER_HTTP_CONN_H
#define TLSBROKER_HTTP_CONN_H

#include <stdbool.h>

#include "diag.h"

struct evbuffer;
struct http_exchange;
struct listener_conf;
struct session;
struct session_mode;

#define HTTP_CONN_MAGIC 0x48434f31u	/* "HCO1" */

/* What the client connection does between and around exchanges. */
enum http_conn_state {
	HC_ST_OPEN = 0,			/* requests may come; an exchange may be in flight */
	HC_ST_PARKED,			/* idle, client sockio freed: the timer waits for the socket */
	HC_ST_CLOSE_AFTER_FLUSH,	/* no more requests: linger once the answer is written */
	HC_ST_LINGERING			/* half-closed, discarding what the client still sends */
};

/* The http mode's state of a session (s->http), owned by the mode. */
struct http_conn {
	unsigned magic;
	enum http_conn_state state;
	struct http_exchange *ex;	/* owned: the request in progress, NULL between */
	unsigned nreq;			/* requests started on this connection */
	/* the last failed request's reason, for the connection's summary line */
	enum close_reason last_fail;
	enum diag_phase last_fail_phase;
};

extern const struct session_mode http_mode;

/* ---- for http_exchange.c --------------------------------------------------- */

/*
 * The session of an http-mode callback's arg, its magic and its http
 * state's checked (fatal if either is not live); NULL once it is closed.
 */
struct session *hc_live(void *arg);

/* The client's buffers (not while parked: an exchange never runs parked). */
struct evbuffer *hc_client_in(struct session *s);
struct evbuffer *hc_client_out(struct session *s);
const struct listener_conf *hc_listener(const struct session *s);

/* No more requests on this connection: the answer being written is the last. */
bool hc_closing(const struct http_conn *hc);
/* Closes (lingering) once the answer is out. */
void hc_close_after_flush(struct session *s);

/*
 * Writes what is queued for the client at once (see sockio_flush()),
 * then does what the write callback would have: finish a close that waited
 * for the flush, or resume an upstream paused for backpressure.
 */
void hc_client_flush(struct session *s);
/* Arms (on) or stops the client timer for request_timeout. */
void hc_request_timer(struct session *s, bool on);
/* The exchange ended (hx_end()): keep-alive, or close (lingering) once flushed. */
void hc_exchange_ended(struct session *s, bool keep);

#endif
