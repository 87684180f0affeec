/* SPDX-License-Identifier: MIT */
/*
 * conf_lines: the physical-line source of the configuration reader.  Owns
 * reading a FILE or a string one line at a time with a hard cap on line
 * and file length, telling read errors from the end, and splitting
 * "key = value ; comment" the way inih 55 does.  It knows nothing of
 * sections, keys or errors: conf.c decides what a line means.
 */
#ifndef TLSBROKER_CONF_LINES_H
#define TLSBROKER_CONF_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CONF_MAX_LINE 1024	/* longest accepted line, without newline */
#define CONF_MAX_SIZE (8 * 1024 * 1024)	/* longest accepted file, in bytes */

/* Input: a FILE, or a NUL-terminated string (fp NULL). */
struct conf_lines {
	FILE *fp;			/* not owned */
	const char *text;		/* not owned */
	size_t pos;			/* next byte of text */
	size_t nread;			/* bytes read so far */
	int read_errno;			/* errno of a failed read, else 0 */
	bool too_big;			/* stopped at CONF_MAX_SIZE */
	char line[CONF_MAX_LINE + 2];	/* the last line, as read (cut after CONF_MAX_LINE + 1) */
};

/*
 * Reads one physical line into in->line, keeping at most CONF_MAX_LINE + 1
 * bytes.  Returns its full length without "\n" or "\r\n", or -1 at end of
 * input (or on a read error, or past CONF_MAX_SIZE: see read_errno and
 * too_big).  *nul is set if the line holds a NUL byte.
 */
long conf_lines_read(struct conf_lines *in, bool *nul);

/*
 * Splits "key = value ; comment" exactly as inih 55 does: the key ends at
 * the first '=' or ':', an inline comment starts at a ';' after a blank.
 * Returns -1 when there is no '=' or ':' before a comment.  Writes NULs
 * into s only when name and value are wanted (name not NULL).
 */
int conf_lines_split(char *s, const char **name, const char **value);

#endif
