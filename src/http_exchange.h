/* SPDX-License-Identifier: MIT */
/*
 * http_exchange: one exchange of an http session, from the request head to
 * the end of the answer.  Per request it reads and checks the head
 * (http1.c), routes by Host (SNI when absent) and path, has the head
 * rewritten (rewrite.c), takes an upstream connection from the route's
 * pool or opens one (s->uc; a capped route's queue first, s->wait), streams the body both ways with bounded
 * buffers, and retries once on a fresh connection when a pooled one dies
 * before any response byte, or acknowledges no byte of the request in time
 * (upstream_ack.h), and replaying cannot duplicate the request.
 * Chunked request bodies are held and sent with Content-Length unless the
 * route says upstream_chunked.  Failures of the second hop become real
 * HTTP answers (502/504 with X-Broker-Error) while an answer is still
 * possible.  Every exchange ends in one function, hx_end(): it writes the
 * audit record and metrics once, pools or frees the upstream connection
 * and clears the exchange, then hands the client connection back to
 * http_conn.c (keep-alive, or close after the answer).  The client
 * connection between exchanges is not its business.
 */
#ifndef TLSBROKER_HTTP_EXCHANGE_H
#define TLSBROKER_HTTP_EXCHANGE_H

#include <stdbool.h>

#include "diag.h"

struct http_exchange;
struct session;
struct worker;

/*
 * A new exchange for the next request on s (counted in s->http->nreq),
 * from the worker's cache when it has one; NULL when out of memory.
 */
struct http_exchange *hx_new(struct session *s);

/* The client sent bytes (or its input is to be looked at again): go on. */
void hx_client_input(struct session *s);
/* The client's output has room again: resume the upstream, pass on what waits. */
void hx_client_drained(struct session *s);
/* The client timer ran out while the request was coming in: 408. */
void hx_request_timeout(struct session *s);

/* Still reading the request (head, or a held body): the client timer runs. */
bool hx_reading_request(const struct http_exchange *ex);
/* Still reading the request head: its end stops the client timer. */
bool hx_reading_head(const struct http_exchange *ex);
/* The request is complete and its answer not yet: a half-closed client waits for it. */
bool hx_answer_owed(const struct http_exchange *ex);
/* A byte of the answer went to the client. */
bool hx_answer_started(const struct http_exchange *ex);

/*
 * From session_close() through the mode: ends the exchange in progress
 * (its audit record says err, NULL = ok); true if there was one.
 */
bool hx_closing(struct session *s, const struct tb_err *err);

/* Tests only: the exchange's timer fires now. */
void hx_test_timers(struct session *s);
/* Frees the worker's cache of recycled exchanges (at its exit). */
void hx_cache_free(struct worker *w);

#endif
