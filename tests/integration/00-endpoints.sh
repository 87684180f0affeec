#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Self-check of the test endpoints against stock clients (no broker): each
# legacy endpoint fails with the baseline client as the comment on its
# launcher in endpoints/endpoints.sh says and works with the minimal setting, and the Python endpoints speak their
# protocols.  If this fails, the other integration tests cannot be trusted.

. "$(dirname "$0")/lib.sh"

make_pki
CA="$PKI/ca.pem"
BASE="-servername localhost -CAfile $CA -verify_return_error -verify_hostname localhost"

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 14)
P_TLS10=$1 P_TLS11=$2 P_RSAKX=$3 P_DHE=$4 P_EXP=$5 P_WEAK=$6 P_T12P=$7
P_NR10=$8 P_NR12=$9
shift 9
P_HASH=$1 P_HTLS=$2 P_HTTP=$3 P_RST=$4 P_BH=$5

start_ep_tls10 tls10 "$P_TLS10"
start_ep_tls11 tls11 "$P_TLS11"
start_ep_tls10_rsakx rsakx "$P_RSAKX"
start_ep_dhe1024 dhe "$P_DHE"
start_ep_expired expired "$P_EXP"
start_ep_weakcert weak "$P_WEAK"
start_ep_tls12plus t12p "$P_T12P"
start_ep_noreneg10 nr10 "$P_NR10"
start_ep_noreneg12 nr12 "$P_NR12"
start_ep_hash hash "$P_HASH"
start_ep_hash_tls10 hashtls "$P_HTLS"
start_ep_http http "$P_HTTP"
start_ep_rst rst "$P_RST"
start_ep_blackhole bh "$P_BH"

# expect_sc_fail PORT ERROR ARGS...: s_client fails and prints ERROR.
expect_sc_fail()
{
	_p=$1
	_e=$2
	shift 2
	s_client_get "$_p" "$@"
	[ "$SC_RC" -ne 0 ] || fail "s_client $* to :$_p succeeded; wanted '$_e'"
	assert_contains "$SC_OUT" "$_e" "s_client $* to :$_p"
}

# expect_sc_ok PORT PROTO BODY ARGS...: s_client gets a page that says PROTO
# (s_server -www "Protocol  : X") or contains BODY.
expect_sc_ok()
{
	_p=$1
	_v=$2
	_b=$3
	shift 3
	s_client_get "$_p" "$@"
	[ "$SC_RC" -eq 0 ] || fail "s_client $* to :$_p failed: $SC_OUT"
	assert_contains "$SC_OUT" "Protocol  : $_v" "s_client $* to :$_p"
	assert_contains "$SC_OUT" "$_b" "s_client $* to :$_p"
}

# a-tls10-cbc
# shellcheck disable=SC2086
expect_sc_fail "$P_TLS10" "legacy sigalg disallowed or unsupported" $BASE
# shellcheck disable=SC2086
expect_sc_ok "$P_TLS10" TLSv1 "HTTP/1.0 200 ok" $BASE -cipher 'DEFAULT:@SECLEVEL=0'
# shellcheck disable=SC2086
expect_sc_ok "$P_TLS10" TLSv1 "Cipher    : AES128-SHA" $BASE -cipher 'AES128-SHA:AES256-SHA'
curl_get "https://localhost:$P_TLS10/"
assert_eq 35 "$CURL_RC" "curl baseline to tls10"
assert_contains "$CURL_ERR" "legacy sigalg disallowed or unsupported"

# b-tls11-cbc
# shellcheck disable=SC2086
expect_sc_fail "$P_TLS11" "legacy sigalg disallowed or unsupported" $BASE
# shellcheck disable=SC2086
expect_sc_ok "$P_TLS11" TLSv1.1 "HTTP/1.0 200 ok" $BASE -cipher 'DEFAULT:@SECLEVEL=0'

# c2-tls10-rsakx: the baseline works, at level 2 with verification on.
# shellcheck disable=SC2086
expect_sc_ok "$P_RSAKX" TLSv1 "Cipher    : AES" $BASE
# shellcheck disable=SC2086
expect_sc_ok "$P_RSAKX" TLSv1 "Cipher    : AES128-SHA" $BASE -cipher AES128-SHA
# shellcheck disable=SC2086
expect_sc_fail "$P_RSAKX" "alert handshake failure" $BASE -cipher 'ECDHE:@SECLEVEL=0'

# e1/e2 dhe1024
# shellcheck disable=SC2086
expect_sc_fail "$P_DHE" "dh key too small" $BASE
# shellcheck disable=SC2086
expect_sc_fail "$P_DHE" "dh key too small" $BASE -tls1_2
# shellcheck disable=SC2086
expect_sc_ok "$P_DHE" TLSv1.2 "DHE-RSA-AES128-GCM-SHA256" $BASE -cipher 'DEFAULT:@SECLEVEL=1'
# shellcheck disable=SC2086
expect_sc_ok "$P_DHE" TLSv1 "DHE-RSA-AES128-SHA" $BASE -tls1 -cipher 'DEFAULT:@SECLEVEL=0'
curl_get "https://localhost:$P_DHE/"
assert_eq 35 "$CURL_RC" "curl baseline to dhe"
assert_contains "$CURL_ERR" "dh key too small"

# f-tls12-expired: verification fails; the pin is the way in.
# shellcheck disable=SC2086
expect_sc_fail "$P_EXP" "self-signed certificate" $BASE
curl_get "https://localhost:$P_EXP/"
assert_eq 60 "$CURL_RC" "curl baseline to expired"
curl_get "https://localhost:$P_EXP/" -k --pinnedpubkey "$(cat "$PKI/expired.pin")"
assert_eq 0 "$CURL_RC" "curl -k --pinnedpubkey to expired: $CURL_ERR"
assert_contains "$CURL_OUT" "Protocol  : TLSv1.2"
curl_get "https://localhost:$P_EXP/" -k --pinnedpubkey "$(cat "$PKI/wrong.pin")"
assert_eq 90 "$CURL_RC" "curl with the wrong pin to expired"
s_client_get "$P_EXP" -CAfile "$PKI/expired.pem" -verify_return_error
assert_contains "$SC_OUT" "certificate has expired" "expired cert as its own CA"

# e3-tls12-weakcert
# shellcheck disable=SC2086
expect_sc_fail "$P_WEAK" "EE certificate key too weak" $BASE
# shellcheck disable=SC2086
expect_sc_ok "$P_WEAK" TLSv1.2 "HTTP/1.0 200 ok" $BASE -cipher 'DEFAULT:@SECLEVEL=0'

# h3-tls12plus: the baseline gets TLS 1.3; a TLS 1.0-pinned client alert 70.
# shellcheck disable=SC2086
expect_sc_ok "$P_T12P" TLSv1.3 "HTTP/1.0 200 ok" $BASE
# shellcheck disable=SC2086
expect_sc_fail "$P_T12P" "alert protocol version" $BASE -tls1 -cipher 'DEFAULT:@SECLEVEL=0'

# d1-tls10-noreneg (lighttpd + GnuTLS)
# shellcheck disable=SC2086
expect_sc_fail "$P_NR10" "unsafe legacy renegotiation disabled" $BASE
# shellcheck disable=SC2086
expect_sc_fail "$P_NR10" "legacy sigalg disallowed or unsupported" $BASE -legacy_server_connect
# shellcheck disable=SC2086
s_client_get "$P_NR10" $BASE -legacy_server_connect -cipher 'DEFAULT:@SECLEVEL=0'
[ "$SC_RC" -eq 0 ] || fail "s_client sec0+lsc to noreneg10: $SC_OUT"
assert_contains "$SC_OUT" "hello from nr10"
assert_contains "$SC_OUT" "Protocol  : TLSv1
" "noreneg10 protocol"
curl_get "https://localhost:$P_NR10/"
assert_eq 35 "$CURL_RC" "curl baseline to noreneg10"
assert_contains "$CURL_ERR" "unsafe legacy renegotiation disabled"

# d2-tls12-noreneg
# shellcheck disable=SC2086
expect_sc_fail "$P_NR12" "unsafe legacy renegotiation disabled" $BASE
# shellcheck disable=SC2086
s_client_get "$P_NR12" $BASE -legacy_server_connect
[ "$SC_RC" -eq 0 ] || fail "s_client lsc to noreneg12: $SC_OUT"
assert_contains "$SC_OUT" "hello from nr12"
assert_contains "$SC_OUT" "Protocol  : TLSv1.2"

# hash endpoint, plain and TLS 1.0
client_ok upload 1000 --plain --port "$P_HASH"
client_ok download 100000 --plain --port "$P_HASH" --seed 7
client_ok halfclose 5000 --plain --port "$P_HASH"
client_ok who --plain --port "$P_HASH"
assert_eq hash "$(jget "$CLIENT_OUT" name)" "hash endpoint name"
client_ok upload 100000 --port "$P_HTLS" --sni localhost --tls 1.0 \
    --ciphers 'DEFAULT:@SECLEVEL=0'
assert_eq TLSv1 "$(jget "$CLIENT_OUT" tls)" "hash TLS endpoint version"
client_fail upload 10 --port "$P_HTLS" --sni localhost
client_ok halfclose 70000 --port "$P_HTLS" --sni localhost --tls 1.0 \
    --ciphers 'DEFAULT:@SECLEVEL=0'
assert_eq close_notify "$(jget "$CLIENT_OUT" end)" "TLS half-close end"
# pyserver logs one line per command it completed
grep -q ": U 1000 " "$(ep_log hash)" || fail "hash endpoint did not log U"
grep -q ": H EOF after 70000 " "$(ep_log hashtls)" ||
    fail "TLS hash endpoint did not see the half-close"

# plain HTTP endpoint
curl_get "http://127.0.0.1:$P_HTTP/x"
assert_eq 0 "$CURL_RC" "curl to http endpoint: $CURL_ERR"
assert_eq "hello from http" "$CURL_OUT"

# h1-rst-after-hello
# shellcheck disable=SC2086
expect_sc_fail "$P_RST" "errno=104" $BASE
curl_get "https://localhost:$P_RST/"
assert_eq 35 "$CURL_RC" "curl to rst"
assert_contains "$CURL_ERR" "Connection reset by peer"

# h2-blackhole
curl_get "https://localhost:$P_BH/" --max-time 1
assert_eq 28 "$CURL_RC" "curl to blackhole"

# Every endpoint bound 127.0.0.1 only.
for _p in $P_TLS10 $P_TLS11 $P_RSAKX $P_DHE $P_EXP $P_WEAK $P_T12P $P_NR10 \
    $P_NR12 $P_HASH $P_HTLS $P_HTTP $P_RST $P_BH; do
	assert_eq 127.0.0.1 "$(tbutil listeners "$_p" | sort -u)" \
	    "listening addresses of port $_p"
done
note "all endpoints behave as endpoints.sh describes"
