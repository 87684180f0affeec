/* SPDX-License-Identifier: MIT */
/*
 * metrics: the name registry (route and listener names to stable ids), the
 * per-worker counter blocks, and the Prometheus text exposition (version
 * 0.0.4) that sums them.  Workers write only their own block with relaxed
 * atomics; the main thread owns the registry and formats on scrape, so no
 * counter takes a lock.  The status page's facts (recent failures, each
 * endpoint's address, state and certificate) are strings, so they sit
 * behind a per-worker mutex, taken on failures and new upstream
 * connections only.  It does not serve HTTP (admin.c) and does not decide
 * what to count (the session, pool and listener hooks do).
 */
#include "config.h"

#include "metrics.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/x509.h>

#include "audit.h"
#include "clock.h"
#include "conf.h"
#include "evtext.h"
#include "gen.h"
#include "tls_server.h"
#include "upstream_set.h"
#include "upstream_limit.h"

/* Upper bounds of the latency buckets in ms; the last bucket is +Inf. */
static const int64_t bucket_ms[METRICS_NBUCKETS - 1] = {
	5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000
};
/* The same bounds in seconds, as the "le" label values. */
static const char *const bucket_le[METRICS_NBUCKETS] = {
	"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5",
	"5", "10", "+Inf"
};
static const char *const class_label[6] = {
	"none", "1xx", "2xx", "3xx", "4xx", "5xx"
};
/* OpenSSL's names (SSL_get_version()), as the audit log writes them. */
static const char *const tls_label[METRICS_TLS_SLOTS] = {
	"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3", "other"
};

/*
 * The registry: names in id order, main thread only.  Route id 0 is the
 * pseudo-route "-" and is filled in by registry_init().
 */
struct registry {
	char *names[METRICS_MAX_ROUTES];	/* owned */
	int n;
};
static struct registry routes;
static struct registry listeners;

static _Atomic(struct metrics_worker *) blocks[METRICS_MAX_WORKERS];

/* Sums of one route or listener over every worker block. */
struct route_sum {
	uint64_t requests[6];
	uint64_t closes[CR__COUNT];
	uint64_t up_opened, up_reused, up_handshakes, up_resumed, retries;
	uint64_t latency[METRICS_NBUCKETS];
	uint64_t latency_sum_ms;
	int64_t up_open, up_idle;
};

struct listener_sum {
	uint64_t connections, denied, handshake_failures;
	uint64_t tls[METRICS_TLS_SLOTS];
	int64_t open;
	int64_t parked;
	int64_t tls_released;
};

static int
registry_id(struct registry *r, int max, const char *name)
{
	int i;

	if (name == NULL)
		return -1;
	for (i = 0; i < r->n; i++)
		if (strcmp(r->names[i], name) == 0)
			return i;
	if (r->n >= max)
		return -1;
	if ((r->names[r->n] = strdup(name)) == NULL)
		return -1;
	return r->n++;
}

static void
registry_free(struct registry *r)
{
	int i;

	for (i = 0; i < r->n; i++) {
		free(r->names[i]);
		r->names[i] = NULL;
	}
	r->n = 0;
}

/* Registers the pseudo-route "-" as METRICS_ROUTE_NONE before any name. */
static int
registry_init(void)
{
	if (routes.n > 0)
		return 0;
	return registry_id(&routes, METRICS_MAX_ROUTES, "-") ==
	    METRICS_ROUTE_NONE ? 0 : -1;
}

int
metrics_route_id(const char *name)
{
	if (registry_init() == -1)
		return -1;
	return registry_id(&routes, METRICS_MAX_ROUTES, name);
}

int
metrics_listener_id(const char *name)
{
	return registry_id(&listeners, METRICS_MAX_LISTENERS, name);
}

struct metrics_worker *
metrics_worker(unsigned w)
{
	struct metrics_worker *m, *expected = NULL;

	if (w >= METRICS_MAX_WORKERS)
		return NULL;
	m = atomic_load_explicit(&blocks[w], memory_order_acquire);
	if (m != NULL)
		return m;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	if (pthread_mutex_init(&m->lock, NULL) != 0) {
		free(m);
		return NULL;
	}
	/* Two first callers race only if the daemon did not pre-allocate. */
	if (!atomic_compare_exchange_strong_explicit(&blocks[w], &expected, m,
	    memory_order_acq_rel, memory_order_acquire)) {
		pthread_mutex_destroy(&m->lock);
		free(m);
		return expected;
	}
	return m;
}

int
metrics_tls_slot(int version)
{
	switch (version) {
	case 0x0301:
		return 0;
	case 0x0302:
		return 1;
	case 0x0303:
		return 2;
	case 0x0304:
		return 3;
	default:
		return 4;
	}
}

void
metrics_inc(atomic_uint_fast64_t *c)
{
	if (c != NULL)
		atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

void
metrics_add(atomic_int_fast64_t *g, int64_t delta)
{
	if (g != NULL)
		atomic_fetch_add_explicit(g, delta, memory_order_relaxed);
}

void
metrics_request(struct metrics_worker *m, int route, int status,
    enum close_reason code, int64_t total_ms)
{
	struct metrics_route *r;
	int cls = 0, b;

	if (m == NULL || route < 0 || route >= METRICS_MAX_ROUTES)
		return;
	r = &m->routes[route];
	if (status >= 100 && status <= 599)
		cls = status / 100;
	metrics_inc(&r->requests[cls]);
	if ((unsigned)code < CR__COUNT)
		metrics_inc(&r->closes[code]);
	if (total_ms < 0)
		total_ms = 0;
	for (b = 0; b < METRICS_NBUCKETS - 1; b++)
		if (total_ms <= bucket_ms[b])
			break;
	metrics_inc(&r->latency[b]);
	atomic_fetch_add_explicit(&r->latency_sum_ms, (uint64_t)total_ms,
	    memory_order_relaxed);
}

/* ---- the status page's facts ---------------------------------------------- */

/* Copies src (NULL = "") into dst[cap], cut to fit. */
static void
copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src != NULL ? src : "");
}

static void
failure_fill(struct metrics_failure *f, const struct audit_rec *rec)
{
	f->ts_ms = rec->ts_ms + (uint64_t)(rec->total_ms > 0 ? rec->total_ms : 0);
	f->worker = rec->worker;
	copy_str(f->route, sizeof(f->route), rec->route);
	copy_str(f->listener, sizeof(f->listener), rec->listener);
	copy_str(f->client, sizeof(f->client), rec->client);
	copy_str(f->upstream, sizeof(f->upstream), rec->upstream);
	copy_str(f->method, sizeof(f->method), rec->method);
	copy_str(f->path, sizeof(f->path), rec->path);
	f->status = rec->status;
	f->code = rec->err.code;
	f->phase = rec->err.phase;
	copy_str(f->detail, sizeof(f->detail), rec->err.msg);
	f->hint = diag_hint(&rec->err);
}

void
metrics_exchange(struct metrics_worker *m, int route,
    const struct audit_rec *rec)
{
	struct metrics_endpoint *ep;

	if (m == NULL)
		return;
	metrics_request(m, route, rec->status, rec->err.code, rec->total_ms);
	if (!diag_is_failure(rec->err.code))
		return;
	pthread_mutex_lock(&m->lock);
	m->nfailures++;
	failure_fill(&m->failures[(m->nfailures - 1) % METRICS_FAILURES], rec);
	m->failures[(m->nfailures - 1) % METRICS_FAILURES].seq = m->nfailures;
	if (route >= 0 && route < METRICS_MAX_ROUTES && diag_unreached(&rec->err)) {
		ep = &m->endpoints[route];
		ep->down_ms = rec->ts_ms + (uint64_t)(rec->total_ms > 0 ?
		    rec->total_ms : 0);
		ep->down_code = rec->err.code;
	}
	pthread_mutex_unlock(&m->lock);
}

int64_t
metrics_cert_not_after(const X509 *cert)
{
	const ASN1_TIME *t;
	struct tm tm;

	if (cert == NULL || (t = X509_get0_notAfter(cert)) == NULL ||
	    ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

void
metrics_cert_subject(const X509 *cert, char *buf, size_t cap)
{
	BIO *bio;
	int n;

	buf[0] = '\0';
	if (cert == NULL || (bio = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0,
	    XN_FLAG_RFC2253) >= 0 && (n = BIO_read(bio, buf, (int)cap - 1)) > 0)
		buf[n] = '\0';
	BIO_free(bio);
}

void
metrics_upstream_up(struct metrics_worker *m, int route, const char *addr,
    const X509 *cert)
{
	struct metrics_endpoint *ep;
	char subject[sizeof(ep->cert_subject)];
	int64_t not_after = metrics_cert_not_after(cert);
	uint64_t up_ms;

	if (m == NULL || route < 0 || route >= METRICS_MAX_ROUTES)
		return;
	/* the certificate work outside the lock */
	metrics_cert_subject(cert, subject, sizeof(subject));
	up_ms = wall_ms();
	ep = &m->endpoints[route];
	pthread_mutex_lock(&m->lock);
	copy_str(ep->addr, sizeof(ep->addr), addr);
	ep->up_ms = up_ms;
	ep->cert_not_after = not_after;
	memcpy(ep->cert_subject, subject, sizeof(subject));
	pthread_mutex_unlock(&m->lock);
}

static uint64_t
ld(atomic_uint_fast64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static int64_t
ldg(atomic_int_fast64_t *g)
{
	return atomic_load_explicit(g, memory_order_relaxed);
}

/* Adds n counters of one worker block into sum. */
static void
add_counts(uint64_t *sum, atomic_uint_fast64_t *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sum[i] += ld(&c[i]);
}

/*
 * The next worker block in use, from slot *w on; *w moves past it.  NULL
 * after the last.  metrics_worker() fills slots by worker number, so a slot
 * before a used one may still be empty.
 */
static struct metrics_worker *
next_block(unsigned *w)
{
	struct metrics_worker *m;

	while (*w < METRICS_MAX_WORKERS) {
		m = atomic_load_explicit(&blocks[(*w)++], memory_order_acquire);
		if (m != NULL)
			return m;
	}
	return NULL;
}

static void
route_sum(int id, struct route_sum *s)
{
	struct metrics_worker *m;
	struct metrics_route *r;
	unsigned w;

	memset(s, 0, sizeof(*s));
	for (w = 0; (m = next_block(&w)) != NULL;) {
		r = &m->routes[id];
		add_counts(s->requests, r->requests, 6);
		add_counts(s->closes, r->closes, CR__COUNT);
		add_counts(s->latency, r->latency, METRICS_NBUCKETS);
		s->up_opened += ld(&r->up_opened);
		s->up_reused += ld(&r->up_reused);
		s->up_handshakes += ld(&r->up_handshakes);
		s->up_resumed += ld(&r->up_resumed);
		s->retries += ld(&r->retries);
		s->latency_sum_ms += ld(&r->latency_sum_ms);
		s->up_open += ldg(&r->up_open);
		s->up_idle += ldg(&r->up_idle);
	}
}

static void
listener_sum(int id, struct listener_sum *s)
{
	struct metrics_worker *m;
	struct metrics_listener *l;
	unsigned w;

	memset(s, 0, sizeof(*s));
	for (w = 0; (m = next_block(&w)) != NULL;) {
		l = &m->listeners[id];
		s->connections += ld(&l->connections);
		s->denied += ld(&l->denied);
		s->handshake_failures += ld(&l->handshake_failures);
		add_counts(s->tls, l->tls, METRICS_TLS_SLOTS);
		s->open += ldg(&l->open);
		s->parked += ldg(&l->parked);
		s->tls_released += ldg(&l->tls_released);
	}
}

int
metrics_route_count(void)
{
	if (registry_init() == -1)
		return 0;
	return routes.n;
}

const char *
metrics_route_name(int id)
{
	return id >= 0 && id < routes.n ? routes.names[id] : NULL;
}

/* Merges one worker's endpoint into v: the newest facts win. */
static void
view_merge(struct metrics_route_view *v, const struct metrics_endpoint *ep)
{
	unsigned i;

	if (ep->addr[0] != '\0') {
		for (i = 0; i < v->naddrs && strcmp(v->addrs[i], ep->addr) != 0; i++)
			;
		if (i == v->naddrs && v->naddrs < METRICS_VIEW_ADDRS)
			copy_str(v->addrs[v->naddrs++], sizeof(v->addrs[0]), ep->addr);
	}
	if (ep->up_ms > v->ep.up_ms) {
		memcpy(v->ep.addr, ep->addr, sizeof(ep->addr));
		v->ep.up_ms = ep->up_ms;
		v->ep.cert_not_after = ep->cert_not_after;
		memcpy(v->ep.cert_subject, ep->cert_subject, sizeof(ep->cert_subject));
	}
	if (ep->down_ms > v->ep.down_ms) {
		v->ep.down_ms = ep->down_ms;
		v->ep.down_code = ep->down_code;
	}
}

void
metrics_route_view(int id, struct metrics_route_view *v)
{
	struct route_sum sum;
	struct metrics_worker *m;
	unsigned w;

	memset(v, 0, sizeof(*v));
	if (id < 0 || id >= routes.n)
		return;
	route_sum(id, &sum);
	memcpy(v->closes, sum.closes, sizeof(v->closes));
	v->up_open = sum.up_open;
	v->up_idle = sum.up_idle;
	for (w = 0; (m = next_block(&w)) != NULL;) {
		pthread_mutex_lock(&m->lock);
		view_merge(v, &m->endpoints[id]);
		pthread_mutex_unlock(&m->lock);
	}
}

static int
failure_newer_first(const void *a, const void *b)
{
	const struct metrics_failure *x = a, *y = b;

	if (x->ts_ms != y->ts_ms)
		return x->ts_ms > y->ts_ms ? -1 : 1;
	if (x->worker != y->worker)
		return x->worker < y->worker ? -1 : 1;
	return x->seq > y->seq ? -1 : x->seq < y->seq ? 1 : 0;
}

size_t
metrics_recent_failures(struct metrics_failure *out, size_t max)
{
	struct metrics_failure *all;
	struct metrics_worker *m;
	size_t n = 0, i;
	unsigned w;

	all = calloc((size_t)METRICS_MAX_WORKERS * METRICS_FAILURES, sizeof(*all));
	if (all == NULL)
		return 0;
	for (w = 0; (m = next_block(&w)) != NULL;) {
		pthread_mutex_lock(&m->lock);
		for (i = 0; i < METRICS_FAILURES; i++)
			if (m->failures[i].seq != 0)
				all[n++] = m->failures[i];
		pthread_mutex_unlock(&m->lock);
	}
	qsort(all, n, sizeof(*all), failure_newer_first);
	if (n > max)
		n = max;
	memcpy(out, all, n * sizeof(*out));
	free(all);
	return n;
}

/* A label value, escaped as the text format wants: \\, \" and \n. */
static void
expo_label(struct evtext *e, const char *v)
{
	const char *run = v;

	for (; *v != '\0'; v++) {
		if (*v != '\\' && *v != '"' && *v != '\n')
			continue;
		evtext_add(e, run, (size_t)(v - run));
		evtext_add(e, *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" : "\\n", 2);
		run = v + 1;
	}
	evtext_add(e, run, (size_t)(v - run));
}

static void
expo_family(struct evtext *e, const char *name, const char *type,
    const char *help)
{
	evtext_printf(e, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * name{key="label"[,extra]} value: one sample line.  extra is already
 * escaped label text; counters are unsigned, gauges may go below zero.
 */
static void
expo_sample(struct evtext *e, const char *name, const char *key,
    const char *label, const char *extra, int64_t v, bool is_signed)
{
	evtext_printf(e, "%s{%s=\"", name, key);
	expo_label(e, label);
	if (is_signed)
		evtext_printf(e, "\"%s} %" PRId64 "\n", extra, v);
	else
		evtext_printf(e, "\"%s} %" PRIu64 "\n", extra, (uint64_t)v);
}

static void
expo_route_u(struct evtext *e, const char *name, int id, const char *extra,
    uint64_t v)
{
	expo_sample(e, name, "route", routes.names[id], extra, (int64_t)v, false);
}

static void
expo_route_i(struct evtext *e, const char *name, int id, const char *extra,
    int64_t v)
{
	expo_sample(e, name, "route", routes.names[id], extra, v, true);
}

static void
expo_listener(struct evtext *e, const char *name, int id, const char *extra,
    int64_t v)
{
	expo_sample(e, name, "listener", listeners.names[id], extra, v, true);
}

/*
 * A per-route counter family: one series per registered route, the value
 * picked from the route's sum by offset.  The pseudo-route "-" never has an
 * upstream, so upstream families skip it (skip_none).
 */
static void
expo_route_counter(struct evtext *e, const struct route_sum *sums,
    const char *name, const char *help, size_t off, bool skip_none)
{
	int id;

	expo_family(e, name, "counter", help);
	for (id = skip_none ? 1 : 0; id < routes.n; id++)
		expo_route_u(e, name, id, "",
		    *(const uint64_t *)(const void *)((const char *)&sums[id] + off));
}

/* One family of the connection caps: a series per route that has a limit. */
static void
expo_cap_family(struct evtext *e, const char *name, const char *type,
    const char *help, size_t off, bool is_signed)
{
	struct uplimit_stats st;
	int id;

	expo_family(e, name, type, help);
	for (id = 1; id < routes.n; id++) {
		if (!uplimit_stats(id, &st))
			continue;
		if (is_signed)
			expo_route_i(e, name, id, "", *(const int64_t *)(const void *)
			    ((const char *)&st + off));
		else
			expo_route_u(e, name, id, "", *(const uint64_t *)(const void *)
			    ((const char *)&st + off));
	}
}

/*
 * upstream_max_connections: the cap, the slots held over all workers and
 * generations (open upstream connections: connecting, busy or idle), the
 * queue now and what it did.  Shared atomics, read here without a lock.
 */
static void
expo_caps(struct evtext *e)
{
	struct uplimit_stats st;
	int id;

	expo_family(e, "tlsbroker_upstream_max_connections", "gauge",
	    "upstream_max_connections of the route; 0 = unlimited.");
	for (id = 1; id < routes.n; id++)
		if (uplimit_stats(id, &st))
			expo_route_i(e, "tlsbroker_upstream_max_connections", id, "",
			    (int64_t)st.max);
	expo_cap_family(e, "tlsbroker_upstream_slots_in_use", "gauge",
	    "Upstream connections the cap counts now (connecting, busy or "
	    "idle, of every configuration generation).",
	    offsetof(struct uplimit_stats, in_use), true);
	expo_cap_family(e, "tlsbroker_upstream_queue_length", "gauge",
	    "Requests waiting now for one of upstream_max_connections.",
	    offsetof(struct uplimit_stats, queued), true);
	expo_cap_family(e, "tlsbroker_upstream_queue_waits_total", "counter",
	    "Requests that waited for one of upstream_max_connections.",
	    offsetof(struct uplimit_stats, waits), false);
	expo_cap_family(e, "tlsbroker_upstream_queue_timeouts_total", "counter",
	    "Waiting requests that gave up after upstream_queue_timeout.",
	    offsetof(struct uplimit_stats, timeouts), false);
	expo_cap_family(e, "tlsbroker_upstream_queue_full_total", "counter",
	    "Requests refused because upstream_queue_max requests already "
	    "waited.", offsetof(struct uplimit_stats, full), false);
}

static void
expo_routes(struct evtext *e, const struct route_sum *sums)
{
	char extra[64];
	uint64_t cum;
	int id, i;

	expo_family(e, "tlsbroker_requests_total", "counter",
	    "Finished exchanges (http requests, tcp connections) by response "
	    "status class; route \"-\" matched no route.");
	for (id = 0; id < routes.n; id++)
		for (i = 0; i < 6; i++) {
			snprintf(extra, sizeof(extra), ",class=\"%s\"",
			    class_label[i]);
			expo_route_u(e, "tlsbroker_requests_total", id, extra,
			    sums[id].requests[i]);
		}

	expo_family(e, "tlsbroker_closes_total", "counter",
	    "Finished exchanges by close reason (ok is a normal end).");
	for (id = 0; id < routes.n; id++)
		for (i = 0; i < CR__COUNT; i++) {
			snprintf(extra, sizeof(extra), ",reason=\"%s\"",
			    close_reason_str((enum close_reason)i));
			expo_route_u(e, "tlsbroker_closes_total", id, extra,
			    sums[id].closes[i]);
		}

	expo_route_counter(e, sums, "tlsbroker_upstream_connections_opened_total",
	    "Upstream connections opened.",
	    offsetof(struct route_sum, up_opened), true);
	expo_route_counter(e, sums, "tlsbroker_upstream_reused_total",
	    "Requests sent on a pooled (reused) upstream connection.",
	    offsetof(struct route_sum, up_reused), true);
	expo_route_counter(e, sums, "tlsbroker_upstream_handshakes_total",
	    "Upstream TLS handshakes completed.",
	    offsetof(struct route_sum, up_handshakes), true);
	expo_route_counter(e, sums, "tlsbroker_upstream_resumed_total",
	    "Upstream TLS handshakes that resumed a session.",
	    offsetof(struct route_sum, up_resumed), true);
	expo_route_counter(e, sums, "tlsbroker_retries_total",
	    "Requests retried on a fresh connection after a stale pooled one "
	    "failed.", offsetof(struct route_sum, retries), true);

	expo_family(e, "tlsbroker_upstream_connections", "gauge",
	    "Upstream connections now: open (all) and idle (in the pool).");
	for (id = 1; id < routes.n; id++) {
		expo_route_i(e, "tlsbroker_upstream_connections", id,
		    ",state=\"open\"", sums[id].up_open);
		expo_route_i(e, "tlsbroker_upstream_connections", id,
		    ",state=\"idle\"", sums[id].up_idle);
	}

	expo_family(e, "tlsbroker_request_duration_seconds", "histogram",
	    "Time from the start of an exchange to its end.");
	for (id = 0; id < routes.n; id++) {
		cum = 0;
		for (i = 0; i < METRICS_NBUCKETS; i++) {
			cum += sums[id].latency[i];
			snprintf(extra, sizeof(extra), ",le=\"%s\"", bucket_le[i]);
			expo_route_u(e, "tlsbroker_request_duration_seconds_bucket",
			    id, extra, cum);
		}
		evtext_printf(e, "tlsbroker_request_duration_seconds_sum"
		    "{route=\"");
		expo_label(e, routes.names[id]);
		evtext_printf(e, "\"} %" PRIu64 ".%03" PRIu64 "\n",
		    sums[id].latency_sum_ms / 1000,
		    sums[id].latency_sum_ms % 1000);
		/* From the same snapshot as the buckets, so it equals +Inf. */
		expo_route_u(e, "tlsbroker_request_duration_seconds_count", id,
		    "", cum);
	}
}

static void
expo_listeners(struct evtext *e)
{
	struct listener_sum s[METRICS_MAX_LISTENERS];
	char extra[64];
	int id, i;

	for (id = 0; id < listeners.n; id++)
		listener_sum(id, &s[id]);

	expo_family(e, "tlsbroker_listener_connections_total", "counter",
	    "Client connections accepted.");
	for (id = 0; id < listeners.n; id++)
		expo_listener(e, "tlsbroker_listener_connections_total", id, "",
		    (int64_t)s[id].connections);
	expo_family(e, "tlsbroker_listener_denied_total", "counter",
	    "Client connections refused by the allow list.");
	for (id = 0; id < listeners.n; id++)
		expo_listener(e, "tlsbroker_listener_denied_total", id, "",
		    (int64_t)s[id].denied);
	expo_family(e, "tlsbroker_listener_tls_total", "counter",
	    "Inbound TLS handshakes completed, by protocol version.");
	for (id = 0; id < listeners.n; id++)
		for (i = 0; i < METRICS_TLS_SLOTS; i++) {
			snprintf(extra, sizeof(extra), ",version=\"%s\"",
			    tls_label[i]);
			expo_listener(e, "tlsbroker_listener_tls_total", id,
			    extra, (int64_t)s[id].tls[i]);
		}
	expo_family(e, "tlsbroker_listener_handshake_failures_total", "counter",
	    "Inbound TLS handshakes that failed.");
	for (id = 0; id < listeners.n; id++)
		expo_listener(e, "tlsbroker_listener_handshake_failures_total",
		    id, "", (int64_t)s[id].handshake_failures);
	expo_family(e, "tlsbroker_listener_open_connections", "gauge",
	    "Client connections open now.");
	for (id = 0; id < listeners.n; id++)
		expo_listener(e, "tlsbroker_listener_open_connections", id, "",
		    s[id].open);
	expo_family(e, "tlsbroker_listener_parked_connections", "gauge",
	    "Open client connections idle between requests, holding no "
	    "buffers.");
	for (id = 0; id < listeners.n; id++)
		expo_listener(e, "tlsbroker_listener_parked_connections", id, "",
		    s[id].parked);
	expo_family(e, "tlsbroker_listener_tls_released_connections", "gauge",
	    "Open client connections whose records the broker runs itself, "
	    "their OpenSSL state freed while idle.");
	for (id = 0; id < listeners.n; id++)
		expo_listener(e, "tlsbroker_listener_tls_released_connections",
		    id, "", s[id].tls_released);
}

/*
 * Client connections per worker: how evenly the listeners spread them
 * (listener.c balances accepts), which sets how busy each worker's loop is.
 */
static void
expo_workers(struct evtext *e, unsigned nworkers)
{
	struct metrics_worker *m;
	int64_t open;
	unsigned w;
	int id;

	expo_family(e, "tlsbroker_worker_open_connections", "gauge",
	    "Client connections open now, per worker.");
	for (w = 0; w < nworkers && w < METRICS_MAX_WORKERS; w++) {
		m = atomic_load_explicit(&blocks[w], memory_order_acquire);
		open = 0;
		for (id = 0; m != NULL && id < listeners.n; id++)
			open += ldg(&m->listeners[id].open);
		evtext_printf(e, "tlsbroker_worker_open_connections{worker=\"%u\"} %"
		    PRId64 "\n", w, open);
	}
}

/* The end of an expiry sample, after its first labels: subject="..."} value. */
static void
expo_cert_end(struct evtext *e, const X509 *cert, const char *subject,
    int64_t not_after)
{
	char buf[256];

	if (cert != NULL) {
		metrics_cert_subject(cert, buf, sizeof(buf));
		subject = buf;
		not_after = metrics_cert_not_after(cert);
	}
	evtext_printf(e, "subject=\"");
	expo_label(e, subject);
	evtext_printf(e, "\"} %" PRId64 "\n", not_after);
}

/*
 * tlsbroker_cert_not_after_seconds: each certificate file of each
 * listener of gen, and the endpoint certificate each route saw at its
 * newest handshake (once it made one).  An alert is "... - time() < 14d".
 * Listener and route names are [A-Za-z0-9_.-]: nothing to escape.
 */
static void
expo_certs(struct evtext *e, const struct gen *gen)
{
	const struct conf *conf = gen->conf;
	struct metrics_route_view v;
	const X509 *x;
	unsigned li, ci, ri;

	expo_family(e, "tlsbroker_cert_not_after_seconds", "gauge",
	    "Expiry (notAfter, seconds since the epoch) of each listener's "
	    "certificates and of each route's endpoint certificate at its last "
	    "handshake.");
	for (li = 0; li < conf->nlisteners; li++)
		for (ci = 0; (x = tls_server_cert(gen->servers[li], ci)) != NULL; ci++) {
			evtext_printf(e, "tlsbroker_cert_not_after_seconds"
			    "{side=\"inbound\",listener=\"%s\",file=\"",
			    conf->listeners[li].name);
			expo_label(e, conf->listeners[li].certs[ci]);
			evtext_printf(e, "\",");
			expo_cert_end(e, x, NULL, 0);
		}
	for (ri = 0; ri < conf->nroutes; ri++) {
		metrics_route_view(conf->routes[ri].metrics_id, &v);
		if (v.ep.cert_not_after == 0)
			continue;
		evtext_printf(e, "tlsbroker_cert_not_after_seconds"
		    "{side=\"upstream\",route=\"%s\",", conf->routes[ri].name);
		expo_cert_end(e, NULL, v.ep.cert_subject, v.ep.cert_not_after);
	}
}

/* One series per address of each route of gen; value from the shared health. */
static void
expo_addresses(struct evtext *e, const struct gen *gen, const char *name,
    bool failures)
{
	const struct conf *conf = gen->conf;
	const struct upstream_set *set;
	unsigned ri, a;

	for (ri = 0; ri < conf->nroutes; ri++) {
		if ((set = conf->routes[ri].uset) == NULL)
			continue;
		for (a = 0; a < set->n; a++) {
			evtext_printf(e, "%s{route=\"%s\",address=\"", name,
			    conf->routes[ri].name);
			expo_label(e, set->health[a]->name);
			evtext_printf(e, "\",role=\"%s\"} %" PRIu64 "\n",
			    set->addrs[a].backup ? "backup" : "primary", failures ?
			    (uint64_t)atomic_load(&set->health[a]->failures) :
			    (uint64_t)!upstream_set_is_down(set, a));
		}
	}
}

/*
 * tlsbroker_upstream_address_up and ..._failures_total: the health every
 * worker shares (upstream_set.c), per address of each route.  Route names
 * are [A-Za-z0-9_.-]: nothing to escape.
 */
static void
expo_upstreams(struct evtext *e, const struct gen *gen)
{
	expo_family(e, "tlsbroker_upstream_address_up", "gauge",
	    "1 while the address is up, 0 while marked down (upstream_max_fails "
	    "failures in a row or a failed health check).");
	expo_addresses(e, gen, "tlsbroker_upstream_address_up", false);
	expo_family(e, "tlsbroker_upstream_address_failures_total", "counter",
	    "Connect, handshake and health-check failures of the address.");
	expo_addresses(e, gen, "tlsbroker_upstream_address_failures_total", true);
}

int
metrics_format(struct evbuffer *out, unsigned nworkers, const struct gen *gen)
{
	struct evtext e = { out, 0 };
	struct route_sum *sums;
	int id;

	if (registry_init() == -1)
		return -1;
	if ((sums = calloc((size_t)routes.n, sizeof(*sums))) == NULL)
		return -1;
	for (id = 0; id < routes.n; id++)
		route_sum(id, &sums[id]);

	expo_family(&e, "tlsbroker_build_info", "gauge",
	    "Always 1; the version label names the running build.");
	evtext_printf(&e, "tlsbroker_build_info{version=\"");
	expo_label(&e, PACKAGE_VERSION);
	evtext_printf(&e, "\"} 1\n");
	expo_family(&e, "tlsbroker_workers", "gauge", "Worker threads.");
	evtext_printf(&e, "tlsbroker_workers %u\n", nworkers);

	expo_routes(&e, sums);
	expo_caps(&e);
	expo_listeners(&e);
	expo_workers(&e, nworkers);
	if (gen != NULL) {
		expo_certs(&e, gen);
		expo_upstreams(&e, gen);
	}
	free(sums);
	return e.err ? -1 : 0;
}

void
metrics_free(void)
{
	struct metrics_worker *m;
	unsigned w;

	for (w = 0; w < METRICS_MAX_WORKERS; w++) {
		m = atomic_exchange_explicit(&blocks[w], NULL,
		    memory_order_acq_rel);
		if (m != NULL)
			pthread_mutex_destroy(&m->lock);
		free(m);
	}
	registry_free(&routes);
	registry_free(&listeners);
}
