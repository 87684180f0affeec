/* SPDX-License-Identifier: MIT */
/*
 * diag_reasons: the close reason table, one row per reason, included by
 * diag.h (for the enum) and expanded by diag.c (for the rows).  A row
 * gives the enum id and designated initializers of struct
 * close_reason_info:
 *   .name           the stable audit-log string (part of its interface)
 *   .status         the HTTP status the broker answers with, 0 = none
 *                   (ok and client-side reasons: nobody to answer)
 *   .level          the level of a tcp session's close line: INFO for a
 *                   peer going away (routine), WARNING for what operators
 *                   look for
 *   .request_level  the level of the line of a failed http request
 *   .hint           the operator hint, or
 *   .hint_fn        a function choosing it by phase, cause or alert
 *                   (the phase rules: diag.c's hint_* functions)
 *   .routine        a normal end: not counted among the failures
 *   .client_gone    the client left: nobody to answer, only to close
 *   .not_address    not the upstream address's fault (the broker's or
 *                   the upstream_proxy's own refusal, which every address
 *                   would meet): health marks no address down for it
 *   .unreached      in the dns, connect or handshake phase: the
 *                   endpoint was not reached at all (status page "down")
 *
 * A new reason = one row here (nothing else in diag.c or the session
 * code names it), at the end of its group (plus its line
 * in the audit log's list in man/tlsbroker.8): the codes are appended to
 * the audit interface, never renumbered by name.  check_diag tests that
 * every row has a unique name, a status of 0 or 4xx/5xx, levels and a
 * hint.
 */
#ifndef TLSBROKER_DIAG_REASONS_H
#define TLSBROKER_DIAG_REASONS_H

#define HINT_CONNECT_TIMEOUT \
	"the TCP connect got no answer in time: a firewall may drop the " \
	"traffic or the host is down; check upstream = HOST:PORT, or raise " \
	"connect_timeout"

#define DIAG_REASONS(X) \
	/* exchange completed normally */ \
	X(CR_OK, .name = "ok", .routine = true, .status = 0, .level = LOG_LVL_INFO, \
	    .request_level = LOG_LVL_INFO, .hint = "") \
	/* client offered only < TLS 1.2 */ \
	X(CR_CLIENT_TLS_VERSION, .name = "client_tls_version", .status = 0, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint = "the client offered only TLS versions below 1.2; this " \
	    "listener requires TLS 1.2 or later: enable TLS 1.2 on the client") \
	/* other inbound handshake failure */ \
	X(CR_CLIENT_TLS_FAILED, .name = "client_tls_failed", .status = 0, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint_fn = hint_client_tls_failed) \
	/* source address not in allow list */ \
	X(CR_CLIENT_DENIED, .name = "client_denied", .status = 0, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint = "the client address is not in the listener's allow list: " \
	    "add its network to allow = in the [listener] section") \
	/* PROXY header missing, malformed or untrusted */ \
	X(CR_CLIENT_PROXY, .name = "client_proxy", .status = 0, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint = "the PROXY protocol header was missing, malformed or sent " \
	    "by a source not in proxy_trusted (see detail): list the " \
	    "balancers in proxy_trusted and have them send PROXY v1 or " \
	    "v2 (HAProxy: send-proxy-v2), or set proxy_protocol = optional") \
	/* client closed before the exchange ended */ \
	X(CR_CLIENT_CLOSED, .name = "client_closed", .client_gone = true, .routine = true, .status = 0, \
	    .level = LOG_LVL_INFO, .request_level = LOG_LVL_WARNING, \
	    .hint_fn = hint_client_closed) \
	/* client sent RST */ \
	X(CR_CLIENT_RESET, .name = "client_reset", .client_gone = true, .status = 0, \
	    .level = LOG_LVL_INFO, .request_level = LOG_LVL_WARNING, \
	    .hint_fn = hint_client_reset) \
	/* client handshake / head timeout */ \
	X(CR_CLIENT_TIMEOUT, .name = "client_timeout", .status = 0, \
	    .level = LOG_LVL_INFO, .request_level = LOG_LVL_INFO, \
	    .hint_fn = hint_client_timeout) \
	/* HTTP parse error */ \
	X(CR_BAD_REQUEST, .name = "bad_request", .status = 400, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_INFO, \
	    .hint = "the client sent a request the broker will not forward " \
	    "(see detail): ambiguous framing is refused to prevent request " \
	    "smuggling") \
	/* no route matches SNI / Host / path */ \
	X(CR_NO_ROUTE, .name = "no_route", .status = 404, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_INFO, \
	    .hint = "no route matches this Host/SNI and path: add a [route] " \
	    "with matching host = / path =, or check the client's URL") \
	/* upstream name did not resolve */ \
	X(CR_UPSTREAM_DNS, .name = "upstream_dns", .unreached = true, .status = 502, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint = "the upstream host name did not resolve: check upstream = " \
	    "HOST:PORT and the broker's resolver (/etc/resolv.conf)") \
	/* ECONNREFUSED */ \
	X(CR_UPSTREAM_REFUSED, .name = "upstream_refused", .unreached = true, .status = 502, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint = "nothing accepts connections at the upstream address: " \
	    "check upstream = HOST:PORT and that the endpoint is running") \
	/* EHOSTUNREACH / ENETUNREACH */ \
	X(CR_UPSTREAM_UNREACHABLE, .name = "upstream_unreachable", .unreached = true, .status = 502, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint = "the upstream address cannot be reached: check upstream = " \
	    "HOST:PORT, routing and firewalls between broker and endpoint") \
	/* TCP connect timed out */ \
	X(CR_UPSTREAM_CONNECT_TIMEOUT, .name = "upstream_connect_timeout", .unreached = true, \
	    .status = 504, .level = LOG_LVL_WARNING, \
	    .request_level = LOG_LVL_WARNING, .hint = HINT_CONNECT_TIMEOUT) \
	/* ECONNRESET or EOF from the endpoint */ \
	X(CR_UPSTREAM_RESET, .name = "upstream_reset", .unreached = true, .status = 502, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint_fn = hint_upstream_reset) \
	/* endpoint sent a fatal alert */ \
	X(CR_UPSTREAM_TLS_ALERT, .name = "upstream_tls_alert", .unreached = true, .status = 502, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint_fn = hint_upstream_alert) \
	/* no protocol version in common */ \
	X(CR_UPSTREAM_TLS_VERSION, .name = "upstream_tls_version", .unreached = true, .status = 502, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint = "no TLS version in common with the endpoint: set " \
	    "upstream_tls to a range it supports (e.g. 1.0-1.3), or run " \
	    "tlsbroker probe HOST:PORT") \
	/* no cipher in common */ \
	X(CR_UPSTREAM_TLS_CIPHER, .name = "upstream_tls_cipher", .unreached = true, .status = 502, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint = "no cipher in common with the endpoint: allow its ciphers " \
	    "in upstream_ciphers (e.g. DEFAULT:@SECLEVEL=0); 3DES/RC4-only " \
	    "endpoints need an OpenSSL built with enable-weak-ssl-ciphers") \
	/* other outbound handshake failure */ \
	X(CR_UPSTREAM_TLS_FAILED, .name = "upstream_tls_failed", .unreached = true, .status = 502, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint_fn = hint_upstream_tls_failed) \
	/* endpoint lacks RFC 5746 */ \
	X(CR_UPSTREAM_LEGACY_RENEGOTIATION, .name = "upstream_legacy_renegotiation", .unreached = true, \
	    .status = 502, .level = LOG_LVL_WARNING, \
	    .request_level = LOG_LVL_WARNING, \
	    .hint = "the endpoint lacks RFC 5746 secure renegotiation; set " \
	    "upstream_legacy_renegotiation = yes (a TLS 1.0 endpoint often " \
	    "also needs upstream_security_level = 0)") \
	/* verification or pin failed */ \
	X(CR_UPSTREAM_CERT, .name = "upstream_cert", .unreached = true, .status = 502, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint_fn = hint_upstream_cert) \
	/* handshake or response timed out */ \
	X(CR_UPSTREAM_TIMEOUT, .name = "upstream_timeout", .unreached = true, .status = 504, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint_fn = hint_upstream_timeout) \
	/* endpoint closed before a full response */ \
	X(CR_UPSTREAM_CLOSED, .name = "upstream_closed", .status = 502, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint = "the endpoint closed before a full response: often a " \
	    "keep-alive connection it had closed while idle (set " \
	    "pool_idle_timeout below its keep-alive timeout), or it failed on " \
	    "the request") \
	/* endpoint sent invalid HTTP */ \
	X(CR_UPSTREAM_BAD_RESPONSE, .name = "upstream_bad_response", .status = 502, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint = "the endpoint sent invalid HTTP (see detail): check that " \
	    "upstream_tls matches the port (TLS or plain) and the endpoint's " \
	    "logs") \
	/* upstream_proxy: TCP connect refused */ \
	X(CR_PROXY_REFUSED, .name = "proxy_refused", .not_address = true, .status = 502, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint = "nothing accepts connections at the route's upstream_proxy " \
	    "address: check upstream_proxy = http://HOST:PORT and that the " \
	    "proxy is running") \
	/* upstream_proxy answered 407 */ \
	X(CR_PROXY_AUTH, .name = "proxy_auth", .not_address = true, .status = 502, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint = "the proxy wants credentials (407 or 401): set " \
	    "upstream_proxy_auth = FILE holding user:password (Basic), or fix " \
	    "the ones in it; NTLM and Negotiate are not supported (put a " \
	    "local cntlm or a squid parent in between)") \
	/* upstream_proxy answered 403 */ \
	X(CR_PROXY_FORBIDDEN, .name = "proxy_forbidden", .not_address = true, .status = 502, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint = "the proxy refused the tunnel to this destination (403): " \
	    "its rules must allow CONNECT to upstream = HOST:PORT (squid: the " \
	    "CONNECT / SSL_ports ACLs; tinyproxy: ConnectPort)") \
	/* upstream_proxy answered 502, 503 or 504 */ \
	X(CR_PROXY_BAD_GATEWAY, .name = "proxy_bad_gateway", .status = 502, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint = "the proxy could not reach the endpoint (502/503/504 from " \
	    "the proxy): check upstream = HOST:PORT as the proxy sees it (its " \
	    "DNS, its routes) and the proxy's log") \
	/* no CONNECT answer within upstream_proxy_timeout */ \
	X(CR_PROXY_TIMEOUT, .name = "proxy_timeout", .status = 504, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint = "the proxy accepted TCP but did not answer CONNECT within " \
	    "upstream_proxy_timeout: check that upstream_proxy names an HTTP " \
	    "proxy, or raise upstream_proxy_timeout if it is slow to reach " \
	    "the endpoint") \
	/* not HTTP, another status, or closed */ \
	X(CR_PROXY_BAD_ANSWER, .name = "proxy_bad_answer", .status = 502, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint = "the proxy's answer to CONNECT was no HTTP or an " \
	    "unexpected status (see detail): check that upstream_proxy names " \
	    "an HTTP forward proxy port (not SOCKS, not TLS)") \
	/* endpoint answered before it took the whole request body */ \
	X(CR_UPSTREAM_BODY_UNREAD, .name = "upstream_body_unread", .status = 502, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint = "the endpoint answered before it took the whole request " \
	    "body, so the call most likely failed there whatever the status " \
	    "says: check the endpoint's logs; one that cannot read chunked " \
	    "request bodies needs upstream_chunked = no (the default: the " \
	    "broker sends them with a Content-Length)") \
	/* reused connection: no byte of the request acknowledged */ \
	X(CR_UPSTREAM_UNACKED, .name = "upstream_unacked", .status = 502, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint = "a kept-alive connection to the endpoint acknowledged no " \
	    "byte of the request within upstream_reuse_ack_timeout: a " \
	    "firewall or NAT forgot it, or the endpoint's host vanished, " \
	    "without a FIN or RST.  The endpoint never saw the request, so " \
	    "resending it is safe (the broker does so itself when it still " \
	    "holds the whole request); set pool_idle_check below the " \
	    "firewall's idle timer") \
	/* no traffic either way for idle_timeout */ \
	X(CR_IDLE_TIMEOUT, .name = "idle_timeout", .routine = true, .status = 0, \
	    .level = LOG_LVL_INFO, .request_level = LOG_LVL_WARNING, \
	    .hint = "no traffic either way for idle_timeout: raise the route's " \
	    "idle_timeout if long-idle connections are expected") \
	/* broker stopped; drain deadline passed */ \
	X(CR_SHUTDOWN, .name = "shutdown", .status = 503, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint = "the broker was stopping and the connection outlived " \
	    "drain_timeout: raise drain_timeout in [broker] for long exchanges") \
	/* resource exhaustion inside the broker */ \
	X(CR_INTERNAL, .name = "internal", .not_address = true, .status = 500, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint = "the broker ran out of a resource (memory, descriptors, " \
	    "max_connections): see the operational log and raise the limits " \
	    "(LimitNOFILE, max_connections)") \
	/* the broker is out of file descriptors (EMFILE, ENFILE) */ \
	X(CR_BROKER_FD_LIMIT, .name = "broker_fd_limit", .status = 503, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint = "the broker ran out of file descriptors, its own limit and " \
	    "not the endpoint's: raise LimitNOFILE in its systemd unit (ulimit " \
	    "-n), or lower max_connections in [broker] so that two " \
	    "descriptors per connection fit") \
	/* every address of the route is marked down */ \
	X(CR_UPSTREAM_DOWN, .name = "upstream_down", .status = 503, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint = "every address in upstream = failed upstream_max_fails " \
	    "times in a row and is resting for upstream_fail_timeout, so " \
	    "the broker answers at once instead of waiting out " \
	    "connect_timeout: bring an endpoint back (the log names each " \
	    "address), list a backup address, or tune " \
	    "upstream_max_fails / upstream_fail_timeout / health_check") \
	/* \
	 * upstream_max_connections in use and the queue full; never sent: \
	 * 503 says "try again", 504 would suggest it ran \
	 */ \
	X(CR_UPSTREAM_BUSY, .name = "upstream_busy", .status = 503, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint = "the route's upstream_max_connections were all in use and " \
	    "upstream_queue_max requests already waited: nothing was " \
	    "sent to the endpoint, so a retry is safe; raise " \
	    "upstream_queue_max for bursts, or upstream_max_connections " \
	    "if the endpoint can take more") \
	/* no upstream connection free within upstream_queue_timeout */ \
	X(CR_UPSTREAM_QUEUE_TIMEOUT, .name = "upstream_queue_timeout", .status = 503, \
	    .level = LOG_LVL_WARNING, .request_level = LOG_LVL_WARNING, \
	    .hint = "the request waited upstream_queue_timeout for one of the " \
	    "route's upstream_max_connections and was never sent, so a " \
	    "retry is safe: the endpoint is slower than the load; raise " \
	    "upstream_queue_timeout, or upstream_max_connections if the " \
	    "endpoint can take more")

#endif
