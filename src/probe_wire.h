/* SPDX-License-Identifier: MIT */
/*
 * probe_wire: the bytes probe builds and reads by hand rather than
 * through libssl.  A TLS ClientHello offering exactly the suites asked
 * for (3DES and RC4, which Debian's libssl cannot offer at all), the
 * ServerHello or alert that answers it, the HEAD / request and the HTTP
 * response head.  Pure: no I/O, no allocation, no clock.  It neither
 * sends nor reads (probe_net.c) nor decides what an answer means for a
 * route (probe_discover.c).
 */
#ifndef TLSBROKER_PROBE_WIRE_H
#define TLSBROKER_PROBE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The suites probe offers by hand (IANA numbers). */
#define PROBE_SUITE_RSA_3DES_EDE_CBC_SHA	0x000a
#define PROBE_SUITE_RSA_RC4_128_SHA		0x0005
#define PROBE_SUITE_RSA_RC4_128_MD5		0x0004

/* A parsed ServerHello (or the alert sent instead). */
struct probe_hello {
	bool alert;		/* an alert record came instead */
	int alert_level;
	int alert_desc;
	uint16_t version;
	uint16_t suite;
	bool reneg_info;
};

/*
 * Builds a TLS ClientHello record (record version 0x0301) offering suites
 * at client_version, with the renegotiation SCSV and, when sni is not
 * NULL, a server_name extension.  Returns its length, or -1 if cap is too
 * small.
 */
int probe_client_hello(uint16_t client_version, const uint16_t *suites,
    size_t nsuites, const char *sni, const unsigned char random[32],
    unsigned char *out, size_t cap);

/*
 * Parses the first bytes an endpoint sent after a ClientHello: 1 with h
 * filled (a ServerHello, or h->alert for an alert record), 0 when more
 * bytes are needed, -1 when it is neither (not TLS, or malformed).
 */
int probe_parse_server_hello(const unsigned char *buf, size_t len,
    struct probe_hello *h);

/* OpenSSL's name of a suite probe offers by hand ("DES-CBC3-SHA"), else "?". */
const char *probe_suite_name(uint16_t suite);

/*
 * Writes "HEAD / HTTP/1.1" with Host: name (bracketed when it is an IPv6
 * literal, with :port unless port is the default of tls or plain HTTP)
 * and Connection: close.  Returns its length, or -1 if cap is too small.
 */
int probe_http_request(const char *name, unsigned port, bool tls, char *buf,
    size_t cap);

/*
 * Parses an HTTP response head: 0 with the status line and the Server
 * header (both made printable, "" when absent) when buf starts with
 * "HTTP/", -1 otherwise.
 */
int probe_parse_http_head(const char *buf, size_t len, char *status,
    size_t scap, char *server, size_t svcap);

#endif
