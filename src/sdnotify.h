/* SPDX-License-Identifier: MIT */
/*
 * sdnotify: the systemd notify protocol (READY=1, RELOADING=1, STOPPING=1,
 * WATCHDOG=1, STATUS=...): one datagram to $NOTIFY_SOCKET.  Uses
 * libsystemd's sd_notify() when built with it, else sends the datagram
 * itself (the protocol is a stable, documented interface), so tests can
 * capture it either way.  A no-op when NOTIFY_SOCKET is unset.
 */
#ifndef TLSBROKER_SDNOTIFY_H
#define TLSBROKER_SDNOTIFY_H

#include <stdint.h>

/* Sends state (e.g. "READY=1\nSTATUS=..."); returns 1 sent, 0 no socket, -1 error. */
int sdnotify(const char *state);
int sdnotifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The watchdog interval in ms from $WATCHDOG_USEC, 0 if none. */
uint64_t sdnotify_watchdog_ms(void);

#endif
