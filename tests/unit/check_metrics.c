/* SPDX-License-Identifier: MIT */
/*
 * check_metrics: the metrics registry (stable, distinct ids; full is -1),
 * per-worker blocks, metrics_request() (status class, close reason,
 * latency bucket boundaries, sum), and the Prometheus exposition: every
 * line well-formed, values summed over two workers, label escaping,
 * cumulative histograms with _count equal to the +Inf bucket; the ring
 * of recent failures (which ends count, newest first, wrapping) and an
 * endpoint's up and down.  A second suite drives admin.c over real
 * loopback HTTP on one event base: /metrics, /healthz with its status
 * line, /readyz, the status page (escaped failures, refresh), 404, 405,
 * HEAD, keep-alive and a bind failure; and status_html_escape().
 */
#include "config.h"

#include <check.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "admin.h"
#include "audit.h"
#include "diag.h"
#include "metrics.h"
#include "status.h"

static void
reset(void)
{
	metrics_free();
}

/* The exposition as a NUL-terminated string (caller frees). */
static char *
format_all(unsigned nworkers)
{
	struct evbuffer *b = evbuffer_new();
	size_t n;
	char *s;

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(metrics_format(b, nworkers, NULL), 0);
	n = evbuffer_get_length(b);
	s = malloc(n + 1);
	ck_assert_ptr_nonnull(s);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

/* The value of the sample line "SERIES VALUE"; fails if absent or doubled. */
static double
sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p = text, *hit = NULL;
	char *end;
	double v;

	while ((p = strstr(p, series)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ') {
			ck_assert_msg(hit == NULL, "series twice: %s", series);
			hit = p;
		}
		p += n;
	}
	ck_assert_msg(hit != NULL, "series missing: %s", series);
	v = strtod(hit + n + 1, &end);
	ck_assert_msg(*end == '\n', "bad value for %s", series);
	return v;
}

static bool
has_series_prefix(const char *text, const char *prefix)
{
	const char *p = text;

	while ((p = strstr(p, prefix)) != NULL) {
		if (p == text || p[-1] == '\n')
			return true;
		p++;
	}
	return false;
}

static bool
name_char(char c, bool first)
{
	return isalpha((unsigned char)c) || c == '_' || c == ':' ||
	    (!first && isdigit((unsigned char)c));
}

/*
 * Checks the text format line by line: "# HELP name ..." then "# TYPE name
 * counter|gauge|histogram" before each family's samples, samples named
 * after the current family (histograms: _bucket/_sum/_count), label values
 * using only \\ \" \n escapes, a numeric value, no series twice.  Returns
 * the number of samples.
 */
static int
check_exposition(const char *text)
{
	char family[128] = "", type[16] = "", help_for[128] = "";
	char **seen = NULL;
	int nseen = 0, i;
	const char *line = text, *nl, *p, *q, *name_end;
	char name[160], *end;
	size_t fl;

	ck_assert_msg(*text != '\0', "empty exposition");
	for (; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		ck_assert_msg(nl != NULL, "last line lacks a newline");
		if (strncmp(line, "# HELP ", 7) == 0) {
			ck_assert(sscanf(line + 7, "%127s", help_for) == 1);
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			ck_assert(sscanf(line + 7, "%127s %15s", family, type) == 2);
			ck_assert_str_eq(family, help_for);
			ck_assert_msg(strcmp(type, "counter") == 0 ||
			    strcmp(type, "gauge") == 0 ||
			    strcmp(type, "histogram") == 0, "type %s", type);
			continue;
		}
		ck_assert_msg(line[0] != '#', "stray comment: %.60s", line);
		ck_assert_msg(family[0] != '\0', "sample before # TYPE");
		for (p = line; name_char(*p, p == line); p++)
			;
		name_end = p;
		ck_assert(name_end > line && (size_t)(name_end - line) < sizeof(name));
		memcpy(name, line, (size_t)(name_end - line));
		name[name_end - line] = '\0';
		fl = strlen(family);
		if (strcmp(type, "histogram") == 0)
			ck_assert_msg(strncmp(name, family, fl) == 0 &&
			    (strcmp(name + fl, "_bucket") == 0 ||
			    strcmp(name + fl, "_sum") == 0 ||
			    strcmp(name + fl, "_count") == 0),
			    "%s outside family %s", name, family);
		else
			ck_assert_str_eq(name, family);
		if (*p == '{') {
			p++;
			while (*p != '}') {
				for (q = p; name_char(*q, q == p); q++)
					;
				ck_assert_msg(q > p && q[0] == '=' &&
				    q[1] == '"', "bad label in %.80s", line);
				for (p = q + 2; *p != '"'; p++) {
					ck_assert(p < nl);
					if (*p == '\\') {
						p++;
						ck_assert_msg(*p == '\\' || *p == '"' ||
						    *p == 'n', "bad escape");
					}
				}
				p++;
				if (*p == ',')
					p++;
				else
					ck_assert_msg(*p == '}', "bad labels %.80s", line);
			}
			p++;
		}
		ck_assert_msg(*p == ' ', "no space before value: %.80s", line);
		strtod(p + 1, &end);
		ck_assert_msg(end > p + 1 && end == nl, "bad value: %.80s", line);
		for (i = 0; i < nseen; i++)
			ck_assert_msg(strncmp(seen[i], line, (size_t)(p - line)) != 0 ||
			    seen[i][p - line] != '\0', "series twice: %.80s", line);
		seen = realloc(seen, (size_t)(nseen + 1) * sizeof(*seen));
		ck_assert_ptr_nonnull(seen);
		seen[nseen] = strndup(line, (size_t)(p - line));
		ck_assert_ptr_nonnull(seen[nseen]);
		nseen++;
	}
	for (i = 0; i < nseen; i++)
		free(seen[i]);
	free(seen);
	return nseen;
}

/* ---- registry ----------------------------------------------------------------- */

START_TEST(test_ids_stable_distinct)
{
	int a, b, c, la, lb;

	a = metrics_route_id("payroll");
	b = metrics_route_id("hr");
	ck_assert_int_ge(a, 0);
	ck_assert_int_ge(b, 0);
	ck_assert_int_ne(a, b);
	ck_assert_int_ne(a, METRICS_ROUTE_NONE);
	ck_assert_int_ne(b, METRICS_ROUTE_NONE);
	ck_assert_int_eq(metrics_route_id("-"), METRICS_ROUTE_NONE);
	c = metrics_route_id("erp");
	ck_assert_int_ne(c, a);
	ck_assert_int_ne(c, b);
	/* Asking again, in any order, gives the same ids. */
	ck_assert_int_eq(metrics_route_id("hr"), b);
	ck_assert_int_eq(metrics_route_id("payroll"), a);
	ck_assert_int_eq(metrics_route_id("erp"), c);
	/* Listeners have a registry of their own. */
	la = metrics_listener_id("erp");
	lb = metrics_listener_id("internal");
	ck_assert_int_ge(la, 0);
	ck_assert_int_ge(lb, 0);
	ck_assert_int_ne(la, lb);
	ck_assert_int_eq(metrics_listener_id("erp"), la);
	ck_assert_int_eq(metrics_route_id(NULL), -1);
	ck_assert_int_eq(metrics_listener_id(NULL), -1);
}
END_TEST

START_TEST(test_registry_full)
{
	char name[32];
	int i, id, first = -1;

	/* Slot 0 is "-", so MAX - 1 names fit. */
	for (i = 0; i < METRICS_MAX_ROUTES - 1; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		id = metrics_route_id(name);
		ck_assert_int_eq(id, i + 1);
		if (first == -1)
			first = id;
	}
	ck_assert_int_eq(metrics_route_id("one-too-many"), -1);
	ck_assert_int_eq(metrics_route_id("still-full"), -1);
	/* Known names still resolve once full. */
	ck_assert_int_eq(metrics_route_id("r0"), first);
	ck_assert_int_eq(metrics_route_id("-"), METRICS_ROUTE_NONE);

	for (i = 0; i < METRICS_MAX_LISTENERS; i++) {
		snprintf(name, sizeof(name), "l%d", i);
		ck_assert_int_eq(metrics_listener_id(name), i);
	}
	ck_assert_int_eq(metrics_listener_id("one-too-many"), -1);
	ck_assert_int_eq(metrics_listener_id("l7"), 7);
}
END_TEST

START_TEST(test_free_resets)
{
	ck_assert_int_eq(metrics_route_id("a"), 1);
	ck_assert_int_eq(metrics_route_id("b"), 2);
	metrics_free();
	ck_assert_int_eq(metrics_route_id("b"), 1);
	ck_assert_int_eq(metrics_listener_id("x"), 0);
}
END_TEST

START_TEST(test_worker_blocks)
{
	struct metrics_worker *w0, *w1;
	int i;

	w0 = metrics_worker(0);
	w1 = metrics_worker(1);
	ck_assert_ptr_nonnull(w0);
	ck_assert_ptr_nonnull(w1);
	ck_assert_ptr_ne(w0, w1);
	ck_assert_ptr_eq(metrics_worker(0), w0);
	ck_assert_ptr_eq(metrics_worker(METRICS_MAX_WORKERS - 1),
	    metrics_worker(METRICS_MAX_WORKERS - 1));
	ck_assert_ptr_null(metrics_worker(METRICS_MAX_WORKERS));
	for (i = 0; i < 6; i++)
		ck_assert_uint_eq(w1->routes[METRICS_MAX_ROUTES - 1].requests[i], 0);
	ck_assert_int_eq(w1->listeners[METRICS_MAX_LISTENERS - 1].open, 0);
}
END_TEST

START_TEST(test_tls_slot)
{
	ck_assert_int_eq(metrics_tls_slot(0x0301), 0);
	ck_assert_int_eq(metrics_tls_slot(0x0302), 1);
	ck_assert_int_eq(metrics_tls_slot(0x0303), 2);
	ck_assert_int_eq(metrics_tls_slot(0x0304), 3);
	ck_assert_int_eq(metrics_tls_slot(0x0300), 4);
	ck_assert_int_eq(metrics_tls_slot(0), 4);
}
END_TEST

/* ---- metrics_request ---------------------------------------------------------- */

static const struct {
	int status;
	int cls;
} class_cases[] = {
	{ 0, 0 }, { 99, 0 }, { 100, 1 }, { 101, 1 }, { 199, 1 }, { 200, 2 },
	{ 204, 2 }, { 301, 3 }, { 404, 4 }, { 499, 4 }, { 500, 5 },
	{ 502, 5 }, { 599, 5 }, { 600, 0 }, { -1, 0 },
};

START_TEST(test_request_class)
{
	struct metrics_worker *m = metrics_worker(0);
	int r = metrics_route_id("x"), i;

	metrics_request(m, r, class_cases[_i].status, CR_OK, 1);
	for (i = 0; i < 6; i++)
		ck_assert_msg(m->routes[r].requests[i] ==
		    (i == class_cases[_i].cls ? 1u : 0u), "status %d class %d",
		    class_cases[_i].status, i);
}
END_TEST

static const struct {
	int64_t ms;
	int bucket;
} bucket_cases[] = {
	{ -5, 0 }, { 0, 0 }, { 5, 0 }, { 6, 1 }, { 10, 1 }, { 11, 2 },
	{ 25, 2 }, { 26, 3 }, { 50, 3 }, { 100, 4 }, { 101, 5 }, { 250, 5 },
	{ 500, 6 }, { 501, 7 }, { 1000, 7 }, { 2500, 8 }, { 5000, 9 },
	{ 5001, 10 }, { 10000, 10 }, { 10001, 11 }, { 86400000, 11 },
};

START_TEST(test_request_bucket)
{
	struct metrics_worker *m = metrics_worker(0);
	int r = metrics_route_id("x"), b;

	metrics_request(m, r, 200, CR_OK, bucket_cases[_i].ms);
	for (b = 0; b < METRICS_NBUCKETS; b++)
		ck_assert_msg(m->routes[r].latency[b] ==
		    (b == bucket_cases[_i].bucket ? 1u : 0u),
		    "%" PRId64 " ms bucket %d", bucket_cases[_i].ms, b);
	ck_assert_uint_eq(m->routes[r].latency_sum_ms,
	    bucket_cases[_i].ms < 0 ? 0 : (uint64_t)bucket_cases[_i].ms);
}
END_TEST

START_TEST(test_request_reason_sum)
{
	struct metrics_worker *m = metrics_worker(2);
	int r = metrics_route_id("x"), other = metrics_route_id("y"), i;

	metrics_request(m, r, 502, CR_UPSTREAM_RESET, 30);
	metrics_request(m, r, 502, CR_UPSTREAM_RESET, 12);
	metrics_request(m, r, 404, CR_NO_ROUTE, 1);
	metrics_request(m, r, 200, CR_OK, 7);
	for (i = 0; i < CR__COUNT; i++) {
		uint64_t want = i == CR_UPSTREAM_RESET ? 2 :
		    (i == CR_NO_ROUTE || i == CR_OK) ? 1 : 0;
		ck_assert_msg(m->routes[r].closes[i] == want, "reason %s",
		    close_reason_str((enum close_reason)i));
	}
	ck_assert_uint_eq(m->routes[r].requests[5], 2);
	ck_assert_uint_eq(m->routes[r].requests[4], 1);
	ck_assert_uint_eq(m->routes[r].requests[2], 1);
	ck_assert_uint_eq(m->routes[r].latency_sum_ms, 50);
	/* Nothing leaked into the other route or the other worker. */
	ck_assert_uint_eq(m->routes[other].requests[5], 0);
	ck_assert_uint_eq(metrics_worker(0)->routes[r].requests[5], 0);
	/* Ignored: no block, negative id, out-of-range id or reason. */
	metrics_request(NULL, r, 200, CR_OK, 1);
	metrics_request(m, -1, 200, CR_OK, 1);
	metrics_request(m, METRICS_MAX_ROUTES, 200, CR_OK, 1);
	ck_assert_uint_eq(m->routes[r].requests[2], 1);
	metrics_request(m, r, 200, CR__COUNT, 1);
	ck_assert_uint_eq(m->routes[r].requests[2], 2);
	metrics_inc(NULL);
	metrics_add(NULL, 5);
	metrics_inc(&m->routes[r].retries);
	metrics_add(&m->routes[r].up_open, 3);
	metrics_add(&m->routes[r].up_open, -1);
	ck_assert_uint_eq(m->routes[r].retries, 1);
	ck_assert_int_eq(m->routes[r].up_open, 2);
}
END_TEST

/* ---- the status page's facts ----------------------------------------------- */

/* A finished exchange of route id on worker w, at wall ms ts. */
static void
exchange(unsigned w, int id, enum close_reason code, enum diag_phase phase,
    uint64_t ts, const char *detail)
{
	struct audit_rec rec;

	audit_rec_init(&rec);
	rec.ts_ms = ts;
	rec.total_ms = 5;
	rec.worker = w;
	rec.route = id > 0 ? "payroll" : NULL;
	rec.client = "192.0.2.7:5000";
	rec.status = code == CR_OK ? 200 : 502;
	tb_err_set(&rec.err, code, phase, "%s", detail);
	metrics_exchange(metrics_worker(w), id, &rec);
}

START_TEST(test_failures_ring)
{
	struct metrics_failure f[80];
	int id = metrics_route_id("payroll");
	size_t n;
	unsigned i;

	/* normal ends are not failures */
	exchange(0, id, CR_OK, PHASE_NONE, 1000, "");
	exchange(0, id, CR_CLIENT_CLOSED, PHASE_REQUEST, 1001, "bye");
	exchange(0, id, CR_IDLE_TIMEOUT, PHASE_EXCHANGE, 1002, "idle");
	ck_assert_uint_eq(metrics_recent_failures(f, 80), 0);

	/* newest first over two workers, whoever wrote it */
	exchange(0, id, CR_UPSTREAM_REFUSED, PHASE_CONNECT, 2000, "first");
	exchange(1, id, CR_UPSTREAM_RESET, PHASE_HANDSHAKE, 3000, "second");
	exchange(0, METRICS_ROUTE_NONE, CR_NO_ROUTE, PHASE_ROUTE, 4000, "third");
	n = metrics_recent_failures(f, 80);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(f[0].detail, "third");
	ck_assert_str_eq(f[0].route, "");
	ck_assert_int_eq(f[0].code, CR_NO_ROUTE);
	ck_assert_str_eq(f[1].detail, "second");
	ck_assert_uint_eq(f[1].worker, 1);
	ck_assert_uint_eq(f[1].ts_ms, 3005);	/* the end of the exchange */
	ck_assert_str_eq(f[2].route, "payroll");
	ck_assert_str_eq(f[2].client, "192.0.2.7:5000");
	ck_assert_int_eq(f[2].phase, PHASE_CONNECT);
	ck_assert_ptr_nonnull(strstr(f[2].hint, "nothing accepts connections"));
	ck_assert_uint_eq(metrics_recent_failures(f, 2), 2);

	/* a worker keeps its METRICS_FAILURES newest */
	for (i = 0; i < 40; i++)
		exchange(2, id, CR_UPSTREAM_TIMEOUT, PHASE_RESPONSE, 10000 + i, "x");
	n = metrics_recent_failures(f, 80);
	ck_assert_uint_eq(n, 3 + METRICS_FAILURES);
	ck_assert_uint_eq(f[0].ts_ms, 10000 + 39 + 5);
	ck_assert_uint_eq(f[METRICS_FAILURES - 1].ts_ms, 10000 + 8 + 5);
	ck_assert_str_eq(f[METRICS_FAILURES].detail, "third");
}
END_TEST

START_TEST(test_endpoint_up_down)
{
	struct metrics_route_view v;
	int id = metrics_route_id("payroll");

	metrics_route_view(id, &v);
	ck_assert_uint_eq(v.ep.up_ms, 0);
	ck_assert_uint_eq(v.ep.down_ms, 0);
	ck_assert_uint_eq(v.naddrs, 0);
	metrics_upstream_up(metrics_worker(0), id, "10.1.2.3:443", NULL);
	metrics_upstream_up(metrics_worker(1), id, "10.1.2.4:443", NULL);
	metrics_upstream_up(metrics_worker(2), id, "10.1.2.3:443", NULL);
	metrics_route_view(id, &v);
	ck_assert_uint_ne(v.ep.up_ms, 0);
	ck_assert_uint_eq(v.naddrs, 2);
	ck_assert_str_eq(v.addrs[0], "10.1.2.3:443");
	ck_assert_str_eq(v.addrs[1], "10.1.2.4:443");
	ck_assert_int_eq(v.ep.cert_not_after, 0);
	/* an exchange that failed after connecting does not make it down */
	exchange(0, id, CR_UPSTREAM_TIMEOUT, PHASE_RESPONSE, v.ep.up_ms + 1000, "slow");
	metrics_route_view(id, &v);
	ck_assert_uint_eq(v.ep.down_ms, 0);
	/* one that could not connect does, until a connection is made again */
	exchange(1, id, CR_UPSTREAM_REFUSED, PHASE_CONNECT, v.ep.up_ms + 1000, "no");
	metrics_route_view(id, &v);
	ck_assert_uint_gt(v.ep.down_ms, v.ep.up_ms);
	ck_assert_int_eq(v.ep.down_code, CR_UPSTREAM_REFUSED);
	ck_assert_uint_eq(v.closes[CR_UPSTREAM_REFUSED], 1);
	ck_assert_uint_eq(v.closes[CR_UPSTREAM_TIMEOUT], 1);
	/* out of range ids are ignored */
	metrics_upstream_up(metrics_worker(0), -1, "x", NULL);
	metrics_upstream_up(metrics_worker(0), METRICS_MAX_ROUTES, "x", NULL);
	metrics_upstream_up(NULL, id, "x", NULL);
	metrics_route_view(-1, &v);
	ck_assert_uint_eq(v.naddrs, 0);
}
END_TEST

/* ---- metrics_format ----------------------------------------------------------- */

START_TEST(test_format_summed)
{
	struct metrics_worker *w0 = metrics_worker(0), *w1 = metrics_worker(1);
	int r = metrics_route_id("payroll"), idle = metrics_route_id("idle");
	int l = metrics_listener_id("erp");
	char *t, want[128];
	int n;

	ck_assert_int_ge(idle, 0);
	metrics_request(w0, r, 200, CR_OK, 3);
	metrics_request(w0, r, 204, CR_OK, 40);
	metrics_request(w0, r, 502, CR_UPSTREAM_RESET, 1200);
	metrics_request(w1, r, 200, CR_OK, 7);
	metrics_request(w1, METRICS_ROUTE_NONE, 404, CR_NO_ROUTE, 1);
	metrics_inc(&w0->routes[r].up_opened);
	metrics_inc(&w0->routes[r].up_opened);
	metrics_inc(&w1->routes[r].up_opened);
	metrics_inc(&w1->routes[r].up_reused);
	metrics_inc(&w1->routes[r].up_reused);
	metrics_inc(&w0->routes[r].up_handshakes);
	metrics_inc(&w1->routes[r].up_handshakes);
	metrics_inc(&w1->routes[r].up_resumed);
	metrics_inc(&w0->routes[r].retries);
	metrics_add(&w0->routes[r].up_open, 2);
	metrics_add(&w1->routes[r].up_open, 1);
	metrics_add(&w1->routes[r].up_open, -1);
	metrics_add(&w0->routes[r].up_idle, 1);
	metrics_inc(&w0->listeners[l].connections);
	metrics_inc(&w0->listeners[l].connections);
	metrics_inc(&w0->listeners[l].connections);
	metrics_inc(&w1->listeners[l].connections);
	metrics_inc(&w1->listeners[l].connections);
	metrics_inc(&w1->listeners[l].denied);
	metrics_inc(&w0->listeners[l].tls[metrics_tls_slot(0x0303)]);
	metrics_inc(&w0->listeners[l].tls[metrics_tls_slot(0x0303)]);
	metrics_inc(&w1->listeners[l].tls[metrics_tls_slot(0x0304)]);
	metrics_inc(&w1->listeners[l].tls[metrics_tls_slot(0x0304)]);
	metrics_inc(&w1->listeners[l].handshake_failures);
	metrics_add(&w0->listeners[l].open, 1);

	t = format_all(2);
	n = check_exposition(t);
	ck_assert_int_gt(n, 100);

	snprintf(want, sizeof(want), "tlsbroker_build_info{version=\"%s\"}",
	    PACKAGE_VERSION);
	ck_assert(sample(t, want) == 1);
	ck_assert(sample(t, "tlsbroker_workers") == 2);
	ck_assert(strstr(t, "# TYPE tlsbroker_requests_total counter\n") != NULL);
	ck_assert(strstr(t, "# TYPE tlsbroker_request_duration_seconds histogram\n") != NULL);
	ck_assert(strstr(t, "# TYPE tlsbroker_upstream_connections gauge\n") != NULL);
	ck_assert(strstr(t, "# HELP tlsbroker_closes_total ") != NULL);

	ck_assert(sample(t, "tlsbroker_requests_total{route=\"payroll\",class=\"2xx\"}") == 3);
	ck_assert(sample(t, "tlsbroker_requests_total{route=\"payroll\",class=\"5xx\"}") == 1);
	ck_assert(sample(t, "tlsbroker_requests_total{route=\"payroll\",class=\"4xx\"}") == 0);
	ck_assert(sample(t, "tlsbroker_requests_total{route=\"payroll\",class=\"none\"}") == 0);
	ck_assert(sample(t, "tlsbroker_requests_total{route=\"-\",class=\"4xx\"}") == 1);
	ck_assert(sample(t, "tlsbroker_closes_total{route=\"payroll\",reason=\"ok\"}") == 3);
	ck_assert(sample(t, "tlsbroker_closes_total{route=\"payroll\",reason=\"upstream_reset\"}") == 1);
	ck_assert(sample(t, "tlsbroker_closes_total{route=\"payroll\",reason=\"no_route\"}") == 0);
	ck_assert(sample(t, "tlsbroker_closes_total{route=\"-\",reason=\"no_route\"}") == 1);
	ck_assert(sample(t, "tlsbroker_upstream_connections_opened_total{route=\"payroll\"}") == 3);
	ck_assert(sample(t, "tlsbroker_upstream_reused_total{route=\"payroll\"}") == 2);
	ck_assert(sample(t, "tlsbroker_upstream_handshakes_total{route=\"payroll\"}") == 2);
	ck_assert(sample(t, "tlsbroker_upstream_resumed_total{route=\"payroll\"}") == 1);
	ck_assert(sample(t, "tlsbroker_retries_total{route=\"payroll\"}") == 1);
	ck_assert(sample(t, "tlsbroker_upstream_connections{route=\"payroll\",state=\"open\"}") == 2);
	ck_assert(sample(t, "tlsbroker_upstream_connections{route=\"payroll\",state=\"idle\"}") == 1);
	/* The pseudo-route has no upstream series. */
	ck_assert(!has_series_prefix(t, "tlsbroker_upstream_reused_total{route=\"-\""));
	ck_assert(!has_series_prefix(t, "tlsbroker_upstream_connections{route=\"-\""));

	ck_assert(sample(t, "tlsbroker_listener_connections_total{listener=\"erp\"}") == 5);
	ck_assert(sample(t, "tlsbroker_listener_denied_total{listener=\"erp\"}") == 1);
	ck_assert(sample(t, "tlsbroker_listener_tls_total{listener=\"erp\",version=\"TLSv1.2\"}") == 2);
	ck_assert(sample(t, "tlsbroker_listener_tls_total{listener=\"erp\",version=\"TLSv1.3\"}") == 2);
	ck_assert(sample(t, "tlsbroker_listener_tls_total{listener=\"erp\",version=\"TLSv1\"}") == 0);
	ck_assert(sample(t, "tlsbroker_listener_handshake_failures_total{listener=\"erp\"}") == 1);
	ck_assert(sample(t, "tlsbroker_listener_open_connections{listener=\"erp\"}") == 1);

	/* A registered route nobody used still has all its series, at 0. */
	ck_assert(sample(t, "tlsbroker_requests_total{route=\"idle\",class=\"2xx\"}") == 0);
	ck_assert(sample(t, "tlsbroker_closes_total{route=\"idle\",reason=\"upstream_cert\"}") == 0);
	ck_assert(sample(t, "tlsbroker_upstream_connections{route=\"idle\",state=\"open\"}") == 0);
	ck_assert(sample(t, "tlsbroker_request_duration_seconds_count{route=\"idle\"}") == 0);
	ck_assert(sample(t, "tlsbroker_request_duration_seconds_sum{route=\"idle\"}") == 0);
	free(t);
}
END_TEST

START_TEST(test_format_histogram)
{
	static const char *const le[] = { "0.005", "0.01", "0.025", "0.05",
	    "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf" };
	static const double cum[] = { 1, 2, 2, 3, 3, 3, 3, 3, 4, 4, 4, 5 };
	struct metrics_worker *w0 = metrics_worker(0), *w1 = metrics_worker(1);
	int r = metrics_route_id("payroll");
	char series[128];
	double prev = 0, v, total = 0;
	char *t;
	int i;

	metrics_request(w0, r, 200, CR_OK, 3);		/* le 0.005 */
	metrics_request(w1, r, 200, CR_OK, 7);		/* le 0.01 */
	metrics_request(w0, r, 200, CR_OK, 40);		/* le 0.05 */
	metrics_request(w1, r, 502, CR_UPSTREAM_TIMEOUT, 1200); /* le 2.5 */
	metrics_request(w0, r, 504, CR_UPSTREAM_TIMEOUT, 60000); /* +Inf */
	t = format_all(2);
	check_exposition(t);
	for (i = 0; i < METRICS_NBUCKETS; i++) {
		snprintf(series, sizeof(series),
		    "tlsbroker_request_duration_seconds_bucket{route=\"payroll\",le=\"%s\"}",
		    le[i]);
		v = sample(t, series);
		ck_assert_msg(v == cum[i], "le %s: %g", le[i], v);
		ck_assert(v >= prev);
		prev = v;
		total = v;
	}
	ck_assert(sample(t, "tlsbroker_request_duration_seconds_count{route=\"payroll\"}") == total);
	ck_assert(total == 5);
	/* 3 + 7 + 40 + 1200 + 60000 ms, in seconds with ms precision. */
	ck_assert(strstr(t, "\ntlsbroker_request_duration_seconds_sum{route=\"payroll\"} 61.250\n") != NULL);
	/* Buckets appear in increasing order of le. */
	ck_assert(strstr(t, "le=\"0.005\"") < strstr(t, "le=\"+Inf\""));
	free(t);
}
END_TEST

START_TEST(test_format_escaping)
{
	struct metrics_worker *w = metrics_worker(0);
	int r = metrics_route_id("a\"b\\c\nd");
	int l = metrics_listener_id("\"q\"");
	char *t;

	metrics_request(w, r, 200, CR_OK, 1);
	metrics_inc(&w->listeners[l].connections);
	t = format_all(1);
	check_exposition(t);
	ck_assert(sample(t, "tlsbroker_requests_total{route=\"a\\\"b\\\\c\\nd\",class=\"2xx\"}") == 1);
	ck_assert(sample(t, "tlsbroker_listener_connections_total{listener=\"\\\"q\\\"\"}") == 1);
	/* The raw newline never reaches the output inside a label. */
	ck_assert(strstr(t, "c\nd") == NULL);
	free(t);
}
END_TEST

START_TEST(test_format_empty)
{
	char *t = format_all(0);

	/* Even with nothing registered: build info, workers, route "-". */
	check_exposition(t);
	ck_assert(sample(t, "tlsbroker_workers") == 0);
	ck_assert(sample(t, "tlsbroker_requests_total{route=\"-\",class=\"2xx\"}") == 0);
	ck_assert(strstr(t, "listener=") == NULL);
	free(t);
}
END_TEST

/* ---- admin -------------------------------------------------------------------- */

struct reply {
	struct event_base *base;
	int code;		/* 0 = no response */
	char body[65536];
	size_t len;
	char ctype[128];
	char allow[64];
};

static void
client_donecb(struct evhttp_request *req, void *arg)
{
	struct reply *r = arg;
	struct evkeyvalq *h;
	const char *v;
	int n;

	if (req != NULL && evhttp_request_get_response_code(req) != 0) {
		r->code = evhttp_request_get_response_code(req);
		h = evhttp_request_get_input_headers(req);
		if ((v = evhttp_find_header(h, "Content-Type")) != NULL)
			snprintf(r->ctype, sizeof(r->ctype), "%s", v);
		if ((v = evhttp_find_header(h, "Allow")) != NULL)
			snprintf(r->allow, sizeof(r->allow), "%s", v);
		n = evbuffer_remove(evhttp_request_get_input_buffer(req),
		    r->body, sizeof(r->body) - 1);
		r->len = n > 0 ? (size_t)n : 0;
		r->body[r->len] = '\0';
	}
	event_base_loopbreak(r->base);
}

static void
client_timeoutcb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* One request on conn, run on base until answered (10 s at most). */
static void
http_do(struct event_base *base, struct evhttp_connection *conn,
    enum evhttp_cmd_type cmd, const char *path, struct reply *r)
{
	struct evhttp_request *req;
	struct timeval tv = { 10, 0 };
	struct event *timer;

	memset(r, 0, sizeof(*r));
	r->base = base;
	r->code = -1;
	req = evhttp_request_new(client_donecb, r);
	ck_assert_ptr_nonnull(req);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host",
	    "127.0.0.1");
	ck_assert_int_eq(evhttp_make_request(conn, req, cmd, path), 0);
	timer = evtimer_new(base, client_timeoutcb, base);
	ck_assert_ptr_nonnull(timer);
	evtimer_add(timer, &tv);
	event_base_dispatch(base);
	event_free(timer);
	ck_assert_msg(r->code != -1, "%s: no answer within 10 s", path);
}

static struct event_base *abase;
static struct admin *adm;
static struct evhttp_connection *aconn;

static void
admin_setup(void)
{
	char err[256];

	metrics_free();
	abase = event_base_new();
	ck_assert_ptr_nonnull(abase);
	adm = admin_start(abase, "127.0.0.1", 0, 3, err, sizeof(err));
	ck_assert_msg(adm != NULL, "admin_start: %s", err);
	ck_assert_uint_ne(admin_port(adm), 0);
	aconn = evhttp_connection_base_new(abase, NULL, "127.0.0.1",
	    (unsigned short)admin_port(adm));
	ck_assert_ptr_nonnull(aconn);
}

static void
admin_teardown(void)
{
	evhttp_connection_free(aconn);
	admin_stop(adm);
	event_base_free(abase);
	metrics_free();
}

START_TEST(test_admin_metrics)
{
	struct reply r;
	int id = metrics_route_id("payroll");

	metrics_request(metrics_worker(0), id, 200, CR_OK, 12);
	metrics_request(metrics_worker(1), id, 200, CR_OK, 12);
	http_do(abase, aconn, EVHTTP_REQ_GET, "/metrics", &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
	check_exposition(r.body);
	ck_assert(sample(r.body, "tlsbroker_requests_total{route=\"payroll\",class=\"2xx\"}") == 2);
	ck_assert(sample(r.body, "tlsbroker_workers") == 3);
	/* Keep-alive: the next request on the same connection sees new counts. */
	metrics_request(metrics_worker(1), id, 503, CR_UPSTREAM_REFUSED, 2);
	admin_set_workers(adm, 4);
	http_do(abase, aconn, EVHTTP_REQ_GET, "/metrics?x=1", &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert(sample(r.body, "tlsbroker_requests_total{route=\"payroll\",class=\"5xx\"}") == 1);
	ck_assert(sample(r.body, "tlsbroker_closes_total{route=\"payroll\",reason=\"upstream_refused\"}") == 1);
	ck_assert(sample(r.body, "tlsbroker_workers") == 4);
}
END_TEST

START_TEST(test_admin_healthz)
{
	struct reply r;

	http_do(abase, aconn, EVHTTP_REQ_GET, "/healthz", &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body, "ok\n");
	admin_set_status(adm, "3 routes, 2 connections\nsecond line");
	http_do(abase, aconn, EVHTTP_REQ_GET, "/healthz", &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body, "ok\n3 routes, 2 connections second line\n");
	admin_set_status(adm, NULL);
	http_do(abase, aconn, EVHTTP_REQ_GET, "/healthz", &r);
	ck_assert_str_eq(r.body, "ok\n");
}
END_TEST

START_TEST(test_admin_errors)
{
	struct reply r;

	http_do(abase, aconn, EVHTTP_REQ_GET, "/statusx", &r);
	ck_assert_int_eq(r.code, 404);
	http_do(abase, aconn, EVHTTP_REQ_GET, "/metricsx", &r);
	ck_assert_int_eq(r.code, 404);
	http_do(abase, aconn, EVHTTP_REQ_POST, "/nothing", &r);
	ck_assert_int_eq(r.code, 404);
	http_do(abase, aconn, EVHTTP_REQ_POST, "/metrics", &r);
	ck_assert_int_eq(r.code, 405);
	ck_assert_str_eq(r.allow, "GET, HEAD");
	http_do(abase, aconn, EVHTTP_REQ_DELETE, "/healthz", &r);
	ck_assert_int_eq(r.code, 405);
	http_do(abase, aconn, EVHTTP_REQ_PATCH, "/healthz", &r);
	ck_assert_int_eq(r.code, 405);
	/* HEAD: the status and headers of GET, no body. */
	http_do(abase, aconn, EVHTTP_REQ_HEAD, "/metrics", &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_uint_eq(r.len, 0);
	/* And the connection still serves a GET afterwards. */
	http_do(abase, aconn, EVHTTP_REQ_GET, "/healthz", &r);
	ck_assert_int_eq(r.code, 200);
}
END_TEST

START_TEST(test_admin_readyz)
{
	struct reply r;

	/* not ready until the daemon says so */
	http_do(abase, aconn, EVHTTP_REQ_GET, "/readyz", &r);
	ck_assert_int_eq(r.code, 503);
	ck_assert_ptr_nonnull(strstr(r.body, "not ready"));
	admin_set_ready(adm, true);
	http_do(abase, aconn, EVHTTP_REQ_GET, "/readyz", &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body, "ready\n");
	admin_set_ready(adm, false);
	http_do(abase, aconn, EVHTTP_REQ_GET, "/readyz", &r);
	ck_assert_int_eq(r.code, 503);
	/* liveness does not follow readiness */
	http_do(abase, aconn, EVHTTP_REQ_GET, "/healthz", &r);
	ck_assert_int_eq(r.code, 200);
	admin_set_ready(NULL, true);
}
END_TEST

START_TEST(test_admin_page)
{
	struct reply r;
	int id = metrics_route_id("payroll");

	exchange(0, id, CR_UPSTREAM_BAD_RESPONSE, PHASE_RESPONSE, 5000,
	    "status line '<script>alert(\"x\")</script>' & more");
	http_do(abase, aconn, EVHTTP_REQ_GET, "/", &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.ctype, "text/html; charset=utf-8");
	ck_assert_ptr_nonnull(strstr(r.body, "<h1>tlsbroker status</h1>"));
	ck_assert_ptr_nonnull(strstr(r.body, "<table id=\"failures\">"));
	ck_assert_ptr_nonnull(strstr(r.body, "status line &#39;&lt;script&gt;"
	    "alert(&quot;x&quot;)&lt;/script&gt;&#39; &amp; more"));
	ck_assert_ptr_null(strstr(r.body, "<script"));
	ck_assert_ptr_nonnull(strstr(r.body, "upstream_bad_response"));
	ck_assert_ptr_nonnull(strstr(r.body, "the endpoint sent invalid HTTP"));
	ck_assert_ptr_null(strstr(r.body, "http-equiv=\"refresh\""));
	http_do(abase, aconn, EVHTTP_REQ_GET, "/status?refresh=7", &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "<meta http-equiv=\"refresh\" content=\"7\">"));
	http_do(abase, aconn, EVHTTP_REQ_GET, "/?refresh=7x", &r);
	ck_assert_ptr_null(strstr(r.body, "http-equiv=\"refresh\""));
	http_do(abase, aconn, EVHTTP_REQ_HEAD, "/", &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_uint_eq(r.len, 0);
	http_do(abase, aconn, EVHTTP_REQ_POST, "/", &r);
	ck_assert_int_eq(r.code, 405);
}
END_TEST

/* status_html_escape() of s, as a string (static buffer). */
static const char *
escaped(const char *s, size_t len)
{
	static char buf[256];
	struct evbuffer *b = evbuffer_new();
	size_t n;

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(status_html_escape(b, s, len), 0);
	n = evbuffer_remove(b, buf, sizeof(buf) - 1);
	buf[n] = '\0';
	evbuffer_free(b);
	return buf;
}

START_TEST(test_html_escape)
{
	ck_assert_str_eq(escaped("plain text", (size_t)-1), "plain text");
	ck_assert_str_eq(escaped("", (size_t)-1), "");
	ck_assert_str_eq(escaped("<a href=\"x\">&'</a>", (size_t)-1),
	    "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
	ck_assert_str_eq(escaped("&amp;", (size_t)-1), "&amp;amp;");
	/* control bytes and anything outside ASCII */
	ck_assert_str_eq(escaped("a\tb\r\nc\x7f\xc3\xa9", (size_t)-1), "a?b??c???");
	ck_assert_str_eq(escaped("ab\0<d", 4), "ab?&lt;");
	ck_assert_str_eq(escaped("<<", 1), "&lt;");
}
END_TEST

START_TEST(test_admin_bind_error)
{
	char err[256] = "";
	struct admin *second;

	second = admin_start(abase, "127.0.0.1", admin_port(adm), 1, err,
	    sizeof(err));
	ck_assert_ptr_null(second);
	ck_assert_msg(strstr(err, "bind") != NULL &&
	    strstr(err, "Address already in use") != NULL, "err: %s", err);
	ck_assert_msg(strstr(err, "127.0.0.1:") != NULL, "err: %s", err);
	admin_stop(NULL);
	admin_set_status(NULL, "x");
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc;

	tc = tcase_create("registry");
	tcase_add_checked_fixture(tc, reset, reset);
	tcase_add_test(tc, test_ids_stable_distinct);
	tcase_add_test(tc, test_registry_full);
	tcase_add_test(tc, test_free_resets);
	tcase_add_test(tc, test_worker_blocks);
	tcase_add_test(tc, test_tls_slot);
	suite_add_tcase(s, tc);

	tc = tcase_create("request");
	tcase_add_checked_fixture(tc, reset, reset);
	tcase_add_loop_test(tc, test_request_class, 0,
	    (int)(sizeof(class_cases) / sizeof(class_cases[0])));
	tcase_add_loop_test(tc, test_request_bucket, 0,
	    (int)(sizeof(bucket_cases) / sizeof(bucket_cases[0])));
	tcase_add_test(tc, test_request_reason_sum);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_checked_fixture(tc, reset, reset);
	tcase_add_test(tc, test_format_summed);
	tcase_add_test(tc, test_format_histogram);
	tcase_add_test(tc, test_format_escaping);
	tcase_add_test(tc, test_format_empty);
	suite_add_tcase(s, tc);

	tc = tcase_create("status");
	tcase_add_checked_fixture(tc, reset, reset);
	tcase_add_test(tc, test_failures_ring);
	tcase_add_test(tc, test_endpoint_up_down);
	suite_add_tcase(s, tc);
	return s;
}

static Suite *
admin_suite(void)
{
	Suite *s = suite_create("admin");
	TCase *tc;

	tc = tcase_create("http");
	tcase_add_checked_fixture(tc, admin_setup, admin_teardown);
	tcase_add_test(tc, test_admin_metrics);
	tcase_add_test(tc, test_admin_healthz);
	tcase_add_test(tc, test_admin_errors);
	tcase_add_test(tc, test_admin_readyz);
	tcase_add_test(tc, test_admin_page);
	tcase_add_test(tc, test_admin_bind_error);
	suite_add_tcase(s, tc);
	tc = tcase_create("page");
	tcase_add_test(tc, test_html_escape);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(metrics_suite());
	int failed;

	srunner_add_suite(sr, admin_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
