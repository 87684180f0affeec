/* SPDX-License-Identifier: MIT */
/*
 * audit: the JSON-lines audit log.  Owns the audit descriptor (a process
 * global set before worker threads start), the record format (fields in
 * the fixed order the AUDIT LOG section of tlsbroker(8) lists, absent when
 * unknown) and the write path: a record is formatted into a 4 KiB stack
 * buffer and written with one write() on an O_APPEND descriptor, so
 * records from worker threads never interleave and a crash loses no
 * completed record.  A record never leaves as truncated JSON: on overflow
 * the detail is dropped, then the record shrinks to a minimal one.
 * SIGUSR1 reopens the file by dup3()ing a new descriptor onto the old
 * number, which is atomic for the writers.  It does not own the fields'
 * values (sessions fill struct audit_rec) and never sees bodies or
 * credentials.
 *
 * A full disk (or a file size limit) can cut a write short.  A record is
 * never continued with a second write: with several writers the rest would
 * land after somebody else's record.  Instead the writers hold audit_lock
 * (the kernel serialises O_APPEND writes to one file anyway, so it costs
 * next to nothing) and a cut record is taken back with ftruncate() before
 * anybody appends after it: the file holds whole lines only.  Should that
 * fail, or a file we open end inside a line (a crash, kill -9 between two
 * pages of one write), the next record starts with a newline, in the same
 * single write, so it is a whole line of its own.  This assumes the file
 * is ours alone: a second process appending to it could have a record of
 * its own cut by a take-back.
 */
#include "config.h"

#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "json.h"
#include "log.h"
#include "regfile.h"

#define AUDIT_REC_MAX	4096	/* one record, newline included */
#define AUDIT_MODE	0640

/*
 * The descriptor number never changes while workers run: audit_reopen()
 * swaps the file underneath it.  Only audit_open()/audit_close() assign
 * it, before the workers start or after they stopped.
 */
/*
 * Workers read audit_fd for every record while a reload may switch the
 * target, so the target changes without closing anything a worker may be
 * writing to: file_fd, once opened, keeps its number for the life of the
 * process (a new file is dup3()ed onto it), and "-" or "off" only change
 * which number audit_fd holds.
 */
static atomic_int audit_fd = -1;	/* what records go to; -1 = off */
static int file_fd = -1;		/* our file's number, -1 before one was opened */
static char audit_path[PATH_MAX];	/* the file for audit_reopen(), "" if none */
static atomic_bool audit_failing;	/* a write failed: warn once, not per record */
/* Held by writers around the write, and by swaps around the switch. */
static pthread_mutex_t audit_lock = PTHREAD_MUTEX_INITIALIZER;
static bool audit_cut;			/* under audit_lock: the target ends inside a line */

enum audit_level {
	AUDIT_FULL,		/* every field */
	AUDIT_NO_DETAIL,	/* without err.msg, the longest free text */
	AUDIT_MINIMAL		/* ids, close reason and hint only: always fits */
};

void
audit_rec_init(struct audit_rec *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->ts_ms = wall_ms();
	rec->connect_ms = -1;
	rec->handshake_ms = -1;
	rec->ttfb_ms = -1;
	rec->total_ms = -1;
	rec->queue_ms = -1;
	tb_err_clear(&rec->err);
}

void
audit_set_upstream(struct audit_rec *rec, const char *addr)
{
	size_t n = strnlen(addr, sizeof(rec->upstream) - 1);

	memcpy(rec->upstream, addr, n);
	rec->upstream[n] = '\0';
}

/* Writes v as n decimal digits (zero-padded, v < 10^n) at p; returns p + n. */
static char *
audit_digits(char *p, unsigned v, unsigned n)
{
	unsigned i;

	for (i = n; i > 0; i--) {
		p[i - 1] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

/*
 * "2026-11-26T14:03:07" of secs into p (19 bytes); returns false for a
 * year that takes more than four digits, or a time gmtime_r cannot break
 * down.  Written digit by digit: snprintf cost more than all the record's
 * other fields.
 */
static bool
audit_ts_secs(time_t secs, char *p)
{
	struct tm tm;

	if (gmtime_r(&secs, &tm) == NULL || tm.tm_year + 1900 < 0 ||
	    tm.tm_year + 1900 > 9999)
		return false;
	p = audit_digits(p, (unsigned)(tm.tm_year + 1900), 4);
	*p++ = '-';
	p = audit_digits(p, (unsigned)(tm.tm_mon + 1), 2);
	*p++ = '-';
	p = audit_digits(p, (unsigned)tm.tm_mday, 2);
	*p++ = 'T';
	p = audit_digits(p, (unsigned)tm.tm_hour, 2);
	*p++ = ':';
	p = audit_digits(p, (unsigned)tm.tm_min, 2);
	*p++ = ':';
	(void)audit_digits(p, (unsigned)tm.tm_sec, 2);
	return true;
}

/*
 * "2026-11-26T14:03:07.412Z"; ts_ms 0 (never set) means now.  Records of
 * one second share everything up to the milliseconds, so each thread
 * keeps the last second's text and breaks a time down (gmtime_r, with
 * glibc's time zone lock) once a second, not once a record.
 */
static void
audit_ts(uint64_t ts_ms, char *buf, size_t len)
{
	static _Thread_local struct {
		bool valid;
		time_t secs;
		char text[19];
	} last;
	struct tm tm;
	time_t secs;
	char *p = buf;

	if (ts_ms == 0)
		ts_ms = wall_ms();
	secs = (time_t)(ts_ms / 1000);
	if (!last.valid || last.secs != secs) {
		last.valid = audit_ts_secs(secs, last.text);
		last.secs = secs;
	}
	if (last.valid && len >= 25) {
		memcpy(p, last.text, sizeof(last.text));
		p += sizeof(last.text);
		*p++ = '.';
		p = audit_digits(p, (unsigned)(ts_ms % 1000), 3);
		*p++ = 'Z';
		*p = '\0';
		return;
	}
	if (gmtime_r(&secs, &tm) == NULL) {
		(void)snprintf(buf, len, "1970-01-01T00:00:00.000Z");
		return;
	}
	(void)snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (unsigned)(ts_ms % 1000));
}

/* String fields are absent when unknown: NULL or "". */
static void
audit_opt_str(struct json_buf *j, const char *key, const char *val)
{
	if (val != NULL && *val != '\0')
		json_str(j, key, val);
}

static void
audit_opt_ms(struct json_buf *j, const char *key, int64_t ms)
{
	if (ms >= 0)
		json_int(j, key, ms);
}

/* How a field of struct audit_rec is written, and when it is absent. */
enum audit_kind {
	AUDIT_STR,		/* const char *: absent when NULL or "" */
	AUDIT_CHARS,		/* a char array: absent when "" */
	AUDIT_COUNT,		/* unsigned: absent when 0 */
	AUDIT_STATUS,		/* int: absent when 0 */
	AUDIT_BYTES,		/* uint64_t: always there */
	AUDIT_MS,		/* int64_t: absent when < 0 (not measured) */
	AUDIT_UP_BOOL,		/* bool: only with an upstream connection */
	AUDIT_UP_TLS_BOOL	/* bool: only with TLS to the upstream */
};

struct audit_field {
	const char *key;	/* the JSON key, which is the field's name */
	enum audit_kind kind;
	size_t off;		/* offsetof the field in struct audit_rec */
};

#define AUDIT_FIELD(kind, f) { #f, kind, offsetof(struct audit_rec, f) }

/*
 * The fields a minimal record drops, in the order of tlsbroker(8): the
 * client side, the upstream side, then the timings.
 */
static const struct audit_field audit_fields[] = {
	AUDIT_FIELD(AUDIT_STR, listener), AUDIT_FIELD(AUDIT_STR, route),
	AUDIT_FIELD(AUDIT_STR, client), AUDIT_FIELD(AUDIT_STR, sni),
	AUDIT_FIELD(AUDIT_STR, tls), AUDIT_FIELD(AUDIT_STR, cipher),
	AUDIT_FIELD(AUDIT_STR, offered), AUDIT_FIELD(AUDIT_STR, method),
	AUDIT_FIELD(AUDIT_STR, path), AUDIT_FIELD(AUDIT_STATUS, status),
	AUDIT_FIELD(AUDIT_BYTES, bytes_in), AUDIT_FIELD(AUDIT_BYTES, bytes_out),

	AUDIT_FIELD(AUDIT_CHARS, upstream), AUDIT_FIELD(AUDIT_STR, up_tls),
	AUDIT_FIELD(AUDIT_STR, up_cipher), AUDIT_FIELD(AUDIT_UP_BOOL, up_reused),
	AUDIT_FIELD(AUDIT_COUNT, up_tries), AUDIT_FIELD(AUDIT_UP_TLS_BOOL, up_resumed),
	AUDIT_FIELD(AUDIT_COUNT, retries), AUDIT_FIELD(AUDIT_STR, retry_reason),

	AUDIT_FIELD(AUDIT_MS, connect_ms), AUDIT_FIELD(AUDIT_MS, handshake_ms),
	AUDIT_FIELD(AUDIT_MS, ttfb_ms), AUDIT_FIELD(AUDIT_MS, total_ms),
	AUDIT_FIELD(AUDIT_MS, queue_ms),
};

#undef AUDIT_FIELD
#define AUDIT_NFIELDS (sizeof(audit_fields) / sizeof(audit_fields[0]))

#define REC_FIELD(rec, f, type) \
	((const type *)(const void *)((const char *)(rec) + (f)->off))

/*
 * Writes field f of rec unless it is absent.  up_tls says the upstream
 * connection is TLS: up_resumed means nothing without (or with plain TCP).
 */
static void
audit_field_write(struct json_buf *j, const struct audit_rec *rec,
    const struct audit_field *f, bool up_tls)
{
	switch (f->kind) {
	case AUDIT_STR:
		audit_opt_str(j, f->key, *REC_FIELD(rec, f, char *));
		break;
	case AUDIT_CHARS:
		audit_opt_str(j, f->key, REC_FIELD(rec, f, char));
		break;
	case AUDIT_COUNT:
		if (*REC_FIELD(rec, f, unsigned) != 0)
			json_uint(j, f->key, *REC_FIELD(rec, f, unsigned));
		break;
	case AUDIT_STATUS:
		if (*REC_FIELD(rec, f, int) != 0)
			json_int(j, f->key, *REC_FIELD(rec, f, int));
		break;
	case AUDIT_BYTES:
		json_uint(j, f->key, *REC_FIELD(rec, f, uint64_t));
		break;
	case AUDIT_MS:
		audit_opt_ms(j, f->key, *REC_FIELD(rec, f, int64_t));
		break;
	case AUDIT_UP_BOOL:
		if (rec->upstream[0] != '\0')
			json_bool(j, f->key, *REC_FIELD(rec, f, bool));
		break;
	case AUDIT_UP_TLS_BOOL:
		if (up_tls)
			json_bool(j, f->key, *REC_FIELD(rec, f, bool));
		break;
	}
}

#undef REC_FIELD

static long
audit_format_level(const struct audit_rec *rec, char *buf, size_t cap,
    enum audit_level level)
{
	struct json_buf j;
	const struct tb_err *err = &rec->err;
	char ts[80];		/* 25 bytes unless the year has 5+ digits */
	const struct audit_field *f;
	bool up_tls;

	audit_ts(rec->ts_ms, ts, sizeof(ts));
	json_begin(&j, buf, cap);
	json_str(&j, "ts", ts);
	json_uint(&j, "worker", rec->worker);
	json_uint(&j, "conn", rec->conn);
	if (rec->req != 0)
		json_uint(&j, "req", rec->req);
	if (level != AUDIT_MINIMAL) {
		up_tls = rec->up_tls != NULL && *rec->up_tls != '\0' &&
		    strcmp(rec->up_tls, "plain") != 0;
		for (f = audit_fields; f < audit_fields + AUDIT_NFIELDS; f++)
			audit_field_write(&j, rec, f, up_tls);
	}
	json_str(&j, "close", close_reason_str(err->code));
	if (err->code != CR_OK) {
		audit_opt_str(&j, "phase", diag_phase_str(err->phase));
		audit_opt_str(&j, "hint", diag_hint(err));
		audit_opt_str(&j, "alert", err->alert);
		if (level == AUDIT_FULL)
			audit_opt_str(&j, "detail", err->msg);
	}
	if (level == AUDIT_MINIMAL)
		json_str(&j, "audit", "record too long, fields dropped");
	return json_finish(&j);
}

long
audit_format(const struct audit_rec *rec, char *buf, size_t cap)
{
	return audit_format_level(rec, buf, cap, AUDIT_FULL);
}

/*
 * True if the file behind fd ends inside a line.  Read through a second
 * descriptor: ours may be write-only.  Unknown counts as no.
 */
static bool
audit_ends_cut(const char *path, int fd)
{
	struct stat st, rst;
	char last, why[REGFILE_ERRLEN];
	bool cut = false;
	int rfd;

	if (fstat(fd, &st) == -1 || st.st_size == 0 ||
	    (rfd = regfile_open(path, O_RDONLY, 0, why)) == -1)
		return false;
	if (fstat(rfd, &rst) == 0 && rst.st_dev == st.st_dev &&
	    rst.st_ino == st.st_ino &&
	    pread(rfd, &last, 1, rst.st_size - 1) == 1)
		cut = last != '\n';
	(void)close(rfd);
	return cut;
}

/*
 * Opens path (regular files only: a FIFO would block the start with every
 * signal held) and puts it under file_fd's number (the first time: takes
 * it).  *cut says whether the file ends inside a line; if records go to
 * file_fd already (a reopen), the writers learn it at the switch.
 */
static int
audit_swap_in(const char *path, bool *cut)
{
	char why[REGFILE_ERRLEN];
	int fd, saved = 0, r = 0;

	if ((fd = regfile_open(path, O_WRONLY | O_APPEND | O_CREAT, AUDIT_MODE,
	    why)) == -1)
		return -1;
	*cut = audit_ends_cut(path, fd);
	pthread_mutex_lock(&audit_lock);
	if (file_fd == -1)
		file_fd = fd;
	/* dup3, not dup2: dup2 would clear FD_CLOEXEC. */
	else if (dup3(fd, file_fd, O_CLOEXEC) == -1) {
		saved = errno;
		r = -1;
	}
	if (r == 0 && atomic_load(&audit_fd) == file_fd)
		audit_cut = *cut;
	pthread_mutex_unlock(&audit_lock);
	if (fd != file_fd)
		(void)close(fd);
	errno = saved;
	return r;
}

/* Safe while workers write: nothing they may be writing to is closed. */
int
audit_open(const char *path)
{
	bool cut;

	if (path == NULL || strcmp(path, "-") == 0 || strcmp(path, "off") == 0) {
		pthread_mutex_lock(&audit_lock);
		atomic_store(&audit_fd, path != NULL && strcmp(path, "off") == 0 ?
		    -1 : STDERR_FILENO);
		audit_cut = false;
		pthread_mutex_unlock(&audit_lock);
		audit_path[0] = '\0';
		return 0;
	}
	if (strlen(path) >= sizeof(audit_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (audit_swap_in(path, &cut) == -1)
		return -1;
	(void)snprintf(audit_path, sizeof(audit_path), "%s", path);
	pthread_mutex_lock(&audit_lock);
	atomic_store(&audit_fd, file_fd);
	audit_cut = cut;
	pthread_mutex_unlock(&audit_lock);
	return 0;
}

/*
 * What the start would find: an existing path must be a regular file we
 * may append to, a new one needs a directory we may create it in.  The
 * file open now is not checked again: a reload that keeps it does not
 * reopen it.
 */
int
audit_check(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX], why[REGFILE_ERRLEN];
	const char *slash;
	struct stat st;
	int fd;

	if (path == NULL || strcmp(path, "-") == 0 || strcmp(path, "off") == 0 ||
	    (audit_path[0] != '\0' && strcmp(path, audit_path) == 0))
		return 0;
	if (strlen(path) >= sizeof(audit_path)) {
		snprintf(err, errlen, "'%.64s...': longer than %zu bytes", path,
		    sizeof(audit_path) - 1);
		return -1;
	}
	if ((fd = regfile_open(path, O_WRONLY | O_APPEND, 0, why)) != -1) {
		(void)close(fd);
		return 0;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "'%s': cannot open for appending: %s", path, why);
		return -1;
	}
	if ((slash = strrchr(path, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 :
		    (int)(slash - path), path);
	if (stat(dir, &st) == -1) {
		snprintf(err, errlen, "'%s': its directory %s: %s", path, dir,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "'%s': %s is %s, not a directory", path, dir,
		    regfile_kind(st.st_mode));
		return -1;
	}
	if (access(dir, W_OK | X_OK) == -1) {
		snprintf(err, errlen, "'%s': cannot be created in %s: %s", path,
		    dir, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Opens the path anew (logrotate moved the old file) and swaps it in with
 * dup3(): a write in flight on another thread completes on the old file,
 * every later one goes to the new file, and no record is lost or split.
 */
int
audit_reopen(void)
{
	bool cut;

	if (audit_path[0] == '\0')
		return 0;	/* stderr or off: nothing to reopen */
	if (audit_swap_in(audit_path, &cut) == -1)
		return -1;
	atomic_store(&audit_failing, false);
	return 0;
}

/* At exit, with the workers gone. */
void
audit_close(void)
{
	atomic_store(&audit_fd, -1);
	audit_cut = false;
	if (file_fd != -1)
		(void)close(file_fd);
	file_fd = -1;
	audit_path[0] = '\0';
}

/*
 * A record went out short on our own file: take it back, so the file ends
 * where it ended before.  Called under audit_lock, so nothing was appended
 * after it.  If that fails the file now ends inside a line.
 */
static void
audit_take_back(int fd, size_t written)
{
	struct stat st;

	if (fstat(fd, &st) == -1 || (size_t)st.st_size < written ||
	    ftruncate(fd, st.st_size - (off_t)written) == -1)
		audit_cut = true;
}

/*
 * Writes the record (len bytes, with a spare byte before it for the newline
 * that ends a cut line) under audit_lock.  True if all of it went out;
 * *written says how much of the output did.
 */
static bool
audit_put(int fd, const char *rec, size_t len, size_t *written)
{
	const char *p = audit_cut ? rec - 1 : rec;
	size_t want = audit_cut ? len + 1 : len, off = 0;
	ssize_t w;

	for (;;) {
		w = write(fd, p + off, want - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w > 0)
			off += (size_t)w;
		/*
		 * Short on our file: a full disk or a size limit, and one
		 * write per record.  A pipe (stderr) may take a record in
		 * pieces: finish it, no other record comes between under
		 * the lock.
		 */
		if (off == want || w <= 0 || fd == file_fd)
			break;
	}
	*written = off;
	if (off == want) {
		audit_cut = false;
		return true;
	}
	if (off > 0 && fd == file_fd)
		audit_take_back(fd, off);
	else if (off > 0)
		audit_cut = true;
	return false;
}

void
audit_write(const struct audit_rec *rec)
{
	char buf[AUDIT_REC_MAX + 1];	/* a newline, then the record */
	long n;
	size_t put;
	int fd, saved;
	bool done;

	if (atomic_load_explicit(&audit_fd, memory_order_relaxed) == -1)
		return;
	buf[0] = '\n';
	if ((n = audit_format_level(rec, buf + 1, AUDIT_REC_MAX, AUDIT_FULL)) < 0 &&
	    (n = audit_format_level(rec, buf + 1, AUDIT_REC_MAX, AUDIT_NO_DETAIL)) < 0 &&
	    (n = audit_format_level(rec, buf + 1, AUDIT_REC_MAX, AUDIT_MINIMAL)) < 0)
		return;		/* cannot happen: a minimal record is < 2 KiB */

	pthread_mutex_lock(&audit_lock);
	if ((fd = atomic_load(&audit_fd)) == -1) {
		pthread_mutex_unlock(&audit_lock);
		return;
	}
	done = audit_put(fd, buf + 1, (size_t)n, &put);
	saved = errno;
	pthread_mutex_unlock(&audit_lock);
	if (done) {
		if (atomic_load_explicit(&audit_failing, memory_order_relaxed) &&
		    atomic_exchange(&audit_failing, false))
			log_notice("audit: writing records again");
		return;
	}
	if (atomic_exchange(&audit_failing, true))
		return;
	if (put == 0) {
		errno = saved;
		log_warn("audit: record conn=%llu not written",
		    (unsigned long long)rec->conn);
	} else
		log_warnx("audit: record conn=%llu cut short after %zu of %ld "
		    "bytes (disk full?); %s", (unsigned long long)rec->conn,
		    put, n, fd == file_fd ? "taken back" : "its line is cut");
}
