/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "listener.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "conf.h"
#include "log.h"
#include "session.h"
#include "worker.h"

#define LISTEN_BACKLOG 1024

/* What an evconnlistener callback needs to know: its worker and listener. */
struct listener_arg {
	struct worker *w;
	unsigned li;
};

static int
bind_one(const struct listener_conf *lc, struct conf_errors *errs)
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
		conf_errors_add_at(errs, &lc->bind_loc, section, "bind",
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
	    listen(fd, LISTEN_BACKLOG) == -1)
		goto err;
	freeaddrinfo(res);
	return fd;
err:
	conf_errors_add_at(errs, &lc->bind_loc, section, "bind",
	    "cannot listen on %s:%u: %s", lc->bind.host, lc->bind.port,
	    strerror(errno));
	if (fd != -1)
		close(fd);
	freeaddrinfo(res);
	return -1;
}

int
listener_set_bind(struct listener_set *ls, const struct conf *conf,
    unsigned nworkers, struct conf_errors *errs)
{
	unsigned li, wi, failed = 0;
	int fd;

	ls->nlisteners = conf->nlisteners;
	ls->nworkers = nworkers;
	ls->fds = calloc((size_t)conf->nlisteners * nworkers + 1, sizeof(int));
	if (ls->fds == NULL)
		return -1;
	for (li = 0; li < conf->nlisteners * nworkers; li++)
		ls->fds[li] = -1;
	for (li = 0; li < conf->nlisteners; li++) {
		for (wi = 0; wi < nworkers; wi++) {
			if ((fd = bind_one(&conf->listeners[li], errs)) == -1) {
				failed++;
				break;
			}
			ls->fds[li * nworkers + wi] = fd;
		}
	}
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
	int oi, fd;

	ls->nlisteners = conf->nlisteners;
	ls->nworkers = nw;
	if ((ls->fds = calloc((size_t)conf->nlisteners * nw + 1, sizeof(int))) == NULL)
		return -1;
	for (li = 0; li < conf->nlisteners * nw; li++)
		ls->fds[li] = -1;
	/* First bind what is new, so a failure leaves old untouched. */
	for (li = 0; li < conf->nlisteners && failed == 0; li++) {
		if (same_bind(&conf->listeners[li], oldconf) != -1)
			continue;
		for (wi = 0; wi < nw; wi++) {
			if ((fd = bind_one(&conf->listeners[li], errs)) == -1) {
				failed++;
				break;
			}
			ls->fds[li * nw + wi] = fd;
		}
	}
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
	}
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
		w->lev[li] = evconnlistener_new(w->base, listener_accept_cb,
		    &args[li], LEV_OPT_REUSEABLE, -1,
		    ls->fds[li * ls->nworkers + w->id]);
		if (w->lev[li] == NULL)
			return -1;
		evconnlistener_set_error_cb(w->lev[li], listener_error_cb);
		w->nlev++;
	}
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
	if (w->resume_ev != NULL) {
		event_free(w->resume_ev);
		w->resume_ev = NULL;
	}
}

void
listener_pause(struct worker *w, bool pause)
{
	unsigned i;

	w->accepting_paused = pause;
	for (i = 0; i < w->nlev; i++) {
		if (pause)
			evconnlistener_disable(w->lev[i]);
		else
			evconnlistener_enable(w->lev[i]);
	}
}
