/* SPDX-License-Identifier: MIT */
/*
 * probe_prove: chooses the route block probe prints by trying each
 * candidate in order: its block goes through the real config loader and
 * checks, a tls_client is built from the route that parsed, and one
 * connection is made with it (plus HEAD / when the endpoint answers
 * HTTP).  The first that works becomes r->chosen and r->block; when none
 * does, r->message says why.  It gathers no facts (probe_discover.c) and
 * writes the block text only through probe_report.c.
 */
#ifndef TLSBROKER_PROBE_PROVE_H
#define TLSBROKER_PROBE_PROVE_H

#include "probe.h"

/* Tries r->cands in order; sets r->chosen and r->block, or r->message. */
void probe_prove(struct probe_result *r);

#endif
