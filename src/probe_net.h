/* SPDX-License-Identifier: MIT */
/*
 * probe_net: probe's time-bounded network steps, each one blocking call
 * under a poll() deadline (probe is a CLI tool, never run inside the
 * event loop).  It owns the name lookup (kept per host and port), opening
 * a TCP connection to the target (the only function that does; it opens
 * the CONNECT tunnel of --proxy or a route's upstream_proxy through
 * upstream_proxy.c), a TLS connection through tls_client
 * with its failure classified as upstream.c classifies it, sending and
 * receiving on either, and two whole exchanges: HEAD / for a response
 * head, and a raw ClientHello for the ServerHello.  It decides nothing
 * about what an endpoint supports (probe_discover.c), builds no bytes of
 * its own (probe_wire.c) and holds no SSL_CTX settings (tls_client.c).
 */
#ifndef TLSBROKER_PROBE_NET_H
#define TLSBROKER_PROBE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "diag.h"
#include "parse.h"
#include "probe_wire.h"
#include "tlsio.h"

struct route_conf;
struct tls_client;

/* How a read ended when it returned no bytes. */
enum probe_rd {
	RD_DATA = 0,		/* bytes arrived */
	RD_EOF,			/* orderly close (or close_notify / dirty EOF) */
	RD_TIMEOUT,		/* the deadline passed */
	RD_RESET,		/* ECONNRESET */
	RD_ERROR		/* anything else */
};

/* One connection to an endpoint, plain or TLS. */
struct probe_conn {
	int fd;
	SSL *ssl;			/* NULL for plain TCP; owned */
	struct tls_info info;
	struct tls_out_info out;	/* info.out */
	SSL_SESSION *sess;		/* newest session the endpoint issued; owned */
	struct tb_err err;
	char addr[280];			/* "ip:port" connected to */
};

/* What HEAD / got. */
struct probe_http {
	bool answered;		/* an HTTP status line came back */
	char status[128];
	char server[128];
	char detail[128];	/* when it did not answer */
	enum probe_rd end;
};

/*
 * Opens a TCP connection to hp within timeout_ms, trying each address in
 * turn; the name lookup counts against timeout_ms too.  Returns the
 * connected non-blocking socket with its "ip:port" in addr, or -1 with
 * err set the way the broker classifies it (upstream_dns,
 * upstream_refused, ...).
 */
int probe_tcp_connect(const struct hostport *hp, uint64_t timeout_ms,
    char *addr, size_t addrcap, struct tb_err *err);

/*
 * From now on every probe_tcp_connect() opens a CONNECT tunnel through
 * the proxy at hp (NULL: connect directly again) with Basic credentials
 * basic (base64, NULL: none); the tunnel's answer counts against the same
 * timeout_ms, counted from the proxy's connect.  Failures are classified
 * as the broker's (proxy_refused, proxy_auth, ...).
 */
void probe_net_set_proxy(const struct hostport *hp, const char *basic);

/* Empties c (no socket, no SSL) so that probe_conn_close() is safe on it. */
void probe_conn_init(struct probe_conn *c);

/*
 * One connection to rc->upstream with cli (NULL: plain TCP), offering
 * offer for resumption.  Returns 0 with the handshake done (and the pin
 * checked), or -1 with c->err classified exactly as upstream.c does.
 * probe_conn_close() must follow either way.
 */
int probe_conn_open(struct probe_conn *c, const struct route_conf *rc,
    struct tls_client *cli, SSL_SESSION *offer, uint64_t connect_ms,
    uint64_t hs_ms);

/* Frees c's SSL, socket and session; clean: the session stays resumable. */
void probe_conn_close(struct probe_conn *c, bool clean);

/* Writes all of buf over ssl (or the plain socket when ssl is NULL): 0 or -1. */
int probe_send(int fd, SSL *ssl, const void *buf, size_t len,
    uint64_t deadline);

/* Reads some bytes; returns their count, or 0 with *st saying why none. */
size_t probe_recv(int fd, SSL *ssl, void *buf, size_t cap, uint64_t deadline,
    enum probe_rd *st);

/*
 * Why a read got nothing, for a report: eof is the text for an orderly
 * close ("closed the connection without an answer").
 */
void probe_rd_detail(enum probe_rd st, const char *eof, uint64_t timeout_ms,
    char *buf, size_t cap);

/*
 * Sends HEAD / with Host: name (and :port unless the default) on ssl or
 * the plain socket and reads the response head, all within timeout_ms.
 */
void probe_http_exchange(int fd, SSL *ssl, const char *name, unsigned port,
    uint64_t timeout_ms, struct probe_http *h);

/* probe_hello_exchange(): the ClientHello could not be sent. */
#define PROBE_HELLO_UNSENT (-2)

/*
 * Sends a raw ClientHello on the plain socket fd and reads until a whole
 * ServerHello or alert came, within timeout_ms.  Returns
 * probe_parse_server_hello()'s 1 (h filled) or -1 (not TLS), 0 when no
 * whole answer came (*st says why), or PROBE_HELLO_UNSENT.
 */
int probe_hello_exchange(int fd, const unsigned char *hello, size_t len,
    uint64_t timeout_ms, struct probe_hello *h, enum probe_rd *st);

/* Forgets the kept name lookup; at the end of a probe run. */
void probe_net_cleanup(void);

#endif
