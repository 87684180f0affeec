/* SPDX-License-Identifier: MIT */
/*
 * testpair: connected socket pairs for unit tests.  A loopback TCP pair
 * where AF_UNIX will not do: resets and half-closes behave as on the wire.
 */
#ifndef TLSBROKER_TESTPAIR_H
#define TLSBROKER_TESTPAIR_H

/* fds[0] connected to 127.0.0.1, fds[1] its accepted end (blocking). */
void testpair_tcp(int fds[2]);

#endif
