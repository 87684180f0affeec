/* SPDX-License-Identifier: MIT */
/*
 * probe: the `tlsbroker probe` subcommand.  It connects to an endpoint the
 * way the broker would (through tls_client, with route_confs it builds) and
 * reports what the endpoint accepts: each protocol version alone, the
 * cipher families per version (ECDHE, DHE with its group size, plain RSA,
 * and 3DES / RC4 from hand-built ClientHellos, since Debian's libssl has
 * no such suites), RFC 5746 support, session resumption, the certificate
 * chain and its SPKI pin, and whether it answers HTTP.  It ends with a
 * [route] block that it has proven by connecting with exactly those
 * settings, parsed by the real config loader.  `probe --route NAME`
 * makes one connection with a configured route and prints the close
 * reason.  Synchronous, blocking I/O with poll() deadlines: it is a CLI
 * tool, never run inside the event loop.  It owns no policy about what a
 * failure means (diag.c) and no SSL_CTX settings (tls_client.c).
 *
 * The result structs and the pure functions below (ClientHello building,
 * ServerHello and HTTP head parsing, candidate and route block building,
 * JSON output) are exported for the unit tests.
 */
#ifndef TLSBROKER_PROBE_H
#define TLSBROKER_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"
#include "diag.h"
#include "parse.h"

#define PROBE_NVERSIONS 4	/* TLS 1.0, 1.1, 1.2, 1.3 */
#define PROBE_MAX_CERTS 8
#define PROBE_MAX_CANDIDATES 16
#define PROBE_BLOCK_MAX 4096

/* Entry point for `tlsbroker probe ...` (argv[0] is "probe"): 0, 1 or 2. */
int probe_main(int argc, char **argv);

/* One certificate of the endpoint's chain, as text. */
struct probe_cert {
	char subject[256];	/* RFC 2253 */
	char issuer[256];
	char not_before[32];	/* "2026-11-26T14:03:07Z" */
	char not_after[32];
	bool expired;
	bool not_yet_valid;
	char sigalg[64];	/* "sha256WithRSAEncryption" */
	char key_type[16];	/* "RSA", "EC", ... */
	int key_bits;
};

/* One protocol version tried alone (min = max). */
struct probe_version {
	int version;		/* TLS1_VERSION ... TLS1_3_VERSION */
	bool tried;
	bool accepted;
	char cipher[64];	/* negotiated when offered every suite */
	bool secure_reneg;	/* renegotiation_info in the ServerHello (<= 1.2) */
	struct tb_err err;	/* why it was refused */
	/* cipher families, tried for accepted versions <= 1.2 */
	bool families_tried;
	bool ecdhe, dhe, rsa;
	char ecdhe_group[32];	/* "prime256v1", ... */
	int dh_bits;		/* DHE group size, 0 = unknown */
	char rsa_cipher[64];	/* the plain-RSA suite it picked */
};

/* A raw ClientHello offering only 3DES or only RC4 suites. */
struct probe_weak {
	bool tried;
	bool accepted;		/* ServerHello with one of the offered suites */
	uint16_t suite;		/* the chosen suite */
	uint16_t version;	/* the ServerHello's version (0x0301 ...) */
	bool reneg_info;	/* renegotiation_info in that ServerHello */
	char detail[128];	/* what the endpoint did instead, or the suite */
};

/* A parsed ServerHello (or the alert sent instead). */
struct probe_hello {
	bool alert;		/* an alert record came instead */
	int alert_level;
	int alert_desc;
	uint16_t version;
	uint16_t suite;
	bool reneg_info;
};

/* One complete set of route settings to try, in order of preference. */
struct probe_candidate {
	struct tls_range tls;		/* off = plain TCP */
	int security_level;		/* -1 = not written (the default) */
	char ciphers[128];		/* "" = not written */
	bool legacy_reneg;
	bool legacy_provider;
	enum upstream_verify verify;	/* CA or PIN */
	const char *why_level;		/* comment on the level/ciphers, or NULL */
	/* filled by the verification */
	bool tried;
	bool ok;
	char failure[300];		/* "code: detail" when it failed */
	char outcome[160];		/* "TLSv1 AES128-SHA, verified by pin" */
};

struct probe_result {
	struct hostport target;
	char sni[256];			/* the --sni value, "" = host name default */
	bool sni_off;			/* --sni off */
	char ca[1024];			/* --ca FILE, "" = system store */
	char name[64];			/* route name */
	uint64_t timeout_ms;

	char addr[280];			/* "ip:port" connected to */
	bool connect_ok;
	struct tb_err connect_err;
	bool silent;			/* accepts TCP, never answers */
	bool plain;			/* does not speak TLS */
	struct tb_err tls_err;		/* the all-versions attempt, when it failed */

	struct probe_version v[PROBE_NVERSIONS];
	struct probe_weak des3, rc4;

	bool resumption_tried;
	bool resumed;

	unsigned ncerts;
	struct probe_cert certs[PROBE_MAX_CERTS];
	bool verify_tried;
	bool chain_verified;
	long verify_code;
	char verify_error[128];
	char verify_name[256];		/* the name the chain was checked for */
	char pin[64];			/* "sha256//..." of the leaf's key */

	bool http_tried;
	bool http;			/* answered HEAD / with an HTTP status line */
	char http_over[16];		/* "TLSv1.2" or "plain" */
	char http_status[128];
	char http_server[128];
	char http_detail[128];		/* when it did not answer */

	struct probe_candidate cands[PROBE_MAX_CANDIDATES];
	unsigned ncands;
	int chosen;			/* index into cands, -1 = none works */
	char block[PROBE_BLOCK_MAX];	/* the verified [route] block */
	char message[512];		/* why none works, "" otherwise */
};

/* "TLS 1.0" style index helpers: version of v[i] and the index of a version. */
int probe_version_at(unsigned i);
int probe_version_index(int version);

/*
 * Builds a TLS ClientHello record (record version 0x0301) offering suites
 * at client_version, with the renegotiation SCSV and, when sni is not
 * NULL, a server_name extension.  Returns its length, or -1 if cap is too
 * small.  Pure.
 */
int probe_client_hello(uint16_t client_version, const uint16_t *suites,
    size_t nsuites, const char *sni, const unsigned char random[32],
    unsigned char *out, size_t cap);

/*
 * Parses the first bytes an endpoint sent after a ClientHello: 1 with h
 * filled (a ServerHello, or h->alert for an alert record), 0 when more
 * bytes are needed, -1 when it is neither (not TLS, or malformed).  Pure.
 */
int probe_parse_server_hello(const unsigned char *buf, size_t len,
    struct probe_hello *h);

/*
 * Parses an HTTP response head: 0 with the status line and the Server
 * header (both made printable, "" when absent) when buf starts with
 * "HTTP/", -1 otherwise.  Pure.
 */
int probe_parse_http_head(const char *buf, size_t len, char *status,
    size_t scap, char *server, size_t svcap);

/* A route name from a host name: letters, digits, '_', '.', '-' only. */
void probe_route_name(const char *host, char *buf, size_t cap);

/* Fills r->cands from the discovery facts in r, most preferred first.  Pure. */
void probe_candidates(struct probe_result *r);

/*
 * Writes the [route] block of r->cands[idx] into buf: comment lines on why
 * each setting is there and which narrower candidates failed before it,
 * then the keys.  Returns 0, or -1 if cap is too small.  Pure.
 */
int probe_route_block(const struct probe_result *r, unsigned idx, char *buf,
    size_t cap);

/* The facts in r as one JSON object and a newline.  Returns 0 or -1 (I/O). */
int probe_json(const struct probe_result *r, FILE *out);

/* The human-readable report, ending with the block or the message. */
void probe_report(const struct probe_result *r, FILE *out);

#endif
