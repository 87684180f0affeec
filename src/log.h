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
#include <stdint.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARNING,
	LOG_LVL_NOTICE,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG
};

/* "error", "warning"...; "?" for a value out of range. */
const char *log_level_str(enum log_level lvl);
void log_init(enum log_level level);
/* True when stderr is journald's stream (lines then carry "<N>" priorities). */
bool log_to_journal(void);
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

/*
 * A per-route limit on failure lines, so a dead endpoint cannot flood the
 * journal: at most LOG_RL_BURST lines per LOG_RL_WINDOW_MS.  Not locked:
 * each worker keeps its own.
 */
#define LOG_RL_BURST		10
#define LOG_RL_WINDOW_MS	10000

struct log_ratelimit {
	uint64_t window_start;	/* monotonic ms */
	unsigned lines;		/* lines logged in this window */
	unsigned suppressed;	/* lines dropped in this window */
};

/*
 * True if one more line may be logged at now.  When a new window opens
 * after lines were dropped, *dropped gets their number (else 0), for a
 * "N similar lines suppressed" line.
 */
bool log_ratelimit_ok(struct log_ratelimit *rl, uint64_t now, unsigned *dropped);

#endif
