/* SPDX-License-Identifier: MIT */
/*
 * parse: pure value parsers shared by the config loader and probe:
 * durations, sizes, integers, booleans, host:port / [v6]:port, TLS
 * version names and ranges, SPKI pins.  No allocation except where a
 * function says so; errors are written to a caller buffer as a phrase
 * that says what is allowed (the caller adds file, line and key).
 */
#ifndef TLSBROKER_PARSE_H
#define TLSBROKER_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PARSE_ERRLEN 200
#define HOSTPORT_HOSTLEN 256

struct hostport {
	char host[HOSTPORT_HOSTLEN];	/* name, IPv4 or IPv6 literal (no brackets) */
	uint16_t port;
};

/* A TLS version range; versions are OpenSSL's TLS1_VERSION... values. */
struct tls_range {
	bool off;		/* plain TCP, no TLS */
	int min;		/* e.g. TLS1_VERSION (0x0301) */
	int max;		/* e.g. TLS1_2_VERSION (0x0303) */
};

/*
 * All return 0 on success and -1 on error with a message in err
 * (PARSE_ERRLEN bytes) such as "'5x' is not a duration like 250ms, 5s, 2m".
 */
int parse_duration_ms(const char *s, uint64_t *out, char *err);	/* 250ms 5s 2m 1h; bare number = seconds */
int parse_size(const char *s, uint64_t *out, char *err);		/* 512 64k 1m 1g (binary units) */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err);
int parse_bool(const char *s, bool *out, char *err);		/* yes/no true/false on/off 1/0 */
int parse_hostport(const char *s, int default_port, struct hostport *out, char *err); /* default_port -1: port required */
int parse_tls_version(const char *s, int *out, char *err);	/* 1.0 1.1 1.2 1.3 */
int parse_tls_range(const char *s, struct tls_range *out, char *err);	/* off | 1.0 | 1.0-1.2 */
int parse_spki_pin(const char *s, unsigned char out[32], char *err);	/* sha256//BASE64 (44 chars) */

/* "1.0", "1.2"... for a TLS1_x_VERSION value; "?" otherwise. */
const char *tls_version_name(int version);
/* Formats a range as "1.0-1.2", "1.2" or "off" into buf. */
void tls_range_format(const struct tls_range *r, char *buf, size_t len);

/* A DNS name or IPv4 literal: letters, digits, '-', '_', '.', no empty label. */
bool parse_is_hostname(const char *s, size_t len);

/*
 * A name fit for SNI, a Host match or a certificate check: a host name
 * below 254 bytes without a final dot; with wildcard, "*." may lead.
 */
bool parse_is_server_name(const char *s, bool wildcard);

/*
 * The name rule of [route NAME], [listener NAME] and `listener = NAME`,
 * which probe also follows when it suggests a route name: one or more
 * letters, digits, '_', '.' or '-'.  parse_is_name_char() is that rule
 * for one byte (c as an unsigned char value).
 */
bool parse_is_name_char(int c);
bool parse_is_name(const char *s);

#endif
