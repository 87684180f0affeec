/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "clock.h"

#include <stdbool.h>
#include <time.h>

#include <event2/event.h>

/* Milliseconds on clock id; both clocks the project reads cannot fail on Linux. */
static uint64_t
clock_read_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The calling thread's clock turn (clock.h). */
static __thread unsigned turn_depth;
static __thread bool turn_read;
static __thread uint64_t turn_ms;

uint64_t
now_ms(void)
{
	if (turn_depth == 0)
		return clock_read_ms(CLOCK_MONOTONIC);
	if (!turn_read) {
		turn_ms = clock_read_ms(CLOCK_MONOTONIC);
		turn_read = true;
	}
	return turn_ms;
}

void
clock_turn_begin(void)
{
	turn_depth++;
}

void
clock_turn_end(void)
{
	if (turn_depth > 0 && --turn_depth == 0)
		turn_read = false;
}

uint64_t
wall_ms(void)
{
	return clock_read_ms(CLOCK_REALTIME);
}

struct timeval
ms_timeval(uint64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	return tv;
}

int
event_add_ms(struct event *ev, uint64_t ms)
{
	struct timeval tv = ms_timeval(ms);

	return event_add(ev, &tv);
}
