/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "conf.h"
#include "gen.h"
#include "log.h"
#include "metrics.h"
#include "proxy_proto.h"
#include "session.h"
#include "tlsio.h"
#include "worker.h"

#define LISTEN_BACKLOG 1024

/* What an evconnlistener callback needs to know: its worker and listener. */
struct listener_arg {
	struct worker *w;
	unsigned li;
};

static int
bind_one(const struct listener_conf *lc, int backlog, struct conf_errors *errs)
{
	struct addrinfo hints, *res = NULL;
	const char *host = lc->bind.host;
	char port[8], section[300];
	int fd = -1, one = 1, r;

	snprintf(port, sizeof(port), "%u", lc->bind.port);
	snprintf(section, sizeof(section), "listener %s", lc->name);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (host[0] == '\0' || strcmp(host, "*") == 0)
		host = NULL;
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		conf_errors_add_at(errs, &lc->at[LISTENER_KEY_BIND], section, "bind",
		    "cannot resolve '%s': %s", lc->bind.host, gai_strerror(r));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto err;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1)
		goto err;
	if (res->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, backlog) == -1)
		goto err;
	freeaddrinfo(res);
	return fd;
err:
	conf_errors_add_at(errs, &lc->at[LISTENER_KEY_BIND], section, "bind",
	    "cannot listen on %s:%u: %s", lc->bind.host, lc->bind.port,
	    strerror(errno));
	if (fd != -1)
		close(fd);
	freeaddrinfo(res);
	return -1;
}

/* An empty set (every socket -1) for conf's listeners and nworkers workers; 0 / -1. */
static int
listener_set_alloc(struct listener_set *ls, const struct conf *conf,
    unsigned nworkers)
{
	unsigned i;

	ls->nlisteners = conf->nlisteners;
	ls->nworkers = nworkers;
	ls->fds = calloc((size_t)conf->nlisteners * nworkers + 1, sizeof(int));
	if (ls->fds == NULL)
		return -1;
	for (i = 0; i < conf->nlisteners * nworkers; i++)
		ls->fds[i] = -1;
	return 0;
}

/*
 * Binds listener li's one socket and gives each worker a descriptor of it
 * (dup), so every worker accepts from the same queue and the balance below
 * decides who takes a connection; the backlog is what one socket per worker
 * had in all.  0, or -1 after adding an error.
 */
static int
listener_bind_workers(struct listener_set *ls, const struct conf *conf,
    unsigned li, struct conf_errors *errs)
{
	const struct listener_conf *lc = &conf->listeners[li];
	char section[300];
	unsigned wi;
	int fd;

	fd = bind_one(lc, LISTEN_BACKLOG * (int)ls->nworkers, errs);
	if (fd == -1)
		return -1;
	ls->fds[li * ls->nworkers] = fd;
	for (wi = 1; wi < ls->nworkers; wi++) {
		if ((fd = fcntl(ls->fds[li * ls->nworkers], F_DUPFD_CLOEXEC, 0)) == -1) {
			snprintf(section, sizeof(section), "listener %s", lc->name);
			conf_errors_add_at(errs, &lc->at[LISTENER_KEY_BIND], section,
			    "bind", "cannot share %s:%u with worker %u: %s",
			    lc->bind.host, lc->bind.port, wi, strerror(errno));
			return -1;
		}
		ls->fds[li * ls->nworkers + wi] = fd;
	}
	return 0;
}

int
listener_set_bind(struct listener_set *ls, const struct conf *conf,
    unsigned nworkers, struct conf_errors *errs)
{
	unsigned li, failed = 0;

	if (listener_set_alloc(ls, conf, nworkers) == -1)
		return -1;
	/* Every listener is tried, so every bind error is reported. */
	for (li = 0; li < conf->nlisteners; li++)
		if (listener_bind_workers(ls, conf, li, errs) == -1)
			failed++;
	if (failed != 0) {
		listener_set_close(ls);
		return -1;
	}
	return 0;
}

/* The index of the listener of oldconf bound where lc wants to be, or -1. */
static int
same_bind(const struct listener_conf *lc, const struct conf *oldconf)
{
	unsigned i;

	for (i = 0; i < oldconf->nlisteners; i++)
		if (oldconf->listeners[i].bind.port == lc->bind.port &&
		    strcmp(oldconf->listeners[i].bind.host, lc->bind.host) == 0)
			return (int)i;
	return -1;
}

int
listener_set_rebind(struct listener_set *ls, struct listener_set *old,
    const struct conf *conf, const struct conf *oldconf,
    struct conf_errors *errs)
{
	unsigned li, wi, nw = old->nworkers, failed = 0;
	int oi;

	if (listener_set_alloc(ls, conf, nw) == -1)
		return -1;
	/* First bind what is new, so a failure leaves old untouched. */
	for (li = 0; li < conf->nlisteners && failed == 0; li++)
		if (same_bind(&conf->listeners[li], oldconf) == -1 &&
		    listener_bind_workers(ls, conf, li, errs) == -1)
			failed++;
	if (failed != 0) {
		listener_set_close(ls);
		return -1;
	}
	for (li = 0; li < conf->nlisteners; li++) {
		if ((oi = same_bind(&conf->listeners[li], oldconf)) == -1)
			continue;
		for (wi = 0; wi < nw; wi++) {
			ls->fds[li * nw + wi] = old->fds[(unsigned)oi * nw + wi];
			old->fds[(unsigned)oi * nw + wi] = -1;
		}
	}
	return 0;
}

void
listener_set_stop(struct listener_set *ls)
{
	unsigned i;

	for (i = 0; ls->fds != NULL && i < ls->nlisteners * ls->nworkers; i++)
		if (ls->fds[i] != -1)
			shutdown(ls->fds[i], SHUT_RDWR);
}

void
listener_set_close(struct listener_set *ls)
{
	unsigned i;

	for (i = 0; ls->fds != NULL && i < ls->nlisteners * ls->nworkers; i++)
		if (ls->fds[i] != -1)
			close(ls->fds[i]);
	free(ls->fds);
	ls->fds = NULL;
}

/* ---- balance ------------------------------------------------------------- */

/*
 * Every worker waits on the same socket, and the first to wake accepts,
 * so an idle loop would win most races; but connections stay for long
 * (keep-alive), and a worker left holding more of them than another
 * queues their requests while the other idles: its latency sets the tail.
 * So a worker holding more than LISTENER_BALANCE_MARGIN connections above
 * the least loaded worker that accepts steps aside (balance_paused) until
 * that one has caught up, as HAProxy hands each connection to its least
 * loaded thread.  SO_REUSEPORT's hash gave 64 connections out as 37/27 or
 * 39/25.
 *
 * Who resumes a worker that stepped aside: itself when one of its own
 * connections closes; a peer whose count rose to within the margin, or
 * that stopped accepting (limit, EMFILE, drain, reload), posts
 * WORKER_CMD_BALANCE to it.  Either side writes its own state before it
 * reads the other's (seq_cst), so of two changes at once one sees the
 * other: no worker waits for a wake that nobody sends.
 */
#define LISTENER_BALANCE_MARGIN 1

/* The fewest connections of w's peers that accept; UINT_MAX if none does. */
static unsigned
least_peer_load(const struct worker *w)
{
	unsigned i, n, least = UINT_MAX;

	for (i = 0; i < w->npeers; i++) {
		if (&w->peers[i] == w || !atomic_load(&w->peers[i].takes_conns))
			continue;
		n = atomic_load(&w->peers[i].nconns);
		if (n < least)
			least = n;
	}
	return least;
}

static bool
listener_ahead(const struct worker *w)
{
	unsigned least = least_peer_load(w);

	return least != UINT_MAX && w->nsessions > least + LISTENER_BALANCE_MARGIN;
}

/* Listening on or off, from every reason to pause. */
static void
listener_apply(struct worker *w)
{
	bool on = !w->accepting_paused && !atomic_load(&w->balance_paused);
	unsigned i;

	for (i = 0; i < w->nlev; i++) {
		if (on)
			evconnlistener_enable(w->lev[i]);
		else
			evconnlistener_disable(w->lev[i]);
	}
}

/* w can take connections, or stopped: tells the peers that stepped aside. */
static void
listener_set_takes(struct worker *w)
{
	unsigned i;

	atomic_store(&w->takes_conns, w->nlev > 0 && !w->accepting_paused &&
	    !w->draining);
	for (i = 0; i < w->npeers; i++)
		if (&w->peers[i] != w && atomic_load(&w->peers[i].balance_paused))
			worker_post(&w->peers[i], WORKER_CMD_BALANCE);
}

/* w's count rose: wakes a peer that stepped aside and is within the margin now. */
static void
listener_wake_peers(const struct worker *w)
{
	struct worker *p;
	unsigned i;

	for (i = 0; i < w->npeers; i++) {
		p = &w->peers[i];
		if (p != w && atomic_load(&p->balance_paused) &&
		    atomic_load(&p->nconns) <= w->nsessions + LISTENER_BALANCE_MARGIN)
			worker_post(p, WORKER_CMD_BALANCE);
	}
}

void
listener_balance(struct worker *w)
{
	if (atomic_load(&w->balance_paused)) {
		if (listener_ahead(w))
			return;
		atomic_store(&w->balance_paused, false);
		listener_apply(w);
		return;
	}
	if (w->nlev == 0 || !listener_ahead(w))
		return;
	/* say so first, then look again: a peer's change since then wakes us */
	atomic_store(&w->balance_paused, true);
	if (!listener_ahead(w)) {
		atomic_store(&w->balance_paused, false);
		return;
	}
	listener_apply(w);
}

static void
listener_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener_arg *la = arg;
	struct worker *w = la->w;

	(void)lev;
	session_accept(w, la->li, fd, sa, (socklen_t)salen);
	if (w->nsessions >= w->max_sessions && !w->accepting_paused) {
		log_notice("worker %u: %u connections, at its share of "
		    "max_connections: pausing accept", w->id, w->nsessions);
		listener_pause(w, true);
		return;
	}
	listener_wake_peers(w);
	listener_balance(w);
}

static void
listener_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	if (w->nsessions < w->max_sessions)
		listener_pause(w, false);
}

static void
listener_error_cb(struct evconnlistener *lev, void *arg)
{
	struct listener_arg *la = arg;
	struct timeval one_second = { 1, 0 };
	int e = EVUTIL_SOCKET_ERROR();

	(void)lev;
	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		/*
		 * Out of descriptors: retrying at once would spin.  A session
		 * that closes resumes accepting early (worker_session_del).
		 */
		log_warnx("worker %u: accept: %s; pausing accept for 1s%s",
		    la->w->id, strerror(e), e == EMFILE || e == ENFILE ?
		    " (the broker's descriptor limit: raise LimitNOFILE or "
		    "lower max_connections)" : "");
		listener_pause(la->w, true);
		event_add(la->w->resume_ev, &one_second);
		return;
	}
	log_warnx("worker %u: accept: %s", la->w->id, strerror(e));
}

int
listener_attach(struct worker *w, const struct listener_set *ls)
{
	struct listener_arg *args;
	unsigned li;

	w->lev = calloc(ls->nlisteners + 1, sizeof(*w->lev));
	args = calloc(ls->nlisteners + 1, sizeof(*args));
	w->resume_ev = evtimer_new(w->base, listener_resume_cb, w);
	if (w->lev == NULL || args == NULL || w->resume_ev == NULL) {
		free(args);
		return -1;
	}
	w->lev_args = args;
	for (li = 0; li < ls->nlisteners; li++) {
		args[li].w = w;
		args[li].li = li;
		/*
		 * Backlog 0: the socket listens already.  -1 would make
		 * libevent call listen(fd, 128) again, cutting LISTEN_BACKLOG
		 * to 128: a burst, or a pause on EMFILE, then overflows the
		 * accept queue and the kernel drops connections unseen.
		 */
		w->lev[li] = evconnlistener_new(w->base, listener_accept_cb,
		    &args[li], LEV_OPT_REUSEABLE, 0,
		    ls->fds[li * ls->nworkers + w->id]);
		if (w->lev[li] == NULL)
			return -1;
		evconnlistener_set_error_cb(w->lev[li], listener_error_cb);
		w->nlev++;
	}
	/* a pause (limit, EMFILE, balance) outlasts a reload's new listeners */
	listener_apply(w);
	listener_set_takes(w);
	return 0;
}

void
listener_detach(struct worker *w)
{
	unsigned i;

	for (i = 0; i < w->nlev; i++)
		evconnlistener_free(w->lev[i]);
	free(w->lev);
	free(w->lev_args);
	w->lev = NULL;
	w->lev_args = NULL;
	w->nlev = 0;
	listener_set_takes(w);
	if (w->resume_ev != NULL) {
		event_free(w->resume_ev);
		w->resume_ev = NULL;
	}
}

void
listener_pause(struct worker *w, bool pause)
{
	w->accepting_paused = pause;
	listener_apply(w);
	listener_set_takes(w);
}

/* ---- PROXY protocol ------------------------------------------------------ */

/*
 * The header's end is known only once its bytes are in, and reading past
 * it would take ClientHello bytes that OpenSSL must see.  So the bytes are
 * peeked at (MSG_PEEK), and only a complete header is read.  The event is
 * edge-triggered: the bytes left in the socket do not wake the loop again
 * until more arrive, so a header sent a byte at a time costs a wake-up per
 * segment, not a busy loop.
 */

bool
listener_proxy_trusted(const struct listener_conf *lc, const struct sockaddr *sa)
{
	/* an empty list would match everyone: conf_check refuses it, and so do we */
	return lc->proxy_protocol != PROXY_MODE_OFF && lc->proxy_trusted.count > 0 &&
	    cidr_list_match(&lc->proxy_trusted, sa);
}

static const struct listener_conf *
proxy_lc(const struct session *s)
{
	return &s->gen->conf->listeners[s->li];
}

/*
 * The caller is known: the one a PROXY header named (or the balancer
 * itself), to which the allow list applies now, or NULL when the socket's
 * peer stays the caller (session_accept checked it).
 */
static void
proxy_caller(struct session *s, const struct sockaddr *caller)
{
	const struct listener_conf *lc = proxy_lc(s);
	struct metrics_listener *ml = session_listener_metrics(s);
	struct tb_err err;

	event_del(s->timer);
	if (caller != NULL) {
		sockaddr_format(caller, true, s->client_addr, sizeof(s->client_addr));
		if (lc->allow.count > 0 && !cidr_list_match(&lc->allow, caller)) {
			if (ml != NULL)
				metrics_inc(&ml->denied);
			tb_err_set(&err, CR_CLIENT_DENIED, PHASE_ACCEPT,
			    "%s is not in the allow list of listener %s",
			    s->client_addr, lc->name);
			session_close(s, &err);
			return;
		}
	}
	session_start_tls(s);
}

/* Waits again, for what is left of handshake_timeout since the accept. */
static void
proxy_rearm(struct session *s)
{
	uint64_t limit = proxy_lc(s)->handshake_timeout_ms;
	uint64_t spent = now_ms() - s->t_start;

	session_timer_add(s, spent < limit ? limit - spent : 1);
}

/*
 * Peeks at up to cap bytes.  Returns their number, 0 when there is
 * nothing new yet, or -1 after closing s (EOF, error, or no complete
 * answer by the deadline; what names what was awaited).
 */
static ssize_t
proxy_peek(struct session *s, short what, uint8_t *buf, size_t cap,
    const char *awaited)
{
	const struct listener_conf *lc = proxy_lc(s);
	struct tb_err err;
	ssize_t n;

	if ((what & EV_TIMEOUT) || now_ms() - s->t_start >= lc->handshake_timeout_ms) {
		tb_err_set(&err, CR_CLIENT_TIMEOUT, PHASE_ACCEPT,
		    "no complete %s from %s within handshake_timeout (%llu ms)",
		    awaited, s->client_addr,
		    (unsigned long long)lc->handshake_timeout_ms);
		session_close(s, &err);
		return -1;
	}
	n = recv(s->fd, buf, cap, MSG_PEEK);
	if (n > 0)
		return n;
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	diag_from_client_errno(&err, n == 0 ? 0 : errno, PHASE_ACCEPT);
	session_close(s, &err);
	return -1;
}

static void
proxy_refuse(struct session *s, const char *what)
{
	struct tb_err err;

	tb_err_set(&err, CR_CLIENT_PROXY, PHASE_ACCEPT, "listener %s: %s",
	    proxy_lc(s)->name, what);
	session_close(s, &err);
}

/* What a trusted source sent instead of a PROXY header, for the refusal. */
static const char *
proxy_not_header(const uint8_t *buf)
{
	return buf[0] == 0x16 ? "a TLS ClientHello" : "bytes that are no PROXY header";
}

/* A trusted balancer's connection: its PROXY header names the caller. */
static void
listener_proxy_trusted_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = session_timer_arg(arg, SESSION_TIMER_PROXY);
	const struct listener_conf *lc = proxy_lc(s);
	uint8_t buf[PROXY_PROTO_MAX];
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	struct proxy_hdr hdr;
	struct tb_err err;
	char why[160], msg[300];
	ssize_t n;
	int r;

	if ((n = proxy_peek(s, what, buf, sizeof(buf), "PROXY header")) == -1)
		return;
	r = n == 0 ? 0 : proxy_proto_parse(buf, (size_t)n, &hdr, why, sizeof(why));
	if (r == 0) {
		proxy_rearm(s);
		return;
	}
	if (r == PROXY_PROTO_BAD || (r == PROXY_PROTO_NOT &&
	    lc->proxy_protocol == PROXY_MODE_ON)) {
		if (r == PROXY_PROTO_NOT)
			snprintf(why, sizeof(why), "no PROXY header (proxy_protocol "
			    "= on) but %s", proxy_not_header(buf));
		snprintf(msg, sizeof(msg), "%s from trusted %s", why, s->client_addr);
		proxy_refuse(s, msg);
		return;
	}
	/*
	 * Read exactly the header, which was peeked already: the ClientHello
	 * stays in the socket for OpenSSL.  LOCAL, UNKNOWN or no header
	 * (optional) leave the balancer itself as the caller.
	 */
	if ((r > 0 && recv(fd, buf, (size_t)r, 0) != r) || ((r < 0 || hdr.local) &&
	    getpeername(fd, (struct sockaddr *)&peer, &plen) == -1)) {
		diag_from_client_errno(&err, errno != 0 ? errno : EIO, PHASE_ACCEPT);
		session_close(s, &err);
		return;
	}
	if (r > 0)
		log_debug("conn=%llu: PROXY v%d from %s%s", (unsigned long long)s->id,
		    hdr.version, s->client_addr, hdr.local ? " (local)" : "");
	proxy_caller(s, (struct sockaddr *)(r > 0 && !hdr.local ?
	    &hdr.src : &peer));
}

/* Anybody else: the socket's peer is the caller, and may not say otherwise. */
static void
listener_proxy_direct_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = session_timer_arg(arg, SESSION_TIMER_PROXY);
	uint8_t buf[PROXY_PROTO_SIG_LEN];
	char msg[200];
	ssize_t n;
	int d;

	(void)fd;
	if ((n = proxy_peek(s, what, buf, sizeof(buf), "TLS ClientHello")) == -1)
		return;
	d = n == 0 ? 0 : proxy_proto_detect(buf, (size_t)n);
	if (d == 0) {
		proxy_rearm(s);
		return;
	}
	if (d == 1) {
		snprintf(msg, sizeof(msg), "PROXY header from %s, which is not "
		    "in proxy_trusted", s->client_addr);
		proxy_refuse(s, msg);
		return;
	}
	proxy_caller(s, NULL);
}

int
listener_proxy_wait(struct session *s, bool trusted)
{
	session_timer_set(s, SESSION_TIMER_PROXY, s->fd,
	    EV_READ | EV_ET | EV_PERSIST,
	    trusted ? listener_proxy_trusted_cb : listener_proxy_direct_cb);
	proxy_rearm(s);
	return event_pending(s->timer, EV_READ, NULL) ? 0 : -1;
}
