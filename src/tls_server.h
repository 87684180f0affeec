/* SPDX-License-Identifier: MIT */
/*
 * tls_server: the inbound SSL_CTX of one listener.  TLS 1.2 minimum and 1.3
 * allowed whatever the config says, Mozilla "intermediate" ciphers and
 * groups, security level 2, a certificate chain per cert file chosen by
 * SNI (the first is the default), optional client-certificate check against
 * client_ca.  It records what a client offered, so a refused TLS 1.0 client
 * is audited as such.  It does not accept connections (listener.c) or run
 * handshakes (tlsio.c).
 */
#ifndef TLSBROKER_TLS_SERVER_H
#define TLSBROKER_TLS_SERVER_H

#include <openssl/ssl.h>

struct conf_errors;
struct listener_conf;
struct tls_server;

/*
 * Builds the contexts of lc.  Returns NULL after adding one
 * "FILE:LINE: [listener NAME] key: ..." error per problem to errs.
 */
struct tls_server *tls_server_new(const struct listener_conf *lc,
    struct conf_errors *errs);
void tls_server_free(struct tls_server *srv);

/*
 * The leaf certificate of the listener's cert file i (lc->certs[i]), NULL
 * past the last; owned by srv (for the expiry metrics and status page).
 */
const X509 *tls_server_cert(const struct tls_server *srv, unsigned i);

/* A new SSL in accept state for one client; NULL on allocation failure. */
SSL *tls_server_ssl_new(struct tls_server *srv);

#endif
