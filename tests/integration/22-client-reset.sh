#!/bin/sh
# SPDX-License-Identifier: MIT
#
# A client that goes away while the broker still owes it bytes.  Once a
# write to a client fails, or its socket was reset, the client is gone:
# no path may write to it again (a kick of the write towards a dead peer
# fails at once, for ever: a worker at 100 % CPU), and the exchange it
# ended is audited client_reset, never as the endpoint's fault.  Clients
# pipeline ~20000 GETs without reading, then reset (endpoints/pipeclient.py):
#   - while a 32 MiB answer is on its way (http): no spin, client_reset in
#     phase response for that exchange;
#   - while small answers pile up: the broker queues the answers of at most
#     a few pipelined requests beyond what the sockets hold (the next
#     request waits until the output drains), no spin, and the connection's
#     summary line says client_reset;
#   - while the endpoint is silent and the pipelined requests fill the
#     input (nothing is written, nothing read): at response_timeout the
#     exchange is audited client_reset, not upstream_timeout;
#   - in tcp mode while a 32 MiB download is relayed: no spin, client_reset.
# And the other way round: an answer to "Connection: close" with pipelined
# requests unread behind it ends with the broker's FIN, never a reset.
# The spin check reads the broker's CPU time from /proc over 2 s
# (lib.sh assert_no_spin): a spinning worker uses a whole core.

. "$(dirname "$0")/lib.sh"

make_pki

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 5)
BP=$1 TP=$2 P_BULK=$3 P_WEB=$4 P_HASH=$5

_ep_run bulk "$P_BULK" "$PYTHON" "$TB_EP/bulk.py" serve "$P_BULK"
start_httpd web "$P_WEB"
start_ep_hash hash "$P_HASH"

{
	ini_preamble "$BP" workers=1
	ini_listener raw "$TP"
	cat <<EOF

[route bulk]
listener = erp
host = bulk.broker.test
upstream = 127.0.0.1:$P_BULK
upstream_tls = off
response_timeout = 3s

[route web]
listener = erp
host = web.broker.test
upstream = 127.0.0.1:$P_WEB
upstream_tls = off
response_timeout = 3s

[route hash]
listener = raw
mode = tcp
upstream = 127.0.0.1:$P_HASH
upstream_tls = off
EOF
} >"$TB_TMP/broker.ini"
start_broker "$TB_TMP/broker.ini"

# pipe PORT HOST ARGS...: pipeclient.py; its JSON in PIPE.
pipe()
{
	_p=$1 _h=$2
	shift 2
	PIPE=$("$PYTHON" "$TB_EP/pipeclient.py" --port "$_p" --ca "$PKI/ca.pem" \
	    --host "$_h" "$@" 2>&1) || fail "pipeclient $_h $*: $PIPE"
}

# ---- reset while a large answer is on its way ----------------------------------

pipe "$BP" bulk.broker.test --path /bytes/33554432 --answered
assert_no_spin "$BROKER_PID" "after a reset during a 32 MiB answer"
expect_audit conn=1 req=1 route=bulk path=/bytes/33554432 status=200 \
    close=client_reset phase=response
assert_eq 1 "$(wc -l <"$AUDIT" | tr -d ' ')" \
    "records of the reset connection (no other request started)"

# ---- reset while small answers pile up --------------------------------------------

pipe "$BP" bulk.broker.test --path /bytes/16384
_out=$(tbutil waitgrep "$BROKER_LOG" "conn=2 route=bulk client=" \
    --timeout 10 --pid "$BROKER_PID") || fail "no summary line for conn 2: $_out"
grep "conn=2 route=bulk client=" "$BROKER_LOG" | grep -q ' close=client_reset ' ||
    fail "summary of the reset pipelining connection: $(grep \
    "conn=2 route=bulk client=" "$BROKER_LOG")"
assert_no_spin "$BROKER_PID" "after a reset with answers queued"
_answered=$(audit_count 2 "$(wc -l <"$AUDIT" | tr -d ' ')" conn=2)
note "pipelined $(jget "$PIPE" sent) GETs of 16 KiB; $_answered answered"
# The sockets hold a few MiB; 2000 answers would be 32 MiB queued in the broker.
[ "$_answered" -lt 2000 ] ||
    fail "$_answered answers queued for a client that reads nothing"
AUDIT_N=$(wc -l <"$AUDIT" | tr -d ' ')

# ---- reset while the endpoint is silent and nothing is written ---------------------

pipe "$BP" web.broker.test --path /hang
expect_audit route=web path=/hang req=1 close=client_reset phase=request \
    status!
assert_no_spin "$BROKER_PID" "after a reset during a silent exchange"

# ---- our own close never resets an answer the client has not read --------------

# The first GET says Connection: close; the pipelined GETs behind it are
# unread in the broker's socket when the answer is written.  Closing then
# would make the kernel reset, and a reset destroys the answer in the
# client's receive buffer: the broker half-closes and lingers instead.
"$PYTHON" "$TB_EP/pipeclient.py" --port "$BP" --ca "$PKI/ca.pem" \
    --host web.broker.test --path / --count 2000 --stall 0.5 --close-first \
    >"$TB_TMP/closefirst.json" 2>&1 || fail "pipeclient --close-first: $(cat "$TB_TMP/closefirst.json")"
_cf=$(cat "$TB_TMP/closefirst.json")
assert_eq "fin" "$(jget "$_cf" 'd["end"]')" "how the broker ended a Connection: close answer with pipelined requests unread ($_cf)"
assert_contains "$(jget "$_cf" 'd["status"]')" " 200 "
expect_audit route=web path=/ close=ok
AUDIT_N=$(wc -l <"$AUDIT" | tr -d ' ')

# ---- tcp mode: reset while a download is relayed --------------------------------

# hash protocol 'D': 32 MiB of stream(1)
pipe "$TP" hash.broker.test --answered \
    --data "440000000002000000""0000000000000001"
assert_no_spin "$BROKER_PID" "after a reset in a tcp relay"
expect_audit route=hash close=client_reset phase=exchange

stop_broker
tbutil jsoncheck "$AUDIT" || fail "audit log has lines that are not JSON"
assert_eq "$AUDIT_N" "$(wc -l <"$AUDIT" | tr -d ' ')" "audit records"
