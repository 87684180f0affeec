#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Workers share the accepting: every listener is one socket all workers
# accept from, and a worker holding more client connections than another
# by a margin steps aside until that one catches up (listener.c), seen
# through tlsbroker_worker_open_connections.  endpoints/balanceclient.py
# opens connections one at a time and holds them:
#   - 24 of them are spread within 2 of each other over 2 workers;
#   - with every connection of one worker closed, as many new ones as the
#     other holds all go to the emptied worker (a per-worker SO_REUSEPORT
#     socket, the kernel hashing, gave it about half);
#   - the same after a SIGHUP reload (the listeners are attached anew);
#   - max_connections = 16 over 2 workers (8 each): 16 clients are all
#     served at once, none left waiting in the backlog of a worker that is
#     full while the other has room.

. "$(dirname "$0")/lib.sh"

need_cmd curl
make_pki

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 4)
BP=$1 AP=$2 P_WEB=$3 BP2=$4

start_httpd web "$P_WEB"

# write_ini BIND ADMIN [BROKER_KEY=VALUE...]
write_ini()
{
	_bind=$1 _admin=$2
	shift 2
	ini_preamble "$_bind" workers=2 "admin=127.0.0.1:$_admin" "$@"
	cat <<EOF

[route web]
listener = erp
host = web.broker.test
upstream = 127.0.0.1:$P_WEB
upstream_tls = off
EOF
}

# balance PORT ADMIN [ARG...]: endpoints/balanceclient.py; sets BAL_RC, BAL_OUT
balance()
{
	_port=$1 _admin=$2
	shift 2
	BAL_RC=0
	BAL_OUT=$("$PYTHON" "$TB_EP/balanceclient.py" --port "$_port" \
	    --admin "$_admin" --ca "$PKI/ca.pem" --host web.broker.test "$@" \
	    2>&1) || BAL_RC=$?
}

write_ini "$BP" "$AP" >"$TB_TMP/broker.ini"
start_broker "$TB_TMP/broker.ini"
wait_for_port "$AP" "$BROKER_PID"

balance "$BP" "$AP" --conns 24
[ "$BAL_RC" = 0 ] || fail "connections spread over the workers: $BAL_OUT"

kill -HUP "$BROKER_PID"
tbutil waitgrep "$BROKER_LOG" "reload 1 done" --timeout 10 --pid "$BROKER_PID" \
    >/dev/null || fail "reload did not finish"
balance "$BP" "$AP" --conns 24
[ "$BAL_RC" = 0 ] || fail "connections spread after a reload: $BAL_OUT"

curl_get "https://web.broker.test:$BP/after" \
    --resolve "web.broker.test:$BP:127.0.0.1"
assert_eq 0 "$CURL_RC" "a request after the balance runs: $CURL_ERR"
stop_broker

# ---- max_connections split between the workers ---------------------------------

write_ini "$BP2" "$AP" max_connections=16 >"$TB_TMP/broker2.ini"
start_broker "$TB_TMP/broker2.ini"
wait_for_port "$AP" "$BROKER_PID"
balance "$BP2" "$AP" --conns 16 --open-only
[ "$BAL_RC" = 0 ] || fail "max_connections clients all taken: $BAL_OUT"
stop_broker
