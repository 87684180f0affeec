/* SPDX-License-Identifier: MIT */
/*
 * relay: moving bytes from one bufferevent to another with bounded
 * buffers (libevent's le-proxy pattern).  When the destination's output
 * holds RELAY_HIGH bytes the source stops reading; the destination's write
 * watermark (RELAY_HIGH / 2) brings the write callback that resumes it.  So
 * memory per direction stays bounded whatever the volume, and a slow side
 * slows the other.  It also says what an event on a bufferevent means: a
 * peer that half-closed and still reads, or one that is gone, and (for
 * libevent 2.1's TLS close race) when it may be acted on.  It owns no
 * state: the caller keeps the paused flag.
 */
#ifndef TLSBROKER_RELAY_H
#define TLSBROKER_RELAY_H

#include <stdbool.h>
#include <stddef.h>

struct bufferevent;
struct evbuffer;

#define RELAY_HIGH (64 * 1024)

/*
 * http connections read TLS with read-ahead: one read(2) takes a whole
 * record (and whatever follows it) instead of a header read and a body
 * read.  But then OpenSSL may hold complete records that arrived together
 * (pipelined requests, a large body, an endpoint's close_notify) after the
 * socket is drained, and libevent 2.1's bufferevent_openssl stops at the
 * end of a record: no epoll event would ever come for them.
 * relay_read_ahead() turns read-ahead on for a TLS bufferevent's SSL,
 * with room for four records per read;
 * relay_kick_read() makes the bufferevent read again when OpenSSL holds
 * bytes and reading is enabled; relay_enable_read() enables reading and
 * kicks.  Call the kick at the end of every read callback and use
 * relay_enable_read() wherever reading resumes.  Plain bufferevents: no-ops
 * (the kick) and a plain enable.
 */
void relay_read_ahead(struct bufferevent *bev);
void relay_kick_read(struct bufferevent *bev);
void relay_enable_read(struct bufferevent *bev);
/* True if OpenSSL holds bytes of bev's peer not yet in its input. */
bool relay_tls_pending(struct bufferevent *bev);

/*
 * libevent 2.1's bufferevent_openssl runs the event callback of a close
 * (close_notify, a TCP EOF, a reset) from inside do_read(), before it
 * commits what the same call read into the first half of a split
 * reservation (bufferevent_openssl.c of 2.1.12: conn_closed() at line 634,
 * evbuffer_commit_space() at 642).  The callback then sees the input
 * without the peer's last bytes, and they arrive after it acted on the
 * close: a close-delimited answer is cut short yet looks complete, a last
 * pipelined request is dropped.  The reservation splits whenever the
 * input's last chain was partly drained (a request taken out of pipelined
 * ones, a parsed head).
 *
 * relay_event_defer() is called first in every event callback, with the
 * errno read on entry.  For a reading event of a TLS bufferevent it hands
 * the same event back to libevent to deliver again as a deferred callback,
 * after do_read() has committed its bytes and the read callback has seen
 * them, and returns true: the caller returns at once and acts when the
 * event comes again (errno restored).  Everything else, the second
 * delivery included, returns false, with the mark of the second delivery
 * cleared from *what.  One deferred callback per closed TLS connection:
 * deferring every callback (BEV_OPT_DEFER_CALLBACKS) cost 9 % CPU per
 * request.
 */
bool relay_event_defer(struct bufferevent *bev, short *what, int sys_errno);

/* Sets the watermarks relay_move() relies on. */
void relay_setup(struct bufferevent *bev);

/*
 * Moves everything readable from src to dst.  Sets *paused and stops
 * reading src when dst's output is full.  Returns the bytes moved.
 */
size_t relay_move(struct bufferevent *src, struct bufferevent *dst,
    bool *paused);

/*
 * After an EOF event, bufferevent_openssl stops writing too, even with
 * bytes still queued for that peer (libevent 2.1 conn_closed()).  Restarts
 * the write side when output is pending, so a half-closed peer still gets
 * everything owed to it (or the write fails and reports an error).  Only
 * for a peer relay_peer_half_closed() says still reads: a kick towards a
 * peer that is gone fails again at once, for ever (a spinning worker).
 */
void relay_rekick_write(struct bufferevent *bev);

/*
 * True if the peer reset the connection.  The socket's TCP state says so
 * (CLOSE after a reset, CLOSE_WAIT after a FIN), where errno may be left
 * over from another socket: a read that returns 0 does not set it.
 */
bool relay_socket_reset(int fd);

/*
 * True if the event what on bev means only that the peer half-closed: an
 * EOF while reading (its FIN, or its close_notify) on a socket that was not
 * reset, so the peer may still read what we owe it.  False for anything
 * else: a failed write (allow_dirty_shutdown reports an EPIPE as an EOF
 * while writing), an error, a reset.  Then the peer is gone and nothing may
 * be written to it again.
 */
bool relay_peer_half_closed(struct bufferevent *bev, short what);

/*
 * Writes a TLS bufferevent's output now instead of waiting for the next
 * loop turn's EPOLLOUT (HAProxy's speculative I/O), which saves two
 * epoll_ctl calls and a wake-up per answer.  Whatever SSL_write() does not
 * take at once (WANT_WRITE, an error) is left to the bufferevent's own
 * write path, which retries the same bytes as OpenSSL requires.  The write
 * callback is not run: the caller checks what it needs after the call.
 */
void relay_ssl_flush(struct bufferevent *bev);

/*
 * Reads what a plain socket bufferevent's socket holds, up to its read
 * watermark: libevent 2.1 reads at most 4096 bytes per event
 * (EVBUFFER_MAX_READ), so a bulk transfer from a plain endpoint would
 * otherwise cost an event, a read and a 4 KiB TLS record per 4 KiB.
 * Returns the bytes read; EOF and errors are left to the bufferevent.
 */
size_t relay_read_more(struct bufferevent *bev);

/* Stops reading src (sets *paused) when out, where src's bytes go, is full. */
void relay_pause_if_full(struct bufferevent *src, struct evbuffer *out,
    bool *paused);

/*
 * Called from dst's write callback: resumes src (relay_enable_read) if it
 * was paused and dst has room; true if it did.
 */
bool relay_resume(struct bufferevent *src, struct bufferevent *dst,
    bool *paused);

#endif
