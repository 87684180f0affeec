/* SPDX-License-Identifier: MIT */
/*
 * sockopt: the options every TCP connection of the broker gets, client and
 * upstream alike: TCP_NODELAY (heads and small answers go out at once) and
 * TCP keepalive probes after [broker] tcp_keepalive of silence, so that a
 * NAT or cloud load balancer on the path (Azure drops idle flows after 4
 * minutes without telling either end) never forgets a connection that is
 * merely quiet, and a peer that vanished is noticed.  Also the reset a
 * connection can be closed with.  Best effort: a failing setsockopt()
 * changes nothing else.
 */
#ifndef TLSBROKER_SOCKOPT_H
#define TLSBROKER_SOCKOPT_H

#include <stdint.h>

#define SOCKOPT_KA_PROBES 6	/* unanswered probes before the peer is dead */

/* Sets TCP_NODELAY and, when keepalive_ms > 0, the keepalive probes. */
void sockopt_tcp(int fd, uint64_t keepalive_ms);

/*
 * Makes close(fd) send a reset instead of a FIN (SO_LINGER 0): for a peer
 * that must not take the end of the stream for the end of a message.
 */
void sockopt_reset_on_close(int fd);

#endif
