#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Privilege drop ([broker] user =), run as root (skips, 77, otherwise):
#   - with user = nobody the broker binds a privileged port (< 1024) before
#     it drops, then every thread runs with nobody's uid and gid (real,
#     effective, saved, fs), nobody's group only, and no capabilities;
#   - it still serves (tcp and http routes through the privileged port) and
#     writes its audit log: the file it opened as root before the drop, and
#     after a move and SIGUSR1 a new one it creates as nobody in a log
#     directory nobody owns (what /var/log/tlsbroker needs to be);
#   - a SIGHUP reload after the drop leaves it serving (whether the reload
#     can re-read the root-only key is reported, not required);
#   - user = a name that does not exist: `tlsbroker -t` and a start both
#     fail with exit 1 and say which user.

. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "not running as root"
NOBODY_UID=$(id -u nobody 2>/dev/null) || skip "no user nobody"
NOBODY_GID=$(id -g nobody)
need_cmd curl
make_pki

PP=$(free_port_in 600 1000)
# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 3)
AP=$1 P_HTTP=$2 P_HASH=$3
start_ep_http web "$P_HTTP"
start_ep_hash raw "$P_HASH"

# The audit log lives in a directory nobody owns, as /var/log/tlsbroker
# would; the temp dir must be traversable for that.  Keys stay root-only.
chmod 711 "$TB_TMP"
mkdir -p "$TB_TMP/log"
chown "$NOBODY_UID:$NOBODY_GID" "$TB_TMP/log"
AUDIT="$TB_TMP/log/audit.jsonl"

# write_ini USER
write_ini()
{
	{
		ini_preamble "$PP" workers=2 "user=$1" "admin=127.0.0.1:$AP" \
		    drain_timeout=2s
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

# ---- user = nobody -------------------------------------------------------------

write_ini nobody
start_broker "$TB_TMP/broker.ini"
wait_for_port "$PP" "$BROKER_PID"
_ids="$NOBODY_UID	$NOBODY_UID	$NOBODY_UID	$NOBODY_UID"
_gids="$NOBODY_GID	$NOBODY_GID	$NOBODY_GID	$NOBODY_GID"
_nthreads=0
for _st in /proc/"$BROKER_PID"/task/*/status; do
	_tid=$(basename "$(dirname "$_st")")
	_nthreads=$((_nthreads + 1))
	assert_eq "$_ids" "$(sed -n 's/^Uid:[[:space:]]*//p' "$_st")" \
	    "Uid (real, effective, saved, fs) of thread $_tid"
	assert_eq "$_gids" "$(sed -n 's/^Gid:[[:space:]]*//p' "$_st")" \
	    "Gid (real, effective, saved, fs) of thread $_tid"
	assert_eq "$NOBODY_GID" "$(sed -n 's/^Groups:[[:space:]]*//p' "$_st" |
	    sed 's/[[:space:]]*$//')" "supplementary groups of thread $_tid"
	for _cap in CapEff CapPrm CapAmb; do
		assert_eq 0000000000000000 \
		    "$(sed -n "s/^$_cap:[[:space:]]*//p" "$_st")" \
		    "$_cap of thread $_tid"
	done
done
# the main thread, 2 workers and the admin thread (if it has one)
[ "$_nthreads" -ge 3 ] || fail "only $_nthreads threads in /proc/$BROKER_PID/task"
# bound as root, dropped before serving
_drop=$(grep -n 'running as user nobody' "$BROKER_LOG" | cut -d: -f1)
_ready=$(grep -n 'ready:' "$BROKER_LOG" | cut -d: -f1)
[ -n "$_drop" ] || fail "no 'running as user nobody' in the log"
[ "$_drop" -lt "$_ready" ] || fail "privileges dropped after 'ready:'"

# it serves, through the privileged port, and records what it did
client_ok who --port "$PP" --sni raw.broker.test
assert_contains "$CLIENT_OUT" '"name": "raw"'
expect_audit route=raw close=ok listener=erp
curl_get "https://web.broker.test:$PP/x" \
    --resolve "web.broker.test:$PP:127.0.0.1" -o /dev/null -w '%{http_code}'
assert_eq 200 "$CURL_OUT" "http through the privileged port ($CURL_ERR)"
expect_audit route=web status=200
curl_get "http://127.0.0.1:$AP/healthz" -o /dev/null -w '%{http_code}'
assert_eq 200 "$CURL_OUT" "/healthz as nobody"
# the first file was opened before the drop
assert_eq "0:0" "$(stat -c %u:%g "$AUDIT")" "owner of the audit log opened at start"

# SIGUSR1 after the drop: the new file is created as nobody
mv "$AUDIT" "$AUDIT.1"
kill -USR1 "$BROKER_PID"
_out=$(tbutil waitgrep "$BROKER_LOG" "SIGUSR1" --timeout 10 \
    --pid "$BROKER_PID") || fail "SIGUSR1: $_out"
grep -q 'cannot reopen' "$BROKER_LOG" &&
    fail "audit reopen as nobody failed: $(grep 'cannot reopen' "$BROKER_LOG")"
wait_file "$AUDIT" 5
assert_eq "$NOBODY_UID:$NOBODY_GID" "$(stat -c %u:%g "$AUDIT")" \
    "owner of the reopened audit log"
client_ok who --port "$PP" --sni raw.broker.test
AUDIT_N=0
expect_audit route=raw close=ok
assert_eq 2 "$(wc -l <"$AUDIT.1" | tr -d ' ')" "records in the moved log"

# SIGHUP after the drop: whatever happens to the reload, it keeps serving
kill -HUP "$BROKER_PID"
_end=$(($(now_ms) + 10000))
while ! grep -q -E 'reload 1 done|previous configuration keeps running' \
    "$BROKER_LOG"; do
	_tb_alive "$BROKER_PID" || fail "broker died on SIGHUP after the drop"
	[ "$(now_ms)" -lt "$_end" ] || fail "no reload outcome within 10s"
	sleep 0.05
done
if grep -q 'reload 1 done' "$BROKER_LOG"; then
	note "reload after the drop: succeeded"
else
	note "reload after the drop: failed, previous configuration kept:" \
	    "$(grep 'reload failed' "$BROKER_LOG" | head -n 1)"
fi
client_ok who --port "$PP" --sni raw.broker.test
expect_audit route=raw close=ok
port_listening "$PP" || fail "privileged port closed after SIGHUP"
stop_broker
! port_listening "$PP" || fail "port $PP still listening after exit"

# ---- user = a name that does not exist -------------------------------------------

_nouser=tlsbroker-no-such-user
! id "$_nouser" >/dev/null 2>&1 || hard_error "user $_nouser exists"
write_ini "$_nouser"
broker_check "$TB_TMP/broker.ini"
assert_eq 1 "$CHECK_RC" "tlsbroker -t with user = $_nouser"
assert_contains "$(cat "$CHECK_ERR")" "$_nouser" "tlsbroker -t error"
assert_not_contains "$(cat "$CHECK_OUT")" "configuration OK"

need_broker
_rc=0
timeout 20 "$TLSBROKER" -c "$TB_TMP/broker.ini" </dev/null \
    >"$TB_TMP/nouser.out" 2>"$TB_TMP/nouser.err" || _rc=$?
TB_BROKER_LOGS="$TB_BROKER_LOGS $TB_TMP/nouser.err"
TB_LOGS="$TB_LOGS $TB_TMP/nouser.err"
assert_eq 1 "$_rc" "start with user = $_nouser"
assert_contains "$(cat "$TB_TMP/nouser.err")" "$_nouser" "start error"
assert_not_contains "$(cat "$TB_TMP/nouser.err")" "ready:" "start error"
! port_listening "$PP" || fail "port $PP listening after a failed start"
