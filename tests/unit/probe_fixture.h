/* SPDX-License-Identifier: MIT */
/*
 * probe_fixture: discovery results built by hand for the probe unit
 * tests (candidates, blocks, reports), as if an endpoint had answered.
 * Test code only, not in the library.
 */
#ifndef TLSBROKER_TESTS_PROBE_FIXTURE_H
#define TLSBROKER_TESTS_PROBE_FIXTURE_H

#include <stdbool.h>

#include "probe.h"

#define ZERO_PIN "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

/*
 * Resets r to a connected 127.0.0.1:4433 named "ep" with SNI localhost,
 * a pin, verification tried, and no version tried yet.
 */
void fx_base(struct probe_result *r);

/* r's entry for version (TLS1_VERSION ...). */
struct probe_version *fx_ver(struct probe_result *r, int version);

/* version accepted alone, with or without RFC 5746, ECDHE and plain RSA. */
void fx_accept(struct probe_result *r, int version, bool reneg, bool ecdhe,
    bool rsa);

#endif
