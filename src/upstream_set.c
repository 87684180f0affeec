/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "upstream_set.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sockaddr.h"

/* ---- parsing --------------------------------------------------------------- */

/* One option after an address: weight=N or backup. */
static int
upstream_addr_option(const char *opt, struct upstream_addr *a, char *err)
{
	uint64_t w;
	char perr[PARSE_ERRLEN];

	if (strcmp(opt, "backup") == 0) {
		a->backup = true;
		return 0;
	}
	if (strncmp(opt, "weight=", 7) == 0) {
		if (parse_uint(opt + 7, 1, UPSET_MAX_WEIGHT, &w, perr) == -1) {
			snprintf(err, PARSE_ERRLEN, "%s: the weight must be a "
			    "number from 1 to %d", a->hp.host, UPSET_MAX_WEIGHT);
			return -1;
		}
		a->weight = (unsigned)w;
		return 0;
	}
	snprintf(err, PARSE_ERRLEN, "'%.60s' is not weight=N or backup "
	    "(after %.60s)", opt, a->hp.host);
	return -1;
}

/* "host:port [weight=N] [backup]": one comma-separated item, cut in place. */
static int
upstream_addr_parse(char *item, struct upstream_addr *a, char *err)
{
	char *tok, *save = NULL;

	memset(a, 0, sizeof(*a));
	a->weight = 1;
	if ((tok = strtok_r(item, " \t", &save)) == NULL) {
		snprintf(err, PARSE_ERRLEN, "an empty address in the list "
		    "(write host:port, host:port)");
		return -1;
	}
	if (parse_hostport(tok, -1, &a->hp, err) == -1)
		return -1;
	while ((tok = strtok_r(NULL, " \t", &save)) != NULL)
		if (upstream_addr_option(tok, a, err) == -1)
			return -1;
	return 0;
}

static bool
upstream_addr_same(const struct upstream_addr *a, const struct upstream_addr *b)
{
	return a->hp.port == b->hp.port && strcmp(a->hp.host, b->hp.host) == 0;
}

int
upstream_set_parse(const char *value, struct upstream_addr *out, unsigned max,
    char *err)
{
	char buf[4096], *item, *save = NULL;
	unsigned n = 0, i, primaries = 0;

	if (snprintf(buf, sizeof(buf), "%s", value) >= (int)sizeof(buf)) {
		snprintf(err, PARSE_ERRLEN, "the address list is too long");
		return -1;
	}
	for (item = strtok_r(buf, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		if (n == max) {
			snprintf(err, PARSE_ERRLEN, "more than %u addresses", max);
			return -1;
		}
		if (upstream_addr_parse(item, &out[n], err) == -1)
			return -1;
		for (i = 0; i < n; i++)
			if (upstream_addr_same(&out[i], &out[n])) {
				snprintf(err, PARSE_ERRLEN, "%.150s:%u is listed twice",
				    out[n].hp.host, out[n].hp.port);
				return -1;
			}
		primaries += !out[n].backup;
		n++;
	}
	if (n == 0) {
		snprintf(err, PARSE_ERRLEN, "no address (write host:port)");
		return -1;
	}
	if (primaries == 0) {
		snprintf(err, PARSE_ERRLEN, "every address is a backup: at least "
		    "one must be a primary");
		return -1;
	}
	return (int)n;
}

/* ---- the registry of health slots ------------------------------------------ */

/*
 * Keyed by "route address", append-only, so a reload (or two generations
 * running side by side) sees the same health.  Insertions happen when a
 * generation is built; the lock keeps two builds (tests) apart.
 */
#define UPSET_REGISTRY_MAX 2048

struct registry_slot {
	char key[64 + HOSTPORT_HOSTLEN + 16];
	struct upstream_health health;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct registry_slot *registry[UPSET_REGISTRY_MAX];
static unsigned registry_n;

static struct upstream_health *
registry_slot(const char *route, const char *addr)
{
	struct registry_slot *s = NULL;
	char key[sizeof(s->key)];
	unsigned i;

	snprintf(key, sizeof(key), "%s %s", route, addr);
	pthread_mutex_lock(&registry_lock);
	for (i = 0; i < registry_n; i++)
		if (strcmp(registry[i]->key, key) == 0) {
			s = registry[i];
			break;
		}
	if (s == NULL && registry_n < UPSET_REGISTRY_MAX &&
	    (s = calloc(1, sizeof(*s))) != NULL) {
		snprintf(s->key, sizeof(s->key), "%s", key);
		snprintf(s->health.name, sizeof(s->health.name), "%s", addr);
		registry[registry_n++] = s;
	}
	pthread_mutex_unlock(&registry_lock);
	return s != NULL ? &s->health : NULL;
}

/* ---- sets ------------------------------------------------------------------- */

struct upstream_set *
upstream_set_new(const char *route, const struct upstream_addr *addrs,
    unsigned n, unsigned max_fails, uint64_t fail_timeout_ms)
{
	struct upstream_set *set;
	char name[HOSTPORT_HOSTLEN + 8];
	unsigned i;

	if (n == 0 || n > UPSET_MAX_ADDRS || (set = calloc(1, sizeof(*set))) == NULL)
		return NULL;
	snprintf(set->route, sizeof(set->route), "%s", route);
	set->n = n;
	set->max_fails = max_fails;
	set->fail_timeout_ms = fail_timeout_ms;
	atomic_init(&set->rr, 0);
	/* "*" cannot be an address: the route's own slot */
	if ((set->route_health = registry_slot(route, "*")) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		set->addrs[i] = addrs[i];
		(void)hostport_format(&addrs[i].hp, name, sizeof(name));
		if ((set->health[i] = registry_slot(route, name)) == NULL)
			goto fail;
	}
	return set;
fail:
	free(set);
	return NULL;
}

void
upstream_set_free(struct upstream_set *set)
{
	free(set);
}

bool
upstream_set_is_down(const struct upstream_set *set, unsigned i)
{
	return atomic_load(&set->health[i]->down);
}

bool
upstream_set_usable(const struct upstream_set *set, unsigned i, uint64_t now)
{
	/* down is stored after down_until, so a reader never sees a stale deadline */
	return !atomic_load(&set->health[i]->down) ||
	    now >= atomic_load(&set->health[i]->down_until);
}

/* Sum of the weights of the usable, untried addresses of one kind. */
static unsigned
upstream_set_weight(const struct upstream_set *set, uint64_t now,
    unsigned tried, bool backup)
{
	unsigned i, total = 0;

	for (i = 0; i < set->n; i++)
		if (set->addrs[i].backup == backup && !(tried & (1u << i)) &&
		    upstream_set_usable(set, i, now))
			total += set->addrs[i].weight;
	return total;
}

int
upstream_set_pick(struct upstream_set *set, uint64_t now, unsigned tried)
{
	bool backup = false;
	unsigned total, at, i;

	if ((total = upstream_set_weight(set, now, tried, false)) == 0) {
		backup = true;
		if ((total = upstream_set_weight(set, now, tried, true)) == 0)
			return -1;
	}
	/* one shared counter: workers interleave, the weights still add up */
	at = (unsigned)(atomic_fetch_add(&set->rr, 1) % total);
	for (i = 0; i < set->n; i++) {
		if (set->addrs[i].backup != backup || (tried & (1u << i)) ||
		    !upstream_set_usable(set, i, now))
			continue;
		if (at < set->addrs[i].weight)
			return (int)i;
		at -= set->addrs[i].weight;
	}
	/* health changed under us between the two passes: take any usable one */
	for (i = 0; i < set->n; i++)
		if (set->addrs[i].backup == backup && !(tried & (1u << i)) &&
		    upstream_set_usable(set, i, now))
			return (int)i;
	return -1;
}

bool
upstream_set_all_down(const struct upstream_set *set, uint64_t now)
{
	unsigned i;

	for (i = 0; i < set->n; i++)
		if (upstream_set_usable(set, i, now))
			return false;
	return true;
}

uint64_t
upstream_set_retry_in(const struct upstream_set *set, uint64_t now)
{
	uint64_t best = UINT64_MAX, until;
	unsigned i;

	for (i = 0; i < set->n; i++) {
		if (upstream_set_usable(set, i, now))
			return 0;
		until = atomic_load(&set->health[i]->down_until);
		if (until - now < best)
			best = until - now;
	}
	return best;
}

static bool
upstream_set_every_marked_down(const struct upstream_set *set)
{
	unsigned i;

	for (i = 0; i < set->n; i++)
		if (!atomic_load(&set->health[i]->down))
			return false;
	return true;
}

/* A failure of address i; max_fails 0 counts it without marking it down. */
static void
upstream_set_fail(struct upstream_set *set, unsigned i, uint64_t now,
    const char *why, unsigned max_fails)
{
	struct upstream_health *h = set->health[i];
	unsigned fails = atomic_fetch_add(&h->fails, 1) + 1;

	atomic_fetch_add(&h->failures, 1);
	if (max_fails == 0 || fails < max_fails)
		return;
	/* a trial after the cool-down that fails starts a new one at once */
	atomic_store(&h->down_until, now + set->fail_timeout_ms);
	if (!atomic_exchange(&h->down, true))
		log_warnx("route %s: upstream %s is down after %u failure%s "
		    "(%s); not tried for %llu ms (upstream_fail_timeout)",
		    set->route, h->name, fails, fails == 1 ? "" : "s",
		    why != NULL ? why : "?",
		    (unsigned long long)set->fail_timeout_ms);
	if (upstream_set_every_marked_down(set) &&
	    !atomic_exchange(&set->route_health->down, true))
		log_warnx("route %s: every upstream address is down; requests "
		    "fail fast with upstream_down until one answers again",
		    set->route);
}

void
upstream_set_failed(struct upstream_set *set, unsigned i, uint64_t now,
    const char *why)
{
	/*
	 * As nginx: a lone address is never marked down by traffic, so each
	 * request gets the endpoint's own close reason and hint.
	 */
	upstream_set_fail(set, i, now, why, set->n > 1 ? set->max_fails : 0);
}

void
upstream_set_check_failed(struct upstream_set *set, unsigned i, uint64_t now,
    const char *why)
{
	upstream_set_fail(set, i, now, why, set->max_fails);
}

void
upstream_set_ok(struct upstream_set *set, unsigned i)
{
	struct upstream_health *h = set->health[i];

	/* the common case (up, no failures) stores nothing to a shared line */
	if (atomic_load(&h->fails) != 0)
		atomic_store(&h->fails, 0);
	if (!atomic_load(&h->down))
		return;
	if (atomic_exchange(&h->down, false))
		log_notice("route %s: upstream %s is up again", set->route,
		    h->name);
	if (atomic_exchange(&set->route_health->down, false))
		log_notice("route %s: back up: %s answers", set->route, h->name);
}
