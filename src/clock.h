/* SPDX-License-Identifier: MIT */
/*
 * clock: the project's three time conversions, so no module hand-writes
 * them: monotonic milliseconds (every timeout and duration), wall-clock
 * milliseconds (audit timestamps, certificate expiry) and milliseconds as
 * a struct timeval, with the one way to arm a libevent timer from
 * milliseconds (event_add_ms()).  Nothing here keeps state.
 */
#ifndef TLSBROKER_CLOCK_H
#define TLSBROKER_CLOCK_H

#include <stdint.h>
#include <sys/time.h>

struct event;

/* Monotonic milliseconds (CLOCK_MONOTONIC): for durations and deadlines. */
uint64_t now_ms(void);
/* Wall-clock milliseconds since the epoch (CLOCK_REALTIME). */
uint64_t wall_ms(void);
/* ms as a struct timeval, for event_add(). */
struct timeval ms_timeval(uint64_t ms);
/* event_add() with a timeout of ms milliseconds; what event_add() returns. */
int event_add_ms(struct event *ev, uint64_t ms);

#endif
