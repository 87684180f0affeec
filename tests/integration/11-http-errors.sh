#!/bin/sh
# SPDX-License-Identifier: MIT
#
# http mode: every failing second hop becomes a real HTTP answer (502, or
# 504 for timeouts) with X-Broker-Error, a body naming the route, the close
# code with its phase, and the hint -- the same code, phase and hint as the
# audit record.  Endpoints that misbehave for real: RST after the
# ClientHello, silence in the handshake, silence after the request, TLS
# 1.2+ only behind a TLS 1.0 route, no cipher in common, GnuTLS without RFC
# 5746, DHE-1024 at level 2, an expired certificate under CA verification,
# a pin mismatch, a refused port, a connect that gets no answer, an
# unresolvable name, a truncated
# response, invalid HTTP.  Then bad client requests: CL+TE, obs-fold, a
# head over 64 KiB, a bad chunk size while the body streams, a head too
# slow, no route, a held body over max_buffered_body.

. "$(dirname "$0")/lib.sh"

need_cmd curl
make_pki

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 12)
BP=$1 P_RST=$2 P_BH=$3 P_HTTP=$4 P_T12P=$5 P_ECDHE=$6 P_NR12=$7 P_DHE=$8
P_EXP=$9
shift 9
P_DEAD=$1 P_OLD=$2 P_FULL=$3

start_ep_rst rst "$P_RST"
start_ep_blackhole bh "$P_BH"
start_httpd web "$P_HTTP"
start_httpd old "$P_OLD" --http10
start_ep_tls12plus t12p "$P_T12P"
# TLS 1.2, ECDHE suites only
start_sserver ecdhe "$P_ECDHE" -cert "$PKI/legacy.pem" -key "$PKI/legacy.key" \
    -tls1_2 -cipher 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384'
start_ep_noreneg12 nr12 "$P_NR12"
start_ep_dhe1024 dhe "$P_DHE"
start_ep_expired expired "$P_EXP"
start_ep_synfull full "$P_FULL"
! port_listening "$P_DEAD" || hard_error "port $P_DEAD unexpectedly in use"

{
	ini_preamble "$BP" workers=1 drain_timeout=2s -- request_timeout=1s
	cat <<EOF

[route rst]
host = rst.broker.test
upstream = 127.0.0.1:$P_RST
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

[route bh]
host = bh.broker.test
upstream = 127.0.0.1:$P_BH
upstream_ca = $PKI/ca.pem
upstream_sni = localhost
handshake_timeout = 1s

[route web]
host = web.broker.test
upstream = 127.0.0.1:$P_HTTP
upstream_tls = off
response_timeout = 1s
upstream_chunked = yes

[route old]
host = old.broker.test
upstream = 127.0.0.1:$P_OLD
upstream_tls = off
max_buffered_body = 64k

[route t12p]
host = t12p.broker.test
upstream = 127.0.0.1:$P_T12P
upstream_tls = 1.0
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

[route nocipher]
host = nocipher.broker.test
upstream = 127.0.0.1:$P_ECDHE
upstream_tls = 1.2
upstream_ciphers = AES128-SHA
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

[route nr12]
host = nr12.broker.test
upstream = 127.0.0.1:$P_NR12
upstream_tls = 1.2
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

[route dhe]
host = dhe.broker.test
upstream = 127.0.0.1:$P_DHE
upstream_tls = 1.2
upstream_security_level = 2
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

; the expired self-signed certificate is its own trust anchor here, so the
; expiry is what fails
[route expired]
host = expired.broker.test
upstream = 127.0.0.1:$P_EXP
upstream_tls = 1.2
upstream_verify = ca
upstream_ca = $PKI/expired.pem
upstream_sni = localhost

[route pin]
host = pin.broker.test
upstream = 127.0.0.1:$P_EXP
upstream_tls = 1.2
upstream_pin = $(cat "$PKI/wrong.pin")

[route refused]
host = refused.broker.test
upstream = 127.0.0.1:$P_DEAD
upstream_tls = off

[route full]
host = full.broker.test
upstream = 127.0.0.1:$P_FULL
upstream_tls = off
connect_timeout = 1s

[route dns]
host = dns.broker.test
upstream = nonexistent.invalid:443
EOF
} >"$TB_TMP/broker.ini"

start_broker "$TB_TMP/broker.ini"

RES=""
for _h in rst bh web old t12p nocipher nr12 dhe expired pin refused full dns \
    nowhere; do
	RES="$RES --resolve $_h.broker.test:$BP:127.0.0.1"
done

# answer ROUTE PATH ARGS...: curl https://ROUTE.broker.test/PATH; sets
# STATUS, HDRS (file, without CRs), BODY (text), ELAPSED (ms), CURL_RC.
answer()
{
	_r=$1
	_p=$2
	shift 2
	_t0=$(now_ms)
	CURL_RC=0
	# shellcheck disable=SC2086
	STATUS=$(timeout 30 curl -sS --cacert "$PKI/ca.pem" $RES \
	    -D "$TB_TMP/ans.hdr" -o "$TB_TMP/ans.body" -w '%{http_code}' \
	    "$@" "https://$_r.broker.test:$BP$_p" 2>"$TB_TMP/curl.err") ||
	    CURL_RC=$?
	ELAPSED=$(($(now_ms) - _t0))
	HDRS="$TB_TMP/ans.hdrs"
	tr -d '\r' <"$TB_TMP/ans.hdr" >"$HDRS" 2>/dev/null || : >"$HDRS"
	BODY=$(cat "$TB_TMP/ans.body" 2>/dev/null || true)
}

# body_line KEY: the value of "KEY: value" in the answer's body.
body_line()
{
	printf '%s\n' "$BODY" | sed -n "s/^$1: //p" | head -n 1
}

# broker_error ROUTE PATH STATUS CODE PHASE_RE HINT_RE [AUDIT_SPEC...]: GET
# PATH through ROUTE answers STATUS with "X-Broker-Error: CODE"; its
# body names the route, "error: CODE in PHASE" and a hint matching HINT_RE;
# the audit record has the same close, phase and hint (and AUDIT_SPEC).
broker_error()
{
	_r=$1
	_path=$2
	_st=$3
	_code=$4
	_ph=$5
	_hint=$6
	shift 6
	answer "$_r" "$_path"
	assert_eq 0 "$CURL_RC" "curl via $_r: $(cat "$TB_TMP/curl.err")"
	assert_eq "$_st" "$STATUS" "status via $_r (body: $BODY)"
	grep -q -i "^X-Broker-Error: $_code\$" "$HDRS" ||
	    fail "X-Broker-Error via $_r, expected $_code: $(cat "$HDRS")"
	grep -q -i '^Connection: close' "$HDRS" ||
	    fail "no Connection: close with the error via $_r: $(cat "$HDRS")"
	assert_eq "$_r" "$(body_line route)" "route in the body via $_r"
	printf '%s\n' "$(body_line error)" | grep -E -q "^$_code in ($_ph)\$" ||
	    fail "error line via $_r, expected '$_code in $_ph': $BODY"
	_bh=$(body_line hint)
	printf '%s\n' "$_bh" | grep -E -q -- "$_hint" ||
	    fail "hint via $_r does not match /$_hint/: $BODY"
	expect_audit route="$_r" method=GET path="$_path" status="$_st" \
	    close="$_code" "phase~^($_ph)\$" "hint~$_hint" "$@"
	assert_eq "$_bh" "$(audit_field "$AUDIT_N" hint)" \
	    "hint via $_r: body and audit"
	assert_eq "$(audit_field "$AUDIT_N" phase)" \
	    "$(body_line error | sed 's/.* in //')" "phase via $_r: body and audit"
}

# ---- failing second hops ------------------------------------------------------

broker_error rst /err/rst 502 upstream_reset handshake \
    'reset the connection after our ClientHello.*upstream_tls' \
    upstream="127.0.0.1:$P_RST"
grep -q "RST after ClientHello" "$(ep_log rst)" ||
    fail "the rst endpoint did not see a ClientHello"

broker_error bh /err/bh 504 upstream_timeout handshake 'within handshake_timeout'
[ "$ELAPSED" -ge 900 ] || fail "bh answered after ${ELAPSED}ms, before its" \
    "1s handshake_timeout"
[ "$ELAPSED" -lt 6000 ] || fail "bh answered only after ${ELAPSED}ms"

# The request arrives, the answer never does (response_timeout 1s).
broker_error web /hang 504 upstream_timeout 'request|response' \
    'within response_timeout' upstream="127.0.0.1:$P_HTTP" up_tls=plain
[ "$ELAPSED" -ge 900 ] || fail "/hang answered after ${ELAPSED}ms, before" \
    "its 1s response_timeout"
[ "$ELAPSED" -lt 6000 ] || fail "/hang answered only after ${ELAPSED}ms"
grep -q ' req 1 GET /hang ' "$(ep_log web)" || fail "/hang did not reach web"

broker_error t12p /err/t12p 502 upstream_tls_version handshake \
    'upstream_tls' alert=protocol_version

# No cipher in common: s_server answers alert 40, which OpenSSL cannot tell
# from a version mismatch; either code is right if it says why.
answer nocipher /err/nocipher
assert_eq 502 "$STATUS" "status via nocipher ($BODY)"
case $(audit_field $((AUDIT_N + 1)) close) in
upstream_tls_cipher)
	expect_audit route=nocipher status=502 close=upstream_tls_cipher \
	    phase=handshake 'hint~upstream_ciphers'
	;;
*)
	expect_audit route=nocipher status=502 close=upstream_tls_alert \
	    phase=handshake alert=handshake_failure 'hint~upstream_ciphers'
	;;
esac
grep -q -i "^X-Broker-Error: $(audit_field "$AUDIT_N" close)" "$HDRS" ||
    fail "X-Broker-Error via nocipher: $(cat "$HDRS")"
assert_eq "$(audit_field "$AUDIT_N" hint)" "$(body_line hint)" \
    "hint via nocipher: body and audit"

broker_error nr12 /err/nr12 502 upstream_legacy_renegotiation handshake \
    'upstream_legacy_renegotiation = yes'

broker_error dhe /err/dhe 502 upstream_tls_failed handshake \
    'DHE group is too small.*upstream_security_level'
assert_audit_has "$AUDIT_N" "dh key too small"

broker_error expired /err/expired 502 upstream_cert handshake 'expired'
broker_error pin /err/pin 502 upstream_cert handshake 'upstream_pin' \
    upstream="127.0.0.1:$P_EXP"
assert_audit_has "$AUDIT_N" "$(cut -d/ -f3 "$PKI/expired.pin" | cut -c1-20)"

broker_error refused /err/refused 502 upstream_refused connect 'upstream = HOST:PORT' \
    upstream="127.0.0.1:$P_DEAD"
REFUSED_CONN=$(audit_field "$AUDIT_N" conn)

# The SYN is dropped (the endpoint's accept queue is full): 504 after the
# route's 1s connect_timeout, not the kernel's minutes of SYN retries.
broker_error full /err/full 504 upstream_connect_timeout connect \
    'raise connect_timeout' upstream="127.0.0.1:$P_FULL"
[ "$ELAPSED" -ge 900 ] || fail "full answered after ${ELAPSED}ms, before its" \
    "1s connect_timeout"
[ "$ELAPSED" -lt 6000 ] || fail "full answered only after ${ELAPSED}ms"
broker_error dns /err/dns 502 upstream_dns dns 'did not resolve'

# ---- the endpoint fails inside its response ------------------------------------

# Content-Length 1000, 100 bytes, close: the head is out, so the client
# sees a truncated body and a closed connection; the audit says why.
answer web /truncate
assert_eq 18 "$CURL_RC" "curl exit for the truncated response (partial)"
assert_eq 200 "$STATUS" "status of /truncate"
assert_eq 100 "$(wc -c <"$TB_TMP/ans.body" | tr -d ' ')" "body bytes of /truncate"
expect_audit route=web path=/truncate status=200 close=upstream_closed \
    phase=response 'hint~closed before a full response' 'bytes_out~^1[0-9][0-9]$'

# 90 fields written "Name:value": valid, and each one grows by a byte on
# the way out ("Name: value"); the whole head must still go out.  The head
# is written into one reserved buffer, so the sizes sweep across the point
# where the reservation once came out too small (padding 13 here).
_pad=1
while [ "$_pad" -le 30 ]; do
	answer web "/nospace/$_pad"
	assert_eq 200 "$STATUS" "status of /nospace/$_pad ($BODY)"
	grep -q '^X-F89: v89' "$HDRS" ||
	    fail "last field of /nospace/$_pad: $(tail -n 3 "$HDRS")"
	assert_eq ok "$BODY" "body of /nospace/$_pad"
	expect_audit route=web path="/nospace/$_pad" status=200 close=ok
	_pad=$((_pad + 1))
done

# Two different Content-Length fields: invalid HTTP from the endpoint.
answer web /badcl
assert_eq 0 "$CURL_RC" "curl via /badcl: $(cat "$TB_TMP/curl.err")"
assert_eq 502 "$STATUS" "status of /badcl ($BODY)"
grep -q -i '^X-Broker-Error: upstream_bad_response' "$HDRS" ||
    fail "X-Broker-Error of /badcl: $(cat "$HDRS")"
printf '%s\n' "$BODY" | grep -q '^error: upstream_bad_response in response$' ||
    fail "error line of /badcl: $BODY"
expect_audit route=web path=/badcl status=502 close=upstream_bad_response \
    phase=response 'hint~invalid HTTP'

# ---- bad client requests ------------------------------------------------------------

# raw NAME TEXT [ARGS]: httpclient.py raw to web.broker.test; RAW holds its
# JSON.
raw()
{
	_n=$1
	_s=$2
	shift 2
	RAW=$(httpc raw --port "$BP" --host web.broker.test --timeout 10 \
	    --send "$_s" "$@") || fail "$_n: $RAW"
}

# web's route streams chunked bodies (upstream_chunked = yes), so the
# bad-chunk request below streams instead of being held.
answer web /warm
assert_eq 200 "$STATUS" "web before the bad client requests ($BODY)"
expect_audit route=web path=/warm status=200
_web_reqs=$(grep -c ' req [0-9]* ' "$(ep_log web)")

raw "CL+TE" "POST /smuggle HTTP/1.1\r\nHost: web.broker.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
assert_eq 400 "$(jget "$RAW" 'd["status"]')" "CL+TE: $RAW"
assert_eq bad_request "$(jget "$RAW" 'hdr("x-broker-error")')" "CL+TE X-Broker-Error"
assert_eq eof "$(jget "$RAW" 'd["end"]')" "CL+TE: closed after the answer"
expect_audit status=400 close=bad_request phase=request route! upstream! \
    "detail~Transfer-Encoding together with Content-Length"

raw "obs-fold" "GET /fold HTTP/1.1\r\nHost: web.broker.test\r\nX-A: a\r\n  folded\r\n\r\n"
assert_eq 400 "$(jget "$RAW" 'd["status"]')" "obs-fold: $RAW"
assert_eq bad_request "$(jget "$RAW" 'hdr("x-broker-error")')" "obs-fold X-Broker-Error"
expect_audit status=400 close=bad_request phase=request

raw "64 KiB head" "GET /big HTTP/1.1\r\nHost: web.broker.test\r\n\r\n" \
    --pad 65536
assert_eq 431 "$(jget "$RAW" 'd["status"]')" "head over 64 KiB: $RAW"
expect_audit status=431 close=bad_request phase=request

# A chunk size that is no hex number, after the head went to the endpoint:
# still a 400 for the client (nothing of an answer is out), and the
# endpoint's connection, holding half a request, is closed.
raw "bad chunk size" "POST /badchunk HTTP/1.1\r\nHost: web.broker.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
assert_eq 400 "$(jget "$RAW" 'd["status"]')" "bad chunk size: $RAW"
assert_eq bad_request "$(jget "$RAW" 'hdr("x-broker-error")')" \
    "bad chunk size X-Broker-Error"
assert_eq eof "$(jget "$RAW" 'd["end"]')" "bad chunk size: closed after the 400"
expect_audit status=400 close=bad_request phase=request route=web \
    upstream="127.0.0.1:$P_HTTP" "detail~invalid chunked request body"

# Half a head, then nothing: 408 after the listener's request_timeout (1s).
raw "slow head" "GET /slow HTTP/1.1\r\nHost: web.broker.test\r\nX-A: 1\r\n"
assert_eq 408 "$(jget "$RAW" 'd["status"]')" "slow head: $RAW"
assert_eq client_timeout "$(jget "$RAW" 'hdr("x-broker-error")')" \
    "slow head X-Broker-Error"
assert_eq eof "$(jget "$RAW" 'd["end"]')" "slow head: closed after the 408"
"$PYTHON" -c "import sys; t = float(sys.argv[1]); sys.exit(not 0.9 <= t < 5)" \
    "$(jget "$RAW" 'd["after"]')" ||
    fail "408 after $(jget "$RAW" 'd["after"]')s, not request_timeout's 1s"
expect_audit status=408 close=client_timeout phase=request
# Regression: the hint of a 408 once named idle_timeout (a route key that
# plays no part); the key to change is the listener's request_timeout
# (diag.c hint_client, CR_CLIENT_TIMEOUT outside the handshake).
audit_field "$AUDIT_N" hint | grep -q 'request_timeout' ||
    bug "the 408's hint does not name request_timeout:" \
    "$(audit_field "$AUDIT_N" hint)"

assert_eq "$_web_reqs" "$(grep -c ' req [0-9]* ' "$(ep_log web)")" \
    "requests the endpoint got from the bad client requests"

# No route for this Host on the listener.
answer web /x -H 'Host: nowhere.broker.test'
assert_eq 404 "$STATUS" "status without a route ($BODY)"
grep -q -i '^X-Broker-Error: no_route' "$HDRS" ||
    fail "X-Broker-Error without a route: $(cat "$HDRS")"
assert_eq - "$(body_line route)" "route in the no_route body"
expect_audit status=404 close=no_route phase=route route! upstream! \
    'hint~add a \[route\]'

# A chunked body for the HTTP/1.0 endpoint is held up to max_buffered_body
# (64k): 8 MB gets 413 and never reaches the endpoint.  curl is still
# sending when the broker answers.
head -c 8000000 /dev/zero >"$TB_TMP/big.bin"
answer old /held -H 'Transfer-Encoding: chunked' -H 'Expect:' \
    --data-binary @"$TB_TMP/big.bin"
HELD_STATUS=$STATUS
HELD_ERR="curl exit $CURL_RC: $(cat "$TB_TMP/curl.err")"
expect_audit route=old method=POST path=/held status=413 close=bad_request \
    'detail~max_buffered_body'
assert_eq 0 "$(ep_conns old)" "connections the HTTP/1.0 endpoint got"

stop_broker
tbutil jsoncheck "$AUDIT" || fail "audit log has lines that are not JSON"
assert_eq "$AUDIT_N" "$(wc -l <"$AUDIT" | tr -d ' ')" "audit records"

# ---- checked last: see the regression notes -------------------------------------

# Regression: after an error answer the broker once closed the client
# connection at once, with the rest of the request body unread, so the
# kernel reset it; a client still sending (curl, .NET) then failed with a
# send error and never read the 413 -- "a bare reset when an answer is
# still possible".  Fixed by a lingering close (shut down writing, drain
# the input for a bounded time), as nginx does.
[ "$HELD_STATUS" = 413 ] ||
    bug "the client did not receive the 413 for a held body over" \
    "max_buffered_body (status '$HELD_STATUS', $HELD_ERR)"

# Regression: the connection's summary line in the operational log once
# said close=ok after a 502: the error hx_fail_status() keeps for it was
# cleared again by its session_close(s, NULL).
grep "info: conn=$REFUSED_CONN route=refused client=" "$BROKER_LOG" |
    grep -q ' close=upstream_refused ' ||
    bug "summary line of the refused connection: $(grep \
    "conn=$REFUSED_CONN route=refused client=" "$BROKER_LOG")"
bugs_check
