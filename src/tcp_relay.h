/* SPDX-License-Identifier: MIT */
/*
 * tcp_relay: the tcp mode of a session: the upstream connection of an
 * SNI-routed session, bytes both ways with backpressure, half-closes and
 * idle_timeout.  It owns no state beyond the session's sides; session.c
 * reaches it only through tcp_mode.
 */
#ifndef TLSBROKER_TCP_RELAY_H
#define TLSBROKER_TCP_RELAY_H

struct session_mode;

extern const struct session_mode tcp_mode;

#endif
