/* SPDX-License-Identifier: MIT */
/*
 * upstream_ack: did the endpoint acknowledge any byte of the request that a
 * reused (pooled) connection carried?  A firewall, NAT or load balancer that
 * forgets an idle connection, or an endpoint host that vanishes, sends no
 * FIN and no RST: the request goes into a dead path and the client would
 * wait for response_timeout, then get a 504 for a call the endpoint never
 * saw.  TCP tells us better.  On Linux, TCP_INFO's tcpi_bytes_acked counts
 * the payload bytes (for TLS, the record bytes) the peer acknowledged;
 * when it has not moved since the request started, no byte of the request
 * reached the endpoint's TCP, so the endpoint cannot have acted on it, and
 * resending it on a fresh connection duplicates nothing, even a POST.
 *
 * The rule, used by the HTTP exchange and written down in
 * tlsbroker.ini(5):
 *  - every request on a reused connection idle for more than a few
 *    milliseconds is watched (one TCP_INFO read when it goes out): after
 *    upstream_reuse_ack_timeout without any response byte, the watch reads
 *    TCP_INFO once; if any byte was acknowledged it does nothing more (the
 *    endpoint has the request: response_timeout and the existing retry
 *    rule hold); if none was, it calls the exchange back, which closes the
 *    connection with an RST (upack_abandon: the kernel must never deliver
 *    the queued request later) and resends a request it still holds whole,
 *    or fails it as upstream_unacked;
 *  - a failure before any response byte (EOF, RST) on a reused connection
 *    may resend a non-idempotent request too when upack_none_acked() says
 *    nothing was acknowledged;
 *  - where TCP_INFO has no byte counts (a kernel before 4.1, not TCP) the
 *    answer is "acknowledged": the old rule, never a duplicate.
 * With upstream_proxy the acknowledgements are the proxy's: "none acked"
 * still proves the endpoint got nothing, "acked" proves nothing, so the
 * rule stays on the safe side.  Caveat: an endpoint whose every ACK is lost
 * on the way back for the whole timeout, while our bytes reach it, looks
 * the same as a blackhole; a timeout well above the path's round trip plus
 * delayed-ACK time (RFC 1122: at most 500 ms) makes that a path that is
 * dead anyway.
 *
 * The pool (pool.c) owns what happens before use; this module owns the
 * watch, its timer (in struct upconn) and the TCP_INFO reading.
 */
#ifndef TLSBROKER_UPSTREAM_ACK_H
#define TLSBROKER_UPSTREAM_ACK_H

#include <stdbool.h>
#include <stdint.h>

struct event;
struct upconn;

typedef void (*upack_cb)(void *arg);

/* One watch; lives in struct upconn, zeroed by its calloc. */
struct upack {
	struct event *ev;	/* owned: the timer, made on first use */
	uint64_t base;		/* tcpi_bytes_acked when the request started */
	bool known;		/* base was read: TCP_INFO counts bytes here */
	uint64_t idle_ms;	/* how long the connection had been idle then */
	bool abandoned;		/* upack_abandon(): the close must be an RST, now */
	upack_cb cb;
	void *arg;
};

/*
 * Reads the acknowledged byte count of fd: true and *acked set, or false
 * when this socket's TCP_INFO has no such count.
 */
bool upack_bytes_acked(int fd, uint64_t *acked);

/*
 * True when TCP shows an idle socket unanswered: a keepalive probe or
 * data still unacknowledged, or no longer established.  False when all
 * is answered or TCP_INFO cannot tell.  For pool.c, before reuse.
 */
bool upack_idle_unanswered(int fd);

/*
 * Starts watching the request about to go out on the reused uc: notes how
 * long uc was idle and, unless that was only a few milliseconds (then
 * there is no watch), the acknowledged count; after timeout_ms it calls
 * cb(arg) if, by then, no byte was acknowledged.  timeout_ms 0: only
 * notes (upack_none_acked still answers).  Replaces an earlier watch.
 */
void upack_watch(struct upconn *uc, uint64_t timeout_ms, upack_cb cb,
    void *arg);

/* Ends the watch (the connection goes back to the pool). */
void upack_stop(struct upconn *uc);

/* Frees the timer; for upconn_free(). */
void upack_free(struct upconn *uc);

/*
 * True only when the watch started, the byte count is known and it has
 * not moved: the endpoint received no byte since upack_watch().
 */
bool upack_none_acked(const struct upconn *uc);

/*
 * The connection is to be dropped with request bytes still queued, or its
 * path is dead (pool.c): close it with an RST, so the kernel discards them
 * instead of delivering them should the path come back (the request may be
 * resent meanwhile).  The close is then immediate: upconn_free() keeps no
 * duplicate of the socket waiting for the endpoint's FIN
 * (upstream_limit.h), which would keep the socket, and its queued
 * request, alive.
 */
void upack_abandon(struct upconn *uc);

#endif
