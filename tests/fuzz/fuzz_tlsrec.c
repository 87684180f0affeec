/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the user-space record layer (tlsrec.c) with an
 * oracle: one in-process handshake per input on a non-blocking
 * socketpair, the server SSL tracked, taken over and freed; then the
 * input drives the client (an OpenSSL SSL) and the tlsrec in turn.
 *
 * The oracle, beyond ASan, UBSan and LeakSanitizer: every byte the
 * tlsrec reads is the client's next one and every byte the client reads
 * is the tlsrec's next one (always: even after garbage, no plaintext may
 * be made up or repeated; a write that said WANT_WRITE may arrive before
 * its retry, its record being sealed already, as with OpenSSL); until garbage was injected, no call fails (only
 * WANT_READ/WANT_WRITE; ZERO_RETURN only after the other side's
 * close_notify and every byte before it), and at the end both sides
 * drain: anything missing after FUZZ_SETTLE_ROUNDS rounds aborts.
 * After garbage, errors are allowed, but no crash, hang or leak.
 *
 * Input: a mode byte, then steps of an op byte and an argument byte.
 * Mode: suite = mode % 8 % 6 (0-2 TLS 1.2 AES128-GCM, AES256-GCM,
 * ChaCha20; 3-5 TLS 1.3 the same), bit 3: 4 KiB socket buffers, bit 4: a
 * request and response through OpenSSL before the take-over, bits 5-6:
 * TLS 1.3 session tickets (0-3).  op % 12:
 *   0  client writes arg * 67 + 1 bytes
 *   1  tlsrec reads up to arg * 61 + 1 bytes, (arg & 3) + 1 calls
 *   2  tlsrec writes arg * 67 + 1 bytes
 *   3  client reads up to arg * 97 + 1 bytes
 *   4  client KeyUpdate (TLS 1.3): requested if arg is odd; arg & 2:
 *      sent at once (SSL_do_handshake), else with the next write
 *   5  tlsrec_idle()
 *   6  client close_notify
 *   7  tlsrec_shutdown()
 *   8  garbage: the next arg % 48 + 1 input bytes, raw, toward the tlsrec
 *   9  both sides read what there is
 *  10  client writes 16384 bytes
 *  11  tlsrec writes 16384 bytes
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tlsio.h"
#include "tlsrec.h"

#define MAXREC			16384
#define FUZZ_SETTLE_ROUNDS	2000
#define FUZZ_READS		64	/* calls a read step makes at most */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
	int version;
	const char *name;
} suites[] = {
	{ TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256" },
	{ TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384" },
	{ TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305" },
	{ TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256" },
	{ TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384" },
	{ TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256" },
};
#define NSUITES 6

struct fz {
	SSL *c;				/* the client */
	SSL *s;				/* the server until the take-over */
	struct tlsrec *rec;
	int fds[2];			/* 0: client, 1: tlsrec */
	int version;
	uint64_t up_sent, up_got;	/* client to tlsrec */
	uint64_t down_sent, down_got;	/* tlsrec to client */
	unsigned char up_buf[MAXREC];	/* the client's write OpenSSL must retry */
	int up_pend;
	unsigned char down_buf[2][MAXREC];	/* the tlsrec's, moved on retry */
	int down_copy, down_pend;
	bool ku_flush;			/* a client KeyUpdate to push out */
	bool c_shut, c_shut_sent;	/* the client decided to close, and did */
	bool r_shut;			/* tlsrec_shutdown() was called */
	bool rec_eof, c_eof;		/* each side saw the other's end */
	bool rec_dead, c_dead;		/* a failure (allowed after garbage) */
	bool tainted;			/* garbage went toward the tlsrec */
};

static SSL_CTX *server_ctx, *client_ctx[NSUITES];

static unsigned char
up_byte(uint64_t i)
{
	return (unsigned char)(i * 131 + (i >> 9) + 1);
}

static unsigned char
down_byte(uint64_t i)
{
	return (unsigned char)(i * 29 + (i >> 7) + 3);
}

static void
fz_abort(const char *what, uint64_t at, int err)
{
	char buf[256];

	ERR_error_string_n(ERR_peek_error(), buf, sizeof(buf));
	fprintf(stderr, "fuzz_tlsrec: %s at byte %llu (error %d, %s)\n", what,
	    (unsigned long long)at, err, ERR_peek_error() != 0 ? buf : "-");
	abort();
}

/* A failure: the end of the checks after garbage, a finding before it. */
static void
failed(struct fz *f, bool *dead, const char *what, uint64_t at, int err)
{
	if (!f->tainted)
		fz_abort(what, at, err);
	*dead = true;
	ERR_clear_error();
}

static void
flush_key_update(struct fz *f)
{
	int r;

	if (!f->ku_flush || f->c_dead)
		return;
	if ((r = SSL_do_handshake(f->c)) == 1)
		f->ku_flush = false;
	else if (SSL_get_error(f->c, r) != SSL_ERROR_WANT_WRITE &&
	    SSL_get_error(f->c, r) != SSL_ERROR_WANT_READ)
		failed(f, &f->c_dead, "client KeyUpdate failed", f->up_sent,
		    SSL_get_error(f->c, r));
	ERR_clear_error();
}

/* The client's write: n new bytes, or the retry of the pending one. */
static bool
client_write(struct fz *f, int n)
{
	int r, err, i;

	if (f->c_dead || f->c_shut_sent)
		return false;
	flush_key_update(f);
	if (f->ku_flush)
		return false;
	if (f->up_pend == 0) {
		if (n <= 0 || f->c_shut)
			return false;
		if (n > MAXREC)
			n = MAXREC;
		for (i = 0; i < n; i++)
			f->up_buf[i] = up_byte(f->up_sent + (uint64_t)i);
		f->up_pend = n;
	}
	r = SSL_write(f->c, f->up_buf, f->up_pend);
	if (r > 0) {
		if (r != f->up_pend)
			fz_abort("client wrote part of a write", f->up_sent, 0);
		f->up_sent += (uint64_t)r;
		f->up_pend = 0;
		return true;
	}
	err = SSL_get_error(f->c, r);
	if (err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ)
		failed(f, &f->c_dead, "client write failed", f->up_sent, err);
	ERR_clear_error();
	return false;
}

/* The tlsrec's write: the retry comes from the other buffer, as allowed. */
static bool
rec_write(struct fz *f, int n)
{
	unsigned char *b;
	int r, err, i, len;

	if (f->rec_dead || f->r_shut)
		return false;
	if (f->down_pend != 0) {
		len = f->down_pend;
		memset(f->down_buf[f->down_copy], 0xee, (size_t)len);
		f->down_copy ^= 1;
	} else {
		if (n <= 0)
			return false;
		len = n > MAXREC ? MAXREC : n;
	}
	b = f->down_buf[f->down_copy];
	for (i = 0; i < len; i++)
		b[i] = down_byte(f->down_sent + (uint64_t)i);
	r = tlsrec_write(f->rec, b, len);
	if (r > 0) {
		if (r != len)
			fz_abort("tlsrec wrote part of a write", f->down_sent, 0);
		f->down_sent += (uint64_t)r;
		f->down_pend = 0;
		return true;
	}
	err = tlsrec_get_error(f->rec, r);
	if (err == SSL_ERROR_WANT_WRITE) {
		f->down_pend = len;
		return false;
	}
	failed(f, &f->rec_dead, "tlsrec write failed", f->down_sent, err);
	f->down_pend = 0;
	return false;
}

static bool
rec_read(struct fz *f, size_t max, int calls)
{
	unsigned char buf[MAXREC + 100];
	bool moved = false;
	int r, err, i;
	size_t want;

	while (!f->rec_dead && !f->rec_eof && max > 0 && calls-- > 0) {
		want = max < sizeof(buf) ? max : sizeof(buf);
		r = tlsrec_read(f->rec, buf, (int)want);
		if (r > 0) {
			if ((size_t)r > want)
				fz_abort("tlsrec read more than asked", f->up_got, r);
			for (i = 0; i < r; i++, f->up_got++)
				if (f->up_got >= f->up_sent + (uint64_t)f->up_pend ||
				    buf[i] != up_byte(f->up_got))
					fz_abort("a byte from the client changed, "
					    "moved or was made up", f->up_got, 0);
			max -= (size_t)r;
			moved = true;
			continue;
		}
		err = tlsrec_get_error(f->rec, r);
		if (err == SSL_ERROR_WANT_READ)
			break;
		if (err == SSL_ERROR_ZERO_RETURN && r == 0 && f->c_shut_sent &&
		    f->up_got == f->up_sent) {
			f->rec_eof = true;
			break;
		}
		failed(f, &f->rec_dead, err == SSL_ERROR_ZERO_RETURN ?
		    "tlsrec saw an end the client did not send" :
		    "tlsrec read failed", f->up_got, err);
	}
	return moved;
}

static bool
client_read(struct fz *f, size_t max)
{
	unsigned char buf[MAXREC];
	bool moved = false;
	int r, err, i, calls = FUZZ_READS;
	size_t want;

	while (!f->c_dead && !f->c_eof && max > 0 && calls-- > 0) {
		want = max < sizeof(buf) ? max : sizeof(buf);
		r = SSL_read(f->c, buf, (int)want);
		if (r > 0) {
			for (i = 0; i < r; i++, f->down_got++)
				if (f->down_got >= f->down_sent + (uint64_t)f->down_pend ||
				    buf[i] != down_byte(f->down_got))
					fz_abort("a byte toward the client changed, "
					    "moved or was made up", f->down_got, 0);
			max -= (size_t)r;
			moved = true;
			continue;
		}
		err = SSL_get_error(f->c, r);
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
			break;
		if (err == SSL_ERROR_ZERO_RETURN && f->r_shut &&
		    f->down_got == f->down_sent) {
			f->c_eof = true;
			break;
		}
		failed(f, &f->c_dead, err == SSL_ERROR_ZERO_RETURN ?
		    "the client saw an end the tlsrec did not send" :
		    "client read failed", f->down_got, err);
	}
	ERR_clear_error();
	return moved;
}

/* Both sides read what there is, pending writes retried; true if any moved. */
static bool
turn(struct fz *f)
{
	bool moved;

	moved = client_write(f, 0);
	moved |= rec_read(f, SIZE_MAX, FUZZ_READS);
	moved |= rec_write(f, 0);
	moved |= client_read(f, SIZE_MAX);
	return moved;
}

/* Until the pending writes went and the other sides read them (bounded). */
static void
drain(struct fz *f)
{
	int round;

	for (round = 0; round < FUZZ_SETTLE_ROUNDS; round++) {
		(void)turn(f);
		if ((f->up_pend == 0 || f->c_dead || f->rec_dead) &&
		    (f->down_pend == 0 || f->rec_dead || f->c_dead) &&
		    (f->up_got == f->up_sent || f->rec_dead || f->rec_eof) &&
		    (f->down_got == f->down_sent || f->c_dead))
			return;
	}
	if (!f->tainted)
		fz_abort("bytes stuck", f->up_got, 0);
}

static void
client_shutdown(struct fz *f)
{
	int r, round;

	if (f->c_shut || f->c_dead)
		return;
	drain(f);
	flush_key_update(f);
	/* a KeyUpdate queued for the next write goes first (else "in init") */
	if (SSL_in_init(f->c))
		f->ku_flush = true;
	for (round = 0; round < FUZZ_SETTLE_ROUNDS && f->ku_flush &&
	    !f->c_dead; round++) {
		flush_key_update(f);
		(void)rec_read(f, SIZE_MAX, FUZZ_READS);
	}
	if (f->ku_flush || f->c_dead) {
		if (!f->tainted && !f->c_dead)
			fz_abort("client KeyUpdate stuck", f->up_sent, 0);
		return;
	}
	f->c_shut = true;
	for (round = 0; round < FUZZ_SETTLE_ROUNDS && !f->c_dead; round++) {
		r = SSL_shutdown(f->c);
		if (r >= 0) {
			f->c_shut_sent = true;
			return;
		}
		if (SSL_get_error(f->c, r) != SSL_ERROR_WANT_WRITE) {
			failed(f, &f->c_dead, "client close_notify failed",
			    f->up_sent, SSL_get_error(f->c, r));
			return;
		}
		ERR_clear_error();
		(void)rec_read(f, SIZE_MAX, FUZZ_READS);
	}
	if (!f->c_shut_sent && !f->tainted)
		fz_abort("client close_notify stuck", f->up_sent, 0);
}

static void
rec_shutdown(struct fz *f)
{
	if (f->r_shut || f->rec_dead)
		return;
	drain(f);			/* the socket empty: our alert fits */
	if (f->down_pend != 0)
		return;			/* (tainted) */
	tlsrec_shutdown(f->rec);
	f->r_shut = true;
	ERR_clear_error();
}

static void
garbage(struct fz *f, const uint8_t *g, size_t n)
{
	ssize_t w;

	if (n == 0)
		return;
	/* no write of the client's is half in the socket before it */
	w = write(f->fds[0], g, n);
	if (w > 0)
		f->tainted = true;
}

static void
step(struct fz *f, uint8_t op, uint8_t arg, const uint8_t *rest, size_t *k,
    size_t size)
{
	size_t n;

	switch (op % 12) {
	case 0: (void)client_write(f, arg * 67 + 1); break;
	case 1: (void)rec_read(f, (size_t)arg * 61 + 1, (arg & 3) + 1); break;
	case 2: (void)rec_write(f, arg * 67 + 1); break;
	case 3: (void)client_read(f, (size_t)arg * 97 + 1); break;
	case 4:
		if (f->version != TLS1_3_VERSION || f->c_shut || f->c_dead ||
		    f->up_pend != 0 || f->ku_flush)
			break;
		if (SSL_key_update(f->c, arg & 1 ? SSL_KEY_UPDATE_REQUESTED :
		    SSL_KEY_UPDATE_NOT_REQUESTED) != 1) {
			ERR_clear_error();	/* the client's to refuse */
			break;
		}
		if (arg & 2)
			f->ku_flush = true;
		break;
	case 5: tlsrec_idle(f->rec); break;
	case 6: client_shutdown(f); break;
	case 7: rec_shutdown(f); break;
	case 8:
		n = (size_t)(arg % 48) + 1;
		if (n > size - *k)
			n = size - *k;
		/* a write the client has half on the wire is finished first */
		drain(f);
		garbage(f, rest, n);
		*k += n;
		break;
	case 9: (void)turn(f); break;
	case 10: (void)client_write(f, MAXREC); break;
	case 11: (void)rec_write(f, MAXREC); break;
	}
}

/* Everything arrives, and each close_notify after the bytes before it. */
static void
settle(struct fz *f)
{
	int round;

	drain(f);
	flush_key_update(f);
	if (f->tainted) {
		for (round = 0; round < 20; round++)
			(void)turn(f);
		return;
	}
	for (round = 0; round < FUZZ_SETTLE_ROUNDS; round++) {
		flush_key_update(f);
		(void)turn(f);
		if (f->up_got == f->up_sent && f->down_got == f->down_sent &&
		    f->up_pend == 0 && f->down_pend == 0 && !f->ku_flush &&
		    (!f->c_shut_sent || f->rec_eof) && (!f->r_shut || f->c_eof))
			return;
	}
	if (f->c_shut_sent && !f->rec_eof)
		fz_abort("tlsrec saw no end after the client's close_notify",
		    f->up_got, 0);
	if (f->r_shut && !f->c_eof)
		fz_abort("the client saw no end after tlsrec_shutdown()",
		    f->down_got, 0);
	fz_abort("bytes never arrived", f->up_got, 0);
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
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	tlsrec_track_ctx(ctx);
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

/* A request and a response through OpenSSL before the take-over. */
static void
exchange(struct fz *f)
{
	unsigned char buf[512];
	int round, r;
	size_t got = 0;

	memset(buf, 'q', sizeof(buf));
	if (SSL_write(f->c, buf, 300) != 300)
		abort();
	for (round = 0; round < 100 && got < 300; round++)
		if ((r = SSL_read(f->s, buf, sizeof(buf))) > 0)
			got += (size_t)r;
	if (got != 300 || SSL_write(f->s, buf, 200) != 200)
		abort();
	for (got = 0, round = 0; round < 100 && got < 200; round++)
		if ((r = SSL_read(f->c, buf, sizeof(buf))) > 0)
			got += (size_t)r;
	if (got != 200)
		abort();
	ERR_clear_error();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int i;

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	if (tlsio_init() != 0 || tlsrec_init() != 0)
		abort();
	server_ctx = make_server_ctx();
	for (i = 0; i < NSUITES; i++) {
		if ((client_ctx[i] = SSL_CTX_new(TLS_client_method())) == NULL ||
		    SSL_CTX_set_min_proto_version(client_ctx[i], suites[i].version) != 1 ||
		    SSL_CTX_set_max_proto_version(client_ctx[i], suites[i].version) != 1)
			abort();
		if (suites[i].version == TLS1_2_VERSION ?
		    SSL_CTX_set_cipher_list(client_ctx[i], suites[i].name) != 1 :
		    SSL_CTX_set_ciphersuites(client_ctx[i], suites[i].name) != 1)
			abort();
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz f;
	int suite, i;
	size_t k;

	if (size < 1)
		return 0;
	memset(&f, 0, sizeof(f));
	suite = data[0] % 8 % NSUITES;
	f.version = suites[suite].version;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, f.fds) != 0)
		return 0;
	for (i = 0; i < 2; i++) {
		if (data[0] & 8)
			small_buffers(f.fds[i]);
		fcntl(f.fds[i], F_SETFL, O_NONBLOCK);
	}
	f.c = SSL_new(client_ctx[suite]);
	f.s = SSL_new(server_ctx);
	if (f.c == NULL || f.s == NULL || tlsrec_track(f.s) != 0)
		abort();
	SSL_set_num_tickets(f.s, (size_t)(data[0] >> 5 & 3));
	SSL_set_fd(f.c, f.fds[0]);
	SSL_set_fd(f.s, f.fds[1]);
	SSL_set_connect_state(f.c);
	SSL_set_accept_state(f.s);
	if (!handshake(f.c, f.s))
		abort();
	if (data[0] & 16)
		exchange(&f);
	if (!tlsrec_can_take(f.s) ||
	    (f.rec = tlsrec_take(f.s, f.fds[1], NULL)) == NULL)
		fz_abort("no take-over", 0, 0);
	SSL_free(f.s);
	f.s = NULL;
	if (tlsrec_version(f.rec) != f.version)
		fz_abort("wrong version", 0, tlsrec_version(f.rec));
	for (k = 1; k + 1 < size; ) {
		uint8_t op = data[k], arg = data[k + 1];

		k += 2;
		step(&f, op, arg, data + k, &k, size);
	}
	settle(&f);
	tlsrec_free(f.rec);
	SSL_free(f.c);
	close(f.fds[0]);
	close(f.fds[1]);
	ERR_clear_error();
	return 0;
}
