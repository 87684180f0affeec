/* SPDX-License-Identifier: MIT */
/*
 * tls_client: the outbound SSL_CTX of one route, with every knob a legacy
 * endpoint needs set per context in code (never through openssl.cnf): the
 * version range, cipher list and TLS 1.3 suites, security level, legacy
 * renegotiation, the legacy provider in a dedicated library context (only
 * for routes that ask), SNI, verification by CA plus host name, by SHA-256
 * SPKI pin, or off, a client certificate, and ALPN.  It does not connect
 * (upstream.c) or judge failures (diag.c).
 */
#ifndef TLSBROKER_TLS_CLIENT_H
#define TLSBROKER_TLS_CLIENT_H

#include <stdbool.h>

#include <openssl/ssl.h>

struct conf_errors;
struct route_conf;
struct tls_client;
struct tls_info;

/* Builds the route's context; NULL after adding errors to errs. */
struct tls_client *tls_client_new(const struct route_conf *rc,
    struct conf_errors *errs);
void tls_client_free(struct tls_client *cli);

/* A new SSL in connect state with SNI and host check set; info is attached. */
SSL *tls_client_ssl_new(struct tls_client *cli, struct tls_info *info);

/*
 * After a handshake: true if the peer's key satisfies the route's pin (or
 * the route has none).  Records the key's pin in info->out->pin_seen.
 */
bool tls_client_pin_ok(const struct tls_client *cli, SSL *ssl,
    struct tls_info *info);

/* "1.0-1.2" style description of what the route offers. */
const char *tls_client_offered(const struct tls_client *cli);

/* Formats the SPKI pin of cert as "sha256//BASE64" into buf (64 bytes). */
int tls_spki_pin(X509 *cert, unsigned char digest[32], char *buf, size_t cap);

/* Frees the shared legacy-provider library context at exit. */
void tls_client_cleanup(void);

#endif
