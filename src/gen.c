/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "gen.h"

#include <stdlib.h>

#include "conf.h"
#include "conf_check.h"
#include "metrics.h"
#include "tls_client.h"
#include "tls_server.h"
#include "upstream_set.h"
#include "upstream_limit.h"

static atomic_uint_fast64_t gen_next_id = 1;

static void
gen_free(struct gen *g)
{
	unsigned i;

	if (g->conf != NULL) {
		for (i = 0; g->servers != NULL && i < g->conf->nlisteners; i++)
			tls_server_free(g->servers[i]);
		for (i = 0; g->clients != NULL && i < g->conf->nroutes; i++)
			tls_client_free(g->clients[i]);
		for (i = 0; i < g->conf->nroutes; i++)
			upstream_set_free(g->conf->routes[i].uset);
	}
	free(g->servers);
	free(g->clients);
	conf_free(g->conf);
	free(g);
}

/*
 * Each route's address set (its health is shared with older generations
 * through the registry) and where its pools start in a worker's array:
 * one pool per address, a route's pools side by side.
 */
static int
gen_build_sets(struct conf *conf, struct conf_errors *errs)
{
	struct route_conf *r;
	unsigned i;

	conf->npools = 0;
	for (i = 0; i < conf->nroutes; i++) {
		r = &conf->routes[i];
		r->uset = upstream_set_new(r->name, r->upstreams, r->nupstreams,
		    r->up_max_fails, r->up_fail_timeout_ms);
		if (r->uset == NULL) {
			conf_errors_add(errs, "route %s: out of memory for its "
			    "upstream addresses", r->name);
			return -1;
		}
		r->pool_base = conf->npools;
		conf->npools += r->nupstreams;
	}
	return 0;
}

/*
 * A route's counters and connection cap are keyed by its name, so they
 * survive reloads: the cap keeps counting the connections the old
 * generation still holds.  The newest generation's cap values apply.
 */
static void
gen_route_ids(struct route_conf *rc)
{
	rc->metrics_id = metrics_route_id(rc->name);
	rc->limit = uplimit_for_route(rc->metrics_id);
	uplimit_configure(rc->limit, rc->up_max_conns, rc->up_queue_max,
	    rc->up_queue_timeout_ms);
}

struct gen *
gen_build(struct conf *conf, struct conf_errors *errs)
{
	struct gen *g;
	unsigned i, failed = 0;

	if ((g = calloc(1, sizeof(*g))) == NULL) {
		conf_free(conf);
		conf_errors_add(errs, "out of memory");
		return NULL;
	}
	g->conf = conf;
	atomic_init(&g->refs, 1);
	g->servers = calloc(conf->nlisteners + 1, sizeof(*g->servers));
	g->clients = calloc(conf->nroutes + 1, sizeof(*g->clients));
	if (g->servers == NULL || g->clients == NULL) {
		conf_errors_add(errs, "out of memory");
		gen_free(g);
		return NULL;
	}
	/* Build everything, so every bad certificate or cipher is reported. */
	for (i = 0; i < conf->nlisteners; i++)
		if ((g->servers[i] = tls_server_new(&conf->listeners[i], errs)) == NULL)
			failed++;
	for (i = 0; i < conf->nroutes; i++) {
		if (conf->routes[i].up_tls.off)
			continue;
		if ((g->clients[i] = tls_client_new(&conf->routes[i], errs)) == NULL)
			failed++;
	}
	if (failed != 0) {
		gen_free(g);
		return NULL;
	}
	/* Counters are keyed by name, so they survive reloads. */
	g->unrouted_metrics_id = metrics_route_id("-");
	for (i = 0; i < conf->nlisteners; i++)
		conf->listeners[i].metrics_id =
		    metrics_listener_id(conf->listeners[i].name);
	for (i = 0; i < conf->nroutes; i++)
		gen_route_ids(&conf->routes[i]);
	if (gen_build_sets(conf, errs) == -1) {
		gen_free(g);
		return NULL;
	}
	g->id = atomic_fetch_add(&gen_next_id, 1);
	return g;
}

struct gen *
gen_ref(struct gen *g)
{
	atomic_fetch_add(&g->refs, 1);
	return g;
}

void
gen_unref(struct gen *g)
{
	if (g != NULL && atomic_fetch_sub(&g->refs, 1) == 1)
		gen_free(g);
}

struct gen *
gen_load(const char *path, struct conf_errors *errs)
{
	struct conf *conf;

	if ((conf = conf_load(path, errs)) == NULL)
		return NULL;
	if (conf_check(conf, errs) != 0) {
		conf_free(conf);
		return NULL;
	}
	return gen_build(conf, errs);
}
