/* SPDX-License-Identifier: MIT */
/*
 * upstream: making one connection to a route's endpoint: asynchronous DNS
 * (evdns; RFC 6761 ".invalid" names fail without a query), a non-blocking
 * connect to each address in turn under connect_timeout, then the route's
 * TLS handshake under handshake_timeout (or none for upstream_tls = off).
 * With upstream_proxy it resolves and connects to the proxy instead and
 * opens a CONNECT tunnel (upstream_proxy.c) before that handshake.
 * A route may list several addresses (upstream_set.c): a connection is made
 * to the address the caller picked, and with UPSTREAM_F_FAILOVER a connect
 * or handshake failure moves on to the next usable address (no request
 * byte has been sent then, so this is safe for any method).  Each result is
 * reported to the address's shared health.
 * The result is a struct upconn with a ready sockio, or a close reason
 * with its phase (dns, connect, handshake) from diag.  Callbacks never run
 * inside upstream_connect().  It does not pool (pool.c) or relay.
 */
#ifndef TLSBROKER_UPSTREAM_H
#define TLSBROKER_UPSTREAM_H

#include <stdbool.h>
#include <stdint.h>
#include <netdb.h>
#include <sys/queue.h>

#include <openssl/ssl.h>

#include "diag.h"
#include "tlsio.h"
#include "upstream_ack.h"

struct sockio;
struct event;
struct evdns_getaddrinfo_request;
struct pool;
struct proxy_tunnel;
struct route_conf;
struct tls_client;
struct uplimit;
struct upconn;
struct worker;

#define UPCONN_MAGIC 0x55504331u	/* "UPC1" */

/* err is NULL on success; then uc->io is ready.  uc stays owned by the caller. */
typedef void (*upconn_cb)(struct upconn *uc, const struct tb_err *err, void *arg);

struct upconn {
	unsigned magic;
	struct worker *w;			/* not owned */
	const struct route_conf *rc;		/* not owned (held by the session's gen) */
	struct tls_client *cli;			/* not owned; NULL for plain */
	struct pool *pool;			/* not owned: its address's pool (sessions, reuse) */
	struct uplimit *limit;			/* the slot it holds (upstream_limit.h), released when freed */
	int aidx;				/* index of its address in rc->upstreams, -1 = none usable */
	unsigned flags;				/* UPSTREAM_F_* */
	unsigned tried;				/* bit i: address i tried for this connection */
	unsigned tries;				/* addresses tried (1 for a pooled reuse) */
	int fd;					/* owned until io exists, then -1 */
	SSL *ssl;				/* owned until io exists; then the io's */
	struct sockio *io;			/* owned once ready */
	struct tls_info tinfo;
	struct tls_out_info tout;		/* tinfo.out */
	struct tls_hs hs;
	struct event *ev;			/* owned: connect wait / deferred steps */
	struct proxy_tunnel *tun;		/* owned: CONNECT via upstream_proxy */
	struct evdns_getaddrinfo_request *dnsreq;	/* pending lookup */
	struct addrinfo *ai;			/* owned: resolved addresses */
	struct addrinfo *ai_next;		/* next address to try */
	int dns_result;				/* EVUTIL_EAI_* of the lookup */
	bool orphan;				/* freed while the lookup was pending */
	int last_errno;				/* last connect error */
	char addr[280];				/* "ip:port" being tried / connected */
	uint64_t t_start, t_connect;		/* monotonic ms */
	int64_t connect_ms;			/* -1 = not reached */
	int64_t handshake_ms;
	upconn_cb cb;
	void *arg;
	struct tb_err err;
	/* reuse (pool.c) */
	TAILQ_ENTRY(upconn) pool_link;		/* in its pool's idle list */
	bool pooled;				/* in an idle list now */
	bool resumed;				/* TLS session resumed */
	bool counted;				/* in the open-connections gauge */
	bool peer_closed;			/* the endpoint closed it (EOF or error seen) */
	bool renewed;				/* its replacement was opened ahead (pool.c) */
	unsigned requests;			/* requests sent on it */
	uint64_t created_ms;			/* monotonic, when it became ready */
	uint64_t idle_since_ms;			/* monotonic, when it went idle */
	struct upack ack;			/* owned: the request's acknowledgement watch */
};

/* Casts a callback argument back, checking it is a live upconn (fatal if not). */
struct upconn *upconn_from_arg(void *arg);

#define UPSTREAM_F_FAILOVER	0x1	/* on a connect/handshake failure, try the next address */
#define UPSTREAM_F_NO_HEALTH	0x2	/* the caller reports health itself (active checks) */

/*
 * The address a new exchange should use: upstream_set_pick() over rc's
 * addresses, or -1 when every one is down (the circuit is open).
 */
int upstream_pick(const struct route_conf *rc);

/*
 * Starts a connection to address addr of rc (from upstream_pick(); pool
 * is that address's pool or NULL).  addr -1 fails with upstream_down, from
 * the loop like every other failure.  Returns NULL only when out of
 * memory.  The caller holds a slot of rc->limit (uplimit_take() or a
 * granted wait); the connection owns it from here, NULL or not, and
 * upconn_free() gives it back.
 */
struct upconn *upstream_connect(struct worker *w, const struct route_conf *rc,
    int addr, unsigned flags, struct tls_client *cli, struct pool *pool,
    upconn_cb cb, void *arg);

/*
 * Cancels whatever is in progress and frees uc.  When clean is true and
 * the connection is TLS, a close_notify is sent first.
 */
void upconn_free(struct upconn *uc, bool clean);

/* "TLSv1", ... or "plain"; the negotiated cipher or NULL. */
const char *upconn_tls_str(const struct upconn *uc);
const char *upconn_cipher(const struct upconn *uc);

#endif
