#!/bin/sh
# SPDX-License-Identifier: MIT
#
# upstream_max_connections against a real fragile endpoint
# (endpoints/fragile.py: holds N connections, resets every one beyond,
# idle keep-alive ones included, and counts what it saw).
#  - a burst of 5N parallel POSTs (each its own client connection, two
#    workers) with the cap at N: all 200, the endpoint never held more
#    than N, reset nothing and saw each POST once; the queued requests'
#    audit records carry queue_ms > 0; /metrics counts the waits, shows
#    the cap and an empty queue afterwards (checked by promtool when it is
#    installed);
#  - a route with cap 1 and a queue of 1: with the slot held and one
#    request queued, the next gets 503 upstream_busy at once (header and
#    hint naming the keys), the queued one 503 upstream_queue_timeout
#    after upstream_queue_timeout, never reaching the endpoint;
#  - across a SIGHUP the old generation's connection still counts: a
#    request of the new one waits for its slot;
#  - a queued POST with Expect: 100-continue gets no 100 before it has a
#    connection;
#  - a tcp route with cap 1: a second session waits for the first to end;
#  - tlsbroker -t rejects bad values and queue keys without a cap.

. "$(dirname "$0")/lib.sh"

need_cmd curl
make_pki

N=3
BURST=$((5 * N))

# shellcheck disable=SC2046
set -- $(free_ports 6)
BP=$1 AP=$2 P_BIG=$3 P_TINY=$4 P_TCP=$5 P_HASH=$6

start_fragile()
{
	_ep_run "$1" "$2" "$PYTHON" -u "$TB_EP/fragile.py" "$2" --max "$3" \
	    --delay "$4" --stats "$TB_TMP/$1.json"
}

# fstat NAME EXPR: a Python expression on the endpoint's figures (s).
fstat()
{
	"$PYTHON" -c 'import json, sys
s = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$TB_TMP/$1.json" "$2"
}

# requests_of NAME: the requests the fragile endpoint NAME has taken
requests_of()
{
	fstat "$1" 's["requests"]'
}

# Each fragile endpoint holds one connection more than its cap allows, so
# a reset can only come from the broker opening one too many.
start_fragile big "$P_BIG" "$N" 0.5
start_fragile tiny "$P_TINY" 1 0
start_ep_hash raw "$P_HASH"

{
	ini_preamble "$BP" workers=2 admin=127.0.0.1:$AP
	cat <<EOF

[route legacy]
mode = http
host = legacy.broker.test
upstream = 127.0.0.1:$P_BIG
upstream_tls = off
upstream_max_connections = $N
upstream_queue_max = 100
upstream_queue_timeout = 30s

[route tiny]
mode = http
host = tiny.broker.test
upstream = 127.0.0.1:$P_TINY
upstream_tls = off
upstream_max_connections = 1
upstream_queue_max = 1
upstream_queue_timeout = 1s

[route raw]
mode = tcp
host = raw.broker.test
upstream = 127.0.0.1:$P_HASH
upstream_tls = off
upstream_max_connections = 1
EOF
} >"$TB_TMP/broker.ini"

# ---- tlsbroker -t -------------------------------------------------------------
cp "$TB_TMP/broker.ini" "$TB_TMP/bad.ini"
cat >>"$TB_TMP/bad.ini" <<EOF

[route bad1]
mode = http
host = bad1.broker.test
upstream = 127.0.0.1:$P_BIG
upstream_max_connections = many

[route bad2]
mode = http
host = bad2.broker.test
upstream = 127.0.0.1:$P_BIG
upstream_queue_timeout = 5s
EOF
broker_check "$TB_TMP/bad.ini"
[ "$CHECK_RC" = 1 ] || fail "tlsbroker -t accepted bad cap keys (rc $CHECK_RC)"
LN=$(grep -n 'upstream_max_connections = many' "$TB_TMP/bad.ini" | cut -d: -f1)
grep -q "bad.ini:$LN: \[route bad1\] upstream_max_connections: 'many'" "$CHECK_ERR" ||
    fail "no error at bad.ini:$LN for upstream_max_connections: $(cat "$CHECK_ERR")"
LN=$(grep -n 'upstream_queue_timeout = 5s' "$TB_TMP/bad.ini" | cut -d: -f1)
grep -q "bad.ini:$LN: \[route bad2\] upstream_queue_timeout: only with upstream_max_connections" "$CHECK_ERR" ||
    fail "no error at bad.ini:$LN for upstream_queue_timeout: $(cat "$CHECK_ERR")"
broker_check "$TB_TMP/broker.ini"
[ "$CHECK_RC" = 0 ] || fail "tlsbroker -t refused the good config: $(cat "$CHECK_ERR")"

start_broker "$TB_TMP/broker.ini"

# ---- a burst of 5N POSTs with the cap at N ------------------------------------
"$PYTHON" - "$BP" "$PKI/ca.pem" "$BURST" >"$TB_TMP/burst.json" <<'PYEOF'
import http.client, json, socket, ssl, sys, threading
port, ca, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ctx = ssl.create_default_context(cafile=ca)
res = {}
go = threading.Barrier(n)
def one(i):
    try:
        c = http.client.HTTPSConnection("legacy.broker.test", port,
                                        context=ctx, timeout=60)
        c.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                                 server_hostname="legacy.broker.test")
        go.wait()
        body = b"batch line %d\n" % i
        c.request("POST", "/post/%d" % i, body=body,
                  headers={"X-Req-Id": "r%d" % i})
        r = c.getresponse()
        r.read()
        res[i] = [r.status, r.getheader("X-Broker-Error")]
    except Exception as e:
        res[i] = [0, repr(e)]
t = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for x in t: x.start()
for x in t: x.join()
print(json.dumps({"statuses": [res[i][0] for i in range(n)],
                  "errors": [res[i][1] for i in range(n) if res[i][0] != 200]}))
PYEOF
note "burst: $(cat "$TB_TMP/burst.json")"
[ "$(jget "$(cat "$TB_TMP/burst.json")" 'd["statuses"].count(200)')" = "$BURST" ] ||
    fail "not every request of the burst succeeded: $(cat "$TB_TMP/burst.json")"
wait_audit "$BURST"
AUDIT_N=$BURST
assert_eq "$N" "$(fstat big 's["peak"]')" "most connections the endpoint held at once"
assert_eq 0 "$(fstat big 's["resets"]')" "connections the endpoint had to reset"
assert_eq "$BURST" "$(fstat big 'len(s["posts"])')" "POSTs the endpoint received"
assert_eq "$BURST" "$(fstat big 'len(set(s["posts"]))')" "distinct POSTs the endpoint received"
assert_eq "$BURST" "$(audit_count 1 "$BURST" route=legacy status=200 close=ok)" \
    "audit records of the burst"
QUEUED=$(audit_count 1 "$BURST" route=legacy 'queue_ms~^[1-9][0-9]*$')
WAITED=$(audit_count 1 "$BURST" route=legacy 'queue_ms~.')
assert_eq "$WAITED" "$QUEUED" "queued requests whose queue_ms is above 0"
# N at most go at once, the others must have waited (a few may have come
# late enough to find a slot after the first ones ended)
[ "$QUEUED" -ge $((BURST - 2 * N)) ] ||
    fail "only $QUEUED of $BURST requests waited for a slot with the cap at $N"

scrape()
{
	curl -sS --max-time 10 -o "$TB_TMP/metrics.txt" \
	    "http://127.0.0.1:$AP/metrics" || fail "curl /metrics failed"
}
# metric NAME ROUTE: the sample's value
metric()
{
	sed -n "s/^$1{route=\"$2\"} //p" "$TB_TMP/metrics.txt"
}
# wait_metric SECONDS NAME ROUTE VALUE WHAT: until /metrics shows VALUE.
wait_metric()
{
	wait_until "$1" "$5" "scrape; [ \"\$(metric $2 $3)\" = $4 ]"
}
scrape
assert_eq "$N" "$(metric tlsbroker_upstream_max_connections legacy)" "max_connections gauge"
assert_eq 0 "$(metric tlsbroker_upstream_queue_length legacy)" "queue length after the burst"
assert_eq "$QUEUED" "$(metric tlsbroker_upstream_queue_waits_total legacy)" \
    "queue waits against the audit log"
assert_eq 0 "$(metric tlsbroker_upstream_queue_timeouts_total legacy)" "queue timeouts"
INUSE=$(metric tlsbroker_upstream_slots_in_use legacy)
[ "$INUSE" -le "$N" ] || fail "slots in use $INUSE above the cap $N"
if command -v promtool >/dev/null 2>&1; then
	promtool check metrics <"$TB_TMP/metrics.txt" >"$TB_TMP/promtool.out" 2>&1 ||
	    fail "promtool check metrics: $(cat "$TB_TMP/promtool.out")"
fi

# ---- queue full and queue timeout ---------------------------------------------
TINY="https://tiny.broker.test:$BP"
RESOLVE="--resolve tiny.broker.test:$BP:127.0.0.1"
# shellcheck disable=SC2086 # RESOLVE is two words
curl -sS --cacert "$PKI/ca.pem" $RESOLVE -o "$TB_TMP/hold.out" \
    -w '%{http_code}\n' "$TINY/hold/4000" >"$TB_TMP/hold.code" 2>&1 &
HOLD_PID=$!
track "$HOLD_PID"
wait_until 10 "the holding request never reached the endpoint" \
    '[ "$(requests_of tiny)" = 1 ]'
# shellcheck disable=SC2086
curl -sS --cacert "$PKI/ca.pem" $RESOLVE -D "$TB_TMP/queued.hdr" \
    -o "$TB_TMP/queued.out" -H 'X-Req-Id: queued' -d 'must not arrive' \
    "$TINY/queued" 2>&1 &
QUEUED_PID=$!
track "$QUEUED_PID"
wait_metric 10 tlsbroker_upstream_queue_length tiny 1 "the second request never queued"
curl_get "$TINY/third" $RESOLVE -D "$TB_TMP/busy.hdr" -o "$TB_TMP/busy.out"
grep -q '^HTTP/1.1 503' "$TB_TMP/busy.hdr" || fail "queue full: $(head -n 1 "$TB_TMP/busy.hdr")"
grep -qi '^X-Broker-Error: upstream_busy' "$TB_TMP/busy.hdr" ||
    fail "queue full: no X-Broker-Error: upstream_busy"
grep -q '^hint: .*upstream_queue_max' "$TB_TMP/busy.out" ||
    fail "the upstream_busy hint does not name upstream_queue_max: $(cat "$TB_TMP/busy.out")"
wait_exit "$QUEUED_PID" 10 || fail "the queued request did not end"
untrack "$QUEUED_PID"
grep -q '^HTTP/1.1 503' "$TB_TMP/queued.hdr" || fail "queue timeout: $(head -n 1 "$TB_TMP/queued.hdr")"
grep -qi '^X-Broker-Error: upstream_queue_timeout' "$TB_TMP/queued.hdr" ||
    fail "queue timeout: no X-Broker-Error: upstream_queue_timeout"
grep -q '^hint: .*upstream_queue_timeout' "$TB_TMP/queued.out" ||
    fail "the queue timeout hint does not name upstream_queue_timeout"
wait_exit "$HOLD_PID" 15 || fail "the holding request did not end"
untrack "$HOLD_PID"
assert_eq 200 "$(cat "$TB_TMP/hold.code")" "the request holding the slot"
assert_eq 0 "$(fstat tiny 's["resets"]')" "tiny: connections reset"
assert_eq 1 "$(fstat tiny 's["requests"]')" "tiny: requests that reached the endpoint"
wait_audit $((BURST + 3))
FIRST=$((BURST + 1))
LAST=$((BURST + 3))
assert_eq 1 "$(audit_count $FIRST $LAST route=tiny status=503 close=upstream_busy path=/third 'queue_ms!')" \
    "audit of the refused request"
assert_eq 1 "$(audit_count $FIRST $LAST route=tiny status=503 close=upstream_queue_timeout \
    path=/queued 'queue_ms~^(9[5-9][0-9]|[1-9][0-9]{3,})$' 'upstream!')" \
    "audit of the timed-out request (queue_ms about 1000)"
scrape
assert_eq 1 "$(metric tlsbroker_upstream_queue_timeouts_total tiny)" "tiny: queue timeouts"
assert_eq 1 "$(metric tlsbroker_upstream_queue_full_total tiny)" "tiny: queue full"
assert_eq 1 "$(sed -n 's/^tlsbroker_closes_total{route="tiny",reason="upstream_busy"} //p' \
    "$TB_TMP/metrics.txt")" "closes by upstream_busy"

# ---- a reload keeps counting the old generation's connections -----------------
# The slot of tiny is held by a request of the first generation; after the
# SIGHUP a request of the new one must wait for it, not open a second
# connection (which the endpoint would reset).
# shellcheck disable=SC2086
curl -sS --cacert "$PKI/ca.pem" $RESOLVE -o /dev/null -w '%{http_code}\n' \
    "$TINY/hold/4000" >"$TB_TMP/hold2.code" 2>&1 &
HOLD_PID=$!
track "$HOLD_PID"
wait_until 10 "the second holding request never reached the endpoint" \
    '[ "$(requests_of tiny)" = 2 ]'
kill -HUP "$BROKER_PID"
_out=$(tbutil waitgrep "$BROKER_LOG" "reload 1 done" --timeout 10 \
    --pid "$BROKER_PID") || fail "reload: $_out"
# shellcheck disable=SC2086
curl -sS --cacert "$PKI/ca.pem" $RESOLVE -D "$TB_TMP/after.hdr" -o /dev/null \
    "$TINY/after-reload" 2>&1 &
AFTER_PID=$!
track "$AFTER_PID"
wait_metric 10 tlsbroker_upstream_queue_length tiny 1 \
    "after the reload, the request did not wait for the old connection's slot"
wait_exit "$AFTER_PID" 10 || fail "the request after the reload did not end"
untrack "$AFTER_PID"
grep -qi '^X-Broker-Error: upstream_queue_timeout' "$TB_TMP/after.hdr" ||
    fail "after the reload: $(cat "$TB_TMP/after.hdr")"
wait_exit "$HOLD_PID" 15 || fail "the second holding request did not end"
untrack "$HOLD_PID"
assert_eq 200 "$(cat "$TB_TMP/hold2.code")" "the old generation's request"
assert_eq 0 "$(fstat tiny 's["resets"]')" "tiny: connections reset across the reload"
assert_eq 1 "$(fstat tiny 's["peak"]')" "tiny: most connections at once"
wait_audit $((BURST + 5))

# ---- Expect: 100-continue while queued ----------------------------------------
# The endpoint never answers 100, so after a first Expect request on a
# connection the broker knows it ignores Expect and sends its own 100 at
# once.  With legacy's N slots then held, a second Expect request on that
# connection (so the same worker) waits: its 100 must not come before it
# has a connection, i.e. before its head reached the endpoint.
"$PYTHON" - "$BP" "$PKI/ca.pem" "$TB_TMP/expect.go" >"$TB_TMP/expect.json" <<'PYEOF' &
import json, os, socket, ssl, sys, time
port, ca, go = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                    server_hostname="legacy.broker.test")
s.settimeout(30)
def exchange(path):
    s.sendall(b"POST %s HTTP/1.1\r\nHost: legacy.broker.test\r\n"
              b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n" % path)
    first = s.recv(65536)
    t_first = time.time()
    got = first
    if first.startswith(b"HTTP/1.1 100"):
        s.sendall(b"hello")
        got = b""
    while b"\r\n\r\n" not in got or not got.rstrip().endswith(b"}"):
        more = s.recv(65536)
        if not more:
            break
        got += more
    return first.split(b"\r\n")[0].decode(), t_first, got.split(b"\r\n")[0].decode()
r1 = exchange(b"/expect1")
print(json.dumps({"learn": r1}), flush=True)
end = time.time() + 20
while not os.path.exists(go) and time.time() < end:
    time.sleep(0.05)
r2 = exchange(b"/expect2")
print(json.dumps({"first": r2[0], "t_first": r2[1], "final": r2[2]}), flush=True)
PYEOF
EXPECT_PID=$!
track "$EXPECT_PID"
wait_until 15 "the first Expect request did not end" \
    'grep -q learn "$TB_TMP/expect.json"'
for i in $(seq 1 "$N"); do
	curl -sS --cacert "$PKI/ca.pem" --resolve "legacy.broker.test:$BP:127.0.0.1" \
	    -o /dev/null "https://legacy.broker.test:$BP/hold/2500" 2>&1 &
	track $!
	eval "HOLDER_$i=\$!"
done
wait_until 10 "the holders never reached the endpoint" \
    '[ "$(requests_of big)" = $((BURST + 1 + N)) ]'
: >"$TB_TMP/expect.go"
wait_metric 10 tlsbroker_upstream_queue_length legacy 1 \
    "the second Expect request never queued"
wait_exit "$EXPECT_PID" 20 || fail "the Expect requests did not end"
untrack "$EXPECT_PID"
for i in $(seq 1 "$N"); do
	eval "_p=\$HOLDER_$i"
	wait_exit "$_p" 10 || fail "holder $i did not end"
	untrack "$_p"
done
note "expect: $(cat "$TB_TMP/expect.json")"
EXP=$(tail -n 1 "$TB_TMP/expect.json")
assert_eq "HTTP/1.1 100 Continue" "$(jget "$EXP" 'd["first"]')" \
    "first answer to the queued Expect request"
assert_eq "HTTP/1.1 200 OK" "$(jget "$EXP" 'd["final"]')" "the queued Expect request's answer"
HEAD_AT=$(fstat big 's["heads"]["/expect2"]')
T_FIRST=$(jget "$EXP" 'd["t_first"]')
[ "$("$PYTHON" -c "print($T_FIRST >= $HEAD_AT - 0.05)")" = True ] ||
    fail "100 Continue reached the client at $T_FIRST, before its request reached the endpoint at $HEAD_AT"
assert_eq 0 "$(fstat big 's["resets"]')" "legacy: resets after the Expect test"
AUDIT_BASE=$((BURST + 5 + N + 2))
wait_audit "$AUDIT_BASE"
assert_eq 1 "$(audit_count $((BURST + 6)) "$AUDIT_BASE" route=legacy path=/expect2 status=200 \
    'queue_ms~^[1-9]')" "the queued Expect request's record"

# ---- tcp mode: a session holds its slot for life ------------------------------
# The first session stays open (its client sends nothing yet); the second
# waits until the first ends, then relays.
mkfifo "$TB_TMP/first.in"
openssl s_client -quiet -connect "127.0.0.1:$BP" -servername raw.broker.test \
    -CAfile "$PKI/ca.pem" <"$TB_TMP/first.in" >"$TB_TMP/first.out" 2>/dev/null &
FIRST_PID=$!
track "$FIRST_PID"
exec 3>"$TB_TMP/first.in"
wait_metric 10 tlsbroker_upstream_slots_in_use raw 1 "the first tcp session never took its slot"
printf 'W' | openssl s_client -quiet -connect "127.0.0.1:$BP" \
    -servername raw.broker.test -CAfile "$PKI/ca.pem" \
    >"$TB_TMP/second.out" 2>/dev/null &
SECOND_PID=$!
track "$SECOND_PID"
wait_metric 10 tlsbroker_upstream_queue_length raw 1 "the second tcp session never queued"
printf 'W' >&3
exec 3>&-
wait_exit "$FIRST_PID" 10 || fail "the first tcp session did not end"
untrack "$FIRST_PID"
wait_exit "$SECOND_PID" 10 || fail "the second tcp session did not end"
untrack "$SECOND_PID"
assert_eq raw "$(cat "$TB_TMP/first.out")" "first tcp session's answer"
assert_eq raw "$(cat "$TB_TMP/second.out")" "second tcp session's answer (after waiting)"
wait_audit $((AUDIT_BASE + 2))
assert_eq 2 "$(audit_count $((AUDIT_BASE + 1)) $((AUDIT_BASE + 2)) route=raw close=ok)" \
    "the tcp sessions' records"
assert_eq 1 "$(audit_count $((AUDIT_BASE + 1)) $((AUDIT_BASE + 2)) route=raw close=ok 'queue_ms~^[1-9]')" \
    "the tcp session that waited has queue_ms"

stop_broker
