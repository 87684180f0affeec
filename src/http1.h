/* SPDX-License-Identifier: MIT */
/*
 * http1: the strict RFC 9112 HTTP/1.1 framing parser.  It parses request
 * and response heads and frames bodies (Content-Length, chunked, until
 * close).  No I/O, no allocation, no copies: results are offsets into the
 * caller's buffer, so the buffer may move between calls as long as it keeps
 * the same bytes.  Anything that could let two parsers disagree on where a
 * message ends (CL with TE, repeated CL, bad chunk sizes, obs-fold, bare CR
 * or LF, a Connection option naming Content-Length, ...) is refused with
 * its own error code; the proxy answers 400 with close reason bad_request
 * (or upstream_bad_response for responses).
 * It does not own routing, header rewriting or the connection: the
 * exchange (http_exchange.c, rewrite.c) decides what to forward, using the
 * spans and flags reported here.
 *
 * Return conventions (HAProxy style): the incremental functions return <0
 * for an error (code and offset in the struct, text by http1_err_str()),
 * 0 for "need more bytes", >0 for bytes used.
 */
#ifndef TLSBROKER_HTTP1_H
#define TLSBROKER_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Connection header tokens remembered per message (more is an error). */
#define HTTP1_MAX_CONN_TOKENS	16
/* Longest chunk-size line (size, extensions, CRLF) the decoder accepts. */
#define HTTP1_CHUNK_LINE_MAX	4096
/* Largest trailer section (all trailer lines and the final CRLF). */
#define HTTP1_TRAILER_MAX	16384
/* Longest host in a Host field or an authority (a DNS name has 253 bytes). */
#define HTTP1_HOST_MAX		255

enum http1_kind {
	HTTP1_REQUEST = 0,	/* parse a request-line and request head */
	HTTP1_RESPONSE,		/* parse a status-line and response head */
};

/* Request methods; the string is always available as a span too. */
enum http1_method {
	HTTP1_M_OTHER = 0,	/* any other token (PROPFIND, ...) */
	HTTP1_M_GET,
	HTTP1_M_HEAD,
	HTTP1_M_POST,
	HTTP1_M_PUT,
	HTTP1_M_DELETE,
	HTTP1_M_CONNECT,
	HTTP1_M_OPTIONS,
	HTTP1_M_TRACE,
	HTTP1_M_PATCH,
	HTTP1_M__COUNT
};

/* request-target forms, RFC 9112 3.2 */
enum http1_target_form {
	HTTP1_TF_ORIGIN = 0,	/* "/path?query" */
	HTTP1_TF_ABSOLUTE,	/* "http://host:port/path", authority span set */
	HTTP1_TF_AUTHORITY,	/* "host:port", CONNECT only, authority span set */
	HTTP1_TF_ASTERISK,	/* "*", OPTIONS only */
};

/* How the message body is delimited, RFC 9112 6.3. */
enum http1_body {
	HTTP1_BODY_NONE = 0,	/* no body (no framing header, HEAD, 1xx/204/304) */
	HTTP1_BODY_LENGTH,	/* content_length bytes (may be 0) */
	HTTP1_BODY_CHUNKED,	/* chunked transfer coding */
	HTTP1_BODY_CLOSE,	/* responses only: until the connection closes */
};

/*
 * Every refusal has its own code; http1_err_status() gives the HTTP status
 * a server answers with, http1_err_str() a sentence for logs.
 */
enum http1_err {
	HTTP1_E_NONE = 0,		/* no error */
	/* limits */
	HTTP1_E_HEAD_TOO_LARGE,		/* head longer than max_head (431) */
	HTTP1_E_URI_TOO_LONG,		/* request-line longer than max_head (414) */
	HTTP1_E_TOO_MANY_HEADERS,	/* more fields than the caller's array (431) */
	/* line structure */
	HTTP1_E_BARE_CR,		/* CR not followed by LF */
	HTTP1_E_BARE_LF,		/* LF not preceded by CR */
	HTTP1_E_CTL,			/* NUL, DEL or another control byte (not HTAB) */
	/* start line */
	HTTP1_E_METHOD,			/* invalid character in the method token */
	HTTP1_E_REQUEST_LINE,		/* not "method SP target SP version" */
	HTTP1_E_TARGET,			/* invalid request-target */
	HTTP1_E_TARGET_FORM,		/* target form not allowed for the method */
	HTTP1_E_TARGET_SCHEME,		/* absolute-form scheme other than http or https */
	HTTP1_E_VERSION_SYNTAX,		/* not "HTTP/" DIGIT "." DIGIT */
	HTTP1_E_VERSION,		/* valid but not HTTP/1.0 or HTTP/1.1 (505) */
	HTTP1_E_STATUS_LINE,		/* malformed status-line or status code */
	/* field lines */
	HTTP1_E_OBS_FOLD,		/* line starts with SP/HTAB (obs-fold) */
	HTTP1_E_HDR_NAME,		/* empty or invalid field name */
	HTTP1_E_HDR_NAME_WS,		/* whitespace between field name and colon */
	HTTP1_E_HDR_NO_COLON,		/* field line without a colon */
	/* framing fields */
	HTTP1_E_CL_SYNTAX,		/* Content-Length not 1*DIGIT */
	HTTP1_E_CL_DUP,			/* Content-Length repeated */
	HTTP1_E_CL_OVERFLOW,		/* Content-Length above INT64_MAX (413) */
	HTTP1_E_TE_CL,			/* Transfer-Encoding with Content-Length */
	HTTP1_E_TE_HTTP10,		/* Transfer-Encoding in an HTTP/1.0 message */
	HTTP1_E_TE_SYNTAX,		/* malformed Transfer-Encoding list */
	HTTP1_E_TE_CHUNKED_TWICE,	/* chunked applied more than once */
	HTTP1_E_TE_NOT_CHUNKED,		/* request TE whose final coding is not chunked */
	HTTP1_E_TE_UNSUPPORTED,		/* request coding other than chunked (501) */
	HTTP1_E_HOST_MISSING,		/* HTTP/1.1 request without Host */
	HTTP1_E_HOST_DUP,		/* more than one Host */
	HTTP1_E_HOST_SYNTAX,		/* invalid Host value */
	HTTP1_E_CONN_SYNTAX,		/* Connection is not a token list */
	HTTP1_E_CONN_TOO_MANY,		/* more than HTTP1_MAX_CONN_TOKENS tokens */
	HTTP1_E_CONN_END_TO_END,	/* Connection names a framing or routing field */
	/* body */
	HTTP1_E_CHUNK_SIZE,		/* chunk size missing or not hex */
	HTTP1_E_CHUNK_OVERFLOW,		/* chunk size above INT64_MAX (413) */
	HTTP1_E_CHUNK_EXT,		/* invalid chunk extension */
	HTTP1_E_CHUNK_LINE_TOO_LONG,	/* chunk-size line above HTTP1_CHUNK_LINE_MAX */
	HTTP1_E_CHUNK_CRLF,		/* CRLF missing after chunk size or data */
	HTTP1_E_TRAILER,		/* invalid trailer field line */
	HTTP1_E_TRAILER_TOO_LARGE,	/* trailer section above HTTP1_TRAILER_MAX */
	HTTP1_E_TRUNCATED,		/* connection closed inside a delimited body */
	HTTP1_E__COUNT
};

/* A byte range of the caller's buffer: buf + off, len bytes. */
struct http1_span {
	size_t off;
	size_t len;
};

/*
 * The field names the broker acts on, recognised once by the parser so
 * that the head builders (rewrite.c) test a number, not a string, for each
 * of their rules.  HTTP1_FLD_OTHER is every other name.
 */
enum http1_field {
	HTTP1_FLD_OTHER = 0,		/* a name the broker copies as it is */
	/* hop-by-hop by name (RFC 9110 7.6.1, plus the legacy ones) */
	HTTP1_FLD_CONNECTION,
	HTTP1_FLD_KEEP_ALIVE,
	HTTP1_FLD_TE,
	HTTP1_FLD_TRAILER,
	HTTP1_FLD_UPGRADE,
	HTTP1_FLD_PROXY_CONNECTION,
	HTTP1_FLD_PROXY_AUTHENTICATE,
	HTTP1_FLD_PROXY_AUTHORIZATION,
	/* framing, routing and answering */
	HTTP1_FLD_CONTENT_LENGTH,
	HTTP1_FLD_TRANSFER_ENCODING,
	HTTP1_FLD_HOST,
	HTTP1_FLD_EXPECT,
	/* forwarding */
	HTTP1_FLD_X_FORWARDED_FOR,
	HTTP1_FLD_X_FORWARDED_PROTO,
	HTTP1_FLD_FORWARDED,
	HTTP1_FLD_X_REAL_IP,
	HTTP1_FLD_X_FORWARDED_HOST,
	HTTP1_FLD_X_FORWARDED_PORT,
	HTTP1_FLD__COUNT
};

/* One field line; value is trimmed of leading and trailing SP/HTAB. */
struct http1_header {
	struct http1_span name;
	struct http1_span value;
	enum http1_field id;		/* what the name is, whatever its case */
};

/* Message flags (struct http1_msg.flags). */
#define HTTP1_F_CLOSE		0x01	/* connection closes after this message */
#define HTTP1_F_EXPECT_CONTINUE	0x02	/* HTTP/1.1 request, Expect: 100-continue */
#define HTTP1_F_UPGRADE		0x04	/* an Upgrade field is present */
#define HTTP1_F_HOST		0x08	/* a Host field is present (span in host) */
#define HTTP1_F_CONN_KEEPALIVE	0x10	/* Connection names keep-alive */
#define HTTP1_F_CONN_CLOSE	0x20	/* Connection names close */
#define HTTP1_F_TE		0x40	/* a Transfer-Encoding field is present */
#define HTTP1_F_TE_CODING	0x80	/* responses: a coding other than chunked is applied */
#define HTTP1_F_CONN_OTHER	0x100	/* Connection names an option other than keep-alive */

/* The lower-case name of a known field ("" for HTTP1_FLD_OTHER). */
const char *http1_field_str(enum http1_field id);

/*
 * A message head being parsed.  Set up by http1_msg_init(); the result
 * fields are valid once http1_parse_head() returned > 0.  All spans are
 * offsets from the start of the buffer given to http1_parse_head().
 */
struct http1_msg {
	/* parameters, from http1_msg_init() */
	enum http1_kind kind;
	enum http1_method req_method;	/* responses: the request's method */
	struct http1_header *hdrs;	/* not owned; max_hdrs entries */
	size_t max_hdrs;
	size_t max_head;		/* longest head accepted, <= INT_MAX */

	/* start line */
	enum http1_method method;	/* requests */
	struct http1_span method_s;	/* requests: the method token */
	struct http1_span target;	/* requests: the request-target */
	enum http1_target_form form;	/* requests */
	struct http1_span authority;	/* absolute- and authority-form targets */
	struct http1_span authority_name; /* its host part, as http1_authority_host() */
	int version;			/* 10 or 11 */
	int status;			/* responses: 100..599 */
	struct http1_span reason;	/* responses: reason-phrase, may be empty */

	/* fields */
	size_t nhdrs;			/* entries used in hdrs */
	struct http1_span host;		/* requests: Host value if HTTP1_F_HOST */
	struct http1_span host_name;	/* its host part if not empty, as http1_authority_host() */
	struct http1_span conn[HTTP1_MAX_CONN_TOKENS]; /* Connection tokens */
	size_t nconn;

	/* derived framing */
	enum http1_body body;		/* responses: after req_method and status */
	uint64_t content_length;	/* HTTP1_BODY_LENGTH */
	unsigned flags;			/* HTTP1_F_* */
	size_t head_len;		/* bytes of the head, CRLFCRLF included */

	/* error, when http1_parse_head() returned < 0 */
	enum http1_err err;
	size_t err_off;			/* offset of the offending byte or line */

	/* private: where the parser stopped */
	int st;
	size_t pos;			/* next byte to scan */
	size_t line;			/* start of the current line */
	size_t te_line;			/* start of the last Transfer-Encoding line */
	unsigned te_chunked;		/* times "chunked" was seen */
	bool te_last_chunked;		/* the last coding so far is chunked */
	bool te_other;			/* a coding other than chunked was seen */
	bool cl_seen;
};

/*
 * Prepares m for a new message.  hdrs/max_hdrs is the caller's array for
 * the field lines (too many fields: HTTP1_E_TOO_MANY_HEADERS); max_head
 * bounds the head, leading empty lines included (clamped to INT_MAX).
 * req_method matters for responses only (HEAD and CONNECT change framing).
 */
void http1_msg_init(struct http1_msg *m, enum http1_kind kind,
    enum http1_method req_method, struct http1_header *hdrs, size_t max_hdrs,
    size_t max_head);

/*
 * Parses the head at the start of buf, which holds the len bytes received
 * so far for this message.  Call it again with the same buffer (grown, or
 * moved elsewhere with the same content) when it returns 0; scanning
 * resumes where it stopped, so the total work is linear.  len must not
 * shrink between calls.  Returns the head length (>0) once the empty line
 * is in, 0 if more bytes are needed, -1 on error (m->err, m->err_off).
 * Once it returned non-zero it returns the same value again.
 * A request may be preceded by empty lines (RFC 9112 2.2); they are part
 * of the returned length and of max_head.
 */
int http1_parse_head(struct http1_msg *m, const char *buf, size_t len);

/*
 * A response's body kind from the framing fields (what the fields alone
 * say) adjusted by the request method and the status, RFC 9112 6.3:
 * HEAD requests, 1xx, 204 and 304 have none, and a 2xx answer to CONNECT
 * has none (the connection becomes a tunnel).
 */
enum http1_body http1_response_body(enum http1_method req_method, int status,
    enum http1_body framing);

/* True if the method is idempotent (RFC 9110 9.2.2), i.e. safe to retry. */
bool http1_method_idempotent(enum http1_method method);

/*
 * The rule a Host field value and the authority of a target are checked
 * by: host[:port], the host a reg-name (pct-encoded allowed, no comma) of
 * at most HTTP1_HOST_MAX bytes or a bracketed IP literal, the port 1 to 5
 * digits up to 65535, no userinfo.  True if p[0..len) follows it; *host is
 * then the host part (brackets excluded), as an offset into p.  Routing
 * normalises with this same rule, so a name routes only as the parser read
 * it.
 */
bool http1_authority_host(const char *p, size_t len, struct http1_span *host);

/* True if the field h of the message in buf has the name (any case). */
bool http1_hdr_is(const char *buf, const struct http1_header *h,
    const char *name);

/*
 * True if the Connection field of m nominates name (any case), i.e. a
 * field with that name is hop-by-hop for this message.
 */
bool http1_conn_nominates(const struct http1_msg *m, const char *buf,
    const char *name, size_t len);

/* Body decoder modes. */
enum http1_body_mode {
	HTTP1_PASS = 0,		/* data: every byte of the body, framing included */
	HTTP1_DECHUNK,		/* data: payload only (chunk framing and trailers dropped) */
};

/*
 * Incremental body framing: feed it the bytes after the head as they
 * arrive.  Never looks back, so it keeps no pointer to earlier buffers.
 */
struct http1_body_dec {
	enum http1_body kind;
	enum http1_body_mode mode;
	bool done;			/* the message ended */
	uint64_t wire;			/* bytes consumed so far (= err_off on error) */
	uint64_t payload;		/* payload bytes so far (excludes framing) */
	enum http1_err err;
	uint64_t err_off;		/* offset in the body (wire) of the bad byte */

	/* private */
	int st;
	uint64_t left;			/* bytes left in the body or current chunk */
	size_t line;			/* bytes of the current chunk-size line */
	size_t trailer;			/* bytes of the trailer section */
};

/*
 * Prepares d for a body of the given kind (content_length for
 * HTTP1_BODY_LENGTH).  A NONE or zero-length body is done at once.
 */
void http1_body_init(struct http1_body_dec *d, enum http1_body kind,
    uint64_t content_length, enum http1_body_mode mode);

/*
 * Consumes bytes of buf up to the end of the message.  Returns the number
 * of bytes consumed (bytes after the end of the message are not consumed:
 * they belong to the next one; 0 when done or len is 0) or -1 on error
 * (d->err, d->err_off).  *data is the part of buf[0..ret) to forward: in
 * HTTP1_PASS mode all of it, in HTTP1_DECHUNK mode the payload, and then a
 * call stops before the next chunk's data so that one call yields at most
 * one payload span; call again with the rest.
 */
ssize_t http1_body_feed(struct http1_body_dec *d, const char *buf, size_t len,
    struct http1_span *data);

/*
 * The connection closed.  Returns 0 if that ends the body cleanly
 * (close-delimited, or already done; sets done) or -1 with
 * HTTP1_E_TRUNCATED.
 */
int http1_body_eof(struct http1_body_dec *d);

/* Sentence for logs, e.g. "Transfer-Encoding together with Content-Length". */
const char *http1_err_str(enum http1_err err);
/* HTTP status to answer a request that failed with err: 400, 413, 414, 431, 501 or 505. */
int http1_err_status(enum http1_err err);
const char *http1_method_str(enum http1_method method);
const char *http1_body_str(enum http1_body body);

#endif
