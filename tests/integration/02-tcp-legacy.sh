#!/bin/sh
# SPDX-License-Identifier: MIT
#
# tcp routes from an inbound TLS 1.2/1.3 client to each legacy endpoint type
# of endpoints/endpoints.sh, with the route options that endpoint needs.  Every route
# is reached through one listener and picked by SNI (ROUTE.broker.test).
# Clients: curl --tlsv1.2 (max 1.2), curl --tlsv1.3, openssl s_client -tls1_2.
# Expect: the endpoint's page, and an audit record with close=ok, the
# inbound version in `tls` and the upstream one in `up_tls`.

. "$(dirname "$0")/lib.sh"

need_cmd curl
make_pki

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 12)
BP=$1 P_TLS10=$2 P_TLS11=$3 P_RSAKX=$4 P_NR10=$5 P_NR12=$6 P_DHE=$7
P_EXP=$8 P_WEAK=$9
shift 9
P_HTTP=$1 P_T12P=$2

start_ep_tls10 tls10 "$P_TLS10"
start_ep_tls11 tls11 "$P_TLS11"
start_ep_tls10_rsakx rsakx "$P_RSAKX"
start_ep_noreneg10 nr10 "$P_NR10"
start_ep_noreneg12 nr12 "$P_NR12"
start_ep_dhe1024 dhe "$P_DHE"
start_ep_expired expired "$P_EXP"
start_ep_weakcert weak "$P_WEAK"
start_ep_http http "$P_HTTP"
start_ep_tls12plus t12p "$P_T12P"

{
	ini_preamble "$BP" workers=2 drain_timeout=2s
	cat <<EOF

; a-tls10-cbc: the route's floor is 1.0, so security level 0 by default
[route tls10]
mode = tcp
host = tls10.broker.test
upstream = 127.0.0.1:$P_TLS10
upstream_tls = 1.0
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

; the same endpoint through a range whose top it does not speak
[route range]
mode = tcp
host = range.broker.test
upstream = 127.0.0.1:$P_TLS10
upstream_tls = 1.0-1.2
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

[route tls11]
mode = tcp
host = tls11.broker.test
upstream = 127.0.0.1:$P_TLS11
upstream_tls = 1.1
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

; c2-tls10-rsakx: plain RSA key exchange works at level 2
[route rsakx]
mode = tcp
host = rsakx.broker.test
upstream = 127.0.0.1:$P_RSAKX
upstream_tls = 1.0
upstream_ciphers = AES128-SHA
upstream_security_level = 2
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

; d1-tls10-noreneg (GnuTLS, no RFC 5746)
[route nr10]
mode = tcp
host = nr10.broker.test
upstream = 127.0.0.1:$P_NR10
upstream_tls = 1.0
upstream_legacy_renegotiation = yes
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

; d2-tls12-noreneg: only the renegotiation setting, default level
[route nr12]
mode = tcp
host = nr12.broker.test
upstream = 127.0.0.1:$P_NR12
upstream_tls = 1.2
upstream_legacy_renegotiation = yes
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

; e1-tls10-dhe1024: level 0 (the default for a 1.0 floor)
[route dhe10]
mode = tcp
host = dhe10.broker.test
upstream = 127.0.0.1:$P_DHE
upstream_tls = 1.0
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

; e2-tls12-dhe1024: level 1 admits DH-1024
[route dhe12]
mode = tcp
host = dhe12.broker.test
upstream = 127.0.0.1:$P_DHE
upstream_tls = 1.2
upstream_security_level = 1
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

; f-tls12-expired: expired self-signed, reached by its SPKI pin
[route expired]
mode = tcp
host = expired.broker.test
upstream = 127.0.0.1:$P_EXP
upstream_tls = 1.2
upstream_pin = $(cat "$PKI/expired.pin")

; e3-tls12-weakcert: RSA-1024/SHA-1 leaf, verified at level 0
[route weak]
mode = tcp
host = weak.broker.test
upstream = 127.0.0.1:$P_WEAK
upstream_tls = 1.2
upstream_security_level = 0
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

; h3-tls12plus with the default range (1.2-1.3): TLS 1.3 upstream
[route t12p]
mode = tcp
host = t12p.broker.test
upstream = 127.0.0.1:$P_T12P
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

; plain HTTP endpoint
[route plain]
mode = tcp
host = plain.broker.test
upstream = 127.0.0.1:$P_HTTP
upstream_tls = off
EOF
} >"$TB_TMP/broker.ini"

start_broker "$TB_TMP/broker.ini"

# check_route ROUTE UPSTREAM_PORT BODY UP_TLS [AUDIT_SPEC...]: the three
# clients through ROUTE; each must get BODY and leave an audit record with
# close=ok and up_tls=UP_TLS (plus AUDIT_SPEC).
check_route()
{
	_r=$1
	_up=$2
	_body=$3
	_uptls=$4
	shift 4
	_h="$_r.broker.test"

	for _v in 1.2 1.3; do
		curl_get "https://$_h:$BP/" --resolve "$_h:$BP:127.0.0.1" \
		    --tlsv$_v --tls-max $_v -w '\nstatus=%{http_code}'
		assert_eq 0 "$CURL_RC" "curl TLS $_v via route $_r: $CURL_ERR"
		assert_contains "$CURL_OUT" "$_body" "curl TLS $_v via route $_r"
		assert_contains "$CURL_OUT" "status=200" "curl TLS $_v via $_r"
		expect_audit close=ok tls="TLSv$_v" up_tls="$_uptls" \
		    route="$_r" sni="$_h" upstream="127.0.0.1:$_up" \
		    'client~^127\.0\.0\.1:[0-9]+$' listener=erp \
		    'bytes_in~^[1-9][0-9]*$' 'bytes_out~^[1-9][0-9]*$' "$@"
	done

	s_client_get "$BP" -tls1_2 -servername "$_h" -CAfile "$PKI/ca.pem" \
	    -verify_return_error -verify_hostname "$_h"
	assert_eq 0 "$SC_RC" "s_client -tls1_2 via route $_r: $SC_OUT"
	assert_contains "$SC_OUT" "$_body" "s_client -tls1_2 via route $_r"
	assert_contains "$SC_OUT" " 200 " "s_client -tls1_2 via route $_r"
	expect_audit close=ok tls=TLSv1.2 up_tls="$_uptls" route="$_r" \
	    sni="$_h" upstream="127.0.0.1:$_up" "$@"
}

# s_server -www pages name the protocol the endpoint negotiated.
NL='
'
check_route tls10 "$P_TLS10" "Protocol  : TLSv1$NL" TLSv1
check_route range "$P_TLS10" "Protocol  : TLSv1$NL" TLSv1
check_route tls11 "$P_TLS11" "Protocol  : TLSv1.1$NL" TLSv1.1
check_route rsakx "$P_RSAKX" "Cipher    : AES128-SHA$NL" TLSv1 \
    up_cipher=AES128-SHA
check_route nr10 "$P_NR10" "hello from nr10" TLSv1
check_route nr12 "$P_NR12" "hello from nr12" TLSv1.2
check_route dhe10 "$P_DHE" "Cipher    : DHE-RSA-AES128-SHA$NL" TLSv1 \
    'up_cipher~^DHE-RSA-'
check_route dhe12 "$P_DHE" "Cipher    : DHE-RSA-AES128-GCM-SHA256$NL" \
    TLSv1.2 'up_cipher~^DHE-RSA-'
check_route expired "$P_EXP" "Protocol  : TLSv1.2$NL" TLSv1.2
check_route weak "$P_WEAK" "Protocol  : TLSv1.2$NL" TLSv1.2
check_route t12p "$P_T12P" "Protocol  : TLSv1.3$NL" TLSv1.3
check_route plain "$P_HTTP" "hello from http" plain

assert_eq 3 "$(ep_conns http)" "connections the plain endpoint saw"
stop_broker
tbutil jsoncheck "$AUDIT" || fail "audit log has lines that are not JSON"
assert_eq "$AUDIT_N" "$(wc -l <"$AUDIT" | tr -d ' ')" "audit records"
