#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Byte-exact relay through tcp routes: 1 B, 1 MiB and 64 MiB up and down to a
# plain endpoint, 1 MiB up and down to a TLS 1.0 endpoint, compared by
# SHA-256 (protocol in endpoints/pyserver.py), with bytes_in/bytes_out in the
# audit equal to what crossed.  Then half-close: the client ends its sending
# side (TLS close_notify, with or without a TCP FIN), the endpoint must see
# EOF after all the data and can still answer.

. "$(dirname "$0")/lib.sh"

make_pki

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 4)
BP=$1 P_PLAIN=$2 P_TLS=$3

start_ep_hash plain "$P_PLAIN"
start_ep_hash_tls10 tls10 "$P_TLS"

{
	ini_preamble "$BP" workers=2
	cat <<EOF

[route plain]
mode = tcp
host = plain.broker.test
upstream = 127.0.0.1:$P_PLAIN
upstream_tls = off

[route tls10]
mode = tcp
host = tls10.broker.test
upstream = 127.0.0.1:$P_TLS
upstream_tls = 1.0
upstream_ca = $PKI/ca.pem
upstream_sni = localhost
EOF
} >"$TB_TMP/broker.ini"

start_broker "$TB_TMP/broker.ini"

# Framing of the hash protocol: upload sends 'U' + 8-byte length + data and
# gets "<64 hex> <len>\n"; download sends 'D' + length + seed (17 bytes).
reply_len()
{
	echo $((64 + 1 + ${#1} + 1))
}

# updown ROUTE SIZE UP_TLS [CLIENT_ARGS...]
updown()
{
	_r=$1
	_n=$2
	_up=$3
	shift 3
	client_ok upload "$_n" --port "$BP" --sni "$_r.broker.test" \
	    --seed "$_n" --timeout 50 "$@"
	expect_audit close=ok route="$_r" up_tls="$_up" \
	    bytes_in=$((9 + _n)) bytes_out="$(reply_len "$_n")"
	client_ok download "$_n" --port "$BP" --sni "$_r.broker.test" \
	    --seed $((_n + 1)) --timeout 50 "$@"
	expect_audit close=ok route="$_r" up_tls="$_up" bytes_in=17 \
	    bytes_out="$_n"
}

updown plain 1 plain
updown plain 1048576 plain --tls 1.2
updown plain 67108864 plain
updown tls10 1048576 TLSv1
updown tls10 1 TLSv1 --tls 1.2

# ---- half-close -----------------------------------------------------------------

# TLS 1.3 close_notify only: the broker must pass the EOF on (FIN towards a
# plain endpoint, close_notify towards a TLS one) and keep relaying the
# endpoint's answer back.
for _r in plain tls10; do
	client_ok halfclose 100000 --port "$BP" --sni "$_r.broker.test"
	expect_audit close=ok route="$_r" tls=TLSv1.3 bytes_in=100001 \
	    bytes_out="$(reply_len 100000)"
	client_ok halfclose 300000 --port "$BP" --sni "$_r.broker.test" \
	    --tcp-shutdown
	expect_audit close=ok route="$_r" bytes_in=300001 \
	    bytes_out="$(reply_len 300000)"
done
grep -q ": H EOF after 300000 " "$(ep_log plain)" ||
    fail "plain endpoint did not see EOF after 300000 bytes"
grep -q ": H EOF after 300000 " "$(ep_log tls10)" ||
    fail "TLS endpoint did not see close_notify after 300000 bytes"

# openssl s_client without -ign_eof: on stdin EOF it sends close_notify and
# shuts down its socket (SHUT_WR) without waiting for an answer.  The
# endpoint must still receive every byte and then the EOF.  (-nocommands: a
# payload line starting with K, Q or R must not mean key update, quit or
# renegotiate.)
head -c 200000 /dev/urandom >"$TB_TMP/payload"
_sum=$(sha256sum "$TB_TMP/payload" | cut -d' ' -f1)
{ printf H; cat "$TB_TMP/payload"; } >"$TB_TMP/upload"
for _r in plain tls10; do
	timeout 20 openssl s_client -connect "127.0.0.1:$BP" -quiet -no_ign_eof \
	    -nocommands -servername "$_r.broker.test" -CAfile "$PKI/ca.pem" \
	    -verify_return_error <"$TB_TMP/upload" >"$TB_TMP/sc-$_r.out" 2>&1 ||
	    fail "s_client upload via $_r: $(cat "$TB_TMP/sc-$_r.out")"
	_out=$(tbutil waitgrep "$(ep_log "$_r")" "H EOF after 200000 $_sum" \
	    --timeout 10) || fail "endpoint behind $_r: $_out"
	# The answer may race with the client's close: do not insist on ok.
	expect_audit route="$_r" bytes_in=200001
done

stop_broker
tbutil jsoncheck "$AUDIT" || fail "audit log has lines that are not JSON"
assert_eq "$AUDIT_N" "$(wc -l <"$AUDIT" | tr -d ' ')" "audit records"
