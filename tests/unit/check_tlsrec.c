/* SPDX-License-Identifier: MIT */
/*
 * check_tlsrec: the record layer's contract (tlsrec.h) against a real
 * OpenSSL client in process, on a non-blocking socketpair.  The server
 * SSL is tracked from before its handshake, taken over once it is done
 * and freed; from then on the server is only the tlsrec.  Every test
 * runs over the six suites taken (TLS 1.2 and 1.3, AES-GCM and
 * ChaCha20-Poly1305) where it applies.
 *
 *  - bytes both ways arrive exactly, in sizes from 1 byte to 1 MiB, after
 *    traffic through OpenSSL (sequence numbers not zero) or straight after
 *    the handshake (TLS 1.3's tickets counted), through small socket
 *    buffers (WANT_WRITE retried from a moved buffer), around idle();
 *  - has_pending() says when plaintext or bytes are held;
 *  - close_notify and a TCP close both ways, half-closes;
 *  - TLS 1.3 KeyUpdate from the client, requested or not;
 *  - a flipped bit, a bad header, a renegotiation: OpenSSL's reasons, the
 *    alerts OpenSSL would send, for good;
 *  - records the client's OpenSSL never sends (empty ones, warnings,
 *    padding, fragments, oversized ones), sealed here with the client's
 *    keys, against the same records given to an OpenSSL server;
 *  - can_take() refuses what it cannot take.
 *
 * Loops alternate non-blocking calls on both sides and fail when nothing
 * moves for PUMP_IDLE rounds in a row; nothing sleeps.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>

#include "testcert.h"
#include "tlsio.h"
#include "tlsrec.h"

#define MAXREC		16384
#define MIB		(1024 * 1024)
#define PUMP_ROUNDS	2000000
#define PUMP_IDLE	50
#define UP		0	/* client to server */
#define DOWN		1	/* server to client */

struct suite {
	int version;
	const char *name;
	const char *cipher;	/* EVP name, for the records sealed here */
};

static const struct suite suites[] = {
	{ TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256", "AES-128-GCM" },
	{ TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384", "AES-256-GCM" },
	{ TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305", "ChaCha20-Poly1305" },
	{ TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", "AES-128-GCM" },
	{ TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384", "AES-256-GCM" },
	{ TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256", "ChaCha20-Poly1305" },
};
#define NSUITES	6
#define N12	3	/* the first N12 are TLS 1.2 */

struct opts {
	const char *client_list;	/* instead of the suite's own */
	const char *server_suites;	/* TLS 1.3 suites of the server */
	int version;			/* with client_list */
	int num_tickets;		/* -1: OpenSSL's default */
	bool small;			/* 4 KiB socket buffers */
	bool reference;			/* no take-over: OpenSSL stays the server */
	bool no_handshake;
	bool untracked;			/* no tlsrec_track() */
	int mfl;			/* client asks for a max fragment length */
	SSL_CTX *sctx, *cctx;		/* shared (referenced) instead of new */
	SSL_SESSION *session;		/* resume it */
};

struct pair {
	SSL_CTX *sctx, *cctx;
	SSL *c, *s;			/* s: NULL once taken over */
	struct tlsrec *rec;
	int fds[2];			/* 0: client, 1: server */
	int suite, version;
	struct tls_info info;
	int ku_seen;			/* KeyUpdates the client received */
	uint8_t csecret[48];		/* TLS 1.3: CLIENT_TRAFFIC_SECRET_0 */
	size_t csecret_len;
	uint64_t sent[2], got[2];
	int pend[2];			/* a write that said WANT_WRITE: its length */
	bool ended[2];			/* the reader saw the end: not read again */
	int copy[2];			/* which wbuf copy the writer uses */
	int rec_want_write;		/* times tlsrec_write said WANT_WRITE */
	unsigned char wbuf[2][2][MAXREC];
	unsigned char rbuf[65536];
};

static const struct opts defaults = { .num_tickets = -1 };

static const char *
who(int dir)
{
	return dir == UP ? "server read" : "client read";
}

static const char *
errstr(void)
{
	static char buf[256];
	unsigned long e = ERR_peek_error();

	if (e == 0)
		return "(error queue empty)";
	ERR_error_string_n(e, buf, sizeof(buf));
	return buf;
}

static unsigned char
pat(int dir, uint64_t i)
{
	return (unsigned char)(i * (dir == UP ? 131u : 29u) + (i >> 9) +
	    (uint64_t)dir * 77u);
}

static void
fill(unsigned char *b, int dir, uint64_t at, int n)
{
	int i;

	for (i = 0; i < n; i++)
		b[i] = pat(dir, at + (uint64_t)i);
}

static void
small_buffers(int fd)
{
	int sz = 4096;

	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)), 0);
}

/* The client's view: KeyUpdates received. */
static void
client_msg_cb(int write_p, int version, int content_type, const void *buf,
    size_t len, SSL *ssl, void *arg)
{
	struct pair *p = arg;
	const unsigned char *b = buf;

	(void)version;
	(void)ssl;
	if (!write_p && content_type == SSL3_RT_HANDSHAKE && len >= 1 &&
	    b[0] == SSL3_MT_KEY_UPDATE)
		p->ku_seen++;
}

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* The client's TLS 1.3 write secret, to seal records as the client would. */
static void
client_keylog_cb(const SSL *ssl, const char *line)
{
	static const char label[] = "CLIENT_TRAFFIC_SECRET_0 ";
	struct pair *p = SSL_get_app_data(ssl);
	const char *s;
	size_t n = 0;

	if (p == NULL || strncmp(line, label, sizeof(label) - 1) != 0 ||
	    (s = strchr(line + sizeof(label) - 1, ' ')) == NULL)
		return;
	for (s++; hexval(s[0]) >= 0 && hexval(s[1]) >= 0 &&
	    n < sizeof(p->csecret); s += 2)
		p->csecret[n++] = (uint8_t)(hexval(s[0]) << 4 | hexval(s[1]));
	p->csecret_len = n;
}

static bool
handshake(SSL *c, SSL *s)
{
	int round, cr = 0, sr = 0;

	for (round = 0; round < 1000 && (cr != 1 || sr != 1); round++) {
		if (cr != 1)
			cr = SSL_do_handshake(c);
		if (sr != 1)
			sr = SSL_do_handshake(s);
	}
	return cr == 1 && sr == 1;
}

static struct pair *
pair_new(int suite, const struct opts *o)
{
	struct pair *p = calloc(1, sizeof(*p));
	const struct suite *su = &suites[suite];
	int i, version = o->client_list != NULL ? o->version : su->version;

	ck_assert_ptr_nonnull(p);
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(tlsio_init(), 0);
	ck_assert_int_eq(tlsrec_init(), 0);
	p->suite = suite;
	p->version = version;
	tls_info_init(&p->info);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, p->fds), 0);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(fcntl(p->fds[i], F_SETFL, O_NONBLOCK), 0);
		if (o->small)
			small_buffers(p->fds[i]);
	}
	if (o->sctx != NULL) {
		p->sctx = o->sctx;
		SSL_CTX_up_ref(p->sctx);
	} else {
		p->sctx = testcert_server_ctx(EVP_EC_gen("P-256"), "tlsrec.test");
		tlsrec_track_ctx(p->sctx);
		if (o->server_suites != NULL)
			ck_assert_int_eq(SSL_CTX_set_ciphersuites(p->sctx,
			    o->server_suites), 1);
	}
	if (o->cctx != NULL) {
		p->cctx = o->cctx;
		SSL_CTX_up_ref(p->cctx);
	} else {
		p->cctx = SSL_CTX_new(TLS_client_method());
		ck_assert_ptr_nonnull(p->cctx);
		ck_assert_int_eq(SSL_CTX_set_min_proto_version(p->cctx, version), 1);
		ck_assert_int_eq(SSL_CTX_set_max_proto_version(p->cctx, version), 1);
		if (version == TLS1_2_VERSION)
			ck_assert_int_eq(SSL_CTX_set_cipher_list(p->cctx,
			    o->client_list != NULL ? o->client_list : su->name), 1);
		else
			ck_assert_int_eq(SSL_CTX_set_ciphersuites(p->cctx,
			    o->client_list != NULL ? o->client_list : su->name), 1);
		/* a TLS 1.2 suite the server does not offer by default (CCM) */
		if (version == TLS1_2_VERSION && o->client_list != NULL &&
		    o->sctx == NULL)
			ck_assert_int_eq(SSL_CTX_set_cipher_list(p->sctx,
			    o->client_list), 1);
		SSL_CTX_set_keylog_callback(p->cctx, client_keylog_cb);
	}
	p->c = SSL_new(p->cctx);
	p->s = SSL_new(p->sctx);
	ck_assert_ptr_nonnull(p->c);
	ck_assert_ptr_nonnull(p->s);
	SSL_set_app_data(p->c, p);
	SSL_set_msg_callback(p->c, client_msg_cb);
	SSL_set_msg_callback_arg(p->c, p);
	if (!o->untracked)
		ck_assert_int_eq(tlsrec_track(p->s), 0);
	if (o->reference)
		SSL_set_options(p->s, SSL_OP_NO_RENEGOTIATION |
		    SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (o->num_tickets >= 0)
		ck_assert_int_eq(SSL_set_num_tickets(p->s, (size_t)o->num_tickets), 1);
	if (o->mfl != 0)
		ck_assert_int_eq(SSL_set_tlsext_max_fragment_length(p->c,
		    (uint8_t)o->mfl), 1);
	if (o->session != NULL)
		ck_assert_int_eq(SSL_set_session(p->c, o->session), 1);
	ck_assert_int_eq(SSL_set_fd(p->c, p->fds[0]), 1);
	ck_assert_int_eq(SSL_set_fd(p->s, p->fds[1]), 1);
	SSL_set_connect_state(p->c);
	SSL_set_accept_state(p->s);
	if (o->no_handshake)
		return p;
	ck_assert_msg(handshake(p->c, p->s), "handshake failed: %s", errstr());
	ck_assert_int_eq(SSL_version(p->s), version);
	if (o->client_list == NULL)
		ck_assert_str_eq(SSL_get_cipher_name(p->s), su->name);
	return p;
}

static void
pair_take(struct pair *p)
{
	ck_assert_msg(tlsrec_can_take(p->s), "can_take false for %s",
	    suites[p->suite].name);
	p->rec = tlsrec_take(p->s, p->fds[1], &p->info);
	ck_assert_ptr_nonnull(p->rec);
	ck_assert_int_eq(tlsrec_version(p->rec), p->version);
	SSL_free(p->s);
	p->s = NULL;
	ck_assert_uint_eq(ERR_peek_error(), 0);
}

static void
pair_free(struct pair *p)
{
	int i;

	tlsrec_free(p->rec);
	SSL_free(p->s);
	SSL_free(p->c);
	for (i = 0; i < 2; i++)
		if (p->fds[i] != -1)
			close(p->fds[i]);
	SSL_CTX_free(p->sctx);
	SSL_CTX_free(p->cctx);
	free(p);
	/* every failure expected by a test was taken off the queue */
	ck_assert_msg(ERR_peek_error() == 0, "error queue: %s", errstr());
}

/* ---- moving bytes --------------------------------------------------------- */

static int
srv_read(struct pair *p, void *buf, int len, int *err)
{
	int r;

	if (p->rec != NULL) {
		r = tlsrec_read(p->rec, buf, len);
		*err = tlsrec_get_error(p->rec, r);
	} else {
		r = SSL_read(p->s, buf, len);
		*err = SSL_get_error(p->s, r);
	}
	return r;
}

static int
srv_write(struct pair *p, const void *buf, int len, int *err)
{
	int r;

	if (p->rec != NULL) {
		r = tlsrec_write(p->rec, buf, len);
		*err = tlsrec_get_error(p->rec, r);
	} else {
		r = SSL_write(p->s, buf, len);
		*err = SSL_get_error(p->s, r);
	}
	return r;
}

/* Writes dir's pattern up to target or a WANT_WRITE; true if any went. */
static bool
write_step(struct pair *p, int dir, uint64_t target, int chunk)
{
	bool moved = false;
	unsigned char *b;
	int k, r, err;

	while (p->sent[dir] < target) {
		if (p->pend[dir] != 0) {
			k = p->pend[dir];
			if (dir == DOWN && p->rec != NULL) {
				/* the retry from elsewhere, the old copy spoilt */
				memset(p->wbuf[dir][p->copy[dir]], 0xee, (size_t)k);
				p->copy[dir] ^= 1;
				fill(p->wbuf[dir][p->copy[dir]], dir, p->sent[dir], k);
			}
		} else {
			k = target - p->sent[dir] < (uint64_t)chunk ?
			    (int)(target - p->sent[dir]) : chunk;
			fill(p->wbuf[dir][p->copy[dir]], dir, p->sent[dir], k);
		}
		b = p->wbuf[dir][p->copy[dir]];
		if (dir == UP) {
			r = SSL_write(p->c, b, k);
			err = SSL_get_error(p->c, r);
		} else
			r = srv_write(p, b, k, &err);
		if (r > 0) {
			ck_assert_msg(r == k, "%s wrote %d of %d",
			    dir == UP ? "client" : "server", r, k);
			p->sent[dir] += (uint64_t)k;
			p->pend[dir] = 0;
			moved = true;
			continue;
		}
		ck_assert_msg(err == SSL_ERROR_WANT_WRITE,
		    "%s write of %d: %d, error %d, %s",
		    dir == UP ? "client" : "server", k, r, err, errstr());
		if (dir == DOWN && p->rec != NULL)
			p->rec_want_write++;
		p->pend[dir] = k;
		break;
	}
	return moved;
}

static void
check_bytes(struct pair *p, int dir, const unsigned char *b, int n)
{
	int i;

	ck_assert_msg(p->got[dir] + (uint64_t)n <= p->sent[dir],
	    "%s: %llu bytes, only %llu were written", who(dir),
	    (unsigned long long)(p->got[dir] + (uint64_t)n),
	    (unsigned long long)p->sent[dir]);
	for (i = 0; i < n; i++)
		if (b[i] != pat(dir, p->got[dir] + (uint64_t)i))
			ck_abort_msg("%s: byte %llu is 0x%02x, not 0x%02x", who(dir),
			    (unsigned long long)(p->got[dir] + (uint64_t)i), b[i],
			    pat(dir, p->got[dir] + (uint64_t)i));
	p->got[dir] += (uint64_t)n;
}

/* Reads dir until WANT_READ, checking each byte; true if any came. */
static bool
read_step(struct pair *p, int dir, int rdsz)
{
	bool moved = false;
	int r, err;

	if (p->ended[dir])
		return false;
	for (;;) {
		if (dir == UP)
			r = srv_read(p, p->rbuf, rdsz, &err);
		else {
			r = SSL_read(p->c, p->rbuf, rdsz);
			err = SSL_get_error(p->c, r);
		}
		if (r <= 0) {
			ck_assert_msg(err == SSL_ERROR_WANT_READ,
			    "%s after %llu bytes: %d, error %d, %s", who(dir),
			    (unsigned long long)p->got[dir], r, err, errstr());
			return moved;
		}
		ck_assert_int_le(r, rdsz);
		check_bytes(p, dir, p->rbuf, r);
		moved = true;
	}
}

/* up bytes client to server and down bytes back, at the same time. */
static void
pump(struct pair *p, uint64_t up, uint64_t down, int chunk, int rdsz)
{
	uint64_t tu = p->sent[UP] + up, td = p->sent[DOWN] + down;
	int round, idle = 0;
	bool moved;

	for (round = 0; p->got[UP] < tu || p->got[DOWN] < td; round++) {
		ck_assert_msg(round < PUMP_ROUNDS && idle < PUMP_IDLE,
		    "stuck after %d rounds: client->server %llu of %llu, "
		    "server->client %llu of %llu", round,
		    (unsigned long long)p->got[UP], (unsigned long long)tu,
		    (unsigned long long)p->got[DOWN], (unsigned long long)td);
		moved = write_step(p, UP, tu, chunk);
		moved |= read_step(p, UP, rdsz);
		moved |= write_step(p, DOWN, td, chunk);
		moved |= read_step(p, DOWN, rdsz);
		idle = moved ? 0 : idle + 1;
	}
}

/* A request and its response through OpenSSL: neither count stays 0. */
static void
exchange(struct pair *p)
{
	pump(p, 300, 0, MAXREC, MAXREC);
	pump(p, 0, 700, MAXREC, MAXREC);
}

/* The client writes n bytes that all fit in the socket now. */
static void
client_write_all(struct pair *p, uint64_t n)
{
	(void)write_step(p, UP, p->sent[UP] + n, MAXREC);
	ck_assert_int_eq(p->pend[UP], 0);
}

/* Reads dir to its end: what it returned then, its error. */
static int
read_to_end(struct pair *p, int dir, int *err)
{
	int r, tries;

	for (tries = 0; tries < 10000; tries++) {
		if (dir == UP)
			r = srv_read(p, p->rbuf, sizeof(p->rbuf), err);
		else {
			r = SSL_read(p->c, p->rbuf, sizeof(p->rbuf));
			*err = SSL_get_error(p->c, r);
		}
		if (r > 0) {
			check_bytes(p, dir, p->rbuf, r);
			continue;
		}
		ck_assert_msg(*err != SSL_ERROR_WANT_READ,
		    "%s: no end after %llu bytes", who(dir),
		    (unsigned long long)p->got[dir]);
		p->ended[dir] = true;
		return r;
	}
	ck_abort_msg("%s: no end", who(dir));
	return -1;
}

/* The reason of the first error on the queue (library SSL), then cleared. */
static int
take_reason(void)
{
	unsigned long e = ERR_peek_error();

	ck_assert_msg(e != 0, "no error on the queue");
	ck_assert_msg(ERR_GET_LIB(e) == ERR_LIB_SSL, "not an SSL error first: %s",
	    errstr());
	ERR_clear_error();
	return ERR_GET_REASON(e);
}

/*
 * OpenSSL's own server may put a provider's error (AES-GCM "cipher
 * operation failed") before its reason: the first of library SSL.
 */
static int
first_ssl_reason(void)
{
	unsigned long e;

	while ((e = ERR_get_error()) != 0)
		if (ERR_GET_LIB(e) == ERR_LIB_SSL) {
			ERR_clear_error();
			return ERR_GET_REASON(e);
		}
	ck_abort_msg("no SSL error on the queue");
	return 0;
}

/* The client reads what came: an alert's reason, 0 (ZERO_RETURN), -1 (nothing). */
static int
client_alert(struct pair *p)
{
	int r, err, tries;

	for (tries = 0; tries < 100; tries++) {
		r = SSL_read(p->c, p->rbuf, sizeof(p->rbuf));
		if (r > 0)
			continue;
		err = SSL_get_error(p->c, r);
		if (err == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (err == SSL_ERROR_WANT_READ)
			return -1;	/* nothing came */
		ck_assert_msg(err == SSL_ERROR_SSL, "client: %d, error %d, %s",
		    r, err, errstr());
		return take_reason();
	}
	ck_abort_msg("client: no end");
	return -1;
}

static void
raw_send(int fd, const void *buf, size_t n)
{
	ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
}

/* What is queued on fd, all of it (a whole record, nothing after). */
static size_t
raw_take(int fd, unsigned char *buf, size_t max)
{
	ssize_t n = read(fd, buf, max);

	ck_assert_int_gt(n, 0);
	return (size_t)n;
}

static bool
readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1;
}

/* ---- data --------------------------------------------------------------- */

/* Through OpenSSL first, then every size both ways through the tlsrec. */
START_TEST(test_exchange)
{
	static const int sizes[] = { 1, 2, 100, 5000, 16383, 16384, 16385, 40000 };
	static const int rdszs[] = { 1, 7, 1000, 16384, 65536 };
	struct pair *p = pair_new(_i, &defaults);
	size_t k;

	exchange(p);
	/* client data in the socket, not read by OpenSSL, at the take-over */
	client_write_all(p, 5000);
	pair_take(p);
	pump(p, 0, 0, MAXREC, MAXREC);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		pump(p, (uint64_t)sizes[k], 0, MAXREC, rdszs[k % 5]);
		pump(p, 0, (uint64_t)sizes[k], MAXREC, rdszs[(k + 2) % 5]);
		pump(p, (uint64_t)sizes[k], (uint64_t)sizes[k], MAXREC,
		    rdszs[(k + 3) % 5]);
	}
	/* odd write sizes */
	pump(p, 100000, 100000, 1000, 3000);
	pump(p, 50000, 50000, 1, 16384);
	pump(p, MIB, 0, MAXREC, MAXREC);
	pump(p, 0, MIB, MAXREC, MAXREC);
	pump(p, MIB, MIB, MAXREC, 4096);
	ck_assert(!tlsrec_has_pending(p->rec));
	pair_free(p);
}
END_TEST

/* 4 KiB socket buffers: WANT_WRITE retried, from a moved buffer. */
START_TEST(test_small_buffers)
{
	struct opts o = defaults;
	struct pair *p;

	o.small = true;
	p = pair_new(_i, &o);
	exchange(p);
	pair_take(p);
	pump(p, 0, MIB, MAXREC, MAXREC);
	ck_assert_int_gt(p->rec_want_write, 0);
	pump(p, MIB, 0, MAXREC, MAXREC);
	pump(p, MIB, MIB, MAXREC, 1000);
	pump(p, 100000, 100000, 5000, 16384);
	pair_free(p);
}
END_TEST

/*
 * No data before the take-over: the server's counts are the handshake's
 * (and TLS 1.3's tickets, 0 to 4 of them, not yet read by the client);
 * our first record is the first the client reads after them.
 */
START_TEST(test_take_after_handshake)
{
	static const int tickets[] = { -1, 0, 1, 4 };
	struct opts o = defaults;
	struct pair *p;

	o.num_tickets = tickets[_i / NSUITES];
	p = pair_new(_i % NSUITES, &o);
	pair_take(p);
	pump(p, 0, 1000, MAXREC, MAXREC);
	pump(p, 1000, 0, MAXREC, MAXREC);
	pump(p, 70000, 70000, MAXREC, MAXREC);
	pair_free(p);
}
END_TEST

/* The same from the client's side first. */
START_TEST(test_take_after_handshake_client_first)
{
	struct pair *p = pair_new(_i, &defaults);

	pair_take(p);
	pump(p, 1, 0, MAXREC, MAXREC);
	pump(p, 0, 1, MAXREC, MAXREC);
	pair_free(p);
}
END_TEST

/* A resumed session (TLS 1.2 ticket, TLS 1.3 PSK) is taken over as well. */
START_TEST(test_resumed)
{
	struct opts o = defaults;
	struct pair *p1, *p2;
	SSL_SESSION *sess;

	p1 = pair_new(_i, &defaults);
	exchange(p1);			/* TLS 1.3: the client has its tickets */
	sess = SSL_get1_session(p1->c);
	ck_assert_ptr_nonnull(sess);
	o.sctx = p1->sctx;
	o.cctx = p1->cctx;
	o.session = sess;
	p2 = pair_new(_i, &o);
	ck_assert(SSL_session_reused(p2->c));
	exchange(p2);
	pair_take(p2);
	pump(p2, 20000, 20000, MAXREC, MAXREC);
	SSL_SESSION_free(sess);
	pair_free(p2);
	pair_free(p1);
}
END_TEST

/* idle() between exchanges, twice in a row, with plaintext held, mid-write. */
START_TEST(test_idle)
{
	struct opts o = defaults;
	struct pair *p;
	int r, err;

	o.small = true;
	p = pair_new(_i, &o);
	exchange(p);
	pair_take(p);
	tlsrec_idle(p->rec);		/* before any record */
	pump(p, 3000, 3000, MAXREC, MAXREC);
	tlsrec_idle(p->rec);
	pump(p, 3000, 3000, MAXREC, MAXREC);
	tlsrec_idle(p->rec);
	tlsrec_idle(p->rec);
	pump(p, 50000, 50000, MAXREC, MAXREC);

	/* plaintext held over idle() */
	client_write_all(p, 2000);
	r = srv_read(p, p->rbuf, 10, &err);
	ck_assert_int_eq(r, 10);
	check_bytes(p, UP, p->rbuf, r);
	ck_assert(tlsrec_has_pending(p->rec));
	tlsrec_idle(p->rec);
	ck_assert(tlsrec_has_pending(p->rec));
	pump(p, 0, 0, MAXREC, MAXREC);
	ck_assert_uint_eq(p->got[UP], p->sent[UP]);

	/* a write that said WANT_WRITE, idle(), then its retry */
	while (p->pend[DOWN] == 0)
		(void)write_step(p, DOWN, p->sent[DOWN] + MAXREC, MAXREC);
	tlsrec_idle(p->rec);
	pump(p, 0, 0, MAXREC, MAXREC);
	tlsrec_idle(p->rec);
	pump(p, 20000, 20000, MAXREC, MAXREC);
	pair_free(p);
}
END_TEST

/*
 * Three records in the socket; after a 1-byte read, until all are read,
 * either has_pending() or the socket is readable: a reader that waits for
 * the socket when has_pending() is false never waits forever.
 */
START_TEST(test_has_pending)
{
	struct pair *p = pair_new(_i, &defaults);
	int r, err, n = 0;
	uint64_t end;

	exchange(p);
	pair_take(p);
	ck_assert(!tlsrec_has_pending(p->rec));
	end = p->got[UP] + 3000;
	client_write_all(p, 1000);
	client_write_all(p, 1000);
	client_write_all(p, 1000);
	while (p->got[UP] < end) {
		ck_assert_msg(n == 0 || tlsrec_has_pending(p->rec) ||
		    readable(p->fds[1]), "held bytes and nothing said so, at %llu",
		    (unsigned long long)p->got[UP]);
		r = srv_read(p, p->rbuf, n++ == 0 ? 1 : 333, &err);
		ck_assert_msg(r > 0, "read: %d, error %d", r, err);
		check_bytes(p, UP, p->rbuf, r);
	}
	ck_assert(!tlsrec_has_pending(p->rec));
	ck_assert(!readable(p->fds[1]));
	r = srv_read(p, p->rbuf, 100, &err);
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(err, SSL_ERROR_WANT_READ);
	pair_free(p);
}
END_TEST

/* ---- ends ----------------------------------------------------------------- */

/*
 * The client's close_notify: all data first, then 0 with ZERO_RETURN (and
 * again); we still write (a half-close); our close_notify ends the
 * client's reading.
 */
START_TEST(test_close_notify_from_client)
{
	struct pair *p = pair_new(_i, &defaults);
	int r, err;

	exchange(p);
	pair_take(p);
	client_write_all(p, 40000);
	ck_assert_int_eq(SSL_shutdown(p->c), 0);
	r = read_to_end(p, UP, &err);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(err, SSL_ERROR_ZERO_RETURN);
	ck_assert_uint_eq(p->got[UP], 40300);
	ck_assert_int_eq(p->info.alert_recv, SSL_AD_CLOSE_NOTIFY);
	r = srv_read(p, p->rbuf, 100, &err);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(err, SSL_ERROR_ZERO_RETURN);
	ck_assert(!tlsrec_has_pending(p->rec));
	pump(p, 0, 30000, MAXREC, MAXREC);
	tlsrec_shutdown(p->rec);
	ck_assert_int_eq(p->info.alert_sent, SSL_AD_CLOSE_NOTIFY);
	r = read_to_end(p, DOWN, &err);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(err, SSL_ERROR_ZERO_RETURN);
	ck_assert_int_eq(SSL_shutdown(p->c), 1);
	pair_free(p);
}
END_TEST

/* Ours first: the client reads all, then ZERO_RETURN; it may still write. */
START_TEST(test_close_notify_from_rec)
{
	struct pair *p = pair_new(_i, &defaults);
	int r, err;

	exchange(p);
	pair_take(p);
	pump(p, 0, 20000, MAXREC, MAXREC);
	(void)write_step(p, DOWN, p->sent[DOWN] + 20000, MAXREC);
	ck_assert_int_eq(p->pend[DOWN], 0);
	tlsrec_shutdown(p->rec);
	r = read_to_end(p, DOWN, &err);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(err, SSL_ERROR_ZERO_RETURN);
	ck_assert_uint_eq(p->got[DOWN], p->sent[DOWN]);
	/* the client's half is still open */
	pump(p, 10000, 0, MAXREC, MAXREC);
	ck_assert_int_eq(SSL_shutdown(p->c), 1);
	r = read_to_end(p, UP, &err);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(err, SSL_ERROR_ZERO_RETURN);
	pair_free(p);
}
END_TEST

/*
 * A TCP close without close_notify (SHUT_WR, or the client's socket
 * closed): the data, then ZERO_RETURN; after SHUT_WR we still write, after
 * a close a write fails with SYSCALL, EPIPE and an empty error queue.
 */
START_TEST(test_tcp_close)
{
	struct pair *p = pair_new(_i % NSUITES, &defaults);
	bool full_close = _i >= NSUITES;
	int r, err;

	exchange(p);
	pair_take(p);
	client_write_all(p, 33333);
	if (full_close) {
		close(p->fds[0]);
		p->fds[0] = -1;
	} else
		ck_assert_int_eq(shutdown(p->fds[0], SHUT_WR), 0);
	r = read_to_end(p, UP, &err);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(err, SSL_ERROR_ZERO_RETURN);
	ck_assert_uint_eq(p->got[UP], p->sent[UP]);
	ck_assert_uint_eq(ERR_peek_error(), 0);
	r = srv_read(p, p->rbuf, 100, &err);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(err, SSL_ERROR_ZERO_RETURN);
	if (!full_close) {
		pump(p, 0, 25000, MAXREC, MAXREC);
	} else {
		fill(p->wbuf[DOWN][0], DOWN, 0, 100);
		errno = 0;
		r = tlsrec_write(p->rec, p->wbuf[DOWN][0], 100);
		ck_assert_int_eq(r, -1);
		ck_assert_int_eq(tlsrec_get_error(p->rec, r), SSL_ERROR_SYSCALL);
		ck_assert_int_eq(errno, EPIPE);
		ck_assert_uint_eq(ERR_peek_error(), 0);
	}
	pair_free(p);
}
END_TEST

/* ---- TLS 1.3 KeyUpdate ---------------------------------------------------- */

/*
 * _i / 3: 0 not requested, 1 requested, 2 alternating with idle() before
 * our write, 3 requested with no data after it (SSL_do_handshake sends
 * it), 4 requested twice before we write (one KeyUpdate answers both).
 */
START_TEST(test_key_update)
{
	struct pair *p = pair_new(N12 + _i % 3, &defaults);
	int mode = _i / 3, k, type, before, expect = 0, r, err;

	exchange(p);
	pair_take(p);
	for (k = 0; k < 4; k++) {
		type = mode == 0 ? SSL_KEY_UPDATE_NOT_REQUESTED :
		    mode == 2 && (k & 1) == 0 ? SSL_KEY_UPDATE_NOT_REQUESTED :
		    SSL_KEY_UPDATE_REQUESTED;
		before = p->ku_seen;
		ck_assert_int_eq(SSL_key_update(p->c, type), 1);
		if (mode == 3) {
			ck_assert_int_eq(SSL_do_handshake(p->c), 1);
			r = srv_read(p, p->rbuf, 100, &err);
			ck_assert_msg(r == -1 && err == SSL_ERROR_WANT_READ,
			    "read of a KeyUpdate alone: %d, error %d, %s", r, err,
			    errstr());
		} else
			pump(p, 3000, 0, MAXREC, MAXREC);
		if (mode == 4) {
			ck_assert_int_eq(SSL_key_update(p->c,
			    SSL_KEY_UPDATE_REQUESTED), 1);
			pump(p, 5, 0, MAXREC, MAXREC);
		}
		ck_assert_int_eq(p->ku_seen, before);
		if (mode == 2)
			tlsrec_idle(p->rec);
		pump(p, 0, 3000, MAXREC, MAXREC);
		if (type == SSL_KEY_UPDATE_REQUESTED)
			expect++;
		ck_assert_msg(p->ku_seen == expect,
		    "round %d: the client saw %d KeyUpdates, not %d", k,
		    p->ku_seen, expect);
	}
	pump(p, 100000, 100000, MAXREC, MAXREC);
	ck_assert_int_eq(p->ku_seen, expect);
	pair_free(p);
}
END_TEST

/*
 * A key update while OpenSSL runs the connection: can_take() is false while
 * one is under way (ours queued, or the client's request not yet answered);
 * once done either it is taken and every byte still arrives, or it is not
 * and the SSL goes on.
 */
START_TEST(test_key_update_before_take)
{
	struct pair *p = pair_new(N12 + _i % 3, &defaults);

	exchange(p);
	if (_i < 3) {
		ck_assert_int_eq(SSL_key_update(p->s, SSL_KEY_UPDATE_NOT_REQUESTED), 1);
		ck_assert(!tlsrec_can_take(p->s));
		ck_assert_ptr_null(tlsrec_take(p->s, p->fds[1], NULL));
		ck_assert_int_eq(SSL_do_handshake(p->s), 1);
	} else {
		ck_assert_int_eq(SSL_key_update(p->c, SSL_KEY_UPDATE_REQUESTED), 1);
		pump(p, 100, 0, MAXREC, MAXREC);
		ck_assert(!tlsrec_can_take(p->s));
		ck_assert_ptr_null(tlsrec_take(p->s, p->fds[1], NULL));
	}
	pump(p, 100, 100, MAXREC, MAXREC);
	if (tlsrec_can_take(p->s))
		pair_take(p);
	else
		ck_assert_ptr_null(tlsrec_take(p->s, p->fds[1], NULL));
	pump(p, 30000, 30000, MAXREC, MAXREC);
	pair_free(p);
}
END_TEST

/* ---- failures ------------------------------------------------------------- */

/*
 * One bit of a client's record flipped (first body byte, middle, last byte
 * of the tag): -1, SSL_ERROR_SSL, DECRYPTION_FAILED_OR_BAD_RECORD_MAC; the
 * client gets a bad_record_mac alert; everything after fails.
 */
START_TEST(test_tampered)
{
	struct pair *p = pair_new(_i % NSUITES, &defaults);
	int where = _i / NSUITES, r, err;
	unsigned char rec[1000];
	size_t n, at;

	exchange(p);
	pair_take(p);
	pump(p, 500, 500, MAXREC, MAXREC);
	client_write_all(p, 100);
	n = raw_take(p->fds[1], rec, sizeof(rec));
	ck_assert_uint_eq(rec[0], SSL3_RT_APPLICATION_DATA);
	ck_assert_uint_eq(n, 5u + ((size_t)rec[3] << 8 | rec[4]));
	at = where == 0 ? 5 : where == 1 ? n / 2 : n - 1;
	rec[at] ^= 0x10;
	raw_send(p->fds[0], rec, n);
	r = srv_read(p, p->rbuf, sizeof(p->rbuf), &err);
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(err, SSL_ERROR_SSL);
	ck_assert_int_eq(take_reason(), SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC);
	ck_assert_int_eq(p->info.alert_sent, SSL_AD_BAD_RECORD_MAC);
	ck_assert_int_eq(client_alert(p), SSL_AD_REASON_OFFSET + SSL_AD_BAD_RECORD_MAC);
	ck_assert_int_eq(SSL_R_SSLV3_ALERT_BAD_RECORD_MAC,
	    SSL_AD_REASON_OFFSET + SSL_AD_BAD_RECORD_MAC);
	/* for good: reads and writes fail, nothing more goes out */
	raw_send(p->fds[0], rec, n);
	r = srv_read(p, p->rbuf, sizeof(p->rbuf), &err);
	ck_assert_int_le(r, 0);
	ck_assert_int_eq(err, SSL_ERROR_SSL);
	ERR_clear_error();
	r = tlsrec_write(p->rec, "x", 1);
	ck_assert_int_le(r, 0);
	ck_assert_int_eq(tlsrec_get_error(p->rec, r), SSL_ERROR_SSL);
	ERR_clear_error();
	tlsrec_shutdown(p->rec);
	ck_assert(!readable(p->fds[0]));
	pair_free(p);
}
END_TEST

/*
 * Headers alone (a few body bytes after them): a wrong version, a length
 * past the limit.  SSL_ERROR_SSL at once (no body awaited), the reason,
 * a fatal alert to the client.
 */
START_TEST(test_bad_header)
{
	struct pair *p = pair_new(_i % NSUITES, &defaults);
	int kind = _i / NSUITES, r, err, reason;
	unsigned char h[5 + 32];

	exchange(p);
	pair_take(p);
	memset(h, 0x5a, sizeof(h));
	h[0] = SSL3_RT_APPLICATION_DATA;
	h[1] = 3;
	h[2] = 3;
	h[3] = 0;
	h[4] = 32;
	switch (kind) {
	case 0: h[2] = 1; break;		/* TLS 1.0 */
	case 1: h[1] = 2; h[2] = 0; break;	/* SSL 2 */
	case 2: h[1] = 0xfe; h[2] = 0xfd; break;	/* DTLS 1.2 */
	case 3: h[3] = 0xff; h[4] = 0xff; break;
	case 4:	/* one past the largest ciphertext of the version */
		if (p->version == TLS1_3_VERSION) {
			h[3] = (16384 + 256 + 1) >> 8;
			h[4] = (16384 + 256 + 1) & 0xff;
		} else {
			h[3] = (16384 + 2048 + 1) >> 8;
			h[4] = (16384 + 2048 + 1) & 0xff;
		}
		break;
	}
	raw_send(p->fds[0], h, sizeof(h));
	r = srv_read(p, p->rbuf, sizeof(p->rbuf), &err);
	ck_assert_msg(r == -1 && err == SSL_ERROR_SSL, "read: %d, error %d", r, err);
	reason = take_reason();
	if (kind <= 2)
		ck_assert_int_eq(reason, SSL_R_WRONG_VERSION_NUMBER);
	else
		ck_assert_msg(reason == SSL_R_ENCRYPTED_LENGTH_TOO_LONG ||
		    reason == SSL_R_PACKET_LENGTH_TOO_LONG, "reason %d (%s)", reason,
		    ERR_reason_error_string(ERR_PACK(ERR_LIB_SSL, 0, reason)));
	r = client_alert(p);
	ck_assert_msg(r > SSL_AD_REASON_OFFSET && r < SSL_AD_REASON_OFFSET + 256,
	    "the client got no alert: reason %d", r);
	ck_assert_int_eq(p->info.alert_sent, r - SSL_AD_REASON_OFFSET);
	/* the version's alert is OpenSSL's (test_like_openssl) */
	if (kind > 2)
		ck_assert_int_eq(p->info.alert_sent, SSL_AD_RECORD_OVERFLOW);
	r = srv_read(p, p->rbuf, sizeof(p->rbuf), &err);
	ck_assert_int_le(r, 0);
	ck_assert_int_eq(err, SSL_ERROR_SSL);
	ERR_clear_error();
	pair_free(p);
}
END_TEST

/*
 * TLS 1.2: the client renegotiates after the take-over.  The data before
 * its ClientHello is read, we answer no_renegotiation (a warning); the
 * client's OpenSSL aborts on it (NO_RENEGOTIATION, a fatal
 * handshake_failure to us), and we fail with that alert's reason: what an
 * OpenSSL server under SSL_OP_NO_RENEGOTIATION gives (checked here too).
 */
START_TEST(test_renegotiation)
{
	struct opts o = defaults;
	struct pair *p;
	int ref, r, err;

	for (ref = 0; ref < 2; ref++) {
		o.reference = ref == 1;
		p = pair_new(_i, &o);
		exchange(p);
		if (!o.reference)
			pair_take(p);
		client_write_all(p, 1000);
		ck_assert_int_eq(SSL_renegotiate(p->c), 1);
		r = SSL_do_handshake(p->c);
		ck_assert_int_eq(r, -1);
		ck_assert_int_eq(SSL_get_error(p->c, r), SSL_ERROR_WANT_READ);
		r = srv_read(p, p->rbuf, sizeof(p->rbuf), &err);
		ck_assert_int_eq(r, 1000);
		check_bytes(p, UP, p->rbuf, r);
		r = srv_read(p, p->rbuf, sizeof(p->rbuf), &err);
		ck_assert_msg(r == -1 && err == SSL_ERROR_WANT_READ,
		    "%s after the ClientHello: %d, error %d, %s",
		    ref ? "OpenSSL" : "tlsrec", r, err, errstr());
		if (!o.reference)
			ck_assert_int_eq(p->info.alert_sent, SSL_AD_NO_RENEGOTIATION);
		r = SSL_do_handshake(p->c);
		ck_assert_int_eq(r, -1);
		ck_assert_int_eq(SSL_get_error(p->c, r), SSL_ERROR_SSL);
		ck_assert_int_eq(take_reason(), SSL_R_NO_RENEGOTIATION);
		r = srv_read(p, p->rbuf, sizeof(p->rbuf), &err);
		ck_assert_msg(r <= 0 && err == SSL_ERROR_SSL,
		    "%s after the client's alert: %d, error %d",
		    ref ? "OpenSSL" : "tlsrec", r, err);
		ck_assert_int_eq(take_reason(),
		    SSL_AD_REASON_OFFSET + SSL_AD_HANDSHAKE_FAILURE);
		if (!o.reference)
			ck_assert_int_eq(p->info.alert_recv, SSL_AD_HANDSHAKE_FAILURE);
		pair_free(p);
	}
}
END_TEST

/* ---- can_take ------------------------------------------------------------- */

/* CBC, CCM (TLS 1.2 and 1.3): not taken; the SSL goes on. */
START_TEST(test_cannot_take_suite)
{
	static const struct {
		int version;
		const char *list;
	} cases[] = {
		{ TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA256" },
		{ TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA" },
		{ TLS1_2_VERSION, "ECDHE-ECDSA-AES128-CCM" },
		{ TLS1_3_VERSION, "TLS_AES_128_CCM_SHA256" },
		{ TLS1_3_VERSION, "TLS_AES_128_CCM_8_SHA256" },
	};
	struct opts o = defaults;
	struct pair *p;

	o.client_list = cases[_i].list;
	o.version = cases[_i].version;
	if (o.version == TLS1_3_VERSION)
		o.server_suites = cases[_i].list;
	p = pair_new(0, &o);
	ck_assert_str_eq(SSL_get_cipher_name(p->s), cases[_i].list);
	ck_assert(!tlsrec_can_take(p->s));
	ck_assert_ptr_null(tlsrec_take(p->s, p->fds[1], NULL));
	exchange(p);
	ck_assert(!tlsrec_can_take(p->s));
	ck_assert_uint_eq(ERR_peek_error(), 0);
	pair_free(p);
}
END_TEST

/* Before and during the handshake: no; after it: yes. */
START_TEST(test_cannot_take_before_handshake)
{
	struct opts o = defaults;
	struct pair *p;
	int r;

	o.no_handshake = true;
	p = pair_new(_i, &o);
	ck_assert(!tlsrec_can_take(p->s));
	ck_assert_ptr_null(tlsrec_take(p->s, p->fds[1], NULL));
	ck_assert_int_eq(SSL_do_handshake(p->c), -1);
	r = SSL_do_handshake(p->s);
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(SSL_get_error(p->s, r), SSL_ERROR_WANT_READ);
	ck_assert(!tlsrec_can_take(p->s));
	ck_assert_ptr_null(tlsrec_take(p->s, p->fds[1], NULL));
	ck_assert(handshake(p->c, p->s));
	ERR_clear_error();
	pair_take(p);
	pump(p, 10000, 10000, MAXREC, MAXREC);
	pair_free(p);
}
END_TEST

/* Plaintext held in the SSL: no, until it is read; then the counts hold. */
START_TEST(test_cannot_take_pending)
{
	struct pair *p = pair_new(_i, &defaults);
	int r, err;

	exchange(p);
	client_write_all(p, 2000);
	r = srv_read(p, p->rbuf, 1, &err);
	ck_assert_int_eq(r, 1);
	check_bytes(p, UP, p->rbuf, r);
	ck_assert(SSL_has_pending(p->s));
	ck_assert(!tlsrec_can_take(p->s));
	ck_assert_ptr_null(tlsrec_take(p->s, p->fds[1], NULL));
	pump(p, 0, 0, MAXREC, MAXREC);
	pair_take(p);
	pump(p, 10000, 10000, MAXREC, MAXREC);
	pair_free(p);
}
END_TEST

/* A close_notify either way: no. */
START_TEST(test_cannot_take_shutdown)
{
	struct pair *p = pair_new(_i % NSUITES, &defaults);
	int r, err;

	exchange(p);
	if (_i < NSUITES) {
		ck_assert_int_eq(SSL_shutdown(p->c), 0);
		r = srv_read(p, p->rbuf, 100, &err);
		ck_assert_int_eq(r, 0);
		ck_assert_int_eq(err, SSL_ERROR_ZERO_RETURN);
	} else
		ck_assert_int_eq(SSL_shutdown(p->s), 0);
	ck_assert(!tlsrec_can_take(p->s));
	ck_assert_ptr_null(tlsrec_take(p->s, p->fds[1], NULL));
	pair_free(p);
}
END_TEST

/*
 * A max fragment length the client asked for: either not taken, or our
 * records keep to it (the client's OpenSSL refuses longer ones).
 */
START_TEST(test_max_fragment_length)
{
	struct opts o = defaults;
	struct pair *p;

	o.mfl = TLSEXT_max_fragment_length_1024;
	p = pair_new(_i, &o);
	exchange(p);
	if (!tlsrec_can_take(p->s)) {
		ck_assert_ptr_null(tlsrec_take(p->s, p->fds[1], NULL));
		pair_free(p);
		return;
	}
	pair_take(p);
	pump(p, 0, 50000, MAXREC, MAXREC);
	pair_free(p);
}
END_TEST

/* An SSL never given to tlsrec_track(): no, its counts are unknown. */
START_TEST(test_cannot_take_untracked)
{
	struct opts o = defaults;
	struct pair *p;

	o.untracked = true;
	p = pair_new(_i, &o);
	exchange(p);
	ck_assert(!tlsrec_can_take(p->s));
	ck_assert_ptr_null(tlsrec_take(p->s, p->fds[1], NULL));
	pair_free(p);
}
END_TEST

/* ---- records sealed here with the client's keys ----------------------------- */

struct sealer {
	const EVP_CIPHER *cipher;
	const EVP_MD *md;
	int version;
	bool explicit_nonce;		/* TLS 1.2 GCM */
	size_t key_len, secret_len;
	uint8_t key[32], iv[12], secret[48];
	uint64_t seq;
};

static void
expand_label(const EVP_MD *md, const uint8_t *secret, size_t slen,
    const char *label, uint8_t *out, size_t outlen)
{
	uint8_t info[64];
	size_t n = 0, llen = strlen(label);
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	OSSL_PARAM params[5];
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx;

	ck_assert_ptr_nonnull(kdf);
	info[n++] = (uint8_t)(outlen >> 8);
	info[n++] = (uint8_t)outlen;
	info[n++] = (uint8_t)(6 + llen);
	memcpy(info + n, "tls13 ", 6);
	memcpy(info + n + 6, label, llen);
	n += 6 + llen;
	info[n++] = 0;
	params[0] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)EVP_MD_get0_name(md), 0);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)secret, slen);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n);
	params[4] = OSSL_PARAM_construct_end();
	kctx = EVP_KDF_CTX_new(kdf);
	ck_assert_ptr_nonnull(kctx);
	ck_assert_int_eq(EVP_KDF_derive(kctx, out, outlen, params), 1);
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
}

static void
sealer_keys13(struct sealer *k)
{
	expand_label(k->md, k->secret, k->secret_len, "key", k->key, k->key_len);
	expand_label(k->md, k->secret, k->secret_len, "iv", k->iv, 12);
	k->seq = 0;
}

/* TLS 1.3: the client's next secret (its KeyUpdate). */
static void
sealer_update(struct sealer *k)
{
	uint8_t next[48];

	expand_label(k->md, k->secret, k->secret_len, "traffic upd", next,
	    k->secret_len);
	memcpy(k->secret, next, k->secret_len);
	sealer_keys13(k);
}

/* The client's write keys, for a client that sent no record since its Finished. */
static void
sealer_init(struct sealer *k, struct pair *p)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(p->c);

	memset(k, 0, sizeof(*k));
	k->version = p->version;
	k->md = SSL_CIPHER_get_handshake_digest(c);
	ck_assert_ptr_nonnull(k->md);
	k->cipher = EVP_get_cipherbyname(suites[p->suite].cipher);
	ck_assert_ptr_nonnull(k->cipher);
	k->key_len = (size_t)EVP_CIPHER_get_key_length(k->cipher);
	if (k->version == TLS1_3_VERSION) {
		k->secret_len = (size_t)EVP_MD_get_size(k->md);
		ck_assert_uint_eq(p->csecret_len, k->secret_len);
		memcpy(k->secret, p->csecret, k->secret_len);
		sealer_keys13(k);
	} else {
		uint8_t master[48], seed[13 + 64], block[2 * 32 + 2 * 12];
		size_t mlen, ivlen;
		OSSL_PARAM params[4];
		EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
		EVP_KDF_CTX *kctx;

		k->explicit_nonce = p->suite != 2;
		ivlen = k->explicit_nonce ? 4 : 12;
		mlen = SSL_SESSION_get_master_key(SSL_get_session(p->c), master,
		    sizeof(master));
		ck_assert_uint_eq(mlen, 48);
		memcpy(seed, "key expansion", 13);
		SSL_get_server_random(p->c, seed + 13, 32);
		SSL_get_client_random(p->c, seed + 13 + 32, 32);
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
		    (char *)EVP_MD_get0_name(k->md), 0);
		params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET,
		    master, mlen);
		params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED,
		    seed, sizeof(seed));
		params[3] = OSSL_PARAM_construct_end();
		ck_assert_ptr_nonnull(kdf);
		kctx = EVP_KDF_CTX_new(kdf);
		ck_assert_ptr_nonnull(kctx);
		ck_assert_int_eq(EVP_KDF_derive(kctx, block,
		    2 * k->key_len + 2 * ivlen, params), 1);
		EVP_KDF_CTX_free(kctx);
		EVP_KDF_free(kdf);
		memcpy(k->key, block, k->key_len);	/* client_write_key */
		memcpy(k->iv, block + 2 * k->key_len, ivlen);	/* client IV */
		k->seq = 1;			/* the Finished was 0 */
	}
}

/*
 * One record as the client would seal it: type, len bytes of data, TLS
 * 1.3 pad zero bytes after the type; appended at out + *olen.
 */
static void
seal(struct sealer *k, uint8_t type, const uint8_t *data, size_t len,
    size_t pad, uint8_t *out, size_t *olen)
{
	bool v13 = k->version == TLS1_3_VERSION;
	size_t expl = k->explicit_nonce ? 8 : 0, inner, clen, i;
	uint8_t *h = out + *olen, *body, nonce[12], aad[13], *pt;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl;

	ck_assert_ptr_nonnull(ctx);
	inner = len + (v13 ? 1 + pad : 0);
	clen = expl + inner + 16;
	pt = malloc(inner + 1);
	ck_assert_ptr_nonnull(pt);
	if (len > 0)
		memcpy(pt, data, len);
	if (v13) {
		pt[len] = type;
		memset(pt + len + 1, 0, pad);
	}
	h[0] = v13 ? SSL3_RT_APPLICATION_DATA : type;
	h[1] = 3;
	h[2] = 3;
	h[3] = (uint8_t)(clen >> 8);
	h[4] = (uint8_t)clen;
	body = h + 5;
	if (k->explicit_nonce) {
		for (i = 0; i < 8; i++)
			body[i] = (uint8_t)(k->seq >> (56 - 8 * i));
		memcpy(nonce, k->iv, 4);
		memcpy(nonce + 4, body, 8);
	} else {
		memcpy(nonce, k->iv, 12);
		for (i = 0; i < 8; i++)
			nonce[4 + i] ^= (uint8_t)(k->seq >> (56 - 8 * i));
	}
	for (i = 0; i < 8; i++)
		aad[i] = (uint8_t)(k->seq >> (56 - 8 * i));
	aad[8] = type;
	aad[9] = 3;
	aad[10] = 3;
	aad[11] = (uint8_t)(len >> 8);
	aad[12] = (uint8_t)len;
	ck_assert_int_eq(EVP_EncryptInit_ex(ctx, k->cipher, NULL, k->key, nonce), 1);
	ck_assert_int_eq(EVP_EncryptUpdate(ctx, NULL, &outl, v13 ? h : aad,
	    v13 ? 5 : 13), 1);
	if (inner > 0)
		ck_assert_int_eq(EVP_EncryptUpdate(ctx, body + expl, &outl, pt,
		    (int)inner), 1);
	ck_assert_int_eq(EVP_EncryptFinal_ex(ctx, body + expl + inner, &outl), 1);
	ck_assert_int_eq(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16,
	    body + expl + inner), 1);
	EVP_CIPHER_CTX_free(ctx);
	free(pt);
	k->seq++;
	*olen += 5 + clen;
}

/* What a server made of bytes sent to it, and what the client got back. */
struct outcome {
	uint8_t data[40000];
	size_t len;			/* plaintext read before the end */
	int ret, err;			/* the read that ended it */
	int reason;			/* its reason (SSL_ERROR_SSL), else 0 */
	int client;			/* client_alert() of what came back */
};

/* Which records the sealed cases send (k: the client's keys). */
enum {
	C_DATA, C_EMPTY32, C_EMPTY33, C_WARN4, C_WARN5, C_WARN6,
	C_CLOSE_DATA, C_ALERT_LEN3, C_ALERT_FATAL, C_FULL, C_OVER,
	C_HELLO, C_HELLO6, C_HELLOREQ, C_CCS, C_TYPE99, C_EMPTY_HS,
	/* TLS 1.3 */
	C_PAD, C_PAD_MAX, C_ALL_PAD, C_PAD_OVER, C_KU_FRAG, C_KU_BAD,
	C_KU_TRAIL, C_TICKET, C_KU_THEN_OLD_KEY, C_USER_CANCELED,
	C_WARN13, C_DATA_HS_MIX, C_KU_BYTES, C_KU_DATA_INSIDE,
	C_KU_ALERT_INSIDE,
	/* raw bytes, both versions */
	C_RAW_TRUNC_EOF, C_RAW_LEN0, C_RAW_LEN1, C_RAW_TYPE_FLIP, C_RAW_VERSION,
	C_NCASES
};
#define C_FIRST13	C_PAD
#define C_FIRST_RAW	C_RAW_TRUNC_EOF

static const char *const case_names[C_NCASES] = {
	"data", "32 empty", "33 empty", "4 warnings", "5 warnings",
	"6 warnings", "close_notify then data", "alert of 3 bytes",
	"fatal alert", "16384 bytes", "16385 bytes", "ClientHello",
	"6 ClientHellos", "HelloRequest", "ChangeCipherSpec", "type 99",
	"empty handshake record",
	"padding", "16384 bytes and the most padding", "padding only",
	"16384 bytes and a padding byte too many", "KeyUpdate in 2 records",
	"KeyUpdate value 2", "KeyUpdate and more in its record",
	"NewSessionTicket", "KeyUpdate then the old key", "user_canceled",
	"warning in TLS 1.3", "data and handshake in one record",
	"KeyUpdate in 5 records", "data inside a split KeyUpdate",
	"an alert inside a split KeyUpdate",
	"a truncated record, then a TCP close", "length 0", "length 1",
	"a record's type changed", "a record's version changed",
};

static void
build_case(int c, struct pair *p, uint8_t *out, size_t *olen, bool *eof)
{
	static uint8_t big[16385 + 300];
	static const uint8_t hello[] = { 1, 0, 0, 6, 3, 3, 0, 0, 0, 0 };
	static const uint8_t hreq[] = { 0, 0, 0, 0 };
	static const uint8_t ku[] = { 24, 0, 0, 1, 0 };
	static const uint8_t ku2[] = { 24, 0, 0, 1, 2 };
	static const uint8_t kutrail[] = { 24, 0, 0, 1, 0, 24, 0, 0, 1, 0 };
	static const uint8_t nst[] = { 4, 0, 0, 2, 0, 0 };
	static const uint8_t ccs[] = { 1 };
	uint8_t a[3] = { SSL3_AL_WARNING, SSL_AD_USER_CANCELLED, 0 };
	struct sealer k;
	uint8_t raw[2000];
	size_t n, i;

	*olen = 0;
	*eof = false;
	memset(big, 'b', sizeof(big));
	if (c >= C_FIRST_RAW) {
		/* a real record of the client's, changed */
		client_write_all(p, 50);
		n = raw_take(p->fds[1], raw, sizeof(raw));
		switch (c) {
		case C_RAW_TRUNC_EOF: n = 20; *eof = true; break;
		case C_RAW_LEN0: raw[3] = 0; raw[4] = 0; n = 5; break;
		case C_RAW_LEN1: raw[3] = 0; raw[4] = 1; n = 6; break;
		case C_RAW_TYPE_FLIP: raw[0] = SSL3_RT_HANDSHAKE; break;
		case C_RAW_VERSION: raw[2] = 1; break;
		}
		memcpy(out, raw, n);
		*olen = n;
		return;
	}
	sealer_init(&k, p);
	switch (c) {
	case C_DATA:
		seal(&k, 23, (const uint8_t *)"hello", 5, 0, out, olen);
		break;
	case C_EMPTY32:
	case C_EMPTY33:
		for (i = 0; i < (c == C_EMPTY32 ? 32u : 33u); i++)
			seal(&k, 23, NULL, 0, 0, out, olen);
		seal(&k, 23, (const uint8_t *)"x", 1, 0, out, olen);
		break;
	case C_WARN4:
	case C_WARN5:
	case C_WARN6:
		for (i = 0; i < (size_t)(c - C_WARN4 + 4); i++)
			seal(&k, 21, a, 2, 0, out, olen);
		seal(&k, 23, (const uint8_t *)"x", 1, 0, out, olen);
		break;
	case C_CLOSE_DATA:
		seal(&k, 23, (const uint8_t *)"before", 6, 0, out, olen);
		a[1] = SSL_AD_CLOSE_NOTIFY;
		seal(&k, 21, a, 2, 0, out, olen);
		seal(&k, 23, (const uint8_t *)"after", 5, 0, out, olen);
		break;
	case C_ALERT_LEN3:
		seal(&k, 21, a, 3, 0, out, olen);
		break;
	case C_ALERT_FATAL:
		a[0] = SSL3_AL_FATAL;
		a[1] = SSL_AD_HANDSHAKE_FAILURE;
		seal(&k, 21, a, 2, 0, out, olen);
		break;
	case C_FULL:
		seal(&k, 23, big, 16384, 0, out, olen);
		break;
	case C_OVER:
		seal(&k, 23, big, 16385, 0, out, olen);
		break;
	case C_HELLO:
	case C_HELLO6:
		for (i = 0; i < (c == C_HELLO ? 1u : 6u); i++)
			seal(&k, 22, hello, sizeof(hello), 0, out, olen);
		seal(&k, 23, (const uint8_t *)"x", 1, 0, out, olen);
		break;
	case C_HELLOREQ:
		seal(&k, 22, hreq, sizeof(hreq), 0, out, olen);
		break;
	case C_CCS:
		seal(&k, 20, ccs, 1, 0, out, olen);
		break;
	case C_TYPE99:
		seal(&k, 99, (const uint8_t *)"xx", 2, 0, out, olen);
		break;
	case C_EMPTY_HS:
		seal(&k, 22, NULL, 0, 0, out, olen);
		break;
	case C_PAD:
		seal(&k, 23, (const uint8_t *)"abc", 3, 200, out, olen);
		break;
	case C_PAD_MAX:
		seal(&k, 23, big, 16384, 0, out, olen);
		seal(&k, 23, big, 100, 16384 - 100, out, olen);
		break;
	case C_ALL_PAD:
		seal(&k, 0, NULL, 0, 50, out, olen);
		break;
	case C_PAD_OVER:
		seal(&k, 23, big, 16384, 1, out, olen);
		break;
	case C_KU_FRAG:
		seal(&k, 22, ku, 2, 0, out, olen);
		seal(&k, 22, ku + 2, 3, 0, out, olen);
		sealer_update(&k);
		seal(&k, 23, (const uint8_t *)"x", 1, 0, out, olen);
		break;
	case C_KU_BAD:
		seal(&k, 22, ku2, sizeof(ku2), 0, out, olen);
		break;
	case C_KU_TRAIL:
		seal(&k, 22, kutrail, sizeof(kutrail), 0, out, olen);
		break;
	case C_TICKET:
		seal(&k, 22, nst, sizeof(nst), 0, out, olen);
		break;
	case C_KU_THEN_OLD_KEY:
		seal(&k, 22, ku, sizeof(ku), 0, out, olen);
		seal(&k, 23, (const uint8_t *)"x", 1, 0, out, olen);
		break;
	case C_USER_CANCELED:
		seal(&k, 21, a, 2, 0, out, olen);
		seal(&k, 23, (const uint8_t *)"x", 1, 0, out, olen);
		break;
	case C_WARN13:
		a[1] = SSL_AD_UNRECOGNIZED_NAME;
		seal(&k, 21, a, 2, 0, out, olen);
		seal(&k, 23, (const uint8_t *)"x", 1, 0, out, olen);
		break;
	case C_KU_BYTES:
		for (i = 0; i < sizeof(ku); i++)
			seal(&k, 22, ku + i, 1, 0, out, olen);
		sealer_update(&k);
		seal(&k, 23, (const uint8_t *)"x", 1, 0, out, olen);
		break;
	case C_KU_DATA_INSIDE:
		seal(&k, 22, ku, 2, 0, out, olen);
		seal(&k, 23, (const uint8_t *)"x", 1, 0, out, olen);
		seal(&k, 22, ku + 2, 3, 0, out, olen);
		break;
	case C_KU_ALERT_INSIDE:
		seal(&k, 22, ku, 2, 0, out, olen);
		seal(&k, 21, a, 2, 0, out, olen);	/* user_canceled */
		seal(&k, 22, ku + 2, 3, 0, out, olen);
		break;
	case C_DATA_HS_MIX:
		/* the data then a KeyUpdate cannot share a record: a handshake record with data */
		{
			uint8_t mix[5 + 3];

			memcpy(mix, ku, 5);
			memcpy(mix + 5, "abc", 3);
			seal(&k, 22, mix, sizeof(mix), 0, out, olen);
		}
		break;
	}
}

/*
 * One case against one server: a fresh pair, taken over straight after
 * the handshake (the client's keys then known) unless reference.
 */
static void
run_case(int suite, int c, bool reference, struct outcome *o)
{
	static uint8_t bytes[4 * 17000 + 2000];
	struct opts opt = defaults;
	struct pair *p;
	size_t n;
	bool eof;
	int r, err, tries;

	memset(o, 0, sizeof(*o));
	opt.reference = reference;
	p = pair_new(suite, &opt);
	/* the client reads its tickets; it writes nothing before the case */
	pump(p, 0, 10, MAXREC, MAXREC);
	if (!reference)
		pair_take(p);
	build_case(c, p, bytes, &n, &eof);
	ck_assert_uint_le(n, sizeof(bytes));
	/* the socket may not take it all at once: read as it goes */
	{
		size_t off = 0;
		ssize_t w;

		for (tries = 0; off < n && tries < 100000; tries++) {
			w = write(p->fds[0], bytes + off, n - off);
			if (w > 0)
				off += (size_t)w;
			else
				ck_assert_int_eq(errno, EAGAIN);
			if (off < n) {
				r = srv_read(p, o->data + o->len,
				    (int)(sizeof(o->data) - o->len), &err);
				if (r > 0)
					o->len += (size_t)r;
				else if (err != SSL_ERROR_WANT_READ)
					break;
			}
		}
	}
	if (eof)
		ck_assert_int_eq(shutdown(p->fds[0], SHUT_WR), 0);
	for (tries = 0; tries < 1000; tries++) {
		r = srv_read(p, o->data + o->len, (int)(sizeof(o->data) - o->len), &err);
		if (r > 0) {
			o->len += (size_t)r;
			continue;
		}
		break;
	}
	o->ret = r;
	o->err = err;
	if (err == SSL_ERROR_SSL)
		o->reason = reference ? first_ssl_reason() : take_reason();
	ERR_clear_error();
	o->client = client_alert(p);
	ERR_clear_error();
	if (getenv("TLSREC_DUMP") != NULL)
		fprintf(stderr, "%s %s %s: %zu bytes, ret %d err %d reason %d client %d\n",
		    suites[suite].name, reference ? "OpenSSL" : "tlsrec",
		    case_names[c], o->len, o->ret, o->err, o->reason, o->client);
	pair_free(p);
}

static const char *
reason_str(int reason)
{
	const char *s;

	if (reason == 0)
		return "none";
	s = ERR_reason_error_string(ERR_PACK(ERR_LIB_SSL, 0, reason));
	return s != NULL ? s : "?";
}

/*
 * Where the tlsrec differs from OpenSSL 3.0 on purpose, what it does
 * instead: want is changed to that.  Everything else must be OpenSSL's.
 */
static void
known_difference(int c, int version, struct outcome *want)
{
	/* reasons of the same meaning: the alert is the same */
	if (want->reason == SSL_R_CCS_RECEIVED_EARLY ||
	    want->reason == SSL_R_BAD_RECORD_TYPE)
		want->reason = SSL_R_UNEXPECTED_RECORD;
	if (want->reason == SSL_R_NOT_ON_RECORD_BOUNDARY)
		want->reason = SSL_R_UNEXPECTED_MESSAGE;
	if (version != TLS1_2_VERSION)
		return;
	switch (c) {
	case C_HELLO6:
		/* ClientHellos count as warnings (OpenSSL has no limit) */
		want->len = 0;
		want->ret = -1;
		want->err = SSL_ERROR_SSL;
		want->reason = SSL_R_TOO_MANY_WARN_ALERTS;
		break;
	case C_EMPTY_HS:
		/* RFC 5246 6.2.1 forbids it; OpenSSL skips it as an empty record */
		want->ret = -1;
		want->err = SSL_ERROR_SSL;
		want->reason = SSL_R_UNEXPECTED_MESSAGE;
		want->client = SSL_AD_REASON_OFFSET + SSL_AD_UNEXPECTED_MESSAGE;
		break;
	}
}

/*
 * A case against the tlsrec and against an OpenSSL server
 * (SSL_OP_NO_RENEGOTIATION, SSL_OP_IGNORE_UNEXPECTED_EOF): the same
 * plaintext, the same end (SSL_ERROR_*), the same alert back to the
 * client, the same reason (known_difference() aside).
 */
static void
compare_case(int suite, int c)
{
	static struct outcome got, want;

	run_case(suite, c, true, &want);
	known_difference(c, suites[suite].version, &want);
	run_case(suite, c, false, &got);
	ck_assert_msg(got.len == want.len && memcmp(got.data, want.data, got.len) == 0,
	    "%s, %s: %zu bytes of plaintext, OpenSSL %zu", suites[suite].name,
	    case_names[c], got.len, want.len);
	ck_assert_msg(got.err == want.err && (got.ret > 0) == (want.ret > 0),
	    "%s, %s: ended with %d (error %d), OpenSSL %d (error %d)",
	    suites[suite].name, case_names[c], got.ret, got.err, want.ret, want.err);
	ck_assert_msg(got.client == want.client,
	    "%s, %s: the client got %d (%s), from OpenSSL %d (%s)",
	    suites[suite].name, case_names[c], got.client, reason_str(got.client),
	    want.client, reason_str(want.client));
	ck_assert_msg(got.reason == want.reason,
	    "%s, %s: reason %d (%s), OpenSSL %d (%s)", suites[suite].name,
	    case_names[c], got.reason, reason_str(got.reason), want.reason,
	    reason_str(want.reason));
}

/* The cases of both versions, and TLS 1.2's own: _i = case * NSUITES + suite. */
START_TEST(test_like_openssl)
{
	int suite = _i % NSUITES, c = _i / NSUITES;

	if (c >= C_FIRST13 && c < C_FIRST_RAW)
		return;		/* test_like_openssl13 */
	if (suites[suite].version == TLS1_3_VERSION &&
	    (c == C_WARN4 || c == C_WARN5 || c == C_WARN6 || c == C_HELLO ||
	    c == C_HELLO6 || c == C_HELLOREQ || c == C_CCS || c == C_EMPTY_HS))
		return;		/* TLS 1.2 records */
	compare_case(suite, c);
}
END_TEST

START_TEST(test_like_openssl13)
{
	compare_case(N12 + _i % 3, C_FIRST13 + _i / 3);
}
END_TEST

/* A sealed record first: the sealer is right (else nothing above means much). */
START_TEST(test_sealer)
{
	static uint8_t bytes[2000];
	struct pair *p = pair_new(_i, &defaults);
	struct sealer k;
	size_t n = 0;
	int r, err;

	pump(p, 0, 10, MAXREC, MAXREC);
	pair_take(p);
	sealer_init(&k, p);
	seal(&k, 23, (const uint8_t *)"sealed", 6, 0, bytes, &n);
	raw_send(p->fds[0], bytes, n);
	r = srv_read(p, p->rbuf, sizeof(p->rbuf), &err);
	ck_assert_msg(r == 6, "read: %d, error %d, %s", r, err, errstr());
	ck_assert_int_eq(memcmp(p->rbuf, "sealed", 6), 0);
	pump(p, 0, 5000, MAXREC, MAXREC);
	pair_free(p);
}
END_TEST

static TCase *
tcase(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return tc;
}

static Suite *
tlsrec_suite(void)
{
	Suite *s = suite_create("tlsrec");
	TCase *tc;

	tc = tcase(s, "data");
	tcase_add_loop_test(tc, test_exchange, 0, NSUITES);
	tcase_add_loop_test(tc, test_small_buffers, 0, NSUITES);
	tcase_add_loop_test(tc, test_take_after_handshake, 0, 4 * NSUITES);
	tcase_add_loop_test(tc, test_take_after_handshake_client_first, 0, NSUITES);
	tcase_add_loop_test(tc, test_resumed, 0, NSUITES);
	tcase_add_loop_test(tc, test_idle, 0, NSUITES);
	tcase_add_loop_test(tc, test_has_pending, 0, NSUITES);
	tc = tcase(s, "ends");
	tcase_add_loop_test(tc, test_close_notify_from_client, 0, NSUITES);
	tcase_add_loop_test(tc, test_close_notify_from_rec, 0, NSUITES);
	tcase_add_loop_test(tc, test_tcp_close, 0, 2 * NSUITES);
	tc = tcase(s, "key_update");
	tcase_add_loop_test(tc, test_key_update, 0, 5 * 3);
	tcase_add_loop_test(tc, test_key_update_before_take, 0, 2 * 3);
	tc = tcase(s, "failures");
	tcase_add_loop_test(tc, test_tampered, 0, 3 * NSUITES);
	tcase_add_loop_test(tc, test_bad_header, 0, 5 * NSUITES);
	tcase_add_loop_test(tc, test_renegotiation, 0, N12);
	tc = tcase(s, "can_take");
	tcase_add_loop_test(tc, test_cannot_take_suite, 0, 5);
	tcase_add_loop_test(tc, test_cannot_take_before_handshake, 0, NSUITES);
	tcase_add_loop_test(tc, test_cannot_take_pending, 0, NSUITES);
	tcase_add_loop_test(tc, test_cannot_take_shutdown, 0, 2 * NSUITES);
	tcase_add_loop_test(tc, test_max_fragment_length, 0, NSUITES);
	tcase_add_loop_test(tc, test_cannot_take_untracked, 0, NSUITES);
	tc = tcase(s, "like_openssl");
	tcase_add_loop_test(tc, test_sealer, 0, NSUITES);
	tcase_add_loop_test(tc, test_like_openssl, 0, C_NCASES * NSUITES);
	tcase_add_loop_test(tc, test_like_openssl13, 0, (C_FIRST_RAW - C_FIRST13) * 3);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(tlsrec_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
