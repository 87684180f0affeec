/* SPDX-License-Identifier: MIT */
/*
 * json: the project's one JSON writer.  It writes one object, with nested
 * objects and arrays, into a caller's fixed buffer, with RFC 8259 string
 * escaping (control characters as \u00XX, invalid UTF-8 bytes replaced by
 * U+FFFD).  Pure; used by audit (flat records) and probe (its --json
 * report).  Overflow is sticky: json_finish() then reports it instead of
 * emitting a truncated object.  Misuse (a close without an open, nesting
 * deeper than JSON_MAX_DEPTH, a level left open) is reported the same way.
 */
#ifndef TLSBROKER_JSON_H
#define TLSBROKER_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Open levels at most, the outer object included. */
#define JSON_MAX_DEPTH 16

struct json_buf {
	char *buf;		/* not owned */
	size_t cap;
	size_t len;
	bool overflow;		/* sticky: out of room, or nesting misused */
	unsigned depth;		/* open levels; 1 = the outer object only */
	uint32_t used;		/* bit d: level d has a member already */
	uint32_t array;		/* bit d: level d is an array */
};

void json_begin(struct json_buf *j, char *buf, size_t cap);	/* writes "{" */

/*
 * Members.  key names the member in an object; in an array it must be
 * NULL (the value is an element).  json_str() and json_strn() skip the
 * member when val is NULL; json_null() writes an explicit null.
 */
void json_str(struct json_buf *j, const char *key, const char *val);
void json_strn(struct json_buf *j, const char *key, const char *val, size_t len);
void json_int(struct json_buf *j, const char *key, int64_t val);
void json_uint(struct json_buf *j, const char *key, uint64_t val);
void json_bool(struct json_buf *j, const char *key, bool val);
void json_null(struct json_buf *j, const char *key);

/* Nesting: open an object or array member, then close it with json_close(). */
void json_open_object(struct json_buf *j, const char *key);
void json_open_array(struct json_buf *j, const char *key);
void json_close(struct json_buf *j);

/*
 * Closes the outer object: writes "}\n" and NUL; returns the length
 * without NUL, or -1 on overflow or when a nested level is still open.
 */
long json_finish(struct json_buf *j);

/* Escapes src into dst (cap bytes, NUL-terminated), without quotes; returns false if truncated. */
bool json_escape(char *dst, size_t cap, const char *src, size_t len);

#endif
