/* SPDX-License-Identifier: MIT */
/*
 * metrics: counters and latency histograms per route and per listener,
 * kept per worker (each worker only writes its own, with relaxed atomics,
 * so the hot path takes no lock) and summed when /metrics is scraped.
 * Routes and listeners are identified by name through an append-only
 * registry filled by the main thread when a generation is built, so a
 * counter survives reloads.  metrics_format() writes the Prometheus text
 * exposition format.  It does not serve HTTP (admin.c).
 */
#ifndef TLSBROKER_METRICS_H
#define TLSBROKER_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "diag.h"

struct evbuffer;

#define METRICS_MAX_ROUTES	512	/* names ever seen, over all reloads */
#define METRICS_MAX_LISTENERS	128
#define METRICS_MAX_WORKERS	64
/* Latency buckets in ms (upper bounds); the last one is +Inf. */
#define METRICS_NBUCKETS	12
/* Inbound TLS versions counted per listener, see metrics_tls_slot(). */
#define METRICS_TLS_SLOTS	5

struct metrics_route {
	atomic_uint_fast64_t requests[6];	/* by status class: [0] none, [1] 1xx ... [5] 5xx */
	atomic_uint_fast64_t closes[CR__COUNT];	/* by close reason */
	atomic_uint_fast64_t up_opened;		/* upstream connections opened */
	atomic_uint_fast64_t up_reused;		/* requests on a pooled connection */
	atomic_uint_fast64_t up_handshakes;	/* upstream TLS handshakes */
	atomic_uint_fast64_t up_resumed;	/* ... of which resumed */
	atomic_uint_fast64_t retries;		/* stale keep-alive retries */
	atomic_uint_fast64_t latency[METRICS_NBUCKETS];	/* total_ms histogram */
	atomic_uint_fast64_t latency_sum_ms;
	atomic_int_fast64_t up_open;		/* upstream connections open now (gauge) */
	atomic_int_fast64_t up_idle;		/* ... of which idle in the pool (gauge) */
};

struct metrics_listener {
	atomic_uint_fast64_t connections;	/* accepted */
	atomic_uint_fast64_t denied;		/* refused by the allow list */
	atomic_uint_fast64_t tls[METRICS_TLS_SLOTS];	/* inbound versions: 1.0 1.1 1.2 1.3 other */
	atomic_uint_fast64_t handshake_failures;
	atomic_int_fast64_t open;		/* open connections now (gauge) */
	atomic_int_fast64_t parked;		/* ... of which idle with buffers released (gauge) */
};

struct metrics_worker {
	struct metrics_route routes[METRICS_MAX_ROUTES];
	struct metrics_listener listeners[METRICS_MAX_LISTENERS];
};

/*
 * Route id of the pseudo-route "-": exchanges that matched no route
 * (no_route, bad_request before routing, ...).  Always registered, so
 * metrics_request(m, METRICS_ROUTE_NONE, 404, CR_NO_ROUTE, ms) is counted
 * as tlsbroker_requests_total{route="-",class="4xx"} and
 * tlsbroker_closes_total{route="-",reason="no_route"}.
 */
#define METRICS_ROUTE_NONE	0

/*
 * Main thread only: the id of a name, registering it if new; -1 when full
 * or name is NULL.  An id never changes for the life of the process, so
 * workers keep ids in their conf structs and never read the registry.
 * metrics_route_id("-") is METRICS_ROUTE_NONE.
 */
int metrics_route_id(const char *name);
int metrics_listener_id(const char *name);

/*
 * The block of worker w (0..METRICS_MAX_WORKERS-1), zeroed and allocated
 * on first use (lock-free, safe from any thread); NULL if w is out of range
 * or memory ran out.  The same pointer for the life of the process.
 */
struct metrics_worker *metrics_worker(unsigned w);

/* Slot of tls[] for an inbound version (TLS1_VERSION ... TLS1_3_VERSION). */
int metrics_tls_slot(int version);

/*
 * Hot-path helpers (relaxed atomics, no lock).  metrics_request() counts
 * one finished exchange: requests[] by the class of status (0 or anything
 * outside 100..599 is class "none"), closes[code], the latency bucket of
 * total_ms (negative counts as 0) and the sum.  m == NULL or route < 0 is
 * ignored, as are NULL counters in metrics_inc() / metrics_add().
 */
void metrics_request(struct metrics_worker *m, int route, int status,
    enum close_reason code, int64_t total_ms);
void metrics_inc(atomic_uint_fast64_t *c);
void metrics_add(atomic_int_fast64_t *g, int64_t delta);

/*
 * Main thread only.  Appends the whole exposition to out: every worker
 * block ever allocated is summed (so a counter never goes backwards),
 * every registered name gets its series, zero-valued or not; nworkers is
 * reported as the tlsbroker_workers gauge.  0, or -1 when out could not
 * grow.
 */
int metrics_format(struct evbuffer *out, unsigned nworkers);

/* Frees every worker block and empties the registry (at exit). */
void metrics_free(void);

#endif
