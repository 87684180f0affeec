#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Two brokers behind a floating address moved by keepalived (VRRP), all in
# network namespaces this test makes: a client namespace holding a bridge
# (10.99.0.1), and nodes A (10.99.0.2) and B (10.99.0.3) on veth pairs to
# it, each with its own httpd.py (X-Name nodeA / nodeB), its own broker
# (drain_grace 5s) and keepalived running conf/keepalived.conf.example with
# the floating address 10.99.0.100/24 and B's priority at 100.  A client
# loop in the client namespace makes one request per new connection to the
# floating address, 20 ms apart, and records who answered.
#   1. drain: SIGTERM to A's broker; B must take over, and A's broker
#      exits 0 once drained;
#   2. A's broker starts again and A takes the address back (preempt);
#   3. kill: SIGKILL to A's broker; B must take over again.
# The failover time (signal to the first answer from B) and the failed
# requests of each event are printed and kept in 35-keepalived-ha.results
# in the test's log dir; they are measurements, not asserted.  Skipped (77)
# only where network namespaces cannot be made.  Every process is stopped
# by PID and the namespaces deleted on exit.

. "$(dirname "$0")/lib.sh"

need_cmd ip keepalived curl
[ "$(id -u)" = 0 ] || skip "network namespaces need root"
need_broker
make_pki

SFX=$(basename "$TB_TMP" | sed 's/.*\.//')
NC=tb35c-$SFX NA=tb35a-$SFX NB=tb35b-$SFX
VIP=10.99.0.100
RESULTS_DIR=$(pwd)/tests/integration
[ -d "$RESULTS_DIR" ] || RESULTS_DIR=$(pwd)
RESULTS="$RESULTS_DIR/35-keepalived-ha.results"
NS_MADE=""

ha_cleanup()
{
	_ha_rc=$?
	set +e
	# the processes first: a namespace lives on while one runs in it
	for _p in $TB_PIDS; do
		stop_pid "$_p"
	done
	for _ns in $NS_MADE; do
		ip netns del "$_ns" 2>/dev/null
	done
	(exit "$_ha_rc")
	_tb_cleanup
}
trap ha_cleanup EXIT

# ---- the network ----------------------------------------------------------------

ip netns add "$NC" 2>"$TB_TMP/netns.err" ||
    skip "cannot make a network namespace: $(cat "$TB_TMP/netns.err")"
NS_MADE="$NC"
ip netns add "$NA" && NS_MADE="$NS_MADE $NA" || hard_error "ip netns add $NA"
ip netns add "$NB" && NS_MADE="$NS_MADE $NB" || hard_error "ip netns add $NB"
ip -n "$NC" link set lo up
ip -n "$NC" link add br0 type bridge
ip -n "$NC" addr add 10.99.0.1/24 dev br0
ip -n "$NC" link set br0 up
# node NS NAME ADDR: NS on the bridge as eth0 with ADDR.
node_net()
{
	ip -n "$1" link set lo up
	ip -n "$1" link add eth0 type veth peer name "p$2" netns "$NC"
	ip -n "$NC" link set "p$2" master br0 up
	ip -n "$1" addr add "$3/24" dev eth0
	ip -n "$1" link set eth0 up
}
node_net "$NA" a 10.99.0.2
node_net "$NB" b 10.99.0.3

# ---- the nodes ----------------------------------------------------------------

# node_start NS NAME: httpd.py, the broker (BROKER_<NAME> is its PID) and
# keepalived of one node.
node_httpd()
{
	ip netns exec "$1" "$PYTHON" -u "$TB_EP/httpd.py" 8080 --name "node$2" \
	    </dev/null >"$TB_TMP/httpd-$2.log" 2>&1 &
	track $! "$TB_TMP/httpd-$2.log"
}

node_broker()
{
	{
		ini_preamble "*:8443" workers=1 \
		    "audit_log=$TB_TMP/audit-$2.jsonl" admin=127.0.0.1:9180 \
		    drain_grace=5s drain_timeout=5s
		cat <<EOF

[route web]
host = web.broker.test
upstream = 127.0.0.1:8080
upstream_tls = off
EOF
	} >"$TB_TMP/broker-$2.ini"
	_log="$TB_TMP/broker-$2.log"
	: >"$_log"
	ip netns exec "$1" "$TLSBROKER" -c "$TB_TMP/broker-$2.ini" </dev/null \
	    2>>"$_log" >/dev/null &
	_pid=$!
	track "$_pid" "$_log" "$TB_TMP/audit-$2.jsonl"
	TB_BROKER_LOGS="$TB_BROKER_LOGS $_log"
	_out=$(tbutil waitgrep "$_log" "ready:" --timeout 10 --pid "$_pid") ||
	    fail "broker $2 not ready: $_out"
	eval "BROKER_$2=$_pid"
}

node_keepalived()
{
	sed -e "s|192.0.2.10/24|$VIP/24|" -e "s|priority 150|priority $3|" \
	    "$TOP_SRCDIR/conf/keepalived.conf.example" >"$TB_TMP/keepalived-$2.conf"
	# keepalived 2.2.7 ends a good --config-test with SIGTERM (status
	# 143) and a bad one with 5; it writes every complaint to the log
	_rc=0
	: >"$TB_TMP/ka-check-$2.log"
	ip netns exec "$1" keepalived --config-test="$TB_TMP/ka-check-$2.log" \
	    -f "$TB_TMP/keepalived-$2.conf" >/dev/null 2>&1 || _rc=$?
	[ "$_rc" = 0 ] || [ "$_rc" = 143 ] ||
	    fail "keepalived --config-test: status $_rc: $(cat "$TB_TMP/ka-check-$2.log")"
	[ ! -s "$TB_TMP/ka-check-$2.log" ] ||
	    fail "keepalived complains about the example: $(cat "$TB_TMP/ka-check-$2.log")"
	ip netns exec "$1" keepalived -n -l -D -G -P -f "$TB_TMP/keepalived-$2.conf" \
	    -p "$TB_TMP/ka-$2.pid" -r "$TB_TMP/ka-vrrp-$2.pid" </dev/null \
	    >"$TB_TMP/keepalived-$2.log" 2>&1 &
	track $! "$TB_TMP/keepalived-$2.log"
}

# has_vip NS: the floating address is on NS's eth0 now.
has_vip()
{
	ip -n "$1" -4 addr show dev eth0 | grep -q "inet $VIP/"
}

# wait_vip NS: until NS holds the floating address (bounded).
wait_vip()
{
	_end=$(($(now_ms) + 30000))
	until has_vip "$1"; do
		[ "$(now_ms)" -lt "$_end" ] || fail "$1 did not take $VIP within 30 s"
		sleep 0.1
	done
}

TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$TB_SRC/../.." && pwd)}
node_httpd "$NA" A
node_httpd "$NB" B
node_broker "$NA" A
node_broker "$NB" B
node_keepalived "$NA" A 150
node_keepalived "$NB" B 100
wait_vip "$NA"
note "A holds $VIP"

# ---- the client loop ----------------------------------------------------------------

LOOP_OUT="$TB_TMP/loop.jsonl"
ip netns exec "$NC" "$PYTHON" -u "$TB_EP/haloop.py" loop --host "$VIP" --port 8443 \
    --ca "$PKI/ca.pem" --out "$LOOP_OUT" --stop "$TB_TMP/loop.stop" \
    </dev/null >"$TB_TMP/loop.log" 2>&1 &
LOOP_PID=$!
track "$LOOP_PID" "$TB_TMP/loop.log"

# served_by NODE AFTER_MS: until 10 answers from NODE started after AFTER_MS.
served_by()
{
	_out=$("$PYTHON" "$TB_EP/haloop.py" wait "$LOOP_OUT" --node "node$1" \
	    --count 10 --after "$2" --timeout 60 --pid "$LOOP_PID") ||
	    fail "not served by node$1: $_out"
}

served_by A 0

# 1. drain A
T_DRAIN=$(now_ms)
kill -TERM "$BROKER_A"
served_by B "$T_DRAIN"
wait_exit "$BROKER_A" 30 || fail "broker A did not exit after its drain"
untrack "$BROKER_A"
assert_eq 0 "$WAIT_RC" "broker A's exit status after SIGTERM"
has_vip "$NB" || fail "B serves but does not hold $VIP"
grep -q 'listeners close in 5000 ms (drain_grace)' "$TB_TMP/broker-A.log" ||
    fail "broker A did not wait drain_grace"
note "drain: B took over"

# 2. A comes back and takes the address back
T_BACK=$(now_ms)
node_broker "$NA" A
served_by A "$T_BACK"
wait_vip "$NA"
note "A is back"

# 3. kill A
T_KILL=$(now_ms)
kill -KILL "$BROKER_A"
served_by B "$T_KILL"
wait_exit "$BROKER_A" 10 || fail "broker A survived SIGKILL"
untrack "$BROKER_A"
has_vip "$NB" || fail "B serves but does not hold $VIP"
note "kill: B took over"

T_END=$(now_ms)
: >"$TB_TMP/loop.stop"
wait_exit "$LOOP_PID" 10 || fail "the client loop did not stop"
untrack "$LOOP_PID"

"$PYTHON" "$TB_EP/haloop.py" report "$LOOP_OUT" --event "drain=$T_DRAIN" \
    --event "failback=$T_BACK" --event "kill=$T_KILL" --end "$T_END" \
    >"$TB_TMP/report.jsonl" || hard_error "haloop report failed"
{
	echo "# 35-keepalived-ha: failover of a client loop (new TLS connection per"
	echo "# request, 20 ms apart) against $VIP; failover_ms = signal to the"
	echo "# first answer from the other node; failed = failed attempts from"
	echo "# the event to the next one."
	cat "$TB_TMP/report.jsonl"
} >"$RESULTS"
while read -r _line; do
	note "$_line"
done <"$TB_TMP/report.jsonl"
for _e in drain failback kill; do
	grep -q "\"event\": \"$_e\".*\"failover_ms\"" "$TB_TMP/report.jsonl" ||
	    fail "no failover measured for $_e: $(cat "$TB_TMP/report.jsonl")"
done
note "results: $RESULTS"
