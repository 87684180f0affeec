/* SPDX-License-Identifier: MIT */
/*
 * conf_keys: the value parsers, the enum words and the key table of each
 * section kind, expanded from the rows in conf_keys.h; the defaults a
 * section starts with and the release of what its keys own.  Pure: no
 * I/O; errors are phrases for conf.c to place at a line.
 *
 * A new key = one row in conf_keys.h (+ its field in conf.h and its man
 * page entry); a parser here only when no existing kv_* reads its value.
 */
#include "config.h"

#include "conf_keys.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "cidr.h"
#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "parse.h"
#include "upstream_proxy.h"
#include "upstream_set.h"

/* kv_enum stores through an int: every enum key must be one. */
_Static_assert(sizeof(enum route_mode) == sizeof(int) &&
    sizeof(enum forwarded_mode) == sizeof(int) &&
    sizeof(enum upstream_verify) == sizeof(int) &&
    sizeof(enum proxy_mode) == sizeof(int) &&
    sizeof(enum health_check) == sizeof(int) &&
    sizeof(enum log_level) == sizeof(int), "an enum key is not int-sized");

/* ---- enum words ---------------------------------------------------------- */

/* The words of an enum key and their values; the NULL end is added. */
#define CONF_CHOICES(list, ...) \
	{ (const struct conf_choice[]){ __VA_ARGS__, { NULL, 0 } }, list }

const struct conf_choices conf_route_modes = CONF_CHOICES("http, tcp",
    { "http", ROUTE_MODE_HTTP }, { "tcp", ROUTE_MODE_TCP });

const struct conf_choices conf_forwarded_modes = CONF_CHOICES("replace, append, off",
    { "replace", FORWARDED_REPLACE }, { "append", FORWARDED_APPEND },
    { "off", FORWARDED_OFF });

const struct conf_choices conf_verify_modes = CONF_CHOICES("ca, pin, off",
    { "ca", VERIFY_CA }, { "pin", VERIFY_PIN }, { "off", VERIFY_OFF });

const struct conf_choices conf_proxy_modes = CONF_CHOICES("off, on, optional",
    { "off", PROXY_MODE_OFF }, { "on", PROXY_MODE_ON }, { "optional", PROXY_MODE_OPTIONAL });

const struct conf_choices conf_log_levels = CONF_CHOICES("debug, info, notice, warning, error",
    { "error", LOG_LVL_ERROR }, { "warning", LOG_LVL_WARNING },
    { "notice", LOG_LVL_NOTICE }, { "info", LOG_LVL_INFO }, { "debug", LOG_LVL_DEBUG });

const struct conf_choices conf_health_checks = CONF_CHOICES("off, tls, http",
    { "off", HEALTH_CHECK_OFF }, { "tls", HEALTH_CHECK_TLS }, { "http", HEALTH_CHECK_HTTP });

#undef CONF_CHOICES

const char *
conf_choice_name(const struct conf_choices *choices, int value)
{
	const struct conf_choice *c;

	for (c = choices->v; c->name != NULL; c++) {
		if (c->value == value)
			return c->name;
	}
	return "?";
}

const char *
route_mode_str(enum route_mode mode)
{
	return conf_choice_name(&conf_route_modes, (int)mode);
}

const char *
forwarded_mode_str(enum forwarded_mode mode)
{
	return conf_choice_name(&conf_forwarded_modes, (int)mode);
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

/*
 * The checked string keys: a copy of value in k's field if ok, else
 * "'value' WRONG", WRONG saying what the value is not.
 */
static int
conf_set_str_if(bool ok, const struct conf_key *k, void *sect, const char *value,
    const char *wrong, char *err)
{
	if (!ok) {
		snprintf(err, CONF_ERRLEN, "'%s' %s", value, wrong);
		return -1;
	}
	return conf_set_str(FIELD(sect, k, char *), value, err);
}

/* Passes on rc, a parser's result; once that parsed, the key is marked *set. */
static int
conf_mark_set(int rc, bool *set)
{
	if (rc == -1)
		return -1;
	*set = true;
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
	return conf_set_str_if(conf_is_token(value), k, sect, value,
	    "contains a blank or control character", err);
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

/*
 * 0..5; the default "library" (-1) leaves OpenSSL's level, and is a word
 * only the table may write: a file states a number.
 */
static int
kv_security_level(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	if (at->line == 0 && strcmp(value, "library") == 0) {
		*FIELD(sect, k, int) = -1;
		return 0;
	}
	return kv_uint(k, value, sect, at, err);
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

	return conf_mark_set(upstream_proxy_parse_url(value, &r->up_proxy, err),
	    &r->up_proxy_set);
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

	return conf_mark_set(parse_hostport(value, -1, &b->admin, err), &b->admin_set);
}

/*
 * One of the words in k->choices, stored as its value in an enum field.
 * Every enum key (mode, log_level, upstream_verify...) parses here.
 */
static int
kv_enum(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	const struct conf_choice *c;

	for (c = k->choices->v; c->name != NULL; c++) {
		if (strcmp(value, c->name) == 0) {
			*FIELD(sect, k, int) = c->value;
			return 0;
		}
	}
	snprintf(err, CONF_ERRLEN, "'%s' is not one of %s", value, k->choices->list);
	return -1;
}

/* The booleans of earlier versions stay: yes is replace, no is off. */
static int
kv_forwarded(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	bool on;

	if (parse_bool(value, &on, err) == 0) {
		*FIELD(sect, k, int) = on ? FORWARDED_REPLACE : FORWARDED_OFF;
		return 0;
	}
	return kv_enum(k, value, sect, at, err);
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

	return conf_mark_set(parse_spki_pin(value, r->up_pin, err), &r->up_pin_set);
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

/* A list of networks; a repeated key adds to it. */
static int
kv_cidrs(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	return cidr_list_parse(FIELD(sect, k, struct cidr_list), value, err);
}

static int
kv_name(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	return conf_set_str_if(parse_is_name(value), k, sect, value,
	    "is not a listener name (letters, digits, '_', '.', '-')", err);
}

static int
kv_host(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	char *p;

	if (conf_set_str_if(parse_is_server_name(value, true), k, sect, value,
	    "is not a host name like api.example.com or *.example.com "
	    "(leave host out to match any)", err) == -1)
		return -1;
	for (p = *FIELD(sect, k, char *); *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return 0;
}

static int
kv_path(const struct conf_key *k, const char *value, void *sect,
    const struct conf_loc *at, char *err)
{
	return conf_set_str_if(value[0] == '/' && conf_is_token(value), k, sect, value,
	    "is not a path prefix starting with / (no blanks)", err);
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
	return conf_set_str_if(*value != '\0' && *p == '\0', k, sect, value,
	    "is not a header field name like X-ERP-Secret", err);
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


/* ---- releasing ----------------------------------------------------------- */

static void
rel_str(const struct conf_key *k, void *sect)
{
	char **s = FIELD(sect, k, char *);

	free(*s);
	*s = NULL;
}

static void
rel_cidrs(const struct conf_key *k, void *sect)
{
	cidr_list_free(FIELD(sect, k, struct cidr_list));
}

static void
rel_certs(const struct conf_key *k, void *sect)
{
	struct listener_conf *l = sect;

	while (l->ncerts > 0) {
		l->ncerts--;
		free(l->certs[l->ncerts]);
		l->certs[l->ncerts] = NULL;
	}
}

/* allow fills the networks and the service tags whose networks join them. */
static void
rel_allow(const struct conf_key *k, void *sect)
{
	struct listener_conf *l = sect;
	unsigned i;

	rel_cidrs(k, sect);
	for (i = 0; i < l->nservicetags; i++) {
		free(l->servicetags[i].path);
		free(l->servicetags[i].tag);
	}
	free(l->servicetags);
	l->servicetags = NULL;
	l->nservicetags = 0;
}

/* ---- key tables ---------------------------------------------------------- */

#define B(f) offsetof(struct broker_conf, f)
#define L(f) offsetof(struct listener_conf, f)
#define R(f) offsetof(struct route_conf, f)
#define CONF_KEY_ROW(id, keyname, keyscope, ...) \
	[id] = { .name = keyname, .scope = keyscope, __VA_ARGS__ },

static const struct conf_key conf_broker_keys[] = { CONF_BROKER_KEYS(CONF_KEY_ROW) };
static const struct conf_key conf_listener_keys[] = { CONF_LISTENER_KEYS(CONF_KEY_ROW) };
static const struct conf_key conf_route_keys[] = { CONF_ROUTE_KEYS(CONF_KEY_ROW) };

#undef CONF_KEY_ROW
#undef B
#undef L
#undef R

#define NKEYS(t) (unsigned)(sizeof(t) / sizeof((t)[0]))

static const struct conf_sect_desc conf_sects[] = {
	[CONF_SECT_BROKER] = { "[broker]", "broker", conf_broker_keys,
	    NKEYS(conf_broker_keys), sizeof(struct broker_conf),
	    offsetof(struct broker_conf, at) },
	[CONF_SECT_LISTENER] = { "[listener NAME]", "listener", conf_listener_keys,
	    NKEYS(conf_listener_keys), sizeof(struct listener_conf),
	    offsetof(struct listener_conf, at) },
	[CONF_SECT_ROUTE] = { "[route NAME]", "route", conf_route_keys,
	    NKEYS(conf_route_keys), sizeof(struct route_conf),
	    offsetof(struct route_conf, at) },
};

_Static_assert(NKEYS(conf_broker_keys) == BROKER_KEY__COUNT &&
    NKEYS(conf_listener_keys) == LISTENER_KEY__COUNT &&
    NKEYS(conf_route_keys) == ROUTE_KEY__COUNT, "a key table and its enum differ");

const struct conf_sect_desc *
conf_sect_desc(enum conf_kind kind)
{
	switch (kind) {
	case CONF_SECT_BROKER:
	case CONF_SECT_LISTENER:
	case CONF_SECT_ROUTE:
		return &conf_sects[kind];
	default:
		return NULL;
	}
}

struct conf_loc *
conf_sect_at(const struct conf_sect_desc *d, void *sect)
{
	return (struct conf_loc *)(void *)((char *)sect + d->at);
}

int
conf_key_find(const struct conf_sect_desc *d, const char *name)
{
	unsigned i;

	for (i = 0; i < d->nkeys; i++) {
		if (strcmp(d->keys[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

int
conf_sect_defaults(const struct conf_sect_desc *d, void *sect, const char *file,
    char *err)
{
	const struct conf_loc builtin = { file, 0 };
	const struct conf_key *k;

	char why[CONF_ERRLEN];

	memset(sect, 0, d->size);
	for (k = d->keys; k < d->keys + d->nkeys; k++) {
		if (k->def != NULL && k->parse(k, k->def, sect, &builtin, why) == -1) {
			snprintf(err, CONF_ERRLEN, "the default of %s: %.*s", k->name,
			    CONF_ERRLEN - 64, why);
			return -1;
		}
	}
	return 0;
}

void
conf_sect_release(const struct conf_sect_desc *d, void *sect)
{
	const struct conf_key *k;

	for (k = d->keys; k < d->keys + d->nkeys; k++) {
		if (k->release != NULL)
			k->release(k, sect);
	}
}
