/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the http mode's exchange and client connection
 * (http_exchange.c, http_conn.c) without the daemon: a worker of our own,
 * a client on one end of a socketpair given to session_accept_plain() (no
 * TLS), and the route's endpoint a listener on 127.0.0.1 in this process
 * whose accepted connections the test drives.  Each test runs the loop
 * until what it waits for happened (bounded, never a sleep): keep-alive
 * reuse of a pooled connection, the retry of an idempotent request when a
 * pooled connection closes before answering, parking after idleness, and
 * the linger after an error answer, an answer trickled for longer than
 * its response_timeout.  Each takes a few milliseconds, the trickle 300.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "audit.h"
#include "clock.h"
#include "conf.h"
#include "conf_check.h"
#include "gen.h"
#include "log.h"
#include "pool.h"
#include "session.h"
#include "worker.h"

#define WAIT_MS		3000	/* a bound on every wait, never reached when it works */
#define MAX_UP		4

static struct worker w;
static int lfd = -1;		/* the endpoint's listener */
static int up[MAX_UP];		/* accepted endpoint connections */
static unsigned nup;
static int client = -1;		/* our end of the client connection */
static struct session *sess;	/* the session under test, while it lives */

/* ---- set-up ------------------------------------------------------------- */

/* A P-256 key and a self-signed certificate in one PEM file, for the listener. */
static void
write_cert(const char *path)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	FILE *f = fopen(path, "w");

	ck_assert(key != NULL && x != NULL && f != NULL);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"exchange.test", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, key);
	ck_assert(X509_sign(x, key, EVP_sha256()) != 0);
	ck_assert(PEM_write_X509(f, x) == 1);
	ck_assert(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(key);
}

static struct gen *
make_gen(unsigned port)
{
	char cert[] = "/tmp/check_exchange.XXXXXX", text[2048];
	struct conf_errors errs;
	struct conf *conf;
	struct gen *g;
	int fd;

	ck_assert((fd = mkstemp(cert)) != -1);
	close(fd);
	write_cert(cert);
	snprintf(text, sizeof(text),
	    "[broker]\nworkers = 1\naudit_log = off\nlog_level = error\n"
	    "[listener l]\nbind = 127.0.0.1:1\ncert = %s\n"
	    "request_timeout = 5s\nkeepalive_timeout = 5s\n"
	    "[route a]\nlistener = l\nhost = a.test\nupstream = 127.0.0.1:%u\n"
	    "upstream_tls = off\npool_max_idle = 2\n"
	    "[route b]\nlistener = l\nhost = b.test\nupstream = 127.0.0.1:%u\n"
	    "upstream_tls = off\nresponse_timeout = 100ms\n",
	    cert, port, port);
	memset(&errs, 0, sizeof(errs));
	conf = conf_load_string("check_exchange.ini", text, &errs);
	ck_assert_ptr_nonnull(conf);
	ck_assert_int_eq(conf_check(conf, &errs), 0);
	g = gen_build(conf, &errs);
	unlink(cert);
	ck_assert_ptr_nonnull(g);
	conf_errors_free(&errs);
	return g;
}

static void
setup(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	const struct route_conf *rc;
	unsigned i, a;

	signal(SIGPIPE, SIG_IGN);
	log_init(LOG_LVL_ERROR);
	ck_assert_int_eq(audit_open("off"), 0);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert(lfd != -1);
	ck_assert(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	ck_assert(listen(lfd, 16) == 0);
	ck_assert(getsockname(lfd, (struct sockaddr *)&sa, &len) == 0);

	memset(&w, 0, sizeof(w));
	TAILQ_INIT(&w.sessions);
	w.max_sessions = 100;
	w.wake_fd = w.parent_wake_fd = -1;
	w.base = event_base_new();
	ck_assert_ptr_nonnull(w.base);
	w.dns = evdns_base_new(w.base, 0);
	ck_assert_ptr_nonnull(w.dns);
	w.gen = make_gen(ntohs(sa.sin_port));
	w.npools = w.gen->conf->npools;
	w.pools = calloc(w.npools, sizeof(*w.pools));
	ck_assert_ptr_nonnull(w.pools);
	/* one pool per route address, as worker_pools_init() lays them out */
	for (i = 0; i < w.gen->conf->nroutes; i++) {
		rc = &w.gen->conf->routes[i];
		for (a = 0; a < rc->nupstreams; a++)
			pool_init(&w.pools[rc->pool_base + a], &w, rc, a,
			    w.gen->clients[i]);
	}
	nup = 0;
	for (i = 0; i < MAX_UP; i++)
		up[i] = -1;
}

static void turn(void);

static void
teardown(void)
{
	unsigned i;

	while (TAILQ_FIRST(&w.sessions) != NULL) {
		session_close(TAILQ_FIRST(&w.sessions), NULL);
		turn();
	}
	if (client != -1)
		close(client);
	client = -1;
	for (i = 0; i < nup; i++)
		if (up[i] != -1)
			close(up[i]);
	for (i = 0; i < w.npools; i++)
		pool_free(&w.pools[i]);
	turn();
	free(w.pools);
	session_modes_worker_free(&w);
	evdns_base_free(w.dns, 0);
	gen_unref(w.gen);
	event_base_free(w.base);
	close(lfd);
}

/* ---- driving the loop ------------------------------------------------------ */

/* One loop turn: what is ready runs. */
static void
turn(void)
{
	event_base_loopexit(w.base, NULL);
	event_base_loop(w.base, EVLOOP_NONBLOCK);
}

/* One turn that may wait up to a millisecond for an event. */
static void
turn_wait(void)
{
	struct timeval ms = { 0, 1000 };

	event_base_loopexit(w.base, &ms);
	event_base_loop(w.base, 0);
}

static bool
session_alive(void)
{
	return TAILQ_FIRST(&w.sessions) != NULL;
}

/* Accepts the connections the broker opened to the endpoint. */
static void
accept_upstreams(void)
{
	int fd;

	while (nup < MAX_UP &&
	    (fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1)
		up[nup++] = fd;
}

/*
 * Reads from fd until buf (cap) holds a string containing what, turning
 * the loop meanwhile; false if it did not come within WAIT_MS or fd
 * reached its end first.  *len counts what buf holds.
 */
static bool
read_until(int fd, char *buf, size_t cap, size_t *len, const char *what)
{
	unsigned i;
	ssize_t n;

	for (i = 0; i < WAIT_MS; i++) {
		if (*len > 0 && strstr(buf, what) != NULL)
			return true;
		n = recv(fd, buf + *len, cap - 1 - *len, MSG_DONTWAIT);
		if (n > 0) {
			*len += (size_t)n;
			buf[*len] = '\0';
			continue;
		}
		if (n == 0)
			return strstr(buf, what) != NULL;
		turn_wait();
		accept_upstreams();
	}
	return false;
}

/* Waits for the endpoint connection idx to be accepted. */
static bool
wait_upstream(unsigned idx)
{
	unsigned i;

	for (i = 0; i < WAIT_MS && nup <= idx; i++) {
		turn_wait();
		accept_upstreams();
	}
	return nup > idx;
}

/* True once fd's peer closed (EOF read), turning the loop meanwhile. */
static bool
wait_eof(int fd)
{
	char buf[4096];
	unsigned i;
	ssize_t n;

	for (i = 0; i < WAIT_MS; i++) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0)
			return true;
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
			return true;	/* a reset ends it too */
		turn_wait();
	}
	return false;
}

static void
send_all(int fd, const char *s)
{
	ck_assert_int_eq(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* A new http session on a socketpair: client is our end. */
static void
start_session(void)
{
	struct sockaddr_in peer;
	int sv[2];

	ck_assert(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, sv) == 0);
	memset(&peer, 0, sizeof(peer));
	peer.sin_family = AF_INET;
	peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	peer.sin_port = htons(40000);
	client = sv[0];
	sess = session_accept_plain(&w, 0, sv[1], (struct sockaddr *)&peer);
	ck_assert_ptr_nonnull(sess);
	turn();
}

/* The endpoint connection idx reads one request head, then answers it. */
static void
endpoint_answers(unsigned idx, const char *answer)
{
	char buf[4096];
	size_t len = 0;

	ck_assert(wait_upstream(idx));
	ck_assert(read_until(up[idx], buf, sizeof(buf), &len, "\r\n\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "Host: a.test"));
	send_all(up[idx], answer);
}

static const char get_req[] = "GET /x HTTP/1.1\r\nHost: a.test\r\n\r\n";
static const char ok_answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/* One GET through the session, answered by endpoint connection idx. */
static void
one_exchange(unsigned idx)
{
	char buf[4096];
	size_t len = 0;

	send_all(client, get_req);
	endpoint_answers(idx, ok_answer);
	ck_assert(read_until(client, buf, sizeof(buf), &len, "\r\n\r\nok"));
	ck_assert_ptr_nonnull(strstr(buf, "HTTP/1.1 200 OK"));
}

/* ---- tests ---------------------------------------------------------------- */

START_TEST(test_keepalive_reuses_pooled)
{
	start_session();
	one_exchange(0);
	/* The second request goes on the connection the first one pooled. */
	one_exchange(0);
	ck_assert_uint_eq(nup, 1);
	ck_assert(session_alive());
	ck_assert_str_eq(session_mode_state_str(sess), "open");
}
END_TEST

START_TEST(test_retry_after_pooled_close)
{
	char buf[4096];
	size_t len = 0;

	start_session();
	one_exchange(0);
	/* The endpoint reads the next request on the pooled connection and closes. */
	send_all(client, get_req);
	ck_assert(read_until(up[0], buf, sizeof(buf), &len, "\r\n\r\n"));
	close(up[0]);
	up[0] = -1;
	/* The GET is sent again, once, on a new connection, and answered. */
	endpoint_answers(1, ok_answer);
	len = 0;
	ck_assert(read_until(client, buf, sizeof(buf), &len, "\r\n\r\nok"));
	ck_assert_ptr_nonnull(strstr(buf, "HTTP/1.1 200 OK"));
	ck_assert_ptr_null(strstr(buf, "X-Broker-Error"));
	ck_assert_uint_eq(nup, 2);
}
END_TEST

START_TEST(test_retry_not_for_post)
{
	char buf[4096];
	size_t len = 0;

	start_session();
	one_exchange(0);
	/* A POST with a streamed body may not go twice: the client gets a 502. */
	send_all(client, "POST /x HTTP/1.1\r\nHost: a.test\r\n"
	    "Content-Length: 5\r\n\r\nhello");
	ck_assert(read_until(up[0], buf, sizeof(buf), &len, "hello"));
	close(up[0]);
	up[0] = -1;
	len = 0;
	ck_assert(read_until(client, buf, sizeof(buf), &len, "\r\n\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "HTTP/1.1 502 "));
	ck_assert_ptr_nonnull(strstr(buf, "X-Broker-Error: upstream_closed"));
	turn();
	accept_upstreams();
	ck_assert_uint_eq(nup, 1);
}
END_TEST

/* Turns the loop for ms milliseconds. */
static void
turn_for(uint64_t ms)
{
	uint64_t t0 = now_ms();

	while (now_ms() - t0 < ms)
		turn_wait();
}

START_TEST(test_response_timeout_from_last_byte)
{
	static const char body[] = "abcdef";
	char buf[4096];
	size_t len = 0;
	unsigned i;

	start_session();
	send_all(client, "GET /x HTTP/1.1\r\nHost: b.test\r\n\r\n");
	ck_assert(wait_upstream(0));
	ck_assert(read_until(up[0], buf, sizeof(buf), &len, "\r\n\r\n"));
	/*
	 * A byte every 50 ms for 300 ms: never 100 ms (response_timeout)
	 * without one, so the answer completes.
	 */
	send_all(up[0], "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n");
	for (i = 0; i < sizeof(body) - 1; i++) {
		turn_for(50);
		ck_assert_int_eq(send(up[0], body + i, 1, MSG_NOSIGNAL), 1);
	}
	len = 0;
	ck_assert(read_until(client, buf, sizeof(buf), &len, "\r\n\r\nabcdef"));
	ck_assert_ptr_nonnull(strstr(buf, "HTTP/1.1 200 OK"));
}
END_TEST

START_TEST(test_parks_after_idle)
{
	start_session();
	/* A new connection starts parked: no sockio until a byte comes. */
	ck_assert_str_eq(session_mode_state_str(sess), "parked");
	ck_assert_ptr_null(sess->client.io);
	one_exchange(0);
	ck_assert_str_eq(session_mode_state_str(sess), "open");
	ck_assert_ptr_nonnull(sess->client.io);
	/* The park check comes (as if HC_PARK_MS had passed): idle, it parks. */
	session_test_timers(sess);
	turn();
	ck_assert_str_eq(session_mode_state_str(sess), "parked");
	ck_assert_ptr_null(sess->client.io);
	ck_assert(session_idle(sess));
	/* The next request wakes it, on the pooled endpoint connection. */
	one_exchange(0);
	ck_assert_str_eq(session_mode_state_str(sess), "open");
	ck_assert_uint_eq(nup, 1);
}
END_TEST

START_TEST(test_lingers_after_error_answer)
{
	char buf[4096];
	size_t len = 0;
	unsigned i;

	start_session();
	/* No route for this host; the body (10 bytes announced) is not all there. */
	send_all(client, "POST /x HTTP/1.1\r\nHost: nowhere.test\r\n"
	    "Content-Length: 10\r\n\r\nabc");
	ck_assert(read_until(client, buf, sizeof(buf), &len, "\r\n\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "HTTP/1.1 404 "));
	ck_assert_ptr_nonnull(strstr(buf, "Connection: close"));
	/* The answer is followed by our half-close, not a close. */
	ck_assert(wait_eof(client));
	ck_assert(session_alive());
	ck_assert_str_eq(session_mode_state_str(sess), "lingering");
	/* What the client still sends is read and dropped. */
	send_all(client, "defghij");
	for (i = 0; i < 5; i++)
		turn();
	ck_assert(session_alive());
	/* The client's close ends the linger. */
	shutdown(client, SHUT_WR);
	for (i = 0; i < WAIT_MS && session_alive(); i++)
		turn_wait();
	ck_assert(!session_alive());
	ck_assert_uint_eq(nup, 0);
}
END_TEST

START_TEST(test_no_linger_without_body)
{
	char buf[4096];
	size_t len = 0;
	unsigned i;

	start_session();
	/* A complete head that says "no body": the 404 is followed by a close. */
	send_all(client, "GET /x HTTP/1.1\r\nHost: nowhere.test\r\n\r\n");
	ck_assert(read_until(client, buf, sizeof(buf), &len, "\r\n\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "HTTP/1.1 404 "));
	for (i = 0; i < WAIT_MS && session_alive(); i++)
		turn_wait();
	ck_assert(!session_alive());
}
END_TEST

static Suite *
exchange_suite(void)
{
	Suite *s = suite_create("exchange");
	TCase *tc;

	tc = tcase_create("keepalive");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_keepalive_reuses_pooled);
	tcase_add_test(tc, test_parks_after_idle);
	tcase_add_test(tc, test_response_timeout_from_last_byte);
	suite_add_tcase(s, tc);

	tc = tcase_create("retry");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_retry_after_pooled_close);
	tcase_add_test(tc, test_retry_not_for_post);
	suite_add_tcase(s, tc);

	tc = tcase_create("linger");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_lingers_after_error_answer);
	tcase_add_test(tc, test_no_linger_without_body);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(exchange_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
