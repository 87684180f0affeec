/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "tlsrec.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>

#include "tlsio.h"

#define REC_HEADER	5
#define REC_MAX_PLAIN	16384
/* AEAD records: explicit nonce, tag, TLS 1.3's inner type and padding (RFC 8446 5.2) */
#define REC_MAX_CIPHER	(REC_MAX_PLAIN + 256)
#define REC_RBUF	(REC_HEADER + REC_MAX_CIPHER)
#define REC_TAG		16
#define REC_NONCE	12
#define REC_MAX_KEY	32
#define REC_MAX_SECRET	48	/* SHA-384 */
#define REC_MAX_EMPTY	32	/* empty records in a row: OpenSSL's MAX_EMPTY_RECORDS */
#define REC_MAX_WARN	5	/* warnings in a row: OpenSSL's MAX_WARN_ALERT_COUNT */

/* Record content types and the handshake messages that matter here. */
enum {
	CT_CCS = 20, CT_ALERT = 21, CT_HANDSHAKE = 22, CT_APPDATA = 23
};
#define HS_CLIENT_HELLO	1
#define HS_FINISHED	20
#define HS_KEY_UPDATE	24

/*
 * What the callbacks learn while OpenSSL runs a connection.  Index 0 is
 * the client's direction (what we read), 1 ours (what we write).  A
 * sequence number restarts at 0 with each new key: in TLS 1.2 after a
 * ChangeCipherSpec record, in TLS 1.3 after the Finished message (key
 * changes fall on record boundaries there, RFC 8446 5.1).  The version is
 * not known while the first records pass, so both counts are kept.
 */
struct tlsrec_track {
	uint64_t seq12[2];
	uint64_t seq13[2];
	uint8_t secret[2][REC_MAX_SECRET];	/* TLS 1.3 traffic secrets */
	uint8_t secret_len[2];
	bool unusable;		/* a key update went by: keep the SSL */
};

/* One direction's record protection. */
struct rec_dir {
	EVP_CIPHER_CTX *ctx;		/* keyed; NULL while idle */
	uint64_t seq;
	uint8_t key[REC_MAX_KEY];
	uint8_t iv[REC_NONCE];		/* TLS 1.2 GCM: only the first 4 bytes */
	uint8_t secret[REC_MAX_SECRET];	/* TLS 1.3, for KeyUpdate */
};

struct tlsrec {
	int fd;
	int version;
	int last_error;			/* SSL_ERROR_* of the last call */
	const EVP_CIPHER *cipher;	/* fetched once (tlsrec_init) */
	const EVP_MD *md;		/* the suite's hash: PRF, HKDF */
	size_t key_len;
	size_t secret_len;
	bool explicit_nonce;		/* TLS 1.2 GCM: 8 bytes in each record */
	struct rec_dir rd, wr;
	struct tls_info *info;		/* not owned; may be NULL */
	/*
	 * Reading: rbuf holds [0, rlen) from the socket, records not yet
	 * opened start at roff, the opened record's plaintext not yet
	 * taken lies at [poff, poff + plen).
	 */
	uint8_t *rbuf;
	size_t rlen, roff, poff, plen;
	/* Writing: sealed bytes not yet on the wire, [woff, wlen) of wbuf. */
	uint8_t *wbuf;
	size_t wlen, woff;
	size_t wtaken;			/* the caller's bytes in the record on its way */
	uint8_t hs[5];			/* TLS 1.3: a KeyUpdate split across records */
	size_t hs_len;
	unsigned empty_in_row;
	unsigned warn_in_row;
	bool key_update_due;		/* the client asked for our KeyUpdate */
	bool read_closed;		/* close_notify or a TCP close came */
	bool failed;			/* a fatal error: every call fails */
};

static int track_index = -1;
static EVP_CIPHER *aes128gcm, *aes256gcm, *chacha;
static EVP_KDF *tls1_prf, *hkdf;

/* ---- counting while OpenSSL runs the connection ----------------------------- */

static struct tlsrec_track *
track_of(const SSL *ssl)
{
	return track_index == -1 ? NULL : SSL_get_ex_data(ssl, track_index);
}

static void
track_msg_cb(int write_p, int version, int content_type, const void *buf,
    size_t len, SSL *ssl, void *arg)
{
	struct tlsrec_track *t = track_of(ssl);
	const uint8_t *p = buf;
	int dir = write_p ? 1 : 0;

	(void)version;
	(void)arg;
	if (t == NULL || len < 1)
		return;
	if (content_type == SSL3_RT_HEADER) {
		if (p[0] == CT_CCS)
			t->seq12[dir] = 0;
		else
			t->seq12[dir]++;
		t->seq13[dir]++;
	} else if (content_type == SSL3_RT_HANDSHAKE) {
		/* the message callback follows its record's header callback */
		if (p[0] == HS_FINISHED)
			t->seq13[dir] = 0;
		else if (p[0] == HS_KEY_UPDATE)
			t->unusable = true;
	}
}

/* "LABEL <client random> <secret>": the two TLS 1.3 traffic secrets. */
static void
track_keylog_cb(const SSL *ssl, const char *line)
{
	static const char *labels[2] = {
		"CLIENT_TRAFFIC_SECRET_0 ", "SERVER_TRAFFIC_SECRET_0 "
	};
	struct tlsrec_track *t = track_of(ssl);
	const char *p;
	size_t n;
	int who;

	if (t == NULL)
		return;
	for (who = 0; who < 2; who++)
		if (strncmp(line, labels[who], strlen(labels[who])) == 0)
			break;
	if (who == 2 || (p = strchr(line + strlen(labels[who]), ' ')) == NULL)
		return;
	if (OPENSSL_hexstr2buf_ex(t->secret[who], sizeof(t->secret[who]), &n,
	    p + 1, '\0') == 1)
		t->secret_len[who] = (uint8_t)n;
	else
		t->secret_len[who] = 0;	/* can_take() then refuses */
	ERR_clear_error();
}

static void
track_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (ptr != NULL)
		OPENSSL_clear_free(ptr, sizeof(struct tlsrec_track));
}

int
tlsrec_init(void)
{
	if (track_index != -1)
		return 0;
	aes128gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	aes256gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	chacha = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	tls1_prf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
	hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	ERR_clear_error();	/* a missing algorithm only narrows what is taken */
	track_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, track_free);
	return track_index == -1 ? -1 : 0;
}

void
tlsrec_track_ctx(SSL_CTX *ctx)
{
	SSL_CTX_set_msg_callback(ctx, track_msg_cb);
	SSL_CTX_set_keylog_callback(ctx, track_keylog_cb);
}

int
tlsrec_track(SSL *ssl)
{
	struct tlsrec_track *t;

	if (track_index == -1 || (t = OPENSSL_zalloc(sizeof(*t))) == NULL)
		return -1;
	if (SSL_set_ex_data(ssl, track_index, t) != 1) {
		OPENSSL_free(t);
		return -1;
	}
	return 0;
}

/* ---- keys ------------------------------------------------------------------- */

static EVP_CIPHER *
suite_cipher(const SSL_CIPHER *c)
{
	switch (SSL_CIPHER_get_cipher_nid(c)) {
	case NID_aes_128_gcm:		return aes128gcm;
	case NID_aes_256_gcm:		return aes256gcm;
	case NID_chacha20_poly1305:	return chacha;
	default:			return NULL;
	}
}

/* HKDF-Expand-Label(secret, label, "", outlen) of RFC 8446 7.1. */
static int
expand_label(const struct tlsrec *rec, const uint8_t *secret,
    const char *label, uint8_t *out, size_t outlen)
{
	uint8_t info[4 + 6 + 16];
	size_t llen = strlen(label), n = 0;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY, r;
	OSSL_PARAM params[5];
	EVP_KDF_CTX *kctx;

	info[n++] = (uint8_t)(outlen >> 8);
	info[n++] = (uint8_t)outlen;
	info[n++] = (uint8_t)(6 + llen);
	memcpy(info + n, "tls13 ", 6);
	memcpy(info + n + 6, label, llen);
	n += 6 + llen;
	info[n++] = 0;			/* no context */
	params[0] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)EVP_MD_get0_name(rec->md), 0);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)secret, rec->secret_len);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    info, n);
	params[4] = OSSL_PARAM_construct_end();
	if ((kctx = EVP_KDF_CTX_new(hkdf)) == NULL)
		return -1;
	r = EVP_KDF_derive(kctx, out, outlen, params) == 1 ? 0 : -1;
	EVP_KDF_CTX_free(kctx);
	return r;
}

/* TLS 1.3: a direction's key and IV from its secret; the count restarts. */
static int
dir_from_secret(struct tlsrec *rec, struct rec_dir *d)
{
	EVP_CIPHER_CTX_free(d->ctx);
	d->ctx = NULL;
	d->seq = 0;
	if (expand_label(rec, d->secret, "key", d->key, rec->key_len) == -1 ||
	    expand_label(rec, d->secret, "iv", d->iv, REC_NONCE) == -1)
		return -1;
	return 0;
}

/* TLS 1.3 KeyUpdate: the next secret of d, RFC 8446 7.2. */
static int
dir_update(struct tlsrec *rec, struct rec_dir *d)
{
	uint8_t next[REC_MAX_SECRET];
	int r;

	r = expand_label(rec, d->secret, "traffic upd", next, rec->secret_len);
	memcpy(d->secret, next, rec->secret_len);
	OPENSSL_cleanse(next, sizeof(next));
	return r == 0 ? dir_from_secret(rec, d) : -1;
}

/* TLS 1.2: the key block of RFC 5246 6.3 (AEAD: no MAC keys). */
static int
keys12(struct tlsrec *rec, SSL *ssl)
{
	uint8_t master[SSL_MAX_MASTER_KEY_LENGTH], seed[13 + 2 * SSL3_RANDOM_SIZE];
	uint8_t block[2 * REC_MAX_KEY + 2 * REC_NONCE];
	size_t mlen, ivlen = rec->explicit_nonce ? 4 : REC_NONCE, k = rec->key_len;
	OSSL_PARAM params[4];
	EVP_KDF_CTX *kctx;
	int r = -1;

	mlen = SSL_SESSION_get_master_key(SSL_get_session(ssl), master,
	    sizeof(master));
	memcpy(seed, "key expansion", 13);
	SSL_get_server_random(ssl, seed + 13, SSL3_RANDOM_SIZE);
	SSL_get_client_random(ssl, seed + 13 + SSL3_RANDOM_SIZE, SSL3_RANDOM_SIZE);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)EVP_MD_get0_name(rec->md), 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET,
	    master, mlen);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED,
	    seed, sizeof(seed));
	params[3] = OSSL_PARAM_construct_end();
	if (mlen > 0 && (kctx = EVP_KDF_CTX_new(tls1_prf)) != NULL) {
		if (EVP_KDF_derive(kctx, block, 2 * k + 2 * ivlen, params) == 1) {
			memcpy(rec->rd.key, block, k);
			memcpy(rec->wr.key, block + k, k);
			memcpy(rec->rd.iv, block + 2 * k, ivlen);
			memcpy(rec->wr.iv, block + 2 * k + ivlen, ivlen);
			r = 0;
		}
		EVP_KDF_CTX_free(kctx);
	}
	OPENSSL_cleanse(master, sizeof(master));
	OPENSSL_cleanse(block, sizeof(block));
	return r;
}

static int
keys13(struct tlsrec *rec, const struct tlsrec_track *t)
{
	rec->secret_len = (size_t)EVP_MD_get_size(rec->md);
	if (t->secret_len[0] != rec->secret_len ||
	    t->secret_len[1] != rec->secret_len)
		return -1;
	memcpy(rec->rd.secret, t->secret[0], rec->secret_len);
	memcpy(rec->wr.secret, t->secret[1], rec->secret_len);
	return dir_from_secret(rec, &rec->rd) == 0 &&
	    dir_from_secret(rec, &rec->wr) == 0 ? 0 : -1;
}

bool
tlsrec_can_take(SSL *ssl)
{
	const struct tlsrec_track *t = track_of(ssl);
	const SSL_CIPHER *c;
	int v = SSL_version(ssl);

	if (t == NULL || t->unusable || !SSL_is_init_finished(ssl) ||
	    SSL_has_pending(ssl) || SSL_get_shutdown(ssl) != 0 ||
	    SSL_want(ssl) == SSL_WRITING)
		return false;
	if (v != TLS1_2_VERSION && v != TLS1_3_VERSION)
		return false;
	if ((c = SSL_get_current_cipher(ssl)) == NULL || suite_cipher(c) == NULL ||
	    SSL_CIPHER_get_handshake_digest(c) == NULL)
		return false;
	if (SSL_SESSION_get_max_fragment_length(SSL_get_session(ssl)) !=
	    TLSEXT_max_fragment_length_DISABLED)
		return false;
	if (v == TLS1_3_VERSION && (t->secret_len[0] == 0 ||
	    t->secret_len[1] == 0 ||
	    SSL_get_key_update_type(ssl) != SSL_KEY_UPDATE_NONE))
		return false;
	return true;
}

struct tlsrec *
tlsrec_take(SSL *ssl, int fd, struct tls_info *info)
{
	const struct tlsrec_track *t = track_of(ssl);
	const SSL_CIPHER *c;
	struct tlsrec *rec;
	int r;

	if (!tlsrec_can_take(ssl) || (rec = calloc(1, sizeof(*rec))) == NULL)
		return NULL;
	c = SSL_get_current_cipher(ssl);
	rec->fd = fd;
	rec->info = info;
	rec->version = SSL_version(ssl);
	rec->cipher = suite_cipher(c);
	rec->md = SSL_CIPHER_get_handshake_digest(c);
	rec->key_len = (size_t)EVP_CIPHER_get_key_length(rec->cipher);
	rec->explicit_nonce = rec->version == TLS1_2_VERSION &&
	    rec->cipher != chacha;
	if (rec->version == TLS1_3_VERSION) {
		r = keys13(rec, t);
		rec->rd.seq = t->seq13[0];
		rec->wr.seq = t->seq13[1];
	} else {
		r = keys12(rec, ssl);
		rec->rd.seq = t->seq12[0];
		rec->wr.seq = t->seq12[1];
	}
	ERR_clear_error();
	if (r == -1 || rec->key_len > REC_MAX_KEY) {
		tlsrec_free(rec);
		return NULL;
	}
	return rec;
}

static void
rec_release_buffers(struct tlsrec *rec)
{
	if (rec->rbuf != NULL && rec->plen == 0 && rec->roff == rec->rlen) {
		free(rec->rbuf);
		rec->rbuf = NULL;
		rec->rlen = rec->roff = rec->poff = 0;
	}
	if (rec->wbuf != NULL && rec->woff == rec->wlen) {
		free(rec->wbuf);
		rec->wbuf = NULL;
		rec->wlen = rec->woff = 0;
	}
}

void
tlsrec_idle(struct tlsrec *rec)
{
	EVP_CIPHER_CTX_free(rec->rd.ctx);
	EVP_CIPHER_CTX_free(rec->wr.ctx);
	rec->rd.ctx = rec->wr.ctx = NULL;
	rec_release_buffers(rec);
}

void
tlsrec_free(struct tlsrec *rec)
{
	if (rec == NULL)
		return;
	EVP_CIPHER_CTX_free(rec->rd.ctx);
	EVP_CIPHER_CTX_free(rec->wr.ctx);
	free(rec->rbuf);
	free(rec->wbuf);
	OPENSSL_cleanse(rec, sizeof(*rec));
	free(rec);
}

int
tlsrec_version(const struct tlsrec *rec)
{
	return rec->version;
}

/* ---- one record's protection -------------------------------------------------- */

static void
put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* The nonce: TLS 1.2 GCM salt and explicit part, else IV ^ sequence number. */
static void
rec_nonce(const struct tlsrec *rec, const struct rec_dir *d,
    const uint8_t *explicit, uint8_t nonce[REC_NONCE])
{
	uint8_t seq[8];
	int i;

	if (rec->explicit_nonce) {
		memcpy(nonce, d->iv, 4);
		memcpy(nonce + 4, explicit, 8);
		return;
	}
	put_be64(seq, d->seq);
	memcpy(nonce, d->iv, REC_NONCE);
	for (i = 0; i < 8; i++)
		nonce[4 + i] ^= seq[i];
}

/* TLS 1.2's additional data: sequence number, type, version, length. */
static void
rec_aad12(const struct rec_dir *d, uint8_t type, size_t len, uint8_t aad[13])
{
	put_be64(aad, d->seq);
	aad[8] = type;
	aad[9] = 3;
	aad[10] = 3;
	aad[11] = (uint8_t)(len >> 8);
	aad[12] = (uint8_t)len;
}

static int
rec_cipher_start(const struct tlsrec *rec, struct rec_dir *d, int enc,
    const uint8_t nonce[REC_NONCE], const uint8_t *aad, size_t aadlen)
{
	int outl;

	if (d->ctx == NULL) {
		if ((d->ctx = EVP_CIPHER_CTX_new()) == NULL)
			return -1;
		if (EVP_CipherInit_ex(d->ctx, rec->cipher, NULL, d->key, NULL,
		    enc) != 1) {
			EVP_CIPHER_CTX_free(d->ctx);
			d->ctx = NULL;
			return -1;
		}
	}
	if (EVP_CipherInit_ex(d->ctx, NULL, NULL, NULL, nonce, enc) != 1 ||
	    EVP_CipherUpdate(d->ctx, NULL, &outl, aad, (int)aadlen) != 1)
		return -1;
	return 0;
}

/* Opens len bytes at p in place, the tag after them; 0 or -1 (bad MAC). */
static int
rec_open_bytes(struct tlsrec *rec, const uint8_t nonce[REC_NONCE],
    const uint8_t *aad, size_t aadlen, uint8_t *p, size_t len)
{
	struct rec_dir *d = &rec->rd;
	int outl;

	if (rec_cipher_start(rec, d, 0, nonce, aad, aadlen) == -1 ||
	    (len > 0 && EVP_CipherUpdate(d->ctx, p, &outl, p, (int)len) != 1) ||
	    EVP_CIPHER_CTX_ctrl(d->ctx, EVP_CTRL_AEAD_SET_TAG, REC_TAG,
	    p + len) != 1 ||
	    EVP_CipherFinal_ex(d->ctx, p + len, &outl) != 1)
		return -1;
	d->seq++;
	return 0;
}

/* Room for n more bytes at the end of wbuf. */
static uint8_t *
wbuf_room(struct tlsrec *rec, size_t n)
{
	uint8_t *nb;

	if (rec->woff == rec->wlen)
		rec->woff = rec->wlen = 0;
	if ((nb = realloc(rec->wbuf, rec->wlen + n)) == NULL)
		return NULL;
	rec->wbuf = nb;
	return nb + rec->wlen;
}

/* Seals one record of type (len <= 16384 bytes at pt) onto the end of wbuf. */
static int
rec_seal(struct tlsrec *rec, uint8_t type, const uint8_t *pt, size_t len)
{
	struct rec_dir *d = &rec->wr;
	bool v13 = rec->version == TLS1_3_VERSION;
	size_t expl = rec->explicit_nonce ? 8 : 0;
	size_t clen = expl + len + (v13 ? 1 : 0) + REC_TAG;
	uint8_t nonce[REC_NONCE], aad[13], *h, *body;
	int outl;

	if ((h = wbuf_room(rec, REC_HEADER + clen)) == NULL)
		return -1;
	h[0] = v13 ? CT_APPDATA : type;
	h[1] = 3;
	h[2] = 3;
	h[3] = (uint8_t)(clen >> 8);
	h[4] = (uint8_t)clen;
	body = h + REC_HEADER;
	if (expl > 0)
		put_be64(body, d->seq);	/* unique per key, as RFC 5288 allows */
	rec_nonce(rec, d, body, nonce);
	if (v13) {
		if (rec_cipher_start(rec, d, 1, nonce, h, REC_HEADER) == -1)
			return -1;
	} else {
		rec_aad12(d, type, len, aad);
		if (rec_cipher_start(rec, d, 1, nonce, aad, sizeof(aad)) == -1)
			return -1;
	}
	body += expl;
	if ((len > 0 && EVP_CipherUpdate(d->ctx, body, &outl, pt, (int)len) != 1) ||
	    (v13 && EVP_CipherUpdate(d->ctx, body + len, &outl, &type, 1) != 1))
		return -1;
	body += len + (v13 ? 1 : 0);
	if (EVP_CipherFinal_ex(d->ctx, body, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(d->ctx, EVP_CTRL_AEAD_GET_TAG, REC_TAG, body) != 1)
		return -1;
	d->seq++;
	rec->wlen += REC_HEADER + clen;
	return 0;
}

/* ---- the socket --------------------------------------------------------------- */

/* Writes wbuf out: 1 when empty, else -1 with last_error set. */
static int
rec_flush(struct tlsrec *rec)
{
	ssize_t n;

	while (rec->woff < rec->wlen) {
		n = send(rec->fd, rec->wbuf + rec->woff, rec->wlen - rec->woff,
		    MSG_NOSIGNAL);
		if (n > 0) {
			rec->woff += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		rec->last_error = n == -1 && (errno == EAGAIN ||
		    errno == EWOULDBLOCK) ? SSL_ERROR_WANT_WRITE : SSL_ERROR_SYSCALL;
		return -1;
	}
	free(rec->wbuf);
	rec->wbuf = NULL;
	rec->wlen = rec->woff = 0;
	return 1;
}

/* An alert of ours, sealed and sent as far as the socket takes it now. */
static void
rec_alert(struct tlsrec *rec, uint8_t level, uint8_t desc)
{
	uint8_t a[2] = { level, desc };
	int saved = errno;

	if (rec_seal(rec, CT_ALERT, a, sizeof(a)) == 0) {
		if (rec->info != NULL)
			rec->info->alert_sent = desc;
		(void)rec_flush(rec);
	}
	errno = saved;
}

/* A fatal error: reason on the error queue, the alert (-1: none) sent. */
static int
rec_fail(struct tlsrec *rec, int reason, int alert)
{
	ERR_raise(ERR_LIB_SSL, reason);
	if (alert >= 0)
		rec_alert(rec, SSL3_AL_FATAL, (uint8_t)alert);
	rec->failed = true;
	rec->last_error = SSL_ERROR_SSL;
	return -1;
}

/*
 * Makes rbuf hold need bytes from roff: 1, or -1/0 with last_error
 * (WANT_READ; ZERO_RETURN on a TCP close; SYSCALL).  Reads what the
 * socket has, up to a record's worth.  Only called with no plaintext held.
 */
static int
rec_fill(struct tlsrec *rec, size_t need)
{
	ssize_t n;

	if (rec->rbuf == NULL) {
		if ((rec->rbuf = malloc(REC_RBUF)) == NULL)
			return rec_fail(rec, ERR_R_MALLOC_FAILURE, -1);
		rec->rlen = rec->roff = 0;
	}
	if (rec->roff + need > REC_RBUF) {
		memmove(rec->rbuf, rec->rbuf + rec->roff, rec->rlen - rec->roff);
		rec->rlen -= rec->roff;
		rec->roff = 0;
	}
	while (rec->rlen - rec->roff < need) {
		n = read(rec->fd, rec->rbuf + rec->rlen, REC_RBUF - rec->rlen);
		if (n > 0) {
			rec->rlen += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0) {
			rec->read_closed = true;	/* as SSL_OP_IGNORE_UNEXPECTED_EOF */
			errno = 0;
			rec->last_error = SSL_ERROR_ZERO_RETURN;
			return 0;
		}
		rec->last_error = errno == EAGAIN || errno == EWOULDBLOCK ?
		    SSL_ERROR_WANT_READ : SSL_ERROR_SYSCALL;
		return -1;
	}
	return 1;
}

/* ---- what a record holds ------------------------------------------------------ */

static int
rec_got_alert(struct tlsrec *rec, const uint8_t *p, size_t len)
{
	if (len != 2)		/* OpenSSL's answer */
		return rec_fail(rec, SSL_R_INVALID_ALERT, SSL_AD_UNEXPECTED_MESSAGE);
	if (rec->info != NULL)
		rec->info->alert_recv = p[1];
	if (p[1] == SSL_AD_CLOSE_NOTIFY) {
		rec->read_closed = true;
		rec->last_error = SSL_ERROR_ZERO_RETURN;
		return 0;
	}
	if ((rec->version == TLS1_3_VERSION && p[1] == SSL_AD_USER_CANCELLED) ||
	    (rec->version == TLS1_2_VERSION && p[0] == SSL3_AL_WARNING)) {
		/* OpenSSL fails on the fifth warning in a row */
		if (++rec->warn_in_row >= REC_MAX_WARN)
			return rec_fail(rec, SSL_R_TOO_MANY_WARN_ALERTS,
			    SSL_AD_UNEXPECTED_MESSAGE);
		return 1;
	}
	return rec_fail(rec, SSL_AD_REASON_OFFSET + p[1], -1);
}

static int
rec_got_handshake(struct tlsrec *rec, const uint8_t *p, size_t len)
{
	if (rec->version == TLS1_2_VERSION) {
		/* a renegotiation: refused and ignored, as SSL_OP_NO_RENEGOTIATION */
		if (len < 1 || p[0] != HS_CLIENT_HELLO)
			return rec_fail(rec, SSL_R_UNEXPECTED_MESSAGE,
			    SSL_AD_UNEXPECTED_MESSAGE);
		if (++rec->warn_in_row > REC_MAX_WARN)
			return rec_fail(rec, SSL_R_TOO_MANY_WARN_ALERTS,
			    SSL_AD_UNEXPECTED_MESSAGE);
		rec_alert(rec, SSL3_AL_WARNING, SSL_AD_NO_RENEGOTIATION);
		return 1;
	}
	/*
	 * TLS 1.3: a client may send only KeyUpdate (5 bytes), which may
	 * come in pieces but must end its record: the key changes after it.
	 */
	while (len > 0) {
		rec->hs[rec->hs_len++] = *p++;
		len--;
		if ((rec->hs_len == 1 && rec->hs[0] != HS_KEY_UPDATE) ||
		    (rec->hs_len == 4 && (rec->hs[1] != 0 || rec->hs[2] != 0 ||
		    rec->hs[3] != 1)) ||
		    (rec->hs_len == sizeof(rec->hs) && len > 0))
			return rec_fail(rec, SSL_R_UNEXPECTED_MESSAGE,
			    SSL_AD_UNEXPECTED_MESSAGE);
	}
	if (rec->hs_len < sizeof(rec->hs))
		return 1;		/* the rest comes in the next record */
	rec->hs_len = 0;
	if (rec->hs[4] > SSL_KEY_UPDATE_REQUESTED)
		return rec_fail(rec, SSL_R_BAD_KEY_UPDATE, SSL_AD_ILLEGAL_PARAMETER);
	if (rec->hs[4] == SSL_KEY_UPDATE_REQUESTED)
		rec->key_update_due = true;
	if (dir_update(rec, &rec->rd) == -1)
		return rec_fail(rec, ERR_R_INTERNAL_ERROR, SSL_AD_INTERNAL_ERROR);
	return 1;
}

/* Opens the record at h (body of clen bytes) and acts on it: 1, 0 or -1. */
static int
rec_open(struct tlsrec *rec, uint8_t *h, size_t clen)
{
	uint8_t nonce[REC_NONCE], aad[13], type = h[0], *p = h + REC_HEADER;
	size_t len;

	if (rec->version == TLS1_3_VERSION) {
		if (type != CT_APPDATA)
			return rec_fail(rec, SSL_R_UNEXPECTED_RECORD,
			    SSL_AD_UNEXPECTED_MESSAGE);
		if (clen < REC_TAG + 1)
			goto bad_mac;
		len = clen - REC_TAG;
		rec_nonce(rec, &rec->rd, NULL, nonce);
		if (rec_open_bytes(rec, nonce, h, REC_HEADER, p, len) == -1)
			goto bad_mac;
		while (len > 0 && p[len - 1] == 0)	/* padding */
			len--;
		if (len == 0)
			return rec_fail(rec, SSL_R_UNEXPECTED_RECORD,
			    SSL_AD_UNEXPECTED_MESSAGE);
		type = p[--len];
	} else {
		size_t expl = rec->explicit_nonce ? 8 : 0;

		if (clen < expl + REC_TAG)
			goto bad_mac;
		len = clen - expl - REC_TAG;
		rec_nonce(rec, &rec->rd, p, nonce);
		rec_aad12(&rec->rd, type, len, aad);
		p += expl;
		if (rec_open_bytes(rec, nonce, aad, sizeof(aad), p, len) == -1)
			goto bad_mac;
	}
	if (len > REC_MAX_PLAIN)
		return rec_fail(rec, SSL_R_DATA_LENGTH_TOO_LONG,
		    SSL_AD_RECORD_OVERFLOW);
	if (rec->hs_len > 0 && type != CT_HANDSHAKE)
		return rec_fail(rec, SSL_R_MIXED_HANDSHAKE_AND_NON_HANDSHAKE_DATA,
		    SSL_AD_UNEXPECTED_MESSAGE);	/* inside a handshake message */
	switch (type) {
	case CT_APPDATA:
		rec->warn_in_row = 0;
		if (len == 0) {
			if (++rec->empty_in_row > REC_MAX_EMPTY)
				return rec_fail(rec, SSL_R_RECORD_TOO_SMALL,
				    SSL_AD_UNEXPECTED_MESSAGE);
			return 1;
		}
		rec->empty_in_row = 0;
		rec->poff = (size_t)(p - rec->rbuf);
		rec->plen = len;
		return 1;
	case CT_ALERT:
		return rec_got_alert(rec, p, len);
	case CT_HANDSHAKE:
		return rec_got_handshake(rec, p, len);
	default:
		return rec_fail(rec, SSL_R_UNEXPECTED_RECORD,
		    SSL_AD_UNEXPECTED_MESSAGE);
	}
bad_mac:
	return rec_fail(rec, SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC,
	    SSL_AD_BAD_RECORD_MAC);
}

/* Reads and opens the next record: 1, or 0/-1 with last_error. */
static int
rec_next(struct tlsrec *rec)
{
	size_t clen;
	uint8_t *h;
	int r;

	if ((r = rec_fill(rec, REC_HEADER)) <= 0)
		return r;
	h = rec->rbuf + rec->roff;
	if (h[1] != 3 || h[2] != 3)	/* the alerts OpenSSL sends */
		return rec_fail(rec, SSL_R_WRONG_VERSION_NUMBER,
		    rec->version == TLS1_3_VERSION ? SSL_AD_DECODE_ERROR :
		    SSL_AD_PROTOCOL_VERSION);
	clen = (size_t)h[3] << 8 | h[4];
	if (clen > REC_MAX_CIPHER)
		return rec_fail(rec, SSL_R_ENCRYPTED_LENGTH_TOO_LONG,
		    SSL_AD_RECORD_OVERFLOW);
	if ((r = rec_fill(rec, REC_HEADER + clen)) <= 0)
		return r;
	h = rec->rbuf + rec->roff;	/* the fill may have moved it */
	rec->roff += REC_HEADER + clen;
	return rec_open(rec, h, clen);
}

/* ---- SSL_read / SSL_write ----------------------------------------------------- */

int
tlsrec_read(struct tlsrec *rec, void *buf, int len)
{
	size_t n;
	int r;

	if (rec->failed) {
		rec->last_error = SSL_ERROR_SSL;
		return -1;
	}
	if (len <= 0) {
		rec->last_error = SSL_ERROR_NONE;
		return 0;
	}
	while (rec->plen == 0) {
		if (rec->read_closed) {
			rec->last_error = SSL_ERROR_ZERO_RETURN;
			return 0;
		}
		if ((r = rec_next(rec)) <= 0)
			return r;
	}
	n = rec->plen < (size_t)len ? rec->plen : (size_t)len;
	memcpy(buf, rec->rbuf + rec->poff, n);
	rec->poff += n;
	rec->plen -= n;
	rec_release_buffers(rec);
	rec->last_error = SSL_ERROR_NONE;
	return (int)n;
}

int
tlsrec_write(struct tlsrec *rec, const void *buf, int len)
{
	uint8_t ku[5] = { HS_KEY_UPDATE, 0, 0, 1, SSL_KEY_UPDATE_NOT_REQUESTED };
	size_t n;

	if (rec->failed) {
		rec->last_error = SSL_ERROR_SSL;
		return -1;
	}
	if (rec->wtaken > 0) {		/* the retry of a record on its way */
		if (rec_flush(rec) == -1)
			return -1;
		n = rec->wtaken;
		rec->wtaken = 0;
		rec->last_error = SSL_ERROR_NONE;
		return (int)n;
	}
	if (len <= 0) {
		rec->last_error = SSL_ERROR_NONE;
		return 0;
	}
	if (rec->woff < rec->wlen && rec_flush(rec) == -1)
		return -1;		/* our alerts first */
	n = (size_t)len < REC_MAX_PLAIN ? (size_t)len : REC_MAX_PLAIN;
	/* RFC 8446 4.6.3: our KeyUpdate before our next application data */
	if (rec->key_update_due) {
		if (rec_seal(rec, CT_HANDSHAKE, ku, sizeof(ku)) == -1 ||
		    dir_update(rec, &rec->wr) == -1)
			return rec_fail(rec, ERR_R_INTERNAL_ERROR, -1);
		rec->key_update_due = false;
	}
	if (rec_seal(rec, CT_APPDATA, buf, n) == -1)
		return rec_fail(rec, ERR_R_INTERNAL_ERROR, -1);
	rec->wtaken = n;
	if (rec_flush(rec) == -1)
		return -1;
	rec->wtaken = 0;
	rec->last_error = SSL_ERROR_NONE;
	return (int)n;
}

int
tlsrec_get_error(const struct tlsrec *rec, int ret)
{
	return ret > 0 ? SSL_ERROR_NONE : rec->last_error;
}

bool
tlsrec_has_pending(const struct tlsrec *rec)
{
	return rec->plen > 0 || rec->roff < rec->rlen;
}

void
tlsrec_shutdown(struct tlsrec *rec)
{
	if (!rec->failed)
		rec_alert(rec, SSL3_AL_WARNING, SSL_AD_CLOSE_NOTIFY);
}
