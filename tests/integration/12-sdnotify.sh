#!/bin/sh
# SPDX-License-Identifier: MIT
#
# sd_notify, captured from a real AF_UNIX datagram socket given as
# NOTIFY_SOCKET (endpoints/notifysock.py), with WATCHDOG_USEC=1500000 and
# WATCHDOG_PID set to the broker's own pid as systemd does:
#   - READY=1 (with STATUS=) is the first datagram and arrives when both
#     listeners and the admin port already listen;
#   - WATCHDOG=1 repeats, never further apart than WATCHDOG_USEC, and the
#     broker does not call its idle workers stuck;
#   - SIGHUP with a valid changed config: RELOADING=1, then READY=1 with
#     STATUS=, and the new route serves;
#   - SIGHUP with a broken config: RELOADING=1, then READY=1 with a STATUS=
#     naming the failure, and the previous config keeps serving;
#   - SIGTERM: STOPPING=1 and exit 0;
#   - with WATCHDOG_PID naming another process, no WATCHDOG=1 at all.
# Failures of the watchdog timing and of STATUS= contents are daemon bugs
# (lib.sh's bug): reported at the end so the other checks still run.

. "$(dirname "$0")/lib.sh"

make_pki

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 5)
BP=$1 BP2=$2 AP=$3 P_HASH=$4 P_HASH2=$5
WD_USEC=1500000
WD_MS=$((WD_USEC / 1000))

start_ep_hash one "$P_HASH"
start_ep_hash two "$P_HASH2"

# write_ini [extra|broken]: two listeners, a route on each; "extra" adds a
# route to a second endpoint, "broken" names a key file that is missing.
write_ini()
{
	_key=$PKI/broker.key
	[ "${1:-}" != broken ] || _key=$TB_TMP/missing.key
	{
		ini_preamble "$BP" workers=2 "admin=127.0.0.1:$AP" \
		    drain_timeout=2s -- "cert=$PKI/broker.pem" "key=$_key"
		ini_listener second "$BP2"
		cat <<EOF

[route one]
listener = erp
mode = tcp
host = broker.test
upstream = 127.0.0.1:$P_HASH
upstream_tls = off

[route side]
listener = second
mode = tcp
upstream = 127.0.0.1:$P_HASH
upstream_tls = off
EOF
	} >"$TB_TMP/broker.ini"
	[ "${1:-}" = "" ] || cat >>"$TB_TMP/broker.ini" <<EOF

[route two]
listener = erp
mode = tcp
host = two.broker.test
upstream = 127.0.0.1:$P_HASH2
upstream_tls = off
EOF
}

# first_ready_field FIELD: a field of the first READY=1 record
# ("listening" as "PORT:true,..."; "pid").
first_ready_field()
{
	"$PYTHON" - "$NOTIFY_LOG" "$1" <<'EOF'
import json, sys
for ln in open(sys.argv[1]):
    r = json.loads(ln)
    if r["fields"].get("READY") == "1":
        v = r.get(sys.argv[2])
        if isinstance(v, dict):
            v = ",".join("%s:%s" % (k, str(x).lower())
                         for k, x in sorted(v.items()))
        print(v)
        break
EOF
}

start_notify_socket "$BP,$BP2,$AP"
WATCHDOG_USEC=$WD_USEC
export WATCHDOG_USEC
# systemd sets WATCHDOG_PID to the main process: exec keeps the pid.
cat >"$TB_TMP/as-main.sh" <<EOF
#!/bin/sh
WATCHDOG_PID=\$\$
export WATCHDOG_PID
exec "$TLSBROKER" "\$@"
EOF
chmod +x "$TB_TMP/as-main.sh"

# ---- READY=1 after bind ---------------------------------------------------------

write_ini
REAL_TLSBROKER=$TLSBROKER
TLSBROKER=$TB_TMP/as-main.sh
start_broker "$TB_TMP/broker.ini"
TLSBROKER=$REAL_TLSBROKER
wait_notify READY=1 1 5

_first=$(notify show | head -n 1)
case $_first in
READY=1*) ;;
*) fail "first datagram is '$_first', expected READY=1 first" ;;
esac
assert_eq "$BROKER_PID" "$(first_ready_field pid)" "sender pid of READY=1"
_lis=$(first_ready_field listening)
for _p in "$BP" "$BP2" "$AP"; do
	assert_contains ",$_lis," ",$_p:true," "ports listening when READY=1 arrived"
done
STATUS=$(notify show --field STATUS | head -n 1)
[ -n "$STATUS" ] || fail "READY=1 came without STATUS="
assert_contains "$STATUS" "2 listeners" "STATUS= at start"
assert_contains "$STATUS" "2 routes" "STATUS= at start"
# STATUS= names the number of routes and connections.
# Regression: STATUS= once named listeners, routes and workers only.
case $STATUS in
*connection*) ;;
*) bug "STATUS= does not give the number of connections: '$STATUS'" ;;
esac
READY_N=$(notify show | grep -n '^READY=1' | head -n 1 | cut -d: -f1)
client_ok who --port "$BP"
assert_contains "$CLIENT_OUT" '"name": "one"'

# ---- WATCHDOG=1 while alive ------------------------------------------------------

# The measuring window: 8 pings or 6 s.  At one ping per WATCHDOG_USEC/3
# (what the broker aims at) 8 take about 4 s; fewer than 8 in 6 s means
# some interval exceeded WATCHDOG_USEC.
_wd_ok=1
notify wait WATCHDOG=1 8 --timeout 6 --pid "$BROKER_PID" >/dev/null ||
    _wd_ok=0
WD_END=$(notify last)
_n=$(notify count WATCHDOG=1)
[ "$_n" -ge 1 ] || fail "no WATCHDOG=1 at all in 6s with WATCHDOG_USEC set"
_gaps=$(notify gaps --after "$READY_N" --before $((WD_END + 1)) | tr '\n' ' ')
_max=0
for _g in $_gaps; do
	[ "$_g" -le "$_max" ] || _max=$_g
done
# Regression: the workers' loop counters once moved only once a second
# (their heartbeat) but were compared every WATCHDOG_USEC/3, so below
# WatchdogSec=3s pings were withheld and "worker loop is stuck" logged.
if [ "$_wd_ok" = 0 ] || [ "$_max" -gt "$WD_MS" ]; then
	bug "$_n WATCHDOG=1 in the 6s after READY=1 (8 expected), at" \
	    "intervals (ms, the first from READY=1) $_gaps; the longest, ${_max}ms," \
	    "must not exceed WATCHDOG_USEC (${WD_MS}ms) or systemd kills the service"
fi
if grep -q 'worker loop is stuck' "$BROKER_LOG"; then
	bug "idle broker says a worker loop is stuck" \
	    "($(grep -c 'worker loop is stuck' "$BROKER_LOG") times in 6s)"
fi

# ---- SIGHUP, valid changed config: RELOADING=1 then READY=1 ----------------------

write_ini extra
_mark=$(notify last)
kill -HUP "$BROKER_PID"
wait_notify READY=1 2
# Periodic STATUS= refreshes (every 5 s) may fall in between: not part of the protocol.
_seq=$(notify show --after "$_mark" --no-watchdog | grep -v '^STATUS=' | tr '\n' '#')
case $_seq in
"RELOADING=1#READY=1|STATUS="*"3 routes"*"#") ;;
*) fail "datagrams after a good SIGHUP: '$_seq', expected RELOADING=1," \
    "then READY=1 with a STATUS= naming 3 routes" ;;
esac
client_ok who --port "$BP" --sni two.broker.test
assert_contains "$CLIENT_OUT" '"name": "two"' "route added by the reload"

# ---- SIGHUP, broken config: READY=1 with the failure, old config serves ----------

write_ini broken
_mark=$(notify last)
kill -HUP "$BROKER_PID"
wait_notify READY=1 3
_seq=$(notify show --after "$_mark" --no-watchdog | grep -v '^STATUS=' | tr '\n' '#')
case $_seq in
"RELOADING=1#READY=1|STATUS="*"#") ;;
*) fail "datagrams after a bad SIGHUP: '$_seq', expected RELOADING=1," \
    "then READY=1 with STATUS=" ;;
esac
_st=$(notify show --after "$_mark" --field STATUS)
assert_contains "$_st" "reload failed" "STATUS= after a bad reload"
assert_contains "$_st" "missing.key" "STATUS= after a bad reload"
grep -q 'reload failed' "$BROKER_LOG" || fail "no 'reload failed' in the log"
client_ok who --port "$BP" --sni two.broker.test
assert_contains "$CLIENT_OUT" '"name": "two"' "previous config after a bad reload"
client_ok who --port "$BP2"
assert_contains "$CLIENT_OUT" '"name": "one"' "second listener after a bad reload"

# ---- SIGTERM: STOPPING=1, exit 0 -----------------------------------------------------

_mark=$(notify last)
stop_broker
wait_notify STOPPING=1 1 5
# Periodic STATUS= refreshes may come too; nothing else may.
_seq=$(notify show --after "$_mark" --no-watchdog | grep -v '^STATUS=' | tr '\n' '#')
assert_eq "STOPPING=1#" "$_seq" "datagrams after SIGTERM"

# ---- WATCHDOG_PID of another process: no pings ------------------------------------

write_ini
WATCHDOG_PID=1
export WATCHDOG_PID
start_broker "$TB_TMP/broker.ini"
wait_notify READY=1 4 5
_mark=$(notify last)
# absence over ten ping intervals of a broker that would ping
_out=$(notify wait WATCHDOG=1 $(($(notify count WATCHDOG=1) + 1)) \
    --timeout 1 --pid "$BROKER_PID") &&
    fail "WATCHDOG=1 sent although WATCHDOG_PID names another process"
stop_broker
unset WATCHDOG_PID WATCHDOG_USEC

bugs_check
