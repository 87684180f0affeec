/* SPDX-License-Identifier: MIT */
/*
 * sockopt: TCP_NODELAY and keepalive for client and upstream sockets.  The
 * first probe goes out after keepalive_ms of silence, then one every sixth
 * of that while unanswered, SOCKOPT_KA_PROBES of them: with the default
 * 60 s, a quiet connection shows traffic every minute (well inside a 4
 * minute idle limit) and a dead peer is given up 60 s after the first
 * unanswered probe.  See sockopt.h.
 */
#include "config.h"

#include "sockopt.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

void
sockopt_tcp(int fd, uint64_t keepalive_ms)
{
	int one = 1, idle, intvl, cnt = SOCKOPT_KA_PROBES;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (keepalive_ms == 0)
		return;
	/* the kernel counts in whole seconds, at most 32767 */
	idle = keepalive_ms >= 32767000 ? 32767 : (int)(keepalive_ms / 1000);
	if (idle < 1)
		idle = 1;
	intvl = idle / SOCKOPT_KA_PROBES > 0 ? idle / SOCKOPT_KA_PROBES : 1;
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

void
sockopt_reset_on_close(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}
