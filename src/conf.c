/* SPDX-License-Identifier: MIT */
/*
 * conf: loads the ini file into a struct conf.  Owns the line reader fed to
 * inih's ini_parse_stream(), the key table of each section kind, the
 * defaults, and the "FILE:LINE: [section] key: what is allowed" errors,
 * all of which are collected before loading fails.  Cross-references,
 * files and consistency between keys are conf_check.c's; SSL_CTXs are
 * built by tls_server.c and tls_client.c.
 *
 * Why the reader does more than read: Debian 12's inih 55 parses into a
 * fixed 200-byte buffer and splits longer lines into a bogus value plus a
 * bogus "key", shifting every later line number; it truncates section
 * names to 49 bytes; it gives the handler no line number and no call for
 * a section without keys; it takes indented lines as continuations of the
 * previous value; and it reports only the first malformed line.  So the
 * reader counts lines itself, strips indentation (no continuation lines),
 * handles section headers, comments and malformed lines itself, and hands
 * inih only "key = value" lines.  Those that do not fit inih's buffer are
 * kept here and inih gets a short stand-in line whose handler call
 * processes the stored text; lines over CONF_MAX_LINE are an error.  As
 * inih asks for exactly one line per key, the handler runs while
 * conf_parser.lineno is that key's line.
 */
#include "config.h"

#include "conf.h"

#include "metrics.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>
#include <openssl/ssl.h>

#include "conf_check.h"
#include "parse.h"
#include "regfile.h"
#include "upstream_proxy.h"

#define CONF_ERRLEN (CONF_MAX_LINE + 256)	/* a whole value and what is allowed */
#define CONF_MAX_KEYS 48	/* keys of the largest section kind */
#define CONF_LONG_KEY "__tlsbroker_long_line__"
#define CONF_NOLOC ((size_t)-1)
#define CONF_BOM "\xef\xbb\xbf"	/* UTF-8 byte order mark */

enum conf_kind {
	CONF_SECT_NONE = 0,	/* before the first section header */
	CONF_SECT_BROKER,
	CONF_SECT_LISTENER,
	CONF_SECT_ROUTE,
	CONF_SECT_SKIP		/* a bad header, already reported: ignore its keys */
};

/* Flags of a key. */
#define KEY_REPEAT	0x01	/* may repeat; values accumulate */
#define KEY_REQUIRED	0x02	/* error at the section line when missing */
#define KEY_AUTO	0x04	/* "auto" = 0 (numbers) */
#define KEY_NONZERO	0x08	/* 0 is not allowed (durations) */

struct conf_key;

/*
 * A key's parser: reads value, found at "at", into the section struct
 * sect (at k->off, and sibling fields where the key sets more than one).
 * 0, or -1 with a phrase in err (CONF_ERRLEN bytes) saying what is allowed.
 */
typedef int conf_parse_fn(const struct conf_key *k, const char *value,
    void *sect, const struct conf_loc *at, char *err);

struct conf_key {
	const char *name;
	conf_parse_fn *parse;
	size_t off;		/* offsetof the value in the section struct */
	size_t loc;		/* offsetof its struct conf_loc, or CONF_NOLOC */
	unsigned flags;		/* KEY_* */
	uint64_t min, max;	/* bounds of numbers */
	const char *missing;	/* KEY_REQUIRED: what the value should be */
};

struct conf_parser {
	struct conf *conf;
	struct conf_errors *errs;	/* may be NULL */
	unsigned nerrors;
	unsigned listeners_cap, routes_cap;

	/* input: a FILE, or a NUL-terminated string */
	FILE *fp;
	const char *text;
	size_t pos;
	int read_errno;			/* errno of a failed read, else 0 */
	size_t nread;			/* bytes read so far */
	bool too_big;			/* stopped at CONF_MAX_SIZE */
	bool stopped;			/* stopped at CONF_MAX_ERRORS */

	int lineno;			/* physical line last handed to inih */
	char line[CONF_MAX_LINE + 2];	/* that line, as read */
	bool long_pending;		/* inih got the stand-in for line */
	const char *long_name;		/* key and value inside line */
	const char *long_value;

	enum conf_kind kind;		/* section being read */
	unsigned index;			/* its position in conf.listeners/routes */
	char label[CONF_MAX_LINE + 16];	/* "route payroll", for errors */
	int seen[CONF_MAX_KEYS];	/* line of each key in this section, 0 = not yet */
};

/* ---- errors ------------------------------------------------------------ */

static char *conf_vaprintf(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

/* vasprintf(): a new string, or NULL when out of memory. */
static char *
conf_vaprintf(const char *fmt, va_list ap)
{
	va_list ap2;
	char *s;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		return NULL;
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

/*
 * Appends msg (taking ownership) to errs; drops it if errs is NULL or out
 * of memory.  The error after the last one kept becomes a notice, so a
 * file of garbage cannot grow the list (and the output) without bound.
 */
static void
conf_errors_push(struct conf_errors *errs, char *msg)
{
	char **grown, *p;
	unsigned cap;

	if (errs == NULL || msg == NULL || errs->count > CONF_MAX_ERRORS) {
		free(msg);
		return;
	}
	if (errs->count == CONF_MAX_ERRORS) {
		free(msg);
		if (asprintf(&msg, "too many errors: only the first %d are shown",
		    CONF_MAX_ERRORS) < 0)
			return;
	}
	/* a quoted line of a binary file must not drive the terminal */
	for (p = msg; *p != '\0'; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			*p = '?';
	if (errs->count == errs->cap) {
		cap = errs->cap ? errs->cap * 2 : 8;
		if ((grown = realloc(errs->msgs, cap * sizeof(*grown))) == NULL) {
			free(msg);
			return;
		}
		errs->msgs = grown;
		errs->cap = cap;
	}
	errs->msgs[errs->count++] = msg;
}

void
conf_errors_add(struct conf_errors *errs, const char *fmt, ...)
{
	va_list ap;

	if (errs == NULL)
		return;
	va_start(ap, fmt);
	conf_errors_push(errs, conf_vaprintf(fmt, ap));
	va_end(ap);
}

void
conf_errors_add_at(struct conf_errors *errs, const struct conf_loc *loc,
    const char *section, const char *key, const char *fmt, ...)
{
	char where[64] = "", *msg, *full = NULL;
	const char *file;
	va_list ap;
	int n;

	if (errs == NULL)
		return;
	va_start(ap, fmt);
	msg = conf_vaprintf(fmt, ap);
	va_end(ap);
	if (msg == NULL)
		return;
	if (loc != NULL && loc->line > 0)
		snprintf(where, sizeof(where), ":%d", loc->line);
	file = loc != NULL && loc->file != NULL ? loc->file : "?";
	if (section != NULL && key != NULL)
		n = asprintf(&full, "%s%s: [%s] %s: %s", file, where, section, key, msg);
	else if (section != NULL)
		n = asprintf(&full, "%s%s: [%s]: %s", file, where, section, msg);
	else if (key != NULL)
		n = asprintf(&full, "%s%s: %s: %s", file, where, key, msg);
	else
		n = asprintf(&full, "%s%s: %s", file, where, msg);
	free(msg);
	conf_errors_push(errs, n < 0 ? NULL : full);
}

void
conf_errors_free(struct conf_errors *errs)
{
	unsigned i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->count; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->count = errs->cap = 0;
}

static void conf_err(struct conf_parser *p, int line, const char *section,
    const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Records one error at line of the file being parsed. */
static void
conf_err(struct conf_parser *p, int line, const char *section,
    const char *key, const char *fmt, ...)
{
	struct conf_loc loc = { p->conf->path, line };
	va_list ap;
	char *msg;

	p->nerrors++;
	va_start(ap, fmt);
	msg = conf_vaprintf(fmt, ap);
	va_end(ap);
	conf_errors_add_at(p->errs, &loc, section, key, "%s",
	    msg != NULL ? msg : "out of memory");
	free(msg);
}

/* ---- value parsers ------------------------------------------------------- */

#define FIELD(sect, k, type) ((type *)(void *)((char *)(sect) + (k)->off))

/* True if every byte of s is printable ASCII other than blank. */
static bool
conf_is_token(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s <= ' ' || *s >= 0x7f)
			return false;
	}
	return true;
}

/* Replaces the owned string at dst by a copy of value. */
static int
conf_set_str(char **dst, const char *value, char *err)
{
	char *s;

	if ((s = strdup(value)) == NULL) {
		snprintf(err, CONF_ERRLEN, "out of memory");
		return -1;
	}
	free(*dst);
	*dst = s;
	return 0;
}

static int
kv_str(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	if (*value == '\0') {
		snprintf(err, CONF_ERRLEN, "empty value");
		return -1;
	}
	return conf_set_str(FIELD(sect, k, char *), value, err);
}

/* A file name, user name or list without blanks or control characters. */
static int
kv_token(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	if (*value == '\0') {
		snprintf(err, CONF_ERRLEN, "empty value");
		return -1;
	}
	if (!conf_is_token(value)) {
		snprintf(err, CONF_ERRLEN, "'%s' contains a blank or control character", value);
		return -1;
	}
	return conf_set_str(FIELD(sect, k, char *), value, err);
}

static int
kv_uint(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	uint64_t v;

	if ((k->flags & KEY_AUTO) && strcmp(value, "auto") == 0) {
		*FIELD(sect, k, unsigned) = 0;
		return 0;
	}
	if (parse_uint(value, k->min, k->max, &v, err) == -1) {
		if (k->flags & KEY_AUTO)
			snprintf(err, CONF_ERRLEN, "'%s' is not auto or a number from %llu to %llu",
			    value, (unsigned long long)k->min, (unsigned long long)k->max);
		return -1;
	}
	*FIELD(sect, k, unsigned) = (unsigned)v;
	return 0;
}

static int
kv_int(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	uint64_t v;

	if (parse_uint(value, k->min, k->max, &v, err) == -1)
		return -1;
	*FIELD(sect, k, int) = (int)v;
	return 0;
}

static int
kv_duration(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	uint64_t v;

	if (parse_duration_ms(value, &v, err) == -1)
		return -1;
	if (v == 0 && (k->flags & KEY_NONZERO)) {
		snprintf(err, CONF_ERRLEN, "'%s': must be more than 0", value);
		return -1;
	}
	*FIELD(sect, k, uint64_t) = v;
	return 0;
}

/* A duration, or "off" (0): for settings that can be turned off. */
static int
kv_duration_off(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	if (strcmp(value, "off") == 0) {
		*FIELD(sect, k, uint64_t) = 0;
		return 0;
	}
	return kv_duration(k, value, sect, at, err);
}

static int
kv_size(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	return parse_size(value, FIELD(sect, k, uint64_t), err);
}

static int
kv_bool(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	return parse_bool(value, FIELD(sect, k, bool), err);
}

/* upstream = host:port [weight=N] [backup], ... (upstream_set.c) */
static int
kv_upstreams(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	struct route_conf *r = sect;
	int n;

	if ((n = upstream_set_parse(value, r->upstreams, UPSET_MAX_ADDRS, err)) == -1)
		return -1;
	r->nupstreams = (unsigned)n;
	r->upstream = r->upstreams[0].hp;
	return 0;
}

/* upstream_proxy = http://HOST:PORT (credentials: upstream_proxy_auth). */
static int
kv_proxy(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	struct route_conf *r = sect;

	if (upstream_proxy_parse_url(value, &r->up_proxy, err) == -1)
		return -1;
	r->up_proxy_set = true;
	return 0;
}

/* "*:443" binds every IPv4 address; "[::]:443" is the IPv6 spelling. */
static int
kv_bind(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	char buf[CONF_MAX_LINE + 16];

	if (value[0] == '*' && value[1] == ':') {
		snprintf(buf, sizeof(buf), "0.0.0.0%s", value + 1);
		if (parse_hostport(buf, -1, FIELD(sect, k, struct hostport), err) == 0)
			return 0;
		snprintf(err, CONF_ERRLEN, "'%s': port '%s' is not a number from 1 to 65535",
		    value, value + 2);
		return -1;
	}
	return parse_hostport(value, -1, FIELD(sect, k, struct hostport), err);
}

static int
kv_admin(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	struct broker_conf *b = sect;

	if (parse_hostport(value, -1, &b->admin, err) == -1)
		return -1;
	b->admin_set = true;
	return 0;
}

/* Index of value in the NULL-terminated names, or -1 with err listing them. */
static int
conf_lookup(const char *value, const char *const *names, const char *list, char *err)
{
	int i;

	for (i = 0; names[i] != NULL; i++) {
		if (strcmp(value, names[i]) == 0)
			return i;
	}
	snprintf(err, CONF_ERRLEN, "'%s' is not one of %s", value, list);
	return -1;
}

static int
kv_log_level(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	static const char *const names[] = {
		"error", "warning", "notice", "info", "debug", NULL
	};
	static const enum log_level levels[] = {
		LOG_LVL_ERROR, LOG_LVL_WARNING, LOG_LVL_NOTICE, LOG_LVL_INFO, LOG_LVL_DEBUG
	};
	int i;

	if ((i = conf_lookup(value, names, "debug, info, notice, warning, error", err)) < 0)
		return -1;
	*FIELD(sect, k, enum log_level) = levels[i];
	return 0;
}

static int
kv_mode(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	static const char *const names[] = { "http", "tcp", NULL };
	int i;

	if ((i = conf_lookup(value, names, "http, tcp", err)) < 0)
		return -1;
	*FIELD(sect, k, enum route_mode) = i == 0 ? ROUTE_MODE_HTTP : ROUTE_MODE_TCP;
	return 0;
}

static int
kv_health_check(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	static const char *const names[] = { "off", "tls", "http", NULL };
	static const enum health_check modes[] = { HEALTH_CHECK_OFF,
	    HEALTH_CHECK_TLS, HEALTH_CHECK_HTTP };
	int i;

	if ((i = conf_lookup(value, names, "off, tls, http", err)) < 0)
		return -1;
	*FIELD(sect, k, enum health_check) = modes[i];
	return 0;
}

static int
kv_verify(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	static const char *const names[] = { "ca", "pin", "off", NULL };
	static const enum upstream_verify modes[] = { VERIFY_CA, VERIFY_PIN, VERIFY_OFF };
	int i;

	if ((i = conf_lookup(value, names, "ca, pin, off", err)) < 0)
		return -1;
	*FIELD(sect, k, enum upstream_verify) = modes[i];
	return 0;
}

/* The booleans of earlier versions stay: yes is replace, no is off. */
static int
kv_forwarded(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	static const char *const names[] = { "replace", "append", "off", NULL };
	static const enum forwarded_mode modes[] = {
		FORWARDED_REPLACE, FORWARDED_APPEND, FORWARDED_OFF
	};
	bool on;
	int i;

	if (parse_bool(value, &on, err) == 0) {
		*FIELD(sect, k, enum forwarded_mode) = on ? FORWARDED_REPLACE :
		    FORWARDED_OFF;
		return 0;
	}
	if ((i = conf_lookup(value, names, "replace, append, off", err)) < 0)
		return -1;
	*FIELD(sect, k, enum forwarded_mode) = modes[i];
	return 0;
}

static int
kv_min_tls(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	int v;

	if (parse_tls_version(value, &v, err) == -1) {
		snprintf(err, CONF_ERRLEN, "'%s' is not one of 1.2, 1.3", value);
		return -1;
	}
	if (v < TLS1_2_VERSION) {
		snprintf(err, CONF_ERRLEN,
		    "'%s' is below 1.2; inbound never accepts less than TLS 1.2 (allowed: 1.2, 1.3)",
		    value);
		return -1;
	}
	*FIELD(sect, k, int) = v;
	return 0;
}

static int
kv_tls_range(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	return parse_tls_range(value, FIELD(sect, k, struct tls_range), err);
}

static int
kv_pin(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	struct route_conf *r = sect;

	if (parse_spki_pin(value, r->up_pin, err) == -1)
		return -1;
	r->up_pin_set = true;
	return 0;
}

/* Space-separated PEM files; the key repeats, so they accumulate. */
static int
kv_cert(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	struct listener_conf *l = sect;
	const char *p = value;
	size_t len;
	unsigned n = 0;

	for (;;) {
		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		len = strcspn(p, " \t");
		if (l->ncerts == CONF_MAX_CERTS) {
			snprintf(err, CONF_ERRLEN, "more than %d certificates", CONF_MAX_CERTS);
			return -1;
		}
		if ((l->certs[l->ncerts] = strndup(p, len)) == NULL) {
			snprintf(err, CONF_ERRLEN, "out of memory");
			return -1;
		}
		l->cert_locs[l->ncerts] = *at;
		l->ncerts++;
		n++;
		p += len;
	}
	if (n == 0) {
		snprintf(err, CONF_ERRLEN, "empty value; expected PEM file names");
		return -1;
	}
	return 0;
}

#define SERVICETAG_PREFIX "servicetag:"

/* Records "servicetag:FILE:TAG" (tok, len bytes); conf_check reads FILE. */
static int
conf_add_servicetag(struct listener_conf *l, const char *tok, size_t len,
    const struct conf_loc *at, char *err)
{
	const char *spec = tok + sizeof(SERVICETAG_PREFIX) - 1, *colon;
	size_t slen = len - (sizeof(SERVICETAG_PREFIX) - 1);
	struct conf_servicetag *grown, *st;

	/* a path may hold ':', a tag never does: split at the last one */
	for (colon = spec + slen; colon > spec && colon[-1] != ':'; colon--)
		;
	if (colon <= spec + 1 || colon == spec + slen) {
		snprintf(err, CONF_ERRLEN, "'%.*s' is not servicetag:FILE:TAG, like "
		    "servicetag:/etc/tlsbroker/ServiceTags_Public.json:PowerPlatformPlex.WestEurope",
		    (int)len, tok);
		return -1;
	}
	grown = realloc(l->servicetags, (l->nservicetags + 1) * sizeof(*grown));
	if (grown == NULL)
		goto oom;
	l->servicetags = grown;
	st = &grown[l->nservicetags];
	memset(st, 0, sizeof(*st));
	st->loc = *at;
	st->change_number = -1;
	if ((st->path = strndup(spec, (size_t)(colon - 1 - spec))) == NULL ||
	    (st->tag = strndup(colon, (size_t)(spec + slen - colon))) == NULL) {
		free(st->path);
		goto oom;
	}
	l->nservicetags++;
	return 0;
oom:
	snprintf(err, CONF_ERRLEN, "out of memory");
	return -1;
}

/* Networks, and service tags whose networks conf_check adds. */
static int
kv_allow(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	struct listener_conf *l = sect;
	char nets[CONF_MAX_LINE + 1];
	const char *p = value;
	size_t len, out = 0;
	unsigned before = l->nservicetags;

	for (;;) {
		p += strspn(p, " \t,");
		if (*p == '\0')
			break;
		len = strcspn(p, " \t,");
		if (strncmp(p, SERVICETAG_PREFIX, sizeof(SERVICETAG_PREFIX) - 1) == 0) {
			if (conf_add_servicetag(l, p, len, at, err) == -1)
				return -1;
		} else if (out + len + 1 < sizeof(nets)) {
			memcpy(nets + out, p, len);
			out += len;
			nets[out++] = ' ';
		}
		p += len;
	}
	nets[out] = '\0';
	if (out == 0 && l->nservicetags > before)
		return 0;
	return cidr_list_parse(FIELD(sect, k, struct cidr_list), nets, err);
}

/* proxy_trusted repeats; the check of proxy_protocol points at its first line. */
static int
kv_proxy_trusted(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	struct listener_conf *l = sect;

	if (l->proxy_trusted_loc.line == 0)
		l->proxy_trusted_loc = *at;
	return cidr_list_parse(&l->proxy_trusted, value, err);
}

static int
kv_proxy_protocol(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	static const char *const names[] = { "off", "on", "optional", NULL };
	static const enum proxy_mode modes[] = {
		PROXY_MODE_OFF, PROXY_MODE_ON, PROXY_MODE_OPTIONAL
	};
	int i;

	if ((i = conf_lookup(value, names, "off, on, optional", err)) < 0)
		return -1;
	*FIELD(sect, k, enum proxy_mode) = modes[i];
	return 0;
}

static int
kv_name(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	if (!parse_is_name(value)) {
		snprintf(err, CONF_ERRLEN,
		    "'%s' is not a listener name (letters, digits, '_', '.', '-')", value);
		return -1;
	}
	return conf_set_str(FIELD(sect, k, char *), value, err);
}

static int
kv_host(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	char **dst = FIELD(sect, k, char *);
	char *p;

	if (!parse_is_server_name(value, true)) {
		snprintf(err, CONF_ERRLEN,
		    "'%s' is not a host name like api.example.com or *.example.com "
		    "(leave host out to match any)", value);
		return -1;
	}
	if (conf_set_str(dst, value, err) == -1)
		return -1;
	for (p = *dst; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return 0;
}

static int
kv_path(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	if (value[0] != '/' || !conf_is_token(value)) {
		snprintf(err, CONF_ERRLEN,
		    "'%s' is not a path prefix starting with / (no blanks)", value);
		return -1;
	}
	return conf_set_str(FIELD(sect, k, char *), value, err);
}

static int
kv_sni(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	struct route_conf *r = sect;

	if (strcmp(value, "off") == 0) {
		free(r->up_sni);
		r->up_sni = NULL;
		r->up_sni_off = true;
		return 0;
	}
	if (!parse_is_server_name(value, false)) {
		snprintf(err, CONF_ERRLEN, "'%s' is not a host name or off", value);
		return -1;
	}
	r->up_sni_off = false;
	return conf_set_str(&r->up_sni, value, err);
}

/* A header field name (RFC 9110 token), for secret_header. */
static int
kv_field_name(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~";
	const char *p;

	for (p = value; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) || (unsigned char)*p > 0x7f)
			if (strchr(tchar, *p) == NULL)
				break;
	if (*value == '\0' || *p != '\0') {
		snprintf(err, CONF_ERRLEN, "'%s' is not a header field name like X-ERP-Secret",
		    value);
		return -1;
	}
	return conf_set_str(FIELD(sect, k, char *), value, err);
}

/* "http/1.1, h2" is stored as "http/1.1,h2": the form tls_client packs. */
static int
kv_alpn(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	struct route_conf *r = sect;
	char buf[CONF_MAX_LINE + 1];
	const char *p = value;
	size_t len, out = 0;

	if (strcmp(value, "off") == 0) {
		free(r->up_alpn);
		r->up_alpn = NULL;
		r->up_alpn_off = true;
		return 0;
	}
	for (;;) {
		p += strspn(p, " \t");
		len = strcspn(p, ",");
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0 || len > 255 || out + len + 1 >= sizeof(buf))
			goto bad;
		memcpy(buf + out, p, len);
		out += len;
		buf[out] = '\0';
		if (!conf_is_token(buf + out - len))
			goto bad;
		p += strcspn(p, ",");
		if (*p == '\0')
			break;
		buf[out++] = ',';
		p++;
	}
	r->up_alpn_off = false;
	return conf_set_str(&r->up_alpn, buf, err);
bad:
	snprintf(err, CONF_ERRLEN,
	    "'%s' is not a comma list of protocol names (like http/1.1) or off", value);
	return -1;
}

/* ---- key tables -------------------------------------------------------- */

#define B(f) offsetof(struct broker_conf, f)
#define L(f) offsetof(struct listener_conf, f)
#define R(f) offsetof(struct route_conf, f)

static const struct conf_key conf_broker_keys[] = {
	{ "workers", kv_uint, B(workers), CONF_NOLOC, KEY_AUTO, 1, METRICS_MAX_WORKERS, NULL },
	{ "max_connections", kv_uint, B(max_connections), CONF_NOLOC, KEY_AUTO, 1, 1000000, NULL },
	{ "audit_log", kv_token, B(audit_log), B(audit_log_loc), 0, 0, 0, NULL },
	{ "log_level", kv_log_level, B(log_level), CONF_NOLOC, 0, 0, 0, NULL },
	{ "admin", kv_admin, B(admin), B(admin_loc), 0, 0, 0, NULL },
	{ "drain_timeout", kv_duration, B(drain_timeout_ms), CONF_NOLOC, 0, 0, 0, NULL },
	{ "drain_grace", kv_duration, B(drain_grace_ms), CONF_NOLOC, 0, 0, 0, NULL },
	{ "tcp_keepalive", kv_duration_off, B(tcp_keepalive_ms), CONF_NOLOC, 0, 0, 0, NULL },
	{ "user", kv_token, B(user), B(user_loc), 0, 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, 0, 0, NULL }
};

static const struct conf_key conf_listener_keys[] = {
	{ "bind", kv_bind, L(bind), L(bind_loc), KEY_REQUIRED, 0, 0,
	    "address to listen on, like *:443 or [::]:443" },
	{ "cert", kv_cert, L(certs), L(cert_loc), KEY_REQUIRED | KEY_REPEAT, 0, 0,
	    "PEM file with the certificate chain and key" },
	{ "key", kv_token, L(key), L(key_loc), 0, 0, 0, NULL },
	{ "min_tls", kv_min_tls, L(min_tls), CONF_NOLOC, 0, 0, 0, NULL },
	{ "ciphers", kv_str, L(ciphers), L(ciphers_loc), 0, 0, 0, NULL },
	{ "ciphersuites", kv_str, L(ciphersuites), L(ciphersuites_loc), 0, 0, 0, NULL },
	{ "allow", kv_allow, L(allow), CONF_NOLOC, KEY_REPEAT, 0, 0, NULL },
	{ "proxy_protocol", kv_proxy_protocol, L(proxy_protocol), L(proxy_protocol_loc), 0, 0, 0, NULL },
	{ "proxy_trusted", kv_proxy_trusted, L(proxy_trusted), CONF_NOLOC, KEY_REPEAT, 0, 0, NULL },
	{ "client_ca", kv_token, L(client_ca), L(client_ca_loc), 0, 0, 0, NULL },
	{ "handshake_timeout", kv_duration, L(handshake_timeout_ms), CONF_NOLOC, KEY_NONZERO, 0, 0, NULL },
	{ "request_timeout", kv_duration, L(request_timeout_ms), CONF_NOLOC, KEY_NONZERO, 0, 0, NULL },
	{ "keepalive_timeout", kv_duration, L(keepalive_timeout_ms), CONF_NOLOC, KEY_NONZERO, 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, 0, 0, NULL }
};

static const struct conf_key conf_route_keys[] = {
	{ "listener", kv_name, R(listener), R(listener_loc), 0, 0, 0, NULL },
	{ "mode", kv_mode, R(mode), R(mode_loc), 0, 0, 0, NULL },
	{ "host", kv_host, R(host), R(host_loc), 0, 0, 0, NULL },
	{ "path", kv_path, R(path), R(path_loc), 0, 0, 0, NULL },
	{ "upstream", kv_upstreams, R(upstreams), R(upstream_loc), KEY_REQUIRED, 0, 0,
	    "host:port of the endpoint" },
	{ "upstream_max_fails", kv_uint, R(up_max_fails), CONF_NOLOC, 0, 0, 1000, NULL },
	{ "upstream_fail_timeout", kv_duration, R(up_fail_timeout_ms), CONF_NOLOC, KEY_NONZERO, 0, 0, NULL },
	{ "health_check", kv_health_check, R(health_check), R(health_check_loc), 0, 0, 0, NULL },
	{ "health_check_interval", kv_duration, R(health_check_interval_ms), CONF_NOLOC,
	    KEY_NONZERO, 0, 0, NULL },
	{ "health_check_path", kv_path, R(health_check_path), R(health_check_path_loc), 0, 0, 0, NULL },
	{ "health_check_status", kv_uint, R(health_check_status), R(health_check_status_loc),
	    0, 100, 599, NULL },
	{ "upstream_tls", kv_tls_range, R(up_tls), R(up_tls_loc), 0, 0, 0, NULL },
	{ "upstream_ciphers", kv_str, R(up_ciphers), R(up_ciphers_loc), 0, 0, 0, NULL },
	{ "upstream_ciphersuites", kv_str, R(up_ciphersuites), R(up_ciphersuites_loc), 0, 0, 0, NULL },
	{ "upstream_security_level", kv_int, R(up_security_level), R(up_security_level_loc), 0, 0, 5, NULL },
	{ "upstream_legacy_renegotiation", kv_bool, R(up_legacy_renegotiation),
	    R(up_legacy_renegotiation_loc), 0, 0, 0, NULL },
	{ "upstream_legacy_provider", kv_bool, R(up_legacy_provider),
	    R(up_legacy_provider_loc), 0, 0, 0, NULL },
	{ "upstream_encrypt_then_mac", kv_bool, R(up_etm), R(up_etm_loc), 0, 0, 0, NULL },
	{ "upstream_sni", kv_sni, R(up_sni), R(up_sni_loc), 0, 0, 0, NULL },
	{ "upstream_verify", kv_verify, R(up_verify), R(up_verify_loc), 0, 0, 0, NULL },
	{ "upstream_ca", kv_token, R(up_ca), R(up_ca_loc), 0, 0, 0, NULL },
	{ "upstream_pin", kv_pin, R(up_pin), R(up_pin_loc), 0, 0, 0, NULL },
	{ "upstream_cert", kv_token, R(up_cert), R(up_cert_loc), 0, 0, 0, NULL },
	{ "upstream_key", kv_token, R(up_key), R(up_key_loc), 0, 0, 0, NULL },
	{ "upstream_alpn", kv_alpn, R(up_alpn), R(up_alpn_loc), 0, 0, 0, NULL },
	{ "upstream_host", kv_token, R(up_host), R(up_host_loc), 0, 0, 0, NULL },
	{ "forwarded", kv_forwarded, R(forwarded), R(forwarded_loc), 0, 0, 0, NULL },
	{ "pool_max_idle", kv_uint, R(pool_max_idle), R(pool_max_idle_loc), 0, 0, 10000, NULL },
	{ "pool_min_idle", kv_uint, R(pool_min_idle), R(pool_min_idle_loc), 0, 0, 10000, NULL },
	{ "pool_idle_timeout", kv_duration, R(pool_idle_timeout_ms), CONF_NOLOC, KEY_NONZERO, 0, 0, NULL },
	{ "pool_idle_check", kv_duration_off, R(pool_idle_check_ms), CONF_NOLOC, 0, 0, 0, NULL },
	{ "pool_max_requests", kv_uint, R(pool_max_requests), CONF_NOLOC, 0, 1, 10000000, NULL },
	{ "pool_max_lifetime", kv_duration, R(pool_max_lifetime_ms), CONF_NOLOC, KEY_NONZERO, 0, 0, NULL },
	{ "connect_timeout", kv_duration, R(connect_timeout_ms), CONF_NOLOC, KEY_NONZERO, 0, 0, NULL },
	{ "handshake_timeout", kv_duration, R(handshake_timeout_ms), CONF_NOLOC, KEY_NONZERO, 0, 0, NULL },
	{ "response_timeout", kv_duration, R(response_timeout_ms), CONF_NOLOC, KEY_NONZERO, 0, 0, NULL },
	{ "upstream_reuse_ack_timeout", kv_duration_off, R(up_reuse_ack_timeout_ms), CONF_NOLOC,
	    0, 0, 0, NULL },
	{ "idle_timeout", kv_duration, R(idle_timeout_ms), CONF_NOLOC, KEY_NONZERO, 0, 0, NULL },
	{ "max_buffered_body", kv_size, R(max_buffered_body), R(max_buffered_body_loc), 0, 0, 0, NULL },
	{ "upstream_proxy", kv_proxy, R(up_proxy), R(up_proxy_loc), 0, 0, 0, NULL },
	{ "upstream_proxy_auth", kv_token, R(up_proxy_auth), R(up_proxy_auth_loc), 0, 0, 0, NULL },
	{ "upstream_proxy_timeout", kv_duration, R(up_proxy_timeout_ms), R(up_proxy_timeout_loc),
	    KEY_NONZERO, 0, 0, NULL },
	{ "secret_header", kv_field_name, R(secret_header), R(secret_header_loc), 0, 0, 0, NULL },
	{ "secret_file", kv_token, R(secret_file), R(secret_file_loc), 0, 0, 0, NULL },
	{ "upstream_chunked", kv_bool, R(up_chunked), R(up_chunked_loc), 0, 0, 0, NULL },
	{ "upstream_max_connections", kv_uint, R(up_max_conns), R(up_max_conns_loc), 0, 0, 100000, NULL },
	{ "upstream_queue_max", kv_uint, R(up_queue_max), R(up_queue_max_loc), 0, 0, 100000, NULL },
	{ "upstream_queue_timeout", kv_duration, R(up_queue_timeout_ms), R(up_queue_timeout_loc),
	    KEY_NONZERO, 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, 0, 0, NULL }
};

#undef B
#undef L
#undef R

_Static_assert(sizeof(conf_route_keys) / sizeof(conf_route_keys[0]) <= CONF_MAX_KEYS + 1 &&
    sizeof(conf_listener_keys) / sizeof(conf_listener_keys[0]) <= CONF_MAX_KEYS + 1 &&
    sizeof(conf_broker_keys) / sizeof(conf_broker_keys[0]) <= CONF_MAX_KEYS + 1,
    "conf_parser.seen is too small");

static const struct conf_key *
conf_keys_of(enum conf_kind kind)
{
	switch (kind) {
	case CONF_SECT_BROKER:
		return conf_broker_keys;
	case CONF_SECT_LISTENER:
		return conf_listener_keys;
	case CONF_SECT_ROUTE:
		return conf_route_keys;
	default:
		return NULL;
	}
}

static const char *
conf_kind_header(enum conf_kind kind)
{
	switch (kind) {
	case CONF_SECT_BROKER:
		return "[broker]";
	case CONF_SECT_LISTENER:
		return "[listener NAME]";
	default:
		return "[route NAME]";
	}
}

/* Index of name in keys, or -1. */
static int
conf_key_find(const struct conf_key *keys, const char *name)
{
	int i;

	for (i = 0; keys[i].name != NULL; i++) {
		if (strcmp(keys[i].name, name) == 0)
			return i;
	}
	return -1;
}

/* ---- sections ---------------------------------------------------------- */

static void
conf_broker_defaults(struct broker_conf *b)
{
	memset(b, 0, sizeof(*b));
	b->log_level = LOG_LVL_INFO;
	b->drain_timeout_ms = 30 * 1000;
	/* probes every minute of silence: inside Azure's 4-minute idle drop */
	b->tcp_keepalive_ms = 60 * 1000;
}

static void
conf_listener_defaults(struct listener_conf *l)
{
	memset(l, 0, sizeof(*l));
	l->min_tls = TLS1_2_VERSION;
	l->handshake_timeout_ms = 10 * 1000;
	l->request_timeout_ms = 10 * 1000;	/* slowloris: a head must arrive by then */
	/*
	 * Above the 100 s .NET keeps an idle connection
	 * (MaxServicePointIdleTime): the client always closes first, so a
	 * request never races our close (the ERP does not retry a POST).
	 */
	l->keepalive_timeout_ms = 120 * 1000;
}

static void
conf_route_defaults(struct route_conf *r)
{
	memset(r, 0, sizeof(*r));
	r->mode = ROUTE_MODE_HTTP;
	r->up_tls.off = false;
	r->up_tls.min = TLS1_2_VERSION;
	r->up_tls.max = TLS1_3_VERSION;
	r->up_security_level = -1;
	r->up_etm = true;
	r->up_verify = VERIFY_CA;
	r->forwarded = FORWARDED_REPLACE;	/* internet-facing: the client's copies lie */
	r->pool_max_idle = 16;
	r->pool_min_idle = 0;
	r->pool_idle_timeout_ms = 30 * 1000;
	/*
	 * Far below the idle timers of firewalls, NATs and balancers (minutes),
	 * so a forgotten connection is found by a probe long before one of
	 * them could forget it; one probe per idle connection per 10 s.
	 */
	r->pool_idle_check_ms = 10 * 1000;
	r->pool_max_requests = 1000;
	r->pool_max_lifetime_ms = 10 * 60 * 1000;
	r->connect_timeout_ms = 5 * 1000;
	r->handshake_timeout_ms = 10 * 1000;
	/*
	 * Below the ERP's 60 s WCF and 100 s HttpWebRequest timeouts: our
	 * named 504 reaches the client before it gives up on its own.
	 */
	r->response_timeout_ms = 50 * 1000;
	/*
	 * A live path acknowledges within a round trip plus the delayed-ACK
	 * time (RFC 1122: at most 500 ms); 2 s also covers two
	 * retransmissions at the 200 ms minimum RTO, and costs a blackholed
	 * request 2 s instead of response_timeout.
	 */
	r->up_reuse_ack_timeout_ms = 2 * 1000;
	r->idle_timeout_ms = 5 * 60 * 1000;
	r->max_buffered_body = 1024 * 1024;
	r->up_proxy_timeout_ms = 10 * 1000;
	/* nginx's max_fails = 1 / fail_timeout = 10s; HAProxy's inter 2s */
	r->up_max_fails = 1;
	r->up_fail_timeout_ms = 10 * 1000;
	r->health_check_interval_ms = 2 * 1000;
	/*
	 * No cap unless asked: only the operator knows what an endpoint
	 * takes, and any fixed number would queue a healthy endpoint's load.
	 * The queue absorbs an ERP batch burst of a few hundred calls; its
	 * timeout ends a wait well before the ERP's own 60 s and 100 s
	 * timeouts, with a named 503 that says nothing was sent.
	 */
	r->up_max_conns = 0;
	r->up_queue_max = 256;
	r->up_queue_timeout_ms = 30 * 1000;
}

/* The struct of the section being read, or NULL. */
static void *
conf_cur_sect(struct conf_parser *p)
{
	switch (p->kind) {
	case CONF_SECT_BROKER:
		return &p->conf->broker;
	case CONF_SECT_LISTENER:
		return &p->conf->listeners[p->index];
	case CONF_SECT_ROUTE:
		return &p->conf->routes[p->index];
	default:
		return NULL;
	}
}

/* Starts a [listener NAME] or [route NAME]; -1 if out of memory. */
static int
conf_new_named(struct conf_parser *p, enum conf_kind kind, const char *name)
{
	struct conf *c = p->conf;
	struct conf_loc loc = { c->path, p->lineno };
	void *grown;
	unsigned cap;
	char *dup;

	if ((dup = strdup(name)) == NULL)
		return -1;
	if (kind == CONF_SECT_LISTENER) {
		if (c->nlisteners == p->listeners_cap) {
			cap = p->listeners_cap ? p->listeners_cap * 2 : 4;
			if ((grown = realloc(c->listeners, cap * sizeof(*c->listeners))) == NULL)
				goto fail;
			c->listeners = grown;
			p->listeners_cap = cap;
		}
		p->index = c->nlisteners++;
		conf_listener_defaults(&c->listeners[p->index]);
		c->listeners[p->index].name = dup;
		c->listeners[p->index].loc = loc;
		c->listeners[p->index].index = p->index;
	} else {
		if (c->nroutes == p->routes_cap) {
			cap = p->routes_cap ? p->routes_cap * 2 : 4;
			if ((grown = realloc(c->routes, cap * sizeof(*c->routes))) == NULL)
				goto fail;
			c->routes = grown;
			p->routes_cap = cap;
		}
		p->index = c->nroutes++;
		conf_route_defaults(&c->routes[p->index]);
		c->routes[p->index].name = dup;
		c->routes[p->index].loc = loc;
		c->routes[p->index].index = p->index;
	}
	p->kind = kind;
	return 0;
fail:
	free(dup);
	return -1;
}

/* Line of an earlier section of kind named name, or 0. */
static int
conf_named_line(const struct conf *c, enum conf_kind kind, const char *name)
{
	unsigned i;

	if (kind == CONF_SECT_LISTENER) {
		for (i = 0; i < c->nlisteners; i++)
			if (strcmp(c->listeners[i].name, name) == 0)
				return c->listeners[i].loc.line;
	} else {
		for (i = 0; i < c->nroutes; i++)
			if (strcmp(c->routes[i].name, name) == 0)
				return c->routes[i].loc.line;
	}
	return 0;
}

/*
 * A "[...]" line (s has no leading blanks, no trailing blanks): checks
 * it and makes it the current section, or CONF_SECT_SKIP after an error.
 */
static void
conf_section_line(struct conf_parser *p, char *s)
{
	char *end, *inner, *name, *rest;
	enum conf_kind kind;
	int first;

	p->kind = CONF_SECT_SKIP;
	p->label[0] = '\0';
	memset(p->seen, 0, sizeof(p->seen));
	if ((end = strchr(s, ']')) == NULL) {
		conf_err(p, p->lineno, NULL, NULL,
		    "'%s': a section header needs a closing ']'", s);
		return;
	}
	rest = end + 1;
	rest += strspn(rest, " \t");
	if (*rest != '\0' && *rest != ';' && *rest != '#') {
		conf_err(p, p->lineno, NULL, NULL,
		    "'%s': unexpected text after ']'", s);
		return;
	}
	*end = '\0';
	inner = s + 1;
	inner += strspn(inner, " \t");
	end = inner + strlen(inner);
	while (end > inner && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	name = inner + strcspn(inner, " \t");
	if (*name != '\0') {
		*name++ = '\0';
		name += strspn(name, " \t");
	}
	if (strcmp(inner, "broker") == 0)
		kind = CONF_SECT_BROKER;
	else if (strcmp(inner, "listener") == 0)
		kind = CONF_SECT_LISTENER;
	else if (strcmp(inner, "route") == 0)
		kind = CONF_SECT_ROUTE;
	else {
		conf_err(p, p->lineno, NULL, NULL,
		    "unknown section [%s%s%s]; sections are [broker], [listener NAME], [route NAME]",
		    inner, *name != '\0' ? " " : "", name);
		return;
	}
	if (kind == CONF_SECT_BROKER) {
		if (*name != '\0') {
			conf_err(p, p->lineno, NULL, NULL,
			    "[broker %s]: [broker] takes no name", name);
			return;
		}
		if (p->conf->broker.loc.line != 0) {
			conf_err(p, p->lineno, "broker", NULL,
			    "duplicate section (first at line %d)", p->conf->broker.loc.line);
			return;
		}
		p->conf->broker.loc.line = p->lineno;
		p->kind = CONF_SECT_BROKER;
		snprintf(p->label, sizeof(p->label), "broker");
		return;
	}
	if (*name == '\0') {
		conf_err(p, p->lineno, NULL, NULL,
		    "[%s] needs a name: [%s NAME]", inner, inner);
		return;
	}
	snprintf(p->label, sizeof(p->label), "%s %s", inner, name);
	if (!parse_is_name(name)) {
		conf_err(p, p->lineno, p->label, NULL,
		    "a name may only contain letters, digits, '_', '.' and '-'");
		return;
	}
	if (strcmp(name, "-") == 0) {
		/* metrics and audit records use "-" for "no route" */
		conf_err(p, p->lineno, p->label, NULL,
		    "'-' is reserved (it stands for \"no route\" in metrics)");
		return;
	}
	if ((first = conf_named_line(p->conf, kind, name)) != 0) {
		conf_err(p, p->lineno, p->label, NULL,
		    "duplicate %s name (first at line %d)", inner, first);
		return;
	}
	if (conf_new_named(p, kind, name) == -1)
		conf_err(p, p->lineno, p->label, NULL, "out of memory");
}

/* One "key = value" line at p->lineno. */
static void
conf_key_line(struct conf_parser *p, const char *name, const char *value)
{
	const struct conf_key *keys, *k;
	char err[CONF_ERRLEN];
	enum conf_kind other;
	struct conf_loc *loc, at = { p->conf->path, p->lineno };
	void *sect;
	int i;

	if (*name == '\0') {
		conf_err(p, p->lineno, p->kind == CONF_SECT_SKIP || p->kind == CONF_SECT_NONE ?
		    NULL : p->label, NULL, "a key name is missing before '='");
		return;
	}
	if (p->kind == CONF_SECT_NONE) {
		conf_err(p, p->lineno, NULL, name,
		    "key outside a section; keys go under [broker], [listener NAME] or [route NAME]");
		return;
	}
	if (p->kind == CONF_SECT_SKIP || (sect = conf_cur_sect(p)) == NULL)
		return;
	keys = conf_keys_of(p->kind);
	if ((i = conf_key_find(keys, name)) < 0) {
		for (other = CONF_SECT_BROKER; other <= CONF_SECT_ROUTE; other++) {
			if (other != p->kind && conf_key_find(conf_keys_of(other), name) >= 0) {
				conf_err(p, p->lineno, p->label, name,
				    "unknown key; it belongs in %s", conf_kind_header(other));
				return;
			}
		}
		conf_err(p, p->lineno, p->label, name, "unknown key");
		return;
	}
	k = &keys[i];
	if (p->seen[i] != 0 && !(k->flags & KEY_REPEAT)) {
		conf_err(p, p->lineno, p->label, name,
		    "duplicate key (first at line %d)", p->seen[i]);
		return;
	}
	if (p->seen[i] == 0)
		p->seen[i] = p->lineno;
	/* Set even if the value is bad, so "required key missing" is not added. */
	if (k->loc != CONF_NOLOC) {
		loc = (struct conf_loc *)(void *)((char *)sect + k->loc);
		loc->file = p->conf->path;
		loc->line = p->seen[i];
	}
	if (k->parse(k, value, sect, &at, err) == -1) {
		conf_err(p, p->lineno, p->label, name, "%s", err);
		if (p->kind == CONF_SECT_LISTENER)
			p->conf->listeners[p->index].bad = true;
		else if (p->kind == CONF_SECT_ROUTE)
			p->conf->routes[p->index].bad = true;
	}
}

/* ---- reading ----------------------------------------------------------- */

/* The next byte, or EOF at the end, on a read error or past CONF_MAX_SIZE. */
static int
conf_getc(struct conf_parser *p)
{
	int c;

	if (p->nread >= CONF_MAX_SIZE) {
		/* the file grew since conf_load() looked, or a string is too long */
		p->too_big = true;
		return EOF;
	}
	p->nread++;
	if (p->fp == NULL)
		return p->text[p->pos] != '\0' ? (unsigned char)p->text[p->pos++] : EOF;
	if ((c = getc(p->fp)) == EOF && ferror(p->fp) && p->read_errno == 0)
		p->read_errno = errno != 0 ? errno : EIO;
	return c;
}

/*
 * Reads one physical line into p->line, keeping at most CONF_MAX_LINE + 1
 * bytes.  Returns its full length without "\n" or "\r\n", or -1 at end of
 * input.  *nul is set if the line holds a NUL byte.
 */
static long
conf_read_line(struct conf_parser *p, bool *nul)
{
	size_t n = 0, kept = 0;
	int c, last = 0;

	*nul = false;
	for (;;) {
		c = conf_getc(p);
		if (c == EOF) {
			if (n == 0)
				return -1;
			break;
		}
		if (c == '\n')
			break;
		if (c == '\0')
			*nul = true;
		if (kept < sizeof(p->line) - 1)
			p->line[kept++] = (char)c;
		n++;
		last = c;
	}
	if (last == '\r') {
		n--;
		if (kept > n)
			kept = n;
	}
	p->line[kept] = '\0';
	return (long)n;
}

/*
 * Splits "key = value ; comment" exactly as inih 55 does: the key ends at
 * the first '=' or ':', an inline comment starts at a ';' after a blank.
 * Returns -1 when there is no '=' or ':' before a comment.  Writes NULs
 * into s only when name and value are wanted.
 */
static int
conf_split(char *s, const char **name, const char **value)
{
	char *sep, *v, *e;
	bool was_space = false;

	for (sep = s; *sep != '\0' && *sep != '=' && *sep != ':'; sep++) {
		if (was_space && *sep == ';')
			return -1;
		was_space = isspace((unsigned char)*sep) != 0;
	}
	if (*sep == '\0')
		return -1;
	if (name == NULL)
		return 0;
	v = sep + 1;
	was_space = false;
	for (e = v; *e != '\0'; e++) {
		if (was_space && *e == ';')
			break;
		was_space = isspace((unsigned char)*e) != 0;
	}
	*e = '\0';
	while (e > v && isspace((unsigned char)e[-1]))
		*--e = '\0';
	v += strspn(v, " \t\f\v\r");
	e = sep;
	*e = '\0';
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	*name = s;
	*value = v;
	return 0;
}

/* The ini_reader: hands inih one line per physical line, see the top. */
static char *
conf_reader(char *str, int num, void *stream)
{
	struct conf_parser *p = stream;
	char *s, *e;
	long n;
	bool nul;

	p->long_pending = false;
	/* enough for anyone to fix first; the rest of a bad file is noise */
	if (p->nerrors >= CONF_MAX_ERRORS) {
		p->stopped = true;
		return NULL;
	}
	if (num < 2 || (n = conf_read_line(p, &nul)) < 0)
		return NULL;
	p->lineno++;
	str[0] = '\n';
	str[1] = '\0';
	if (n > CONF_MAX_LINE) {
		conf_err(p, p->lineno, NULL, NULL, "line too long (%ld bytes, at most %d)",
		    n, CONF_MAX_LINE);
		return str;
	}
	if (nul) {
		conf_err(p, p->lineno, NULL, NULL, "line contains a NUL byte");
		return str;
	}
	s = p->line;
	if (p->lineno == 1 && strncmp(s, CONF_BOM, 3) == 0)
		s += 3;
	s += strspn(s, " \t\f\v\r");
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	if (*s == '\0' || *s == ';' || *s == '#')
		return str;
	if (*s == '[') {
		conf_section_line(p, s);
		return str;
	}
	if (conf_split(s, NULL, NULL) == -1) {
		conf_err(p, p->lineno, NULL, NULL,
		    "'%s' is not 'key = value', a [section] or a comment", s);
		return str;
	}
	/* inih would strip a (second) BOM from line 1 and misread the rest */
	if ((size_t)(e - s) + 2 <= (size_t)num &&
	    !(p->lineno == 1 && strncmp(s, CONF_BOM, 3) == 0)) {
		memcpy(str, s, (size_t)(e - s));
		memcpy(str + (e - s), "\n", 2);
		return str;
	}
	/* Not for inih's buffer: keep the line here, give inih a stand-in. */
	if ((size_t)num < sizeof(CONF_LONG_KEY "=1\n")) {
		conf_err(p, p->lineno, NULL, NULL, "line too long for the ini parser");
		return str;
	}
	conf_split(s, &p->long_name, &p->long_value);
	p->long_pending = true;
	snprintf(str, (size_t)num, "%s=1\n", CONF_LONG_KEY);
	return str;
}

static int
conf_ini_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct conf_parser *p = user;

	(void)section;	/* inih's copy is cut at 49 bytes; we track our own */
	if (p->long_pending && strcmp(name, CONF_LONG_KEY) == 0) {
		name = p->long_name;
		value = p->long_value;
	}
	p->long_pending = false;
	conf_key_line(p, name, value);
	return 1;
}

/* After the last line: required keys, the route listener default. */
static void
conf_finish(struct conf_parser *p)
{
	struct conf *c = p->conf;
	const struct conf_key *k;
	struct listener_conf *l;
	struct route_conf *r;
	char label[CONF_MAX_LINE + 16], names[512];
	unsigned i;
	size_t off;

	for (i = 0; i < c->nlisteners; i++) {
		l = &c->listeners[i];
		snprintf(label, sizeof(label), "listener %s", l->name);
		for (k = conf_listener_keys; k->name != NULL; k++) {
			if ((k->flags & KEY_REQUIRED) &&
			    ((struct conf_loc *)(void *)((char *)l + k->loc))->line == 0)
				conf_err(p, l->loc.line, label, k->name,
				    "required key missing (%s)", k->missing);
		}
	}
	names[0] = '\0';
	for (i = 0, off = 0; i < c->nlisteners && off < sizeof(names); i++)
		off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s",
		    i > 0 ? ", " : "", c->listeners[i].name);
	for (i = 0; i < c->nroutes; i++) {
		r = &c->routes[i];
		snprintf(label, sizeof(label), "route %s", r->name);
		for (k = conf_route_keys; k->name != NULL; k++) {
			if ((k->flags & KEY_REQUIRED) &&
			    ((struct conf_loc *)(void *)((char *)r + k->loc))->line == 0)
				conf_err(p, r->loc.line, label, k->name,
				    "required key missing (%s)", k->missing);
		}
		if (r->listener_loc.line != 0)
			continue;
		if (c->nlisteners == 1) {
			if ((r->listener = strdup(c->listeners[0].name)) == NULL)
				conf_err(p, r->loc.line, label, "listener", "out of memory");
		} else if (c->nlisteners == 0)
			conf_err(p, r->loc.line, label, "listener",
			    "required key missing (no [listener NAME] in this file)");
		else
			conf_err(p, r->loc.line, label, "listener",
			    "required key missing (this file has %u listeners: %s)",
			    c->nlisteners, names);
	}
}

/* Parses from the source set in p; returns the conf or NULL after errors. */
static struct conf *
conf_parse(struct conf_parser *p)
{
	int rc;

	rc = ini_parse_stream(conf_reader, p, conf_ini_handler, p);
	if (p->stopped) {
		/* past the cap, this becomes the "only the first N" notice */
		conf_errors_add(p->errs, "%s:%d: stopped reading after %u errors",
		    p->conf->path, p->lineno, p->nerrors);
	} else if (p->too_big) {
		p->nerrors++;
		conf_errors_add(p->errs, "%s: longer than %d bytes; not read beyond",
		    p->conf->path, CONF_MAX_SIZE);
	} else if (p->read_errno != 0) {
		p->nerrors++;
		conf_errors_add(p->errs, "%s: cannot read: %s", p->conf->path,
		    strerror(p->read_errno));
	} else if (rc < 0) {
		p->nerrors++;
		conf_errors_add(p->errs, "%s: out of memory", p->conf->path);
	} else if (rc > 0 && p->nerrors == 0) {
		/* the reader passes only lines inih accepts; this is a safety net */
		conf_err(p, rc, NULL, NULL, "cannot parse this line");
	}
	conf_finish(p);
	if (p->nerrors > 0) {
		/* list the file's other problems too: one run, every error */
		conf_check_partial(p->conf, p->errs);
		conf_free(p->conf);
		return NULL;
	}
	return p->conf;
}

/* A new empty conf named path, or NULL. */
static struct conf *
conf_new(const char *path, struct conf_errors *errs)
{
	struct conf *c;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(path)) == NULL) {
		free(c);
		conf_errors_add(errs, "%s: out of memory", path);
		return NULL;
	}
	conf_broker_defaults(&c->broker);
	c->broker.loc.file = c->path;
	return c;
}

struct conf *
conf_load(const char *path, struct conf_errors *errs)
{
	struct conf_parser p;
	struct conf *c;
	struct stat st;
	char err[REGFILE_ERRLEN];
	FILE *fp;
	int fd;

	/* A FIFO would hang us, /dev/zero spin, /dev/urandom grow the errors. */
	if ((fd = regfile_open(path, O_RDONLY, 0, err)) == -1) {
		conf_errors_add(errs, "%s: cannot open: %s", path, err);
		return NULL;
	}
	if (fstat(fd, &st) == 0 && st.st_size > CONF_MAX_SIZE) {
		conf_errors_add(errs, "%s: %lld bytes; a configuration file has at "
		    "most %d", path, (long long)st.st_size, CONF_MAX_SIZE);
		(void)close(fd);
		return NULL;
	}
	if ((fp = fdopen(fd, "r")) == NULL) {
		conf_errors_add(errs, "%s: cannot open: %s", path, strerror(errno));
		(void)close(fd);
		return NULL;
	}
	if ((c = conf_new(path, errs)) == NULL) {
		fclose(fp);
		return NULL;
	}
	memset(&p, 0, sizeof(p));
	p.conf = c;
	p.errs = errs;
	p.fp = fp;
	c = conf_parse(&p);
	fclose(fp);
	return c;
}

struct conf *
conf_load_string(const char *name, const char *text, struct conf_errors *errs)
{
	struct conf_parser p;
	struct conf *c;

	if ((c = conf_new(name, errs)) == NULL)
		return NULL;
	memset(&p, 0, sizeof(p));
	p.conf = c;
	p.errs = errs;
	p.text = text;
	return conf_parse(&p);
}

void
conf_free(struct conf *conf)
{
	struct listener_conf *l;
	struct route_conf *r;
	unsigned i, j;

	if (conf == NULL)
		return;
	free(conf->broker.audit_log);
	free(conf->broker.user);
	for (i = 0; i < conf->nlisteners; i++) {
		l = &conf->listeners[i];
		free(l->name);
		for (j = 0; j < l->ncerts; j++)
			free(l->certs[j]);
		free(l->key);
		free(l->ciphers);
		free(l->ciphersuites);
		cidr_list_free(&l->allow);
		cidr_list_free(&l->proxy_trusted);
		for (j = 0; j < l->nservicetags; j++) {
			free(l->servicetags[j].path);
			free(l->servicetags[j].tag);
		}
		free(l->servicetags);
		free(l->client_ca);
	}
	free(conf->listeners);
	for (i = 0; i < conf->nroutes; i++) {
		r = &conf->routes[i];
		free(r->name);
		free(r->listener);
		free(r->host);
		free(r->path);
		free(r->up_ciphers);
		free(r->up_ciphersuites);
		free(r->up_sni);
		free(r->up_ca);
		free(r->up_cert);
		free(r->up_key);
		free(r->up_alpn);
		free(r->up_host);
		free(r->health_check_path);
		free(r->up_proxy_auth);
		if (r->up_proxy_basic != NULL)
			OPENSSL_cleanse(r->up_proxy_basic, strlen(r->up_proxy_basic));
		free(r->up_proxy_basic);
		free(r->secret_header);
		free(r->secret_file);
		OPENSSL_cleanse(r->secret_sha256, sizeof(r->secret_sha256));
	}
	free(conf->routes);
	free(conf->path);
	free(conf);
}

const struct listener_conf *
conf_find_listener(const struct conf *conf, const char *name)
{
	unsigned i;

	for (i = 0; i < conf->nlisteners; i++) {
		if (strcmp(conf->listeners[i].name, name) == 0)
			return &conf->listeners[i];
	}
	return NULL;
}

const char *
log_level_str(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LVL_ERROR:
		return "error";
	case LOG_LVL_WARNING:
		return "warning";
	case LOG_LVL_NOTICE:
		return "notice";
	case LOG_LVL_INFO:
		return "info";
	case LOG_LVL_DEBUG:
		return "debug";
	}
	return "?";
}

const char *
route_mode_str(enum route_mode mode)
{
	switch (mode) {
	case ROUTE_MODE_TCP:
		return "tcp";
	case ROUTE_MODE_HTTP:
		return "http";
	}
	return "?";
}

const char *
forwarded_mode_str(enum forwarded_mode mode)
{
	switch (mode) {
	case FORWARDED_OFF:
		return "off";
	case FORWARDED_REPLACE:
		return "replace";
	case FORWARDED_APPEND:
		return "append";
	}
	return "?";
}
