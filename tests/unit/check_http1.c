/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of http1: the framing parser is the proxy's defence against
 * request smuggling, so every strictness rule has a case here, and every
 * valid case is parsed in one piece and again as a growing prefix (each
 * prefix in a fresh heap copy of exactly its length, so a read past the
 * bytes given is an ASan error and stale pointers cannot hide).
 */
#include "config.h"

#include "http1.h"

#include <check.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HDRS	32
#define MAX_HEAD	8192

/* ---- helpers ------------------------------------------------------------ */

static char *
dup_bytes(const char *p, size_t len)
{
	char *b = malloc(len > 0 ? len : 1);

	ck_assert_ptr_nonnull(b);
	memcpy(b, p, len);
	return b;
}

static void
assert_span(const char *case_name, const char *what, const char *buf,
    struct http1_span s, const char *want)
{
	ck_assert_msg(s.len == strlen(want) &&
	    memcmp(buf + s.off, want, s.len) == 0,
	    "%s: %s is '%.*s', want '%s'", case_name, what, (int)s.len,
	    buf + s.off, want);
}

/* Every public result field of two parses of the same bytes must agree. */
static void
assert_same_msg(const char *case_name, const struct http1_msg *a,
    const struct http1_msg *b)
{
	size_t i;

	ck_assert_msg(a->err == b->err && a->err_off == b->err_off,
	    "%s: err %s@%zu vs %s@%zu", case_name, http1_err_str(a->err),
	    a->err_off, http1_err_str(b->err), b->err_off);
	if (a->err != HTTP1_E_NONE)
		return;
	ck_assert_msg(a->method == b->method &&
	    a->method_s.off == b->method_s.off &&
	    a->method_s.len == b->method_s.len &&
	    a->target.off == b->target.off && a->target.len == b->target.len &&
	    a->form == b->form && a->authority.off == b->authority.off &&
	    a->authority.len == b->authority.len &&
	    a->version == b->version && a->status == b->status &&
	    a->reason.off == b->reason.off && a->reason.len == b->reason.len &&
	    a->nhdrs == b->nhdrs && a->host.off == b->host.off &&
	    a->host.len == b->host.len && a->nconn == b->nconn &&
	    a->body == b->body && a->content_length == b->content_length &&
	    a->flags == b->flags && a->head_len == b->head_len,
	    "%s: one-piece and incremental parses differ", case_name);
	for (i = 0; i < a->nhdrs; i++) {
		ck_assert_msg(a->hdrs[i].name.off == b->hdrs[i].name.off &&
		    a->hdrs[i].name.len == b->hdrs[i].name.len &&
		    a->hdrs[i].value.off == b->hdrs[i].value.off &&
		    a->hdrs[i].value.len == b->hdrs[i].value.len &&
		    a->hdrs[i].id == b->hdrs[i].id,
		    "%s: header %zu differs", case_name, i);
	}
	for (i = 0; i < a->nconn; i++) {
		ck_assert_msg(a->conn[i].off == b->conn[i].off &&
		    a->conn[i].len == b->conn[i].len,
		    "%s: connection token %zu differs", case_name, i);
	}
}

/*
 * Parses buf[0..len) as one piece into m1 and as a growing prefix into m2;
 * both must agree.  Returns the one-piece result.
 */
static int
parse_both(const char *case_name, enum http1_kind kind,
    enum http1_method req_method, const char *buf, size_t len,
    size_t max_hdrs, size_t max_head, struct http1_msg *m1,
    struct http1_header *h1, struct http1_msg *m2, struct http1_header *h2)
{
	int r1, r2 = 0;
	size_t k;
	char *b;

	http1_msg_init(m1, kind, req_method, h1, max_hdrs, max_head);
	b = dup_bytes(buf, len);
	r1 = http1_parse_head(m1, b, len);
	/* calling again gives the same answer */
	ck_assert_int_eq(http1_parse_head(m1, b, len), r1);
	free(b);

	http1_msg_init(m2, kind, req_method, h2, max_hdrs, max_head);
	for (k = 0; k <= len; k++) {
		b = dup_bytes(buf, k);
		r2 = http1_parse_head(m2, b, k);
		free(b);
		if (r2 != 0)
			break;
	}
	ck_assert_msg(r1 == r2, "%s: one piece gives %d, byte by byte %d "
	    "(%s / %s)", case_name, r1, r2, http1_err_str(m1->err),
	    http1_err_str(m2->err));
	if (r1 > 0)
		ck_assert_msg(k == (size_t)r1, "%s: byte by byte completed "
		    "at %zu, head is %d", case_name, k, r1);
	assert_same_msg(case_name, m1, m2);
	return r1;
}

/* Output of a body decode: what was forwarded, consumed and the outcome. */
struct body_out {
	char data[4096];
	size_t data_len;
	size_t consumed;
	uint64_t payload;
	bool done;
	enum http1_err err;
	uint64_t err_off;
	int calls;
};

/*
 * Feeds wire[0..len) to a decoder in pieces of at most piece bytes (each
 * piece in its own heap copy), collecting the data spans.
 */
static void
decode(enum http1_body kind, uint64_t cl, enum http1_body_mode mode,
    const char *wire, size_t len, size_t piece, struct body_out *o)
{
	struct http1_body_dec d;
	struct http1_span data;
	size_t off = 0, n;
	ssize_t r;
	char *b;

	memset(o, 0, sizeof(*o));
	http1_body_init(&d, kind, cl, mode);
	while (off < len && !d.done) {
		n = len - off < piece ? len - off : piece;
		b = dup_bytes(wire + off, n);
		while (n > 0 && !d.done) {
			/* an empty feed is a no-op */
			ck_assert_int_eq(http1_body_feed(&d, b, 0, &data), 0);
			r = http1_body_feed(&d, b, n, &data);
			o->calls++;
			if (r < 0)
				break;
			ck_assert_msg((size_t)r <= n, "consumed more than given");
			ck_assert_msg(r > 0 || d.done, "no progress");
			ck_assert_msg(data.off + data.len <= (size_t)r,
			    "data span past the consumed bytes");
			ck_assert_uint_lt(o->data_len + data.len,
			    sizeof(o->data) + 1);
			memcpy(o->data + o->data_len, b + data.off, data.len);
			o->data_len += data.len;
			o->consumed += (size_t)r;
			off += (size_t)r;
			memmove(b, b + r, n - (size_t)r);
			n -= (size_t)r;
		}
		free(b);
		if (d.err != HTTP1_E_NONE)
			break;
	}
	ck_assert_uint_eq(d.wire, d.err != HTTP1_E_NONE ? d.err_off :
	    o->consumed);
	o->payload = d.payload;
	o->done = d.done;
	o->err = d.err;
	o->err_off = d.err_off;
}

/* ---- valid messages --------------------------------------------------- */

struct vcase {
	const char *name;
	enum http1_kind kind;
	enum http1_method req_method;	/* responses: the request's method */
	const char *head;
	const char *body;		/* bytes after the head, NULL if none */
	const char *payload;		/* body after de-chunking */
	size_t rest;			/* trailing bytes of body not in this message */

	enum http1_method method;
	const char *method_s;
	const char *target;
	enum http1_target_form form;
	const char *authority;
	int version;
	int status;
	const char *reason;
	size_t nhdrs;
	enum http1_body bkind;
	uint64_t clen;
	unsigned flags;			/* exact */
	const char *host;
	const char *conn;		/* Connection tokens joined with ',' */
};

#define REQ	.kind = HTTP1_REQUEST
#define RESP	.kind = HTTP1_RESPONSE

static const struct vcase vcases[] = {
	{ "get", REQ, .head = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
	  .method = HTTP1_M_GET, .method_s = "GET", .target = "/",
	  .version = 11, .nhdrs = 1, .flags = HTTP1_F_HOST,
	  .host = "example.com", .conn = "" },
	{ "lookalike_names", REQ,
	  .head = "GET / HTTP/1.1\r\nDate: x\r\nAccept: */*\r\nReferer: y\r\n"
	    "Connectio: close\r\nContent-Lengths: 5\r\nTransfer-Encodin: chunked\r\n"
	    "Host: a\r\n\r\n",
	  .method = HTTP1_M_GET, .target = "/", .version = 11, .nhdrs = 7,
	  .flags = HTTP1_F_HOST, .host = "a", .conn = "" },
	{ "leading_crlf", REQ,
	  .head = "\r\n\r\nGET /x?y=1&z HTTP/1.1\r\nHost: a\r\n\r\n",
	  .method = HTTP1_M_GET, .target = "/x?y=1&z", .version = 11,
	  .nhdrs = 1, .flags = HTTP1_F_HOST, .host = "a", .conn = "" },
	{ "post_cl", REQ,
	  .head = "POST /soap/Employee HTTP/1.1\r\nHost: h.example:8080\r\n"
	    "Content-Type: text/xml\r\nContent-Length: 5\r\n\r\n",
	  .body = "hello", .payload = "hello",
	  .method = HTTP1_M_POST, .target = "/soap/Employee", .version = 11,
	  .nhdrs = 3, .bkind = HTTP1_BODY_LENGTH, .clen = 5,
	  .flags = HTTP1_F_HOST, .host = "h.example:8080", .conn = "" },
	{ "post_cl_pipelined", REQ,
	  .head = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n",
	  .body = "abcGET / HTTP/1.1\r\n", .payload = "abc", .rest = 16,
	  .method = HTTP1_M_POST, .target = "/", .version = 11, .nhdrs = 2,
	  .bkind = HTTP1_BODY_LENGTH, .clen = 3, .flags = HTTP1_F_HOST,
	  .host = "a", .conn = "" },
	{ "post_cl_zero", REQ,
	  .head = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
	  .body = "", .payload = "", .method = HTTP1_M_POST, .target = "/",
	  .version = 11, .nhdrs = 2, .bkind = HTTP1_BODY_LENGTH, .clen = 0,
	  .flags = HTTP1_F_HOST, .host = "a", .conn = "" },
	{ "post_cl_max", REQ,
	  .head = "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 9223372036854775807\r\n\r\n",
	  .method = HTTP1_M_POST, .target = "/", .version = 11, .nhdrs = 2,
	  .bkind = HTTP1_BODY_LENGTH, .clen = INT64_MAX,
	  .flags = HTTP1_F_HOST, .host = "a", .conn = "" },
	{ "post_cl_leading_zeros_ows", REQ,
	  .head = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \t007 \r\n\r\n",
	  .body = "1234567", .payload = "1234567",
	  .method = HTTP1_M_POST, .target = "/", .version = 11, .nhdrs = 2,
	  .bkind = HTTP1_BODY_LENGTH, .clen = 7, .flags = HTTP1_F_HOST,
	  .host = "a", .conn = "" },
	{ "post_chunked_ext_trailer", REQ,
	  .head = "POST /up HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n",
	  .body = "5;name=val;q=\"quo\\\"ted\"\r\nhello\r\n"
	    "6 ; ext ; e2 = v2\r\n world\r\n"
	    "0;last\r\nX-Trailer: 1\r\nX-Empty:\r\n\r\n",
	  .payload = "hello world",
	  .method = HTTP1_M_POST, .target = "/up", .version = 11, .nhdrs = 2,
	  .bkind = HTTP1_BODY_CHUNKED, .flags = HTTP1_F_HOST | HTTP1_F_TE,
	  .host = "a", .conn = "" },
	{ "post_chunked_case_ows_pipelined", REQ,
	  .head = "POST / HTTP/1.1\r\nTransfer-Encoding:  CHUNKED \r\n"
	    "Host: a\r\n\r\n",
	  .body = "000A\r\n0123456789\r\na\r\nabcdefghij\r\n00\r\n\r\nGET",
	  .payload = "0123456789abcdefghij", .rest = 3,
	  .method = HTTP1_M_POST, .target = "/", .version = 11, .nhdrs = 2,
	  .bkind = HTTP1_BODY_CHUNKED, .flags = HTTP1_F_HOST | HTTP1_F_TE,
	  .host = "a", .conn = "" },
	{ "post_chunked_empty_elements", REQ,
	  .head = "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: , chunked ,\r\n\r\n",
	  .body = "0\r\n\r\n", .payload = "",
	  .method = HTTP1_M_POST, .target = "/", .version = 11, .nhdrs = 2,
	  .bkind = HTTP1_BODY_CHUNKED, .flags = HTTP1_F_HOST | HTTP1_F_TE,
	  .host = "a", .conn = "" },
	{ "http10_no_host", REQ, .head = "GET / HTTP/1.0\r\n\r\n",
	  .method = HTTP1_M_GET, .target = "/", .version = 10,
	  .flags = HTTP1_F_CLOSE, .host = "", .conn = "" },
	{ "http10_keepalive", REQ,
	  .head = "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
	  .method = HTTP1_M_GET, .target = "/", .version = 10, .nhdrs = 1,
	  .flags = HTTP1_F_CONN_KEEPALIVE, .host = "", .conn = "Keep-Alive" },
	{ "http10_keepalive_and_close", REQ,
	  .head = "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
	  .method = HTTP1_M_GET, .target = "/", .version = 10, .nhdrs = 1,
	  .flags = HTTP1_F_CONN_KEEPALIVE | HTTP1_F_CONN_CLOSE | HTTP1_F_CLOSE |
	    HTTP1_F_CONN_OTHER,
	  .host = "", .conn = "keep-alive,close" },
	{ "http11_close_nominates", REQ,
	  .head = "GET / HTTP/1.1\r\nHost: a\r\nConnection: close, X-Hop\r\n"
	    "Connection: ,Keep-Alive ,\r\nX-Hop: 1\r\n\r\n",
	  .method = HTTP1_M_GET, .target = "/", .version = 11, .nhdrs = 4,
	  .flags = HTTP1_F_HOST | HTTP1_F_CONN_CLOSE | HTTP1_F_CLOSE |
	    HTTP1_F_CONN_KEEPALIVE | HTTP1_F_CONN_OTHER,
	  .host = "a", .conn = "close,X-Hop,Keep-Alive" },
	{ "expect_continue", REQ,
	  .head = "PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n"
	    "Content-Length: 3\r\n\r\n",
	  .body = "abc", .payload = "abc",
	  .method = HTTP1_M_PUT, .target = "/f", .version = 11, .nhdrs = 3,
	  .bkind = HTTP1_BODY_LENGTH, .clen = 3,
	  .flags = HTTP1_F_HOST | HTTP1_F_EXPECT_CONTINUE, .host = "a",
	  .conn = "" },
	{ "expect_ignored_http10", REQ,
	  .head = "PUT /f HTTP/1.0\r\nExpect: 100-continue\r\n\r\n",
	  .method = HTTP1_M_PUT, .target = "/f", .version = 10, .nhdrs = 1,
	  .flags = HTTP1_F_CLOSE, .host = "", .conn = "" },
	{ "upgrade", REQ,
	  .head = "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
	    "Upgrade: websocket\r\n\r\n",
	  .method = HTTP1_M_GET, .target = "/ws", .version = 11, .nhdrs = 3,
	  .flags = HTTP1_F_HOST | HTTP1_F_UPGRADE | HTTP1_F_CONN_OTHER,
	  .host = "a",
	  .conn = "Upgrade" },
	{ "options_asterisk", REQ, .head = "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
	  .method = HTTP1_M_OPTIONS, .target = "*", .form = HTTP1_TF_ASTERISK,
	  .version = 11, .nhdrs = 1, .flags = HTTP1_F_HOST, .host = "a",
	  .conn = "" },
	{ "options_origin", REQ, .head = "OPTIONS /x HTTP/1.1\r\nHost: a\r\n\r\n",
	  .method = HTTP1_M_OPTIONS, .target = "/x", .version = 11,
	  .nhdrs = 1, .flags = HTTP1_F_HOST, .host = "a", .conn = "" },
	{ "connect_authority", REQ,
	  .head = "CONNECT example.com:443 HTTP/1.1\r\n"
	    "Host: example.com:443\r\n\r\n",
	  .method = HTTP1_M_CONNECT, .target = "example.com:443",
	  .form = HTTP1_TF_AUTHORITY, .authority = "example.com:443",
	  .version = 11, .nhdrs = 1, .flags = HTTP1_F_HOST,
	  .host = "example.com:443", .conn = "" },
	{ "connect_ipv6", REQ,
	  .head = "CONNECT [2001:db8::1]:8443 HTTP/1.1\r\nHost: [2001:db8::1]:8443\r\n\r\n",
	  .method = HTTP1_M_CONNECT, .target = "[2001:db8::1]:8443",
	  .form = HTTP1_TF_AUTHORITY, .authority = "[2001:db8::1]:8443",
	  .version = 11, .nhdrs = 1, .flags = HTTP1_F_HOST,
	  .host = "[2001:db8::1]:8443", .conn = "" },
	{ "absolute_form", REQ,
	  .head = "GET http://Example.com:80/a?b HTTP/1.1\r\nHost: example.com\r\n\r\n",
	  .method = HTTP1_M_GET, .target = "http://Example.com:80/a?b",
	  .form = HTTP1_TF_ABSOLUTE, .authority = "Example.com:80",
	  .version = 11, .nhdrs = 1, .flags = HTTP1_F_HOST,
	  .host = "example.com", .conn = "" },
	{ "absolute_form_query_only", REQ,
	  .head = "GET https://h?q HTTP/1.1\r\nHost: h\r\n\r\n",
	  .method = HTTP1_M_GET, .target = "https://h?q",
	  .form = HTTP1_TF_ABSOLUTE, .authority = "h", .version = 11,
	  .nhdrs = 1, .flags = HTTP1_F_HOST, .host = "h", .conn = "" },
	{ "absolute_https_upper", REQ,
	  .head = "GET HTTPS://h:8443/x HTTP/1.1\r\nHost: h\r\n\r\n",
	  .method = HTTP1_M_GET, .target = "HTTPS://h:8443/x",
	  .form = HTTP1_TF_ABSOLUTE, .authority = "h:8443", .version = 11,
	  .nhdrs = 1, .flags = HTTP1_F_HOST, .host = "h", .conn = "" },
	{ "conn_hop_by_hop_options", REQ,
	  .head = "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, TE, Keep-Alive, "
	    "X-Forwarded-For, Cookie\r\n\r\n",
	  .method = HTTP1_M_GET, .target = "/", .version = 11, .nhdrs = 2,
	  .flags = HTTP1_F_HOST | HTTP1_F_CONN_KEEPALIVE |
	    HTTP1_F_CONN_OTHER, .host = "a",
	  .conn = "Upgrade,TE,Keep-Alive,X-Forwarded-For,Cookie" },
	{ "other_method", REQ, .head = "PROPFIND /d HTTP/1.1\r\nHost: a\r\n\r\n",
	  .method = HTTP1_M_OTHER, .method_s = "PROPFIND", .target = "/d",
	  .version = 11, .nhdrs = 1, .flags = HTTP1_F_HOST, .host = "a",
	  .conn = "" },
	{ "method_case_sensitive", REQ, .head = "get / HTTP/1.1\r\nHost: a\r\n\r\n",
	  .method = HTTP1_M_OTHER, .method_s = "get", .target = "/",
	  .version = 11, .nhdrs = 1, .flags = HTTP1_F_HOST, .host = "a",
	  .conn = "" },
	{ "each_method", REQ,
	  .head = "PATCH /p HTTP/1.1\r\nHost: a\r\n\r\n",
	  .method = HTTP1_M_PATCH, .target = "/p", .version = 11, .nhdrs = 1,
	  .flags = HTTP1_F_HOST, .host = "a", .conn = "" },
	{ "empty_host", REQ, .head = "GET / HTTP/1.1\r\nHost:\r\n\r\n",
	  .method = HTTP1_M_GET, .target = "/", .version = 11, .nhdrs = 1,
	  .flags = HTTP1_F_HOST, .host = "", .conn = "" },
	{ "host_ipv6_pct", REQ,
	  .head = "GET / HTTP/1.1\r\nhOST:  [::1]:8080\r\nX: y\r\n\r\n",
	  .method = HTTP1_M_GET, .target = "/", .version = 11, .nhdrs = 2,
	  .flags = HTTP1_F_HOST, .host = "[::1]:8080", .conn = "" },
	{ "value_ows_obstext_htab", REQ,
	  .head = "GET /%7e?a=\"b\" HTTP/1.1\r\nHost: a%41\r\n"
	    "X-A: \t a\tb \xff" "\xc3\xa9 \t\r\nX-Empty:\r\nX-Sp:   \r\n\r\n",
	  .method = HTTP1_M_GET, .target = "/%7e?a=\"b\"", .version = 11,
	  .nhdrs = 4, .flags = HTTP1_F_HOST, .host = "a%41", .conn = "" },

	/* responses */
	{ "resp_conn_host", RESP, HTTP1_M_GET,
	  .head = "HTTP/1.1 204 No Content\r\nConnection: Host, Expect\r\n\r\n",
	  .version = 11, .status = 204, .reason = "No Content", .nhdrs = 1,
	  .bkind = HTTP1_BODY_NONE, .flags = HTTP1_F_CONN_OTHER, .host = "",
	  .conn = "Host,Expect" },
	{ "resp_cl", RESP, HTTP1_M_GET,
	  .head = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n",
	  .body = "hiHTTP", .payload = "hi", .rest = 4,
	  .version = 11, .status = 200, .reason = "OK", .nhdrs = 1,
	  .bkind = HTTP1_BODY_LENGTH, .clen = 2, .host = "", .conn = "" },
	{ "resp_close_delimited", RESP, HTTP1_M_GET,
	  .head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n",
	  .body = "anything\r\n0\r\n\r\n", .payload = "anything\r\n0\r\n\r\n",
	  .version = 11, .status = 200, .reason = "OK", .nhdrs = 1,
	  .bkind = HTTP1_BODY_CLOSE, .flags = HTTP1_F_CLOSE, .host = "",
	  .conn = "" },
	{ "resp_http10_cl", RESP, HTTP1_M_POST,
	  .head = "HTTP/1.0 200 Fine\r\nContent-Length: 1\r\n\r\n",
	  .body = "x", .payload = "x",
	  .version = 10, .status = 200, .reason = "Fine", .nhdrs = 1,
	  .bkind = HTTP1_BODY_LENGTH, .clen = 1, .flags = HTTP1_F_CLOSE,
	  .host = "", .conn = "" },
	{ "resp_http10_keepalive", RESP, HTTP1_M_GET,
	  .head = "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
	    "Content-Length: 0\r\n\r\n",
	  .version = 10, .status = 200, .reason = "OK", .nhdrs = 2,
	  .bkind = HTTP1_BODY_LENGTH, .flags = HTTP1_F_CONN_KEEPALIVE,
	  .host = "", .conn = "keep-alive" },
	{ "resp_head", RESP, HTTP1_M_HEAD,
	  .head = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
	  .version = 11, .status = 200, .reason = "OK", .nhdrs = 1,
	  .bkind = HTTP1_BODY_NONE, .host = "", .conn = "" },
	{ "resp_head_chunked", RESP, HTTP1_M_HEAD,
	  .head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
	  .version = 11, .status = 200, .reason = "OK", .nhdrs = 1,
	  .bkind = HTTP1_BODY_NONE, .flags = HTTP1_F_TE, .host = "",
	  .conn = "" },
	{ "resp_204", RESP, HTTP1_M_DELETE,
	  .head = "HTTP/1.1 204 No Content\r\n\r\n",
	  .version = 11, .status = 204, .reason = "No Content",
	  .bkind = HTTP1_BODY_NONE, .host = "", .conn = "" },
	{ "resp_304_cl", RESP, HTTP1_M_GET,
	  .head = "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
	  .version = 11, .status = 304, .reason = "Not Modified", .nhdrs = 1,
	  .bkind = HTTP1_BODY_NONE, .host = "", .conn = "" },
	{ "resp_100", RESP, HTTP1_M_PUT,
	  .head = "HTTP/1.1 100 Continue\r\n\r\n",
	  .version = 11, .status = 100, .reason = "Continue",
	  .bkind = HTTP1_BODY_NONE, .host = "", .conn = "" },
	{ "resp_101", RESP, HTTP1_M_GET,
	  .head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: upgrade\r\n\r\n",
	  .version = 11, .status = 101, .reason = "Switching Protocols",
	  .nhdrs = 2, .bkind = HTTP1_BODY_NONE, .flags = HTTP1_F_UPGRADE |
	    HTTP1_F_CONN_OTHER,
	  .host = "", .conn = "upgrade" },
	{ "resp_connect_200", RESP, HTTP1_M_CONNECT,
	  .head = "HTTP/1.1 200 Connection established\r\n\r\n",
	  .version = 11, .status = 200, .reason = "Connection established",
	  .bkind = HTTP1_BODY_NONE, .host = "", .conn = "" },
	{ "resp_connect_407", RESP, HTTP1_M_CONNECT,
	  .head = "HTTP/1.1 407 Auth\r\nContent-Length: 2\r\n\r\n",
	  .body = "no", .payload = "no",
	  .version = 11, .status = 407, .reason = "Auth", .nhdrs = 1,
	  .bkind = HTTP1_BODY_LENGTH, .clen = 2, .host = "", .conn = "" },
	{ "resp_chunked_trailer", RESP, HTTP1_M_GET,
	  .head = "HTTP/1.1 500 Internal Server Error\r\n"
	    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
	  .body = "3\r\nabc\r\n0\r\nExpires: never\r\nX-B:\tv\xfe\r\n\r\n",
	  .payload = "abc",
	  .version = 11, .status = 500, .reason = "Internal Server Error",
	  .nhdrs = 2, .bkind = HTTP1_BODY_CHUNKED,
	  .flags = HTTP1_F_TE | HTTP1_F_CONN_CLOSE | HTTP1_F_CLOSE |
	    HTTP1_F_CONN_OTHER,
	  .host = "", .conn = "close" },
	{ "resp_gzip_chunked", RESP, HTTP1_M_GET,
	  .head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip;level=\"9\\\"\" ;"
	    " x = y, chunked\r\n\r\n",
	  .body = "2\r\nzz\r\n0\r\n\r\n", .payload = "zz",
	  .version = 11, .status = 200, .reason = "OK", .nhdrs = 1,
	  .bkind = HTTP1_BODY_CHUNKED, .flags = HTTP1_F_TE | HTTP1_F_TE_CODING,
	  .host = "", .conn = "" },
	{ "resp_te_not_final_chunked", RESP, HTTP1_M_GET,
	  .head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: gzip\r\n\r\n",
	  .body = "\x1f\x8b", .payload = "\x1f\x8b",
	  .version = 11, .status = 200, .reason = "OK", .nhdrs = 2,
	  .bkind = HTTP1_BODY_CLOSE,
	  .flags = HTTP1_F_TE | HTTP1_F_TE_CODING | HTTP1_F_CLOSE,
	  .host = "", .conn = "" },
	{ "resp_empty_reason", RESP, HTTP1_M_GET,
	  .head = "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n",
	  .version = 11, .status = 404, .reason = "", .nhdrs = 1,
	  .bkind = HTTP1_BODY_LENGTH, .host = "", .conn = "" },
	{ "resp_no_reason_sp", RESP, HTTP1_M_GET,
	  .head = "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n",
	  .version = 11, .status = 404, .reason = "", .nhdrs = 1,
	  .bkind = HTTP1_BODY_LENGTH, .host = "", .conn = "" },
	{ "resp_reason_odd", RESP, HTTP1_M_GET,
	  .head = "HTTP/1.1 599 a\tb  \xe9t\xe9 \r\nHost: ignored in responses\r\n\r\n",
	  .version = 11, .status = 599, .reason = "a\tb  \xe9t\xe9 ",
	  .nhdrs = 1, .bkind = HTTP1_BODY_CLOSE, .flags = HTTP1_F_CLOSE,
	  .host = "", .conn = "" },
};

static void
check_valid_body(const struct vcase *c, const char *buf, size_t head_len,
    const struct http1_msg *m)
{
	struct body_out o, ref;
	size_t blen = strlen(c->body), plen = strlen(c->payload), piece;
	int mode;
	const char *wire = buf + head_len;

	for (mode = HTTP1_PASS; mode <= HTTP1_DECHUNK; mode++) {
		decode(m->body, m->content_length, mode, wire, blen, blen + 1,
		    &ref);
		/* one piece, then every piece size down to byte by byte */
		for (piece = blen + 1; piece >= 1; piece--) {
			decode(m->body, m->content_length, mode, wire, blen,
			    piece, &o);
			ck_assert_msg(o.err == HTTP1_E_NONE, "%s: body error %s",
			    c->name, http1_err_str(o.err));
			ck_assert_msg(o.consumed == blen - c->rest,
			    "%s: consumed %zu of %zu (piece %zu)", c->name,
			    o.consumed, blen, piece);
			ck_assert_uint_eq(o.payload, plen);
			if (mode == HTTP1_PASS) {
				ck_assert_uint_eq(o.data_len, o.consumed);
				ck_assert(memcmp(o.data, wire, o.data_len) == 0);
			} else {
				ck_assert_msg(o.data_len == plen &&
				    memcmp(o.data, c->payload, plen) == 0,
				    "%s: payload '%.*s'", c->name,
				    (int)o.data_len, o.data);
			}
			ck_assert_int_eq(o.done, ref.done);
			if (piece == 1 && mode == HTTP1_DECHUNK && plen > 0)
				ck_assert_int_ge(o.calls, (int)plen);
		}
		if (m->body == HTTP1_BODY_CLOSE)
			ck_assert_msg(!ref.done, "%s: close body done", c->name);
		else
			ck_assert_msg(ref.done, "%s: body not done", c->name);
	}
}

START_TEST(test_valid)
{
	const struct vcase *c = &vcases[_i];
	struct http1_header h1[MAX_HDRS], h2[MAX_HDRS];
	struct http1_msg m1, m2;
	char buf[2048];
	size_t hl = strlen(c->head), bl = c->body ? strlen(c->body) : 0, i;
	char conn[256];
	int r;

	ck_assert_uint_lt(hl + bl, sizeof(buf));
	memcpy(buf, c->head, hl);
	if (c->body)
		memcpy(buf + hl, c->body, bl);
	r = parse_both(c->name, c->kind, c->req_method, buf, hl + bl, MAX_HDRS,
	    MAX_HEAD, &m1, h1, &m2, h2);
	ck_assert_msg(r == (int)hl, "%s: returned %d (%s at %zu), want %zu",
	    c->name, r, http1_err_str(m1.err), m1.err_off, hl);
	ck_assert_uint_eq(m1.head_len, hl);
	ck_assert_int_eq(m1.err, HTTP1_E_NONE);
	ck_assert_int_eq(m1.version, c->version);
	if (c->kind == HTTP1_REQUEST) {
		ck_assert_msg(m1.method == c->method, "%s: method %s", c->name,
		    http1_method_str(m1.method));
		if (c->method_s)
			assert_span(c->name, "method", buf, m1.method_s,
			    c->method_s);
		else
			assert_span(c->name, "method", buf, m1.method_s,
			    http1_method_str(c->method));
		assert_span(c->name, "target", buf, m1.target, c->target);
		ck_assert_int_eq(m1.form, c->form);
		if (c->authority)
			assert_span(c->name, "authority", buf, m1.authority,
			    c->authority);
		else
			ck_assert_uint_eq(m1.authority.len, 0);
	} else {
		ck_assert_int_eq(m1.status, c->status);
		assert_span(c->name, "reason", buf, m1.reason, c->reason);
	}
	ck_assert_msg(m1.nhdrs == c->nhdrs, "%s: %zu headers", c->name,
	    m1.nhdrs);
	ck_assert_msg(m1.body == c->bkind, "%s: body %s, want %s", c->name,
	    http1_body_str(m1.body), http1_body_str(c->bkind));
	ck_assert_uint_eq(m1.content_length, c->clen);
	ck_assert_msg(m1.flags == c->flags, "%s: flags 0x%x, want 0x%x",
	    c->name, m1.flags, c->flags);
	assert_span(c->name, "host", buf, m1.host, c->host);
	conn[0] = '\0';
	for (i = 0; i < m1.nconn; i++) {
		snprintf(conn + strlen(conn), sizeof(conn) - strlen(conn),
		    "%s%.*s", i > 0 ? "," : "", (int)m1.conn[i].len,
		    buf + m1.conn[i].off);
	}
	ck_assert_str_eq(conn, c->conn);
	/* every span lies inside the head */
	for (i = 0; i < m1.nhdrs; i++) {
		ck_assert_uint_le(h1[i].name.off + h1[i].name.len, hl);
		ck_assert_uint_le(h1[i].value.off + h1[i].value.len, hl);
		ck_assert_uint_gt(h1[i].name.len, 0);
		ck_assert(buf[h1[i].name.off + h1[i].name.len] == ':');
		if (h1[i].value.len > 0) {
			ck_assert(buf[h1[i].value.off] != ' ' &&
			    buf[h1[i].value.off] != '\t');
			ck_assert(buf[h1[i].value.off + h1[i].value.len - 1] != ' ');
		}
	}
	if (c->body)
		check_valid_body(c, buf, hl, &m1);
}
END_TEST

START_TEST(test_header_values)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: a\r\n"
	    "X-A: \t a\tb \t\r\nX-Empty:\r\nCONNECTION: x-hop\r\n\r\n";
	struct http1_header h[MAX_HDRS];
	struct http1_msg m;

	http1_msg_init(&m, HTTP1_REQUEST, HTTP1_M_OTHER, h, MAX_HDRS, MAX_HEAD);
	ck_assert_int_eq(http1_parse_head(&m, req, sizeof(req) - 1),
	    (int)sizeof(req) - 1);
	ck_assert_uint_eq(m.nhdrs, 4);
	assert_span("values", "name", req, h[1].name, "X-A");
	assert_span("values", "value", req, h[1].value, "a\tb");
	assert_span("values", "empty", req, h[2].value, "");
	ck_assert(http1_hdr_is(req, &h[0], "host"));
	ck_assert(http1_hdr_is(req, &h[0], "HOST"));
	ck_assert(!http1_hdr_is(req, &h[0], "hos"));
	ck_assert(!http1_hdr_is(req, &h[0], "hosts"));
	ck_assert(http1_hdr_is(req, &h[3], "Connection"));
	ck_assert(http1_conn_nominates(&m, req, "X-Hop", 5));
	ck_assert(http1_conn_nominates(&m, req, "x-hopX", 5));
	ck_assert(!http1_conn_nominates(&m, req, "x-ho", 4));
	ck_assert(!http1_conn_nominates(&m, req, "close", 5));
}
END_TEST

/*
 * The name comparison folds case eight bytes at a time (http1.c): an
 * oracle over every tchar at every position of every known name.  A name
 * with byte i replaced by b is that field exactly when b is the name's
 * byte in either case; any other tchar (the ones that fold to a letter
 * with 0x20, '^' and '_' among them) makes it another field.
 */
START_TEST(test_field_ids_every_tchar)
{
	static const char tchars[] = "!#$%&'*+-.^_`|~0123456789"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	struct http1_header h[MAX_HDRS];
	struct http1_msg m;
	char head[256], name[32];
	const char *known;
	unsigned id;
	size_t i, k, n;
	int len;
	bool same;

	for (id = HTTP1_FLD_OTHER + 1; id < HTTP1_FLD__COUNT; id++) {
		known = http1_field_str((enum http1_field)id);
		n = strlen(known);
		for (i = 0; i < n; i++) {
			for (k = 0; k < sizeof(tchars) - 1; k++) {
				memcpy(name, known, n + 1);
				name[i] = tchars[k];
				same = tolower((unsigned char)tchars[k]) == known[i];
				/* a value each known field takes in a response */
				len = snprintf(head, sizeof(head),
				    "HTTP/1.1 200 OK\r\n%s: %s\r\n\r\n", name,
				    id == HTTP1_FLD_TRANSFER_ENCODING ? "chunked" : "0");
				http1_msg_init(&m, HTTP1_RESPONSE, HTTP1_M_GET, h,
				    MAX_HDRS, MAX_HEAD);
				ck_assert_int_eq(http1_parse_head(&m, head, (size_t)len), len);
				ck_assert_msg((h[0].id == id) == same,
				    "%s: id %d (known %s)", name, (int)h[0].id, known);
			}
		}
	}
}
END_TEST

/*
 * Every known name is recognised in any case, and only with its exact
 * length: a longer or shorter name, or one a byte off, is "other" (the
 * head builders copy what is "other", so a miss here would drop or keep
 * the wrong field).
 */
START_TEST(test_field_ids)
{
	char req[512], name[32];
	struct http1_header h[MAX_HDRS];
	struct http1_msg m;
	unsigned id;
	size_t i, n;
	int len;

	for (id = HTTP1_FLD_OTHER + 1; id < HTTP1_FLD__COUNT; id++) {
		n = strlen(http1_field_str((enum http1_field)id));
		ck_assert_uint_gt(n, 0);
		ck_assert_uint_lt(n, sizeof(name) - 2);
		/* the name in upper case, then one byte longer, shorter, off */
		for (i = 0; i < n; i++)
			name[i] = (char)toupper((unsigned char)
			    http1_field_str((enum http1_field)id)[i]);
		name[n] = '\0';
		len = snprintf(req, sizeof(req), "POST / HTTP/1.1\r\n"
		    "host: a\r\n%s: v\r\n%sX: v\r\n%.*s: v\r\n%.*s_: v\r\n"
		    "Content-Length: 0\r\n\r\n", id == HTTP1_FLD_HOST ||
		    id == HTTP1_FLD_CONTENT_LENGTH ||
		    id == HTTP1_FLD_TRANSFER_ENCODING ? "X-Known" : name, name,
		    (int)n - 1, name, (int)n - 1, name);
		ck_assert_int_lt(len, (int)sizeof(req));
		http1_msg_init(&m, HTTP1_REQUEST, HTTP1_M_OTHER, h, MAX_HDRS,
		    MAX_HEAD);
		ck_assert_int_eq(http1_parse_head(&m, req, (size_t)len), len);
		ck_assert_uint_eq(m.nhdrs, 6);
		ck_assert_int_eq(h[0].id, HTTP1_FLD_HOST);
		if (strcmp(req + h[1].name.off, "X-Known") != 0 &&
		    h[1].name.len == n)
			ck_assert_msg(h[1].id == id, "%s: id %d, want %u", name,
			    (int)h[1].id, id);
		for (i = 2; i < 5; i++)
			ck_assert_msg(h[i].id == HTTP1_FLD_OTHER,
			    "%s: field %zu is id %d", name, i, (int)h[i].id);
		ck_assert_int_eq(h[5].id, HTTP1_FLD_CONTENT_LENGTH);
	}
	/* the one known name the loop cannot put in a request as it is */
	len = snprintf(req, sizeof(req), "HTTP/1.1 200 OK\r\n"
	    "TRANSFER-ENCODING: chunked\r\n\r\n");
	http1_msg_init(&m, HTTP1_RESPONSE, HTTP1_M_GET, h, MAX_HDRS, MAX_HEAD);
	ck_assert_int_eq(http1_parse_head(&m, req, (size_t)len), len);
	ck_assert_int_eq(h[0].id, HTTP1_FLD_TRANSFER_ENCODING);
	ck_assert_str_eq(http1_field_str(HTTP1_FLD_OTHER), "");
	ck_assert_str_eq(http1_field_str(HTTP1_FLD__COUNT), "");
}
END_TEST

/* RFC 9110 5.6.2, written out apart from the parser's table. */
static bool
ref_tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

/*
 * Every byte value in a field name and in a field value, one piece and
 * byte by byte: a name takes tchars only; a value takes HTAB, SP, VCHAR
 * and obs-text, never another control byte (bare CR and LF have their
 * own errors).
 */
START_TEST(test_every_byte)
{
	struct http1_header h1[MAX_HDRS], h2[MAX_HDRS];
	struct http1_msg m1, m2;
	char buf[64], name[16];
	int c, n, r;
	bool ctl;

	for (c = 0; c < 256; c++) {
		snprintf(name, sizeof(name), "byte 0x%02x", c);
		/* in a name: "X<c>Y: v" */
		n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nX");
		buf[n++] = (char)c;
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "Y: v\r\n\r\n");
		r = parse_both(name, HTTP1_REQUEST, HTTP1_M_OTHER, buf, (size_t)n,
		    MAX_HDRS, MAX_HEAD, &m1, h1, &m2, h2);
		/* ':' ends the name there: "X" with the value "Y: v" */
		ck_assert_msg((r > 0) == (ref_tchar(c) || c == ':'),
		    "%s in a field name: %d (%s)", name, r,
		    http1_err_str(m1.err));
		/* in a value: "X: a<c>b" */
		n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nX: a");
		buf[n++] = (char)c;
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "b\r\n\r\n");
		r = parse_both(name, HTTP1_REQUEST, HTTP1_M_OTHER, buf, (size_t)n,
		    MAX_HDRS, MAX_HEAD, &m1, h1, &m2, h2);
		ctl = (c < 0x20 && c != '\t') || c == 0x7f;
		ck_assert_msg((r > 0) == !ctl, "%s in a field value: %d (%s)",
		    name, r, http1_err_str(m1.err));
		if (ctl)
			ck_assert_int_eq(m1.err, c == '\r' ? HTTP1_E_BARE_CR :
			    c == '\n' ? HTTP1_E_BARE_LF : HTTP1_E_CTL);
	}
}
END_TEST

/* reg-name bytes of a host, RFC 3986 3.2.2: unreserved and sub-delims */
static bool
ref_regname(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != 0 && strchr("-._~!$&'()*+,;=", c));
}

/*
 * The name and Host scanners take runs of bytes at a time (four name
 * bytes a step, a host's plain bytes by table): every byte value at every
 * position of a name and of a Host value must still be taken or refused
 * as one byte at a time would, with the error at that byte.
 */
START_TEST(test_every_byte_every_position)
{
	static const char nm[] = "abcdefghi", hv[] = "ghijklmnop";
	struct http1_header h1[MAX_HDRS], h2[MAX_HDRS];
	struct http1_msg m1, m2;
	char buf[96], name[32];
	size_t k, at;
	int c, n, r;
	bool ctl;

	for (c = 0; c < 256; c++) {
		ctl = (c < 0x20 && c != '\t') || c == 0x7f;
		for (k = 0; k < sizeof(nm) - 1; k++) {
			snprintf(name, sizeof(name), "name byte 0x%02x at %zu", c, k);
			n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\n");
			at = (size_t)n + k;
			n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s: v\r\n\r\n", nm);
			buf[at] = (char)c;
			r = parse_both(name, HTTP1_REQUEST, HTTP1_M_OTHER, buf,
			    (size_t)n, MAX_HDRS, MAX_HEAD, &m1, h1, &m2, h2);
			if (ref_tchar(c) || (c == ':' && k > 0)) {
				ck_assert_msg(r > 0, "%s: %s", name, http1_err_str(m1.err));
				ck_assert_uint_eq(h1[1].name.len, c == ':' ? k : 9);
				continue;
			}
			ck_assert_msg(r < 0, "%s: taken", name);
			if (ctl)
				continue;	/* the line scanner's errors */
			ck_assert_msg(m1.err == (c != ' ' && c != '\t' ?
			    HTTP1_E_HDR_NAME : k == 0 ? HTTP1_E_OBS_FOLD :
			    HTTP1_E_HDR_NAME_WS) &&
			    m1.err_off == at, "%s: %s at %zu", name,
			    http1_err_str(m1.err), m1.err_off);
		}
		for (k = 1; k + 1 < sizeof(hv) - 1; k++) {
			if (c == ':' || c == '%')
				continue;	/* a port; pct-encoding (below) */
			snprintf(name, sizeof(name), "host byte 0x%02x at %zu", c, k);
			n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: ");
			at = (size_t)n + k;
			n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s\r\n\r\n", hv);
			buf[at] = (char)c;
			r = parse_both(name, HTTP1_REQUEST, HTTP1_M_OTHER, buf,
			    (size_t)n, MAX_HDRS, MAX_HEAD, &m1, h1, &m2, h2);
			if (ref_regname(c) && c != ',') {
				ck_assert_msg(r > 0, "%s: %s", name, http1_err_str(m1.err));
				continue;
			}
			ck_assert_msg(r < 0, "%s: taken", name);
			if (!ctl)
				ck_assert_msg(m1.err == HTTP1_E_HOST_SYNTAX &&
				    m1.err_off == at, "%s: %s at %zu", name,
				    http1_err_str(m1.err), m1.err_off);
		}
	}
}
END_TEST

/*
 * The line scanner takes sixteen bytes (SSE2), then four, at a time while
 * none of them stops it: every byte value at every position of a value
 * longer than two sixteen-byte steps and a four-byte one is taken or
 * refused as one byte at a time would, a refused one with its own error at
 * its own offset.
 */
START_TEST(test_every_byte_in_value_every_position)
{
	static const char val[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN";
	struct http1_header h1[MAX_HDRS], h2[MAX_HDRS];
	struct http1_msg m1, m2;
	char buf[96], name[40];
	size_t k, at;
	int c, n, r;
	bool ctl;

	for (c = 0; c < 256; c++) {
		ctl = (c < 0x20 && c != '\t') || c == 0x7f;
		for (k = 1; k + 1 < sizeof(val) - 1; k++) {
			snprintf(name, sizeof(name), "value byte 0x%02x at %zu", c, k);
			n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nX: ");
			at = (size_t)n + k;
			n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s\r\n\r\n", val);
			buf[at] = (char)c;
			r = parse_both(name, HTTP1_REQUEST, HTTP1_M_OTHER, buf,
			    (size_t)n, MAX_HDRS, MAX_HEAD, &m1, h1, &m2, h2);
			if (!ctl) {
				ck_assert_msg(r > 0, "%s: %s", name, http1_err_str(m1.err));
				ck_assert_uint_eq(h1[1].value.len, sizeof(val) - 1);
				continue;
			}
			ck_assert_msg(r < 0 && m1.err == (c == '\r' ? HTTP1_E_BARE_CR :
			    c == '\n' ? HTTP1_E_BARE_LF : HTTP1_E_CTL) &&
			    m1.err_off == at, "%s: %d %s at %zu", name, r,
			    http1_err_str(m1.err), m1.err_off);
		}
	}
}
END_TEST

/* pct-encoding in a Host, and the length limit where it crosses it. */
START_TEST(test_host_pct)
{
	char head[700], host[300];
	struct http1_header h[4];
	struct http1_msg m;
	int n;

	http1_msg_init(&m, HTTP1_REQUEST, HTTP1_M_OTHER, h, 4, MAX_HEAD);
	n = snprintf(head, sizeof(head), "GET / HTTP/1.1\r\nHost: a%%41b.c:80\r\n\r\n");
	ck_assert_int_eq(http1_parse_head(&m, head, (size_t)n), n);
	http1_msg_init(&m, HTTP1_REQUEST, HTTP1_M_OTHER, h, 4, MAX_HEAD);
	n = snprintf(head, sizeof(head), "GET / HTTP/1.1\r\nHost: ab%%4g\r\n\r\n");
	ck_assert_int_eq(http1_parse_head(&m, head, (size_t)n), -1);
	ck_assert_int_eq(m.err, HTTP1_E_HOST_SYNTAX);
	ck_assert_uint_eq(m.err_off, 24);
	/* HTTP1_HOST_MAX - 1 plain bytes, then "%41": one byte too long */
	memset(host, 'a', sizeof(host));
	n = snprintf(head, sizeof(head), "GET / HTTP/1.1\r\nHost: %.*s%%41\r\n\r\n",
	    HTTP1_HOST_MAX - 1, host);
	http1_msg_init(&m, HTTP1_REQUEST, HTTP1_M_OTHER, h, 4, MAX_HEAD);
	ck_assert_int_eq(http1_parse_head(&m, head, (size_t)n), -1);
	ck_assert_int_eq(m.err, HTTP1_E_HOST_SYNTAX);
	ck_assert_uint_eq(m.err_off, 22 + HTTP1_HOST_MAX + 1);
	/* one byte over with the "%41" at the end, then exactly the limit */
	n = snprintf(head, sizeof(head), "GET / HTTP/1.1\r\nHost: %.*s%%41\r\n\r\n",
	    HTTP1_HOST_MAX - 2, host);
	http1_msg_init(&m, HTTP1_REQUEST, HTTP1_M_OTHER, h, 4, MAX_HEAD);
	ck_assert_int_eq(http1_parse_head(&m, head, (size_t)n), -1);
	ck_assert_uint_eq(m.err_off, 22 + HTTP1_HOST_MAX);
	n = snprintf(head, sizeof(head), "GET / HTTP/1.1\r\nHost: %.*s%%41\r\n\r\n",
	    HTTP1_HOST_MAX - 3, host);
	http1_msg_init(&m, HTTP1_REQUEST, HTTP1_M_OTHER, h, 4, MAX_HEAD);
	ck_assert_int_eq(http1_parse_head(&m, head, (size_t)n), n);
}
END_TEST

/* Completed lines are never scanned again: the resume offset is kept. */
START_TEST(test_resume_no_rescan)
{
	static const char part[] = "GET / HTTP/1.1\r\nHost: a\r\nX-Long: abc";
	char buf[128];
	struct http1_header h[MAX_HDRS];
	struct http1_msg m;
	size_t n = sizeof(part) - 1;

	http1_msg_init(&m, HTTP1_REQUEST, HTTP1_M_OTHER, h, MAX_HDRS, MAX_HEAD);
	memcpy(buf, part, n);
	ck_assert_int_eq(http1_parse_head(&m, buf, n), 0);
	/*
	 * Spoil the two complete lines (25 bytes): a parser that restarted
	 * from zero would now see NUL bytes and fail; one that resumes does
	 * not.  (The incomplete line is parsed once, when its CRLF is in.)
	 */
	memset(buf, 0, 25);
	memcpy(buf + n, "\r\n\r\n", 4);
	ck_assert_int_eq(http1_parse_head(&m, buf, n + 4), (int)n + 4);
	ck_assert_int_eq(m.method, HTTP1_M_GET);
	ck_assert_uint_eq(m.nhdrs, 2);
	/* a shrunk buffer (a caller bug) is not scanned; it waits for more */
	http1_msg_init(&m, HTTP1_REQUEST, HTTP1_M_OTHER, h, MAX_HDRS, MAX_HEAD);
	ck_assert_int_eq(http1_parse_head(&m, part, 20), 0);
	ck_assert_int_eq(http1_parse_head(&m, part, 10), 0);
	ck_assert_int_eq(http1_parse_head(&m, part, n), 0);
	assert_span("rescan", "value", buf, h[1].value, "abc");
}
END_TEST

/* ---- invalid messages ------------------------------------------------- */

struct icase {
	const char *name;
	enum http1_kind kind;
	const char *msg;
	size_t len;			/* 0: strlen(msg) */
	enum http1_err err;
	size_t off;
};

/* "GET / HTTP/1.1\r\n" is 16 bytes, "Host: a\r\n" 9 more (25). */
#define RL	"GET / HTTP/1.1\r\n"
#define PL	"POST / HTTP/1.1\r\nHost: a\r\n"	/* 26 bytes */
#define SL	"HTTP/1.1 200 OK\r\n"		/* 17 bytes */

static const struct icase icases[] = {
	/* framing: Content-Length and Transfer-Encoding */
	{ "te_and_cl", REQ, PL "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
	  0, HTTP1_E_TE_CL, 45 },
	{ "cl_and_te", REQ, PL "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
	  0, HTTP1_E_TE_CL, 54 },
	{ "cl_dup_same", REQ, PL "Content-Length: 5\r\nContent-Length: 5\r\n\r\n",
	  0, HTTP1_E_CL_DUP, 45 },
	{ "cl_dup_differ", REQ, PL "Content-Length: 5\r\ncontent-length: 6\r\n\r\n",
	  0, HTTP1_E_CL_DUP, 45 },
	{ "cl_list_same", REQ, PL "Content-Length: 5, 5\r\n\r\n", 0,
	  HTTP1_E_CL_SYNTAX, 43 },
	{ "cl_list_differ", REQ, PL "Content-Length: 5,6\r\n\r\n", 0,
	  HTTP1_E_CL_SYNTAX, 43 },
	{ "cl_plus", REQ, PL "Content-Length: +5\r\n\r\n", 0, HTTP1_E_CL_SYNTAX, 42 },
	{ "cl_minus", REQ, PL "Content-Length: -1\r\n\r\n", 0, HTTP1_E_CL_SYNTAX, 42 },
	{ "cl_hex", REQ, PL "Content-Length: 0x5\r\n\r\n", 0, HTTP1_E_CL_SYNTAX, 43 },
	{ "cl_inner_space", REQ, PL "Content-Length: 5 5\r\n\r\n", 0,
	  HTTP1_E_CL_SYNTAX, 43 },
	{ "cl_empty", REQ, PL "Content-Length: \r\n\r\n", 0, HTTP1_E_CL_SYNTAX, 42 },
	{ "cl_alpha", REQ, PL "Content-Length: five\r\n\r\n", 0, HTTP1_E_CL_SYNTAX, 42 },
	{ "cl_overflow_int64", REQ, PL "Content-Length: 9223372036854775808\r\n\r\n",
	  0, HTTP1_E_CL_OVERFLOW, 60 },
	{ "cl_overflow_uint64", REQ, PL "Content-Length: 99999999999999999999\r\n\r\n",
	  0, HTTP1_E_CL_OVERFLOW, 60 },
	{ "cl_wrap_2_64", REQ, PL "Content-Length: 18446744073709551621\r\n\r\n",
	  0, HTTP1_E_CL_OVERFLOW, 61 },
	{ "te_gzip_chunked", REQ, PL "Transfer-Encoding: gzip, chunked\r\n\r\n", 0,
	  HTTP1_E_TE_UNSUPPORTED, 26 },
	{ "te_gzip", REQ, PL "Transfer-Encoding: gzip\r\n\r\n", 0,
	  HTTP1_E_TE_NOT_CHUNKED, 26 },
	{ "te_chunked_gzip", REQ, PL "Transfer-Encoding: chunked, gzip\r\n\r\n", 0,
	  HTTP1_E_TE_NOT_CHUNKED, 26 },
	{ "te_chunked_then_identity", REQ,
	  PL "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n",
	  0, HTTP1_E_TE_NOT_CHUNKED, 54 },
	{ "te_chunked_twice", REQ, PL "Transfer-Encoding: chunked, chunked\r\n\r\n",
	  0, HTTP1_E_TE_CHUNKED_TWICE, 54 },
	{ "te_chunked_two_fields", REQ,
	  PL "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	  0, HTTP1_E_TE_CHUNKED_TWICE, 73 },
	{ "te_empty", REQ, PL "Transfer-Encoding: \r\n\r\n", 0, HTTP1_E_TE_SYNTAX, 45 },
	{ "te_commas", REQ, PL "Transfer-Encoding: , ,\r\n\r\n", 0,
	  HTTP1_E_TE_SYNTAX, 45 },
	{ "te_chunked_param", REQ, PL "Transfer-Encoding: chunked;q=1\r\n\r\n", 0,
	  HTTP1_E_TE_SYNTAX, 52 },
	{ "te_split_token", REQ, PL "Transfer-Encoding: chun ked\r\n\r\n", 0,
	  HTTP1_E_TE_SYNTAX, 50 },
	{ "te_bad_char", REQ, PL "Transfer-Encoding: \"chunked\"\r\n\r\n", 0,
	  HTTP1_E_TE_SYNTAX, 45 },
	{ "te_bad_param", REQ, PL "Transfer-Encoding: gzip;x\r\n\r\n", 0,
	  HTTP1_E_TE_SYNTAX, 51 },
	{ "te_unterminated_quote", REQ,
	  PL "Transfer-Encoding: gzip;x=\"a, chunked\r\n\r\n", 0,
	  HTTP1_E_TE_SYNTAX, 63 },
	{ "te_param_no_name", REQ, PL "Transfer-Encoding: gzip; =x\r\n\r\n", 0,
	  HTTP1_E_TE_SYNTAX, 51 },
	{ "te_param_bad_value", REQ, PL "Transfer-Encoding: gzip;x=@\r\n\r\n", 0,
	  HTTP1_E_TE_SYNTAX, 52 },
	{ "te_param_trailing_backslash", REQ,
	  PL "Transfer-Encoding: gzip;x=\"a\\\r\n\r\n", 0, HTTP1_E_TE_SYNTAX, 55 },
	{ "te_http10", REQ, "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
	  0, HTTP1_E_TE_HTTP10, 17 },
	/* line structure */
	{ "obs_fold", REQ, RL "Host: a\r\nX: b\r\n c\r\n\r\n", 0,
	  HTTP1_E_OBS_FOLD, 31 },
	{ "obs_fold_tab", REQ, RL "Host: a\r\nX: b\r\n\tc\r\n\r\n", 0,
	  HTTP1_E_OBS_FOLD, 31 },
	{ "ws_before_first_field", REQ, RL " Host: a\r\n\r\n", 0,
	  HTTP1_E_OBS_FOLD, 16 },
	{ "bare_cr_in_field", REQ, RL "Host: a\rX: b\r\n\r\n", 0,
	  HTTP1_E_BARE_CR, 23 },
	{ "bare_cr_end", REQ, RL "Host: a\r\n\r\r\n", 0, HTTP1_E_BARE_CR, 25 },
	{ "bare_cr_reqline", REQ, "GET /\r HTTP/1.1\r\n", 0, HTTP1_E_BARE_CR, 5 },
	{ "bare_lf_reqline", REQ, "GET / HTTP/1.1\nHost: a\r\n\r\n", 0,
	  HTTP1_E_BARE_LF, 14 },
	{ "bare_lf_end", REQ, RL "Host: a\r\n\n", 0, HTTP1_E_BARE_LF, 25 },
	{ "bare_lf_only", REQ, RL "Host: a\n\n", 0, HTTP1_E_BARE_LF, 23 },
	{ "bare_lf_leading", REQ, "\nGET / HTTP/1.1\r\n", 0, HTTP1_E_BARE_LF, 0 },
	{ "nul_in_value", REQ, RL "Host: a\r\nX: a\0b\r\n\r\n", 35, HTTP1_E_CTL, 29 },
	{ "soh_in_value", REQ, RL "Host: a\r\nX: a\001b\r\n\r\n", 0, HTTP1_E_CTL, 29 },
	{ "vt_in_value", REQ, RL "Host: a\r\nX: a\vb\r\n\r\n", 0, HTTP1_E_CTL, 29 },
	{ "del_in_value", REQ, RL "Host: a\r\nX: a\177b\r\n\r\n", 0, HTTP1_E_CTL, 29 },
	{ "esc_in_name", REQ, RL "Host: a\r\nX\033: b\r\n\r\n", 0, HTTP1_E_CTL, 26 },
	{ "ctl_in_target", REQ, "GET /\001 HTTP/1.1\r\n\r\n", 0, HTTP1_E_CTL, 5 },
	{ "tls_client_hello", REQ, "\026\003\001\000\245\001", 6, HTTP1_E_CTL, 0 },
	/* field lines */
	{ "name_sp_colon", REQ, RL "Host : a\r\n\r\n", 0, HTTP1_E_HDR_NAME_WS, 20 },
	{ "name_tab_colon", REQ, RL "Host\t: a\r\n\r\n", 0, HTTP1_E_HDR_NAME_WS, 20 },
	{ "name_bad_char", REQ, RL "Host: a\r\nX(a): b\r\n\r\n", 0,
	  HTTP1_E_HDR_NAME, 26 },
	{ "name_obs_text", REQ, RL "Host: a\r\nX\xe9: b\r\n\r\n", 0,
	  HTTP1_E_HDR_NAME, 26 },
	{ "name_empty", REQ, RL "Host: a\r\n: b\r\n\r\n", 0, HTTP1_E_HDR_NAME, 25 },
	{ "no_colon", REQ, RL "Host: a\r\nX-Foo\r\n\r\n", 0, HTTP1_E_HDR_NO_COLON, 25 },
	{ "no_colon_space", REQ, RL "Host: a\r\nX-Foo bar\r\n\r\n", 0,
	  HTTP1_E_HDR_NO_COLON, 25 },
	/* request-line */
	{ "method_bad_char", REQ, "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 0,
	  HTTP1_E_METHOD, 1 },
	{ "method_obs_text", REQ, "G\xc9T / HTTP/1.1\r\n\r\n", 0, HTTP1_E_METHOD, 1 },
	{ "method_tab", REQ, "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 0,
	  HTTP1_E_REQUEST_LINE, 3 },
	{ "double_sp_method", REQ, "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 0,
	  HTTP1_E_REQUEST_LINE, 4 },
	{ "double_sp_version", REQ, "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 0,
	  HTTP1_E_REQUEST_LINE, 6 },
	{ "trailing_sp", REQ, "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 0,
	  HTTP1_E_REQUEST_LINE, 14 },
	{ "leading_sp", REQ, " GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0,
	  HTTP1_E_REQUEST_LINE, 0 },
	{ "http09", REQ, "GET /\r\n\r\n", 0, HTTP1_E_REQUEST_LINE, 5 },
	{ "no_version", REQ, "GET / \r\n\r\n", 0, HTTP1_E_REQUEST_LINE, 6 },
	{ "no_target", REQ, "GET\r\n\r\n", 0, HTTP1_E_REQUEST_LINE, 3 },
	{ "sp_in_target", REQ, "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 0,
	  HTTP1_E_REQUEST_LINE, 8 },
	{ "version_2", REQ, "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 0,
	  HTTP1_E_VERSION, 6 },
	{ "version_1_2", REQ, "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 0,
	  HTTP1_E_VERSION, 6 },
	{ "version_0_9", REQ, "GET / HTTP/0.9\r\n\r\n", 0, HTTP1_E_VERSION, 6 },
	{ "version_1_10", REQ, "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 0,
	  HTTP1_E_VERSION_SYNTAX, 6 },
	{ "version_lower", REQ, "GET / http/1.1\r\nHost: a\r\n\r\n", 0,
	  HTTP1_E_VERSION_SYNTAX, 6 },
	{ "version_short", REQ, "GET / HTTP/1\r\nHost: a\r\n\r\n", 0,
	  HTTP1_E_VERSION_SYNTAX, 6 },
	{ "target_relative", REQ, "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", 0,
	  HTTP1_E_TARGET, 5 },
	{ "target_fragment", REQ, "GET /a#f HTTP/1.1\r\nHost: a\r\n\r\n", 0,
	  HTTP1_E_TARGET, 6 },
	{ "target_obs_text", REQ, "GET /\x80 HTTP/1.1\r\nHost: a\r\n\r\n", 0,
	  HTTP1_E_TARGET, 5 },
	{ "target_tab", REQ, "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 0,
	  HTTP1_E_TARGET, 6 },
	{ "asterisk_not_options", REQ, "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 0,
	  HTTP1_E_TARGET_FORM, 4 },
	{ "asterisk_prefix", REQ, "OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n", 0,
	  HTTP1_E_TARGET, 10 },
	{ "connect_origin", REQ, "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", 0,
	  HTTP1_E_TARGET_FORM, 8 },
	{ "connect_asterisk", REQ, "CONNECT * HTTP/1.1\r\nHost: a\r\n\r\n", 0,
	  HTTP1_E_TARGET_FORM, 8 },
	{ "connect_absolute", REQ, "CONNECT http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
	  0, HTTP1_E_TARGET_FORM, 8 },
	{ "connect_no_port", REQ, "CONNECT example.com HTTP/1.1\r\nHost: a\r\n\r\n",
	  0, HTTP1_E_TARGET, 19 },
	{ "connect_big_port", REQ, "CONNECT a:65536 HTTP/1.1\r\nHost: a\r\n\r\n",
	  0, HTTP1_E_TARGET, 9 },
	{ "authority_not_connect", REQ,
	  "GET example.com:443 HTTP/1.1\r\nHost: a\r\n\r\n", 0,
	  HTTP1_E_TARGET_FORM, 4 },
	{ "absolute_userinfo", REQ, "GET http://u@h/ HTTP/1.1\r\nHost: h\r\n\r\n",
	  0, HTTP1_E_TARGET, 12 },
	/* Regression: any scheme was taken for http. */
	{ "absolute_gopher", REQ, "GET gopher://h/ HTTP/1.1\r\nHost: h\r\n\r\n",
	  0, HTTP1_E_TARGET_SCHEME, 4 },
	{ "absolute_file", REQ, "GET file://h/etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n",
	  0, HTTP1_E_TARGET_SCHEME, 4 },
	{ "absolute_httpx", REQ, "GET httpx://h/ HTTP/1.1\r\nHost: h\r\n\r\n",
	  0, HTTP1_E_TARGET_SCHEME, 4 },
	{ "absolute_ws", REQ, "GET ws://h/ HTTP/1.1\r\nHost: h\r\n\r\n",
	  0, HTTP1_E_TARGET_SCHEME, 4 },
	{ "absolute_no_host", REQ, "GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n",
	  0, HTTP1_E_TARGET, 11 },
	{ "absolute_bad_ipv6", REQ, "GET http://[::1/ HTTP/1.1\r\nHost: h\r\n\r\n",
	  0, HTTP1_E_TARGET, 11 },
	/* Host */
	{ "host_missing", REQ, RL "X: a\r\n\r\n", 0, HTTP1_E_HOST_MISSING, 22 },
	{ "host_dup", REQ, RL "Host: a\r\nHost: a\r\n\r\n", 0, HTTP1_E_HOST_DUP, 25 },
	{ "host_dup_http10", REQ, "GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n",
	  0, HTTP1_E_HOST_DUP, 25 },
	{ "host_space", REQ, RL "Host: a b\r\n\r\n", 0, HTTP1_E_HOST_SYNTAX, 23 },
	{ "host_slash", REQ, RL "Host: a/b\r\n\r\n", 0, HTTP1_E_HOST_SYNTAX, 23 },
	{ "host_userinfo", REQ, RL "Host: u@a\r\n\r\n", 0, HTTP1_E_HOST_SYNTAX, 23 },
	{ "host_list", REQ, RL "Host: a, b\r\n\r\n", 0, HTTP1_E_HOST_SYNTAX, 23 },
	{ "host_bad_port", REQ, RL "Host: a:99999\r\n\r\n", 0, HTTP1_E_HOST_SYNTAX, 23 },
	{ "host_empty_port", REQ, RL "Host: a:\r\n\r\n", 0, HTTP1_E_HOST_SYNTAX, 23 },
	{ "host_bad_pct", REQ, RL "Host: a%4\r\n\r\n", 0, HTTP1_E_HOST_SYNTAX, 23 },
	{ "host_bad_ipv6", REQ, RL "Host: [::g]\r\n\r\n", 0, HTTP1_E_HOST_SYNTAX, 25 },
	{ "host_empty_ipv6", REQ, RL "Host: []\r\n\r\n", 0, HTTP1_E_HOST_SYNTAX, 23 },
	{ "host_after_ipv6", REQ, RL "Host: [::1]x\r\n\r\n", 0, HTTP1_E_HOST_SYNTAX, 27 },
	{ "host_port_only", REQ, RL "Host: :80\r\n\r\n", 0, HTTP1_E_HOST_SYNTAX, 22 },
	{ "host_port_alpha", REQ, RL "Host: a:8x\r\n\r\n", 0, HTTP1_E_HOST_SYNTAX, 25 },
	{ "host_port_6_digits", REQ, RL "Host: a:000080\r\n\r\n", 0,
	  HTTP1_E_HOST_SYNTAX, 29 },
	/* Connection */
	{ "conn_bad", REQ, RL "Host: a\r\nConnection: close;x\r\n\r\n", 0,
	  HTTP1_E_CONN_SYNTAX, 42 },
	{ "conn_not_token", REQ, RL "Host: a\r\nConnection: close, @\r\n\r\n", 0,
	  HTTP1_E_CONN_SYNTAX, 44 },
	/*
	 * Regression: a Connection option naming a
	 * field the message is framed or routed by made the broker drop it
	 * and forward the body as the next request.
	 */
	{ "conn_content_length", REQ,
	  RL "Host: a\r\nConnection: Content-Length\r\nContent-Length: 5\r\n\r\n",
	  0, HTTP1_E_CONN_END_TO_END, 37 },
	{ "conn_close_content_length", REQ,
	  RL "Host: a\r\nConnection: close, content-length\r\n\r\n",
	  0, HTTP1_E_CONN_END_TO_END, 44 },
	{ "conn_second_field_te", REQ,
	  RL "Host: a\r\nConnection: keep-alive\r\nConnection: TRANSFER-ENCODING\r\n\r\n",
	  0, HTTP1_E_CONN_END_TO_END, 61 },
	{ "conn_host", REQ, RL "Host: a\r\nConnection: host\r\n\r\n", 0,
	  HTTP1_E_CONN_END_TO_END, 37 },
	{ "conn_expect", REQ, RL "Host: a\r\nConnection: Expect ,\r\n\r\n", 0,
	  HTTP1_E_CONN_END_TO_END, 37 },
	{ "conn_cl_before_host", REQ,
	  "GET / HTTP/1.1\r\nConnection: content-length\r\n\r\n", 0,
	  HTTP1_E_CONN_END_TO_END, 28 },
	{ "conn_too_many", REQ,
	  RL "Host: a\r\nConnection: a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q\r\n\r\n", 0,
	  HTTP1_E_CONN_TOO_MANY, 69 },
	/* responses */
	{ "resp_leading_crlf", RESP, "\r\nHTTP/1.1 200 OK\r\n\r\n", 0,
	  HTTP1_E_STATUS_LINE, 0 },
	{ "resp_2_digits", RESP, "HTTP/1.1 20 OK\r\n\r\n", 0, HTTP1_E_STATUS_LINE, 8 },
	{ "resp_4_digits", RESP, "HTTP/1.1 2000 OK\r\n\r\n", 0,
	  HTTP1_E_STATUS_LINE, 12 },
	{ "resp_099", RESP, "HTTP/1.1 099 X\r\n\r\n", 0, HTTP1_E_STATUS_LINE, 9 },
	{ "resp_600", RESP, "HTTP/1.1 600 X\r\n\r\n", 0, HTTP1_E_STATUS_LINE, 9 },
	{ "resp_double_sp", RESP, "HTTP/1.1  200 OK\r\n\r\n", 0,
	  HTTP1_E_STATUS_LINE, 8 },
	{ "resp_no_sp_reason", RESP, "HTTP/1.1 200OK\r\n\r\n", 0,
	  HTTP1_E_STATUS_LINE, 12 },
	{ "resp_alpha_status", RESP, "HTTP/1.1 abc\r\n\r\n", 0,
	  HTTP1_E_STATUS_LINE, 8 },
	{ "resp_http2", RESP, "HTTP/2 200 OK\r\n\r\n", 0, HTTP1_E_VERSION_SYNTAX, 0 },
	{ "resp_http20", RESP, "HTTP/2.0 200 OK\r\n\r\n", 0, HTTP1_E_VERSION, 0 },
	{ "resp_icy", RESP, "ICY 200 OK\r\n\r\n", 0, HTTP1_E_VERSION_SYNTAX, 0 },
	{ "resp_ctl_reason", RESP, "HTTP/1.1 200 O\001K\r\n\r\n", 0, HTTP1_E_CTL, 14 },
	{ "resp_te_cl", RESP, SL "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
	  0, HTTP1_E_TE_CL, 36 },
	{ "resp_te_http10", RESP, "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
	  0, HTTP1_E_TE_HTTP10, 17 },
	{ "resp_cl_dup", RESP, SL "Content-Length: 5\r\nContent-Length: 5\r\n\r\n",
	  0, HTTP1_E_CL_DUP, 36 },
	{ "resp_cl_bad", RESP, SL "Content-Length: 1.5\r\n\r\n", 0,
	  HTTP1_E_CL_SYNTAX, 34 },
	{ "resp_chunked_twice", RESP, SL "Transfer-Encoding: chunked, chunked\r\n\r\n",
	  0, HTTP1_E_TE_CHUNKED_TWICE, 45 },
	{ "resp_obs_fold", RESP, SL "X: a\r\n\tb\r\n\r\n", 0, HTTP1_E_OBS_FOLD, 23 },
	{ "resp_conn_cl", RESP,
	  SL "Connection: Content-Length\r\nContent-Length: 5\r\n\r\n", 0,
	  HTTP1_E_CONN_END_TO_END, 29 },
	{ "resp_conn_te", RESP,
	  SL "Transfer-Encoding: chunked\r\nConnection: close, transfer-encoding\r\n\r\n",
	  0, HTTP1_E_CONN_END_TO_END, 64 },
	{ "resp_304_te_cl", RESP,
	  "HTTP/1.1 304 NM\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
	  0, HTTP1_E_TE_CL, 45 },
};

START_TEST(test_invalid)
{
	const struct icase *c = &icases[_i];
	struct http1_header h1[MAX_HDRS], h2[MAX_HDRS];
	struct http1_msg m1, m2;
	size_t len = c->len ? c->len : strlen(c->msg);
	int r;

	r = parse_both(c->name, c->kind, HTTP1_M_GET, c->msg, len, MAX_HDRS,
	    MAX_HEAD, &m1, h1, &m2, h2);
	ck_assert_msg(r == -1, "%s: returned %d", c->name, r);
	ck_assert_msg(m1.err == c->err && m1.err_off == c->off,
	    "%s: got %s at %zu, want %s at %zu", c->name,
	    http1_err_str(m1.err), m1.err_off, http1_err_str(c->err), c->off);
	/* a refused message never yields a body */
	ck_assert_int_eq(http1_parse_head(&m1, c->msg, len), -1);
}
END_TEST

/* ---- limits -------------------------------------------------------------- */

START_TEST(test_header_count)
{
	static const char three[] = RL "Host: a\r\nA: 1\r\nB: 2\r\n\r\n";
	static const char four[] = RL "Host: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
	struct http1_header h1[3], h2[3];
	struct http1_msg m1, m2;

	ck_assert_int_eq(parse_both("three", HTTP1_REQUEST, HTTP1_M_OTHER,
	    three, sizeof(three) - 1, 3, MAX_HEAD, &m1, h1, &m2, h2),
	    (int)sizeof(three) - 1);
	ck_assert_uint_eq(m1.nhdrs, 3);
	ck_assert_int_eq(parse_both("four", HTTP1_REQUEST, HTTP1_M_OTHER,
	    four, sizeof(four) - 1, 3, MAX_HEAD, &m1, h1, &m2, h2), -1);
	ck_assert_int_eq(m1.err, HTTP1_E_TOO_MANY_HEADERS);
	ck_assert_uint_eq(m1.err_off, 37);
	ck_assert_int_eq(http1_err_status(m1.err), 431);

	/* no array at all: any field is one too many */
	http1_msg_init(&m1, HTTP1_RESPONSE, HTTP1_M_GET, NULL, 10, MAX_HEAD);
	ck_assert_int_eq(http1_parse_head(&m1, SL "\r\n", 19), 19);
	http1_msg_init(&m1, HTTP1_RESPONSE, HTTP1_M_GET, NULL, 10, MAX_HEAD);
	ck_assert_int_eq(http1_parse_head(&m1, SL "A: b\r\n\r\n", 25), -1);
	ck_assert_int_eq(m1.err, HTTP1_E_TOO_MANY_HEADERS);
}
END_TEST

START_TEST(test_head_size)
{
	static const char req[] = "\r\n" RL "Host: a\r\nX-Pad: 0123456789\r\n\r\n";
	size_t len = sizeof(req) - 1;
	struct http1_header h1[MAX_HDRS], h2[MAX_HDRS];
	struct http1_msg m1, m2;
	char big[600];
	size_t i;

	/* exactly max_head fits, leading CRLF included */
	ck_assert_int_eq(parse_both("fits", HTTP1_REQUEST, HTTP1_M_OTHER, req,
	    len, MAX_HDRS, len, &m1, h1, &m2, h2), (int)len);
	/* one byte less is too large, however the bytes arrive */
	ck_assert_int_eq(parse_both("too_large", HTTP1_REQUEST, HTTP1_M_OTHER,
	    req, len, MAX_HDRS, len - 1, &m1, h1, &m2, h2), -1);
	ck_assert_int_eq(m1.err, HTTP1_E_HEAD_TOO_LARGE);
	ck_assert_int_eq(http1_err_status(m1.err), 431);
	/* a head that never ends is refused once max_head bytes are in */
	http1_msg_init(&m1, HTTP1_REQUEST, HTTP1_M_OTHER, h1, MAX_HDRS, 40);
	ck_assert_int_eq(http1_parse_head(&m1, req, 39), 0);
	ck_assert_int_eq(http1_parse_head(&m1, req, 40), -1);
	ck_assert_int_eq(m1.err, HTTP1_E_HEAD_TOO_LARGE);

	/* a long request-line is 414 */
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	ck_assert_int_eq(parse_both("uri_too_long", HTTP1_REQUEST,
	    HTTP1_M_OTHER, big, sizeof(big), MAX_HDRS, 512, &m1, h1, &m2, h2),
	    -1);
	ck_assert_int_eq(m1.err, HTTP1_E_URI_TOO_LONG);
	ck_assert_int_eq(http1_err_status(m1.err), 414);
	/* as are endless empty lines before it */
	for (i = 0; i + 1 < sizeof(big); i += 2)
		memcpy(big + i, "\r\n", 2);
	ck_assert_int_eq(parse_both("crlf_flood", HTTP1_REQUEST,
	    HTTP1_M_OTHER, big, sizeof(big), MAX_HDRS, 512, &m1, h1, &m2, h2),
	    -1);
	ck_assert_int_eq(m1.err, HTTP1_E_URI_TOO_LONG);
	/* a long response head is 431-class */
	memcpy(big, SL "X: ", 20);
	memset(big + 20, 'v', sizeof(big) - 20);
	ck_assert_int_eq(parse_both("resp_too_large", HTTP1_RESPONSE,
	    HTTP1_M_GET, big, sizeof(big), MAX_HDRS, 512, &m1, h1, &m2, h2),
	    -1);
	ck_assert_int_eq(m1.err, HTTP1_E_HEAD_TOO_LARGE);
	/* an unreasonable max_head is clamped, not trusted */
	http1_msg_init(&m1, HTTP1_REQUEST, HTTP1_M_OTHER, h1, MAX_HDRS,
	    SIZE_MAX);
	ck_assert_int_eq(http1_parse_head(&m1, req, len), (int)len);
}
END_TEST

/* ---- body decoder ---------------------------------------------------- */

struct ccase {
	const char *name;
	const char *wire;
	const char *payload;
	size_t rest;			/* bytes after the end of the message */
};

static const struct ccase chunk_ok[] = {
	{ "simple", "3\r\nabc\r\n0\r\n\r\n", "abc", 0 },
	{ "empty", "0\r\n\r\n", "", 0 },
	{ "zeros", "000\r\n\r\n", "", 0 },
	{ "upper_hex", "A\r\n0123456789\r\n0\r\n\r\n", "0123456789", 0 },
	{ "leading_zeros", "0003\r\nabc\r\n0\r\n\r\n", "abc", 0 },
	{ "data_has_crlf", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n", 0 },
	{ "ext_name", "3;a\r\nabc\r\n0\r\n\r\n", "abc", 0 },
	{ "ext_token", "3;a=b;c=d\r\nabc\r\n0;e=f\r\n\r\n", "abc", 0 },
	{ "ext_bws", "3 ; a = b ;c\t=\td ; e\r\nabc\r\n0\r\n\r\n", "abc", 0 },
	{ "ext_quoted", "3;a=\"q;\\\"x\\\\ \t\xe9\"\r\nabc\r\n0\r\n\r\n", "abc", 0 },
	{ "ext_name_ws_semi", "3;a ;b\r\nabc\r\n0\r\n\r\n", "abc", 0 },
	{ "ext_quoted_then_more", "3;a=\"\";b\r\nabc\r\n0\r\n\r\n", "abc", 0 },
	{ "trailers", "3\r\nabc\r\n0\r\nA: 1\r\nB-C:\r\nD:\t x y \r\n\r\n",
	  "abc", 0 },
	{ "trailer_obs_text", "1\r\nz\r\n0\r\nX: \x80\xff\r\n\r\n", "z", 0 },
	{ "pipelined", "2\r\nab\r\n0\r\n\r\nGET / HTTP/1.1\r\n", "ab", 16 },
	{ "many_chunks", "1\r\na\r\n1\r\nb\r\n2\r\ncd\r\n0\r\n\r\n", "abcd", 0 },
};

START_TEST(test_chunk_valid)
{
	const struct ccase *c = &chunk_ok[_i];
	size_t len = strlen(c->wire), plen = strlen(c->payload), piece, split;
	struct http1_body_dec d;
	struct http1_span data;
	struct body_out o;
	char out[256];
	size_t outlen;
	ssize_t r;
	int mode;

	for (mode = HTTP1_PASS; mode <= HTTP1_DECHUNK; mode++) {
		for (piece = len + 1; piece >= 1; piece--) {
			decode(HTTP1_BODY_CHUNKED, 0, mode, c->wire, len, piece,
			    &o);
			ck_assert_msg(o.err == HTTP1_E_NONE,
			    "%s: %s at %" PRIu64 " (piece %zu)", c->name,
			    http1_err_str(o.err), o.err_off, piece);
			ck_assert_msg(o.done, "%s: not done", c->name);
			ck_assert_uint_eq(o.consumed, len - c->rest);
			ck_assert_uint_eq(o.payload, plen);
			if (mode == HTTP1_DECHUNK)
				ck_assert_msg(o.data_len == plen &&
				    memcmp(o.data, c->payload, plen) == 0,
				    "%s: payload '%.*s'", c->name,
				    (int)o.data_len, o.data);
			else
				ck_assert(o.data_len == o.consumed &&
				    memcmp(o.data, c->wire, o.consumed) == 0);
		}
	}
	/* split in two at every position, each half in its own buffer */
	for (split = 0; split <= len; split++) {
		char *a = dup_bytes(c->wire, split);
		char *b = dup_bytes(c->wire + split, len - split);

		http1_body_init(&d, HTTP1_BODY_CHUNKED, 0, HTTP1_DECHUNK);
		outlen = 0;
		for (int half = 0; half < 2; half++) {
			char *p = half == 0 ? a : b;
			size_t n = half == 0 ? split : len - split;

			while (n > 0 && !d.done) {
				r = http1_body_feed(&d, p, n, &data);
				ck_assert_int_gt(r, 0);
				memcpy(out + outlen, p + data.off, data.len);
				outlen += data.len;
				p += r;
				n -= (size_t)r;
			}
		}
		ck_assert_msg(d.done, "%s: split %zu not done", c->name, split);
		ck_assert_uint_eq(d.wire, len - c->rest);
		ck_assert(outlen == plen && memcmp(out, c->payload, plen) == 0);
		/* after the end nothing more is taken */
		r = http1_body_feed(&d, "xyz", 3, &data);
		ck_assert_int_eq(r, 0);
		ck_assert_uint_eq(data.len, 0);
		free(a);
		free(b);
	}
}
END_TEST

struct cbad {
	const char *name;
	const char *wire;
	enum http1_err err;
	uint64_t off;
};

static const struct cbad chunk_bad[] = {
	{ "no_size", "\r\n", HTTP1_E_CHUNK_SIZE, 0 },
	{ "bad_hex", "g\r\n", HTTP1_E_CHUNK_SIZE, 0 },
	{ "hex_prefix", "0x5\r\nabcde\r\n", HTTP1_E_CHUNK_SIZE, 1 },
	{ "negative", "-1\r\n", HTTP1_E_CHUNK_SIZE, 0 },
	{ "plus", "+1\r\n", HTTP1_E_CHUNK_SIZE, 0 },
	{ "leading_space", " 1\r\n", HTTP1_E_CHUNK_SIZE, 0 },
	{ "bad_after_size", "3x\r\n", HTTP1_E_CHUNK_SIZE, 1 },
	{ "overflow_2_63", "8000000000000000\r\n", HTTP1_E_CHUNK_OVERFLOW, 15 },
	{ "overflow_2_64_wrap", "10000000000000000\r\n", HTTP1_E_CHUNK_OVERFLOW, 16 },
	{ "overflow_long", "ffffffffffffffffff\r\n", HTTP1_E_CHUNK_OVERFLOW, 15 },
	{ "bare_lf_size", "3\nabc\r\n", HTTP1_E_CHUNK_CRLF, 1 },
	{ "bare_cr_size", "3\rabc\r\n", HTTP1_E_CHUNK_CRLF, 2 },
	{ "data_no_crlf", "3\r\nabcX\r\n", HTTP1_E_CHUNK_CRLF, 6 },
	{ "data_bare_lf", "3\r\nabc\n0\r\n\r\n", HTTP1_E_CHUNK_CRLF, 6 },
	{ "data_cr_only", "3\r\nabc\r0\r\n\r\n", HTTP1_E_CHUNK_CRLF, 7 },
	{ "data_too_long", "3\r\nabcd\r\n0\r\n\r\n", HTTP1_E_CHUNK_CRLF, 6 },
	{ "trailing_ws", "3 \r\nabc\r\n", HTTP1_E_CHUNK_EXT, 2 },
	{ "ext_empty_name", "3;\r\nabc\r\n", HTTP1_E_CHUNK_EXT, 2 },
	{ "ext_empty_value", "3;a=\r\nabc\r\n", HTTP1_E_CHUNK_EXT, 4 },
	{ "ext_name_ws_ws", "3;a b\r\n", HTTP1_E_CHUNK_EXT, 4 },
	{ "ext_value_ws_ws", "3;a=b c\r\n", HTTP1_E_CHUNK_EXT, 6 },
	{ "ext_value_ws_cr", "3;a=b \r\n", HTTP1_E_CHUNK_EXT, 6 },
	{ "ext_bad_name", "3;(a)\r\n", HTTP1_E_CHUNK_EXT, 2 },
	{ "ext_bad_value", "3;a=b@c\r\n", HTTP1_E_CHUNK_EXT, 5 },
	{ "ext_unterminated", "3;a=\"x\r\nabc\r\n", HTTP1_E_CHUNK_EXT, 6 },
	{ "ext_ctl_in_quote", "3;a=\"\001\"\r\n", HTTP1_E_CHUNK_EXT, 5 },
	{ "ext_bad_qpair", "3;a=\"\\\001\"\r\n", HTTP1_E_CHUNK_EXT, 6 },
	{ "ext_after_quote", "3;a=\"x\"y\r\n", HTTP1_E_CHUNK_EXT, 7 },
	{ "ext_bare_lf", "3;a\n", HTTP1_E_CHUNK_EXT, 3 },
	{ "trailer_ws_colon", "0\r\nX : 1\r\n\r\n", HTTP1_E_TRAILER, 4 },
	{ "trailer_obs_fold", "0\r\nX: 1\r\n 2\r\n\r\n", HTTP1_E_TRAILER, 9 },
	{ "trailer_no_colon", "0\r\nX\r\n\r\n", HTTP1_E_TRAILER, 4 },
	{ "trailer_empty_name", "0\r\n: 1\r\n\r\n", HTTP1_E_TRAILER, 3 },
	{ "trailer_nul", "0\r\nX: a\0b\r\n\r\n", HTTP1_E_TRAILER, 7 },
	{ "trailer_bare_lf", "0\r\nX: 1\n\r\n", HTTP1_E_TRAILER, 7 },
	{ "trailer_bare_cr", "0\r\nX: 1\rY\r\n\r\n", HTTP1_E_TRAILER, 8 },
	{ "end_bare_lf", "0\r\n\n", HTTP1_E_TRAILER, 3 },
	{ "end_bare_cr", "0\r\n\rX", HTTP1_E_TRAILER, 4 },
};

START_TEST(test_chunk_invalid)
{
	const struct cbad *c = &chunk_bad[_i];
	/* the NUL case needs its length spelled out */
	size_t len = strcmp(c->name, "trailer_nul") == 0 ? 13 : strlen(c->wire);
	size_t piece;
	struct body_out o;
	int mode;

	for (mode = HTTP1_PASS; mode <= HTTP1_DECHUNK; mode++) {
		for (piece = len + 1; piece >= 1; piece--) {
			decode(HTTP1_BODY_CHUNKED, 0, mode, c->wire, len, piece,
			    &o);
			ck_assert_msg(o.err == c->err && o.err_off == c->off,
			    "%s: got %s at %" PRIu64 ", want %s at %" PRIu64
			    " (piece %zu)", c->name, http1_err_str(o.err),
			    o.err_off, http1_err_str(c->err), c->off, piece);
			ck_assert(!o.done);
		}
	}
}
END_TEST

START_TEST(test_chunk_limits)
{
	static char wire[HTTP1_TRAILER_MAX + 64];
	struct http1_body_dec d;
	struct http1_span data;
	size_t n;

	/* a size line of exactly HTTP1_CHUNK_LINE_MAX bytes passes */
	n = 0;
	wire[n++] = '1';
	wire[n++] = ';';
	wire[n++] = 'e';
	wire[n++] = '=';
	while (n < HTTP1_CHUNK_LINE_MAX - 2)
		wire[n++] = 'x';
	wire[n++] = '\r';
	wire[n++] = '\n';
	http1_body_init(&d, HTTP1_BODY_CHUNKED, 0, HTTP1_PASS);
	ck_assert_int_eq(http1_body_feed(&d, wire, n, &data), (ssize_t)n);
	ck_assert_int_eq(d.err, HTTP1_E_NONE);
	/* one more byte is too long */
	memmove(wire + 1, wire, n);
	wire[0] = '0';
	http1_body_init(&d, HTTP1_BODY_CHUNKED, 0, HTTP1_PASS);
	ck_assert_int_eq(http1_body_feed(&d, wire, n + 1, &data), -1);
	ck_assert_int_eq(d.err, HTTP1_E_CHUNK_LINE_TOO_LONG);
	ck_assert_uint_eq(d.err_off, HTTP1_CHUNK_LINE_MAX);
	/* endless leading zeros are bounded by the same limit */
	memset(wire, '0', HTTP1_CHUNK_LINE_MAX + 1);
	http1_body_init(&d, HTTP1_BODY_CHUNKED, 0, HTTP1_DECHUNK);
	ck_assert_int_eq(http1_body_feed(&d, wire, HTTP1_CHUNK_LINE_MAX + 1,
	    &data), -1);
	ck_assert_int_eq(d.err, HTTP1_E_CHUNK_LINE_TOO_LONG);
	/* the largest size accepted is INT64_MAX */
	http1_body_init(&d, HTTP1_BODY_CHUNKED, 0, HTTP1_DECHUNK);
	ck_assert_int_eq(http1_body_feed(&d, "7fffffffffffffff\r\nab", 20,
	    &data), 20);
	ck_assert_uint_eq(data.off, 18);
	ck_assert_uint_eq(data.len, 2);
	ck_assert(!d.done);
	ck_assert_int_eq(http1_body_eof(&d), -1);
	ck_assert_int_eq(d.err, HTTP1_E_TRUNCATED);

	/* trailer section: HTTP1_TRAILER_MAX bytes pass, one more fails */
	memcpy(wire, "0\r\nX: ", 6);
	n = 6;
	while (n < HTTP1_TRAILER_MAX + 3 - 4)
		wire[n++] = 'v';
	memcpy(wire + n, "\r\n\r\n", 4);
	n += 4;
	http1_body_init(&d, HTTP1_BODY_CHUNKED, 0, HTTP1_PASS);
	ck_assert_int_eq(http1_body_feed(&d, wire, n, &data), (ssize_t)n);
	ck_assert(d.done);
	memmove(wire + 7, wire + 6, n - 6);
	http1_body_init(&d, HTTP1_BODY_CHUNKED, 0, HTTP1_PASS);
	ck_assert_int_eq(http1_body_feed(&d, wire, n + 1, &data), -1);
	ck_assert_int_eq(d.err, HTTP1_E_TRAILER_TOO_LARGE);
	ck_assert_int_eq(http1_err_status(d.err), 431);
}
END_TEST

/* De-chunk mode yields one payload span per call and stops before the next. */
START_TEST(test_chunk_spans)
{
	static const char w[] = "3\r\nabc\r\n3;x\r\ndef\r\n0\r\nT: 1\r\n\r\nNEXT";
	struct http1_body_dec d;
	struct http1_span data;
	ssize_t r;

	http1_body_init(&d, HTTP1_BODY_CHUNKED, 0, HTTP1_DECHUNK);
	r = http1_body_feed(&d, w, sizeof(w) - 1, &data);
	ck_assert_int_eq(r, 13);	/* "3\r\nabc\r\n3;x\r\n" */
	ck_assert_uint_eq(data.off, 3);
	ck_assert_uint_eq(data.len, 3);
	r = http1_body_feed(&d, w + 13, sizeof(w) - 1 - 13, &data);
	ck_assert_int_eq(r, 16);	/* "def\r\n0\r\nT: 1\r\n\r\n" */
	ck_assert_uint_eq(data.off, 0);
	ck_assert_uint_eq(data.len, 3);
	ck_assert(d.done);
	ck_assert_uint_eq(d.wire, 29);
	ck_assert_uint_eq(d.payload, 6);
	ck_assert_int_eq(http1_body_feed(&d, w + 29, 4, &data), 0);
	ck_assert_int_eq(http1_body_eof(&d), 0);

	/* pass-through: one call runs to the end, framing included */
	http1_body_init(&d, HTTP1_BODY_CHUNKED, 0, HTTP1_PASS);
	r = http1_body_feed(&d, w, sizeof(w) - 1, &data);
	ck_assert_int_eq(r, 29);
	ck_assert_uint_eq(data.off, 0);
	ck_assert_uint_eq(data.len, 29);
	ck_assert_uint_eq(d.payload, 6);
	ck_assert(d.done);
}
END_TEST

START_TEST(test_body_length_close_none)
{
	struct http1_body_dec d;
	struct http1_span data;

	http1_body_init(&d, HTTP1_BODY_LENGTH, 10, HTTP1_DECHUNK);
	ck_assert(!d.done);
	ck_assert_int_eq(http1_body_feed(&d, "0123", 4, &data), 4);
	ck_assert_uint_eq(data.len, 4);
	ck_assert_int_eq(http1_body_feed(&d, "456789GET", 9, &data), 6);
	ck_assert_uint_eq(data.off, 0);
	ck_assert_uint_eq(data.len, 6);
	ck_assert(d.done);
	ck_assert_uint_eq(d.payload, 10);
	ck_assert_int_eq(http1_body_feed(&d, "GET", 3, &data), 0);
	ck_assert_int_eq(http1_body_eof(&d), 0);

	http1_body_init(&d, HTTP1_BODY_LENGTH, 10, HTTP1_PASS);
	ck_assert_int_eq(http1_body_feed(&d, "0123", 4, &data), 4);
	ck_assert_int_eq(http1_body_eof(&d), -1);
	ck_assert_int_eq(d.err, HTTP1_E_TRUNCATED);
	ck_assert_uint_eq(d.err_off, 4);
	ck_assert_int_eq(http1_body_feed(&d, "4", 1, &data), -1);

	http1_body_init(&d, HTTP1_BODY_LENGTH, 0, HTTP1_PASS);
	ck_assert(d.done);
	ck_assert_int_eq(http1_body_feed(&d, "x", 1, &data), 0);

	http1_body_init(&d, HTTP1_BODY_NONE, 0, HTTP1_PASS);
	ck_assert(d.done);
	ck_assert_int_eq(http1_body_feed(&d, "x", 1, &data), 0);
	ck_assert_int_eq(http1_body_eof(&d), 0);

	http1_body_init(&d, HTTP1_BODY_CLOSE, 0, HTTP1_DECHUNK);
	ck_assert_int_eq(http1_body_feed(&d, "abc", 3, &data), 3);
	ck_assert_int_eq(http1_body_feed(&d, "", 0, &data), 0);
	ck_assert_int_eq(http1_body_feed(&d, "\r\n0\r\n\r\n", 7, &data), 7);
	ck_assert(!d.done);
	ck_assert_int_eq(http1_body_eof(&d), 0);
	ck_assert(d.done);
	ck_assert_uint_eq(d.payload, 10);

	http1_body_init(&d, HTTP1_BODY_CHUNKED, 0, HTTP1_PASS);
	ck_assert_int_eq(http1_body_feed(&d, "3\r\nab", 5, &data), 5);
	ck_assert_int_eq(http1_body_eof(&d), -1);
	ck_assert_int_eq(d.err, HTTP1_E_TRUNCATED);
	ck_assert_uint_eq(d.err_off, 5);

	/* an error sticks */
	http1_body_init(&d, HTTP1_BODY_CHUNKED, 0, HTTP1_PASS);
	ck_assert_int_eq(http1_body_feed(&d, "z", 1, &data), -1);
	ck_assert_int_eq(http1_body_feed(&d, "0\r\n\r\n", 5, &data), -1);
	ck_assert_int_eq(d.err, HTTP1_E_CHUNK_SIZE);
}
END_TEST

/* ---- small functions ----------------------------------------------------- */

START_TEST(test_response_body)
{
	static const struct {
		enum http1_method m;
		int status;
		enum http1_body in, out;
	} t[] = {
		{ HTTP1_M_GET, 200, HTTP1_BODY_LENGTH, HTTP1_BODY_LENGTH },
		{ HTTP1_M_GET, 200, HTTP1_BODY_CHUNKED, HTTP1_BODY_CHUNKED },
		{ HTTP1_M_GET, 200, HTTP1_BODY_CLOSE, HTTP1_BODY_CLOSE },
		{ HTTP1_M_HEAD, 200, HTTP1_BODY_LENGTH, HTTP1_BODY_NONE },
		{ HTTP1_M_HEAD, 404, HTTP1_BODY_CLOSE, HTTP1_BODY_NONE },
		{ HTTP1_M_POST, 100, HTTP1_BODY_CLOSE, HTTP1_BODY_NONE },
		{ HTTP1_M_GET, 101, HTTP1_BODY_CLOSE, HTTP1_BODY_NONE },
		{ HTTP1_M_GET, 199, HTTP1_BODY_LENGTH, HTTP1_BODY_NONE },
		{ HTTP1_M_DELETE, 204, HTTP1_BODY_CHUNKED, HTTP1_BODY_NONE },
		{ HTTP1_M_GET, 205, HTTP1_BODY_LENGTH, HTTP1_BODY_LENGTH },
		{ HTTP1_M_GET, 304, HTTP1_BODY_LENGTH, HTTP1_BODY_NONE },
		{ HTTP1_M_CONNECT, 200, HTTP1_BODY_CLOSE, HTTP1_BODY_NONE },
		{ HTTP1_M_CONNECT, 299, HTTP1_BODY_LENGTH, HTTP1_BODY_NONE },
		{ HTTP1_M_CONNECT, 407, HTTP1_BODY_LENGTH, HTTP1_BODY_LENGTH },
		{ HTTP1_M_OTHER, 500, HTTP1_BODY_CLOSE, HTTP1_BODY_CLOSE },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(http1_response_body(t[i].m, t[i].status,
		    t[i].in) == t[i].out, "case %zu", i);
}
END_TEST

START_TEST(test_methods)
{
	static const char *const names[] = { "OTHER", "GET", "HEAD", "POST",
	    "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH" };
	static const bool idem[] = { false, true, true, false, true, true,
	    false, true, true, false };
	struct http1_header h[4];
	struct http1_msg m;
	char req[64];
	int i, n;

	ck_assert_int_eq(HTTP1_M__COUNT, 10);
	for (i = 0; i < HTTP1_M__COUNT; i++) {
		ck_assert_str_eq(http1_method_str(i), names[i]);
		ck_assert_int_eq(http1_method_idempotent(i), idem[i]);
		if (i == HTTP1_M_OTHER)
			continue;
		/* each name parses to its enum */
		n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: a\r\n\r\n",
		    names[i], i == HTTP1_M_CONNECT ? "a:1" :
		    i == HTTP1_M_OPTIONS ? "*" : "/");
		http1_msg_init(&m, HTTP1_REQUEST, HTTP1_M_OTHER, h, 4, 512);
		ck_assert_int_eq(http1_parse_head(&m, req, (size_t)n), n);
		ck_assert_int_eq(m.method, i);
	}
	ck_assert_str_eq(http1_method_str(HTTP1_M__COUNT), "OTHER");
	ck_assert_str_eq(http1_body_str(HTTP1_BODY_NONE), "none");
	ck_assert_str_eq(http1_body_str(HTTP1_BODY_LENGTH), "content-length");
	ck_assert_str_eq(http1_body_str(HTTP1_BODY_CHUNKED), "chunked");
	ck_assert_str_eq(http1_body_str(HTTP1_BODY_CLOSE), "until-close");
}
END_TEST

START_TEST(test_err_table)
{
	int i, j, s;

	for (i = 1; i < HTTP1_E__COUNT; i++) {
		const char *a = http1_err_str(i);

		ck_assert_ptr_nonnull(a);
		ck_assert_uint_gt(strlen(a), 5);
		for (j = 1; j < i; j++)
			ck_assert_msg(strcmp(a, http1_err_str(j)) != 0,
			    "errors %d and %d share a text", i, j);
		s = http1_err_status(i);
		ck_assert_msg(s == 400 || s == 413 || s == 414 || s == 431 ||
		    s == 501 || s == 505, "error %d -> %d", i, s);
	}
	ck_assert_int_eq(http1_err_status(HTTP1_E_TE_UNSUPPORTED), 501);
	ck_assert_int_eq(http1_err_status(HTTP1_E_VERSION), 505);
	ck_assert_int_eq(http1_err_status(HTTP1_E_VERSION_SYNTAX), 400);
	ck_assert_int_eq(http1_err_status(HTTP1_E_URI_TOO_LONG), 414);
	ck_assert_int_eq(http1_err_status(HTTP1_E_HEAD_TOO_LARGE), 431);
	ck_assert_int_eq(http1_err_status(HTTP1_E_TOO_MANY_HEADERS), 431);
	ck_assert_int_eq(http1_err_status(HTTP1_E_CL_OVERFLOW), 413);
	ck_assert_int_eq(http1_err_status(HTTP1_E_CHUNK_OVERFLOW), 413);
	ck_assert_int_eq(http1_err_status(HTTP1_E_TE_CL), 400);
	ck_assert_int_eq(http1_err_status(HTTP1_E_BARE_LF), 400);
	ck_assert_str_eq(http1_err_str(HTTP1_E__COUNT), "unknown error");
	ck_assert_int_eq(http1_err_status(HTTP1_E_NONE), 400);
}
END_TEST

/*
 * The host of a Host field or an authority is at most HTTP1_HOST_MAX
 * bytes, so routing (which normalises by http1_authority_host()) can hold
 * every host the parser lets through.
 */
START_TEST(test_host_length)
{
	char head[700], host[300];
	struct http1_header h[4];
	struct http1_msg m;
	struct http1_span sp;
	int n;

	memset(host, 'a', sizeof(host));
	n = snprintf(head, sizeof(head), "GET / HTTP/1.1\r\nHost: %.*s:80\r\n\r\n",
	    HTTP1_HOST_MAX, host);
	http1_msg_init(&m, HTTP1_REQUEST, HTTP1_M_OTHER, h, 4, MAX_HEAD);
	ck_assert_int_eq(http1_parse_head(&m, head, (size_t)n), n);
	ck_assert(http1_authority_host(head + m.host.off, m.host.len, &sp));
	ck_assert_uint_eq(sp.off, 0);
	ck_assert_uint_eq(sp.len, HTTP1_HOST_MAX);
	n = snprintf(head, sizeof(head), "GET / HTTP/1.1\r\nHost: %.*s\r\n\r\n",
	    HTTP1_HOST_MAX + 1, host);
	http1_msg_init(&m, HTTP1_REQUEST, HTTP1_M_OTHER, h, 4, MAX_HEAD);
	ck_assert_int_eq(http1_parse_head(&m, head, (size_t)n), -1);
	ck_assert_int_eq(m.err, HTTP1_E_HOST_SYNTAX);
	ck_assert_uint_eq(m.err_off, 22 + HTTP1_HOST_MAX);
	n = snprintf(head, sizeof(head), "GET http://%.*s/ HTTP/1.1\r\nHost: a\r\n\r\n",
	    HTTP1_HOST_MAX + 1, host);
	http1_msg_init(&m, HTTP1_REQUEST, HTTP1_M_OTHER, h, 4, MAX_HEAD);
	ck_assert_int_eq(http1_parse_head(&m, head, (size_t)n), -1);
	ck_assert_int_eq(m.err, HTTP1_E_TARGET);
	/* the helper: ports, IP literals, and what it refuses */
	ck_assert(http1_authority_host("[::1]:8443", 10, &sp));
	ck_assert_uint_eq(sp.off, 1);
	ck_assert_uint_eq(sp.len, 3);
	ck_assert(http1_authority_host("Secret.Internal!", 16, &sp));
	ck_assert_uint_eq(sp.len, 16);
	ck_assert(!http1_authority_host("", 0, &sp));
	ck_assert(!http1_authority_host("a,b", 3, &sp));
	ck_assert(!http1_authority_host("u@h", 3, &sp));
	ck_assert(!http1_authority_host("h:", 2, &sp));
}
END_TEST

static Suite *
http1_suite(void)
{
	Suite *s = suite_create("http1");
	TCase *tc;

	tc = tcase_create("head_valid");
	tcase_add_loop_test(tc, test_valid, 0,
	    (int)(sizeof(vcases) / sizeof(vcases[0])));
	tcase_add_test(tc, test_header_values);
	tcase_add_test(tc, test_field_ids);
	tcase_add_test(tc, test_field_ids_every_tchar);
	tcase_add_test(tc, test_every_byte);
	tcase_add_test(tc, test_every_byte_every_position);
	tcase_add_test(tc, test_host_pct);
	tcase_add_test(tc, test_every_byte_in_value_every_position);
	tcase_add_test(tc, test_resume_no_rescan);
	suite_add_tcase(s, tc);

	tc = tcase_create("head_invalid");
	tcase_add_loop_test(tc, test_invalid, 0,
	    (int)(sizeof(icases) / sizeof(icases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, test_header_count);
	tcase_add_test(tc, test_head_size);
	tcase_add_test(tc, test_host_length);
	tcase_add_test(tc, test_chunk_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("body");
	tcase_add_loop_test(tc, test_chunk_valid, 0,
	    (int)(sizeof(chunk_ok) / sizeof(chunk_ok[0])));
	tcase_add_loop_test(tc, test_chunk_invalid, 0,
	    (int)(sizeof(chunk_bad) / sizeof(chunk_bad[0])));
	tcase_add_test(tc, test_chunk_spans);
	tcase_add_test(tc, test_body_length_close_none);
	suite_add_tcase(s, tc);

	tc = tcase_create("helpers");
	tcase_add_test(tc, test_response_body);
	tcase_add_test(tc, test_methods);
	tcase_add_test(tc, test_err_table);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(http1_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
