/* SPDX-License-Identifier: MIT */
/*
 * session: accept, inbound handshake, mode choice and the single close and
 * free of a client connection (session.h says what it owns).
 */
#include "config.h"

#include "session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "clock.h"
#include "conf.h"
#include "gen.h"
#include "http_conn.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "relay.h"
#include "reply.h"
#include "route.h"
#include "sockio.h"
#include "sockopt.h"
#include "tcp_relay.h"
#include "tls_server.h"
#include "tlsrec.h"
#include "upstream.h"
#include "worker.h"

static void session_free_cb(evutil_socket_t fd, short what, void *arg);

const char *
session_state_str(enum session_state st)
{
	switch (st) {
	case SESSION_ST_INIT:		return "init";
	case SESSION_ST_HANDSHAKE:	return "handshake";
	case SESSION_ST_CONNECTING:	return "connecting";
	case SESSION_ST_RELAY:		return "relay";
	case SESSION_ST_HTTP:		return "http";
	case SESSION_ST_CLOSED:		return "closed";
	}
	return "?";
}

void
session_set_state(struct session *s, enum session_state st)
{
	if (log_enabled(LOG_LVL_DEBUG))
		log_debug("conn=%llu state %s -> %s", (unsigned long long)s->id,
		    session_state_str(s->state), session_state_str(st));
	s->state = st;
}

struct session *
session_from_arg(void *arg)
{
	struct session *s = arg;

	if (s == NULL || s->magic != SESSION_MAGIC)
		fatalx("session callback on a freed or foreign object %p", arg);
	return s;
}

/* ---- the timer ------------------------------------------------------------- */

/* The timer between roles: nothing to do (a test may fire it anyway). */
static void
session_timer_none_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)session_timer_arg(arg, SESSION_TIMER_NONE);
}

void
session_timer_set(struct session *s, enum session_timer role, int fd,
    short events, void (*cb)(evutil_socket_t, short, void *))
{
	event_del(s->timer);
	event_assign(s->timer, s->w->base, fd, events, cb, s);
	s->timer_role = role;
}

void
session_timer_add(struct session *s, uint64_t ms)
{
	event_add_ms(s->timer, ms);
}

struct session *
session_timer_arg(void *arg, enum session_timer role)
{
	struct session *s = session_from_arg(arg);

	if (s->timer_role != role)
		fatalx("conn=%llu: timer callback for role %d while the timer has "
		    "role %d", (unsigned long long)s->id, (int)role,
		    (int)s->timer_role);
	return s;
}

/* ---- modes ---------------------------------------------------------------- */

static const struct session_mode *const session_modes[] = { &tcp_mode, &http_mode };

bool
session_idle(const struct session *s)
{
	return s->mode != NULL && s->mode->idle != NULL && s->mode->idle(s);
}

const char *
session_mode_state_str(const struct session *s)
{
	return s->mode != NULL ? s->mode->state_str(s) : "-";
}

void
session_test_timers(struct session *s)
{
	if (s->mode != NULL)
		s->mode->test_timers(s);
}

void
session_modes_worker_free(struct worker *w)
{
	size_t i;

	for (i = 0; i < sizeof(session_modes) / sizeof(session_modes[0]); i++)
		if (session_modes[i]->worker_free != NULL)
			session_modes[i]->worker_free(w);
}

/* ---- closing --------------------------------------------------------------- */

bool
session_log_allowed(struct session *s, const struct route_conf *rc)
{
	struct pool *p = session_pool_for(s, rc);
	struct log_ratelimit *rl = p != NULL ? &p->log_rl : &s->w->unrouted_rl;
	unsigned dropped;
	bool ok = log_ratelimit_ok(rl, now_ms(), &dropped);

	if (dropped > 0)
		log_warnx("route %s: %u more failure lines suppressed in the last "
		    "%u s (at most %u per route and worker); the audit log has them all",
		    rc != NULL ? rc->name : "-", dropped, LOG_RL_WINDOW_MS / 1000,
		    LOG_RL_BURST);
	return ok;
}

static void
session_log_summary(struct session *s, const struct audit_rec *r)
{
	enum log_level lvl;

	/*
	 * A peer going away is routine, a failed second hop is what operators
	 * look for (the reason's row says which); a mode that logs each
	 * failure (http: per request) did so already.
	 */
	lvl = diag_close_level(r->err.code);
	if (s->mode != NULL && s->mode->logs_failures)
		lvl = LOG_LVL_INFO;
	if (!log_enabled(lvl))
		return;
	if (lvl == LOG_LVL_WARNING && !session_log_allowed(s, s->rc))
		return;
	log_at(lvl, "conn=%llu route=%s client=%s close=%s%s%s up=%s up_tls=%s "
	    "bytes_in=%llu bytes_out=%llu ms=%lld%s%s",
	    (unsigned long long)r->conn, r->route != NULL ? r->route : "-",
	    r->client, close_reason_str(r->err.code),
	    r->err.phase != PHASE_NONE ? " phase=" : "",
	    r->err.phase != PHASE_NONE ? diag_phase_str(r->err.phase) : "",
	    r->upstream[0] != '\0' ? r->upstream : "-",
	    r->up_tls != NULL ? r->up_tls : "-",
	    (unsigned long long)r->bytes_in, (unsigned long long)r->bytes_out,
	    (long long)r->total_ms, r->err.msg[0] != '\0' ? ": " : "",
	    r->err.msg);
}

void
session_audit_rec(const struct session *s, struct audit_rec *rec)
{
	audit_rec_init(rec);
	rec->ts_ms = s->ts_ms;
	rec->worker = s->w->id;
	rec->conn = s->id;
	rec->listener = s->gen->conf->listeners[s->li].name;
	rec->route = s->rc != NULL ? s->rc->name : NULL;
	rec->client = s->client_addr;
	rec->sni = s->sni;
	rec->tls = s->tls;
	rec->cipher = s->cipher;
	rec->offered = s->offered;
}

/* The connection's own record: its bytes and how it ended (the mode adds its facts). */
static void
session_conn_rec(const struct session *s, const struct tb_err *err,
    struct audit_rec *rec)
{
	session_audit_rec(s, rec);
	rec->total_ms = (int64_t)(now_ms() - s->t_start);
	rec->bytes_in = s->client.bytes_read;
	rec->bytes_out = s->upstream.bytes_read;
	if (err != NULL)
		rec->err = *err;
}

/* Stops every callback of both sides, whatever the mode. */
static void
session_stop_sides(struct session *s)
{
	tls_hs_cancel(&s->hs);
	if (s->client.io != NULL) {
		sockio_setcb(s->client.io, NULL, NULL, NULL, NULL);
		sockio_disable(s->client.io, EV_READ | EV_WRITE);
	}
	if (s->uc != NULL && s->uc->io != NULL) {
		sockio_setcb(s->uc->io, NULL, NULL, NULL, NULL);
		sockio_disable(s->uc->io, EV_READ | EV_WRITE);
	}
}

void
session_close(struct session *s, const struct tb_err *err)
{
	struct audit_rec rec;

	if (s->state == SESSION_ST_CLOSED)
		return;
	session_set_state(s, SESSION_ST_CLOSED);
	session_conn_rec(s, err, &rec);
	/* A mode that audits per request writes the connection's record only if it says so. */
	if (s->mode == NULL || s->mode->closing(s, err, &rec)) {
		audit_write(&rec);
		metrics_exchange(s->w->metrics, s->rc != NULL ?
		    s->rc->metrics_id : s->gen->unrouted_metrics_id, &rec);
	}
	session_log_summary(s, &rec);

	/* Stop every callback now; free from a fresh loop turn. */
	session_stop_sides(s);
	s->clean = err == NULL;
	/* The timer's last job: the free, from a fresh loop turn. */
	session_timer_set(s, SESSION_TIMER_FREE, -1, 0, session_free_cb);
	event_active(s->timer, EV_TIMEOUT, 0);
}

static void
session_free(struct session *s)
{
	tls_hs_cancel(&s->hs);
	if (s->mode != NULL && s->mode->free != NULL)
		s->mode->free(s);
	if (s->uc != NULL)
		upconn_free(s->uc, s->clean && !s->upstream.shut_wr);
	if (s->client.io != NULL)
		sockio_free(s->client.io);
	if (s->ssl != NULL) {
		if (s->clean && !s->client.shut_wr && SSL_is_init_finished(s->ssl)) {
			ERR_clear_error();
			SSL_shutdown(s->ssl);
			ERR_clear_error();
		}
		SSL_free(s->ssl);
	}
	if (s->rec != NULL) {
		if (s->clean && !s->client.shut_wr)
			tlsrec_shutdown(s->rec);
		tlsrec_free(s->rec);
		if (session_listener_metrics(s) != NULL)
			metrics_add(&session_listener_metrics(s)->tls_released, -1);
	}
	if (s->fd != -1) {
		if (s->reset_client)
			sockopt_reset_on_close(s->fd);
		close(s->fd);
	}
	event_free(s->timer);
	if (session_listener_metrics(s) != NULL)
		metrics_add(&session_listener_metrics(s)->open, -1);
	worker_session_del(s->w, s);
	gen_unref(s->gen);
	free(s->sni);
	s->magic = 0;
	free(s);
}

struct metrics_route *
session_route_metrics(struct session *s, const struct route_conf *rc)
{
	int id = rc != NULL ? rc->metrics_id : s->gen->unrouted_metrics_id;

	return id >= 0 && s->w->metrics != NULL ? &s->w->metrics->routes[id] : NULL;
}

struct metrics_listener *
session_listener_metrics(struct session *s)
{
	int id = s->gen->conf->listeners[s->li].metrics_id;

	return id >= 0 && s->w->metrics != NULL ?
	    &s->w->metrics->listeners[id] : NULL;
}

static void
session_free_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	session_free(session_timer_arg(arg, SESSION_TIMER_FREE));
}

/* ---- the sides ------------------------------------------------------------ */

/* Sends our EOF to sd: close_notify on TLS, then a TCP half-close. */
void
side_shutdown_write(struct side *sd)
{
	int fd;

	if (sd->shut_wr || sd->io == NULL)
		return;
	sd->shut_wr = true;
	sockio_tls_shutdown(sd->io);
	if ((fd = sockio_fd(sd->io)) != -1)
		shutdown(fd, SHUT_WR);
}

unsigned long
session_io_ssl_error(struct sockio *io)
{
	return io != NULL ? sockio_ssl_error(io) : 0;
}

void
session_client_failure(struct session *s, short what, int sys_errno,
    enum diag_phase phase, struct tb_err *err)
{
	unsigned long ssl_err = session_io_ssl_error(s->client.io);
	char buf[160];

	/*
	 * sockio reports a TCP close without close_notify, a reset, and a
	 * failed write (EPIPE) as EOF; the
	 * socket tells a close from a reset, and a write only fails towards
	 * a client that is gone.
	 */
	if (what & SOCKIO_EOF)
		sys_errno = relay_socket_reset(s->fd) ? ECONNRESET :
		    (what & SOCKIO_WRITING) ? EPIPE : 0;
	if (ssl_err != 0 && sys_errno != ECONNRESET && sys_errno != EPIPE) {
		ERR_error_string_n(ssl_err, buf, sizeof(buf));
		tb_err_set(err, CR_CLIENT_TLS_FAILED, phase,
		    "TLS error from the client: %s", buf);
	} else
		diag_from_client_errno(err, sys_errno, phase);
}

void
session_tls_idle(struct session *s)
{
	if (s->rec != NULL) {
		tlsrec_idle(s->rec);
		return;
	}
	if (s->ssl == NULL || !tlsrec_can_take(s->ssl) ||
	    (s->rec = tlsrec_take(s->ssl, s->fd, &s->tinfo)) == NULL)
		return;
	SSL_free(s->ssl);
	s->ssl = NULL;
	if (session_listener_metrics(s) != NULL)
		metrics_add(&session_listener_metrics(s)->tls_released, 1);
}

int
session_client_io(struct session *s)
{
	struct tb_err err;

	/*
	 * The session keeps owning fd and ssl: the sockio is only a view of
	 * them, freed while an http connection is parked (http_conn.c).
	 * No ssl: a plain session of session_accept_plain() (tests only).
	 */
	s->client.io = sockio_new(s->w->base, s->fd, s->ssl, 0);
	if (s->client.io == NULL) {
		tb_err_set(&err, CR_INTERNAL, PHASE_EXCHANGE,
		    "cannot create the client connection's buffers");
		session_close(s, &err);
		return -1;
	}
	if (s->rec != NULL)
		sockio_use_tlsrec(s->client.io, s->rec);
	relay_setup(s->client.io);
	s->client.sess = s;
	s->client.peer = &s->upstream;
	s->upstream.sess = s;
	s->upstream.peer = &s->client;
	return 0;
}

struct pool *
session_pool_for(struct session *s, const struct route_conf *rc)
{
	if (rc == NULL || s->gen != s->w->gen || rc->pool_base >= s->w->npools)
		return NULL;
	return &s->w->pools[rc->pool_base];	/* its first address's */
}

static bool
listener_has_http(const struct conf *conf, unsigned li)
{
	unsigned i;

	for (i = 0; i < conf->nroutes; i++)
		if (conf->routes[i].listener_index == li &&
		    conf->routes[i].mode == ROUTE_MODE_HTTP)
			return true;
	return false;
}

/* Chooses the mode: a tcp route by SNI, else http if the listener has http routes. */
static void
session_route(struct session *s)
{
	const struct conf *conf = s->gen->conf;
	struct tb_err err;

	s->rc = route_match_tcp(conf, s->li, s->sni);
	if (s->rc != NULL)
		s->mode = &tcp_mode;
	else if (listener_has_http(conf, s->li))
		s->mode = &http_mode;
	else {
		tb_err_set(&err, CR_NO_ROUTE, PHASE_ROUTE,
		    "no tcp route of listener %s matches SNI '%s'",
		    conf->listeners[s->li].name, s->sni != NULL ? s->sni : "");
		session_close(s, &err);
		return;
	}
	s->mode->start(s);
}

/* ---- inbound handshake ----------------------------------------------------- */

/*
 * A client spoke plain HTTP to the TLS port (an http:// URL): answer it in
 * plain HTTP, as nginx does, so the caller's log says what to fix instead
 * of showing a reset.  Best effort, one non-blocking write.
 */
static void
session_answer_plain_http(struct session *s)
{
	size_t len;
	const char *msg = reply_tls_only(&len);

	if (s->fd != -1 && send(s->fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL) == -1)
		log_debug("conn=%llu: plain HTTP answer not sent: %s",
		    (unsigned long long)s->id, strerror(errno));
}

static void
session_client_hs_failed(struct session *s, const struct tls_hs_result *res)
{
	const struct listener_conf *lc = &s->gen->conf->listeners[s->li];
	struct tb_err err;

	if (s->tinfo.offered_max != 0 && s->tinfo.offered_max < lc->min_tls) {
		s->offered = tls_version_str(s->tinfo.offered_max);
		tb_err_set(&err, CR_CLIENT_TLS_VERSION, PHASE_CLIENT_HANDSHAKE,
		    "client offered %s at most; listener %s requires %s or later",
		    s->offered, lc->name, tls_version_str(lc->min_tls));
	} else if (res->timeout)
		tb_err_set(&err, CR_CLIENT_TIMEOUT, PHASE_CLIENT_HANDSHAKE,
		    "no TLS handshake within handshake_timeout (%llu ms)",
		    (unsigned long long)lc->handshake_timeout_ms);
	else if ((res->ssl_error == SSL_ERROR_SYSCALL && res->err == 0) ||
	    res->ssl_error == SSL_ERROR_ZERO_RETURN)
		diag_from_client_errno(&err, res->ssl_error == SSL_ERROR_SYSCALL ?
		    res->sys_errno : 0, PHASE_CLIENT_HANDSHAKE);
	else {
		struct tls_failure f;

		memset(&f, 0, sizeof(f));
		f.ssl_err = res->err;
		f.sys_errno = res->sys_errno;
		f.alert_recv = s->tinfo.alert_recv;
		f.alert_sent = s->tinfo.alert_sent;
		f.offered = tls_version_str(s->tinfo.offered_max);
		diag_from_client_tls(&err, &f);
		if (err.cause == DIAG_CAUSE_NOT_TLS)
			session_answer_plain_http(s);
	}
	session_close(s, &err);
}

static void
session_client_hs_done(void *arg, const struct tls_hs_result *res)
{
	struct session *s = session_from_arg(arg);
	struct metrics_listener *ml;
	const char *sni;
	char name[256];

	if (!res->ok) {
		if ((ml = session_listener_metrics(s)) != NULL)
			metrics_inc(&ml->handshake_failures);
		session_client_hs_failed(s, res);
		return;
	}
	s->tls = tls_version_str(SSL_version(s->ssl));
	if ((ml = session_listener_metrics(s)) != NULL)
		metrics_inc(&ml->tls[metrics_tls_slot(SSL_version(s->ssl))]);
	s->cipher = SSL_get_cipher_name(s->ssl);
	if ((sni = SSL_get_servername(s->ssl, TLSEXT_NAMETYPE_host_name)) != NULL &&
	    route_host_normalize(sni, strlen(sni), name, sizeof(name)))
		s->sni = strdup(name);	/* none on ENOMEM: routed as no SNI */
	session_route(s);
}

/* ---- accept ------------------------------------------------------------- */

/* Audits a client refused by the allow list: no session, no TLS work. */
static void
session_deny(struct worker *w, const struct listener_conf *lc,
    const char *client)
{
	struct audit_rec rec;

	audit_rec_init(&rec);
	rec.ts_ms = wall_ms();
	rec.worker = w->id;
	rec.conn = worker_next_conn_id();
	rec.listener = lc->name;
	rec.client = client;
	rec.total_ms = 0;
	tb_err_set(&rec.err, CR_CLIENT_DENIED, PHASE_ACCEPT,
	    "%s is not in the allow list of listener %s", client, lc->name);
	audit_write(&rec);
	metrics_exchange(w->metrics, -1, &rec);	/* the status page's failures only */
	if (w->metrics != NULL && lc->metrics_id >= 0)
		metrics_inc(&w->metrics->listeners[lc->metrics_id].denied);
	log_info("conn=%llu client=%s close=client_denied listener=%s",
	    (unsigned long long)rec.conn, client, lc->name);
}

void
session_start_tls(struct session *s)
{
	uint64_t limit = s->gen->conf->listeners[s->li].handshake_timeout_ms;
	uint64_t spent = now_ms() - s->t_start;
	struct tb_err err;

	/* the timer may have waited for a PROXY header: the handshake has its own */
	session_timer_set(s, SESSION_TIMER_NONE, -1, 0, session_timer_none_cb);
	if ((s->ssl = tls_server_ssl_new(s->gen->servers[s->li])) == NULL)
		goto err;
	tlsio_attach(s->ssl, &s->tinfo);
	if (SSL_set_fd(s->ssl, s->fd) != 1)
		goto err;
	SSL_set_accept_state(s->ssl);
	session_set_state(s, SESSION_ST_HANDSHAKE);
	if (tls_hs_start(&s->hs, s->w->base, s->ssl, s->fd, spent < limit ?
	    limit - spent : 1, session_client_hs_done, s) == -1)
		goto err;
	return;
err:
	tb_err_set(&err, CR_INTERNAL, PHASE_ACCEPT, "out of memory");
	session_close(s, &err);
}

/*
 * A published session for fd with its timer, or NULL (fd closed) when
 * out of memory.  Everything is allocated before the session is
 * published (listed, counted), so a failure has nothing to undo.
 */
static struct session *
session_new(struct worker *w, unsigned li, int fd, const char *client)
{
	struct session *s;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->timer = evtimer_new(w->base, session_timer_none_cb, s)) == NULL) {
		log_warnx("out of memory: dropping client %s", client);
		free(s);
		close(fd);
		return NULL;
	}
	s->magic = SESSION_MAGIC;
	s->w = w;
	s->gen = gen_ref(w->gen);
	s->li = li;
	s->fd = fd;
	s->id = worker_next_conn_id();
	s->t_start = now_ms();
	tls_info_init(&s->tinfo);
	s->ts_ms = wall_ms();
	snprintf(s->client_addr, sizeof(s->client_addr), "%s", client);
	worker_session_add(w, s);
	if (session_listener_metrics(s) != NULL) {
		metrics_inc(&session_listener_metrics(s)->connections);
		metrics_add(&session_listener_metrics(s)->open, 1);
	}
	sockopt_tcp(fd, w->gen->conf->broker.tcp_keepalive_ms);
	return s;
}

void
session_accept(struct worker *w, unsigned li, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	const struct listener_conf *lc = &w->gen->conf->listeners[li];
	struct session *s;
	struct tb_err err;
	char client[64];
	bool proxied;

	(void)salen;
	sockaddr_format(sa, true, client, sizeof(client));
	/* A balancer is not the caller: the allow list waits for its PROXY header. */
	proxied = listener_proxy_trusted(lc, sa);
	if (!proxied && lc->allow.count > 0 && !cidr_list_match(&lc->allow, sa)) {
		session_deny(w, lc, client);
		close(fd);
		return;
	}
	if ((s = session_new(w, li, fd, client)) == NULL)
		return;
	if (lc->proxy_protocol == PROXY_MODE_OFF)
		session_start_tls(s);
	else if (listener_proxy_wait(s, proxied) == -1) {
		tb_err_set(&err, CR_INTERNAL, PHASE_ACCEPT, "out of memory");
		session_close(s, &err);
	}
}

/*
 * Tests only (tests/fuzz/fuzz_session.c): an http session on a connected
 * plain socket, as if its TLS handshake had just finished without SNI.
 * The daemon never calls it.
 */
struct session *
session_accept_plain(struct worker *w, unsigned li, int fd,
    const struct sockaddr *sa)
{
	struct session *s;
	char client[64];

	sockaddr_format(sa, true, client, sizeof(client));
	if ((s = session_new(w, li, fd, client)) == NULL)
		return NULL;
	s->mode = &http_mode;
	s->mode->start(s);
	return s;
}

