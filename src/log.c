/* SPDX-License-Identifier: MIT */
/*
 * log: the operational log on stderr, in relayd's shape.  Owns the level
 * (an atomic, read by every worker thread), the line format and the
 * journald detection.  Each line is formatted into a stack buffer and
 * written with one write(2), so lines from threads never interleave;
 * overlong lines end in "...".  Control characters in a message (a peer's
 * SNI or Host can reach a log line) become '?', so one call is one line.
 * It does not own the audit log (audit.c).
 */
#include "config.h"

#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define LOG_LINE_MAX	2048	/* longest line written, newline included */

/* Read by worker threads while main may change it (reload). */
static atomic_int log_level = LOG_LVL_INFO;
/* Set by log_init() before threads start; atomic so TSan agrees. */
static atomic_bool log_journal;

static const struct {
	const char *name;
	int prio;		/* syslog priority for journald's "<N>" */
} log_levels[] = {
	[LOG_LVL_ERROR] = { "error", 3 },
	[LOG_LVL_WARNING] = { "warning", 4 },
	[LOG_LVL_NOTICE] = { "notice", 5 },
	[LOG_LVL_INFO] = { "info", 6 },
	[LOG_LVL_DEBUG] = { "debug", 7 },
};

const char *
log_level_str(enum log_level lvl)
{
	if ((unsigned)lvl >= sizeof(log_levels) / sizeof(log_levels[0]))
		return "?";
	return log_levels[lvl].name;
}

/*
 * systemd sets JOURNAL_STREAM to "DEV:INODE" of the stream it connected to
 * stderr.  Comparing it with fstat(2) (as systemd.exec(5) advises) instead
 * of testing only that the variable is set keeps "<6>" out of a file when
 * the unit's command redirects stderr, or when a child inherits the
 * variable with another stderr.
 */
static bool
log_stderr_is_journal(void)
{
	const char *js;
	unsigned long long dev, ino;
	struct stat st;

	if ((js = getenv("JOURNAL_STREAM")) == NULL)
		return false;
	if (sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) == -1)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(enum log_level level)
{
	atomic_store(&log_journal, log_stderr_is_journal());
	log_set_level(level);
}

bool
log_to_journal(void)
{
	return atomic_load(&log_journal);
}

void
log_set_level(enum log_level level)
{
	if (level > LOG_LVL_DEBUG)
		level = LOG_LVL_DEBUG;
	atomic_store_explicit(&log_level, (int)level, memory_order_relaxed);
}

bool
log_enabled(enum log_level level)
{
	return (int)level <=
	    atomic_load_explicit(&log_level, memory_order_relaxed);
}

/* A line being built; once full, later text is dropped. */
struct log_line {
	char buf[LOG_LINE_MAX];
	size_t len;		/* < LOG_LINE_MAX - 1: room for the newline */
	bool truncated;
};

static void
log_line_addv(struct log_line *l, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
log_line_addv(struct log_line *l, const char *fmt, va_list ap)
{
	size_t room = sizeof(l->buf) - 1 - l->len;	/* keep one for '\n' */
	int n;

	if (l->truncated)
		return;
	n = vsnprintf(l->buf + l->len, room, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= room) {
		l->len += room - 1;	/* vsnprintf wrote room - 1 and a NUL */
		l->truncated = true;
	} else
		l->len += (size_t)n;
}

static void
log_line_add(struct log_line *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
log_line_add(struct log_line *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line_addv(l, fmt, ap);
	va_end(ap);
}

/*
 * Formats and writes one line.  errnum != 0 appends ": strerror(errnum)".
 * Callers have checked the level.  errno is preserved.
 */
static void
log_vemit(enum log_level lvl, int errnum, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
log_vemit(enum log_level lvl, int errnum, const char *fmt, va_list ap)
{
	struct log_line l;
	char ebuf[128];
	size_t i, msg_start;
	ssize_t n;
	int saved = errno;

	if (lvl > LOG_LVL_DEBUG)
		lvl = LOG_LVL_DEBUG;
	l.len = 0;
	l.truncated = false;
	if (atomic_load(&log_journal))
		log_line_add(&l, "<%d>", log_levels[lvl].prio);
	else
		log_line_add(&l, "tlsbroker[%ld]: ", (long)getpid());
	log_line_add(&l, "%s: ", log_levels[lvl].name);
	msg_start = l.len;
	log_line_addv(&l, fmt, ap);
	if (errnum != 0) {
		/* GNU strerror_r (AC_USE_SYSTEM_EXTENSIONS): thread-safe. */
		log_line_add(&l, ": %s", strerror_r(errnum, ebuf, sizeof(ebuf)));
	}
	for (i = msg_start; i < l.len; i++) {
		if ((unsigned char)l.buf[i] < 0x20 || l.buf[i] == 0x7f)
			l.buf[i] = '?';
	}
	if (l.truncated)
		memcpy(l.buf + l.len - 3, "...", 3);
	l.buf[l.len++] = '\n';

	/* Stderr is blocking; a short write is not retried (one line, one write). */
	do {
		n = write(STDERR_FILENO, l.buf, l.len);
	} while (n == -1 && errno == EINTR);
	errno = saved;
}

#define LOG_BODY(lvl, errnum) do {				\
	va_list ap;						\
	int saved_ = errno;					\
								\
	if (log_enabled(lvl)) {					\
		va_start(ap, fmt);				\
		log_vemit((lvl), (errnum), fmt, ap);		\
		va_end(ap);					\
	}							\
	errno = saved_;						\
} while (0)

void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERROR, 0);
}

void
log_warn(const char *fmt, ...)
{
	int errnum = errno;

	LOG_BODY(LOG_LVL_WARNING, errnum);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_WARNING, 0);
}

void
log_notice(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_NOTICE, 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_INFO, 0);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_DEBUG, 0);
}

void
log_at(enum log_level lvl, const char *fmt, ...)
{
	LOG_BODY(lvl, 0);
}

/* fatal and fatalx log at error level whatever the configured level. */
void
fatal(const char *fmt, ...)
{
	va_list ap;
	int errnum = errno;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERROR, errnum, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

/*
 * Drains the whole queue even when lvl is disabled, so a stale error can
 * never be misread by the next SSL_get_error() on this thread.  Each entry
 * reads like openssl(1)'s "error:0A00014D:SSL routines:FUNC:REASON:DATA".
 */
void
log_ssl_errors(enum log_level lvl, const char *what)
{
	struct log_line l;
	const char *func, *data, *lib, *reason;
	unsigned long e;
	bool enabled = log_enabled(lvl);
	int flags, saved = errno;

	l.len = 0;
	l.truncated = false;
	l.buf[0] = '\0';
	/* Reason texts exist only once libssl loaded them (idempotent). */
	if (enabled)
		(void)OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS |
		    OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL);
	while ((e = ERR_get_error_all(NULL, NULL, &func, &data, &flags)) != 0) {
		if (!enabled)
			continue;
		lib = ERR_lib_error_string(e);
		reason = ERR_reason_error_string(e);
		log_line_add(&l, "%serror:%08lX:%s:%s:", l.len > 0 ? "; " : "",
		    e, lib != NULL ? lib : "lib", func != NULL ? func : "");
		if (reason != NULL)
			log_line_add(&l, "%s", reason);
		else
			log_line_add(&l, "reason(%d)", ERR_GET_REASON(e));
		if ((flags & ERR_TXT_STRING) && data != NULL && *data != '\0')
			log_line_add(&l, ":%s", data);
	}
	if (enabled)
		log_at(lvl, "%s: %s", what,
		    l.len > 0 ? l.buf : "no OpenSSL error queued");
	errno = saved;
}

bool
log_ratelimit_ok(struct log_ratelimit *rl, uint64_t now, unsigned *dropped)
{
	*dropped = 0;
	if (rl->window_start == 0 || now - rl->window_start >= LOG_RL_WINDOW_MS) {
		*dropped = rl->suppressed;
		rl->window_start = now;
		rl->lines = 0;
		rl->suppressed = 0;
	}
	if (rl->lines >= LOG_RL_BURST) {
		rl->suppressed++;
		return false;
	}
	rl->lines++;
	return true;
}
