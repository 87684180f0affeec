/* SPDX-License-Identifier: MIT */
/*
 * route: the route table lookups.  A tcp route is picked by SNI when the
 * inbound handshake ends; http routes are picked per request by Host (SNI
 * when Host is absent) and the longest path prefix.  Only routes of the
 * listener that accepted the connection are candidates, and a route only
 * ever leads to its configured upstream: nothing here turns a client's
 * Host into an address, so the broker is never an open proxy.  Pure.
 */
#ifndef TLSBROKER_ROUTE_H
#define TLSBROKER_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

struct conf;
struct route_conf;

/*
 * True if host (lowercase, no port, no trailing dot) matches pattern:
 * NULL matches anything, "*.example.com" matches one or more labels
 * before ".example.com", otherwise equality.
 */
bool route_host_match(const char *pattern, const char *host);

/*
 * Normalises a Host header value, an authority or an SNI into out:
 * lowercase, port and one trailing dot removed, brackets kept off IPv6
 * literals.  It accepts exactly what the request parser accepts
 * (http1_authority_host()), so a name is routed as the parser read it:
 * with cap > HTTP1_HOST_MAX it fails only where the parser would.
 * Returns false if in is empty or no valid authority, or out too small.
 * out is always a string afterwards: "" when false.
 */
bool route_host_normalize(const char *in, size_t len, char *out, size_t cap);
/*
 * The same for a host part the parser already split off and checked
 * (struct http1_msg's host_name, authority_name): lowercase, one trailing
 * dot removed.  False if name is empty or out too small.
 */
bool route_host_lower(const char *name, size_t len, char *out, size_t cap);

/* The tcp route of listener li for sni (may be NULL): exact host, then wildcard, then host-less. */
const struct route_conf *route_match_tcp(const struct conf *conf,
    unsigned li, const char *sni);

/*
 * The http route of listener li for host (may be NULL) and the target's
 * path[0..plen) (not NUL-terminated; NULL with 0): host as above, then the
 * longest prefix.  An empty path or one that starts with '?' (what an
 * absolute-form target with an empty path leaves) is read with a '/'
 * before it, as it goes upstream: "http://h?q" is "/?q" (RFC 9112 3.2.2).
 */
const struct route_conf *route_match_http(const struct conf *conf,
    unsigned li, const char *host, const char *path, size_t plen);

#endif
