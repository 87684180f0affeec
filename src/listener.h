/* SPDX-License-Identifier: MIT */
/*
 * listener: the inbound sockets.  At start (as root, before privileges are
 * dropped) it binds one socket per listener and gives every worker a
 * descriptor of it, so all workers accept from one queue; a worker holding
 * more connections than its least loaded peer steps aside until that one
 * catches up (listener.c: balance), so keep-alive connections spread
 * evenly, which a per-worker SO_REUSEPORT hash did not (37/27 of 64).  It
 * attaches an evconnlistener per descriptor to its worker, pauses accepting at
 * the worker's connection limit or for a second after EMFILE (relayd), and
 * hands each accepted socket to session_accept().  The sockets stay owned
 * by the listener_set, so a worker can stop accepting without closing them.
 * On a proxy_protocol listener it also reads the PROXY header a trusted
 * balancer sends before the ClientHello (proxy_proto.c parses it), and
 * refuses one from anybody else, before the session's TLS work starts.
 */
#ifndef TLSBROKER_LISTENER_H
#define TLSBROKER_LISTENER_H

#include <stdbool.h>

struct conf;
struct conf_errors;
struct listener_conf;
struct session;
struct sockaddr;
struct worker;

struct listener_set {
	unsigned nlisteners;
	unsigned nworkers;
	int *fds;		/* owned: [listener * nworkers + worker] */
};

/* Binds and listens; returns 0, or -1 after adding "FILE:LINE: ..." errors. */
int listener_set_bind(struct listener_set *ls, const struct conf *conf,
    unsigned nworkers, struct conf_errors *errs);
void listener_set_close(struct listener_set *ls);

/*
 * Drain: stops listening on every socket of ls at once (shutdown(2)), so
 * new clients are refused instead of waiting in a backlog nobody accepts
 * from.  The descriptors stay open until listener_set_close().
 */
void listener_set_stop(struct listener_set *ls);

/*
 * Reload: builds ls for conf, taking over the sockets of old (built for
 * oldconf) whose bind address is unchanged, so no connection is refused
 * while the configuration changes, and binding the others.  The sockets
 * of old not taken over stay in old: the caller closes them once no
 * worker accepts on them.  On failure nothing is moved: returns -1 with
 * errors added.
 */
int listener_set_rebind(struct listener_set *ls, struct listener_set *old,
    const struct conf *conf, const struct conf *oldconf,
    struct conf_errors *errs);

/* Attaches worker w to its sockets; 0 / -1. */
int listener_attach(struct worker *w, const struct listener_set *ls);
/* Stops accepting for good (drain); the sockets stay open in ls. */
void listener_detach(struct worker *w);
/* Pauses or resumes accepting (connection limit, EMFILE). */
void listener_pause(struct worker *w, bool pause);
/*
 * Balance (w's thread): steps aside while w holds more connections than
 * its least loaded accepting peer by the margin, resumes once it does
 * not.  Run when w's count fell or a peer posted WORKER_CMD_BALANCE.
 */
void listener_balance(struct worker *w);

/*
 * True if lc reads PROXY headers and sa is one of its proxy_trusted
 * balancers: the allow list then applies to the caller the header names.
 */
bool listener_proxy_trusted(const struct listener_conf *lc,
    const struct sockaddr *sa);

/*
 * Waits, on s->timer and within the listener's handshake_timeout, for
 * the first bytes of s (accepted on a proxy_protocol listener).  From a
 * trusted source it reads the PROXY header (required with proxy_protocol
 * = on) and consumes exactly its bytes; from any other source it only
 * peeks, to refuse one that sends a PROXY header.  Then it applies the
 * allow list to the caller the header named and calls
 * session_start_tls(), or closes s with client_proxy, client_denied,
 * client_timeout, client_closed or client_reset.  0, or -1 if the event
 * could not be added (s is still the caller's).
 */
int listener_proxy_wait(struct session *s, bool trusted);

#endif
