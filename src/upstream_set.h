/* SPDX-License-Identifier: MIT */
/*
 * upstream_set: the endpoint addresses of one route and what the broker
 * knows of their health.  Owns the parsing of `upstream = a:443 weight=2,
 * b:443, c:443 backup`, the weighted pick of the next address (primaries
 * first, backups only when no primary is usable), passive health (an
 * address is marked down for upstream_fail_timeout after
 * upstream_max_fails consecutive connect or handshake failures, like
 * nginx's max_fails/fail_timeout), the route's circuit (every address down:
 * callers fail fast with upstream_down) and the log line of each down/up
 * transition.
 *
 * Health is shared by every worker thread: each address's state is a few
 * atomics in a process-wide registry keyed by route and address, so it
 * survives reloads like the metrics counters.  No lock is taken on the
 * request path; a mutex guards only the registry's insertions, made when a
 * generation is built.  It does not connect (upstream.c), pool (pool.c) or
 * run the active checks (upstream_check.c).
 */
#ifndef TLSBROKER_UPSTREAM_SET_H
#define TLSBROKER_UPSTREAM_SET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "parse.h"

#define UPSET_MAX_ADDRS 16	/* addresses of one route (a bit each in a tried mask) */
#define UPSET_MAX_WEIGHT 100

/* One address as configured. */
struct upstream_addr {
	struct hostport hp;
	unsigned weight;	/* 1..UPSET_MAX_WEIGHT, default 1 */
	bool backup;		/* used only while no primary is usable */
};

/* What every worker knows of one address (registry slot, never freed). */
struct upstream_health {
	atomic_uint fails;			/* consecutive failures */
	atomic_bool down;			/* marked down, not yet seen working */
	atomic_uint_fast64_t down_until;	/* monotonic ms: no try before this */
	atomic_uint_fast64_t failures;		/* connect/handshake/check failures, total */
	char name[HOSTPORT_HOSTLEN + 8];	/* "host:port" as configured */
};

struct upstream_set {
	char route[64];				/* for log lines */
	unsigned n;
	struct upstream_addr addrs[UPSET_MAX_ADDRS];
	struct upstream_health *health[UPSET_MAX_ADDRS];	/* registry slots, not owned */
	struct upstream_health *route_health;	/* its down flag: the circuit */
	unsigned max_fails;			/* 0 = never mark down */
	uint64_t fail_timeout_ms;
	atomic_uint_fast64_t rr;		/* weighted round-robin position */
};

/*
 * Parses "host:port [weight=N] [backup], ..." into out (max entries).
 * Returns the number of addresses, or -1 with a message in err
 * (PARSE_ERRLEN bytes).  At least one address must be a primary.
 */
int upstream_set_parse(const char *value, struct upstream_addr *out,
    unsigned max, char *err);

/*
 * A set for route with its n addresses and passive-health settings,
 * attached to the registry slots of (route, address).  NULL when out of
 * memory or the registry is full.
 */
struct upstream_set *upstream_set_new(const char *route,
    const struct upstream_addr *addrs, unsigned n, unsigned max_fails,
    uint64_t fail_timeout_ms);
void upstream_set_free(struct upstream_set *set);

/* Whether address i may be tried now: up, or its cool-down is over. */
bool upstream_set_usable(const struct upstream_set *set, unsigned i, uint64_t now);

/*
 * The next address to try, weighted round-robin among the usable
 * primaries not in tried (bit i = address i), else among the usable
 * backups.  Returns its index, or -1 when none is left.
 */
int upstream_set_pick(struct upstream_set *set, uint64_t now, unsigned tried);

/*
 * A connect, handshake or health-check result for address i.  A failure
 * counts towards max_fails (and marks the address down for fail_timeout
 * when it reaches it, or at once in its trial after a cool-down); a
 * success clears the count and brings it up.  Each transition of the
 * address and of the route's circuit is logged once.  A failure of real
 * traffic never marks the only address of a set down (as nginx with one
 * server); a failed active check does (upstream_set_check_failed).
 */
void upstream_set_failed(struct upstream_set *set, unsigned i, uint64_t now,
    const char *why);
void upstream_set_check_failed(struct upstream_set *set, unsigned i,
    uint64_t now, const char *why);
void upstream_set_ok(struct upstream_set *set, unsigned i);

/* True while every address is down (the circuit is open). */
bool upstream_set_all_down(const struct upstream_set *set, uint64_t now);
/* Milliseconds until the first address's cool-down ends (0 = one is usable). */
uint64_t upstream_set_retry_in(const struct upstream_set *set, uint64_t now);

/* Whether address i is marked down (for /metrics, probe, tests). */
bool upstream_set_is_down(const struct upstream_set *set, unsigned i);

#endif
