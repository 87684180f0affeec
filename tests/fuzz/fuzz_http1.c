/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for http1.  The parser must give the same answer
 * however the bytes arrive: in one piece, split in two at a position taken
 * from the input, or (for small inputs) byte by byte; the body decoder
 * likewise in pass-through and de-chunk modes and in pieces.  Any
 * disagreement, or a span outside the bytes given, aborts.  A head it
 * accepts is also rewritten as the broker sends it on (rewrite.c) and
 * parsed again: the framing must come out the same, from exactly one
 * framing field, and its Host must normalise for routing (route.c) by the
 * parser's own rule.
 *
 * Input: 4 control bytes, then the message.
 *   c[0] bit 0: response (else request); bits 1-4: request method for a
 *        response; bit 5: the whole message is a chunked body only;
 *        bit 6: small max_head (64 + 8 * (c[3] & 0x7f)); bit 7: 4 headers max
 *   c[1], c[2]: split position (big-endian, modulo length + 1)
 *   c[3] & 0x1f: body piece size - 1
 */
#include "config.h"

/*
 * The parser comes from libtlsbroker.a like everything else; with
 * --enable-fuzzing the library is built with -fsanitize=fuzzer-no-link, so
 * libFuzzer gets coverage feedback from the parser itself.
 */
#include "http1.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "rewrite.h"
#include "route.h"

#define FUZZ_HDRS	64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static bool
span_in(struct http1_span s, size_t len)
{
	return s.off <= len && s.len <= len - s.off;
}

static void
same_msg(const struct http1_msg *a, int ra, const struct http1_msg *b, int rb)
{
	size_t i;

	CHECK(ra == rb);
	CHECK(a->err == b->err && a->err_off == b->err_off);
	if (ra <= 0)
		return;
	CHECK(a->method == b->method);
	CHECK(a->method_s.off == b->method_s.off && a->method_s.len == b->method_s.len);
	CHECK(a->target.off == b->target.off && a->target.len == b->target.len);
	CHECK(a->form == b->form);
	CHECK(a->authority.off == b->authority.off &&
	    a->authority.len == b->authority.len);
	CHECK(a->version == b->version && a->status == b->status);
	CHECK(a->reason.off == b->reason.off && a->reason.len == b->reason.len);
	CHECK(a->host.off == b->host.off && a->host.len == b->host.len);
	CHECK(a->body == b->body && a->content_length == b->content_length);
	CHECK(a->flags == b->flags && a->head_len == b->head_len);
	CHECK(a->nhdrs == b->nhdrs && a->nconn == b->nconn);
	for (i = 0; i < a->nhdrs; i++) {
		CHECK(a->hdrs[i].name.off == b->hdrs[i].name.off);
		CHECK(a->hdrs[i].name.len == b->hdrs[i].name.len);
		CHECK(a->hdrs[i].value.off == b->hdrs[i].value.off);
		CHECK(a->hdrs[i].value.len == b->hdrs[i].value.len);
	}
	for (i = 0; i < a->nconn; i++)
		CHECK(a->conn[i].off == b->conn[i].off &&
		    a->conn[i].len == b->conn[i].len);
}

/* What a parsed head must look like, whatever the input. */
static void
head_invariants(const struct http1_msg *m, const uint8_t *buf, int r)
{
	size_t hl = (size_t)r, i;

	CHECK(m->head_len == hl && hl >= 4 && hl <= m->max_head);
	CHECK(memcmp(buf + hl - 4, "\r\n\r\n", 4) == 0);
	CHECK(m->version == 10 || m->version == 11);
	CHECK(m->nhdrs <= m->max_hdrs && m->nconn <= HTTP1_MAX_CONN_TOKENS);
	for (i = 0; i < m->nhdrs; i++) {
		CHECK(span_in(m->hdrs[i].name, hl) && span_in(m->hdrs[i].value, hl));
		CHECK(m->hdrs[i].name.len > 0);
		CHECK(buf[m->hdrs[i].name.off + m->hdrs[i].name.len] == ':');
	}
	for (i = 0; i < m->nconn; i++) {
		CHECK(span_in(m->conn[i], hl) && m->conn[i].len > 0);
		CHECK(http1_conn_nominates(m, (const char *)buf,
		    (const char *)buf + m->conn[i].off, m->conn[i].len));
	}
	for (i = 0; i < m->nhdrs; i++) {
		/* a Connection field is counted by its tokens */
		if (http1_hdr_is((const char *)buf, &m->hdrs[i], "connection") &&
		    m->hdrs[i].value.len > 0) {
			const uint8_t *v = buf + m->hdrs[i].value.off;
			size_t j;

			for (j = 0; j < m->hdrs[i].value.len; j++)
				if (v[j] != ',' && v[j] != ' ' && v[j] != '\t')
					break;
			CHECK(j == m->hdrs[i].value.len || m->nconn > 0);
		}
	}
	if (m->kind == HTTP1_REQUEST)
		CHECK(http1_method_str(m->method)[0] != '\0');
	if (m->kind == HTTP1_REQUEST) {
		CHECK(span_in(m->method_s, hl) && m->method_s.len > 0);
		CHECK(span_in(m->target, hl) && m->target.len > 0);
		CHECK(span_in(m->authority, hl) && span_in(m->host, hl));
		CHECK(m->version == 10 || (m->flags & HTTP1_F_HOST));
		CHECK(m->body != HTTP1_BODY_CLOSE);
	} else {
		CHECK(m->status >= 100 && m->status <= 599);
		CHECK(span_in(m->reason, hl));
	}
	/* never two framings at once */
	CHECK(!((m->flags & HTTP1_F_TE) && m->body == HTTP1_BODY_LENGTH));
	CHECK(!((m->flags & HTTP1_F_TE) && m->version == 10));
	if (m->body == HTTP1_BODY_CLOSE)
		CHECK(m->flags & HTTP1_F_CLOSE);
	if (m->body != HTTP1_BODY_LENGTH)
		CHECK(m->content_length == 0);
}

/* Connection options naming framing (and for requests routing) fields are refused. */
static void
conn_invariants(const struct http1_msg *m, const uint8_t *buf)
{
	static const char *const framing[] = {
		"content-length", "transfer-encoding", NULL
	};
	static const char *const routing[] = { "host", "expect", NULL };
	size_t i, j;

	for (i = 0; i < m->nconn; i++) {
		for (j = 0; framing[j] != NULL; j++)
			CHECK(!http1_conn_nominates(m, (const char *)buf,
			    framing[j], strlen(framing[j])));
		for (j = 0; m->kind == HTTP1_REQUEST && routing[j] != NULL; j++)
			CHECK(!http1_conn_nominates(m, (const char *)buf,
			    routing[j], strlen(routing[j])));
	}
}

/* True if name[0..len) is a field name http1 knows (any case). */
static bool
known_field(const char *name, size_t len)
{
	unsigned id;

	for (id = HTTP1_FLD_OTHER + 1; id < HTTP1_FLD__COUNT; id++)
		if (strlen(http1_field_str((enum http1_field)id)) == len &&
		    strncasecmp(http1_field_str((enum http1_field)id), name, len) == 0)
			return true;
	return false;
}

/*
 * No field a Connection option of m nominates is in the rewritten head
 * m2 (p): hop-by-hop, RFC 9110 7.6.1.  Known names are left out: those
 * the broker drops by their id, or writes itself.
 */
static void
nominated_dropped(const struct http1_msg *m, const char *b,
    const struct http1_msg *m2, const char *p)
{
	char opt[64];
	size_t i, j, len;

	for (i = 0; i < m->nconn; i++) {
		len = m->conn[i].len;
		if (len >= sizeof(opt) || known_field(b + m->conn[i].off, len))
			continue;
		memcpy(opt, b + m->conn[i].off, len);
		opt[len] = '\0';
		for (j = 0; j < m2->nhdrs; j++)
			CHECK(!http1_hdr_is(p, &m2->hdrs[j], opt));
	}
}

/*
 * What routing reads of the head: the host normalises, the scheme is
 * http(s), and the host part the parser split off (what routing uses)
 * names the same host as normalising the whole value again.
 */
static void
route_invariants(const struct http1_msg *m, const uint8_t *buf)
{
	char host[HTTP1_HOST_MAX + 1], split[HTTP1_HOST_MAX + 1];
	const char *b = (const char *)buf;

	if (m->kind != HTTP1_REQUEST)
		return;
	if ((m->flags & HTTP1_F_HOST) && m->host.len > 0) {
		CHECK(route_host_normalize(b + m->host.off, m->host.len, host,
		    sizeof(host)) && strlen(host) <= HTTP1_HOST_MAX);
		CHECK(route_host_lower(b + m->host_name.off, m->host_name.len,
		    split, sizeof(split)) && strcmp(host, split) == 0);
	}
	if (m->form == HTTP1_TF_ABSOLUTE || m->form == HTTP1_TF_AUTHORITY) {
		CHECK(route_host_normalize(b + m->authority.off,
		    m->authority.len, host, sizeof(host)));
		CHECK(route_host_lower(b + m->authority_name.off,
		    m->authority_name.len, split, sizeof(split)) &&
		    strcmp(host, split) == 0);
	}
	if (m->form == HTTP1_TF_ABSOLUTE) {
		CHECK(strncasecmp(b + m->target.off, "http://", 7) == 0 ||
		    strncasecmp(b + m->target.off, "https://", 8) == 0);
	}
}

/* Number of field lines of the head in p[0..len) named name. */
static size_t
count_fields(const struct http1_msg *m, const char *p, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < m->nhdrs; i++)
		n += http1_hdr_is(p, &m->hdrs[i], name);
	return n;
}

/*
 * The head rewritten as the session would send it on, parsed again: the
 * same framing, carried by exactly one framing field (none without a
 * body), and never two parses of the message.
 */
static void
rewrite_invariants(const struct http1_msg *m, const uint8_t *buf)
{
	struct http1_header h2[FUZZ_HDRS + 8];
	struct http1_msg m2;
	struct rewrite_req rq;
	struct rewrite_resp rs;
	struct evbuffer *out;
	const char *b = (const char *)buf, *p;
	enum http1_body want;
	size_t len, skip, nframing;
	int r;

	if ((out = evbuffer_new()) == NULL)
		abort();
	if (m->kind == HTTP1_REQUEST) {
		if (m->method == HTTP1_M_CONNECT)
			goto done;	/* refused by the session */
		memset(&rq, 0, sizeof(rq));
		rq.path = b + m->target.off;
		rq.plen = m->target.len;
		rq.host = "h.test";
		rq.host_len = 6;
		if (m->form == HTTP1_TF_ABSOLUTE) {
			skip = m->authority.off + m->authority.len - m->target.off;
			rq.path += skip;
			rq.plen -= skip;
			rq.host = b + m->authority.off;
			rq.host_len = m->authority.len;
		}
		rq.framing = m->body;
		rq.length = m->content_length;
		rq.forwarded = (enum forwarded_mode)(m->nhdrs % 3);
		rq.client_addr = m->nhdrs & 1 ? "[2001:db8::1]:1" : "192.0.2.1:1";
		CHECK(rewrite_request_head(out, b, m, &rq) == 0);
		evbuffer_add(out, "\r\n", 2);
		want = m->body;
	} else {
		if ((m->flags & HTTP1_F_TE_CODING) && m->body != HTTP1_BODY_NONE)
			goto done;	/* refused by the session */
		memset(&rs, 0, sizeof(rs));
		rs.framing = m->body == HTTP1_BODY_CLOSE ? HTTP1_BODY_CHUNKED :
		    m->body;
		rs.length = m->content_length;
		CHECK(rewrite_response_head(out, b, m, &rs) == 0);
		want = rs.framing;
	}
	len = evbuffer_get_length(out);
	p = (const char *)evbuffer_pullup(out, -1);
	http1_msg_init(&m2, m->kind, m->req_method, h2, FUZZ_HDRS + 8,
	    len + 1);
	r = http1_parse_head(&m2, p, len);
	CHECK(r > 0 && (size_t)r == len);
	CHECK(m2.body == want && m2.content_length == m->content_length);
	nframing = count_fields(&m2, p, "content-length") +
	    count_fields(&m2, p, "transfer-encoding");
	CHECK(nframing == (want == HTTP1_BODY_NONE ? 0 : 1));
	CHECK(m2.nconn == 0);
	nominated_dropped(m, b, &m2, p);
	if (m->kind == HTTP1_REQUEST) {
		CHECK(m2.method == m->method && (m2.flags & HTTP1_F_HOST));
		CHECK(count_fields(&m2, p, "host") == 1);
	}
done:
	evbuffer_free(out);
}

struct body_res {
	uint64_t consumed;
	uint64_t payload;
	bool done;
	enum http1_err err;
	uint64_t err_off;
	size_t out_len;
};

/*
 * Decodes buf[0..n) with the bytes arriving piece bytes at a time; the
 * de-chunked payload goes to out (n bytes).
 */
static void
run_body(const uint8_t *buf, size_t n, enum http1_body kind, uint64_t cl,
    enum http1_body_mode mode, size_t piece, uint8_t *out,
    struct body_res *res)
{
	struct http1_body_dec d;
	struct http1_span sp;
	size_t off = 0, arrived = 0;
	ssize_t r;

	memset(res, 0, sizeof(*res));
	http1_body_init(&d, kind, cl, mode);
	while (!d.done && off < n && d.err == HTTP1_E_NONE) {
		arrived = arrived + piece < n ? arrived + piece : n;
		while (off < arrived && !d.done) {
			r = http1_body_feed(&d, (const char *)buf + off,
			    arrived - off, &sp);
			if (r < 0)
				break;
			CHECK(r > 0 && (size_t)r <= arrived - off);
			CHECK(sp.off + sp.len <= (size_t)r);
			if (mode == HTTP1_PASS)
				CHECK(sp.off == 0 && sp.len == (size_t)r);
			memcpy(out + res->out_len, buf + off + sp.off, sp.len);
			res->out_len += sp.len;
			off += (size_t)r;
		}
	}
	CHECK(d.wire == (d.err != HTTP1_E_NONE ? d.err_off : off));
	CHECK(d.payload <= d.wire);
	if (d.done) {
		struct http1_span sp2;

		CHECK(http1_body_feed(&d, (const char *)buf, n, &sp2) == 0);
		CHECK(http1_body_eof(&d) == 0);
	} else if (d.err == HTTP1_E_NONE) {
		struct http1_body_dec e = d;

		/* the connection closes here: only a close-delimited body ends */
		if (kind == HTTP1_BODY_CLOSE)
			CHECK(http1_body_eof(&e) == 0 && e.done);
		else
			CHECK(http1_body_eof(&e) == -1 &&
			    e.err == HTTP1_E_TRUNCATED && e.err_off == e.wire);
	}
	res->consumed = d.wire;
	res->payload = d.payload;
	res->done = d.done;
	res->err = d.err;
	res->err_off = d.err_off;
	if (d.err != HTTP1_E_NONE)
		CHECK(http1_body_feed(&d, (const char *)buf, n, &sp) == -1);
}

static void
fuzz_body(const uint8_t *buf, size_t n, enum http1_body kind, uint64_t cl,
    size_t piece)
{
	struct body_res a, b, c;
	uint8_t *oa, *ob, *oc;

	oa = malloc(n + 1);
	ob = malloc(n + 1);
	oc = malloc(n + 1);
	CHECK(oa != NULL && ob != NULL && oc != NULL);
	run_body(buf, n, kind, cl, HTTP1_PASS, n > 0 ? n : 1, oa, &a);
	run_body(buf, n, kind, cl, HTTP1_PASS, piece, ob, &b);
	run_body(buf, n, kind, cl, HTTP1_DECHUNK, piece, oc, &c);
	CHECK(a.done == b.done && a.done == c.done);
	CHECK(a.err == b.err && a.err == c.err);
	CHECK(a.err_off == b.err_off && a.err_off == c.err_off);
	CHECK(a.consumed == b.consumed && a.consumed == c.consumed);
	CHECK(a.payload == b.payload && a.payload == c.payload);
	if (a.err != HTTP1_E_NONE) {
		/* spans already forwarded before the error depend on the pieces */
		CHECK(a.err_off < n && a.consumed == a.err_off);
		goto out;
	}
	/* pass-through forwards exactly the consumed bytes */
	CHECK(a.out_len == a.consumed && memcmp(oa, buf, a.out_len) == 0);
	CHECK(b.out_len == b.consumed && memcmp(ob, buf, b.out_len) == 0);
	/* de-chunking yields exactly the payload count */
	CHECK(c.out_len == c.payload);
	if (kind != HTTP1_BODY_CHUNKED)
		CHECK(memcmp(oc, buf, c.out_len) == 0);
	if (a.err == HTTP1_E_NONE && !a.done) {
		/* ran out of input: every byte went in */
		CHECK(a.consumed == n);
	}
	/* again in one piece in de-chunk mode: same payload bytes */
	run_body(buf, n, kind, cl, HTTP1_DECHUNK, n > 0 ? n : 1, ob, &b);
	CHECK(b.out_len == c.out_len && memcmp(ob, oc, b.out_len) == 0);
	CHECK(b.err == c.err && b.err_off == c.err_off && b.done == c.done);
out:
	free(oa);
	free(ob);
	free(oc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http1_header h1[FUZZ_HDRS], h2[FUZZ_HDRS], h3[FUZZ_HDRS];
	struct http1_msg m1, m2, m3;
	enum http1_kind kind;
	enum http1_method req;
	size_t n, split, max_head, max_hdrs, piece, k;
	const uint8_t *msg;
	int r1, r2, r3, st;

	if (size < 4)
		return 0;
	kind = (data[0] & 1) ? HTTP1_RESPONSE : HTTP1_REQUEST;
	req = (enum http1_method)(((data[0] >> 1) & 0x0f) % HTTP1_M__COUNT);
	max_head = (data[0] & 0x40) ? 64 + 8 * (size_t)(data[3] & 0x7f) : 65536;
	max_hdrs = (data[0] & 0x80) ? 4 : FUZZ_HDRS;
	piece = (size_t)(data[3] & 0x1f) + 1;
	msg = data + 4;
	n = size - 4;
	split = (((size_t)data[1] << 8) | data[2]) % (n + 1);

	if (data[0] & 0x20) {
		fuzz_body(msg, n, HTTP1_BODY_CHUNKED, 0, piece);
		return 0;
	}

	http1_msg_init(&m1, kind, req, h1, max_hdrs, max_head);
	r1 = http1_parse_head(&m1, (const char *)msg, n);
	CHECK(http1_parse_head(&m1, (const char *)msg, n) == r1);

	http1_msg_init(&m2, kind, req, h2, max_hdrs, max_head);
	r2 = http1_parse_head(&m2, (const char *)msg, split);
	if (r2 == 0)
		r2 = http1_parse_head(&m2, (const char *)msg, n);
	same_msg(&m1, r1, &m2, r2);

	if (n <= 2048) {
		http1_msg_init(&m3, kind, req, h3, max_hdrs, max_head);
		r3 = 0;
		for (k = 0; k <= n && r3 == 0; k++)
			r3 = http1_parse_head(&m3, (const char *)msg, k);
		same_msg(&m1, r1, &m3, r3);
	}

	if (r1 < 0) {
		CHECK(m1.err > HTTP1_E_NONE && m1.err < HTTP1_E__COUNT);
		CHECK(m1.err_off <= n);
		st = http1_err_status(m1.err);
		CHECK(st == 400 || st == 413 || st == 414 || st == 431 ||
		    st == 501 || st == 505);
		CHECK(http1_err_str(m1.err)[0] != '\0');
		return 0;
	}
	if (r1 == 0) {
		CHECK(n < max_head);
		return 0;
	}
	head_invariants(&m1, msg, r1);
	conn_invariants(&m1, msg);
	route_invariants(&m1, msg);
	rewrite_invariants(&m1, msg);
	fuzz_body(msg + r1, n - (size_t)r1, m1.body, m1.content_length, piece);
	return 0;
}
