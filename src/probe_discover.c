/* SPDX-License-Identifier: MIT */
/*
 * probe_discover: the connections of a discovery.  Each version is tried
 * alone with every suite this libssl has, at security level 0 and with
 * legacy renegotiation allowed: a legacy endpoint's failures are layered
 * (an old version, then a weak key exchange, then a missing RFC 5746), so
 * turning one knob at a time from the defaults would blame the wrong one.
 * 3DES and RC4 are asked for with raw ClientHellos, since Debian's libssl
 * cannot offer them.  See probe_discover.h.
 */
#include "config.h"

#include "probe_discover.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "conf.h"
#include "diag.h"
#include "probe_cert.h"
#include "probe_net.h"
#include "probe_wire.h"
#include "tls_client.h"
#include "tlsio.h"

/* Discovery offers everything this libssl has, at level 0. */
#define PROBE_ALL_CIPHERS "ALL:@SECLEVEL=0"

/*
 * The weak suites by name: ALL leaves RC4 out unless the legacy provider
 * is loaded, and DEFAULT deletes 3DES for good.
 */
#define PROBE_DES3_CIPHERS "DES-CBC3-SHA:@SECLEVEL=0"
#define PROBE_RC4_CIPHERS "RC4-SHA:RC4-MD5:@SECLEVEL=0"

/* Discovery settings as a route, so tls_client builds the SSL_CTX. */
struct probe_route {
	struct route_conf rc;
	char name[8];
	char ciphers[128];
	char sni[256];
	struct tls_client *cli;		/* owned */
};

/* ---- discovery settings through tls_client ------------------------------- */

/*
 * Discovery settings: min..max alone, the given suites, security level 0,
 * legacy renegotiation allowed, the legacy provider when asked (RC4), verification off (probe_cert.c judges the
 * chain apart), SNI as the route would send it: as permissive as this
 * libssl allows, so that a refusal is the endpoint's.  pr must not move
 * while pr->cli lives.
 */
static int
probe_route_init(struct probe_route *pr, const struct probe_result *r,
    int min, int max, const char *ciphers, bool legacy, struct tb_err *err)
{
	struct conf_errors errs = { 0 };

	memset(pr, 0, sizeof(*pr));
	snprintf(pr->name, sizeof(pr->name), "probe");
	snprintf(pr->ciphers, sizeof(pr->ciphers), "%s", ciphers);
	pr->rc.name = pr->name;
	pr->rc.loc.file = "probe";
	pr->rc.mode = ROUTE_MODE_TCP;
	pr->rc.upstream = r->target;
	pr->rc.up_tls.min = min;
	pr->rc.up_tls.max = max;
	pr->rc.up_ciphers = pr->ciphers;
	pr->rc.up_security_level = 0;
	pr->rc.up_legacy_renegotiation = true;
	pr->rc.up_legacy_provider = legacy;
	pr->rc.up_verify = VERIFY_OFF;
	if (r->sni_off)
		pr->rc.up_sni_off = true;
	else if (r->sni[0] != '\0') {
		snprintf(pr->sni, sizeof(pr->sni), "%s", r->sni);
		pr->rc.up_sni = pr->sni;
	}
	pr->rc.connect_timeout_ms = r->timeout_ms;
	pr->rc.handshake_timeout_ms = r->timeout_ms;
	if ((pr->cli = tls_client_new(&pr->rc, &errs)) == NULL) {
		tb_err_set(err, CR_INTERNAL, PHASE_HANDSHAKE, "%s", errs.count > 0 ?
		    errs.msgs[0] : "cannot build the TLS context");
		conf_errors_free(&errs);
		return -1;
	}
	conf_errors_free(&errs);
	return 0;
}

/* probe_route_init() plus one connection; end with probe_attempt_end(). */
static int
probe_attempt(const struct probe_result *r, int min, int max,
    const char *ciphers, struct probe_route *pr, struct probe_conn *c)
{
	struct tb_err err;

	if (probe_route_init(pr, r, min, max, ciphers, false, &err) == -1) {
		probe_conn_init(c);
		c->err = err;
		return -1;
	}
	return probe_conn_open(c, &pr->rc, pr->cli, NULL, r->timeout_ms,
	    r->timeout_ms);
}

static void
probe_attempt_end(struct probe_route *pr, struct probe_conn *c, bool clean)
{
	probe_conn_close(c, clean);
	tls_client_free(pr->cli);
	pr->cli = NULL;
}

/* ---- versions and families ----------------------------------------------- */

static void
probe_version_try(struct probe_result *r, unsigned i)
{
	struct probe_version *v = &r->v[i];
	struct probe_route pr;
	struct probe_conn c;

	v->tried = true;
	if (probe_attempt(r, v->version, v->version, PROBE_ALL_CIPHERS, &pr,
	    &c) == 0) {
		v->accepted = true;
		snprintf(v->cipher, sizeof(v->cipher), "%s",
		    SSL_get_cipher_name(c.ssl));
		v->secure_reneg = SSL_get_secure_renegotiation_support(c.ssl) == 1;
		probe_collect_chain(r, c.ssl);
	} else
		v->err = c.err;
	probe_attempt_end(&pr, &c, v->accepted);
}

/* The ECDHE group or the DHE size from the server's key share. */
static void
probe_note_kex(struct probe_version *v, SSL *ssl, bool ecdhe)
{
	EVP_PKEY *key;

	if (SSL_get_peer_tmp_key(ssl, &key) != 1)
		return;
	if (!ecdhe)
		v->dh_bits = EVP_PKEY_get_bits(key);
	else if (EVP_PKEY_get_group_name(key, v->ecdhe_group,
	    sizeof(v->ecdhe_group), NULL) != 1)
		v->ecdhe_group[0] = '\0';
	EVP_PKEY_free(key);
}

static void
probe_note_ecdhe(struct probe_version *v, SSL *ssl)
{
	probe_note_kex(v, ssl, true);
}

static void
probe_note_dhe(struct probe_version *v, SSL *ssl)
{
	probe_note_kex(v, ssl, false);
}

static void
probe_note_rsa(struct probe_version *v, SSL *ssl)
{
	snprintf(v->rsa_cipher, sizeof(v->rsa_cipher), "%s",
	    SSL_get_cipher_name(ssl));
}

/*
 * One connection at v's version offering only ciphers; true when it
 * worked, after note() took down what was negotiated.
 */
static bool
probe_family(struct probe_result *r, struct probe_version *v,
    const char *ciphers, void (*note)(struct probe_version *, SSL *))
{
	struct probe_route pr;
	struct probe_conn c;
	bool ok;

	ok = probe_attempt(r, v->version, v->version, ciphers, &pr, &c) == 0;
	if (ok)
		note(v, c.ssl);
	probe_attempt_end(&pr, &c, ok);
	return ok;
}

/* ECDHE, DHE (with the group size) and plain RSA, each offered alone. */
static void
probe_families(struct probe_result *r, unsigned i)
{
	struct probe_version *v = &r->v[i];

	v->families_tried = true;
	v->ecdhe = probe_family(r, v, "kECDHE:!aNULL:@SECLEVEL=0",
	    probe_note_ecdhe);
	v->dhe = probe_family(r, v, "kDHE:!aNULL:@SECLEVEL=0", probe_note_dhe);
	v->rsa = probe_family(r, v, "kRSA:@SECLEVEL=0", probe_note_rsa);
}

/* ---- raw ClientHellos for 3DES and RC4 ----------------------------------- */

/* A ServerHello came: did it pick one of the suites offered? */
static void
probe_weak_hello(struct probe_weak *w, const uint16_t *suites, size_t nsuites,
    const struct probe_hello *h)
{
	size_t i;

	for (i = 0; i < nsuites; i++)
		if (suites[i] == h->suite)
			w->accepted = true;
	if (!w->accepted) {
		snprintf(w->detail, sizeof(w->detail), "ServerHello with suite "
		    "0x%04x, which was not offered", h->suite);
		return;
	}
	w->suite = h->suite;
	w->version = h->version;
	w->reneg_info = h->reneg_info;
	snprintf(w->detail, sizeof(w->detail), "ServerHello %s %s",
	    tls_version_str(h->version), probe_suite_name(h->suite));
}

/* What probe_hello_exchange()'s pr, h and st say about w. */
static void
probe_weak_judge(const struct probe_result *r, struct probe_weak *w,
    const uint16_t *suites, size_t nsuites, int pr,
    const struct probe_hello *h, enum probe_rd st)
{
	const char *an;

	if (pr == PROBE_HELLO_UNSENT)
		snprintf(w->detail, sizeof(w->detail), "could not send the "
		    "ClientHello");
	else if (pr == 1 && h->alert) {
		an = diag_alert_name(h->alert_desc);
		snprintf(w->detail, sizeof(w->detail), "alert %s", an != NULL ? an :
		    "unknown");
	} else if (pr == 1)
		probe_weak_hello(w, suites, nsuites, h);
	else if (pr == -1)
		snprintf(w->detail, sizeof(w->detail), "answered bytes that are "
		    "not a TLS ServerHello");
	else
		probe_rd_detail(st, "closed the connection without an alert",
		    r->timeout_ms, w->detail, sizeof(w->detail));
}

/* The SNI for raw ClientHellos, as tls_client would send it; NULL = none. */
static const char *
probe_sni(const struct probe_result *r)
{
	if (r->sni_off)
		return NULL;
	if (r->sni[0] != '\0')
		return r->sni;
	return probe_is_ip(r->target.host) ? NULL : r->target.host;
}

static void
probe_weak_try(const struct probe_result *r, struct probe_weak *w,
    const uint16_t *suites, size_t nsuites, uint16_t version)
{
	unsigned char hello[512], rnd[32];
	struct probe_hello h;
	struct tb_err err;
	enum probe_rd st = RD_DATA;
	char addr[280];
	int fd, len, pr = PROBE_HELLO_UNSENT;

	memset(w, 0, sizeof(*w));
	memset(&h, 0, sizeof(h));
	w->tried = true;
	if ((fd = probe_tcp_connect(&r->target, r->timeout_ms, addr, sizeof(addr),
	    &err)) == -1) {
		snprintf(w->detail, sizeof(w->detail), "%.120s", err.msg);
		return;
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 0x5a, sizeof(rnd));
	len = probe_client_hello(version, suites, nsuites, probe_sni(r), rnd,
	    hello, sizeof(hello));
	if (len >= 0)
		pr = probe_hello_exchange(fd, hello, (size_t)len, r->timeout_ms, &h,
		    &st);
	close(fd);
	probe_weak_judge(r, w, suites, nsuites, pr, &h, st);
}

/*
 * A TLS 1.0 ClientHello first (what 2003-era servers speak); when the
 * endpoint takes only newer versions, once more at its highest <= 1.2.
 */
static void
probe_weak_all(struct probe_result *r)
{
	static const uint16_t des3[] = { PROBE_SUITE_RSA_3DES_EDE_CBC_SHA };
	static const uint16_t rc4[] = { PROBE_SUITE_RSA_RC4_128_SHA,
	    PROBE_SUITE_RSA_RC4_128_MD5 };
	int hi12 = 0, retry;
	unsigned i;

	for (i = 0; i < PROBE_NVERSIONS; i++)
		if (r->v[i].accepted && r->v[i].version <= TLS1_2_VERSION)
			hi12 = r->v[i].version;
	retry = hi12 == TLS1_VERSION ? 0 : hi12 != 0 ? hi12 : TLS1_2_VERSION;
	probe_weak_try(r, &r->des3, des3, 1, TLS1_VERSION);
	if (!r->des3.accepted && retry != 0)
		probe_weak_try(r, &r->des3, des3, 1, (uint16_t)retry);
	probe_weak_try(r, &r->rc4, rc4, 2, TLS1_VERSION);
	if (!r->rc4.accepted && retry != 0)
		probe_weak_try(r, &r->rc4, rc4, 2, (uint16_t)retry);
}

/* ---- HTTP and resumption ------------------------------------------------- */

static void
probe_set_http(struct probe_result *r, const struct probe_http *h,
    const char *over)
{
	r->http_tried = true;
	r->http = h->answered;
	snprintf(r->http_over, sizeof(r->http_over), "%s", over);
	snprintf(r->http_status, sizeof(r->http_status), "%s", h->status);
	snprintf(r->http_server, sizeof(r->http_server), "%s", h->server);
	snprintf(r->http_detail, sizeof(r->http_detail), "%s", h->detail);
}

/* HEAD / over plain TCP: is this a plain HTTP port? */
static void
probe_http_plain(const struct probe_result *r, struct probe_http *h)
{
	struct tb_err err;
	char addr[280];
	int fd;

	memset(h, 0, sizeof(*h));
	if ((fd = probe_tcp_connect(&r->target, r->timeout_ms, addr, sizeof(addr),
	    &err)) == -1) {
		h->end = RD_ERROR;
		snprintf(h->detail, sizeof(h->detail), "%.120s", err.msg);
		return;
	}
	probe_http_exchange(fd, NULL, probe_verify_name(r), r->target.port,
	    r->timeout_ms, h);
	close(fd);
}

/*
 * HEAD / over pr's settings.  Returns the session the endpoint issued
 * (owned by the caller) for a resumption attempt, or NULL.
 */
static SSL_SESSION *
probe_http_tls(struct probe_result *r, struct probe_route *pr)
{
	struct probe_conn c;
	struct probe_http h;
	SSL_SESSION *sess;

	if (probe_conn_open(&c, &pr->rc, pr->cli, NULL, r->timeout_ms,
	    r->timeout_ms) == -1) {
		r->http_tried = true;
		snprintf(r->http_detail, sizeof(r->http_detail), "%.120s",
		    c.err.msg);
		probe_conn_close(&c, false);
		return NULL;
	}
	/* Reading the answer also takes in TLS 1.3 session tickets. */
	probe_http_exchange(c.fd, c.ssl, probe_verify_name(r), r->target.port,
	    r->timeout_ms, &h);
	probe_set_http(r, &h, tls_version_str(SSL_version(c.ssl)));
	sess = c.sess;
	c.sess = NULL;
	if (sess == NULL)
		sess = SSL_get1_session(c.ssl);
	probe_conn_close(&c, true);
	return sess;
}

/* HEAD / over pr's settings, then a connection offering its session. */
static void
probe_http_resume_over(struct probe_result *r, struct probe_route *pr)
{
	struct probe_conn c;
	SSL_SESSION *sess;

	if ((sess = probe_http_tls(r, pr)) == NULL)
		return;
	r->resumption_tried = true;
	probe_conn_init(&c);
	if (SSL_SESSION_is_resumable(sess) &&
	    probe_conn_open(&c, &pr->rc, pr->cli, sess, r->timeout_ms,
	    r->timeout_ms) == 0)
		r->resumed = SSL_session_reused(c.ssl) == 1;
	probe_conn_close(&c, true);
	SSL_SESSION_free(sess);
}

/* HEAD / and resumption over the best version. */
static void
probe_http_resume(struct probe_result *r, unsigned best)
{
	int version = r->v[best].version;
	struct probe_route pr;
	struct tb_err err;

	if (probe_route_init(&pr, r, version, version, PROBE_ALL_CIPHERS,
	    false, &err) == -1)
		return;
	probe_http_resume_over(r, &pr);
	tls_client_free(pr.cli);
}

/*
 * The raw ClientHello found that the endpoint takes a 3DES or RC4 suite,
 * and no version worked with this libssl's other suites.  A libssl built
 * with enable-weak-ssl-ciphers (plus the legacy provider, for RC4) can
 * finish that handshake: finishing it gives the chain and pin the
 * candidates need, and HEAD / and resumption as for any endpoint.
 * Debian's libssl refuses the cipher string at once, and nothing changes:
 * the report then names the build to make.  True when a handshake worked.
 */
static bool
probe_weak_handshake(struct probe_result *r, struct probe_weak *w,
    const char *ciphers, bool legacy)
{
	struct probe_route pr;
	struct probe_conn c;
	struct tb_err err;

	if (!w->accepted || probe_route_init(&pr, r, w->version, w->version,
	    ciphers, legacy, &err) == -1)
		return false;
	if (probe_conn_open(&c, &pr.rc, pr.cli, NULL, r->timeout_ms,
	    r->timeout_ms) == 0) {
		w->handshake = true;
		probe_collect_chain(r, c.ssl);
	}
	probe_conn_close(&c, w->handshake);
	if (w->handshake)
		probe_http_resume_over(r, &pr);
	tls_client_free(pr.cli);
	return w->handshake;
}

/* ---- the whole discovery ------------------------------------------------- */

/*
 * Any TLS at all?  If not, a plain HTTP port answers HEAD; a port that
 * answers neither in time is silent, and trying every version would only
 * multiply the wait.  False when discovery ends here (plain or silent).
 */
static bool
probe_speaks_tls(struct probe_result *r)
{
	struct probe_route pr;
	struct probe_conn c;
	struct probe_http h;

	if (probe_attempt(r, TLS1_VERSION, TLS1_3_VERSION, PROBE_ALL_CIPHERS,
	    &pr, &c) == 0) {
		probe_attempt_end(&pr, &c, true);
		return true;
	}
	r->tls_err = c.err;
	probe_attempt_end(&pr, &c, false);
	probe_http_plain(r, &h);
	/*
	 * Plain when the answer to our ClientHello was not TLS, or when the
	 * port waited or closed on it but answers HEAD.  A TLS port that
	 * refused with an alert stays TLS even if it also answers plain HTTP
	 * (nginx: "plain HTTP request sent to HTTPS port").
	 */
	if (r->tls_err.cause == DIAG_CAUSE_NOT_TLS || (h.answered &&
	    (r->tls_err.code == CR_UPSTREAM_TIMEOUT ||
	    r->tls_err.cause == DIAG_CAUSE_EOF)))
		r->plain = true;
	else if (r->tls_err.code == CR_UPSTREAM_TIMEOUT && h.end == RD_TIMEOUT)
		r->silent = true;
	else
		return true;
	probe_set_http(r, &h, "plain");
	return false;
}

void
probe_discover(struct probe_result *r)
{
	int fd, best = -1;
	unsigned i;

	if ((fd = probe_tcp_connect(&r->target, r->timeout_ms, r->addr,
	    sizeof(r->addr), &r->connect_err)) == -1)
		return;
	close(fd);
	r->connect_ok = true;
	if (!probe_speaks_tls(r))
		return;
	for (i = 0; i < PROBE_NVERSIONS; i++)
		probe_version_try(r, i);
	for (i = 0; i < PROBE_NVERSIONS; i++) {
		if (!r->v[i].accepted)
			continue;
		best = (int)i;
		if (r->v[i].version <= TLS1_2_VERSION)
			probe_families(r, i);
	}
	probe_weak_all(r);
	if (best >= 0)
		probe_http_resume(r, (unsigned)best);
	else if (!probe_weak_handshake(r, &r->des3, PROBE_DES3_CIPHERS, false))
		(void)probe_weak_handshake(r, &r->rc4, PROBE_RC4_CIPHERS, true);
}
