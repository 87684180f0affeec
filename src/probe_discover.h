/* SPDX-License-Identifier: MIT */
/*
 * probe_discover: gathers the facts a route needs by connecting to the
 * endpoint with permissive discovery settings: whether it takes TCP at
 * all, whether it speaks TLS, plain HTTP or nothing, each protocol
 * version alone, the key-exchange families per version (ECDHE with its
 * group, DHE with its size, plain RSA), 3DES and RC4 from raw
 * ClientHellos, HTTP over the best version and session resumption; the
 * certificates through probe_cert.c.  It writes only facts into struct
 * probe_result: no candidates (probe_cand.c), no verdict on a route
 * (probe_prove.c), no output (probe_report.c).
 */
#ifndef TLSBROKER_PROBE_DISCOVER_H
#define TLSBROKER_PROBE_DISCOVER_H

#include "probe.h"

/* Fills the discovery facts of r (r->target, sni, ca and timeout_ms set). */
void probe_discover(struct probe_result *r);

#endif
