/* SPDX-License-Identifier: MIT */
/*
 * reply: the broker's own HTTP answers: 502/504 for a failed second hop,
 * 400/413/431/414/501/505 for a request it refuses, 404 for no route, 408
 * for a client too slow to send its head, the interim 100 Continue, and
 * the plain-HTTP 400 for a client that spoke plain HTTP to a TLS port.
 * Each error answer carries X-Broker-Error: <close reason> and a short text
 * body naming the route, the code and the hint, so the ERP's own exception
 * log already says what went wrong at the second hop.  Pure formatting.
 */
#ifndef TLSBROKER_REPLY_H
#define TLSBROKER_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

struct evbuffer;

/* Reason phrase for a status code ("Bad Gateway"). */
const char *reply_reason(int status);

/*
 * Appends a complete error answer to out.  route may be NULL.  keep_alive
 * false adds "Connection: close".  Returns 0, -1 if out is full.
 */
int reply_error(struct evbuffer *out, int status, const char *route,
    const struct tb_err *err, bool keep_alive, bool head_only);

/* Appends "HTTP/1.1 100 Continue\r\n\r\n". */
int reply_continue(struct evbuffer *out);

/*
 * The plain-HTTP 400 for a client that spoke plain HTTP to a TLS port (an
 * http:// URL), as nginx answers it: *len is set to its length.
 */
const char *reply_tls_only(size_t *len);

#endif
