/* SPDX-License-Identifier: MIT */
/*
 * probe_net: blocking network steps under poll() deadlines, for probe.
 * Every step takes its deadline or timeout from the caller, so that one
 * endpoint that never answers costs probe --timeout per step, not the
 * kernel's or the resolver's defaults.  See probe_net.h.
 */
#include "config.h"

#include "probe_net.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "conf.h"
#include "sockaddr.h"
#include "tls_client.h"
#include "upstream_proxy.h"

/* ---- waiting and the name lookup ----------------------------------------- */

/* 1 when fd is ready for events, 0 at the deadline, -1 on a poll error. */
static int
probe_wait(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd;
	uint64_t now, left;
	int r;

	for (;;) {
		now = now_ms();
		if (now >= deadline)
			return 0;
		left = deadline - now;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r == -1 && errno == EINTR)
			continue;
		return r;
	}
}

/*
 * The name lookup behind probe's connections.  Done once per host and
 * port and kept, since probe makes dozens of connections to one endpoint,
 * and bounded by the caller's deadline, which getaddrinfo() is not: a
 * resolver that does not answer costs its timeout times its attempts (10 s
 * with the defaults) on every call.  glibc's getaddrinfo_a() runs the
 * lookup in a thread of its own; one that outlives the deadline cannot
 * always be cancelled and may still write to its request, so a timed-out
 * request is never freed (it stays reachable from probe_dns_busy).  Later
 * calls for that name look once more, without waiting, and get a late
 * answer or the timeout.
 */
struct probe_lookup {
	struct gaicb req;
	struct addrinfo hints;
	char host[256];
	char port[8];
	int error;			/* getaddrinfo's, 0 = resolved */
	bool timed_out;
	struct probe_lookup *next;	/* on probe_dns_busy */
};

static struct probe_lookup *probe_dns;		/* the last name's */
static struct probe_lookup *probe_dns_busy;	/* timed out, not cancelled */

/* Forgets the kept lookup (at a new name, and at exit). */
static void
probe_lookup_drop(void)
{
	struct probe_lookup *l = probe_dns;

	if (l == NULL)
		return;
	probe_dns = NULL;
	if (l->timed_out && gai_cancel(&l->req) == EAI_NOTCANCELED) {
		l->next = probe_dns_busy;
		probe_dns_busy = l;
		return;
	}
	if (l->req.ar_result != NULL)
		freeaddrinfo(l->req.ar_result);
	free(l);
}

static void
probe_lookup_wait(struct probe_lookup *l, uint64_t deadline)
{
	const struct gaicb *list[1] = { &l->req };
	struct timespec ts;
	uint64_t now, left;
	int e;

	while ((e = gai_error(&l->req)) == EAI_INPROGRESS) {
		now = now_ms();
		if (now >= deadline) {
			l->timed_out = true;
			return;
		}
		left = deadline - now;
		ts.tv_sec = (time_t)(left / 1000);
		ts.tv_nsec = (long)(left % 1000) * 1000000;
		(void)gai_suspend(list, 1, &ts);	/* done, timeout or signal */
	}
	l->timed_out = false;
	l->error = e;
}

static struct probe_lookup *
probe_lookup_start(const char *host, const char *port, uint64_t deadline)
{
	struct probe_lookup *l = calloc(1, sizeof(*l));
	struct gaicb *list[1];

	if (l == NULL)
		return NULL;
	snprintf(l->host, sizeof(l->host), "%s", host);
	snprintf(l->port, sizeof(l->port), "%s", port);
	l->hints.ai_family = AF_UNSPEC;
	l->hints.ai_socktype = SOCK_STREAM;
	l->hints.ai_flags = AI_NUMERICSERV;
	l->req.ar_name = l->host;
	l->req.ar_service = l->port;
	l->req.ar_request = &l->hints;
	list[0] = &l->req;
	if ((l->error = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL)) == 0)
		probe_lookup_wait(l, deadline);
	return l;
}

/* The addresses of host:port, or NULL with err set (upstream_dns). */
static const struct addrinfo *
probe_resolve(const char *host, const char *port, uint64_t deadline,
    struct tb_err *err)
{
	struct probe_lookup *l = probe_dns;

	if (l == NULL || strcmp(l->host, host) != 0 ||
	    strcmp(l->port, port) != 0) {
		probe_lookup_drop();
		if ((l = probe_lookup_start(host, port, deadline)) == NULL) {
			tb_err_set(err, CR_INTERNAL, PHASE_DNS, "out of memory");
			return NULL;
		}
		probe_dns = l;
	}
	if (l->timed_out)	/* a late answer still counts: one look, no wait */
		probe_lookup_wait(l, 0);
	if (l->timed_out) {
		tb_err_set(err, CR_UPSTREAM_DNS, PHASE_DNS,
		    "resolve %s: no answer from the resolver within the timeout",
		    host);
		return NULL;
	}
	if (l->error != 0) {
		tb_err_set(err, CR_UPSTREAM_DNS, PHASE_DNS, "resolve %s: %s",
		    host, gai_strerror(l->error));
		return NULL;
	}
	return l->req.ar_result;
}

/* ---- TCP ----------------------------------------------------------------- */

/*
 * Connects to one address (addr names it) before deadline.  Returns the
 * socket; -1 to try the next address, with its errno in *last; or -2 with
 * err set when the wait itself failed or ran out, since then no time is
 * left for the others either.
 */
static int
probe_connect_addr(const struct addrinfo *ai, const char *addr,
    uint64_t deadline, uint64_t timeout_ms, int *last, struct tb_err *err)
{
	socklen_t sl = sizeof(int);
	int fd, e, soerr = 0, wait_errno;

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		*last = errno;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		*last = errno;
		close(fd);
		return -1;
	}
	if ((e = probe_wait(fd, POLLOUT, deadline)) <= 0) {
		wait_errno = errno;	/* before close() */
		close(fd);
		if (e == 0)
			tb_err_set(err, CR_UPSTREAM_CONNECT_TIMEOUT, PHASE_CONNECT,
			    "connect %s: no answer within %llu ms", addr,
			    (unsigned long long)timeout_ms);
		else
			diag_from_connect_errno(err, wait_errno, addr);
		return -2;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
		soerr = errno;
	if (soerr == 0)
		return fd;
	*last = soerr;
	close(fd);
	return -1;
}

static int
probe_tcp_dial(const struct hostport *hp, uint64_t timeout_ms, char *addr,
    size_t addrcap, struct tb_err *err)
{
	const struct addrinfo *res, *ai;
	uint64_t deadline = now_ms() + timeout_ms;
	char port[8];
	int fd = -1, last = ECONNREFUSED, one = 1;

	snprintf(port, sizeof(port), "%u", (unsigned)hp->port);
	(void)hostport_format(hp, addr, addrcap);
	if ((res = probe_resolve(hp->host, port, deadline, err)) == NULL)
		return -1;
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		sockaddr_format(ai->ai_addr, true, addr, addrcap);
		fd = probe_connect_addr(ai, addr, deadline, timeout_ms, &last, err);
		if (fd == -2)
			return -1;
	}
	if (fd < 0) {
		diag_from_connect_errno(err, last, addr);
		return -1;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* ---- sending and receiving ----------------------------------------------- */

/*
 * One write on ssl: the bytes written, 0 to wait for *want, -1 on an
 * error.  probe_write_plain() is the same on the socket.
 */
static ssize_t
probe_write_ssl(SSL *ssl, const char *p, size_t len, short *want)
{
	size_t n;
	int r, e;

	ERR_clear_error();
	if ((r = SSL_write_ex(ssl, p, len, &n)) == 1)
		return (ssize_t)n;
	e = SSL_get_error(ssl, r);
	if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
		return -1;
	*want = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
	return 0;
}

static ssize_t
probe_write_plain(int fd, const char *p, size_t len, short *want)
{
	ssize_t k;

	if ((k = send(fd, p, len, MSG_NOSIGNAL)) >= 0)
		return k;
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		return -1;
	*want = POLLOUT;
	return 0;
}

int
probe_send(int fd, SSL *ssl, const void *buf, size_t len, uint64_t deadline)
{
	const char *p = buf;
	size_t done = 0;
	ssize_t k;
	short want = POLLOUT;

	while (done < len) {
		k = ssl != NULL ? probe_write_ssl(ssl, p + done, len - done, &want) :
		    probe_write_plain(fd, p + done, len - done, &want);
		if (k == -1)
			return -1;
		if (k > 0)
			done += (size_t)k;
		else if (probe_wait(fd, want, deadline) <= 0)
			return -1;
	}
	return 0;
}

/*
 * One read on ssl: the bytes read, 0 to wait for *want, or -1 when the
 * connection ended, with *st saying how.  probe_read_plain() is the same
 * on the socket.
 */
static ssize_t
probe_read_ssl(SSL *ssl, void *buf, size_t cap, short *want,
    enum probe_rd *st)
{
	size_t n;
	int r, e;

	ERR_clear_error();
	errno = 0;
	if ((r = SSL_read_ex(ssl, buf, cap, &n)) == 1)
		return (ssize_t)n;
	e = SSL_get_error(ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		*want = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		return 0;
	}
	if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0))
		*st = RD_EOF;
	else if (e == SSL_ERROR_SYSCALL && errno == ECONNRESET)
		*st = RD_RESET;
	else
		*st = RD_ERROR;
	ERR_clear_error();
	return -1;
}

static ssize_t
probe_read_plain(int fd, void *buf, size_t cap, short *want,
    enum probe_rd *st)
{
	ssize_t k;

	if ((k = recv(fd, buf, cap, 0)) > 0)
		return k;
	if (k == 0) {
		*st = RD_EOF;
		return -1;
	}
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		*st = errno == ECONNRESET ? RD_RESET : RD_ERROR;
		return -1;
	}
	*want = POLLIN;
	return 0;
}

size_t
probe_recv(int fd, SSL *ssl, void *buf, size_t cap, uint64_t deadline,
    enum probe_rd *st)
{
	ssize_t k;
	short want = POLLIN;
	int w;

	for (;;) {
		k = ssl != NULL ? probe_read_ssl(ssl, buf, cap, &want, st) :
		    probe_read_plain(fd, buf, cap, &want, st);
		if (k > 0) {
			*st = RD_DATA;
			return (size_t)k;
		}
		if (k == -1)
			return 0;
		if ((w = probe_wait(fd, want, deadline)) <= 0) {
			*st = w == 0 ? RD_TIMEOUT : RD_ERROR;
			return 0;
		}
	}
}

void
probe_rd_detail(enum probe_rd st, const char *eof, uint64_t timeout_ms,
    char *buf, size_t cap)
{
	switch (st) {
	case RD_EOF:
		snprintf(buf, cap, "%s", eof);
		break;
	case RD_TIMEOUT:
		snprintf(buf, cap, "no answer within %llu ms",
		    (unsigned long long)timeout_ms);
		break;
	case RD_RESET:
		snprintf(buf, cap, "reset the connection");
		break;
	case RD_DATA:
	case RD_ERROR:
		snprintf(buf, cap, "read failed");
		break;
	}
}

/* ---- TLS connections through tls_client ---------------------------------- */

/* Runs the handshake to its end or the deadline, as tlsio's tls_hs_step(). */
static void
probe_handshake(SSL *ssl, int fd, uint64_t deadline, struct tls_hs_result *res)
{
	int r, e;

	memset(res, 0, sizeof(*res));
	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_do_handshake(ssl);
		if (r == 1) {
			res->ok = true;
			return;
		}
		e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (probe_wait(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
			    deadline) <= 0) {
				res->timeout = true;
				return;
			}
			continue;
		}
		res->ssl_error = e;
		res->sys_errno = e == SSL_ERROR_SYSCALL ? errno : 0;
		res->err = ERR_peek_error();
		if (res->err != 0)
			ERR_error_string_n(res->err, res->err_str,
			    sizeof(res->err_str));
		ERR_clear_error();
		return;
	}
}

static int
probe_on_session(void *owner, SSL_SESSION *sess)
{
	struct probe_conn *c = owner;

	if (c->sess != NULL)
		SSL_SESSION_free(c->sess);
	c->sess = sess;
	return 1;
}

void
probe_conn_init(struct probe_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	tls_info_init(&c->info);
	c->info.out = &c->out;
}

/*
 * Puts why the handshake in res failed (or, with res->ok, why the pin
 * check after it did) into c->err, the way upstream.c classifies it.
 */
static void
probe_conn_fail(struct probe_conn *c, struct tls_client *cli,
    const struct tls_hs_result *res, uint64_t hs_ms)
{
	struct tls_failure f;

	if (res->ok) {
		tb_err_set(&c->err, CR_UPSTREAM_CERT, PHASE_HANDSHAKE,
		    "pin mismatch");
		c->err.cause = DIAG_CAUSE_PIN_MISMATCH;
	} else if (res->timeout) {
		tb_err_set(&c->err, CR_UPSTREAM_TIMEOUT, PHASE_HANDSHAKE,
		    "no TLS handshake with %s within %llu ms", c->addr,
		    (unsigned long long)hs_ms);
		return;
	} else {
		memset(&f, 0, sizeof(f));
		f.ssl_err = res->err;
		f.sys_errno = res->sys_errno;
		/*
		 * With SSL_OP_IGNORE_UNEXPECTED_EOF (tls_client sets it) a TCP
		 * EOF mid-handshake comes back as SSL_ERROR_ZERO_RETURN, not as
		 * SSL_ERROR_SYSCALL: both are an EOF without an alert.
		 */
		f.eof = (res->ssl_error == SSL_ERROR_SYSCALL &&
		    res->sys_errno == 0 && res->err == 0) ||
		    (res->ssl_error == SSL_ERROR_ZERO_RETURN &&
		    c->info.alert_recv < 0);
		f.alert_recv = c->info.alert_recv;
		f.alert_sent = c->info.alert_sent;
		f.verify_result = SSL_get_verify_result(c->ssl);
		f.pin_mismatch = c->out.pin_mismatch;
		f.offered = tls_client_offered(cli);
		diag_from_upstream_tls(&c->err, &f);
	}
	if (res->ok || c->out.pin_mismatch)
		snprintf(c->err.msg, sizeof(c->err.msg), "pin mismatch: %.120s "
		    "presented the key %s", c->addr, c->out.pin_seen);
}

int
probe_conn_open(struct probe_conn *c, const struct route_conf *rc,
    struct tls_client *cli, SSL_SESSION *offer, uint64_t connect_ms,
    uint64_t hs_ms)
{
	struct tls_hs_result res;

	probe_conn_init(c);
	if (rc->up_proxy_set)
		probe_net_set_proxy(&rc->up_proxy, rc->up_proxy_basic);
	if ((c->fd = probe_tcp_connect(&rc->upstream, connect_ms, c->addr,
	    sizeof(c->addr), &c->err)) == -1)
		return -1;
	if (cli == NULL)
		return 0;
	c->out.on_session = probe_on_session;
	c->out.owner = c;
	if ((c->ssl = tls_client_ssl_new(cli, &c->info)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1) {
		tb_err_set(&c->err, CR_INTERNAL, PHASE_HANDSHAKE,
		    "cannot set up TLS towards %s", c->addr);
		return -1;
	}
	if (offer != NULL)
		(void)SSL_set_session(c->ssl, offer);
	probe_handshake(c->ssl, c->fd, now_ms() + hs_ms, &res);
	if (res.ok && tls_client_pin_ok(cli, c->ssl, &c->info))
		return 0;
	probe_conn_fail(c, cli, &res, hs_ms);
	return -1;
}

/* clean: the connection worked, so its session stays resumable. */
void
probe_conn_close(struct probe_conn *c, bool clean)
{
	if (c->ssl != NULL) {
		if (clean)
			SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN |
			    SSL_RECEIVED_SHUTDOWN);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd != -1) {
		close(c->fd);
		c->fd = -1;
	}
	if (c->sess != NULL) {
		SSL_SESSION_free(c->sess);
		c->sess = NULL;
	}
}

/* ---- through a forward proxy -------------------------------------------- */

/* --proxy, or the route's upstream_proxy: every connection tunnels through it. */
static struct {
	bool set;
	struct hostport hp;
	char basic[UPSTREAM_PROXY_BASIC_MAX];	/* "" = no credentials */
} probe_proxy;

void
probe_net_set_proxy(const struct hostport *hp, const char *basic)
{
	OPENSSL_cleanse(probe_proxy.basic, sizeof(probe_proxy.basic));
	probe_proxy.set = hp != NULL;
	if (hp != NULL)
		probe_proxy.hp = *hp;
	if (basic != NULL)
		snprintf(probe_proxy.basic, sizeof(probe_proxy.basic), "%s",
		    basic);
}

/* CONNECT target on fd, connected to the proxy at proxy: 0 or -1 with err. */
static int
probe_tunnel(int fd, const struct hostport *target, const char *proxy,
    uint64_t deadline, struct tb_err *err)
{
	char req[UPSTREAM_PROXY_REQ_MAX], head[UPSTREAM_PROXY_HEAD_MAX];
	char tgt[HOSTPORT_HOSTLEN + 8];
	size_t have = 0;
	int n, r, w;

	(void)hostport_format(target, tgt, sizeof(tgt));
	n = upstream_proxy_request(target, probe_proxy.basic[0] != '\0' ?
	    probe_proxy.basic : NULL, req, sizeof(req));
	r = n == -1 ? -1 : probe_send(fd, NULL, req, (size_t)n, deadline);
	OPENSSL_cleanse(req, sizeof(req));
	if (r == -1) {
		tb_err_set(err, CR_PROXY_BAD_ANSWER, PHASE_CONNECT,
		    "cannot send CONNECT %s to proxy %s", tgt, proxy);
		return -1;
	}
	while ((r = upstream_proxy_recv(fd, head, &have, proxy, tgt, err)) == 0) {
		if ((w = probe_wait(fd, POLLIN, deadline)) == 1)
			continue;
		if (w == 0)
			tb_err_set(err, CR_PROXY_TIMEOUT, PHASE_CONNECT,
			    "proxy %s did not answer CONNECT %s in time", proxy,
			    tgt);
		else
			tb_err_set(err, CR_INTERNAL, PHASE_CONNECT, "poll: %s",
			    strerror(errno));
		return -1;
	}
	return r == 1 ? 0 : -1;
}

int
probe_tcp_connect(const struct hostport *hp, uint64_t timeout_ms, char *addr,
    size_t addrcap, struct tb_err *err)
{
	int fd;

	if (!probe_proxy.set)
		return probe_tcp_dial(hp, timeout_ms, addr, addrcap, err);
	if ((fd = probe_tcp_dial(&probe_proxy.hp, timeout_ms, addr, addrcap,
	    err)) == -1) {
		upstream_proxy_dial_failed(err);
		return -1;
	}
	if (probe_tunnel(fd, hp, addr, now_ms() + timeout_ms, err) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- whole exchanges ----------------------------------------------------- */

/*
 * Reads a response head into buf until its blank line, until buf is
 * full, or until the first bytes show it is no HTTP.  Returns its length.
 */
static size_t
probe_http_read(int fd, SSL *ssl, char *buf, size_t cap, uint64_t deadline,
    enum probe_rd *st)
{
	size_t len = 0, n;

	*st = RD_DATA;
	while (len < cap) {
		if ((n = probe_recv(fd, ssl, buf + len, cap - len, deadline,
		    st)) == 0)
			break;
		len += n;
		if (memmem(buf, len, "\r\n\r\n", 4) != NULL ||
		    memmem(buf, len, "\n\n", 2) != NULL)
			break;
		if (len >= 5 && memcmp(buf, "HTTP/", 5) != 0)
			break;		/* not HTTP: no need to wait for more */
	}
	return len;
}

void
probe_http_exchange(int fd, SSL *ssl, const char *name, unsigned port,
    uint64_t timeout_ms, struct probe_http *h)
{
	char req[700], buf[8192];
	uint64_t deadline = now_ms() + timeout_ms;
	size_t len;
	int n;

	memset(h, 0, sizeof(*h));
	if ((n = probe_http_request(name, port, ssl != NULL, req,
	    sizeof(req))) == -1 ||
	    probe_send(fd, ssl, req, (size_t)n, deadline) == -1) {
		h->end = RD_ERROR;
		snprintf(h->detail, sizeof(h->detail), "could not send the request");
		return;
	}
	len = probe_http_read(fd, ssl, buf, sizeof(buf), deadline, &h->end);
	if (len > 0 && probe_parse_http_head(buf, len, h->status,
	    sizeof(h->status), h->server, sizeof(h->server)) == 0)
		h->answered = true;
	else if (len > 0)
		snprintf(h->detail, sizeof(h->detail), "answered %zu bytes that "
		    "are not HTTP", len);
	else
		probe_rd_detail(h->end, "closed the connection without an answer",
		    timeout_ms, h->detail, sizeof(h->detail));
}

int
probe_hello_exchange(int fd, const unsigned char *hello, size_t len,
    uint64_t timeout_ms, struct probe_hello *h, enum probe_rd *st)
{
	unsigned char buf[20480];
	uint64_t deadline = now_ms() + timeout_ms;
	size_t got = 0, n;
	int pr;

	*st = RD_DATA;
	if (probe_send(fd, NULL, hello, len, deadline) == -1)
		return PROBE_HELLO_UNSENT;
	while ((pr = probe_parse_server_hello(buf, got, h)) == 0 &&
	    got < sizeof(buf)) {
		if ((n = probe_recv(fd, NULL, buf + got, sizeof(buf) - got,
		    deadline, st)) == 0)
			break;
		got += n;
	}
	return pr;
}

void
probe_net_cleanup(void)
{
	probe_lookup_drop();
	probe_net_set_proxy(NULL, NULL);
}
