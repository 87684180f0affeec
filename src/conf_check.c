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
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "conf.h"

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
	char msg[CONF_MAX_LINE * 2];
	va_list ap;

	ck->nerrors++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conf_errors_add_at(ck->errs, loc, ck->label[0] != '\0' ? ck->label : NULL,
	    key, "%s", msg);
}

/*
 * Opens path the way the TLS code will read it.  O_NONBLOCK: a FIFO named
 * by mistake must not hang the check.
 */
static void
check_file(struct check *ck, const struct conf_loc *loc, const char *key,
    const char *path)
{
	struct stat st;
	int fd, e = 0;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) == -1)
		e = errno;
	else if (fstat(fd, &st) == -1)
		e = errno;
	else if (S_ISDIR(st.st_mode))
		e = EISDIR;
	if (fd != -1)
		close(fd);
	if (e != 0)
		check_err(ck, loc, key, "'%s': cannot read: %s", path, strerror(e));
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

static const char *
check_verify_str(enum upstream_verify v)
{
	switch (v) {
	case VERIFY_CA:
		return "ca";
	case VERIFY_PIN:
		return "pin";
	case VERIFY_OFF:
		return "off";
	}
	return "?";
}

static void
check_broker(struct check *ck)
{
	struct broker_conf *b = &ck->conf->broker;

	snprintf(ck->label, sizeof(ck->label), "broker");
	if (b->admin_set && !check_loopback(b->admin.host))
		check_err(ck, &b->admin_loc, "admin",
		    "'%s' is not a loopback address; the admin endpoint listens on "
		    "127.0.0.0/8 or ::1 only", b->admin.host);
	if (b->user != NULL && getpwnam(b->user) == NULL)
		check_err(ck, &b->user_loc, "user", "no such user '%s'", b->user);
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
		check_err(ck, &l->key_loc, "key",
		    "only with exactly one cert (this listener has %u; put each key "
		    "in its cert file)", l->ncerts);
	for (i = 0; i < idx; i++) {
		o = &ck->conf->listeners[i];
		if (!o->bad && o->bind.port == l->bind.port &&
		    strcasecmp(o->bind.host, l->bind.host) == 0) {
			check_err(ck, &l->bind_loc, "bind",
			    "same address as [listener %s] (line %d)", o->name, o->loc.line);
			break;
		}
	}
files:
	for (i = 0; i < l->ncerts; i++)
		check_file(ck, &l->cert_locs[i], "cert", l->certs[i]);
	if (l->key != NULL)
		check_file(ck, &l->key_loc, "key", l->key);
	if (l->client_ca != NULL)
		check_file(ck, &l->client_ca_loc, "client_ca", l->client_ca);
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
	check_err(ck, &r->listener_loc, "listener", "no [listener %s] in this file (listeners: %s)",
	    r->listener, ck->conf->nlisteners > 0 ? names : "none");
}

/* Keys that only mean something with a TLS upstream. */
static void
check_route_plain(struct check *ck, struct route_conf *r)
{
	const struct {
		const char *key;
		const struct conf_loc *loc;
	} tls_only[] = {
		{ "upstream_ciphers", &r->up_ciphers_loc },
		{ "upstream_ciphersuites", &r->up_ciphersuites_loc },
		{ "upstream_security_level", &r->up_security_level_loc },
		{ "upstream_legacy_renegotiation", &r->up_legacy_renegotiation_loc },
		{ "upstream_legacy_provider", &r->up_legacy_provider_loc },
		{ "upstream_sni", &r->up_sni_loc },
		{ "upstream_verify", &r->up_verify_loc },
		{ "upstream_ca", &r->up_ca_loc },
		{ "upstream_pin", &r->up_pin_loc },
		{ "upstream_cert", &r->up_cert_loc },
		{ "upstream_key", &r->up_key_loc },
		{ "upstream_alpn", &r->up_alpn_loc },
	};
	size_t i;

	for (i = 0; i < sizeof(tls_only) / sizeof(tls_only[0]); i++) {
		if (tls_only[i].loc->line != 0)
			check_err(ck, tls_only[i].loc, tls_only[i].key,
			    "only with upstream_tls other than off");
	}
}

static void
check_route_tls(struct check *ck, struct route_conf *r)
{
	if (r->up_pin_set && r->up_verify_loc.line == 0)
		r->up_verify = VERIFY_PIN;
	if (r->up_verify == VERIFY_PIN && !r->up_pin_set)
		check_err(ck, &r->up_verify_loc, "upstream_verify",
		    "'pin' needs upstream_pin = sha256//BASE64");
	if (r->up_pin_set && r->up_verify != VERIFY_PIN)
		check_err(ck, &r->up_pin_loc, "upstream_pin",
		    "only with upstream_verify = pin (this route has upstream_verify = %s)",
		    check_verify_str(r->up_verify));
	if (r->up_ca != NULL && r->up_verify != VERIFY_CA)
		check_err(ck, &r->up_ca_loc, "upstream_ca",
		    "only with upstream_verify = ca (this route has upstream_verify = %s)",
		    check_verify_str(r->up_verify));
	if (r->up_key != NULL && r->up_cert == NULL)
		check_err(ck, &r->up_key_loc, "upstream_key",
		    "needs upstream_cert (the client certificate it belongs to)");
	/* OpenSSL 3's default level 1 refuses TLS 1.0/1.1 and SHA-1 outright. */
	if (r->up_security_level < 0 && r->up_tls.min < TLS1_2_VERSION)
		r->up_security_level = 0;
}

static void
check_route_files(struct check *ck, struct route_conf *r)
{
	if (r->up_ca != NULL)
		check_file(ck, &r->up_ca_loc, "upstream_ca", r->up_ca);
	if (r->up_cert != NULL)
		check_file(ck, &r->up_cert_loc, "upstream_cert", r->up_cert);
	if (r->up_key != NULL)
		check_file(ck, &r->up_key_loc, "upstream_key", r->up_key);
}

static bool
check_same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
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
		check_route_files(ck, r);
		return;
	}
	if (r->mode == ROUTE_MODE_TCP) {
		if (r->path_loc.line != 0)
			check_err(ck, &r->path_loc, "path", "only in mode = http (this route is tcp)");
		if (r->up_host_loc.line != 0)
			check_err(ck, &r->up_host_loc, "upstream_host",
			    "only in mode = http (this route is tcp)");
		if (r->forwarded_loc.line != 0)
			check_err(ck, &r->forwarded_loc, "forwarded",
			    "only in mode = http (this route is tcp)");
		if (r->max_buffered_body_loc.line != 0)
			check_err(ck, &r->max_buffered_body_loc, "max_buffered_body",
			    "only in mode = http (this route is tcp)");
		if (r->up_chunked_loc.line != 0)
			check_err(ck, &r->up_chunked_loc, "upstream_chunked",
			    "only in mode = http (this route is tcp)");
	}
	if (r->up_tls.off)
		check_route_plain(ck, r);
	else {
		check_route_tls(ck, r);
		check_route_files(ck, r);
	}
	if (r->pool_min_idle > r->pool_max_idle)
		check_err(ck, r->pool_min_idle_loc.line != 0 ? &r->pool_min_idle_loc :
		    &r->pool_max_idle_loc, "pool_min_idle",
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
