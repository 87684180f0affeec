/* SPDX-License-Identifier: MIT */
/*
 * status: renders the status page from the running generation (routes,
 * listeners, certificates) and metrics.c's sums, failures and endpoint
 * facts, with each address of an upstream list and its shared health
 * (upstream_set.c).  "The last minutes" is the difference between the
 * close counters now and a snapshot STATUS_WINDOW_S old: status_tick()
 * keeps a ring of snapshots, so the workers count nothing extra for it.  All text goes
 * through status_html_escape(); the page carries no script, and admin.c
 * sends it with a Content-Security-Policy that would block one anyway.
 */
#include "config.h"

#include "status.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "clock.h"
#include "conf.h"
#include "diag.h"
#include "evtext.h"
#include "gen.h"
#include "metrics.h"
#include "parse.h"
#include "sockaddr.h"
#include "tls_server.h"
#include "tlsio.h"
#include "upstream_set.h"

#define STATUS_SNAPS		(STATUS_WINDOW_S / STATUS_TICK_S + 1)
#define STATUS_FAILURES		50	/* rows of the failures table */

/* The close counters of every registered route at one moment. */
struct snap {
	uint64_t ms;			/* wall-clock ms it was taken */
	int nroutes;			/* routes registered then */
	uint64_t (*closes)[CR__COUNT];	/* owned: [route id][reason] */
};

struct status {
	struct snap snaps[STATUS_SNAPS];	/* a ring */
	unsigned next;				/* slot the next snapshot takes */
	unsigned count;				/* slots filled */
};

/* The page being written, and the moment it describes. */
struct page {
	struct evtext text;
	uint64_t now_ms;
};

/* Appends to the page's text; a failed append sticks in p->text.err. */
#define page_printf(p, ...)	evtext_printf(&(p)->text, __VA_ARGS__)

/* ---- snapshots ------------------------------------------------------------ */

static void
snap_take(struct snap *sn)
{
	struct metrics_route_view v;
	int id, n = metrics_route_count();

	free(sn->closes);
	sn->closes = calloc((size_t)(n > 0 ? n : 1), sizeof(*sn->closes));
	sn->nroutes = sn->closes != NULL ? n : 0;
	sn->ms = wall_ms();
	for (id = 0; id < sn->nroutes; id++) {
		metrics_route_view(id, &v);
		memcpy(sn->closes[id], v.closes, sizeof(v.closes));
	}
}

struct status *
status_new(void)
{
	struct status *st = calloc(1, sizeof(*st));

	if (st != NULL)
		status_tick(st);
	return st;
}

void
status_free(struct status *st)
{
	unsigned i;

	if (st == NULL)
		return;
	for (i = 0; i < STATUS_SNAPS; i++)
		free(st->snaps[i].closes);
	free(st);
}

void
status_tick(struct status *st)
{
	snap_take(&st->snaps[st->next]);
	st->next = (st->next + 1) % STATUS_SNAPS;
	if (st->count < STATUS_SNAPS)
		st->count++;
}

/* The oldest snapshot kept: at most STATUS_WINDOW_S + STATUS_TICK_S old. */
static const struct snap *
snap_oldest(const struct status *st)
{
	return &st->snaps[st->count < STATUS_SNAPS ? 0 : st->next];
}

/* Closes of route id by reason since sn (a route registered later: all). */
static void
closes_since(const struct snap *sn, int id, const uint64_t now[CR__COUNT],
    uint64_t out[CR__COUNT])
{
	int i;

	for (i = 0; i < CR__COUNT; i++)
		out[i] = now[i] - (id >= 0 && id < sn->nroutes ?
		    sn->closes[id][i] : 0);
}

/* ---- output --------------------------------------------------------------- */

int
status_html_escape(struct evbuffer *out, const char *s, size_t len)
{
	const char *run = s, *e;
	size_t i;
	int rc = 0;

	if (len == (size_t)-1)
		len = strlen(s);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		default:
			e = c < 0x20 || c >= 0x7f ? "?" : NULL;
			break;
		}
		if (e == NULL)
			continue;
		if (evbuffer_add(out, run, (size_t)(s + i - run)) == -1 ||
		    evbuffer_add(out, e, strlen(e)) == -1)
			rc = -1;
		run = s + i + 1;
	}
	if (evbuffer_add(out, run, (size_t)(s + len - run)) == -1)
		rc = -1;
	return rc;
}

/* Escaped text; NULL or "" prints dflt (static markup-free text). */
static void
page_text(struct page *p, const char *s, const char *dflt)
{
	if (p->text.err)
		return;
	if (s == NULL || s[0] == '\0')
		s = dflt;
	if (status_html_escape(p->text.out, s, (size_t)-1) == -1)
		p->text.err = 1;
}

/* <td>escaped</td>, or with a class. */
static void
page_td(struct page *p, const char *cls, const char *s, const char *dflt)
{
	if (cls != NULL)
		page_printf(p, "<td class=\"%s\">", cls);
	else
		page_printf(p, "<td>");
	page_text(p, s, dflt);
	page_printf(p, "</td>");
}

/* "2026-11-26 14:03:07Z" for wall-clock ms. */
static void
fmt_time(uint64_t ms, char *buf, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, cap, "%Y-%m-%d %H:%M:%SZ",
	    &tm) == 0)
		snprintf(buf, cap, "?");
}

/* "45 s ago", "12 min ago", "3 h ago" for a wall-clock ms before now. */
static void
fmt_ago(uint64_t now, uint64_t then, char *buf, size_t cap)
{
	uint64_t s = now > then ? (now - then) / 1000 : 0;

	if (s < 120)
		snprintf(buf, cap, "%" PRIu64 " s ago", s);
	else if (s < 7200)
		snprintf(buf, cap, "%" PRIu64 " min ago", s / 60);
	else
		snprintf(buf, cap, "%" PRIu64 " h ago", s / 3600);
}

/* A certificate's expiry: "2027-01-31 (64 days left)" or "EXPIRED ...". */
static void
page_expiry(struct page *p, const char *subject, int64_t not_after)
{
	int64_t left = not_after - (int64_t)(p->now_ms / 1000);
	char when[32];

	fmt_time((uint64_t)not_after * 1000, when, sizeof(when));
	page_text(p, subject, "(no subject)");
	page_printf(p, "<br><span class=\"%s\">%s %s (%" PRId64 " days %s)</span>",
	    left < 14 * 86400 ? "down" : "up", left < 0 ? "EXPIRED" : "expires",
	    when, (left < 0 ? -left : left) / 86400, left < 0 ? "ago" : "left");
}

/* ---- sections --------------------------------------------------------------- */

static void
page_head(struct page *p, const struct status_info *info)
{
	char when[32];

	fmt_time(p->now_ms, when, sizeof(when));
	page_printf(p, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n");
	if (info->refresh > 0)
		page_printf(p, "<meta http-equiv=\"refresh\" content=\"%u\">\n",
		    info->refresh);
	page_printf(p, "<title>tlsbroker status</title>\n<style>\n"
	    "body{font-family:sans-serif;margin:1em;color:#111}\n"
	    "table{border-collapse:collapse;margin-bottom:1.5em}\n"
	    "th,td{border:1px solid #bbb;padding:2px 6px;text-align:left;"
	    "vertical-align:top;font-size:90%%}\n"
	    "th{background:#eee}\n.n{text-align:right}\n"
	    ".up{color:#060}\n.down{color:#b00;font-weight:bold}\n"
	    ".none{color:#777}\n.hint{color:#444;font-style:italic}\n"
	    "</style>\n</head>\n<body>\n<h1>tlsbroker status</h1>\n<p>");
	page_printf(p, "version %s &middot; <span class=\"%s\">%s</span> &middot; ",
	    PACKAGE_VERSION, info->ready ? "up" : "down",
	    info->ready ? "ready" : "NOT READY (stopping)");
	if (info->state != NULL && info->state[0] != '\0')
		page_text(p, info->state, "");
	else
		page_printf(p, "%u workers", info->nworkers);
	page_printf(p, " &middot; at %s</p>\n<p>", when);
	if (info->refresh > 0)
		page_printf(p, "refreshes every %u s (<a href=\"/\">stop</a>)",
		    info->refresh);
	else
		page_printf(p, "<a href=\"/?refresh=10\">refresh every 10 s</a>");
	page_printf(p, " &middot; <a href=\"/metrics\">/metrics</a> &middot; "
	    "<a href=\"/healthz\">/healthz</a> &middot; "
	    "<a href=\"/readyz\">/readyz</a></p>\n");
}

/* The state cell: up, down (why, when) or no connection yet. */
static void
page_state(struct page *p, const struct metrics_route_view *v)
{
	char ago[32];

	if (v->ep.down_ms > v->ep.up_ms) {
		fmt_ago(p->now_ms, v->ep.down_ms, ago, sizeof(ago));
		page_printf(p, "<td class=\"down\">down: %s, %s</td>",
		    close_reason_str(v->ep.down_code), ago);
	} else if (v->ep.up_ms > 0) {
		fmt_ago(p->now_ms, v->ep.up_ms, ago, sizeof(ago));
		page_printf(p, "<td class=\"up\">up (connected %s)</td>", ago);
	} else
		page_printf(p, "<td class=\"none\">no connection yet</td>");
}

/* Requests, errors and the errors by reason of one route in the window. */
static void
page_counts(struct page *p, const uint64_t c[CR__COUNT])
{
	uint64_t total = 0, errors = 0;
	int i, shown = 0;

	for (i = 0; i < CR__COUNT; i++) {
		total += c[i];
		if (i != CR_OK)
			errors += c[i];
	}
	page_printf(p, "<td class=\"n\">%" PRIu64 "</td><td class=\"n%s\">%" PRIu64
	    "</td><td>", total, errors > 0 ? " down" : "", errors);
	for (i = 0; i < CR__COUNT; i++) {
		if (i == CR_OK || c[i] == 0)
			continue;
		page_printf(p, "%s%s&nbsp;%" PRIu64, shown++ > 0 ? ", " : "",
		    close_reason_str((enum close_reason)i), c[i]);
	}
	page_printf(p, "%s</td>", shown == 0 ? "-" : "");
}

/*
 * Every address of a route's upstream list with its shared health (the
 * route's state cell speaks for the endpoint as the workers last saw it;
 * this says which address is resting and for how long).
 */
static void
page_addresses(struct page *p, const struct upstream_set *set)
{
	const struct upstream_health *h;
	uint64_t now = now_ms(), until;
	unsigned a;

	page_printf(p, "<ul class=\"addrs\">");
	for (a = 0; a < set->n; a++) {
		h = set->health[a];
		page_printf(p, "<li class=\"addr\">");
		page_text(p, h->name, "?");
		if (set->addrs[a].weight != 1)
			page_printf(p, " weight=%u", set->addrs[a].weight);
		if (set->addrs[a].backup)
			page_printf(p, " backup");
		if (!upstream_set_is_down(set, a)) {
			page_printf(p, ": <span class=\"up\">up</span>");
		} else {
			until = atomic_load(&h->down_until);
			page_printf(p, ": <span class=\"down\">down</span>");
			if (until > now)
				page_printf(p, ", next try in %" PRIu64 " s",
				    (until - now + 999) / 1000);
			else
				page_printf(p, ", on trial");
		}
		page_printf(p, " (failures: %" PRIu64 ")</li>",
		    (uint64_t)atomic_load(&h->failures));
	}
	page_printf(p, "</ul>");
}

/*
 * The endpoint cell: configured address (every one, with its health, for
 * an upstream list) and TLS, then the addresses seen.
 */
static void
page_endpoint(struct page *p, const struct route_conf *rc,
    const struct metrics_route_view *v)
{
	char tls[32], conf[HOSTPORT_HOSTLEN + 16];
	unsigned i, shown = 0;

	tls_range_format(&rc->up_tls, tls, sizeof(tls));
	(void)hostport_format(&rc->upstream, conf, sizeof(conf));
	page_printf(p, "<td>");
	if (rc->uset == NULL || rc->uset->n < 2)
		page_text(p, conf, "?");
	page_printf(p, " (%s%s)", rc->up_tls.off ? "" : "TLS ",
	    rc->up_tls.off ? "plain" : tls);
	if (rc->uset != NULL && (rc->uset->n > 1 ||
	    upstream_set_is_down(rc->uset, 0)))
		page_addresses(p, rc->uset);
	/* where a name led, as the workers last connected */
	for (i = 0; i < v->naddrs; i++) {
		if (strcmp(v->addrs[i], conf) == 0)
			continue;
		page_printf(p, "%s", shown++ == 0 ? "<br>at " : ", ");
		page_text(p, v->addrs[i], "");
	}
	page_printf(p, "</td>");
}

static void
page_route_row(struct page *p, const struct snap *since,
    const struct route_conf *rc, int id, const char *listener)
{
	struct metrics_route_view v;
	uint64_t c[CR__COUNT];

	metrics_route_view(id, &v);
	closes_since(since, id, v.closes, c);
	page_printf(p, "<tr id=\"route-");
	page_text(p, rc != NULL ? rc->name : "-", "-");
	page_printf(p, "\">");
	page_td(p, NULL, rc != NULL ? rc->name : "- (matched no route)", "");
	page_td(p, NULL, listener, "-");
	if (rc == NULL) {
		page_printf(p, "<td colspan=\"5\" class=\"none\">no route, no "
		    "endpoint</td>");
		page_counts(p, c);
		page_printf(p, "<td></td></tr>\n");
		return;
	}
	page_printf(p, "<td>%s</td><td>", route_mode_str(rc->mode));
	page_text(p, rc->host, "any host");
	if (rc->path != NULL) {
		page_printf(p, " ");
		page_text(p, rc->path, "");
	}
	page_printf(p, "</td>");
	page_endpoint(p, rc, &v);
	page_state(p, &v);
	page_printf(p, "<td class=\"n\">%" PRId64 " / %" PRId64 " / %" PRId64 "</td>",
	    v.up_open, v.up_idle, v.up_open - v.up_idle);
	page_counts(p, c);
	page_printf(p, "<td>");
	if (rc->up_tls.off)
		page_printf(p, "<span class=\"none\">plain</span>");
	else if (v.ep.cert_not_after != 0)
		page_expiry(p, v.ep.cert_subject, v.ep.cert_not_after);
	else
		page_printf(p, "<span class=\"none\">not seen yet</span>");
	page_printf(p, "</td></tr>\n");
}

static void
page_routes(struct page *p, const struct status *st, const struct gen *gen)
{
	const struct snap *since = snap_oldest(st);
	const struct conf *conf = gen->conf;
	char when[32];
	unsigned i;

	fmt_time(since->ms, when, sizeof(when));
	page_printf(p, "<h2>Routes</h2>\n<p>Requests and errors since %s "
	    "(%" PRIu64 " s: the last %u minutes, or since start).</p>\n",
	    when, (p->now_ms - since->ms) / 1000, STATUS_WINDOW_S / 60);
	page_printf(p, "<table id=\"routes\">\n<thead><tr><th>route</th>"
	    "<th>listener</th><th>mode</th><th>match</th><th>endpoint</th>"
	    "<th>state</th><th>pool open / idle / busy</th><th>requests</th>"
	    "<th>errors</th><th>errors by close reason</th>"
	    "<th>endpoint certificate</th></tr></thead>\n<tbody>\n");
	for (i = 0; i < conf->nroutes; i++)
		page_route_row(p, since, &conf->routes[i], conf->routes[i].metrics_id,
		    conf->routes[i].listener);
	page_route_row(p, since, NULL, gen->unrouted_metrics_id, NULL);
	page_printf(p, "</tbody>\n</table>\n");
}

static void
page_listeners(struct page *p, const struct gen *gen)
{
	const struct conf *conf = gen->conf;
	const struct listener_conf *lc;
	const X509 *x;
	char subject[256];
	unsigned li, ci;

	page_printf(p, "<h2>Listeners</h2>\n<table id=\"listeners\">\n<thead><tr>"
	    "<th>listener</th><th>bind</th><th>PROXY protocol</th>"
	    "<th>certificates</th></tr></thead>\n<tbody>\n");
	for (li = 0; li < conf->nlisteners; li++) {
		lc = &conf->listeners[li];
		page_printf(p, "<tr>");
		page_td(p, NULL, lc->name, "");
		page_printf(p, "<td>");
		page_text(p, lc->bind.host, "*");
		page_printf(p, ":%u</td><td>%s</td><td>", lc->bind.port,
		    lc->proxy_protocol == PROXY_MODE_ON ? "on" :
		    lc->proxy_protocol == PROXY_MODE_OPTIONAL ? "optional" : "off");
		for (ci = 0; (x = tls_server_cert(gen->servers[li], ci)) != NULL; ci++) {
			if (ci > 0)
				page_printf(p, "<br>");
			metrics_cert_subject(x, subject, sizeof(subject));
			page_expiry(p, subject, metrics_cert_not_after(x));
		}
		page_printf(p, "</td></tr>\n");
	}
	page_printf(p, "</tbody>\n</table>\n");
}

static void
page_failure_row(struct page *p, const struct metrics_failure *f)
{
	char when[32];

	fmt_time(f->ts_ms, when, sizeof(when));
	page_printf(p, "<tr><td>%s</td>", when);
	page_td(p, NULL, f->route, "-");
	page_td(p, NULL, f->client, "-");
	page_printf(p, "<td>");
	page_text(p, f->method, "");
	page_printf(p, " ");
	page_text(p, f->path, "");
	page_printf(p, "</td>");
	if (f->status != 0)
		page_printf(p, "<td class=\"n\">%d</td>", f->status);
	else
		page_printf(p, "<td></td>");
	page_printf(p, "<td class=\"down\">%s</td><td>%s</td>",
	    close_reason_str(f->code), diag_phase_str(f->phase));
	page_td(p, NULL, f->detail, "");
	page_td(p, "hint", f->hint, "");
	page_td(p, NULL, f->upstream, "-");
	page_printf(p, "</tr>\n");
}

static void
page_failures(struct page *p)
{
	struct metrics_failure *f;
	size_t n, i;

	page_printf(p, "<h2>Recent failures</h2>\n");
	if ((f = calloc(STATUS_FAILURES, sizeof(*f))) == NULL) {
		p->text.err = 1;
		return;
	}
	n = metrics_recent_failures(f, STATUS_FAILURES);
	page_printf(p, "<p>The last %zu, newest first (each worker keeps its %d "
	    "latest; the audit log has them all).</p>\n", n, METRICS_FAILURES);
	page_printf(p, "<table id=\"failures\">\n<thead><tr><th>time (UTC)</th>"
	    "<th>route</th><th>client</th><th>request</th><th>status</th>"
	    "<th>close</th><th>phase</th><th>detail</th><th>hint</th>"
	    "<th>upstream</th></tr></thead>\n<tbody>\n");
	for (i = 0; i < n; i++)
		page_failure_row(p, &f[i]);
	if (n == 0)
		page_printf(p, "<tr><td colspan=\"10\" class=\"none\">none</td></tr>\n");
	page_printf(p, "</tbody>\n</table>\n");
	free(f);
}

int
status_render(struct status *st, struct evbuffer *out, const struct gen *gen,
    const struct status_info *info)
{
	struct page p = { { out, 0 }, wall_ms() };

	page_head(&p, info);
	if (gen != NULL) {
		page_routes(&p, st, gen);
		page_listeners(&p, gen);
	}
	page_failures(&p);
	page_printf(&p, "</body>\n</html>\n");
	return p.text.err ? -1 : 0;
}
