/* SPDX-License-Identifier: MIT */
/*
 * fuzz_proxy: libFuzzer target for the PROXY protocol parser.  The parser
 * must agree with itself however the bytes arrive: a header found in the
 * input is found again, with the same addresses, in exactly its own bytes;
 * every shorter prefix asks for more; the signature check agrees with the
 * parse; and a v1 header with addresses, printed again the way a balancer
 * prints it, parses to the same addresses.  Any disagreement aborts.
 * Seeds: corpus/proxy/.
 */
#include "config.h"

#include "proxy_proto.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static bool
same_hdr(const struct proxy_hdr *a, const struct proxy_hdr *b)
{
	return a->version == b->version && a->local == b->local &&
	    memcmp(&a->src, &b->src, sizeof(a->src)) == 0 &&
	    memcmp(&a->dst, &b->dst, sizeof(a->dst)) == 0;
}

/* "ip port" of ss into buf. */
static void
addr_port(const struct sockaddr_storage *ss, char *a, size_t alen, unsigned *port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET) {
		CHECK(inet_ntop(AF_INET, &sin->sin_addr, a, (socklen_t)alen) != NULL);
		*port = ntohs(sin->sin_port);
	} else {
		CHECK(ss->ss_family == AF_INET6);
		CHECK(inet_ntop(AF_INET6, &sin6->sin6_addr, a, (socklen_t)alen) != NULL);
		*port = ntohs(sin6->sin6_port);
	}
}

/* A v1 header printed again from hdr parses to the same addresses. */
static void
v1_round_trip(const struct proxy_hdr *hdr)
{
	char line[PROXY_PROTO_V1_MAX + 64], s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	struct proxy_hdr again;
	unsigned sp, dp;
	int n;

	addr_port(&hdr->src, s, sizeof(s), &sp);
	addr_port(&hdr->dst, d, sizeof(d), &dp);
	n = snprintf(line, sizeof(line), "PROXY %s %s %s %u %u\r\n",
	    hdr->src.ss_family == AF_INET ? "TCP4" : "TCP6", s, d, sp, dp);
	CHECK(n > 0 && (size_t)n < sizeof(line));
	CHECK(proxy_proto_parse((const uint8_t *)line, (size_t)n, &again, NULL, 0) == n);
	CHECK(same_hdr(hdr, &again));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_hdr hdr, again;
	char err[200];
	size_t n, len = size > PROXY_PROTO_MAX + 64 ? PROXY_PROTO_MAX + 64 : size;
	int r, d;

	r = proxy_proto_parse(data, len, &hdr, err, sizeof(err));
	d = proxy_proto_detect(data, len);
	CHECK(r >= PROXY_PROTO_BAD);
	if (r == PROXY_PROTO_NOT)
		CHECK(d == -1);
	else if (r == PROXY_PROTO_BAD) {
		CHECK(d == 1 && err[0] != '\0');
	} else if (r == 0) {
		CHECK(d >= 0 && len < PROXY_PROTO_MAX);
	} else {
		CHECK(d == 1 && (size_t)r <= len && r <= PROXY_PROTO_MAX);
		CHECK(hdr.version == 1 || hdr.version == 2);
		if (hdr.version == 1)
			CHECK(r <= PROXY_PROTO_V1_MAX);
		/* the header alone, then every prefix of it */
		CHECK(proxy_proto_parse(data, (size_t)r, &again, NULL, 0) == r);
		CHECK(same_hdr(&hdr, &again));
		for (n = 0; n < (size_t)r; n++)
			CHECK(proxy_proto_parse(data, n, &again, NULL, 0) == 0);
		if (hdr.version == 1 && !hdr.local)
			v1_round_trip(&hdr);
	}
	return 0;
}
