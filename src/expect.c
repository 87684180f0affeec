/* SPDX-License-Identifier: MIT */
/*
 * expect: what a route's endpoint does with Expect: 100-continue, learned
 * per pool (route address and worker, like the pool's HTTP version), from the
 * exchanges themselves.  The broker keeps forwarding Expect when it
 * answers 100 itself, so an endpoint that starts sending 100 is noticed
 * at its next request and waited for again; one that stops is noticed by
 * the wait running out.  See expect.h.
 */
#include "config.h"

#include "expect.h"

#include "conf.h"
#include "log.h"
#include "pool.h"
#include "worker.h"

bool
expect_local(const struct pool *p)
{
	return p != NULL && (p->expect == EXPECT_IGNORES || p->http_version == 10);
}

void
expect_learn(struct pool *p, enum expect_peer seen)
{
	if (p == NULL || p->expect == (int)seen)
		return;
	p->expect = (int)seen;
	log_info("route=%s worker=%u: the endpoint %s Expect: 100-continue; %s",
	    p->rc->name, p->w != NULL ? p->w->id : 0,
	    seen == EXPECT_IGNORES ? "ignores" : "answers",
	    seen == EXPECT_IGNORES ? "the broker now answers 100 at once" :
	    "its 100 (or refusal) is waited for again");
}
