/* SPDX-License-Identifier: MIT */
/*
 * probe_wire: hand-built ClientHellos and the parsing of what answers
 * them, plus the HTTP HEAD request and response head.  The ClientHello is
 * built by hand because Debian's libssl is built without 3DES and RC4
 * suites, so no SSL_CTX setting can offer them: only raw bytes can ask an
 * endpoint whether it would pick one.  See probe_wire.h.
 */
#include "config.h"

#include "probe_wire.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define REC_ALERT			21	/* TLS record content types */
#define REC_HANDSHAKE			22
#define HS_CLIENT_HELLO			1	/* handshake message types */
#define HS_SERVER_HELLO			2
#define SUITE_EMPTY_RENEGOTIATION_SCSV	0x00ff
#define EXT_SERVER_NAME			0x0000
#define EXT_RENEGOTIATION_INFO		0xff01

const char *
probe_suite_name(uint16_t suite)
{
	switch (suite) {
	case PROBE_SUITE_RSA_3DES_EDE_CBC_SHA:
		return "DES-CBC3-SHA";
	case PROBE_SUITE_RSA_RC4_128_SHA:
		return "RC4-SHA";
	case PROBE_SUITE_RSA_RC4_128_MD5:
		return "RC4-MD5";
	default:
		return "?";
	}
}

/* Copies at most len bytes of src as printable ASCII (others become '?'). */
static void
probe_copy_printable(char *dst, size_t cap, const char *src, size_t len)
{
	size_t i;

	if (cap == 0)
		return;
	for (i = 0; i < len && i + 1 < cap; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[i] = '\0';
}

static unsigned char *
put16(unsigned char *p, size_t v)
{
	*p++ = (unsigned char)(v >> 8);
	*p++ = (unsigned char)v;
	return p;
}

/* The server_name extension for one host name of len bytes. */
static unsigned char *
put_server_name(unsigned char *p, const char *name, size_t len)
{
	p = put16(p, EXT_SERVER_NAME);
	p = put16(p, 5 + len);
	p = put16(p, 3 + len);
	*p++ = 0;		/* host_name */
	p = put16(p, len);
	memcpy(p, name, len);
	return p + len;
}

int
probe_client_hello(uint16_t client_version, const uint16_t *suites,
    size_t nsuites, const char *sni, const unsigned char random[32],
    unsigned char *out, size_t cap)
{
	size_t snilen = sni != NULL ? strlen(sni) : 0;
	size_t ext = sni != NULL ? 9 + snilen : 0;
	size_t body, i;
	unsigned char *p = out;

	if (snilen > 255 || nsuites > 64)
		return -1;
	/* version, random, empty session id, suites + SCSV, null compression */
	body = 2 + 32 + 1 + 2 + 2 * (nsuites + 1) + 2 + 2 + ext;
	if (5 + 4 + body > cap)
		return -1;
	*p++ = REC_HANDSHAKE;
	*p++ = 3;
	*p++ = 1;			/* record version TLS 1.0: most tolerated */
	p = put16(p, 4 + body);
	*p++ = HS_CLIENT_HELLO;
	*p++ = (unsigned char)(body >> 16);
	p = put16(p, body);
	p = put16(p, client_version);
	memcpy(p, random, 32);
	p += 32;
	*p++ = 0;			/* session id */
	p = put16(p, 2 * (nsuites + 1));
	for (i = 0; i < nsuites; i++)
		p = put16(p, suites[i]);
	/* RFC 5746 SCSV: tells a server we can, so it may send renegotiation_info */
	p = put16(p, SUITE_EMPTY_RENEGOTIATION_SCSV);
	*p++ = 1;
	*p++ = 0;
	/* Always an extensions block: lighttpd's GnuTLS module wants one. */
	p = put16(p, ext);
	if (sni != NULL)
		p = put_server_name(p, sni, snilen);
	return (int)(p - out);
}

static size_t
get16(const unsigned char *p)
{
	return (size_t)p[0] << 8 | p[1];
}

/*
 * Walks the extensions that follow the compression method, p..end: 1 when
 * they are well formed, -1 otherwise.  Only renegotiation_info matters.
 */
static int
probe_hello_exts(const unsigned char *p, const unsigned char *end,
    struct probe_hello *h)
{
	size_t xlen;

	if (p == end)
		return 1;		/* no extensions */
	if (end - p < 2 || (size_t)(end - p - 2) != get16(p))
		return -1;
	for (p += 2; p < end; p += 4 + xlen) {
		if (end - p < 4)
			return -1;
		xlen = get16(p + 2);
		if ((size_t)(end - p - 4) < xlen)
			return -1;
		if (get16(p) == EXT_RENEGOTIATION_INFO)
			h->reneg_info = true;
	}
	return 1;
}

/* The ServerHello body of mlen bytes at p: 1 parsed, -1 malformed. */
static int
probe_hello_body(const unsigned char *p, size_t mlen, struct probe_hello *h)
{
	const unsigned char *end = p + mlen;
	size_t sidlen;

	if (mlen < 2 + 32 + 1)
		return -1;
	h->version = (uint16_t)get16(p);
	p += 2 + 32;
	sidlen = *p++;
	if (sidlen > 32 || (size_t)(end - p) < sidlen + 3)
		return -1;
	p += sidlen;
	h->suite = (uint16_t)get16(p);
	p += 3;				/* suite, compression method */
	return probe_hello_exts(p, end, h);
}

int
probe_parse_server_hello(const unsigned char *buf, size_t len,
    struct probe_hello *h)
{
	const unsigned char *p = buf + 5;
	size_t rlen, mlen;

	memset(h, 0, sizeof(*h));
	if (len < 5)
		return len > 0 && buf[0] != REC_ALERT && buf[0] != REC_HANDSHAKE ?
		    -1 : 0;
	if ((buf[0] != REC_ALERT && buf[0] != REC_HANDSHAKE) || buf[1] != 3)
		return -1;
	rlen = get16(buf + 3);
	if (rlen == 0 || rlen > 16384 + 2048)
		return -1;
	if (len < 5 + rlen)
		return 0;
	if (buf[0] == REC_ALERT) {
		if (rlen < 2)
			return -1;
		h->alert = true;
		h->alert_level = p[0];
		h->alert_desc = p[1];
		return 1;
	}
	/* The ServerHello must open the record (no server fragments it). */
	if (rlen < 4 || p[0] != HS_SERVER_HELLO)
		return -1;
	mlen = (size_t)p[1] << 16 | get16(p + 2);
	if (4 + mlen > rlen)
		return -1;
	return probe_hello_body(p + 4, mlen, h);
}

int
probe_http_request(const char *name, unsigned port, bool tls, char *buf,
    size_t cap)
{
	const char *lb = "", *rb = "";
	char portstr[8] = "";
	int n;

	if (strchr(name, ':') != NULL) {
		lb = "[";
		rb = "]";
	}
	if (port != (tls ? 443u : 80u))
		snprintf(portstr, sizeof(portstr), ":%u", port);
	n = snprintf(buf, cap, "HEAD / HTTP/1.1\r\nHost: %s%s%s%s\r\n"
	    "Connection: close\r\n\r\n", lb, name, rb, portstr);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* Copies a header value of len bytes at v without its blanks around. */
static void
probe_copy_value(char *dst, size_t cap, const char *v, size_t len)
{
	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	probe_copy_printable(dst, cap, v, len);
}

int
probe_parse_http_head(const char *buf, size_t len, char *status, size_t scap,
    char *server, size_t svcap)
{
	const char *p = buf, *end = buf + len, *eol;
	size_t n;
	bool first = true;

	if (scap > 0)
		status[0] = '\0';
	if (svcap > 0)
		server[0] = '\0';
	if (len < 5 || memcmp(buf, "HTTP/", 5) != 0)
		return -1;
	while (p < end) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		n = (size_t)(eol - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (first) {
			probe_copy_printable(status, scap, p, n);
			first = false;
		} else if (n == 0) {
			break;		/* end of the head */
		} else if (n > 7 && strncasecmp(p, "server:", 7) == 0)
			probe_copy_value(server, svcap, p + 7, n - 7);
		p = eol + 1;
	}
	return 0;
}
