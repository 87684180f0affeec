/* SPDX-License-Identifier: MIT */
/*
 * proxy_proto: the PROXY protocol header (HAProxy's proxy-protocol.txt,
 * versions 1 and 2) that a balancer in front of the broker sends before
 * the client's first byte, naming the caller it accepted the connection
 * from.  Pure and incremental: it looks at the bytes read so far and says
 * "need more", "not a PROXY header", "malformed", or how many bytes the
 * header takes and which addresses it names.  It does no I/O and decides
 * no policy (which sources may send one: listener.c).
 */
#ifndef TLSBROKER_PROXY_PROTO_H
#define TLSBROKER_PROXY_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * The longest header accepted, TLVs included.  A v1 line is at most 107
 * bytes; a v2 header is 16 bytes plus up to 216 of addresses plus TLVs,
 * which balancers keep small (an AWS endpoint id, an Azure link id).
 */
#define PROXY_PROTO_MAX		1024
#define PROXY_PROTO_V1_MAX	107
/* Bytes that tell a PROXY header from anything else: v2's signature is the longer. */
#define PROXY_PROTO_SIG_LEN	12

/* proxy_proto_parse() results below 0. */
#define PROXY_PROTO_NOT		(-1)	/* does not start with a PROXY signature */
#define PROXY_PROTO_BAD		(-2)	/* starts with one but is malformed */

struct proxy_hdr {
	int version;			/* 1 or 2 */
	/*
	 * True when the header names no caller: v1 UNKNOWN, v2 LOCAL (a
	 * balancer's own health check), v2 UNSPEC or AF_UNIX.  The
	 * connection's own addresses then stand, as the spec says.
	 */
	bool local;
	struct sockaddr_storage src;	/* the caller, when !local */
	struct sockaddr_storage dst;	/* the address it called, when !local */
};

/*
 * Looks at buf[0..len) (the first bytes of a connection).  Returns the
 * header's length (> 0) with hdr filled, 0 when every byte so far fits a
 * header that is not complete yet (and len < PROXY_PROTO_MAX),
 * PROXY_PROTO_NOT when the bytes are no PROXY signature, or PROXY_PROTO_BAD
 * with the reason in err (a v1 line over 107 bytes, a v2 header over
 * PROXY_PROTO_MAX, an unknown version or command, bad addresses, a
 * datagram family).  err may be NULL.
 */
int proxy_proto_parse(const uint8_t *buf, size_t len, struct proxy_hdr *hdr,
    char *err, size_t errlen);

/*
 * Only the signature: 1 if buf starts with a v1 or v2 signature, 0 if it
 * is a proper prefix of one (more bytes needed to tell), -1 if it is
 * neither.  For sources that may not send a header at all.
 */
int proxy_proto_detect(const uint8_t *buf, size_t len);

#endif
