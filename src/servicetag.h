/* SPDX-License-Identifier: MIT */
/*
 * servicetag: the address prefixes of one Azure service tag, read from the
 * Service Tags JSON file Microsoft publishes weekly (ServiceTags_Public.json:
 * {"changeNumber": N, "cloud": "Public", "values": [{"name": "TAG", "id":
 * "TAG", "properties": {"changeNumber": N, "addressPrefixes": ["a/n",
 * ...], ...}}, ...]}), for `allow = servicetag:FILE:TAG`.  The ERP's
 * outbound addresses change per request within its region's ranges of
 * PowerPlatformPlex, so a hand-kept list breaks; this reads Microsoft's.
 * servicetag_parse() is pure; servicetag_load() reads the file.  It does
 * not decide what is stale (conf_check.c warns) or match clients (cidr.c).
 */
#ifndef TLSBROKER_SERVICETAG_H
#define TLSBROKER_SERVICETAG_H

#include <stddef.h>
#include <stdint.h>

#include "cidr.h"

#define SERVICETAG_MAX_FILE (64u << 20)	/* the public file is a few MiB */

/* Facts about the file and the tag read from it. */
struct servicetag_info {
	int64_t change_number;		/* the file's changeNumber, -1 if absent */
	int64_t tag_change_number;	/* the tag's, -1 if absent */
	unsigned ntags;			/* entries in "values" */
	unsigned nv4, nv6;		/* the tag's prefixes by family */
	char cloud[32];			/* "Public", ...; "" if absent */
	int64_t mtime;			/* servicetag_load: the file's, in seconds */
};

/*
 * Finds tag (its name or id, any case) in the JSON text (len bytes) and
 * appends its prefixes to list.  Returns 0, or -1 with a sentence in err
 * (errcap bytes): bad JSON (with the byte offset), no such tag (with the
 * names that look like it), a tag without prefixes (an empty allow list
 * would admit everyone), or a prefix that is not a network.  On error list
 * is unchanged.  info may be NULL.
 */
int servicetag_parse(const char *text, size_t len, const char *tag,
    struct cidr_list *list, struct servicetag_info *info, char *err,
    size_t errcap);

/*
 * Reads path (a regular file up to SERVICETAG_MAX_FILE bytes) and parses
 * it as servicetag_parse() does; errors name the file.
 */
int servicetag_load(const char *path, const char *tag, struct cidr_list *list,
    struct servicetag_info *info, char *err, size_t errcap);

#endif
