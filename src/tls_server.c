/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "tls_server.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "conf.h"
#include "tlsio.h"
#include "tlsrec.h"

/*
 * Mozilla "intermediate" (v5.7) for TLS 1.2, then the four CBC suites with
 * SHA-2 that finance and operations lists as its TLS 1.2 set (with the
 * ECDHE AES-GCM ones above): a client that offers only those must not be
 * refused.  The client's order picks (Schannel's puts GCM first).  TLS 1.3
 * keeps OpenSSL's suites.
 */
#define INTERMEDIATE_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:" \
	"DHE-RSA-CHACHA20-POLY1305:" \
	"ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:" \
	"ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256"
#define INTERMEDIATE_GROUPS "X25519:prime256v1:secp384r1"
/* No cipher list may take inbound below this (its @SECLEVEL=n would). */
#define INBOUND_SECLEVEL 2

/* Why inbound never offers a suite; see tls_server_weak_suite(). */
enum weak_kind {
	WEAK_NONE = 0,
	WEAK_NULL,		/* no encryption */
	WEAK_ANON,		/* no authentication: anyone in the path can be us */
	WEAK_RC4,
	WEAK_3DES,		/* 64-bit blocks (Sweet32) */
	WEAK_EXPORT,		/* under 112 bits: export and single DES */
	WEAK_KINDS
};

static const char *const weak_kind_names[WEAK_KINDS] = {
	"", "no encryption", "anonymous", "RC4", "3DES", "export-grade"
};

struct tls_server {
	SSL_CTX *ctx[CONF_MAX_CERTS];	/* one per cert file; [0] is the default */
	X509 *leaf[CONF_MAX_CERTS];	/* not owned: the ctx's leaf, for SNI matching */
	unsigned nctx;
};

static void
add_ssl_error(struct conf_errors *errs, const struct conf_loc *loc,
    const char *section, const char *key, const char *what)
{
	tlsio_conf_error(errs, loc, section, key, what, "unknown error");
}

/* Reads the offered versions from a ClientHello: supported_versions, else legacy_version. */
static int
client_hello_max_version(SSL *ssl)
{
	const unsigned char *ext;
	size_t len, i;
	int v, max = 0;

	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_supported_versions,
	    &ext, &len) == 1 && len >= 1 && (size_t)ext[0] + 1 <= len) {
		for (i = 1; i + 1 <= (size_t)ext[0]; i += 2) {
			v = (ext[i] << 8) | ext[i + 1];
			/* skip GREASE values (0x?a?a) */
			if ((v & 0x0f0f) == 0x0a0a)
				continue;
			if (v > max && v <= TLS1_3_VERSION)
				max = v;
		}
		if (max != 0)
			return max;
	}
	return (int)SSL_client_hello_get0_legacy_version(ssl);
}

/* Extracts the host_name of the server_name extension; 0 / -1. */
static int
client_hello_sni(SSL *ssl, char *name, size_t cap)
{
	const unsigned char *p;
	size_t len, n;

	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p,
	    &len) != 1 || len < 5)
		return -1;
	/* list length (2), name type (1), name length (2), name */
	if (((size_t)(p[0] << 8 | p[1])) + 2 != len || p[2] != TLSEXT_NAMETYPE_host_name)
		return -1;
	n = (size_t)(p[3] << 8 | p[4]);
	if (n + 5 > len || n == 0 || n >= cap || memchr(p + 5, 0, n) != NULL)
		return -1;
	memcpy(name, p + 5, n);
	name[n] = '\0';
	return 0;
}

/*
 * Runs before version negotiation: it records the client's best version
 * (to say "client offered TLS 1.0" when we refuse it) and switches to the
 * certificate whose names match the SNI.
 */
static int
tls_server_hello_cb(SSL *ssl, int *alert, void *arg)
{
	struct tls_server *srv = arg;
	struct tls_info *info;
	char name[256];
	unsigned i;

	(void)alert;
	if ((info = tlsio_info(ssl)) != NULL)
		info->offered_max = client_hello_max_version(ssl);
	if (srv->nctx < 2 || client_hello_sni(ssl, name, sizeof(name)) == -1)
		return SSL_CLIENT_HELLO_SUCCESS;
	for (i = 0; i < srv->nctx; i++) {
		if (X509_check_host(srv->leaf[i], name, strlen(name), 0, NULL) == 1) {
			if (i != 0)
				SSL_set_SSL_CTX(ssl, srv->ctx[i]);
			break;
		}
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

/*
 * The broker speaks HTTP/1.1 only: pick it when offered, otherwise select
 * nothing (a client offering only h2 must not believe we agreed to it).
 */
static int
tls_server_alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char h11[] = "\x08http/1.1";
	unsigned char *sel;
	unsigned char sellen;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, &sellen, h11, sizeof(h11) - 1, in,
	    inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	*outlen = sellen;
	return SSL_TLSEXT_ERR_OK;
}

/*
 * Why inbound never offers c.  Judged on what the suite is, as OpenSSL
 * describes it (cipher, authentication, strength), never on its name or
 * on the string that selected it, so no spelling of a list gets a weak
 * suite past it.
 */
static enum weak_kind
tls_server_weak_suite(const SSL_CIPHER *c)
{
	int nid = SSL_CIPHER_get_cipher_nid(c);

	if (nid == NID_undef)
		return WEAK_NULL;
	if (SSL_CIPHER_get_auth_nid(c) == NID_auth_null)
		return WEAK_ANON;
	if (nid == NID_rc4 || nid == NID_rc4_40 || nid == NID_rc4_hmac_md5)
		return WEAK_RC4;
	if (nid == NID_des_ede3_cbc)
		return WEAK_3DES;
	if (SSL_CIPHER_get_bits(c, NULL) < 112)
		return WEAK_EXPORT;
	return WEAK_NONE;
}

/* The weak suites one key enabled: how many of each kind, and the first. */
struct weak_found {
	unsigned n[WEAK_KINDS];
	const char *first[WEAK_KINDS];
};

/* One error for a key that enabled weak suites. */
static void
tls_server_weak_error(struct conf_errors *errs, const struct conf_loc *loc,
    const char *section, const char *key, const char *value,
    const struct weak_found *w)
{
	char list[512];
	size_t len = 0;
	int k;

	list[0] = '\0';
	for (k = WEAK_NONE + 1; k < WEAK_KINDS; k++) {
		if (w->n[k] == 0 || len >= sizeof(list))
			continue;
		len += (size_t)snprintf(list + len, sizeof(list) - len,
		    "%s%s (%s%s)", len > 0 ? ", " : "", weak_kind_names[k],
		    w->first[k], w->n[k] > 1 ? " ..." : "");
	}
	conf_errors_add_at(errs, loc, section, key,
	    "'%s' enables suites inbound never offers: %s; exclude them "
	    "(e.g. append :!aNULL:!eNULL:!RC4:!3DES) or leave %s out for "
	    "the default", value != NULL ? value : "", list, key);
}

/*
 * The floor, checked on what the context ended up with once its lists are
 * set: the security level (a list's @SECLEVEL=n sets it) and every suite
 * it would offer, TLS 1.3 ones included.  Then the level is forced back up,
 * after the lists, so nothing set later can lower it.  0, or -1 after
 * adding one error per offending key.
 */
static int
tls_server_check_floor(SSL_CTX *ctx, const struct listener_conf *lc,
    const char *section, struct conf_errors *errs)
{
	STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(ctx);
	struct weak_found found[2];	/* [0] ciphers, [1] TLS 1.3 ciphersuites */
	const SSL_CIPHER *c;
	enum weak_kind kind;
	unsigned weak[2] = { 0, 0 }, k;
	int level = SSL_CTX_get_security_level(ctx), i, r = 0;

	if (level < INBOUND_SECLEVEL) {
		conf_errors_add_at(errs, &lc->at[LISTENER_KEY_CIPHERS], section, "ciphers",
		    "'%s' sets security level %d; inbound needs at least %d "
		    "(leave @SECLEVEL out or raise it)", lc->ciphers != NULL ?
		    lc->ciphers : "", level, INBOUND_SECLEVEL);
		r = -1;
	}
	memset(found, 0, sizeof(found));
	for (i = 0; sk != NULL && i < sk_SSL_CIPHER_num(sk); i++) {
		c = sk_SSL_CIPHER_value(sk, i);
		if ((kind = tls_server_weak_suite(c)) == WEAK_NONE)
			continue;
		/* TLS 1.3 suites (any key exchange) come from ciphersuites */
		k = SSL_CIPHER_get_kx_nid(c) == NID_kx_any ? 1 : 0;
		if (found[k].n[kind]++ == 0)
			found[k].first[kind] = SSL_CIPHER_get_name(c);
		weak[k]++;
	}
	if (weak[0] > 0)
		tls_server_weak_error(errs, &lc->at[LISTENER_KEY_CIPHERS], section, "ciphers",
		    lc->ciphers, &found[0]);
	if (weak[1] > 0)
		tls_server_weak_error(errs, &lc->at[LISTENER_KEY_CIPHERSUITES], section,
		    "ciphersuites", lc->ciphersuites, &found[1]);
	if (weak[0] > 0 || weak[1] > 0)
		r = -1;
	SSL_CTX_set_security_level(ctx, level > INBOUND_SECLEVEL ? level :
	    INBOUND_SECLEVEL);
	return r;
}

static SSL_CTX *
tls_server_ctx_new(struct tls_server *srv, const struct listener_conf *lc,
    const char *cert, const char *key, struct conf_errors *errs)
{
	char section[300];
	SSL_CTX *ctx;
	STACK_OF(X509_NAME) *names;

	snprintf(section, sizeof(section), "listener %s", lc->name);
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		add_ssl_error(errs, &lc->loc, section, "cert", "SSL_CTX_new");
		return NULL;
	}
	/* Never below TLS 1.2, whatever the config says. */
	SSL_CTX_set_min_proto_version(ctx, lc->min_tls >= TLS1_3_VERSION ?
	    TLS1_3_VERSION : TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	/* so that a level below it afterwards can only come from ciphers */
	SSL_CTX_set_security_level(ctx, INBOUND_SECLEVEL);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_clear_options(ctx, SSL_OP_LEGACY_SERVER_CONNECT);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_dh_auto(ctx, 1);
	if (SSL_CTX_set_cipher_list(ctx, lc->ciphers != NULL ? lc->ciphers :
	    INTERMEDIATE_CIPHERS) != 1) {
		add_ssl_error(errs, &lc->at[LISTENER_KEY_CIPHERS], section, "ciphers",
		    "OpenSSL rejects this cipher list");
		goto err;
	}
	if (lc->ciphersuites != NULL &&
	    SSL_CTX_set_ciphersuites(ctx, lc->ciphersuites) != 1) {
		add_ssl_error(errs, &lc->at[LISTENER_KEY_CIPHERSUITES], section,
		    "ciphersuites", "OpenSSL rejects these TLS 1.3 suites");
		goto err;
	}
	if (tls_server_check_floor(ctx, lc, section, errs) == -1)
		goto err;
	SSL_CTX_set1_groups_list(ctx, INTERMEDIATE_GROUPS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		add_ssl_error(errs, &lc->at[LISTENER_KEY_CERT], section, "cert", cert);
		goto err;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		add_ssl_error(errs, key == cert ? &lc->at[LISTENER_KEY_CERT] : &lc->at[LISTENER_KEY_KEY],
		    section, key == cert ? "cert" : "key", key);
		goto err;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		add_ssl_error(errs, key == cert ? &lc->at[LISTENER_KEY_CERT] : &lc->at[LISTENER_KEY_KEY],
		    section, key == cert ? "cert" : "key",
		    "the key does not match the certificate");
		goto err;
	}
	if (lc->client_ca != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, lc->client_ca, NULL) != 1 ||
		    (names = SSL_load_client_CA_file(lc->client_ca)) == NULL) {
			add_ssl_error(errs, &lc->at[LISTENER_KEY_CLIENT_CA], section,
			    "client_ca", lc->client_ca);
			goto err;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
		    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
		SSL_CTX_set_verify_depth(ctx, 8);
	}
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)lc->name,
	    (unsigned)strnlen(lc->name, SSL_MAX_SID_CTX_LENGTH));
	/*
	 * Resumption by session tickets only (stateless, RFC 5077 / TLS 1.3):
	 * a server-side cache would hold a session per client for minutes,
	 * per worker context, and grow with the number of clients.
	 */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_client_hello_cb(ctx, tls_server_hello_cb, srv);
	SSL_CTX_set_alpn_select_cb(ctx, tls_server_alpn_cb, NULL);
	tlsio_track(ctx);
	tlsrec_track_ctx(ctx);	/* so idle connections can drop their SSL */
	return ctx;
err:
	SSL_CTX_free(ctx);
	return NULL;
}

struct tls_server *
tls_server_new(const struct listener_conf *lc, struct conf_errors *errs)
{
	struct tls_server *srv;
	const char *key;
	unsigned i;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return NULL;
	for (i = 0; i < lc->ncerts; i++) {
		key = lc->key != NULL && lc->ncerts == 1 ? lc->key : lc->certs[i];
		srv->ctx[i] = tls_server_ctx_new(srv, lc, lc->certs[i], key, errs);
		if (srv->ctx[i] == NULL)
			goto err;
		srv->leaf[i] = SSL_CTX_get0_certificate(srv->ctx[i]);
		srv->nctx++;
	}
	if (srv->nctx == 0)
		goto err;
	return srv;
err:
	tls_server_free(srv);
	return NULL;
}

void
tls_server_free(struct tls_server *srv)
{
	unsigned i;

	if (srv == NULL)
		return;
	for (i = 0; i < srv->nctx; i++)
		SSL_CTX_free(srv->ctx[i]);
	free(srv);
}

SSL *
tls_server_ssl_new(struct tls_server *srv)
{
	SSL *ssl = SSL_new(srv->ctx[0]);

	/* without the count (out of memory) the SSL just stays an SSL */
	if (ssl != NULL)
		(void)tlsrec_track(ssl);
	return ssl;
}

const X509 *
tls_server_cert(const struct tls_server *srv, unsigned i)
{
	return srv != NULL && i < srv->nctx ? srv->leaf[i] : NULL;
}
