/* SPDX-License-Identifier: MIT */
/*
 * upstream_proxy: the CONNECT exchange with a route's corporate forward
 * proxy (upstream_proxy = http://HOST:PORT).  It owns building the CONNECT
 * request (Host, and Proxy-Authorization: Basic from upstream_proxy_auth),
 * reading the proxy's answer head with a bounded peek so that not one byte
 * of the tunnel is consumed, classifying a refusal into its close reason
 * (proxy_auth, proxy_forbidden, proxy_bad_gateway, proxy_timeout,
 * proxy_bad_answer; proxy_refused for the TCP connect), and running the
 * exchange on a connected non-blocking socket from the event loop under
 * upstream_proxy_timeout.  Only Basic authentication: NTLM and Negotiate
 * authenticate the TCP connection in several legs, which a pooled,
 * per-request connector cannot hold (tlsbroker.ini(5) says more).  It does
 * not connect the socket (upstream.c, probe_net.c) nor run TLS in the
 * tunnel, and it never logs the credentials: error details name the proxy
 * and the target only.
 */
#ifndef TLSBROKER_UPSTREAM_PROXY_H
#define TLSBROKER_UPSTREAM_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

struct event_base;
struct hostport;
struct proxy_tunnel;

/* Longest answer head read from a proxy; squid's and tinyproxy's are < 1 KB. */
#define UPSTREAM_PROXY_HEAD_MAX 8192
/* Longest CONNECT request: a 255-byte host twice plus a 1 KB credential. */
#define UPSTREAM_PROXY_REQ_MAX 2048
/* Longest base64 "user:password" (from up to 512 bytes of credentials). */
#define UPSTREAM_PROXY_BASIC_MAX 700

/*
 * Writes the CONNECT request for target into buf (cap bytes, NUL ended):
 * "CONNECT host:port HTTP/1.1", Host with the same authority (an IPv6
 * literal in brackets) and, when basic is not NULL, Proxy-Authorization:
 * Basic <basic>.  Returns its length, or -1 if it does not fit.
 */
int upstream_proxy_request(const struct hostport *target, const char *basic,
    char *buf, size_t cap);

/*
 * Looks at the first len bytes a proxy answered to CONNECT (eof: it closed
 * after them).  Returns the head's length (> 0) when a 2xx head is
 * complete (the tunnel starts after it), 0 when more bytes are needed, or
 * -1 with err set: proxy_auth (407; 401 from tinyproxy), proxy_forbidden (403),
 * proxy_bad_gateway (502, 503, 504), else proxy_bad_answer (any other
 * status, not HTTP, a head over UPSTREAM_PROXY_HEAD_MAX, a close before
 * the head).  A refusal is classified from its status line alone.  proxy
 * and target ("ip:port", "host:port") name the two in err->msg.
 */
int upstream_proxy_answer(const char *buf, size_t len, bool eof,
    const char *proxy, const char *target, struct tb_err *err);

/*
 * Turns the content of an upstream_proxy_auth file ("user:password", one
 * line, a final newline allowed) into its base64 form in out (cap bytes,
 * at least UPSTREAM_PROXY_BASIC_MAX).  Returns 0, or -1 with a phrase in
 * why (never quoting the content).
 */
int upstream_proxy_basic(const char *content, size_t len, char *out,
    size_t cap, const char **why);

/*
 * One read step of the answer on the non-blocking socket fd: peeks what
 * arrived after the *have bytes already in head (UPSTREAM_PROXY_HEAD_MAX
 * bytes), consumes only bytes of the head, and returns 1 when the tunnel
 * is open, 0 to wait until fd is readable, -1 with err set.  Used by the
 * event loop here and by probe's blocking poll.
 */
int upstream_proxy_recv(int fd, char *head, size_t *have, const char *proxy,
    const char *target, struct tb_err *err);

/*
 * "http://HOST:PORT" (a final '/' allowed) into out; 0, or -1 with a
 * phrase in err (PARSE_ERRLEN bytes).  No credentials in the URL, no
 * other scheme.  The rule of upstream_proxy and probe --proxy.
 */
int upstream_proxy_parse_url(const char *s, struct hostport *out, char *err);

/*
 * Reads an upstream_proxy_auth file (at most 1024 bytes) into its base64
 * form in out as upstream_proxy_basic() does; 0, or -1 with a sentence
 * naming the file, never its content, in why.
 */
int upstream_proxy_basic_file(const char *path, char *out, size_t cap,
    char *why, size_t whycap);

/*
 * A connect error towards the proxy (err as diag_from_connect_errno() or a
 * connect timeout filled it): refused becomes proxy_refused, and every
 * reason gets a detail and a hint that name upstream_proxy.
 */
void upstream_proxy_dial_failed(struct tb_err *err);

/* err is NULL when the tunnel is open; the socket then carries the endpoint's bytes. */
typedef void (*proxy_tunnel_cb)(void *arg, const struct tb_err *err);

/*
 * Sends the CONNECT request on the connected non-blocking socket fd (not
 * owned) and waits for the answer head, all within timeout_ms; cb runs
 * once, from the loop, never inside this call.  Returns NULL when out of
 * memory or req does not fit.  proxy is the address connected to.
 */
struct proxy_tunnel *proxy_tunnel_start(struct event_base *base, int fd,
    const struct hostport *target, const char *basic, const char *proxy,
    uint64_t timeout_ms, proxy_tunnel_cb cb, void *arg);

/* Stops the exchange (no callback) and frees t; NULL is fine. */
void proxy_tunnel_free(struct proxy_tunnel *t);

#endif
