/* SPDX-License-Identifier: MIT */
/*
 * log: the operational log on stderr (for journald), in relayd's shape.
 * log_warn() appends strerror(errno), log_warnx() does not; fatal[x]()
 * log and exit(1).  The level is tested before formatting.  Each line is
 * written with one write(), so lines from worker threads never interleave.
 * With journald (JOURNAL_STREAM set) lines carry "<N>" priority prefixes.
 * It does not own the audit log (audit.c).
 */
#ifndef TLSBROKER_LOG_H
#define TLSBROKER_LOG_H

#include <stdbool.h>

#include "conf.h"

void log_init(enum log_level level);
void log_set_level(enum log_level level);
bool log_enabled(enum log_level level);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Logs at lvl; used by callers that choose the level at run time. */
void log_at(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends the OpenSSL error queue (drained) to a warning line. */
void log_ssl_errors(enum log_level lvl, const char *what);

#endif
