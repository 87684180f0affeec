/* SPDX-License-Identifier: MIT */
/*
 * audit: the JSON-lines audit log.  One record per connection (tcp mode),
 * per request (http mode), and per rejected or failed connection.  A record
 * is built by its owner (a session) in a struct audit_rec and written at the
 * end of the exchange with one write() on an O_APPEND descriptor, so a crash
 * loses no completed record and threads never interleave; a record a full
 * disk cuts short is taken back, so the file holds whole lines.  Reopened on
 * SIGUSR1 by swapping the descriptor with dup3().  Never holds bodies or
 * credentials: callers pass only the fields below.
 */
#ifndef TLSBROKER_AUDIT_H
#define TLSBROKER_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

#define AUDIT_PATH_MAX 512		/* longest path kept, NUL included */

/*
 * Kept per connection (and copied per request), so it stays small: the
 * path lives with the request that has one.
 */
struct audit_rec {
	uint64_t ts_ms;			/* start of the exchange, ms since epoch */
	unsigned worker;
	uint64_t conn;			/* connection id, unique per process */
	unsigned req;			/* request number on the connection (http), 0 = none */
	const char *listener;
	const char *route;		/* NULL before routing */
	const char *client;		/* "ip:port"; not owned */
	const char *sni;		/* normalized SNI, NULL if none; not owned */
	const char *tls;		/* inbound protocol, e.g. "TLSv1.3" */
	const char *cipher;
	const char *offered;		/* client's highest offered version when refused */
	const char *method;		/* http */
	const char *path;		/* http, query values removed; not owned (AUDIT_PATH_MAX) */
	int status;			/* http status, 0 = none */
	uint64_t bytes_in;		/* from the client */
	uint64_t bytes_out;		/* to the client */
	char upstream[80];		/* "ip:port" connected to */
	const char *up_tls;		/* "TLSv1", "plain" */
	const char *up_cipher;
	unsigned up_tries;		/* addresses of the route tried, 0 = none */
	bool up_reused;
	bool up_resumed;		/* TLS session resumed */
	unsigned retries;
	const char *retry_reason;	/* static: close reason of the failure retried, or NULL */
	int64_t connect_ms;		/* -1 = not measured */
	int64_t handshake_ms;
	int64_t ttfb_ms;
	int64_t total_ms;
	int64_t queue_ms;		/* waited for upstream_max_connections, -1 = did not */
	struct tb_err err;		/* close reason, phase, alert, detail */
};

/* Sets every field to "none". */
void audit_rec_init(struct audit_rec *rec);

/* Copies an "ip:port" into rec->upstream, cut to fit. */
void audit_set_upstream(struct audit_rec *rec, const char *addr);

/*
 * Opens path for appending (creating it 0640); "-" or NULL means stderr,
 * "off" means no audit.  Returns 0, or -1 with errno set (the old target
 * stays).  Safe while workers write records (a reload switching targets).
 */
int audit_open(const char *path);
/*
 * For `-t` and reloads: 0 if audit_open(path) would work (see audit.c),
 * else -1 with a phrase in err.  Creates nothing.
 */
int audit_check(const char *path, char *err, size_t errlen);
/* Reopens the same path (SIGUSR1); on failure the old descriptor stays. */
int audit_reopen(void);
/* At exit, once no worker writes any more. */
void audit_close(void);

/* Formats rec as one JSON line into buf; returns its length or -1. */
long audit_format(const struct audit_rec *rec, char *buf, size_t cap);
/* Formats and writes rec with one write(); thread-safe. */
void audit_write(const struct audit_rec *rec);

#endif
