/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the http session state machine (session.c,
 * http_conn.c, http_exchange.c, pool.c, upstream.c, relay.c): not the
 * parser alone but a whole client connection and its upstream
 * connections, with the interleaving of their bytes, closes, resets and
 * timers decided by the input.  The client is one end of a loopback TCP
 * pair made in this process (TCP rather than AF_UNIX: resets and
 * half-closes behave as on the wire); the broker's end goes either to
 * session_accept_plain() (no TLS: the test-only entry point, fast) or,
 * when the input asks, to session_accept() itself with a real TLS
 * handshake (slower, but the paths of sockio over TLS, dirty
 * shutdowns and read-ahead run too).  The route's upstream is a listener
 * on 127.0.0.1 in this process, whose accepted connections the input
 * drives.  One event loop turn follows every step.
 *
 * Beyond what ASan, UBSan and LeakSanitizer report, it aborts when the
 * session is still alive 200 loop turns after both peers reset and every
 * connection to the upstream listener was reset: a session that neither
 * ends nor waits for any byte is stuck or spinning.
 * TLSBROKER_FUZZ_NO_STUCK=1 turns that check off; TLSBROKER_FUZZ_LOG=1
 * shows the broker's log (debug level).
 *
 * Input: a mode byte (bit 0: TLS, bit 1: TLS 1.2 rather than 1.3), then
 * steps of one op byte, some followed by a length or index byte and data.
 * op % 16:
 *   0  client writes: len, then len bytes (len > 127: (len & 127) KiB of 'x')
 *   1  upstream writes, the same way, on the current upstream connection
 *   2  nothing but the loop turn
 *   3  client writes canned request piece c[idx % N]
 *   4  upstream writes canned response piece u[idx % N]
 *   5  accept the connections the broker made to the upstream listener
 *   6  close the current upstream connection (idx & 1: with a reset)
 *   7  client half-closes (shutdown SHUT_WR; TLS and idx & 1: close_notify first)
 *   8  client reads everything it was sent
 *   9  upstream reads everything it was sent
 *  10  the session's timers fire (as if their time had come)
 *  11  client closes (idx & 1: with unread bytes, a reset for the broker)
 *  12  switch to upstream connection idx % accepted
 *  13-15  nothing but the loop turn
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "audit.h"
#include "conf.h"
#include "conf_check.h"
#include "gen.h"
#include "log.h"
#include "pool.h"
#include "session.h"
#include "sockio.h"
#include "upstream.h"
#include "worker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_UP		8	/* upstream connections one input may drive */
#define END_TURNS	200	/* loop turns for a session to end after both peers closed */
#define RESET_WAIT_SLICES 60	/* 50 ms slices waited for a retransmission's reset */

static const char *const client_pieces[] = {
	"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n",
	"POST /p HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\nhello",
	"POST /c HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n0\r\n\r\n",
	"POST /e HTTP/1.1\r\nHost: a.test\r\nExpect: 100-continue\r\n"
	    "Content-Length: 5\r\n\r\n",
	"GET / HTTP/1.0\r\nHost: a.test\r\nConnection: keep-alive\r\n\r\n",
	"HEAD / HTTP/1.1\r\nHost: a.test\r\n\r\n",
	"GET /b HTTP/1.1\r\nHost: b.test\r\nConnection: close\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: nowhere.test\r\n\r\n",
	"POST /c HTTP/1.1\r\nHost: b.test\r\nTransfer-Encoding: chunked\r\n\r\n",
	"5\r\nhello\r\n",
	"0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a.test\r\nConnection: Content-Length\r\n"
	    "Content-Length: 5\r\n\r\nhello",
	"GET / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n",
	"GET http://a.test/x HTTP/1.1\r\nHost: a.test\r\n\r\n",
	"hello",
	"POST /big HTTP/1.1\r\nHost: a.test\r\nContent-Length: 200000\r\n\r\n",
};

static const char *const upstream_pieces[] = {
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"HTTP/1.0 200 OK\r\n\r\nhello",
	"HTTP/1.1 100 Continue\r\n\r\n",
	"HTTP/1.1 204 No Content\r\n\r\n",
	"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
	"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
	"5\r\nhello\r\n",
	"0\r\n\r\n",
	"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 40960\r\n\r\n",
};

#define NPIECES(a)	(sizeof(a) / sizeof((a)[0]))

static struct worker w;
static int lfd = -1;			/* the upstream listener */
static int cfd = -1;			/* the listener the client connects to */
static struct sockaddr_in cfd_sa;
static SSL_CTX *cctx;			/* the client's TLS */
static bool check_stuck = true;

/* The harness itself failed (not the broker): say why. */
static void
sys_abort(const char *what)
{
	fprintf(stderr, "fuzz_session: %s: %s\n", what, strerror(errno));
	abort();
}

/* ---- set-up, once ---------------------------------------------------------- */

/* A P-256 key and a self-signed certificate for the listener, in one file. */
static void
write_cert(const char *path)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	FILE *f = fopen(path, "w");

	if (key == NULL || x == NULL || f == NULL)
		abort();
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"fuzz.test", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, key);
	if (X509_sign(x, key, EVP_sha256()) == 0 ||
	    PEM_write_X509(f, x) != 1 ||
	    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1)
		abort();
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(key);
}

static struct gen *
make_gen(unsigned port)
{
	char cert[] = "/tmp/fuzz_session.XXXXXX", text[2048];
	struct conf_errors errs;
	struct conf *conf;
	struct gen *g;
	int fd;

	if ((fd = mkstemp(cert)) == -1)
		abort();
	close(fd);
	write_cert(cert);
	/* Short limits, so held bodies and big heads reach them. */
	snprintf(text, sizeof(text),
	    "[broker]\nworkers = 1\naudit_log = off\nlog_level = error\n"
	    "[listener l]\nbind = 127.0.0.1:1\ncert = %s\n"
	    "[route a]\nlistener = l\nhost = a.test\nupstream = 127.0.0.1:%u\n"
	    "upstream_tls = off\npool_max_idle = 2\npool_max_requests = 3\n"
	    "[route b]\nlistener = l\nhost = b.test\nupstream = 127.0.0.1:%u\n"
	    "upstream_tls = off\nmax_buffered_body = 64\npool_max_idle = 0\n",
	    cert, port, port);
	memset(&errs, 0, sizeof(errs));
	conf = conf_load_string("fuzz.ini", text, &errs);
	if (conf == NULL || conf_check(conf, &errs) != 0)
		abort();
	g = gen_build(conf, &errs);
	unlink(cert);
	if (g == NULL) {
		unsigned i;

		for (i = 0; i < errs.count; i++)
			fprintf(stderr, "fuzz_session: %s\n", errs.msgs[i]);
		abort();
	}
	conf_errors_free(&errs);
	return g;
}

static void
pools_init(void)
{
	const struct route_conf *rc;
	unsigned i, a;

	/* one pool per route address, as worker_pools_init() lays them out */
	for (i = 0; i < w.gen->conf->nroutes; i++) {
		rc = &w.gen->conf->routes[i];
		for (a = 0; a < rc->nupstreams; a++)
			pool_init(&w.pools[rc->pool_base + a], &w, rc, a,
			    w.gen->clients[i]);
	}
}

/*
 * Small socket buffers (the kernel's minimum, a few KiB): a few KiB of
 * input then fill them, so the states where output waits in the broker's
 * buffers are in easy reach.
 */
static void
small_buffers(int fd)
{
	int n = 4096;

	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &n, sizeof(n));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &n, sizeof(n));
}

/* A non-blocking listener on 127.0.0.1 and a free port; its address in sa. */
static int
loopback_listener(struct sockaddr_in *sa)
{
	socklen_t len = sizeof(*sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd != -1)
		small_buffers(fd);	/* accepted sockets inherit them */
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)sa, sizeof(*sa)) == -1 ||
	    listen(fd, 64) == -1 ||
	    getsockname(fd, (struct sockaddr *)sa, &len) == -1)
		abort();
	return fd;
}

/*
 * The worker's kind of base (worker_base_new()), but one loop turn runs
 * at most MAX_CALLBACKS callbacks: callbacks that keep activating each
 * other (a spin) then end the turn instead of never returning from it.
 */
#define MAX_CALLBACKS	10000

static struct event_base *
fuzz_base_new(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	event_config_set_max_dispatch_interval(cfg, NULL, MAX_CALLBACKS, 0);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

static void
setup(void)
{
	struct sockaddr_in sa;
	const char *e = getenv("TLSBROKER_FUZZ_NO_STUCK");

	signal(SIGPIPE, SIG_IGN);	/* as the daemon (daemon.c) */
	check_stuck = e == NULL || strcmp(e, "1") != 0;
	/* TLSBROKER_FUZZ_LOG=1: the broker's log at debug level, to see a crash's story */
	e = getenv("TLSBROKER_FUZZ_LOG");
	log_init(e != NULL && strcmp(e, "1") == 0 ? LOG_LVL_DEBUG : LOG_LVL_ERROR);
	if (audit_open("off") == -1)
		abort();
	lfd = loopback_listener(&sa);
	cfd = loopback_listener(&cfd_sa);
	if ((cctx = SSL_CTX_new(TLS_client_method())) == NULL)
		abort();
	SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(cctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

	/* A worker of our own: its loop, resolver, generation and pools. */
	memset(&w, 0, sizeof(w));
	TAILQ_INIT(&w.sessions);
	w.max_sessions = 1000;
	w.wake_fd = w.parent_wake_fd = -1;
	if ((w.base = fuzz_base_new()) == NULL ||
	    (w.dns = evdns_base_new(w.base, 0)) == NULL)
		abort();
	w.gen = make_gen(ntohs(sa.sin_port));
	w.npools = w.gen->conf->npools;
	if ((w.pools = calloc(w.npools, sizeof(*w.pools))) == NULL)
		abort();
	pools_init();
}

/* ---- one input ------------------------------------------------------------- */

struct run {
	const uint8_t *p, *end;
	int client;			/* our end of the client connection, -1 closed */
	SSL *ssl;			/* the client's TLS, NULL for plain */
	char *pend;			/* TLS: a write to retry (OpenSSL wants the same bytes) */
	size_t pendlen;
	int up[MAX_UP];			/* accepted upstream connections, -1 closed */
	unsigned nup, cur;
};

static unsigned
next_byte(struct run *r)
{
	return r->p < r->end ? *r->p++ : 0;
}

/*
 * One loop turn: what is ready runs, then the loop returns (loopexit:
 * EVLOOP_NONBLOCK alone keeps looping while callbacks activate others).
 */
static void
turn(void)
{
	event_base_loopexit(w.base, NULL);
	event_base_loop(w.base, EVLOOP_NONBLOCK);
}

/* Non-blocking writes of what the input says; a full socket takes less. */
static void
put(int fd, const char *buf, size_t len)
{
	if (fd != -1 && len > 0)
		(void)send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/*
 * TLS writes: what the socket does not take is kept and tried again
 * first next time (OpenSSL wants a retry with the same bytes); new bytes
 * meanwhile are dropped, as a full socket drops the rest of a plain write.
 */
static bool
tls_write(struct run *r, const char *buf, size_t len)
{
	int n;

	ERR_clear_error();
	n = SSL_write(r->ssl, buf, (int)len);
	if (n > 0)
		return true;
	switch (SSL_get_error(r->ssl, n)) {
	case SSL_ERROR_WANT_WRITE:
	case SSL_ERROR_WANT_READ:
		return false;
	default:		/* the connection is gone: nothing more goes out */
		ERR_clear_error();
		return true;
	}
}

static void
client_put(struct run *r, const char *buf, size_t len)
{
	if (r->client == -1 || len == 0)
		return;
	if (r->ssl == NULL) {
		put(r->client, buf, len);
		return;
	}
	if (r->pend != NULL) {
		if (!tls_write(r, r->pend, r->pendlen))
			return;
		free(r->pend);
		r->pend = NULL;
	}
	if (!tls_write(r, buf, len) && (r->pend = malloc(len)) != NULL) {
		memcpy(r->pend, buf, len);
		r->pendlen = len;
	}
}

/* len, then that many bytes of the input (len > 127: KiB of filler) to fd or the client. */
static void
put_data(struct run *r, int fd, bool client)
{
	static char filler[127 * 1024];
	unsigned len = next_byte(r);
	const char *buf;
	size_t n;

	if (len > 127) {
		if (filler[0] != 'x')
			memset(filler, 'x', sizeof(filler));
		buf = filler;
		n = (size_t)(len & 127) * 1024;
	} else {
		buf = (const char *)r->p;
		n = (size_t)(r->end - r->p) < len ? (size_t)(r->end - r->p) : len;
		r->p += n;
	}
	if (client)
		client_put(r, buf, n);
	else
		put(fd, buf, n);
}

static void
drain(int fd)
{
	char buf[65536];

	while (fd != -1 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static void
client_drain(struct run *r)
{
	char buf[65536];

	if (r->ssl == NULL) {
		drain(r->client);
		return;
	}
	ERR_clear_error();
	while (r->client != -1 && SSL_read(r->ssl, buf, sizeof(buf)) > 0)
		;
	ERR_clear_error();
}

static void
close_fd(int *fd, bool reset)
{
	struct linger lg = { 1, 0 };

	if (*fd == -1)
		return;
	if (reset)
		setsockopt(*fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(*fd);
	*fd = -1;
}

static void
accept_upstreams(struct run *r, bool keep)
{
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1) {
		if (!keep || r->nup == MAX_UP) {
			close_fd(&fd, true);
			continue;
		}
		r->cur = r->nup;
		r->up[r->nup++] = fd;
	}
}

static void
close_client(struct run *r, bool reset)
{
	SSL_free(r->ssl);	/* no close_notify: that is op 7's */
	r->ssl = NULL;
	free(r->pend);
	r->pend = NULL;
	close_fd(&r->client, reset);
}

static struct session *
live_session(void)
{
	return TAILQ_FIRST(&w.sessions);
}

static void
step(struct run *r)
{
	unsigned op = next_byte(r) % 16, idx;
	int *up = r->nup > 0 ? &r->up[r->cur] : NULL;

	switch (op) {
	case 0:
		put_data(r, -1, true);
		break;
	case 1:
		put_data(r, up != NULL ? *up : -1, false);
		break;
	case 3:
		idx = next_byte(r) % NPIECES(client_pieces);
		client_put(r, client_pieces[idx], strlen(client_pieces[idx]));
		break;
	case 4:
		idx = next_byte(r) % NPIECES(upstream_pieces);
		if (up != NULL)
			put(*up, upstream_pieces[idx], strlen(upstream_pieces[idx]));
		break;
	case 5:
		accept_upstreams(r, true);
		break;
	case 6:
		idx = next_byte(r);
		if (up != NULL)
			close_fd(up, idx & 1);
		break;
	case 7:
		idx = next_byte(r);
		if (r->ssl != NULL && (idx & 1)) {
			ERR_clear_error();
			SSL_shutdown(r->ssl);
			ERR_clear_error();
		}
		if (r->client != -1)
			shutdown(r->client, SHUT_WR);
		break;
	case 8:
		client_drain(r);
		break;
	case 9:
		if (up != NULL)
			drain(*up);
		break;
	case 10:
		if (live_session() != NULL)
			session_test_timers(live_session());
		break;
	case 11:
		idx = next_byte(r);
		if (!(idx & 1))
			client_drain(r);
		close_client(r, idx & 1);
		break;
	case 12:
		if (r->nup > 0)
			r->cur = next_byte(r) % r->nup;
		break;
	default:
		break;
	}
	turn();
}

/* Bytes fd's kernel still holds for its peer, sent or not (0: none, or no fd). */
static int
unacked(int fd)
{
	int n = 0;

	if (fd == -1 || ioctl(fd, SIOCOUTQ, &n) != 0)
		return 0;
	return n;
}

/*
 * A peer that closed gracefully while the broker still had bytes in
 * flight to it resets the connection only when the broker's kernel sends
 * them again (its retransmission timer, ~200 ms on loopback): an event
 * still to come, not a stuck session.  Wait for it, bounded, in loop
 * turns that block on the sockets.
 */
static void
await_retransmit_resets(void)
{
	struct timeval slice = { 0, 50 * 1000 };
	struct session *s;
	int i;

	for (i = 0; i < RESET_WAIT_SLICES && (s = live_session()) != NULL; i++) {
		if (unacked(s->fd) == 0 && (s->uc == NULL || s->uc->io == NULL ||
		    unacked(sockio_fd(s->uc->io)) == 0))
			return;
		event_base_loopexit(w.base, &slice);
		event_base_loop(w.base, 0);
	}
}

/* Both peers gone: the session must end by itself, without its timers. */
static void
finish(struct run *r)
{
	struct session *s;
	unsigned i;

	/* Resets: nothing of ours waits in TIME_WAIT afterwards. */
	close_client(r, true);
	for (i = 0; i < r->nup; i++)
		close_fd(&r->up[i], true);
	for (i = 0; i < END_TURNS && live_session() != NULL; i++) {
		accept_upstreams(r, false);
		turn();
	}
	await_retransmit_resets();
	if ((s = live_session()) != NULL && check_stuck) {
		fprintf(stderr, "fuzz_session: session conn=%llu still %s (%s) %d "
		    "loop turns after both peers reset: stuck or spinning\n",
		    (unsigned long long)s->id, session_state_str(s->state),
		    session_mode_state_str(s), END_TURNS);
		abort();
	}
	/* Whatever is left (the check is off): end it the one way. */
	while ((s = live_session()) != NULL) {
		session_close(s, NULL);
		turn();
	}
	accept_upstreams(r, false);
	/* Each input starts with empty pools. */
	for (i = 0; i < w.npools; i++)
		pool_free(&w.pools[i]);
	pools_init();
	turn();
}

/*
 * Waits until fd has one of events, for at most 5 s.  A signal
 * (libFuzzer's timers have no SA_RESTART) only restarts the wait: an
 * interrupted blocking connect() once aborted a run with EINTR.
 */
static void
wait_fd(int fd, short events, const char *what)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int n;

	while ((n = poll(&pfd, 1, 5000)) == -1 && errno == EINTR)
		;
	if (n == 0)
		errno = ETIMEDOUT;
	if (n != 1)
		sys_abort(what);
}

/* Connects the non-blocking socket c to the client listener. */
static void
client_connect(int c)
{
	socklen_t len = sizeof(int);
	int soerr = 0;

	if (connect(c, (struct sockaddr *)&cfd_sa, sizeof(cfd_sa)) == 0)
		return;
	if (errno != EINPROGRESS)
		sys_abort("client connect");
	wait_fd(c, POLLOUT, "client connect");
	if (getsockopt(c, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		sys_abort("client connect: SO_ERROR");
	if (soerr != 0) {
		errno = soerr;
		sys_abort("client connect");
	}
}

/* A connected loopback TCP pair: *ours is the client's end; returns the broker's. */
static int
client_pair(int *ours, struct sockaddr_in *peer)
{
	socklen_t len = sizeof(*peer);
	int one = 1, c, b;

	struct sockaddr_in src;
	static unsigned n;

	/*
	 * From 127.1.0.0/16 in turn: closed connections wait in TIME_WAIT,
	 * and on one source address they would use up its ports.
	 */
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(0x7f010000u | (++n & 0xffff));
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c == -1 || bind(c, (struct sockaddr *)&src, sizeof(src)) == -1)
		sys_abort("client socket");
	small_buffers(c);
	client_connect(c);
	/* The listener is non-blocking too: wait for the connection to queue. */
	wait_fd(cfd, POLLIN, "client accept");
	if ((b = accept4(cfd, (struct sockaddr *)peer, &len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1)
		sys_abort("client accept");
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*ours = c;
	return b;
}

/* The client's TLS handshake, the loop turning between its steps. */
static void
client_handshake(struct run *r, bool tls12)
{
	unsigned i;
	int n;

	if ((r->ssl = SSL_new(cctx)) == NULL || SSL_set_fd(r->ssl, r->client) != 1)
		abort();
	if (tls12)
		SSL_set_max_proto_version(r->ssl, TLS1_2_VERSION);
	SSL_set_connect_state(r->ssl);
	for (i = 0; i < 100; i++) {
		ERR_clear_error();
		if ((n = SSL_do_handshake(r->ssl)) == 1)
			break;
		n = SSL_get_error(r->ssl, n);
		if (n != SSL_ERROR_WANT_READ && n != SSL_ERROR_WANT_WRITE)
			break;		/* refused: the steps run on a dead connection */
		turn();
	}
	ERR_clear_error();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in peer;
	struct run r;
	unsigned i, mode;
	int b;

	if (lfd == -1)
		setup();
	memset(&r, 0, sizeof(r));
	for (i = 0; i < MAX_UP; i++)
		r.up[i] = -1;
	r.p = data;
	r.end = data + size;
	mode = next_byte(&r);
	b = client_pair(&r.client, &peer);
	if (mode & 1) {
		session_accept(&w, 0, b, (struct sockaddr *)&peer, sizeof(peer));
		client_handshake(&r, mode & 2);
	} else if (session_accept_plain(&w, 0, b, (struct sockaddr *)&peer) == NULL)
		abort();
	turn();
	while (r.p < r.end)
		step(&r);
	finish(&r);
	return 0;
}
