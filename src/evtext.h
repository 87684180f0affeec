/* SPDX-License-Identifier: MIT */
/*
 * evtext: text appended to a libevent evbuffer with a sticky error, for
 * the pages the admin listener serves (/metrics, the status page).  The
 * first append that fails sets err and every later one does nothing, so a
 * page is written straight through and checked once at its end.  It owns
 * neither the buffer nor what the text says: escaping for a format
 * (Prometheus labels, HTML) stays with the page that needs it.
 */
#ifndef TLSBROKER_EVTEXT_H
#define TLSBROKER_EVTEXT_H

#include <stddef.h>

struct evbuffer;

/* Initialise as { out, 0 }. */
struct evtext {
	struct evbuffer *out;	/* not owned */
	int err;		/* 1 once an append failed; sticks */
};

/* Appends the formatted text. */
void evtext_printf(struct evtext *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends n bytes of s (none when n is 0). */
void evtext_add(struct evtext *t, const char *s, size_t n);

#endif
