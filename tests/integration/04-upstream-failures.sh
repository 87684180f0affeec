#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Upstream failures get their own close code (and phase) in the audit, and
# the client's connection is closed without any data crossing: refused port,
# unresolvable name, pin mismatch, weak certificate, no RFC 5746, DH-1024 at
# the default level, a TLS 1.2+ endpoint behind a TLS 1.0 route and a TLS
# 1.0-only one behind a TLS 1.2 route, RST after the ClientHello, an
# endpoint that never answers.  (Connect timeouts are not
# testable on loopback.)  One scenario row a case (see lib.sh, scenarios):
# a new failure is one more row.

. "$(dirname "$0")/lib.sh"

make_pki

# closed [TIMEOUT]: a client through the row's route gets its connection
# closed (the handshake with the broker may succeed) and receives no byte.
closed()
{
	client_ok expect-closed --port "$BP" --sni "$HOST" --timeout "${1:-15}"
	assert_eq 0 "$(jget "$CLIENT_OUT" received)" "bytes through $NAME"
}

# The keys of a route that verifies the endpoint against the test CA.
# shellcheck disable=SC2034 # the rows expand it
CA="upstream_ca=$PKI/ca.pem upstream_sni=localhost"

cat >"$TB_TMP/scenarios" <<'EOF'
# NAME    ENDPOINT   ROUTE                                  CLIENT  EXPECT [CHECK]
refused   -          "upstream_tls=off"                     closed \
    "close=upstream_refused phase=connect upstream=127.0.0.1:$PORT up_tls!"
dns       -          "upstream=nonexistent.invalid:443"     closed \
    "close=upstream_dns phase=dns up_tls!"
pin       expired    "upstream_tls=1.2 upstream_pin=$(cat "$PKI/wrong.pin")" closed \
    "close=upstream_cert phase=handshake upstream=127.0.0.1:$PORT"
# the expired endpoint through CA verification: its own cert is no CA
expiredca =pin       "upstream_tls=1.2 upstream_ca=$PKI/expired.pem upstream_sni=localhost" closed \
    "close=upstream_cert phase=handshake"
weak      weakcert   "upstream_tls=1.2 $CA"                 closed \
    "close=upstream_cert phase=handshake"
nr10      noreneg10  "upstream_tls=1.0 $CA"                 closed \
    "close=upstream_legacy_renegotiation phase=handshake"
nr12      noreneg12  "$CA"                                  closed \
    "close=upstream_legacy_renegotiation phase=handshake"
dhe       dhe1024    "upstream_tls=1.2 $CA"                 closed \
    "close=upstream_tls_failed phase=handshake" \
    'assert_audit_has "$AUDIT_N" "dh key too small"'
t12p      tls12plus  "upstream_tls=1.0 $CA"                 closed \
    "close~^upstream_tls_(version|alert)\$ phase=handshake" \
    '[ "$(audit_field "$AUDIT_N" close)" != upstream_tls_alert ] ||
        assert_audit "$AUDIT_N" alert=protocol_version'
rst       rst        "$CA"                                  closed \
    "close=upstream_reset phase=handshake" \
    'grep -q "RST after ClientHello" "$(ep_log rst)" ||
        fail "the rst endpoint did not see a ClientHello"'
# a TLS 1.0-only endpoint behind a route that keeps the TLS 1.2 floor
floor     tls10      "upstream_tls=1.2-1.3 $CA"             closed \
    "close=upstream_tls_version phase=handshake alert=protocol_version up_tls!"
bh        blackhole  "$CA handshake_timeout=1s"             "closed 10" \
    "close=upstream_timeout phase=handshake" \
    '[ "$SC_MS" -ge 900 ] ||
        fail "blackhole route closed after ${SC_MS}ms, before its 1s handshake_timeout"
    [ "$SC_MS" -lt 6000 ] || fail "blackhole route closed only after ${SC_MS}ms"'
EOF

BP=$(free_port)
scenario_prepare <"$TB_TMP/scenarios"
{
	ini_preamble "$BP" workers=2
	cat "$SC_ROUTES"
} >"$TB_TMP/broker.ini"

start_broker "$TB_TMP/broker.ini"
scenario_run <"$TB_TMP/scenarios"
assert_eq "$(scenario_count "$TB_TMP/scenarios")" "$SC_N" "scenarios played"

stop_broker
tbutil jsoncheck "$AUDIT" || fail "audit log has lines that are not JSON"
assert_eq "$AUDIT_N" "$(wc -l <"$AUDIT" | tr -d ' ')" "audit records"
