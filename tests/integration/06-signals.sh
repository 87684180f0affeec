#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Signals: SIGTERM without connections exits 0 at once (not after
# drain_timeout); SIGTERM with an idle relay open stops accepting, ends that
# connection within drain_timeout, writes its audit record and exits 0;
# SIGUSR1 reopens the audit log, so records after a rename go to the new file.

. "$(dirname "$0")/lib.sh"

make_pki

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 2)
BP=$1 P_HASH=$2
start_ep_hash hash "$P_HASH"

# write_ini DRAIN_TIMEOUT
write_ini()
{
	{
		ini_preamble "$BP" workers=2 "drain_timeout=$1"
		cat <<EOF

[route relay]
mode = tcp
upstream = 127.0.0.1:$P_HASH
upstream_tls = off
EOF
	} >"$TB_TMP/broker.ini"
}

# ---- SIGTERM, no connections: prompt exit 0 --------------------------------------

write_ini 20s
start_broker "$TB_TMP/broker.ini"
_t0=$(now_ms)
stop_broker 10
_dt=$(($(now_ms) - _t0))
[ "$_dt" -lt 3000 ] || fail "idle broker took ${_dt}ms to exit on SIGTERM" \
    "(drain_timeout 20s must not apply without connections)"
! port_listening "$BP" || fail "port $BP still listening after exit"
[ ! -s "$AUDIT" ] || fail "audit records without connections: $(cat "$AUDIT")"

# ---- SIGTERM with an idle relay: drain, record, exit 0 ---------------------------

write_ini 2s
start_broker "$TB_TMP/broker.ini"
tlsc_bg idle hold --port "$BP" --timeout 30
_out=$(tbutil waitgrep "$TB_TMP/client-idle.out" '"connected"' --timeout 10 \
    --pid "$CLIENT_PID") || fail "idle client: $_out"
# the relay is up once the endpoint has accepted the broker's connection
_out=$(tbutil waitgrep "$(ep_log hash)" "conn 1 from" --timeout 10) ||
    fail "endpoint never saw the relay: $_out"
_idle=$CLIENT_PID
_bpid=$BROKER_PID

kill -TERM "$_bpid"
_t0=$(now_ms)
# stops accepting: the listening socket goes away long before drain_timeout
wait_port_closed "$BP" 2
client_fail who --port "$BP" --timeout 5
assert_contains "$CLIENT_OUT" "Connection refused" "connect after SIGTERM"

wait_exit "$_idle" 8 || fail "idle client still connected 8s after SIGTERM"
untrack "$_idle"
_dt=$(($(now_ms) - _t0))
[ "$_dt" -lt 4500 ] || fail "idle relay closed ${_dt}ms after SIGTERM," \
    "drain_timeout is 2s"
assert_contains "$(tail -n 1 "$TB_TMP/client-idle.out")" '"event": "closed"'
wait_exit "$_bpid" 8 || fail "broker did not exit after draining"
untrack "$_bpid"
BROKER_PID=""
assert_eq 0 "$WAIT_RC" "broker exit status after draining"
AUDIT_N=$((AUDIT_N + 1))
wait_audit "$AUDIT_N" 1
assert_audit "$AUDIT_N" close=shutdown route=relay
_out=$(tbutil waitgrep "$(ep_log hash)" "conn 1: EOF before command" \
    --timeout 5) || fail "endpoint did not see the relay close: $_out"

# ---- SIGUSR1: reopen the audit log -----------------------------------------------

rm -f "$AUDIT"
AUDIT_N=0
write_ini 2s
start_broker "$TB_TMP/broker.ini"
client_ok who --port "$BP"
expect_audit close=ok route=relay
mv "$AUDIT" "$AUDIT.1"
kill -USR1 "$BROKER_PID"
# the reopen creates the file; wait for it so the next record cannot race it
wait_file "$AUDIT" 5
client_ok who --port "$BP"
AUDIT_N=0
expect_audit close=ok route=relay
stop_broker
assert_eq 1 "$(wc -l <"$AUDIT" | tr -d ' ')" "records in the reopened log"
assert_eq 1 "$(wc -l <"$AUDIT.1" | tr -d ' ')" "records in the renamed log"
tbutil jsoncheck "$AUDIT" || fail "audit log has lines that are not JSON"
