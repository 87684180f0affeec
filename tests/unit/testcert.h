/* SPDX-License-Identifier: MIT */
/*
 * testcert: a server SSL_CTX with a throw-away self-signed certificate made
 * in memory, for the unit tests that run an in-process TLS peer
 * (check_tls_client, check_relay).  Protocol and cipher settings are the
 * caller's.
 */
#ifndef TLSBROKER_TESTCERT_H
#define TLSBROKER_TESTCERT_H

#include <openssl/evp.h>
#include <openssl/ssl.h>

/* Takes key (freed here); the certificate names cn and is valid for an hour. */
SSL_CTX *testcert_server_ctx(EVP_PKEY *key, const char *cn);

#endif
