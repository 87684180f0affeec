/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "reply.h"

#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

const char *
reply_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default:  return "Error";
	}
}

int
reply_error(struct evbuffer *out, int status, const char *route,
    const struct tb_err *err, bool keep_alive, bool head_only)
{
	char body[1024];
	int blen;

	blen = snprintf(body, sizeof(body),
	    "tlsbroker: %d %s\nroute: %s\nerror: %s%s%s\ndetail: %s\nhint: %s\n",
	    status, reply_reason(status), route != NULL ? route : "-",
	    close_reason_str(err->code), err->phase != PHASE_NONE ? " in " : "",
	    err->phase != PHASE_NONE ? diag_phase_str(err->phase) : "",
	    err->msg[0] != '\0' ? err->msg : "-", diag_hint(err));
	if (blen < 0)
		return -1;
	if ((size_t)blen >= sizeof(body))
		blen = (int)sizeof(body) - 1;
	if (evbuffer_add_printf(out,
	    "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: %d\r\n"
	    "X-Broker-Error: %s\r\n"
	    "Cache-Control: no-store\r\n"
	    "%s"
	    "\r\n", status, reply_reason(status), blen,
	    close_reason_str(err->code),
	    keep_alive ? "" : "Connection: close\r\n") == -1)
		return -1;
	if (!head_only && evbuffer_add(out, body, (size_t)blen) == -1)
		return -1;
	return 0;
}

int
reply_continue(struct evbuffer *out)
{
	static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";

	return evbuffer_add(out, msg, sizeof(msg) - 1);
}

const char *
reply_tls_only(size_t *len)
{
	static const char msg[] =
	    "HTTP/1.1 400 Bad Request\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: 63\r\n"
	    "X-Broker-Error: client_tls_failed\r\n"
	    "Connection: close\r\n"
	    "\r\n"
	    "tlsbroker: this port speaks TLS only; use https:// to call it.\n";

	*len = sizeof(msg) - 1;
	return msg;
}
