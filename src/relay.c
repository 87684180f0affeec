/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "relay.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>	/* ev_read, for relay_kick_read() */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <event2/event.h>

/*
 * Room for four full records per read(2): a bulk answer or upload then
 * costs a quarter of the read calls.  With SSL_MODE_RELEASE_BUFFERS the
 * buffer exists only while records wait in it, so idle connections do not
 * keep it.  64 MiB through a TLS 1.0 route, 3 runs of 15 fetches: half
 * the read(2) calls and 2-3% less CPU; keep-alive 1 KiB requests: no
 * change.
 */
#define RELAY_READ_AHEAD_BYTES (4 * (16384 + 325))

void
relay_read_ahead(struct bufferevent *bev)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);

	if (ssl != NULL) {
		SSL_set_read_ahead(ssl, 1);
		SSL_set_default_read_buffer_len(ssl, RELAY_READ_AHEAD_BYTES);
	}
}

bool
relay_tls_pending(struct bufferevent *bev)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);

	return ssl != NULL && SSL_has_pending(ssl);
}

void
relay_kick_read(struct bufferevent *bev)
{
	/*
	 * The bufferevent's own read event runs its read path (SSL_read
	 * into the input, watermarks, callbacks) as if the socket had
	 * become readable.  A partial record costs one EAGAIN read.
	 */
	if ((bufferevent_get_enabled(bev) & EV_READ) && relay_tls_pending(bev))
		event_active(&bev->ev_read, EV_READ, 1);
}

void
relay_enable_read(struct bufferevent *bev)
{
	bufferevent_enable(bev, EV_READ);
	relay_kick_read(bev);
}

/*
 * Marks the second delivery of an event.  libevent passes the flags of
 * bufferevent_trigger_event() to the callback as they are, and uses none
 * above BEV_EVENT_CONNECTED (0x80).
 */
#define RELAY_EV_REDELIVERED 0x4000

bool
relay_event_defer(struct bufferevent *bev, short *what, int sys_errno)
{
	if (*what & RELAY_EV_REDELIVERED) {
		*what &= (short)~RELAY_EV_REDELIVERED;
		return false;
	}
	if ((*what & BEV_EVENT_READING) == 0 ||
	    bufferevent_openssl_get_ssl(bev) == NULL)
		return false;
	/* libevent keeps errno for the deferred call */
	EVUTIL_SET_SOCKET_ERROR(sys_errno);
	bufferevent_trigger_event(bev, (short)(*what | RELAY_EV_REDELIVERED),
	    BEV_TRIG_DEFER_CALLBACKS);
	return true;
}

void
relay_setup(struct bufferevent *bev)
{
	/* Never hold more than RELAY_HIGH read bytes in our input. */
	bufferevent_setwatermark(bev, EV_READ, 0, RELAY_HIGH);
	/* The write callback fires once output drains to half. */
	bufferevent_setwatermark(bev, EV_WRITE, RELAY_HIGH / 2, 0);
}

size_t
relay_move(struct bufferevent *src, struct bufferevent *dst, bool *paused)
{
	struct evbuffer *in = bufferevent_get_input(src);
	struct evbuffer *out = bufferevent_get_output(dst);
	size_t len = evbuffer_get_length(in);

	if (len > 0)
		evbuffer_add_buffer(out, in);
	relay_pause_if_full(src, out, paused);
	return len;
}

void
relay_pause_if_full(struct bufferevent *src, struct evbuffer *out,
    bool *paused)
{
	if (evbuffer_get_length(out) >= RELAY_HIGH && !*paused) {
		bufferevent_disable(src, EV_READ);
		*paused = true;
	}
}

void
relay_rekick_write(struct bufferevent *bev)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		return;
	bufferevent_disable(bev, EV_WRITE);
	bufferevent_enable(bev, EV_WRITE);
}

bool
relay_socket_reset(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	return fd != -1 && getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
	    ti.tcpi_state == TCP_CLOSE;
}

bool
relay_peer_half_closed(struct bufferevent *bev, short what)
{
	return (what & (BEV_EVENT_EOF | BEV_EVENT_READING | BEV_EVENT_ERROR |
	    BEV_EVENT_WRITING)) == (BEV_EVENT_EOF | BEV_EVENT_READING) &&
	    !relay_socket_reset(bufferevent_getfd(bev));
}

/* libevent's bufferevent_openssl writes at most this much per SSL_write(). */
#define RELAY_SSL_WRITE_MAX 16384

void
relay_ssl_flush(struct bufferevent *bev)
{
	struct evbuffer *out = bufferevent_get_output(bev);
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	struct evbuffer_iovec v;
	size_t len;
	int r;

	if (ssl == NULL)
		return;
	while (evbuffer_get_length(out) > 0 &&
	    evbuffer_peek(out, RELAY_SSL_WRITE_MAX, NULL, &v, 1) >= 1) {
		/* The same first chunk libevent would write, so a retry matches. */
		len = v.iov_len > RELAY_SSL_WRITE_MAX ? RELAY_SSL_WRITE_MAX :
		    v.iov_len;
		/*
		 * Nothing here reads the error queue (libevent and tlsio clear
		 * it before the calls whose errors they read), and
		 * ERR_clear_error() costs ~800 instructions in OpenSSL 3.0:
		 * clear only what a failed write left.
		 */
		if ((r = SSL_write(ssl, v.iov_base, (int)len)) <= 0) {
			ERR_clear_error();
			break;
		}
		evbuffer_drain(out, (size_t)r);
	}
	/* Empty: cancel the write event queued when data was added. */
	if (evbuffer_get_length(out) == 0)
		bufferevent_disable(bev, EV_WRITE);
	else
		bufferevent_enable(bev, EV_WRITE);
}

size_t
relay_read_more(struct bufferevent *bev)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_iovec vec[2];
	struct iovec iov[2];
	size_t have = evbuffer_get_length(in), total = 0;
	ssize_t n;
	int nvec, i;

	if (have >= RELAY_HIGH || bufferevent_openssl_get_ssl(bev) != NULL)
		return 0;
	/* The bufferevent freezes the end of its input; thaw it for this read. */
	evbuffer_unfreeze(in, 0);
	nvec = evbuffer_reserve_space(in, (ev_ssize_t)(RELAY_HIGH - have), vec, 2);
	if (nvec <= 0) {
		evbuffer_freeze(in, 0);
		return 0;
	}
	for (i = 0; i < nvec; i++) {
		iov[i].iov_base = vec[i].iov_base;
		iov[i].iov_len = vec[i].iov_len;
	}
	n = readv(bufferevent_getfd(bev), iov, nvec);
	if (n > 0) {
		size_t left = (size_t)n;
		int used = 0;

		total = left;
		for (i = 0; i < nvec && left > 0; i++, used++) {
			if (vec[i].iov_len > left)
				vec[i].iov_len = left;
			left -= vec[i].iov_len;
		}
		evbuffer_commit_space(in, vec, used);
	} else
		evbuffer_commit_space(in, vec, 0);
	evbuffer_freeze(in, 0);
	return total;
}

bool
relay_resume(struct bufferevent *src, struct bufferevent *dst, bool *paused)
{
	if (!*paused ||
	    evbuffer_get_length(bufferevent_get_output(dst)) >= RELAY_HIGH)
		return false;
	*paused = false;
	relay_enable_read(src);
	return true;
}
