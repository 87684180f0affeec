/* SPDX-License-Identifier: MIT */
/*
 * tlsrec: the record layer of an inbound TLS connection after its SSL
 * object is released.  An idle keep-alive connection costs OpenSSL about
 * 11 KB (the SSL object with its record-layer arrays, two cipher contexts,
 * the session), and HAProxy and nginx keep that for every idle client.
 * Once the handshake is over, all the records still need is each
 * direction's key, IV and sequence number: what kTLS hands the kernel.
 * tlsrec keeps those (about 300 bytes), and runs the records itself from
 * then on with SSL_read/SSL_write/SSL_get_error semantics, so sockio
 * drives it as it drives an SSL, and a failure's reason goes on OpenSSL's
 * error queue as OpenSSL's own (SSL_R_*), so diagnostics read as before.
 *
 * What it takes over: TLS 1.2 with AES-GCM or ChaCha20-Poly1305, and
 * TLS 1.3 with AES-GCM or ChaCha20-Poly1305.  Anything else keeps its SSL.
 * OpenSSL does not export sequence numbers, so while it runs the
 * connection a message callback counts records each way (tlsrec_track_*),
 * and for TLS 1.3 the keylog callback hands over the traffic secrets.
 *
 * After the take-over it does: application data both ways (records of up
 * to 16 KiB), close_notify both ways, warning alerts (TLS 1.2, fewer
 * than five in a row), empty records (at most 32 in a row), a TLS 1.3
 * KeyUpdate from the client (answered before our next record when asked).
 * A TLS 1.2 renegotiation is refused with a no_renegotiation warning, as
 * OpenSSL does under SSL_OP_NO_RENEGOTIATION (the fifth attempt in a row
 * without application data in between is fatal; OpenSSL sets no limit).  Anything else - a bad
 * record, a MAC failure, a fatal alert, an unexpected handshake message -
 * sends the fatal alert OpenSSL would and fails the connection for good.
 * Cipher contexts exist only while the connection is active
 * (tlsrec_idle() frees them with the buffers).
 *
 * Everything runs on the connection's thread.
 */
#ifndef TLSBROKER_TLSREC_H
#define TLSBROKER_TLSREC_H

#include <stdbool.h>

#include <openssl/ssl.h>

struct tls_info;
struct tlsrec;

/* Must be called once before tlsrec_track_ctx(); 0 or -1. */
int tlsrec_init(void);

/* Installs the callbacks that count records and catch TLS 1.3 secrets. */
void tlsrec_track_ctx(SSL_CTX *ctx);

/*
 * Starts counting for ssl, before its handshake; the count is freed with
 * the SSL.  Returns 0, or -1 (out of memory: the SSL then stays an SSL).
 */
int tlsrec_track(SSL *ssl);

/*
 * Whether ssl's connection can move into a tlsrec now: handshake done,
 * a suite and version above, nothing held in OpenSSL's buffers, no
 * close_notify either way, no key update or renegotiation under way.
 */
bool tlsrec_can_take(SSL *ssl);

/*
 * The record state of ssl, on socket fd, for the caller to free ssl
 * afterwards (untouched either way); info (may be NULL) keeps receiving
 * the alerts sent and received.  NULL if it cannot (see can_take) or out
 * of memory.
 */
struct tlsrec *tlsrec_take(SSL *ssl, int fd, struct tls_info *info);
void tlsrec_free(struct tlsrec *rec);

/* Frees cipher contexts and empty buffers while the connection idles. */
void tlsrec_idle(struct tlsrec *rec);

/*
 * As SSL_read and SSL_write (len at most 16384 for a write; a write that
 * said WANT_WRITE is retried with the same length, and the bytes may have
 * moved, as under SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).  After a return
 * <= 0, tlsrec_get_error() says what it was in SSL_ERROR_* terms: WANT_READ,
 * WANT_WRITE, ZERO_RETURN (close_notify or a TCP close, as under
 * SSL_OP_IGNORE_UNEXPECTED_EOF), SYSCALL (errno; the error queue empty)
 * or SSL (the reason on the error queue).
 */
int tlsrec_read(struct tlsrec *rec, void *buf, int len);
int tlsrec_write(struct tlsrec *rec, const void *buf, int len);
int tlsrec_get_error(const struct tlsrec *rec, int ret);

/* As SSL_has_pending: plaintext or unprocessed bytes held. */
bool tlsrec_has_pending(const struct tlsrec *rec);

/* Sends close_notify, best effort (the socket is not waited for). */
void tlsrec_shutdown(struct tlsrec *rec);

/* The negotiated version, TLS1_2_VERSION or TLS1_3_VERSION. */
int tlsrec_version(const struct tlsrec *rec);

#endif
