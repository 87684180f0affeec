/* SPDX-License-Identifier: MIT */
/*
 * diag_reasons: the close reason table, one row per reason, included by
 * diag.h (for the enum) and expanded by diag.c (for the rows).  A row is
 *   X(id, name, status, level, request_level, flags, hint, hint_fn)
 * id             the enum close_reason constant
 * name           the stable audit-log string (part of its interface)
 * status         the HTTP status the broker answers with, 0 = none
 *                (ok and client-side reasons: nobody to answer)
 * level          the level of a tcp session's close line, without its
 *                LOG_LVL_ prefix: INFO for a peer going away (routine),
 *                WARNING for what operators look for
 * request_level  the level of the line of a failed http request, in the
 *                same form
 * flags          CRF_* bits below, or CRF_NONE
 * hint           the operator hint (a HINT_* text below), or NULL for
 * hint_fn        a function choosing it by phase, cause or alert (the
 *                phase rules: diag.c's hint_* functions), else NULL
 *
 * A new reason = one row here (nothing else in diag.c or the session
 * code names it), at the end of its group, with its HINT_* text (plus its
 * line in the audit log's list in man/tlsbroker.8): the codes are
 * appended to the audit interface, never renumbered by name.  check_diag
 * tests that every row has a unique name, a status of 0 or 4xx/5xx,
 * levels and a hint.
 */
#ifndef TLSBROKER_DIAG_REASONS_H
#define TLSBROKER_DIAG_REASONS_H

/* The flags of a row. */
#define CRF_NONE	0x0u
#define CRF_ROUTINE	0x1u	/* a normal end: not counted among the failures */
#define CRF_CLIENT_GONE	0x2u	/* the client left: nobody to answer, only to close */
/*
 * Not the upstream address's fault (the broker's or the upstream_proxy's
 * own refusal, which every address would meet): health marks no address
 * down for it.
 */
#define CRF_NOT_ADDRESS	0x4u
/*
 * In the dns, connect or handshake phase: the endpoint was not reached
 * at all (status page "down").
 */
#define CRF_UNREACHED	0x8u

/* The static hints, in the table's order; each row names its own. */
#define HINT_NONE	""	/* ok: nothing to fix */
#define HINT_CONNECT_TIMEOUT \
	"the TCP connect got no answer in time: a firewall may drop the " \
	"traffic or the host is down; check upstream = HOST:PORT, or raise " \
	"connect_timeout"
#define HINT_CLIENT_TLS_VERSION \
	"the client offered only TLS versions below 1.2; this listener " \
	"requires TLS 1.2 or later: enable TLS 1.2 on the client"
#define HINT_CLIENT_DENIED \
	"the client address is not in the listener's allow list: add its " \
	"network to allow = in the [listener] section"
#define HINT_CLIENT_PROXY \
	"the PROXY protocol header was missing, malformed or sent by a " \
	"source not in proxy_trusted (see detail): list the balancers in " \
	"proxy_trusted and have them send PROXY v1 or v2 (HAProxy: " \
	"send-proxy-v2), or set proxy_protocol = optional"
#define HINT_BAD_REQUEST \
	"the client sent a request the broker will not forward (see " \
	"detail): ambiguous framing is refused to prevent request " \
	"smuggling"
#define HINT_NO_ROUTE \
	"no route matches this Host/SNI and path: add a [route] with " \
	"matching host = / path =, or check the client's URL"
#define HINT_UPSTREAM_DNS \
	"the upstream host name did not resolve: check upstream = " \
	"HOST:PORT and the broker's resolver (/etc/resolv.conf)"
#define HINT_UPSTREAM_REFUSED \
	"nothing accepts connections at the upstream address: check " \
	"upstream = HOST:PORT and that the endpoint is running"
#define HINT_UPSTREAM_UNREACHABLE \
	"the upstream address cannot be reached: check upstream = " \
	"HOST:PORT, routing and firewalls between broker and endpoint"
#define HINT_UPSTREAM_TLS_VERSION \
	"no TLS version in common with the endpoint: set upstream_tls to " \
	"a range it supports (e.g. 1.0-1.3), or run tlsbroker probe " \
	"HOST:PORT"
#define HINT_UPSTREAM_TLS_CIPHER \
	"no cipher in common with the endpoint: allow its ciphers in " \
	"upstream_ciphers (e.g. DEFAULT:@SECLEVEL=0); 3DES/RC4-only " \
	"endpoints need an OpenSSL built with enable-weak-ssl-ciphers"
#define HINT_LEGACY_RENEGOTIATION \
	"the endpoint lacks RFC 5746 secure renegotiation; set " \
	"upstream_legacy_renegotiation = yes (a TLS 1.0 endpoint often " \
	"also needs upstream_security_level = 0)"
#define HINT_UPSTREAM_CLOSED \
	"the endpoint closed before a full response: often a keep-alive " \
	"connection it had closed while idle (set pool_idle_timeout " \
	"below its keep-alive timeout), or it failed on the request"
#define HINT_UPSTREAM_BAD_RESPONSE \
	"the endpoint sent invalid HTTP (see detail): check that " \
	"upstream_tls matches the port (TLS or plain) and the endpoint's " \
	"logs"
#define HINT_PROXY_REFUSED \
	"nothing accepts connections at the route's upstream_proxy " \
	"address: check upstream_proxy = http://HOST:PORT and that the " \
	"proxy is running"
#define HINT_PROXY_AUTH \
	"the proxy wants credentials (407 or 401): set " \
	"upstream_proxy_auth = FILE holding user:password (Basic), or " \
	"fix the ones in it; NTLM and Negotiate are not supported (put a " \
	"local cntlm or a squid parent in between)"
#define HINT_PROXY_FORBIDDEN \
	"the proxy refused the tunnel to this destination (403): its " \
	"rules must allow CONNECT to upstream = HOST:PORT (squid: the " \
	"CONNECT / SSL_ports ACLs; tinyproxy: ConnectPort)"
#define HINT_PROXY_BAD_GATEWAY \
	"the proxy could not reach the endpoint (502/503/504 from the " \
	"proxy): check upstream = HOST:PORT as the proxy sees it (its " \
	"DNS, its routes) and the proxy's log"
#define HINT_PROXY_TIMEOUT \
	"the proxy accepted TCP but did not answer CONNECT within " \
	"upstream_proxy_timeout: check that upstream_proxy names an HTTP " \
	"proxy, or raise upstream_proxy_timeout if it is slow to reach " \
	"the endpoint"
#define HINT_PROXY_BAD_ANSWER \
	"the proxy's answer to CONNECT was no HTTP or an unexpected " \
	"status (see detail): check that upstream_proxy names an HTTP " \
	"forward proxy port (not SOCKS, not TLS)"
#define HINT_UPSTREAM_BODY_UNREAD \
	"the endpoint answered before it took the whole request body, so " \
	"the call most likely failed there whatever the status says: " \
	"check the endpoint's logs; one that cannot read chunked request " \
	"bodies needs upstream_chunked = no (the default: the broker " \
	"sends them with a Content-Length)"
#define HINT_UPSTREAM_UNACKED \
	"a kept-alive connection to the endpoint acknowledged no byte of " \
	"the request within upstream_reuse_ack_timeout: a firewall or " \
	"NAT forgot it, or the endpoint's host vanished, without a FIN " \
	"or RST.  The endpoint never saw the request, so resending it is " \
	"safe (the broker does so itself when it still holds the whole " \
	"request); set pool_idle_check below the firewall's idle timer"
#define HINT_IDLE_TIMEOUT \
	"no traffic either way for idle_timeout: raise the route's " \
	"idle_timeout if long-idle connections are expected"
#define HINT_SHUTDOWN \
	"the broker was stopping and the connection outlived " \
	"drain_timeout: raise drain_timeout in [broker] for long " \
	"exchanges"
#define HINT_INTERNAL \
	"the broker ran out of a resource (memory, descriptors, " \
	"max_connections): see the operational log and raise the limits " \
	"(LimitNOFILE, max_connections)"
#define HINT_BROKER_FD_LIMIT \
	"the broker ran out of file descriptors, its own limit and not " \
	"the endpoint's: raise LimitNOFILE in its systemd unit (ulimit " \
	"-n), or lower max_connections in [broker] so that two " \
	"descriptors per connection fit"
#define HINT_UPSTREAM_DOWN \
	"every address in upstream = failed upstream_max_fails times in " \
	"a row and is resting for upstream_fail_timeout, so the broker " \
	"answers at once instead of waiting out connect_timeout: bring " \
	"an endpoint back (the log names each address), list a backup " \
	"address, or tune upstream_max_fails / upstream_fail_timeout / " \
	"health_check"
#define HINT_UPSTREAM_BUSY \
	"the route's upstream_max_connections were all in use and " \
	"upstream_queue_max requests already waited: nothing was sent to " \
	"the endpoint, so a retry is safe; raise upstream_queue_max for " \
	"bursts, or upstream_max_connections if the endpoint can take " \
	"more"
#define HINT_UPSTREAM_QUEUE_TIMEOUT \
	"the request waited upstream_queue_timeout for one of the " \
	"route's upstream_max_connections and was never sent, so a retry " \
	"is safe: the endpoint is slower than the load; raise " \
	"upstream_queue_timeout, or upstream_max_connections if the " \
	"endpoint can take more"

#define DIAG_REASONS(X) \
	/* exchange completed normally */ \
	X(CR_OK, "ok", \
	    0, INFO, INFO, CRF_ROUTINE, HINT_NONE, NULL) \
	/* client offered only < TLS 1.2 */ \
	X(CR_CLIENT_TLS_VERSION, "client_tls_version", \
	    0, WARNING, WARNING, CRF_NONE, HINT_CLIENT_TLS_VERSION, NULL) \
	/* other inbound handshake failure */ \
	X(CR_CLIENT_TLS_FAILED, "client_tls_failed", \
	    0, WARNING, WARNING, CRF_NONE, NULL, hint_client_tls_failed) \
	/* source address not in allow list */ \
	X(CR_CLIENT_DENIED, "client_denied", \
	    0, WARNING, WARNING, CRF_NONE, HINT_CLIENT_DENIED, NULL) \
	/* PROXY header missing, malformed or untrusted */ \
	X(CR_CLIENT_PROXY, "client_proxy", \
	    0, WARNING, WARNING, CRF_NONE, HINT_CLIENT_PROXY, NULL) \
	/* client closed before the exchange ended */ \
	X(CR_CLIENT_CLOSED, "client_closed", \
	    0, INFO, WARNING, CRF_CLIENT_GONE | CRF_ROUTINE, NULL, hint_client_closed) \
	/* client sent RST */ \
	X(CR_CLIENT_RESET, "client_reset", \
	    0, INFO, WARNING, CRF_CLIENT_GONE, NULL, hint_client_reset) \
	/* client handshake / head timeout */ \
	X(CR_CLIENT_TIMEOUT, "client_timeout", \
	    0, INFO, INFO, CRF_NONE, NULL, hint_client_timeout) \
	/* HTTP parse error */ \
	X(CR_BAD_REQUEST, "bad_request", \
	    400, WARNING, INFO, CRF_NONE, HINT_BAD_REQUEST, NULL) \
	/* no route matches SNI / Host / path */ \
	X(CR_NO_ROUTE, "no_route", \
	    404, WARNING, INFO, CRF_NONE, HINT_NO_ROUTE, NULL) \
	/* upstream name did not resolve */ \
	X(CR_UPSTREAM_DNS, "upstream_dns", \
	    502, WARNING, WARNING, CRF_UNREACHED, HINT_UPSTREAM_DNS, NULL) \
	/* ECONNREFUSED */ \
	X(CR_UPSTREAM_REFUSED, "upstream_refused", \
	    502, WARNING, WARNING, CRF_UNREACHED, HINT_UPSTREAM_REFUSED, NULL) \
	/* EHOSTUNREACH / ENETUNREACH */ \
	X(CR_UPSTREAM_UNREACHABLE, "upstream_unreachable", \
	    502, WARNING, WARNING, CRF_UNREACHED, HINT_UPSTREAM_UNREACHABLE, NULL) \
	/* TCP connect timed out */ \
	X(CR_UPSTREAM_CONNECT_TIMEOUT, "upstream_connect_timeout", \
	    504, WARNING, WARNING, CRF_UNREACHED, HINT_CONNECT_TIMEOUT, NULL) \
	/* ECONNRESET or EOF from the endpoint */ \
	X(CR_UPSTREAM_RESET, "upstream_reset", \
	    502, WARNING, WARNING, CRF_UNREACHED, NULL, hint_upstream_reset) \
	/* endpoint sent a fatal alert */ \
	X(CR_UPSTREAM_TLS_ALERT, "upstream_tls_alert", \
	    502, WARNING, WARNING, CRF_UNREACHED, NULL, hint_upstream_alert) \
	/* no protocol version in common */ \
	X(CR_UPSTREAM_TLS_VERSION, "upstream_tls_version", \
	    502, WARNING, WARNING, CRF_UNREACHED, HINT_UPSTREAM_TLS_VERSION, NULL) \
	/* no cipher in common */ \
	X(CR_UPSTREAM_TLS_CIPHER, "upstream_tls_cipher", \
	    502, WARNING, WARNING, CRF_UNREACHED, HINT_UPSTREAM_TLS_CIPHER, NULL) \
	/* other outbound handshake failure */ \
	X(CR_UPSTREAM_TLS_FAILED, "upstream_tls_failed", \
	    502, WARNING, WARNING, CRF_UNREACHED, NULL, hint_upstream_tls_failed) \
	/* endpoint lacks RFC 5746 */ \
	X(CR_UPSTREAM_LEGACY_RENEGOTIATION, "upstream_legacy_renegotiation", \
	    502, WARNING, WARNING, CRF_UNREACHED, HINT_LEGACY_RENEGOTIATION, NULL) \
	/* verification or pin failed */ \
	X(CR_UPSTREAM_CERT, "upstream_cert", \
	    502, WARNING, WARNING, CRF_UNREACHED, NULL, hint_upstream_cert) \
	/* handshake or response timed out */ \
	X(CR_UPSTREAM_TIMEOUT, "upstream_timeout", \
	    504, WARNING, WARNING, CRF_UNREACHED, NULL, hint_upstream_timeout) \
	/* endpoint closed before a full response */ \
	X(CR_UPSTREAM_CLOSED, "upstream_closed", \
	    502, WARNING, WARNING, CRF_NONE, HINT_UPSTREAM_CLOSED, NULL) \
	/* endpoint sent invalid HTTP */ \
	X(CR_UPSTREAM_BAD_RESPONSE, "upstream_bad_response", \
	    502, WARNING, WARNING, CRF_NONE, HINT_UPSTREAM_BAD_RESPONSE, NULL) \
	/* upstream_proxy: TCP connect refused */ \
	X(CR_PROXY_REFUSED, "proxy_refused", \
	    502, WARNING, WARNING, CRF_NOT_ADDRESS, HINT_PROXY_REFUSED, NULL) \
	/* upstream_proxy answered 407 */ \
	X(CR_PROXY_AUTH, "proxy_auth", \
	    502, WARNING, WARNING, CRF_NOT_ADDRESS, HINT_PROXY_AUTH, NULL) \
	/* upstream_proxy answered 403 */ \
	X(CR_PROXY_FORBIDDEN, "proxy_forbidden", \
	    502, WARNING, WARNING, CRF_NOT_ADDRESS, HINT_PROXY_FORBIDDEN, NULL) \
	/* upstream_proxy answered 502, 503 or 504 */ \
	X(CR_PROXY_BAD_GATEWAY, "proxy_bad_gateway", \
	    502, WARNING, WARNING, CRF_NONE, HINT_PROXY_BAD_GATEWAY, NULL) \
	/* no CONNECT answer within upstream_proxy_timeout */ \
	X(CR_PROXY_TIMEOUT, "proxy_timeout", \
	    504, WARNING, WARNING, CRF_NONE, HINT_PROXY_TIMEOUT, NULL) \
	/* not HTTP, another status, or closed */ \
	X(CR_PROXY_BAD_ANSWER, "proxy_bad_answer", \
	    502, WARNING, WARNING, CRF_NONE, HINT_PROXY_BAD_ANSWER, NULL) \
	/* endpoint answered before it took the whole request body */ \
	X(CR_UPSTREAM_BODY_UNREAD, "upstream_body_unread", \
	    502, WARNING, WARNING, CRF_NONE, HINT_UPSTREAM_BODY_UNREAD, NULL) \
	/* reused connection: no byte of the request acknowledged */ \
	X(CR_UPSTREAM_UNACKED, "upstream_unacked", \
	    502, WARNING, WARNING, CRF_NONE, HINT_UPSTREAM_UNACKED, NULL) \
	/* no traffic either way for idle_timeout */ \
	X(CR_IDLE_TIMEOUT, "idle_timeout", \
	    0, INFO, WARNING, CRF_ROUTINE, HINT_IDLE_TIMEOUT, NULL) \
	/* broker stopped; drain deadline passed */ \
	X(CR_SHUTDOWN, "shutdown", \
	    503, WARNING, WARNING, CRF_NONE, HINT_SHUTDOWN, NULL) \
	/* resource exhaustion inside the broker */ \
	X(CR_INTERNAL, "internal", \
	    500, WARNING, WARNING, CRF_NOT_ADDRESS, HINT_INTERNAL, NULL) \
	/* the broker is out of file descriptors (EMFILE, ENFILE) */ \
	X(CR_BROKER_FD_LIMIT, "broker_fd_limit", \
	    503, WARNING, WARNING, CRF_NONE, HINT_BROKER_FD_LIMIT, NULL) \
	/* every address of the route is marked down */ \
	X(CR_UPSTREAM_DOWN, "upstream_down", \
	    503, WARNING, WARNING, CRF_NONE, HINT_UPSTREAM_DOWN, NULL) \
	/* \
	 * upstream_max_connections in use and the queue full; never sent: \
	 * 503 says "try again", 504 would suggest it ran \
	 */ \
	X(CR_UPSTREAM_BUSY, "upstream_busy", \
	    503, WARNING, WARNING, CRF_NONE, HINT_UPSTREAM_BUSY, NULL) \
	/* no upstream connection free within upstream_queue_timeout */ \
	X(CR_UPSTREAM_QUEUE_TIMEOUT, "upstream_queue_timeout", \
	    503, WARNING, WARNING, CRF_NONE, HINT_UPSTREAM_QUEUE_TIMEOUT, NULL)

#endif
