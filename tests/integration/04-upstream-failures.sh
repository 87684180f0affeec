#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Upstream failures get their own close code (and phase) in the audit, and
# the client's connection is closed without any data crossing: refused port,
# unresolvable name, pin mismatch, weak certificate, no RFC 5746, DH-1024 at
# the default level, a TLS 1.2+ endpoint behind a TLS 1.0 route, RST after
# the ClientHello, an endpoint that never answers.  (Connect timeouts are not
# testable on loopback.)

. "$(dirname "$0")/lib.sh"

make_pki

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 10)
BP=$1 P_DEAD=$2 P_EXP=$3 P_NR10=$4 P_NR12=$5 P_DHE=$6 P_T12P=$7 P_RST=$8
P_BH=$9
shift 9
P_WEAK=$1

start_ep_expired expired "$P_EXP"
start_ep_noreneg10 nr10 "$P_NR10"
start_ep_noreneg12 nr12 "$P_NR12"
start_ep_dhe1024 dhe "$P_DHE"
start_ep_tls12plus t12p "$P_T12P"
start_ep_rst rst "$P_RST"
start_ep_blackhole bh "$P_BH"
start_ep_weakcert weak "$P_WEAK"
# P_DEAD stays unbound: nothing listens there
! port_listening "$P_DEAD" || hard_error "port $P_DEAD unexpectedly in use"

cat >"$TB_TMP/broker.ini" <<EOF
[broker]
workers = 2
audit_log = $AUDIT

[listener erp]
bind = 127.0.0.1:$BP
cert = $PKI/broker.pem
key = $PKI/broker.key

[route refused]
mode = tcp
host = refused.broker.test
upstream = 127.0.0.1:$P_DEAD
upstream_tls = off

[route dns]
mode = tcp
host = dns.broker.test
upstream = nonexistent.invalid:443

[route pin]
mode = tcp
host = pin.broker.test
upstream = 127.0.0.1:$P_EXP
upstream_tls = 1.2
upstream_pin = $(cat "$PKI/wrong.pin")

; the expired endpoint through CA verification: its own cert is no CA
[route expiredca]
mode = tcp
host = expiredca.broker.test
upstream = 127.0.0.1:$P_EXP
upstream_tls = 1.2
upstream_ca = $PKI/expired.pem
upstream_sni = localhost

[route weak]
mode = tcp
host = weak.broker.test
upstream = 127.0.0.1:$P_WEAK
upstream_tls = 1.2
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

[route nr10]
mode = tcp
host = nr10.broker.test
upstream = 127.0.0.1:$P_NR10
upstream_tls = 1.0
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

[route nr12]
mode = tcp
host = nr12.broker.test
upstream = 127.0.0.1:$P_NR12
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

[route dhe]
mode = tcp
host = dhe.broker.test
upstream = 127.0.0.1:$P_DHE
upstream_tls = 1.2
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

[route t12p]
mode = tcp
host = t12p.broker.test
upstream = 127.0.0.1:$P_T12P
upstream_tls = 1.0
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

[route rst]
mode = tcp
host = rst.broker.test
upstream = 127.0.0.1:$P_RST
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

[route bh]
mode = tcp
host = bh.broker.test
upstream = 127.0.0.1:$P_BH
upstream_ca = $PKI/ca.pem
upstream_sni = localhost
handshake_timeout = 1s
EOF

start_broker "$TB_TMP/broker.ini"

# closed ROUTE [TIMEOUT]: a client through ROUTE gets its connection closed
# (handshake with the broker may succeed) and receives no byte.
closed()
{
	client_ok expect-closed --port "$BP" --sni "$1.broker.test" \
	    --timeout "${2:-15}"
	assert_eq 0 "$(json_get "$CLIENT_OUT" received)" "bytes through $1"
}

closed refused
expect_audit close=upstream_refused phase=connect route=refused \
    upstream="127.0.0.1:$P_DEAD" up_tls!

closed dns
expect_audit close=upstream_dns phase=dns route=dns up_tls!

closed pin
expect_audit close=upstream_cert phase=handshake route=pin \
    upstream="127.0.0.1:$P_EXP"

closed expiredca
expect_audit close=upstream_cert phase=handshake route=expiredca

closed weak
expect_audit close=upstream_cert phase=handshake route=weak

closed nr10
expect_audit close=upstream_legacy_renegotiation phase=handshake route=nr10

closed nr12
expect_audit close=upstream_legacy_renegotiation phase=handshake route=nr12

closed dhe
expect_audit close=upstream_tls_failed phase=handshake route=dhe
assert_audit_has "$AUDIT_N" "dh key too small"

closed t12p
expect_audit 'close~^upstream_tls_(version|alert)$' phase=handshake route=t12p
if [ "$(audit_field "$AUDIT_N" close)" = upstream_tls_alert ]; then
	assert_audit "$AUDIT_N" alert=protocol_version
fi

closed rst
expect_audit close=upstream_reset phase=handshake route=rst
grep -q "RST after ClientHello" "$(ep_log rst)" ||
    fail "the rst endpoint did not see a ClientHello"

_t0=$(now_ms)
closed bh 10
_dt=$(($(now_ms) - _t0))
expect_audit close=upstream_timeout phase=handshake route=bh
[ "$_dt" -ge 900 ] || fail "blackhole route closed after ${_dt}ms, before" \
    "its 1s handshake_timeout"
[ "$_dt" -lt 6000 ] || fail "blackhole route closed only after ${_dt}ms"

stop_broker
tbutil jsoncheck "$AUDIT" || fail "audit log has lines that are not JSON"
assert_eq "$AUDIT_N" "$(wc -l <"$AUDIT" | tr -d ' ')" "audit records"
