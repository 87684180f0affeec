/* SPDX-License-Identifier: MIT */
/*
 * proxy_proto: parsing the PROXY protocol v1 (text) and v2 (binary)
 * headers.  Strict where a sloppy reading could name the wrong caller
 * (exact single spaces, addresses of the family announced, ports without
 * sign or leading zeros, CRLF within 107 bytes), and silent about what the
 * spec lets a receiver ignore (v1 UNKNOWN's rest of line, v2 TLVs).
 */
#include "config.h"

#include "proxy_proto.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static const uint8_t sig_v1[] = "PROXY ";
#define SIG_V1_LEN	(sizeof(sig_v1) - 1)
static const uint8_t sig_v2[PROXY_PROTO_SIG_LEN] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};
#define V2_FIXED	16	/* signature, version/command, family, length */

/* v2 families (high nibble) and transports (low nibble) of byte 13. */
#define V2_AF_UNSPEC	0x0
#define V2_AF_INET	0x1
#define V2_AF_INET6	0x2
#define V2_AF_UNIX	0x3
#define V2_STREAM	0x1
#define V2_CMD_LOCAL	0x0
#define V2_CMD_PROXY	0x1

static int
bad(char *err, size_t errlen, const char *what)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", what);
	return PROXY_PROTO_BAD;
}

/* 1 if buf starts with sig, 0 if buf is a proper prefix of it, -1 otherwise. */
static int
sig_match(const uint8_t *buf, size_t len, const uint8_t *sig, size_t siglen)
{
	size_t n = len < siglen ? len : siglen;

	if (memcmp(buf, sig, n) != 0)
		return -1;
	return len >= siglen ? 1 : 0;
}

int
proxy_proto_detect(const uint8_t *buf, size_t len)
{
	int v1 = sig_match(buf, len, sig_v1, SIG_V1_LEN);
	int v2 = sig_match(buf, len, sig_v2, sizeof(sig_v2));

	if (v1 == 1 || v2 == 1)
		return 1;
	if (v1 == 0 || v2 == 0)
		return 0;
	return -1;
}

/* ---- v1 ------------------------------------------------------------------ */

/* A decimal port, 0..65535, no sign and no leading zero; -1 if not. */
static long
v1_port(const char *s)
{
	long v = 0;
	size_t n = strlen(s), i;

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= 65535 ? v : -1;
}

/* addr and port as a sockaddr of family af; -1 if either is malformed. */
static int
v1_addr(int af, const char *addr, const char *port,
    struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	long p = v1_port(port);

	if (p == -1)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		return inet_pton(AF_INET, addr, &sin->sin_addr) == 1 ? 0 : -1;
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)p);
	return inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1 ? 0 : -1;
}

/*
 * Splits line (NUL-terminated, no CRLF) at single spaces into at most max
 * fields; the number of fields, or -1 on an empty field (two spaces, or a
 * space at either end).
 */
static int
v1_split(char *line, char **f, int max)
{
	int n = 0;
	char *p = line, *sp;

	for (;;) {
		if (n == max)
			return -1;
		f[n++] = p;
		if ((sp = strchr(p, ' ')) == NULL)
			break;
		*sp = '\0';
		if (sp == p)
			return -1;
		p = sp + 1;
	}
	return *f[n - 1] == '\0' ? -1 : n;
}

/*
 * True if buf[0..n) holds a CR, LF or NUL: inside a v1 line they make it
 * malformed (even after UNKNOWN), whatever bytes come next.
 */
static bool
v1_bad_bytes(const uint8_t *buf, size_t n)
{
	return memchr(buf, '\r', n) != NULL || memchr(buf, '\n', n) != NULL ||
	    memchr(buf, '\0', n) != NULL;
}

static int
v1_parse(const uint8_t *buf, size_t len, struct proxy_hdr *hdr, char *err,
    size_t errlen)
{
	char line[PROXY_PROTO_V1_MAX + 1], *f[4];
	size_t i, end = 0;
	int af;

	for (i = 0; i + 1 < len && i + 1 < PROXY_PROTO_V1_MAX; i++) {
		if (buf[i] == '\r' && buf[i + 1] == '\n') {
			end = i;
			break;
		}
	}
	if (end == 0) {
		if (len >= PROXY_PROTO_V1_MAX)
			return bad(err, errlen, "PROXY v1 line without CRLF "
			    "within 107 bytes");
		/* more bytes cannot fix a CR, LF or NUL inside the line; a last CR may start the CRLF */
		if (v1_bad_bytes(buf, buf[len - 1] == '\r' ? len - 1 : len))
			return bad(err, errlen, "PROXY v1 line holds a CR, LF or "
			    "NUL byte before its CRLF");
		return 0;
	}
	if (v1_bad_bytes(buf, end))
		return bad(err, errlen, "PROXY v1 line holds a CR, LF or NUL byte "
		    "before its CRLF");
	memcpy(line, buf + SIG_V1_LEN, end - SIG_V1_LEN);
	line[end - SIG_V1_LEN] = '\0';
	hdr->version = 1;
	if (strncmp(line, "UNKNOWN", 7) == 0 && (line[7] == '\0' || line[7] == ' ')) {
		/* the spec: ignore whatever follows UNKNOWN up to CRLF */
		hdr->local = true;
		return (int)end + 2;
	}
	if (strncmp(line, "TCP4 ", 5) != 0 && strncmp(line, "TCP6 ", 5) != 0)
		return bad(err, errlen, "PROXY v1 protocol is not TCP4, TCP6 "
		    "or UNKNOWN");
	if (v1_split(line + 5, f, 4) != 4)
		return bad(err, errlen, "PROXY v1 line is not 'PROXY TCP4|TCP6 "
		    "SRC DST SPORT DPORT'");
	af = line[3] == '4' ? AF_INET : AF_INET6;
	if (v1_addr(af, f[0], f[2], &hdr->src) == -1 ||
	    v1_addr(af, f[1], f[3], &hdr->dst) == -1)
		return bad(err, errlen, af == AF_INET ?
		    "PROXY v1 TCP4 addresses or ports are malformed" :
		    "PROXY v1 TCP6 addresses or ports are malformed");
	hdr->local = false;
	return (int)end + 2;
}

/* ---- v2 ------------------------------------------------------------------ */

/*
 * One end of a v2 address block: the address of family (4 bytes for
 * AF_INET, 16 for AF_INET6) at addr and the port at port, both in network
 * order as the sockaddr keeps them.
 */
static void
v2_endpoint(struct sockaddr_storage *ss, int family, const uint8_t *addr,
    const uint8_t *port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr, 4);
		memcpy(&sin->sin_port, port, 2);
	} else {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr, 16);
		memcpy(&sin6->sin6_port, port, 2);
	}
}

/* The address block of a PROXY command in family af (byte 13's high nibble). */
static int
v2_addrs(int af, const uint8_t *a, size_t alen, struct proxy_hdr *hdr,
    char *err, size_t errlen)
{
	int family = af == V2_AF_INET ? AF_INET : AF_INET6;
	size_t n = family == AF_INET ? 4 : 16;	/* bytes of one address */

	memset(&hdr->src, 0, sizeof(hdr->src));
	memset(&hdr->dst, 0, sizeof(hdr->dst));
	if (af != V2_AF_INET && af != V2_AF_INET6) {
		/* UNSPEC or a unix socket: no address we could check */
		hdr->local = true;
		return 0;
	}
	if (alen < 2 * n + 4)
		return bad(err, errlen, family == AF_INET ?
		    "PROXY v2 IPv4 address block shorter than 12 bytes" :
		    "PROXY v2 IPv6 address block shorter than 36 bytes");
	/* source and destination address, then source and destination port */
	v2_endpoint(&hdr->src, family, a, a + 2 * n);
	v2_endpoint(&hdr->dst, family, a + n, a + 2 * n + 2);
	return 0;
}

static int
v2_parse(const uint8_t *buf, size_t len, struct proxy_hdr *hdr, char *err,
    size_t errlen)
{
	size_t body, total;
	int cmd, af, proto;

	if (len < V2_FIXED)
		return 0;
	body = (size_t)buf[14] << 8 | buf[15];
	total = V2_FIXED + body;
	if ((buf[12] >> 4) != 2)
		return bad(err, errlen, "PROXY v2 header with a version other than 2");
	cmd = buf[12] & 0x0f;
	if (cmd != V2_CMD_LOCAL && cmd != V2_CMD_PROXY)
		return bad(err, errlen, "PROXY v2 command is neither LOCAL nor PROXY");
	af = buf[13] >> 4;
	proto = buf[13] & 0x0f;
	if (af > V2_AF_UNIX || proto > 2)
		return bad(err, errlen, "PROXY v2 address family or transport "
		    "is unknown");
	if (total > PROXY_PROTO_MAX)
		return bad(err, errlen, "PROXY v2 header longer than 1024 bytes");
	if (len < total)
		return 0;
	hdr->version = 2;
	hdr->local = cmd == V2_CMD_LOCAL;
	if (hdr->local)
		return (int)total;	/* the spec: discard the address block */
	if (af != V2_AF_UNSPEC && proto != V2_STREAM)
		return bad(err, errlen, "PROXY v2 header for a datagram "
		    "connection on a stream listener");
	if (v2_addrs(af, buf + V2_FIXED, body, hdr, err, errlen) == PROXY_PROTO_BAD)
		return PROXY_PROTO_BAD;
	return (int)total;
}

int
proxy_proto_parse(const uint8_t *buf, size_t len, struct proxy_hdr *hdr,
    char *err, size_t errlen)
{
	int v1, v2;

	memset(hdr, 0, sizeof(*hdr));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	v1 = sig_match(buf, len, sig_v1, SIG_V1_LEN);
	v2 = sig_match(buf, len, sig_v2, sizeof(sig_v2));
	if (v1 == 1)
		return v1_parse(buf, len, hdr, err, errlen);
	if (v2 == 1)
		return v2_parse(buf, len, hdr, err, errlen);
	if (v1 == 0 || v2 == 0)
		return 0;
	return PROXY_PROTO_NOT;
}
