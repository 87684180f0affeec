/* SPDX-License-Identifier: MIT */
/*
 * clock: the project's three time conversions, so no module hand-writes
 * them: monotonic milliseconds (every timeout and duration), wall-clock
 * milliseconds (audit timestamps, certificate expiry) and milliseconds as
 * a struct timeval, with the one way to arm a libevent timer from
 * milliseconds (event_add_ms()).  Its one piece of state is the thread's
 * clock turn (below).
 */
#ifndef TLSBROKER_CLOCK_H
#define TLSBROKER_CLOCK_H

#include <stdint.h>
#include <sys/time.h>

struct event;

/*
 * Monotonic milliseconds (CLOCK_MONOTONIC): for durations and deadlines.
 * Inside a clock turn, the time the turn first asked for.
 */
uint64_t now_ms(void);
/*
 * A clock turn: one event callback's work.  now_ms() reads the clock on
 * its first call in a turn and returns that for the rest of it, as nginx
 * reads its clock once per loop iteration: a proxied request asked it
 * eight times within one callback.  The time is then at most the
 * callback's own run (microseconds) behind, which no millisecond timeout
 * or duration notices.  Turns nest (the outermost ends it); outside one,
 * now_ms() reads the clock.  sockio runs each of its event callbacks as a
 * turn.  Nothing that waits for time to pass may run inside one (the
 * blocking waits are the probe's, which runs no event loop).
 */
void clock_turn_begin(void);
void clock_turn_end(void);
/* Wall-clock milliseconds since the epoch (CLOCK_REALTIME). */
uint64_t wall_ms(void);
/* ms as a struct timeval, for event_add(). */
struct timeval ms_timeval(uint64_t ms);
/* event_add() with a timeout of ms milliseconds; what event_add() returns. */
int event_add_ms(struct event *ev, uint64_t ms);

#endif
