/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for rewrite.c, the heads the broker writes.  The framing
 * property is the guard against request smuggling through a rewrite: for
 * every field name a Connection option may nominate, in every shape, a
 * head is either refused by the parser or rewritten with exactly the
 * broker's framing, and the rewritten head parsed again frames the body
 * as the original did.
 */
#include "config.h"

#include "rewrite.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#define MAX_HDRS	64

static struct http1_header hdrs[MAX_HDRS], hdrs2[MAX_HDRS];

/* ---- helpers ------------------------------------------------------------ */

static int
parse(struct http1_msg *m, struct http1_header *h, enum http1_kind kind,
    enum http1_method req_method, const char *head)
{
	http1_msg_init(m, kind, req_method, h, MAX_HDRS, 65536);
	return http1_parse_head(m, head, strlen(head));
}

/* The evbuffer's bytes as a string the caller frees. */
static char *
drain_str(struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	return s;
}

/* How a test's request is sent on, besides what the session derives. */
struct req_opts {
	enum forwarded_mode forwarded;
	const char *client_addr;	/* NULL: 192.0.2.7:40000 */
	bool held;			/* a held body: no framing field, Expect dropped */
};

/*
 * The rewrite_req the session would make for m: an absolute-form target
 * gives path and Host, else Host is up.test.
 */
static void
req_defaults(struct rewrite_req *rq, const struct http1_msg *m,
    const char *buf)
{
	size_t skip;

	memset(rq, 0, sizeof(*rq));
	rq->path = buf + m->target.off;
	rq->plen = m->target.len;
	rq->host = "up.test";
	rq->host_len = strlen(rq->host);
	if (m->form == HTTP1_TF_ABSOLUTE) {
		skip = m->authority.off + m->authority.len - m->target.off;
		rq->path += skip;
		rq->plen -= skip;
		rq->host = buf + m->authority.off;
		rq->host_len = m->authority.len;
	}
	rq->framing = m->body;
	rq->length = m->content_length;
	rq->forwarded = FORWARDED_REPLACE;
	rq->client_addr = "192.0.2.7:40000";
}

/* The rewritten request head for head (parsed), with its final CRLF. */
static char *
rewrite_req_str(const char *head, const struct req_opts *opt)
{
	struct http1_msg m;
	struct rewrite_req rq;
	struct evbuffer *b = evbuffer_new();
	char *s;

	ck_assert_ptr_nonnull(b);
	ck_assert_msg(parse(&m, hdrs, HTTP1_REQUEST, HTTP1_M_OTHER, head) > 0,
	    "does not parse: %s (%s)", head, http1_err_str(m.err));
	req_defaults(&rq, &m, head);
	if (opt != NULL) {
		rq.forwarded = opt->forwarded;
		if (opt->client_addr != NULL)
			rq.client_addr = opt->client_addr;
		if (opt->held) {
			rq.framing = HTTP1_BODY_NONE;
			rq.drop_expect = true;
		}
	}
	ck_assert_int_eq(rewrite_request_head(b, head, &m, &rq), 0);
	evbuffer_add(b, "\r\n", 2);
	s = drain_str(b);
	evbuffer_free(b);
	return s;
}

/* The rewritten response head for head, answering req_method. */
static char *
rewrite_resp_str(const char *head, enum http1_method req_method,
    const struct rewrite_resp *rs)
{
	struct http1_msg m;
	struct evbuffer *b = evbuffer_new();
	char *s;

	ck_assert_ptr_nonnull(b);
	ck_assert_int_gt(parse(&m, hdrs, HTTP1_RESPONSE, req_method, head), 0);
	ck_assert_int_eq(rewrite_response_head(b, head, &m, rs), 0);
	s = drain_str(b);
	evbuffer_free(b);
	return s;
}

/* The rewritten response head for head is want. */
static void
assert_resp_rewrite(const char *head, enum http1_method req_method,
    const struct rewrite_resp *rs, const char *want)
{
	char *out = rewrite_resp_str(head, req_method, rs);

	ck_assert_str_eq(out, want);
	free(out);
}

/* Number of field lines named name (any case) in a head string. */
static int
count_fields(const char *head, const char *name)
{
	const char *p = strstr(head, "\r\n");
	size_t n = strlen(name);
	int count = 0;

	while (p != NULL && p[2] != '\r') {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':')
			count++;
		p = strstr(p, "\r\n");
	}
	return count;
}

/* The value of the only field named name, or "" (the caller frees). */
static char *
field_value(const char *head, const char *name)
{
	const char *p = strstr(head, "\r\n"), *e;
	size_t n = strlen(name);

	while (p != NULL && p[2] != '\r') {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			while (*p == ' ')
				p++;
			e = strstr(p, "\r\n");
			return strndup(p, (size_t)(e - p));
		}
		p = strstr(p, "\r\n");
	}
	return strdup("");
}

/* ---- the framing property ------------------------------------------------ */

/* Names a Connection option might carry: end-to-end fields and hop-by-hop ones. */
static const char *const nominees[] = {
	"Content-Length", "content-length", "CONTENT-LENGTH",
	"Transfer-Encoding", "transfer-encoding", "Host", "host", "Expect",
	"X-Forwarded-For", "Forwarded", "X-Real-IP", "X-Forwarded-Proto",
	"Authorization", "Cookie", "Content-Type", "Content-Encoding",
	"Trailer", "TE", "Upgrade", "Keep-Alive", "Proxy-Authorization",
	"Date", "Accept", "X-Custom", "close", "keep-alive",
};

/* How a nomination is spelled: the name goes between the two. */
static const char *const shapes[][2] = {
	{ "Connection: ", "\r\n" },
	{ "Connection: close, ", "\r\n" },
	{ "Connection: ", ", keep-alive\r\n" },
	{ "Connection: keep-alive\r\nConnection: ", "\r\n" },
	{ "Connection: ,", " ,\r\n" },
};

/* Bodies a request may have. */
static const char *const framings[] = {
	"Content-Length: 22\r\n",
	"Content-Length: 0022\r\n",
	"Transfer-Encoding: chunked\r\n",
	"Transfer-Encoding:  Chunked \r\n",
	/* list forms with an empty element (the oracle's te-comma finds) */
	"Transfer-Encoding: chunked,\r\n",
	"Transfer-Encoding: , chunked\r\n",
	"",
};

static bool
refused_name(const char *name, enum http1_kind kind)
{
	return strcasecmp(name, "content-length") == 0 ||
	    strcasecmp(name, "transfer-encoding") == 0 ||
	    (kind == HTTP1_REQUEST && (strcasecmp(name, "host") == 0 ||
	    strcasecmp(name, "expect") == 0));
}

/*
 * Parses head (made of start, a framing field, nominee ni in shape si and
 * a field of that name) as kind: false if the parser refused it for
 * naming a framing or routing field, which it must do exactly for those.
 */
static bool
parse_nominating(struct http1_msg *m, char *head, size_t cap,
    enum http1_kind kind, const char *start, const char *framing, size_t ni,
    size_t si)
{
	int r;

	snprintf(head, cap, "%s%s%s%s%s\r\nX-Forwarded-For: 6.6.6.6\r\n%s: x\r\n\r\n",
	    start, framing, shapes[si][0], nominees[ni], shapes[si][1],
	    nominees[ni]);
	r = parse(m, hdrs, kind, HTTP1_M_GET, head);
	if (refused_name(nominees[ni], kind)) {
		ck_assert_msg(r == -1 && m->err == HTTP1_E_CONN_END_TO_END,
		    "not refused: %s", head);
		return false;
	}
	ck_assert_msg(r > 0, "%s: %s", http1_err_str(m->err), head);
	return true;
}

/*
 * out (from head), parsed again as kind, frames its body as want with the
 * same length, by exactly one framing field (none without a body), and
 * has no Connection field.
 */
static void
assert_reframed(const char *head, const char *out, enum http1_kind kind,
    enum http1_body want, uint64_t length)
{
	struct http1_msg m2;

	ck_assert_msg(count_fields(out, "content-length") +
	    count_fields(out, "transfer-encoding") ==
	    (want == HTTP1_BODY_NONE ? 0 : 1), "framing of: %s", out);
	ck_assert_int_eq(count_fields(out, "connection"), 0);
	ck_assert_int_eq(parse(&m2, hdrs2, kind, HTTP1_M_GET, out),
	    (int)strlen(out));
	ck_assert_msg(m2.body == want && m2.content_length == length,
	    "reframed: %s\n-> %s", head, out);
}

/*
 * For every nominee, shape and framing: the parser refuses a nomination
 * of a field the message is framed or routed by; otherwise the rewritten
 * head has exactly one framing field, the broker's, one Host first, and
 * framing equal to the original's when parsed again.
 */
START_TEST(test_request_framing_property)
{
	static const char first[] = "POST /capture HTTP/1.1\r\nHost: up.test\r\n";
	char head[1024];
	struct http1_msg m;
	struct rewrite_req rq;
	struct evbuffer *b;
	size_t ni, si, fi, rewritten = 0;
	char *out;

	b = evbuffer_new();
	ck_assert_ptr_nonnull(b);
	for (ni = 0; ni < sizeof(nominees) / sizeof(nominees[0]); ni++)
	for (si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++)
	for (fi = 0; fi < sizeof(framings) / sizeof(framings[0]); fi++) {
		if (!parse_nominating(&m, head, sizeof(head), HTTP1_REQUEST,
		    "POST /capture HTTP/1.1\r\nHost: a.test\r\n", framings[fi],
		    ni, si))
			continue;
		rewritten++;
		req_defaults(&rq, &m, head);
		ck_assert_int_eq(rewrite_request_head(b, head, &m, &rq), 0);
		evbuffer_add(b, "\r\n", 2);
		out = drain_str(b);
		assert_reframed(head, out, HTTP1_REQUEST, m.body, m.content_length);
		if (m.body == HTTP1_BODY_LENGTH)
			ck_assert_msg(strstr(out, "\r\nContent-Length: 22\r\n") != NULL,
			    "not the broker's length: %s", out);
		if (m.body == HTTP1_BODY_CHUNKED)
			ck_assert_msg(strstr(out,
			    "\r\nTransfer-Encoding: chunked\r\n") != NULL,
			    "not the broker's chunked: %s", out);
		ck_assert_msg(count_fields(out, "host") == 1 &&
		    strncmp(out, first, sizeof(first) - 1) == 0,
		    "host of: %s", out);
		free(out);
	}
	/* all but the 8 spellings of the four refused names, in every shape and framing */
	ck_assert_uint_eq(rewritten, (sizeof(nominees) / sizeof(nominees[0]) - 8) *
	    (sizeof(shapes) / sizeof(shapes[0])) *
	    (sizeof(framings) / sizeof(framings[0])));
	evbuffer_free(b);
}
END_TEST

/* The same for responses, for Content-Length, chunked and close-delimited answers. */
START_TEST(test_response_framing_property)
{
	static const char *const rframings[] = {
		"Content-Length: 5\r\n", "Content-Length: 05\r\n",
		"Transfer-Encoding: chunked\r\n", "",
	};
	char head[1024];
	struct http1_msg m;
	struct rewrite_resp rs;
	struct evbuffer *b;
	size_t ni, si, fi;
	char *out;

	b = evbuffer_new();
	ck_assert_ptr_nonnull(b);
	for (ni = 0; ni < sizeof(nominees) / sizeof(nominees[0]); ni++)
	for (si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++)
	for (fi = 0; fi < sizeof(rframings) / sizeof(rframings[0]); fi++) {
		if (!parse_nominating(&m, head, sizeof(head), HTTP1_RESPONSE,
		    "HTTP/1.1 200 OK\r\n", rframings[fi], ni, si))
			continue;
		memset(&rs, 0, sizeof(rs));
		/* as the session frames it for an HTTP/1.1 client */
		rs.framing = m.body == HTTP1_BODY_CLOSE ? HTTP1_BODY_CHUNKED :
		    m.body;
		rs.length = m.content_length;
		ck_assert_int_eq(rewrite_response_head(b, head, &m, &rs), 0);
		out = drain_str(b);
		assert_reframed(head, out, HTTP1_RESPONSE, rs.framing,
		    m.content_length);
		free(out);
	}
	evbuffer_free(b);
}
END_TEST

/* The peer's spelling of its framing never goes on: the value is ours. */
START_TEST(test_framing_is_ours)
{
	char *out;

	out = rewrite_req_str("PUT /f HTTP/1.1\r\nHost: a\r\nContent-Length:  007 \r\n\r\n",
	    NULL);
	ck_assert_str_eq(out, "PUT /f HTTP/1.1\r\nHost: up.test\r\n"
	    "Content-Length: 7\r\n"
	    "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\n"
	    "Forwarded: for=192.0.2.7;proto=https\r\nX-Real-IP: 192.0.2.7\r\n\r\n");
	free(out);
	out = rewrite_req_str("POST / HTTP/1.1\r\nTransfer-Encoding: , CHUNKED\r\n"
	    "Host: a\r\nX-A: 1\r\n\r\n", NULL);
	ck_assert_ptr_nonnull(strstr(out, "\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n"));
	ck_assert_int_eq(count_fields(out, "transfer-encoding"), 1);
	free(out);
}
END_TEST

/* A held body: no framing field, and Expect is the broker's. */
START_TEST(test_held_body)
{
	struct req_opts opt = { .forwarded = FORWARDED_OFF, .held = true };
	char *out = rewrite_req_str("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n", &opt);

	ck_assert_str_eq(out, "POST / HTTP/1.1\r\nHost: up.test\r\n\r\n");
	free(out);
}
END_TEST

/* ---- target and Host ---------------------------------------------------- */

/* Regression: "GET http://h?q=1" went upstream as "GET ?q=1". */
START_TEST(test_absolute_empty_path)
{
	struct req_opts opt = { .forwarded = FORWARDED_OFF };
	char *out;

	out = rewrite_req_str("GET http://h.test?q=1 HTTP/1.1\r\nHost: other\r\n\r\n",
	    &opt);
	ck_assert_str_eq(out, "GET /?q=1 HTTP/1.1\r\nHost: h.test\r\n\r\n");
	free(out);
	out = rewrite_req_str("GET https://h.test:8443 HTTP/1.1\r\nHost: h\r\n\r\n",
	    &opt);
	ck_assert_str_eq(out, "GET / HTTP/1.1\r\nHost: h.test:8443\r\n\r\n");
	free(out);
	/* OPTIONS * keeps its asterisk */
	out = rewrite_req_str("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &opt);
	ck_assert_str_eq(out, "OPTIONS * HTTP/1.1\r\nHost: up.test\r\n\r\n");
	free(out);
}
END_TEST

/* ---- the forwarding policy ------------------------------------------------ */

#define FWD_HEAD "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 6.6.6.6\r\n" \
	"Forwarded: for=6.6.6.6;proto=http\r\nX-Real-IP: 6.6.6.6\r\n" \
	"X-Forwarded-Proto: http\r\nX-Forwarded-Host: evil.test\r\n" \
	"x-forwarded-for: 7.7.7.7\r\nX-Keep: 1\r\n\r\n"

/*
 * Regression: the client's X-Forwarded-For, Forwarded and
 * X-Real-IP reached the endpoint before ours.  replace (the default)
 * drops them.
 */
START_TEST(test_forwarded_replace)
{
	struct req_opts over = { .forwarded = FORWARDED_REPLACE };
	char *out = rewrite_req_str(FWD_HEAD, &over);

	ck_assert_str_eq(out, "GET / HTTP/1.1\r\nHost: up.test\r\nX-Keep: 1\r\n"
	    "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\n"
	    "Forwarded: for=192.0.2.7;proto=https\r\nX-Real-IP: 192.0.2.7\r\n\r\n");
	ck_assert_ptr_null(strstr(out, "6.6.6.6"));
	ck_assert_ptr_null(strstr(out, "evil"));
	free(out);
}
END_TEST

/* append: the lists grow by our hop (one field each), X-Real-IP stays the first proxy's. */
START_TEST(test_forwarded_append)
{
	struct req_opts over = { .forwarded = FORWARDED_APPEND };
	char *out = rewrite_req_str(FWD_HEAD, &over), *v;

	v = field_value(out, "x-forwarded-for");
	ck_assert_str_eq(v, "6.6.6.6, 7.7.7.7, 192.0.2.7");
	free(v);
	ck_assert_int_eq(count_fields(out, "x-forwarded-for"), 1);
	v = field_value(out, "forwarded");
	ck_assert_str_eq(v, "for=6.6.6.6;proto=http, for=192.0.2.7;proto=https");
	free(v);
	v = field_value(out, "x-real-ip");
	ck_assert_str_eq(v, "6.6.6.6");
	free(v);
	ck_assert_int_eq(count_fields(out, "x-real-ip"), 1);
	v = field_value(out, "x-forwarded-proto");
	ck_assert_str_eq(v, "https");
	free(v);
	ck_assert_int_eq(count_fields(out, "x-forwarded-host"), 1);
	free(out);
	/* without a client X-Real-IP, ours; a nominated one does not count */
	out = rewrite_req_str("GET / HTTP/1.1\r\nHost: a\r\nConnection: X-Real-IP\r\n"
	    "X-Real-IP: 6.6.6.6\r\n\r\n", &over);
	v = field_value(out, "x-real-ip");
	ck_assert_str_eq(v, "192.0.2.7");
	free(v);
	v = field_value(out, "x-forwarded-for");
	ck_assert_str_eq(v, "192.0.2.7");
	free(v);
	free(out);
}
END_TEST

/* off: the client's pass untouched, none added. */
START_TEST(test_forwarded_off)
{
	struct req_opts over = { .forwarded = FORWARDED_OFF };
	char *out = rewrite_req_str(FWD_HEAD, &over);

	ck_assert_int_eq(count_fields(out, "x-forwarded-for"), 2);
	ck_assert_int_eq(count_fields(out, "x-real-ip"), 1);
	ck_assert_ptr_null(strstr(out, "192.0.2.7"));
	ck_assert_ptr_nonnull(strstr(out, "X-Forwarded-Proto: http\r\n"));
	free(out);
}
END_TEST

/* An IPv6 client: bare in X-Forwarded-For, quoted and bracketed in Forwarded. */
START_TEST(test_forwarded_ipv6)
{
	struct req_opts over = { .forwarded = FORWARDED_REPLACE,
	    .client_addr = "[2001:db8::7]:40000" };
	char *out = rewrite_req_str("GET / HTTP/1.1\r\nHost: a\r\n\r\n", &over), *v;

	v = field_value(out, "x-forwarded-for");
	ck_assert_str_eq(v, "2001:db8::7");
	free(v);
	v = field_value(out, "forwarded");
	ck_assert_str_eq(v, "for=\"[2001:db8::7]\";proto=https");
	free(v);
	free(out);
}
END_TEST

/* ---- responses ------------------------------------------------------------ */

START_TEST(test_response_head)
{
	struct rewrite_resp rs;

	/* HEAD: the endpoint's Content-Length tells what GET would send */
	memset(&rs, 0, sizeof(rs));
	rs.keep_length = true;
	assert_resp_rewrite("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
	    "Keep-Alive: x\r\n\r\n", HTTP1_M_HEAD, &rs,
	    "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
	/* an HTTP/1.0 answer without a reason, for a 1.0 client kept alive */
	memset(&rs, 0, sizeof(rs));
	rs.framing = HTTP1_BODY_LENGTH;
	rs.length = 3;
	rs.keep_alive = true;
	assert_resp_rewrite("HTTP/1.0 404\r\nX-A:b\r\nContent-Length: 3\r\n\r\n",
	    HTTP1_M_GET, &rs,
	    "HTTP/1.1 404 \r\nX-A: b\r\nContent-Length: 3\r\n"
	    "Connection: keep-alive\r\n\r\n");
	/* chunked for a 1.0 client: de-chunked, no framing field, close */
	memset(&rs, 0, sizeof(rs));
	rs.close = true;
	assert_resp_rewrite("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
	    HTTP1_M_GET, &rs,
	    "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
}
END_TEST

/*
 * A Connection that names only keep-alive nominates nothing else: every
 * other field goes on (the per-field nomination check is skipped then);
 * one more option, and the field it names is dropped.
 */
START_TEST(test_keepalive_only_nominates_nothing_else)
{
	struct rewrite_resp rs;

	memset(&rs, 0, sizeof(rs));
	rs.keep_length = true;
	assert_resp_rewrite("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n"
	    "Keep-Alive: timeout=5\r\nX-Hop: 1\r\nContent-Length: 0\r\n\r\n",
	    HTTP1_M_GET, &rs,
	    "HTTP/1.1 200 OK\r\nX-Hop: 1\r\nContent-Length: 0\r\n\r\n");
	assert_resp_rewrite("HTTP/1.1 200 OK\r\nConnection: Keep-Alive, x-hop\r\n"
	    "Keep-Alive: timeout=5\r\nX-Hop: 1\r\nContent-Length: 0\r\n\r\n",
	    HTTP1_M_GET, &rs,
	    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
}
END_TEST

/*
 * Every field line leaves as "Name: value" CRLF, however the peer spaced
 * it: lines already in that shape are copied whole, the others rebuilt
 * (no space, two, a tab, trailing whitespace, an empty value either way).
 */
START_TEST(test_field_lines_normalized)
{
	struct rewrite_resp rs;

	memset(&rs, 0, sizeof(rs));
	rs.keep_length = true;
	assert_resp_rewrite("HTTP/1.1 200 OK\r\nA: 1\r\nB:2\r\nC:  3\r\n"
	    "D:\t4\r\nE: 5 \r\nF: 6\t\r\nG:\r\nH: \r\nI: x y\r\n"
	    "Content-Length: 0\r\n\r\n", HTTP1_M_GET, &rs,
	    "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n"
	    "D: 4\r\nE: 5\r\nF: 6\r\nG: \r\nH: \r\nI: x y\r\n"
	    "Content-Length: 0\r\n\r\n");
}
END_TEST

/* ---- the logged path ------------------------------------------------------ */

/*
 * Regression: the audit path kept keyless query tokens and
 * matrix parameters.  No query or matrix part is logged at all.
 */
START_TEST(test_log_path)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "/reset?TOKEN", "/reset" },
		{ "/x?token=s3cret&a=b", "/x" },
		{ "/a;jsessionid=SECRET/b", "/a" },
		{ "/a/b;v=1?x", "/a/b" },
		{ "?q=1", "/" },
		{ "", "/" },
		{ "*", "*" },
		{ "/soap/Employee", "/soap/Employee" },
		{ "/%3Fnot-a-query", "/%3Fnot-a-query" },
	};
	char out[16];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rewrite_log_path(out, sizeof(out), cases[i].in, strlen(cases[i].in));
		ck_assert_str_eq(out, cases[i].want);
	}
	memset(out, 'X', sizeof(out));
	rewrite_log_path(out, 5, "/abcdefgh", 9);
	ck_assert_str_eq(out, "/abc");
	rewrite_log_path(out, 1, "/abc", 4);
	ck_assert_str_eq(out, "");
}
END_TEST

/* A head that does not fit the buffer is not written at all. */
START_TEST(test_no_partial_head)
{
	struct http1_msg m;
	struct rewrite_resp rs;
	struct evbuffer *b = evbuffer_new();
	const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

	ck_assert_int_gt(parse(&m, hdrs, HTTP1_RESPONSE, HTTP1_M_GET, head), 0);
	memset(&rs, 0, sizeof(rs));
	rs.framing = HTTP1_BODY_LENGTH;
	/* an evbuffer that takes nothing more: frozen at its end */
	ck_assert_int_eq(evbuffer_add(b, "x", 1), 0);
	ck_assert_int_eq(evbuffer_freeze(b, 0), 0);
	ck_assert_int_eq(rewrite_response_head(b, head, &m, &rs), -1);
	ck_assert_uint_eq(evbuffer_get_length(b), 1);
	evbuffer_free(b);
}
END_TEST

/* ---- plans: route keys, the request head, the answer's framing ---------- */

static bool
keys(const char *head, const char *sni, char *host, const char **path,
    size_t *plen)
{
	static struct http1_msg m;

	ck_assert_int_gt(parse(&m, hdrs, HTTP1_REQUEST, HTTP1_M_OTHER, head), 0);
	return rewrite_route_keys(head, &m, sni, host, HTTP1_HOST_MAX + 1, path,
	    plen);
}

START_TEST(test_route_keys)
{
	char host[HTTP1_HOST_MAX + 1];
	const char *path;
	size_t plen;

	/* Host, normalised; the origin-form target is the path */
	ck_assert(keys("GET /a/b?q HTTP/1.1\r\nHost: A.Test:443\r\n\r\n", "sni.test",
	    host, &path, &plen));
	ck_assert_str_eq(host, "a.test");
	ck_assert_int_eq((int)plen, 6);
	ck_assert(strncmp(path, "/a/b?q", plen) == 0);
	/* an absolute-form target: its authority names the host, not Host */
	ck_assert(keys("GET http://b.test/p HTTP/1.1\r\nHost: b.test\r\n\r\n", NULL,
	    host, &path, &plen));
	ck_assert_str_eq(host, "b.test");
	ck_assert(strncmp(path, "/p", plen) == 0 && plen == 2);
	/* no Host at all (HTTP/1.0): SNI */
	ck_assert(keys("GET / HTTP/1.0\r\n\r\n", "sni.test", host, &path, &plen));
	ck_assert_str_eq(host, "sni.test");
	/* neither: no host, routable by path alone */
	ck_assert(keys("GET / HTTP/1.0\r\n\r\n", NULL, host, &path, &plen));
	ck_assert_str_eq(host, "");
	/* an empty Host is refused, never routed by SNI */
	ck_assert(!keys("GET / HTTP/1.1\r\nHost:\r\n\r\n", "sni.test", host, &path,
	    &plen));
}
END_TEST

START_TEST(test_req_plan)
{
	static const char head[] = "POST /p HTTP/1.1\r\nHost: a.test\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n";
	struct http1_msg m;
	struct route_conf rc;
	struct rewrite_req rq;

	ck_assert_int_gt(parse(&m, hdrs, HTTP1_REQUEST, HTTP1_M_OTHER, head), 0);
	memset(&rc, 0, sizeof(rc));
	snprintf(rc.upstream.host, sizeof(rc.upstream.host), "%s", "10.0.0.1");
	rc.secret_header = (char *)"x-secret";
	rc.forwarded = FORWARDED_APPEND;
	/* streamed: the client's framing, its Host */
	rewrite_req_plan(&rq, head, &m, &rc, "/p", 2, false, "192.0.2.1:1");
	ck_assert_int_eq(rq.framing, HTTP1_BODY_CHUNKED);
	ck_assert(!rq.drop_expect);
	ck_assert(strncmp(rq.host, "a.test", rq.host_len) == 0 && rq.host_len == 6);
	ck_assert_str_eq(rq.drop_field, "x-secret");
	ck_assert_int_eq(rq.forwarded, FORWARDED_APPEND);
	ck_assert_str_eq(rq.client_addr, "192.0.2.1:1");
	/* held: no framing field (the caller adds Content-Length), Expect ours */
	rewrite_req_plan(&rq, head, &m, &rc, "/p", 2, true, "192.0.2.1:1");
	ck_assert_int_eq(rq.framing, HTTP1_BODY_NONE);
	ck_assert(rq.drop_expect);
	/* upstream_host wins over the client's Host */
	rc.up_host = (char *)"erp.internal";
	rewrite_req_plan(&rq, head, &m, &rc, "/p", 2, false, "192.0.2.1:1");
	ck_assert(strncmp(rq.host, "erp.internal", rq.host_len) == 0);
	/* no Host and no upstream_host: the upstream's name */
	rc.up_host = NULL;
	ck_assert_int_gt(parse(&m, hdrs, HTTP1_REQUEST, HTTP1_M_OTHER,
	    "GET / HTTP/1.0\r\n\r\n"), 0);
	rewrite_req_plan(&rq, "GET / HTTP/1.0\r\n\r\n", &m, &rc, "/", 1, false,
	    "192.0.2.1:1");
	ck_assert(strncmp(rq.host, "10.0.0.1", rq.host_len) == 0 && rq.host_len == 8);
}
END_TEST

/* The plan for request req_head answered by resp_head. */
static void
resp_plan(const char *req_head, const char *resp_head, bool close,
    struct rewrite_resp_plan *p)
{
	struct http1_msg req, resp;

	ck_assert_int_gt(parse(&req, hdrs, HTTP1_REQUEST, HTTP1_M_OTHER, req_head), 0);
	ck_assert_int_gt(parse(&resp, hdrs2, HTTP1_RESPONSE, req.method, resp_head), 0);
	rewrite_resp_plan(&req, &resp, close, p);
}

START_TEST(test_resp_plan)
{
	static const char get11[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
	static const char get10[] = "GET / HTTP/1.0\r\n\r\n";
	struct rewrite_resp_plan p;

	/* a length answer to a 1.1 client: passed on, kept alive */
	resp_plan(get11, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", false, &p);
	ck_assert_int_eq(p.rs.framing, HTTP1_BODY_LENGTH);
	ck_assert(!p.close && !p.rechunk && !p.close_delim);
	ck_assert_int_eq(p.mode, HTTP1_PASS);
	/* a close-delimited answer (HTTP/1.0 endpoint): re-chunked for 1.1 */
	resp_plan(get11, "HTTP/1.0 200 OK\r\n\r\n", false, &p);
	ck_assert(p.rechunk && !p.close && !p.close_delim);
	ck_assert_int_eq(p.rs.framing, HTTP1_BODY_CHUNKED);
	/* ... and ended by our close for a 1.0 client */
	resp_plan(get10, "HTTP/1.0 200 OK\r\n\r\n", false, &p);
	ck_assert(!p.rechunk && p.close && p.close_delim && p.rs.close);
	ck_assert(p.rs.keep_alive);
	/* chunked to a 1.0 client: de-chunked, close-delimited */
	resp_plan(get10, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
	    false, &p);
	ck_assert_int_eq(p.mode, HTTP1_DECHUNK);
	ck_assert(p.close && p.close_delim);
	ck_assert_int_eq(p.rs.framing, HTTP1_BODY_NONE);
	/* the request said Connection: close */
	resp_plan("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
	    "HTTP/1.1 204 No Content\r\n\r\n", false, &p);
	ck_assert(p.close && p.rs.close && !p.close_delim);
	/* closing anyway (a drain) */
	resp_plan(get11, "HTTP/1.1 204 No Content\r\n\r\n", true, &p);
	ck_assert(p.close && p.rs.close);
	/* HEAD and 304 keep the endpoint's Content-Length */
	resp_plan("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", false, &p);
	ck_assert(p.rs.keep_length);
	resp_plan(get11, "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
	    false, &p);
	ck_assert(p.rs.keep_length);
}
END_TEST

static Suite *
rewrite_suite(void)
{
	Suite *s = suite_create("rewrite");
	TCase *tc;

	tc = tcase_create("framing");
	tcase_add_test(tc, test_request_framing_property);
	tcase_add_test(tc, test_response_framing_property);
	tcase_add_test(tc, test_framing_is_ours);
	tcase_add_test(tc, test_held_body);
	tcase_add_test(tc, test_no_partial_head);
	suite_add_tcase(s, tc);

	tc = tcase_create("request");
	tcase_add_test(tc, test_absolute_empty_path);
	tcase_add_test(tc, test_forwarded_replace);
	tcase_add_test(tc, test_forwarded_append);
	tcase_add_test(tc, test_forwarded_off);
	tcase_add_test(tc, test_forwarded_ipv6);
	suite_add_tcase(s, tc);

	tc = tcase_create("response");
	tcase_add_test(tc, test_response_head);
	tcase_add_test(tc, test_field_lines_normalized);
	tcase_add_test(tc, test_keepalive_only_nominates_nothing_else);
	suite_add_tcase(s, tc);

	tc = tcase_create("plan");
	tcase_add_test(tc, test_route_keys);
	tcase_add_test(tc, test_req_plan);
	tcase_add_test(tc, test_resp_plan);
	suite_add_tcase(s, tc);

	tc = tcase_create("log");
	tcase_add_test(tc, test_log_path);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(rewrite_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
