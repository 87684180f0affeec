#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Active health checks against real endpoints, and what reports them.
# health_check = http finds a side of an HA pair gone before any client
# meets it (so no request pays for the failed connect) and brings it back
# when it answers again, although its passive cool-down is a minute; a
# status other than health_check_status marks an address down; health_check
# = tls (a tcp route over TLS) marks a refused address down.  /metrics shows
# each address up or down with its failures, and `probe --route` connects
# to each address of a route and says which answer.

. "$(dirname "$0")/lib.sh"

need_cmd curl
make_pki

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 8)
BP=$1 AP=$2 PA=$3 PB=$4 PC=$5 PS=$6 PR=$7

! port_listening "$PR" || hard_error "port $PR unexpectedly in use"
start_httpd a "$PA"
start_httpd b "$PB"
start_httpd c "$PC"
start_sserver s "$PS" -cert "$PKI/legacy.pem" -key "$PKI/legacy.key"

{
	ini_preamble "$BP" workers=2 admin=127.0.0.1:$AP drain_timeout=2s
	cat <<EOF

; the passive cool-down is long: only a check can bring b back in time
[route hc]
host = hc.broker.test
upstream = 127.0.0.1:$PA, 127.0.0.1:$PB
upstream_tls = off
upstream_fail_timeout = 60s
health_check = http
health_check_interval = 300ms
health_check_path = /health

[route st]
host = st.broker.test
upstream = 127.0.0.1:$PC
upstream_tls = off
upstream_fail_timeout = 60s
health_check = http
health_check_interval = 300ms
health_check_path = /status/200
health_check_status = 204

[route st2]
host = st2.broker.test
upstream = 127.0.0.1:$PC
upstream_tls = off
health_check = http
health_check_interval = 300ms
health_check_path = /status/204
health_check_status = 204

[route tlsck]
mode = tcp
host = tlsck.broker.test
upstream = 127.0.0.1:$PS, 127.0.0.1:$PR
upstream_ca = $PKI/ca.pem
upstream_sni = localhost
upstream_fail_timeout = 60s
health_check = tls
health_check_interval = 300ms
EOF
} >"$TB_TMP/broker.ini"

start_broker "$TB_TMP/broker.ini"

# waitlog TEXT: until the broker's log has TEXT.
waitlog()
{
	tbutil waitgrep "$BROKER_LOG" "$1" --timeout 10 --pid "$BROKER_PID" \
	    >/dev/null || fail "no log line '$1'"
}

records()
{
	[ -z "${1:-}" ] || wait_audit "$1"
	if [ -e "$AUDIT" ]; then wc -l <"$AUDIT"; else echo 0; fi
}

# get HOST PATH [CURL ARGS]: route_get (lib.sh)
get() { route_get "$@"; }

# ---- 1. checks find failures before clients do ----------------------------------

# No client has sent anything yet: these come from the checks alone.
waitlog "route tlsck: upstream 127.0.0.1:$PR is down"
waitlog "route st: every upstream address is down"
waitlog "route st: upstream 127.0.0.1:$PC is down after 1 failure (status 200, expected 204)"
[ ! -e "$AUDIT" ] || [ ! -s "$AUDIT" ] ||
    fail "audit records before any client: $(cat "$AUDIT")"
# The http check asks for the path, with a Host, on both sides of hc.
tbutil waitgrep "$(ep_log a)" "GET /health" --timeout 10 >/dev/null ||
    fail "no health check request at a"
tbutil waitgrep "$(ep_log b)" "GET /health" --timeout 10 >/dev/null ||
    fail "no health check request at b"

# ---- 2. a side of the HA pair goes and comes back ----------------------------------

stop_ep b
wait_port_closed "$PB"
waitlog "route hc: upstream 127.0.0.1:$PB is down"
SEQ_OUT=$(httpc seq --port "$BP" --host hc.broker.test "GET /1" "GET /2" \
    "GET /3" "GET /4" "GET /5" "GET /6") || fail "requests with b down: $SEQ_OUT"
N=$(records 6)
assert_eq 6 "$(audit_count 1 "$N" route=hc status=200 "upstream=127.0.0.1:$PA" up_tries=1)" \
    "requests a served at the first try while b is down"

start_httpd b "$PB"
waitlog "route hc: upstream 127.0.0.1:$PB is up again"
B0=$(ep_requests b GET)
SEQ_OUT=$(httpc seq --port "$BP" --host hc.broker.test "GET /r1" "GET /r2" \
    "GET /r3" "GET /r4") || fail "requests with b back: $SEQ_OUT"
N=$(records $((N + 4)))
assert_eq 2 "$(audit_count $((N - 3)) "$N" route=hc "upstream=127.0.0.1:$PB")" \
    "requests b served once back"
[ "$(ep_requests b GET)" -gt "$B0" ] || fail "b saw no request after its return"
assert_eq 1 "$(grep -c "route hc: upstream 127.0.0.1:$PB is down" "$BROKER_LOG")" \
    "log lines for b going down"
assert_eq 1 "$(grep -c "route hc: upstream 127.0.0.1:$PB is up again" "$BROKER_LOG")" \
    "log lines for b coming back"

# ---- 3. the expected status -------------------------------------------------------

get st /x
assert_eq 503 "$CODE" "a route whose check expects another status"
N=$(records $((N + 1)))
assert_audit "$N" route=st status=503 close=upstream_down
get st2 /x
assert_eq 200 "$CODE" "the same endpoint with the status it answers"
N=$(records $((N + 1)))
assert_audit "$N" route=st2 status=200 "upstream=127.0.0.1:$PC"

# ---- 4. tls checks, tcp mode ----------------------------------------------------------

# s_server -www answers the relayed request; the refused side was never tried.
get tlsck /
assert_eq 200 "$CODE" "tcp route with its refused side found by the check"
N=$(records $((N + 1)))
assert_audit "$N" route=tlsck close~"^(ok|client_closed)$" \
    "upstream=127.0.0.1:$PS" up_tries=1

# ---- 5. /metrics ------------------------------------------------------------------------

curl -sS --max-time 10 -o "$TB_TMP/metrics.txt" "http://127.0.0.1:$AP/metrics" ||
    fail "curl /metrics"
for _l in \
    "tlsbroker_upstream_address_up{route=\"tlsck\",address=\"127.0.0.1:$PS\",role=\"primary\"} 1" \
    "tlsbroker_upstream_address_up{route=\"tlsck\",address=\"127.0.0.1:$PR\",role=\"primary\"} 0" \
    "tlsbroker_upstream_address_up{route=\"hc\",address=\"127.0.0.1:$PB\",role=\"primary\"} 1" \
    "tlsbroker_upstream_address_up{route=\"st\",address=\"127.0.0.1:$PC\",role=\"primary\"} 0" \
    "# TYPE tlsbroker_upstream_address_up gauge" \
    "# TYPE tlsbroker_upstream_address_failures_total counter"; do
	grep -qxF "$_l" "$TB_TMP/metrics.txt" || fail "/metrics lacks '$_l'"
done
_f=$(grep -F "tlsbroker_upstream_address_failures_total{route=\"tlsck\",address=\"127.0.0.1:$PR\"" \
    "$TB_TMP/metrics.txt" | sed 's/.* //')
[ "${_f:-0}" -ge 1 ] || fail "failures of the refused address: '${_f:-}'"
_f=$(grep -F "tlsbroker_upstream_address_failures_total{route=\"hc\",address=\"127.0.0.1:$PA\"" \
    "$TB_TMP/metrics.txt" | sed 's/.* //')
assert_eq 0 "$_f" "failures of a, which never failed"

# ---- 6. probe --route: each address ---------------------------------------------------

_rc=0
_out=$("$TLSBROKER" probe --route tlsck -c "$TB_TMP/broker.ini" 2>&1) || _rc=$?
assert_eq 1 "$_rc" "probe --route tlsck with one side refused: exit status ($_out)"
assert_contains "$_out" "address 127.0.0.1:$PS (primary, weight 1)" "probe names the first address"
assert_contains "$_out" "address 127.0.0.1:$PR (primary, weight 1)" "probe names the second address"
assert_contains "$_out" "OK: TLSv1.3" "probe of the side that answers"
assert_contains "$_out" "FAIL: upstream_refused (phase connect)" "probe of the refused side"
assert_contains "$_out" "route tlsck: 1 of 2 addresses connected" "probe summary"
_rc=0
_out=$("$TLSBROKER" probe --route hc -c "$TB_TMP/broker.ini" 2>&1) || _rc=$?
assert_eq 0 "$_rc" "probe --route hc with both sides up: exit status ($_out)"
assert_contains "$_out" "route hc: 2 of 2 addresses connected" "probe summary"
assert_eq 2 "$(printf '%s\n' "$_out" | grep -c '^OK: plain TCP')" "probe OK lines for hc"
# Each down or up was logged once, not once per check (one every 300 ms).
assert_eq 1 "$(grep -c "route tlsck: upstream 127.0.0.1:$PR is down" "$BROKER_LOG")" \
    "log lines for the refused side of tlsck"
assert_eq 1 "$(grep -c 'route st: every upstream address is down' "$BROKER_LOG")" \
    "log lines for st going down"

stop_broker
