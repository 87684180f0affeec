#!/bin/sh
# SPDX-License-Identifier: MIT
#
# probe on an endpoint that offers only RC4 (RC4-SHA, RC4-MD5 over TLS
# 1.0): an `openssl s_server` of the private weak-cipher OpenSSL
# (scripts/build-weak-openssl.sh), the only server here that still has RC4
# in its libssl.
#
# From the weak build (TLSBROKER_WEAK), probe must print a working route
# block: upstream_tls = 1.0, the RC4 suites, level 0 and
# upstream_legacy_provider = yes, proven by its own connection; the block
# then carries a real request through a running weak-build broker.  From
# the stock build the same endpoint gets no block and the report names the
# build to make.  Skipped (77) only where the weak build is absent.

. "$(dirname "$0")/lib.sh"

[ -n "${TLSBROKER_WEAK:-}" ] && [ -x "$TLSBROKER_WEAK" ] ||
    skip "TLSBROKER_WEAK (a tlsbroker linked with the weak-cipher OpenSSL) is not set"
# The libssl the weak broker runs with is the one whose s_server we need.
WEAK_LIB=$(ldd "$TLSBROKER_WEAK" | sed -n 's/^[[:space:]]*libssl\.so\.3 => \(.*\)\/libssl\.so\.3 .*/\1/p')
WEAK_OPENSSL=$(dirname "$WEAK_LIB")/bin/openssl
[ -x "$WEAK_OPENSSL" ] ||
    skip "no openssl binary beside the weak libssl ($WEAK_LIB)"
need_cmd curl
make_pki

# shellcheck disable=SC2046
set -- $(free_ports 2)
BP=$1 P_RC4=$2

# RC4 lives in the legacy provider, for the server as for the broker.
_ep_run rc4 "$P_RC4" env LD_LIBRARY_PATH="$WEAK_LIB" "$WEAK_OPENSSL" \
    s_server -accept "127.0.0.1:$P_RC4" -www -tls1 \
    -cert "$PKI/legacy.pem" -key "$PKI/legacy.key" \
    -cipher 'RC4-SHA:RC4-MD5:@SECLEVEL=0' -provider legacy -provider default

# run_probe BINARY NAME EXPECTED_RC: the text report into $TB_TMP/NAME.txt
# and the --json one into $TB_TMP/NAME.json.
run_probe()
{
	for _fmt in txt json; do
		_rc=0
		_opt=""
		[ "$_fmt" = json ] && _opt=--json
		# shellcheck disable=SC2086
		timeout 60 "$1" probe "127.0.0.1:$P_RC4" --sni localhost \
		    --ca "$PKI/ca.pem" --timeout 2s --name "$2" $_opt \
		    >"$TB_TMP/$2.$_fmt" 2>>"$TB_TMP/$2.err" || _rc=$?
		TB_LOGS="$TB_LOGS $TB_TMP/$2.$_fmt"
		[ "$_rc" = "$3" ] || fail "probe $2 ($_fmt): exit $_rc, expected $3"
	done
	TB_LOGS="$TB_LOGS $TB_TMP/$2.err"
	TB_BROKER_LOGS="$TB_BROKER_LOGS $TB_TMP/$2.err"
}

jfield()
{
	"$PYTHON" - "$1" "$2" <<'EOF'
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("/"):
    v = v.get(k, "<absent>") if isinstance(v, dict) else "<absent>"
print(json.dumps(v) if isinstance(v, (bool, type(None))) else v)
EOF
}

assert_j()
{
	assert_eq "$3" "$(jfield "$1" "$2")" "probe $(basename "$1"): $2"
}

# ---- the stock build: detected, no block, the build named ---------------------

run_probe "$TLSBROKER" stock 1
assert_j "$TB_TMP/stock.json" rc4/accepted true
assert_j "$TB_TMP/stock.json" rc4/handshake false
assert_j "$TB_TMP/stock.json" route/ok false
assert_contains "$(cat "$TB_TMP/stock.txt")" "RC4:         ACCEPTED (RC4-SHA over TLSv1)" "stock report"
assert_contains "$(cat "$TB_TMP/stock.txt")" \
    "build the private OpenSSL with enable-weak-ssl-ciphers" "stock report"
if grep -q '^\[route' "$TB_TMP/stock.txt"; then
	fail "stock build printed a route block for an RC4-only endpoint"
fi

# ---- the weak build: a block, proven ---------------------------------------------

run_probe "$TLSBROKER_WEAK" rc4 0
J=$TB_TMP/rc4.json
assert_j "$J" rc4/accepted true
assert_j "$J" rc4/handshake true
assert_j "$J" route/ok true
assert_contains "$(cat "$TB_TMP/rc4.txt")" \
    "verified: a connection with exactly this block worked: TLSv1 RC4-" "weak report"
sed -n '/^\[route /,$p' "$TB_TMP/rc4.txt" >"$TB_TMP/rc4.block"
TB_LOGS="$TB_LOGS $TB_TMP/rc4.block"
assert_eq "$(cat "$TB_TMP/rc4.block")" "$(jfield "$J" route/block)" \
    "the --json block is the text block"
for _l in "[route rc4]" "upstream = 127.0.0.1:$P_RC4" "upstream_tls = 1.0" \
    "upstream_ciphers = RC4-SHA:RC4-MD5" "upstream_security_level = 0" \
    "upstream_legacy_provider = yes" "upstream_verify = ca" \
    "upstream_sni = localhost"; do
	grep -q -x -F -- "$_l" "$TB_TMP/rc4.block" ||
	    fail "block lacks '$_l': $(cat "$TB_TMP/rc4.block")"
done

# ---- the block as printed, in a running weak-build broker ------------------------

{
	ini_preamble "$BP" workers=1 drain_timeout=2s
	echo
	sed 's/^\[route rc4\]$/[route rc4]\nhost = rc4.broker.test/' "$TB_TMP/rc4.block"
} >"$TB_TMP/broker.ini"
TB_LOGS="$TB_LOGS $TB_TMP/broker.ini"
TLSBROKER=$TLSBROKER_WEAK
start_broker "$TB_TMP/broker.ini"
body=$(curl -sS --max-time 10 --cacert "$PKI/ca.pem" --tlsv1.2 \
    --resolve "rc4.broker.test:$BP:127.0.0.1" "https://rc4.broker.test:$BP/") ||
    fail "curl through the probed RC4 block failed"
# s_server -www reports the protocol and suite it negotiated with the broker
assert_contains "$body" "Protocol  : TLSv1" "s_server status page"
assert_contains "$body" "Cipher    : RC4-" "s_server status page"
expect_audit route=rc4 close=ok up_tls=TLSv1 "up_cipher~^RC4-"
stop_broker
note "probe on an RC4-only endpoint: OK"
