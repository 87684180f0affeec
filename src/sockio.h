/* SPDX-License-Identifier: MIT */
/*
 * sockio: the broker's own thin I/O layer for one connected socket, plain
 * or TLS, over libevent's plain events.  It owns an input and an output
 * evbuffer and the two events of the socket, and nothing else: what the
 * bytes mean belongs to the caller (relay.c, the modes).
 *
 * It replaces libevent 2.1's bufferevents (socket and openssl) with the
 * same small contract the broker used of them, minus their costs and
 * races:
 *
 *  - Reading: a readable socket is read until it has nothing more to give
 *    without another system call (TLS: until OpenSSL holds no more
 *    records; plain: until a read comes back short), up to the read high
 *    watermark.  The read callback sees every byte read before the event
 *    callback hears of an EOF or error read in the same turn, so a close
 *    never overtakes the data that came with it (bufferevent_openssl
 *    reported the close first).  At the watermark reading is suspended,
 *    and resumes by itself once the caller drains the input below it.
 *    Records OpenSSL already holds are read without waiting for the socket
 *    when reading is enabled or resumes.
 *  - Writing: whatever is added to the output is written later in the
 *    same loop turn (an active event, no epoll_ctl), and only when the
 *    socket refuses does the layer wait for EPOLLOUT.  TLS writes take up
 *    to one record (16 KiB) of the output at a time: short pieces at its
 *    front are gathered, so a head and a small body leave as one record
 *    and one write(2), long ones go as they lie (never copied); a retry
 *    after WANT_WRITE repeats the same length, as OpenSSL requires.  The write callback runs after a write that leaves
 *    the output at or below the write low watermark.
 *  - Events: SOCKIO_READING or SOCKIO_WRITING, with SOCKIO_EOF or
 *    SOCKIO_ERROR, and errno as the failed call left it.  A TCP close
 *    without close_notify, and a reset, are an EOF as for libevent's
 *    allow_dirty_shutdown (relay_socket_reset() tells them apart); a TLS
 *    protocol error is an ERROR whose OpenSSL error sockio_ssl_error()
 *    returns.  An EOF or error while reading stops reading; one while
 *    writing stops writing (TLS: reading too).
 *  - OpenSSL's thread error queue is left empty after every failed call,
 *    so no call needs ERR_clear_error() before it (that costs about 850
 *    instructions in OpenSSL 3.0, twice per request in libevent).
 *  - sockio_free() is safe inside the object's own callbacks: the memory
 *    goes when the callback returns.
 *
 * Everything runs on the event base's thread.
 */
#ifndef TLSBROKER_SOCKIO_H
#define TLSBROKER_SOCKIO_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

struct event_base;
struct evbuffer;
struct sockio;
struct tlsrec;

/* What an event callback's `what` holds; the values of libevent's BEV_EVENT_*. */
#define SOCKIO_READING	0x01
#define SOCKIO_WRITING	0x02
#define SOCKIO_EOF	0x10
#define SOCKIO_ERROR	0x20

/* sockio_new() flags */
#define SOCKIO_CLOSE_ON_FREE	0x01	/* sockio_free() frees ssl and closes fd */

typedef void (*sockio_data_cb)(struct sockio *io, void *arg);
typedef void (*sockio_event_cb)(struct sockio *io, short what, void *arg);

/*
 * A sockio on the connected, non-blocking fd; ssl NULL for plain, else an
 * SSL on fd whose handshake is done.  Reading and writing start disabled.
 * NULL when out of memory (fd and ssl are then the caller's, whatever the
 * flags).
 */
struct sockio *sockio_new(struct event_base *base, int fd, SSL *ssl,
    int flags);
void sockio_free(struct sockio *io);

void sockio_setcb(struct sockio *io, sockio_data_cb readcb,
    sockio_data_cb writecb, sockio_event_cb eventcb, void *arg);

/* EV_READ and/or EV_WRITE. */
void sockio_enable(struct sockio *io, short what);
void sockio_disable(struct sockio *io, short what);
short sockio_get_enabled(const struct sockio *io);

/*
 * Reading stops while the input holds read_high bytes (0: no limit); the
 * write callback runs once output is at or below write_low after a write.
 */
void sockio_setwatermark(struct sockio *io, size_t read_high, size_t write_low);

/*
 * Runs TLS on rec (tlsrec.h: the records of a connection whose SSL was
 * released) for a sockio made with ssl NULL; rec stays the caller's.
 * Call before enabling.
 */
void sockio_use_tlsrec(struct sockio *io, struct tlsrec *rec);

/* TLS records or plaintext held above the socket: readable without it. */
bool sockio_tls_pending(const struct sockio *io);

/* Sends close_notify now (TLS only; what the socket refuses is lost). */
void sockio_tls_shutdown(struct sockio *io);

struct evbuffer *sockio_get_input(struct sockio *io);
struct evbuffer *sockio_get_output(struct sockio *io);
int sockio_fd(const struct sockio *io);
SSL *sockio_ssl(const struct sockio *io);
struct event_base *sockio_base(const struct sockio *io);

/*
 * The OpenSSL error of the last SOCKIO_ERROR (0: none), and forgets it:
 * the queue itself was cleared when the error happened.
 */
unsigned long sockio_ssl_error(struct sockio *io);

/*
 * Writes the output now instead of later in the loop turn, for a caller
 * that wants to know at once what is left (no callbacks run).  What the
 * socket does not take stays queued and goes out as usual.
 */
void sockio_flush(struct sockio *io);

/*
 * For a caller that adds to the output and then writes it itself with
 * sockio_flush() before it returns to the loop: until then, what it adds
 * schedules no write for later in the loop turn (that write would find
 * the output gone).  sockio_flush() ends the hold; sockio_uncork() ends
 * it without writing, and schedules the write if output waits.
 */
void sockio_cork(struct sockio *io);
void sockio_uncork(struct sockio *io);

#endif
