/* SPDX-License-Identifier: MIT */
/*
 * check_probe_report: what probe prints for a discovery: the JSON object
 * (checked by a strict validator, with hostile certificate text escaped).
 */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "jsonv.h"
#include "probe_cand.h"
#include "probe_fixture.h"
#include "probe_report.h"

/* Runs probe_json(r) into a string (caller frees). */
static char *
json_of(const struct probe_result *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(probe_json(r, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	return buf;
}

/* ---- JSON ---------------------------------------------------------------- */

START_TEST(test_json_minimal)
{
	struct probe_result *r = malloc(sizeof(*r));
	char *j;

	fx_base(r);
	r->connect_ok = false;
	tb_err_set(&r->connect_err, CR_UPSTREAM_REFUSED, PHASE_CONNECT,
	    "connect 127.0.0.1:4433: Connection refused");
	j = json_of(r);
	ck_assert_msg(json_valid(j), "invalid JSON: %s", j);
	ck_assert_ptr_nonnull(strstr(j, "\"connect\":false"));
	ck_assert_ptr_nonnull(strstr(j, "\"code\":\"upstream_refused\""));
	ck_assert_ptr_nonnull(strstr(j, "\"route\":{\"ok\":false}"));
	ck_assert_ptr_nonnull(strstr(j, "\"1.3\":{\"tried\":false,"));
	free(j);
	free(r);
}
END_TEST

START_TEST(test_json_full_escaping)
{
	struct probe_result *r = malloc(sizeof(*r));
	char *j;

	fx_base(r);
	fx_accept(r, TLS1_VERSION, false, true, true);
	fx_ver(r, TLS1_VERSION)->dh_bits = 1024;
	tb_err_set(&fx_ver(r, TLS1_1_VERSION)->err, CR_UPSTREAM_TLS_VERSION,
	    PHASE_HANDSHAKE, "no \"version\" \\ in common");
	fx_ver(r, TLS1_1_VERSION)->tried = true;
	r->ncerts = 1;
	snprintf(r->certs[0].subject, sizeof(r->certs[0].subject),
	    "CN=a\"b\\c\nd\xff");
	snprintf(r->certs[0].key_type, sizeof(r->certs[0].key_type), "RSA");
	r->certs[0].key_bits = 2048;
	r->certs[0].expired = true;
	r->chain_verified = true;
	r->des3.tried = true;
	snprintf(r->des3.detail, sizeof(r->des3.detail), "alert handshake_failure");
	probe_candidates(r);
	r->cands[0].tried = r->cands[0].ok = true;
	snprintf(r->cands[0].outcome, sizeof(r->cands[0].outcome),
	    "TLSv1 ECDHE-RSA-AES256-SHA, verified by ca");
	r->chosen = 0;
	ck_assert_int_eq(probe_route_block(r, 0, r->block, sizeof(r->block)), 0);
	j = json_of(r);
	ck_assert_msg(json_valid(j), "invalid JSON: %s", j);
	ck_assert_ptr_nonnull(strstr(j, "\"subject\":\"CN=a\\\"b\\\\c\\nd\\ufffd\""));
	ck_assert_ptr_nonnull(strstr(j, "\"detail\":\"no \\\"version\\\" \\\\ in common\""));
	ck_assert_ptr_nonnull(strstr(j, "\"block\":\"[route ep]\\n"));
	ck_assert_ptr_nonnull(strstr(j, "\"dh_bits\":1024"));
	ck_assert_ptr_nonnull(strstr(j, "\"expired\":true"));
	ck_assert_ptr_nonnull(strstr(j, "\"secure_renegotiation\":false"));
	ck_assert_ptr_nonnull(strstr(j, "\"settings\":\"upstream_tls = 1.0, "
	    "upstream_security_level = 0, upstream_legacy_renegotiation = yes, "
	    "upstream_verify = ca\""));
	free(j);
	free(r);
}
END_TEST

static Suite *
probe_report_suite(void)
{
	Suite *s = suite_create("probe_report");
	TCase *tc;

	tc = tcase_create("json");
	tcase_add_test(tc, test_json_minimal);
	tcase_add_test(tc, test_json_full_escaping);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(probe_report_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
