/* SPDX-License-Identifier: MIT */
/*
 * probe_cert: certificate text, SPKI pin and chain verification for
 * probe.  The chain is verified here, apart from the handshake, because
 * discovery connects with verification off (so that a self-signed or
 * expired certificate does not hide which versions and suites work); the
 * verdict then decides between upstream_verify = ca and pin.  See
 * probe_cert.h.
 */
#include "config.h"

#include "probe_cert.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls_client.h"

static void
probe_name_str(const X509_NAME *name, char *buf, size_t cap)
{
	BIO *b;
	int n = 0;

	buf[0] = '\0';
	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0)
		n = BIO_read(b, buf, (int)cap - 1);
	buf[n > 0 ? n : 0] = '\0';
	BIO_free(b);
}

static void
probe_time_str(const ASN1_TIME *t, char *buf, size_t cap)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, cap, "?");
}

static void
probe_cert_fill(struct probe_cert *c, X509 *x)
{
	EVP_PKEY *pk;
	const char *s;
	int nid;

	memset(c, 0, sizeof(*c));
	probe_name_str(X509_get_subject_name(x), c->subject, sizeof(c->subject));
	probe_name_str(X509_get_issuer_name(x), c->issuer, sizeof(c->issuer));
	probe_time_str(X509_get0_notBefore(x), c->not_before,
	    sizeof(c->not_before));
	probe_time_str(X509_get0_notAfter(x), c->not_after, sizeof(c->not_after));
	c->expired = X509_cmp_current_time(X509_get0_notAfter(x)) < 0;
	c->not_yet_valid = X509_cmp_current_time(X509_get0_notBefore(x)) > 0;
	nid = X509_get_signature_nid(x);
	s = nid != NID_undef ? OBJ_nid2ln(nid) : NULL;
	snprintf(c->sigalg, sizeof(c->sigalg), "%s", s != NULL ? s : "unknown");
	if ((pk = X509_get0_pubkey(x)) != NULL) {
		s = EVP_PKEY_get0_type_name(pk);
		snprintf(c->key_type, sizeof(c->key_type), "%s",
		    s != NULL ? s : "unknown");
		c->key_bits = EVP_PKEY_get_bits(pk);
	} else
		snprintf(c->key_type, sizeof(c->key_type), "unknown");
}

/* Loads --ca or the system store into store: 0, or -1 with r->verify_* set. */
static int
probe_store_load(struct probe_result *r, X509_STORE *store)
{
	if (r->ca[0] != '\0' ? X509_STORE_load_file(store, r->ca) == 1 :
	    X509_STORE_set_default_paths(store) == 1)
		return 0;
	snprintf(r->verify_error, sizeof(r->verify_error), "cannot load %.100s",
	    r->ca[0] != '\0' ? r->ca : "the system store");
	r->verify_code = -1;
	return -1;
}

/* A server certificate for name (a host name or an IP literal). */
static int
probe_verify_setup(X509_STORE_CTX *ctx, X509_STORE *store, X509 *leaf,
    STACK_OF(X509) *chain, const char *name)
{
	X509_VERIFY_PARAM *param;

	if (X509_STORE_CTX_init(ctx, store, leaf, chain) != 1)
		return -1;
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	param = X509_STORE_CTX_get0_param(ctx);
	if (probe_is_ip(name))
		return X509_VERIFY_PARAM_set1_ip_asc(param, name) == 1 ? 0 : -1;
	return X509_VERIFY_PARAM_set1_host(param, name, 0) == 1 ? 0 : -1;
}

/* Verifies the chain the endpoint sent against --ca or the system store. */
static void
probe_verify_chain(struct probe_result *r, X509 *leaf, STACK_OF(X509) *chain)
{
	X509_STORE *store;
	X509_STORE_CTX *ctx = NULL;
	const char *name = probe_verify_name(r);

	r->verify_tried = true;
	r->chain_verified = false;
	snprintf(r->verify_name, sizeof(r->verify_name), "%s", name);
	if ((store = X509_STORE_new()) == NULL)
		goto fail;
	if (probe_store_load(r, store) == -1)
		goto out;
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    probe_verify_setup(ctx, store, leaf, chain, name) == -1)
		goto fail;
	r->chain_verified = X509_verify_cert(ctx) == 1;
	r->verify_code = X509_STORE_CTX_get_error(ctx);
	snprintf(r->verify_error, sizeof(r->verify_error), "%s",
	    r->chain_verified ? "" : X509_verify_cert_error_string(r->verify_code));
	goto out;
fail:
	snprintf(r->verify_error, sizeof(r->verify_error), "cannot set up the "
	    "verification");
	r->verify_code = -1;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
}

void
probe_collect_chain(struct probe_result *r, SSL *ssl)
{
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	X509 *leaf = SSL_get0_peer_certificate(ssl);
	unsigned char digest[32];
	int i, n;

	if (leaf == NULL)
		return;
	r->ncerts = 0;
	n = chain != NULL ? sk_X509_num(chain) : 0;
	if (n == 0)
		probe_cert_fill(&r->certs[r->ncerts++], leaf);
	for (i = 0; i < n && r->ncerts < PROBE_MAX_CERTS; i++)
		probe_cert_fill(&r->certs[r->ncerts++], sk_X509_value(chain, i));
	if (tls_spki_pin(leaf, digest, r->pin, sizeof(r->pin)) == -1)
		r->pin[0] = '\0';
	probe_verify_chain(r, leaf, chain);
}
