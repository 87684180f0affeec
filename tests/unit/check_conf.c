/* SPDX-License-Identifier: MIT */
/*
 * check_conf: the config loader and checker.  A full config with every
 * key and the struct it yields; defaults; every error of config-spec.md
 * with its exact "FILE:LINE: ..." text; long lines through inih 55's
 * 200-byte buffer with true line numbers; collected errors; conf_check's
 * cross-key errors and derived values; loading from files.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "conf.h"
#include "conf_check.h"

/* A listener every route case can use; lines 1-3. */
#define BASE "[listener erp]\nbind = *:443\ncert = /dev/null\n"

static char tmpdir[64];

/* Files named by the full config; conf_check only opens them. */
static const char *const tmpfiles[] = {
	"a.pem", "b.pem", "c.pem", "ca.pem", "key.pem", "client.pem", "client.key", "upca.pem",
};

static void
tmp_setup(void)
{
	char path[128];
	FILE *fp;
	size_t i;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_conf.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	for (i = 0; i < sizeof(tmpfiles) / sizeof(tmpfiles[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, tmpfiles[i]);
		ck_assert_ptr_nonnull(fp = fopen(path, "w"));
		fputs("-----BEGIN NOTHING-----\n", fp);
		fclose(fp);
	}
}

static void
tmp_teardown(void)
{
	char path[128];
	size_t i;

	for (i = 0; i < sizeof(tmpfiles) / sizeof(tmpfiles[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, tmpfiles[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/t.ini", tmpdir);
	unlink(path);
	rmdir(tmpdir);
}

/* Replaces every "DIR" in in by tmpdir; the result is malloc'ed. */
static char *
with_dir(const char *in)
{
	size_t cap = strlen(in) * 4 + 1, n = 0;
	char *out = malloc(cap);
	const char *p;

	ck_assert_ptr_nonnull(out);
	for (p = in; *p != '\0'; ) {
		if (strncmp(p, "DIR", 3) == 0) {
			n += (size_t)snprintf(out + n, cap - n, "%s", tmpdir);
			p += 3;
		} else
			out[n++] = *p++;
	}
	out[n] = '\0';
	return out;
}

/* All errors as one string, for failure messages. */
static const char *
dump(const struct conf_errors *errs)
{
	static char buf[8192];
	size_t n = 0;
	unsigned i;

	buf[0] = '\0';
	for (i = 0; i < errs->count && n < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\n  %s", errs->msgs[i]);
	return buf;
}

/*
 * Loads text as "t.ini" (and runs conf_check when check) and asserts that
 * exactly the NULL-terminated want errors come out, in order.
 */
static void
expect(const char *text, bool check, const char *const *want)
{
	struct conf_errors errs = { NULL, 0, 0 };
	struct conf *c;
	unsigned n = 0, i;
	int rc = 0;

	while (want[n] != NULL)
		n++;
	c = conf_load_string("t.ini", text, &errs);
	if (c != NULL && check)
		rc = conf_check(c, &errs);
	for (i = 0; i < n && i < errs.count; i++)
		ck_assert_msg(strcmp(errs.msgs[i], want[i]) == 0,
		    "error %u:\n  got  %s\n  want %s\nall:%s", i, errs.msgs[i], want[i], dump(&errs));
	ck_assert_msg(errs.count == n, "%u errors, want %u:%s", errs.count, n, dump(&errs));
	if (n > 0 && !check)
		ck_assert_ptr_null(c);
	if (n > 0 && check)
		ck_assert(c == NULL || rc == -1);
	if (n == 0) {
		ck_assert_ptr_nonnull(c);
		ck_assert_int_eq(rc, 0);
	}
	conf_free(c);
	conf_errors_free(&errs);
}

#define EXPECT(text, check, ...) expect((text), (check), (const char *const[]){ __VA_ARGS__, NULL })
#define EXPECT_OK(text, check) expect((text), (check), (const char *const[]){ NULL })

/* Loads and checks text that must be valid; the caller frees. */
static struct conf *
load_ok(const char *text)
{
	struct conf_errors errs = { NULL, 0, 0 };
	struct conf *c;

	c = conf_load_string("t.ini", text, &errs);
	ck_assert_msg(c != NULL, "load failed:%s", dump(&errs));
	ck_assert_msg(conf_check(c, &errs) == 0, "check failed:%s", dump(&errs));
	ck_assert_uint_eq(errs.count, 0);
	conf_errors_free(&errs);
	return c;
}

/* A string of n bytes: "key = " then cipher-like filler. */
static char *
long_line(const char *key, size_t n)
{
	char *s = malloc(n + 1);
	size_t k = strlen(key), i;

	ck_assert_ptr_nonnull(s);
	memcpy(s, key, k);
	memcpy(s + k, " = ", 3);
	for (i = k + 3; i < n; i++)
		s[i] = (i % 7 == 0) ? ':' : (char)('A' + i % 26);
	s[n] = '\0';
	return s;
}

/* ---- a full valid config ------------------------------------------------ */

static const char full_ini[] =
	"; tlsbroker test config\n"
	"# every key once\n"
	"[broker]\n"
	"workers = 4\n"
	"max_connections = 20000\n"
	"audit_log = DIR/audit.jsonl\n"
	"log_level = debug\n"
	"admin = 127.0.0.1:9180\n"
	"drain_timeout = 45s\n"
	"user = nobody\n"
	"\n"
	"[listener erp]\n"
	"bind = *:8443\n"
	"cert = DIR/a.pem DIR/b.pem\n"
	"cert = DIR/c.pem\n"
	"min_tls = 1.3\n"
	"ciphers = ECDHE-RSA-AES128-GCM-SHA256\n"
	"ciphersuites = TLS_AES_128_GCM_SHA256\n"
	"allow = 20.37.0.0/16 2603:1000::/24\n"
	"allow = 192.0.2.7\n"
	"client_ca = DIR/ca.pem\n"
	"handshake_timeout = 3s\n"
	"\n"
	"[listener second]\n"
	"bind = [::1]:9443\n"
	"cert = DIR/a.pem\n"
	"key = DIR/key.pem\n"
	"\n"
	"[route payroll]\n"
	"listener = erp\n"
	"mode = http\n"
	"host = Payroll.Broker.Example.COM\n"
	"path = /soap/\n"
	"upstream = payroll.corp.local:443\n"
	"upstream_tls = 1.0-1.2\n"
	"upstream_ciphers = DEFAULT:@SECLEVEL=0 ; inline comment\n"
	"upstream_ciphersuites = TLS_AES_256_GCM_SHA384\n"
	"upstream_security_level = 1\n"
	"upstream_legacy_renegotiation = yes\n"
	"upstream_legacy_provider = true\n"
	"upstream_sni = payroll.corp.local\n"
	"upstream_verify = pin\n"
	"upstream_pin = sha256//AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
	"upstream_cert = DIR/client.pem\n"
	"upstream_key = DIR/client.key\n"
	"upstream_alpn = http/1.1 , h2\n"
	"upstream_host = payroll.corp.local:443\n"
	"forwarded = no\n"
	"pool_max_idle = 32\n"
	"pool_min_idle = 2\n"
	"pool_idle_timeout = 45s\n"
	"pool_max_requests = 500\n"
	"pool_max_lifetime = 1h\n"
	"connect_timeout = 2s\n"
	"handshake_timeout = 3s\n"
	"response_timeout = 90s\n"
	"idle_timeout = 10m\n"
	"max_buffered_body = 4m\n"
	"upstream_chunked = yes\n"
	"\n"
	"[route legacy-tcp]\n"
	"listener = second\n"
	"mode = tcp\n"
	"upstream = [2001:db8::7]:990\n"
	"upstream_tls = 1.0\n"
	"upstream_sni = off\n"
	"upstream_verify = ca\n"
	"upstream_ca = DIR/upca.pem\n"
	"upstream_alpn = off\n"
	"\n"
	"[route plain]\n"
	"listener = erp\n"
	"host = *.plain.example\n"
	"upstream = 10.1.2.3:80\n"
	"upstream_tls = off\n";

START_TEST(full_config)
{
	char *text = with_dir(full_ini), path[128];
	const struct listener_conf *l;
	const struct route_conf *r;
	unsigned char pin[32];
	struct conf *c;
	unsigned i;

	for (i = 0; i < 32; i++)
		pin[i] = (unsigned char)i;
	c = load_ok(text);
	ck_assert_str_eq(c->path, "t.ini");

	ck_assert_uint_eq(c->broker.workers, 4);
	ck_assert_uint_eq(c->broker.max_connections, 20000);
	snprintf(path, sizeof(path), "%s/audit.jsonl", tmpdir);
	ck_assert_str_eq(c->broker.audit_log, path);
	ck_assert_int_eq(c->broker.log_level, LOG_LVL_DEBUG);
	ck_assert(c->broker.admin_set);
	ck_assert_str_eq(c->broker.admin.host, "127.0.0.1");
	ck_assert_uint_eq(c->broker.admin.port, 9180);
	ck_assert_int_eq(c->broker.at[BROKER_KEY_ADMIN].line, 8);
	ck_assert_uint_eq(c->broker.drain_timeout_ms, 45000);
	ck_assert_str_eq(c->broker.user, "nobody");
	ck_assert_int_eq(c->broker.loc.line, 3);
	ck_assert_str_eq(c->broker.loc.file, "t.ini");

	ck_assert_uint_eq(c->nlisteners, 2);
	l = &c->listeners[0];
	ck_assert_str_eq(l->name, "erp");
	ck_assert_uint_eq(l->index, 0);
	ck_assert_int_eq(l->loc.line, 12);
	ck_assert_ptr_eq(l->loc.file, c->path);
	ck_assert_str_eq(l->bind.host, "0.0.0.0");
	ck_assert_uint_eq(l->bind.port, 8443);
	ck_assert_int_eq(l->at[LISTENER_KEY_BIND].line, 13);
	ck_assert_uint_eq(l->ncerts, 3);
	snprintf(path, sizeof(path), "%s/a.pem", tmpdir);
	ck_assert_str_eq(l->certs[0], path);
	snprintf(path, sizeof(path), "%s/b.pem", tmpdir);
	ck_assert_str_eq(l->certs[1], path);
	snprintf(path, sizeof(path), "%s/c.pem", tmpdir);
	ck_assert_str_eq(l->certs[2], path);
	ck_assert_int_eq(l->at[LISTENER_KEY_CERT].line, 14);
	ck_assert_int_eq(l->cert_locs[0].line, 14);
	ck_assert_int_eq(l->cert_locs[1].line, 14);
	ck_assert_int_eq(l->cert_locs[2].line, 15);
	ck_assert_ptr_eq(l->cert_locs[2].file, c->path);
	ck_assert_ptr_null(l->key);
	ck_assert_int_eq(l->min_tls, TLS1_3_VERSION);
	ck_assert_str_eq(l->ciphers, "ECDHE-RSA-AES128-GCM-SHA256");
	ck_assert_int_eq(l->at[LISTENER_KEY_CIPHERS].line, 17);
	ck_assert_str_eq(l->ciphersuites, "TLS_AES_128_GCM_SHA256");
	ck_assert_int_eq(l->at[LISTENER_KEY_CIPHERSUITES].line, 18);
	ck_assert_uint_eq(l->allow.count, 3);
	ck_assert_int_eq(l->allow.items[2].family, AF_INET);
	ck_assert_uint_eq(l->allow.items[2].prefix, 32);
	snprintf(path, sizeof(path), "%s/ca.pem", tmpdir);
	ck_assert_str_eq(l->client_ca, path);
	ck_assert_int_eq(l->at[LISTENER_KEY_CLIENT_CA].line, 21);
	ck_assert_uint_eq(l->handshake_timeout_ms, 3000);

	l = &c->listeners[1];
	ck_assert_str_eq(l->name, "second");
	ck_assert_uint_eq(l->index, 1);
	ck_assert_str_eq(l->bind.host, "::1");
	ck_assert_uint_eq(l->bind.port, 9443);
	ck_assert_uint_eq(l->ncerts, 1);
	snprintf(path, sizeof(path), "%s/key.pem", tmpdir);
	ck_assert_str_eq(l->key, path);
	ck_assert_int_eq(l->at[LISTENER_KEY_KEY].line, 27);
	ck_assert_int_eq(l->min_tls, TLS1_2_VERSION);
	ck_assert_ptr_null(l->ciphers);
	ck_assert_uint_eq(l->allow.count, 0);

	ck_assert_uint_eq(c->nroutes, 3);
	r = &c->routes[0];
	ck_assert_str_eq(r->name, "payroll");
	ck_assert_uint_eq(r->index, 0);
	ck_assert_int_eq(r->loc.line, 29);
	ck_assert_str_eq(r->listener, "erp");
	ck_assert_uint_eq(r->listener_index, 0);
	ck_assert_int_eq(r->at[ROUTE_KEY_LISTENER].line, 30);
	ck_assert_int_eq(r->mode, ROUTE_MODE_HTTP);
	ck_assert_str_eq(r->host, "payroll.broker.example.com");
	ck_assert_str_eq(r->path, "/soap/");
	ck_assert_str_eq(r->upstream.host, "payroll.corp.local");
	ck_assert_uint_eq(r->upstream.port, 443);
	ck_assert_int_eq(r->at[ROUTE_KEY_UPSTREAM].line, 34);
	ck_assert(!r->up_tls.off);
	ck_assert_int_eq(r->up_tls.min, TLS1_VERSION);
	ck_assert_int_eq(r->up_tls.max, TLS1_2_VERSION);
	ck_assert_str_eq(r->up_ciphers, "DEFAULT:@SECLEVEL=0");
	ck_assert_int_eq(r->at[ROUTE_KEY_UPSTREAM_CIPHERS].line, 36);
	ck_assert_str_eq(r->up_ciphersuites, "TLS_AES_256_GCM_SHA384");
	ck_assert_int_eq(r->up_security_level, 1);	/* explicit beats the 1.0 default */
	ck_assert(r->up_legacy_renegotiation);
	ck_assert(r->up_legacy_provider);
	ck_assert_str_eq(r->up_sni, "payroll.corp.local");
	ck_assert(!r->up_sni_off);
	ck_assert_int_eq(r->up_verify, VERIFY_PIN);
	ck_assert_int_eq(r->at[ROUTE_KEY_UPSTREAM_VERIFY].line, 42);
	ck_assert(r->up_pin_set);
	ck_assert_mem_eq(r->up_pin, pin, 32);
	ck_assert_int_eq(r->at[ROUTE_KEY_UPSTREAM_PIN].line, 43);
	ck_assert_ptr_null(r->up_ca);
	snprintf(path, sizeof(path), "%s/client.pem", tmpdir);
	ck_assert_str_eq(r->up_cert, path);
	ck_assert_int_eq(r->at[ROUTE_KEY_UPSTREAM_CERT].line, 44);
	snprintf(path, sizeof(path), "%s/client.key", tmpdir);
	ck_assert_str_eq(r->up_key, path);
	ck_assert_int_eq(r->at[ROUTE_KEY_UPSTREAM_KEY].line, 45);
	ck_assert_str_eq(r->up_alpn, "http/1.1,h2");
	ck_assert(!r->up_alpn_off);
	ck_assert_str_eq(r->up_host, "payroll.corp.local:443");
	ck_assert_int_eq(r->forwarded, FORWARDED_OFF);
	ck_assert_uint_eq(r->pool_max_idle, 32);
	ck_assert_uint_eq(r->pool_min_idle, 2);
	ck_assert_uint_eq(r->pool_idle_timeout_ms, 45000);
	ck_assert_uint_eq(r->pool_max_requests, 500);
	ck_assert_uint_eq(r->pool_max_lifetime_ms, 3600000);
	ck_assert_uint_eq(r->connect_timeout_ms, 2000);
	ck_assert_uint_eq(r->handshake_timeout_ms, 3000);
	ck_assert_uint_eq(r->response_timeout_ms, 90000);
	ck_assert_uint_eq(r->idle_timeout_ms, 600000);
	ck_assert_uint_eq(r->max_buffered_body, 4 * 1024 * 1024);
	ck_assert(r->up_chunked);

	r = &c->routes[1];
	ck_assert_str_eq(r->name, "legacy-tcp");
	ck_assert_uint_eq(r->listener_index, 1);
	ck_assert_int_eq(r->mode, ROUTE_MODE_TCP);
	ck_assert_ptr_null(r->host);
	ck_assert_ptr_null(r->path);
	ck_assert_str_eq(r->upstream.host, "2001:db8::7");
	ck_assert_uint_eq(r->upstream.port, 990);
	ck_assert_int_eq(r->up_tls.min, TLS1_VERSION);
	ck_assert_int_eq(r->up_tls.max, TLS1_VERSION);
	ck_assert_int_eq(r->up_security_level, 0);	/* resolved: range below 1.2 */
	ck_assert(r->up_sni_off);
	ck_assert_ptr_null(r->up_sni);
	ck_assert_int_eq(r->up_verify, VERIFY_CA);
	snprintf(path, sizeof(path), "%s/upca.pem", tmpdir);
	ck_assert_str_eq(r->up_ca, path);
	ck_assert(r->up_alpn_off);
	ck_assert_ptr_null(r->up_alpn);

	r = &c->routes[2];
	ck_assert_str_eq(r->name, "plain");
	ck_assert_str_eq(r->host, "*.plain.example");
	ck_assert(r->up_tls.off);
	ck_assert_int_eq(r->up_security_level, -1);
	ck_assert_ptr_eq(conf_find_listener(c, "second"), &c->listeners[1]);
	ck_assert_ptr_null(conf_find_listener(c, "third"));
	conf_free(c);
	free(text);
}
END_TEST

START_TEST(defaults)
{
	struct conf *c = load_ok(BASE "[route r]\nupstream = legacy:443\n");
	const struct listener_conf *l = &c->listeners[0];
	const struct route_conf *r = &c->routes[0];

	ck_assert_uint_eq(c->broker.workers, 0);
	ck_assert_uint_eq(c->broker.max_connections, 0);
	ck_assert_ptr_null(c->broker.audit_log);
	ck_assert_int_eq(c->broker.log_level, LOG_LVL_INFO);
	ck_assert(!c->broker.admin_set);
	ck_assert_uint_eq(c->broker.admin.port, 0);
	ck_assert_uint_eq(c->broker.drain_timeout_ms, 30000);
	ck_assert_uint_eq(c->broker.drain_grace_ms, 0);
	ck_assert_uint_eq(c->broker.tcp_keepalive_ms, 60000);
	ck_assert_ptr_null(c->broker.user);
	ck_assert_int_eq(c->broker.loc.line, 0);

	ck_assert_int_eq(l->min_tls, TLS1_2_VERSION);
	ck_assert_ptr_null(l->ciphers);
	ck_assert_ptr_null(l->ciphersuites);
	ck_assert_ptr_null(l->key);
	ck_assert_ptr_null(l->client_ca);
	ck_assert_uint_eq(l->allow.count, 0);
	ck_assert_int_eq(l->proxy_protocol, PROXY_MODE_OFF);
	ck_assert_uint_eq(l->proxy_trusted.count, 0);
	ck_assert_uint_eq(l->handshake_timeout_ms, 10000);
	ck_assert_uint_eq(l->keepalive_timeout_ms, 120000);

	/* the only listener is the default */
	ck_assert_str_eq(r->listener, "erp");
	ck_assert_uint_eq(r->listener_index, 0);
	ck_assert_int_eq(r->at[ROUTE_KEY_LISTENER].line, 0);
	ck_assert_int_eq(r->mode, ROUTE_MODE_HTTP);
	ck_assert_ptr_null(r->host);
	ck_assert_ptr_null(r->path);
	ck_assert(!r->up_tls.off);
	ck_assert_int_eq(r->up_tls.min, TLS1_2_VERSION);
	ck_assert_int_eq(r->up_tls.max, TLS1_3_VERSION);
	ck_assert_ptr_null(r->up_ciphers);
	ck_assert_ptr_null(r->up_ciphersuites);
	ck_assert_int_eq(r->up_security_level, -1);
	ck_assert(!r->up_legacy_renegotiation);
	ck_assert(!r->up_legacy_provider);
	ck_assert(r->up_etm);
	ck_assert_ptr_null(r->up_sni);
	ck_assert(!r->up_sni_off);
	ck_assert_int_eq(r->up_verify, VERIFY_CA);
	ck_assert_ptr_null(r->up_ca);
	ck_assert(!r->up_pin_set);
	ck_assert_ptr_null(r->up_cert);
	ck_assert_ptr_null(r->up_key);
	ck_assert_ptr_null(r->up_alpn);
	ck_assert(!r->up_alpn_off);
	ck_assert_ptr_null(r->up_host);
	ck_assert_int_eq(r->forwarded, FORWARDED_REPLACE);
	ck_assert_uint_eq(r->pool_max_idle, 16);
	ck_assert_uint_eq(r->pool_min_idle, 0);
	ck_assert_uint_eq(r->pool_idle_timeout_ms, 30000);
	ck_assert_uint_eq(r->pool_idle_check_ms, 10000);
	ck_assert_uint_eq(r->up_reuse_ack_timeout_ms, 2000);
	ck_assert_uint_eq(r->pool_max_requests, 1000);
	ck_assert_uint_eq(r->pool_max_lifetime_ms, 600000);
	ck_assert_uint_eq(r->connect_timeout_ms, 5000);
	ck_assert_uint_eq(r->handshake_timeout_ms, 10000);
	ck_assert_uint_eq(r->response_timeout_ms, 50000);
	ck_assert_uint_eq(r->idle_timeout_ms, 300000);
	ck_assert_uint_eq(r->max_buffered_body, 1048576);
	ck_assert(!r->up_chunked);
	/* one address; nginx's max_fails / fail_timeout, HAProxy's inter */
	ck_assert_uint_eq(r->nupstreams, 1);
	ck_assert_uint_eq(r->upstreams[0].weight, 1);
	ck_assert(!r->upstreams[0].backup);
	ck_assert_uint_eq(r->up_max_fails, 1);
	ck_assert_uint_eq(r->up_fail_timeout_ms, 10000);
	ck_assert_int_eq(r->health_check, HEALTH_CHECK_OFF);
	ck_assert_uint_eq(r->health_check_interval_ms, 2000);
	ck_assert_ptr_null(r->health_check_path);
	ck_assert_uint_eq(r->health_check_status, 0);
	conf_free(c);
}
END_TEST

/* upstream = a list: every address, the first one as the route's name */
START_TEST(upstream_list)
{
	struct conf *c = load_ok(BASE "[route ha]\n"
	    "upstream = erp-a.corp:443 weight=2, erp-b.corp:443, erp-dr.corp:8443 backup\n"
	    "upstream_max_fails = 3\nupstream_fail_timeout = 30s\n"
	    "health_check = http\nhealth_check_interval = 5s\n"
	    "health_check_path = /ping\nhealth_check_status = 204\n");
	const struct route_conf *r = &c->routes[0];

	ck_assert_uint_eq(r->nupstreams, 3);
	ck_assert_str_eq(r->upstream.host, "erp-a.corp");
	ck_assert_uint_eq(r->upstreams[0].weight, 2);
	ck_assert_str_eq(r->upstreams[2].hp.host, "erp-dr.corp");
	ck_assert_uint_eq(r->upstreams[2].hp.port, 8443);
	ck_assert(r->upstreams[2].backup);
	ck_assert_uint_eq(r->up_max_fails, 3);
	ck_assert_uint_eq(r->up_fail_timeout_ms, 30000);
	ck_assert_int_eq(r->health_check, HEALTH_CHECK_HTTP);
	ck_assert_uint_eq(r->health_check_interval_ms, 5000);
	ck_assert_str_eq(r->health_check_path, "/ping");
	ck_assert_uint_eq(r->health_check_status, 204);
	conf_free(c);
}
END_TEST

START_TEST(auto_and_strs)
{
	struct conf *c = load_ok("[broker]\nworkers = auto\nmax_connections = auto\n"
	    "log_level = warning\nadmin = [::1]:9180\n" BASE "[route r]\nupstream = h:1\n");

	ck_assert_uint_eq(c->broker.workers, 0);
	ck_assert_uint_eq(c->broker.max_connections, 0);
	ck_assert_int_eq(c->broker.log_level, LOG_LVL_WARNING);
	ck_assert_str_eq(c->broker.admin.host, "::1");
	conf_free(c);
	c = load_ok("[broker]\ntcp_keepalive = off\n" BASE "[route r]\nupstream = h:1\n");
	ck_assert_uint_eq(c->broker.tcp_keepalive_ms, 0);
	conf_free(c);
	c = load_ok("[broker]\ntcp_keepalive = 30s\n" BASE "[route r]\nupstream = h:1\n");
	ck_assert_uint_eq(c->broker.tcp_keepalive_ms, 30000);
	conf_free(c);
	c = load_ok(BASE "[route r]\nupstream = h:1\npool_idle_check = off\n"
	    "upstream_reuse_ack_timeout = off\n[route s]\nupstream = h:2\nhost = s.example\n"
	    "pool_idle_check = 3s\nupstream_reuse_ack_timeout = 750ms\n");
	ck_assert_uint_eq(c->routes[0].pool_idle_check_ms, 0);
	ck_assert_uint_eq(c->routes[0].up_reuse_ack_timeout_ms, 0);
	ck_assert_uint_eq(c->routes[1].pool_idle_check_ms, 3000);
	ck_assert_uint_eq(c->routes[1].up_reuse_ack_timeout_ms, 750);
	conf_free(c);
	ck_assert_str_eq(log_level_str(LOG_LVL_ERROR), "error");
	ck_assert_str_eq(log_level_str(LOG_LVL_WARNING), "warning");
	ck_assert_str_eq(log_level_str(LOG_LVL_NOTICE), "notice");
	ck_assert_str_eq(log_level_str(LOG_LVL_INFO), "info");
	ck_assert_str_eq(log_level_str(LOG_LVL_DEBUG), "debug");
	ck_assert_str_eq(route_mode_str(ROUTE_MODE_TCP), "tcp");
	ck_assert_str_eq(route_mode_str(ROUTE_MODE_HTTP), "http");
}
END_TEST

/* forwarded = replace | append | off; the booleans of old are replace and off. */
START_TEST(forwarded_modes)
{
	static const struct {
		const char *value;
		enum forwarded_mode want;
	} cases[] = {
		{ "replace", FORWARDED_REPLACE }, { "append", FORWARDED_APPEND },
		{ "off", FORWARDED_OFF }, { "yes", FORWARDED_REPLACE },
		{ "no", FORWARDED_OFF }, { "true", FORWARDED_REPLACE },
	};
	char text[256];
	struct conf *c;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), BASE "[route r]\nupstream = h:1\n"
		    "forwarded = %s\n", cases[i].value);
		c = load_ok(text);
		ck_assert_msg(c->routes[0].forwarded == cases[i].want, "%s -> %s",
		    cases[i].value, forwarded_mode_str(c->routes[0].forwarded));
		conf_free(c);
	}
	ck_assert_str_eq(forwarded_mode_str(FORWARDED_REPLACE), "replace");
	ck_assert_str_eq(forwarded_mode_str(FORWARDED_APPEND), "append");
	ck_assert_str_eq(forwarded_mode_str(FORWARDED_OFF), "off");
}
END_TEST

/* ---- syntax: comments, blanks, CRLF, BOM, indentation --------------------- */

START_TEST(syntax)
{
	struct conf *c;

	c = load_ok("\xef\xbb\xbf; BOM first\r\n"
	    "[listener erp]  ; comment after a header\r\n"
	    "  bind = *:443\r\n"
	    "\tcert = /dev/null\r\n"
	    "\r\n"
	    "# hash comment\r\n"
	    "   ; indented comment\r\n"
	    "[ route r ]\r\n"
	    "upstream=h:1 ; inline comment\r\n"
	    "upstream_ciphers = A;B\r\n"
	    "upstream_ciphersuites: X\r\n"
	    "upstream_host = a ;\r\n"
	    "upstream_tls = 1.0 - 1.2");	/* no final newline */
	ck_assert_str_eq(c->routes[0].name, "r");
	ck_assert_int_eq(c->routes[0].loc.line, 8);
	ck_assert_str_eq(c->routes[0].upstream.host, "h");
	ck_assert_int_eq(c->routes[0].at[ROUTE_KEY_UPSTREAM].line, 9);
	ck_assert_str_eq(c->routes[0].up_ciphers, "A;B");	/* ';' without a blank before */
	ck_assert_str_eq(c->routes[0].up_ciphersuites, "X");
	ck_assert_str_eq(c->routes[0].up_host, "a");
	ck_assert_int_eq(c->routes[0].up_tls.max, TLS1_2_VERSION);
	conf_free(c);
	/* a second BOM is part of the key, as inih would not see it */
	EXPECT("\xef\xbb\xbf\r\xef\xbb\xbfworkers = 1\n", false,
	    "t.ini:1: \xef\xbb\xbfworkers: key outside a section; keys go under [broker], [listener NAME] or [route NAME]");
	/* indentation never continues a value */
	EXPECT(BASE "[route r]\nupstream = h:1\nupstream_ciphers = A\n    B\n", false,
	    "t.ini:7: 'B' is not 'key = value', a [section] or a comment");
}
END_TEST

/* ---- every load error, exact text -------------------------------------- */

static const struct {
	const char *text;
	const char *want[4];
} load_errors[] = {
	/* config-spec.md's examples */
	{ BASE "[route payroll]\nupstream = a:1\nupstream_tls = 1.4\n",
	  { "t.ini:6: [route payroll] upstream_tls: '1.4' is not one of off, 1.0, 1.1, 1.2, 1.3 or a range like 1.0-1.2" } },
	{ BASE "[route payroll]\nmode = tcp\n",
	  { "t.ini:4: [route payroll] upstream: required key missing (host:port of the endpoint)" } },
	{ "[listener erp]\nbind = *:443\ncert = /dev/null\nmin_tls = 1.0\n",
	  { "t.ini:4: [listener erp] min_tls: '1.0' is below 1.2; inbound never accepts less than TLS 1.2 (allowed: 1.2, 1.3)" } },
	{ BASE "\n[foo]\nx = 1\n",
	  { "t.ini:5: unknown section [foo]; sections are [broker], [listener NAME], [route NAME]" } },
	{ BASE "[route x]\nupstream = a:1 weight=0, b:1\n",
	  { "t.ini:5: [route x] upstream: a: the weight must be a number from 1 to 100" } },
	{ BASE "[route x]\nupstream = a:1 backup\n",
	  { "t.ini:5: [route x] upstream: every address is a backup: at least one must be a primary" } },
	{ BASE "[route x]\nupstream = a:1\nupstream_max_fails = -1\nupstream_fail_timeout = 0\n"
	  "health_check = ping\nhealth_check_status = 700\n",
	  { "t.ini:6: [route x] upstream_max_fails: '-1' is not a number from 0 to 1000",
	    "t.ini:7: [route x] upstream_fail_timeout: '0': must be more than 0",
	    "t.ini:8: [route x] health_check: 'ping' is not one of off, tls, http",
	    "t.ini:9: [route x] health_check_status: '700' is not a number from 100 to 599" } },
	{ BASE "[route x]\nupstream = a:1\ncolour = blue\n",
	  { "t.ini:6: [route x] colour: unknown key" } },
	{ BASE "[route x]\nupstream = a:1\n[route x]\nupstream = b:1\ncolour = ignored\n",
	  { "t.ini:6: [route x]: duplicate route name (first at line 4)" } },
	/* sections */
	{ BASE "[listener erp]\n",
	  { "t.ini:4: [listener erp]: duplicate listener name (first at line 1)" } },
	{ "[broker]\n[broker]\n" BASE,
	  { "t.ini:2: [broker]: duplicate section (first at line 1)" } },
	{ "[broker main]\n" BASE,
	  { "t.ini:1: [broker main]: [broker] takes no name" } },
	{ BASE "[route]\n",
	  { "t.ini:4: [route] needs a name: [route NAME]" } },
	{ BASE "[route a/b]\nupstream = h:1\n",
	  { "t.ini:4: [route a/b]: a name may only contain letters, digits, '_', '.' and '-'" } },
	{ BASE "[route pay roll]\n",
	  { "t.ini:4: [route pay roll]: a name may only contain letters, digits, '_', '.' and '-'" } },
	{ BASE "[route x\n",
	  { "t.ini:4: '[route x': a section header needs a closing ']'" } },
	{ BASE "[route x] y\n",
	  { "t.ini:4: '[route x] y': unexpected text after ']'" } },
	{ BASE "[Route x]\n",
	  { "t.ini:4: unknown section [Route x]; sections are [broker], [listener NAME], [route NAME]" } },
	/* lines and keys */
	{ "workers = 4\n" BASE,
	  { "t.ini:1: workers: key outside a section; keys go under [broker], [listener NAME] or [route NAME]" } },
	{ BASE "just words\n",
	  { "t.ini:4: 'just words' is not 'key = value', a [section] or a comment" } },
	{ BASE "bind ; = *:443\n",
	  { "t.ini:4: 'bind ; = *:443' is not 'key = value', a [section] or a comment" } },
	{ BASE "= 5\n",
	  { "t.ini:4: [listener erp]: a key name is missing before '='" } },
	{ BASE "[route x]\nupstream = a:1\nupstream = b:1\n",
	  { "t.ini:6: [route x] upstream: duplicate key (first at line 5)" } },
	{ "[broker]\nbind = *:443\n" BASE,
	  { "t.ini:2: [broker] bind: unknown key; it belongs in [listener NAME]" } },
	{ BASE "upstream = h:1\n",
	  { "t.ini:4: [listener erp] upstream: unknown key; it belongs in [route NAME]" } },
	{ BASE "[route r]\nupstream = h:1\nworkers = 2\n",
	  { "t.ini:6: [route r] workers: unknown key; it belongs in [broker]" } },
	/* required keys */
	{ "[listener erp]\n",
	  { "t.ini:1: [listener erp] bind: required key missing (address to listen on, like *:443 or [::]:443)",
	    "t.ini:1: [listener erp] cert: required key missing (PEM file with the certificate chain and key)" } },
	{ BASE "[listener b]\nbind = *:444\ncert = /dev/null\n[route x]\nupstream = h:1\n",
	  { "t.ini:7: [route x] listener: required key missing (this file has 2 listeners: erp, b)" } },
	{ "[route x]\nupstream = h:1\n",
	  { "t.ini:1: [route x] listener: required key missing (no [listener NAME] in this file)" } },
	/* bad values, one per parser */
	{ "[broker]\nworkers = 0\n",
	  { "t.ini:2: [broker] workers: '0' is not auto or a number from 1 to 64" } },
	{ "[route -]\nupstream = h:1\n",
	  { "t.ini:1: [route -]: '-' is reserved (it stands for \"no route\" in metrics)" } },
	/* above 64 the metrics would have no block for the worker */
	{ "[broker]\nworkers = 65\n",
	  { "t.ini:2: [broker] workers: '65' is not auto or a number from 1 to 64" } },
	{ "[broker]\nmax_connections = 1000001\n",
	  { "t.ini:2: [broker] max_connections: '1000001' is not auto or a number from 1 to 1000000" } },
	{ "[broker]\nlog_level = loud\n",
	  { "t.ini:2: [broker] log_level: 'loud' is not one of debug, info, notice, warning, error" } },
	{ "[broker]\ndrain_timeout = 5x\n",
	  { "t.ini:2: [broker] drain_timeout: '5x' is not a duration like 250ms, 5s, 2m, 1h (a bare number is seconds)" } },
	{ "[broker]\nadmin = localhost\n",
	  { "t.ini:2: [broker] admin: 'localhost' has no port; expected host:port" } },
	{ "[broker]\naudit_log =\n",
	  { "t.ini:2: [broker] audit_log: empty value" } },
	{ "[broker]\naudit_log = /var/log/my audit.log\n",
	  { "t.ini:2: [broker] audit_log: '/var/log/my audit.log' contains a blank or control character" } },
	{ "[listener erp]\nbind = *:0\ncert = /dev/null\n",
	  { "t.ini:2: [listener erp] bind: '*:0': port '0' is not a number from 1 to 65535" } },
	{ "[listener erp]\nbind = ::1:443\ncert = /dev/null\n",
	  { "t.ini:2: [listener erp] bind: '::1:443': an IPv6 address needs brackets, like [2001:db8::1]:443" } },
	{ BASE "min_tls = 1.4\n",
	  { "t.ini:4: [listener erp] min_tls: '1.4' is not one of 1.2, 1.3" } },
	{ BASE "allow = 10.1.2.3/8\n",
	  { "t.ini:4: [listener erp] allow: '10.1.2.3/8' has host bits set; did you mean 10.0.0.0/8?" } },
	{ BASE "proxy_protocol = v2\n",
	  { "t.ini:4: [listener erp] proxy_protocol: 'v2' is not one of off, on, optional" } },
	{ BASE "proxy_protocol = on\nproxy_trusted = 10.0.0.1/8\n",
	  { "t.ini:5: [listener erp] proxy_trusted: '10.0.0.1/8' has host bits set; did you mean 10.0.0.0/8?" } },
	{ "[broker]\ndrain_grace = soon\n",
	  { "t.ini:2: [broker] drain_grace: 'soon' is not a duration like 250ms, 5s, 2m, 1h (a bare number is seconds)" } },
	{ BASE "handshake_timeout = 0\n",
	  { "t.ini:4: [listener erp] handshake_timeout: '0': must be more than 0" } },
	{ BASE "cert = /dev/null /dev/null /dev/null /dev/null /dev/null /dev/null /dev/null /dev/null /dev/null /dev/null /dev/null /dev/null /dev/null /dev/null /dev/null /dev/null\n",
	  { "t.ini:4: [listener erp] cert: more than 16 certificates" } },
	{ BASE "[route r]\nupstream = h:1\nmode = udp\n",
	  { "t.ini:6: [route r] mode: 'udp' is not one of http, tcp" } },
	{ BASE "[route r]\nupstream = h:1\nlistener = a/b\n",
	  { "t.ini:6: [route r] listener: 'a/b' is not a listener name (letters, digits, '_', '.', '-')" } },
	{ BASE "[route r]\nupstream = h:1\nhost = a.*.example\n",
	  { "t.ini:6: [route r] host: 'a.*.example' is not a host name like api.example.com or *.example.com (leave host out to match any)" } },
	{ BASE "[route r]\nupstream = h:1\npath = soap/\n",
	  { "t.ini:6: [route r] path: 'soap/' is not a path prefix starting with / (no blanks)" } },
	{ BASE "[route r]\nupstream = h:1\nupstream_security_level = 6\n",
	  { "t.ini:6: [route r] upstream_security_level: '6' is not a number from 0 to 5" } },
	{ BASE "[route r]\nupstream = h:1\nupstream_legacy_renegotiation = maybe\n",
	  { "t.ini:6: [route r] upstream_legacy_renegotiation: 'maybe' is not one of yes, no, true, false, on, off, 1, 0" } },
	{ BASE "[route r]\nupstream = h:1\nupstream_sni = a..b\n",
	  { "t.ini:6: [route r] upstream_sni: 'a..b' is not a host name or off" } },
	{ BASE "[route r]\nupstream = h:1\nforwarded = prepend\n",
	  { "t.ini:6: [route r] forwarded: 'prepend' is not one of replace, append, off" } },
	{ BASE "[route r]\nupstream = h:1\nupstream_verify = strict\n",
	  { "t.ini:6: [route r] upstream_verify: 'strict' is not one of ca, pin, off" } },
	{ BASE "[route r]\nupstream = h:1\nupstream_pin = sha256//abc\n",
	  { "t.ini:6: [route r] upstream_pin: 'sha256//abc' is not a pin like sha256//BASE64 (44 base64 characters: SHA-256 of the public key)" } },
	{ BASE "[route r]\nupstream = h:1\nupstream_alpn = http/1.1,,h2\n",
	  { "t.ini:6: [route r] upstream_alpn: 'http/1.1,,h2' is not a comma list of protocol names (like http/1.1) or off" } },
	{ BASE "[route r]\nupstream = h:1\npool_max_idle = 10001\n",
	  { "t.ini:6: [route r] pool_max_idle: '10001' is not a number from 0 to 10000" } },
	{ BASE "[route r]\nupstream = h:1\npool_idle_check = soon\n",
	  { "t.ini:6: [route r] pool_idle_check: 'soon' is not a duration like 250ms, 5s, 2m, 1h (a bare number is seconds)" } },
	{ BASE "[route r]\nupstream = h:1\nupstream_reuse_ack_timeout = 2x\n",
	  { "t.ini:6: [route r] upstream_reuse_ack_timeout: '2x' is not a duration like 250ms, 5s, 2m, 1h (a bare number is seconds)" } },
	{ BASE "[route r]\nupstream = h:1\npool_max_requests = 0\n",
	  { "t.ini:6: [route r] pool_max_requests: '0' is not a number from 1 to 10000000" } },
	{ BASE "[route r]\nupstream = h:1\nmax_buffered_body = 1t\n",
	  { "t.ini:6: [route r] max_buffered_body: '1t' is not a size like 512, 64k, 1m, 1g (bytes; k = 1024)" } },
	{ BASE "[route r]\nupstream = h:1\nupstream_ciphers =\n",
	  { "t.ini:6: [route r] upstream_ciphers: empty value" } },
	/* a bad value still counts as given: no "required key missing" too */
	{ BASE "[route r]\nupstream = h\n",
	  { "t.ini:5: [route r] upstream: 'h' has no port; expected host:port" } },
	{ BASE "allow = 10.0.0.0/8 servicetag:/x.json\n[route r]\nupstream = h:1\n",
	  { "t.ini:4: [listener erp] allow: 'servicetag:/x.json' is not servicetag:FILE:TAG, "
	    "like servicetag:/etc/tlsbroker/ServiceTags_Public.json:PowerPlatformPlex.WestEurope" } },
	{ BASE "[route r]\nupstream = h:1\nsecret_header = X Secret\n",
	  { "t.ini:6: [route r] secret_header: 'X Secret' is not a header field name like X-ERP-Secret" } },
	/* keys of a bad section are skipped, not reported one by one */
	{ BASE "[rout r]\nupstream = h:1\ncolour = x\n",
	  { "t.ini:4: unknown section [rout r]; sections are [broker], [listener NAME], [route NAME]" } },
};

START_TEST(load_error)
{
	const char *const *want = load_errors[_i].want;

	expect(load_errors[_i].text, false, (const char *const[]){
		want[0], want[1], want[2], want[3], NULL });
}
END_TEST

START_TEST(multiple_errors)
{
	EXPECT("[broker]\n"
	    "workers = many\n"			/* 2 */
	    "[listener erp]\n"			/* 3 */
	    "bind = *:443\n"
	    "min_tls = 1.1\n"			/* 5 */
	    "[route a]\n"			/* 6 */
	    "colour = red\n"			/* 7 */
	    "[route b]\n"
	    "upstream = h:1\n"
	    "upstream_tls = 1.3-1.0\n"		/* 10 */
	    "[mystery]\n",			/* 11 */
	    false,
	    "t.ini:2: [broker] workers: 'many' is not auto or a number from 1 to 64",
	    "t.ini:5: [listener erp] min_tls: '1.1' is below 1.2; inbound never accepts less than TLS 1.2 (allowed: 1.2, 1.3)",
	    "t.ini:7: [route a] colour: unknown key",
	    "t.ini:10: [route b] upstream_tls: '1.3-1.0' is a reversed range; write the lower version first (1.0-1.3)",
	    "t.ini:11: unknown section [mystery]; sections are [broker], [listener NAME], [route NAME]",
	    "t.ini:3: [listener erp] cert: required key missing (PEM file with the certificate chain and key)",
	    "t.ini:6: [route a] upstream: required key missing (host:port of the endpoint)");
}
END_TEST

START_TEST(errors_with_check_errors)
{
	/* after parse errors conf_load still runs the checks that make sense */
	EXPECT(BASE
	    "[route a]\n"			/* 4 */
	    "listener = nowhere\n"		/* 5 */
	    "upstream = h:1\n"
	    "upstream_tls = 1.4\n"		/* 7 */
	    "[route b]\n"			/* 8 */
	    "upstream = h:2\n"
	    "host = b.example\n"
	    "upstream_key = /dev/null\n"	/* 11 */
	    "upstream_cert = /nonexistent/c.pem\n"	/* 12 */
	    "[route c]\n"			/* 13 */
	    "host = c.example\n"
	    "upstream = h:3\n"
	    "upstream_verify = strict\n"	/* 16: bad, so no pin/verify complaint */
	    "upstream_pin = sha256//AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
	    "pool_max_idle = -1\n"		/* 18 */
	    "pool_min_idle = 4\n"
	    "upstream_ca = /nonexistent/ca.pem\n",	/* 20: files are still checked */
	    false,
	    "t.ini:7: [route a] upstream_tls: '1.4' is not one of off, 1.0, 1.1, 1.2, 1.3 or a range like 1.0-1.2",
	    "t.ini:16: [route c] upstream_verify: 'strict' is not one of ca, pin, off",
	    "t.ini:18: [route c] pool_max_idle: '-1' is not a number from 0 to 10000",
	    "t.ini:5: [route a] listener: no [listener nowhere] in this file (listeners: erp)",
	    "t.ini:12: [route b] upstream_cert: '/nonexistent/c.pem': cannot read: No such file or directory",
	    "t.ini:20: [route c] upstream_ca: '/nonexistent/ca.pem': cannot read: No such file or directory");
	/* no "no [route NAME] section" when the route header itself was bad */
	EXPECT(BASE "[route a b]\nupstream = h:1\n", false,
	    "t.ini:4: [route a b]: a name may only contain letters, digits, '_', '.' and '-'");
}
END_TEST

/* ---- long lines through inih 55's 200-byte buffer ----------------------- */

START_TEST(long_line_ok)
{
	char *line = long_line("upstream_ciphers", 600), *text;
	struct conf *c;
	size_t n;

	n = strlen(BASE) + strlen(line) + 64;
	text = malloc(n);
	ck_assert_ptr_nonnull(text);
	snprintf(text, n, BASE "[route r]\nupstream = h:1\n%s ; comment\nmode = tcp\n", line);
	c = load_ok(text);
	ck_assert_uint_eq(strlen(c->routes[0].up_ciphers), 600 - strlen("upstream_ciphers = "));
	ck_assert_str_eq(c->routes[0].up_ciphers, line + strlen("upstream_ciphers = "));
	ck_assert_int_eq(c->routes[0].at[ROUTE_KEY_UPSTREAM_CIPHERS].line, 6);
	ck_assert_int_eq(c->routes[0].mode, ROUTE_MODE_TCP);
	ck_assert_int_eq(c->routes[0].at[ROUTE_KEY_MODE].line, 7);
	conf_free(c);

	/* the next error still has its own line number */
	snprintf(text, n, BASE "[route r]\nupstream = h:1\n%s\n\nupstream_tls = 1.4\n", line);
	EXPECT(text, false, "t.ini:8: [route r] upstream_tls: '1.4' is not one of off, 1.0, 1.1, 1.2, 1.3 or a range like 1.0-1.2");
	free(text);
	free(line);
}
END_TEST

START_TEST(long_line_limits)
{
	char *ok = long_line("upstream_ciphers", CONF_MAX_LINE);
	char *bad = long_line("upstream_ciphers", CONF_MAX_LINE + 1);
	char *typo = long_line("upstream_cipherz", 600);
	char *text;
	size_t n = 3000;

	text = malloc(n);
	ck_assert_ptr_nonnull(text);
	/* exactly 1024 bytes, with CRLF: fine */
	snprintf(text, n, BASE "[route r]\nupstream = h:1\n%s\r\n", ok);
	EXPECT_OK(text, true);
	snprintf(text, n, BASE "[route r]\nupstream = h:1\n%s\n", bad);
	EXPECT(text, false, "t.ini:6: line too long (1025 bytes, at most 1024)");
	/* a long line that is bad in itself reports like a short one */
	snprintf(text, n, BASE "[route r]\nupstream = h:1\n%s\n", typo);
	EXPECT(text, false, "t.ini:6: [route r] upstream_cipherz: unknown key");
	free(text);
	free(ok);
	free(bad);
	free(typo);
}
END_TEST

START_TEST(long_line_too_long)
{
	char *line = long_line("upstream_ciphers", 2000), *text;
	size_t n = 5000;

	text = malloc(n);
	ck_assert_ptr_nonnull(text);
	snprintf(text, n, BASE "[route r]\nupstream = h:1\n%s\nmode = udp\n;\n%s\nupstream_tls = 2\n",
	    line, line);
	EXPECT(text, false,
	    "t.ini:6: line too long (2000 bytes, at most 1024)",
	    "t.ini:7: [route r] mode: 'udp' is not one of http, tcp",
	    "t.ini:9: line too long (2000 bytes, at most 1024)",
	    "t.ini:10: [route r] upstream_tls: '2' is not one of off, 1.0, 1.1, 1.2, 1.3 or a range like 1.0-1.2");
	/* a long comment is still a long line */
	memset(line, ';', 1500);
	line[1500] = '\0';
	snprintf(text, n, BASE "%s\n[route r]\nupstream = h:1\nmode = udp\n", line);
	EXPECT(text, false,
	    "t.ini:4: line too long (1500 bytes, at most 1024)",
	    "t.ini:7: [route r] mode: 'udp' is not one of http, tcp");
	free(text);
	free(line);
}
END_TEST

START_TEST(long_section_name)
{
	char name[301], text[1000];
	struct conf *c;

	/* inih 55 would cut section names at 49 bytes */
	memset(name, 'n', 300);
	name[300] = '\0';
	snprintf(text, sizeof(text), BASE "[route %s]\nupstream = h:1\n", name);
	c = load_ok(text);
	ck_assert_str_eq(c->routes[0].name, name);
	conf_free(c);
	snprintf(text, sizeof(text), BASE "[route %s]\nupstream = h:1\n[route %s]\n", name, name);
	c = conf_load_string("t.ini", text, NULL);
	ck_assert_ptr_null(c);
}
END_TEST

/* ---- conf_check --------------------------------------------------------- */

static const struct {
	const char *text;
	const char *want[4];
} check_errors[] = {
	{ BASE "[listener b]\nbind = *:444\ncert = /dev/null\n[route x]\nlistener = y\nupstream = h:1\n",
	  { "t.ini:8: [route x] listener: no [listener y] in this file (listeners: erp, b)" } },
	{ BASE "[route a]\nupstream = h:1\nhost = A.example\npath = /x/\n"
	  "[route b]\nupstream = h:2\nhost = a.example\npath = /x/\n",
	  { "t.ini:8: [route b]: same listener, mode, host and path as [route a] (line 4); one of them could never be chosen" } },
	{ BASE "[route a]\nmode = tcp\nupstream = h:1\n[route b]\nmode = tcp\nupstream = h:2\n",
	  { "t.ini:7: [route b]: same listener, mode, host and path as [route a] (line 4); one of them could never be chosen" } },
	{ BASE "[route a]\nmode = tcp\nupstream = h:1\npath = /x\nupstream_host = a\nforwarded = yes\nmax_buffered_body = 1k\n",
	  { "t.ini:7: [route a] path: only in mode = http (this route is tcp)",
	    "t.ini:8: [route a] upstream_host: only in mode = http (this route is tcp)",
	    "t.ini:9: [route a] forwarded: only in mode = http (this route is tcp)",
	    "t.ini:10: [route a] max_buffered_body: only in mode = http (this route is tcp)" } },
	{ BASE "[route a]\nupstream = h:1\nhealth_check = tls\nhealth_check_path = /x\nhealth_check_status = 200\n",
	  { "t.ini:7: [route a] health_check_path: only with health_check = http",
	    "t.ini:8: [route a] health_check_status: only with health_check = http" } },
	{ BASE "[route a]\nmode = tcp\nupstream = h:1\nupstream_chunked = no\n",
	  { "t.ini:7: [route a] upstream_chunked: only in mode = http (this route is tcp)" } },
	{ BASE "[route a]\nupstream = h:1\nupstream_verify = pin\n",
	  { "t.ini:6: [route a] upstream_verify: 'pin' needs upstream_pin = sha256//BASE64" } },
	{ BASE "[route a]\nupstream = h:1\nupstream_verify = ca\n"
	  "upstream_pin = sha256//AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
	  { "t.ini:7: [route a] upstream_pin: only with upstream_verify = pin (this route has upstream_verify = ca)" } },
	{ BASE "[route a]\nupstream = h:1\nupstream_verify = off\n"
	  "upstream_pin = sha256//AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
	  { "t.ini:7: [route a] upstream_pin: only with upstream_verify = pin (this route has upstream_verify = off)" } },
	{ BASE "[route a]\nupstream = h:1\nupstream_verify = off\nupstream_ca = /dev/null\n",
	  { "t.ini:7: [route a] upstream_ca: only with upstream_verify = ca (this route has upstream_verify = off)" } },
	{ BASE "[route a]\nupstream = h:1\nupstream_tls = off\nupstream_ciphers = ALL\nupstream_ca = /dev/null\n"
	  "upstream_legacy_renegotiation = yes\nupstream_cert = /dev/null\n",
	  { "t.ini:7: [route a] upstream_ciphers: only with upstream_tls other than off",
	    "t.ini:9: [route a] upstream_legacy_renegotiation: only with upstream_tls other than off",
	    "t.ini:8: [route a] upstream_ca: only with upstream_tls other than off",
	    "t.ini:10: [route a] upstream_cert: only with upstream_tls other than off" } },
	{ BASE "[route a]\nupstream = h:1\nupstream_tls = off\nupstream_pin = sha256//AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
	  "upstream_legacy_provider = no\nupstream_key = /dev/null\n",
	  { "t.ini:8: [route a] upstream_legacy_provider: only with upstream_tls other than off",
	    "t.ini:7: [route a] upstream_pin: only with upstream_tls other than off",
	    "t.ini:9: [route a] upstream_key: only with upstream_tls other than off" } },
	{ BASE "[route a]\nupstream = h:1\nupstream_tls = off\nupstream_encrypt_then_mac = no\n",
	  { "t.ini:7: [route a] upstream_encrypt_then_mac: only with upstream_tls other than off" } },
	{ BASE "[route a]\nupstream = h:1\nupstream_encrypt_then_mac = sometimes\n",
	  { "t.ini:6: [route a] upstream_encrypt_then_mac: 'sometimes' is not one of yes, no, true, false, on, off, 1, 0" } },
	{ BASE "[route a]\nupstream = h:1\nupstream_key = /dev/null\n",
	  { "t.ini:6: [route a] upstream_key: needs upstream_cert (the client certificate it belongs to)" } },
	{ "[listener erp]\nbind = *:443\ncert = /dev/null /dev/null\nkey = /dev/null\n[route a]\nupstream = h:1\n",
	  { "t.ini:4: [listener erp] key: only with exactly one cert (this listener has 2; put each key in its cert file)" } },
	{ BASE "[route a]\nupstream = h:1\npool_min_idle = 20\n",
	  { "t.ini:6: [route a] pool_min_idle: 20 is more than pool_max_idle (16)" } },
	{ BASE "[route a]\nupstream = h:1\npool_max_idle = 0\n",
	  { NULL } },
	{ "[listener erp]\nbind = *:443\ncert = /nonexistent/a.pem\nkey = /nonexistent/a.key\nclient_ca = /\n"
	  "[route a]\nupstream = h:1\nupstream_ca = /nonexistent/ca.pem\n",
	  { "t.ini:3: [listener erp] cert: '/nonexistent/a.pem': cannot read: No such file or directory",
	    "t.ini:4: [listener erp] key: '/nonexistent/a.key': cannot read: No such file or directory",
	    "t.ini:5: [listener erp] client_ca: '/': cannot read: a directory, not a regular file",
	    "t.ini:8: [route a] upstream_ca: '/nonexistent/ca.pem': cannot read: No such file or directory" } },
	{ BASE "cert = /nonexistent/second.pem\n[route a]\nupstream = h:1\n",
	  { "t.ini:4: [listener erp] cert: '/nonexistent/second.pem': cannot read: No such file or directory" } },
	{ BASE "[route a]\nupstream = h:1\nupstream_cert = /nonexistent/c.pem\nupstream_key = /nonexistent/c.key\n",
	  { "t.ini:6: [route a] upstream_cert: '/nonexistent/c.pem': cannot read: No such file or directory",
	    "t.ini:7: [route a] upstream_key: '/nonexistent/c.key': cannot read: No such file or directory" } },
	{ "[broker]\nadmin = 10.0.0.1:9180\n" BASE "[route a]\nupstream = h:1\n",
	  { "t.ini:2: [broker] admin: '10.0.0.1' is not a loopback address; the admin endpoint listens on 127.0.0.0/8 or ::1 only" } },
	{ "[broker]\nadmin = localhost:9180\n" BASE "[route a]\nupstream = h:1\n",
	  { "t.ini:2: [broker] admin: 'localhost' is not a loopback address; the admin endpoint listens on 127.0.0.0/8 or ::1 only" } },
	{ "[broker]\nadmin = [::2]:9180\n" BASE "[route a]\nupstream = h:1\n",
	  { "t.ini:2: [broker] admin: '::2' is not a loopback address; the admin endpoint listens on 127.0.0.0/8 or ::1 only" } },
	{ "[broker]\nadmin = 127.0.0.9:9180\n" BASE "[route a]\nupstream = h:1\n",
	  { NULL } },
	{ "[broker]\nadmin = [::ffff:127.0.0.1]:9180\n" BASE "[route a]\nupstream = h:1\n",
	  { NULL } },
	{ "[broker]\nuser = no-such-user-tlsbroker\n" BASE "[route a]\nupstream = h:1\n",
	  { "t.ini:2: [broker] user: no such user 'no-such-user-tlsbroker'" } },
	{ BASE "[listener b]\nbind = 0.0.0.0:443\ncert = /dev/null\n[route a]\nlistener = b\nupstream = h:1\n",
	  { "t.ini:5: [listener b] bind: same address as [listener erp] (line 1)" } },
	{ BASE "allow = servicetag:" TEST_SRCDIR "/tests/data/ServiceTags_Public.json:NoSuchTag\n"
	  "allow = servicetag:/nonexistent/tags.json:PowerPlatformPlex\n[route a]\nupstream = h:1\n",
	  { "t.ini:4: [listener erp] allow: " TEST_SRCDIR "/tests/data/ServiceTags_Public.json: "
	    "no tag NoSuchTag among its 6 tags, changeNumber 312 (names are like PowerPlatformPlex.WestEurope)",
	    "t.ini:5: [listener erp] allow: /nonexistent/tags.json: cannot read: No such file or directory" } },
	{ BASE "[route a]\nupstream = h:1\nsecret_header = X-S\n",
	  { "t.ini:6: [route a] secret_header: needs secret_file (the file holding the value)" } },
	{ BASE "[route a]\nupstream = h:1\nsecret_file = /dev/null\n",
	  { "t.ini:6: [route a] secret_file: needs secret_header (the name of the header that carries it)" } },
	{ BASE "[route a]\nupstream = h:1\nsecret_header = X-S\nsecret_file = /dev/null\n",
	  { "t.ini:7: [route a] secret_file: '/dev/null': not a regular file" } },
	{ BASE "[route a]\nmode = tcp\nupstream = h:1\nsecret_header = X-S\nsecret_file = /dev/null\n",
	  { "t.ini:7: [route a] secret_header: only in mode = http (this route is tcp; use client_ca or allow on its listener)" } },
	{ "; nothing\n",
	  { "t.ini: no [listener NAME] section; at least one is needed",
	    "t.ini: no [route NAME] section; at least one is needed" } },
	{ BASE,
	  { "t.ini: no [route NAME] section; at least one is needed" } },
	/* a PROXY header names the caller: only listed balancers may send one */
	{ BASE "proxy_protocol = on\n[route a]\nupstream = h:1\n",
	  { "t.ini:4: [listener erp] proxy_protocol: needs proxy_trusted = the balancers' addresses (CIDRs): a PROXY header names the caller, so only they may send one" } },
	{ BASE "allow = 10.0.0.0/8\nproxy_trusted = 192.0.2.1\nproxy_trusted = 192.0.2.2\n[route a]\nupstream = h:1\n",
	  { "t.ini:5: [listener erp] proxy_trusted: has no effect with proxy_protocol = off (set it to on or optional)" } },
	{ BASE "proxy_trusted = 192.0.2.1 192.0.2.2\nproxy_trusted = 2001:db8::/64\nproxy_protocol = optional\n[route a]\nupstream = h:1\n",
	  { NULL } },
};

START_TEST(check_error)
{
	const char *const *want = check_errors[_i].want;

	expect(check_errors[_i].text, true, (const char *const[]){
		want[0], want[1], want[2], want[3], NULL });
}
END_TEST

START_TEST(check_derived)
{
	struct conf *c;

	/* a pin without upstream_verify means verify = pin */
	c = load_ok(BASE "[route a]\nupstream = h:1\n"
	    "upstream_pin = sha256//AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
	    "[route b]\nhost = b.example\nupstream = h:2\nupstream_tls = 1.1-1.3\n"
	    "[route c]\nhost = c.example\nupstream = h:3\nupstream_tls = 1.2\n"
	    "[route d]\nhost = d.example\nupstream = h:4\nupstream_tls = 1.0\nupstream_security_level = 2\n"
	    "[route e]\nhost = e.example\nmode = tcp\nupstream = h:5\n"
	    "[route f]\nhost = e.example\nupstream = h:6\n");
	ck_assert_int_eq(c->routes[0].up_verify, VERIFY_PIN);
	ck_assert_int_eq(c->routes[0].at[ROUTE_KEY_UPSTREAM_VERIFY].line, 0);
	ck_assert_int_eq(c->routes[0].up_security_level, -1);
	ck_assert_int_eq(c->routes[1].up_security_level, 0);
	ck_assert_int_eq(c->routes[1].up_verify, VERIFY_CA);
	ck_assert_int_eq(c->routes[2].up_security_level, -1);
	ck_assert_int_eq(c->routes[3].up_security_level, 2);
	/* same host in different modes may coexist */
	ck_assert_int_eq(c->routes[4].mode, ROUTE_MODE_TCP);
	ck_assert_int_eq(c->routes[5].mode, ROUTE_MODE_HTTP);
	conf_free(c);

	/* service tags join the allow list, with the networks of the same key */
	c = load_ok(BASE "allow = 10.0.0.0/8, servicetag:" TEST_SRCDIR
	    "/tests/data/ServiceTags_Public.json:tlsbrokertest.loopback\n"
	    "allow = servicetag:" TEST_SRCDIR "/tests/data/ServiceTags_Public.json:PowerPlatformPlex.WestEurope\n"
	    "[route a]\nupstream = h:1\n");
	ck_assert_uint_eq(c->listeners[0].nservicetags, 2);
	ck_assert_str_eq(c->listeners[0].servicetags[1].tag, "PowerPlatformPlex.WestEurope");
	ck_assert_int_eq(c->listeners[0].servicetags[1].loc.line, 5);
	ck_assert_uint_eq(c->listeners[0].servicetags[0].nprefixes, 2);
	ck_assert(c->listeners[0].servicetags[0].change_number == 312);
	ck_assert_uint_eq(c->listeners[0].allow.count, 1 + 2 + 4);
	/* checking again reads nothing twice */
	ck_assert_int_eq(conf_check(c, NULL), 0);
	ck_assert_uint_eq(c->listeners[0].allow.count, 1 + 2 + 4);
	conf_free(c);
}
END_TEST

/* ---- files ---------------------------------------------------------------- */

/* Finds a message containing every one of the NULL-terminated parts. */
static bool
has_msg(const struct conf_errors *e, const char *const *parts)
{
	unsigned i, j;

	for (i = 0; i < e->count; i++) {
		for (j = 0; parts[j] != NULL && strstr(e->msgs[i], parts[j]) != NULL; j++)
			;
		if (parts[j] == NULL)
			return true;
	}
	return false;
}

START_TEST(warnings)
{
	struct conf_errors w = { NULL, 0, 0 };
	struct timespec old[2];
	char secret[128], tags[128], *text;
	struct conf *c;
	FILE *fp;

	/* any address, no allow, no client_ca, a route without a secret */
	c = load_ok(BASE "[route a]\nupstream = h:1\n[route b]\nhost = b.test\nupstream = h:2\n");
	conf_warnings(c, &w);
	ck_assert_msg(has_msg(&w, (const char *const[]){ "t.ini:2: [listener erp] bind: "
	    "OPEN TO ANY ADDRESS: 0.0.0.0:443 has no allow list and no client_ca, and "
	    "routes a, b have no secret_header", NULL }), "%s", w.count ? w.msgs[0] : "none");
	conf_errors_free(&w);
	conf_free(c);
	/* loopback, an allow list or a client CA close it */
	c = load_ok("[listener erp]\nbind = 127.0.0.1:443\ncert = /dev/null\n[route a]\nupstream = h:1\n");
	conf_warnings(c, &w);
	ck_assert_uint_eq(w.count, 0);
	conf_free(c);
	c = load_ok(BASE "allow = 10.0.0.0/8\n[route a]\nupstream = h:1\n");
	conf_warnings(c, &w);
	ck_assert_uint_eq(w.count, 0);
	conf_free(c);

	/* a short secret in a file others can read; a stale Service Tags file */
	snprintf(secret, sizeof(secret), "%s/secret", tmpdir);
	ck_assert_ptr_nonnull(fp = fopen(secret, "w"));
	fputs("short\n", fp);
	fclose(fp);
	ck_assert_int_eq(chmod(secret, 0644), 0);
	snprintf(tags, sizeof(tags), "%s/tags.json", tmpdir);
	ck_assert_ptr_nonnull(fp = fopen(tags, "w"));
	fputs("{\"changeNumber\": 77, \"values\": [{\"name\": \"T\", \"properties\": "
	    "{\"addressPrefixes\": [\"10.0.0.0/8\"]}}]}", fp);
	fclose(fp);
	old[0].tv_sec = old[1].tv_sec = time(NULL) - 20 * 86400;
	old[0].tv_nsec = old[1].tv_nsec = 0;
	ck_assert_int_eq(utimensat(AT_FDCWD, tags, old, 0), 0);
	text = with_dir(BASE "allow = servicetag:DIR/tags.json:T\n[route a]\nupstream = h:1\n"
	    "secret_header = X-ERP-Secret\nsecret_file = DIR/secret\n");
	c = load_ok(text);
	free(text);
	ck_assert_uint_eq(c->routes[0].secret_len, 5);
	conf_warnings(c, &w);
	ck_assert_uint_eq(w.count, 3);
	ck_assert(has_msg(&w, (const char *const[]){ "t.ini:4: [listener erp] allow: ",
	    "tags.json is 20 days old (changeNumber 77)", "download it again", NULL }));
	ck_assert(has_msg(&w, (const char *const[]){ "t.ini:8: [route a] secret_file: "
	    "the secret has only 5 characters", NULL }));
	ck_assert(has_msg(&w, (const char *const[]){ "secret' is readable by group or "
	    "others (mode 644): chmod 600 it", NULL }));
	conf_errors_free(&w);
	conf_free(c);
	unlink(secret);
	unlink(tags);
}
END_TEST

START_TEST(file_load)
{
	char path[128];
	struct conf_errors errs = { NULL, 0, 0 };
	struct conf *c;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/t.ini", tmpdir);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs(BASE "[route r]\nupstream = h:1\n", fp);
	fclose(fp);
	c = conf_load(path, &errs);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->path, path);
	ck_assert_str_eq(c->routes[0].at[ROUTE_KEY_UPSTREAM].file, path);
	ck_assert_int_eq(c->routes[0].at[ROUTE_KEY_UPSTREAM].line, 5);
	conf_free(c);

	/* errors name the file as given */
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs(BASE "[route r]\nupstream = h:1\nmode = x\nbind", fp);
	fwrite("\0\n", 1, 2, fp);
	fclose(fp);
	ck_assert_ptr_null(conf_load(path, &errs));
	ck_assert_uint_eq(errs.count, 2);
	snprintf(path, sizeof(path), "%s/t.ini:6: [route r] mode: 'x' is not one of http, tcp", tmpdir);
	ck_assert_str_eq(errs.msgs[0], path);
	snprintf(path, sizeof(path), "%s/t.ini:7: line contains a NUL byte", tmpdir);
	ck_assert_str_eq(errs.msgs[1], path);
	conf_errors_free(&errs);

	ck_assert_ptr_null(conf_load("/nonexistent/tlsbroker.ini", &errs));
	ck_assert_uint_eq(errs.count, 1);
	ck_assert_str_eq(errs.msgs[0], "/nonexistent/tlsbroker.ini: cannot open: No such file or directory");
	conf_errors_free(&errs);

	ck_assert_ptr_null(conf_load(tmpdir, &errs));
	ck_assert_uint_eq(errs.count, 1);
	snprintf(path, sizeof(path), "%s: cannot open: a directory, not a regular file", tmpdir);
	ck_assert_str_eq(errs.msgs[0], path);
	conf_errors_free(&errs);
	ck_assert_uint_eq(errs.count, 0);
	ck_assert_ptr_null(errs.msgs);
}
END_TEST


/* ---- files that must not hang or spin the loader ---- */

/* path under tmpdir, in buf */
static const char *
tmp_path(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", tmpdir, name);
	return buf;
}

/* Loads path with conf_load and asserts the single error want. */
static void
load_refused(const char *path, const char *want)
{
	struct conf_errors errs = { NULL, 0, 0 };

	ck_assert_ptr_null(conf_load(path, &errs));
	ck_assert_msg(errs.count == 1 && strcmp(errs.msgs[0], want) == 0,
	    "want %s, got:%s", want, dump(&errs));
	conf_errors_free(&errs);
}

/* A FIFO hung the loader, /dev/zero spun it, /dev/urandom grew it. */
START_TEST(config_not_regular)
{
	char fifo[128], want[256];

	ck_assert_int_eq(mkfifo(tmp_path(fifo, sizeof(fifo), "fifo.ini"), 0600), 0);
	snprintf(want, sizeof(want), "%s: cannot open: a FIFO, not a regular file", fifo);
	load_refused(fifo, want);
	load_refused("/dev/zero", "/dev/zero: cannot open: a character device, not a regular file");
	load_refused("/dev/urandom",
	    "/dev/urandom: cannot open: a character device, not a regular file");
	unlink(fifo);
}
END_TEST

START_TEST(config_too_big)
{
	struct conf_errors errs = { NULL, 0, 0 };
	char path[128], want[256], *text;
	size_t n = CONF_MAX_SIZE + 2, i;
	int fd;

	/* a (sparse) file past the limit is refused before it is read */
	fd = open(tmp_path(path, sizeof(path), "big.ini"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, CONF_MAX_SIZE + 1), 0);
	close(fd);
	snprintf(want, sizeof(want), "%s: %d bytes; a configuration file has at most %d",
	    path, CONF_MAX_SIZE + 1, CONF_MAX_SIZE);
	load_refused(path, want);
	unlink(path);

	/* one that is longer to read (it grew, or a string) is read up to it */
	ck_assert_ptr_nonnull(text = malloc(n + 1));
	for (i = 0; i < n; i++)
		text[i] = i % 64 == 63 ? '\n' : ';';
	text[n] = '\0';
	ck_assert_ptr_null(conf_load_string("t.ini", text, &errs));
	ck_assert_msg(errs.count == 1 && strcmp(errs.msgs[0],
	    "t.ini: longer than 8388608 bytes; not read beyond") == 0, "got:%s", dump(&errs));
	conf_errors_free(&errs);
	free(text);
}
END_TEST

/* Garbage stops being read at CONF_MAX_ERRORS errors; one notice follows. */
START_TEST(too_many_errors)
{
	struct conf_errors errs = { NULL, 0, 0 };
	char *text, want[128];
	size_t i, n = 5000;

	ck_assert_ptr_nonnull(text = malloc(n * 8 + 1));
	for (i = 0; i < n; i++)
		memcpy(text + i * 8, "garbage\n", 8);
	text[n * 8] = '\0';
	ck_assert_ptr_null(conf_load_string("t.ini", text, &errs));
	ck_assert_uint_eq(errs.count, CONF_MAX_ERRORS + 1);
	snprintf(want, sizeof(want), "t.ini:%d: 'garbage' is not 'key = value', a [section] "
	    "or a comment", CONF_MAX_ERRORS);
	ck_assert_str_eq(errs.msgs[CONF_MAX_ERRORS - 1], want);
	ck_assert_str_eq(errs.msgs[CONF_MAX_ERRORS],
	    "too many errors: only the first 100 are shown");
	conf_errors_free(&errs);
	free(text);
}
END_TEST

/* A quoted line of a binary file reaches the terminal without its controls. */
START_TEST(control_chars_quoted)
{
	EXPECT("\x1b[2J\x1b]0;owned\x07\tx\n", false,
	    "t.ini:1: '?[2J?]0;owned?\tx' is not 'key = value', a [section] or a comment");
}
END_TEST

/* cert, key and client_ca: regular files only (/dev/null, probe's stand-in, aside). */
START_TEST(check_files_not_regular)
{
	char fifo[128], *text, *w0;
	const char *w1;

	ck_assert_int_eq(mkfifo(tmp_path(fifo, sizeof(fifo), "fifo.pem"), 0600), 0);
	text = with_dir("[listener erp]\nbind = *:443\ncert = DIR/fifo.pem\n"
	    "client_ca = /dev/zero\n[route a]\nupstream = h:1\n");
	w0 = with_dir("t.ini:3: [listener erp] cert: 'DIR/fifo.pem': cannot read: "
	    "a FIFO, not a regular file");
	w1 = "t.ini:4: [listener erp] client_ca: '/dev/zero': cannot read: a character "
	    "device, not a regular file";
	EXPECT(text, true, w0, w1);
	EXPECT_OK(BASE "key = /dev/null\n[route a]\nupstream = h:1\n", true);
	free(text);
	free(w0);
	unlink(fifo);
}
END_TEST

/* One audit_log line under [broker], checked; want NULL = no error. */
static void
audit_log_case(const char *value, const char *want)
{
	char line[256], *text, *w;

	snprintf(line, sizeof(line), "[broker]\naudit_log = %s\n" BASE
	    "[route a]\nupstream = h:1\n", value);
	text = with_dir(line);
	if (want == NULL)
		EXPECT_OK(text, true);
	else {
		w = with_dir(want);
		EXPECT(text, true, w);
		free(w);
	}
	free(text);
}

/* -t checks the audit_log the start will open (it did not at all). */
START_TEST(check_audit_log)
{
	char fifo[128], dir[128], path[160];
	struct stat st;

	ck_assert_int_eq(mkfifo(tmp_path(fifo, sizeof(fifo), "audit.fifo"), 0600), 0);
	audit_log_case("DIR", "t.ini:2: [broker] audit_log: 'DIR': cannot open for "
	    "appending: a directory, not a regular file");
	audit_log_case("DIR/audit.fifo", "t.ini:2: [broker] audit_log: 'DIR/audit.fifo': "
	    "cannot open for appending: a FIFO, not a regular file");
	audit_log_case("DIR/none/audit.jsonl", "t.ini:2: [broker] audit_log: "
	    "'DIR/none/audit.jsonl': its directory DIR/none: No such file or directory");
	audit_log_case("DIR/a.pem/audit.jsonl", "t.ini:2: [broker] audit_log: "
	    "'DIR/a.pem/audit.jsonl': cannot open for appending: Not a directory");
	audit_log_case("/dev/null", "t.ini:2: [broker] audit_log: '/dev/null': cannot "
	    "open for appending: a character device, not a regular file");
	/* an existing file, a new one (not created by the check), stderr, off */
	audit_log_case("DIR/a.pem", NULL);
	audit_log_case("DIR/new.jsonl", NULL);
	ck_assert_int_eq(stat(tmp_path(path, sizeof(path), "new.jsonl"), &st), -1);
	audit_log_case("-", NULL);
	audit_log_case("off", NULL);
	if (geteuid() != 0) {
		/* root may create files anywhere */
		ck_assert_int_eq(mkdir(tmp_path(dir, sizeof(dir), "ro"), 0500), 0);
		audit_log_case("DIR/ro/a.jsonl", "t.ini:2: [broker] audit_log: "
		    "'DIR/ro/a.jsonl': cannot be created in DIR/ro: Permission denied");
		rmdir(dir);
	}
	unlink(fifo);
}
END_TEST

/*
 * conf/tlsbroker.ini parses as shipped, and also with every commented-out
 * ";key = value" line switched on: so each documented key is a real key in
 * the right section with a valid example value.
 */
START_TEST(example_config)
{
	struct conf_errors errs = { NULL, 0, 0 };
	char *text, *p, *out;
	struct conf *c;
	FILE *fp;
	long n;
	size_t keys = 0, len = 0, k;

	c = conf_load(TEST_SRCDIR "/conf/tlsbroker.ini", &errs);
	ck_assert_msg(c != NULL, "conf/tlsbroker.ini:%s", dump(&errs));
	ck_assert_uint_eq(c->nlisteners, 1);
	ck_assert_uint_eq(c->nroutes, 1);
	conf_free(c);

	ck_assert_ptr_nonnull(fp = fopen(TEST_SRCDIR "/conf/tlsbroker.ini", "r"));
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	text = malloc((size_t)n + 1);
	out = malloc((size_t)n + 2);	/* a last line may gain its "\n" */
	ck_assert(text != NULL && out != NULL);
	ck_assert_uint_eq(fread(text, 1, (size_t)n, fp), (size_t)n);
	text[n] = '\0';
	fclose(fp);
	for (p = strtok(text, "\n"); p != NULL; p = strtok(NULL, "\n")) {
		if (p[0] == ';' && p[1] >= 'a' && p[1] <= 'z' &&
		    strstr(p, " = ") == p + 1 + strspn(p + 1, "abcdefghijklmnopqrstuvwxyz_")) {
			p++;
			keys++;
		}
		k = strlen(p);
		memcpy(out + len, p, k);
		out[len + k] = '\n';
		len += k + 1;
	}
	out[len] = '\0';
	ck_assert_uint_ge(keys, 40);
	c = conf_load_string("uncommented.ini", out, &errs);
	ck_assert_msg(c != NULL, "uncommented conf/tlsbroker.ini:%s", dump(&errs));
	ck_assert(c->broker.admin_set);
	ck_assert(c->routes[0].up_pin_set);
	conf_free(c);
	free(text);
	free(out);
}
END_TEST

START_TEST(errors_api)
{
	struct conf_errors errs = { NULL, 0, 0 };
	struct conf_loc loc = { "f.ini", 12 }, none = { "f.ini", 0 };
	unsigned i;

	conf_errors_add_at(&errs, &loc, "listener erp", "cert", "x %d", 1);
	conf_errors_add_at(&errs, &loc, "route a", NULL, "y");
	conf_errors_add_at(&errs, &loc, NULL, "workers", "z");
	conf_errors_add_at(&errs, &none, "route a", "upstream", "w");
	conf_errors_add_at(&errs, NULL, NULL, NULL, "v");
	conf_errors_add(&errs, "%s: plain", "f.ini");
	ck_assert_uint_eq(errs.count, 6);
	ck_assert_str_eq(errs.msgs[0], "f.ini:12: [listener erp] cert: x 1");
	ck_assert_str_eq(errs.msgs[1], "f.ini:12: [route a]: y");
	ck_assert_str_eq(errs.msgs[2], "f.ini:12: workers: z");
	ck_assert_str_eq(errs.msgs[3], "f.ini: [route a] upstream: w");
	ck_assert_str_eq(errs.msgs[4], "?: v");
	ck_assert_str_eq(errs.msgs[5], "f.ini: plain");
	/* at most CONF_MAX_ERRORS, then one notice */
	for (i = 0; i < 200; i++)
		conf_errors_add(&errs, "more %u", i);
	ck_assert_uint_eq(errs.count, CONF_MAX_ERRORS + 1);
	ck_assert_str_eq(errs.msgs[CONF_MAX_ERRORS - 1], "more 93");
	ck_assert_str_eq(errs.msgs[CONF_MAX_ERRORS],
	    "too many errors: only the first 100 are shown");
	conf_errors_free(&errs);
	/* NULL errs: nothing stored, nothing crashes; loading still fails */
	conf_errors_add(NULL, "x");
	conf_errors_add_at(NULL, &loc, NULL, NULL, "x");
	ck_assert_ptr_null(conf_load_string("t.ini", "[x]\n", NULL));
}
END_TEST

/* ---- the key table itself ------------------------------------------------ */

static const enum conf_kind table_kinds[] = {
	CONF_SECT_BROKER, CONF_SECT_LISTENER, CONF_SECT_ROUTE
};

/* A zeroed section struct large enough for any kind. */
union any_sect {
	struct broker_conf b;
	struct listener_conf l;
	struct route_conf r;
};

/* Every row: a name unique in its section, a parser, a scope, its texts. */
START_TEST(key_table_rows)
{
	const struct conf_sect_desc *d = conf_sect_desc(table_kinds[_i]);
	const struct conf_key *k;
	unsigned i, j;

	ck_assert_ptr_nonnull(d);
	ck_assert_uint_gt(d->nkeys, 0);
	for (i = 0; i < d->nkeys; i++) {
		k = &d->keys[i];
		ck_assert_msg(k->name != NULL && k->name[0] != '\0', "%s row %u has no name",
		    d->header, i);
		ck_assert_msg(k->parse != NULL, "%s: %s has no parser", d->header, k->name);
		ck_assert_msg(k->scope != SCOPE_UNSET, "%s: %s has no scope", d->header,
		    k->name);
		ck_assert_msg(!(k->flags & KEY_REQUIRED) || k->missing != NULL,
		    "%s: required %s says not what it wants", d->header, k->name);
		ck_assert_msg(!(k->flags & KEY_REQUIRED) || k->def == NULL,
		    "%s: required %s has a default", d->header, k->name);
		ck_assert_msg(!(k->flags & KEY_FILE) || (k->release != NULL && k->def == NULL),
		    "%s: file key %s must own a string and have no default", d->header,
		    k->name);
		ck_assert_int_eq(conf_key_find(d, k->name), (int)i);
		for (j = 0; j < i; j++)
			ck_assert_msg(strcmp(d->keys[j].name, k->name) != 0,
			    "%s: %s twice", d->header, k->name);
	}
	ck_assert_int_eq(conf_key_find(d, "no_such_key"), -1);
}
END_TEST

/*
 * Every default parses with its own parser, alone, and all of them
 * together leave nothing written in at[] (a default has no line).
 */
START_TEST(key_table_defaults)
{
	const struct conf_sect_desc *d = conf_sect_desc(table_kinds[_i]);
	const struct conf_loc builtin = { "t.ini", 0 };
	const struct conf_key *k;
	char err[CONF_ERRLEN];
	union any_sect u;
	unsigned i;

	ck_assert_uint_le(d->size, sizeof(u));
	for (i = 0; i < d->nkeys; i++) {
		k = &d->keys[i];
		if (k->def == NULL)
			continue;
		memset(&u, 0, sizeof(u));
		err[0] = '\0';
		ck_assert_msg(k->parse(k, k->def, &u, &builtin, err) == 0,
		    "%s: %s default '%s': %s", d->header, k->name, k->def, err);
		conf_sect_release(d, &u);
	}
	memset(&u, 0xa5, sizeof(u));
	ck_assert_int_eq(conf_sect_defaults(d, &u, "t.ini", err), 0);
	for (i = 0; i < d->nkeys; i++)
		ck_assert_int_eq(conf_sect_at(d, &u)[i].line, 0);
	conf_sect_release(d, &u);
}
END_TEST

/* A row's default must not be something a file could not write, and vice versa. */
START_TEST(key_table_choices)
{
	const struct conf_sect_desc *d = conf_sect_desc(table_kinds[_i]);
	const struct conf_loc at = { "t.ini", 1 };
	const struct conf_choice *c;
	const struct conf_key *k;
	char err[CONF_ERRLEN];
	union any_sect u;
	unsigned i;

	for (i = 0; i < d->nkeys; i++) {
		k = &d->keys[i];
		if (k->choices == NULL)
			continue;
		ck_assert_ptr_nonnull(k->choices->list);
		for (c = k->choices->v; c->name != NULL; c++) {
			memset(&u, 0, sizeof(u));
			ck_assert_msg(k->parse(k, c->name, &u, &at, err) == 0, "%s = %s: %s",
			    k->name, c->name, err);
			ck_assert_int_eq(*(int *)(void *)((char *)&u + k->off), c->value);
			ck_assert_str_eq(conf_choice_name(k->choices, c->value), c->name);
			ck_assert_msg(strstr(k->choices->list, c->name) != NULL,
			    "%s: '%s' missing from \"%s\"", k->name, c->name, k->choices->list);
		}
		ck_assert_int_eq(k->parse(k, "bogus", &u, &at, err), -1);
		ck_assert_msg(strstr(err, k->choices->list) != NULL, "%s", err);
	}
	ck_assert_str_eq(conf_choice_name(&conf_route_modes, 99), "?");
}
END_TEST

/* The one word a file may not write: the table's "library" level. */
START_TEST(key_table_library_level)
{
	struct conf_errors errs = { NULL, 0, 0 };

	ck_assert_ptr_null(conf_load_string("t.ini", BASE "[route r]\nupstream = a:443\n"
	    "upstream_security_level = library\n", &errs));
	ck_assert_uint_ge(errs.count, 1);
	ck_assert_msg(strstr(errs.msgs[0], "t.ini:6: [route r] upstream_security_level:") ==
	    errs.msgs[0], "%s", errs.msgs[0]);
	conf_errors_free(&errs);
}
END_TEST

/* Every key of the table has its entry in man/tlsbroker.ini.5. */
START_TEST(key_table_documented)
{
	const struct conf_sect_desc *d;
	char *man, pat[3][128];
	unsigned i, j;
	size_t n;
	FILE *fp;

	fp = fopen(TEST_SRCDIR "/man/tlsbroker.ini.5", "r");
	ck_assert_ptr_nonnull(fp);
	man = calloc(1, 1 << 20);
	ck_assert_ptr_nonnull(man);
	n = fread(man, 1, (1 << 20) - 1, fp);
	ck_assert_uint_gt(n, 0);
	fclose(fp);
	for (j = 0; j < sizeof(table_kinds) / sizeof(table_kinds[0]); j++) {
		d = conf_sect_desc(table_kinds[j]);
		for (i = 0; i < d->nkeys; i++) {
			snprintf(pat[0], sizeof(pat[0]), "\n.TP\n.BI %s ", d->keys[i].name);
			snprintf(pat[1], sizeof(pat[1]), "\n.TP\n.B %s\n", d->keys[i].name);
			snprintf(pat[2], sizeof(pat[2]), "\n.TP\n.B %s ", d->keys[i].name);
			ck_assert_msg(strstr(man, pat[0]) != NULL || strstr(man, pat[1]) != NULL ||
			    strstr(man, pat[2]) != NULL, "%s %s is not in man/tlsbroker.ini.5",
			    d->header, d->keys[i].name);
		}
	}
	free(man);
}
END_TEST

/*
 * A key the table scopes to http, TLS upstreams or upstream_proxy is an
 * error elsewhere, at its own line: every such row, from the table.
 */
START_TEST(key_table_scopes)
{
	const struct conf_sect_desc *d = conf_sect_desc(CONF_SECT_ROUTE);
	const struct conf_key *k;
	const char *value, *only;
	char text[1024], want[256];
	unsigned i, checked = 0;

	for (i = 0; i < d->nkeys; i++) {
		k = &d->keys[i];
		if (k->scope == SCOPE_ANY || (k->flags & KEY_OWN_SCOPE))
			continue;
		/* a value each parser takes: the default, else a plain word */
		value = k->def != NULL && strcmp(k->def, "library") != 0 ? k->def :
		    strcmp(k->name, "upstream_pin") == 0 ?
		    "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" :
		    strcmp(k->name, "upstream_security_level") == 0 ? "1" :
		    strcmp(k->name, "path") == 0 ? "/api" : "x.example";
		snprintf(text, sizeof(text), BASE "[route r]\nupstream = a:443\n%s\n%s = %s\n",
		    k->scope == SCOPE_HTTP ? "mode = tcp" : k->scope == SCOPE_TLS ?
		    "upstream_tls = off" : "; no upstream_proxy", k->name, value);
		only = k->scope == SCOPE_HTTP ? "only in mode = http (this route is tcp)" :
		    k->scope == SCOPE_TLS ? "only with upstream_tls other than off" :
		    "only with upstream_proxy = http://HOST:PORT";
		snprintf(want, sizeof(want), "t.ini:7: [route r] %s: %s", k->name, only);
		expect(text, true, (const char *const[]){ want, NULL });
		checked++;
	}
	ck_assert_uint_ge(checked, 19);
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc;

	tc = tcase_create("valid");
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, full_config);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, upstream_list);
	tcase_add_test(tc, auto_and_strs);
	tcase_add_test(tc, forwarded_modes);
	tcase_add_test(tc, syntax);
	suite_add_tcase(s, tc);
	tc = tcase_create("load_errors");
	tcase_add_loop_test(tc, load_error, 0, sizeof(load_errors) / sizeof(load_errors[0]));
	tcase_add_test(tc, multiple_errors);
	tcase_add_test(tc, errors_with_check_errors);
	suite_add_tcase(s, tc);
	tc = tcase_create("long_lines");
	tcase_add_test(tc, long_line_ok);
	tcase_add_test(tc, long_line_limits);
	tcase_add_test(tc, long_line_too_long);
	tcase_add_test(tc, long_section_name);
	suite_add_tcase(s, tc);
	tc = tcase_create("check");
	tcase_add_loop_test(tc, check_error, 0, sizeof(check_errors) / sizeof(check_errors[0]));
	tcase_add_test(tc, check_derived);
	suite_add_tcase(s, tc);
	tc = tcase_create("files");
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, file_load);
	tcase_add_test(tc, warnings);
	tcase_add_test(tc, errors_api);
	tcase_add_test(tc, example_config);
	suite_add_tcase(s, tc);
	tc = tcase_create("key_table");
	tcase_add_loop_test(tc, key_table_rows, 0, 3);
	tcase_add_loop_test(tc, key_table_defaults, 0, 3);
	tcase_add_loop_test(tc, key_table_choices, 0, 3);
	tcase_add_test(tc, key_table_library_level);
	tcase_add_test(tc, key_table_documented);
	tcase_add_test(tc, key_table_scopes);
	suite_add_tcase(s, tc);
	tc = tcase_create("hostile_files");
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_set_timeout(tc, 20);	/* a hang fails in bounded time */
	tcase_add_test(tc, config_not_regular);
	tcase_add_test(tc, config_too_big);
	tcase_add_test(tc, too_many_errors);
	tcase_add_test(tc, control_chars_quoted);
	tcase_add_test(tc, check_files_not_regular);
	tcase_add_test(tc, check_audit_log);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(conf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
