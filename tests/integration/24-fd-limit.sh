#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Descriptor exhaustion is the broker's own limit, and says so.  The
# broker runs with a limit of 64 descriptors (ulimit -n; max_connections set
# far above what that allows) and a client floods it with plain TCP
# connections (endpoints/exhaust.py): accept fails with EMFILE and backs off
# (a log line naming the limit, no spinning worker); a request on a
# connection opened before needs an upstream socket it cannot get: 503
# with X-Broker-Error broker_fd_limit and a hint that names LimitNOFILE and
# max_connections, audited the same, never upstream_unreachable with a
# firewall hint.  Once the flood goes, the broker serves again.

. "$(dirname "$0")/lib.sh"

need_cmd curl
need_broker
make_pki

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 2)
BP=$1 P_WEB=$2

start_httpd web "$P_WEB"

{
	ini_preamble "$BP" workers=1 max_connections=1000 -- \
	    handshake_timeout=60s
	cat <<EOF

; no pooling: every request needs a new upstream socket
[route web]
host = web.broker.test
upstream = 127.0.0.1:$P_WEB
upstream_tls = off
pool_max_idle = 0
EOF
} >"$TB_TMP/broker.ini"

# The broker under a limit of 64 descriptors, soft and hard.
cat >"$TB_TMP/lowfd.sh" <<EOF
#!/bin/sh
ulimit -n 64 || exit 99
exec "$TLSBROKER" "\$@"
EOF
chmod +x "$TB_TMP/lowfd.sh"
_real=$TLSBROKER
TLSBROKER=$TB_TMP/lowfd.sh
start_broker "$TB_TMP/broker.ini"
TLSBROKER=$_real
assert_eq 64 "$(awk '/^Max open files/ { print $4 }' "/proc/$BROKER_PID/limits")" \
    "the broker's descriptor limit"

OUT="$TB_TMP/exhaust.out"
"$PYTHON" "$TB_EP/exhaust.py" --port "$BP" --ca "$PKI/ca.pem" \
    --host web.broker.test --flood 100 --log "$BROKER_LOG" \
    --needle 'accept: Too many open files' --release "$TB_TMP/release" \
    >"$OUT" 2>&1 &
EX_PID=$!
track "$EX_PID" "$OUT"
_out=$(tbutil waitgrep "$OUT" '"during"' --timeout 40 --pid "$EX_PID") ||
    fail "exhaust.py: $_out: $(cat "$OUT")"
RES=$(cat "$OUT")

grep 'accept: Too many open files' "$BROKER_LOG" | head -n 1 |
    grep -q 'pausing accept.*LimitNOFILE' ||
    fail "the accept failure's log line: $(grep accept: "$BROKER_LOG" | head -n 1)"
assert_no_spin "$BROKER_PID" "with accept failing on EMFILE"

assert_eq 200 "$(jget "$RES" before)" "status before the flood"
assert_eq 503 "$(jget "$RES" during)" "status while out of descriptors ($RES)"
assert_eq broker_fd_limit "$(jget "$RES" error)" "X-Broker-Error"
assert_contains "$(jget "$RES" body)" "LimitNOFILE" "the 503's body"
expect_audit route=web path=/before status=200 close=ok
expect_audit route=web path=/during status=503 close=broker_fd_limit \
    phase=connect 'hint~LimitNOFILE.*max_connections' \
    'detail~Too many open files'
audit_field "$AUDIT_N" hint | grep -q -i firewall &&
    fail "the hint of broker_fd_limit names a firewall"

# The flood goes: the broker accepts and serves again.
: >"$TB_TMP/release"
wait_exit "$EX_PID" 30 || fail "exhaust.py did not exit"
untrack "$EX_PID"
curl_get "https://web.broker.test:$BP/after" \
    --resolve "web.broker.test:$BP:127.0.0.1"
assert_eq 0 "$CURL_RC" "curl after the flood: $CURL_ERR"
assert_contains "$CURL_OUT" '"target": "/after"' "answer after the flood"
_n=$(wc -l <"$AUDIT" | tr -d ' ')
assert_eq 1 "$(audit_count 1 "$_n" path=/after status=200 close=ok)" \
    "records of the request after the flood"

stop_broker
tbutil jsoncheck "$AUDIT" || fail "audit log has lines that are not JSON"
