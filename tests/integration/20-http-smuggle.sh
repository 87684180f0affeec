#!/bin/sh
# SPDX-License-Identifier: MIT
#
# http mode: the framing an endpoint reads is the broker's, and what it
# forwards about the client, against a recording origin
# that keeps every byte it got (endpoints/recorder.py), nginx (TLS 1.0)
# and an HTTP/1.0 server:
#  - a Connection option naming Content-Length, Transfer-Encoding, Host or
#    Expect is refused with 400 before any upstream byte, in every
#    spelling; the second client on the pool gets its own answer, and the
#    origin sees its request alone;
#  - a valid request arrives with exactly one framing field, the broker's;
#  - an endpoint answer whose Connection names its framing, or that uses a
#    transfer coding it was never offered, is a 502, and a length spelled
#    "0005" reaches the client as the broker's "5";
#  - absolute-form: only http and https, "http://h?q" goes as "/?q";
#  - an empty Host (a target without authority) is refused, not routed
#    by the SNI;
#  - X-Forwarded-For, Forwarded and X-Real-IP by the route's forwarded
#    policy: replace (default), append, off.

. "$(dirname "$0")/lib.sh"

make_pki

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 4)
BP=$1 P_REC=$2 P_OLD=$3 P_NGX=$4

start_recorder rec "$P_REC"
start_httpd old "$P_OLD" --http10
start_nginx ngx "$P_NGX" 60s

{
	ini_preamble "$BP" workers=1 drain_timeout=2s
	cat <<EOF

[route rec]
host = rec.broker.test
upstream = 127.0.0.1:$P_REC
upstream_tls = off

; one request per upstream connection: its bytes are that request's alone
[route single]
host = single.broker.test
upstream = 127.0.0.1:$P_REC
upstream_tls = off
pool_max_idle = 0

[route append]
host = append.broker.test
upstream = 127.0.0.1:$P_REC
upstream_tls = off
forwarded = append

[route off]
host = off.broker.test
upstream = 127.0.0.1:$P_REC
upstream_tls = off
forwarded = off

[route old]
host = old.broker.test
upstream = 127.0.0.1:$P_OLD
upstream_tls = off

[route ngx]
host = ngx.broker.test
upstream = 127.0.0.1:$P_NGX
upstream_tls = 1.0
upstream_ca = $PKI/ca.pem
upstream_sni = localhost
EOF
} >"$TB_TMP/broker.ini"

start_broker "$TB_TMP/broker.ini"

# raw HOST TEXT: one connection to the broker (SNI HOST), TEXT sent (\r\n
# escapes), everything read up to the end; RAW holds httpclient.py's JSON.
raw()
{
	RAW=$(httpc raw --port "$BP" --host "$1" --timeout 10 --send "$2") ||
	    fail "raw $1: $RAW"
}

# refused WHAT: the last raw exchange was a 400 bad_request, audited so,
# with the connection closed after it.
refused()
{
	assert_eq 400 "$(jget "$RAW" 'd["status"]')" "$1: status ($RAW)"
	assert_eq bad_request "$(jget "$RAW" 'hdr("x-broker-error")')" \
	    "$1: X-Broker-Error"
	assert_eq eof "$(jget "$RAW" 'd["end"]')" "$1: closed after the answer"
	expect_audit status=400 close=bad_request phase=request upstream!
}

H="Host: rec.broker.test"
# What the attacker's body holds: a request of its own that would swallow
# the next request on the pooled connection as its body.
SMUGGLED="POST /capture HTTP/1.1\r\n$H\r\nX-Forwarded-For: 10.9.9.9\r\nContent-Length: 300\r\n\r\n"
SLEN=$(printf "$SMUGGLED" | wc -c | tr -d ' ')

# ---- 1. Connection options naming what the broker frames and routes by ---------------

# Regression: every one of these reached the origin as two requests (the
# body as the second) or, towards HTTP/1.0, lost the body with a 200.
for _c in "Content-Length" "close, content-length" "CONTENT-LENGTH, keep-alive" \
    "Keep-Alive\r\nConnection: Content-Length"; do
	raw rec.broker.test "POST /x HTTP/1.1\r\n$H\r\nConnection: $_c\r\nContent-Length: $SLEN\r\n\r\n$SMUGGLED"
	refused "Connection: $_c"
done
raw rec.broker.test "POST /x HTTP/1.1\r\n$H\r\nTransfer-Encoding: chunked\r\nConnection: Transfer-Encoding\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
refused "Connection: Transfer-Encoding"
raw rec.broker.test "GET /x HTTP/1.1\r\n$H\r\nConnection: close, Host\r\n\r\n"
refused "Connection: Host"
raw rec.broker.test "PUT /x HTTP/1.1\r\n$H\r\nExpect: 100-continue\r\nConnection: expect\r\nContent-Length: 1\r\n\r\nx"
refused "Connection: Expect"
raw old.broker.test "POST /x HTTP/1.1\r\nHost: old.broker.test\r\nConnection: Content-Length\r\nContent-Length: 5\r\n\r\nhello"
refused "Connection: Content-Length to an HTTP/1.0 endpoint"
assert_eq 0 "$(rec rec bytes)" "bytes the origin got from refused requests"
assert_eq 0 "$(ep_conns old)" "connections the HTTP/1.0 endpoint got"

# The two-client case: the attacker first, then a victim whose request
# would have become the smuggled request's body on the pooled connection.
raw rec.broker.test "POST /x HTTP/1.1\r\n$H\r\nConnection: Content-Length\r\nContent-Length: $SLEN\r\n\r\n$SMUGGLED"
refused "attacker"
raw rec.broker.test "GET /account HTTP/1.1\r\n$H\r\nAuthorization: Bearer victim-token\r\nCookie: s=victim\r\nConnection: close\r\n\r\n"
assert_eq 200 "$(jget "$RAW" 'd["status"]')" "victim: status ($RAW)"
assert_eq /account "$(jget "$RAW" 'body()["target"]')" \
    "victim: the answer is for its own request"
expect_audit route=rec method=GET path=/account status=200 close=ok
assert_eq 1 "$(rec rec requests)" "requests the origin parsed"
REQ=$(rec rec req 1)
assert_eq GET "$(jget "$REQ" 'd["method"]')" "the origin's only request"
assert_eq /account "$(jget "$REQ" 'd["target"]')" "the origin's only request"

# ---- 2. a valid request: one framing field, the broker's ---------------------------------

raw single.broker.test "POST /up HTTP/1.1\r\nHost: single.broker.test\r\nContent-Length: 0005\r\nConnection: close\r\n\r\nhello"
assert_eq 200 "$(jget "$RAW" 'd["status"]')" "POST with a 0005 length ($RAW)"
expect_audit route=single method=POST path=/up status=200 close=ok
REQ=$(rec rec req 2)
assert_eq 5 "$(jget "$REQ" 'd["body_len"]')" "body the origin read"
assert_eq 5 "$(jget "$REQ" 'hdr("content-length")')" \
    "Content-Length at the origin (the broker's, not the client's 0005)"
assert_eq 0 "$(jget "$REQ" 'sum(k.lower() == "transfer-encoding" for k, v in d["headers"])')" \
    "Transfer-Encoding fields at the origin"
# The bytes on that connection: one request head and its body, nothing after.
_raw=$(rec rec raw "$(jget "$REQ" 'd["conn"]')")
assert_eq 1 "$(printf '%s' "$_raw" | grep -o 'POST /up' | wc -l | tr -d ' ')" \
    "requests in the bytes of the origin's connection: $_raw"
assert_contains "$_raw" "\\r\\nContent-Length: 5\\r\\n" "raw bytes at the origin"
assert_contains "$_raw" "\\r\\n\\r\\nhello'" "raw bytes end with the body"

raw rec.broker.test "POST /chunks HTTP/1.1\r\n$H\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
assert_eq 200 "$(jget "$RAW" 'd["status"]')" "chunked POST ($RAW)"
expect_audit route=rec method=POST path=/chunks status=200 close=ok
REQ=$(rec rec req 3)
assert_eq 11 "$(jget "$REQ" 'd["body_len"]')" "chunked body the origin read"
assert_eq 1 "$(jget "$REQ" 'sum(k.lower() in ("content-length", "transfer-encoding") for k, v in d["headers"])')" \
    "framing fields at the origin for a chunked POST: $REQ"

# ---- 3. the response side ----------------------------------------------------------------

# Regression: "Connection: Content-Length" reached the client without its
# length on a kept-alive connection.
for _p in /conn-cl /conn-te /te-gzip; do
	raw rec.broker.test "GET $_p HTTP/1.1\r\n$H\r\n\r\n"
	assert_eq 502 "$(jget "$RAW" 'd["status"]')" "$_p: status ($RAW)"
	assert_eq upstream_bad_response "$(jget "$RAW" 'hdr("x-broker-error")')" \
	    "$_p: X-Broker-Error"
	expect_audit route=rec path="$_p" status=502 close=upstream_bad_response \
	    phase=response
done
raw rec.broker.test "GET /cl-spelled HTTP/1.1\r\n$H\r\nConnection: close\r\n\r\n"
assert_eq 200 "$(jget "$RAW" 'd["status"]')" "/cl-spelled ($RAW)"
assert_eq 5 "$(jget "$RAW" 'hdr("content-length")')" \
    "Content-Length the client got (the broker's)"
assert_eq hello "$(jget "$RAW" 'd["body"]')" "/cl-spelled body"
expect_audit route=rec path=/cl-spelled status=200 close=ok

# ---- 4. absolute-form ---------------------------------------------------------------------

_n=$(rec rec requests)
# Regression: went to the origin as "GET ?q=1".
raw rec.broker.test "GET http://rec.broker.test?q=1 HTTP/1.1\r\n$H\r\nConnection: close\r\n\r\n"
assert_eq 200 "$(jget "$RAW" 'd["status"]')" "absolute-form with a bare query ($RAW)"
expect_audit route=rec path=/ status=200
REQ=$(rec rec req $((_n + 1)))
assert_eq "/?q=1" "$(jget "$REQ" 'd["target"]')" "origin-form at the origin"
# Regression: any scheme was taken for http.
for _s in gopher file ftp ws; do
	raw rec.broker.test "GET $_s://rec.broker.test/ HTTP/1.1\r\n$H\r\n\r\n"
	refused "scheme $_s"
done
# Regression: an empty Host (no authority) was routed by the SNI and
# reached the origin empty; an https target needs a host, so: refused.
raw rec.broker.test "GET /x HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n"
refused "empty Host"
assert_eq $((_n + 1)) "$(rec rec requests)" "requests the origin got"

# ---- 5. forwarded = replace | append | off -----------------------------------------------

FWD="X-Forwarded-For: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\nX-Forwarded-Host: evil.test"
# fwd ROUTE: a GET with the client's own forwarding fields; REQ is what the
# origin got.
fwd()
{
	_n=$(rec rec requests)
	raw "$1.broker.test" "GET /fwd HTTP/1.1\r\nHost: $1.broker.test\r\n$FWD\r\nConnection: close\r\n\r\n"
	assert_eq 200 "$(jget "$RAW" 'd["status"]')" "forwarded via $1 ($RAW)"
	expect_audit route="$1" path=/fwd status=200
	REQ=$(rec rec req $((_n + 1)))
}

# Regression: the client's copies reached the endpoint before ours.
fwd rec
assert_eq 127.0.0.1 "$(jget "$REQ" 'hdr("x-forwarded-for")')" "replace: X-Forwarded-For"
assert_eq "for=127.0.0.1;proto=https" "$(jget "$REQ" 'hdr("forwarded")')" \
    "replace: Forwarded"
assert_eq 127.0.0.1 "$(jget "$REQ" 'hdr("x-real-ip")')" "replace: X-Real-IP"
assert_eq "<absent>" "$(jget "$REQ" 'hdr("x-forwarded-host")')" \
    "replace: X-Forwarded-Host"
fwd append
assert_eq "6.6.6.6, 127.0.0.1" "$(jget "$REQ" 'hdr("x-forwarded-for")')" \
    "append: X-Forwarded-For"
assert_eq "for=6.6.6.6, for=127.0.0.1;proto=https" \
    "$(jget "$REQ" 'hdr("forwarded")')" "append: Forwarded"
assert_eq 6.6.6.6 "$(jget "$REQ" 'hdr("x-real-ip")')" "append: X-Real-IP (the first proxy's)"
fwd off
assert_eq 6.6.6.6 "$(jget "$REQ" 'hdr("x-forwarded-for")')" "off: X-Forwarded-For"
assert_eq "<absent>" "$(jget "$REQ" 'hdr("x-forwarded-proto")')" "off: X-Forwarded-Proto"

# ---- 6. nginx behind a TLS 1.0 hop ------------------------------------------------------

_smuggled="GET /smuggled HTTP/1.1\r\nHost: ngx.broker.test\r\n\r\n"
raw ngx.broker.test "POST /echo HTTP/1.1\r\nHost: ngx.broker.test\r\nConnection: Content-Length\r\nContent-Length: $(printf "$_smuggled" | wc -c | tr -d ' ')\r\n\r\n$_smuggled"
refused "Connection: Content-Length to nginx"
# HTTP/1.0: the client gets the echo de-chunked, close-delimited
raw ngx.broker.test "POST /echo HTTP/1.0\r\nHost: ngx.broker.test\r\nContent-Length: 005\r\n\r\nhello"
assert_eq 200 "$(jget "$RAW" 'd["status"]')" "POST to nginx ($RAW)"
assert_eq hello "$(jget "$RAW" 'd["body"]')" "nginx echo"
expect_audit route=ngx method=POST path=/echo status=200 close=ok up_tls=TLSv1
assert_eq 1 "$(wc -l <"$TB_TMP/nginx-ngx/access.log" | tr -d ' ')" \
    "requests nginx saw: $(cat "$TB_TMP/nginx-ngx/access.log")"
assert_not_contains "$(cat "$TB_TMP/nginx-ngx/access.log")" smuggled \
    "nginx access log"

stop_broker
tbutil jsoncheck "$AUDIT" || fail "audit log has lines that are not JSON"
assert_eq "$AUDIT_N" "$(wc -l <"$AUDIT" | tr -d ' ')" "audit records"
