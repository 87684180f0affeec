/* SPDX-License-Identifier: MIT */
/*
 * cidr: client allow-lists.  Parses "10.0.0.0/8, 2001:db8::/32 192.0.2.7"
 * into networks and matches a peer's sockaddr against them.  A network
 * written with host bits set ("10.1.2.3/8") is rejected rather than
 * silently masked: it is almost always a typo for a single host or a
 * different prefix, and an allow-list is the wrong place to guess.
 * IPv4-mapped IPv6 networks (::ffff:a.b.c.d/96+) are stored as IPv4 and an
 * IPv4-mapped client (dual-stack socket) matches IPv4 networks.  Pure: no
 * I/O, no globals.
 */
#include "config.h"

#include "cidr.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CIDR_ERRLEN 200
#define CIDR_TOKLEN 64		/* longest "ffff:...:ffff/128" is 43 + 4 */

static const uint8_t cidr_v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* Zeroes every bit of addr (len bytes) past the first prefix bits. */
static void
cidr_mask(uint8_t *addr, size_t len, unsigned prefix)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (prefix >= 8) {
			prefix -= 8;
			continue;
		}
		addr[i] &= (uint8_t)(0xff << (8 - prefix));
		prefix = 0;
	}
}

/* True if the first prefix bits of a and b (len bytes each) are equal. */
static bool
cidr_prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;
	uint8_t m;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	m = (uint8_t)(0xff << (8 - rest));
	return (a[full] & m) == (b[full] & m);
}

/* Parses one "addr[/prefix]" token into c; 0 / -1 with err. */
static int
cidr_parse_one(const char *tok, struct cidr *c, char *err)
{
	char addr[CIDR_TOKLEN], net[INET6_ADDRSTRLEN];
	const char *slash, *p;
	uint8_t masked[16];
	unsigned prefix, max;
	size_t alen;

	slash = strchr(tok, '/');
	alen = slash != NULL ? (size_t)(slash - tok) : strlen(tok);
	if (alen == 0 || alen >= sizeof(addr))
		goto bad;
	memcpy(addr, tok, alen);
	addr[alen] = '\0';
	memset(c, 0, sizeof(*c));
	if (strchr(addr, ':') != NULL) {
		if (inet_pton(AF_INET6, addr, c->addr) != 1)
			goto bad;
		c->family = AF_INET6;
		max = 128;
	} else {
		if (inet_pton(AF_INET, addr, c->addr) != 1)
			goto bad;
		c->family = AF_INET;
		max = 32;
	}
	prefix = max;
	if (slash != NULL) {
		p = slash + 1;
		/* one to three digits: no sign, no blanks (atoi would take them) */
		if (*p == '\0' || strspn(p, "0123456789") != strlen(p) ||
		    strlen(p) > 3)
			goto badprefix;
		prefix = (unsigned)atoi(p);
		if (prefix > max)
			goto badprefix;
	}
	memcpy(masked, c->addr, sizeof(masked));
	cidr_mask(masked, max / 8, prefix);
	if (memcmp(masked, c->addr, max / 8) != 0) {
		inet_ntop(c->family, masked, net, sizeof(net));
		snprintf(err, CIDR_ERRLEN,
		    "'%s' has host bits set; did you mean %s/%u?", tok, net, prefix);
		return -1;
	}
	c->prefix = prefix;
	if (c->family == AF_INET6 && prefix >= 96 &&
	    memcmp(c->addr, cidr_v4mapped_prefix, 12) == 0) {
		/* ::ffff:10.0.0.0/104 is 10.0.0.0/8: store it the way it matches */
		memmove(c->addr, c->addr + 12, 4);
		memset(c->addr + 4, 0, 12);
		c->family = AF_INET;
		c->prefix = prefix - 96;
	}
	return 0;
badprefix:
	snprintf(err, CIDR_ERRLEN, "'%s': the prefix length must be 0 to %u", tok, max);
	return -1;
bad:
	snprintf(err, CIDR_ERRLEN,
	    "'%.60s' is not an IPv4 or IPv6 address or network (like 10.0.0.0/8, 2001:db8::/32)",
	    tok);
	return -1;
}

int
cidr_parse(const char *tok, struct cidr *c, char *err)
{
	return cidr_parse_one(tok, c, err);
}

int
cidr_list_append(struct cidr_list *dst, const struct cidr *src, unsigned n)
{
	struct cidr *grown;

	if (n == 0)
		return 0;
	if ((grown = realloc(dst->items, (dst->count + n) * sizeof(*grown))) == NULL)
		return -1;
	memcpy(grown + dst->count, src, n * sizeof(*src));
	dst->items = grown;
	dst->count += n;
	return 0;
}

int
cidr_list_parse(struct cidr_list *list, const char *text, char *err)
{
	static const char seps[] = " \t,";
	struct cidr *items = NULL, *grown;
	char tok[CIDR_TOKLEN];
	const char *p = text;
	unsigned n = 0;
	size_t len;

	/* Parse everything first so a bad token leaves list as it was. */
	for (;;) {
		p += strspn(p, seps);
		if (*p == '\0')
			break;
		len = strcspn(p, seps);
		if (len >= sizeof(tok)) {
			snprintf(err, CIDR_ERRLEN,
			    "'%.40s...' is not an IPv4 or IPv6 address or network", p);
			goto fail;
		}
		memcpy(tok, p, len);
		tok[len] = '\0';
		p += len;
		if ((grown = realloc(items, (n + 1) * sizeof(*items))) == NULL) {
			snprintf(err, CIDR_ERRLEN, "out of memory");
			goto fail;
		}
		items = grown;
		if (cidr_parse_one(tok, &items[n], err) == -1)
			goto fail;
		n++;
	}
	if (n == 0) {
		snprintf(err, CIDR_ERRLEN,
		    "empty list; expected addresses or networks like 10.0.0.0/8, 2001:db8::/32");
		goto fail;
	}
	if (cidr_list_append(list, items, n) == -1) {
		snprintf(err, CIDR_ERRLEN, "out of memory");
		goto fail;
	}
	free(items);
	return 0;
fail:
	free(items);
	return -1;
}

/*
 * An empty list allows everyone: a listener without "allow" is open, and
 * callers need not test count first.  Unknown families never match a
 * non-empty list.
 */
bool
cidr_list_match(const struct cidr_list *list, const struct sockaddr *sa)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	uint8_t addr[16];
	int family;
	unsigned i;

	if (list == NULL || list->count == 0)
		return true;
	if (sa == NULL)
		return false;
	/* memcpy: sa may be any sockaddr_storage, aligned or not */
	if (sa->sa_family == AF_INET) {
		memcpy(&sin, sa, sizeof(sin));
		memcpy(addr, &sin.sin_addr, 4);
		family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		memcpy(&sin6, sa, sizeof(sin6));
		memcpy(addr, &sin6.sin6_addr, 16);
		family = AF_INET6;
		if (memcmp(addr, cidr_v4mapped_prefix, 12) == 0) {
			memmove(addr, addr + 12, 4);
			family = AF_INET;
		}
	} else
		return false;
	for (i = 0; i < list->count; i++) {
		if (list->items[i].family == family &&
		    cidr_prefix_equal(list->items[i].addr, addr, list->items[i].prefix))
			return true;
	}
	return false;
}

void
cidr_list_free(struct cidr_list *list)
{
	if (list == NULL)
		return;
	free(list->items);
	list->items = NULL;
	list->count = 0;
}
