/* SPDX-License-Identifier: MIT */
/*
 * admin: the loopback HTTP endpoint (the status page, /metrics, /healthz,
 * /readyz) on evhttp.  Owns its listening socket (bound here, so a failure
 * names the exact call), the evhttp server, the /healthz status text, the
 * readiness flag, a reference to the running generation and the page's
 * snapshot timer.  The exposition comes from metrics.c, the page from
 * status.c; the address policy from conf_check.c, with a per-request
 * loopback check here as a second line of defence.
 */
#include "config.h"

#include "admin.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "clock.h"
#include "gen.h"
#include "log.h"
#include "metrics.h"
#include "status.h"

#define ADMIN_TIMEOUT_S		10	/* idle keep-alive and slow clients */
#define ADMIN_MAX_HEADERS	8192
#define ADMIN_MAX_BODY		1024	/* we read none; bigger ones get 413 */

struct admin {
	struct evhttp *http;		/* owned; owns the listener and connections */
	unsigned nworkers;
	unsigned port;			/* bound port */
	bool ready;			/* /readyz: serving and not draining */
	char status[256];		/* /healthz status line, "" = none */
	struct gen *gen;		/* owned reference: what the page and /metrics show */
	struct status *page;		/* owned: the status page's snapshots */
	struct event *tick_ev;		/* owned: status_tick() every STATUS_TICK_S */
};

/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
static bool
admin_is_loopback(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET)
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family == AF_INET6) {
		if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
		    sin6->sin6_addr.s6_addr[12] == 127;
	}
	return false;
}

/* The peer of req is loopback; asks the socket itself, not evhttp's string. */
static bool
admin_peer_ok(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	evutil_socket_t fd;

	if (evcon == NULL)
		return false;
	fd = bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));
	if (fd == -1 || getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		return false;
	return admin_is_loopback(&ss);
}

/*
 * Sends body (drained) with its headers.  libevent 2.1 writes the body of
 * an answer to HEAD and omits its Content-Length, which leaves a
 * keep-alive client waiting for bytes that belong to nobody; so for HEAD
 * we state the length ourselves and send no body.
 */
static void
admin_reply(struct evhttp_request *req, int code, const char *reason,
    const char *ctype, struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char len[32];

	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		snprintf(len, sizeof(len), "%zu", evbuffer_get_length(body));
		evhttp_add_header(h, "Content-Length", len);
		evbuffer_drain(body, evbuffer_get_length(body));
		evhttp_send_reply(req, code, reason, NULL);
		return;
	}
	evhttp_send_reply(req, code, reason, body);
}

static void
admin_text(struct evhttp_request *req, int code, const char *reason,
    const char *text)
{
	struct evbuffer *body = evbuffer_new();

	if (body == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evbuffer_add(body, text, strlen(text));
	admin_reply(req, code, reason, "text/plain; charset=utf-8", body);
	evbuffer_free(body);
}

/* 500 for an answer whose body could not be built; frees body. */
static void
admin_oom(struct evhttp_request *req, struct evbuffer *body, const char *what)
{
	log_warnx("admin: %s: out of memory", what);
	if (body != NULL)
		evbuffer_free(body);
	admin_text(req, HTTP_INTERNAL, "Internal Server Error", "out of memory\n");
}

static void
admin_metrics(struct admin *a, struct evhttp_request *req)
{
	struct evbuffer *body = evbuffer_new();

	if (body == NULL || metrics_format(body, a->nworkers, a->gen) == -1) {
		admin_oom(req, body, "/metrics");
		return;
	}
	admin_reply(req, HTTP_OK, "OK",
	    "text/plain; version=0.0.4; charset=utf-8", body);
	evbuffer_free(body);
}

static void
admin_healthz(struct admin *a, struct evhttp_request *req)
{
	char text[sizeof(a->status) + 8];

	snprintf(text, sizeof(text), "ok\n%s%s", a->status,
	    a->status[0] != '\0' ? "\n" : "");
	admin_text(req, HTTP_OK, "OK", text);
}

/*
 * Readiness, apart from liveness: 503 from the start of a drain (while the
 * listeners still accept for drain_grace), so a balancer's or keepalived's
 * check moves traffic away before the sockets close.
 */
static void
admin_readyz(struct admin *a, struct evhttp_request *req)
{
	if (a->ready)
		admin_text(req, HTTP_OK, "OK", "ready\n");
	else
		admin_text(req, 503, "Service Unavailable",
		    "not ready: stopping (draining)\n");
}

/* ?refresh=N (1..3600) asks the page to reload itself every N seconds. */
static unsigned
admin_refresh(struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *q = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	struct evkeyvalq params;
	const char *v;
	unsigned long n = 0;
	char *end;

	if (q == NULL || evhttp_parse_query_str(q, &params) == -1)
		return 0;
	if ((v = evhttp_find_header(&params, "refresh")) != NULL) {
		n = strtoul(v, &end, 10);
		if (*end != '\0' || n > 3600)
			n = 0;
	}
	evhttp_clear_headers(&params);
	return (unsigned)n;
}

static void
admin_page(struct admin *a, struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *body = evbuffer_new();
	struct status_info info;

	info.ready = a->ready;
	info.state = a->status;
	info.nworkers = a->nworkers;
	info.refresh = admin_refresh(req);
	if (body == NULL || status_render(a->page, body, a->gen, &info) == -1) {
		admin_oom(req, body, "the status page");
		return;
	}
	/* no script may run, even if an escape were ever missed */
	evhttp_add_header(h, "Content-Security-Policy",
	    "default-src 'none'; style-src 'unsafe-inline'");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	admin_reply(req, HTTP_OK, "OK", "text/html; charset=utf-8", body);
	evbuffer_free(body);
}

typedef void (*admin_handler)(struct admin *, struct evhttp_request *);

static const struct {
	const char *path;
	admin_handler fn;
} admin_paths[] = {
	{ "/", admin_page },
	{ "/status", admin_page },
	{ "/metrics", admin_metrics },
	{ "/healthz", admin_healthz },
	{ "/readyz", admin_readyz },
};

/* Every request lands here, so the order of checks is ours: 403, 404, 405. */
static void
admin_requestcb(struct evhttp_request *req, void *arg)
{
	struct admin *a = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	admin_handler fn = NULL;
	size_t i;

	if (!admin_peer_ok(req)) {
		log_info("admin: refused a request from a non-loopback address");
		admin_text(req, 403, "Forbidden", "forbidden\n");
		return;
	}
	if (path == NULL)
		path = "";
	for (i = 0; i < sizeof(admin_paths) / sizeof(admin_paths[0]); i++)
		if (strcmp(path, admin_paths[i].path) == 0)
			fn = admin_paths[i].fn;
	if (fn == NULL) {
		admin_text(req, HTTP_NOTFOUND, "Not Found",
		    "not found; try /, /metrics, /healthz or /readyz\n");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		admin_text(req, HTTP_BADMETHOD, "Method Not Allowed",
		    "method not allowed; use GET\n");
		return;
	}
	fn(a, req);
}

/*
 * A listening, non-blocking socket on host:port; -1 with err filled.
 * The first address that binds wins (host may be a name).
 */
static int
admin_listen(const char *host, unsigned port, unsigned *bound, char *err,
    size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char sport[8];
	const char *what = "socket";
	int fd = -1, one = 1, rc, saved = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(sport, sizeof(sport), "%u", port);
	if ((rc = getaddrinfo(host, sport, &hints, &res)) != 0) {
		snprintf(err, errlen, "admin %s:%u: %s", host, port,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			what = "socket";
			saved = errno;
			continue;
		}
		/* So a restart does not wait out TIME_WAIT of scrapes. */
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one));
		if (ai->ai_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			    sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1)
			what = "bind";
		else if (listen(fd, 64) == -1)
			what = "listen";
		else
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		snprintf(err, errlen, "admin %s:%u: %s: %s", host, port, what,
		    strerror(saved));
		return -1;
	}
	*bound = port;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			*bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			*bound = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	return fd;
}

static void
admin_tickcb(evutil_socket_t fd, short what, void *arg)
{
	struct admin *a = arg;

	(void)fd;
	(void)what;
	status_tick(a->page);
}

/* The parts admin_start() may have made before the listener. */
static void
admin_free(struct admin *a)
{
	if (a->tick_ev != NULL)
		event_free(a->tick_ev);
	status_free(a->page);
	gen_unref(a->gen);
	free(a);
}

struct admin *
admin_start(struct event_base *base, const char *host, unsigned port,
    unsigned nworkers, char *err, size_t errlen)
{
	struct admin *a;
	struct evconnlistener *lev;
	int fd;

	if (port > 65535) {
		snprintf(err, errlen, "admin %s:%u: bad port", host, port);
		return NULL;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errlen, "admin: out of memory");
		return NULL;
	}
	a->nworkers = nworkers;
	if ((a->page = status_new()) == NULL ||
	    (a->tick_ev = event_new(base, -1, EV_PERSIST, admin_tickcb, a)) == NULL ||
	    event_add_ms(a->tick_ev, STATUS_TICK_S * 1000) == -1) {
		snprintf(err, errlen, "admin: out of memory");
		goto err_free;
	}
	if ((fd = admin_listen(host, port, &a->port, err, errlen)) == -1)
		goto err_free;
	if ((a->http = evhttp_new(base)) == NULL) {
		snprintf(err, errlen, "admin: evhttp_new failed");
		goto err_close;
	}
	/* Our callback answers 405 itself, so evhttp must let every method in. */
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	evhttp_set_timeout(a->http, ADMIN_TIMEOUT_S);
	evhttp_set_max_headers_size(a->http, ADMIN_MAX_HEADERS);
	evhttp_set_max_body_size(a->http, ADMIN_MAX_BODY);
	evhttp_set_gencb(a->http, admin_requestcb, a);
	lev = evconnlistener_new(base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (lev == NULL) {
		snprintf(err, errlen, "admin: evconnlistener_new failed");
		goto err_http;
	}
	/* From here the listener owns fd. */
	if (evhttp_bind_listener(a->http, lev) == NULL) {
		evconnlistener_free(lev);
		snprintf(err, errlen, "admin: evhttp_bind_listener failed");
		evhttp_free(a->http);
		admin_free(a);
		return NULL;
	}
	return a;

err_http:
	evhttp_free(a->http);
err_close:
	close(fd);
err_free:
	admin_free(a);
	return NULL;
}

void
admin_stop(struct admin *a)
{
	if (a == NULL)
		return;
	evhttp_free(a->http);
	admin_free(a);
}

void
admin_set_gen(struct admin *a, struct gen *gen)
{
	if (a == NULL)
		return;
	gen_unref(a->gen);
	a->gen = gen != NULL ? gen_ref(gen) : NULL;
}

void
admin_set_status(struct admin *a, const char *status)
{
	size_t i;

	if (a == NULL)
		return;
	snprintf(a->status, sizeof(a->status), "%s",
	    status != NULL ? status : "");
	/* One line: the daemon's STATUS= text might hold a newline. */
	for (i = 0; a->status[i] != '\0'; i++)
		if (a->status[i] == '\n' || a->status[i] == '\r')
			a->status[i] = ' ';
}

void
admin_set_ready(struct admin *a, bool ready)
{
	if (a != NULL)
		a->ready = ready;
}

void
admin_set_workers(struct admin *a, unsigned nworkers)
{
	if (a != NULL)
		a->nworkers = nworkers;
}

unsigned
admin_port(const struct admin *a)
{
	return a != NULL ? a->port : 0;
}
