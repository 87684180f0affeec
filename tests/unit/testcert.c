/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "testcert.h"

#include <check.h>

#include <openssl/x509.h>

SSL_CTX *
testcert_server_ctx(EVP_PKEY *key, const char *cn)
{
	X509 *cert = X509_new();
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	ck_assert_ptr_nonnull(key);
	ck_assert_ptr_nonnull(cert);
	ck_assert_ptr_nonnull(ctx);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(cert), 0);
	X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
	X509_set_pubkey(cert, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN",
	    MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(cert, X509_get_subject_name(cert));
	ck_assert_int_gt(X509_sign(cert, key, EVP_sha256()), 0);
	ck_assert_int_eq(SSL_CTX_use_certificate(ctx, cert), 1);
	ck_assert_int_eq(SSL_CTX_use_PrivateKey(ctx, key), 1);
	X509_free(cert);
	EVP_PKEY_free(key);
	return ctx;
}
