/* SPDX-License-Identifier: MIT */
/*
 * check_tls_client: what a route's outbound context puts on the wire.  A
 * client SSL from tls_client_new() talks to an in-process legacy server
 * (TLS 1.0 only, security level 0, a throw-away RSA certificate) through
 * memory BIOs, so the test sees every record the client writes and can
 * count them.  Connecting and failure judgement are covered by the
 * integration tests.
 */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "conf.h"
#include "testcert.h"
#include "tls_client.h"
#include "tlsio.h"

#define LEGACY_ROUTE \
	"[listener t]\nbind = 127.0.0.1:9\ncert = /dev/null\n\n" \
	"[route legacy]\nlistener = t\nmode = http\n" \
	"upstream = 127.0.0.1:9\nupstream_tls = 1.0\n" \
	"upstream_ciphers = DEFAULT:@SECLEVEL=0\nupstream_verify = off\n"

#define TLS_RECORD_APPLICATION_DATA 23

/* An old server: TLS 1.0 only, CBC suites, a self-signed RSA-2048 key. */
static SSL_CTX *
legacy_server_ctx(void)
{
	SSL_CTX *ctx = testcert_server_ctx(EVP_RSA_gen(2048), "legacy.test");

	SSL_CTX_set_security_level(ctx, 0);
	ck_assert_int_eq(SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION), 1);
	ck_assert_int_eq(SSL_CTX_set_max_proto_version(ctx, TLS1_VERSION), 1);
	ck_assert_int_eq(SSL_CTX_set_cipher_list(ctx, "AES128-SHA:@SECLEVEL=0"),
	    1);
	return ctx;
}

/* Moves whatever one side wrote into the other side's read BIO. */
static void
shuttle(BIO *from, BIO *to)
{
	char buf[4096];
	int n;

	while ((n = BIO_read(from, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(BIO_write(to, buf, n), n);
}

/* Counts the TLS records in wire[0..len) of one content type. */
static int
count_records(const unsigned char *wire, size_t len, int type)
{
	size_t at = 0;
	int n = 0;

	while (at + 5 <= len) {
		size_t body = ((size_t)wire[at + 3] << 8) | wire[at + 4];

		if (wire[at] == type)
			n++;
		at += 5 + body;
	}
	ck_assert_uint_eq(at, len);	/* whole records only */
	return n;
}


/* Client c and server s over memory BIOs (they take the BIOs): the handshake, done. */
static void
handshake_in_memory(SSL *c, SSL *s, BIO *c_in, BIO *c_out, BIO *s_in,
    BIO *s_out)
{
	int round;

	SSL_set_bio(c, c_in, c_out);
	SSL_set_bio(s, s_in, s_out);
	SSL_set_accept_state(s);
	for (round = 0; round < 10; round++) {
		int cr = SSL_do_handshake(c), sr = SSL_do_handshake(s);

		shuttle(c_out, s_in);
		shuttle(s_out, c_in);
		if (cr == 1 && sr == 1)
			break;
	}
	ck_assert_int_lt(round, 10);
}
START_TEST(test_tls10_one_record_per_write)
{
	struct conf_errors errs = { 0 };
	struct conf *conf = conf_load_string("t.ini", LEGACY_ROUTE, &errs);
	struct tls_info info = { .alert_recv = -1, .alert_sent = -1 };
	struct tls_client *cli;
	SSL_CTX *sctx = legacy_server_ctx();
	SSL *c, *s;
	BIO *c_in = BIO_new(BIO_s_mem()), *c_out = BIO_new(BIO_s_mem());
	BIO *s_in = BIO_new(BIO_s_mem()), *s_out = BIO_new(BIO_s_mem());
	static const char req[] = "POST /soap HTTP/1.1\r\nHost: legacy.test\r\n"
	    "Content-Length: 5\r\n\r\nhello";
	unsigned char wire[4096];
	char got[sizeof(req)];
	int n;

	ck_assert_ptr_nonnull(conf);
	cli = tls_client_new(&conf->routes[0], &errs);
	ck_assert_ptr_nonnull(cli);
	c = tls_client_ssl_new(cli, &info);
	s = SSL_new(sctx);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(s);
	handshake_in_memory(c, s, c_in, c_out, s_in, s_out);
	ck_assert_int_eq(SSL_version(c), TLS1_VERSION);
	ck_assert_ptr_nonnull(strstr(SSL_get_cipher_name(c), "SHA"));

	/*
	 * One write, one record: no empty fragment in front of it (OpenSSL's
	 * BEAST countermeasure, which some legacy stacks reject).
	 */
	ck_assert_int_eq(SSL_write(c, req, sizeof(req) - 1), sizeof(req) - 1);
	n = BIO_read(c_out, wire, sizeof(wire));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(count_records(wire, (size_t)n,
	    TLS_RECORD_APPLICATION_DATA), 1);
	ck_assert_int_eq(BIO_write(s_in, wire, n), n);
	ck_assert_int_eq(SSL_read(s, got, sizeof(got)), sizeof(req) - 1);
	ck_assert_mem_eq(got, req, sizeof(req) - 1);

	SSL_free(c);
	SSL_free(s);
	SSL_CTX_free(sctx);
	tls_client_free(cli);
	conf_free(conf);
	conf_errors_free(&errs);
}
END_TEST

/* The legacy server's ClientHello callback: was encrypt_then_mac offered? */
static int
etm_offered_cb(SSL *ssl, int *alert, void *arg)
{
	const unsigned char *ext;
	size_t len;

	(void)alert;
	*(int *)arg = SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_encrypt_then_mac,
	    &ext, &len);
	return SSL_CLIENT_HELLO_SUCCESS;
}

/*
 * upstream_encrypt_then_mac: by default the client offers EtM and an
 * endpoint that knows it gets it (the MAC after the CBC ciphertext); with
 * "no" the extension is not in the ClientHello and the record is
 * MAC-then-encrypt.  A 1-byte AES128-SHA record shows which: MtE pads
 * 1 + 20 (MAC) + 1 to 32 bytes, EtM pads 1 + 1 to 16 and appends the MAC.
 */
START_TEST(test_tls10_encrypt_then_mac)
{
	static const char *const extra[] = { "", "upstream_encrypt_then_mac = no\n" };
	static const int want_offered[] = { 1, 0 };
	static const size_t want_body[] = { 16 + 20, 32 };
	struct conf_errors errs = { 0 };
	char ini[1024];
	int i;

	for (i = 0; i < 2; i++) {
		struct tls_info info = { .alert_recv = -1, .alert_sent = -1 };
		SSL_CTX *sctx = legacy_server_ctx();
		BIO *c_in = BIO_new(BIO_s_mem()), *c_out = BIO_new(BIO_s_mem());
		BIO *s_in = BIO_new(BIO_s_mem()), *s_out = BIO_new(BIO_s_mem());
		struct tls_client *cli;
		struct conf *conf;
		unsigned char wire[256];
		SSL *c, *s;
		int offered = -1, n;

		snprintf(ini, sizeof(ini), "%s%s", LEGACY_ROUTE, extra[i]);
		conf = conf_load_string("t.ini", ini, &errs);
		ck_assert_ptr_nonnull(conf);
		ck_assert_int_eq(conf->routes[0].up_etm, i == 0);
		cli = tls_client_new(&conf->routes[0], &errs);
		ck_assert_ptr_nonnull(cli);
		SSL_CTX_set_client_hello_cb(sctx, etm_offered_cb, &offered);
		c = tls_client_ssl_new(cli, &info);
		s = SSL_new(sctx);
		ck_assert_ptr_nonnull(c);
		ck_assert_ptr_nonnull(s);
		handshake_in_memory(c, s, c_in, c_out, s_in, s_out);
		ck_assert_int_eq(offered, want_offered[i]);
		ck_assert_int_eq(SSL_write(c, "x", 1), 1);
		n = BIO_read(c_out, wire, sizeof(wire));
		ck_assert_int_eq(n, 5 + (int)want_body[i]);
		ck_assert_int_eq(wire[0], TLS_RECORD_APPLICATION_DATA);
		SSL_free(c);
		SSL_free(s);
		SSL_CTX_free(sctx);
		tls_client_free(cli);
		conf_free(conf);
	}
	conf_errors_free(&errs);
}
END_TEST

static Suite *
tls_client_suite(void)
{
	Suite *s = suite_create("tls_client");
	TCase *tc = tcase_create("wire");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_tls10_one_record_per_write);
	tcase_add_test(tc, test_tls10_encrypt_then_mac);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(tls_client_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
