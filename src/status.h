/* SPDX-License-Identifier: MIT */
/*
 * status: the admin endpoint's status page (GET / and /status), a plain
 * server-rendered HTML page with no script and no external asset, so it
 * reads the same in a text browser over an SSH tunnel: every route of the
 * running generation with its endpoint, up or down, pool, requests and
 * errors by close reason in the last minutes; the listeners and their
 * certificates; and the most recent failures, newest first, with close
 * reason, phase, detail and hint.  Every string from the configuration or
 * from a peer is HTML-escaped.  It owns the snapshots of the close
 * counters that make "the last minutes" (taken by status_tick()); the
 * numbers themselves come from metrics.c.  Main thread only.
 */
#ifndef TLSBROKER_STATUS_H
#define TLSBROKER_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct gen;
struct status;

/* Seconds between two snapshots, and the window the page reports. */
#define STATUS_TICK_S		30
#define STATUS_WINDOW_S		300

/* What the page says about the process, beside the routes. */
struct status_info {
	bool ready;		/* /readyz's answer */
	const char *state;	/* the daemon's status line, "" if none */
	unsigned nworkers;
	unsigned refresh;	/* seconds of auto-refresh, 0 = none */
};

/* A new page state with its first snapshot; NULL when out of memory. */
struct status *status_new(void);
void status_free(struct status *st);

/* Every STATUS_TICK_S: remembers each route's close counts now. */
void status_tick(struct status *st);

/*
 * Appends the page to out for gen (the running generation; NULL renders
 * the page without routes).  0, or -1 when out could not grow.
 */
int status_render(struct status *st, struct evbuffer *out,
    const struct gen *gen, const struct status_info *info);

/*
 * Appends s[0..len) to out with &, <, >, " and ' as entities and any byte
 * outside printable ASCII as '?'; len (size_t)-1 means up to the NUL.
 * 0 / -1.
 */
int status_html_escape(struct evbuffer *out, const char *s, size_t len);

#endif
