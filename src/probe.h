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
 * This module is the command line (options, usage, exit statuses, the
 * order of the steps) and the facts every step shares, struct
 * probe_result.  The steps have a module each: probe_wire (the bytes
 * built and parsed by hand), probe_net (the time-bounded network steps),
 * probe_discover and probe_cert (the facts), probe_cand (the candidate
 * settings), probe_prove (the chosen block), probe_report (text, JSON and
 * the block) and probe_check (--route).
 */
#ifndef TLSBROKER_PROBE_H
#define TLSBROKER_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
	bool handshake;		/* this libssl completed a handshake with it (a weak build) */
	char detail[128];	/* what the endpoint did instead, or the suite */
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

/*
 * The facts of one `probe HOST:PORT` run, shared by every step.  The
 * command line fills the request (target to timeout_ms); probe_discover
 * and probe_cert the facts (addr to http_detail); probe_cand cands and
 * ncands; probe_prove chosen, block and message.  probe_report only
 * reads it.
 */
struct probe_result {
	struct hostport target;
	char sni[256];			/* the --sni value, "" = host name default */
	bool sni_off;			/* --sni off */
	char ca[1024];			/* --ca FILE, "" = system store */
	char proxy[300];		/* --proxy URL as the route block names it, "" = none */
	char proxy_auth[1024];		/* --proxy-auth FILE, "" = none */
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

/* The default route name for a host: each byte no name may hold becomes '-'. */
void probe_route_name(const char *host, char *buf, size_t cap);

/* The name a route's certificate check uses: --sni, else the host. */
const char *probe_verify_name(const struct probe_result *r);

/* True if host is an IPv4 or IPv6 literal (then no SNI, and an IP check). */
bool probe_is_ip(const char *host);

#endif
