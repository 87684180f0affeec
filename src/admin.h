/* SPDX-License-Identifier: MIT */
/*
 * admin: the loopback HTTP endpoint for operators and monitoring, served
 * by libevent's evhttp on the main thread's event base: GET /metrics (the
 * Prometheus text exposition from metrics.c), GET /healthz (liveness: "ok"
 * plus a short status line set by the daemon), GET /readyz (readiness:
 * 503 once a drain starts) and GET / or /status (the status page of
 * status.c).  Every request from an address
 * other than loopback gets 403, whatever the bind address.  It does not
 * choose or check the address (conf_check.c) nor count anything itself.
 */
#ifndef TLSBROKER_ADMIN_H
#define TLSBROKER_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

struct admin;
struct event_base;
struct gen;

/*
 * Binds host:port (a name or an IPv4/IPv6 literal without brackets) and
 * serves on base, which must run on the thread that calls metrics_format()
 * (the main thread).  nworkers is reported by /metrics.  Returns the
 * server, or NULL with the reason in err ("admin 127.0.0.1:9180: bind:
 * Address already in use").
 */
struct admin *admin_start(struct event_base *base, const char *host,
    unsigned port, unsigned nworkers, char *err, size_t errlen);

/* Closes the socket and every admin connection; NULL is fine. */
void admin_stop(struct admin *a);

/* Sets the status line /healthz shows after "ok" (copied, truncated to 255 bytes). */
void admin_set_status(struct admin *a, const char *status);

/*
 * Sets what /readyz answers: 200 "ready" or 503 (not yet started, or
 * draining).  /healthz answers 200 whatever this says: it is liveness.
 */
void admin_set_ready(struct admin *a, bool ready);

/*
 * The generation the page and /metrics describe (routes, listeners,
 * certificates): takes a reference to gen and drops the previous one.
 */
void admin_set_gen(struct admin *a, struct gen *gen);

/* Changes the worker count /metrics reports (after a reload). */
void admin_set_workers(struct admin *a, unsigned nworkers);

/* The bound port (useful when port 0 was asked for); 0 if unknown. */
unsigned admin_port(const struct admin *a);

#endif
