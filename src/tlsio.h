/* SPDX-License-Identifier: MIT */
/*
 * tlsio: TLS plumbing shared by the inbound and outbound sides.  It drives
 * SSL_do_handshake() on a non-blocking socket under one deadline (so the
 * caller sees the exact SSL error, errno and alerts of a failure, which a
 * generic I/O layer would blur), and tracks per-connection facts OpenSSL only
 * reports through callbacks: alerts sent and received, the highest version
 * a client offered, a pin mismatch.  It does not own SSL_CTX settings
 * (tls_server.c, tls_client.c) or any policy about what a failure means
 * (diag.c).
 */
#ifndef TLSBROKER_TLSIO_H
#define TLSBROKER_TLSIO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/time.h>

#include <openssl/ssl.h>

#include "clock.h"

struct event;
struct event_base;

/* Outbound-only facts, kept apart so an inbound connection carries none. */
struct tls_out_info {
	bool pin_mismatch;	/* the SPKI pin did not match */
	char pin_seen[64];	/* "sha256//..." of the key we got */
	/* called with a new session to keep; returns 1 if it took the reference */
	int (*on_session)(void *owner, SSL_SESSION *sess);
	void *owner;
};

/* Facts about one TLS connection, owned by the connection's owner. */
struct tls_info {
	int alert_recv;		/* last alert received, -1 = none */
	int alert_sent;		/* last alert sent, -1 = none */
	int offered_max;	/* highest version a client offered, 0 = unknown */
	struct tls_out_info *out;	/* outbound: the owner's; NULL inbound */
};

/* How a handshake ended. */
struct tls_hs_result {
	bool ok;
	bool timeout;		/* the deadline passed */
	int ssl_error;		/* SSL_get_error() value on failure */
	unsigned long err;	/* first OpenSSL error code, 0 if none */
	char err_str[160];	/* its reason string, "" if none */
	int sys_errno;		/* errno for SSL_ERROR_SYSCALL, 0 = EOF */
};

typedef void (*tls_hs_cb)(void *arg, const struct tls_hs_result *res);

struct tls_hs {
	struct event *ev;	/* owned; NULL when idle */
	SSL *ssl;		/* not owned */
	int fd;
	uint64_t deadline_ms;	/* monotonic */
	tls_hs_cb cb;
	void *arg;
};

/* Must be called once before any SSL object is made. */
int tlsio_init(void);

/* Installs the info callback that fills a tls_info attached with tlsio_attach(). */
void tlsio_track(SSL_CTX *ctx);
void tlsio_attach(SSL *ssl, struct tls_info *info);
struct tls_info *tlsio_info(const SSL *ssl);
void tls_info_init(struct tls_info *info);

/*
 * Starts a handshake on ssl (already bound to fd and set to connect or
 * accept state).  cb runs exactly once, from the event loop, unless
 * tls_hs_cancel() is called first.  Returns 0, or -1 if no event could be
 * made.
 */
int tls_hs_start(struct tls_hs *hs, struct event_base *base, SSL *ssl,
    int fd, uint64_t timeout_ms, tls_hs_cb cb, void *arg);
void tls_hs_cancel(struct tls_hs *hs);

struct conf_errors;
struct conf_loc;

/*
 * Adds "FILE:LINE: [section] key: what: <OpenSSL reason>" for a context
 * setting OpenSSL refused, draining the error queue (fallback when it is
 * empty).  Shared by tls_server.c and tls_client.c.
 */
void tlsio_conf_error(struct conf_errors *errs, const struct conf_loc *loc,
    const char *section, const char *key, const char *what,
    const char *fallback);

/* "TLSv1", "TLSv1.1", ... for a version number (SSL_version() values). */
const char *tls_version_str(int version);

#endif
