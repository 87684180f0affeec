/* SPDX-License-Identifier: MIT */
/*
 * conf: loading the ini file into an immutable struct conf.  Owns the
 * line-counting reader fed to inih's ini_parse_stream() (Debian 12's inih 55
 * splits lines over 200 bytes silently; we reject them instead), the key
 * table of each section kind, defaults, and "FILE:LINE: [section] key: ..."
 * errors.  Every error is collected; loading fails if there was any.
 * Cross-references, files and SSL_CTX checks live in conf_check.c.
 */
#ifndef TLSBROKER_CONF_H
#define TLSBROKER_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"
#include "parse.h"
#include "upstream_set.h"

#define CONF_MAX_CERTS 16
#define CONF_MAX_LINE 1024	/* longest accepted line, without newline */
#define CONF_MAX_SIZE (8 * 1024 * 1024)	/* longest accepted file, in bytes */
#define CONF_MAX_ERRORS 100	/* errors kept; reading stops once there are this many */

/* Where a value came from, so later checks point at the right line. */
struct conf_loc {
	const char *file;	/* not owned: struct conf.path */
	int line;		/* 0 = default value */
};

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARNING,
	LOG_LVL_NOTICE,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG
};

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
	struct conf_loc audit_log_loc;
	enum log_level log_level;
	struct hostport admin;		/* port 0 = no admin endpoint */
	bool admin_set;
	struct conf_loc admin_loc;
	uint64_t drain_timeout_ms;	/* SIGTERM: time open connections get */
	uint64_t drain_grace_ms;	/* SIGTERM: unready, still accepting, this long */
	uint64_t tcp_keepalive_ms;	/* silence before TCP keepalive probes, 0 = none */
	char *user;			/* drop privileges to this user, NULL = don't */
	struct conf_loc user_loc;
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
	struct conf_loc bind_loc;
	char *certs[CONF_MAX_CERTS];	/* PEM files, first is the default; owned */
	unsigned ncerts;
	struct conf_loc cert_loc;	/* the first cert line */
	struct conf_loc cert_locs[CONF_MAX_CERTS];	/* the line of each cert */
	char *key;			/* key file when separate (one cert only); owned */
	struct conf_loc key_loc;
	int min_tls;			/* TLS1_2_VERSION or TLS1_3_VERSION */
	char *ciphers;			/* TLS <= 1.2 list, NULL = intermediate profile */
	struct conf_loc ciphers_loc;
	char *ciphersuites;		/* TLS 1.3, NULL = OpenSSL default */
	struct conf_loc ciphersuites_loc;
	struct cidr_list allow;		/* empty = everyone */
	enum proxy_mode proxy_protocol;
	struct conf_loc proxy_protocol_loc;
	struct cidr_list proxy_trusted;	/* sources whose PROXY header is believed */
	struct conf_loc proxy_trusted_loc;	/* the first proxy_trusted line */
	struct conf_servicetag *servicetags;	/* owned; their prefixes join allow */
	unsigned nservicetags;
	char *client_ca;		/* require a client cert from this CA; owned */
	struct conf_loc client_ca_loc;
	uint64_t handshake_timeout_ms;	/* inbound handshake deadline */
	uint64_t request_timeout_ms;	/* http: a request head must arrive within this */
	uint64_t keepalive_timeout_ms;	/* http: idle time allowed between requests */
	int metrics_id;			/* set by gen_build: metrics registry id */
	unsigned index;			/* position in conf.listeners */
	bool bad;			/* a value failed to parse: conf_check skips cross-key checks */
};

struct uplimit;

struct route_conf {
	char *name;			/* owned */
	struct conf_loc loc;		/* the [route NAME] line */
	char *listener;			/* owned; resolved by conf_check */
	struct conf_loc listener_loc;
	unsigned listener_index;	/* set by conf_check */
	enum route_mode mode;
	struct conf_loc mode_loc;
	char *host;			/* SNI / Host match, NULL = any; owned, lowercase */
	struct conf_loc host_loc;
	char *path;			/* path prefix (http), NULL = any; owned */
	struct conf_loc path_loc;
	struct hostport upstream;	/* the first address: TLS name, Host and probe default */
	struct conf_loc upstream_loc;
	struct upstream_addr upstreams[UPSET_MAX_ADDRS];	/* every address, in order */
	unsigned nupstreams;
	unsigned up_max_fails;		/* failures in a row that mark an address down, 0 = never */
	uint64_t up_fail_timeout_ms;	/* how long it stays down before a trial */
	enum health_check health_check;
	struct conf_loc health_check_loc;
	uint64_t health_check_interval_ms;
	char *health_check_path;	/* owned; NULL = "/" */
	struct conf_loc health_check_path_loc;
	unsigned health_check_status;	/* 0 = any 2xx or 3xx */
	struct conf_loc health_check_status_loc;
	struct tls_range up_tls;	/* default 1.2-1.3 */
	struct conf_loc up_tls_loc;
	char *up_ciphers;		/* NULL = library default */
	struct conf_loc up_ciphers_loc;
	char *up_ciphersuites;		/* NULL = library default */
	struct conf_loc up_ciphersuites_loc;
	int up_security_level;		/* -1 = library default; conf_check sets 0 below TLS 1.2 */
	struct conf_loc up_security_level_loc;
	bool up_legacy_renegotiation;	/* SSL_OP_LEGACY_SERVER_CONNECT */
	struct conf_loc up_legacy_renegotiation_loc;
	bool up_legacy_provider;	/* dedicated OSSL_LIB_CTX with legacy + default */
	struct conf_loc up_legacy_provider_loc;
	bool up_etm;			/* offer encrypt-then-MAC (RFC 7366); off: SSL_OP_NO_ENCRYPT_THEN_MAC */
	struct conf_loc up_etm_loc;
	char *up_sni;			/* NULL = upstream host name (if not an IP) */
	bool up_sni_off;
	struct conf_loc up_sni_loc;
	enum upstream_verify up_verify;
	struct conf_loc up_verify_loc;
	char *up_ca;			/* NULL = system store */
	struct conf_loc up_ca_loc;
	unsigned char up_pin[32];	/* SHA-256 of the SubjectPublicKeyInfo */
	bool up_pin_set;
	struct conf_loc up_pin_loc;
	char *up_cert;			/* client certificate for the endpoint */
	struct conf_loc up_cert_loc;
	char *up_key;
	struct conf_loc up_key_loc;
	char *up_alpn;			/* comma list without blanks; NULL = http/1.1 in http mode, none in tcp */
	bool up_alpn_off;
	struct conf_loc up_alpn_loc;
	char *up_host;			/* Host header sent upstream (http), NULL = client's */
	struct conf_loc up_host_loc;
	enum forwarded_mode forwarded;	/* X-Forwarded-* / Forwarded / X-Real-IP (http) */
	struct conf_loc forwarded_loc;
	unsigned pool_max_idle;
	struct conf_loc pool_max_idle_loc;
	unsigned pool_min_idle;
	struct conf_loc pool_min_idle_loc;
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
	struct conf_loc max_buffered_body_loc;
	struct hostport up_proxy;	/* upstream_proxy = http://HOST:PORT */
	bool up_proxy_set;		/* false: connect to upstream directly */
	struct conf_loc up_proxy_loc;
	char *up_proxy_auth;		/* file holding user:password; owned */
	struct conf_loc up_proxy_auth_loc;
	char *up_proxy_basic;		/* base64 of that file, read by conf_check; owned, never logged */
	uint64_t up_proxy_timeout_ms;	/* CONNECT sent and answered within this */
	struct conf_loc up_proxy_timeout_loc;
	char *secret_header;		/* http: required shared secret field, NULL = none; owned */
	struct conf_loc secret_header_loc;
	char *secret_file;		/* its value's file; owned */
	struct conf_loc secret_file_loc;
	unsigned char secret_sha256[32];	/* set by conf_check: SHA-256 of the value */
	size_t secret_len;		/* set by conf_check: the value's length, 0 = not read */
	bool up_chunked;		/* the endpoint reads chunked request bodies (http) */
	struct conf_loc up_chunked_loc;
	unsigned up_max_conns;		/* upstream_max_connections, 0 = unlimited */
	struct conf_loc up_max_conns_loc;
	unsigned up_queue_max;		/* upstream_queue_max: requests waiting for one */
	struct conf_loc up_queue_max_loc;
	uint64_t up_queue_timeout_ms;	/* upstream_queue_timeout */
	struct conf_loc up_queue_timeout_loc;
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
 * Collected errors, printed together.  At most CONF_MAX_ERRORS are kept,
 * then one line that says more were dropped.
 */
struct conf_errors {
	char **msgs;			/* owned */
	unsigned count;
	unsigned cap;
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

/* errs may be NULL in all three (the error is then only counted by the caller). */
void conf_errors_add(struct conf_errors *errs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * Adds "FILE:LINE: [section] key: msg" for a loc.  section is the text
 * inside the brackets ("listener erp", "broker"); the brackets are added.
 * A NULL section or key is left out ("FILE:LINE: [route x]: msg",
 * "FILE:LINE: msg"); a loc with line 0 (a default) prints "FILE: ...".
 */
void conf_errors_add_at(struct conf_errors *errs, const struct conf_loc *loc,
    const char *section, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void conf_errors_free(struct conf_errors *errs);

const struct listener_conf *conf_find_listener(const struct conf *conf, const char *name);
const char *log_level_str(enum log_level lvl);
const char *route_mode_str(enum route_mode mode);
const char *forwarded_mode_str(enum forwarded_mode mode);

#endif
