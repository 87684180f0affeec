#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The inbound side: TLS 1.0/1.1 clients are refused with the version they
# offered in the audit, SNI picks the certificate and the tcp route, the
# allow-list and mTLS reject before anything reaches an endpoint.

. "$(dirname "$0")/lib.sh"

make_pki

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 9)
BP=$1 BP_DENY=$2 BP_MTLS=$3 BP_HOSTS=$4
P_A=$5 P_B=$6 P_DEF=$7 P_DENY=$8 P_MTLS=$9

start_ep_hash alpha "$P_A"
start_ep_hash beta "$P_B"
start_ep_hash dflt "$P_DEF"
start_ep_hash denied "$P_DENY"
start_ep_hash mtls "$P_MTLS"

{
	# erp: two certificates, the second chosen by SNI other.test
	ini_preamble "$BP" workers=2 \
	    -- "cert=$PKI/broker-full.pem $PKI/other-full.pem"
	ini_listener deny "$BP_DENY" allow=10.0.0.0/8 \
	    "allow=192.0.2.1, 2001:db8::/32"
	ini_listener mtls "$BP_MTLS" "client_ca=$PKI/clientca.pem"
	# only host routes: an unknown SNI has nowhere to go
	ini_listener hosts "$BP_HOSTS"
	cat <<EOF

[route ra]
listener = erp
mode = tcp
host = a.broker.test
upstream = 127.0.0.1:$P_A
upstream_tls = off

[route rb]
listener = erp
mode = tcp
host = B.Broker.Test
upstream = 127.0.0.1:$P_B
upstream_tls = off

[route rdef]
listener = erp
mode = tcp
upstream = 127.0.0.1:$P_DEF
upstream_tls = off

[route rdeny]
listener = deny
mode = tcp
upstream = 127.0.0.1:$P_DENY
upstream_tls = off

[route rmtls]
listener = mtls
mode = tcp
upstream = 127.0.0.1:$P_MTLS
upstream_tls = off

[route ronly]
listener = hosts
mode = tcp
host = a.broker.test
upstream = 127.0.0.1:$P_A
upstream_tls = off
EOF
} >"$TB_TMP/broker.ini"

start_broker "$TB_TMP/broker.ini"

# ---- old protocol versions are refused, and say what was offered -----------

for _v in 1 1_1; do
	case $_v in
	1) _name=TLSv1 ;;
	1_1) _name=TLSv1.1 ;;
	esac
	s_client_get "$BP" "-tls$_v" -cipher 'DEFAULT:@SECLEVEL=0' \
	    -servername broker.test
	[ "$SC_RC" -ne 0 ] || fail "a $_name-only client got through: $SC_OUT"
	assert_contains "$SC_OUT" "alert protocol version" "$_name client"
	expect_audit close=client_tls_version offered="$_name" listener=erp \
	    'client~^127\.0\.0\.1:[0-9]+$' phase=client_handshake route! \
	    upstream! up_tls!
done
# a client offering 1.0-1.1: the highest offered version is reported
s_client_get "$BP" -min_protocol TLSv1 -max_protocol TLSv1.1 \
    -cipher 'DEFAULT:@SECLEVEL=0' -servername broker.test
[ "$SC_RC" -ne 0 ] || fail "a TLS 1.0-1.1 client got through: $SC_OUT"
expect_audit close=client_tls_version offered=TLSv1.1
assert_eq 0 "$(ep_conns dflt)" "connections to the default endpoint"

# ---- SNI picks the certificate ----------------------------------------------

printf W | timeout 20 openssl s_client -connect "127.0.0.1:$BP" -ign_eof \
    -servername other.test -CAfile "$PKI/ca.pem" -verify_return_error \
    -verify_hostname other.test >"$TB_TMP/sc-other.out" 2>&1 ||
    fail "s_client -servername other.test: $(cat "$TB_TMP/sc-other.out")"
SC_OUT=$(cat "$TB_TMP/sc-other.out")
assert_contains "$SC_OUT" "subject=CN = other.test" "certificate for other.test"
assert_contains "$SC_OUT" "dflt" "reply of the default route's endpoint"
expect_audit close=ok sni=other.test route=rdef tls=TLSv1.3

printf W | timeout 20 openssl s_client -connect "127.0.0.1:$BP" -ign_eof \
    -noservername -CAfile "$PKI/ca.pem" -verify_return_error \
    -verify_hostname broker.test >"$TB_TMP/sc-none.out" 2>&1 ||
    fail "s_client -noservername: $(cat "$TB_TMP/sc-none.out")"
SC_OUT=$(cat "$TB_TMP/sc-none.out")
assert_contains "$SC_OUT" "subject=CN = broker.test" "default certificate"
expect_audit close=ok sni! route=rdef

# ---- SNI picks the tcp route --------------------------------------------------

client_ok who --port "$BP" --sni a.broker.test
assert_eq alpha "$(jget "$CLIENT_OUT" name)" "endpoint behind a.broker.test"
expect_audit close=ok route=ra sni=a.broker.test upstream="127.0.0.1:$P_A" \
    up_tls=plain

# route host names match case-insensitively (host = B.Broker.Test)
client_ok who --port "$BP" --sni b.broker.test --tls 1.2
assert_eq beta "$(jget "$CLIENT_OUT" name)" "endpoint behind b.broker.test"
expect_audit close=ok route=rb sni=b.broker.test tls=TLSv1.2 \
    upstream="127.0.0.1:$P_B"

client_ok who --port "$BP" --sni c.broker.test
assert_eq dflt "$(jget "$CLIENT_OUT" name)" "endpoint behind c.broker.test"
expect_audit close=ok route=rdef sni=c.broker.test

# no host route matches and there is no default route
client_ok expect-closed --port "$BP_HOSTS" --sni c.broker.test
expect_audit close=no_route listener=hosts sni=c.broker.test upstream!
assert_eq 1 "$(ep_conns alpha)" "connections to alpha (only the who above)"

# ---- allow-list ---------------------------------------------------------------

client_ok expect-closed --port "$BP_DENY"
expect_audit close=client_denied listener=deny \
    'client~^127\.0\.0\.1:[0-9]+$' route! upstream!
assert_eq 0 "$(ep_conns denied)" "connections behind the allow-list"

# ---- mTLS ---------------------------------------------------------------------

client_ok expect-closed --port "$BP_MTLS"
expect_audit close=client_tls_failed listener=mtls upstream!
client_ok expect-closed --port "$BP_MTLS" --tls 1.2
expect_audit close=client_tls_failed listener=mtls upstream!
# a certificate from a CA the listener does not trust
client_ok expect-closed --port "$BP_MTLS" --cert "$PKI/stranger.pem" \
    --key "$PKI/stranger.key"
expect_audit close=client_tls_failed listener=mtls upstream!
assert_eq 0 "$(ep_conns mtls)" "connections behind mTLS without a valid cert"

client_ok who --port "$BP_MTLS" --cert "$PKI/client.pem" --key "$PKI/client.key"
assert_eq mtls "$(jget "$CLIENT_OUT" name)" "endpoint behind mTLS"
expect_audit close=ok route=rmtls listener=mtls
client_ok who --port "$BP_MTLS" --tls 1.2 --cert "$PKI/client.pem" \
    --key "$PKI/client.key"
expect_audit close=ok route=rmtls tls=TLSv1.2

# ---- plain HTTP to the TLS port: a plain 400 that says to use https -------------

_out=$(curl -sS --max-time 5 "http://127.0.0.1:$BP_MTLS/" -w ' status=%{http_code}') ||
    fail "plain HTTP to the TLS port: no answer ($_out)"
assert_contains "$_out" "status=400" "plain HTTP to the TLS port"
assert_contains "$_out" "use https://" "plain HTTP to the TLS port"
expect_audit close=client_tls_failed listener=mtls 'hint~https://' upstream!

stop_broker
tbutil jsoncheck "$AUDIT" || fail "audit log has lines that are not JSON"
assert_eq "$AUDIT_N" "$(wc -l <"$AUDIT" | tr -d ' ')" "audit records"
