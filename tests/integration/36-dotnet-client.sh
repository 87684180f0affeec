#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The ERP's own client against the real daemon: a C# program compiled at
# test time with Mono's mcs (tests/dotnet/ErpClient.cs) makes the calls an
# X++ class makes, with System.Net.HttpWebRequest and HttpClient.  SOAP
# POSTs (text/xml, SOAPAction, Expect: 100-continue, keep-alive) from
# several threads are echoed byte for byte by nginx speaking only TLS 1.0,
# reach a plain HTTP/1.1 endpoint and one that closes after every answer
# (HTTP/1.0) intact, over few kept-alive client connections; failing
# endpoints give the .NET caller a 502 or 504 whose X-Broker-Error it reads
# from the WebException's Response; an IP-literal URL (no SNI, as Schannel
# sends none for it) gets the listener's default certificate and is routed
# by Host, for Mono and curl alike.

. "$(dirname "$0")/lib.sh"
. "$TB_SRC/../dotnet/dotnet.sh"

need_cmd curl
need_mono
make_pki
make_server_cert localhost localhost "DNS:localhost,IP:127.0.0.1"
mono_trust "$PKI/ca.pem"

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 5)
BP=$1 P_NGX=$2 P_APP=$3 P_OLD=$4 P_DOWN=$5

start_nginx ngx "$P_NGX" 60s "location = /ngx/echo {
		default_type text/xml;
		echo_read_request_body;
		echo_request_body;
	}"
start_httpd app "$P_APP"		# HTTP/1.1 keep-alive, ignores Expect
start_httpd old "$P_OLD" --http10	# closes after every answer
# P_DOWN: nothing listens there

{
	# the first certificate is the default: what a ClientHello without
	# SNI gets
	ini_preamble "$BP" -- "cert=$PKI/localhost-full.pem $PKI/other-full.pem"
	cat <<EOF

[route ngx]
host = localhost
path = /ngx/
upstream = 127.0.0.1:$P_NGX
upstream_tls = 1.0
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

[route app]
host = localhost
path = /app/
upstream = 127.0.0.1:$P_APP
upstream_tls = off

[route old]
host = localhost
path = /old/
upstream = 127.0.0.1:$P_OLD
upstream_tls = off

[route down]
host = localhost
path = /down/
upstream = 127.0.0.1:$P_DOWN
upstream_tls = off

[route slow]
host = localhost
path = /hang
upstream = 127.0.0.1:$P_APP
upstream_tls = off
response_timeout = 2s

; an IP-literal URL: no SNI, so the Host header alone routes it
[route iplit]
host = 127.0.0.1
upstream = 127.0.0.1:$P_APP
upstream_tls = off
EOF
} >"$TB_TMP/broker.ini"
start_broker "$TB_TMP/broker.ini"
U="https://localhost:$BP"

# distinct_conns FIRST LAST ROUTE: client connections that carried ROUTE's
# requests among audit lines FIRST..LAST.
distinct_conns()
{
	sed -n "$1,$2p" "$AUDIT" | "$PYTHON" -c '
import json, sys
print(len({json.loads(l)["conn"] for l in sys.stdin if json.loads(l).get("route") == sys.argv[1]}))' "$3"
}

audit_lines()
{
	wc -l <"$AUDIT" | tr -d ' '
}

# ---- 1. SOAP through TLS 1.0, echoed byte for byte, 4 threads ---------------

# ServicePoint's default outside ASP.NET: 2 connections per host.
erpc_ok soap "$U/ngx/echo" --count 24 --threads 4 --conn-limit 2 --size 20000 \
    --check echo
assert_eq 24 "$(erpc_last ok)" "SOAP calls echoed byte for byte through TLS 1.0"
wait_audit 24
assert_eq 24 "$(audit_count 1 24 route=ngx method=POST status=200 up_tls=TLSv1 close=ok)" \
    "audit records of the echoed calls"
_n=$(distinct_conns 1 24 ngx)
[ "$_n" -ge 1 ] && [ "$_n" -le 2 ] ||
    fail "24 calls with ServicePoint's 2 connections came on $_n client connections"
note "24 SOAP calls from 4 threads rode $_n kept-alive client connection(s)"

# ---- 2. a plain HTTP/1.1 endpoint and one that closes after every answer ------

erpc_ok soap "$U/app/soap" --count 10 --threads 2 --check sha256
grep -q " POST /app/soap len=2048 .* expect=100-continue" "$(ep_log app)" ||
    fail "the app endpoint did not get Mono's Expect: 100-continue POSTs"
_before=$(ep_conns old)
erpc_ok soap "$U/old/soap" --count 6 --threads 1 --check sha256
assert_eq $((_before + 6)) "$(ep_conns old)" "HTTP/1.0 endpoint: a connection per call"
wait_audit 40
assert_eq 10 "$(audit_count 25 40 route=app status=200 close=ok)" "app calls"
assert_eq 6 "$(audit_count 25 40 route=old status=200 close=ok)" "old calls"
assert_eq 1 "$(distinct_conns 25 40 old)" \
    "the client kept one connection while the endpoint closed each of its own"

# ---- 3. HttpClient ---------------------------------------------------------------

erpc_ok httpclient "$U/ngx/echo" --count 5 --size 5000 --check echo
assert_eq 5 "$(erpc_last ok)" "HttpClient calls echoed"
wait_audit 45

# ---- 4. what .NET gets from failing endpoints -------------------------------------

erpc_ok soap "$U/down/soap" --want 502
assert_eq upstream_refused "$(jget "$(printf '%s\n' "$ERPC_OUT" | head -n 1)" broker_error)" \
    "X-Broker-Error read from the WebException's Response (502)"
assert_contains "$ERPC_OUT" "ProtocolError" "a 502 is a ProtocolError WebException"
erpc_ok soap "$U/hang" --want 504
assert_eq upstream_timeout "$(jget "$(printf '%s\n' "$ERPC_OUT" | head -n 1)" broker_error)" \
    "X-Broker-Error read from the WebException's Response (504)"
erpc_ok httpclient "$U/down/soap" --want 502
assert_eq upstream_refused "$(jget "$(printf '%s\n' "$ERPC_OUT" | head -n 1)" broker_error)" \
    "HttpClient: X-Broker-Error of the 502"
wait_audit 48
assert_audit 46 route=down status=502 close=upstream_refused
assert_audit 47 route=slow status=504 close=upstream_timeout
assert_audit 48 route=down status=502 close=upstream_refused

# ---- 5. an IP-literal URL: no SNI, default certificate, routed by Host -----------

# Schannel sends no SNI for an IP-literal URL; ErpClient fx --no-sni does
# the same.  Mono's HttpWebRequest sends the IP as SNI (RFC 6066 forbids
# it), which matches no certificate name either: both get the default
# certificate and are routed by Host.
erpc_ok fx "https://127.0.0.1:$BP/x" --no-sni --count 2 --check sha256
erpc_ok soap "https://127.0.0.1:$BP/x" --count 2 --check sha256
wait_audit 52
assert_eq 2 "$(audit_count 49 52 route=iplit status=200 sni! close=ok)" \
    "IP-literal calls without SNI, routed by Host to iplit"
assert_eq 2 "$(audit_count 49 52 route=iplit status=200 sni=127.0.0.1 close=ok)" \
    "Mono's IP-literal calls, routed by Host to iplit"
curl_get "https://127.0.0.1:$BP/plain"
assert_eq 0 "$CURL_RC" "curl to https://127.0.0.1 ($CURL_ERR)"
assert_contains "$CURL_OUT" '"target": "/plain"' "curl's answer came from app"
wait_audit 53
assert_audit 53 route=iplit status=200 sni! close=ok
# the certificate a ClientHello without SNI gets is the first one
_subj=$(printf 'Q\n' | timeout 20 openssl s_client -connect "127.0.0.1:$BP" \
    -noservername 2>/dev/null | sed -n 's/^subject=//p')
assert_contains "$_subj" "CN = localhost" "the default certificate without SNI"
_subj=$(printf 'Q\n' | timeout 20 openssl s_client -connect "127.0.0.1:$BP" \
    -servername other.test 2>/dev/null | sed -n 's/^subject=//p')
assert_contains "$_subj" "CN = other.test" "the certificate chosen by SNI"

stop_broker
