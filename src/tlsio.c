/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "tlsio.h"

#include "conf.h"
#include "tlsrec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

static int info_index = -1;

static void
tlsio_info_cb(const SSL *ssl, int where, int ret)
{
	struct tls_info *info;

	if ((where & SSL_CB_ALERT) == 0)
		return;
	if ((info = tlsio_info(ssl)) == NULL)
		return;
	/* ret: alert level in the high byte, description in the low byte */
	if (where & SSL_CB_READ)
		info->alert_recv = ret & 0xff;
	else
		info->alert_sent = ret & 0xff;
}

int
tlsio_init(void)
{
	/*
	 * Ignore openssl.cnf: a host-wide system_default (MinProtocol,
	 * CipherString, Options) would otherwise apply to every SSL_CTX,
	 * weakening the inbound side or changing routes behind our back.
	 * Every parameter is set per SSL_CTX in code instead.
	 */
	if (OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) != 1)
		return -1;
	if (info_index == -1)
		info_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (info_index == -1 || tlsrec_init() == -1)
		return -1;
	return 0;
}

void
tlsio_track(SSL_CTX *ctx)
{
	SSL_CTX_set_info_callback(ctx, tlsio_info_cb);
}

void
tls_info_init(struct tls_info *info)
{
	memset(info, 0, sizeof(*info));
	info->alert_recv = -1;
	info->alert_sent = -1;
}

void
tlsio_attach(SSL *ssl, struct tls_info *info)
{
	SSL_set_ex_data(ssl, info_index, info);
}

struct tls_info *
tlsio_info(const SSL *ssl)
{
	return info_index == -1 ? NULL : SSL_get_ex_data(ssl, info_index);
}

const char *
tls_version_str(int version)
{
	switch (version) {
	case TLS1_VERSION:	return "TLSv1";
	case TLS1_1_VERSION:	return "TLSv1.1";
	case TLS1_2_VERSION:	return "TLSv1.2";
	case TLS1_3_VERSION:	return "TLSv1.3";
	case SSL3_VERSION:	return "SSLv3";
	case 0x0200:		return "SSLv2";
	default:		return "unknown";
	}
}

static void
tls_hs_finish(struct tls_hs *hs, struct tls_hs_result *res)
{
	tls_hs_cancel(hs);
	hs->cb(hs->arg, res);
}

static void tls_hs_eventcb(evutil_socket_t fd, short what, void *arg);

/* One step of the handshake: done, failed, or wait for the socket again. */
static void
tls_hs_step(struct tls_hs *hs)
{
	struct tls_hs_result res;
	uint64_t now;
	int r, e;
	short want;

	memset(&res, 0, sizeof(res));
	ERR_clear_error();
	errno = 0;
	r = SSL_do_handshake(hs->ssl);
	if (r == 1) {
		res.ok = true;
		tls_hs_finish(hs, &res);
		return;
	}
	e = SSL_get_error(hs->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		want = e == SSL_ERROR_WANT_READ ? EV_READ : EV_WRITE;
		now = now_ms();
		if (now >= hs->deadline_ms) {
			res.timeout = true;
			tls_hs_finish(hs, &res);
			return;
		}
		event_del(hs->ev);
		event_assign(hs->ev, event_get_base(hs->ev), hs->fd, want,
		    tls_hs_eventcb, hs);
		event_add_ms(hs->ev, hs->deadline_ms - now);
		return;
	}
	res.ssl_error = e;
	res.sys_errno = e == SSL_ERROR_SYSCALL ? errno : 0;
	res.err = ERR_peek_error();
	if (res.err != 0)
		ERR_error_string_n(res.err, res.err_str, sizeof(res.err_str));
	ERR_clear_error();
	tls_hs_finish(hs, &res);
}

static void
tls_hs_eventcb(evutil_socket_t fd, short what, void *arg)
{
	struct tls_hs *hs = arg;
	struct tls_hs_result res;

	(void)fd;
	if (what & EV_TIMEOUT) {
		memset(&res, 0, sizeof(res));
		res.timeout = true;
		tls_hs_finish(hs, &res);
		return;
	}
	tls_hs_step(hs);
}

int
tls_hs_start(struct tls_hs *hs, struct event_base *base, SSL *ssl, int fd,
    uint64_t timeout_ms, tls_hs_cb cb, void *arg)
{
	hs->ssl = ssl;
	hs->fd = fd;
	hs->cb = cb;
	hs->arg = arg;
	hs->deadline_ms = now_ms() + timeout_ms;
	/* The first step runs from the loop, so cb never runs inside start. */
	hs->ev = event_new(base, fd, EV_WRITE, tls_hs_eventcb, hs);
	if (hs->ev == NULL)
		return -1;
	if (event_add(hs->ev, NULL) == -1) {
		event_free(hs->ev);
		hs->ev = NULL;
		return -1;
	}
	return 0;
}

void
tls_hs_cancel(struct tls_hs *hs)
{
	if (hs->ev != NULL) {
		event_free(hs->ev);
		hs->ev = NULL;
	}
}

void
tlsio_conf_error(struct conf_errors *errs, const struct conf_loc *loc,
    const char *section, const char *key, const char *what,
    const char *fallback)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "%s", fallback);
	ERR_clear_error();
	conf_errors_add_at(errs, loc, section, key, "%s: %s", what, buf);
}
