/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "upstream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>

#include "cidr.h"
#include "clock.h"
#include "conf.h"
#include "gen.h"
#include "log.h"
#include "relay.h"
#include "metrics.h"
#include "pool.h"
#include "sockaddr.h"
#include "sockio.h"
#include "sockopt.h"
#include "tls_client.h"
#include "upstream_limit.h"
#include "upstream_proxy.h"
#include "upstream_set.h"
#include "worker.h"

static void upstream_try_next(struct upconn *uc);
static int upstream_resolve(struct upconn *uc);

/* The endpoint address this connection is for. */
static const struct hostport *
upstream_target(const struct upconn *uc)
{
	if (uc->aidx >= 0 && (unsigned)uc->aidx < uc->rc->nupstreams)
		return &uc->rc->upstreams[uc->aidx].hp;
	return &uc->rc->upstream;
}

/* Where the TCP connect goes: the route's proxy, if it has one. */
static const struct hostport *
upstream_dial(const struct upconn *uc)
{
	return uc->rc->up_proxy_set ? &uc->rc->up_proxy : upstream_target(uc);
}

struct upconn *
upconn_from_arg(void *arg)
{
	struct upconn *uc = arg;

	if (uc == NULL || uc->magic != UPCONN_MAGIC)
		fatalx("upconn callback on a freed or foreign object %p", arg);
	return uc;
}

/* Frees the event that waits on the socket, then closes the socket. */
static void
upstream_close_fd(struct upconn *uc)
{
	if (uc->ev != NULL) {
		event_free(uc->ev);
		uc->ev = NULL;
	}
	if (uc->fd != -1) {
		close(uc->fd);
		uc->fd = -1;
	}
}

/* Frees the SSL no bufferevent took over yet, then closes the socket. */
static void
upstream_release_socket(struct upconn *uc)
{
	if (uc->ssl != NULL) {
		SSL_free(uc->ssl);
		uc->ssl = NULL;
	}
	upstream_close_fd(uc);
}

/*
 * The upconn of a one-shot event's callback (a resolve result, an open
 * circuit), with that event freed: it fired and will not fire again.
 */
static struct upconn *
upstream_one_shot_fired(void *arg)
{
	struct upconn *uc = upconn_from_arg(arg);

	event_free(uc->ev);
	uc->ev = NULL;
	return uc;
}

/* Drops whatever the failed attempt held, so the upconn can start over. */
static void
upstream_reset_attempt(struct upconn *uc)
{
	tls_hs_cancel(&uc->hs);
	proxy_tunnel_free(uc->tun);
	uc->tun = NULL;
	upstream_release_socket(uc);
	if (uc->ai != NULL)
		evutil_freeaddrinfo(uc->ai);
	uc->ai = uc->ai_next = NULL;
	uc->dns_result = 0;
	uc->last_errno = 0;
	uc->connect_ms = uc->handshake_ms = -1;
	uc->t_start = now_ms();
	tls_info_init(&uc->tinfo);
	memset(&uc->tout, 0, sizeof(uc->tout));
	uc->tinfo.out = &uc->tout;
}

/*
 * Failover: starts over on the next usable address not tried yet, with
 * that address's pool.  Returns -1 (and changes nothing) when none is left.
 */
static int
upstream_next_address(struct upconn *uc)
{
	int next = upstream_set_pick(uc->rc->uset, now_ms(), uc->tried);

	if (next == -1)
		return -1;
	log_info("route %s: %s failed (%s); trying %s:%u", uc->rc->name,
	    uc->addr, close_reason_str(uc->err.code),
	    uc->rc->upstreams[next].hp.host, uc->rc->upstreams[next].hp.port);
	upstream_reset_attempt(uc);
	if (uc->pool != NULL)
		uc->pool = pool_sibling(uc->pool, (unsigned)next);
	uc->aidx = next;
	uc->tried |= 1u << next;
	uc->tries++;
	tb_err_clear(&uc->err);
	if (upstream_resolve(uc) == -1) {
		tb_err_set(&uc->err, CR_INTERNAL, PHASE_DNS,
		    "out of memory for the lookup of %s", uc->addr);
		return -1;
	}
	return 0;
}

/* Every failure before the connection is ready ends here. */
static void
upstream_fail(struct upconn *uc)
{
	struct upstream_set *set = uc->rc->uset;

	if (set != NULL && uc->aidx >= 0 && diag_address_failed(uc->err.code)) {
		if (!(uc->flags & UPSTREAM_F_NO_HEALTH))
			upstream_set_failed(set, (unsigned)uc->aidx, now_ms(),
			    close_reason_str(uc->err.code));
		if ((uc->flags & UPSTREAM_F_FAILOVER) &&
		    upstream_next_address(uc) == 0)
			return;
	}
	uc->cb(uc, &uc->err, uc->arg);
}

static struct metrics_route *
upconn_metrics(const struct upconn *uc)
{
	if (uc->w == NULL || uc->w->metrics == NULL || uc->rc->metrics_id < 0)
		return NULL;
	return &uc->w->metrics->routes[uc->rc->metrics_id];
}

static void
upstream_ready(struct upconn *uc)
{
	struct metrics_route *m = upconn_metrics(uc);

	if (uc->rc->uset != NULL && uc->aidx >= 0 &&
	    !(uc->flags & UPSTREAM_F_NO_HEALTH))
		upstream_set_ok(uc->rc->uset, (unsigned)uc->aidx);
	/* Set once for the connection's life, pooled reuses included. */
	relay_setup(uc->io);
	if (uc->rc->mode == ROUTE_MODE_HTTP)
		relay_read_ahead(uc->io);

	if (m != NULL) {
		metrics_inc(&m->up_opened);
		metrics_add(&m->up_open, 1);
		if (uc->cli != NULL)
			metrics_inc(&m->up_handshakes);
		if (uc->resumed)
			metrics_inc(&m->up_resumed);
	}
	/* the status page's "up", and the certificate's expiry for /metrics */
	if (uc->w != NULL)
		metrics_upstream_up(uc->w->metrics, uc->rc->metrics_id, uc->addr,
		    uc->cli != NULL ? SSL_get0_peer_certificate(
		    sockio_ssl(uc->io)) : NULL);
	uc->counted = true;
	uc->created_ms = now_ms();
	uc->cb(uc, NULL, uc->arg);
}

/* A new TLS session of this connection: the pool keeps it for the next one. */
static int
upstream_on_session(void *owner, SSL_SESSION *sess)
{
	struct upconn *uc = owner;

	if (uc->pool == NULL)
		return 0;
	pool_save_session(uc->pool, sess);
	return 1;
}

/* ---- TLS handshake ------------------------------------------------------ */

static void
upstream_hs_done(void *arg, const struct tls_hs_result *res)
{
	struct upconn *uc = upconn_from_arg(arg);
	struct tls_failure f;

	if (res->ok && !tls_client_pin_ok(uc->cli, uc->ssl, &uc->tinfo)) {
		tb_err_set(&uc->err, CR_UPSTREAM_CERT, PHASE_HANDSHAKE,
		    "pin mismatch: %.120s presented the key %s", uc->addr,
		    uc->tout.pin_seen);
		uc->err.cause = DIAG_CAUSE_PIN_MISMATCH;
		upstream_fail(uc);
		return;
	}
	if (res->ok) {
		uc->handshake_ms = (int64_t)(now_ms() - uc->t_connect);
		uc->resumed = SSL_session_reused(uc->ssl) == 1;
		/*
		 * The sockio owns ssl and fd from here on.  Legacy servers
		 * often close without close_notify: sockio says EOF.
		 */
		uc->io = sockio_new(event_get_base(uc->ev), uc->fd, uc->ssl,
		    SOCKIO_CLOSE_ON_FREE);
		if (uc->io == NULL) {
			tb_err_set(&uc->err, CR_INTERNAL, PHASE_HANDSHAKE,
			    "out of memory for the connection's buffers");
			upstream_fail(uc);
			return;
		}
		uc->fd = -1;
		uc->ssl = NULL;
		upstream_ready(uc);
		return;
	}
	if (res->timeout) {
		tb_err_set(&uc->err, CR_UPSTREAM_TIMEOUT, PHASE_HANDSHAKE,
		    "no TLS handshake with %s within handshake_timeout (%llu ms)",
		    uc->addr, (unsigned long long)uc->rc->handshake_timeout_ms);
		upstream_fail(uc);
		return;
	}
	memset(&f, 0, sizeof(f));
	f.ssl_err = res->err;
	f.sys_errno = res->sys_errno;
	/*
	 * A TCP close without an alert (GnuTLS on a missing cipher): with
	 * SSL_OP_IGNORE_UNEXPECTED_EOF OpenSSL says ZERO_RETURN, else SYSCALL.
	 */
	f.eof = (res->ssl_error == SSL_ERROR_SYSCALL && res->sys_errno == 0 &&
	    res->err == 0) || (res->ssl_error == SSL_ERROR_ZERO_RETURN &&
	    uc->tinfo.alert_recv < 0);
	f.alert_recv = uc->tinfo.alert_recv;
	f.alert_sent = uc->tinfo.alert_sent;
	f.verify_result = SSL_get_verify_result(uc->ssl);
	f.pin_mismatch = uc->tout.pin_mismatch;
	f.offered = tls_client_offered(uc->cli);
	diag_from_upstream_tls(&uc->err, &f);
	/* Name the key the endpoint presented: that is what the operator pins. */
	if (uc->tout.pin_mismatch)
		snprintf(uc->err.msg, sizeof(uc->err.msg),
		    "pin mismatch: %.120s presented the key %s", uc->addr,
		    uc->tout.pin_seen);
	upstream_fail(uc);
}

static void
upstream_start_tls(struct upconn *uc)
{
	uc->tout.on_session = upstream_on_session;
	uc->tout.owner = uc;
	if ((uc->ssl = tls_client_ssl_new(uc->cli, &uc->tinfo)) == NULL ||
	    SSL_set_fd(uc->ssl, uc->fd) != 1) {
		tb_err_set(&uc->err, CR_INTERNAL, PHASE_HANDSHAKE,
		    "cannot set up TLS towards %s", uc->addr);
		upstream_fail(uc);
		return;
	}
	/* Offer the route's last session: an abbreviated handshake if the endpoint agrees. */
	if (uc->pool != NULL && uc->pool->session != NULL)
		SSL_set_session(uc->ssl, uc->pool->session);
	if (tls_hs_start(&uc->hs, event_get_base(uc->ev), uc->ssl, uc->fd,
	    uc->rc->handshake_timeout_ms, upstream_hs_done, uc) == -1) {
		tb_err_set(&uc->err, CR_INTERNAL, PHASE_HANDSHAKE,
		    "cannot start the TLS handshake with %s", uc->addr);
		upstream_fail(uc);
	}
}

/* ---- TCP connect ------------------------------------------------------- */

/* The byte stream to the endpoint exists (directly or tunnelled). */
static void
upstream_transport(struct upconn *uc)
{
	uc->connect_ms = (int64_t)(now_ms() - uc->t_start);
	uc->t_connect = now_ms();
	if (uc->cli != NULL) {
		upstream_start_tls(uc);
		return;
	}
	uc->io = sockio_new(event_get_base(uc->ev), uc->fd, NULL,
	    SOCKIO_CLOSE_ON_FREE);
	if (uc->io == NULL) {
		tb_err_set(&uc->err, CR_INTERNAL, PHASE_CONNECT,
		    "out of memory for the connection's buffers");
		upstream_fail(uc);
		return;
	}
	uc->fd = -1;
	uc->handshake_ms = 0;
	upstream_ready(uc);
}

static void
upstream_tunnel_cb(void *arg, const struct tb_err *err)
{
	struct upconn *uc = upconn_from_arg(arg);
	bool failed = err != NULL;

	/* err lives in the tunnel: copy it before the tunnel goes */
	if (failed)
		uc->err = *err;
	proxy_tunnel_free(uc->tun);
	uc->tun = NULL;
	if (failed) {
		upstream_fail(uc);
		return;
	}
	upstream_transport(uc);
}

/*
 * tcp_keepalive, or the route's pool_idle_check when that is shorter: the
 * probe's answer is what pool_take() reads before it trusts a connection
 * that sat idle (pool.h).  off stays off.
 */
static uint64_t
upstream_keepalive_ms(const struct upconn *uc)
{
	uint64_t ka = uc->w->gen->conf->broker.tcp_keepalive_ms;

	if (ka != 0 && uc->rc->pool_idle_check_ms != 0 &&
	    uc->rc->pool_idle_check_ms < ka)
		return uc->rc->pool_idle_check_ms;
	return ka;
}

static void
upstream_connected(struct upconn *uc)
{
	/* the proxy's socket is the endpoint's: keepalive and NODELAY both ways */
	sockopt_tcp(uc->fd, upstream_keepalive_ms(uc));
	if (!uc->rc->up_proxy_set) {
		upstream_transport(uc);
		return;
	}
	uc->tun = proxy_tunnel_start(event_get_base(uc->ev), uc->fd,
	    upstream_target(uc), uc->rc->up_proxy_basic, uc->addr,
	    uc->rc->up_proxy_timeout_ms, upstream_tunnel_cb, uc);
	if (uc->tun == NULL) {
		tb_err_set(&uc->err, CR_INTERNAL, PHASE_CONNECT,
		    "cannot start the CONNECT to %s", uc->addr);
		upstream_fail(uc);
	}
}

static void
upstream_connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upconn *uc = upconn_from_arg(arg);
	socklen_t len = sizeof(int);
	int soerr = 0;

	if (what & EV_TIMEOUT) {
		tb_err_set(&uc->err, CR_UPSTREAM_CONNECT_TIMEOUT, PHASE_CONNECT,
		    "connect %s: no answer within connect_timeout (%llu ms)",
		    uc->addr, (unsigned long long)uc->rc->connect_timeout_ms);
		if (uc->rc->up_proxy_set)
			upstream_proxy_dial_failed(&uc->err);
		upstream_fail(uc);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		soerr = errno;
	if (soerr != 0) {
		uc->last_errno = soerr;
		upstream_close_fd(uc);
		upstream_try_next(uc);
		return;
	}
	upstream_connected(uc);
}

/* Tries the next resolved address; reports the last error when none is left. */
static void
upstream_try_next(struct upconn *uc)
{
	struct evutil_addrinfo *ai;
	struct event_base *base = uc->w->base;

	while ((ai = uc->ai_next) != NULL) {
		uc->ai_next = ai->ai_next;
		sockaddr_format(ai->ai_addr, true, uc->addr, sizeof(uc->addr));
		uc->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (uc->fd == -1) {
			uc->last_errno = errno;
			continue;
		}
		if (connect(uc->fd, ai->ai_addr, ai->ai_addrlen) == -1 &&
		    errno != EINPROGRESS) {
			uc->last_errno = errno;
			upstream_close_fd(uc);
			continue;
		}
		uc->ev = event_new(base, uc->fd, EV_WRITE, upstream_connect_cb, uc);
		if (uc->ev == NULL ||
		    event_add_ms(uc->ev, uc->rc->connect_timeout_ms) == -1) {
			tb_err_set(&uc->err, CR_INTERNAL, PHASE_CONNECT,
			    "cannot wait for connect %s", uc->addr);
			upstream_fail(uc);
		}
		return;
	}
	diag_from_connect_errno(&uc->err, uc->last_errno, uc->addr);
	if (uc->rc->up_proxy_set)
		upstream_proxy_dial_failed(&uc->err);
	upstream_fail(uc);
}

/* ---- DNS ----------------------------------------------------------------- */

static void
upstream_resolved_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upconn *uc = upstream_one_shot_fired(arg);

	(void)fd;
	(void)what;
	if (uc->dns_result != 0 || uc->ai == NULL) {
		tb_err_set(&uc->err, CR_UPSTREAM_DNS, PHASE_DNS,
		    "cannot resolve %s: %s", upstream_dial(uc)->host,
		    uc->dns_result != 0 ? evutil_gai_strerror(uc->dns_result) :
		    "no address");
		upstream_fail(uc);
		return;
	}
	uc->ai_next = uc->ai;
	upstream_try_next(uc);
}

static void
upstream_dns_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct upconn *uc = arg;

	if (uc->orphan) {
		/*
		 * upconn_free() ran while the lookup was pending (and cleared
		 * the magic); finish it.
		 */
		if (res != NULL)
			evutil_freeaddrinfo(res);
		free(uc);
		return;
	}
	uc = upconn_from_arg(arg);
	uc->dnsreq = NULL;
	uc->dns_result = result;
	uc->ai = res;
	/* evdns may answer inside evdns_getaddrinfo(): continue from the loop. */
	event_active(uc->ev, EV_TIMEOUT, 0);
}

/* RFC 6761 6.4: names under .invalid are never looked up. */
static bool
name_is_invalid(const char *host)
{
	size_t len = strlen(host);

	if (len > 0 && host[len - 1] == '.')
		len--;
	return (len == 7 && strncasecmp(host, "invalid", 7) == 0) ||
	    (len > 8 && strncasecmp(host + len - 8, ".invalid", 8) == 0);
}

/*
 * Resolves the address (or the proxy) to dial; the answer comes from the
 * loop.  -1 when out of memory (nothing started).
 */
static int
upstream_resolve(struct upconn *uc)
{
	const struct hostport *dial = upstream_dial(uc);
	struct evutil_addrinfo hints;
	char port[8];

	(void)hostport_format(dial, uc->addr, sizeof(uc->addr));
	snprintf(port, sizeof(port), "%u", dial->port);
	uc->ev = event_new(uc->w->base, -1, 0, upstream_resolved_cb, uc);
	if (uc->ev == NULL)
		return -1;
	if (name_is_invalid(dial->host)) {
		uc->dns_result = EVUTIL_EAI_NONAME;
		event_active(uc->ev, EV_TIMEOUT, 0);
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
	uc->dnsreq = evdns_getaddrinfo(uc->w->dns, dial->host, port, &hints,
	    upstream_dns_cb, uc);
	return 0;
}

/* The circuit is open: fail from the loop, without a connect. */
static void
upstream_down_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upconn *uc = upstream_one_shot_fired(arg);

	(void)fd;
	(void)what;
	uc->cb(uc, &uc->err, uc->arg);
}

static void
upstream_set_down_err(struct upconn *uc)
{
	const struct upstream_set *set = uc->rc->uset;

	tb_err_set(&uc->err, CR_UPSTREAM_DOWN, PHASE_CONNECT,
	    "every address of route %s (%u) is marked down after "
	    "upstream_max_fails failures; the next one is tried in %llu ms",
	    uc->rc->name, set != NULL ? set->n : 1, set != NULL ?
	    (unsigned long long)upstream_set_retry_in(set, now_ms()) : 0ULL);
}

int
upstream_pick(const struct route_conf *rc)
{
	if (rc->uset == NULL)
		return 0;
	return upstream_set_pick(rc->uset, now_ms(), 0);
}

struct upconn *
upstream_connect(struct worker *w, const struct route_conf *rc, int addr,
    unsigned flags, struct tls_client *cli, struct pool *pool, upconn_cb cb,
    void *arg)
{
	struct upconn *uc;

	if ((uc = calloc(1, sizeof(*uc))) == NULL) {
		uplimit_release(rc->limit);
		return NULL;
	}
	uc->magic = UPCONN_MAGIC;
	uc->limit = rc->limit;	/* the caller's slot is the connection's now */
	uc->w = w;
	uc->rc = rc;
	uc->cli = cli;
	uc->pool = pool;
	uc->aidx = addr;
	uc->flags = flags;
	uc->fd = -1;
	uc->cb = cb;
	uc->arg = arg;
	uc->connect_ms = -1;
	uc->handshake_ms = -1;
	uc->t_start = now_ms();
	tls_info_init(&uc->tinfo);
	uc->tinfo.out = &uc->tout;
	if (addr < 0) {
		upstream_set_down_err(uc);
		if ((uc->ev = event_new(w->base, -1, 0, upstream_down_cb, uc)) == NULL) {
			uplimit_release(uc->limit);
			free(uc);
			return NULL;
		}
		event_active(uc->ev, EV_TIMEOUT, 0);
		return uc;
	}
	uc->tried = 1u << addr;
	uc->tries = 1;
	if (upstream_resolve(uc) == -1) {
		uplimit_release(uc->limit);
		free(uc);
		return NULL;
	}
	return uc;
}

void
upconn_free(struct upconn *uc, bool clean)
{
	int linger_fd;

	if (uc == NULL)
		return;
	tls_hs_cancel(&uc->hs);
	upack_free(uc);
	proxy_tunnel_free(uc->tun);
	uc->tun = NULL;
	/*
	 * A capped route's slot waits for the endpoint's close
	 * (upstream_limit.h), on a duplicate of the socket; not an abandoned
	 * one's: the duplicate would keep retransmitting the request the
	 * RST is to discard, and a blackholed endpoint sends no FIN anyway.
	 */
	linger_fd = uc->io != NULL && uplimit_capped(uc->limit) &&
	    !uc->ack.abandoned ? dup(sockio_fd(uc->io)) : -1;
	if (uc->counted && upconn_metrics(uc) != NULL)
		metrics_add(&upconn_metrics(uc)->up_open, -1);
	if (uc->io != NULL) {
		SSL *ssl = sockio_ssl(uc->io);

		if (clean && ssl != NULL)
			SSL_shutdown(ssl);
		sockio_free(uc->io);
		uc->io = NULL;
	}
	upstream_release_socket(uc);
	if (uc->limit != NULL)
		uplimit_release_closed(uc->limit, uc->w->id, uc->w->base, linger_fd);
	uc->limit = NULL;
	if (uc->ai != NULL)
		evutil_freeaddrinfo(uc->ai);
	uc->magic = 0;
	if (uc->dnsreq != NULL) {
		/*
		 * evdns still calls upstream_dns_cb() once, later, with
		 * EVUTIL_EAI_CANCEL: it frees uc then.
		 */
		uc->orphan = true;
		evdns_getaddrinfo_cancel(uc->dnsreq);
		return;
	}
	free(uc);
}

const char *
upconn_tls_str(const struct upconn *uc)
{
	SSL *ssl;

	if (uc->cli == NULL)
		return "plain";
	ssl = uc->io != NULL ? sockio_ssl(uc->io) : uc->ssl;
	return ssl != NULL ? tls_version_str(SSL_version(ssl)) : NULL;
}

const char *
upconn_cipher(const struct upconn *uc)
{
	SSL *ssl;

	if (uc->cli == NULL)
		return NULL;
	ssl = uc->io != NULL ? sockio_ssl(uc->io) : uc->ssl;
	return ssl != NULL ? SSL_get_cipher_name(ssl) : NULL;
}
