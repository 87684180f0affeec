/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "sockaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "parse.h"

void
sockaddr_format(const struct sockaddr *sa, bool with_port, char *buf,
    size_t cap)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
	char ip[INET6_ADDRSTRLEN];
	bool v6 = sa->sa_family == AF_INET6;
	unsigned port;

	if (!v6 && sa->sa_family != AF_INET) {
		snprintf(buf, cap, "unknown");
		return;
	}
	inet_ntop(sa->sa_family, v6 ? (const void *)&s6->sin6_addr :
	    (const void *)&s4->sin_addr, ip, sizeof(ip));
	port = ntohs(v6 ? s6->sin6_port : s4->sin_port);
	if (!with_port)
		snprintf(buf, cap, "%s", ip);
	else
		snprintf(buf, cap, v6 ? "[%s]:%u" : "%s:%u", ip, port);
}

int
hostport_format(const struct hostport *hp, char *buf, size_t cap)
{
	int n;

	n = snprintf(buf, cap, strchr(hp->host, ':') != NULL ? "[%s]:%u" :
	    "%s:%u", hp->host, (unsigned)hp->port);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}
