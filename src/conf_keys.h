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
 * gives the enum id, its name, its scope and its fields, mostly one of
 * the field groups (KV_TIMEOUT(), KV_FILE()...) that say a kind of value
 * once.  The id is the key's name in capitals after the section's
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
 * The field groups of the rows: the kinds of value most keys take.  A
 * row adds what its group leaves out (flags, .missing); a key of its own
 * kind writes its fields out.  f is the field's offset, d the default.
 */
#define KV_VALUE(p, f)		.parse = p, .off = f	/* owns no memory */
#define KV_OWNED(p, rel, f)	.parse = p, .release = rel, .off = f
#define KV_STRING(p, f)		KV_OWNED(p, rel_str, f)
#define KV_FILE(f)		KV_STRING(kv_token, f), .flags = KEY_FILE
#define KV_NUMBER(f, lo, hi, d)	KV_VALUE(kv_uint, f), .min = lo, .max = hi, .def = d
#define KV_DURATION(f, d)	KV_VALUE(kv_duration, f), .def = d
#define KV_DURATION_OFF(f, d)	KV_VALUE(kv_duration_off, f), .def = d
#define KV_TIMEOUT(f, d)	KV_DURATION(f, d), .flags = KEY_NONZERO
#define KV_ENUM(f, words, d)	KV_VALUE(kv_enum, f), .choices = &words, .def = d
#define KV_BOOL(f, d)		KV_VALUE(kv_bool, f), .def = d

/*
 * The rows.  Each is X(ID, "name", scope, fields...), the fields a group
 * above or designated initializers of struct conf_key.  Offsets use B(),
 * L() and R() for the broker, listener and route structs.
 */
#define CONF_BROKER_KEYS(X) \
	X(BROKER_KEY_WORKERS, "workers", SCOPE_ANY, .flags = KEY_AUTO, \
	    KV_NUMBER(B(workers), 1, METRICS_MAX_WORKERS, "auto")) \
	X(BROKER_KEY_MAX_CONNECTIONS, "max_connections", SCOPE_ANY, .flags = KEY_AUTO, \
	    KV_NUMBER(B(max_connections), 1, 1000000, "auto")) \
	X(BROKER_KEY_AUDIT_LOG, "audit_log", SCOPE_ANY, KV_STRING(kv_token, B(audit_log))) \
	X(BROKER_KEY_LOG_LEVEL, "log_level", SCOPE_ANY, \
	    KV_ENUM(B(log_level), conf_log_levels, "info")) \
	X(BROKER_KEY_ADMIN, "admin", SCOPE_ANY, KV_VALUE(kv_admin, B(admin))) \
	X(BROKER_KEY_DRAIN_TIMEOUT, "drain_timeout", SCOPE_ANY, \
	    KV_DURATION(B(drain_timeout_ms), "30s")) \
	X(BROKER_KEY_DRAIN_GRACE, "drain_grace", SCOPE_ANY, KV_DURATION(B(drain_grace_ms), "0")) \
	/* probes every minute of silence: inside Azure's 4-minute idle drop */ \
	X(BROKER_KEY_TCP_KEEPALIVE, "tcp_keepalive", SCOPE_ANY, \
	    KV_DURATION_OFF(B(tcp_keepalive_ms), "60s")) \
	X(BROKER_KEY_USER, "user", SCOPE_ANY, KV_STRING(kv_token, B(user)))

#define CONF_LISTENER_KEYS(X) \
	X(LISTENER_KEY_BIND, "bind", SCOPE_ANY, KV_VALUE(kv_bind, L(bind)), .flags = KEY_REQUIRED, \
	    .missing = "address to listen on, like *:443 or [::]:443") \
	X(LISTENER_KEY_CERT, "cert", SCOPE_ANY, KV_OWNED(kv_cert, rel_certs, L(certs)), \
	    .flags = KEY_REQUIRED | KEY_REPEAT, \
	    .missing = "PEM file with the certificate chain and key") \
	X(LISTENER_KEY_KEY, "key", SCOPE_ANY, KV_FILE(L(key))) \
	X(LISTENER_KEY_MIN_TLS, "min_tls", SCOPE_ANY, KV_VALUE(kv_min_tls, L(min_tls)), .def = "1.2") \
	X(LISTENER_KEY_CIPHERS, "ciphers", SCOPE_ANY, KV_STRING(kv_str, L(ciphers))) \
	X(LISTENER_KEY_CIPHERSUITES, "ciphersuites", SCOPE_ANY, KV_STRING(kv_str, L(ciphersuites))) \
	X(LISTENER_KEY_ALLOW, "allow", SCOPE_ANY, KV_OWNED(kv_allow, rel_allow, L(allow)), \
	    .flags = KEY_REPEAT) \
	X(LISTENER_KEY_PROXY_PROTOCOL, "proxy_protocol", SCOPE_ANY, \
	    KV_ENUM(L(proxy_protocol), conf_proxy_modes, "off")) \
	X(LISTENER_KEY_PROXY_TRUSTED, "proxy_trusted", SCOPE_ANY, \
	    KV_OWNED(kv_cidrs, rel_cidrs, L(proxy_trusted)), .flags = KEY_REPEAT) \
	X(LISTENER_KEY_CLIENT_CA, "client_ca", SCOPE_ANY, KV_FILE(L(client_ca))) \
	X(LISTENER_KEY_HANDSHAKE_TIMEOUT, "handshake_timeout", SCOPE_ANY, \
	    KV_TIMEOUT(L(handshake_timeout_ms), "10s")) \
	/* slowloris: a head must arrive by then */ \
	X(LISTENER_KEY_REQUEST_TIMEOUT, "request_timeout", SCOPE_ANY, \
	    KV_TIMEOUT(L(request_timeout_ms), "10s")) \
	/* \
	 * Above the 100 s .NET keeps an idle connection \
	 * (MaxServicePointIdleTime): the client always closes first, so a \
	 * request never races our close (the ERP does not retry a POST). \
	 */ \
	X(LISTENER_KEY_KEEPALIVE_TIMEOUT, "keepalive_timeout", SCOPE_ANY, \
	    KV_TIMEOUT(L(keepalive_timeout_ms), "120s"))

#define CONF_ROUTE_KEYS(X) \
	X(ROUTE_KEY_LISTENER, "listener", SCOPE_ANY, KV_STRING(kv_name, R(listener))) \
	X(ROUTE_KEY_MODE, "mode", SCOPE_ANY, KV_ENUM(R(mode), conf_route_modes, "http")) \
	X(ROUTE_KEY_HOST, "host", SCOPE_ANY, KV_STRING(kv_host, R(host))) \
	X(ROUTE_KEY_PATH, "path", SCOPE_HTTP, KV_STRING(kv_path, R(path))) \
	/* host:port [weight=N] [backup], ... (upstream_set.c) */ \
	X(ROUTE_KEY_UPSTREAM, "upstream", SCOPE_ANY, KV_VALUE(kv_upstreams, R(upstreams)), \
	    .flags = KEY_REQUIRED, .missing = "host:port of the endpoint") \
	/* nginx's max_fails = 1 / fail_timeout = 10s; HAProxy's inter 2s */ \
	X(ROUTE_KEY_UPSTREAM_MAX_FAILS, "upstream_max_fails", SCOPE_ANY, \
	    KV_NUMBER(R(up_max_fails), 0, 1000, "1")) \
	X(ROUTE_KEY_UPSTREAM_FAIL_TIMEOUT, "upstream_fail_timeout", SCOPE_ANY, \
	    KV_TIMEOUT(R(up_fail_timeout_ms), "10s")) \
	X(ROUTE_KEY_HEALTH_CHECK, "health_check", SCOPE_ANY, \
	    KV_ENUM(R(health_check), conf_health_checks, "off")) \
	X(ROUTE_KEY_HEALTH_CHECK_INTERVAL, "health_check_interval", SCOPE_ANY, \
	    KV_TIMEOUT(R(health_check_interval_ms), "2s")) \
	/* health_check_path and _status: conf_check wants health_check = http */ \
	X(ROUTE_KEY_HEALTH_CHECK_PATH, "health_check_path", SCOPE_ANY, \
	    KV_STRING(kv_path, R(health_check_path)), .flags = KEY_OWN_SCOPE) \
	X(ROUTE_KEY_HEALTH_CHECK_STATUS, "health_check_status", SCOPE_ANY, \
	    KV_NUMBER(R(health_check_status), 100, 599, NULL), .flags = KEY_OWN_SCOPE) \
	X(ROUTE_KEY_UPSTREAM_TLS, "upstream_tls", SCOPE_ANY, KV_VALUE(kv_tls_range, R(up_tls)), \
	    .def = "1.2-1.3") \
	X(ROUTE_KEY_UPSTREAM_CIPHERS, "upstream_ciphers", SCOPE_TLS, \
	    KV_STRING(kv_str, R(up_ciphers))) \
	X(ROUTE_KEY_UPSTREAM_CIPHERSUITES, "upstream_ciphersuites", SCOPE_TLS, \
	    KV_STRING(kv_str, R(up_ciphersuites))) \
	/* "library": OpenSSL's; conf_check makes it 0 below TLS 1.2 */ \
	X(ROUTE_KEY_UPSTREAM_SECURITY_LEVEL, "upstream_security_level", SCOPE_TLS, \
	    KV_VALUE(kv_security_level, R(up_security_level)), .min = 0, .max = 5, \
	    .def = "library") \
	X(ROUTE_KEY_UPSTREAM_LEGACY_RENEGOTIATION, "upstream_legacy_renegotiation", SCOPE_TLS, \
	    KV_BOOL(R(up_legacy_renegotiation), "no")) \
	X(ROUTE_KEY_UPSTREAM_LEGACY_PROVIDER, "upstream_legacy_provider", SCOPE_TLS, \
	    KV_BOOL(R(up_legacy_provider), "no")) \
	X(ROUTE_KEY_UPSTREAM_ENCRYPT_THEN_MAC, "upstream_encrypt_then_mac", SCOPE_TLS, \
	    KV_BOOL(R(up_etm), "yes")) \
	X(ROUTE_KEY_UPSTREAM_SNI, "upstream_sni", SCOPE_TLS, KV_STRING(kv_sni, R(up_sni))) \
	X(ROUTE_KEY_UPSTREAM_VERIFY, "upstream_verify", SCOPE_TLS, \
	    KV_ENUM(R(up_verify), conf_verify_modes, "ca")) \
	X(ROUTE_KEY_UPSTREAM_CA, "upstream_ca", SCOPE_TLS, KV_FILE(R(up_ca))) \
	X(ROUTE_KEY_UPSTREAM_PIN, "upstream_pin", SCOPE_TLS, KV_VALUE(kv_pin, R(up_pin))) \
	X(ROUTE_KEY_UPSTREAM_CERT, "upstream_cert", SCOPE_TLS, KV_FILE(R(up_cert))) \
	X(ROUTE_KEY_UPSTREAM_KEY, "upstream_key", SCOPE_TLS, KV_FILE(R(up_key))) \
	X(ROUTE_KEY_UPSTREAM_ALPN, "upstream_alpn", SCOPE_TLS, KV_STRING(kv_alpn, R(up_alpn))) \
	X(ROUTE_KEY_UPSTREAM_HOST, "upstream_host", SCOPE_HTTP, KV_STRING(kv_token, R(up_host))) \
	/* internet-facing: the client's copies lie */ \
	X(ROUTE_KEY_FORWARDED, "forwarded", SCOPE_HTTP, KV_VALUE(kv_forwarded, R(forwarded)), \
	    .choices = &conf_forwarded_modes, .def = "replace") \
	X(ROUTE_KEY_POOL_MAX_IDLE, "pool_max_idle", SCOPE_ANY, \
	    KV_NUMBER(R(pool_max_idle), 0, 10000, "16")) \
	X(ROUTE_KEY_POOL_MIN_IDLE, "pool_min_idle", SCOPE_ANY, \
	    KV_NUMBER(R(pool_min_idle), 0, 10000, "0")) \
	X(ROUTE_KEY_POOL_IDLE_TIMEOUT, "pool_idle_timeout", SCOPE_ANY, \
	    KV_TIMEOUT(R(pool_idle_timeout_ms), "30s")) \
	/* \
	 * Far below the idle timers of firewalls, NATs and balancers (minutes), \
	 * so a forgotten connection is found by a probe long before one of \
	 * them could forget it; one probe per idle connection per 10 s. \
	 */ \
	X(ROUTE_KEY_POOL_IDLE_CHECK, "pool_idle_check", SCOPE_ANY, \
	    KV_DURATION_OFF(R(pool_idle_check_ms), "10s")) \
	X(ROUTE_KEY_POOL_MAX_REQUESTS, "pool_max_requests", SCOPE_ANY, \
	    KV_NUMBER(R(pool_max_requests), 1, 10000000, "1000")) \
	X(ROUTE_KEY_POOL_MAX_LIFETIME, "pool_max_lifetime", SCOPE_ANY, \
	    KV_TIMEOUT(R(pool_max_lifetime_ms), "10m")) \
	X(ROUTE_KEY_CONNECT_TIMEOUT, "connect_timeout", SCOPE_ANY, \
	    KV_TIMEOUT(R(connect_timeout_ms), "5s")) \
	X(ROUTE_KEY_HANDSHAKE_TIMEOUT, "handshake_timeout", SCOPE_ANY, \
	    KV_TIMEOUT(R(handshake_timeout_ms), "10s")) \
	/* \
	 * Below the ERP's 60 s WCF and 100 s HttpWebRequest timeouts: our \
	 * named 504 reaches the client before it gives up on its own. \
	 */ \
	X(ROUTE_KEY_RESPONSE_TIMEOUT, "response_timeout", SCOPE_ANY, \
	    KV_TIMEOUT(R(response_timeout_ms), "50s")) \
	/* \
	 * A live path acknowledges within a round trip plus the delayed-ACK \
	 * time (RFC 1122: at most 500 ms); 2 s also covers two \
	 * retransmissions at the 200 ms minimum RTO, and costs a blackholed \
	 * request 2 s instead of response_timeout. \
	 */ \
	X(ROUTE_KEY_UPSTREAM_REUSE_ACK_TIMEOUT, "upstream_reuse_ack_timeout", SCOPE_ANY, \
	    KV_DURATION_OFF(R(up_reuse_ack_timeout_ms), "2s")) \
	X(ROUTE_KEY_IDLE_TIMEOUT, "idle_timeout", SCOPE_ANY, KV_TIMEOUT(R(idle_timeout_ms), "5m")) \
	X(ROUTE_KEY_MAX_BUFFERED_BODY, "max_buffered_body", SCOPE_HTTP, \
	    KV_VALUE(kv_size, R(max_buffered_body)), .def = "1m") \
	X(ROUTE_KEY_UPSTREAM_PROXY, "upstream_proxy", SCOPE_ANY, KV_VALUE(kv_proxy, R(up_proxy))) \
	X(ROUTE_KEY_UPSTREAM_PROXY_AUTH, "upstream_proxy_auth", SCOPE_PROXY, \
	    KV_STRING(kv_token, R(up_proxy_auth))) \
	X(ROUTE_KEY_UPSTREAM_PROXY_TIMEOUT, "upstream_proxy_timeout", SCOPE_PROXY, \
	    KV_TIMEOUT(R(up_proxy_timeout_ms), "10s")) \
	X(ROUTE_KEY_SECRET_HEADER, "secret_header", SCOPE_HTTP, \
	    KV_STRING(kv_field_name, R(secret_header)), .flags = KEY_OWN_SCOPE) \
	X(ROUTE_KEY_SECRET_FILE, "secret_file", SCOPE_HTTP, KV_STRING(kv_token, R(secret_file)), \
	    .flags = KEY_OWN_SCOPE) \
	X(ROUTE_KEY_UPSTREAM_CHUNKED, "upstream_chunked", SCOPE_HTTP, KV_BOOL(R(up_chunked), "no")) \
	/* \
	 * No cap unless asked: only the operator knows what an endpoint \
	 * takes, and any fixed number would queue a healthy endpoint's load. \
	 * The queue absorbs an ERP batch burst of a few hundred calls; its \
	 * timeout ends a wait well before the ERP's own 60 s and 100 s \
	 * timeouts, with a named 503 that says nothing was sent.  The queue \
	 * keys need a cap: conf_check says so itself. \
	 */ \
	X(ROUTE_KEY_UPSTREAM_MAX_CONNECTIONS, "upstream_max_connections", SCOPE_ANY, \
	    KV_NUMBER(R(up_max_conns), 0, 100000, "0")) \
	X(ROUTE_KEY_UPSTREAM_QUEUE_MAX, "upstream_queue_max", SCOPE_ANY, \
	    KV_NUMBER(R(up_queue_max), 0, 100000, "256"), .flags = KEY_OWN_SCOPE) \
	X(ROUTE_KEY_UPSTREAM_QUEUE_TIMEOUT, "upstream_queue_timeout", SCOPE_ANY, \
	    KV_DURATION(R(up_queue_timeout_ms), "30s"), .flags = KEY_OWN_SCOPE | KEY_NONZERO)

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
