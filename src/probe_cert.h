/* SPDX-License-Identifier: MIT */
/*
 * probe_cert: the certificate facts of a discovery.  From the SSL of a
 * finished handshake it writes the endpoint's chain as text (subject,
 * issuer, validity, signature, key), the SPKI pin of the leaf, and
 * whether the chain verifies against --ca or the system store for the
 * name a route would check.  It does not connect (probe_discover.c hands
 * it the SSL) and does not choose between ca and pin (probe_cand.c).
 */
#ifndef TLSBROKER_PROBE_CERT_H
#define TLSBROKER_PROBE_CERT_H

#include <openssl/ssl.h>

#include "probe.h"

/* Fills r's chain, pin and verify_* fields from ssl's peer; no peer: nothing. */
void probe_collect_chain(struct probe_result *r, SSL *ssl);

#endif
