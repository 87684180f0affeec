/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "upstream_check.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "clock.h"
#include "conf.h"
#include "gen.h"
#include "log.h"
#include "sockio.h"
#include "upstream.h"
#include "upstream_set.h"
#include "worker.h"

#define HCHECK_MAGIC 0x48434b31u	/* "HCK1" */
#define CHECK_TICK_MS 200		/* how often due checks are looked for */
#define CHECK_STATUS_LINE_MAX 512	/* a status line longer than this fails */

/* One check of one address in flight. */
struct hcheck {
	unsigned magic;
	struct upstream_checker *c;	/* not owned */
	struct gen *gen;		/* owned reference: rc lives in it */
	const struct route_conf *rc;
	unsigned addr;
	struct upconn *uc;		/* owned */
	struct event *timer;		/* owned: http answer deadline */
	LIST_ENTRY(hcheck) link;
};

/* When each (route, address) of the current generation is due, by health slot. */
struct check_due {
	const struct upstream_health *h;	/* registry slot: stable over reloads */
	uint64_t next_ms;
	bool busy;
};

struct upstream_checker {
	struct worker *w;		/* not owned */
	struct event *tick;		/* owned */
	LIST_HEAD(, hcheck) inflight;
	struct check_due *due;		/* owned, grown on demand */
	unsigned ndue;
};

static struct check_due *
check_due_for(struct upstream_checker *c, const struct upstream_health *h)
{
	struct check_due *d;
	unsigned i;

	for (i = 0; i < c->ndue; i++)
		if (c->due[i].h == h)
			return &c->due[i];
	if ((d = realloc(c->due, (c->ndue + 1) * sizeof(*d))) == NULL)
		return NULL;
	c->due = d;
	d = &c->due[c->ndue++];
	d->h = h;
	d->next_ms = 0;
	d->busy = false;
	return d;
}

static void
hcheck_free(struct hcheck *hc)
{
	struct check_due *d;

	LIST_REMOVE(hc, link);
	if ((d = check_due_for(hc->c, hc->rc->uset->health[hc->addr])) != NULL)
		d->busy = false;
	if (hc->timer != NULL)
		event_free(hc->timer);
	upconn_free(hc->uc, true);
	gen_unref(hc->gen);
	hc->magic = 0;
	free(hc);
}

static void
hcheck_done(struct hcheck *hc, const char *failure)
{
	struct upstream_set *set = hc->rc->uset;

	if (failure == NULL)
		upstream_set_ok(set, hc->addr);
	else {
		/* the transition is logged with the reason; each check is noise */
		log_debug("route %s: health check of %s failed: %s", hc->rc->name,
		    set->health[hc->addr]->name, failure);
		upstream_set_check_failed(set, hc->addr, now_ms(), failure);
	}
	hcheck_free(hc);
}

static struct hcheck *
hcheck_from_arg(void *arg)
{
	struct hcheck *hc = arg;

	if (hc == NULL || hc->magic != HCHECK_MAGIC)
		fatalx("health check callback on a freed object %p", arg);
	return hc;
}

/* "HTTP/1.x NNN ...": whether NNN is what the route expects. */
static const char *
hcheck_judge_status(const struct hcheck *hc, const char *line)
{
	static char why[96];
	unsigned status;
	unsigned want = hc->rc->health_check_status;

	if (sscanf(line, "HTTP/1.%*1[01] %3u", &status) != 1)
		return "the answer is not an HTTP/1 status line";
	if (want != 0 ? status == want : status >= 200 && status < 400)
		return NULL;
	if (want == 0)
		snprintf(why, sizeof(why), "status %u, expected 2xx or 3xx", status);
	else
		snprintf(why, sizeof(why), "status %u, expected %u", status, want);
	return why;
}

static void
hcheck_readcb(struct sockio *io, void *arg)
{
	struct hcheck *hc = hcheck_from_arg(arg);
	struct evbuffer *in = sockio_get_input(io);
	char *line;

	if ((line = evbuffer_readln(in, NULL, EVBUFFER_EOL_CRLF)) == NULL) {
		if (evbuffer_get_length(in) > CHECK_STATUS_LINE_MAX)
			hcheck_done(hc, "the status line is too long");
		return;
	}
	hcheck_done(hc, hcheck_judge_status(hc, line));
	free(line);
}

static void
hcheck_eventcb(struct sockio *io, short what, void *arg)
{
	struct hcheck *hc = hcheck_from_arg(arg);

	(void)io;
	if (what & (SOCKIO_EOF | SOCKIO_ERROR))
		hcheck_done(hc, "the endpoint closed before a status line");
}

static void
hcheck_timeoutcb(evutil_socket_t fd, short what, void *arg)
{
	struct hcheck *hc = hcheck_from_arg(arg);

	(void)fd;
	(void)what;
	hcheck_done(hc, "no status line within response_timeout");
}

/* The connection is ready: health_check = http asks its question. */
static void
hcheck_send_request(struct hcheck *hc)
{
	const struct route_conf *rc = hc->rc;
	struct sockio *io = hc->uc->io;

	hc->timer = event_new(hc->c->w->base, -1, 0, hcheck_timeoutcb, hc);
	if (hc->timer == NULL ||
	    event_add_ms(hc->timer, rc->response_timeout_ms) == -1 ||
	    evbuffer_add_printf(sockio_get_output(io),
	    "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tlsbroker-health-check\r\n"
	    "Connection: close\r\n\r\n",
	    rc->health_check_path != NULL ? rc->health_check_path : "/",
	    rc->up_host != NULL ? rc->up_host : rc->upstreams[hc->addr].hp.host) < 0) {
		hcheck_done(hc, "out of memory");
		return;
	}
	sockio_setcb(io, hcheck_readcb, NULL, hcheck_eventcb, hc);
	sockio_enable(io, EV_READ | EV_WRITE);
}

static void
hcheck_conn_cb(struct upconn *uc, const struct tb_err *err, void *arg)
{
	struct hcheck *hc = hcheck_from_arg(arg);
	char why[sizeof(err->msg) + 32];

	(void)uc;
	if (err != NULL) {
		snprintf(why, sizeof(why), "%s: %s", close_reason_str(err->code),
		    err->msg);
		hcheck_done(hc, why);
		return;
	}
	if (hc->rc->health_check == HEALTH_CHECK_HTTP)
		hcheck_send_request(hc);
	else
		hcheck_done(hc, NULL);
}

static void
hcheck_start(struct upstream_checker *c, const struct route_conf *rc,
    unsigned addr, struct check_due *d)
{
	struct worker *w = c->w;
	struct hcheck *hc;

	if ((hc = calloc(1, sizeof(*hc))) == NULL)
		return;
	hc->magic = HCHECK_MAGIC;
	hc->c = c;
	hc->gen = gen_ref(w->gen);
	hc->rc = rc;
	hc->addr = addr;
	LIST_INSERT_HEAD(&c->inflight, hc, link);
	d->busy = true;
	hc->uc = upstream_connect(w, rc, (int)addr, UPSTREAM_F_NO_HEALTH,
	    w->gen->clients[rc->index], NULL, hcheck_conn_cb, hc);
	if (hc->uc == NULL)
		hcheck_free(hc);
}

static void
check_tickcb(evutil_socket_t fd, short what, void *arg)
{
	struct upstream_checker *c = arg;
	const struct conf *conf = c->w->gen->conf;
	const struct route_conf *rc;
	struct check_due *d;
	uint64_t now = now_ms();
	unsigned i, a;

	(void)fd;
	(void)what;
	if (c->w->draining)
		return;
	for (i = 0; i < conf->nroutes; i++) {
		rc = &conf->routes[i];
		if (rc->health_check == HEALTH_CHECK_OFF || rc->uset == NULL)
			continue;
		for (a = 0; a < rc->uset->n; a++) {
			d = check_due_for(c, rc->uset->health[a]);
			if (d == NULL || d->busy || now < d->next_ms)
				continue;
			d->next_ms = now + rc->health_check_interval_ms;
			hcheck_start(c, rc, a, d);
		}
	}
}

struct upstream_checker *
upstream_check_new(struct worker *w)
{
	struct upstream_checker *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->w = w;
	LIST_INIT(&c->inflight);
	c->tick = event_new(w->base, -1, EV_PERSIST, check_tickcb, c);
	if (c->tick == NULL || event_add_ms(c->tick, CHECK_TICK_MS) == -1) {
		upstream_check_free(c);
		return NULL;
	}
	return c;
}

void
upstream_check_free(struct upstream_checker *c)
{
	if (c == NULL)
		return;
	while (!LIST_EMPTY(&c->inflight))
		hcheck_free(LIST_FIRST(&c->inflight));
	if (c->tick != NULL)
		event_free(c->tick);
	free(c->due);
	free(c);
}
