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
	char ip[INET6_ADDRSTRLEN];
	unsigned port;

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		port = ntohs(s6->sin6_port);
		if (with_port)
			snprintf(buf, cap, "[%s]:%u", ip, port);
		else
			snprintf(buf, cap, "%s", ip);
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		port = ntohs(s4->sin_port);
		if (with_port)
			snprintf(buf, cap, "%s:%u", ip, port);
		else
			snprintf(buf, cap, "%s", ip);
	} else
		snprintf(buf, cap, "unknown");
}

int
hostport_format(const struct hostport *hp, char *buf, size_t cap)
{
	int n;

	n = snprintf(buf, cap, strchr(hp->host, ':') != NULL ? "[%s]:%u" :
	    "%s:%u", hp->host, (unsigned)hp->port);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}
