/* SPDX-License-Identifier: MIT */
/*
 * session: one client connection, from the accept to its single close.
 * It owns the accept (allow list, allocation, publication), the inbound
 * TLS handshake, the choice of a mode (tcp or http, struct session_mode),
 * the two sides (client and upstream, with their backpressure), the one
 * upstream connection of either mode, the session's timer and its single
 * exit: session_close() writes the connection's audit record (unless the
 * mode audits per request) and the one summary log line, stops both
 * sides, and schedules the free from a fresh loop turn, so no callback
 * ever runs on freed memory.  What a mode does with the connection lives
 * in the mode's file (tcp_relay.c, http_conn.c); this file names no
 * function of either, only their mode tables.
 */
#ifndef TLSBROKER_SESSION_H
#define TLSBROKER_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/util.h>
#include <openssl/ssl.h>

#include "audit.h"
#include "diag.h"
#include "tlsio.h"

struct sockio;
struct event;
struct http_conn;
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
	SESSION_ST_CONNECTING,	/* tcp mode: upstream resolve / connect / handshake */
	SESSION_ST_RELAY,	/* tcp mode: bytes both ways */
	SESSION_ST_HTTP,	/* http mode: requests routed one by one */
	SESSION_ST_CLOSED	/* closed; freed on the next loop turn */
};

/*
 * What the session's one timer event is doing now.  Each user assigns it
 * through session_timer_set(), and each callback checks its role, so a
 * timer reused for another purpose can never run the old callback.
 */
enum session_timer {
	SESSION_TIMER_NONE = 0,		/* not assigned yet */
	SESSION_TIMER_PROXY,		/* waiting for a PROXY header (listener.c) */
	SESSION_TIMER_RELAY_IDLE,	/* tcp mode: idle_timeout */
	SESSION_TIMER_HTTP_CLIENT,	/* http mode: request, keep-alive, linger, park check */
	SESSION_TIMER_HTTP_PARKED,	/* http mode: the parked socket's readability, or time up */
	SESSION_TIMER_FREE		/* the deferred free after session_close() */
};

/* One direction's endpoint: the client or the upstream. */
struct side {
	struct session *sess;		/* back-pointer */
	struct side *peer;		/* the other side */
	struct sockio *io;	/* client: owned view of fd/ssl; upstream: the upconn's */
	bool eof;			/* this side sent us EOF (tcp mode) */
	bool shut_wr;			/* we shut down writing towards this side */
	bool paused;			/* reading from this side paused: the peer's output is full */
	uint64_t bytes_read;		/* bytes read from this side */
};

/*
 * A mode: what the session does once it knows how the client speaks.
 * session.c calls only these, so it never needs to know a mode's
 * functions or state.
 */
struct session_mode {
	const char *name;			/* "tcp", "http" */
	/* Takes over a routed (tcp) or HTTP-speaking (http) session. */
	void (*start)(struct session *s);
	/*
	 * From session_close(), once, before both sides stop: writes what
	 * the mode audits itself and may adjust rec (the connection record,
	 * err NULL meaning a normal end).  Returns true if rec is to be
	 * written as the connection's own audit record.
	 */
	bool (*closing)(struct session *s, const struct tb_err *err,
	    struct audit_rec *rec);
	/* From the deferred free, before the sides are freed: frees the mode's state; may be NULL. */
	void (*free)(struct session *s);
	/* Nothing in flight: a drain may close the session now; NULL: never. */
	bool (*idle)(const struct session *s);
	/* Tests only: runs the mode's timers now, as if their time had come. */
	void (*test_timers)(struct session *s);
	/* The mode's own state, for logs and tests ("parked"). */
	const char *(*state_str)(const struct session *s);
	/* Frees per-worker state of the mode at the worker's exit; may be NULL. */
	void (*worker_free)(struct worker *w);
	/* Each failure got a log line of its own: the summary line says info. */
	bool logs_failures;
};

struct session {
	unsigned magic;
	TAILQ_ENTRY(session) entry;	/* worker's session list */
	struct worker *w;		/* not owned */
	struct gen *gen;		/* owned reference */
	unsigned li;			/* listener index in gen->conf */
	const struct route_conf *rc;	/* NULL until routed */
	enum session_state state;
	const struct session_mode *mode;	/* NULL until chosen */
	uint64_t id;
	int fd;				/* owned: the client socket */
	SSL *ssl;			/* owned: the client TLS state (client.io is a view) */
	struct tlsrec *rec;		/* owned: that state once ssl is released (idle) */
	struct tls_info tinfo;		/* inbound TLS facts */
	struct tls_hs hs;		/* inbound handshake */
	struct side client;
	struct side upstream;		/* its io is uc's while the mode relays */
	/*
	 * owned: the upstream connection, in either mode (http: the one of
	 * the exchange in progress, NULL between exchanges)
	 */
	struct upconn *uc;
	bool up_reused;			/* uc came warmed from the pool */
	/*
	 * queued for a slot of the route's upstream_max_connections, in
	 * either mode, while uc is NULL (http: the exchange's wait, ended
	 * by hx_end(); tcp: the session's, ended by its closing)
	 */
	struct uplimit_wait *wait;
	int64_t queue_ms;		/* tcp: time waited for that slot, -1 = did not */
	/* owned: the one timer event; timer_role says what it does now */
	struct event *timer;
	enum session_timer timer_role;
	struct http_conn *http;		/* owned by the http mode (http_conn.c), else NULL */
	uint64_t t_start;		/* monotonic ms at accept */
	uint64_t last_active;		/* monotonic ms of the last byte either way */
	/* connection facts, copied into each audit record (session_audit_rec()) */
	uint64_t ts_ms;			/* wall-clock ms at accept */
	char client_addr[64];		/* "ip:port" */
	const char *tls;		/* inbound protocol, e.g. "TLSv1.3" (static) */
	const char *cipher;		/* inbound cipher (static) */
	const char *offered;		/* the client's highest version when refused (static) */
	bool clean;			/* closing with close_notify */
	bool reset_client;		/* closing the client with a reset, not a FIN */
	char *sni;			/* owned: normalized SNI, NULL if none */
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
void session_test_timers(struct session *s);

void session_set_state(struct session *s, enum session_state st);

/* Casts a callback argument back, checking it is a live session (fatal if not). */
struct session *session_from_arg(void *arg);

/*
 * Points the session's timer at cb for role (fd -1: a pure timer), after
 * removing whatever it waited for.  The caller adds it.
 */
void session_timer_set(struct session *s, enum session_timer role, int fd,
    short events, void (*cb)(evutil_socket_t, short, void *));
/* Adds the timer (as last set) for ms from now. */
void session_timer_add(struct session *s, uint64_t ms);
/* The session of a timer callback's arg, checking the role it was set for. */
struct session *session_timer_arg(void *arg, enum session_timer role);

/* Sends our EOF to sd: close_notify on TLS, then a TCP half-close; once. */
void side_shutdown_write(struct side *sd);

/*
 * While the client connection idles with no sockio: its TLS state moves
 * from the SSL (about 11 KB) into a tlsrec (about 300 bytes) where
 * tlsrec.h can take it, and once moved stays there; a tlsrec's cipher
 * contexts and buffers are freed.
 */
void session_tls_idle(struct session *s);

/* Creates the client sockio once the inbound handshake is done; 0 / -1 (closed). */
int session_client_io(struct session *s);
/* The worker's pool for the session's route, NULL if the generation changed. */
struct pool *session_pool_for(struct session *s, const struct route_conf *rc);

/* False when rc's failure lines on this worker are over their rate limit. */
bool session_log_allowed(struct session *s, const struct route_conf *rc);

/* This worker's counters for rc (NULL: the "-" bucket of unrouted exchanges). */
struct metrics_route *session_route_metrics(struct session *s,
    const struct route_conf *rc);
/* This worker's counters for the session's listener, NULL if none. */
struct metrics_listener *session_listener_metrics(struct session *s);

/* True if s has nothing in flight (an http connection between requests). */
bool session_idle(const struct session *s);
/* The mode's own state for logs and tests, "-" before a mode is chosen. */
const char *session_mode_state_str(const struct session *s);
/* Frees every mode's per-worker state (at the worker's exit). */
void session_modes_worker_free(struct worker *w);

/* Fills rec (after audit_rec_init) with the connection's facts. */
void session_audit_rec(const struct session *s, struct audit_rec *rec);

/* The OpenSSL error of io's last failure (forgotten once read), 0 if none. */
unsigned long session_io_ssl_error(struct sockio *io);

/*
 * Classifies an event (what) on the client sockio: a TLS error from
 * the client, a reset, or a close; sys_errno as read at the start of the
 * event callback.
 */
void session_client_failure(struct session *s, short what, int sys_errno,
    enum diag_phase phase, struct tb_err *err);

/* Ends s with err (NULL = ok); safe to call more than once. */
void session_close(struct session *s, const struct tb_err *err);

const char *session_state_str(enum session_state st);

#endif
