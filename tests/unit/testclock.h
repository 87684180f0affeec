/* SPDX-License-Identifier: MIT */
/*
 * testclock: waiting for the monotonic clock itself (not now_ms(), whose
 * clock turns the tests check) to pass a point, for tests that must see
 * time move without sleeping a guessed amount.
 */
#ifndef TLSBROKER_TESTCLOCK_H
#define TLSBROKER_TESTCLOCK_H

#include <check.h>
#include <stdint.h>
#include <time.h>

/* Spins until CLOCK_MONOTONIC reads at least ms milliseconds. */
static inline void
spin_past_ms(uint64_t ms)
{
	struct timespec ts;

	do
		ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	while ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 < ms);
}

#endif
