/* SPDX-License-Identifier: MIT */
/*
 * secret: the per-route shared secret header.  The value is read once per
 * configuration load and only its SHA-256 is kept; a request's value is
 * hashed and compared with CRYPTO_memcmp(), so neither the comparison's
 * time nor its length check tells a caller how close a guess came.  See
 * secret.h.
 */
#include "config.h"

#include "secret.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "conf.h"
#include "diag.h"
#include "http1.h"

int
secret_load(const char *path, unsigned char digest[32], size_t *len,
    char *err, size_t errcap)
{
	unsigned char buf[SECRET_MAX_LEN + 3];
	struct stat st;
	ssize_t n;
	size_t got = 0, i;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) == -1) {
		snprintf(err, errcap, "'%s': cannot read: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errcap, "'%s': not a regular file", path);
		close(fd);
		return -1;
	}
	do {
		n = read(fd, buf + got, sizeof(buf) - got);
		if (n > 0)
			got += (size_t)n;
	} while ((n > 0 && got < sizeof(buf)) || (n == -1 && errno == EINTR));
	close(fd);
	if (n == -1) {
		snprintf(err, errcap, "'%s': cannot read: %s", path, strerror(errno));
		OPENSSL_cleanse(buf, sizeof(buf));
		return -1;
	}
	if (got > 0 && buf[got - 1] == '\n')
		got -= got > 1 && buf[got - 2] == '\r' ? 2 : 1;
	if (got == 0 || got > SECRET_MAX_LEN) {
		snprintf(err, errcap, "'%s': %s", path, got == 0 ? "empty; it must hold "
		    "the secret on one line" : "longer than 4096 bytes");
		OPENSSL_cleanse(buf, sizeof(buf));
		return -1;
	}
	for (i = 0; i < got; i++) {
		/* a header value: visible ASCII, blanks only inside */
		if (buf[i] > 0x7e || (buf[i] < 0x21 && !(buf[i] == ' ' && i > 0 &&
		    i + 1 < got))) {
			snprintf(err, errcap, "'%s': byte %zu is not visible ASCII (one line, "
			    "no blanks at either end, no control characters)", path, i + 1);
			OPENSSL_cleanse(buf, sizeof(buf));
			return -1;
		}
	}
	SHA256(buf, got, digest);
	*len = got;
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

bool
secret_is_field(const struct route_conf *rc, const char *buf,
    const struct http1_header *h)
{
	return rc->secret_header != NULL && h->name.len == strlen(rc->secret_header) &&
	    strncasecmp(buf + h->name.off, rc->secret_header, h->name.len) == 0;
}

int
secret_check(const struct route_conf *rc, const char *buf,
    const struct http1_header *hdrs, size_t nhdrs, struct tb_err *err)
{
	unsigned char got[SHA256_DIGEST_LENGTH];
	const struct http1_header *h = NULL;
	size_t i, seen = 0;

	if (rc->secret_header == NULL)
		return 0;
	for (i = 0; i < nhdrs; i++)
		if (secret_is_field(rc, buf, &hdrs[i])) {
			h = &hdrs[i];
			seen++;
		}
	if (seen == 0) {
		tb_err_set(err, CR_CLIENT_DENIED, PHASE_REQUEST,
		    "route %s requires the header %s; the request has none",
		    rc->name, rc->secret_header);
		err->hint = "send the route's shared secret in its header (secret_header "
		    "and secret_file of the [route]); see tlsbroker(8), \"Calling from "
		    "finance and operations\"";
		return 401;
	}
	SHA256((const unsigned char *)buf + h->value.off, h->value.len, got);
	if (seen > 1 || CRYPTO_memcmp(got, rc->secret_sha256, sizeof(got)) != 0) {
		tb_err_set(err, CR_CLIENT_DENIED, PHASE_REQUEST, seen > 1 ?
		    "route %s: the header %s came more than once" :
		    "route %s: the header %s does not hold the route's secret",
		    rc->name, rc->secret_header);
		err->hint = "the secret header's value differs from the route's "
		    "secret_file: check what the client sends (the value is never logged)";
		return 403;
	}
	return 0;
}
