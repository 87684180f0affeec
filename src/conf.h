/* SPDX-License-Identifier: MIT */
/*
 * conf: loading the ini file into an immutable struct conf.  Owns the
 * structs a file becomes and the walk through it: sections, key lines
 * dispatched to the key table (conf_keys.h, where every key is defined
 * once), required keys and "FILE:LINE: [section] key: ..." errors
 * (collected by conf_err.h; loading fails if there was any).  Lines are
 * read by conf_lines.h.  Cross-references, files and SSL_CTX checks live
 * in conf_check.c.
 */
#ifndef TLSBROKER_CONF_H
#define TLSBROKER_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"
#include "conf_err.h"
#include "conf_keys.h"
#include "conf_lines.h"
#include "log.h"
#include "parse.h"
#include "upstream_set.h"

#define CONF_MAX_CERTS 16

enum route_mode {
	ROUTE_MODE_TCP = 0,	/* bytes both ways after both handshakes */
	ROUTE_MODE_HTTP		/* HTTP/1.1-aware, pooled */
};

/* Whether a listener reads a PROXY protocol header (proxy_proto.h) first. */
enum proxy_mode {
	PROXY_MODE_OFF = 0,	/* never: the socket's peer is the caller */
	PROXY_MODE_ON,		/* proxy_trusted sources must send one */
	PROXY_MODE_OPTIONAL	/* proxy_trusted sources may send one */
};

enum upstream_verify {
	VERIFY_CA = 0,		/* chain against upstream_ca or the system store, plus host name */
	VERIFY_PIN,		/* SHA-256 SPKI pin only, whatever the chain says */
	VERIFY_OFF		/* nothing (warned loudly at start) */
};

/* The active health check of a route's addresses (upstream_check.c). */
enum health_check {
	HEALTH_CHECK_OFF = 0,	/* passive health only: real traffic marks addresses */
	HEALTH_CHECK_TLS,	/* connect and the route's TLS handshake (connect alone if plain) */
	HEALTH_CHECK_HTTP	/* that, then GET health_check_path, status expected */
};

/* What becomes of X-Forwarded-For and its kin (http routes). */
enum forwarded_mode {
	FORWARDED_OFF = 0,	/* the client's pass as sent; none added */
	FORWARDED_REPLACE,	/* the client's dropped, the broker's added (default) */
	FORWARDED_APPEND	/* the broker's address appended to the client's lists */
};

struct broker_conf {
	unsigned workers;		/* 0 = auto (one per core) */
	unsigned max_connections;	/* 0 = derived from RLIMIT_NOFILE */
	char *audit_log;		/* path, "-" or NULL = stderr, "off" = none */
	enum log_level log_level;
	struct hostport admin;		/* port 0 = no admin endpoint */
	bool admin_set;
	uint64_t drain_timeout_ms;	/* SIGTERM: time open connections get */
	uint64_t drain_grace_ms;	/* SIGTERM: unready, still accepting, this long */
	uint64_t tcp_keepalive_ms;	/* silence before TCP keepalive probes, 0 = none */
	char *user;			/* drop privileges to this user, NULL = don't */
	struct conf_loc at[BROKER_KEY__COUNT];	/* where each key was written, line 0 = not */
	struct conf_loc loc;		/* the [broker] line; line 0 if none */
};

/* An "allow = servicetag:FILE:TAG" entry; conf_check reads FILE into allow. */
struct conf_servicetag {
	char *path;			/* owned */
	char *tag;			/* owned */
	struct conf_loc loc;
	int64_t mtime;			/* set by conf_check: the file's, seconds */
	int64_t change_number;		/* set by conf_check: the file's, -1 if none */
	unsigned nprefixes;		/* set by conf_check */
};

struct listener_conf {
	char *name;			/* owned */
	struct conf_loc loc;		/* the [listener NAME] line */
	struct hostport bind;
	char *certs[CONF_MAX_CERTS];	/* PEM files, first is the default; owned */
	unsigned ncerts;
	struct conf_loc cert_locs[CONF_MAX_CERTS];	/* the line of each cert */
	char *key;			/* key file when separate (one cert only); owned */
	int min_tls;			/* TLS1_2_VERSION or TLS1_3_VERSION */
	char *ciphers;			/* TLS <= 1.2 list, NULL = intermediate profile */
	char *ciphersuites;		/* TLS 1.3, NULL = OpenSSL default */
	struct cidr_list allow;		/* empty = everyone */
	enum proxy_mode proxy_protocol;
	struct cidr_list proxy_trusted;	/* sources whose PROXY header is believed */
	struct conf_servicetag *servicetags;	/* owned; their prefixes join allow */
	unsigned nservicetags;
	char *client_ca;		/* require a client cert from this CA; owned */
	uint64_t handshake_timeout_ms;	/* inbound handshake deadline */
	uint64_t request_timeout_ms;	/* http: a request head must arrive within this */
	uint64_t keepalive_timeout_ms;	/* http: idle time allowed between requests */
	struct conf_loc at[LISTENER_KEY__COUNT];	/* where each key was written, line 0 = not */
	int metrics_id;			/* set by gen_build: metrics registry id */
	unsigned index;			/* position in conf.listeners */
	bool bad;			/* a value failed to parse: conf_check skips cross-key checks */
};

struct uplimit;

struct route_conf {
	char *name;			/* owned */
	struct conf_loc loc;		/* the [route NAME] line */
	char *listener;			/* owned; resolved by conf_check */
	unsigned listener_index;	/* set by conf_check */
	enum route_mode mode;
	char *host;			/* SNI / Host match, NULL = any; owned, lowercase */
	char *path;			/* path prefix (http), NULL = any; owned */
	struct hostport upstream;	/* the first address: TLS name, Host and probe default */
	struct upstream_addr upstreams[UPSET_MAX_ADDRS];	/* every address, in order */
	unsigned nupstreams;
	unsigned up_max_fails;		/* failures in a row that mark an address down, 0 = never */
	uint64_t up_fail_timeout_ms;	/* how long it stays down before a trial */
	enum health_check health_check;
	uint64_t health_check_interval_ms;
	char *health_check_path;	/* owned; NULL = "/" */
	unsigned health_check_status;	/* 0 = any 2xx or 3xx */
	struct tls_range up_tls;	/* default 1.2-1.3 */
	char *up_ciphers;		/* NULL = library default */
	char *up_ciphersuites;		/* NULL = library default */
	int up_security_level;		/* -1 = library default; conf_check sets 0 below TLS 1.2 */
	bool up_legacy_renegotiation;	/* SSL_OP_LEGACY_SERVER_CONNECT */
	bool up_legacy_provider;	/* dedicated OSSL_LIB_CTX with legacy + default */
	bool up_etm;			/* offer encrypt-then-MAC (RFC 7366); off: SSL_OP_NO_ENCRYPT_THEN_MAC */
	char *up_sni;			/* NULL = upstream host name (if not an IP) */
	bool up_sni_off;
	enum upstream_verify up_verify;
	char *up_ca;			/* NULL = system store */
	unsigned char up_pin[32];	/* SHA-256 of the SubjectPublicKeyInfo */
	bool up_pin_set;
	char *up_cert;			/* client certificate for the endpoint */
	char *up_key;
	char *up_alpn;			/* comma list without blanks; NULL = http/1.1 in http mode, none in tcp */
	bool up_alpn_off;
	char *up_host;			/* Host header sent upstream (http), NULL = client's */
	enum forwarded_mode forwarded;	/* X-Forwarded-* / Forwarded / X-Real-IP (http) */
	unsigned pool_max_idle;
	unsigned pool_min_idle;
	uint64_t pool_idle_timeout_ms;
	uint64_t pool_idle_check_ms;	/* idle this long: keepalive answered before reuse; 0 = off */
	unsigned pool_max_requests;
	uint64_t pool_max_lifetime_ms;
	uint64_t connect_timeout_ms;
	uint64_t handshake_timeout_ms;
	uint64_t response_timeout_ms;
	uint64_t up_reuse_ack_timeout_ms;	/* reused: no byte acknowledged by then = blackholed; 0 = off */
	uint64_t idle_timeout_ms;
	uint64_t max_buffered_body;	/* limit of a chunked body held to send with Content-Length */
	struct hostport up_proxy;	/* upstream_proxy = http://HOST:PORT */
	bool up_proxy_set;		/* false: connect to upstream directly */
	char *up_proxy_auth;		/* file holding user:password; owned */
	char *up_proxy_basic;		/* base64 of that file, read by conf_check; owned, never logged */
	uint64_t up_proxy_timeout_ms;	/* CONNECT sent and answered within this */
	char *secret_header;		/* http: required shared secret field, NULL = none; owned */
	char *secret_file;		/* its value's file; owned */
	unsigned char secret_sha256[32];	/* set by conf_check: SHA-256 of the value */
	size_t secret_len;		/* set by conf_check: the value's length, 0 = not read */
	bool up_chunked;		/* the endpoint reads chunked request bodies (http) */
	unsigned up_max_conns;		/* upstream_max_connections, 0 = unlimited */
	unsigned up_queue_max;		/* upstream_queue_max: requests waiting for one */
	uint64_t up_queue_timeout_ms;	/* upstream_queue_timeout */
	struct conf_loc at[ROUTE_KEY__COUNT];	/* where each key was written, line 0 = not */
	unsigned index;			/* position in conf.routes */
	int metrics_id;			/* set by gen_build: metrics registry id */
	struct upstream_set *uset;	/* set by gen_build, owned by the gen: addresses and health */
	unsigned pool_base;		/* set by gen_build: its first pool in a worker's array */
	struct uplimit *limit;		/* set by gen_build: shared by every generation (upstream_limit.h) */
	bool bad;			/* a value failed to parse: conf_check skips cross-key checks */
};

struct conf {
	char *path;			/* owned; every conf_loc.file points here */
	struct broker_conf broker;
	struct listener_conf *listeners;	/* owned array */
	unsigned nlisteners;
	struct route_conf *routes;	/* owned array */
	unsigned nroutes;
	unsigned npools;		/* set by gen_build: the addresses of every route */
};

/*
 * Loads and parses path.  Returns a new conf, or NULL when any error was
 * found; each error ("FILE:LINE: [section] key: what is allowed") is
 * appended to errs.  The result still needs conf_check().  When parsing
 * failed, the checks of conf_check() that still make sense are run before
 * returning NULL, so a single run lists every error of the file.
 */
struct conf *conf_load(const char *path, struct conf_errors *errs);
/* Same, from a string (tests, fuzzing); name is used as FILE in errors. */
struct conf *conf_load_string(const char *name, const char *text, struct conf_errors *errs);
void conf_free(struct conf *conf);

const struct listener_conf *conf_find_listener(const struct conf *conf, const char *name);
const char *route_mode_str(enum route_mode mode);
const char *forwarded_mode_str(enum forwarded_mode mode);

#endif
