/* SPDX-License-Identifier: MIT */
/*
 * expect: Expect: 100-continue without added latency.  The ERP's .NET
 * client sends Expect on every POST and waits 350 ms for a 100 before it
 * sends the body anyway, so an endpoint that ignores Expect would cost
 * every call that long.  Each pool (a route address on a worker) learns
 * from the exchanges that carry Expect whether its endpoint answers 100:
 * once it is known to ignore Expect (or to speak HTTP/1.0), the broker
 * answers 100 itself the moment the head is read; an endpoint that answers
 * 100 (and may refuse the body with 401 or 413 before it comes) is still
 * asked and waited for.  Owns that knowledge and its transitions; http_exchange.c
 * owns the exchange and calls in.
 */
#ifndef TLSBROKER_EXPECT_H
#define TLSBROKER_EXPECT_H

#include <stdbool.h>

struct pool;

#define EXPECT_WAIT_MS 1000	/* longest wait for an endpoint's 100 */

enum expect_peer {
	EXPECT_UNKNOWN = 0,	/* nothing learned yet: ask and wait */
	EXPECT_ANSWERS,		/* it sent a 100: ask and wait */
	EXPECT_IGNORES		/* it never does: answer 100 at once */
};

/* True when the broker should answer 100 itself, at once (p may be NULL). */
bool expect_local(const struct pool *p);

/*
 * What one exchange showed about the endpoint: EXPECT_ANSWERS when it sent
 * a 100; EXPECT_IGNORES when it let EXPECT_WAIT_MS pass without one, or
 * answered a whole body the client sent without a 100.  Logs a change of
 * mind (p may be NULL).
 */
void expect_learn(struct pool *p, enum expect_peer seen);

#endif
