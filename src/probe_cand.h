/* SPDX-License-Identifier: MIT */
/*
 * probe_cand: turns the facts of a discovery into complete route settings
 * to try (struct probe_candidate), most preferred first: the version
 * range, security level, ciphers, legacy renegotiation, legacy provider
 * and ca or pin.  Modern versions first with the default level and then
 * lower ones, then TLS 1.0/1.1 with forward secrecy or plain RSA, and
 * last 3DES and RC4, which only a libssl built with weak ciphers can use.
 * Pure.  It connects to nothing (probe_prove.c tries the candidates) and
 * writes no block text (probe_report.c).
 */
#ifndef TLSBROKER_PROBE_CAND_H
#define TLSBROKER_PROBE_CAND_H

#include "probe.h"

/* Fills r->cands from the discovery facts in r, most preferred first. */
void probe_candidates(struct probe_result *r);

#endif
