/* SPDX-License-Identifier: MIT */
/*
 * conf_err: the collector of configuration errors.  Owns struct
 * conf_errors, the one "FILE:LINE: [section] key: msg" format every check
 * prints in, the cap at CONF_MAX_ERRORS and the scrubbing of control
 * bytes from quoted lines.  It does not decide what is an error: conf.c,
 * conf_check.c and the TLS modules do, and add theirs here.
 */
#ifndef TLSBROKER_CONF_ERR_H
#define TLSBROKER_CONF_ERR_H

#include <stdarg.h>

#define CONF_MAX_ERRORS 100	/* errors kept; reading stops once there are this many */

/* Where a value came from, so later checks point at the right line. */
struct conf_loc {
	const char *file;	/* not owned: struct conf.path */
	int line;		/* 0 = default value */
};

/*
 * Collected errors, printed together.  At most CONF_MAX_ERRORS are kept,
 * then one line that says more were dropped.
 */
struct conf_errors {
	char **msgs;			/* owned */
	unsigned count;
	unsigned cap;
};

/* errs may be NULL in all of these (the error is then only counted by the caller). */
void conf_errors_add(struct conf_errors *errs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * Adds "FILE:LINE: [section] key: msg" for a loc.  section is the text
 * inside the brackets ("listener erp", "broker"); the brackets are added.
 * A NULL section or key is left out ("FILE:LINE: [route x]: msg",
 * "FILE:LINE: msg"); a loc with line 0 (a default) prints "FILE: ...".
 */
void conf_errors_add_at(struct conf_errors *errs, const struct conf_loc *loc,
    const char *section, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The same with a va_list, for wrappers that count their errors. */
void conf_errors_vadd_at(struct conf_errors *errs, const struct conf_loc *loc,
    const char *section, const char *key, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
void conf_errors_free(struct conf_errors *errs);

#endif
