/* SPDX-License-Identifier: MIT */
/*
 * sockaddr: the text forms of network addresses that logs, audit records,
 * error messages and requests show: a socket address as "ip:port" and a
 * configured host and port as "host:port", an IPv6 address in brackets in
 * both, so that the port can always be told from the address.  Pure; it
 * neither resolves names nor parses text (parse.c does that).
 */
#ifndef TLSBROKER_SOCKADDR_H
#define TLSBROKER_SOCKADDR_H

#include <stdbool.h>
#include <stddef.h>

struct hostport;
struct sockaddr;

/*
 * Formats sa as "ip:port" ("[v6]:port"), or as the bare address when
 * with_port is false; "unknown" for other families.
 */
void sockaddr_format(const struct sockaddr *sa, bool with_port, char *buf,
    size_t cap);

/*
 * Formats hp as "host:port", an IPv6 literal as "[v6]:port" (the form of an
 * HTTP authority).  Returns the length, or -1 when it did not fit in cap.
 */
int hostport_format(const struct hostport *hp, char *buf, size_t cap);

#endif
