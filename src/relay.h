/* SPDX-License-Identifier: MIT */
/*
 * relay: moving bytes from one sockio to another with bounded
 * buffers (libevent's le-proxy pattern).  When the destination's output
 * holds RELAY_HIGH bytes the source stops reading; the destination's write
 * watermark (RELAY_HIGH / 2) brings the write callback that resumes it.  So
 * memory per direction stays bounded whatever the volume, and a slow side
 * slows the other.  It also says what an event on a sockio means: a
 * peer that half-closed and still reads, or one that is gone.  It owns no
 * state: the caller keeps the paused flag.
 */
#ifndef TLSBROKER_RELAY_H
#define TLSBROKER_RELAY_H

#include <stdbool.h>
#include <stddef.h>

struct sockio;
struct evbuffer;
struct sockio;

#define RELAY_HIGH (64 * 1024)

/*
 * http connections read TLS with read-ahead: one read(2) takes a whole
 * record (and whatever follows it) instead of a header read and a body
 * read.  sockio reads every record OpenSSL then holds before it waits for
 * the socket again.  relay_read_ahead() turns read-ahead on for a TLS
 * sockio's SSL, with room for four records per read; plain: a no-op.
 */
void relay_read_ahead(struct sockio *io);

/* Sets the watermarks relay_move() relies on. */
void relay_setup(struct sockio *io);

/*
 * Moves everything readable from src to dst.  Sets *paused and stops
 * reading src when dst's output is full.  Returns the bytes moved.
 */
size_t relay_move(struct sockio *src, struct sockio *dst,
    bool *paused);

/*
 * Makes sure a half-closed peer still gets everything owed to it (or the
 * write fails and reports an error): writing on, output pending or not.
 * Only for a peer relay_peer_half_closed() says still reads.
 */
void relay_rekick_write(struct sockio *io);

/*
 * True if the peer reset the connection.  The socket's TCP state says so
 * (CLOSE after a reset, CLOSE_WAIT after a FIN), where errno may be left
 * over from another socket: a read that returns 0 does not set it.
 */
bool relay_socket_reset(int fd);

/*
 * True if the event what on io means only that the peer half-closed: an
 * EOF while reading (its FIN, or its close_notify) on a socket that was not
 * reset, so the peer may still read what we owe it.  False for anything
 * else: a failed write (sockio reports an EPIPE as an EOF
 * while writing), an error, a reset.  Then the peer is gone and nothing may
 * be written to it again.
 */
bool relay_peer_half_closed(struct sockio *io, short what);

/* Stops reading src (sets *paused) when out, where src's bytes go, is full. */
void relay_pause_if_full(struct sockio *src, struct evbuffer *out,
    bool *paused);

/*
 * Called from dst's write callback: resumes reading src if it
 * was paused and dst has room; true if it did.
 */
bool relay_resume(struct sockio *src, struct sockio *dst,
    bool *paused);

#endif
