/* SPDX-License-Identifier: MIT */
/*
 * parse: pure value parsers for the config loader and probe.  Each one
 * accepts exactly the documented spellings (no strtoul() leniency: no
 * sign, no leading blanks, no hex) and on failure writes one phrase that
 * quotes the value and says what is allowed.  It knows nothing of keys,
 * files or lines; conf.c adds those.
 */
#include "config.h"

#include "parse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/ssl.h>

/*
 * The value as quoted in an error: long ones (a 1000-byte cipher list) are
 * cut so the phrase saying what is allowed still fits in PARSE_ERRLEN.
 */
static const char *
parse_clip(const char *s, char *buf, size_t len)
{
	if (strlen(s) < 48)
		return s;
	snprintf(buf, len, "%.40s...", s);
	return buf;
}

/* Every parser that quotes its input declares char cb[64]. */
#define CLIP(s) parse_clip((s), cb, sizeof(cb))

/*
 * Reads the leading decimal digits of s into *out.  Returns the number of
 * digits (0 if none) or -1 on uint64 overflow.
 */
static int
parse_digits(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	int n = 0;

	for (; *s >= '0' && *s <= '9'; s++, n++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return n;
}

int
parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err)
{
	char cb[64];
	uint64_t v;
	int n;

	n = parse_digits(s, &v);
	if (n <= 0 || s[n] != '\0' || v < min || v > max) {
		snprintf(err, PARSE_ERRLEN, "'%s' is not a number from %llu to %llu",
		    CLIP(s), (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

/* A number's unit suffix and what it multiplies by. */
struct unit {
	const char *name;
	uint64_t mult;
};

/*
 * Parses digits followed by one of units (exact, case as given) into
 * *out.  Returns 0, or -1 with err "'s' is <too_big>" on overflow and
 * "'s' is <not_one>" when the text is not of that form.
 */
static int
parse_scaled(const char *s, const struct unit *units, uint64_t *out,
    char *err, const char *too_big, const char *not_one)
{
	char cb[64];
	uint64_t v;
	int n;

	if ((n = parse_digits(s, &v)) > 0) {
		for (; units->name != NULL; units++) {
			if (strcmp(s + n, units->name) != 0)
				continue;
			if (v > UINT64_MAX / units->mult) {
				snprintf(err, PARSE_ERRLEN, "'%s' is %s", CLIP(s),
				    too_big);
				return -1;
			}
			*out = v * units->mult;
			return 0;
		}
	}
	snprintf(err, PARSE_ERRLEN, "'%s' is %s", CLIP(s), not_one);
	return -1;
}

int
parse_duration_ms(const char *s, uint64_t *out, char *err)
{
	static const struct unit units[] = {
		{ "", 1000 }, { "s", 1000 }, { "ms", 1 }, { "m", 60 * 1000 },
		{ "h", 60 * 60 * 1000 }, { NULL, 0 }
	};

	return parse_scaled(s, units, out, err, "too long a duration",
	    "not a duration like 250ms, 5s, 2m, 1h (a bare number is seconds)");
}

int
parse_size(const char *s, uint64_t *out, char *err)
{
	static const struct unit units[] = {
		{ "", 1 }, { "k", 1024 }, { "K", 1024 }, { "m", 1024 * 1024 },
		{ "M", 1024 * 1024 }, { "g", 1024 * 1024 * 1024 },
		{ "G", 1024 * 1024 * 1024 }, { NULL, 0 }
	};

	return parse_scaled(s, units, out, err, "too large a size",
	    "not a size like 512, 64k, 1m, 1g (bytes; k = 1024)");
}

int
parse_bool(const char *s, bool *out, char *err)
{
	char cb[64];
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	snprintf(err, PARSE_ERRLEN,
	    "'%s' is not one of yes, no, true, false, on, off, 1, 0", CLIP(s));
	return -1;
}

bool
parse_is_hostname(const char *s, size_t len)
{
	size_t i, label = 0;

	if (len == 0 || len >= HOSTPORT_HOSTLEN)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

bool
parse_is_server_name(const char *s, bool wildcard)
{
	size_t len;

	if (wildcard && s[0] == '*' && s[1] == '.')
		s += 2;
	len = strlen(s);
	return len < 254 && parse_is_hostname(s, len) && s[len - 1] != '.';
}

bool
parse_is_name_char(int c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '-';
}

bool
parse_is_name(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!parse_is_name_char((unsigned char)*s))
			return false;
	return true;
}

int
parse_hostport(const char *s, int default_port, struct hostport *out, char *err)
{
	char cb[64];
	const char *host, *port = NULL, *end;
	struct in6_addr a6;
	char v6[HOSTPORT_HOSTLEN];
	size_t hostlen;
	uint64_t v;

	if (s[0] == '[') {
		host = s + 1;
		if ((end = strchr(host, ']')) == NULL)
			goto bad;
		hostlen = (size_t)(end - host);
		if (hostlen == 0 || hostlen >= sizeof(v6))
			goto bad;
		memcpy(v6, host, hostlen);
		v6[hostlen] = '\0';
		if (inet_pton(AF_INET6, v6, &a6) != 1) {
			snprintf(err, PARSE_ERRLEN, "'%s': '%.60s' is not an IPv6 address", CLIP(s), v6);
			return -1;
		}
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			goto bad;
	} else {
		host = s;
		end = strchr(s, ':');
		if (end != NULL && strchr(end + 1, ':') != NULL) {
			snprintf(err, PARSE_ERRLEN,
			    "'%s': an IPv6 address needs brackets, like [2001:db8::1]:443", CLIP(s));
			return -1;
		}
		if (end == NULL)
			end = s + strlen(s);
		else
			port = end + 1;
		hostlen = (size_t)(end - host);
		if (!parse_is_hostname(host, hostlen))
			goto bad;
	}
	if (port == NULL) {
		if (default_port < 0) {
			snprintf(err, PARSE_ERRLEN, "'%s' has no port; expected host:port", CLIP(s));
			return -1;
		}
		v = (uint64_t)default_port;
	} else if (parse_digits(port, &v) <= 0 || port[strspn(port, "0123456789")] != '\0' ||
	    v < 1 || v > 65535) {
		snprintf(err, PARSE_ERRLEN, "'%s': port '%.20s' is not a number from 1 to 65535",
		    CLIP(s), port);
		return -1;
	}
	memcpy(out->host, host, hostlen);
	out->host[hostlen] = '\0';
	out->port = (uint16_t)v;
	return 0;
bad:
	snprintf(err, PARSE_ERRLEN,
	    "'%s' is not host:port or [IPv6]:port (like backend.example:443)", CLIP(s));
	return -1;
}

static const struct {
	const char *name;
	int version;
} parse_tls_versions[] = {
	{ "1.0", TLS1_VERSION },
	{ "1.1", TLS1_1_VERSION },
	{ "1.2", TLS1_2_VERSION },
	{ "1.3", TLS1_3_VERSION },
};

#define PARSE_NVERSIONS (sizeof(parse_tls_versions) / sizeof(parse_tls_versions[0]))

/* Looks up exactly len bytes of s; 0 if it names no version. */
static int
parse_tls_lookup(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < PARSE_NVERSIONS; i++) {
		if (strlen(parse_tls_versions[i].name) == len &&
		    memcmp(parse_tls_versions[i].name, s, len) == 0)
			return parse_tls_versions[i].version;
	}
	return 0;
}

int
parse_tls_version(const char *s, int *out, char *err)
{
	char cb[64];
	int v;

	if ((v = parse_tls_lookup(s, strlen(s))) == 0) {
		snprintf(err, PARSE_ERRLEN, "'%s' is not one of 1.0, 1.1, 1.2, 1.3", CLIP(s));
		return -1;
	}
	*out = v;
	return 0;
}

int
parse_tls_range(const char *s, struct tls_range *out, char *err)
{
	char cb[64];
	const char *dash;
	size_t lo_len;
	int lo, hi;

	if (strcmp(s, "off") == 0) {
		out->off = true;
		out->min = 0;
		out->max = 0;
		return 0;
	}
	if ((dash = strchr(s, '-')) == NULL) {
		lo = hi = parse_tls_lookup(s, strlen(s));
	} else {
		lo_len = (size_t)(dash - s);
		while (lo_len > 0 && s[lo_len - 1] == ' ')
			lo_len--;
		lo = parse_tls_lookup(s, lo_len);
		dash++;
		while (*dash == ' ')
			dash++;
		hi = parse_tls_lookup(dash, strlen(dash));
	}
	if (lo == 0 || hi == 0) {
		snprintf(err, PARSE_ERRLEN,
		    "'%s' is not one of off, 1.0, 1.1, 1.2, 1.3 or a range like 1.0-1.2", CLIP(s));
		return -1;
	}
	if (lo > hi) {
		snprintf(err, PARSE_ERRLEN,
		    "'%s' is a reversed range; write the lower version first (%s-%s)",
		    CLIP(s), tls_version_name(hi), tls_version_name(lo));
		return -1;
	}
	out->off = false;
	out->min = lo;
	out->max = hi;
	return 0;
}

/* Value of one base64 digit, -1 if c is none. */
static int
parse_b64_digit(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * A SHA-256 digest in base64 is 43 digits and one '='.  Decoded strictly
 * (the two unused bits of the last digit must be zero): a pin is compared
 * byte for byte, so two spellings of one pin would only confuse.
 */
int
parse_spki_pin(const char *s, unsigned char out[32], char *err)
{
	char cb[64];
	static const char prefix[] = "sha256//";
	const char *b;
	unsigned char buf[33];
	uint32_t acc = 0;
	int bits = 0, d;
	size_t i, n = 0;

	if (strncmp(s, prefix, sizeof(prefix) - 1) != 0)
		goto bad;
	b = s + sizeof(prefix) - 1;
	if (strlen(b) != 44 || b[43] != '=')
		goto bad;
	for (i = 0; i < 43; i++) {
		if ((d = parse_b64_digit((unsigned char)b[i])) < 0)
			goto bad;
		acc = (acc << 6) | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (n != 32 || acc != 0)
		goto bad;
	memcpy(out, buf, 32);
	return 0;
bad:
	snprintf(err, PARSE_ERRLEN,
	    "'%s' is not a pin like sha256//BASE64 (44 base64 characters: SHA-256 of the public key)",
	    CLIP(s));
	return -1;
}

const char *
tls_version_name(int version)
{
	size_t i;

	for (i = 0; i < PARSE_NVERSIONS; i++) {
		if (parse_tls_versions[i].version == version)
			return parse_tls_versions[i].name;
	}
	return "?";
}

void
tls_range_format(const struct tls_range *r, char *buf, size_t len)
{
	if (r->off)
		snprintf(buf, len, "off");
	else if (r->min == r->max)
		snprintf(buf, len, "%s", tls_version_name(r->min));
	else
		snprintf(buf, len, "%s-%s", tls_version_name(r->min),
		    tls_version_name(r->max));
}
