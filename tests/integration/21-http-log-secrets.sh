#!/bin/sh
# SPDX-License-Identifier: MIT
#
# http mode: what the broker writes down of a request, with log_level =
# debug and a recording origin behind it:
#  - a Host with bytes such as ! ~ $ * ; or %41 is routed as the parser read
#    it (no route for "secret.internal!", never the secret.internal route),
#    and the 404, the audit detail and the log name exactly that host: no
#    stack bytes;
#  - no query, keyless query token or matrix parameter of any request line
#    reaches the operational log, the audit log or a 404 body, whether the
#    request was routed, unroutable, refused, failed upstream or broke its
#    body; the audit path is the path alone.

. "$(dirname "$0")/lib.sh"

make_pki

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 3)
BP=$1 P_REC=$2 P_DEAD=$3

start_recorder rec "$P_REC"
! port_listening "$P_DEAD" || hard_error "port $P_DEAD unexpectedly in use"

{
	ini_preamble "$BP" workers=1 log_level=debug drain_timeout=2s
	cat <<EOF

[route secret]
host = secret.internal
upstream = 127.0.0.1:$P_REC
upstream_tls = off

[route app]
host = app.broker.test
upstream = 127.0.0.1:$P_REC
upstream_tls = off

[route dead]
host = dead.broker.test
upstream = 127.0.0.1:$P_DEAD
upstream_tls = off
EOF
} >"$TB_TMP/broker.ini"

start_broker "$TB_TMP/broker.ini"

# raw TEXT: one connection (SNI app.broker.test), TEXT sent (\r\n escapes),
# read to the end; RAW holds httpclient.py's JSON.
raw()
{
	RAW=$(httpc raw --port "$BP" --host app.broker.test --timeout 10 \
	    --send "$1") || fail "raw: $RAW"
}

status()
{
	jget "$RAW" 'd["status"]'
}

# ---- 1. Host bytes the parser accepts are routed as read ------------------------------

# Regression: route_host_normalize() stopped at such a byte without ending
# its output; the routing key, the 404 and the audit detail then carried
# whatever the stack held, and "secret.internal!" reached secret.internal.
for _h in 'secret.internal!' 'Secret.Internal~' 'secret.internal$' \
    'secret.internal*' 'secret.internal;x' 'secret.internal%41' 'secret.internal.:443'; do
	raw "GET / HTTP/1.1\r\nHost: $_h\r\nConnection: close\r\n\r\n"
	_want=$(printf '%s' "$_h" | tr 'A-Z' 'a-z' | sed -e 's/:443$//' -e 's/\.$//')
	if [ "$_want" = secret.internal ]; then
		# the trailing dot and the port go: this one is the route's name
		assert_eq 200 "$(status)" "Host: $_h ($RAW)"
		expect_audit route=secret status=200
		continue
	fi
	assert_eq 404 "$(status)" "Host: $_h ($RAW)"
	assert_eq no_route "$(jget "$RAW" 'hdr("x-broker-error")')" "Host: $_h"
	_detail="no route of listener erp for host '$_want' and path '/'"
	assert_contains "$(jget "$RAW" 'd["body"]')" "detail: $_detail
hint:" "404 body for Host: $_h"
	assert_eq true "$(jget "$RAW" 'all(c == "\n" or " " <= c <= "~" for c in d["body"])')" \
	    "404 body for Host: $_h is printable ASCII"
	expect_audit close=no_route status=404 route! path=/ detail="$_detail"
done
assert_eq 1 "$(rec rec requests)" "requests the origin got (the dotted, ported name)"

# ---- 2. no secret of a request line is written down -------------------------------------

# Each secret is unique, so a grep finds any copy of it anywhere.
raw "GET /reset?TOKENa1b2c3 HTTP/1.1\r\nHost: app.broker.test\r\nConnection: close\r\n\r\n"
assert_eq 200 "$(status)" "keyless query token, routed ($RAW)"
expect_audit route=app method=GET path=/reset status=200
raw "GET /a;jsessionid=SECRETd4e5/b HTTP/1.1\r\nHost: app.broker.test\r\nConnection: close\r\n\r\n"
assert_eq 200 "$(status)" "matrix parameter, routed ($RAW)"
expect_audit route=app path=/a status=200
raw "GET https://app.broker.test/z?k=SECRETj0k1 HTTP/1.1\r\nHost: app.broker.test\r\nConnection: close\r\n\r\n"
assert_eq 200 "$(status)" "absolute-form with a query ($RAW)"
expect_audit route=app path=/z status=200
# The origin got them whole: the secrets were on the request lines.
assert_eq "/reset?TOKENa1b2c3" "$(jget "$(rec rec req 2)" 'd["target"]')" "origin target"
assert_eq "/a;jsessionid=SECRETd4e5/b" "$(jget "$(rec rec req 3)" 'd["target"]')" \
    "origin target"

# Regression: the no_route detail quoted the raw target, query and all, in
# the audit record, the log and the 404 body.
raw "GET /x?token=SECRETf6g7 HTTP/1.1\r\nHost: nowhere.test\r\n\r\n"
assert_eq 404 "$(status)" "no route, query with a key ($RAW)"
assert_not_contains "$RAW" SECRET "404 answer"
expect_audit close=no_route path=/x
raw "GET /y?SECRETh8i9 HTTP/1.1\r\nHost: nowhere.test\r\n\r\n"
assert_eq 404 "$(status)" "no route, keyless query ($RAW)"
assert_not_contains "$RAW" SECRET "404 answer"
expect_audit close=no_route path=/y
raw "GET /m;jsessionid=SECRETr8s9 HTTP/1.1\r\nHost: nowhere.test\r\n\r\n"
assert_eq 404 "$(status)" "no route, matrix parameter ($RAW)"
assert_not_contains "$RAW" SECRET "404 answer"
expect_audit close=no_route path=/m
# Refused head: no path at all.
raw "GET /q?SECRETl2m3 HTTP/1.1\r\nHost: app.broker.test\r\nConnection: content-length\r\n\r\n"
assert_eq 400 "$(status)" "refused head ($RAW)"
assert_not_contains "$RAW" SECRET "400 answer"
expect_audit close=bad_request path!
# Routed, then the endpoint is down.
raw "GET /w;SECRETn4o5?x HTTP/1.1\r\nHost: dead.broker.test\r\n\r\n"
assert_eq 502 "$(status)" "upstream refused ($RAW)"
assert_not_contains "$RAW" SECRET "502 answer"
expect_audit route=dead close=upstream_refused path=/w
# Routed, then the chunked body breaks.
raw "POST /p?SECRETp6q7 HTTP/1.1\r\nHost: app.broker.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
assert_eq 400 "$(status)" "bad chunked body ($RAW)"
assert_not_contains "$RAW" SECRET "400 answer"
expect_audit route=app close=bad_request path=/p

stop_broker
tbutil jsoncheck "$AUDIT" || fail "audit log has lines that are not JSON"
assert_eq "$AUDIT_N" "$(wc -l <"$AUDIT" | tr -d ' ')" "audit records"
for _f in "$AUDIT" "$BROKER_LOG"; do
	! grep -E 'SECRET|TOKEN' "$_f" ||
	    fail "a request-line secret is in $_f (lines above)"
done
# Something was logged at all: the debug log names the requests.
[ -s "$BROKER_LOG" ] || fail "empty broker log"
