/* SPDX-License-Identifier: MIT */
/*
 * rewrite: the heads the broker writes for the other side, from heads the
 * parser (http1.c) accepted.  The request head for the endpoint and the
 * response head for the client lose their hop-by-hop fields; the framing
 * fields are always the broker's own (Content-Length or Transfer-Encoding:
 * chunked as the session decided, never a copy of the peer's, so no field
 * a peer drops or nominates can change where a body ends); the request
 * gets its Host first and the X-Forwarded-For family as the route's
 * forwarded policy says.  Also the form of a request path that may be
 * logged, the keys a request is routed by (host and path), what the
 * request head for the endpoint is made of (rewrite_req_plan()) and how
 * the answer is framed for the client (rewrite_resp_plan()): pure
 * functions of the parsed heads and the route, so each is tested alone
 * (tests/unit/check_rewrite.c).  It does no I/O: a head goes into an
 * evbuffer with one reserve and one commit, or not at all.
 */
#ifndef TLSBROKER_REWRITE_H
#define TLSBROKER_REWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "http1.h"

struct evbuffer;

/* What the request head for the endpoint is made of, besides the client's fields. */
struct rewrite_req {
	const char *path;		/* origin-form target; one without its '/' gets one */
	size_t plen;
	const char *host;		/* the Host value to send (any may be empty) */
	size_t host_len;
	enum http1_body framing;	/* LENGTH or CHUNKED: written; NONE: none (the caller may add its own) */
	uint64_t length;		/* LENGTH */
	bool drop_expect;		/* the broker answers Expect itself */
	const char *drop_field;		/* a field the broker consumed (the secret header), NULL = none */
	enum forwarded_mode forwarded;
	/*
	 * The client as the broker knows it, "ip:port" or "[v6]:port": the
	 * address the audit record names (today the TCP peer; a PROXY header
	 * from a trusted balancer would set this one value).
	 */
	const char *client_addr;
};

/*
 * Appends the request line and fields for the endpoint to out, without
 * the empty line that ends the head.  buf and m are the client's head as
 * parsed.  Returns 0, or -1 with nothing added if out cannot take it.
 */
int rewrite_request_head(struct evbuffer *out, const char *buf,
    const struct http1_msg *m, const struct rewrite_req *rq);

/* What the response head for the client is made of, besides the endpoint's fields. */
struct rewrite_resp {
	enum http1_body framing;	/* LENGTH or CHUNKED: written; NONE: none */
	uint64_t length;		/* LENGTH */
	/*
	 * An answer to HEAD or a 304: the endpoint's Content-Length tells the
	 * size of a body that is not sent, and is kept.
	 */
	bool keep_length;
	bool close;			/* add Connection: close */
	bool keep_alive;		/* add Connection: keep-alive (an HTTP/1.0 client) */
	/*
	 * Room to leave behind the head in its buffer chain for the body
	 * that follows (0: none), so a small body joins the head there and
	 * the answer goes out as one piece.
	 */
	size_t body_room;
};

/* Appends the whole response head (empty line included); 0, or -1 with nothing added. */
int rewrite_response_head(struct evbuffer *out, const char *buf,
    const struct http1_msg *m, const struct rewrite_resp *rs);

/*
 * Writes to dst (cap > 0) the part of an origin-form path that may be
 * logged: up to the first '?' or ';', as a query or a matrix parameter
 * (";jsessionid=") may hold a credential, with or without a key; "/" for
 * an empty path.  Truncated to cap - 1 bytes; always a string.
 */
void rewrite_log_path(char *dst, size_t cap, const char *path, size_t plen);

/*
 * The keys a request is routed by: host from an absolute-form target's
 * authority, else from Host, else (only when there is no Host at all)
 * from sni (may be NULL); path is the origin-form part of the target.
 * host (hcap > HTTP1_HOST_MAX) is always a string afterwards.  False if
 * the Host is empty or a Host or authority the parser accepted did not
 * normalise: the request is then refused rather than routed by SNI while
 * the endpoint reads another name.
 */
bool rewrite_route_keys(const char *buf, const struct http1_msg *m,
    const char *sni, char *host, size_t hcap, const char **path, size_t *plen);

/*
 * Fills rq for the head the endpoint gets from the client's head (buf, m)
 * on route rc: path and plen as rewrite_route_keys() found them; Host is
 * the route's upstream_host, else the target's authority, else the
 * client's Host, else the upstream's name.  held: the body is held and
 * sent with a Content-Length of its own (no framing field here, Expect
 * answered by the broker).  client_addr is kept, not copied.
 */
void rewrite_req_plan(struct rewrite_req *rq, const char *buf,
    const struct http1_msg *m, const struct route_conf *rc, const char *path,
    size_t plen, bool held, const char *client_addr);

/* How an answer reaches the client (rewrite_resp_plan()). */
struct rewrite_resp_plan {
	struct rewrite_resp rs;		/* the framing of the head the client gets */
	enum http1_body_mode mode;	/* how the endpoint's body is read: PASS or DECHUNK */
	bool rechunk;			/* a close-delimited body sent on chunked */
	bool close;			/* the client connection closes after this answer */
	bool close_delim;		/* the client reads the body's end from our close */
};

/*
 * Decides the framing of the answer resp to the request req.  close: the
 * connection closes after this answer anyway (already decided, or a
 * drain); the plan adds the closes the heads require (Connection: close,
 * an HTTP/1.0 client that cannot read chunked or re-chunked bodies).
 */
void rewrite_resp_plan(const struct http1_msg *req, const struct http1_msg *resp,
    bool close, struct rewrite_resp_plan *p);

#endif
