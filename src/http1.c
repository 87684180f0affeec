/* SPDX-License-Identifier: MIT */
/*
 * http1: strict RFC 9112 framing.  The head parser scans byte by byte for
 * line ends, rejecting bare CR, bare LF and control bytes as soon as they
 * arrive, and parses each line once, when its CRLF is in; the resume
 * offset lives in struct http1_msg, so feeding a growing prefix costs the
 * same as one call.  The body decoder is a byte state machine that never
 * buffers.  Where RFC 9112 lets a recipient choose between leniency and an
 * error, this file chooses the error: one framing for every message, or
 * none.  The only leniency is a status-line without the SP before an
 * empty reason-phrase, which old servers send and which cannot change
 * framing.
 */
#include "config.h"

#include "http1.h"

#include <limits.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Head parser states (struct http1_msg.st). */
enum head_state {
	HS_LEADING = 0,		/* requests: skipping empty lines before the request-line */
	HS_START,		/* in the start line */
	HS_FIELDS,		/* in the field lines */
	HS_DONE,		/* head complete; head_len set */
	HS_ERROR,		/* refused; err and err_off set */
};

/* Body decoder states (struct http1_body_dec.st). */
enum body_state {
	BS_DONE = 0,		/* message complete */
	BS_ERROR,		/* refused */
	BS_LENGTH,		/* Content-Length body, left bytes to go */
	BS_CLOSE,		/* until the connection closes */
	BS_SIZE0,		/* first hex digit of a chunk size */
	BS_SIZE,		/* more hex digits, ';', BWS or CR */
	BS_SEMI_WS,		/* after BWS: only more BWS or ';' */
	BS_EXT_NAME0,		/* after ';': BWS or the first tchar of a name */
	BS_EXT_NAME,		/* in an extension name */
	BS_EXT_NAME_WS,		/* BWS after a name: '=' or ';' next */
	BS_EXT_VAL0,		/* after '=': BWS, a token or a quoted-string */
	BS_EXT_VAL,		/* in a token value */
	BS_EXT_QS,		/* in a quoted-string value */
	BS_EXT_QP,		/* after a backslash in a quoted-string */
	BS_EXT_QEND,		/* after the closing quote */
	BS_SIZE_LF,		/* LF ending the chunk-size line */
	BS_DATA,		/* chunk data, left bytes to go */
	BS_DATA_CR,		/* CR after chunk data */
	BS_DATA_LF,		/* LF after chunk data */
	BS_TR_LINE0,		/* start of a trailer line or the final CRLF */
	BS_TR_NAME,		/* in a trailer field name */
	BS_TR_VAL,		/* in a trailer field value */
	BS_TR_LF,		/* LF ending a trailer line */
	BS_END_LF,		/* LF of the final CRLF */
};

static const char *const method_names[HTTP1_M__COUNT] = {
	[HTTP1_M_OTHER] = "OTHER",
	[HTTP1_M_GET] = "GET",
	[HTTP1_M_HEAD] = "HEAD",
	[HTTP1_M_POST] = "POST",
	[HTTP1_M_PUT] = "PUT",
	[HTTP1_M_DELETE] = "DELETE",
	[HTTP1_M_CONNECT] = "CONNECT",
	[HTTP1_M_OPTIONS] = "OPTIONS",
	[HTTP1_M_TRACE] = "TRACE",
	[HTTP1_M_PATCH] = "PATCH",
};

static const struct {
	const char *text;
	int status;
} err_info[HTTP1_E__COUNT] = {
	[HTTP1_E_NONE] = { "no error", 0 },
	[HTTP1_E_HEAD_TOO_LARGE] = { "header section too large", 431 },
	[HTTP1_E_URI_TOO_LONG] = { "request-line too long", 414 },
	[HTTP1_E_TOO_MANY_HEADERS] = { "too many header fields", 431 },
	[HTTP1_E_BARE_CR] = { "CR not followed by LF", 400 },
	[HTTP1_E_BARE_LF] = { "LF without CR (bare LF)", 400 },
	[HTTP1_E_CTL] = { "control character in head", 400 },
	[HTTP1_E_METHOD] = { "invalid character in method", 400 },
	[HTTP1_E_REQUEST_LINE] = { "malformed request-line", 400 },
	[HTTP1_E_TARGET] = { "invalid request-target", 400 },
	[HTTP1_E_TARGET_FORM] = { "request-target form not allowed for this method", 400 },
	[HTTP1_E_TARGET_SCHEME] = { "request-target scheme other than http or https", 400 },
	[HTTP1_E_VERSION_SYNTAX] = { "malformed HTTP version", 400 },
	[HTTP1_E_VERSION] = { "HTTP version not supported (only 1.0 and 1.1)", 505 },
	[HTTP1_E_STATUS_LINE] = { "malformed status-line", 400 },
	[HTTP1_E_OBS_FOLD] = { "line folding (obs-fold) or whitespace before a field", 400 },
	[HTTP1_E_HDR_NAME] = { "invalid field name", 400 },
	[HTTP1_E_HDR_NAME_WS] = { "whitespace between field name and colon", 400 },
	[HTTP1_E_HDR_NO_COLON] = { "field line without colon", 400 },
	[HTTP1_E_CL_SYNTAX] = { "invalid Content-Length", 400 },
	[HTTP1_E_CL_DUP] = { "repeated Content-Length", 400 },
	[HTTP1_E_CL_OVERFLOW] = { "Content-Length too large", 413 },
	[HTTP1_E_TE_CL] = { "Transfer-Encoding together with Content-Length", 400 },
	[HTTP1_E_TE_HTTP10] = { "Transfer-Encoding in an HTTP/1.0 message", 400 },
	[HTTP1_E_TE_SYNTAX] = { "malformed Transfer-Encoding", 400 },
	[HTTP1_E_TE_CHUNKED_TWICE] = { "chunked transfer coding applied twice", 400 },
	[HTTP1_E_TE_NOT_CHUNKED] = { "Transfer-Encoding whose final coding is not chunked", 400 },
	[HTTP1_E_TE_UNSUPPORTED] = { "transfer coding other than chunked not supported", 501 },
	[HTTP1_E_HOST_MISSING] = { "HTTP/1.1 request without Host", 400 },
	[HTTP1_E_HOST_DUP] = { "more than one Host", 400 },
	[HTTP1_E_HOST_SYNTAX] = { "invalid Host", 400 },
	[HTTP1_E_CONN_SYNTAX] = { "malformed Connection", 400 },
	[HTTP1_E_CONN_TOO_MANY] = { "too many Connection options", 400 },
	[HTTP1_E_CONN_END_TO_END] = { "Connection names a field the message is framed or routed by", 400 },
	[HTTP1_E_CHUNK_SIZE] = { "invalid chunk size", 400 },
	[HTTP1_E_CHUNK_OVERFLOW] = { "chunk size too large", 413 },
	[HTTP1_E_CHUNK_EXT] = { "invalid chunk extension", 400 },
	[HTTP1_E_CHUNK_LINE_TOO_LONG] = { "chunk-size line too long", 400 },
	[HTTP1_E_CHUNK_CRLF] = { "missing CRLF in chunked body", 400 },
	[HTTP1_E_TRAILER] = { "invalid trailer field", 400 },
	[HTTP1_E_TRAILER_TOO_LARGE] = { "trailer section too large", 431 },
	[HTTP1_E_TRUNCATED] = { "connection closed before the end of the body", 400 },
};

/*
 * Byte classes, one table lookup per byte on the hot path:
 * HB_TCHAR  tchar, RFC 9110 5.6.2;
 * HB_STOP   where the head scanner stops: CR, LF and the control bytes
 *           never allowed in a head (all below 0x20 but HTAB, and DEL).
 */
#define HB_TCHAR	0x01
#define HB_STOP		0x02

static const unsigned char head_byte[256] = {
	[0x00 ... 0x08] = HB_STOP,
	[0x0a ... 0x1f] = HB_STOP,
	[0x7f] = HB_STOP,
	['0' ... '9'] = HB_TCHAR,
	['A' ... 'Z'] = HB_TCHAR,
	['a' ... 'z'] = HB_TCHAR,
	['!'] = HB_TCHAR, ['#'] = HB_TCHAR, ['$'] = HB_TCHAR, ['%'] = HB_TCHAR,
	['&'] = HB_TCHAR, ['\''] = HB_TCHAR, ['*'] = HB_TCHAR, ['+'] = HB_TCHAR,
	['-'] = HB_TCHAR, ['.'] = HB_TCHAR, ['^'] = HB_TCHAR, ['_'] = HB_TCHAR,
	['`'] = HB_TCHAR, ['|'] = HB_TCHAR, ['~'] = HB_TCHAR,
};

static inline bool
is_tchar(unsigned char c)
{
	return (head_byte[c] & HB_TCHAR) != 0;
}

/*
 * The bytes of a reg-name host that need no second look (is_regname()
 * less the comma, which folds two Host values into one): the host check
 * skips a run of them by this table, and looks at the others ('%', ':',
 * anything refused) one at a time.
 */
static const bool host_plain[256] = {
	['0' ... '9'] = true,
	['A' ... 'Z'] = true,
	['a' ... 'z'] = true,
	['-'] = true, ['.'] = true, ['_'] = true, ['~'] = true,
	['!'] = true, ['$'] = true, ['&'] = true, ['\''] = true, ['('] = true,
	[')'] = true, ['*'] = true, ['+'] = true, [';'] = true, ['='] = true,
};

/* Control bytes never allowed in a head: all but HTAB (CR and LF included). */
static inline bool
is_ctl(unsigned char c)
{
	return (head_byte[c] & HB_STOP) != 0;
}

static bool
is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
hex_val(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* unreserved / sub-delims of RFC 3986: what a reg-name holds besides pct-encoded */
static bool
is_regname(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	switch (c) {
	case '-': case '.': case '_': case '~':
	case '!': case '$': case '&': case '\'': case '(': case ')':
	case '*': case '+': case ',': case ';': case '=':
		return true;
	default:
		return false;
	}
}

/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), after the first byte */
static bool
is_scheme(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

/* qdtext and obs-text of a quoted-string, RFC 9110 5.6.4 */
static bool
is_qdtext(unsigned char c)
{
	return c == '\t' || c == ' ' || c == 0x21 ||
	    (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) || c >= 0x80;
}

/* the byte after a backslash in a quoted-string */
static bool
is_qpair(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static unsigned char
lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* ASCII case-insensitive equality of p[0..len) and the NUL-terminated s. */
static bool
span_ieq(const unsigned char *p, size_t len, const char *s)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '\0' || lower(p[i]) != lower((unsigned char)s[i]))
			return false;
	}
	return s[len] == '\0';
}

/* Indexed by enum http1_field: each known name, in lower case. */
static const struct {
	const char *name;
	size_t len;
} field_names[HTTP1_FLD__COUNT] = {
#define FLD(id, lit)	[id] = { lit, sizeof(lit) - 1 }
	FLD(HTTP1_FLD_OTHER, ""),
	FLD(HTTP1_FLD_CONNECTION, "connection"),
	FLD(HTTP1_FLD_KEEP_ALIVE, "keep-alive"),
	FLD(HTTP1_FLD_TE, "te"),
	FLD(HTTP1_FLD_TRAILER, "trailer"),
	FLD(HTTP1_FLD_UPGRADE, "upgrade"),
	FLD(HTTP1_FLD_PROXY_CONNECTION, "proxy-connection"),
	FLD(HTTP1_FLD_PROXY_AUTHENTICATE, "proxy-authenticate"),
	FLD(HTTP1_FLD_PROXY_AUTHORIZATION, "proxy-authorization"),
	FLD(HTTP1_FLD_CONTENT_LENGTH, "content-length"),
	FLD(HTTP1_FLD_TRANSFER_ENCODING, "transfer-encoding"),
	FLD(HTTP1_FLD_HOST, "host"),
	FLD(HTTP1_FLD_EXPECT, "expect"),
	FLD(HTTP1_FLD_X_FORWARDED_FOR, "x-forwarded-for"),
	FLD(HTTP1_FLD_X_FORWARDED_PROTO, "x-forwarded-proto"),
	FLD(HTTP1_FLD_FORWARDED, "forwarded"),
	FLD(HTTP1_FLD_X_REAL_IP, "x-real-ip"),
	FLD(HTTP1_FLD_X_FORWARDED_HOST, "x-forwarded-host"),
	FLD(HTTP1_FLD_X_FORWARDED_PORT, "x-forwarded-port"),
#undef FLD
};

/*
 * The known fields by name length, at most three each (0 = none), so a
 * name is compared with the one or two names that could be it.  The unit
 * test finds every id through this table.
 */
#define FIELD_MAX_LEN	19	/* "proxy-authorization" */
static const unsigned char fields_by_len[FIELD_MAX_LEN + 1][3] = {
	[2] = { HTTP1_FLD_TE },
	[4] = { HTTP1_FLD_HOST },
	[6] = { HTTP1_FLD_EXPECT },
	[7] = { HTTP1_FLD_TRAILER, HTTP1_FLD_UPGRADE },
	[9] = { HTTP1_FLD_FORWARDED, HTTP1_FLD_X_REAL_IP },
	[10] = { HTTP1_FLD_CONNECTION, HTTP1_FLD_KEEP_ALIVE },
	[14] = { HTTP1_FLD_CONTENT_LENGTH },
	[15] = { HTTP1_FLD_X_FORWARDED_FOR },
	[16] = { HTTP1_FLD_PROXY_CONNECTION, HTTP1_FLD_X_FORWARDED_HOST,
	    HTTP1_FLD_X_FORWARDED_PORT },
	[17] = { HTTP1_FLD_TRANSFER_ENCODING, HTTP1_FLD_X_FORWARDED_PROTO },
	[18] = { HTTP1_FLD_PROXY_AUTHENTICATE },
	[19] = { HTTP1_FLD_PROXY_AUTHORIZATION },
};

/*
 * p[0..len) equals the lower-case name lc of the same length, any case.
 * p holds tchars and lc only lower-case letters, digits and '-': then
 * b | 0x20 equals c exactly when b is c in either case (a tchar that ORs
 * to a letter is that letter; '-' and the digits have 0x20 set, and what
 * ORs to them is a control byte, never a tchar), so eight bytes are
 * compared at a time, the last eight overlapping what came before.
 */
static bool
span_ieq_lc(const unsigned char *p, const char *lc, size_t len)
{
	const uint64_t fold = 0x2020202020202020ull;
	uint64_t a, b;
	size_t i;

	if (len < 8) {
		for (i = 0; i < len; i++)
			if ((p[i] | 0x20) != (unsigned char)lc[i])
				return false;
		return true;
	}
	for (i = 0; i + 8 < len; i += 8) {
		memcpy(&a, p + i, 8);
		memcpy(&b, lc + i, 8);
		if ((a | fold) != b)
			return false;
	}
	memcpy(&a, p + len - 8, 8);
	memcpy(&b, lc + len - 8, 8);
	return (a | fold) == b;
}

/* Which known field the name p[0..len) is, any case. */
static enum http1_field
field_id(const unsigned char *p, size_t len)
{
	const unsigned char *ids;
	unsigned i;

	if (len > FIELD_MAX_LEN)
		return HTTP1_FLD_OTHER;
	ids = fields_by_len[len];
	for (i = 0; i < 3 && ids[i] != HTTP1_FLD_OTHER; i++)
		if (span_ieq_lc(p, field_names[ids[i]].name, len))
			return (enum http1_field)ids[i];
	return HTTP1_FLD_OTHER;
}

const char *
http1_field_str(enum http1_field id)
{
	return (unsigned)id < HTTP1_FLD__COUNT ? field_names[id].name : "";
}

static int
head_fail(struct http1_msg *m, enum http1_err err, size_t off)
{
	m->err = err;
	m->err_off = off;
	m->st = HS_ERROR;
	return -1;
}

/*
 * Validates an authority "host[:port]" in p[s..e): host is a non-empty
 * reg-name (pct-encoding allowed) or an IP-literal in brackets; a port,
 * if there is a colon, is 1 to 5 digits up to 65535 (required if
 * need_port).  No userinfo: RFC 9110 4.2.4 asks recipients to treat it as
 * an error.  Returns true if valid, else false with *bad at the first bad
 * byte.
 */
static bool
check_authority(const unsigned char *p, size_t s, size_t e, bool need_port,
    size_t *bad, struct http1_span *name)
{
	size_t i = s, d;
	unsigned long port = 0;

	*bad = s;
	name->off = s;
	name->len = 0;
	if (i == e)
		return false;
	if (p[i] == '[') {
		for (i++; i < e && p[i] != ']'; i++) {
			if ((hex_val(p[i]) < 0 && p[i] != ':' && p[i] != '.') ||
			    i - s > HTTP1_HOST_MAX) {
				*bad = i;
				return false;
			}
		}
		if (i == e || i == s + 1) {
			*bad = i == e ? s : i;
			return false;
		}
		name->off = s + 1;
		name->len = i - s - 1;
		i++;
	} else {
		for (;; i++) {
			/* a run of plain bytes, the whole name as a rule */
			while (i < e && i - s < HTTP1_HOST_MAX && host_plain[p[i]])
				i++;
			if (i == e || p[i] == ':')
				break;
			if (p[i] == '%') {
				if (e - i < 3 || hex_val(p[i + 1]) < 0 ||
				    hex_val(p[i + 2]) < 0) {
					*bad = i;
					return false;
				}
				i += 2;
			} else if (!is_regname(p[i]) || p[i] == ',') {
				/* a comma: two Host values folded into one */
				*bad = i;
				return false;
			}
			if (i - s >= HTTP1_HOST_MAX) {
				*bad = i;
				return false;
			}
		}
		if (i == s)
			return false;
		name->len = i - s;
	}
	if (i == e) {
		*bad = e;
		return !need_port;
	}
	if (p[i] != ':') {
		*bad = i;
		return false;
	}
	for (d = ++i; d < e; d++) {
		if (!is_digit(p[d]) || d - i >= 5) {
			*bad = d;
			return false;
		}
		port = port * 10 + (unsigned long)(p[d] - '0');
	}
	*bad = i - 1;
	return d > i && port <= 65535;
}

/*
 * HTTP-version = "HTTP/" DIGIT "." DIGIT in p[s..e), for either start
 * line: sets m->version to 10 or 11, or fails at s, malformed or another
 * version.
 */
static int
head_version(struct http1_msg *m, const unsigned char *p, size_t s, size_t e)
{
	const unsigned char *v = p + s;

	if (e - s != 8 || memcmp(v, "HTTP/", 5) != 0 || !is_digit(v[5]) ||
	    v[6] != '.' || !is_digit(v[7]))
		return head_fail(m, HTTP1_E_VERSION_SYNTAX, s);
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return head_fail(m, HTTP1_E_VERSION, s);
	m->version = v[7] == '1' ? 11 : 10;
	return 0;
}

static enum http1_method
method_lookup(const unsigned char *p, size_t len)
{
	int i;

	for (i = HTTP1_M_OTHER + 1; i < HTTP1_M__COUNT; i++) {
		if (strlen(method_names[i]) == len &&
		    memcmp(p, method_names[i], len) == 0)
			return (enum http1_method)i;
	}
	return HTTP1_M_OTHER;
}

/* Classifies and checks the request-target p[s..e) against the method. */
static int
check_target(struct http1_msg *m, const unsigned char *p, size_t s, size_t e)
{
	size_t i, a0, a1, bad;

	if (e - s == 1 && p[s] == '*') {
		if (m->method != HTTP1_M_OPTIONS)
			return head_fail(m, HTTP1_E_TARGET_FORM, s);
		m->form = HTTP1_TF_ASTERISK;
		return 0;
	}
	if (p[s] == '/') {
		if (m->method == HTTP1_M_CONNECT)
			return head_fail(m, HTTP1_E_TARGET_FORM, s);
		m->form = HTTP1_TF_ORIGIN;
		return 0;
	}
	/* absolute-form: scheme "://" authority [ path-abempty ] [ "?" query ] */
	i = s;
	if ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')) {
		for (i++; i < e && is_scheme(p[i]); i++)
			;
		if (e - i >= 3 && memcmp(p + i, "://", 3) == 0) {
			if (m->method == HTTP1_M_CONNECT)
				return head_fail(m, HTTP1_E_TARGET_FORM, s);
			/* a reverse proxy has no gopher:// or file:// to offer */
			if (!span_ieq(p + s, i - s, "http") &&
			    !span_ieq(p + s, i - s, "https"))
				return head_fail(m, HTTP1_E_TARGET_SCHEME, s);
			a0 = i + 3;
			for (a1 = a0; a1 < e && p[a1] != '/' && p[a1] != '?'; a1++)
				;
			if (!check_authority(p, a0, a1, false, &bad,
			    &m->authority_name))
				return head_fail(m, HTTP1_E_TARGET, bad);
			m->form = HTTP1_TF_ABSOLUTE;
			m->authority.off = a0;
			m->authority.len = a1 - a0;
			return 0;
		}
	}
	if (!check_authority(p, s, e, true, &bad, &m->authority_name))
		return head_fail(m, HTTP1_E_TARGET, bad);
	if (m->method != HTTP1_M_CONNECT)
		return head_fail(m, HTTP1_E_TARGET_FORM, s);
	m->form = HTTP1_TF_AUTHORITY;
	m->authority.off = s;
	m->authority.len = e - s;
	return 0;
}

/* request-line = method SP request-target SP HTTP-version, exactly. */
static int
parse_request_line(struct http1_msg *m, const unsigned char *p, size_t s,
    size_t e)
{
	size_t i, t0, v0;

	for (i = s; i < e && is_tchar(p[i]); i++)
		;
	if (i == e)
		return head_fail(m, HTTP1_E_REQUEST_LINE, i);
	if (p[i] != ' ' || i == s)
		return head_fail(m, is_ows(p[i]) ? HTTP1_E_REQUEST_LINE :
		    HTTP1_E_METHOD, i);
	m->method_s.off = s;
	m->method_s.len = i - s;
	m->method = method_lookup(p + s, i - s);

	t0 = ++i;
	for (; i < e && p[i] != ' '; i++) {
		/* VCHAR but no fragment; obs-text is refused, clients percent-encode */
		if (p[i] <= 0x20 || p[i] >= 0x7f || p[i] == '#')
			return head_fail(m, HTTP1_E_TARGET, i);
	}
	if (i == t0 || i == e)
		return head_fail(m, HTTP1_E_REQUEST_LINE, i);
	m->target.off = t0;
	m->target.len = i - t0;

	v0 = ++i;
	for (; i < e; i++) {
		if (p[i] == ' ')
			return head_fail(m, HTTP1_E_REQUEST_LINE, i);
	}
	if (v0 == e)
		return head_fail(m, HTTP1_E_REQUEST_LINE, e);
	if (head_version(m, p, v0, e) == -1)
		return -1;
	return check_target(m, p, t0, t0 + m->target.len);
}

/*
 * status-line = HTTP-version SP status-code SP [ reason-phrase ].  A
 * missing SP before an empty reason is accepted (old servers).
 */
static int
parse_status_line(struct http1_msg *m, const unsigned char *p, size_t s,
    size_t e)
{
	size_t i;

	if (s == e)
		return head_fail(m, HTTP1_E_STATUS_LINE, s);
	for (i = s; i < e && p[i] != ' '; i++)
		;
	if (head_version(m, p, s, i) == -1)
		return -1;
	if (e - i < 4 || !is_digit(p[i + 1]) || !is_digit(p[i + 2]) ||
	    !is_digit(p[i + 3]))
		return head_fail(m, HTTP1_E_STATUS_LINE, i);
	m->status = (p[i + 1] - '0') * 100 + (p[i + 2] - '0') * 10 +
	    (p[i + 3] - '0');
	if (m->status < 100 || m->status > 599)
		return head_fail(m, HTTP1_E_STATUS_LINE, i + 1);
	i += 4;
	if (i < e && p[i] != ' ')
		return head_fail(m, HTTP1_E_STATUS_LINE, i);
	/* reason-phrase: HTAB / SP / VCHAR / obs-text; control bytes are already refused */
	m->reason.off = i < e ? i + 1 : e;
	m->reason.len = e - m->reason.off;
	return 0;
}

/* Content-Length = 1*DIGIT, one field, one value. */
static int
field_content_length(struct http1_msg *m, const unsigned char *p, size_t line,
    size_t v0, size_t v1)
{
	uint64_t n = 0;
	size_t i;

	if (m->flags & HTTP1_F_TE)
		return head_fail(m, HTTP1_E_TE_CL, line);
	if (m->cl_seen)
		return head_fail(m, HTTP1_E_CL_DUP, line);
	if (v0 == v1)
		return head_fail(m, HTTP1_E_CL_SYNTAX, v0);
	for (i = v0; i < v1; i++) {
		if (!is_digit(p[i]))
			return head_fail(m, HTTP1_E_CL_SYNTAX, i);
		if (n > ((uint64_t)INT64_MAX - (uint64_t)(p[i] - '0')) / 10)
			return head_fail(m, HTTP1_E_CL_OVERFLOW, i);
		n = n * 10 + (uint64_t)(p[i] - '0');
	}
	m->cl_seen = true;
	m->content_length = n;
	return 0;
}

/*
 * Skips a quoted-string starting at p[i] == '"'; returns the offset after
 * the closing quote, or the offset of the bad byte with *ok false.
 */
static size_t
skip_quoted(const unsigned char *p, size_t i, size_t e, bool *ok)
{
	*ok = false;
	for (i++; i < e; i++) {
		if (p[i] == '"') {
			*ok = true;
			return i + 1;
		}
		if (p[i] == '\\') {
			if (++i == e || !is_qpair(p[i]))
				return i;
		} else if (!is_qdtext(p[i]))
			return i;
	}
	return i;
}

/*
 * The next element of a #list (RFC 9110 5.6.1) in p[*i..end): skips the
 * empty elements and OWS before it, then reads a token.  Returns 1 with
 * the token in p[*t0..*i), 0 at the end of the list, or -1 when an
 * element starts with a byte that is no tchar (*i at that byte).
 */
static int
list_token(const unsigned char *p, size_t *i, size_t end, size_t *t0)
{
	while (*i < end && (p[*i] == ',' || is_ows(p[*i])))
		(*i)++;
	if (*i == end)
		return 0;
	for (*t0 = *i; *i < end && is_tchar(p[*i]); (*i)++)
		;
	return *i > *t0 ? 1 : -1;
}

/*
 * Transfer-Encoding = #transfer-coding; transfer-coding = token *( OWS ";"
 * OWS token BWS "=" BWS ( token / quoted-string ) ).  Several fields make
 * one list.  What the list means is decided at the end of the head.
 */
static int
field_transfer_encoding(struct http1_msg *m, const unsigned char *p,
    size_t line, size_t v0, size_t v1)
{
	size_t i = v0, t0, t1;
	unsigned codings = 0;
	bool params, ok;
	int r;

	if (m->version == 10)
		return head_fail(m, HTTP1_E_TE_HTTP10, line);
	if (m->cl_seen)
		return head_fail(m, HTTP1_E_TE_CL, line);
	m->flags |= HTTP1_F_TE;
	m->te_line = line;
	while ((r = list_token(p, &i, v1, &t0)) == 1) {
		t1 = i;
		params = false;
		for (;;) {
			while (i < v1 && is_ows(p[i]))
				i++;
			if (i == v1 || p[i] == ',')
				break;
			if (p[i] != ';')
				return head_fail(m, HTTP1_E_TE_SYNTAX, i);
			params = true;
			for (i++; i < v1 && is_ows(p[i]); i++)
				;
			if (i == v1 || !is_tchar(p[i]))
				return head_fail(m, HTTP1_E_TE_SYNTAX, i);
			while (i < v1 && is_tchar(p[i]))
				i++;
			while (i < v1 && is_ows(p[i]))
				i++;
			if (i == v1 || p[i] != '=')
				return head_fail(m, HTTP1_E_TE_SYNTAX, i);
			for (i++; i < v1 && is_ows(p[i]); i++)
				;
			if (i < v1 && p[i] == '"') {
				i = skip_quoted(p, i, v1, &ok);
				if (!ok)
					return head_fail(m, HTTP1_E_TE_SYNTAX, i);
			} else {
				if (i == v1 || !is_tchar(p[i]))
					return head_fail(m, HTTP1_E_TE_SYNTAX, i);
				while (i < v1 && is_tchar(p[i]))
					i++;
			}
		}
		codings++;
		if (span_ieq(p + t0, t1 - t0, "chunked")) {
			if (m->te_chunked > 0)
				return head_fail(m, HTTP1_E_TE_CHUNKED_TWICE, t0);
			if (params)
				return head_fail(m, HTTP1_E_TE_SYNTAX, t1);
			m->te_chunked++;
			m->te_last_chunked = true;
		} else {
			m->te_other = true;
			m->te_last_chunked = false;
		}
	}
	if (r == -1)
		return head_fail(m, HTTP1_E_TE_SYNTAX, i);
	if (codings == 0)
		return head_fail(m, HTTP1_E_TE_SYNTAX, v0);
	return 0;
}

/*
 * A Connection option makes the field it names hop-by-hop.  The fields a
 * message is framed by (and, for a request, routed and answered by) must
 * stay end-to-end: a recipient that honours "Connection: Content-Length"
 * drops the length another one frames the body by, and the body becomes
 * the next request.  RFC 9110 7.6.1 lets a sender nominate only hop-by-hop
 * fields, so such a message is refused, not repaired.
 */
static bool
conn_option_end_to_end(const struct http1_msg *m, enum http1_field id)
{
	if (id == HTTP1_FLD_CONTENT_LENGTH || id == HTTP1_FLD_TRANSFER_ENCODING)
		return true;
	return m->kind == HTTP1_REQUEST &&
	    (id == HTTP1_FLD_HOST || id == HTTP1_FLD_EXPECT);
}

/* Connection = #connection-option; every option is remembered. */
static int
field_connection(struct http1_msg *m, const unsigned char *p, size_t v0,
    size_t v1)
{
	enum http1_field id;
	size_t i = v0, t0, t1;
	int r;

	while ((r = list_token(p, &i, v1, &t0)) == 1) {
		for (t1 = i; i < v1 && is_ows(p[i]); i++)
			;
		if (i < v1 && p[i] != ',')
			return head_fail(m, HTTP1_E_CONN_SYNTAX, i);
		if (m->nconn == HTTP1_MAX_CONN_TOKENS)
			return head_fail(m, HTTP1_E_CONN_TOO_MANY, t0);
		id = field_id(p + t0, t1 - t0);
		if (conn_option_end_to_end(m, id))
			return head_fail(m, HTTP1_E_CONN_END_TO_END, t0);
		m->conn[m->nconn].off = t0;
		m->conn[m->nconn].len = t1 - t0;
		m->nconn++;
		/* keep-alive is also a field name: field_id() told already */
		if (id == HTTP1_FLD_KEEP_ALIVE) {
			m->flags |= HTTP1_F_CONN_KEEPALIVE;
			continue;
		}
		m->flags |= HTTP1_F_CONN_OTHER;
		if (t1 - t0 == 5 && span_ieq_lc(p + t0, "close", 5))
			m->flags |= HTTP1_F_CONN_CLOSE;
	}
	if (r == -1)
		return head_fail(m, HTTP1_E_CONN_SYNTAX, i);
	return 0;
}

/* field-line = field-name ":" OWS field-value OWS */
static int
parse_field_line(struct http1_msg *m, const unsigned char *p, size_t s,
    size_t e)
{
	struct http1_header *h;
	size_t i, v0, v1, bad;

	if (is_ows(p[s]))
		return head_fail(m, HTTP1_E_OBS_FOLD, s);
	for (i = s; is_tchar(p[i]); i++)
		;
	if (p[i] != ':') {
		/* a line without a colon says so, wherever its name stops */
		if (memchr(p + s, ':', e - s) == NULL)
			return head_fail(m, HTTP1_E_HDR_NO_COLON, s);
		return head_fail(m, is_ows(p[i]) ? HTTP1_E_HDR_NAME_WS :
		    HTTP1_E_HDR_NAME, i);
	}
	if (i == s)
		return head_fail(m, HTTP1_E_HDR_NAME, s);
	for (v0 = i + 1; v0 < e && is_ows(p[v0]); v0++)
		;
	for (v1 = e; v1 > v0 && is_ows(p[v1 - 1]); v1--)
		;
	if (m->nhdrs == m->max_hdrs)
		return head_fail(m, HTTP1_E_TOO_MANY_HEADERS, s);
	h = &m->hdrs[m->nhdrs++];
	h->name.off = s;
	h->name.len = i - s;
	h->value.off = v0;
	h->value.len = v1 - v0;
	h->id = field_id(p + s, i - s);

	switch (h->id) {
	case HTTP1_FLD_HOST:
		if (m->kind == HTTP1_REQUEST) {
			if (m->flags & HTTP1_F_HOST)
				return head_fail(m, HTTP1_E_HOST_DUP, s);
			/* empty is allowed: a target without authority (RFC 9112 3.2) */
			if (v0 != v1 && !check_authority(p, v0, v1, false, &bad,
			    &m->host_name))
				return head_fail(m, HTTP1_E_HOST_SYNTAX, bad);
			m->flags |= HTTP1_F_HOST;
			m->host = h->value;
		}
		break;
	case HTTP1_FLD_EXPECT:
		if (m->kind == HTTP1_REQUEST && m->version == 11 &&
		    span_ieq(p + v0, v1 - v0, "100-continue"))
			m->flags |= HTTP1_F_EXPECT_CONTINUE;
		break;
	case HTTP1_FLD_UPGRADE:
		m->flags |= HTTP1_F_UPGRADE;
		break;
	case HTTP1_FLD_CONNECTION:
		return field_connection(m, p, v0, v1);
	case HTTP1_FLD_CONTENT_LENGTH:
		return field_content_length(m, p, s, v0, v1);
	case HTTP1_FLD_TRANSFER_ENCODING:
		return field_transfer_encoding(m, p, s, v0, v1);
	default:
		break;
	}
	return 0;
}

/* The empty line is in: derive framing and persistence, RFC 9112 6.3 and 9.3. */
static int
finish_head(struct http1_msg *m, size_t e)
{
	enum http1_body body;

	if (m->kind == HTTP1_REQUEST && m->version == 11 &&
	    !(m->flags & HTTP1_F_HOST))
		return head_fail(m, HTTP1_E_HOST_MISSING, e);
	if (m->flags & HTTP1_F_TE) {
		if (m->kind == HTTP1_REQUEST) {
			if (!m->te_last_chunked)
				return head_fail(m, HTTP1_E_TE_NOT_CHUNKED, m->te_line);
			if (m->te_other)
				return head_fail(m, HTTP1_E_TE_UNSUPPORTED, m->te_line);
		}
		body = m->te_last_chunked ? HTTP1_BODY_CHUNKED : HTTP1_BODY_CLOSE;
		if (m->te_other)	/* responses only: requests refused it above */
			m->flags |= HTTP1_F_TE_CODING;
	} else if (m->cl_seen)
		body = HTTP1_BODY_LENGTH;
	else
		body = m->kind == HTTP1_REQUEST ? HTTP1_BODY_NONE :
		    HTTP1_BODY_CLOSE;
	if (m->kind == HTTP1_RESPONSE)
		body = http1_response_body(m->req_method, m->status, body);
	m->body = body;
	if (body != HTTP1_BODY_LENGTH)
		m->content_length = 0;

	if (m->flags & HTTP1_F_CONN_CLOSE)
		m->flags |= HTTP1_F_CLOSE;
	else if (m->version == 10 && !(m->flags & HTTP1_F_CONN_KEEPALIVE))
		m->flags |= HTTP1_F_CLOSE;
	if (body == HTTP1_BODY_CLOSE)
		m->flags |= HTTP1_F_CLOSE;
	m->st = HS_DONE;
	return 0;
}

/* A CRLF is at e: the line [m->line, e) is complete. */
static int
end_line(struct http1_msg *m, const unsigned char *p, size_t e)
{
	size_t s = m->line;

	switch (m->st) {
	case HS_LEADING:
		return 0;	/* an empty line before the request-line */
	case HS_START:
		if (m->kind == HTTP1_REQUEST) {
			if (parse_request_line(m, p, s, e) == -1)
				return -1;
		} else if (parse_status_line(m, p, s, e) == -1)
			return -1;
		m->st = HS_FIELDS;
		return 0;
	case HS_FIELDS:
		if (s == e)
			return finish_head(m, e);
		return parse_field_line(m, p, s, e);
	default:
		return head_fail(m, HTTP1_E_NONE, e);	/* unreachable */
	}
}

void
http1_msg_init(struct http1_msg *m, enum http1_kind kind,
    enum http1_method req_method, struct http1_header *hdrs, size_t max_hdrs,
    size_t max_head)
{
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->req_method = req_method;
	m->hdrs = hdrs;
	m->max_hdrs = hdrs != NULL ? max_hdrs : 0;
	m->max_head = max_head > INT_MAX ? INT_MAX : max_head;
	m->st = kind == HTTP1_REQUEST ? HS_LEADING : HS_START;
}

/*
 * The first byte at or after pos (and before lim) that stops the head
 * scanner (HB_STOP), or lim.  Lines are scanned sixteen bytes at a time
 * with SSE2 (part of every x86-64): a byte stops the scan if it is below
 * 0x20 and not HTAB, or DEL, exactly head_byte's HB_STOP.  That costs
 * about a third of the four-at-a-time table lookups; the table finishes
 * the last bytes and serves other machines.
 */
static size_t
scan_to_stop(const unsigned char *p, size_t pos, size_t lim)
{
#ifdef __SSE2__
	const __m128i below_space = _mm_set1_epi8(0x1f), htab = _mm_set1_epi8(0x09),
	    del = _mm_set1_epi8(0x7f);

	while (lim - pos >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + pos));
		/* unsigned v <= 0x1f: min(v, 0x1f) == v */
		__m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, below_space), v);
		__m128i stop = _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(v, htab), ctl),
		    _mm_cmpeq_epi8(v, del));
		unsigned mask = (unsigned)_mm_movemask_epi8(stop);

		if (mask != 0)
			return pos + (unsigned)__builtin_ctz(mask);
		pos += 16;
	}
#endif
	while (lim - pos >= 4 && ((head_byte[p[pos]] | head_byte[p[pos + 1]] |
	    head_byte[p[pos + 2]] | head_byte[p[pos + 3]]) & HB_STOP) == 0)
		pos += 4;
	while (pos < lim && (head_byte[p[pos]] & HB_STOP) == 0)
		pos++;
	return pos;
}

int
http1_parse_head(struct http1_msg *m, const char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t lim, pos;
	unsigned char c;

	if (m->st == HS_DONE)
		return (int)m->head_len;
	if (m->st == HS_ERROR)
		return -1;
	if (len < m->pos)
		return 0;	/* caller bug: the buffer shrank; wait for more */
	/* never look past max_head: a head that ends there is too large */
	lim = len < m->max_head ? len : m->max_head;
	pos = m->pos;
	while (pos < lim) {
		size_t run = pos;

		/* the bytes of a line up to its CR, or to the first bad one */
		pos = scan_to_stop(p, pos, lim);
		if (pos > run && m->st == HS_LEADING)
			m->st = HS_START;
		if (pos == lim)
			break;
		c = p[pos];
		if (c == '\r') {
			if (pos + 1 >= lim)
				break;
			if (p[pos + 1] != '\n')
				return head_fail(m, HTTP1_E_BARE_CR, pos);
			if (end_line(m, p, pos) == -1)
				return -1;
			pos += 2;
			m->line = pos;
			if (m->st == HS_DONE) {
				m->pos = pos;
				m->head_len = pos;
				return (int)pos;
			}
			continue;
		}
		if (c == '\n')
			return head_fail(m, HTTP1_E_BARE_LF, pos);
		return head_fail(m, HTTP1_E_CTL, pos);
	}
	m->pos = pos;
	if (len >= m->max_head)
		return head_fail(m, m->kind == HTTP1_REQUEST &&
		    m->st <= HS_START ? HTTP1_E_URI_TOO_LONG :
		    HTTP1_E_HEAD_TOO_LARGE, pos);
	return 0;
}

enum http1_body
http1_response_body(enum http1_method req_method, int status,
    enum http1_body framing)
{
	if (req_method == HTTP1_M_HEAD)
		return HTTP1_BODY_NONE;
	if (status < 200 || status == 204 || status == 304)
		return HTTP1_BODY_NONE;
	if (req_method == HTTP1_M_CONNECT && status < 300)
		return HTTP1_BODY_NONE;
	return framing;
}

bool
http1_method_idempotent(enum http1_method method)
{
	switch (method) {
	case HTTP1_M_GET:
	case HTTP1_M_HEAD:
	case HTTP1_M_OPTIONS:
	case HTTP1_M_TRACE:
	case HTTP1_M_PUT:
	case HTTP1_M_DELETE:
		return true;
	default:
		return false;
	}
}

bool
http1_authority_host(const char *p, size_t len, struct http1_span *host)
{
	size_t bad;

	if (!check_authority((const unsigned char *)p, 0, len, false, &bad, host)) {
		host->off = 0;
		host->len = 0;
		return false;
	}
	return true;
}

bool
http1_hdr_is(const char *buf, const struct http1_header *h, const char *name)
{
	return span_ieq((const unsigned char *)buf + h->name.off, h->name.len,
	    name);
}

bool
http1_conn_nominates(const struct http1_msg *m, const char *buf,
    const char *name, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t i, j;

	for (i = 0; i < m->nconn; i++) {
		if (m->conn[i].len != len)
			continue;
		for (j = 0; j < len; j++) {
			if (lower(p[m->conn[i].off + j]) !=
			    lower((unsigned char)name[j]))
				break;
		}
		if (j == len)
			return true;
	}
	return false;
}

void
http1_body_init(struct http1_body_dec *d, enum http1_body kind,
    uint64_t content_length, enum http1_body_mode mode)
{
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	d->mode = mode;
	switch (kind) {
	case HTTP1_BODY_LENGTH:
		d->left = content_length;
		d->st = content_length > 0 ? BS_LENGTH : BS_DONE;
		break;
	case HTTP1_BODY_CHUNKED:
		d->st = BS_SIZE0;
		break;
	case HTTP1_BODY_CLOSE:
		d->st = BS_CLOSE;
		break;
	default:
		d->st = BS_DONE;
		break;
	}
	d->done = d->st == BS_DONE;
}

static ssize_t
body_fail(struct http1_body_dec *d, enum http1_err err, size_t i)
{
	d->err = err;
	d->err_off = d->wire + i;
	/* the bytes before the bad one were decoded: keep payload <= wire */
	d->wire = d->err_off;
	d->st = BS_ERROR;
	return -1;
}

/*
 * A state that takes one byte only (ok: c is that byte): on it go to next,
 * else fail with err.  d->done is set only on reaching BS_DONE.
 */
static ssize_t
chunk_expect(struct http1_body_dec *d, bool ok, int next, enum http1_err err,
    size_t i)
{
	if (!ok)
		return body_fail(d, err, i);
	d->st = next;
	if (next == BS_DONE)
		d->done = true;
	return 0;
}

/*
 * The byte after a chunk-size, an extension name or an extension value:
 * CR ends the line, ';' opens an extension, BWS goes to state ws; any
 * other byte fails with err.
 */
static ssize_t
chunk_ext_next(struct http1_body_dec *d, unsigned char c, int ws,
    enum http1_err err, size_t i)
{
	if (c == '\r')
		d->st = BS_SIZE_LF;
	else if (c == ';')
		d->st = BS_EXT_NAME0;
	else if (is_ows(c))
		d->st = ws;
	else
		return body_fail(d, err, i);
	return 0;
}

/* BS_SIZE0, BS_SIZE: a hex digit of the chunk size, or what follows it. */
static ssize_t
chunk_size_byte(struct http1_body_dec *d, unsigned char c, size_t i)
{
	int h = hex_val(c);

	if (h >= 0) {
		if (d->left > ((uint64_t)INT64_MAX >> 4))
			return body_fail(d, HTTP1_E_CHUNK_OVERFLOW, i);
		d->left = (d->left << 4) | (uint64_t)h;
		d->st = BS_SIZE;
		return 0;
	}
	if (d->st == BS_SIZE0)
		return body_fail(d, HTTP1_E_CHUNK_SIZE, i);
	/* a bare LF is a broken line end, not a bad size */
	return chunk_ext_next(d, c, BS_SEMI_WS,
	    c == '\n' ? HTTP1_E_CHUNK_CRLF : HTTP1_E_CHUNK_SIZE, i);
}

/*
 * BS_SEMI_WS to BS_EXT_QEND: a byte of the chunk extensions,
 * *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ).
 */
static ssize_t
chunk_ext_byte(struct http1_body_dec *d, unsigned char c, size_t i)
{
	switch (d->st) {
	case BS_SEMI_WS:
	case BS_EXT_NAME_WS:
		/* BWS runs to ';' (or '=' after a name), never to the CR */
		if (c == ';')
			d->st = BS_EXT_NAME0;
		else if (c == '=' && d->st == BS_EXT_NAME_WS)
			d->st = BS_EXT_VAL0;
		else if (!is_ows(c))
			return body_fail(d, HTTP1_E_CHUNK_EXT, i);
		return 0;
	case BS_EXT_NAME0:
	case BS_EXT_VAL0:
		/* BWS runs to a token (or, for a value, a quoted-string) */
		if (is_tchar(c))
			d->st = d->st == BS_EXT_NAME0 ? BS_EXT_NAME : BS_EXT_VAL;
		else if (c == '"' && d->st == BS_EXT_VAL0)
			d->st = BS_EXT_QS;
		else if (!is_ows(c))
			return body_fail(d, HTTP1_E_CHUNK_EXT, i);
		return 0;
	case BS_EXT_NAME:
		if (is_tchar(c))
			return 0;
		if (c == '=') {
			d->st = BS_EXT_VAL0;
			return 0;
		}
		return chunk_ext_next(d, c, BS_EXT_NAME_WS, HTTP1_E_CHUNK_EXT, i);
	case BS_EXT_VAL:
	case BS_EXT_QEND:
		if (d->st == BS_EXT_VAL && is_tchar(c))
			return 0;
		return chunk_ext_next(d, c, BS_SEMI_WS, HTTP1_E_CHUNK_EXT, i);
	case BS_EXT_QS:
		if (c == '"')
			d->st = BS_EXT_QEND;
		else if (c == '\\')
			d->st = BS_EXT_QP;
		else if (!is_qdtext(c))
			return body_fail(d, HTTP1_E_CHUNK_EXT, i);
		return 0;
	default:	/* BS_EXT_QP */
		return chunk_expect(d, is_qpair(c), BS_EXT_QS, HTTP1_E_CHUNK_EXT,
		    i);
	}
}

/* BS_TR_LINE0 to BS_END_LF: a byte of the trailer section. */
static ssize_t
chunk_trailer_byte(struct http1_body_dec *d, unsigned char c, size_t i)
{
	switch (d->st) {
	case BS_TR_LINE0:
		if (c == '\r')
			d->st = BS_END_LF;
		else if (is_tchar(c))
			d->st = BS_TR_NAME;
		else
			return body_fail(d, HTTP1_E_TRAILER, i);
		return 0;
	case BS_TR_NAME:
		if (c == ':')
			d->st = BS_TR_VAL;
		else if (!is_tchar(c))
			return body_fail(d, HTTP1_E_TRAILER, i);
		return 0;
	case BS_TR_VAL:
		if (c == '\r')
			d->st = BS_TR_LF;
		else if (is_ctl(c))	/* LF included */
			return body_fail(d, HTTP1_E_TRAILER, i);
		return 0;
	case BS_TR_LF:
		return chunk_expect(d, c == '\n', BS_TR_LINE0, HTTP1_E_TRAILER, i);
	default:	/* BS_END_LF */
		return chunk_expect(d, c == '\n', BS_DONE, HTTP1_E_TRAILER, i);
	}
}

/*
 * One byte of chunk framing (anything but chunk data) in state d->st.
 * Returns 0 or -1 via body_fail() with the byte's index i.
 */
static ssize_t
chunk_byte(struct http1_body_dec *d, unsigned char c, size_t i)
{
	if (d->st >= BS_SIZE0 && d->st <= BS_SIZE_LF &&
	    ++d->line > HTTP1_CHUNK_LINE_MAX)
		return body_fail(d, HTTP1_E_CHUNK_LINE_TOO_LONG, i);
	if (d->st >= BS_TR_LINE0 && ++d->trailer > HTTP1_TRAILER_MAX)
		return body_fail(d, HTTP1_E_TRAILER_TOO_LARGE, i);

	switch (d->st) {
	case BS_SIZE0:
	case BS_SIZE:
		return chunk_size_byte(d, c, i);
	case BS_SEMI_WS:
	case BS_EXT_NAME0:
	case BS_EXT_NAME:
	case BS_EXT_NAME_WS:
	case BS_EXT_VAL0:
	case BS_EXT_VAL:
	case BS_EXT_QS:
	case BS_EXT_QP:
	case BS_EXT_QEND:
		return chunk_ext_byte(d, c, i);
	case BS_TR_LINE0:
	case BS_TR_NAME:
	case BS_TR_VAL:
	case BS_TR_LF:
	case BS_END_LF:
		return chunk_trailer_byte(d, c, i);
	case BS_SIZE_LF:
		/* the line is in: the next one has its own length limit */
		if (c == '\n')
			d->line = 0;
		return chunk_expect(d, c == '\n',
		    d->left > 0 ? BS_DATA : BS_TR_LINE0, HTTP1_E_CHUNK_CRLF, i);
	case BS_DATA_CR:
		return chunk_expect(d, c == '\r', BS_DATA_LF, HTTP1_E_CHUNK_CRLF,
		    i);
	case BS_DATA_LF:
		return chunk_expect(d, c == '\n', BS_SIZE0, HTTP1_E_CHUNK_CRLF, i);
	default:
		return body_fail(d, HTTP1_E_NONE, i);	/* unreachable */
	}
}

ssize_t
http1_body_feed(struct http1_body_dec *d, const char *buf, size_t len,
    struct http1_span *data)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t i = 0, n;
	bool have_data = false;

	data->off = 0;
	data->len = 0;
	if (d->st == BS_ERROR)
		return -1;
	if (d->st == BS_DONE || len == 0)
		return 0;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;

	if (d->st == BS_LENGTH || d->st == BS_CLOSE) {
		n = len;
		if (d->st == BS_LENGTH && d->left < n)
			n = (size_t)d->left;
		if (d->st == BS_LENGTH && (d->left -= n) == 0) {
			d->st = BS_DONE;
			d->done = true;
		}
		d->wire += n;
		d->payload += n;
		data->len = n;
		return (ssize_t)n;
	}

	while (i < len && d->st != BS_DONE) {
		if (d->st == BS_DATA) {
			if (d->mode == HTTP1_DECHUNK && have_data)
				break;	/* one payload span per call */
			n = len - i;
			if (d->left < n)
				n = (size_t)d->left;
			if (d->mode == HTTP1_DECHUNK) {
				data->off = i;
				data->len = n;
				have_data = true;
			}
			d->left -= n;
			d->payload += n;
			i += n;
			if (d->left == 0)
				d->st = BS_DATA_CR;
			continue;
		}
		if (chunk_byte(d, p[i], i) == -1)
			return -1;
		i++;
	}
	d->wire += i;
	if (d->mode == HTTP1_PASS)
		data->len = i;
	return (ssize_t)i;
}

int
http1_body_eof(struct http1_body_dec *d)
{
	if (d->st == BS_CLOSE || d->st == BS_DONE) {
		d->st = BS_DONE;
		d->done = true;
		return 0;
	}
	if (d->st != BS_ERROR) {
		d->err = HTTP1_E_TRUNCATED;
		d->err_off = d->wire;
		d->st = BS_ERROR;
	}
	return -1;
}

const char *
http1_err_str(enum http1_err err)
{
	if ((unsigned)err >= HTTP1_E__COUNT)
		return "unknown error";
	return err_info[err].text;
}

int
http1_err_status(enum http1_err err)
{
	if ((unsigned)err >= HTTP1_E__COUNT || err == HTTP1_E_NONE)
		return 400;
	return err_info[err].status;
}

const char *
http1_method_str(enum http1_method method)
{
	if ((unsigned)method >= HTTP1_M__COUNT)
		return "OTHER";
	return method_names[method];
}

const char *
http1_body_str(enum http1_body body)
{
	switch (body) {
	case HTTP1_BODY_NONE:
		return "none";
	case HTTP1_BODY_LENGTH:
		return "content-length";
	case HTTP1_BODY_CHUNKED:
		return "chunked";
	case HTTP1_BODY_CLOSE:
		return "until-close";
	default:
		return "unknown";
	}
}
