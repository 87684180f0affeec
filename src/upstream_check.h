/* SPDX-License-Identifier: MIT */
/*
 * upstream_check: the active health checks of routes with health_check =
 * tls or http.  Every health_check_interval each address of such a route
 * gets a connection of its own (no pool, no failover): for tls the TCP
 * connect and the route's TLS handshake (the connect alone when
 * upstream_tls = off), for http that plus "GET health_check_path" whose
 * status must be health_check_status (any 2xx or 3xx by default).  The
 * result feeds the address's shared health (upstream_set.c), the same
 * state real traffic feeds.
 *
 * The checks run once per process, on worker 0: health is shared by every
 * worker, so one check per interval and address is all the state needs,
 * and checks per worker would multiply the load on endpoints that are
 * fragile to begin with.  It does not decide what is down (upstream_set.c).
 */
#ifndef TLSBROKER_UPSTREAM_CHECK_H
#define TLSBROKER_UPSTREAM_CHECK_H

struct upstream_checker;
struct worker;

/* A checker for w's current generation, ticking from w's loop; NULL when out of memory. */
struct upstream_checker *upstream_check_new(struct worker *w);
/* Cancels the checks in flight and frees c (NULL is fine). */
void upstream_check_free(struct upstream_checker *c);

#endif
