/* SPDX-License-Identifier: MIT */
/*
 * session: one client connection and everything it owns: the inbound TLS
 * handshake, the route choice, the upstream connection, the relay in tcp
 * mode, its timers and its audit record.  A small explicit state machine;
 * session_close() is the only exit after the session is published: it
 * writes the audit record and the one summary log line, and schedules the
 * free from a fresh loop turn, so no callback ever runs on freed memory.
 */
#ifndef TLSBROKER_SESSION_H
#define TLSBROKER_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "audit.h"
#include "diag.h"
#include "tlsio.h"

struct bufferevent;
struct event;
struct http_exchange;
struct gen;
struct pool;
struct metrics_route;
struct metrics_listener;
struct listener_conf;
struct route_conf;
struct session;
struct upconn;
struct uplimit_wait;
struct worker;

#define SESSION_MAGIC 0x53455331u	/* "SES1" */

enum session_state {
	SESSION_ST_INIT = 0,	/* accepted, nothing started (or waiting for a PROXY header) */
	SESSION_ST_HANDSHAKE,	/* inbound TLS handshake running */
	SESSION_ST_CONNECTING,	/* upstream resolve / connect / handshake */
	SESSION_ST_RELAY,	/* tcp mode: bytes both ways */
	SESSION_ST_HTTP,	/* http mode: requests routed one by one */
	SESSION_ST_CLOSED	/* closed; freed on the next loop turn */
};

/* One direction's endpoint: the client or the upstream. */
struct side {
	struct session *sess;		/* back-pointer */
	struct side *peer;		/* the other side */
	struct bufferevent *bev;	/* client: owned; upstream: the upconn's */
	bool eof;			/* this side sent us EOF */
	bool shut_wr;			/* we shut down writing towards this side */
	bool paused;			/* reading paused: the peer's output is full */
	uint64_t bytes_read;		/* bytes read from this side */
};

struct session {
	unsigned magic;
	TAILQ_ENTRY(session) entry;	/* worker's session list */
	struct worker *w;		/* not owned */
	struct gen *gen;		/* owned reference */
	unsigned li;			/* listener index in gen->conf */
	const struct route_conf *rc;	/* NULL until routed */
	enum session_state state;
	uint64_t id;
	int fd;				/* owned: the client socket */
	SSL *ssl;			/* owned: the client TLS state (client.bev is a view) */
	struct tls_info tinfo;		/* inbound TLS facts */
	struct tls_hs hs;		/* inbound handshake */
	struct side client;
	struct side upstream;
	struct upconn *uc;		/* owned */
	struct uplimit_wait *wait;	/* tcp: queued for a slot of upstream_max_connections */
	int64_t queue_ms;		/* tcp: time it waited for that slot, -1 = did not */
	/* owned: the one timer (idle, request, keep-alive, linger; in http mode
	 * also the parked wait for the socket), then the deferred free */
	struct event *idle_ev;
	uint64_t t_start;		/* monotonic ms at accept */
	uint64_t last_active;		/* monotonic ms of the last byte either way */
	/* connection facts, copied into each audit record (session_audit_rec()) */
	uint64_t ts_ms;			/* wall-clock ms at accept */
	char client_addr[64];		/* "ip:port" */
	const char *tls;		/* inbound protocol, e.g. "TLSv1.3" (static) */
	const char *cipher;		/* inbound cipher (static) */
	const char *offered;		/* the client's highest version when refused (static) */
	bool up_reused;			/* tcp: the upstream came warmed from the pool */
	/* http: the last failed request's reason, for the connection's summary line */
	enum close_reason last_fail;
	enum diag_phase last_fail_phase;
	bool clean;			/* closing with close_notify */
	bool reset_client;		/* closing the client with a reset, not a FIN */
	char *sni;			/* owned: normalized SNI, NULL if none */
	/* http mode (session_http.c) */
	bool http;			/* the connection speaks HTTP, routed per request */
	struct http_exchange *ex;	/* owned: the request in progress, NULL between */
	unsigned nreq;			/* requests started on this connection */
	bool close_after_flush;		/* close once the answer is written */
	bool linger;			/* after that flush, linger: the client may still be sending */
	bool lingering;			/* half-closed, discarding what the client still sends */
	bool parked;			/* idle, client.bev freed: idle_ev waits for the socket */
	bool end_pending;		/* the client's end event was deferred (relay_event_defer) */
	bool client_paused;		/* client reading paused: upstream output full */
	bool up_paused;			/* upstream reading paused: client output full */
};

/*
 * Takes a freshly accepted client socket of listener li.  Applies the
 * allow list (before any TLS work), then starts the inbound handshake.
 * Consumes fd in every case.
 */
void session_accept(struct worker *w, unsigned li, int fd,
    const struct sockaddr *sa, socklen_t salen);

/*
 * Starts the inbound handshake, within what is left of the listener's
 * handshake_timeout since the accept (a PROXY header may have taken some,
 * listener.c).  Closes s on failure.
 */
void session_start_tls(struct session *s);

/*
 * Tests only: an http session on the connected plain (no TLS) socket fd,
 * as if its handshake had just finished; consumes fd.  Returns the
 * session (valid until it closes) or NULL.
 */
struct session *session_accept_plain(struct worker *w, unsigned li, int fd,
    const struct sockaddr *sa);
/* Tests only: runs the session's timers now, as if their time had come. */
void session_http_test_timers(struct session *s);

void session_set_state(struct session *s, enum session_state st);

/* Casts a callback argument back, checking it is a live session (fatal if not). */
struct session *session_from_arg(void *arg);

/* Sends close_notify and a TCP half-close to the client. */
void session_shutdown_client(struct session *s);

/* Creates the client bufferevent once the inbound handshake is done; 0 / -1. */
int session_client_bev(struct session *s);
/* The worker's pool for the session's route, NULL if the generation changed. */
struct pool *session_pool_for(struct session *s, const struct route_conf *rc);

/* False when rc's failure lines on this worker are over their rate limit. */
bool session_log_allowed(struct session *s, const struct route_conf *rc);

/* This worker's counters for rc (NULL: the "-" bucket of unrouted exchanges). */
struct metrics_route *session_route_metrics(struct session *s,
    const struct route_conf *rc);
/* This worker's counters for the session's listener, NULL if none. */
struct metrics_listener *session_listener_metrics(struct session *s);

/* http mode (session_http.c) */
void session_http_start(struct session *s);
/* Writes the audit record of the request in progress, if any; true if written. */
bool session_http_closing(struct session *s, const struct tb_err *err);
void session_http_free(struct session *s);
/* Frees the worker's cache of recycled exchanges (at exit). */
void session_http_cache_free(struct worker *w);

/* True if s is an http connection between requests (nothing in flight). */
bool session_idle(const struct session *s);

/* Fills rec (after audit_rec_init) with the connection's facts. */
void session_audit_rec(const struct session *s, struct audit_rec *rec);

/*
 * Classifies an event (what) on the client bufferevent: a TLS error from
 * the client, a reset, or a close; sys_errno as read at the start of the
 * event callback.
 */
void session_client_failure(struct session *s, short what, int sys_errno,
    enum diag_phase phase, struct tb_err *err);

/* Ends s with err (NULL = ok); safe to call more than once. */
void session_close(struct session *s, const struct tb_err *err);

const char *session_state_str(enum session_state st);

#endif
