/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "tls_client.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "conf.h"
#include "log.h"
#include "parse.h"
#include "tlsio.h"

struct tls_client {
	SSL_CTX *ctx;
	const struct route_conf *rc;	/* not owned: lives in the same generation */
	char sni[256];			/* "" = send none */
	char verify_name[256];		/* host name or IP literal checked in CA mode */
	bool verify_ip;
	char offered[16];
};

static int verify_index = -1;	/* SSL_CTX ex_data: the tls_client */

/* Routes that need RC4-era algorithms share one library context. */
static OSSL_LIB_CTX *legacy_libctx;
static OSSL_PROVIDER *legacy_prov, *legacy_default_prov;

static OSSL_LIB_CTX *
legacy_libctx_get(void)
{
	if (legacy_libctx != NULL)
		return legacy_libctx;
	if ((legacy_libctx = OSSL_LIB_CTX_new()) == NULL)
		return NULL;
	/* Loading any provider stops the implicit default: load both. */
	legacy_prov = OSSL_PROVIDER_load(legacy_libctx, "legacy");
	legacy_default_prov = OSSL_PROVIDER_load(legacy_libctx, "default");
	if (legacy_prov == NULL || legacy_default_prov == NULL) {
		tls_client_cleanup();
		return NULL;
	}
	return legacy_libctx;
}

void
tls_client_cleanup(void)
{
	if (legacy_prov != NULL)
		OSSL_PROVIDER_unload(legacy_prov);
	if (legacy_default_prov != NULL)
		OSSL_PROVIDER_unload(legacy_default_prov);
	OSSL_LIB_CTX_free(legacy_libctx);
	legacy_prov = legacy_default_prov = NULL;
	legacy_libctx = NULL;
}

int
tls_spki_pin(X509 *cert, unsigned char digest[32], char *buf, size_t cap)
{
	unsigned char *der = NULL;
	unsigned char b64[64];
	unsigned int dlen = 0;
	int len;

	len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	if (len <= 0)
		return -1;
	if (EVP_Digest(der, (size_t)len, digest, &dlen, EVP_sha256(), NULL) != 1) {
		OPENSSL_free(der);
		return -1;
	}
	OPENSSL_free(der);
	EVP_EncodeBlock(b64, digest, 32);
	if (buf != NULL)
		snprintf(buf, cap, "sha256//%s", (const char *)b64);
	return 0;
}

static bool
pin_matches(const struct tls_client *cli, X509 *cert, struct tls_info *info)
{
	unsigned char digest[32];
	char seen[64];

	if (tls_spki_pin(cert, digest, seen, sizeof(seen)) == -1)
		return false;
	if (info != NULL && info->out != NULL)
		snprintf(info->out->pin_seen, sizeof(info->out->pin_seen), "%s",
		    seen);
	return CRYPTO_memcmp(digest, cli->rc->up_pin, 32) == 0;
}

/*
 * Pin mode: the endpoint is accepted if and only if its key matches,
 * whatever its chain, expiry or key size say; that is how an expired
 * self-signed legacy certificate is trusted.  Chain errors above depth 0
 * are ignored; depth 0 is judged by the pin alone.
 */
static int
tls_client_pin_verify_cb(int ok, X509_STORE_CTX *store)
{
	SSL *ssl;
	struct tls_client *cli;
	X509 *cert;

	(void)ok;
	if (X509_STORE_CTX_get_error_depth(store) != 0)
		return 1;
	ssl = X509_STORE_CTX_get_ex_data(store,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	if (ssl == NULL)
		return 0;
	cli = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), verify_index);
	cert = X509_STORE_CTX_get_current_cert(store);
	if (cli == NULL || cert == NULL)
		return 0;
	if (pin_matches(cli, cert, tlsio_info(ssl))) {
		X509_STORE_CTX_set_error(store, X509_V_OK);
		return 1;
	}
	if (tlsio_info(ssl) != NULL && tlsio_info(ssl)->out != NULL)
		tlsio_info(ssl)->out->pin_mismatch = true;
	X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
	return 0;
}

bool
tls_client_pin_ok(const struct tls_client *cli, SSL *ssl, struct tls_info *info)
{
	X509 *cert;

	if (cli->rc->up_verify != VERIFY_PIN)
		return true;
	if ((cert = SSL_get0_peer_certificate(ssl)) == NULL)
		return false;
	if (pin_matches(cli, cert, info))
		return true;
	if (info != NULL && info->out != NULL)
		info->out->pin_mismatch = true;
	return false;
}

/* Turns "a,b" into ALPN wire format; returns its length or -1. */
static int
alpn_wire(const char *list, unsigned char *out, size_t cap)
{
	size_t n = 0, len;
	const char *p = list, *comma;

	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		while (len > 0 && p[len - 1] == ' ')
			len--;
		if (len == 0 || len > 255 || n + 1 + len > cap)
			return -1;
		out[n++] = (unsigned char)len;
		memcpy(out + n, p, len);
		n += len;
		p += len;
	}
	return (int)n;
}

static void
add_ssl_error(struct conf_errors *errs, const struct route_conf *rc,
    const struct conf_loc *loc, const char *key, const char *what)
{
	char section[300];

	snprintf(section, sizeof(section), "route %s", rc->name);
	tlsio_conf_error(errs, loc->line != 0 ? loc : &rc->loc, section, key,
	    what, "rejected");
}

static int
tls_client_setup_verify(struct tls_client *cli, struct conf_errors *errs)
{
	const struct route_conf *rc = cli->rc;
	unsigned char ip[16];

	switch (rc->up_verify) {
	case VERIFY_OFF:
		SSL_CTX_set_verify(cli->ctx, SSL_VERIFY_NONE, NULL);
		return 0;
	case VERIFY_PIN:
		SSL_CTX_set_verify(cli->ctx, SSL_VERIFY_PEER,
		    tls_client_pin_verify_cb);
		return 0;
	case VERIFY_CA:
		break;
	}
	if (rc->up_ca != NULL) {
		if (SSL_CTX_load_verify_locations(cli->ctx, rc->up_ca, NULL) != 1) {
			add_ssl_error(errs, rc, &rc->at[ROUTE_KEY_UPSTREAM_CA], "upstream_ca",
			    rc->up_ca);
			return -1;
		}
	} else if (SSL_CTX_set_default_verify_paths(cli->ctx) != 1) {
		add_ssl_error(errs, rc, &rc->at[ROUTE_KEY_UPSTREAM_VERIFY], "upstream_verify",
		    "cannot load the system CA store");
		return -1;
	}
	SSL_CTX_set_verify(cli->ctx, SSL_VERIFY_PEER, NULL);
	snprintf(cli->verify_name, sizeof(cli->verify_name), "%s",
	    cli->sni[0] != '\0' ? cli->sni : rc->upstream.host);
	cli->verify_ip = inet_pton(AF_INET, cli->verify_name, ip) == 1 ||
	    inet_pton(AF_INET6, cli->verify_name, ip) == 1;
	return 0;
}

static void
tls_client_setup_names(struct tls_client *cli)
{
	const struct route_conf *rc = cli->rc;
	unsigned char ip[16];

	cli->sni[0] = '\0';
	if (rc->up_sni_off)
		return;
	if (rc->up_sni != NULL)
		snprintf(cli->sni, sizeof(cli->sni), "%s", rc->up_sni);
	else if (inet_pton(AF_INET, rc->upstream.host, ip) != 1 &&
	    inet_pton(AF_INET6, rc->upstream.host, ip) != 1)
		/* RFC 6066: literal IP addresses are not sent as SNI */
		snprintf(cli->sni, sizeof(cli->sni), "%s", rc->upstream.host);
}

static int
tls_client_setup_ctx(struct tls_client *cli, struct conf_errors *errs)
{
	const struct route_conf *rc = cli->rc;
	unsigned char wire[512];
	const char *alpn;
	int level, n;

	SSL_CTX_set_min_proto_version(cli->ctx, rc->up_tls.min);
	SSL_CTX_set_max_proto_version(cli->ctx, rc->up_tls.max);
	/* The level first, so an explicit @SECLEVEL in the cipher list wins. */
	level = rc->up_security_level;
	if (level < 0 && rc->up_tls.min < TLS1_2_VERSION)
		level = 0;	/* TLS 1.0/1.1 sign with MD5+SHA-1: level >= 1 refuses */
	if (level >= 0)
		SSL_CTX_set_security_level(cli->ctx, level);
	if (rc->up_ciphers != NULL &&
	    SSL_CTX_set_cipher_list(cli->ctx, rc->up_ciphers) != 1) {
		add_ssl_error(errs, rc, &rc->at[ROUTE_KEY_UPSTREAM_CIPHERS], "upstream_ciphers",
		    "OpenSSL rejects this cipher list");
		return -1;
	}
	if (rc->up_ciphersuites != NULL &&
	    SSL_CTX_set_ciphersuites(cli->ctx, rc->up_ciphersuites) != 1) {
		add_ssl_error(errs, rc, &rc->at[ROUTE_KEY_UPSTREAM_CIPHERSUITES],
		    "upstream_ciphersuites", "OpenSSL rejects these TLS 1.3 suites");
		return -1;
	}
	/*
	 * No empty fragment before each TLS 1.0 CBC record. OpenSSL inserts
	 * one against BEAST, which needs an attacker who injects chosen
	 * plaintext into the stream (a browser's script); here the plaintext
	 * is the ERP's requests. Some legacy stacks reject empty records, and
	 * each one costs a MAC context copy, a MAC and a cipher pass: 17% of
	 * the broker's instructions per small keep-alive request. HAProxy
	 * (through SSL_OP_ALL) and nginx set the same option.
	 */
	SSL_CTX_set_options(cli->ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_DONT_INSERT_EMPTY_FRAGMENTS);
	if (rc->up_legacy_renegotiation)
		SSL_CTX_set_options(cli->ctx, SSL_OP_LEGACY_SERVER_CONNECT);
	else
		SSL_CTX_clear_options(cli->ctx, SSL_OP_LEGACY_SERVER_CONNECT);
	/*
	 * Encrypt-then-MAC is offered unless the route says no: it is what
	 * keeps a TLS 1.0-1.2 CBC suite out of padding-oracle reach (RFC
	 * 7366).  Without it OpenSSL uses its stitched AES-CBC-HMAC-SHA1/256
	 * cipher, one pass over each record instead of a cipher pass plus an
	 * HMAC whose context it copies per record: about 13% of the
	 * instructions of a small TLS 1.0 request.  The endpoints that
	 * never negotiate EtM (Schannel, Java, OpenSSL before 1.1.0) get
	 * the stitched cipher either way; see upstream_encrypt_then_mac in
	 * tlsbroker.ini(5).
	 */
	if (rc->up_etm)
		SSL_CTX_clear_options(cli->ctx, SSL_OP_NO_ENCRYPT_THEN_MAC);
	else
		SSL_CTX_set_options(cli->ctx, SSL_OP_NO_ENCRYPT_THEN_MAC);
	SSL_CTX_set_mode(cli->ctx, SSL_MODE_RELEASE_BUFFERS);
	alpn = rc->up_alpn_off ? NULL : rc->up_alpn != NULL ? rc->up_alpn :
	    rc->mode == ROUTE_MODE_HTTP ? "http/1.1" : NULL;
	if (alpn != NULL) {
		if ((n = alpn_wire(alpn, wire, sizeof(wire))) <= 0 ||
		    SSL_CTX_set_alpn_protos(cli->ctx, wire, (unsigned)n) != 0) {
			char section[300];

			snprintf(section, sizeof(section), "route %s", rc->name);
			conf_errors_add_at(errs, rc->at[ROUTE_KEY_UPSTREAM_ALPN].line != 0 ?
			    &rc->at[ROUTE_KEY_UPSTREAM_ALPN] : &rc->loc, section, "upstream_alpn",
			    "'%s' is not a comma-separated list of protocol names", alpn);
			return -1;
		}
	}
	if (rc->up_cert != NULL) {
		if (SSL_CTX_use_certificate_chain_file(cli->ctx, rc->up_cert) != 1) {
			add_ssl_error(errs, rc, &rc->at[ROUTE_KEY_UPSTREAM_CERT], "upstream_cert",
			    rc->up_cert);
			return -1;
		}
		if (SSL_CTX_use_PrivateKey_file(cli->ctx, rc->up_key != NULL ?
		    rc->up_key : rc->up_cert, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(cli->ctx) != 1) {
			add_ssl_error(errs, rc, rc->up_key != NULL ?
			    &rc->at[ROUTE_KEY_UPSTREAM_KEY] : &rc->at[ROUTE_KEY_UPSTREAM_CERT], rc->up_key != NULL ?
			    "upstream_key" : "upstream_cert",
			    "key missing or not matching the certificate");
			return -1;
		}
	}
	return tls_client_setup_verify(cli, errs);
}

/* Hands a new session to the connection's owner (its pool) for resumption. */
static int
tls_client_new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct tls_info *info = tlsio_info(ssl);

	if (info == NULL || info->out == NULL || info->out->on_session == NULL)
		return 0;
	return info->out->on_session(info->out->owner, sess);
}

struct tls_client *
tls_client_new(const struct route_conf *rc, struct conf_errors *errs)
{
	struct tls_client *cli;
	OSSL_LIB_CTX *libctx = NULL;

	if (rc->up_tls.off)
		return NULL;
	if (verify_index == -1)
		verify_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if ((cli = calloc(1, sizeof(*cli))) == NULL)
		return NULL;
	cli->rc = rc;
	tls_range_format(&rc->up_tls, cli->offered, sizeof(cli->offered));
	if (rc->up_legacy_provider && (libctx = legacy_libctx_get()) == NULL) {
		add_ssl_error(errs, rc, &rc->loc, "upstream_legacy_provider",
		    "cannot load the OpenSSL legacy provider");
		goto err;
	}
	if ((cli->ctx = SSL_CTX_new_ex(libctx, NULL, TLS_client_method())) == NULL) {
		add_ssl_error(errs, rc, &rc->loc, "upstream_tls", "SSL_CTX_new");
		goto err;
	}
	SSL_CTX_set_ex_data(cli->ctx, verify_index, cli);
	tlsio_track(cli->ctx);
	/* Sessions are kept per route and worker by the pool, not in a shared cache. */
	SSL_CTX_set_session_cache_mode(cli->ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(cli->ctx, tls_client_new_session_cb);
	tls_client_setup_names(cli);
	if (tls_client_setup_ctx(cli, errs) == -1)
		goto err;
	return cli;
err:
	tls_client_free(cli);
	return NULL;
}

void
tls_client_free(struct tls_client *cli)
{
	if (cli == NULL)
		return;
	SSL_CTX_free(cli->ctx);
	free(cli);
}

const char *
tls_client_offered(const struct tls_client *cli)
{
	return cli->offered;
}

SSL *
tls_client_ssl_new(struct tls_client *cli, struct tls_info *info)
{
	SSL *ssl;

	if ((ssl = SSL_new(cli->ctx)) == NULL)
		return NULL;
	SSL_set_connect_state(ssl);
	tlsio_attach(ssl, info);
	if (cli->sni[0] != '\0' && SSL_set_tlsext_host_name(ssl, cli->sni) != 1)
		goto err;
	if (cli->rc->up_verify == VERIFY_CA) {
		if (cli->verify_ip) {
			if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
			    cli->verify_name) != 1)
				goto err;
		} else if (SSL_set1_host(ssl, cli->verify_name) != 1)
			goto err;
	}
	return ssl;
err:
	SSL_free(ssl);
	return NULL;
}
