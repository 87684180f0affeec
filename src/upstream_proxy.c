/* SPDX-License-Identifier: MIT */
/*
 * upstream_proxy: the CONNECT request, the bounded reading and
 * classification of the proxy's answer, and the event-driven exchange the
 * broker runs between the TCP connect and the route's TLS handshake (see
 * the header).  The answer is peeked before it is consumed, so the socket
 * is left at the first byte of the tunnel whatever the proxy sends after
 * its head.
 */
#include "config.h"

#include "upstream_proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "clock.h"
#include "http1.h"
#include "parse.h"
#include "sockaddr.h"
#include "tlsio.h"

#define PROXY_HINT_DIAL \
	"the TCP connect to the route's upstream_proxy failed: check " \
	"upstream_proxy = http://HOST:PORT, that the proxy runs, and " \
	"firewalls between broker and proxy (connect_timeout covers it)"

struct proxy_tunnel {
	struct event *ev;		/* owned: write, then read, wait */
	int fd;				/* not owned */
	char req[UPSTREAM_PROXY_REQ_MAX];	/* wiped once sent: it may hold credentials */
	size_t req_len, req_off;
	char head[UPSTREAM_PROXY_HEAD_MAX];	/* answer bytes consumed so far */
	size_t have;
	char proxy[280];		/* "ip:port" of the proxy */
	char target[280];		/* "host:port" asked for */
	uint64_t deadline;		/* monotonic ms */
	proxy_tunnel_cb cb;
	void *arg;
	struct tb_err err;
};

int
upstream_proxy_request(const struct hostport *target, const char *basic,
    char *buf, size_t cap)
{
	char auth[HOSTPORT_HOSTLEN + 16];
	int n;

	if (hostport_format(target, auth, sizeof(auth)) == -1)
		return -1;
	if (basic != NULL)
		n = snprintf(buf, cap, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n"
		    "Proxy-Authorization: Basic %s\r\n\r\n", auth, auth, basic);
	else
		n = snprintf(buf, cap, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n",
		    auth, auth);
	if (n < 0 || (size_t)n >= cap) {
		if (cap > 0)
			OPENSSL_cleanse(buf, cap);
		return -1;
	}
	return n;
}

/*
 * "HTTP/1.x DDD" then a blank or CR: 1 with *status, 0 if the bytes so
 * far fit it but are too few, -1 if they cannot be a status line.
 */
static int
proxy_status_line(const char *buf, size_t len, int *status)
{
	static const char pfx[] = "HTTP/1.";
	size_t i;
	char c;

	for (i = 0; i < len && i < 13; i++) {
		c = buf[i];
		if ((i < 7 && c != pfx[i]) || (i == 7 && c != '0' && c != '1') ||
		    (i == 8 && c != ' ') ||
		    (i >= 9 && i <= 11 && (c < '0' || c > '9')) ||
		    (i == 12 && c != ' ' && c != '\r'))
			return -1;
	}
	if (len < 13)
		return 0;
	*status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	return 1;
}

static int
proxy_refusal(int status, const char *proxy, const char *target,
    struct tb_err *err)
{
	enum close_reason code;

	switch (status) {
	case 401:	/* tinyproxy 1.11 says 401 to a CONNECT without good credentials */
	case 407:
		code = CR_PROXY_AUTH;
		break;
	case 403:
		code = CR_PROXY_FORBIDDEN;
		break;
	case 502:
	case 503:
	case 504:
		code = CR_PROXY_BAD_GATEWAY;
		break;
	default:
		code = CR_PROXY_BAD_ANSWER;
		break;
	}
	tb_err_set(err, code, PHASE_CONNECT,
	    "proxy %.120s answered %d to CONNECT %.120s", proxy, status, target);
	return -1;
}

int
upstream_proxy_answer(const char *buf, size_t len, bool eof,
    const char *proxy, const char *target, struct tb_err *err)
{
	struct http1_header hdrs[64];
	struct http1_msg m;
	int status = 0, r;

	if ((r = proxy_status_line(buf, len, &status)) == -1) {
		tb_err_set(err, CR_PROXY_BAD_ANSWER, PHASE_CONNECT,
		    "proxy %.120s did not answer CONNECT %.120s with HTTP",
		    proxy, target);
		return -1;
	}
	if (r == 1 && (status < 200 || status > 299))
		return proxy_refusal(status, proxy, target, err);
	if (r == 1) {
		http1_msg_init(&m, HTTP1_RESPONSE, HTTP1_M_CONNECT, hdrs,
		    sizeof(hdrs) / sizeof(hdrs[0]), UPSTREAM_PROXY_HEAD_MAX);
		if ((r = http1_parse_head(&m, buf, len)) > 0)
			return r;
		if (r < 0) {
			tb_err_set(err, CR_PROXY_BAD_ANSWER, PHASE_CONNECT,
			    "proxy %.120s: invalid answer to CONNECT %.120s: %s",
			    proxy, target, http1_err_str(m.err));
			return -1;
		}
	}
	if (len >= UPSTREAM_PROXY_HEAD_MAX) {
		tb_err_set(err, CR_PROXY_BAD_ANSWER, PHASE_CONNECT,
		    "proxy %.120s: answer head to CONNECT %.120s over %d bytes",
		    proxy, target, UPSTREAM_PROXY_HEAD_MAX);
		return -1;
	}
	if (eof) {
		tb_err_set(err, CR_PROXY_BAD_ANSWER, PHASE_CONNECT,
		    "proxy %.120s closed the connection before answering "
		    "CONNECT %.120s", proxy, target);
		return -1;
	}
	return 0;
}

int
upstream_proxy_basic(const char *content, size_t len, char *out, size_t cap,
    const char **why)
{
	size_t i;

	while (len > 0 && (content[len - 1] == '\n' || content[len - 1] == '\r'))
		len--;
	if (len == 0 || memchr(content, ':', len) == NULL ||
	    content[0] == ':') {
		*why = "must hold one line user:password";
		return -1;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)content[i] < 0x20 || content[i] == 0x7f) {
			*why = "must hold one line user:password (no control "
			    "characters, no second line)";
			return -1;
		}
	}
	if (len > 512 || cap < (len + 2) / 3 * 4 + 1) {
		*why = "credentials longer than 512 bytes";
		return -1;
	}
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)content,
	    (int)len);
	return 0;
}

int
upstream_proxy_parse_url(const char *s, struct hostport *out, char *err)
{
	char buf[HOSTPORT_HOSTLEN + 8];
	size_t len;

	if (strncasecmp(s, "http://", 7) != 0) {
		snprintf(err, PARSE_ERRLEN, "'%.60s' is not an http://HOST:PORT "
		    "proxy URL (https:// and socks proxies are not supported)", s);
		return -1;
	}
	s += 7;
	if (strchr(s, '@') != NULL) {
		snprintf(err, PARSE_ERRLEN, "credentials do not go into the URL: "
		    "put user:password into a file named by upstream_proxy_auth");
		return -1;
	}
	len = strlen(s);
	if (len > 0 && s[len - 1] == '/')
		len--;
	if (len >= sizeof(buf)) {
		snprintf(err, PARSE_ERRLEN, "proxy URL too long");
		return -1;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	return parse_hostport(buf, -1, out, err);
}

int
upstream_proxy_basic_file(const char *path, char *out, size_t cap,
    char *why, size_t whycap)
{
	char buf[1025];
	const char *rule = NULL;
	ssize_t n = -1;
	int fd, r = -1;

	if ((fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC)) != -1) {
		n = read(fd, buf, sizeof(buf));
		close(fd);
	}
	if (n == -1)
		snprintf(why, whycap, "'%s': cannot read: %s", path,
		    strerror(errno));
	else if ((size_t)n == sizeof(buf))
		snprintf(why, whycap, "'%s': longer than 1024 bytes", path);
	else if (upstream_proxy_basic(buf, (size_t)n, out, cap, &rule) == -1)
		snprintf(why, whycap, "'%s': %s", path, rule);
	else
		r = 0;
	OPENSSL_cleanse(buf, sizeof(buf));
	return r;
}

void
upstream_proxy_dial_failed(struct tb_err *err)
{
	char msg[sizeof(err->msg)];

	if (err->code == CR_UPSTREAM_REFUSED)
		err->code = CR_PROXY_REFUSED;
	else
		err->hint = PROXY_HINT_DIAL;
	snprintf(msg, sizeof(msg), "upstream_proxy: %.230s", err->msg);
	memcpy(err->msg, msg, sizeof(err->msg));
}

/* ---- the exchange on the event loop ------------------------------------- */

static void proxy_tunnel_cb_ev(evutil_socket_t fd, short what, void *arg);

static void
proxy_tunnel_end(struct proxy_tunnel *t, const struct tb_err *err)
{
	event_free(t->ev);
	t->ev = NULL;
	t->cb(t->arg, err);
}

static int
proxy_tunnel_wait(struct proxy_tunnel *t, short what)
{
	struct event_base *base = event_get_base(t->ev);
	uint64_t now = now_ms(), left;

	left = t->deadline > now ? t->deadline - now : 0;
	event_free(t->ev);
	t->ev = event_new(base, t->fd, what, proxy_tunnel_cb_ev, t);
	return t->ev == NULL || event_add_ms(t->ev, left) == -1 ? -1 : 0;
}

/* 1: all sent, 0: wait for writable, -1: failed (t->err). */
static int
proxy_tunnel_send(struct proxy_tunnel *t)
{
	ssize_t k;

	while (t->req_off < t->req_len) {
		k = send(t->fd, t->req + t->req_off, t->req_len - t->req_off,
		    MSG_NOSIGNAL);
		if (k == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			return 0;
		if (k == -1) {
			tb_err_set(&t->err, CR_PROXY_BAD_ANSWER, PHASE_CONNECT,
			    "send CONNECT %.120s to proxy %.120s: %s", t->target,
			    t->proxy, strerror(errno));
			return -1;
		}
		t->req_off += (size_t)k;
	}
	OPENSSL_cleanse(t->req, sizeof(t->req));
	return 1;
}

int
upstream_proxy_recv(int fd, char *head, size_t *have, const char *proxy,
    const char *target, struct tb_err *err)
{
	ssize_t n;
	int r;

	n = recv(fd, head + *have, UPSTREAM_PROXY_HEAD_MAX - *have, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return 0;
	if (n == -1) {
		tb_err_set(err, CR_PROXY_BAD_ANSWER, PHASE_CONNECT,
		    "proxy %.120s, CONNECT %.120s: %s", proxy, target,
		    strerror(errno));
		return -1;
	}
	r = upstream_proxy_answer(head, *have + (size_t)n, n == 0, proxy,
	    target, err);
	if (r == -1)
		return -1;
	/* Consume the head only: what follows it is the tunnel's. */
	if (r > 0)
		n = (ssize_t)((size_t)r - *have);
	if (n > 0 && recv(fd, head + *have, (size_t)n, 0) != n) {
		tb_err_set(err, CR_INTERNAL, PHASE_CONNECT,
		    "proxy %.120s: reading a peeked answer failed", proxy);
		return -1;
	}
	*have += (size_t)n;
	return r > 0 ? 1 : 0;
}

static void
proxy_tunnel_cb_ev(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_tunnel *t = arg;
	int r;

	(void)fd;
	if (what & EV_TIMEOUT) {
		tb_err_set(&t->err, CR_PROXY_TIMEOUT, PHASE_CONNECT,
		    "proxy %.120s did not answer CONNECT %.120s within "
		    "upstream_proxy_timeout", t->proxy, t->target);
		proxy_tunnel_end(t, &t->err);
		return;
	}
	if (t->req_off < t->req_len) {
		if ((r = proxy_tunnel_send(t)) == -1)
			goto fail;
		if (proxy_tunnel_wait(t, r == 0 ? EV_WRITE : EV_READ) == -1)
			goto internal;
		return;
	}
	if ((r = upstream_proxy_recv(t->fd, t->head, &t->have, t->proxy,
	    t->target, &t->err)) == -1)
		goto fail;
	if (r == 1) {
		proxy_tunnel_end(t, NULL);
		return;
	}
	if (proxy_tunnel_wait(t, EV_READ) == -1)
		goto internal;
	return;
internal:
	tb_err_set(&t->err, CR_INTERNAL, PHASE_CONNECT,
	    "cannot wait for proxy %.120s", t->proxy);
fail:
	proxy_tunnel_end(t, &t->err);
}

struct proxy_tunnel *
proxy_tunnel_start(struct event_base *base, int fd,
    const struct hostport *target, const char *basic, const char *proxy,
    uint64_t timeout_ms, proxy_tunnel_cb cb, void *arg)
{
	struct proxy_tunnel *t;
	int n;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->fd = fd;
	t->cb = cb;
	t->arg = arg;
	t->deadline = now_ms() + timeout_ms;
	snprintf(t->proxy, sizeof(t->proxy), "%s", proxy);
	(void)hostport_format(target, t->target, sizeof(t->target));
	if ((n = upstream_proxy_request(target, basic, t->req,
	    sizeof(t->req))) == -1)
		goto fail;
	t->req_len = (size_t)n;
	/* The socket is writable at once: the first step runs from the loop. */
	if ((t->ev = event_new(base, -1, 0, proxy_tunnel_cb_ev, t)) == NULL ||
	    proxy_tunnel_wait(t, EV_WRITE) == -1)
		goto fail;
	return t;
fail:
	proxy_tunnel_free(t);
	return NULL;
}

void
proxy_tunnel_free(struct proxy_tunnel *t)
{
	if (t == NULL)
		return;
	if (t->ev != NULL)
		event_free(t->ev);
	OPENSSL_cleanse(t->req, sizeof(t->req));
	free(t);
}
