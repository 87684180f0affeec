#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Several addresses per route, against real endpoints that misbehave: an
# HA pair whose first side is down (nothing listens) and then comes back,
# a side that drops a POST it has read, a backup that only serves once every
# primary is gone, weights, a pair that swallows SYNs (connects time out)
# a tcp-mode pair, and a route with one address (which, as in nginx,
# traffic never marks down).  Asserted: no client ever sees an error the broker
# could have avoided (a failed connect moves on to the next address), a
# POST reaches the endpoints exactly once, a route whose every address is
# down answers 503 upstream_down well within connect_timeout, the audit
# names the address used and how many were tried, and each down/up
# transition is logged exactly once however many requests see it.  The
# status page lists every address of a route with its up/down state.

. "$(dirname "$0")/lib.sh"

need_cmd curl
make_pki

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 15)
BP=$1 PA=$2 PB=$3 PC=$4 PD=$5 PE=$6 PF=$7 PG=$8 PH=$9
shift 9
PS1=$1 PS2=$2 PX=$3 PT=$4 PY=$5 AP=$6

for _p in "$PA" "$PX"; do
	! port_listening "$_p" || hard_error "port $_p unexpectedly in use"
done
start_httpd b "$PB"
start_httpd c "$PC" --drop-nth 1
start_httpd d "$PD"
start_httpd e "$PE"
start_httpd f "$PF"
start_httpd g "$PG"
start_httpd h "$PH"
start_ep_synfull s1 "$PS1"
start_ep_synfull s2 "$PS2"
start_ep_hash t "$PT"
printf 'a posted body\n' >"$TB_TMP/post.bin"

# Two workers: the health one connection learns is every worker's.
{
	ini_preamble "$BP" workers=2 drain_timeout=2s admin=127.0.0.1:$AP
	cat <<EOF

[route ha]
host = ha.broker.test
upstream = 127.0.0.1:$PA, 127.0.0.1:$PB
upstream_tls = off
upstream_fail_timeout = 2s

[route post]
host = post.broker.test
upstream = 127.0.0.1:$PC, 127.0.0.1:$PD
upstream_tls = off

[route bk]
host = bk.broker.test
upstream = 127.0.0.1:$PE, 127.0.0.1:$PF backup
upstream_tls = off
upstream_fail_timeout = 60s

[route wt]
host = wt.broker.test
upstream = 127.0.0.1:$PG weight=3, 127.0.0.1:$PH
upstream_tls = off

[route dead]
host = dead.broker.test
upstream = 127.0.0.1:$PS1, 127.0.0.1:$PS2
upstream_tls = off
connect_timeout = 1s
upstream_fail_timeout = 60s

[route flap]
host = flap.broker.test
upstream = 127.0.0.1:$PY, 127.0.0.1:$PX
upstream_tls = off
upstream_fail_timeout = 3s

; one address: never marked down by traffic (as nginx with one server)
[route lone]
host = lone.broker.test
upstream = 127.0.0.1:$PX
upstream_tls = off

[route tcpha]
mode = tcp
host = tcpha.broker.test
upstream = 127.0.0.1:$PX, 127.0.0.1:$PT
upstream_tls = off
upstream_fail_timeout = 60s
EOF
} >"$TB_TMP/broker.ini"

start_broker "$TB_TMP/broker.ini"

# records: audit records so far (waits for N first when given).
records()
{
	[ -z "${1:-}" ] || wait_audit "$1"
	if [ -e "$AUDIT" ]; then wc -l <"$AUDIT"; else echo 0; fi
}

# acount SPEC...: audit records (all of them) matching every SPEC.
acount()
{
	audit_count 1 "$(records)" "$@"
}

# get HOST PATH [CURL ARGS]: route_get (lib.sh)
get() { route_get "$@"; }

# ---- 1. an HA pair with its first side down ---------------------------------

# Six requests on one keep-alive connection: each picks an address.  The
# first one goes to a (round-robin starts there), is refused, and moves on
# to b; a is then down for upstream_fail_timeout and no request tries it.
SEQ_OUT=$(httpc seq --port "$BP" --host ha.broker.test "GET /1" "GET /2" \
    "GET /3" "GET /4" "GET /5" "GET /6") ||
    fail "requests to the HA pair with a down: $SEQ_OUT"
assert_eq 6 "$(printf '%s\n' "$SEQ_OUT" | grep -c '"status": 200')" \
    "200 answers with a down"
N=$(records 6)
assert_eq 6 "$(acount route=ha status=200 close=ok "upstream=127.0.0.1:$PB")" \
    "ha records that name b"
assert_eq 1 "$(acount route=ha up_tries=2)" "ha records that tried two addresses"
assert_eq 5 "$(acount route=ha up_tries=1)" "ha records that tried one"
# A second client, on whichever worker: a stays skipped.
get ha /7
assert_eq 200 "$CODE" "a new connection while a is down"
N=$(records $((N + 1)))
assert_audit "$N" route=ha "upstream=127.0.0.1:$PB" up_tries=1
assert_eq 1 "$(grep -c "route ha: upstream 127.0.0.1:$PA is down" "$BROKER_LOG")" \
    "log lines for a going down"

# a comes back: once its cool-down is over a request tries it, it answers,
# and the two share the traffic again.  Every answer meanwhile is a 200.
start_httpd a "$PA"
_end=$(($(now_ms) + 15000))
while [ "$(ep_requests a GET)" = 0 ]; do
	[ "$(now_ms)" -lt "$_end" ] || fail "a got no request within 15 s of its return"
	get ha /back
	assert_eq 200 "$CODE" "answer while a comes back"
done
tbutil waitgrep "$BROKER_LOG" "route ha: upstream 127.0.0.1:$PA is up again" \
    --timeout 5 --pid "$BROKER_PID" >/dev/null || fail "no log line for a coming back"
SEQ_OUT=$(httpc seq --port "$BP" --host ha.broker.test "GET /r1" "GET /r2" \
    "GET /r3" "GET /r4") || fail "requests to the pair with both up: $SEQ_OUT"
assert_eq 2 "$(printf '%s\n' "$SEQ_OUT" | grep -c '"X-Name", "a"')" \
    "answers from a with both up"
assert_eq 1 "$(grep -c "route ha: upstream 127.0.0.1:$PA is up again" "$BROKER_LOG")" \
    "log lines for a coming back"
assert_eq 0 "$(grep -c 'route ha: every upstream address is down' "$BROKER_LOG")" \
    "ha was never down as a whole"

# ---- 2. a POST is never sent twice ------------------------------------------

# c reads the POST completely, then closes without an answer.  The POST
# may have taken effect there: it is not sent to d.
get post /p1 --data-binary @"$TB_TMP/post.bin"
assert_eq 502 "$CODE" "POST that c dropped"
grep -qi '^X-Broker-Error: upstream_closed' "$HDR" ||
    fail "X-Broker-Error of the dropped POST: $(cat "$HDR")"
N=$(records $((N + 1)))
assert_audit "$N" route=post method=POST status=502 close=upstream_closed \
    "upstream=127.0.0.1:$PC" up_tries=1
assert_eq 1 "$(ep_requests c POST)" "POSTs c read"
assert_eq 0 "$(ep_requests d POST)" "POSTs d read"

# ---- 3. a backup serves only when every primary is down --------------------

SEQ_OUT=$(httpc seq --port "$BP" --host bk.broker.test "GET /b1" "GET /b2" \
    "GET /b3" "GET /b4") || fail "requests to bk: $SEQ_OUT"
assert_eq 4 "$(ep_requests e GET)" "GETs the primary e served"
assert_eq 0 "$(ep_conns f)" "connections to the backup f while e is up"
stop_ep e
wait_port_closed "$PE"
# e's pooled connections died with it; a new connection is refused, and
# the POST, never sent to e, moves on to the backup: sent once, to f.
get bk /b5 --data-binary @"$TB_TMP/post.bin"
assert_eq 200 "$CODE" "POST once e is gone"
N=$(records $((N + 1)))
assert_audit "$N" route=bk method=POST status=200 "upstream=127.0.0.1:$PF" \
    up_tries=2
assert_eq 1 "$(ep_requests f POST)" "POSTs the backup f read"
get bk /b6
assert_eq 200 "$CODE" "GET with only the backup left"
N=$(records $((N + 1)))
assert_audit "$N" route=bk "upstream=127.0.0.1:$PF" up_tries=1

# ---- 4. weights -----------------------------------------------------------------

HTTPC_OUT=$(httpc load --port "$BP" --host wt.broker.test --clients 4 \
    --requests 10) || fail "load on wt: $HTTPC_OUT"
G=$(ep_requests g GET)
H=$(ep_requests h GET)
assert_eq 40 "$((G + H))" "requests g and h served"
# weight 3 against 1: 30 and 10 in a clean cycle; allow for interleaving
[ "$G" -ge 25 ] && [ "$G" -le 35 ] || fail "g (weight 3) served $G of 40, h $H"

# ---- 5. every address down: fail fast -------------------------------------------

# Both sides swallow SYNs.  The first request waits out connect_timeout
# (1 s) on each, then both are down: the next requests answer at once.
get dead /d1
assert_eq 504 "$CODE" "first request to the dead pair"
N=$(records $((N + 1)))
assert_audit "$N" route=dead status=504 close=upstream_connect_timeout up_tries=2
TIMEOUT_MS=1000
for _i in 2 3 4; do
	get dead "/d$_i"
	assert_eq 503 "$CODE" "request $_i to the dead pair"
	grep -qi '^X-Broker-Error: upstream_down' "$HDR" ||
	    fail "X-Broker-Error with every address down: $(cat "$HDR")"
	N=$(records $((N + 1)))
	assert_audit "$N" route=dead status=503 close=upstream_down phase=connect \
	    upstream! up_tries! "hint~upstream_max_fails"
	_ms=$(audit_field "$N" total_ms)
	[ "$_ms" -lt $((TIMEOUT_MS / 2)) ] ||
	    fail "upstream_down took $_ms ms, not well under connect_timeout ($TIMEOUT_MS ms)"
done
assert_eq 1 "$(grep -c 'route dead: every upstream address is down' "$BROKER_LOG")" \
    "log lines for the dead route going down"

# ---- 6. every address down, then recovery after the cool-down ------------------

get flap /f1
assert_eq 502 "$CODE" "first request with nothing listening"
N=$(records $((N + 1)))
assert_audit "$N" route=flap close=upstream_refused up_tries=2
get flap /f2
assert_eq 503 "$CODE" "second request, inside the cool-down"
N=$(records $((N + 1)))
assert_audit "$N" route=flap close=upstream_down
start_httpd y "$PY"
_end=$(($(now_ms) + 15000))
while :; do
	[ "$(now_ms)" -lt "$_end" ] || fail "flap did not recover within 15 s"
	get flap /f3
	N=$(records $((N + 1)))
	[ "$CODE" = 200 ] && break
	assert_eq 503 "$CODE" "answer while y comes back"
done
assert_audit "$N" route=flap status=200 "upstream=127.0.0.1:$PY"
tbutil waitgrep "$BROKER_LOG" "route flap: back up: 127.0.0.1:$PY answers" \
    --timeout 5 --pid "$BROKER_PID" >/dev/null || fail "no log line for flap's return"
assert_eq 1 "$(grep -c 'route flap: every upstream address is down' "$BROKER_LOG")" \
    "log lines for flap going down"
assert_eq 1 "$(grep -c 'route flap: back up' "$BROKER_LOG")" \
    "log lines for flap coming back"

# A route with one address keeps its endpoint's own close reason: there is
# nowhere else to go, and the hint of upstream_refused says what to fix.
for _i in 1 2 3; do
	get lone "/l$_i"
	assert_eq 502 "$CODE" "request $_i to the lone refused address"
	N=$(records $((N + 1)))
	assert_audit "$N" route=lone close=upstream_refused up_tries=1
done
! grep -q "route lone: upstream 127.0.0.1:$PX is down" "$BROKER_LOG" ||
    fail "the lone address was marked down"

# ---- 7. tcp mode: the same failover -----------------------------------------------

client_ok upload 100000 --port "$BP" --sni tcpha.broker.test
N=$(records $((N + 1)))
assert_audit "$N" route=tcpha close=ok "upstream=127.0.0.1:$PT" up_tries=2
client_ok upload 1000 --port "$BP" --sni tcpha.broker.test
N=$(records $((N + 1)))
assert_audit "$N" route=tcpha close=ok "upstream=127.0.0.1:$PT" up_tries=1

# ---- 8. the status page shows every address and its state -------------------------

curl -sS --max-time 10 -o "$TB_TMP/page.html" "http://127.0.0.1:$AP/" ||
    fail "GET / on the admin address failed"
# row NAME: the route's row of the routes table (one line each)
row()
{
	grep "<tr id=\"route-$1\">" "$TB_TMP/page.html" || fail "no row for route $1"
}
# has NAME PATTERN: route NAME's row matches the shell pattern *PATTERN*
has()
{
	# shellcheck disable=SC2254 # a pattern on purpose
	case $(row "$1") in
	*$2*) ;;
	*) fail "route $1's row lacks '$2': $(row "$1")" ;;
	esac
}
has bk "127.0.0.1:$PE: <span class=\"down\">down</span>, next try in"
has bk "127.0.0.1:$PF backup: <span class=\"up\">up</span>"
has wt "127.0.0.1:$PG weight=3: <span class=\"up\">up</span>"
has wt "127.0.0.1:$PH: <span class=\"up\">up</span>"
has tcpha "127.0.0.1:$PX: <span class=\"down\">down</span>"
has tcpha "127.0.0.1:$PT: <span class=\"up\">up</span>"
# failures per address: each of the dead pair timed out once, then the
# circuit answered without a connect
for _p in "$PS1" "$PS2"; do
	has dead "127.0.0.1:$_p: <span class=\"down\">down</span>, next try in [0-9]*s (failures: 1)"
done
case $(row lone) in
*'class="addrs"'*) fail "the lone address (up) is listed as a set: $(row lone)" ;;
*"127.0.0.1:$PX"*) ;;
*) fail "the lone route's row lacks its address: $(row lone)" ;;
esac

stop_broker
