/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "testpair.h"

#include <check.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void
testpair_tcp(int fds[2])
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int ls;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(ls = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(ls, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(ls, 1), 0);
	ck_assert_int_eq(getsockname(ls, (struct sockaddr *)&sin, &len), 0);
	ck_assert_int_ge(fds[0] = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(connect(fds[0], (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_ge(fds[1] = accept(ls, NULL, NULL), 0);
	close(ls);
}
