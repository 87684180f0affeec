/* SPDX-License-Identifier: MIT */
/*
 * rewrite: the heads the broker writes.  Every field of the peer's head is
 * copied in order unless it is hop-by-hop, one the broker writes itself
 * (framing, Host, the forwarding fields under a policy), or Expect when the
 * broker answers it.  The framing fields go first in that list: whatever a
 * peer put in Content-Length, Transfer-Encoding or Connection, what frames
 * the body on the next hop is what the session decided.
 */
#include "config.h"

#include "rewrite.h"

#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "route.h"

/*
 * Heads are written with one reserve and one commit on their evbuffer:
 * an evbuffer_add() per piece runs the buffer's callbacks (on the client
 * output: sockio's write scheduling) for every piece.  The
 * caller reserves what the head can take at most; a head that would not
 * fit is not written at all (ho_end() says so).
 */
struct head_out {
	struct evbuffer *buf;
	struct evbuffer_iovec v;
	size_t used;
	bool overflow;
};

static void
ho_begin(struct head_out *o, struct evbuffer *buf, size_t most)
{
	o->buf = buf;
	o->used = 0;
	o->overflow = evbuffer_reserve_space(buf, (ev_ssize_t)most, &o->v, 1) != 1;
	if (o->overflow) {
		o->v.iov_base = NULL;
		o->v.iov_len = 0;
	}
}

static void
ho_put(struct head_out *o, const void *p, size_t n)
{
	if (n > o->v.iov_len - o->used) {
		o->overflow = true;
		return;
	}
	memcpy((char *)o->v.iov_base + o->used, p, n);
	o->used += n;
}

#define HO_LIT(o, lit)	ho_put((o), (lit), sizeof(lit) - 1)

static void
ho_u64(struct head_out *o, uint64_t v)
{
	char d[20];
	size_t n = sizeof(d);

	do {
		d[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	ho_put(o, d + n, sizeof(d) - n);
}

/*
 * "Name: value" CRLF.  A line the peer already wrote that way (one SP
 * after the colon, none before the CRLF: nearly every line) is copied
 * whole, in one piece.
 */
static void
ho_header(struct head_out *o, const char *buf, const struct http1_header *h)
{
	size_t colon = h->name.off + h->name.len, end = h->value.off + h->value.len;

	if (h->value.off == colon + 2 && buf[colon + 1] == ' ' &&
	    buf[end] == '\r') {
		ho_put(o, buf + h->name.off, end + 2 - h->name.off);
		return;
	}
	ho_put(o, buf + h->name.off, h->name.len);
	HO_LIT(o, ": ");
	ho_put(o, buf + h->value.off, h->value.len);
	HO_LIT(o, "\r\n");
}

/* Commits what was written; -1 (and nothing added) if it did not fit. */
static int
ho_end(struct head_out *o)
{
	if (o->v.iov_base == NULL)
		return -1;
	o->v.iov_len = o->overflow ? 0 : o->used;
	evbuffer_commit_space(o->buf, &o->v, 1);
	return o->overflow ? -1 : 0;
}

/* ---- which fields go -------------------------------------------------- */

/* Hop-by-hop fields (RFC 9110 7.6.1), by name or nominated by Connection. */
static bool
hop_by_hop(const char *buf, const struct http1_msg *m,
    const struct http1_header *h)
{
	switch (h->id) {
	case HTTP1_FLD_CONNECTION:
	case HTTP1_FLD_KEEP_ALIVE:
	case HTTP1_FLD_TE:
	case HTTP1_FLD_TRAILER:
	case HTTP1_FLD_UPGRADE:
	case HTTP1_FLD_PROXY_CONNECTION:
	case HTTP1_FLD_PROXY_AUTHENTICATE:
	case HTTP1_FLD_PROXY_AUTHORIZATION:
		return true;
	default:
		/* keep-alive alone nominates only Keep-Alive, dropped above */
		return (m->flags & HTTP1_F_CONN_OTHER) &&
		    http1_conn_nominates(m, buf, buf + h->name.off, h->name.len);
	}
}

/* The framing fields: the broker writes its own, whatever the peer sent. */
static bool
framing_field(const struct http1_header *h)
{
	return h->id == HTTP1_FLD_CONTENT_LENGTH ||
	    h->id == HTTP1_FLD_TRANSFER_ENCODING;
}

/*
 * The client's forwarding fields that the broker's take the place of.
 * replace: every field that names the client or how it came (a client may
 * claim any address, scheme or host in them).  append: the lists the
 * broker extends (X-Forwarded-For, Forwarded) and the scheme, which only
 * the broker knows for this hop; X-Real-IP and the rest pass.
 */
static bool
forwarded_own(enum forwarded_mode mode, const struct http1_header *h)
{
	switch (mode) {
	case FORWARDED_REPLACE:
		return h->id == HTTP1_FLD_X_FORWARDED_FOR ||
		    h->id == HTTP1_FLD_X_FORWARDED_PROTO ||
		    h->id == HTTP1_FLD_FORWARDED || h->id == HTTP1_FLD_X_REAL_IP ||
		    h->id == HTTP1_FLD_X_FORWARDED_HOST ||
		    h->id == HTTP1_FLD_X_FORWARDED_PORT;
	case FORWARDED_APPEND:
		return h->id == HTTP1_FLD_X_FORWARDED_FOR ||
		    h->id == HTTP1_FLD_X_FORWARDED_PROTO ||
		    h->id == HTTP1_FLD_FORWARDED;
	default:
		return false;
	}
}

/* ---- the request ------------------------------------------------------- */

/* True if a field named name reaches the endpoint from the client's head. */
static bool
passes(const char *buf, const struct http1_msg *m, enum http1_field id)
{
	size_t i;

	for (i = 0; i < m->nhdrs; i++)
		if (m->hdrs[i].id == id &&
		    !hop_by_hop(buf, m, &m->hdrs[i]))
			return true;
	return false;
}

/* The values of the client's id fields (list elements), each followed by ", ". */
static void
ho_client_list(struct head_out *o, const char *buf, const struct http1_msg *m,
    enum http1_field id)
{
	const struct http1_header *h;
	size_t i;

	for (i = 0; i < m->nhdrs; i++) {
		h = &m->hdrs[i];
		if (h->value.len == 0 || h->id != id ||
		    hop_by_hop(buf, m, h))
			continue;
		ho_put(o, buf + h->value.off, h->value.len);
		HO_LIT(o, ", ");
	}
}

/* X-Forwarded-For, X-Forwarded-Proto, Forwarded and X-Real-IP for the client. */
static void
ho_forwarded(struct head_out *o, const char *buf, const struct http1_msg *m,
    const struct rewrite_req *rq)
{
	/* "ip:port" or "[v6]:port" (sockaddr_format) */
	const char *c = rq->client_addr, *colon = strrchr(c, ':');
	size_t n = colon != NULL ? (size_t)(colon - c) : strlen(c);
	bool v6 = c[0] == '[' && n >= 2;
	bool append = rq->forwarded == FORWARDED_APPEND;
	const char *ip = v6 ? c + 1 : c;
	size_t iplen = v6 ? n - 2 : n;

	if (rq->forwarded == FORWARDED_OFF)
		return;
	HO_LIT(o, "X-Forwarded-For: ");
	if (append)
		ho_client_list(o, buf, m, HTTP1_FLD_X_FORWARDED_FOR);
	ho_put(o, ip, iplen);
	HO_LIT(o, "\r\nX-Forwarded-Proto: https\r\nForwarded: ");
	if (append)
		ho_client_list(o, buf, m, HTTP1_FLD_FORWARDED);
	HO_LIT(o, "for=");
	if (v6)
		HO_LIT(o, "\"");
	ho_put(o, c, n);
	if (v6)
		HO_LIT(o, "\"");
	HO_LIT(o, ";proto=https\r\n");
	/* one address, no list: in append mode the first proxy's stays */
	if (!append || !passes(buf, m, HTTP1_FLD_X_REAL_IP)) {
		HO_LIT(o, "X-Real-IP: ");
		ho_put(o, ip, iplen);
		HO_LIT(o, "\r\n");
	}
}

/* The framing line for a body of kind framing; nothing for none. */
static void
ho_framing(struct head_out *o, enum http1_body framing, uint64_t length)
{
	if (framing == HTTP1_BODY_LENGTH) {
		HO_LIT(o, "Content-Length: ");
		ho_u64(o, length);
		HO_LIT(o, "\r\n");
	} else if (framing == HTTP1_BODY_CHUNKED)
		HO_LIT(o, "Transfer-Encoding: chunked\r\n");
}

int
rewrite_request_head(struct evbuffer *out, const char *buf,
    const struct http1_msg *m, const struct rewrite_req *rq)
{
	struct head_out o;
	size_t i;

	/*
	 * The client's head, plus Host, framing and the forwarding fields,
	 * plus a byte per field ("Name:value" goes out as "Name: value") and
	 * two per merged list element (", ").
	 */
	ho_begin(&o, out, m->head_len + 3 * m->nhdrs + rq->host_len +
	    4 * strlen(rq->client_addr) + 256);
	ho_put(&o, buf + m->method_s.off, m->method_s.len);
	HO_LIT(&o, " ");
	if (rq->plen == 0 || rq->path[0] == '?')
		HO_LIT(&o, "/");	/* "http://h?q" is "/?q" (RFC 9112 3.2.2) */
	ho_put(&o, rq->path, rq->plen);
	HO_LIT(&o, " HTTP/1.1\r\nHost: ");
	ho_put(&o, rq->host, rq->host_len);
	HO_LIT(&o, "\r\n");
	for (i = 0; i < m->nhdrs; i++) {
		const struct http1_header *h = &m->hdrs[i];

		if (hop_by_hop(buf, m, h) || framing_field(h) ||
		    h->id == HTTP1_FLD_HOST ||
		    (rq->drop_expect && h->id == HTTP1_FLD_EXPECT) ||
		    (rq->drop_field != NULL && http1_hdr_is(buf, h, rq->drop_field)) ||
		    forwarded_own(rq->forwarded, h))
			continue;
		ho_header(&o, buf, h);
	}
	ho_framing(&o, rq->framing, rq->length);
	ho_forwarded(&o, buf, m, rq);
	return ho_end(&o);
}

/* ---- the response ------------------------------------------------------ */

int
rewrite_response_head(struct evbuffer *out, const char *buf,
    const struct http1_msg *m, const struct rewrite_resp *rs)
{
	struct head_out o;
	char status[4];
	size_t i;

	/*
	 * The head less what is dropped, plus what is added below, plus one
	 * byte per line: "Name:value" goes out as "Name: value", and a status
	 * line without a reason gains its space; and the room asked for the
	 * body.
	 */
	ho_begin(&o, out, m->head_len + m->nhdrs + 1 + 128 + rs->body_room);
	/* the parser took three digits (RFC 9112 4) */
	status[0] = (char)('0' + m->status / 100 % 10);
	status[1] = (char)('0' + m->status / 10 % 10);
	status[2] = (char)('0' + m->status % 10);
	status[3] = ' ';
	HO_LIT(&o, "HTTP/1.1 ");
	ho_put(&o, status, 4);
	ho_put(&o, buf + m->reason.off, m->reason.len);
	HO_LIT(&o, "\r\n");
	for (i = 0; i < m->nhdrs; i++) {
		const struct http1_header *h = &m->hdrs[i];

		if (hop_by_hop(buf, m, h))
			continue;
		/* the parser checked it is one number: it frames nothing here */
		if (framing_field(h) && !(rs->keep_length &&
		    h->id == HTTP1_FLD_CONTENT_LENGTH))
			continue;
		ho_header(&o, buf, h);
	}
	ho_framing(&o, rs->framing, rs->length);
	if (rs->close)
		HO_LIT(&o, "Connection: close\r\n");
	else if (rs->keep_alive)
		HO_LIT(&o, "Connection: keep-alive\r\n");
	HO_LIT(&o, "\r\n");
	return ho_end(&o);
}

/* ---- logging ------------------------------------------------------------ */

void
rewrite_log_path(char *dst, size_t cap, const char *path, size_t plen)
{
	size_t n = 0;

	if (cap == 0)
		return;
	if (plen == 0 || path[0] == '?') {
		path = "/";
		plen = 1;
	}
	while (n < plen && n + 1 < cap && path[n] != '?' && path[n] != ';') {
		dst[n] = path[n];
		n++;
	}
	dst[n] = '\0';
}

/* ---- plans: what the heads are made of ----------------------------------- */

bool
rewrite_route_keys(const char *buf, const struct http1_msg *m, const char *sni,
    char *host, size_t hcap, const char **path, size_t *plen)
{
	const char *t = buf + m->target.off;
	size_t tlen = m->target.len, skip;
	bool ok = true;

	host[0] = '\0';
	*path = t;
	*plen = tlen;
	if (m->form == HTTP1_TF_ABSOLUTE) {
		/* scheme://authority[/path][?query]: the authority names the host. */
		ok = route_host_lower(buf + m->authority_name.off,
		    m->authority_name.len, host, hcap);
		skip = m->authority.off + m->authority.len - m->target.off;
		*path = t + skip;
		*plen = tlen - skip;
	} else if (m->flags & HTTP1_F_HOST) {
		/*
		 * An empty Host says the target URI has no authority (RFC 9112
		 * 3.2), which an https URI must not lack (RFC 9110 4.2.2):
		 * refused, not routed by SNI while the endpoint reads "".
		 */
		ok = m->host.len > 0 && route_host_lower(buf + m->host_name.off,
		    m->host_name.len, host, hcap);
	}
	if (ok && host[0] == '\0' && sni != NULL)
		snprintf(host, hcap, "%s", sni);
	return ok;
}

void
rewrite_req_plan(struct rewrite_req *rq, const char *buf,
    const struct http1_msg *m, const struct route_conf *rc, const char *path,
    size_t plen, bool held, const char *client_addr)
{
	rq->path = path;
	rq->plen = plen;
	if (rc->up_host != NULL) {
		rq->host = rc->up_host;
		rq->host_len = strlen(rc->up_host);
	} else if (m->form == HTTP1_TF_ABSOLUTE) {
		rq->host = buf + m->authority.off;
		rq->host_len = m->authority.len;
	} else if (m->flags & HTTP1_F_HOST) {
		rq->host = buf + m->host.off;
		rq->host_len = m->host.len;
	} else {
		rq->host = rc->upstream.host;
		rq->host_len = strlen(rc->upstream.host);
	}
	/* A held body gets its Content-Length once it is in. */
	rq->framing = held ? HTTP1_BODY_NONE : m->body;
	rq->length = m->content_length;
	rq->drop_expect = held;
	rq->drop_field = rc->secret_header;	/* the secret is for us, never the endpoint */
	rq->forwarded = rc->forwarded;
	rq->client_addr = client_addr;
}

void
rewrite_resp_plan(const struct http1_msg *req, const struct http1_msg *resp,
    bool close, struct rewrite_resp_plan *p)
{
	enum http1_body kind = resp->body;
	bool client_11 = req->version >= 11;

	memset(p, 0, sizeof(*p));
	p->mode = HTTP1_PASS;
	p->close = close || (req->flags & HTTP1_F_CLOSE) != 0;
	if (kind == HTTP1_BODY_CLOSE) {
		/*
		 * An HTTP/1.0 endpoint ends its body by closing.  An HTTP/1.1
		 * client keeps its connection if we re-frame the body as
		 * chunked; a 1.0 client needs the close.
		 */
		if (client_11)
			p->rechunk = true;
		else
			p->close = true;
	} else if (kind == HTTP1_BODY_CHUNKED && !client_11) {
		p->mode = HTTP1_DECHUNK;	/* a 1.0 client cannot read chunked */
		p->close = true;
	}
	/* The framing the client reads is ours, whatever the endpoint wrote. */
	if (p->rechunk || (kind == HTTP1_BODY_CHUNKED && p->mode == HTTP1_PASS))
		p->rs.framing = HTTP1_BODY_CHUNKED;
	else if (kind == HTTP1_BODY_LENGTH)
		p->rs.framing = HTTP1_BODY_LENGTH;
	p->rs.length = resp->content_length;
	p->rs.keep_length = kind == HTTP1_BODY_NONE &&
	    (req->method == HTTP1_M_HEAD || resp->status == 304);
	p->rs.close = p->close;
	p->rs.keep_alive = !client_11;
	p->close_delim = kind != HTTP1_BODY_NONE && p->rs.framing == HTTP1_BODY_NONE;
}
