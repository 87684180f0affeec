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
struct gen;
struct listener_conf;
struct route_conf;
struct session;
struct upconn;
struct worker;

#define SESSION_MAGIC 0x53455331u	/* "SES1" */

enum session_state {
	SESSION_ST_INIT = 0,	/* accepted, nothing started */
	SESSION_ST_HANDSHAKE,	/* inbound TLS handshake running */
	SESSION_ST_CONNECTING,	/* upstream resolve / connect / handshake */
	SESSION_ST_RELAY,	/* tcp mode: bytes both ways */
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
	int fd;				/* client socket until its bev exists */
	SSL *ssl;			/* client SSL until its bev exists */
	struct tls_info tinfo;		/* inbound TLS facts */
	struct tls_hs hs;		/* inbound handshake */
	struct side client;
	struct side upstream;
	struct upconn *uc;		/* owned */
	struct event *idle_ev;		/* owned: idle timeout check */
	struct event *free_ev;		/* owned: deferred free after close */
	uint64_t t_start;		/* monotonic ms at accept */
	uint64_t last_active;		/* monotonic ms of the last byte either way */
	struct audit_rec rec;
	bool clean;			/* closing with close_notify */
};

/*
 * Takes a freshly accepted client socket of listener li.  Applies the
 * allow list (before any TLS work), then starts the inbound handshake.
 * Consumes fd in every case.
 */
void session_accept(struct worker *w, unsigned li, int fd,
    const struct sockaddr *sa, socklen_t salen);

/* Ends s with err (NULL = ok); safe to call more than once. */
void session_close(struct session *s, const struct tb_err *err);

const char *session_state_str(enum session_state st);

#endif
