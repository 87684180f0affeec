/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "route.h"

#include <ctype.h>
#include <string.h>

#include "conf.h"
#include "http1.h"

bool
route_host_match(const char *pattern, const char *host)
{
	size_t plen, hlen;

	if (pattern == NULL)
		return true;
	if (host == NULL)
		return false;
	if (pattern[0] == '*' && pattern[1] == '.') {
		plen = strlen(pattern + 1);	/* ".example.com" */
		hlen = strlen(host);
		return hlen > plen && strcmp(host + hlen - plen, pattern + 1) == 0;
	}
	return strcmp(pattern, host) == 0;
}

bool
route_host_lower(const char *name, size_t len, char *out, size_t cap)
{
	size_t i;

	if (cap == 0)
		return false;
	out[0] = '\0';
	if (len > 1 && name[len - 1] == '.')
		len--;		/* "example.com." is example.com */
	if (len == 0 || len >= cap)
		return false;
	for (i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)name[i]);
	out[len] = '\0';
	return true;
}

bool
route_host_normalize(const char *in, size_t len, char *out, size_t cap)
{
	struct http1_span h;

	if (cap > 0)
		out[0] = '\0';
	if (!http1_authority_host(in, len, &h))
		return false;
	return route_host_lower(in + h.off, h.len, out, cap);
}

/*
 * True if the origin-form path starts with prefix (which starts with '/',
 * conf.c); an empty path or a bare query is read with a '/' (route.h).
 */
static bool
path_has_prefix(const char *path, size_t plen, const char *prefix)
{
	size_t n;

	if (plen == 0 || path[0] == '?') {
		if (prefix[0] != '/')
			return false;
		prefix++;
	}
	n = strlen(prefix);
	return n == 0 || (plen >= n && memcmp(path, prefix, n) == 0);
}

/* Ranks how well a route's host fits: 3 exact, 2 wildcard, 1 any, 0 none. */
static int
host_rank(const char *pattern, const char *host)
{
	if (pattern == NULL)
		return 1;
	if (!route_host_match(pattern, host))
		return 0;
	return pattern[0] == '*' ? 2 : 3;
}

const struct route_conf *
route_match_tcp(const struct conf *conf, unsigned li, const char *sni)
{
	const struct route_conf *best = NULL, *rc;
	int rank, best_rank = 0;
	unsigned i;

	for (i = 0; i < conf->nroutes; i++) {
		rc = &conf->routes[i];
		if (rc->listener_index != li || rc->mode != ROUTE_MODE_TCP)
			continue;
		rank = host_rank(rc->host, sni);
		if (rank > best_rank) {
			best = rc;
			best_rank = rank;
		}
	}
	return best;
}

const struct route_conf *
route_match_http(const struct conf *conf, unsigned li, const char *host,
    const char *path, size_t plen)
{
	const struct route_conf *best = NULL, *rc;
	int rank, best_rank = 0;
	size_t len, best_len = 0;
	unsigned i;

	for (i = 0; i < conf->nroutes; i++) {
		rc = &conf->routes[i];
		if (rc->listener_index != li || rc->mode != ROUTE_MODE_HTTP)
			continue;
		if ((rank = host_rank(rc->host, host)) == 0)
			continue;
		len = 0;
		if (rc->path != NULL) {
			if (!path_has_prefix(path, plen, rc->path))
				continue;
			len = strlen(rc->path);
		}
		/* host specificity first, then the longest prefix */
		if (rank > best_rank || (rank == best_rank && len > best_len)) {
			best = rc;
			best_rank = rank;
			best_len = len;
		}
	}
	return best;
}
