/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "sockio.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "clock.h"
#include "log.h"
#include "tlsrec.h"

#define SOCKIO_MAGIC 0x534f4931u	/* "SOI1" */

/* The most plaintext one TLS record carries. */
#define SOCKIO_RECORD 16384
/*
 * A plain read asks for one record's worth first and, while the socket
 * fills whole reads, for more: small answers do not reserve 64 KiB, bulk
 * ones take 64 KiB per read(2).
 */
#define SOCKIO_PLAIN_FIRST 16384
#define SOCKIO_PLAIN_MORE 65536
/* Bytes one read event takes at most without a watermark: others get a turn. */
#define SOCKIO_READ_TURN (256 * 1024)
/*
 * Output pieces shorter than this are gathered into one record (up to
 * SOCKIO_GATHER_PIECES of them); longer ones are written where they lie.
 */
#define SOCKIO_GATHER 4096
#define SOCKIO_GATHER_PIECES 8

struct sockio {
	uint32_t magic;
	struct event_base *base;
	int fd;
	SSL *ssl;
	struct tlsrec *rec;		/* not owned: the records after SSL_free */
	int flags;
	struct evbuffer *input;
	struct evbuffer *output;
	struct event ev_read;
	struct event ev_write;
	sockio_data_cb readcb;
	sockio_data_cb writecb;
	sockio_event_cb eventcb;
	void *cbarg;
	size_t read_high;
	size_t write_low;
	struct evbuffer_cb_entry *drain_cb;	/* while suspended at read_high */
	unsigned long ssl_err;			/* of the last SOCKIO_ERROR */
	size_t wpending;		/* the length a WANT_* SSL_write must retry */
	short enabled;			/* EV_READ | EV_WRITE */
	short failed;			/* an event flush() found, for the write event */
	int failed_errno;
	int busy;			/* callbacks of this object running */
	bool dead;			/* freed inside a callback */
	bool read_added;
	bool write_added;
	bool write_scheduled;
	bool corked;			/* sockio_cork(): a flush is coming */
	bool suspended;			/* input at read_high */
	bool read_wants_write;		/* SSL_read said WANT_WRITE */
	bool write_wants_read;		/* SSL_write said WANT_READ */
	bool plain_full;		/* a writev took less than offered */
};

/* What one read or write call came to. */
enum sockio_result {
	SOCKIO_AGAIN = 0,		/* nothing now: wait for the socket */
	SOCKIO_R_EOF = -1,
	SOCKIO_R_ERROR = -2,
};

static void sockio_read_ev(evutil_socket_t fd, short what, void *arg);
static void sockio_write_ev(evutil_socket_t fd, short what, void *arg);
static void sockio_output_cb(struct evbuffer *buf,
    const struct evbuffer_cb_info *info, void *arg);
static void sockio_update_read(struct sockio *io);

static struct sockio *
sockio_from_arg(void *arg)
{
	struct sockio *io = arg;

	if (io == NULL || io->magic != SOCKIO_MAGIC)
		fatalx("sockio callback on a freed or foreign object %p", arg);
	return io;
}

/*
 * The TLS calls, on the SSL or on the tlsrec that took over its records
 * (tlsrec.h): the same semantics, so the paths below serve both.
 */
static bool
sockio_is_tls(const struct sockio *io)
{
	return io->ssl != NULL || io->rec != NULL;
}

static int
sockio_tls_read(struct sockio *io, void *buf, int len)
{
	return io->rec != NULL ? tlsrec_read(io->rec, buf, len) :
	    SSL_read(io->ssl, buf, len);
}

static int
sockio_tls_write(struct sockio *io, const void *buf, int len)
{
	return io->rec != NULL ? tlsrec_write(io->rec, buf, len) :
	    SSL_write(io->ssl, buf, len);
}

static int
sockio_tls_get_error(const struct sockio *io, int r)
{
	return io->rec != NULL ? tlsrec_get_error(io->rec, r) :
	    SSL_get_error(io->ssl, r);
}

bool
sockio_tls_pending(const struct sockio *io)
{
	if (io->rec != NULL)
		return tlsrec_has_pending(io->rec);
	return io->ssl != NULL && SSL_has_pending(io->ssl) == 1;
}

/* A read that said WANT_READ needs a write first (never so for a tlsrec). */
static bool
sockio_tls_read_wants_write(const struct sockio *io)
{
	return io->ssl != NULL && SSL_want(io->ssl) == SSL_WRITING;
}

struct sockio *
sockio_new(struct event_base *base, int fd, SSL *ssl, int flags)
{
	struct sockio *io;

	if ((io = calloc(1, sizeof(*io))) == NULL)
		return NULL;
	io->input = evbuffer_new();
	io->output = evbuffer_new();
	if (io->input == NULL || io->output == NULL ||
	    evbuffer_add_cb(io->output, sockio_output_cb, io) == NULL) {
		if (io->input != NULL)
			evbuffer_free(io->input);
		if (io->output != NULL)
			evbuffer_free(io->output);
		free(io);
		return NULL;
	}
	io->magic = SOCKIO_MAGIC;
	io->base = base;
	io->fd = fd;
	io->ssl = ssl;
	io->flags = flags;
	event_assign(&io->ev_read, base, fd, EV_READ | EV_PERSIST,
	    sockio_read_ev, io);
	event_assign(&io->ev_write, base, fd, EV_WRITE | EV_PERSIST,
	    sockio_write_ev, io);
	/* A retry after WANT_WRITE may find the output's bytes moved (gathered). */
	if (ssl != NULL)
		SSL_set_mode(ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return io;
}

static void
sockio_stop_events(struct sockio *io)
{
	event_del(&io->ev_read);
	event_del(&io->ev_write);
	io->read_added = io->write_added = io->write_scheduled = false;
}

static void
sockio_destroy(struct sockio *io)
{
	sockio_stop_events(io);
	evbuffer_free(io->input);
	evbuffer_free(io->output);
	if (io->flags & SOCKIO_CLOSE_ON_FREE) {
		if (io->ssl != NULL)
			SSL_free(io->ssl);
		if (io->fd != -1)
			close(io->fd);
	}
	io->magic = 0;
	free(io);
}

void
sockio_free(struct sockio *io)
{
	if (io == NULL)
		return;
	if (io->busy > 0) {
		/* a callback of io is running: the memory goes when it returns */
		io->dead = true;
		io->readcb = io->writecb = NULL;
		io->eventcb = NULL;
		sockio_stop_events(io);
		return;
	}
	sockio_destroy(io);
}

/*
 * The event handlers hold io busy while they run, so a callback may free
 * it: sockio_free() then only marks it dead, and this frees it.
 */
static void
sockio_enter(struct sockio *io)
{
	io->busy++;
}

static void
sockio_leave(struct sockio *io)
{
	if (--io->busy == 0 && io->dead)
		sockio_destroy(io);
}

void
sockio_setcb(struct sockio *io, sockio_data_cb readcb, sockio_data_cb writecb,
    sockio_event_cb eventcb, void *arg)
{
	io->readcb = readcb;
	io->writecb = writecb;
	io->eventcb = eventcb;
	io->cbarg = arg;
}

struct evbuffer *
sockio_get_input(struct sockio *io)
{
	return io->input;
}

struct evbuffer *
sockio_get_output(struct sockio *io)
{
	return io->output;
}

void
sockio_use_tlsrec(struct sockio *io, struct tlsrec *rec)
{
	io->rec = rec;
}

void
sockio_tls_shutdown(struct sockio *io)
{
	if (io->rec != NULL)
		tlsrec_shutdown(io->rec);
	else if (io->ssl != NULL) {
		ERR_clear_error();
		SSL_shutdown(io->ssl);
		ERR_clear_error();
	}
}

int
sockio_fd(const struct sockio *io)
{
	return io->fd;
}

SSL *
sockio_ssl(const struct sockio *io)
{
	return io->ssl;
}

struct event_base *
sockio_base(const struct sockio *io)
{
	return io->base;
}

short
sockio_get_enabled(const struct sockio *io)
{
	return io->enabled;
}

unsigned long
sockio_ssl_error(struct sockio *io)
{
	unsigned long e = io->ssl_err;

	io->ssl_err = 0;
	return e;
}

/* ---- scheduling ------------------------------------------------------------ */

/* Runs the write path later in this loop turn, without asking epoll. */
static void
sockio_schedule_write(struct sockio *io)
{
	if ((io->enabled & EV_WRITE) == 0 || io->dead || io->write_scheduled ||
	    io->write_added || io->corked)
		return;
	io->write_scheduled = true;
	event_active(&io->ev_write, EV_WRITE, 1);
}

static void
sockio_output_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct sockio *io = arg;

	(void)buf;
	if (info->n_added > 0)
		sockio_schedule_write(io);
}

/* The input went below read_high: reading resumes. */
static void
sockio_drained_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct sockio *io = arg;

	(void)info;
	if (evbuffer_get_length(buf) >= io->read_high && io->read_high != 0)
		return;
	evbuffer_remove_cb_entry(buf, io->drain_cb);
	io->drain_cb = NULL;
	io->suspended = false;
	sockio_update_read(io);
}

static void
sockio_suspend(struct sockio *io)
{
	if (io->suspended)
		return;
	io->drain_cb = evbuffer_add_cb(io->input, sockio_drained_cb, io);
	if (io->drain_cb == NULL)
		return;		/* out of memory: keep reading past the mark */
	io->suspended = true;
	sockio_update_read(io);
}

/*
 * Registers the read event while reading is wanted, and reads what
 * OpenSSL already holds without waiting for the socket.
 */
static void
sockio_update_read(struct sockio *io)
{
	/* a read waiting to write first must not spin on a readable socket */
	bool want = !io->dead && (((io->enabled & EV_READ) && !io->suspended &&
	    !io->read_wants_write) || io->write_wants_read);

	if (want && !io->read_added) {
		if (event_add(&io->ev_read, NULL) == 0)
			io->read_added = true;
	} else if (!want && io->read_added) {
		event_del(&io->ev_read);
		io->read_added = false;
	}
	if (want && sockio_tls_pending(io))
		event_active(&io->ev_read, EV_READ, 1);
}

/* Waits for EPOLLOUT while output is left (or a read waits for it). */
static void
sockio_update_write(struct sockio *io)
{
	/* a write waiting to read first must not spin on a writable socket */
	bool want = !io->dead && (((io->enabled & EV_WRITE) &&
	    evbuffer_get_length(io->output) > 0 && !io->write_wants_read) ||
	    io->read_wants_write);

	/*
	 * libevent's event_add() does not register an event that is active:
	 * a scheduled write registers when it has run (it calls this again).
	 */
	if (want && !io->write_added && !io->write_scheduled) {
		if (event_add(&io->ev_write, NULL) == 0)
			io->write_added = true;
	} else if (!want && io->write_added) {
		event_del(&io->ev_write);
		io->write_added = false;
	}
}

void
sockio_enable(struct sockio *io, short what)
{
	io->enabled |= what & (EV_READ | EV_WRITE);
	if (what & EV_READ)
		sockio_update_read(io);
	if ((what & EV_WRITE) && evbuffer_get_length(io->output) > 0)
		sockio_schedule_write(io);
}

void
sockio_disable(struct sockio *io, short what)
{
	io->enabled &= (short)~(what & (EV_READ | EV_WRITE));
	if (what & EV_READ)
		sockio_update_read(io);
	/* a failure flush() met is still reported */
	if ((what & EV_WRITE) && !io->read_wants_write && io->failed == 0) {
		event_del(&io->ev_write);	/* a scheduled write too */
		io->write_added = io->write_scheduled = false;
	}
}

void
sockio_setwatermark(struct sockio *io, size_t read_high, size_t write_low)
{
	io->read_high = read_high;
	io->write_low = write_low;
	/* a mark raised or removed may end a suspension at once */
	if (io->suspended && (read_high == 0 ||
	    evbuffer_get_length(io->input) < read_high)) {
		evbuffer_remove_cb_entry(io->input, io->drain_cb);
		io->drain_cb = NULL;
		io->suspended = false;
		sockio_update_read(io);
	}
}

/* ---- failures -------------------------------------------------------------- */

/*
 * What a failed SSL_read/SSL_write means, with the thread's error queue
 * left empty.  A TCP close without close_notify, a reset and EPIPE are an
 * EOF, as with libevent's allow_dirty_shutdown (SSL_OP_IGNORE_UNEXPECTED_EOF
 * turns the first into ZERO_RETURN); a protocol error keeps its reason.
 */
static int
sockio_tls_failure(struct sockio *io, int r, int ssl_error)
{
	switch (ssl_error) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return SOCKIO_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		errno = 0;
		return SOCKIO_R_EOF;
	case SSL_ERROR_SYSCALL:
		if ((r == 0 || r == -1) && ERR_peek_error() == 0)
			return SOCKIO_R_EOF;
		break;
	default:
		break;
	}
	io->ssl_err = ERR_peek_last_error();
	ERR_clear_error();
	return SOCKIO_R_ERROR;
}

/*
 * After a failure: a read failure stops reading (a peer that half-closed
 * still takes what it is owed), a write failure writing, and on TLS
 * reading too (a failed SSL_write leaves nothing to read).
 */
static void
sockio_stop_after(struct sockio *io, short failed)
{
	short stop = (failed & SOCKIO_READING) ? EV_READ :
	    sockio_is_tls(io) ? (EV_READ | EV_WRITE) : EV_WRITE;

	io->read_wants_write = io->write_wants_read = false;
	sockio_disable(io, stop);
}

/* Runs the event callback with errno as the failure left it. */
static void
sockio_report(struct sockio *io, short failed, int sys_errno)
{
	if (io->eventcb == NULL || io->dead)
		return;
	errno = sys_errno;
	io->eventcb(io, failed, io->cbarg);
}

/* ---- reading --------------------------------------------------------------- */

/* One SSL_read into the input: bytes read, or an enum sockio_result. */
static ssize_t
sockio_read_tls(struct sockio *io, size_t room)
{
	struct evbuffer_iovec v;
	int r, e;

	if (room > SOCKIO_RECORD)
		room = SOCKIO_RECORD;
	if (evbuffer_reserve_space(io->input, (ev_ssize_t)room, &v, 1) < 1)
		return SOCKIO_AGAIN;	/* out of memory: try on the next event */
	if (v.iov_len > room)
		v.iov_len = room;
	r = sockio_tls_read(io, v.iov_base, (int)v.iov_len);
	if (r > 0) {
		v.iov_len = (size_t)r;
		evbuffer_commit_space(io->input, &v, 1);
		return r;
	}
	evbuffer_commit_space(io->input, &v, 0);
	e = sockio_tls_get_error(io, r);
	return sockio_tls_failure(io, r, e);
}

/* One readv(2) into the input: bytes read, or an enum sockio_result. */
static ssize_t
sockio_read_plain(struct sockio *io, size_t room, size_t *asked)
{
	struct evbuffer_iovec vec[2];
	struct iovec iov[2];
	ssize_t n;
	size_t left;
	int nvec, i, used;

	nvec = evbuffer_reserve_space(io->input, (ev_ssize_t)room, vec, 2);
	if (nvec < 1)
		return SOCKIO_AGAIN;
	*asked = 0;
	for (i = 0; i < nvec; i++) {
		if (vec[i].iov_len > room - *asked)
			vec[i].iov_len = room - *asked;
		iov[i].iov_base = vec[i].iov_base;
		iov[i].iov_len = vec[i].iov_len;
		*asked += vec[i].iov_len;
	}
	n = readv(io->fd, iov, nvec);
	if (n <= 0) {
		evbuffer_commit_space(io->input, vec, 0);
		if (n == 0) {
			errno = 0;
			return SOCKIO_R_EOF;
		}
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ?
		    SOCKIO_AGAIN : SOCKIO_R_ERROR;
	}
	for (left = (size_t)n, used = 0; used < nvec && left > 0; used++) {
		if (vec[used].iov_len > left)
			vec[used].iov_len = left;
		left -= vec[used].iov_len;
	}
	evbuffer_commit_space(io->input, vec, used);
	return n;
}

/*
 * Reads until the socket (or OpenSSL) has nothing more without a wait,
 * the input reaches read_high, or this turn's share is taken.  Returns
 * the failure met (0: none), with its errno in *sys_errno.
 */
static short
sockio_fill(struct sockio *io, size_t *total, int *sys_errno)
{
	size_t have, room, asked = 0;
	ssize_t n;

	for (;;) {
		have = evbuffer_get_length(io->input);
		if (io->read_high != 0 && have >= io->read_high) {
			sockio_suspend(io);
			return 0;
		}
		if (*total >= SOCKIO_READ_TURN) {
			if (sockio_tls_pending(io))
				event_active(&io->ev_read, EV_READ, 1);
			return 0;
		}
		room = io->read_high != 0 ? io->read_high - have :
		    SOCKIO_PLAIN_MORE;
		if (sockio_is_tls(io))
			n = sockio_read_tls(io, room);
		else {
			if (room > (*total == 0 ? SOCKIO_PLAIN_FIRST : SOCKIO_PLAIN_MORE))
				room = *total == 0 ? SOCKIO_PLAIN_FIRST : SOCKIO_PLAIN_MORE;
			n = sockio_read_plain(io, room, &asked);
		}
		if (n > 0) {
			*total += (size_t)n;
			/* more without another wait: records OpenSSL holds, a full read */
			if (sockio_is_tls(io) ? sockio_tls_pending(io) :
			    (size_t)n == asked)
				continue;
			return 0;
		}
		*sys_errno = errno;
		if (n == SOCKIO_AGAIN) {
			if (sockio_tls_read_wants_write(io)) {
				io->read_wants_write = true;	/* renegotiation, key update */
				sockio_update_read(io);
				sockio_update_write(io);
			}
			return 0;
		}
		return (short)(SOCKIO_READING |
		    (n == SOCKIO_R_EOF ? SOCKIO_EOF : SOCKIO_ERROR));
	}
}

static void sockio_write_now(struct sockio *io, bool callbacks);

/* The read path: every byte read reaches the read callback before a close. */
static void
sockio_do_read(struct sockio *io)
{
	size_t total = 0;
	int sys_errno = 0;
	short failed;

	if (io->write_wants_read) {
		io->write_wants_read = false;
		sockio_update_read(io);
		sockio_update_write(io);
		sockio_write_now(io, true);
		if (io->dead)
			return;
	}
	if ((io->enabled & EV_READ) == 0 || io->suspended || io->read_wants_write)
		return;
	failed = sockio_fill(io, &total, &sys_errno);
	if (failed)
		sockio_stop_after(io, failed);
	if (total > 0 && io->readcb != NULL)
		io->readcb(io, io->cbarg);
	if (failed)
		sockio_report(io, failed, sys_errno);
}

static void
sockio_read_ev(evutil_socket_t fd, short what, void *arg)
{
	struct sockio *io = sockio_from_arg(arg);

	(void)fd;
	(void)what;
	clock_turn_begin();
	sockio_enter(io);
	sockio_do_read(io);
	sockio_leave(io);
	clock_turn_end();
}

/* ---- writing --------------------------------------------------------------- */

/*
 * How much of the output the next record takes: the short pieces at its
 * front gathered (a head and a small body: one record, one write(2)),
 * else the first piece as it lies.  A long piece is never copied to join
 * others: copying costs more than the record it would save.
 */
static size_t
sockio_tls_chunk(struct evbuffer *out, size_t len)
{
	struct evbuffer_iovec v[SOCKIO_GATHER_PIECES];
	size_t chunk = 0;
	int n, i;

	n = evbuffer_peek(out, -1, NULL, v, SOCKIO_GATHER_PIECES);
	if (n > SOCKIO_GATHER_PIECES)
		n = SOCKIO_GATHER_PIECES;
	for (i = 0; i < n && v[i].iov_len < SOCKIO_GATHER &&
	    chunk + v[i].iov_len <= SOCKIO_RECORD; i++)
		chunk += v[i].iov_len;
	if (chunk == 0)
		chunk = n >= 1 ? v[0].iov_len : len;
	return chunk < SOCKIO_RECORD ? chunk : SOCKIO_RECORD;
}

/* One SSL_write of at most a record: bytes written, or an enum sockio_result. */
static ssize_t
sockio_write_tls(struct sockio *io)
{
	size_t len = evbuffer_get_length(io->output), chunk;
	unsigned char *p;
	int r, e;

	if ((chunk = io->wpending) == 0)
		chunk = sockio_tls_chunk(io->output, len);
	if ((p = evbuffer_pullup(io->output, (ev_ssize_t)chunk)) == NULL)
		return SOCKIO_AGAIN;	/* out of memory: try on the next event */
	r = sockio_tls_write(io, p, (int)chunk);
	if (r > 0) {
		io->wpending = 0;
		evbuffer_drain(io->output, (size_t)r);
		return r;
	}
	e = sockio_tls_get_error(io, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		io->wpending = chunk;	/* OpenSSL wants the same length again */
	if (e == SSL_ERROR_WANT_READ)
		io->write_wants_read = true;	/* renegotiation: the peer first */
	return sockio_tls_failure(io, r, e);
}

/* One writev(2) of the output: bytes written, or an enum sockio_result. */
static ssize_t
sockio_write_plain(struct sockio *io)
{
	size_t len = evbuffer_get_length(io->output);
	int n = evbuffer_write(io->output, io->fd);

	if (n > 0) {
		if ((size_t)n < len)
			io->plain_full = true;	/* the socket took less: it is full */
		return n;
	}
	if (n == 0)
		return SOCKIO_R_EOF;
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ?
	    SOCKIO_AGAIN : SOCKIO_R_ERROR;
}

/*
 * Writes until the output is empty or the socket refuses; then the write
 * callback (callbacks: true) or a failure for the write event to report.
 */
static void
sockio_write_now(struct sockio *io, bool callbacks)
{
	size_t wrote = 0;
	int sys_errno = 0;
	short failed = 0;
	ssize_t n;

	io->plain_full = false;
	while ((io->enabled & EV_WRITE) && !io->write_wants_read &&
	    evbuffer_get_length(io->output) > 0) {
		n = sockio_is_tls(io) ? sockio_write_tls(io) : sockio_write_plain(io);
		if (n > 0) {
			wrote += (size_t)n;
			if (io->plain_full)
				break;	/* spare the writev that would say EAGAIN */
			continue;
		}
		if (n != SOCKIO_AGAIN) {
			sys_errno = errno;
			failed = (short)(SOCKIO_WRITING |
			    (n == SOCKIO_R_EOF ? SOCKIO_EOF : SOCKIO_ERROR));
			sockio_stop_after(io, failed);
		}
		break;
	}
	if (io->write_wants_read)
		sockio_update_read(io);
	sockio_update_write(io);
	if (!callbacks) {
		if (failed) {	/* the write event reports it, this turn */
			io->failed = failed;
			io->failed_errno = sys_errno;
			event_active(&io->ev_write, EV_WRITE, 1);
		}
		return;
	}
	if (wrote > 0 && io->writecb != NULL &&
	    evbuffer_get_length(io->output) <= io->write_low) {
		io->writecb(io, io->cbarg);
		if (io->dead)
			return;
	}
	if (failed)
		sockio_report(io, failed, sys_errno);
}

static void
sockio_write_ev(evutil_socket_t fd, short what, void *arg)
{
	struct sockio *io = sockio_from_arg(arg);
	short failed = io->failed;

	(void)fd;
	(void)what;
	io->write_scheduled = false;
	clock_turn_begin();
	sockio_enter(io);
	if (failed) {
		io->failed = 0;
		sockio_report(io, failed, io->failed_errno);
	} else {
		if (io->read_wants_write) {
			io->read_wants_write = false;
			sockio_update_read(io);
			sockio_update_write(io);
			sockio_do_read(io);
		}
		if (!io->dead)
			sockio_write_now(io, true);
	}
	sockio_leave(io);
	clock_turn_end();
}

void
sockio_flush(struct sockio *io)
{
	io->corked = false;
	sockio_write_now(io, false);
}

void
sockio_cork(struct sockio *io)
{
	io->corked = true;
}

void
sockio_uncork(struct sockio *io)
{
	if (!io->corked)
		return;
	io->corked = false;
	if (evbuffer_get_length(io->output) > 0)
		sockio_schedule_write(io);
}
