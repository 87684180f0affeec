#!/bin/sh
# SPDX-License-Identifier: MIT
#
# upstream_proxy: routes reach their endpoints through real forward proxies
# on 127.0.0.1 with CONNECT.  squid (no auth) carries the broker's TLS 1.0
# handshake to an s_server that only speaks TLS 1.0, and plain HTTP to an
# origin; its ACL refuses another port (403, proxy_forbidden) and it answers
# 503 for a dead endpoint (proxy_bad_gateway).  tinyproxy with Basic auth
# lets good credentials through and answers 407 to wrong or missing ones
# (proxy_auth, hint naming upstream_proxy_auth).  A proxy port with nothing
# listening is proxy_refused; a proxy that accepts and never answers is
# proxy_timeout after upstream_proxy_timeout.  The credentials never reach
# the broker's log, the audit log or -t output.

. "$(dirname "$0")/lib.sh"

need_cmd curl
[ -x /usr/sbin/squid ] || skip "squid not installed"
need_cmd tinyproxy
make_pki

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 9)
BP=$1 P_SQUID=$2 P_TINY=$3 P_TLS10=$4 P_WEB=$5 P_DENIED=$6 P_DEAD=$7
P_NOPROXY=$8 P_BH=$9

start_ep_tls10 tls10 "$P_TLS10"
start_httpd web "$P_WEB"
start_httpd denied "$P_DENIED"
start_ep_blackhole bh "$P_BH"
! port_listening "$P_DEAD" || hard_error "port $P_DEAD unexpectedly in use"
! port_listening "$P_NOPROXY" || hard_error "port $P_NOPROXY unexpectedly in use"

start_squid squid "$P_SQUID" "$P_TLS10" "$P_WEB" "$P_DEAD"
SQ="$TB_TMP/squid"
SQUID_PID=$(ep_pid squid)
start_tinyproxy tiny "$P_TINY" tbuser s3cr3t-Pa55

printf 'tbuser:s3cr3t-Pa55\n' >"$TB_TMP/good.cred"
printf 'tbuser:wrong-Pa55\n' >"$TB_TMP/bad.cred"
chmod 600 "$TB_TMP/good.cred" "$TB_TMP/bad.cred"

{
	ini_preamble "$BP" workers=1
	cat <<INIEOF

[route tls10]
host = tls10.broker.test
upstream = 127.0.0.1:$P_TLS10
upstream_proxy = http://127.0.0.1:$P_SQUID
upstream_tls = 1.0
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

[route web]
host = web.broker.test
upstream = 127.0.0.1:$P_WEB
upstream_proxy = http://127.0.0.1:$P_SQUID/
upstream_tls = off

[route denied]
host = denied.broker.test
upstream = 127.0.0.1:$P_DENIED
upstream_proxy = http://127.0.0.1:$P_SQUID
upstream_tls = off

[route dead]
host = dead.broker.test
upstream = 127.0.0.1:$P_DEAD
upstream_proxy = http://127.0.0.1:$P_SQUID
upstream_tls = off

[route authok]
host = authok.broker.test
upstream = 127.0.0.1:$P_TLS10
upstream_proxy = http://127.0.0.1:$P_TINY
upstream_proxy_auth = $TB_TMP/good.cred
upstream_tls = 1.0
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

[route authbad]
host = authbad.broker.test
upstream = 127.0.0.1:$P_WEB
upstream_proxy = http://127.0.0.1:$P_TINY
upstream_proxy_auth = $TB_TMP/bad.cred
upstream_tls = off

[route authnone]
host = authnone.broker.test
upstream = 127.0.0.1:$P_WEB
upstream_proxy = http://127.0.0.1:$P_TINY
upstream_tls = off

[route noproxy]
host = noproxy.broker.test
upstream = 127.0.0.1:$P_WEB
upstream_proxy = http://127.0.0.1:$P_NOPROXY
upstream_tls = off

[route silent]
host = silent.broker.test
upstream = 127.0.0.1:$P_WEB
upstream_proxy = http://127.0.0.1:$P_BH
upstream_proxy_timeout = 1s
upstream_tls = off
INIEOF
} >"$TB_TMP/broker.ini"

broker_check "$TB_TMP/broker.ini"
assert_eq 0 "$CHECK_RC" "tlsbroker -t: $(cat "$CHECK_ERR")"
start_broker "$TB_TMP/broker.ini"

RES=""
for _h in tls10 web denied dead authok authbad authnone noproxy silent; do
	RES="$RES --resolve $_h.broker.test:$BP:127.0.0.1"
done

# get ROUTE PATH: curl https://ROUTE.broker.test/PATH; sets STATUS, HDRS
# (file, without CRs), BODY.
get()
{
	CURL_RC=0
	# shellcheck disable=SC2086
	STATUS=$(timeout 30 curl -sS --cacert "$PKI/ca.pem" $RES \
	    -D "$TB_TMP/ans.hdr" -o "$TB_TMP/ans.body" -w '%{http_code}' \
	    "https://$1.broker.test:$BP$2" 2>"$TB_TMP/curl.err") || CURL_RC=$?
	HDRS="$TB_TMP/ans.hdrs"
	tr -d '\r' <"$TB_TMP/ans.hdr" >"$HDRS" 2>/dev/null || : >"$HDRS"
	BODY=$(cat "$TB_TMP/ans.body" 2>/dev/null || true)
	assert_eq 0 "$CURL_RC" "curl via $1: $(cat "$TB_TMP/curl.err")"
}

# proxy_error ROUTE STATUS CODE HINT_RE: the broker's own answer names the
# proxy's refusal and a hint; the audit record agrees.
proxy_error()
{
	get "$1" /err
	assert_eq "$2" "$STATUS" "status via $1 (body: $BODY)"
	grep -q -i "^X-Broker-Error: $3\$" "$HDRS" ||
	    fail "X-Broker-Error via $1, expected $3: $(cat "$HDRS")"
	printf '%s\n' "$BODY" | grep -E -q -- "hint: .*$4" ||
	    fail "hint via $1 does not match /$4/: $BODY"
	expect_audit route="$1" status="$2" close="$3" phase=connect "hint~$4"
}

# ---- tunnels that work ---------------------------------------------------------

get tls10 /
assert_eq 200 "$STATUS" "tls10 through squid (body: $BODY)"
assert_contains "$BODY" "Protocol  : TLSv1
" "the endpoint saw TLS 1.0"
expect_audit route=tls10 status=200 close=ok up_tls=TLSv1

get web /plain
assert_eq 200 "$STATUS" "plain HTTP through squid (body: $BODY)"
assert_eq /plain "$(jget "$BODY" 'd["target"]')" "target seen by the origin"
expect_audit route=web status=200 close=ok up_tls=plain

get authok /
assert_eq 200 "$STATUS" "tls10 through tinyproxy with Basic auth (body: $BODY)"
assert_contains "$BODY" "Protocol  : TLSv1
" "the endpoint saw TLS 1.0 (auth)"
expect_audit route=authok status=200 close=ok up_tls=TLSv1

# ---- the proxy says no -----------------------------------------------------------

proxy_error authbad 502 proxy_auth 'upstream_proxy_auth'
proxy_error authnone 502 proxy_auth 'upstream_proxy_auth'
proxy_error denied 502 proxy_forbidden 'CONNECT'
[ "$(ep_conns denied)" = 0 ] || fail "the refused destination got a connection"
proxy_error dead 502 proxy_bad_gateway 'as the proxy sees it'
proxy_error noproxy 502 proxy_refused 'upstream_proxy'
proxy_error silent 504 proxy_timeout 'upstream_proxy_timeout'

# ---- the credentials stay secret ---------------------------------------------------

B64=$(printf 'tbuser:s3cr3t-Pa55' | base64)
for _f in "$BROKER_LOG" "$AUDIT" "$CHECK_OUT" "$CHECK_ERR"; do
	! grep -q -e 's3cr3t' -e 'wrong-Pa55' -e "$B64" "$_f" ||
	    fail "credentials in $_f"
done

# A credentials file that is no user:password fails -t without quoting it.
printf 'just-a-password\n' >"$TB_TMP/nocolon.cred"
sed "s|$TB_TMP/bad.cred|$TB_TMP/nocolon.cred|" "$TB_TMP/broker.ini" \
    >"$TB_TMP/bad.ini"
broker_check "$TB_TMP/bad.ini"
assert_eq 1 "$CHECK_RC" "-t with a credentials file without ':'"
grep -q "upstream_proxy_auth: .*user:password" "$CHECK_ERR" ||
    fail "-t does not name the rule: $(cat "$CHECK_ERR")"
! grep -q "just-a-password" "$CHECK_ERR" || fail "-t quotes the credentials"

stop_broker
# squid logs a tunnel when it closes: the broker's pooled ones just did.
for _p in "$P_TLS10" "$P_WEB"; do
	_out=$(tbutil waitgrep "$SQ/access.log" "CONNECT 127.0.0.1:$_p " \
	    --timeout 10 --pid "$SQUID_PID") ||
	    fail "squid logged no tunnel to port $_p: $_out"
	grep -E -q "TCP_TUNNEL/200 .* CONNECT 127.0.0.1:$_p " "$SQ/access.log" ||
	    fail "squid's tunnel to port $_p: $(cat "$SQ/access.log")"
done
grep -q "TCP_DENIED/403 .* CONNECT 127.0.0.1:$P_DENIED " "$SQ/access.log" ||
    fail "squid logged no refused CONNECT: $(cat "$SQ/access.log")"
stop_ep tiny
stop_ep squid
