/* SPDX-License-Identifier: MIT */
/*
 * json: the project's one JSON writer and a strict reader.  The writer
 * writes one object, with nested objects and arrays, into a caller's fixed
 * buffer, with RFC 8259 string escaping (control characters as \u00XX,
 * invalid UTF-8 bytes replaced by U+FFFD); used by audit (flat records)
 * and probe (its --json report).  Overflow is sticky: json_finish()
 * then reports it instead of emitting a truncated object.  Misuse (a close
 * without an open, nesting deeper than JSON_MAX_DEPTH, a level left open)
 * is reported the same way.  The strict pull reader (json_rd_*) reads JSON
 * files the operator supplies (servicetag.c): no allocation, bounded
 * nesting, the first error kept with its byte offset.
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

/* ---- reading ------------------------------------------------------------ */

#define JSON_RD_MAX_DEPTH 64	/* deeper nesting is an error */

enum json_type {
	JSON_T_ERROR = -1,	/* bad input: json_rd.err says why */
	JSON_T_END = 0,		/* nothing but blanks left */
	JSON_T_OBJECT,
	JSON_T_ARRAY,
	JSON_T_STRING,
	JSON_T_NUMBER,
	JSON_T_BOOL,
	JSON_T_NULL
};

/*
 * A position in one JSON text.  A plain value: copying it remembers a
 * position to read from again.  After an error every call fails.
 */
struct json_rd {
	const char *text;	/* not owned */
	const char *p;		/* next byte */
	const char *end;
	unsigned depth;		/* containers entered */
	uint64_t is_obj;	/* bit d: the container at depth d is an object */
	uint64_t first;		/* bit d: no member of it read yet */
	const char *err;	/* static text, NULL while all is well */
	size_t err_off;		/* byte offset of the error */
};

void json_rd_init(struct json_rd *r, const char *text, size_t len);
/* The type of the next value (blanks skipped), without consuming it. */
enum json_type json_rd_peek(struct json_rd *r);
/* Consumes the '{' or '[' of the next value; 0 / -1. */
int json_rd_enter(struct json_rd *r);
/*
 * Moves to the next member of the container entered last: 1 when there is
 * one (in an object its name is read, and decoded into key when key is not
 * NULL; a name that does not fit in keycap bytes is given as ""), 0 when
 * the container ended (its bracket is consumed), -1 on bad input.
 */
int json_rd_next(struct json_rd *r, char *key, size_t keycap);
/*
 * Reads a string value, decoded (escapes resolved, UTF-8), into buf (cap
 * bytes, NUL-terminated, cut if longer); *len gets its full decoded length,
 * so *len >= cap says it was cut.  0 / -1.
 */
int json_rd_string(struct json_rd *r, char *buf, size_t cap, size_t *len);
/* Reads a number that is an integer in int64_t range; 0 / -1. */
int json_rd_int(struct json_rd *r, int64_t *v);
/* Skips the next value, whatever it holds; 0 / -1. */
int json_rd_skip(struct json_rd *r);
/* 0 when only blanks are left, -1 otherwise. */
int json_rd_finish(struct json_rd *r);

#endif
