/* SPDX-License-Identifier: MIT */
/*
 * probe_prove: proving the candidates.  A block is only printed after the
 * config loader parsed it and a connection with a tls_client built from
 * that parsed route worked, so what the engineer pastes is exactly what
 * was tested, not what probe meant to write.  See probe_prove.h.
 */
#include "config.h"

#include "probe_prove.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "conf.h"
#include "conf_check.h"
#include "diag.h"
#include "probe_net.h"
#include "probe_report.h"
#include "tls_client.h"
#include "tlsio.h"

#define WEAK_MESSAGE \
	"this endpoint only offers 3DES (or RC4); Debian's OpenSSL has no such " \
	"suites: build the private OpenSSL with enable-weak-ssl-ciphers (script " \
	"in the tree) and configure with --with-openssl=DIR"

/*
 * conf_check wants every route to belong to a listener; this stand-in is
 * never bound or built (only the route's tls_client is), and /dev/null
 * satisfies the "cert can be opened" check.
 */
#define PROBE_STANDIN_LISTENER \
	"[listener probe]\nbind = 127.0.0.1:9\ncert = /dev/null\n\n"

/*
 * Writes the block of candidate idx into buf and loads it, after a
 * stand-in listener, through the config loader and checks.  Returns the
 * parsed config (owned by the caller), or NULL with the failure in the
 * candidate.
 */
static struct conf *
probe_load_block(struct probe_result *r, unsigned idx, char *buf, size_t cap)
{
	struct probe_candidate *cd = &r->cands[idx];
	struct conf_errors errs = { 0 };
	struct conf *conf;
	char *text;
	size_t len;

	if (probe_route_block(r, idx, buf, cap) == -1) {
		snprintf(cd->failure, sizeof(cd->failure), "the block is too long");
		return NULL;
	}
	len = sizeof(PROBE_STANDIN_LISTENER) + strlen(buf);
	if ((text = malloc(len)) == NULL) {
		snprintf(cd->failure, sizeof(cd->failure), "out of memory");
		return NULL;
	}
	snprintf(text, len, "%s%s", PROBE_STANDIN_LISTENER, buf);
	if ((conf = conf_load_string("probe", text, &errs)) == NULL ||
	    conf_check(conf, &errs) != 0) {
		snprintf(cd->failure, sizeof(cd->failure), "the config loader "
		    "rejects the block: %.200s", errs.count > 0 ? errs.msgs[0] : "?");
		conf_free(conf);
		conf = NULL;
	}
	conf_errors_free(&errs);
	free(text);
	return conf;
}

/*
 * The connection c with the parsed route rc worked: HEAD / when the
 * endpoint answers HTTP, then the outcome.  False with the failure in cd.
 */
static bool
probe_conn_outcome(const struct probe_result *r, struct probe_candidate *cd,
    const struct route_conf *rc, struct probe_conn *c)
{
	struct probe_http h;

	if (r->http) {
		probe_http_exchange(c->fd, c->ssl, probe_verify_name(r),
		    r->target.port, r->timeout_ms, &h);
		if (!h.answered) {
			snprintf(cd->failure, sizeof(cd->failure), "connected, but "
			    "HEAD / got no HTTP answer: %s", h.detail);
			return false;
		}
	}
	if (c->ssl != NULL)
		snprintf(cd->outcome, sizeof(cd->outcome), "%s %s, verified by %s",
		    tls_version_str(SSL_version(c->ssl)), SSL_get_cipher_name(c->ssl),
		    rc->up_verify == VERIFY_CA ? "ca" : "pin");
	else
		snprintf(cd->outcome, sizeof(cd->outcome), "plain TCP to %.100s%s",
		    c->addr, r->http ? ", HTTP answered" : "");
	return true;
}

/* One connection with the parsed route rc, through its own tls_client. */
static bool
probe_connect_route(const struct probe_result *r, struct probe_candidate *cd,
    const struct route_conf *rc)
{
	struct conf_errors errs = { 0 };
	struct tls_client *cli = NULL;
	struct probe_conn c;
	bool ok = false;

	if (!rc->up_tls.off && (cli = tls_client_new(rc, &errs)) == NULL) {
		snprintf(cd->failure, sizeof(cd->failure), "%.250s",
		    errs.count > 0 ? errs.msgs[0] : "cannot build the TLS context");
		conf_errors_free(&errs);
		return false;
	}
	conf_errors_free(&errs);
	if (probe_conn_open(&c, rc, cli, NULL, r->timeout_ms,
	    r->timeout_ms) == -1)
		snprintf(cd->failure, sizeof(cd->failure), "%s: %.250s",
		    close_reason_str(c.err.code), c.err.msg);
	else
		ok = probe_conn_outcome(r, cd, rc, &c);
	probe_conn_close(&c, ok);
	tls_client_free(cli);
	return ok;
}

/* Candidate idx, block in buf: true when the loader and a connection agree. */
static bool
probe_try_candidate(struct probe_result *r, unsigned idx, char *buf,
    size_t cap)
{
	struct probe_candidate *cd = &r->cands[idx];
	struct conf *conf;

	cd->tried = true;
	cd->ok = false;
	if ((conf = probe_load_block(r, idx, buf, cap)) == NULL)
		return false;
	cd->ok = probe_connect_route(r, cd, &conf->routes[0]);
	conf_free(conf);
	return cd->ok;
}

static void
probe_set_message(struct probe_result *r)
{
	bool any = false;
	unsigned i;

	for (i = 0; i < PROBE_NVERSIONS; i++)
		any = any || r->v[i].accepted;
	if (!r->connect_ok)
		snprintf(r->message, sizeof(r->message), "cannot connect: %s; %s",
		    r->connect_err.msg, diag_hint(&r->connect_err));
	else if (r->silent)
		snprintf(r->message, sizeof(r->message), "the endpoint accepts TCP "
		    "but answers neither a TLS ClientHello nor HTTP within %llu ms",
		    (unsigned long long)r->timeout_ms);
	else if (!any && (r->des3.handshake || r->rc4.handshake))
		snprintf(r->message, sizeof(r->message), "this endpoint only "
		    "offers 3DES (or RC4) and this OpenSSL completes that "
		    "handshake, but no complete route setting worked (see tried:)");
	else if (!any && (r->des3.accepted || r->rc4.accepted))
		snprintf(r->message, sizeof(r->message), "%s", WEAK_MESSAGE);
	else if (!any)
		snprintf(r->message, sizeof(r->message), "the endpoint accepted no "
		    "TLS version with any suite this OpenSSL offers (%s: %s)",
		    close_reason_str(r->v[0].err.code), r->v[0].err.msg);
	else
		snprintf(r->message, sizeof(r->message), "the endpoint accepts "
		    "TLS, but no complete route setting worked (see tried:)");
}

void
probe_prove(struct probe_result *r)
{
	unsigned i;

	for (i = 0; i < r->ncands; i++) {
		if (probe_try_candidate(r, i, r->block, sizeof(r->block))) {
			r->chosen = (int)i;
			return;
		}
	}
	r->chosen = -1;
	r->block[0] = '\0';
	probe_set_message(r);
}
