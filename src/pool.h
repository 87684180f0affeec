/* SPDX-License-Identifier: MIT */
/*
 * pool: idle upstream connections per route address and per worker (a
 * route's pools lie side by side in the worker's array, one per address
 * of its upstream list, so each address has its own connections and TLS
 * session; no locks: a
 * pool is only touched from its worker's thread).  It enforces
 * pool_max_idle, pool_idle_timeout, pool_max_requests and
 * pool_max_lifetime, keeps pool_min_idle connections opened and
 * handshaken ahead of need, drops a connection the moment the endpoint
 * closes it while idle, and learns each endpoint's own idle-close time from
 * those closes so it retires connections just before the endpoint would.
 * It also keeps its address's last TLS session for resumption.
 *
 * Connections a firewall forgot (no FIN, no RST): a connection idle for
 * pool_idle_check or longer is only handed out if TCP_INFO shows its last
 * keepalive probe answered (upstream sockets are probed after
 * pool_idle_check of silence), and a blackhole the request watch found
 * (upstream_ack.h) lowers the learned idle limit like an endpoint's close.
 */
#ifndef TLSBROKER_POOL_H
#define TLSBROKER_POOL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <openssl/ssl.h>

#include "log.h"

struct event;
struct route_conf;
struct tls_client;
struct upconn;
struct worker;

TAILQ_HEAD(upconn_list, upconn);

struct pool {
	struct worker *w;			/* not owned */
	const struct route_conf *rc;		/* not owned */
	unsigned addr;				/* index in rc->upstreams */
	struct tls_client *cli;			/* not owned; NULL for plain routes */
	struct upconn_list idle;		/* owned connections */
	unsigned nidle;
	struct upconn_list warm;		/* owned: min_idle connections being opened */
	unsigned warming;
	uint64_t learned_idle_ms;		/* endpoint's idle close time, 0 = unknown */
	uint64_t learned_at;			/* monotonic ms of the last lowering */
	int http_version;			/* 10 or 11 from the last response, 0 unknown (expect.c) */
	int expect;				/* enum expect_peer: what it does with Expect */
	bool retired;				/* its generation was replaced: keeps nothing */
	struct log_ratelimit log_rl;		/* failure lines of this route on this worker */
	SSL_SESSION *session;			/* owned: last session, for resumption */
};

void pool_init(struct pool *p, struct worker *w, const struct route_conf *rc,
    unsigned addr, struct tls_client *cli);

/*
 * The pool of address addr of p's route (p is any of that route's pools),
 * or NULL when p is NULL or addr is -1 (no usable address).
 */
struct pool *pool_sibling(struct pool *p, int addr);
/* Frees every idle connection and the saved session. */
void pool_free(struct pool *p);

/*
 * Returns a live idle connection (taken out of the pool, its callbacks
 * cleared) or NULL.  Connections found closed, expired or close to the
 * endpoint's learned idle-close time are dropped on the way, and so are
 * ones idle for pool_idle_check with a keepalive probe unanswered.  A
 * connection used in the last few milliseconds is trusted without a
 * system call unless sure is set: a request that cannot be retried on a
 * fresh connection (a POST) pays for the check.
 */
struct upconn *pool_take(struct pool *p, bool sure);

/*
 * A request on uc found it blackholed (upstream_ack.h) after it had been
 * idle for uc->ack.idle_ms: later connections are retired before that age.
 * p may be NULL (the generation changed).
 */
void pool_learn_blackhole(struct pool *p, const struct upconn *uc);

/*
 * Gives a connection back after a complete, reusable exchange.  Takes
 * ownership in every case: frees it if it cannot be kept.
 */
void pool_put(struct pool *p, struct upconn *uc);

/*
 * The route's generation was replaced: drop idle and warming connections
 * and keep nothing from now on.  The pool itself stays valid for the
 * sessions of the old generation still holding it.
 */
void pool_retire(struct pool *p);

/*
 * If the route's cap asked this worker to shed (uplimit_shed_wanted()),
 * closes p's longest idle connection: requests of another worker wait for
 * the slot it holds (upstream_max_connections).  A pool with nothing idle
 * leaves the request to the route's other pools (its other addresses).
 */
void pool_shed(struct pool *p);

/* Periodic care: expire idle connections, open warm ones. */
void pool_maintain(struct pool *p);

/* Remembers a TLS session for the next connection to this pool's address. */
void pool_save_session(struct pool *p, SSL_SESSION *sess);

#endif
