/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "route.h"

#include <ctype.h>
#include <string.h>

#include "conf.h"

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
route_host_normalize(const char *in, size_t len, char *out, size_t cap)
{
	size_t i, n = 0;
	const char *end;

	if (len == 0 || cap == 0)
		return false;
	if (in[0] == '[') {
		/* [v6]:port */
		if ((end = memchr(in, ']', len)) == NULL)
			return false;
		in++;
		len = (size_t)(end - in);
	} else if ((end = memchr(in, ':', len)) != NULL)
		len = (size_t)(end - in);
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len >= cap)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (!isalnum(c) && c != '-' && c != '.' && c != '_' && c != ':')
			return false;
		out[n++] = (char)tolower(c);
	}
	out[n] = '\0';
	return true;
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
    const char *path)
{
	const struct route_conf *best = NULL, *rc;
	int rank, best_rank = 0;
	size_t plen, best_plen = 0;
	unsigned i;

	for (i = 0; i < conf->nroutes; i++) {
		rc = &conf->routes[i];
		if (rc->listener_index != li || rc->mode != ROUTE_MODE_HTTP)
			continue;
		if ((rank = host_rank(rc->host, host)) == 0)
			continue;
		plen = 0;
		if (rc->path != NULL) {
			plen = strlen(rc->path);
			if (path == NULL || strncmp(path, rc->path, plen) != 0)
				continue;
		}
		/* host specificity first, then the longest prefix */
		if (rank > best_rank || (rank == best_rank && plen > best_plen)) {
			best = rc;
			best_rank = rank;
			best_plen = plen;
		}
	}
	return best;
}
