/* SPDX-License-Identifier: MIT */
/*
 * probe_check: one connection with a configured route.  The route's
 * tls_client comes from gen_load(), the daemon's own loader, so a check
 * that passes here uses the very SSL_CTX the broker would, and a failure
 * carries the close reason and hint an audit line would.  A route with
 * several addresses gets one connection per address, each reported on its
 * own.  See probe_check.h.
 */
#include "config.h"

#include "probe_check.h"

#include <stdio.h>
#include <string.h>

#include <openssl/ssl.h>

#include "conf.h"
#include "diag.h"
#include "gen.h"
#include "probe_net.h"
#include "tls_client.h"
#include "tlsio.h"

static const char *
probe_verified_by(enum upstream_verify v)
{
	switch (v) {
	case VERIFY_CA:
		return "verified by ca";
	case VERIFY_PIN:
		return "verified by pin";
	case VERIFY_OFF:
		break;
	}
	return "NOT verified (upstream_verify = off)";
}

/* The index of [route name] in g's config, or -1. */
static int
probe_find_route(const struct gen *g, const char *name)
{
	int found = -1;
	unsigned i;

	for (i = 0; i < g->conf->nroutes; i++)
		if (strcmp(g->conf->routes[i].name, name) == 0)
			found = (int)i;
	return found;
}

static void
probe_print_ok(const struct route_conf *rc, const struct probe_conn *c)
{
	if (c->ssl != NULL)
		printf("OK: %s %s, %s\n", tls_version_str(SSL_version(c->ssl)),
		    SSL_get_cipher_name(c->ssl), probe_verified_by(rc->up_verify));
	else
		printf("OK: plain TCP, connected to %s\n", c->addr);
}

/* The lines the broker's audit record would carry for this failure. */
static void
probe_print_fail(const struct tb_err *err)
{
	printf("FAIL: %s (phase %s)\n", close_reason_str(err->code),
	    diag_phase_str(err->phase));
	if (err->alert[0] != '\0')
		printf("alert:  %s\n", err->alert);
	printf("detail: %s\n", err->msg);
	printf("hint:   %s\n", diag_hint(err));
}

/*
 * One connection to address a of rc, as the broker makes it: rc's own
 * tls_client (its TLS name is the route's, whatever the address) and
 * deadlines.  Prints OK or FAIL; returns 0 when it connected.
 */
static int
probe_check_address(const struct route_conf *rc, struct tls_client *cli,
    unsigned a)
{
	struct route_conf one = *rc;	/* shallow: read-only, freed with rc */
	struct probe_conn c;
	int status;

	if (a < rc->nupstreams)
		one.upstream = rc->upstreams[a].hp;
	status = probe_conn_open(&c, &one, cli, NULL, rc->connect_timeout_ms,
	    rc->handshake_timeout_ms) == 0 ? 0 : 1;
	if (status == 0)
		probe_print_ok(rc, &c);
	else
		probe_print_fail(&c.err);
	probe_conn_close(&c, status == 0);
	return status;
}

/* Each address of a route that has several, under a line naming it. */
static int
probe_check_addresses(const struct route_conf *rc, struct tls_client *cli)
{
	const struct upstream_addr *ua;
	unsigned a, ok = 0;

	for (a = 0; a < rc->nupstreams; a++) {
		ua = &rc->upstreams[a];
		printf("%saddress %s%s%s:%u (%s, weight %u)\n", a > 0 ? "\n" : "",
		    strchr(ua->hp.host, ':') != NULL ? "[" : "", ua->hp.host,
		    strchr(ua->hp.host, ':') != NULL ? "]" : "", ua->hp.port,
		    ua->backup ? "backup" : "primary", ua->weight);
		if (probe_check_address(rc, cli, a) == 0)
			ok++;
	}
	printf("\nroute %s: %u of %u addresses connected\n", rc->name, ok,
	    rc->nupstreams);
	return ok == rc->nupstreams ? 0 : 1;
}

int
probe_check_route(const char *path, const char *name)
{
	struct conf_errors errs = { 0 };
	const struct route_conf *rc;
	struct gen *g;
	unsigned i;
	int idx, status;

	if ((g = gen_load(path, &errs)) == NULL) {
		for (i = 0; i < errs.count; i++)
			fprintf(stderr, "tlsbroker: %s\n", errs.msgs[i]);
		conf_errors_free(&errs);
		return 1;
	}
	conf_errors_free(&errs);
	if ((idx = probe_find_route(g, name)) == -1) {
		fprintf(stderr, "tlsbroker probe: no [route %s] in %s\n", name, path);
		gen_unref(g);
		return 2;
	}
	rc = &g->conf->routes[idx];
	if (rc->nupstreams > 1)
		status = probe_check_addresses(rc, g->clients[idx]);
	else
		status = probe_check_address(rc, g->clients[idx], 0);
	gen_unref(g);
	return status;
}
