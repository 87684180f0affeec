/* SPDX-License-Identifier: MIT */
/*
 * check_probe: the pure parts of `tlsbroker probe`: the hand-built
 * ClientHello, ServerHello and HTTP head parsing, route names, the
 * candidate settings chosen from discovery facts, the [route] blocks
 * (every one must pass the real config loader and checker), the JSON
 * output (checked by a strict validator) and the command line's exit
 * statuses.  The network parts are covered by tests/integration/08-probe.sh.
 */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "conf.h"
#include "conf_check.h"
#include "probe.h"

#define ZERO_PIN "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define STANDIN "[listener t]\nbind = 127.0.0.1:9\ncert = /dev/null\n\n"

/* ---- a strict JSON validator (RFC 8259 grammar) --------------------------- */

static const char *jv_value(const char *p, int depth);

static const char *
jv_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *
jv_string(const char *p)
{
	int i;

	if (*p++ != '"')
		return NULL;
	for (;;) {
		unsigned char c = (unsigned char)*p++;

		if (c == '"')
			return p;
		if (c < 0x20)
			return NULL;
		if (c != '\\')
			continue;
		c = (unsigned char)*p++;
		if (c == 'u') {
			for (i = 0; i < 4; i++, p++)
				if (strchr("0123456789abcdefABCDEF", *p) == NULL ||
				    *p == '\0')
					return NULL;
		} else if (strchr("\"\\/bfnrt", c) == NULL || c == '\0')
			return NULL;
	}
}

static const char *
jv_value(const char *p, int depth)
{
	p = jv_ws(p);
	if (depth > 32)
		return NULL;
	switch (*p) {
	case '{':
		p = jv_ws(p + 1);
		if (*p == '}')
			return p + 1;
		for (;;) {
			if ((p = jv_string(jv_ws(p))) == NULL)
				return NULL;
			p = jv_ws(p);
			if (*p++ != ':')
				return NULL;
			if ((p = jv_value(p, depth + 1)) == NULL)
				return NULL;
			p = jv_ws(p);
			if (*p == '}')
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	case '[':
		p = jv_ws(p + 1);
		if (*p == ']')
			return p + 1;
		for (;;) {
			if ((p = jv_value(p, depth + 1)) == NULL)
				return NULL;
			p = jv_ws(p);
			if (*p == ']')
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	case '"':
		return jv_string(p);
	case 't':
		return strncmp(p, "true", 4) == 0 ? p + 4 : NULL;
	case 'f':
		return strncmp(p, "false", 5) == 0 ? p + 5 : NULL;
	case 'n':
		return strncmp(p, "null", 4) == 0 ? p + 4 : NULL;
	default:
		if (*p == '-')
			p++;
		if (*p < '0' || *p > '9')
			return NULL;
		while (*p >= '0' && *p <= '9')
			p++;
		return p;
	}
}

/* True if s is exactly one JSON object and a newline. */
static bool
json_valid(const char *s)
{
	const char *p = jv_ws(s);

	if (*p != '{' || (p = jv_value(p, 0)) == NULL)
		return false;
	return strcmp(p, "\n") == 0;
}

START_TEST(test_validator_self)
{
	ck_assert(json_valid("{\"a\":[1,-2,true,false,null,{\"b\":\"\\u00e9\"}]}\n"));
	ck_assert(!json_valid("{\"a\":1,}\n"));
	ck_assert(!json_valid("{\"a\":\"x\ny\"}\n"));
	ck_assert(!json_valid("{\"a\":\"\\q\"}\n"));
	ck_assert(!json_valid("{\"a\":1}"));
	ck_assert(!json_valid("{\"a\" 1}\n"));
}
END_TEST

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

/* ---- ClientHello ------------------------------------------------------------ */

static const unsigned char rnd[32] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32
};

START_TEST(test_hello_layout_sni)
{
	static const uint16_t suites[] = { 0x000a };
	unsigned char b[256];
	int n = probe_client_hello(0x0301, suites, 1, "localhost", rnd, b,
	    sizeof(b));

	ck_assert_int_eq(n, 72);
	ck_assert_int_eq(b[0], 22);
	ck_assert_int_eq(b[1], 3);
	ck_assert_int_eq(b[2], 1);
	ck_assert_int_eq(b[3] << 8 | b[4], n - 5);	/* record length */
	ck_assert_int_eq(b[5], 1);			/* client_hello */
	ck_assert_int_eq(b[6] << 16 | b[7] << 8 | b[8], n - 9);
	ck_assert_int_eq(b[9] << 8 | b[10], 0x0301);
	ck_assert_mem_eq(b + 11, rnd, 32);
	ck_assert_int_eq(b[43], 0);			/* no session id */
	ck_assert_int_eq(b[44] << 8 | b[45], 4);	/* 2 suites */
	ck_assert_int_eq(b[46] << 8 | b[47], 0x000a);
	ck_assert_int_eq(b[48] << 8 | b[49], 0x00ff);	/* RFC 5746 SCSV */
	ck_assert_int_eq(b[50], 1);			/* one method: null */
	ck_assert_int_eq(b[51], 0);
	ck_assert_int_eq(b[52] << 8 | b[53], 18);	/* extensions */
	ck_assert_int_eq(b[54] << 8 | b[55], 0);	/* server_name */
	ck_assert_int_eq(b[56] << 8 | b[57], 14);
	ck_assert_int_eq(b[58] << 8 | b[59], 12);
	ck_assert_int_eq(b[60], 0);			/* host_name */
	ck_assert_int_eq(b[61] << 8 | b[62], 9);
	ck_assert_mem_eq(b + 63, "localhost", 9);
}
END_TEST

START_TEST(test_hello_no_sni_and_limits)
{
	static const uint16_t suites[] = { 0x0005, 0x0004 };
	unsigned char b[256];
	char big[300];
	int n;

	n = probe_client_hello(0x0303, suites, 2, NULL, rnd, b, sizeof(b));
	ck_assert_int_eq(n, 9 + 2 + 32 + 1 + 2 + 6 + 2 + 2);
	ck_assert_int_eq(b[9] << 8 | b[10], 0x0303);
	ck_assert_int_eq(b[44] << 8 | b[45], 6);
	ck_assert_int_eq(b[n - 2] << 8 | b[n - 1], 0);	/* empty extensions */
	/* exactly enough room, one byte too little */
	ck_assert_int_eq(probe_client_hello(0x0303, suites, 2, NULL, rnd, b,
	    (size_t)n), n);
	ck_assert_int_eq(probe_client_hello(0x0303, suites, 2, NULL, rnd, b,
	    (size_t)n - 1), -1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(probe_client_hello(0x0301, suites, 2, big, rnd, b,
	    sizeof(b)), -1);
}
END_TEST

/* ---- ServerHello -------------------------------------------------------------- */

/* A ServerHello record: 32-byte session id, suite, optional RI extension. */
static size_t
server_hello(unsigned char *b, uint16_t version, uint16_t suite, bool ri,
    bool exts)
{
	size_t body = 2 + 32 + 1 + 32 + 2 + 1 + (exts ? 2 + (ri ? 5 : 0) : 0);
	size_t n = 0;

	b[n++] = 22;
	b[n++] = 3;
	b[n++] = 1;
	b[n++] = (unsigned char)((body + 4) >> 8);
	b[n++] = (unsigned char)(body + 4);
	b[n++] = 2;
	b[n++] = 0;
	b[n++] = (unsigned char)(body >> 8);
	b[n++] = (unsigned char)body;
	b[n++] = (unsigned char)(version >> 8);
	b[n++] = (unsigned char)version;
	memset(b + n, 0x11, 32);
	n += 32;
	b[n++] = 32;
	memset(b + n, 0x22, 32);
	n += 32;
	b[n++] = (unsigned char)(suite >> 8);
	b[n++] = (unsigned char)suite;
	b[n++] = 0;
	if (exts) {
		b[n++] = 0;
		b[n++] = ri ? 5 : 0;
		if (ri) {
			b[n++] = 0xff;
			b[n++] = 0x01;
			b[n++] = 0;
			b[n++] = 1;
			b[n++] = 0;
		}
	}
	return n;
}

START_TEST(test_server_hello_ri)
{
	unsigned char b[256];
	struct probe_hello h;
	size_t n = server_hello(b, 0x0301, 0x000a, true, true), i;

	ck_assert_int_eq(probe_parse_server_hello(b, n, &h), 1);
	ck_assert(!h.alert);
	ck_assert_uint_eq(h.version, 0x0301);
	ck_assert_uint_eq(h.suite, 0x000a);
	ck_assert(h.reneg_info);
	/* every strict prefix needs more bytes */
	for (i = 0; i < n; i++)
		ck_assert_msg(probe_parse_server_hello(b, i, &h) == 0,
		    "prefix %zu", i);
	/* a Certificate record after it changes nothing */
	memcpy(b + n, "\x16\x03\x01\x00\x04\x0b\x00\x00\x00", 9);
	ck_assert_int_eq(probe_parse_server_hello(b, n + 9, &h), 1);
	ck_assert_uint_eq(h.suite, 0x000a);
}
END_TEST

START_TEST(test_server_hello_no_ri)
{
	unsigned char b[256];
	struct probe_hello h;
	size_t n;

	n = server_hello(b, 0x0302, 0x0005, false, false);
	ck_assert_int_eq(probe_parse_server_hello(b, n, &h), 1);
	ck_assert_uint_eq(h.version, 0x0302);
	ck_assert_uint_eq(h.suite, 0x0005);
	ck_assert(!h.reneg_info);
	n = server_hello(b, 0x0301, 0x0004, false, true);	/* empty extension block */
	ck_assert_int_eq(probe_parse_server_hello(b, n, &h), 1);
	ck_assert(!h.reneg_info);
}
END_TEST

START_TEST(test_server_hello_alert)
{
	static const unsigned char a[] = { 21, 3, 1, 0, 2, 2, 40 };
	struct probe_hello h;

	ck_assert_int_eq(probe_parse_server_hello(a, sizeof(a), &h), 1);
	ck_assert(h.alert);
	ck_assert_int_eq(h.alert_level, 2);
	ck_assert_int_eq(h.alert_desc, 40);
	ck_assert_int_eq(probe_parse_server_hello(a, 6, &h), 0);
}
END_TEST

START_TEST(test_server_hello_garbage)
{
	static const uint16_t suites[] = { 0x000a };
	unsigned char b[256];
	struct probe_hello h;
	size_t n;
	int cn;

	ck_assert_int_eq(probe_parse_server_hello((const unsigned char *)
	    "HTTP/1.1 400 Bad Request\r\n", 26, &h), -1);
	ck_assert_int_eq(probe_parse_server_hello((const unsigned char *)"H", 1,
	    &h), -1);
	/* a ClientHello is not a ServerHello */
	cn = probe_client_hello(0x0301, suites, 1, NULL, rnd, b, sizeof(b));
	ck_assert_int_eq(probe_parse_server_hello(b, (size_t)cn, &h), -1);
	/* extension length that does not match the message */
	n = server_hello(b, 0x0301, 0x000a, true, true);
	b[n - 6] = 9;
	ck_assert_int_eq(probe_parse_server_hello(b, n, &h), -1);
	/* session id longer than 32 */
	n = server_hello(b, 0x0301, 0x000a, false, false);
	b[5 + 4 + 2 + 32] = 33;
	ck_assert_int_eq(probe_parse_server_hello(b, n, &h), -1);
	/* handshake message longer than its record */
	n = server_hello(b, 0x0301, 0x000a, false, false);
	b[8] = (unsigned char)(b[8] + 1);
	ck_assert_int_eq(probe_parse_server_hello(b, n, &h), -1);
	/* record version major must be 3 */
	n = server_hello(b, 0x0301, 0x000a, false, false);
	b[1] = 2;
	ck_assert_int_eq(probe_parse_server_hello(b, n, &h), -1);
}
END_TEST

/* ---- HTTP head ----------------------------------------------------------------- */

START_TEST(test_http_head)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
	    "sErVeR:   lighttpd/1.4.69  \r\n\r\nabc";
	char st[128], sv[128];

	ck_assert_int_eq(probe_parse_http_head(resp, sizeof(resp) - 1, st,
	    sizeof(st), sv, sizeof(sv)), 0);
	ck_assert_str_eq(st, "HTTP/1.1 200 OK");
	ck_assert_str_eq(sv, "lighttpd/1.4.69");
}
END_TEST

START_TEST(test_http_head_variants)
{
	char st[16], sv[64];
	const char *s;

	s = "HTTP/1.0 404 Not Found\nConnection: close\n\nServer: body\n";
	ck_assert_int_eq(probe_parse_http_head(s, strlen(s), st, sizeof(st), sv,
	    sizeof(sv)), 0);
	ck_assert_str_eq(st, "HTTP/1.0 404 No");	/* cut to the buffer */
	ck_assert_str_eq(sv, "");			/* a body line is no header */
	s = "HTTP/1.1 502 \x1b[31mx\r\nServer: a\x01z";
	ck_assert_int_eq(probe_parse_http_head(s, strlen(s), st, sizeof(st), sv,
	    sizeof(sv)), 0);
	ck_assert_str_eq(st, "HTTP/1.1 502 ?[");
	ck_assert_str_eq(sv, "a?z");
	s = "\x15\x03\x01\x00\x02\x02\x28";
	ck_assert_int_eq(probe_parse_http_head(s, 7, st, sizeof(st), sv,
	    sizeof(sv)), -1);
	ck_assert_int_eq(probe_parse_http_head("HTTP", 4, st, sizeof(st), sv,
	    sizeof(sv)), -1);
	ck_assert_str_eq(st, "");
}
END_TEST

/* ---- route names -------------------------------------------------------------- */

START_TEST(test_route_name)
{
	char b[16];

	probe_route_name("payroll.corp.local", b, sizeof(b));
	ck_assert_str_eq(b, "payroll.corp.lo");
	probe_route_name("::1", b, sizeof(b));
	ck_assert_str_eq(b, "--1");
	probe_route_name("a_b-c", b, sizeof(b));
	ck_assert_str_eq(b, "a_b-c");
	probe_route_name("", b, sizeof(b));
	ck_assert_str_eq(b, "endpoint");
}
END_TEST

/* ---- candidates and blocks ------------------------------------------------------ */

static void
base(struct probe_result *r)
{
	unsigned i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < PROBE_NVERSIONS; i++)
		r->v[i].version = probe_version_at(i);
	snprintf(r->target.host, sizeof(r->target.host), "127.0.0.1");
	r->target.port = 4433;
	snprintf(r->name, sizeof(r->name), "ep");
	snprintf(r->sni, sizeof(r->sni), "localhost");
	snprintf(r->verify_name, sizeof(r->verify_name), "localhost");
	snprintf(r->pin, sizeof(r->pin), "%s", ZERO_PIN);
	r->connect_ok = true;
	r->verify_tried = true;
	r->chosen = -1;
}

static struct probe_version *
ver(struct probe_result *r, int version)
{
	return &r->v[probe_version_index(version)];
}

static void
accept_v(struct probe_result *r, int version, bool reneg, bool ecdhe,
    bool rsa)
{
	struct probe_version *v = ver(r, version);

	v->tried = v->accepted = true;
	v->secure_reneg = reneg;
	v->families_tried = version <= TLS1_2_VERSION;
	v->ecdhe = ecdhe;
	v->rsa = rsa;
	if (rsa)
		snprintf(v->rsa_cipher, sizeof(v->rsa_cipher), "AES256-SHA");
	snprintf(v->cipher, sizeof(v->cipher), "ECDHE-RSA-AES256-SHA");
}

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

	base(r);
	accept_v(r, TLS1_VERSION, true, true, true);
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

	base(r);
	accept_v(r, TLS1_VERSION, true, false, true);
	snprintf(ver(r, TLS1_VERSION)->rsa_cipher, 64, "CAMELLIA128-SHA");
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

	base(r);
	accept_v(r, TLS1_VERSION, false, true, true);
	accept_v(r, TLS1_1_VERSION, true, true, false);
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

	base(r);
	/* also TLS 1.0: the 1.2 profile must still come first */
	accept_v(r, TLS1_VERSION, true, true, false);
	accept_v(r, TLS1_2_VERSION, true, true, false);
	accept_v(r, TLS1_3_VERSION, true, false, false);
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

	base(r);
	accept_v(r, TLS1_3_VERSION, false, false, false);
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

	base(r);
	accept_v(r, TLS1_2_VERSION, true, true, false);
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

	base(r);
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

	base(r);
	r->pin[0] = '\0';
	r->des3.tried = r->des3.accepted = true;
	r->des3.suite = 0x000a;
	r->des3.version = TLS1_VERSION;
	probe_candidates(r);
	ck_assert_uint_eq(r->ncands, 0);	/* stock libssl: no handshake, no pin */
	base(r);
	r->connect_ok = false;
	accept_v(r, TLS1_VERSION, true, true, true);
	probe_candidates(r);
	ck_assert_uint_eq(r->ncands, 0);
	base(r);
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

	base(r);
	accept_v(r, TLS1_VERSION, false, false, false);
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

START_TEST(test_block_failures_and_limits)
{
	struct probe_result *r = malloc(sizeof(*r));
	char block[PROBE_BLOCK_MAX], small[64];
	struct conf *conf;

	base(r);
	accept_v(r, TLS1_2_VERSION, true, true, false);
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

/* ---- JSON --------------------------------------------------------------------- */

START_TEST(test_json_minimal)
{
	struct probe_result *r = malloc(sizeof(*r));
	char *j;

	base(r);
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

	base(r);
	accept_v(r, TLS1_VERSION, false, true, true);
	ver(r, TLS1_VERSION)->dh_bits = 1024;
	tb_err_set(&ver(r, TLS1_1_VERSION)->err, CR_UPSTREAM_TLS_VERSION,
	    PHASE_HANDSHAKE, "no \"version\" \\ in common");
	ver(r, TLS1_1_VERSION)->tried = true;
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

/* ---- command line ----------------------------------------------------------------- */

static int
run_main(int argc, const char *const *args)
{
	char *argv[16];
	int i;

	ck_assert_int_lt(argc, 16);
	for (i = 0; i < argc; i++)
		argv[i] = strdup(args[i]);
	argv[argc] = NULL;
	i = probe_main(argc, argv);
	while (argc-- > 0)
		free(argv[argc]);
	return i;
}

#define RUN(...) run_main(sizeof((const char *[]){ __VA_ARGS__ }) / \
    sizeof(const char *), (const char *const []){ __VA_ARGS__ })

START_TEST(test_main_usage)
{
	/* run twice in one process: getopt state must be reset each time */
	ck_assert_int_eq(RUN("probe"), 2);
	ck_assert_int_eq(RUN("probe"), 2);
	ck_assert_int_eq(RUN("probe", "--bogus", "127.0.0.1:1"), 2);
	ck_assert_int_eq(RUN("probe", "--sni"), 2);
	/* the config would refuse it in the [route] block probe prints */
	ck_assert_int_eq(RUN("probe", "--sni", "erp.example.com.", "127.0.0.1:1"), 2);
	ck_assert_int_eq(RUN("probe", "127.0.0.1:1", "127.0.0.1:2"), 2);
	ck_assert_int_eq(RUN("probe", "--timeout", "0", "127.0.0.1:1"), 2);
	ck_assert_int_eq(RUN("probe", "--timeout", "5x", "127.0.0.1:1"), 2);
	ck_assert_int_eq(RUN("probe", "--name", "a b", "127.0.0.1:1"), 2);
	ck_assert_int_eq(RUN("probe", "127.0.0.1:99999"), 2);
	ck_assert_int_eq(RUN("probe", "-c", "/dev/null", "127.0.0.1:1"), 2);
	ck_assert_int_eq(RUN("probe", "--route", "x", "127.0.0.1:1"), 2);
	ck_assert_int_eq(RUN("probe", "--route", "x", "--json"), 2);
	ck_assert_int_eq(RUN("probe", "--help"), 0);
	/* a config that does not load: 1, like tlsbroker -t */
	ck_assert_int_eq(RUN("probe", "--route", "x", "-c",
	    "/nonexistent/tlsbroker.ini"), 1);
}
END_TEST

/* Nothing listens on 127.0.0.1:1: exit 1 and a JSON report saying why. */
START_TEST(test_main_refused_json)
{
	char path[] = "/tmp/check_probe.XXXXXX", buf[8192];
	FILE *f;
	size_t n;
	int fd, rc;

	ck_assert_int_ne(fd = mkstemp(path), -1);
	fflush(stdout);
	ck_assert_ptr_nonnull(freopen(path, "w", stdout));
	rc = RUN("probe", "--json", "--timeout", "2s", "127.0.0.1:1");
	fflush(stdout);
	ck_assert_int_eq(rc, 1);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	close(fd);
	unlink(path);
	ck_assert_msg(json_valid(buf), "invalid JSON: %s", buf);
	ck_assert_ptr_nonnull(strstr(buf, "\"code\":\"upstream_refused\""));
	ck_assert_ptr_nonnull(strstr(buf, "\"message\":\"cannot connect: "));
}
END_TEST

static Suite *
probe_suite(void)
{
	Suite *s = suite_create("probe");
	TCase *tc;

	tc = tcase_create("json_validator");
	tcase_add_test(tc, test_validator_self);
	suite_add_tcase(s, tc);

	tc = tcase_create("client_hello");
	tcase_add_test(tc, test_hello_layout_sni);
	tcase_add_test(tc, test_hello_no_sni_and_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("server_hello");
	tcase_add_test(tc, test_server_hello_ri);
	tcase_add_test(tc, test_server_hello_no_ri);
	tcase_add_test(tc, test_server_hello_alert);
	tcase_add_test(tc, test_server_hello_garbage);
	suite_add_tcase(s, tc);

	tc = tcase_create("http_head");
	tcase_add_test(tc, test_http_head);
	tcase_add_test(tc, test_http_head_variants);
	suite_add_tcase(s, tc);

	tc = tcase_create("route_name");
	tcase_add_test(tc, test_route_name);
	suite_add_tcase(s, tc);

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
	tcase_add_test(tc, test_block_failures_and_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_test(tc, test_json_minimal);
	tcase_add_test(tc, test_json_full_escaping);
	suite_add_tcase(s, tc);

	tc = tcase_create("main");
	tcase_add_test(tc, test_main_usage);
	tcase_add_test(tc, test_main_refused_json);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(probe_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
