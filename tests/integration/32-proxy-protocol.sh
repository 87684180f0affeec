#!/bin/sh
# SPDX-License-Identifier: MIT
#
# PROXY protocol behind a balancer.  Listener erp has proxy_protocol = on,
# trusts 127.0.0.1 (the "balancer") and allows 203.0.113.0/24,
# 2001:db8::/32, 127.0.0.2 and 127.0.0.3; listener opt has proxy_protocol
# = optional.
#   - v1 and v2 headers (IPv4 and IPv6 callers) from python
#     (endpoints/proxyclient.py), and from a real HAProxy (send-proxy and
#     send-proxy-v2) in front of a curl bound to 127.0.0.3: the audit
#     client and the X-Forwarded-For the endpoint receives are the caller
#     the header names, not the balancer;
#   - a header sent a byte at a time, 5 ms apart, still works;
#   - the allow list applies to the named caller: 198.51.100.1 is
#     client_denied although the balancer is trusted;
#   - refused with close=client_proxy, phase accept, and audited: a
#     trusted source that sends a ClientHello without a header, a
#     malformed header, and a header from 127.0.0.2, which is not trusted
#     (while 127.0.0.2 speaking TLS directly is served as itself);
#   - a trusted source that sends half a header and stops is closed at
#     handshake_timeout as client_timeout;
#   - optional: a trusted source may send no header, or a v2 LOCAL (a
#     health check): the balancer is then the caller.

. "$(dirname "$0")/lib.sh"

need_cmd curl haproxy
make_pki

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 5)
BP=$1 OP=$2 P_HTTP=$3 HP1=$4 HP2=$5

start_httpd web "$P_HTTP"

{
	ini_preamble "$BP" workers=2 -- proxy_protocol=on \
	    proxy_trusted=127.0.0.1 \
	    "allow=203.0.113.0/24 2001:db8::/32 127.0.0.2 127.0.0.3" \
	    handshake_timeout=2s
	ini_listener opt "$OP" proxy_protocol=optional proxy_trusted=127.0.0.1
	cat <<EOF

[route web]
listener = erp
host = web.broker.test
upstream = 127.0.0.1:$P_HTTP
upstream_tls = off

[route web-opt]
listener = opt
host = web.broker.test
upstream = 127.0.0.1:$P_HTTP
upstream_tls = off
EOF
} >"$TB_TMP/broker.ini"

start_broker "$TB_TMP/broker.ini"

# pclient PORT ARGS...: proxyclient.py; JSON in PC_OUT, exit status in PC_RC.
pclient()
{
	_port=$1
	shift
	PC_RC=0
	PC_OUT=$("$PYTHON" "$TB_EP/proxyclient.py" --port "$_port" \
	    --ca "$PKI/ca.pem" "$@" 2>&1) || PC_RC=$?
}

# served XFF CLIENT_RE ARGS...: a request through erp that must get 200,
# with X-Forwarded-For XFF at the endpoint and an audit client matching
# CLIENT_RE.
served()
{
	_xff=$1 _cre=$2
	shift 2
	pclient "$BP" "$@"
	[ "$PC_RC" = 0 ] || fail "proxyclient $*: $PC_OUT"
	assert_eq 200 "$(jget "$PC_OUT" status)" "status ($*)"
	assert_eq "$_xff" "$(jget "$PC_OUT" xff)" "X-Forwarded-For ($*)"
	expect_audit route=web status=200 close=ok "client~^$_cre\$"
}

# refused CLOSE DETAIL_RE CLIENT_RE ARGS...: a connection to erp that the
# broker ends before any request, audited with CLOSE at phase accept.
refused()
{
	_close=$1 _dre=$2 _cre=$3
	shift 3
	pclient "$BP" "$@"
	[ "$PC_RC" != 0 ] || fail "proxyclient $* was served: $PC_OUT"
	expect_audit listener=erp "close=$_close" phase=accept "detail~$_dre" \
	    "client~^$_cre\$" route!
}

note "PROXY v1 and v2 from python"
served 203.0.113.7 '203\.0\.113\.7:51514' --v1 203.0.113.7:51514
served 203.0.113.9 '203\.0\.113\.9:40000' --v2 203.0.113.9:40000
served 203.0.113.11 '203\.0\.113\.11:1' --v1 203.0.113.11:1 --split
served 203.0.113.12 '203\.0\.113\.12:2' --v2 203.0.113.12:2 --split
served 2001:db8::7 '\[2001:db8::7\]:4000' --v2 '[2001:db8::7]:4000'
served 2001:db8::9 '\[2001:db8::9\]:4001' --v1 '[2001:db8::9]:4001'

note "the allow list sees the named caller"
refused client_denied 'not in the allow list' '198\.51\.100\.1:5' \
    --v1 198.51.100.1:5

note "refusals"
refused client_proxy 'no PROXY header .*a TLS ClientHello from trusted 127\.0\.0\.1' \
    '127\.0\.0\.1:[0-9]+'
refused client_proxy 'PROXY v1 TCP4 addresses or ports are malformed' \
    '127\.0\.0\.1:[0-9]+' --raw 'PROXY TCP4 203.0.113.7 999.1.1.1 1 2\r\n'
refused client_proxy 'PROXY v2 command is neither' '127\.0\.0\.1:[0-9]+' \
    --raw '\r\n\r\n\x00\r\nQUIT\n\x2f\x11\x00\x0c'
refused client_proxy 'PROXY header from 127\.0\.0\.2:[0-9]+, which is not in proxy_trusted' \
    '127\.0\.0\.2:[0-9]+' --source 127.0.0.2 --v1 203.0.113.7:9
refused client_proxy 'PROXY header from 127\.0\.0\.2' '127\.0\.0\.2:[0-9]+' \
    --source 127.0.0.2 --v2 203.0.113.7:9
assert_audit_has "$AUDIT_N" 'set proxy_protocol = optional'
note "an untrusted source speaking TLS is served as itself"
served 127.0.0.2 '127\.0\.0\.2:[0-9]+' --source 127.0.0.2

note "half a header, then silence: closed at handshake_timeout"
pclient "$BP" --raw 'PROXY TCP4 203.0.113.7 ' --hold
[ "$PC_RC" = 0 ] || fail "the broker did not close the silent connection: $PC_OUT"
expect_audit listener=erp close=client_timeout phase=accept \
    'detail~no complete PROXY header from 127\.0\.0\.1:[0-9]+ within handshake_timeout \(2000 ms\)'

note "optional: no header, and a v2 LOCAL health check"
pclient "$OP"
[ "$PC_RC" = 0 ] || fail "optional, no header: $PC_OUT"
assert_eq 127.0.0.1 "$(jget "$PC_OUT" xff)" "X-Forwarded-For without a header"
expect_audit route=web-opt status=200 'client~^127\.0\.0\.1:'
pclient "$OP" --v2-local
[ "$PC_RC" = 0 ] || fail "optional, v2 LOCAL: $PC_OUT"
assert_eq 127.0.0.1 "$(jget "$PC_OUT" xff)" "X-Forwarded-For after LOCAL"
expect_audit route=web-opt status=200 'client~^127\.0\.0\.1:'
pclient "$OP" --v1 203.0.113.20:20
[ "$PC_RC" = 0 ] || fail "optional, v1: $PC_OUT"
assert_eq 203.0.113.20 "$(jget "$PC_OUT" xff)" "X-Forwarded-For, optional v1"
expect_audit route=web-opt status=200 'client=203.0.113.20:20'

note "HAProxy in front: send-proxy (v1) and send-proxy-v2"
cat >"$TB_TMP/haproxy.cfg" <<EOF
global
    maxconn 100
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend v1
    bind 127.0.0.1:$HP1
    default_backend broker_v1
frontend v2
    bind 127.0.0.1:$HP2
    default_backend broker_v2
backend broker_v1
    server broker 127.0.0.1:$BP send-proxy
backend broker_v2
    server broker 127.0.0.1:$BP send-proxy-v2
EOF
haproxy -c -f "$TB_TMP/haproxy.cfg" >"$TB_TMP/haproxy-check.log" 2>&1 ||
    hard_error "haproxy -c: $(cat "$TB_TMP/haproxy-check.log")"
haproxy -db -f "$TB_TMP/haproxy.cfg" </dev/null >"$TB_TMP/haproxy.log" 2>&1 &
HAPROXY_PID=$!
track "$HAPROXY_PID" "$TB_TMP/haproxy.log"
wait_for_port "$HP1" "$HAPROXY_PID"
wait_for_port "$HP2" "$HAPROXY_PID"

for hp in "$HP1" "$HP2"; do
	curl_get "https://web.broker.test:$hp/via-haproxy" --interface 127.0.0.3 \
	    --resolve "web.broker.test:$hp:127.0.0.1" \
	    -w '\nHTTP %{http_code} %{local_port}\n'
	[ "$CURL_RC" = 0 ] || fail "curl through haproxy :$hp: rc $CURL_RC: $CURL_ERR"
	_res=$(printf '%s\n' "$CURL_OUT" | tail -n 1)
	assert_eq 200 "$(echo "$_res" | cut -d' ' -f2)" "status through haproxy :$hp"
	_lport=$(echo "$_res" | cut -d' ' -f3)
	_body=$(printf '%s\n' "$CURL_OUT" | sed '$d')
	assert_eq 127.0.0.3 "$(jget "$_body" 'hdr("X-Forwarded-For")')" \
	    "X-Forwarded-For through haproxy :$hp"
	expect_audit route=web status=200 "client=127.0.0.3:$_lport" \
	    path=/via-haproxy
done

stop_pid "$HAPROXY_PID"
stop_broker
