/* SPDX-License-Identifier: MIT */
/*
 * check_probe_cand: the candidate settings chosen from discovery facts,
 * in their order, and the [route] block of each: every block must pass
 * the real config loader and checker and give the route it claims.
 */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "conf.h"
#include "conf_check.h"
#include "probe_cand.h"
#include "probe_fixture.h"
#include "probe_report.h"

#define STANDIN "[listener t]\nbind = 127.0.0.1:9\ncert = /dev/null\n\n"

/* The block of candidate idx through conf_load_string + conf_check; conf or fail. */
static struct conf *
load_block(const struct probe_result *r, unsigned idx, char *block,
    size_t cap)
{
	struct conf_errors errs = { 0 };
	struct conf *conf;
	char text[PROBE_BLOCK_MAX + 128];

	ck_assert_int_eq(probe_route_block(r, idx, block, cap), 0);
	snprintf(text, sizeof(text), "%s%s", STANDIN, block);
	conf = conf_load_string("t", text, &errs);
	ck_assert_msg(conf != NULL, "block %u rejected: %s\n%s", idx,
	    errs.count > 0 ? errs.msgs[0] : "?", block);
	ck_assert_msg(conf_check(conf, &errs) == 0, "block %u fails check: %s\n%s",
	    idx, errs.count > 0 ? errs.msgs[0] : "?", block);
	conf_errors_free(&errs);
	ck_assert_uint_eq(conf->nroutes, 1);
	ck_assert_str_eq(conf->routes[0].name, r->name);
	return conf;
}

/* Every candidate's block passes the real loader and checker. */
static void
all_blocks_load(const struct probe_result *r)
{
	char block[PROBE_BLOCK_MAX];
	unsigned i;

	for (i = 0; i < r->ncands; i++)
		conf_free(load_block(r, i, block, sizeof(block)));
}

START_TEST(test_cand_tls10_fs_and_krsa)
{
	struct probe_result *r = malloc(sizeof(*r));
	char block[PROBE_BLOCK_MAX];
	const struct route_conf *rc;
	struct conf *conf;

	fx_base(r);
	fx_accept(r, TLS1_VERSION, true, true, true);
	r->chain_verified = true;
	probe_candidates(r);
	ck_assert_uint_eq(r->ncands, 4);	/* (level 0, krsa) x (ca, pin) */
	ck_assert(!r->cands[0].tls.off);
	ck_assert_int_eq(r->cands[0].tls.min, TLS1_VERSION);
	ck_assert_int_eq(r->cands[0].tls.max, TLS1_VERSION);
	ck_assert_int_eq(r->cands[0].security_level, 0);
	ck_assert_str_eq(r->cands[0].ciphers, "");
	ck_assert_int_eq(r->cands[0].verify, VERIFY_CA);
	ck_assert(!r->cands[0].legacy_reneg);
	ck_assert_int_eq(r->cands[1].security_level, 2);
	ck_assert_str_eq(r->cands[1].ciphers, "AES128-SHA:AES256-SHA");
	ck_assert_int_eq(r->cands[1].verify, VERIFY_CA);
	ck_assert_int_eq(r->cands[2].verify, VERIFY_PIN);
	ck_assert_int_eq(r->cands[3].verify, VERIFY_PIN);
	all_blocks_load(r);

	conf = load_block(r, 0, block, sizeof(block));
	rc = &conf->routes[0];
	ck_assert_int_eq(rc->mode, ROUTE_MODE_TCP);
	ck_assert_str_eq(rc->upstream.host, "127.0.0.1");
	ck_assert_uint_eq(rc->upstream.port, 4433);
	ck_assert_int_eq(rc->up_tls.min, TLS1_VERSION);
	ck_assert_int_eq(rc->up_tls.max, TLS1_VERSION);
	ck_assert_int_eq(rc->up_security_level, 0);
	ck_assert_ptr_null(rc->up_ciphers);
	ck_assert(!rc->up_legacy_renegotiation);
	ck_assert_int_eq(rc->up_verify, VERIFY_CA);
	ck_assert_ptr_null(rc->up_ca);
	ck_assert_str_eq(rc->up_sni, "localhost");
	ck_assert_ptr_nonnull(strstr(block, "; security level 0: "));
	ck_assert_ptr_nonnull(strstr(block, "the system store"));
	conf_free(conf);

	conf = load_block(r, 1, block, sizeof(block));
	rc = &conf->routes[0];
	ck_assert_int_eq(rc->up_security_level, 2);
	ck_assert_str_eq(rc->up_ciphers, "AES128-SHA:AES256-SHA");
	conf_free(conf);

	conf = load_block(r, 2, block, sizeof(block));
	rc = &conf->routes[0];
	ck_assert_int_eq(rc->up_verify, VERIFY_PIN);
	ck_assert(rc->up_pin_set);
	ck_assert_ptr_nonnull(strstr(block, "upstream_pin = " ZERO_PIN "\n"));
	conf_free(conf);
	free(r);
}
END_TEST

START_TEST(test_cand_krsa_only)
{
	struct probe_result *r = malloc(sizeof(*r));
	char block[PROBE_BLOCK_MAX];
	struct conf *conf;

	fx_base(r);
	fx_accept(r, TLS1_VERSION, true, false, true);
	snprintf(fx_ver(r, TLS1_VERSION)->rsa_cipher, 64, "CAMELLIA128-SHA");
	r->chain_verified = true;
	probe_candidates(r);
	ck_assert_uint_eq(r->ncands, 2);
	ck_assert_int_eq(r->cands[0].security_level, 2);
	/* the suite it picked comes first when it is not one of the usual two */
	ck_assert_str_eq(r->cands[0].ciphers,
	    "CAMELLIA128-SHA:AES128-SHA:AES256-SHA");
	conf = load_block(r, 0, block, sizeof(block));
	ck_assert_int_eq(conf->routes[0].up_security_level, 2);
	ck_assert_ptr_nonnull(strstr(block, "only plain RSA key exchange"));
	conf_free(conf);
	free(r);
}
END_TEST

START_TEST(test_cand_noreneg_http_ca_file)
{
	struct probe_result *r = malloc(sizeof(*r));
	char block[PROBE_BLOCK_MAX];
	const struct route_conf *rc;
	struct conf *conf;

	fx_base(r);
	fx_accept(r, TLS1_VERSION, false, true, true);
	fx_accept(r, TLS1_1_VERSION, true, true, false);
	r->chain_verified = true;
	snprintf(r->ca, sizeof(r->ca), "/dev/null");
	r->http = true;
	snprintf(r->http_status, sizeof(r->http_status), "HTTP/1.1 200 OK");
	probe_candidates(r);
	ck_assert_int_eq(r->cands[0].tls.min, TLS1_VERSION);
	ck_assert_int_eq(r->cands[0].tls.max, TLS1_1_VERSION);
	ck_assert(r->cands[0].legacy_reneg);
	all_blocks_load(r);
	conf = load_block(r, 0, block, sizeof(block));
	rc = &conf->routes[0];
	ck_assert_int_eq(rc->mode, ROUTE_MODE_HTTP);
	ck_assert(rc->up_legacy_renegotiation);
	ck_assert_str_eq(rc->up_ca, "/dev/null");
	ck_assert_int_eq(rc->up_tls.max, TLS1_1_VERSION);
	ck_assert_ptr_nonnull(strstr(block, "RFC 5746"));
	ck_assert_ptr_nonnull(strstr(block, "; accepted alone: TLS 1.0, 1.1\n"));
	conf_free(conf);
	free(r);
}
END_TEST

START_TEST(test_cand_modern_levels)
{
	struct probe_result *r = malloc(sizeof(*r));
	char block[PROBE_BLOCK_MAX];
	const struct route_conf *rc;
	struct conf *conf;

	fx_base(r);
	/* also TLS 1.0: the 1.2 profile must still come first */
	fx_accept(r, TLS1_VERSION, true, true, false);
	fx_accept(r, TLS1_2_VERSION, true, true, false);
	fx_accept(r, TLS1_3_VERSION, true, false, false);
	r->chain_verified = true;
	probe_candidates(r);
	ck_assert_uint_eq(r->ncands, 8);	/* (3 modern + 1 legacy) x 2 */
	ck_assert_int_eq(r->cands[0].tls.min, TLS1_2_VERSION);
	ck_assert_int_eq(r->cands[0].tls.max, TLS1_3_VERSION);
	ck_assert_int_eq(r->cands[0].security_level, -1);
	ck_assert_int_eq(r->cands[1].security_level, 1);
	ck_assert_int_eq(r->cands[2].security_level, 0);
	ck_assert_int_eq(r->cands[3].tls.max, TLS1_VERSION);
	all_blocks_load(r);
	conf = load_block(r, 0, block, sizeof(block));
	rc = &conf->routes[0];
	ck_assert_int_eq(rc->up_tls.min, TLS1_2_VERSION);
	ck_assert_int_eq(rc->up_tls.max, TLS1_3_VERSION);
	ck_assert_int_eq(rc->up_security_level, -1);	/* library default */
	ck_assert_ptr_null(strstr(block, "upstream_security_level"));
	ck_assert_ptr_null(strstr(block, "upstream_legacy_renegotiation"));
	conf_free(conf);
	free(r);
}
END_TEST

START_TEST(test_cand_tls13_only_no_lsc)
{
	struct probe_result *r = malloc(sizeof(*r));

	fx_base(r);
	fx_accept(r, TLS1_3_VERSION, false, false, false);
	r->chain_verified = true;
	probe_candidates(r);
	ck_assert_uint_eq(r->ncands, 6);
	ck_assert_int_eq(r->cands[0].tls.min, TLS1_3_VERSION);
	ck_assert(!r->cands[0].legacy_reneg);	/* RFC 5746 is moot in 1.3 */
	all_blocks_load(r);
	free(r);
}
END_TEST

START_TEST(test_cand_pin_only)
{
	struct probe_result *r = malloc(sizeof(*r));
	char block[PROBE_BLOCK_MAX];
	struct conf *conf;

	fx_base(r);
	fx_accept(r, TLS1_2_VERSION, true, true, false);
	r->chain_verified = false;
	r->verify_code = 18;
	snprintf(r->verify_error, sizeof(r->verify_error),
	    "self-signed certificate");
	probe_candidates(r);
	ck_assert_uint_eq(r->ncands, 3);
	ck_assert_int_eq(r->cands[0].verify, VERIFY_PIN);
	conf = load_block(r, 0, block, sizeof(block));
	ck_assert_int_eq(conf->routes[0].up_verify, VERIFY_PIN);
	ck_assert_ptr_nonnull(strstr(block, "does not verify against the "
	    "system store for localhost (self-signed certificate)"));
	conf_free(conf);
	/* no pin either (no certificate seen): nothing to offer */
	r->pin[0] = '\0';
	probe_candidates(r);
	ck_assert_uint_eq(r->ncands, 0);
	free(r);
}
END_TEST

START_TEST(test_cand_plain)
{
	struct probe_result *r = malloc(sizeof(*r));
	char block[PROBE_BLOCK_MAX];
	struct conf *conf;

	fx_base(r);
	r->plain = true;
	r->http = true;
	snprintf(r->http_status, sizeof(r->http_status), "HTTP/1.0 200 OK");
	r->pin[0] = '\0';
	probe_candidates(r);
	ck_assert_uint_eq(r->ncands, 1);
	ck_assert(r->cands[0].tls.off);
	conf = load_block(r, 0, block, sizeof(block));
	ck_assert(conf->routes[0].up_tls.off);
	ck_assert_int_eq(conf->routes[0].mode, ROUTE_MODE_HTTP);
	ck_assert_ptr_null(strstr(block, "upstream_sni"));
	conf_free(conf);
	/* a plain port that is no HTTP server: tcp */
	r->http = false;
	probe_candidates(r);
	conf = load_block(r, 0, block, sizeof(block));
	ck_assert_int_eq(conf->routes[0].mode, ROUTE_MODE_TCP);
	conf_free(conf);
	free(r);
}
END_TEST

START_TEST(test_cand_none)
{
	struct probe_result *r = malloc(sizeof(*r));

	fx_base(r);
	r->pin[0] = '\0';
	r->des3.tried = r->des3.accepted = true;
	r->des3.suite = 0x000a;
	r->des3.version = TLS1_VERSION;
	probe_candidates(r);
	ck_assert_uint_eq(r->ncands, 0);	/* stock libssl: no handshake, no pin */
	fx_base(r);
	r->connect_ok = false;
	fx_accept(r, TLS1_VERSION, true, true, true);
	probe_candidates(r);
	ck_assert_uint_eq(r->ncands, 0);
	fx_base(r);
	r->silent = true;
	probe_candidates(r);
	ck_assert_uint_eq(r->ncands, 0);
	free(r);
}
END_TEST

/* With a libssl built enable-weak-ssl-ciphers the handshake works: 3DES/RC4 last. */
START_TEST(test_cand_weak_build)
{
	struct probe_result *r = malloc(sizeof(*r));
	char block[PROBE_BLOCK_MAX];
	struct conf *conf;
	unsigned n;

	fx_base(r);
	fx_accept(r, TLS1_VERSION, false, false, false);
	r->des3.tried = r->des3.accepted = true;
	r->des3.suite = 0x000a;
	r->des3.version = TLS1_VERSION;
	r->rc4.tried = r->rc4.accepted = true;
	r->rc4.suite = 0x0005;
	r->rc4.version = TLS1_VERSION;
	r->rc4.reneg_info = true;
	probe_candidates(r);
	n = r->ncands;
	ck_assert_uint_eq(n, 3);	/* pin: level 0, 3DES, RC4 */
	ck_assert_str_eq(r->cands[n - 2].ciphers, "DES-CBC3-SHA");
	ck_assert(r->cands[n - 2].legacy_reneg);
	ck_assert(!r->cands[n - 2].legacy_provider);
	ck_assert_str_eq(r->cands[n - 1].ciphers, "RC4-SHA:RC4-MD5");
	ck_assert(!r->cands[n - 1].legacy_reneg);
	ck_assert(r->cands[n - 1].legacy_provider);
	conf = load_block(r, n - 1, block, sizeof(block));
	ck_assert(conf->routes[0].up_legacy_provider);
	ck_assert_str_eq(conf->routes[0].up_ciphers, "RC4-SHA:RC4-MD5");
	conf_free(conf);
	free(r);
}
END_TEST

/*
 * RC4 alone, as a weak build finds it: no version works with any other
 * suite, and the RC4 handshake gave the pin.  One candidate, TLS 1.0
 * alone, the RC4 suites at level 0 with the legacy provider, and a block
 * that says what was accepted rather than "none".
 */
START_TEST(test_cand_rc4_only)
{
	struct probe_result *r = malloc(sizeof(*r));
	char block[PROBE_BLOCK_MAX];
	struct conf *conf;

	fx_base(r);
	r->rc4.tried = r->rc4.accepted = r->rc4.handshake = true;
	r->rc4.suite = 0x0005;
	r->rc4.version = TLS1_VERSION;
	r->rc4.reneg_info = true;
	probe_candidates(r);
	ck_assert_uint_eq(r->ncands, 1);
	ck_assert_str_eq(r->cands[0].ciphers, "RC4-SHA:RC4-MD5");
	ck_assert(r->cands[0].legacy_provider);
	ck_assert_int_eq(r->cands[0].security_level, 0);
	conf = load_block(r, 0, block, sizeof(block));
	ck_assert_int_eq(conf->routes[0].up_tls.min, TLS1_VERSION);
	ck_assert_int_eq(conf->routes[0].up_tls.max, TLS1_VERSION);
	ck_assert_int_eq(conf->routes[0].up_security_level, 0);
	ck_assert(conf->routes[0].up_legacy_provider);
	ck_assert_msg(strstr(block, "; accepted alone: TLS 1.0 with RC4 only\n") != NULL,
	    "%s", block);
	ck_assert_msg(strstr(block, "upstream_legacy_provider = yes\n") != NULL,
	    "%s", block);
	conf_free(conf);
	free(r);
}
END_TEST

START_TEST(test_block_failures_and_limits)
{
	struct probe_result *r = malloc(sizeof(*r));
	char block[PROBE_BLOCK_MAX], small[64];
	struct conf *conf;

	fx_base(r);
	fx_accept(r, TLS1_2_VERSION, true, true, false);
	r->chain_verified = true;
	snprintf(r->target.host, sizeof(r->target.host), "::1");
	probe_candidates(r);
	r->cands[0].tried = true;
	snprintf(r->cands[0].failure, sizeof(r->cands[0].failure),
	    "upstream_tls_failed: dh key too small");
	r->cands[1].tried = r->cands[1].ok = true;
	conf = load_block(r, 1, block, sizeof(block));
	ck_assert_ptr_nonnull(strstr(block, "; tried first, failed: upstream_tls "
	    "= 1.2, upstream_verify = ca: upstream_tls_failed: dh key too "
	    "small\n"));
	ck_assert_ptr_nonnull(strstr(block, "upstream = [::1]:4433\n"));
	ck_assert_str_eq(conf->routes[0].upstream.host, "::1");
	ck_assert_int_eq(conf->routes[0].up_security_level, 1);
	conf_free(conf);
	ck_assert_int_eq(probe_route_block(r, 1, small, sizeof(small)), -1);
	ck_assert_int_eq(probe_route_block(r, r->ncands, block, sizeof(block)),
	    -1);
	free(r);
}
END_TEST

static Suite *
probe_cand_suite(void)
{
	Suite *s = suite_create("probe_cand");
	TCase *tc;

	tc = tcase_create("candidates_blocks");
	tcase_add_test(tc, test_cand_tls10_fs_and_krsa);
	tcase_add_test(tc, test_cand_krsa_only);
	tcase_add_test(tc, test_cand_noreneg_http_ca_file);
	tcase_add_test(tc, test_cand_modern_levels);
	tcase_add_test(tc, test_cand_tls13_only_no_lsc);
	tcase_add_test(tc, test_cand_pin_only);
	tcase_add_test(tc, test_cand_plain);
	tcase_add_test(tc, test_cand_none);
	tcase_add_test(tc, test_cand_weak_build);
	tcase_add_test(tc, test_cand_rc4_only);
	tcase_add_test(tc, test_block_failures_and_limits);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(probe_cand_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
