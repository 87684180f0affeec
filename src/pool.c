/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "pool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "relay.h"
#include "sockio.h"
#include "upstream.h"
#include "upstream_set.h"
#include "upstream_ack.h"
#include "upstream_limit.h"
#include "worker.h"

static void upconn_mark_closed(struct upconn *uc);
static void pool_renew_ahead(struct pool *p, struct upconn *uc, uint64_t now);

/*
 * A learned idle-close time is forgotten after this long, so an endpoint
 * whose keep-alive was raised (or a close that was a one-off, an endpoint
 * restart) does not shorten the pool's idle limit for ever.
 */
#define POOL_LEARN_FORGET_MS (10 * 60 * 1000)

/* Margin kept before an endpoint's learned idle-close time. */
#define POOL_LEARN_MARGIN_MS 250

void
pool_init(struct pool *p, struct worker *w, const struct route_conf *rc,
    unsigned addr, struct tls_client *cli)
{
	memset(p, 0, sizeof(*p));
	p->w = w;
	p->rc = rc;
	p->addr = addr;
	p->cli = cli;
	TAILQ_INIT(&p->idle);
	TAILQ_INIT(&p->warm);
}

struct pool *
pool_sibling(struct pool *p, int addr)
{
	if (p == NULL || addr < 0)
		return NULL;
	/* worker_pools_init() lays a route's pools out in address order */
	return p - p->addr + addr;
}

/* The idle gauge, and the count the connection cap sheds from (upstream_limit.h). */
static void
pool_idle_gauge(struct pool *p, int delta)
{
	if (p->w != NULL)
		uplimit_idle_add(p->rc->limit, p->w->id, delta);
	if (p->w != NULL && p->w->metrics != NULL && p->rc->metrics_id >= 0)
		metrics_add(&p->w->metrics->routes[p->rc->metrics_id].up_idle,
		    delta);
}

static void
pool_remove(struct pool *p, struct upconn *uc)
{
	pool_idle_gauge(p, -1);
	TAILQ_REMOVE(&p->idle, uc, pool_link);
	uc->pooled = false;
	p->nidle--;
	sockio_setcb(uc->io, NULL, NULL, NULL, NULL);
}

void
pool_free(struct pool *p)
{
	struct upconn *uc;

	while ((uc = TAILQ_FIRST(&p->idle)) != NULL) {
		pool_remove(p, uc);
		upconn_free(uc, true);
	}
	while ((uc = TAILQ_FIRST(&p->warm)) != NULL) {
		TAILQ_REMOVE(&p->warm, uc, pool_link);
		p->warming--;
		upconn_free(uc, false);
	}
	if (p->session != NULL)
		SSL_SESSION_free(p->session);
	p->session = NULL;
}

void
pool_retire(struct pool *p)
{
	pool_free(p);
	p->retired = true;
}

void
pool_save_session(struct pool *p, SSL_SESSION *sess)
{
	if (p->session != NULL)
		SSL_SESSION_free(p->session);
	p->session = sess;
}

/* How long an idle connection may stay: the configured and the learned limit. */
static uint64_t
pool_idle_limit(struct pool *p)
{
	uint64_t limit = p->rc->pool_idle_timeout_ms, learned;

	if (p->learned_idle_ms != 0 &&
	    now_ms() - p->learned_at >= POOL_LEARN_FORGET_MS)
		p->learned_idle_ms = 0;	/* re-learn from now on */
	if (p->learned_idle_ms != 0) {
		learned = p->learned_idle_ms > 4 * POOL_LEARN_MARGIN_MS ?
		    p->learned_idle_ms - POOL_LEARN_MARGIN_MS :
		    p->learned_idle_ms * 3 / 4;
		if (learned < limit)
			limit = learned;
	}
	return limit;
}

/*
 * limit, less up to a tenth that depends on the connection.  Connections
 * opened together (a burst, a start) would otherwise reach
 * pool_max_requests or pool_max_lifetime together and all reconnect at
 * once, a latency spike each time.  The cut comes from the connection's
 * address, so it stays the same for the connection's life.
 */
static uint64_t
pool_spread(const struct upconn *uc, uint64_t limit)
{
	uint64_t h = (uint64_t)((uintptr_t)uc >> 4) * 0x9e3779b97f4a7c15ULL;

	return limit - (h >> 32) % (limit / 10 + 1);
}

static bool
pool_expired(struct pool *p, const struct upconn *uc, uint64_t now)
{
	if (now - uc->created_ms >=
	    pool_spread(uc, p->rc->pool_max_lifetime_ms))
		return true;
	if (uc->requests >= pool_spread(uc, p->rc->pool_max_requests))
		return true;
	return uc->pooled && now - uc->idle_since_ms >= pool_idle_limit(p);
}

/*
 * An idle connection was lost after idle ms: the endpoint closed it, or
 * it was blackholed (upstream_ack.h).  Lowers the learned idle limit, so
 * later connections are retired before that age.
 */
static void
pool_learn_idle(struct pool *p, uint64_t idle, const char *how)
{
	if (idle < 100 || idle >= p->rc->pool_idle_timeout_ms)
		return;
	if (p->learned_idle_ms == 0 || idle < p->learned_idle_ms) {
		p->learned_idle_ms = idle;
		p->learned_at = now_ms();
		log_notice("route %s: %s after about %llu ms idle; pooled "
		    "connections are now retired after %llu ms", p->rc->name, how,
		    (unsigned long long)idle,
		    (unsigned long long)pool_idle_limit(p));
	}
}

/*
 * The endpoint closed (or sent something on) an idle connection.  It
 * leaves the pool at once; a close also teaches us the endpoint's own
 * idle timeout, so later connections are retired before it.
 */
static void
pool_learn_close(struct pool *p, struct upconn *uc)
{
	pool_learn_idle(p, now_ms() - uc->idle_since_ms,
	    "the endpoint closes idle connections");
}

/*
 * A path that forgets connections idle for less than this has no idle
 * timer: it is an outage, which says nothing about idle times, and
 * learning from it would all but end reuse for POOL_LEARN_FORGET_MS.
 */
#define POOL_BLACKHOLE_LEARN_MIN_MS (5 * 1000)

void
pool_learn_blackhole(struct pool *p, const struct upconn *uc)
{
	if (p != NULL && !p->retired &&
	    uc->ack.idle_ms >= POOL_BLACKHOLE_LEARN_MIN_MS)
		pool_learn_idle(p, uc->ack.idle_ms, "a pooled connection was "
		    "blackholed (no byte of a request acknowledged)");
}

static void
pool_idle_eventcb(struct sockio *io, short what, void *arg)
{
	struct upconn *uc = upconn_from_arg(arg);
	struct pool *p = uc->pool;

	(void)io;
	if (what & SOCKIO_EOF) {
		pool_learn_close(p, uc);
		upconn_mark_closed(uc);
	}
	pool_remove(p, uc);
	upconn_free(uc, false);
}

static void
pool_idle_readcb(struct sockio *io, void *arg)
{
	struct upconn *uc = upconn_from_arg(arg);
	struct pool *p = uc->pool;

	/* An idle connection has nothing to say: unsolicited bytes poison it. */
	(void)io;
	log_info("route %s: %s sent %zu unsolicited bytes on an idle "
	    "connection; dropping it", p->rc->name, uc->addr,
	    evbuffer_get_length(sockio_get_input(uc->io)));
	pool_remove(p, uc);
	upconn_free(uc, false);
}

/*
 * True if the socket shows no EOF, error or stray bytes right now.  The
 * idle read callback drops a connection the endpoint closes as soon as the
 * loop sees it; the peek covers a close that arrived since the last loop
 * turn, which matters only for connections idle for a while, so
 * back-to-back reuse costs no system call.  A connection idle for
 * pool_idle_check or longer must also show that TCP got an answer to
 * everything it sent: its keepalive probe (the socket's keepalive comes
 * after pool_idle_check of silence, upstream.c), so one a firewall forgot
 * or whose endpoint vanished is replaced before a request is lost in it.
 */
#define POOL_PEEK_AFTER_MS 20

static bool
upconn_alive(struct pool *p, struct upconn *uc, uint64_t now, bool sure)
{
	char c;
	ssize_t n;
	int fd = sockio_fd(uc->io);
	uint64_t idle = now - uc->idle_since_ms;

	if (evbuffer_get_length(sockio_get_input(uc->io)) != 0)
		return false;
	if (!sure && uc->pooled && idle < POOL_PEEK_AFTER_MS)
		return true;
	n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n == 0)
		uc->peer_closed = true;
	if (n != -1 || (errno != EAGAIN && errno != EWOULDBLOCK))
		return false;
	if (p->rc->pool_idle_check_ms != 0 && idle >= p->rc->pool_idle_check_ms &&
	    upack_idle_unanswered(fd)) {
		log_info("route %s: a connection to %s idle for %llu ms left a "
		    "keepalive probe unanswered; opening a new one", p->rc->name,
		    uc->addr, (unsigned long long)idle);
		/* its path is dead: no FIN will come to wait for (upstream_limit.h) */
		upack_abandon(uc);
		return false;
	}
	return true;
}

/*
 * The endpoint closed cleanly: mark the TLS connection shut down both
 * ways before freeing it, or OpenSSL's SSL_free() marks the session we
 * keep for resumption as unusable.
 */
static void
upconn_mark_closed(struct upconn *uc)
{
	SSL *ssl = uc->io != NULL ? sockio_ssl(uc->io) : NULL;

	if (ssl != NULL)
		SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
}

static bool
upconn_closed_by_peer(struct upconn *uc)
{
	if (uc->peer_closed)
		upconn_mark_closed(uc);
	return uc->peer_closed;
}

struct upconn *
pool_take(struct pool *p, bool sure)
{
	struct upconn *uc;
	uint64_t now = now_ms();

	if (p->retired)
		return NULL;
	/* Most recently used first: it is the least likely to be closed. */
	while ((uc = TAILQ_LAST(&p->idle, upconn_list)) != NULL) {
		/* Judge it while it still counts as idle (pooled), then take it. */
		bool dead = pool_expired(p, uc, now) ||
		    !upconn_alive(p, uc, now, sure);

		pool_remove(p, uc);
		if (dead) {
			upconn_free(uc, !upconn_closed_by_peer(uc));
			continue;
		}
		uc->tries = 1;	/* this exchange tried one address: this one */
		return uc;
	}
	return NULL;
}

void
pool_put(struct pool *p, struct upconn *uc)
{
	uint64_t now = now_ms();
	struct upconn *oldest;

	uc->pool = p;
	upack_stop(uc);
	pool_renew_ahead(p, uc, now);
	/* Requests wait for a slot: closing this one gives them its slot. */
	if (p->retired || uc->io == NULL || p->rc->pool_max_idle == 0 ||
	    uplimit_queued(p->rc->limit) || pool_expired(p, uc, now) ||
	    evbuffer_get_length(sockio_get_input(uc->io)) != 0 ||
	    sockio_tls_pending(uc->io)) {
		upconn_free(uc, true);
		return;
	}
	if (p->nidle >= p->rc->pool_max_idle) {
		oldest = TAILQ_FIRST(&p->idle);
		pool_remove(p, oldest);
		upconn_free(oldest, true);
	}
	uc->idle_since_ms = now;
	uc->pooled = true;
	TAILQ_INSERT_TAIL(&p->idle, uc, pool_link);
	p->nidle++;
	pool_idle_gauge(p, 1);
	sockio_setcb(uc->io, pool_idle_readcb, NULL, pool_idle_eventcb, uc);
	sockio_enable(uc->io, EV_READ);	/* usually a no-op: already reading */
}

static void
pool_warm_cb(struct upconn *uc, const struct tb_err *err, void *arg)
{
	struct pool *p = arg;

	TAILQ_REMOVE(&p->warm, uc, pool_link);
	p->warming--;
	if (err != NULL || p->retired) {
		if (err != NULL)
			log_info("route %s: warming a pooled connection failed: %s: %s",
			    p->rc->name, close_reason_str(err->code), err->msg);
		upconn_free(uc, false);
		return;
	}
	uc->created_ms = now_ms();
	pool_put(p, uc);
}

/*
 * Opens (and handshakes) one connection into the pool ahead of need.
 * False when none may be opened now: warming never takes a slot a request
 * could use, nor dials an address that is down, a worker that drains, or
 * for a route that pools nothing (the connection would be closed when
 * ready: a wasted legacy handshake).
 */
static bool
pool_warm_one(struct pool *p)
{
	struct upconn *uc;

	if (p->retired || p->w->draining || p->rc->pool_max_idle == 0 ||
	    (p->rc->uset != NULL &&
	    !upstream_set_usable(p->rc->uset, p->addr, now_ms())))
		return false;
	if (!uplimit_take(p->rc->limit))
		return false;
	uc = upstream_connect(p->w, p->rc, (int)p->addr, 0, p->cli, p,
	    pool_warm_cb, p);
	if (uc == NULL)
		return false;
	TAILQ_INSERT_TAIL(&p->warm, uc, pool_link);
	p->warming++;
	return true;
}

/*
 * A connection that carried requests and is within a few requests (or
 * seconds) of pool_max_requests (or pool_max_lifetime) gets its
 * replacement opened now, once: when it retires, the request that would
 * have found the pool empty finds the replacement handshaken instead of
 * paying a connect and a legacy handshake (under steady load, connections
 * otherwise retire in waves, each a latency spike).  A connection that
 * never carried a request asks for nothing, so warming cannot feed itself.
 */
static void
pool_renew_ahead(struct pool *p, struct upconn *uc, uint64_t now)
{
	uint64_t max_req = pool_spread(uc, p->rc->pool_max_requests);
	uint64_t max_age = pool_spread(uc, p->rc->pool_max_lifetime_ms);

	if (uc->renewed || uc->requests == 0)
		return;
	if (uc->requests + max_req / 32 + 2 < max_req &&
	    now - uc->created_ms + max_age / 32 + 1000 < max_age)
		return;
	uc->renewed = true;
	pool_warm_one(p);
}

void
pool_maintain(struct pool *p)
{
	struct upconn *uc, *next;
	uint64_t now = now_ms();

	if (p->retired)
		return;
	for (uc = TAILQ_FIRST(&p->idle); uc != NULL; uc = next) {
		next = TAILQ_NEXT(uc, pool_link);
		if (pool_expired(p, uc, now)) {
			pool_remove(p, uc);
			upconn_free(uc, true);
		}
	}
	/* a down address is left alone until its cool-down ends: pool_warm_one */
	while (p->nidle + p->warming < p->rc->pool_min_idle && pool_warm_one(p))
		;
}

void
pool_shed(struct pool *p)
{
	struct upconn *oldest = TAILQ_FIRST(&p->idle);

	/* the request is the worker's, not this address's: only an idle one may take it */
	if (oldest == NULL || !uplimit_shed_wanted(p->rc->limit, p->w->id))
		return;
	log_debug("route %s: closing an idle connection to %s: requests wait "
	    "for upstream_max_connections", p->rc->name, oldest->addr);
	pool_remove(p, oldest);
	upconn_free(oldest, true);
}
