/* SPDX-License-Identifier: MIT */
/*
 * conf_lines: reads the configuration one physical line at a time, with
 * caps on line and file length, for conf.c's inih reader.  See
 * conf_lines.h.
 */
#include "config.h"

#include "conf_lines.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

/* The next byte, or EOF at the end, on a read error or past CONF_MAX_SIZE. */
static int
conf_lines_getc(struct conf_lines *in)
{
	int c;

	if (in->nread >= CONF_MAX_SIZE) {
		/* the file grew since conf_load() looked, or a string is too long */
		in->too_big = true;
		return EOF;
	}
	in->nread++;
	if (in->fp == NULL)
		return in->text[in->pos] != '\0' ? (unsigned char)in->text[in->pos++] : EOF;
	if ((c = getc(in->fp)) == EOF && ferror(in->fp) && in->read_errno == 0)
		in->read_errno = errno != 0 ? errno : EIO;
	return c;
}

long
conf_lines_read(struct conf_lines *in, bool *nul)
{
	size_t n = 0, kept = 0;
	int c, last = 0;

	*nul = false;
	for (;;) {
		c = conf_lines_getc(in);
		if (c == EOF) {
			if (n == 0)
				return -1;
			break;
		}
		if (c == '\n')
			break;
		if (c == '\0')
			*nul = true;
		if (kept < sizeof(in->line) - 1)
			in->line[kept++] = (char)c;
		n++;
		last = c;
	}
	if (last == '\r') {
		n--;
		if (kept > n)
			kept = n;
	}
	in->line[kept] = '\0';
	return (long)n;
}

/* The end of a value: its first ';' after a blank, or its NUL. */
static char *
conf_lines_comment(char *s)
{
	bool was_space = false;

	for (; *s != '\0'; s++) {
		if (was_space && *s == ';')
			break;
		was_space = isspace((unsigned char)*s) != 0;
	}
	return s;
}

/* Cuts the blanks before end off the text that starts at start. */
static void
conf_lines_rtrim(char *start, char *end)
{
	*end = '\0';
	while (end > start && isspace((unsigned char)end[-1]))
		*--end = '\0';
}

int
conf_lines_split(char *s, const char **name, const char **value)
{
	char *sep, *v;
	bool was_space = false;

	for (sep = s; *sep != '\0' && *sep != '=' && *sep != ':'; sep++) {
		if (was_space && *sep == ';')
			return -1;
		was_space = isspace((unsigned char)*sep) != 0;
	}
	if (*sep == '\0')
		return -1;
	if (name == NULL)
		return 0;
	v = sep + 1;
	conf_lines_rtrim(v, conf_lines_comment(v));
	v += strspn(v, " \t\f\v\r");
	conf_lines_rtrim(s, sep);
	*name = s;
	*value = v;
	return 0;
}
