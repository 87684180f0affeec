/* SPDX-License-Identifier: MIT */
/*
 * conf_err: collects configuration errors in one format, so that a single
 * run of tlsbroker -t lists every problem of a file.  See conf_err.h.
 */
#include "config.h"

#include "conf_err.h"

#include <stdio.h>
#include <stdlib.h>

static char *conf_vaprintf(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

/* vasprintf(): a new string, or NULL when out of memory. */
static char *
conf_vaprintf(const char *fmt, va_list ap)
{
	char *s;

	return vasprintf(&s, fmt, ap) < 0 ? NULL : s;
}

/*
 * Appends msg (taking ownership) to errs; drops it if errs is NULL or out
 * of memory.  The error after the last one kept becomes a notice, so a
 * file of garbage cannot grow the list (and the output) without bound.
 */
static void
conf_errors_push(struct conf_errors *errs, char *msg)
{
	char **grown, *p;
	unsigned cap;

	if (errs == NULL || msg == NULL || errs->count > CONF_MAX_ERRORS) {
		free(msg);
		return;
	}
	if (errs->count == CONF_MAX_ERRORS) {
		free(msg);
		if (asprintf(&msg, "too many errors: only the first %d are shown",
		    CONF_MAX_ERRORS) < 0)
			return;
	}
	/* a quoted line of a binary file must not drive the terminal */
	for (p = msg; *p != '\0'; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			*p = '?';
	if (errs->count == errs->cap) {
		cap = errs->cap ? errs->cap * 2 : 8;
		if ((grown = realloc(errs->msgs, cap * sizeof(*grown))) == NULL) {
			free(msg);
			return;
		}
		errs->msgs = grown;
		errs->cap = cap;
	}
	errs->msgs[errs->count++] = msg;
}

void
conf_errors_add(struct conf_errors *errs, const char *fmt, ...)
{
	va_list ap;

	if (errs == NULL)
		return;
	va_start(ap, fmt);
	conf_errors_push(errs, conf_vaprintf(fmt, ap));
	va_end(ap);
}

void
conf_errors_vadd_at(struct conf_errors *errs, const struct conf_loc *loc,
    const char *section, const char *key, const char *fmt, va_list ap)
{
	char where[64] = "", *msg, *full = NULL;
	const char *file, *text;
	int n;

	if (errs == NULL)
		return;
	msg = conf_vaprintf(fmt, ap);
	text = msg != NULL ? msg : "out of memory";
	if (loc != NULL && loc->line > 0)
		snprintf(where, sizeof(where), ":%d", loc->line);
	file = loc != NULL && loc->file != NULL ? loc->file : "?";
	if (section != NULL && key != NULL)
		n = asprintf(&full, "%s%s: [%s] %s: %s", file, where, section, key, text);
	else if (section != NULL)
		n = asprintf(&full, "%s%s: [%s]: %s", file, where, section, text);
	else if (key != NULL)
		n = asprintf(&full, "%s%s: %s: %s", file, where, key, text);
	else
		n = asprintf(&full, "%s%s: %s", file, where, text);
	free(msg);
	conf_errors_push(errs, n < 0 ? NULL : full);
}

void
conf_errors_add_at(struct conf_errors *errs, const struct conf_loc *loc,
    const char *section, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conf_errors_vadd_at(errs, loc, section, key, fmt, ap);
	va_end(ap);
}

void
conf_errors_free(struct conf_errors *errs)
{
	if (errs == NULL)
		return;
	while (errs->count > 0)
		free(errs->msgs[--errs->count]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->cap = 0;
}
