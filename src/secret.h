/* SPDX-License-Identifier: MIT */
/*
 * secret: a route's shared secret header (secret_header = NAME,
 * secret_file = FILE): a one-line addition to the ERP's X++ class that
 * admits only callers who know the value, where the ERP's source
 * addresses are shared with other tenants.  Owns reading the value's file
 * (kept only as a SHA-256 digest), the constant-time check of a request's
 * header against it, and recognising the field so it is stripped before
 * forwarding.  Never logs or returns the value.  The caller answers.
 */
#ifndef TLSBROKER_SECRET_H
#define TLSBROKER_SECRET_H

#include <stdbool.h>
#include <stddef.h>

struct http1_header;
struct route_conf;
struct tb_err;

#define SECRET_MAX_LEN 4096	/* a value longer than this is no header value */
#define SECRET_MIN_GOOD 16	/* shorter ones are warned about */

/*
 * Reads the secret from path: the file's bytes less one final newline
 * (LF or CRLF); visible ASCII and inner blanks only.  Fills digest with its
 * SHA-256 and *len with its length.  0 / -1 with err (errcap bytes), which
 * never quotes the file's content.
 */
int secret_load(const char *path, unsigned char digest[32], size_t *len,
    char *err, size_t errcap);

/*
 * Checks the request's fields (hdrs into buf) against rc's secret.
 * Returns 0 when rc has none or the header matches exactly once; else
 * fills err (client_denied, with the reason) and returns the status to
 * answer: 401 when the header is missing, 403 when it is wrong or sent
 * more than once.
 */
int secret_check(const struct route_conf *rc, const char *buf,
    const struct http1_header *hdrs, size_t nhdrs, struct tb_err *err);

/* True if h is rc's secret header: it is not forwarded. */
bool secret_is_field(const struct route_conf *rc, const char *buf,
    const struct http1_header *h);

#endif
