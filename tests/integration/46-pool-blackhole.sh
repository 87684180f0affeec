#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Pooled connections that a firewall forgot: no FIN, no RST, no ACK.  The
# test runs itself inside a network namespace it makes (loopback only), so
# that a routing rule can blackhole exactly one TCP connection: `ip rule
# ... sport P blackhole` drops every segment of the broker's pooled
# connection with local port P in both directions, as a firewall that lost
# its state does, while new connections to the same endpoint still work.
# (A relay that stops reading would not do: its kernel still ACKs.)
#
# The endpoints are nginx (TLS 1.0, the g-class endpoint), whose access log
# counts every request.  What must hold (issue #13 item 4):
#  1. upstream_reuse_ack_timeout: a GET and a body-less POST sent into a
#     blackholed pooled connection both succeed, resent once on a fresh
#     connection (the endpoint acknowledged no byte, so it never saw one);
#     the audit names the retry (retries=1, retry_reason=upstream_unacked);
#     nginx sees each request exactly once.
#  2. a POST whose body was streamed cannot be resent: it fails fast as
#     upstream_unacked (502), and nginx never sees it.
#  3. a request the endpoint acknowledged, then went silent on, gets the
#     existing upstream_timeout (504) and is not resent, even though it is
#     a body-less POST.
#  4. pool_idle_check: pooled sockets are probed by TCP keepalive after
#     pool_idle_check of silence; a connection with an unanswered probe is
#     replaced before use, so a POST with a body succeeds with no retry at
#     all and nginx sees it once; on a route capped at one connection,
#     whose slot the dead connection gives back at once (no wait for a FIN
#     that cannot come), so the POST does not time out in the queue.
#  5. with upstream_max_connections (the cap lets a closed connection's
#     slot wait for the endpoint's FIN on a duplicate socket), the
#     abandoned connection is still reset at once: when the path comes back
#     right after the resend, its queued POST is never delivered, and nginx
#     sees the POST once.

if [ "${TB_NETNS_INNER:-}" != 1 ]; then
	# The outer run: make the namespace, run this script inside it, delete it.
	_name=$(basename "$0" .sh)
	if [ "$(id -u)" != 0 ]; then
		echo "$_name: SKIP: network namespaces need root" >&2
		exit 77
	fi
	if ! command -v ip >/dev/null 2>&1; then
		echo "$_name: SKIP: ip (iproute2) is not installed" >&2
		exit 77
	fi
	NS=$(mktemp -u tb46-XXXXXX)
	if ! _err=$(ip netns add "$NS" 2>&1); then
		echo "$_name: SKIP: cannot make a network namespace: $_err" >&2
		exit 77
	fi
	trap 'ip netns del "$NS" 2>/dev/null' EXIT
	ip -n "$NS" link set lo up || exit 99
	# The blackhole rules must come before the local table: move it behind.
	ip -n "$NS" rule add pref 100 lookup local && ip -n "$NS" rule del pref 0 ||
	    exit 99
	if ! _err=$(ip -n "$NS" rule add pref 10 ipproto tcp sport 9 blackhole 2>&1); then
		echo "$_name: SKIP: this kernel or ip cannot match rules on TCP ports: $_err" >&2
		exit 77
	fi
	ip -n "$NS" rule del pref 10 || exit 99
	_rc=0
	TB_NETNS_INNER=1 ip netns exec "$NS" "$0" "$@" || _rc=$?
	exit "$_rc"
fi

. "$(dirname "$0")/lib.sh"

need_cmd curl ss nginx
make_pki

# shellcheck disable=SC2046
set -- $(free_ports 4)
BP=$1 P_W=$2 P_C=$3 P_K=$4

# nginx answers "nginx NAME METHOD URI ..." on /, echoes /echo, and holds
# /hang past the broker's response_timeout (3 s), then answers.
HANG='location = /hang { echo_sleep 4; echo late; }'
start_nginx ngw "$P_W" 60s "$HANG"
start_nginx ngc "$P_C" 60s
start_nginx ngk "$P_K" 60s

{
	ini_preamble "$BP" workers=1 drain_timeout=2s
	cat <<EOF

; only the acknowledgement watch: no keepalive check before reuse
[route watch]
host = watch.broker.test
upstream = 127.0.0.1:$P_W
upstream_tls = 1.0
upstream_ca = $PKI/ca.pem
upstream_sni = localhost
pool_idle_check = off
upstream_reuse_ack_timeout = 500ms
response_timeout = 3s

; the keepalive check before reuse, on a capped route: the dead
; connection's slot must come free at once for its replacement
[route check]
host = check.broker.test
upstream = 127.0.0.1:$P_C
upstream_tls = 1.0
upstream_ca = $PKI/ca.pem
upstream_sni = localhost
pool_idle_check = 1s
upstream_reuse_ack_timeout = 500ms
upstream_max_connections = 1
upstream_queue_timeout = 1s

; the watch on a capped route
[route capwatch]
host = capwatch.broker.test
upstream = 127.0.0.1:$P_K
upstream_tls = 1.0
upstream_ca = $PKI/ca.pem
upstream_sni = localhost
pool_idle_check = off
upstream_reuse_ack_timeout = 500ms
upstream_max_connections = 4
EOF
} >"$TB_TMP/broker.ini"
start_broker "$TB_TMP/broker.ini"

head -c 20000 /dev/urandom >"$TB_TMP/body.bin"

# req ROUTE METHOD PATH [CURL ARGS...]: one request through the broker;
# sets CODE (the status) and OUT (the body file), and bumps AUDIT_N's wait.
req()
{
	_rt=$1 _m=$2 _p=$3
	shift 3
	OUT=$TB_TMP/out.$AUDIT_N
	CODE=$(curl -sS --max-time 20 --cacert "$PKI/ca.pem" -o "$OUT" \
	    -w '%{http_code}' -X "$_m" "$@" \
	    --resolve "$_rt.broker.test:$BP:127.0.0.1" \
	    "https://$_rt.broker.test:$BP$_p") || fail "curl $_m $_p failed"
	TB_LOGS="$TB_LOGS $OUT"
}

# seen NGINX METHOD URI: requests nginx NGINX logged with that method and URI.
seen()
{
	awk -v m="$2" -v u="$3" '$3 == m && $4 == u' \
	    "$TB_TMP/nginx-$1/access.log" | wc -l | tr -d ' '
}

# pooled_port PORT: the local port of the broker's one connection to PORT.
pooled_port()
{
	_pp=$(ss -tnH state established "( dport = :$1 )" |
	    awk '{ n = split($3, a, ":"); print a[n] }')
	[ "$(printf '%s\n' "$_pp" | grep -c .)" = 1 ] ||
	    fail "expected one pooled connection to :$1, got '$_pp'"
	printf '%s\n' "$_pp"
}

# blackhole PORT: drop every segment of the connection with local port PORT.
BH_PREF=10
blackhole()
{
	ip rule add pref "$BH_PREF" ipproto tcp sport "$1" blackhole &&
	    ip rule add pref "$((BH_PREF + 1))" ipproto tcp dport "$1" blackhole ||
	    hard_error "ip rule blackhole $1"
	BH_PREF=$((BH_PREF + 2))
}

# unblackhole: the path of the last blackholed connection comes back.
unblackhole()
{
	ip rule del pref "$((BH_PREF - 2))" && ip rule del pref "$((BH_PREF - 1))" ||
	    hard_error "ip rule del $((BH_PREF - 2))"
}

# ---- 1. the watch: GET and a body-less POST are resent ------------------------

req watch GET /warm
assert_eq 200 "$CODE" "GET /warm"
expect_audit route=watch status=200 close=ok up_reused=false

# Every pooled upstream socket carries TCP keepalive (tcp_keepalive, 60 s).
ss -tnoH state established "( dport = :$P_W )" | grep -q 'timer:(keepalive' ||
    fail "the pooled socket has no keepalive timer:" \
    "$(ss -tnoH state established "( dport = :$P_W )")"

blackhole "$(pooled_port "$P_W")"
req watch GET /get1
assert_eq 200 "$CODE" "GET /get1 into the blackhole"
assert_contains "$(cat "$OUT")" "nginx ngw GET /get1" "GET /get1 body"
expect_audit route=watch status=200 close=ok retries=1 \
    retry_reason=upstream_unacked up_reused=false
assert_eq 1 "$(seen ngw GET /get1)" "nginx saw GET /get1"
grep -q 'retrying once on a new connection' "$BROKER_LOG" ||
    fail "the broker log does not name the retry"

blackhole "$(pooled_port "$P_W")"
req watch POST /post1
assert_eq 200 "$CODE" "POST /post1 (no body) into the blackhole"
assert_contains "$(cat "$OUT")" "nginx ngw POST /post1" "POST /post1 body"
expect_audit route=watch method=POST status=200 close=ok retries=1 \
    retry_reason=upstream_unacked
assert_eq 1 "$(seen ngw POST /post1)" "nginx saw POST /post1"

# ---- 2. a streamed body cannot be resent: upstream_unacked, never seen --------

blackhole "$(pooled_port "$P_W")"
_t0=$(now_ms)
req watch POST /echo --data-binary "@$TB_TMP/body.bin" \
    -H 'Content-Type: application/octet-stream' -D "$TB_TMP/hdr.post2"
_t1=$(now_ms)
assert_eq 502 "$CODE" "POST /echo with a body into the blackhole"
grep -qi '^X-Broker-Error: upstream_unacked' "$TB_TMP/hdr.post2" ||
    fail "no X-Broker-Error: upstream_unacked: $(cat "$TB_TMP/hdr.post2")"
expect_audit route=watch method=POST status=502 close=upstream_unacked \
    phase=request retries!
assert_eq 0 "$(seen ngw POST /echo)" "nginx saw the unacknowledged POST /echo"
# named after upstream_reuse_ack_timeout (500 ms), not response_timeout (3 s)
[ $((_t1 - _t0)) -lt 2500 ] ||
    fail "upstream_unacked took $((_t1 - _t0)) ms, more than response_timeout"

# ---- 3. acknowledged, then silent: upstream_timeout, not resent ---------------

req watch GET /warm2
assert_eq 200 "$CODE" "GET /warm2"
expect_audit route=watch status=200 close=ok up_reused=false
req watch POST /hang
assert_eq 504 "$CODE" "POST /hang (acknowledged, never answered in time)"
expect_audit route=watch method=POST path=/hang status=504 \
    close=upstream_timeout up_reused=true retries!
# nginx logs /hang when it answers (after 4 s): exactly one, never resent
_out=$(tbutil waitgrep "$TB_TMP/nginx-ngw/access.log" " POST /hang " \
    --timeout 10) || fail "nginx never logged POST /hang: $_out"
assert_eq 1 "$(seen ngw POST /hang)" "nginx saw POST /hang"

# ---- 4. pool_idle_check: replaced before use ---------------------------------

req check GET /warm
assert_eq 200 "$CODE" "check: GET /warm"
expect_audit route=check status=200 close=ok up_reused=false
# The pooled socket is probed after pool_idle_check (1 s) of silence; ss
# shows the retransmission timer ("on") while a segment is in flight.
_end=$(($(now_ms) + 5000))
while :; do
	_ka=$(ss -tnoH state established "( dport = :$P_C )" |
	    sed -n 's/.*timer:(\([a-z]*\),\([0-9.a-z]*\),.*/\1 \2/p')
	case $_ka in
	keepalive\ *ms | keepalive\ 1sec) break ;;
	keepalive\ *) fail "the pooled socket's keepalive is not within 1 s: '$_ka'" ;;
	esac
	[ "$(now_ms)" -lt "$_end" ] || fail "no keepalive timer on the pooled socket: '$_ka'"
	sleep 0.1
done
_pc=$(pooled_port "$P_C")
blackhole "$_pc"
# Wait (bounded) until TCP itself shows a keepalive probe unanswered.
_end=$(($(now_ms) + 10000))
until ss -tnoH state established "( sport = :$_pc )" |
    grep -q 'timer:(keepalive,[0-9.a-z]*,[1-9]'; do
	[ "$(now_ms)" -lt "$_end" ] ||
	    fail "no unanswered keepalive probe within 10 s:" \
	    "$(ss -tnoH state established "( sport = :$_pc )")"
	sleep 0.1
done
req check POST /echo --data-binary "@$TB_TMP/body.bin" \
    -H 'Content-Type: application/octet-stream'
assert_eq 200 "$CODE" "check: POST /echo with a body after the blackhole"
cmp -s "$OUT" "$TB_TMP/body.bin" || fail "check: the echoed body differs"
expect_audit route=check method=POST status=200 close=ok up_reused=false \
    retries!
assert_eq 1 "$(seen ngc POST /echo)" "nginx ngc saw POST /echo"
grep -q 'left a keepalive probe unanswered; opening a new one' "$BROKER_LOG" ||
    fail "the broker log does not say why it replaced the connection"

# ---- 5. a capped route resets the abandoned connection at once -----------------

req capwatch GET /warm
assert_eq 200 "$CODE" "capwatch: GET /warm"
expect_audit route=capwatch status=200 close=ok up_reused=false
_pk=$(pooled_port "$P_K")
blackhole "$_pk"
req capwatch POST /post5
assert_eq 200 "$CODE" "capwatch: POST /post5 (no body) into the blackhole"
expect_audit route=capwatch method=POST status=200 close=ok retries=1 \
    retry_reason=upstream_unacked
# The path comes back: a socket still open would deliver the queued POST
# with its next retransmission (TCP backs off to 1.6 s by now; the cap's
# wait for a FIN is 2 s).
unblackhole
! ss -tnH "( sport = :$_pk )" | grep -q . ||
    fail "the abandoned connection is still open:" \
    "$(ss -tnoH "( sport = :$_pk )")"
sleep 3	# no event to wait for: this checks that nothing more arrives
assert_eq 1 "$(seen ngk POST /post5)" "nginx ngk saw POST /post5"

stop_broker
note "blackholed pooled connections: OK"
