/* SPDX-License-Identifier: MIT */
/*
 * servicetag: one tag's prefixes from the Azure Service Tags file.  The
 * file is walked once with json.c's pull reader; within a "values" entry
 * the members may come in any order, so the reader's position at
 * "properties" is kept and read again once the entry's name is known to
 * match.  Every prefix is checked by cidr.c as strictly as an allow line
 * (a prefix with host bits set is an error: the file is machine-written,
 * so that means it is damaged).  See servicetag.h.
 */
#include "config.h"

#include "servicetag.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "json.h"

#define ST_NAME_MAX	256	/* longer names cannot match a tag we accept */
#define ST_LIKE_MAX	4	/* names offered when the tag is not found */
#define ST_ERRLEN	200	/* cidr.c's error size */

struct st_scan {
	const char *tag;
	size_t base_len;		/* tag up to its first '.' */
	struct cidr *items;		/* owned until appended */
	unsigned n, cap;
	bool found;
	unsigned nlike;
	char like[ST_LIKE_MAX * 64];	/* "A, B, C" */
	struct servicetag_info *info;
	char *err;
	size_t errcap;
};

static int
st_fail_json(struct st_scan *sc, const struct json_rd *r)
{
	snprintf(sc->err, sc->errcap, "not a Service Tags file: %s at byte %zu",
	    r->err != NULL ? r->err : "unexpected value",
	    r->err != NULL ? r->err_off : (size_t)(r->p - r->text));
	return -1;
}

typedef int st_item_fn(struct st_scan *sc, struct json_rd *r);

/* The array at r, fn called for each element. */
static int
st_array(struct st_scan *sc, struct json_rd *r, st_item_fn *fn)
{
	int more;

	if (json_rd_peek(r) != JSON_T_ARRAY || json_rd_enter(r) == -1)
		return st_fail_json(sc, r);
	while ((more = json_rd_next(r, NULL, 0)) == 1)
		if (fn(sc, r) == -1)
			return -1;
	return more == 0 ? 0 : st_fail_json(sc, r);
}

/* Remembers a name whose part before the first '.' is the tag's. */
static void
st_note_like(struct st_scan *sc, const char *name)
{
	size_t off = strlen(sc->like);

	if (sc->nlike >= ST_LIKE_MAX || strncasecmp(name, sc->tag, sc->base_len) != 0 ||
	    (name[sc->base_len] != '.' && name[sc->base_len] != '\0'))
		return;
	snprintf(sc->like + off, sizeof(sc->like) - off, "%s%.60s",
	    sc->nlike > 0 ? ", " : "", name);
	sc->nlike++;
}

/* One string of "addressPrefixes" into the scan's networks. */
static int
st_prefix(struct st_scan *sc, struct json_rd *r)
{
	char buf[64], cerr[ST_ERRLEN];
	struct cidr *grown;
	size_t len;

	if (json_rd_string(r, buf, sizeof(buf), &len) == -1)
		return st_fail_json(sc, r);
	if (len >= sizeof(buf) || len == 0 || strcspn(buf, " \t,") != len) {
		snprintf(sc->err, sc->errcap, "tag %s: '%.60s' is not an address prefix",
		    sc->tag, buf);
		return -1;
	}
	if (sc->n == sc->cap) {
		sc->cap = sc->cap != 0 ? sc->cap * 2 : 64;
		if ((grown = realloc(sc->items, sc->cap * sizeof(*grown))) == NULL) {
			snprintf(sc->err, sc->errcap, "out of memory");
			return -1;
		}
		sc->items = grown;
	}
	if (cidr_parse(buf, &sc->items[sc->n], cerr) == -1) {
		snprintf(sc->err, sc->errcap, "tag %s: %s", sc->tag, cerr);
		return -1;
	}
	if (sc->items[sc->n].family == AF_INET6)
		sc->info->nv6++;
	else
		sc->info->nv4++;
	sc->n++;
	return 0;
}

/* The "properties" object of the matching entry, read from r. */
static int
st_properties(struct st_scan *sc, struct json_rd *r)
{
	char key[32];
	int more;

	if (json_rd_enter(r) == -1)
		return st_fail_json(sc, r);
	while ((more = json_rd_next(r, key, sizeof(key))) == 1) {
		if (strcmp(key, "changeNumber") == 0 &&
		    json_rd_peek(r) == JSON_T_NUMBER) {
			if (json_rd_int(r, &sc->info->tag_change_number) == -1)
				return st_fail_json(sc, r);
		} else if (strcmp(key, "addressPrefixes") == 0) {
			if (st_array(sc, r, st_prefix) == -1)
				return -1;
		} else if (json_rd_skip(r) == -1)
			return st_fail_json(sc, r);
	}
	return more == 0 ? 0 : st_fail_json(sc, r);
}

/* One entry of "values". */
static int
st_value(struct st_scan *sc, struct json_rd *r)
{
	char key[32], name[ST_NAME_MAX] = "", id[ST_NAME_MAX] = "";
	struct json_rd props;
	bool have_props = false;
	size_t len;
	int more;

	if (json_rd_peek(r) != JSON_T_OBJECT)
		return json_rd_skip(r) == -1 ? st_fail_json(sc, r) : 0;
	sc->info->ntags++;
	if (json_rd_enter(r) == -1)
		return st_fail_json(sc, r);
	while ((more = json_rd_next(r, key, sizeof(key))) == 1) {
		if ((strcmp(key, "name") == 0 || strcmp(key, "id") == 0) &&
		    json_rd_peek(r) == JSON_T_STRING) {
			if (json_rd_string(r, key[0] == 'n' ? name : id, ST_NAME_MAX, &len) == -1)
				return st_fail_json(sc, r);
			if (len >= ST_NAME_MAX)
				(key[0] == 'n' ? name : id)[0] = '\0';
			continue;
		}
		if (strcmp(key, "properties") == 0 && json_rd_peek(r) == JSON_T_OBJECT) {
			props = *r;
			have_props = true;
		}
		if (json_rd_skip(r) == -1)
			return st_fail_json(sc, r);
	}
	if (more == -1)
		return st_fail_json(sc, r);
	st_note_like(sc, name);
	if (strcasecmp(name, sc->tag) != 0 && strcasecmp(id, sc->tag) != 0)
		return 0;
	sc->found = true;
	return have_props ? st_properties(sc, &props) : 0;
}

/* The top-level object. */
static int
st_file(struct st_scan *sc, struct json_rd *r)
{
	char key[32];
	size_t len;
	int more;

	if (json_rd_peek(r) != JSON_T_OBJECT || json_rd_enter(r) == -1) {
		snprintf(sc->err, sc->errcap,
		    "not a Service Tags file: it is not one JSON object");
		return -1;
	}
	while ((more = json_rd_next(r, key, sizeof(key))) == 1) {
		if (strcmp(key, "changeNumber") == 0 && json_rd_peek(r) == JSON_T_NUMBER) {
			if (json_rd_int(r, &sc->info->change_number) == -1)
				return st_fail_json(sc, r);
		} else if (strcmp(key, "cloud") == 0 && json_rd_peek(r) == JSON_T_STRING) {
			if (json_rd_string(r, sc->info->cloud, sizeof(sc->info->cloud), &len) == -1)
				return st_fail_json(sc, r);
		} else if (strcmp(key, "values") == 0 && json_rd_peek(r) == JSON_T_ARRAY) {
			if (st_array(sc, r, st_value) == -1)
				return -1;
		} else if (json_rd_skip(r) == -1)
			return st_fail_json(sc, r);
	}
	if (more == -1 || json_rd_finish(r) == -1)
		return st_fail_json(sc, r);
	return 0;
}

/* The sentence for a tag that is missing or empty. */
static void
st_not_found(struct st_scan *sc)
{
	char change[48] = "";

	if (sc->info->change_number >= 0)
		snprintf(change, sizeof(change), ", changeNumber %lld",
		    (long long)sc->info->change_number);
	if (sc->found)
		snprintf(sc->err, sc->errcap,
		    "tag %s has no address prefixes; refused, as an empty allow list "
		    "would admit every address", sc->tag);
	else if (sc->nlike > 0)
		snprintf(sc->err, sc->errcap, "no tag %s among its %u tags%s; tags like it: %s",
		    sc->tag, sc->info->ntags, change, sc->like);
	else
		snprintf(sc->err, sc->errcap, "no tag %s among its %u tags%s (names are "
		    "like PowerPlatformPlex.WestEurope)", sc->tag, sc->info->ntags, change);
}

int
servicetag_parse(const char *text, size_t len, const char *tag,
    struct cidr_list *list, struct servicetag_info *info, char *err,
    size_t errcap)
{
	struct servicetag_info scratch;
	struct st_scan sc;
	struct json_rd r;
	int rc = -1;

	memset(&sc, 0, sizeof(sc));
	sc.tag = tag;
	sc.base_len = strcspn(tag, ".");
	sc.info = info != NULL ? info : &scratch;
	memset(sc.info, 0, sizeof(*sc.info));
	sc.info->change_number = sc.info->tag_change_number = -1;
	sc.err = err;
	sc.errcap = errcap;
	json_rd_init(&r, text, len);
	if (st_file(&sc, &r) == -1)
		goto out;
	if (sc.n == 0) {
		st_not_found(&sc);
		goto out;
	}
	if (cidr_list_append(list, sc.items, sc.n) == -1) {
		snprintf(err, errcap, "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(sc.items);
	return rc;
}

/* Reads the whole regular file at path into a new buffer; 0 / -1 with err. */
static int
st_read(const char *path, char **text, size_t *len, int64_t *mtime,
    char *err, size_t errcap)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	char *buf = NULL;
	int fd, e;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		e = errno;
		snprintf(err, errcap, "%s: cannot read: %s", path, strerror(e));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)SERVICETAG_MAX_FILE) {
		snprintf(err, errcap, "%s: %s", path, !S_ISREG(st.st_mode) ?
		    "not a regular file" : "larger than 64 MiB; not a Service Tags file");
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errcap, "%s: out of memory", path);
		goto fail;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errcap, "%s: cannot read: %s", path,
			    n == 0 ? "the file shrank while read" : strerror(errno));
			goto fail;
		}
		got += (size_t)n;
	}
	close(fd);
	*text = buf;
	*len = got;
	*mtime = (int64_t)st.st_mtime;
	return 0;
fail:
	if (fd != -1)
		close(fd);
	free(buf);
	return -1;
}

int
servicetag_load(const char *path, const char *tag, struct cidr_list *list,
    struct servicetag_info *info, char *err, size_t errcap)
{
	struct servicetag_info scratch;
	char msg[512];
	size_t len;
	int64_t mtime;
	char *text;
	int rc;

	if (info == NULL)
		info = &scratch;
	if (st_read(path, &text, &len, &mtime, err, errcap) == -1)
		return -1;
	rc = servicetag_parse(text, len, tag, list, info, msg, sizeof(msg));
	free(text);
	info->mtime = mtime;
	if (rc == -1)
		snprintf(err, errcap, "%s: %s", path, msg);
	return rc;
}
