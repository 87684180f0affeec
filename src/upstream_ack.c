/* SPDX-License-Identifier: MIT */
/*
 * upstream_ack: the acknowledgement watch on reused upstream connections.
 * See upstream_ack.h for the rule.
 */
#include "config.h"

#include "upstream_ack.h"

#include <linux/tcp.h>		/* glibc's struct tcp_info lacks tcpi_bytes_acked */
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <event2/event.h>

#include "clock.h"
#include "sockio.h"
#include "sockopt.h"
#include "upstream.h"

/*
 * A connection that carried an answer this recently is trusted without a
 * system call, as pool.c trusts it without a peek: back-to-back reuse
 * (keep-alive under load) pays nothing for the watch.
 */
#define UPACK_TRUST_MS 20

/* The kernel's TCP_ESTABLISHED (net/tcp_states.h); linux/tcp.h lacks it. */
#define UPACK_TCP_ESTABLISHED 1

bool
upack_bytes_acked(int fd, uint64_t *acked)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
		return false;
	/* older kernels return a shorter struct without the byte counts */
	if (len < offsetof(struct tcp_info, tcpi_bytes_acked) +
	    sizeof(ti.tcpi_bytes_acked))
		return false;
	*acked = ti.tcpi_bytes_acked;
	return true;
}

bool
upack_idle_unanswered(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1 ||
	    len < offsetof(struct tcp_info, tcpi_unacked) + sizeof(ti.tcpi_unacked))
		return false;
	return ti.tcpi_state != UPACK_TCP_ESTABLISHED || ti.tcpi_probes != 0 ||
	    ti.tcpi_unacked != 0;
}

static int
upack_fd(const struct upconn *uc)
{
	return uc->io != NULL ? sockio_fd(uc->io) : -1;
}

bool
upack_none_acked(const struct upconn *uc)
{
	uint64_t acked;

	if (!uc->ack.known || !upack_bytes_acked(upack_fd(uc), &acked))
		return false;
	return acked == uc->ack.base;
}

static void
upack_timeoutcb(evutil_socket_t fd, short what, void *arg)
{
	struct upconn *uc = arg;

	(void)fd;
	(void)what;
	if (uc->magic != UPCONN_MAGIC || uc->ack.cb == NULL)
		return;
	/* Anything acknowledged: the endpoint has the request; nothing to do. */
	if (upack_none_acked(uc))
		uc->ack.cb(uc->ack.arg);
}

void
upack_watch(struct upconn *uc, uint64_t timeout_ms, upack_cb cb, void *arg)
{
	struct upack *a = &uc->ack;

	upack_stop(uc);
	a->idle_ms = now_ms() - uc->idle_since_ms;
	if (a->idle_ms < UPACK_TRUST_MS)
		return;
	a->known = upack_bytes_acked(upack_fd(uc), &a->base);
	if (timeout_ms == 0 || !a->known || uc->io == NULL)
		return;
	if (a->ev == NULL &&
	    (a->ev = evtimer_new(sockio_base(uc->io), upack_timeoutcb,
	    uc)) == NULL)
		return;	/* out of memory: the old rule (response_timeout) holds */
	a->cb = cb;
	a->arg = arg;
	event_add_ms(a->ev, timeout_ms);
}

void
upack_stop(struct upconn *uc)
{
	/* cb is set only with the timer armed: most requests never arm it */
	if (uc->ack.ev != NULL && uc->ack.cb != NULL)
		evtimer_del(uc->ack.ev);
	uc->ack.cb = NULL;
	uc->ack.arg = NULL;
	uc->ack.known = false;
}

void
upack_free(struct upconn *uc)
{
	if (uc->ack.ev != NULL)
		event_free(uc->ack.ev);
	uc->ack.ev = NULL;
	uc->ack.cb = NULL;
	uc->ack.known = false;
}

void
upack_abandon(struct upconn *uc)
{
	int fd = upack_fd(uc);

	uc->ack.abandoned = true;
	if (fd >= 0)
		sockopt_reset_on_close(fd);
}
