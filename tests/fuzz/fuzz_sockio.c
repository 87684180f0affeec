/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the I/O layer (sockio.c) with an oracle: one
 * sockio on one end of a socketpair (4 KiB socket buffers), plain or TLS
 * (an in-process handshake), the other end driven by the input.  The
 * input interleaves the peer's writes, reads and half-close with our
 * side's enable/disable, watermarks, partial draining, writes and
 * flushes, one non-blocking loop turn after each step.
 *
 * The oracle, beyond ASan, UBSan and LeakSanitizer: every byte the peer
 * wrote reaches the read callback in order, and the EOF event comes only
 * after all of them; every byte our side queued reaches the peer in order,
 * a half-closed peer included.  At the end both sides drain: anything
 * missing after 2000 loop turns is a lost or stuck byte, and aborts.
 *
 * Input: a mode byte (bit 0: TLS), then steps of an op byte and an
 * argument byte.  op % 10:
 *   0  peer writes arg * 37 + 1 bytes
 *   1  nothing but the loop turn
 *   2  the read callback drains at most arg * 61 bytes a call (0: all)
 *   3  our reading: enabled if arg is odd, else disabled
 *   4  read watermark arg * 64 bytes (0: none)
 *   5  our side queues arg * 53 + 1 bytes
 *   6  flush()
 *   7  peer reads up to arg * 97 bytes
 *   8  peer half-closes (TLS: close_notify; plain: shutdown SHUT_WR)
 *   9  our writing: enabled if arg is odd, else disabled
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "sockio.h"

#define FUZZ_SETTLE_TURNS 2000

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	struct event_base *base;
	struct sockio *io;
	SSL *peer;			/* NULL: plain */
	int peer_fd;
	uint64_t peer_sent;		/* bytes the peer wrote */
	uint64_t seen;			/* bytes the read callback took, checked */
	uint64_t queued;		/* bytes our side queued */
	uint64_t peer_got;		/* bytes the peer read, checked */
	size_t drain_max;		/* 0: all */
	unsigned char pend[9500];	/* TLS: the peer's write OpenSSL must retry */
	size_t pend_len;
	bool peer_shut;			/* the peer decided to half-close */
	bool shut_sent;			/* and did */
	bool eof;			/* the EOF event came */
	bool failed;			/* an ERROR event came: the oracle stops */
};

static SSL_CTX *server_ctx, *client_ctx;

static unsigned char
peer_byte(uint64_t i)
{
	return (unsigned char)(i * 131 + (i >> 9));
}

static unsigned char
our_byte(uint64_t i)
{
	return (unsigned char)(i * 29 + (i >> 7) + 3);
}

static void
fz_abort(const char *what, uint64_t at)
{
	fprintf(stderr, "fuzz_sockio: %s at byte %llu\n", what,
	    (unsigned long long)at);
	abort();
}

/* Takes at most drain_max bytes out of the input, checking each. */
static void
take(struct fz *f, size_t max)
{
	struct evbuffer *in = sockio_get_input(f->io);
	unsigned char buf[4096];
	size_t len = evbuffer_get_length(in), want, i;
	int n;

	if (max != 0 && len > max)
		len = max;
	while (len > 0) {
		want = len < sizeof(buf) ? len : sizeof(buf);
		if ((n = evbuffer_remove(in, buf, want)) <= 0)
			fz_abort("evbuffer_remove failed", f->seen);
		for (i = 0; i < (size_t)n; i++, f->seen++)
			if (buf[i] != peer_byte(f->seen))
				fz_abort("a byte from the peer changed or moved", f->seen);
		len -= (size_t)n;
	}
}

static void
readcb(struct sockio *io, void *arg)
{
	struct fz *f = arg;

	(void)io;
	if (f->eof)
		fz_abort("data after the EOF event", f->seen);
	take(f, f->drain_max);
}

static void
eventcb(struct sockio *io, short what, void *arg)
{
	struct fz *f = arg;

	(void)io;
	if (what & SOCKIO_ERROR) {
		f->failed = true;
		return;
	}
	if ((what & SOCKIO_EOF) && (what & SOCKIO_READING)) {
		take(f, 0);
		if (!f->peer_shut)
			fz_abort("an EOF the peer did not send", f->seen);
		if (f->seen != f->peer_sent)
			fz_abort("EOF before every byte was read", f->seen);
		f->eof = true;
	}
	if (what & SOCKIO_WRITING)
		f->failed = true;
}

/*
 * A non-blocking SSL_write that says WANT_WRITE holds a record OpenSSL
 * must be given again, the same buffer and length: until then the peer
 * writes nothing else and does not close.
 */
static bool
peer_flush(struct fz *f)
{
	int r;

	if (f->pend_len == 0)
		return true;
	if ((r = SSL_write(f->peer, f->pend, (int)f->pend_len)) <= 0) {
		ERR_clear_error();
		return false;
	}
	f->peer_sent += (uint64_t)r;
	f->pend_len = 0;
	return true;
}

/* Sends the half-close once everything before it went. */
static void
peer_shut_now(struct fz *f)
{
	if (!f->peer_shut || f->shut_sent || !peer_flush(f))
		return;
	if (f->peer == NULL) {
		shutdown(f->peer_fd, SHUT_WR);
		f->shut_sent = true;
	} else if (SSL_shutdown(f->peer) >= 0)
		f->shut_sent = true;
	else
		ERR_clear_error();
}

static void
peer_write(struct fz *f, size_t n)
{
	size_t i;
	int r;

	if (f->peer_shut || !peer_flush(f))
		return;
	if (n > sizeof(f->pend))
		n = sizeof(f->pend);
	for (i = 0; i < n; i++)
		f->pend[i] = peer_byte(f->peer_sent + i);
	if (f->peer != NULL) {
		f->pend_len = n;
		(void)peer_flush(f);
		return;
	}
	/* plain: what does not fit now is simply not sent */
	if ((r = (int)write(f->peer_fd, f->pend, n)) > 0)
		f->peer_sent += (uint64_t)r;
}

static void
peer_read(struct fz *f, size_t max)
{
	unsigned char buf[4096];
	size_t want;
	int n, i;

	while (max > 0) {
		want = max < sizeof(buf) ? max : sizeof(buf);
		if (f->peer != NULL)
			n = SSL_read(f->peer, buf, (int)want);
		else
			n = (int)read(f->peer_fd, buf, want);
		if (n <= 0) {
			ERR_clear_error();
			return;
		}
		for (i = 0; i < n; i++, f->peer_got++)
			if (buf[i] != our_byte(f->peer_got))
				fz_abort("a byte towards the peer changed or moved",
				    f->peer_got);
		max -= (size_t)n;
	}
}

static void
queue(struct fz *f, size_t n)
{
	unsigned char buf[14000];
	size_t i;

	if (n > sizeof(buf))
		n = sizeof(buf);
	for (i = 0; i < n; i++)
		buf[i] = our_byte(f->queued + i);
	if (evbuffer_add(sockio_get_output(f->io), buf, n) == 0)
		f->queued += n;
}

static void
peer_shut(struct fz *f)
{
	f->peer_shut = true;
	peer_shut_now(f);
}

static void
step(struct fz *f, uint8_t op, uint8_t arg)
{
	peer_shut_now(f);	/* also retries a pending write */
	switch (op % 10) {
	case 0: peer_write(f, (size_t)arg * 37 + 1); break;
	case 1: break;
	case 2: f->drain_max = (size_t)arg * 61; break;
	case 3:
		if (arg & 1)
			sockio_enable(f->io, EV_READ);
		else
			sockio_disable(f->io, EV_READ);
		break;
	case 4: sockio_setwatermark(f->io, (size_t)arg * 64, 0); break;
	case 5: queue(f, (size_t)arg * 53 + 1); break;
	case 6: sockio_flush(f->io); break;
	case 7: peer_read(f, (size_t)arg * 97); break;
	case 8: peer_shut(f); break;
	case 9:
		if (arg & 1)
			sockio_enable(f->io, EV_WRITE);
		else
			sockio_disable(f->io, EV_WRITE);
		break;
	}
	event_base_loop(f->base, EVLOOP_NONBLOCK);
}

/* Both sides take everything; what is still missing then is lost. */
static void
settle(struct fz *f)
{
	int turn;

	peer_shut(f);
	f->drain_max = 0;
	sockio_setwatermark(f->io, 0, 0);
	sockio_enable(f->io, EV_READ | EV_WRITE);
	for (turn = 0; turn < FUZZ_SETTLE_TURNS && !f->failed; turn++) {
		peer_read(f, SIZE_MAX);
		peer_shut_now(f);
		/*
		 * What a partial drainer left stays until the consumer takes
		 * it (at the read watermark no read callback comes again),
		 * as the sessions take held input when they move on.
		 */
		if (!f->eof)
			take(f, 0);
		if (f->eof && f->peer_got == f->queued &&
		    evbuffer_get_length(sockio_get_output(f->io)) == 0)
			return;
		event_base_loop(f->base, EVLOOP_NONBLOCK);
	}
	if (f->failed)
		return;	/* a write after the peer's close may fail: not a loss */
	if (!f->eof)
		fz_abort("no EOF event after the peer's close", f->seen);
	fz_abort("bytes queued towards the peer never arrived", f->peer_got);
}

static void
small_buffers(int fd)
{
	int sz = 4096;

	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

static SSL_CTX *
make_server_ctx(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (key == NULL || x == NULL || ctx == NULL)
		abort();
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"fuzz.test", -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (X509_sign(x, key, EVP_sha256()) == 0 ||
	    SSL_CTX_use_certificate(ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1)
		abort();
	/* TLS 1.2: no tickets after the handshake, only records */
	SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	X509_free(x);
	EVP_PKEY_free(key);
	return ctx;
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

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	server_ctx = make_server_ctx();
	client_ctx = SSL_CTX_new(TLS_client_method());
	if (client_ctx == NULL)
		abort();
	SSL_CTX_set_options(client_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f;
	SSL *ours = NULL;
	int fds[2], i;
	size_t k;

	if (size < 1)
		return 0;
	memset(&f, 0, sizeof(f));
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
		return 0;
	for (i = 0; i < 2; i++) {
		small_buffers(fds[i]);
		fcntl(fds[i], F_SETFL, O_NONBLOCK);
	}
	if (data[0] & 1) {
		ours = SSL_new(client_ctx);
		f.peer = SSL_new(server_ctx);
		SSL_set_fd(ours, fds[0]);
		SSL_set_fd(f.peer, fds[1]);
		SSL_set_connect_state(ours);
		SSL_set_accept_state(f.peer);
		if (!handshake(ours, f.peer))
			abort();
	}
	f.base = event_base_new();
	f.peer_fd = fds[1];
	if ((f.io = sockio_new(f.base, fds[0], ours, SOCKIO_CLOSE_ON_FREE)) == NULL)
		abort();
	sockio_setcb(f.io, readcb, NULL, eventcb, &f);
	sockio_enable(f.io, EV_READ | EV_WRITE);
	for (k = 1; k + 1 < size && !f.failed; k += 2)
		step(&f, data[k], data[k + 1]);
	if (!f.failed)
		settle(&f);
	sockio_free(f.io);
	if (f.peer != NULL)
		SSL_free(f.peer);
	close(fds[1]);
	event_base_free(f.base);
	ERR_clear_error();
	return 0;
}
