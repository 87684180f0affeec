/* SPDX-License-Identifier: MIT */
/*
 * json: a minimal writer of one JSON object into a caller's fixed buffer,
 * with RFC 8259 string escaping (control characters as \u00XX, invalid
 * UTF-8 bytes replaced by U+FFFD).  Pure; used by audit and metrics.
 * Overflow is sticky: json_finish() then reports it instead of emitting
 * a truncated object.
 */
#ifndef TLSBROKER_JSON_H
#define TLSBROKER_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_buf {
	char *buf;		/* not owned */
	size_t cap;
	size_t len;
	bool overflow;
	bool first;		/* no member written yet */
};

void json_begin(struct json_buf *j, char *buf, size_t cap);	/* writes "{" */
void json_str(struct json_buf *j, const char *key, const char *val);	/* NULL val: skipped */
void json_strn(struct json_buf *j, const char *key, const char *val, size_t len);
void json_int(struct json_buf *j, const char *key, int64_t val);
void json_uint(struct json_buf *j, const char *key, uint64_t val);
void json_bool(struct json_buf *j, const char *key, bool val);
/* Writes "}\n" and NUL; returns the length without NUL, or -1 on overflow. */
long json_finish(struct json_buf *j);

/* Escapes src into dst (cap bytes, NUL-terminated), without quotes; returns false if truncated. */
bool json_escape(char *dst, size_t cap, const char *src, size_t len);

#endif
