/* SPDX-License-Identifier: MIT */
/*
 * conf_keys: the key table, the single source of truth of every key of
 * the ini file.  A row says a key's name, its parser, the field it fills,
 * its default (parsed by the same parser when a section starts), its
 * scope (any route, http mode only, TLS upstreams only, upstream_proxy
 * routes only), how what it stored is freed, whether it names a file
 * conf_check must be able to read, and whether it is required or may
 * repeat.  Where a key was written is kept in the section's at[]
 * array, indexed by the row's id, so every check can point at its line.
 * This module owns the rows, the value parsers and the enum choices; it
 * does not read files or report errors (conf.c), nor check keys against
 * each other (conf_check.c).
 *
 * A new key = one row here, in the list of its section below (+ the
 * field it fills in conf.h and its entry in man/tlsbroker.ini.5): the row
 * gives the enum id, its name and designated initializers of struct
 * conf_key.  The id is the key's name in capitals after the section's
 * prefix.  check_conf tests that every row parses its default, has a
 * scope and a unique name, and is documented.
 */
#ifndef TLSBROKER_CONF_KEYS_H
#define TLSBROKER_CONF_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf_err.h"
#include "conf_lines.h"

/* Flags of a key. */
#define KEY_REPEAT	0x01	/* may repeat; values accumulate */
#define KEY_REQUIRED	0x02	/* error at the section line when missing */
#define KEY_AUTO	0x04	/* "auto" = 0 (numbers) */
#define KEY_NONZERO	0x08	/* 0 is not allowed (durations) */
#define KEY_OWN_SCOPE	0x10	/* conf_check reports a misplaced key itself, with advice */
#define KEY_FILE	0x20	/* a string naming a file conf_check must be able to read */

/* Where a key means something; conf_check reports it anywhere else. */
enum conf_scope {
	SCOPE_UNSET = 0,	/* a row that forgot to say: check_conf fails */
	SCOPE_ANY,		/* every section of its kind */
	SCOPE_HTTP,		/* routes with mode = http */
	SCOPE_TLS,		/* routes with upstream_tls other than off */
	SCOPE_PROXY		/* routes with upstream_proxy set */
};

/*
 * The rows.  Each is X(ID, "name", designated initializers...).  Offsets
 * use B(), L() and R() for the broker, listener and route structs.
 */
#define CONF_BROKER_KEYS(X) \
	X(BROKER_KEY_WORKERS, "workers", .parse = kv_uint, .off = B(workers), \
	    .flags = KEY_AUTO, .min = 1, .max = METRICS_MAX_WORKERS, .def = "auto", \
	    .scope = SCOPE_ANY) \
	X(BROKER_KEY_MAX_CONNECTIONS, "max_connections", .parse = kv_uint, \
	    .off = B(max_connections), .flags = KEY_AUTO, .min = 1, .max = 1000000, \
	    .def = "auto", .scope = SCOPE_ANY) \
	X(BROKER_KEY_AUDIT_LOG, "audit_log", .parse = kv_token, .release = rel_str, \
	    .off = B(audit_log), .scope = SCOPE_ANY) \
	X(BROKER_KEY_LOG_LEVEL, "log_level", .parse = kv_enum, .off = B(log_level), \
	    .choices = &conf_log_levels, .def = "info", .scope = SCOPE_ANY) \
	X(BROKER_KEY_ADMIN, "admin", .parse = kv_admin, .off = B(admin), \
	    .scope = SCOPE_ANY) \
	X(BROKER_KEY_DRAIN_TIMEOUT, "drain_timeout", .parse = kv_duration, \
	    .off = B(drain_timeout_ms), .def = "30s", .scope = SCOPE_ANY) \
	X(BROKER_KEY_DRAIN_GRACE, "drain_grace", .parse = kv_duration, \
	    .off = B(drain_grace_ms), .def = "0", .scope = SCOPE_ANY) \
	/* probes every minute of silence: inside Azure's 4-minute idle drop */ \
	X(BROKER_KEY_TCP_KEEPALIVE, "tcp_keepalive", .parse = kv_duration_off, \
	    .off = B(tcp_keepalive_ms), .def = "60s", .scope = SCOPE_ANY) \
	X(BROKER_KEY_USER, "user", .parse = kv_token, .release = rel_str, \
	    .off = B(user), .scope = SCOPE_ANY)

#define CONF_LISTENER_KEYS(X) \
	X(LISTENER_KEY_BIND, "bind", .parse = kv_bind, .off = L(bind), \
	    .flags = KEY_REQUIRED, .missing = "address to listen on, like *:443 or [::]:443", \
	    .scope = SCOPE_ANY) \
	X(LISTENER_KEY_CERT, "cert", .parse = kv_cert, .release = rel_certs, \
	    .off = L(certs), .flags = KEY_REQUIRED | KEY_REPEAT, \
	    .missing = "PEM file with the certificate chain and key", .scope = SCOPE_ANY) \
	X(LISTENER_KEY_KEY, "key", .parse = kv_token, .release = rel_str, .off = L(key), \
	    .flags = KEY_FILE, .scope = SCOPE_ANY) \
	X(LISTENER_KEY_MIN_TLS, "min_tls", .parse = kv_min_tls, .off = L(min_tls), \
	    .def = "1.2", .scope = SCOPE_ANY) \
	X(LISTENER_KEY_CIPHERS, "ciphers", .parse = kv_str, .release = rel_str, \
	    .off = L(ciphers), .scope = SCOPE_ANY) \
	X(LISTENER_KEY_CIPHERSUITES, "ciphersuites", .parse = kv_str, .release = rel_str, \
	    .off = L(ciphersuites), .scope = SCOPE_ANY) \
	X(LISTENER_KEY_ALLOW, "allow", .parse = kv_allow, .release = rel_allow, \
	    .off = L(allow), .flags = KEY_REPEAT, .scope = SCOPE_ANY) \
	X(LISTENER_KEY_PROXY_PROTOCOL, "proxy_protocol", .parse = kv_enum, \
	    .off = L(proxy_protocol), .choices = &conf_proxy_modes, .def = "off", \
	    .scope = SCOPE_ANY) \
	X(LISTENER_KEY_PROXY_TRUSTED, "proxy_trusted", .parse = kv_cidrs, \
	    .release = rel_cidrs, .off = L(proxy_trusted), .flags = KEY_REPEAT, \
	    .scope = SCOPE_ANY) \
	X(LISTENER_KEY_CLIENT_CA, "client_ca", .parse = kv_token, .release = rel_str, \
	    .off = L(client_ca), .flags = KEY_FILE, .scope = SCOPE_ANY) \
	X(LISTENER_KEY_HANDSHAKE_TIMEOUT, "handshake_timeout", .parse = kv_duration, \
	    .off = L(handshake_timeout_ms), .flags = KEY_NONZERO, .def = "10s", \
	    .scope = SCOPE_ANY) \
	/* slowloris: a head must arrive by then */ \
	X(LISTENER_KEY_REQUEST_TIMEOUT, "request_timeout", .parse = kv_duration, \
	    .off = L(request_timeout_ms), .flags = KEY_NONZERO, .def = "10s", \
	    .scope = SCOPE_ANY) \
	/* \
	 * Above the 100 s .NET keeps an idle connection \
	 * (MaxServicePointIdleTime): the client always closes first, so a \
	 * request never races our close (the ERP does not retry a POST). \
	 */ \
	X(LISTENER_KEY_KEEPALIVE_TIMEOUT, "keepalive_timeout", .parse = kv_duration, \
	    .off = L(keepalive_timeout_ms), .flags = KEY_NONZERO, .def = "120s", \
	    .scope = SCOPE_ANY)

#define CONF_ROUTE_KEYS(X) \
	X(ROUTE_KEY_LISTENER, "listener", .parse = kv_name, .release = rel_str, \
	    .off = R(listener), .scope = SCOPE_ANY) \
	X(ROUTE_KEY_MODE, "mode", .parse = kv_enum, .off = R(mode), \
	    .choices = &conf_route_modes, .def = "http", .scope = SCOPE_ANY) \
	X(ROUTE_KEY_HOST, "host", .parse = kv_host, .release = rel_str, .off = R(host), \
	    .scope = SCOPE_ANY) \
	X(ROUTE_KEY_PATH, "path", .parse = kv_path, .release = rel_str, .off = R(path), \
	    .scope = SCOPE_HTTP) \
	/* host:port [weight=N] [backup], ... (upstream_set.c) */ \
	X(ROUTE_KEY_UPSTREAM, "upstream", .parse = kv_upstreams, .off = R(upstreams), \
	    .flags = KEY_REQUIRED, .missing = "host:port of the endpoint", \
	    .scope = SCOPE_ANY) \
	/* nginx's max_fails = 1 / fail_timeout = 10s; HAProxy's inter 2s */ \
	X(ROUTE_KEY_UPSTREAM_MAX_FAILS, "upstream_max_fails", .parse = kv_uint, \
	    .off = R(up_max_fails), .min = 0, .max = 1000, .def = "1", .scope = SCOPE_ANY) \
	X(ROUTE_KEY_UPSTREAM_FAIL_TIMEOUT, "upstream_fail_timeout", .parse = kv_duration, \
	    .off = R(up_fail_timeout_ms), .flags = KEY_NONZERO, .def = "10s", \
	    .scope = SCOPE_ANY) \
	X(ROUTE_KEY_HEALTH_CHECK, "health_check", .parse = kv_enum, \
	    .off = R(health_check), .choices = &conf_health_checks, .def = "off", \
	    .scope = SCOPE_ANY) \
	X(ROUTE_KEY_HEALTH_CHECK_INTERVAL, "health_check_interval", .parse = kv_duration, \
	    .off = R(health_check_interval_ms), .flags = KEY_NONZERO, .def = "2s", \
	    .scope = SCOPE_ANY) \
	/* health_check_path and _status: conf_check wants health_check = http */ \
	X(ROUTE_KEY_HEALTH_CHECK_PATH, "health_check_path", .parse = kv_path, \
	    .release = rel_str, .off = R(health_check_path), .flags = KEY_OWN_SCOPE, \
	    .scope = SCOPE_ANY) \
	X(ROUTE_KEY_HEALTH_CHECK_STATUS, "health_check_status", .parse = kv_uint, \
	    .off = R(health_check_status), .flags = KEY_OWN_SCOPE, .min = 100, .max = 599, \
	    .scope = SCOPE_ANY) \
	X(ROUTE_KEY_UPSTREAM_TLS, "upstream_tls", .parse = kv_tls_range, \
	    .off = R(up_tls), .def = "1.2-1.3", .scope = SCOPE_ANY) \
	X(ROUTE_KEY_UPSTREAM_CIPHERS, "upstream_ciphers", .parse = kv_str, \
	    .release = rel_str, .off = R(up_ciphers), .scope = SCOPE_TLS) \
	X(ROUTE_KEY_UPSTREAM_CIPHERSUITES, "upstream_ciphersuites", .parse = kv_str, \
	    .release = rel_str, .off = R(up_ciphersuites), .scope = SCOPE_TLS) \
	/* "library": OpenSSL's; conf_check makes it 0 below TLS 1.2 */ \
	X(ROUTE_KEY_UPSTREAM_SECURITY_LEVEL, "upstream_security_level", \
	    .parse = kv_security_level, .off = R(up_security_level), .min = 0, .max = 5, \
	    .def = "library", .scope = SCOPE_TLS) \
	X(ROUTE_KEY_UPSTREAM_LEGACY_RENEGOTIATION, "upstream_legacy_renegotiation", \
	    .parse = kv_bool, .off = R(up_legacy_renegotiation), .def = "no", \
	    .scope = SCOPE_TLS) \
	X(ROUTE_KEY_UPSTREAM_LEGACY_PROVIDER, "upstream_legacy_provider", \
	    .parse = kv_bool, .off = R(up_legacy_provider), .def = "no", \
	    .scope = SCOPE_TLS) \
	X(ROUTE_KEY_UPSTREAM_ENCRYPT_THEN_MAC, "upstream_encrypt_then_mac", \
	    .parse = kv_bool, .off = R(up_etm), .def = "yes", .scope = SCOPE_TLS) \
	X(ROUTE_KEY_UPSTREAM_SNI, "upstream_sni", .parse = kv_sni, .release = rel_str, \
	    .off = R(up_sni), .scope = SCOPE_TLS) \
	X(ROUTE_KEY_UPSTREAM_VERIFY, "upstream_verify", .parse = kv_enum, \
	    .off = R(up_verify), .choices = &conf_verify_modes, .def = "ca", \
	    .scope = SCOPE_TLS) \
	X(ROUTE_KEY_UPSTREAM_CA, "upstream_ca", .parse = kv_token, .release = rel_str, \
	    .off = R(up_ca), .flags = KEY_FILE, .scope = SCOPE_TLS) \
	X(ROUTE_KEY_UPSTREAM_PIN, "upstream_pin", .parse = kv_pin, .off = R(up_pin), \
	    .scope = SCOPE_TLS) \
	X(ROUTE_KEY_UPSTREAM_CERT, "upstream_cert", .parse = kv_token, .release = rel_str, \
	    .off = R(up_cert), .flags = KEY_FILE, .scope = SCOPE_TLS) \
	X(ROUTE_KEY_UPSTREAM_KEY, "upstream_key", .parse = kv_token, .release = rel_str, \
	    .off = R(up_key), .flags = KEY_FILE, .scope = SCOPE_TLS) \
	X(ROUTE_KEY_UPSTREAM_ALPN, "upstream_alpn", .parse = kv_alpn, .release = rel_str, \
	    .off = R(up_alpn), .scope = SCOPE_TLS) \
	X(ROUTE_KEY_UPSTREAM_HOST, "upstream_host", .parse = kv_token, .release = rel_str, \
	    .off = R(up_host), .scope = SCOPE_HTTP) \
	/* internet-facing: the client's copies lie */ \
	X(ROUTE_KEY_FORWARDED, "forwarded", .parse = kv_forwarded, .off = R(forwarded), \
	    .choices = &conf_forwarded_modes, .def = "replace", .scope = SCOPE_HTTP) \
	X(ROUTE_KEY_POOL_MAX_IDLE, "pool_max_idle", .parse = kv_uint, \
	    .off = R(pool_max_idle), .min = 0, .max = 10000, .def = "16", \
	    .scope = SCOPE_ANY) \
	X(ROUTE_KEY_POOL_MIN_IDLE, "pool_min_idle", .parse = kv_uint, \
	    .off = R(pool_min_idle), .min = 0, .max = 10000, .def = "0", \
	    .scope = SCOPE_ANY) \
	X(ROUTE_KEY_POOL_IDLE_TIMEOUT, "pool_idle_timeout", .parse = kv_duration, \
	    .off = R(pool_idle_timeout_ms), .flags = KEY_NONZERO, .def = "30s", \
	    .scope = SCOPE_ANY) \
	/* \
	 * Far below the idle timers of firewalls, NATs and balancers (minutes), \
	 * so a forgotten connection is found by a probe long before one of \
	 * them could forget it; one probe per idle connection per 10 s. \
	 */ \
	X(ROUTE_KEY_POOL_IDLE_CHECK, "pool_idle_check", .parse = kv_duration_off, \
	    .off = R(pool_idle_check_ms), .def = "10s", .scope = SCOPE_ANY) \
	X(ROUTE_KEY_POOL_MAX_REQUESTS, "pool_max_requests", .parse = kv_uint, \
	    .off = R(pool_max_requests), .min = 1, .max = 10000000, .def = "1000", \
	    .scope = SCOPE_ANY) \
	X(ROUTE_KEY_POOL_MAX_LIFETIME, "pool_max_lifetime", .parse = kv_duration, \
	    .off = R(pool_max_lifetime_ms), .flags = KEY_NONZERO, .def = "10m", \
	    .scope = SCOPE_ANY) \
	X(ROUTE_KEY_CONNECT_TIMEOUT, "connect_timeout", .parse = kv_duration, \
	    .off = R(connect_timeout_ms), .flags = KEY_NONZERO, .def = "5s", \
	    .scope = SCOPE_ANY) \
	X(ROUTE_KEY_HANDSHAKE_TIMEOUT, "handshake_timeout", .parse = kv_duration, \
	    .off = R(handshake_timeout_ms), .flags = KEY_NONZERO, .def = "10s", \
	    .scope = SCOPE_ANY) \
	/* \
	 * Below the ERP's 60 s WCF and 100 s HttpWebRequest timeouts: our \
	 * named 504 reaches the client before it gives up on its own. \
	 */ \
	X(ROUTE_KEY_RESPONSE_TIMEOUT, "response_timeout", .parse = kv_duration, \
	    .off = R(response_timeout_ms), .flags = KEY_NONZERO, .def = "50s", \
	    .scope = SCOPE_ANY) \
	/* \
	 * A live path acknowledges within a round trip plus the delayed-ACK \
	 * time (RFC 1122: at most 500 ms); 2 s also covers two \
	 * retransmissions at the 200 ms minimum RTO, and costs a blackholed \
	 * request 2 s instead of response_timeout. \
	 */ \
	X(ROUTE_KEY_UPSTREAM_REUSE_ACK_TIMEOUT, "upstream_reuse_ack_timeout", \
	    .parse = kv_duration_off, .off = R(up_reuse_ack_timeout_ms), .def = "2s", \
	    .scope = SCOPE_ANY) \
	X(ROUTE_KEY_IDLE_TIMEOUT, "idle_timeout", .parse = kv_duration, \
	    .off = R(idle_timeout_ms), .flags = KEY_NONZERO, .def = "5m", \
	    .scope = SCOPE_ANY) \
	X(ROUTE_KEY_MAX_BUFFERED_BODY, "max_buffered_body", .parse = kv_size, \
	    .off = R(max_buffered_body), .def = "1m", .scope = SCOPE_HTTP) \
	X(ROUTE_KEY_UPSTREAM_PROXY, "upstream_proxy", .parse = kv_proxy, \
	    .off = R(up_proxy), .scope = SCOPE_ANY) \
	X(ROUTE_KEY_UPSTREAM_PROXY_AUTH, "upstream_proxy_auth", .parse = kv_token, \
	    .release = rel_str, .off = R(up_proxy_auth), .scope = SCOPE_PROXY) \
	X(ROUTE_KEY_UPSTREAM_PROXY_TIMEOUT, "upstream_proxy_timeout", \
	    .parse = kv_duration, .off = R(up_proxy_timeout_ms), .flags = KEY_NONZERO, \
	    .def = "10s", .scope = SCOPE_PROXY) \
	X(ROUTE_KEY_SECRET_HEADER, "secret_header", .parse = kv_field_name, \
	    .release = rel_str, .off = R(secret_header), .flags = KEY_OWN_SCOPE, \
	    .scope = SCOPE_HTTP) \
	X(ROUTE_KEY_SECRET_FILE, "secret_file", .parse = kv_token, .release = rel_str, \
	    .off = R(secret_file), .flags = KEY_OWN_SCOPE, .scope = SCOPE_HTTP) \
	X(ROUTE_KEY_UPSTREAM_CHUNKED, "upstream_chunked", .parse = kv_bool, \
	    .off = R(up_chunked), .def = "no", .scope = SCOPE_HTTP) \
	/* \
	 * No cap unless asked: only the operator knows what an endpoint \
	 * takes, and any fixed number would queue a healthy endpoint's load. \
	 * The queue absorbs an ERP batch burst of a few hundred calls; its \
	 * timeout ends a wait well before the ERP's own 60 s and 100 s \
	 * timeouts, with a named 503 that says nothing was sent.  The queue \
	 * keys need a cap: conf_check says so itself. \
	 */ \
	X(ROUTE_KEY_UPSTREAM_MAX_CONNECTIONS, "upstream_max_connections", .parse = kv_uint, \
	    .off = R(up_max_conns), .min = 0, .max = 100000, .def = "0", .scope = SCOPE_ANY) \
	X(ROUTE_KEY_UPSTREAM_QUEUE_MAX, "upstream_queue_max", .parse = kv_uint, \
	    .off = R(up_queue_max), .flags = KEY_OWN_SCOPE, .min = 0, .max = 100000, \
	    .def = "256", .scope = SCOPE_ANY) \
	X(ROUTE_KEY_UPSTREAM_QUEUE_TIMEOUT, "upstream_queue_timeout", .parse = kv_duration, \
	    .off = R(up_queue_timeout_ms), .flags = KEY_OWN_SCOPE | KEY_NONZERO, \
	    .def = "30s", .scope = SCOPE_ANY)

#define CONF_KEY_ID(id, ...) id,
enum broker_key { CONF_BROKER_KEYS(CONF_KEY_ID) BROKER_KEY__COUNT };
enum listener_key { CONF_LISTENER_KEYS(CONF_KEY_ID) LISTENER_KEY__COUNT };
enum route_key { CONF_ROUTE_KEYS(CONF_KEY_ID) ROUTE_KEY__COUNT };
#undef CONF_KEY_ID

enum conf_kind {
	CONF_SECT_NONE = 0,	/* before the first section header */
	CONF_SECT_BROKER,
	CONF_SECT_LISTENER,
	CONF_SECT_ROUTE,
	CONF_SECT_SKIP		/* a bad header, already reported: ignore its keys */
};

#define CONF_ERRLEN (CONF_MAX_LINE + 256)	/* a whole value and what is allowed */

/* The words an enum key accepts, and the values they stand for. */
struct conf_choice {
	const char *name;
	int value;
};

struct conf_choices {
	const struct conf_choice *v;	/* ends with a NULL name */
	const char *list;		/* for "'x' is not one of LIST" */
};

struct conf_key;

/*
 * A key's parser: reads value, found at "at" (line 0: the row's default),
 * into the section struct sect (at k->off, and sibling fields where the
 * key sets more than one).  0, or -1 with a phrase in err (CONF_ERRLEN
 * bytes) saying what is allowed.
 */
typedef int conf_parse_fn(const struct conf_key *k, const char *value,
    void *sect, const struct conf_loc *at, char *err);
/* Frees what the parser stored in sect and leaves it empty. */
typedef void conf_release_fn(const struct conf_key *k, void *sect);

struct conf_key {
	const char *name;
	conf_parse_fn *parse;
	conf_release_fn *release;	/* NULL: the key owns no memory */
	size_t off;			/* offsetof the value in the section struct */
	unsigned flags;			/* KEY_* */
	enum conf_scope scope;
	uint64_t min, max;		/* bounds of numbers */
	const struct conf_choices *choices;	/* the words of an enum key */
	const char *def;		/* default, as it would be written; NULL = empty */
	const char *missing;		/* KEY_REQUIRED: what the value should be */
};

/* A section kind: its keys, and where its structs keep their locations. */
struct conf_sect_desc {
	const char *header;		/* "[route NAME]", for messages */
	const char *word;		/* "route": the header's first word */
	const struct conf_key *keys;	/* indexed by the kind's key enum */
	unsigned nkeys;
	size_t size;			/* sizeof the section struct */
	size_t at;			/* offsetof its struct conf_loc at[nkeys] */
};

/* The kind's description, or NULL for CONF_SECT_NONE and CONF_SECT_SKIP. */
const struct conf_sect_desc *conf_sect_desc(enum conf_kind kind);
/* The at[] array of a section struct of kind d. */
struct conf_loc *conf_sect_at(const struct conf_sect_desc *d, void *sect);
/* Index of name in d's keys, or -1. */
int conf_key_find(const struct conf_sect_desc *d, const char *name);

/*
 * Zeroes sect and parses every row's default into it.  -1 with err if a
 * default does not parse (a bug in the table: check_conf tests them all).
 */
int conf_sect_defaults(const struct conf_sect_desc *d, void *sect, const char *file,
    char *err);
/* Frees what every key of sect owns. */
void conf_sect_release(const struct conf_sect_desc *d, void *sect);

/* The word of value in choices, "?" if none. */
const char *conf_choice_name(const struct conf_choices *choices, int value);

extern const struct conf_choices conf_route_modes, conf_forwarded_modes,
    conf_verify_modes, conf_proxy_modes, conf_log_levels, conf_health_checks;

#endif
