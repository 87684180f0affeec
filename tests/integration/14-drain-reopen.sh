#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Drain and audit reopen.
#   - An http request in flight when SIGTERM arrives (the endpoint answers
#     /delay/1500 after 1.5 s; drain_timeout 5s) completes: the client gets
#     its 200 and the whole body, the listener stops accepting at once, the
#     request's audit record is written, and the broker exits 0 as soon as
#     the request is done, not at the deadline.
#   - A keep-alive connection idle at SIGTERM does not hold the drain up
#     (drain_timeout 5s; the broker must exit well before it).
#   - A tcp relay still open at the deadline (drain_timeout 1s, an idle
#     client) is closed at the deadline, not before, with close=shutdown.
#   - Reopen: N connections, mv audit.jsonl audit.1, SIGUSR1, M more:
#     audit.1 has N records and the new audit.jsonl M; then under a
#     continuous load the file is moved and reopened again and the records
#     in both files add up to the requests made: none lost, none split.

. "$(dirname "$0")/lib.sh"

need_cmd curl
make_pki

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 3)
BP=$1 P_HTTP=$2 P_HASH=$3

start_httpd web "$P_HTTP"
start_ep_hash raw "$P_HASH"

# write_ini DRAIN_TIMEOUT
write_ini()
{
	{
		ini_preamble "$BP" workers=2 "drain_timeout=$1"
		cat <<EOF

[route web]
mode = http
host = web.broker.test
upstream = 127.0.0.1:$P_HTTP
upstream_tls = off

[route raw]
mode = tcp
host = raw.broker.test
upstream = 127.0.0.1:$P_HASH
upstream_tls = off
EOF
	} >"$TB_TMP/broker.ini"
}

# curl_bg NAME PATH...: curl over one keep-alive connection in the
# background; "RESULT code bytes" lines in $TB_TMP/curl-NAME.out.
curl_bg()
{
	_cn=$1
	shift
	_urls=""
	for _p in "$@"; do
		_urls="$_urls https://web.broker.test:$BP$_p"
	done
	# shellcheck disable=SC2086 # one URL per word
	timeout 30 curl -sS --cacert "$PKI/ca.pem" \
	    --resolve "web.broker.test:$BP:127.0.0.1" \
	    -w 'RESULT %{http_code} %{size_download}\n' -o /dev/null $_urls \
	    </dev/null >"$TB_TMP/curl-$_cn.out" 2>"$TB_TMP/curl-$_cn.err" &
	CURL_PID=$!
	track "$CURL_PID" "$TB_TMP/curl-$_cn.out" "$TB_TMP/curl-$_cn.err"
}

# ---- a request in flight at SIGTERM completes ----------------------------------

write_ini 5s
start_broker "$TB_TMP/broker.ini"
curl_bg slow /delay/1500
_out=$(tbutil waitgrep "$(ep_log web)" "GET /delay/1500 " --timeout 10 \
    --pid "$CURL_PID") || fail "request did not reach the endpoint: $_out"
_bpid=$BROKER_PID
kill -TERM "$_bpid"
_t0=$(now_ms)
# stop accepting: the listening socket must go at once, so that new clients
# are refused (and fail over) instead of waiting in a backlog nobody serves.
# Regression: the workers once freed their evconnlisteners but left the
# sockets open (listener_set_close only at exit), so the port listened
# all through the drain.
if ! tbutil waitport "$BP" --closed --timeout 1 >/dev/null; then
	_t=$("$PYTHON" - "$BP" <<'EOF'
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.3)
except OSError as e:
    print("connect failed: %s" % e)
    sys.exit(0)
s.sendall(b"\x16\x03\x01\x00\x05hello")	# a (bogus) TLS record
try:
    d = s.recv(100)
    print("connected; the broker answered %d bytes" % len(d))
except socket.timeout:
    print("connect() succeeded (queued in a backlog nobody accepts from)"
          " and nothing answered within 0.3s")
except OSError as e:
    print("connected, then %s" % e)
EOF
)
	bug "port $BP still listening 1s into the drain (\"stop" \
	    "accepting\" should close the listening sockets); a new client" \
	    "during the drain: $_t"
fi
wait_exit "$CURL_PID" 10 || fail "client still waiting 10s after SIGTERM"
untrack "$CURL_PID"
assert_eq 0 "$WAIT_RC" "curl exit status ($(cat "$TB_TMP/curl-slow.err"))"
assert_contains "$(cat "$TB_TMP/curl-slow.out")" "RESULT 200 " "in-flight request"
[ "$(sed -n 's/^RESULT 200 //p' "$TB_TMP/curl-slow.out")" -gt 0 ] ||
    fail "in-flight request got an empty body"
wait_exit "$_bpid" 8 || fail "broker still running 8s after SIGTERM"
_dt=$(($(now_ms) - _t0))
untrack "$_bpid"
BROKER_PID=""
assert_eq 0 "$WAIT_RC" "broker exit status after draining"
[ "$_dt" -lt 4000 ] || fail "broker exited ${_dt}ms after SIGTERM; its only" \
    "request was done after 1.5s (drain_timeout 5s is a limit, not a wait)"
wait_audit 1 1
assert_audit 1 route=web path=/delay/1500 status=200 method=GET
_out=$(tbutil waitgrep "$(ep_log web)" "answering after 1500 ms" --timeout 1) ||
    fail "endpoint did not answer: $_out"

# ---- an idle keep-alive connection does not hold the drain up -----------------------

rm -f "$AUDIT"
start_broker "$TB_TMP/broker.ini"
# one request, then the connection stays open and idle (the probe holds it
# until idle.go exists)
"$PYTHON" "$TB_EP/httpload.py" probe --port "$BP" --sni web.broker.test \
    --ca "$PKI/ca.pem" --ready-file "$TB_TMP/idle.ready" \
    --go-file "$TB_TMP/idle.go" /idle WAIT </dev/null \
    >"$TB_TMP/idle.out" 2>&1 &
_idle=$!
track "$_idle" "$TB_TMP/idle.out"
wait_file "$TB_TMP/idle.ready" 10
assert_contains "$(cat "$TB_TMP/idle.out")" "/idle 200 web c1" "keep-alive request"
_bpid=$BROKER_PID
kill -TERM "$_bpid"
_t0=$(now_ms)
wait_exit "$_bpid" 8 || fail "broker still running 8s after SIGTERM"
_dt=$(($(now_ms) - _t0))
untrack "$_bpid"
BROKER_PID=""
assert_eq 0 "$WAIT_RC" "broker exit status"
# Regression: draining once waited for every session, idle keep-alive
# ones too.
[ "$_dt" -lt 3000 ] || bug "an idle keep-alive connection held the" \
    "drain up: exit ${_dt}ms after SIGTERM (drain_timeout 5s); no request" \
    "was in flight, so it should close at once"
: >"$TB_TMP/idle.go"
wait_exit "$_idle" 10 || fail "idle probe did not finish"
untrack "$_idle"
wait_audit 1 1
assert_audit 1 route=web path=/idle status=200

# ---- a relay still open at the deadline: close=shutdown --------------------------------

rm -f "$AUDIT"
write_ini 1s
start_broker "$TB_TMP/broker.ini"
tlsc_bg hold hold --port "$BP" --sni raw.broker.test --timeout 30
_out=$(tbutil waitgrep "$TB_TMP/client-hold.out" '"connected"' --timeout 10 \
    --pid "$CLIENT_PID") || fail "idle client: $_out"
_out=$(tbutil waitgrep "$(ep_log raw)" "conn 1 from" --timeout 10) ||
    fail "endpoint never saw the relay: $_out"
_hold=$CLIENT_PID
_bpid=$BROKER_PID
kill -TERM "$_bpid"
_t0=$(now_ms)
wait_exit "$_hold" 8 || fail "relay still open 8s after SIGTERM"
_dt=$(($(now_ms) - _t0))
untrack "$_hold"
[ "$_dt" -ge 900 ] || fail "relay closed ${_dt}ms after SIGTERM, before" \
    "drain_timeout (1s)"
[ "$_dt" -lt 3000 ] || fail "relay closed ${_dt}ms after SIGTERM," \
    "drain_timeout is 1s"
wait_exit "$_bpid" 8 || fail "broker did not exit after the deadline"
untrack "$_bpid"
BROKER_PID=""
assert_eq 0 "$WAIT_RC" "broker exit status after the deadline"
wait_audit 1 1
assert_audit 1 route=raw close=shutdown

# ---- reopen: N before the move, M after -------------------------------------------------

rm -f "$AUDIT"
write_ini 5s
start_broker "$TB_TMP/broker.ini"
N=4
M=6
_k=0
while [ "$_k" -lt "$N" ]; do
	client_ok who --port "$BP" --sni raw.broker.test
	_k=$((_k + 1))
done
wait_audit "$N"
mv "$AUDIT" "$TB_TMP/audit.1"
kill -USR1 "$BROKER_PID"
_out=$(tbutil waitgrep "$BROKER_LOG" "audit log reopened" --timeout 10 \
    --pid "$BROKER_PID") || fail "SIGUSR1: $_out"
wait_file "$AUDIT" 5
_k=0
while [ "$_k" -lt "$M" ]; do
	client_ok who --port "$BP" --sni raw.broker.test
	_k=$((_k + 1))
done
wait_audit "$M"
# the counts must stay put: no record arrives late in either file
_out=$(tbutil waitlines "$AUDIT" $((M + 1)) --timeout 0.5) &&
    fail "more than $M records in the reopened log"
assert_eq "$N" "$(wc -l <"$TB_TMP/audit.1" | tr -d ' ')" "records in audit.1"
assert_eq "$M" "$(wc -l <"$AUDIT" | tr -d ' ')" "records in the reopened log"
grep -c '"route":"raw"' "$TB_TMP/audit.1" | grep -qx "$N" ||
    fail "audit.1 records are not the $N relays: $(cat "$TB_TMP/audit.1")"

# ---- reopen under load: nothing lost ---------------------------------------------------

# the M records checked above go aside; the load starts on a fresh file
mv "$AUDIT" "$TB_TMP/audit.2"
kill -USR1 "$BROKER_PID"
_out=$(tbutil waitgrep "$BROKER_LOG" "audit log reopened" --timeout 10 \
    --pid "$BROKER_PID") || fail "SIGUSR1: $_out"
wait_file "$AUDIT" 5
rm -f "$TB_TMP/load.stop"
# fresh connections only: one audit record per request (http mode) and
# nothing open when the load stops.
"$PYTHON" "$TB_EP/httpload.py" load --port "$BP" --sni web.broker.test \
    --ca "$PKI/ca.pem" --paths /a,/b --stop-file "$TB_TMP/load.stop" \
    --out "$TB_TMP/load.json" --max-seconds 30 --fresh 2 --keepalive 0 \
    </dev/null >"$TB_TMP/load.log" 2>&1 &
LOAD_PID=$!
track "$LOAD_PID" "$TB_TMP/load.log"
wait_audit 20 10
mv "$AUDIT" "$TB_TMP/audit.3"
kill -USR1 "$BROKER_PID"
wait_file "$AUDIT" 5
_out=$(tbutil waitlines "$AUDIT" 20 --timeout 10 --pid "$BROKER_PID") ||
    fail "records after the reopen under load: $_out"
: >"$TB_TMP/load.stop"
wait_exit "$LOAD_PID" 20 || fail "load did not stop"
untrack "$LOAD_PID"
LOAD=$(cat "$TB_TMP/load.json")
assert_eq 0 "$WAIT_RC" "load client ($LOAD)"
REQS=$(jget "$LOAD" requests)
stop_broker
_n3=$(wc -l <"$TB_TMP/audit.3" | tr -d ' ')
_n4=$(wc -l <"$AUDIT" | tr -d ' ')
note "load: $REQS requests; records: $_n3 before the second reopen, $_n4 after"
[ "$_n3" -ge 20 ] || fail "only $_n3 records before the second reopen"
[ "$_n4" -ge 20 ] ||
    fail "records on one side of the reopen: $_n3 + $_n4"
assert_eq "$REQS" $((_n3 + _n4)) "audit records of the load (both files)"
for _f in "$TB_TMP/audit.1" "$TB_TMP/audit.2" "$TB_TMP/audit.3" "$AUDIT"; do
	tbutil jsoncheck "$_f" || fail "$_f has lines that are not JSON"
done

bugs_check
