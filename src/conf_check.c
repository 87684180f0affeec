/* SPDX-License-Identifier: MIT */
/*
 * conf_check: the whole-config pass after parsing (HAProxy's
 * check_config_validity()).  Every problem is reported at the line of the
 * key that causes it, and every one is collected.  See conf_check.h.
 */
#include "config.h"

#include "conf_check.h"

#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "audit.h"
#include "conf.h"
#include "regfile.h"
#include "upstream_proxy.h"
#include "secret.h"
#include "servicetag.h"

struct check {
	struct conf *conf;
	struct conf_errors *errs;
	unsigned nerrors;
	char label[CONF_MAX_LINE + 16];	/* "route payroll" */
};

static void check_err(struct check *ck, const struct conf_loc *loc,
    const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Records one error at loc in the section named by ck->label ("" = none). */
static void
check_err(struct check *ck, const struct conf_loc *loc, const char *key,
    const char *fmt, ...)
{
	va_list ap;

	ck->nerrors++;
	va_start(ap, fmt);
	conf_errors_vadd_at(ck->errs, loc, ck->label[0] != '\0' ? ck->label : NULL,
	    key, fmt, ap);
	va_end(ap);
}

/*
 * Opens path the way the TLS code will read it, and only if it is a
 * regular file: OpenSSL opens it blocking and reads to the end, so a FIFO
 * would hang the check (or a start), a device spin it.  /dev/null is the
 * one exception: it reads as empty at once, and probe's stand-in listener
 * names it.
 */
static void
check_file(struct check *ck, const struct conf_loc *loc, const char *key,
    const char *path)
{
	char why[REGFILE_ERRLEN];
	int fd;

	if (strcmp(path, "/dev/null") == 0)
		return;
	if ((fd = regfile_open(path, O_RDONLY, 0, why)) == -1) {
		check_err(ck, loc, key, "'%s': cannot read: %s", path, why);
		return;
	}
	(void)close(fd);
}

/* Checks that each KEY_FILE key set in sect names a file we can read. */
static void
check_key_files(struct check *ck, enum conf_kind kind, void *sect)
{
	const struct conf_sect_desc *d = conf_sect_desc(kind);
	const struct conf_loc *at = conf_sect_at(d, sect);
	const char *path;
	unsigned i;

	for (i = 0; i < d->nkeys; i++) {
		if (!(d->keys[i].flags & KEY_FILE))
			continue;
		path = *(char *const *)(const void *)((const char *)sect + d->keys[i].off);
		if (path != NULL)
			check_file(ck, &at[i], d->keys[i].name, path);
	}
}

static bool
check_loopback(const char *host)
{
	unsigned char a[16];
	static const unsigned char mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, host, a) == 1) {
		if (memcmp(a, mapped, 12) == 0)
			return a[12] == 127;
		return memcmp(a, in6addr_loopback.s6_addr, 16) == 0;
	}
	return false;
}

static void
check_broker(struct check *ck)
{
	struct broker_conf *b = &ck->conf->broker;
	char why[CONF_MAX_LINE + 64];

	snprintf(ck->label, sizeof(ck->label), "broker");
	if (audit_check(b->audit_log, why, sizeof(why)) == -1)
		check_err(ck, &b->at[BROKER_KEY_AUDIT_LOG], "audit_log", "%s", why);
	if (b->admin_set && !check_loopback(b->admin.host))
		check_err(ck, &b->at[BROKER_KEY_ADMIN], "admin",
		    "'%s' is not a loopback address; the admin endpoint listens on "
		    "127.0.0.0/8 or ::1 only", b->admin.host);
	if (b->user != NULL && getpwnam(b->user) == NULL)
		check_err(ck, &b->at[BROKER_KEY_USER], "user", "no such user '%s'", b->user);
}

/*
 * Reads each "allow = servicetag:FILE:TAG" into the allow list.  Any
 * failure is an error: a listener whose tag could not be read must not
 * start open to everyone.  A conf checked twice reads its tags once.
 */
static void
check_servicetags(struct check *ck, struct listener_conf *l)
{
	struct servicetag_info info;
	struct conf_servicetag *st;
	char err[CONF_MAX_LINE + 512];
	unsigned i;

	for (i = 0; i < l->nservicetags; i++) {
		st = &l->servicetags[i];
		if (st->nprefixes > 0)
			continue;
		if (servicetag_load(st->path, st->tag, &l->allow, &info, err,
		    sizeof(err)) == -1) {
			check_err(ck, &st->loc, "allow", "%s", err);
			continue;
		}
		st->mtime = info.mtime;
		st->change_number = info.change_number;
		st->nprefixes = info.nv4 + info.nv6;
	}
}

static void
check_listener(struct check *ck, unsigned idx)
{
	struct listener_conf *l = &ck->conf->listeners[idx], *o;
	unsigned i;

	snprintf(ck->label, sizeof(ck->label), "listener %s", l->name);
	if (l->bad)
		goto files;	/* a key failed to parse: its default would mislead */
	if (l->key != NULL && l->ncerts > 1)
		check_err(ck, &l->at[LISTENER_KEY_KEY], "key",
		    "only with exactly one cert (this listener has %u; put each key "
		    "in its cert file)", l->ncerts);
	if (l->proxy_protocol != PROXY_MODE_OFF && l->proxy_trusted.count == 0)
		check_err(ck, &l->at[LISTENER_KEY_PROXY_PROTOCOL], "proxy_protocol",
		    "needs proxy_trusted = the balancers' addresses (CIDRs): a "
		    "PROXY header names the caller, so only they may send one");
	if (l->proxy_protocol == PROXY_MODE_OFF && l->proxy_trusted.count > 0)
		check_err(ck, &l->at[LISTENER_KEY_PROXY_TRUSTED], "proxy_trusted",
		    "has no effect with proxy_protocol = off (set it to on or optional)");
	for (i = 0; i < idx; i++) {
		o = &ck->conf->listeners[i];
		if (!o->bad && o->bind.port == l->bind.port &&
		    strcasecmp(o->bind.host, l->bind.host) == 0) {
			check_err(ck, &l->at[LISTENER_KEY_BIND], "bind",
			    "same address as [listener %s] (line %d)", o->name, o->loc.line);
			break;
		}
	}
files:
	check_servicetags(ck, l);
	for (i = 0; i < l->ncerts; i++)
		check_file(ck, &l->cert_locs[i], "cert", l->certs[i]);
	check_key_files(ck, CONF_SECT_LISTENER, l);
}

/* Sets r->listener_index; reports a name that names no listener. */
static void
check_route_listener(struct check *ck, struct route_conf *r)
{
	const struct listener_conf *l;
	char names[512];
	size_t off = 0;
	unsigned i;

	if (r->listener == NULL)
		return;	/* conf_load reported it */
	if ((l = conf_find_listener(ck->conf, r->listener)) != NULL) {
		r->listener_index = l->index;
		return;
	}
	names[0] = '\0';
	for (i = 0; i < ck->conf->nlisteners && off < sizeof(names); i++)
		off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s",
		    i > 0 ? ", " : "", ck->conf->listeners[i].name);
	check_err(ck, &r->at[ROUTE_KEY_LISTENER], "listener", "no [listener %s] in this file (listeners: %s)",
	    r->listener, ck->conf->nlisteners > 0 ? names : "none");
}

/*
 * Reports each key of scope written in r: a key the table says means
 * something only in http mode, with a TLS upstream or through an
 * upstream_proxy, where r is not that.
 */
static void
check_route_scope(struct check *ck, struct route_conf *r, enum conf_scope scope,
    const char *only)
{
	const struct conf_sect_desc *d = conf_sect_desc(CONF_SECT_ROUTE);
	unsigned i;

	for (i = 0; i < d->nkeys; i++) {
		if (d->keys[i].scope == scope && !(d->keys[i].flags & KEY_OWN_SCOPE) &&
		    r->at[i].line != 0)
			check_err(ck, &r->at[i], d->keys[i].name, "%s", only);
	}
}

static void
check_route_tls(struct check *ck, struct route_conf *r)
{
	if (r->up_pin_set && r->at[ROUTE_KEY_UPSTREAM_VERIFY].line == 0)
		r->up_verify = VERIFY_PIN;
	if (r->up_verify == VERIFY_PIN && !r->up_pin_set)
		check_err(ck, &r->at[ROUTE_KEY_UPSTREAM_VERIFY], "upstream_verify",
		    "'pin' needs upstream_pin = sha256//BASE64");
	if (r->up_pin_set && r->up_verify != VERIFY_PIN)
		check_err(ck, &r->at[ROUTE_KEY_UPSTREAM_PIN], "upstream_pin",
		    "only with upstream_verify = pin (this route has upstream_verify = %s)",
		    conf_choice_name(&conf_verify_modes, (int)r->up_verify));
	if (r->up_ca != NULL && r->up_verify != VERIFY_CA)
		check_err(ck, &r->at[ROUTE_KEY_UPSTREAM_CA], "upstream_ca",
		    "only with upstream_verify = ca (this route has upstream_verify = %s)",
		    conf_choice_name(&conf_verify_modes, (int)r->up_verify));
	if (r->up_key != NULL && r->up_cert == NULL)
		check_err(ck, &r->at[ROUTE_KEY_UPSTREAM_KEY], "upstream_key",
		    "needs upstream_cert (the client certificate it belongs to)");
	/* OpenSSL 3's default level 1 refuses TLS 1.0/1.1 and SHA-1 outright. */
	if (r->up_security_level < 0 && r->up_tls.min < TLS1_2_VERSION)
		r->up_security_level = 0;
}

/*
 * upstream_proxy_auth: read now, at every start, -t and reload, like the
 * keys; the value is kept base64-encoded for the CONNECT request and is
 * never printed, not even in an error.
 */
static void
check_route_proxy_auth(struct check *ck, struct route_conf *r)
{
	char out[UPSTREAM_PROXY_BASIC_MAX], why[CONF_MAX_LINE + 64];

	if (upstream_proxy_basic_file(r->up_proxy_auth, out, sizeof(out), why,
	    sizeof(why)) == -1)
		check_err(ck, &r->at[ROUTE_KEY_UPSTREAM_PROXY_AUTH], "upstream_proxy_auth", "%s",
		    why);
	else if ((r->up_proxy_basic = strdup(out)) == NULL)
		check_err(ck, &r->at[ROUTE_KEY_UPSTREAM_PROXY_AUTH], "upstream_proxy_auth",
		    "out of memory");
	OPENSSL_cleanse(out, sizeof(out));
}

static void
check_route_proxy(struct check *ck, struct route_conf *r)
{
	if (r->up_proxy_set) {
		if (r->up_proxy_auth != NULL && r->up_proxy_basic == NULL)
			check_route_proxy_auth(ck, r);
		return;
	}
	check_route_scope(ck, r, SCOPE_PROXY, "only with upstream_proxy = http://HOST:PORT");
}

/* secret_header and secret_file go together, in http mode; reads the value. */
static void
check_route_secret(struct check *ck, struct route_conf *r)
{
	char err[CONF_MAX_LINE + 128];

	if (r->secret_header == NULL && r->secret_file == NULL)
		return;
	if (r->mode == ROUTE_MODE_TCP) {
		check_err(ck, r->secret_header != NULL ? &r->at[ROUTE_KEY_SECRET_HEADER] :
		    &r->at[ROUTE_KEY_SECRET_FILE], r->secret_header != NULL ? "secret_header" :
		    "secret_file", "only in mode = http (this route is tcp; use "
		    "client_ca or allow on its listener)");
		return;
	}
	if (r->secret_file == NULL) {
		check_err(ck, &r->at[ROUTE_KEY_SECRET_HEADER], "secret_header",
		    "needs secret_file (the file holding the value)");
		return;
	}
	if (r->secret_header == NULL) {
		check_err(ck, &r->at[ROUTE_KEY_SECRET_FILE], "secret_file",
		    "needs secret_header (the name of the header that carries it)");
		return;
	}
	if (r->secret_len == 0 && secret_load(r->secret_file, r->secret_sha256,
	    &r->secret_len, err, sizeof(err)) == -1)
		check_err(ck, &r->at[ROUTE_KEY_SECRET_FILE], "secret_file", "%s", err);
}

/* health_check_path and health_check_status say what health_check = http asks. */
static void
check_route_health(struct check *ck, struct route_conf *r)
{
	if (r->health_check == HEALTH_CHECK_HTTP)
		return;
	if (r->at[ROUTE_KEY_HEALTH_CHECK_PATH].line != 0)
		check_err(ck, &r->at[ROUTE_KEY_HEALTH_CHECK_PATH], "health_check_path",
		    "only with health_check = http");
	if (r->at[ROUTE_KEY_HEALTH_CHECK_STATUS].line != 0)
		check_err(ck, &r->at[ROUTE_KEY_HEALTH_CHECK_STATUS], "health_check_status",
		    "only with health_check = http");
}

static bool
check_same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/*
 * upstream_max_connections and its queue: queue keys mean nothing without
 * a cap, and warm connections (pool_min_idle, per worker) must leave room
 * for requests.
 */
static void
check_route_cap(struct check *ck, const struct route_conf *r)
{
	const struct conf_loc *min_idle = &r->at[ROUTE_KEY_POOL_MIN_IDLE];

	if (r->up_max_conns == 0) {
		if (r->at[ROUTE_KEY_UPSTREAM_QUEUE_MAX].line != 0)
			check_err(ck, &r->at[ROUTE_KEY_UPSTREAM_QUEUE_MAX], "upstream_queue_max",
			    "only with upstream_max_connections (this route has no cap)");
		if (r->at[ROUTE_KEY_UPSTREAM_QUEUE_TIMEOUT].line != 0)
			check_err(ck, &r->at[ROUTE_KEY_UPSTREAM_QUEUE_TIMEOUT],
			    "upstream_queue_timeout",
			    "only with upstream_max_connections (this route has no cap)");
		return;
	}
	if (r->pool_min_idle >= r->up_max_conns)
		check_err(ck, min_idle->line != 0 ? min_idle :
		    &r->at[ROUTE_KEY_UPSTREAM_MAX_CONNECTIONS], "pool_min_idle",
		    "%u warm connections per worker would hold every one of "
		    "upstream_max_connections (%u)", r->pool_min_idle, r->up_max_conns);
}

static void
check_route(struct check *ck, unsigned idx)
{
	struct route_conf *r = &ck->conf->routes[idx], *o;
	unsigned i;

	snprintf(ck->label, sizeof(ck->label), "route %s", r->name);
	check_route_listener(ck, r);
	if (r->bad) {
		/* a key failed to parse: its default would mislead the rest */
		check_key_files(ck, CONF_SECT_ROUTE, r);
		return;
	}
	if (r->mode == ROUTE_MODE_TCP)
		check_route_scope(ck, r, SCOPE_HTTP, "only in mode = http (this route is tcp)");
	if (r->up_tls.off)
		check_route_scope(ck, r, SCOPE_TLS, "only with upstream_tls other than off");
	else {
		check_route_tls(ck, r);
		check_key_files(ck, CONF_SECT_ROUTE, r);
	}
	check_route_proxy(ck, r);
	check_route_secret(ck, r);
	check_route_health(ck, r);
	check_route_cap(ck, r);
	if (r->pool_min_idle > r->pool_max_idle)
		check_err(ck, r->at[ROUTE_KEY_POOL_MIN_IDLE].line != 0 ? &r->at[ROUTE_KEY_POOL_MIN_IDLE] :
		    &r->at[ROUTE_KEY_POOL_MAX_IDLE], "pool_min_idle",
		    "%u is more than pool_max_idle (%u)", r->pool_min_idle, r->pool_max_idle);
	if (r->listener == NULL || conf_find_listener(ck->conf, r->listener) == NULL)
		return;
	for (i = 0; i < idx; i++) {
		o = &ck->conf->routes[i];
		if (o->bad || o->listener == NULL || strcmp(o->listener, r->listener) != 0 ||
		    o->mode != r->mode || !check_same_str(o->host, r->host) ||
		    !check_same_str(o->path, r->path))
			continue;
		check_err(ck, &r->loc, NULL,
		    "same listener, mode, host and path as [route %s] (line %d); "
		    "one of them could never be chosen", o->name, o->loc.line);
		break;
	}
}

static int
check_all(struct conf *conf, struct conf_errors *errs, bool whole_file)
{
	struct check ck;
	struct conf_loc file = { conf->path, 0 };
	unsigned i;

	memset(&ck, 0, sizeof(ck));
	ck.conf = conf;
	ck.errs = errs;
	/* with routes, each one already names its missing listener */
	if (whole_file && conf->nlisteners == 0 && conf->nroutes == 0)
		check_err(&ck, &file, NULL, "no [listener NAME] section; at least one is needed");
	if (whole_file && conf->nroutes == 0)
		check_err(&ck, &file, NULL, "no [route NAME] section; at least one is needed");
	check_broker(&ck);
	for (i = 0; i < conf->nlisteners; i++)
		check_listener(&ck, i);
	for (i = 0; i < conf->nroutes; i++)
		check_route(&ck, i);
	return ck.nerrors == 0 ? 0 : -1;
}

int
conf_check(struct conf *conf, struct conf_errors *errs)
{
	return check_all(conf, errs, true);
}

int
conf_check_partial(struct conf *conf, struct conf_errors *errs)
{
	return check_all(conf, errs, false);
}

/* ---- warnings ------------------------------------------------------------ */

static void
warn_open_listener(const struct conf *c, const struct listener_conf *l,
    const char *label, struct conf_errors *w)
{
	char names[512];
	size_t off = 0;
	unsigned i, n = 0;

	if (l->allow.count > 0 || l->client_ca != NULL || check_loopback(l->bind.host))
		return;
	names[0] = '\0';
	for (i = 0; i < c->nroutes; i++) {
		const struct route_conf *r = &c->routes[i];

		if (r->listener == NULL || strcmp(r->listener, l->name) != 0 ||
		    r->secret_header != NULL)
			continue;
		if (off < sizeof(names))
			off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s",
			    n > 0 ? ", " : "", r->name);
		n++;
	}
	if (n == 0)
		return;
	conf_errors_add_at(w, &l->at[LISTENER_KEY_BIND], label, "bind",
	    "OPEN TO ANY ADDRESS: %s:%u has no allow list and no client_ca, and "
	    "route%s %s ha%s no secret_header: whoever reaches this port can call "
	    "them; admit the ERP with allow = servicetag:FILE:TAG, client_ca or "
	    "secret_header (tlsbroker(8), \"Calling from finance and operations\")",
	    l->bind.host, l->bind.port, n > 1 ? "s" : "", names, n > 1 ? "ve" : "s");
}

/* The certificates of a PEM file, leaf first; NULL if it holds none. */
static STACK_OF(X509) *
warn_read_chain(const char *path)
{
	STACK_OF(X509) *chain;
	BIO *bio;
	X509 *x;

	if ((bio = BIO_new_file(path, "r")) == NULL)
		return NULL;
	if ((chain = sk_X509_new_null()) != NULL)
		while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
			if (sk_X509_push(chain, x) == 0) {
				X509_free(x);
				break;
			}
	ERR_clear_error();	/* the read ends with "no start line" */
	BIO_free(bio);
	if (chain != NULL && sk_X509_num(chain) == 0) {
		sk_X509_free(chain);
		chain = NULL;
	}
	return chain;
}

static void
warn_name(const X509 *x, char *buf, size_t cap)
{
	X509_NAME_oneline(X509_get_subject_name(x), buf, (int)cap);
}

/* Expired, or expiring within CONF_WARN_CERT_DAYS: each certificate of the file. */
static void
warn_cert_expiry(STACK_OF(X509) *chain, const struct conf_loc *loc,
    const char *label, struct conf_errors *w)
{
	char name[256];
	int i, days, secs;

	for (i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);

		if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)) != 1 ||
		    days >= CONF_WARN_CERT_DAYS)
			continue;
		warn_name(x, name, sizeof(name));
		if (days < 0 || secs < 0)
			conf_errors_add_at(w, loc, label, "cert",
			    "%s has EXPIRED: the ERP refuses the handshake", name);
		else
			conf_errors_add_at(w, loc, label, "cert",
			    "%s expires in %d day%s: renew it; an expired certificate fails "
			    "every call from the ERP", name, days, days == 1 ? "" : "s");
	}
}

/* True if the built chain's intermediates all came from the file. */
static bool
warn_chain_from_file(X509_STORE_CTX *ctx, STACK_OF(X509) *file, char *missing,
    size_t cap)
{
	STACK_OF(X509) *built = X509_STORE_CTX_get0_chain(ctx);
	int i, j, n = built != NULL ? sk_X509_num(built) : 0;

	for (i = 1; i < n - 1; i++) {
		X509 *x = sk_X509_value(built, i);

		for (j = 0; j < sk_X509_num(file); j++)
			if (X509_cmp(x, sk_X509_value(file, j)) == 0)
				break;
		if (j == sk_X509_num(file)) {
			warn_name(x, missing, cap);
			return false;
		}
	}
	return true;
}

/*
 * This host's public roots: the hashed directory OpenSSL uses
 * (SSL_CERT_DIR, else /etc/ssl/certs on Debian), looked up per issuer as
 * needed rather than read whole, since this runs on every reload.
 */
static X509_STORE *
warn_roots(void)
{
	X509_STORE *store;
	X509_LOOKUP *lookup;
	const char *dir;

	if ((store = X509_STORE_new()) == NULL)
		return NULL;
	if ((dir = getenv(X509_get_default_cert_dir_env())) == NULL)
		dir = X509_get_default_cert_dir();
	if ((lookup = X509_STORE_add_lookup(store, X509_LOOKUP_hash_dir())) == NULL ||
	    X509_LOOKUP_add_dir(lookup, dir, X509_FILETYPE_PEM) != 1) {
		X509_STORE_free(store);
		return NULL;
	}
	return store;
}

/*
 * The chain the listener serves, as the ERP (Schannel with public roots
 * only, no way to add one) will judge it.  Verified against this host's
 * public roots (store) with the file's other certificates as
 * intermediates.
 */
static void
warn_cert_chain(X509_STORE *store, const char *path, const struct conf_loc *loc,
    const char *label, struct conf_errors *w)
{
	STACK_OF(X509) *chain = warn_read_chain(path), *rest = NULL;
	X509_STORE_CTX *ctx = NULL;
	char name[256], other[256];
	X509 *leaf;
	int err;

	if (chain == NULL)
		return;		/* conf_check and tls_server report unreadable files */
	leaf = sk_X509_value(chain, 0);
	warn_name(leaf, name, sizeof(name));
	warn_cert_expiry(chain, loc, label, w);
	if (X509_check_issued(leaf, leaf) == X509_V_OK &&
	    X509_verify(leaf, X509_get0_pubkey(leaf)) == 1) {
		conf_errors_add_at(w, loc, label, "cert",
		    "%s is self-signed: the ERP trusts only public CAs and cannot be "
		    "given another root", name);
		goto out;
	}
	if (store == NULL || (ctx = X509_STORE_CTX_new()) == NULL ||
	    (rest = sk_X509_dup(chain)) == NULL)
		goto out;
	(void)sk_X509_shift(rest);
	if (X509_STORE_CTX_init(ctx, store, leaf, rest) != 1)
		goto out;
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), X509_V_FLAG_NO_CHECK_TIME);
	if (X509_verify_cert(ctx) == 1) {
		if (!warn_chain_from_file(ctx, chain, other, sizeof(other)))
			conf_errors_add_at(w, loc, label, "cert",
			    "incomplete chain: the intermediate %s is not in the file "
			    "(this host has it, the ERP is sent only the file's): add it "
			    "after %s", other, name);
		goto out;
	}
	err = X509_STORE_CTX_get_error(ctx);
	if (err == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN) {
		warn_name(X509_STORE_CTX_get_current_cert(ctx), other, sizeof(other));
		conf_errors_add_at(w, loc, label, "cert",
		    "the chain of %s ends at the private root %s: the ERP trusts only "
		    "public CAs and cannot be given another root", name, other);
	} else if (err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
	    err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT) {
		X509_NAME_oneline(X509_get_issuer_name(X509_STORE_CTX_get_current_cert(ctx)),
		    other, (int)sizeof(other));
		conf_errors_add_at(w, loc, label, "cert",
		    "incomplete chain or private CA: nothing in the file or among this "
		    "host's public roots issued %s; the ERP needs the whole chain "
		    "(intermediates after the leaf) up to a public root", other);
	} else
		conf_errors_add_at(w, loc, label, "cert",
		    "the chain of %s does not verify against public roots: %s", name,
		    X509_verify_cert_error_string(err));
out:
	X509_STORE_CTX_free(ctx);
	sk_X509_free(rest);
	sk_X509_pop_free(chain, X509_free);
	ERR_clear_error();
}

static void
warn_servicetags(const struct listener_conf *l, const char *label,
    struct conf_errors *w)
{
	time_t now = time(NULL);
	int64_t days;
	unsigned i;

	for (i = 0; i < l->nservicetags; i++) {
		const struct conf_servicetag *st = &l->servicetags[i];

		if (st->nprefixes == 0 || (days = ((int64_t)now - st->mtime) / 86400) <
		    CONF_WARN_SERVICETAG_DAYS)
			continue;
		conf_errors_add_at(w, &st->loc, label, "allow",
		    "%s is %lld days old (changeNumber %lld): Microsoft publishes it "
		    "weekly and uses new ranges a week after they appear; download it "
		    "again and reload (SIGHUP), or the ERP's new addresses are refused",
		    st->path, (long long)days, (long long)st->change_number);
	}
}

static void
warn_secret(const struct route_conf *r, const char *label, struct conf_errors *w)
{
	struct stat st;

	if (r->secret_len == 0)
		return;
	if (r->secret_len < SECRET_MIN_GOOD)
		conf_errors_add_at(w, &r->at[ROUTE_KEY_SECRET_FILE], label, "secret_file",
		    "the secret has only %zu characters; use at least %d random ones "
		    "(e.g. openssl rand -hex 32)", r->secret_len, SECRET_MIN_GOOD);
	if (stat(r->secret_file, &st) == 0 && (st.st_mode & 077) != 0)
		conf_errors_add_at(w, &r->at[ROUTE_KEY_SECRET_FILE], label, "secret_file",
		    "'%s' is readable by group or others (mode %03o): chmod 600 it",
		    r->secret_file, (unsigned)(st.st_mode & 0777));
}

void
conf_warnings(const struct conf *conf, struct conf_errors *warns)
{
	char label[CONF_MAX_LINE + 16];
	X509_STORE *roots = warn_roots();
	unsigned i, j;

	for (i = 0; i < conf->nlisteners; i++) {
		const struct listener_conf *l = &conf->listeners[i];

		snprintf(label, sizeof(label), "listener %s", l->name);
		warn_open_listener(conf, l, label, warns);
		for (j = 0; j < l->ncerts; j++)
			warn_cert_chain(roots, l->certs[j], &l->cert_locs[j], label, warns);
		warn_servicetags(l, label, warns);
	}
	X509_STORE_free(roots);
	for (i = 0; i < conf->nroutes; i++) {
		snprintf(label, sizeof(label), "route %s", conf->routes[i].name);
		warn_secret(&conf->routes[i], label, warns);
	}
}
