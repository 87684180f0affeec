/* SPDX-License-Identifier: MIT */
/*
 * metrics: counters and latency histograms per route and per listener,
 * kept per worker (each worker only writes its own, with relaxed atomics,
 * so the hot path takes no lock) and summed when /metrics is scraped.
 * Routes and listeners are identified by name through an append-only
 * registry filled by the main thread when a generation is built, so a
 * counter survives reloads.  metrics_format() writes the Prometheus text
 * exposition format.  For the status page each worker also keeps, under a
 * lock of its own that only failures and new upstream connections take
 * (never a request that went well), a ring of its recent failures and what
 * it last saw of each route's endpoint (address, up or down, certificate).
 * It does not serve HTTP (admin.c) nor render the page (status.c).
 */
#ifndef TLSBROKER_METRICS_H
#define TLSBROKER_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "diag.h"

struct audit_rec;
struct evbuffer;
struct gen;

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
	atomic_int_fast64_t tls_released;	/* ... whose SSL tlsrec replaced (gauge) */
};

/* Failed exchanges kept per worker for the status page, newest overwriting oldest. */
#define METRICS_FAILURES	32

/* One failed exchange, copied out of its audit record (whose strings do not last). */
struct metrics_failure {
	uint64_t seq;			/* 1, 2, ... per worker; 0 = an empty slot */
	uint64_t ts_ms;			/* wall-clock ms at the end of the exchange */
	unsigned worker;
	char route[64];			/* "" = matched no route */
	char listener[64];
	char client[64];
	char upstream[80];		/* "" = none reached */
	char method[16];
	char path[160];			/* as audited: query values removed */
	int status;			/* http status sent, 0 = none */
	enum close_reason code;
	enum diag_phase phase;
	char detail[256];
	const char *hint;		/* static text (diag_hint()) */
};

/* What one worker last saw of a route's endpoint. */
struct metrics_endpoint {
	char addr[64];			/* address of its last new connection, "" = none */
	uint64_t up_ms;			/* wall ms: last connection (and handshake) made */
	uint64_t down_ms;		/* wall ms: last one that failed to connect or handshake */
	enum close_reason down_code;	/* why */
	int64_t cert_not_after;		/* its certificate at up_ms: epoch s, 0 = none (plain) */
	char cert_subject[128];
};

struct metrics_worker {
	struct metrics_route routes[METRICS_MAX_ROUTES];
	struct metrics_listener listeners[METRICS_MAX_LISTENERS];
	/* The status page's; the owning worker writes, the main thread reads. */
	pthread_mutex_t lock;		/* guards the fields below */
	struct metrics_endpoint endpoints[METRICS_MAX_ROUTES];
	struct metrics_failure failures[METRICS_FAILURES];
	uint64_t nfailures;		/* kept so far; the next goes to [n % METRICS_FAILURES] */
};

/* A route as the status page shows it: sums over every worker. */
struct metrics_route_view {
	uint64_t closes[CR__COUNT];	/* finished exchanges by close reason, since start */
	int64_t up_open, up_idle;	/* upstream connections now: all, idle in the pool */
	struct metrics_endpoint ep;	/* the newest of the workers' (addr, up, down, cert) */
#define METRICS_VIEW_ADDRS 4
	char addrs[METRICS_VIEW_ADDRS][64];	/* distinct last addresses over workers */
	unsigned naddrs;
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

/*
 * One finished exchange from its audit record: metrics_request(), and for
 * a failure (anything but ok, client_closed and idle_timeout, the normal
 * ends) a copy in the worker's ring of recent failures; a failure to reach
 * the endpoint (dns, connect or handshake) also marks the route down.
 * route may be -1 (no route id: refused before routing).
 */
void metrics_exchange(struct metrics_worker *m, int route,
    const struct audit_rec *rec);

/*
 * A new upstream connection of route is ready (after its handshake, if
 * TLS): the endpoint is up at addr; cert is the certificate it showed
 * (NULL for plain), whose expiry /metrics reports.  Not per request: only
 * when a connection is made.
 */
void metrics_upstream_up(struct metrics_worker *m, int route, const char *addr,
    const X509 *cert);

/* Main thread only: registered route names (ids 0 .. n-1; 0 is "-"). */
int metrics_route_count(void);
const char *metrics_route_name(int id);

/* Main thread only: route id's sums and endpoint over every worker. */
void metrics_route_view(int id, struct metrics_route_view *v);

/*
 * Main thread only: up to max of the most recent failures over every
 * worker, newest first, into out; returns how many.
 */
size_t metrics_recent_failures(struct metrics_failure *out, size_t max);

/* notAfter of cert in seconds since the epoch, 0 if unreadable. */
int64_t metrics_cert_not_after(const X509 *cert);
/* cert's subject as "CN=...,O=..." (RFC 2253) into buf; "" if none. */
void metrics_cert_subject(const X509 *cert, char *buf, size_t cap);
void metrics_inc(atomic_uint_fast64_t *c);
void metrics_add(atomic_int_fast64_t *g, int64_t delta);

/*
 * Main thread only.  Appends the whole exposition to out: every worker
 * block ever allocated is summed (so a counter never goes backwards),
 * every registered name gets its series, zero-valued or not; nworkers is
 * reported as the tlsbroker_workers gauge.  With gen (the running
 * generation, may be NULL) it adds the expiry of each listener's
 * certificates and of each route's endpoint certificate seen last.  0, or
 * -1 when out could not grow.
 */
int metrics_format(struct evbuffer *out, unsigned nworkers,
    const struct gen *gen);

/* Frees every worker block and empties the registry (at exit). */
void metrics_free(void);

#endif
