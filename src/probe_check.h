/* SPDX-License-Identifier: MIT */
/*
 * probe_check: `tlsbroker probe --route NAME`.  It loads the
 * configuration as the daemon does (gen_load: conf, checks and every
 * route's tls_client), connects once with that route's own tls_client
 * and deadlines, and prints OK with the version, cipher and how the
 * endpoint was verified, or FAIL with the close reason, phase, alert,
 * detail and hint the broker would log; a route with several addresses
 * gets that for each address, under a line naming it, and a count.  It
 * owns that output too.  It
 * discovers nothing (probe_discover.c) and parses no options (probe.c).
 */
#ifndef TLSBROKER_PROBE_CHECK_H
#define TLSBROKER_PROBE_CHECK_H

/*
 * Checks route name of the configuration at path.  Returns the exit
 * status: 0 connected (every address of the route), 1 failed (any
 * address, or the configuration does not load), 2 no such route.
 */
int probe_check_route(const char *path, const char *name);

#endif
