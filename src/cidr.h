/* SPDX-License-Identifier: MIT */
/*
 * cidr: client allow-lists of IPv4 and IPv6 networks, parsed from
 * "10.0.0.0/8 2001:db8::/32 192.0.2.7" and matched against a sockaddr.
 * Pure; an IPv4-mapped IPv6 client address matches IPv4 networks.
 */
#ifndef TLSBROKER_CIDR_H
#define TLSBROKER_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Transitional: session.c and listener.c still reach sockaddr_format()
 * through conf.h -> cidr.h; drop this once they include sockaddr.h.
 */
#include "sockaddr.h"

struct sockaddr;

struct cidr {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* network, masked; IPv4 in the first 4 bytes */
	unsigned prefix;	/* 0..32 or 0..128 */
};

struct cidr_list {
	struct cidr *items;	/* owned */
	unsigned count;
};

/*
 * Parses a space- or comma-separated list, appending to list.  0 / -1 with
 * err (200 bytes); on error list is unchanged.  A bare address is /32 or
 * /128; a network with host bits set ("10.1.2.3/8") is an error.
 */
int cidr_list_parse(struct cidr_list *list, const char *text, char *err);
/* Parses one "addr[/prefix]" (no blanks) into c, as cidr_list_parse does; 0 / -1 with err. */
int cidr_parse(const char *tok, struct cidr *c, char *err);
/* Appends src's networks to dst; 0, or -1 (out of memory) leaving dst as it was. */
int cidr_list_append(struct cidr_list *dst, const struct cidr *src, unsigned n);
/* True if sa is in a network of list, or if list is empty (no allow-list). */
bool cidr_list_match(const struct cidr_list *list, const struct sockaddr *sa);
void cidr_list_free(struct cidr_list *list);

#endif
