#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Readiness apart from liveness, and drain_grace.
#   - Running: /readyz is 200 "ready", /healthz 200.
#   - SIGTERM with drain_grace = 60s: /readyz turns 503 while /healthz
#     stays 200, and the listener still accepts and serves (a new
#     connection, and a keep-alive one opened before the signal); the log
#     says when the listeners close.  A second SIGTERM ends the grace at
#     once: the listener closes and the broker exits 0, long before 60 s.
#   - drain_grace = 1s with a request in flight (/delay/5000): the
#     listener closes by itself after the grace, the request still gets
#     its 200, and the broker exits 0 once it is done.

. "$(dirname "$0")/lib.sh"

need_cmd curl
make_pki

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 3)
BP=$1 AP=$2 P_HTTP=$3

start_httpd web "$P_HTTP"

# write_ini DRAIN_GRACE
write_ini()
{
	{
		ini_preamble "$BP" workers=2 "admin=127.0.0.1:$AP" \
		    "drain_grace=$1" drain_timeout=20s
		cat <<EOF

[route web]
host = web.broker.test
upstream = 127.0.0.1:$P_HTTP
upstream_tls = off
EOF
	} >"$TB_TMP/broker.ini"
}

# admin_get PATH: status code in ADMIN_CODE, body in ADMIN_BODY.
admin_get()
{
	_rc=0
	ADMIN_CODE=$(curl -sS --max-time 10 -o "$TB_TMP/admin.body" \
	    -w '%{http_code}' "http://127.0.0.1:$AP$1") || _rc=$?
	[ "$_rc" = 0 ] || fail "curl $1: rc $_rc"
	ADMIN_BODY=$(cat "$TB_TMP/admin.body")
}

# wait_unready: until /readyz answers 503 (bounded).
wait_unready()
{
	_end=$(($(now_ms) + 10000))
	while :; do
		admin_get /readyz
		[ "$ADMIN_CODE" = 503 ] && return 0
		[ "$(now_ms)" -lt "$_end" ] || fail "/readyz still $ADMIN_CODE after SIGTERM"
		sleep 0.05
	done
}

https_get()
{
	curl_get "https://web.broker.test:$BP$1" \
	    --resolve "web.broker.test:$BP:127.0.0.1" -o /dev/null -w '%{http_code}'
}

# ---- a long grace, ended by a second SIGTERM ------------------------------------

write_ini 60s
start_broker "$TB_TMP/broker.ini"
wait_for_port "$AP" "$BROKER_PID"

admin_get /readyz
assert_eq 200 "$ADMIN_CODE" "/readyz while running"
assert_eq ready "$ADMIN_BODY" "/readyz body while running"
admin_get /healthz
assert_eq 200 "$ADMIN_CODE" "/healthz while running"

# A keep-alive connection opened before the signal: one request, then it
# waits for $TB_TMP/resume to exist and asks again on the same connection.
cat >"$TB_TMP/keepalive.py" <<'PYEOF'
import http.client, os, socket, ssl, sys, time
port, ca, resume = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
c = http.client.HTTPSConnection("web.broker.test", port, context=ctx, timeout=20)
c.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), 20),
                         server_hostname="web.broker.test")
for i in range(2):
    if i == 1:
        end = time.monotonic() + 20
        while not os.path.exists(resume) and time.monotonic() < end:
            time.sleep(0.05)
    c.request("GET", "/keepalive/%d" % i)
    r = c.getresponse()
    r.read()
    print(r.status, flush=True)
    if r.status != 200:
        sys.exit(1)
PYEOF
"$PYTHON" "$TB_TMP/keepalive.py" "$BP" "$PKI/ca.pem" "$TB_TMP/resume" \
    >"$TB_TMP/keepalive.out" 2>&1 &
KA_PID=$!
track "$KA_PID" "$TB_TMP/keepalive.out"
expect_audit route=web status=200 close=ok path=/keepalive/0

kill -TERM "$BROKER_PID"
wait_unready
assert_contains "$ADMIN_BODY" "not ready" "/readyz body while draining"
admin_get /healthz
assert_eq 200 "$ADMIN_CODE" "/healthz during drain_grace (liveness)"
https_get /during-grace
assert_eq 0 "$CURL_RC" "curl during drain_grace: $CURL_ERR"
assert_eq 200 "$CURL_OUT" "a new connection during drain_grace"
expect_audit route=web status=200 path=/during-grace
: >"$TB_TMP/resume"
wait_exit "$KA_PID" 20 || fail "the keep-alive client did not finish"
untrack "$KA_PID"
assert_eq 0 "$WAIT_RC" "keep-alive client: $(cat "$TB_TMP/keepalive.out")"
expect_audit route=web status=200 close=ok path=/keepalive/1
port_listening "$BP" || fail "the listener closed during drain_grace"
grep -q 'listeners close in 60000 ms (drain_grace)' "$BROKER_LOG" ||
    fail "no drain_grace line in the log"

# The second signal does not wait for the grace.
kill -TERM "$BROKER_PID"
wait_port_closed "$BP" 10
wait_exit "$BROKER_PID" 20 || fail "broker did not exit after a second SIGTERM"
untrack "$BROKER_PID"
assert_eq 0 "$WAIT_RC" "exit status after two SIGTERMs"
BROKER_PID=""

# ---- a short grace ends by itself; the request in flight completes -------------

write_ini 1s
: >"$AUDIT"
AUDIT_N=0
start_broker "$TB_TMP/broker.ini"
wait_for_port "$AP" "$BROKER_PID"
timeout 30 curl -sS --cacert "$PKI/ca.pem" \
    --resolve "web.broker.test:$BP:127.0.0.1" -o /dev/null -w '%{http_code}' \
    "https://web.broker.test:$BP/delay/5000" >"$TB_TMP/slow.out" \
    2>"$TB_TMP/slow.err" &
SLOW_PID=$!
track "$SLOW_PID" "$TB_TMP/slow.out" "$TB_TMP/slow.err"
_out=$(tbutil waitgrep "$(ep_log web)" 'GET /delay/5000' --timeout 10) ||
    fail "the slow request did not reach the endpoint: $_out"
kill -TERM "$BROKER_PID"
wait_unready
wait_port_closed "$BP" 10
wait_exit "$SLOW_PID" 20 || fail "the slow request did not finish"
untrack "$SLOW_PID"
assert_eq 200 "$(cat "$TB_TMP/slow.out")" "the request in flight during the drain"
wait_exit "$BROKER_PID" 20 || fail "broker did not exit after the drain"
untrack "$BROKER_PID"
assert_eq 0 "$WAIT_RC" "exit status after drain_grace and the drain"
expect_audit route=web status=200 path=/delay/5000
