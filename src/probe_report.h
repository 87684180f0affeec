/* SPDX-License-Identifier: MIT */
/*
 * probe_report: everything `tlsbroker probe HOST:PORT` prints: the text
 * report, the same facts as one JSON object (through json.c), and the
 * [route] block of a candidate, with a comment line on why each setting
 * is there and which narrower candidates failed before it.  Pure apart
 * from writing to the FILE it is given.  It gathers no facts
 * (probe_discover.c) and chooses no candidate (probe_prove.c); the
 * output of `probe --route` is probe_check.c's.
 */
#ifndef TLSBROKER_PROBE_REPORT_H
#define TLSBROKER_PROBE_REPORT_H

#include <stdio.h>

#include "probe.h"

/*
 * Writes the [route] block of r->cands[idx] into buf.  Returns 0, or -1
 * if cap is too small or there is no such candidate.
 */
int probe_route_block(const struct probe_result *r, unsigned idx, char *buf,
    size_t cap);

/* The facts in r as one JSON object and a newline.  Returns 0 or -1 (I/O). */
int probe_json(const struct probe_result *r, FILE *out);

/* The human-readable report, ending with the block or the message. */
void probe_report(const struct probe_result *r, FILE *out);

#endif
