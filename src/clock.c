/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "clock.h"

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

uint64_t
now_ms(void)
{
	return clock_read_ms(CLOCK_MONOTONIC);
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
