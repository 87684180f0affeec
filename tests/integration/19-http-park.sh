#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Parked connections: an http client connection idle between requests
# frees its buffers and waits on the socket alone (http_conn.c), seen
# through the tlsbroker_listener_parked_connections gauge.  One connection
# goes parked -> request -> parked again -> request -> pipelined requests
# -> close; TLS records that reach the broker together (pipelined
# requests, bodies in several records, in one write) are all read; a
# parked connection that never sends a request is closed at
# request_timeout (client_timeout audited; no close_notify after a
# timeout, as nginx), one idle after a request at keepalive_timeout (a
# routine end: close_notify, no second record); non-TLS bytes and a reset
# on a parked connection are audited as client_tls_failed and
# client_reset; SIGTERM closes a parked
# connection at once, with close_notify, and the broker exits cleanly.

. "$(dirname "$0")/lib.sh"

make_pki

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 4)
BP=$1 SP=$2 AP=$3 P_WEB=$4

start_httpd web "$P_WEB"

{
	ini_preamble "$BP" workers=1 "admin=127.0.0.1:$AP" drain_timeout=30s
	ini_listener short "$SP" request_timeout=1s keepalive_timeout=1s
	cat <<EOF

[route web]
listener = erp
host = web.broker.test
upstream = 127.0.0.1:$P_WEB
upstream_tls = off

[route short]
listener = short
host = web.broker.test
upstream = 127.0.0.1:$P_WEB
upstream_tls = off
EOF
} >"$TB_TMP/broker.ini"

start_broker "$TB_TMP/broker.ini"
wait_for_port "$AP" "$BROKER_PID"

# park LISTENER PORT STEP...: endpoints/parkclient.py on one connection.
park()
{
	_l=$1 _p=$2
	shift 2
	PARK_RC=0
	PARK_OUT=$("$PYTHON" "$TB_EP/parkclient.py" --port "$_p" --admin "$AP" \
	    --ca "$PKI/ca.pem" --host web.broker.test --listener "$_l" "$@" \
	    2>&1) || PARK_RC=$?
}

# ---- park, wake, park again -----------------------------------------------------

# A parked connection's OpenSSL state is freed and the broker runs its
# records itself (tlsrec.c): released=1 says so, and every later request,
# the pipelined ones and the close_notify go through that record layer,
# in TLS 1.3 and in TLS 1.2.
park erp "$BP" parked=1 open=1 released=1 get:/one parked=1 get:/two \
    parked=1 pipeline:3 parked=1 close open=0 parked=0 released=0
[ "$PARK_RC" = 0 ] || fail "parked connection round trips: $PARK_OUT"
for _n in 1 2 3 4 5; do
	expect_audit route=web req="$_n" status=200 close=ok
done
assert_eq 5 "$(ep_requests web GET)" "requests the endpoint answered"
assert_eq 1 "$(ep_conns web)" "upstream connections (pooled across parks)"
park erp "$BP" --tls 1.2 parked=1 released=1 get:/one parked=1 get:/two \
    pipeline:3 parked=1 close open=0 released=0
[ "$PARK_RC" = 0 ] || fail "TLS 1.2 parked connection round trips: $PARK_OUT"
for _n in 1 2 3 4 5; do
	expect_audit route=web req="$_n" status=200 close=ok
done

# ---- records that arrive together -----------------------------------------------

# The broker reads TLS with read-ahead: several records in one segment must
# all be read although the socket has nothing left (relay_kick_read()).
# 5 pipelined GETs, one record each, one send(); then 3 POSTs whose bodies
# come in 4 records each.
records()
{
	REC_RC=0
	REC_OUT=$("$PYTHON" "$TB_EP/recordsclient.py" --port "$BP" \
	    --ca "$PKI/ca.pem" --host web.broker.test "$@" 2>&1) || REC_RC=$?
}
records --requests 5
[ "$REC_RC" = 0 ] || fail "5 pipelined records in one write: $REC_OUT"
records --requests 3 --post-pieces 4
[ "$REC_RC" = 0 ] || fail "3 POSTs, bodies in 4 records, one write: $REC_OUT"
AUDIT_N=$((AUDIT_N + 8))
wait_audit "$AUDIT_N"

# ---- timeouts while parked ------------------------------------------------------

park short "$SP" parked=1 eof-quiet parked=0 open=0
[ "$PARK_RC" = 0 ] || fail "request_timeout of a parked connection: $PARK_OUT"
expect_audit listener=short route! req! close=client_timeout phase=request

# A chunked body the broker holds (the endpoint is not yet known to take
# chunked) that stalls: request_timeout covers it as it covers a head.
RAW=$(httpc raw --port "$SP" --host web.broker.test --timeout 10 --send \
    'POST /held HTTP/1.1\r\nHost: web.broker.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n') ||
    fail "stalled chunked body: $RAW"
assert_eq 408 "$(jget "$RAW" 'd["status"]')" "answer to a stalled held body"
expect_audit listener=short route=short method=POST status=408 \
    close=client_timeout 'detail~chunked request body stalled'

park short "$SP" get:/ka parked=1 eof parked=0 open=0
[ "$PARK_RC" = 0 ] || fail "keepalive_timeout of a parked connection: $PARK_OUT"
expect_audit listener=short route=short req=1 status=200 close=ok
# a keep-alive that expired is routine: no second record for the connection
# (the record would be written before the close_notify the client saw)
assert_eq "$AUDIT_N" "$(wc -l <"$AUDIT")" "audit records after the keep-alive close"

# ---- bad bytes and resets while parked ------------------------------------------

# No request yet: each ends with a record of its own that names the cause.
park erp "$BP" parked=1 garbage parked=0 open=0
[ "$PARK_RC" = 0 ] || fail "non-TLS bytes on a parked connection: $PARK_OUT"
expect_audit listener=erp close=client_tls_failed phase=request \
    'detail~TLS error from the client' 'hint~after the handshake'
park erp "$BP" parked=1 reset parked=0 open=0
[ "$PARK_RC" = 0 ] || fail "reset of a parked connection: $PARK_OUT"
expect_audit listener=erp close=client_reset phase=request

# ---- drain closes a parked connection at once -----------------------------------

"$PYTHON" "$TB_EP/parkclient.py" --port "$BP" --admin "$AP" \
    --ca "$PKI/ca.pem" --host web.broker.test get:/last parked=1 eof \
    >"$TB_TMP/drain.out" 2>&1 &
DRAIN_CLIENT=$!
track "$DRAIN_CLIENT" "$TB_TMP/drain.out"
# the client has printed its parked=1 line once the connection is parked
_out=$(tbutil waitgrep "$TB_TMP/drain.out" '"step": "parked=1"' --timeout 10 \
    --pid "$DRAIN_CLIENT") || fail "drain client never parked: $_out"
# drain_timeout is 30 s: only closing idle connections at once makes this quick
stop_broker 10
wait_exit "$DRAIN_CLIENT" 10 || fail "drain client still waiting for the close"
untrack "$DRAIN_CLIENT"
assert_eq 0 "$WAIT_RC" "drain client (close_notify at SIGTERM): $(cat "$TB_TMP/drain.out")"
expect_audit route=web req=1 status=200 close=ok
