#!/bin/sh
# SPDX-License-Identifier: MIT
#
# `tlsbroker probe` against real legacy endpoints: TLS 1.0-only, TLS
# 1.1-only, no RFC 5746 (lighttpd + GnuTLS), TLS 1.2/1.3, plain HTTP,
# 3DES-only and RC4-only (lighttpd + GnuTLS).  For each: the facts in the
# --json output (versions accepted, renegotiation, 3DES/RC4 detection), then
# the [route] block the text output ends with is pasted into a broker config
# and one request through the running broker must reach the endpoint.  The
# 3DES/RC4 endpoints must give exit 1 and name the private OpenSSL build.
# Then `probe --route` with a good and two bad routes of that config, and
# last a resolver that never answers.  The endpoint cases are scenario rows
# (see lib.sh): three tables, for the probe, the broker and probe --route.

. "$(dirname "$0")/lib.sh"

need_cmd curl
need_broker
make_pki

BP=$(free_port)

# c1-tls10-3des / r-tls10-rc4: GnuTLS 3.7.9 still has both when asked
# explicitly; a ClientHello without them gets a TCP close without an alert.
start_ep_des3()
{
	start_lighttpd_gnutls "$1" "$2" \
	    'NORMAL:-VERS-ALL:+VERS-TLS1.0:-CIPHER-ALL:+3DES-CBC:-KX-ALL:+RSA'
}

start_ep_rc4()
{
	start_lighttpd_gnutls "$1" "$2" \
	    'NORMAL:-VERS-ALL:+VERS-TLS1.0:-CIPHER-ALL:+ARCFOUR-128:-KX-ALL:+RSA'
}

# probe EXPECTED_RC: the row's endpoint probed with --json into
# $TB_TMP/NAME.json (the row's record), then for the text report into
# $TB_TMP/NAME.txt; both must exit EXPECTED_RC.
probe()
{
	_rc=0
	timeout 60 "$TLSBROKER" probe "127.0.0.1:$PORT" --sni localhost \
	    --ca "$PKI/ca.pem" --timeout 2s --name "$NAME" --json \
	    >"$TB_TMP/$NAME.json" 2>"$TB_TMP/$NAME.err" || _rc=$?
	TB_LOGS="$TB_LOGS $TB_TMP/$NAME.json $TB_TMP/$NAME.err"
	# a sanitizer report from probe fails the test like one from the broker
	TB_BROKER_LOGS="$TB_BROKER_LOGS $TB_TMP/$NAME.err"
	[ "$_rc" = "$1" ] || fail "probe $NAME --json: exit $_rc, expected $1"
	_rc=0
	timeout 60 "$TLSBROKER" probe "127.0.0.1:$PORT" --sni localhost \
	    --ca "$PKI/ca.pem" --timeout 2s --name "$NAME" \
	    >"$TB_TMP/$NAME.txt" 2>>"$TB_TMP/$NAME.err" || _rc=$?
	TB_LOGS="$TB_LOGS $TB_TMP/$NAME.txt"
	[ "$_rc" = "$1" ] || fail "probe $NAME: exit $_rc, expected $1"
	SC_RECORD=$TB_TMP/$NAME.json
}

# report_has TEXT: the row's text report contains TEXT.
report_has()
{
	assert_contains "$(cat "$TB_TMP/$NAME.txt")" "$1" "$NAME report"
}

# take_block: the [route NAME] block ending the row's text report goes to
# $TB_TMP/blocks.ini for the broker, with a host match added so that one
# listener serves every route by SNI / Host.
take_block()
{
	sed -n '/^\[route /,$p' "$TB_TMP/$NAME.txt" >"$TB_TMP/$NAME.block"
	grep -q "^\[route $NAME\]\$" "$TB_TMP/$NAME.block" ||
	    fail "probe $NAME: no [route $NAME] block in: $(cat "$TB_TMP/$NAME.txt")"
	[ "$(jget "$(cat "$TB_TMP/$NAME.json")" route/block)" = \
	    "$(cat "$TB_TMP/$NAME.block")" ] ||
	    fail "probe $NAME: --json route.block differs from the text block"
	{
		printf '\n'
		sed "s/^\[route $NAME\]\$/[route $NAME]\nhost = $HOST/" \
		    "$TB_TMP/$NAME.block"
	} >>"$TB_TMP/blocks.ini"
}

# has_line LINE / lacks KEY WHY: the row's block has LINE / has no KEY line.
has_line()
{
	grep -q -x -F -- "$1" "$TB_TMP/$NAME.block" ||
	    fail "probe $NAME: block lacks '$1': $(cat "$TB_TMP/$NAME.block")"
}

lacks()
{
	if grep -q "^$1" "$TB_TMP/$NAME.block"; then
		fail "$NAME: $2"
	fi
}

# ---- usage ---------------------------------------------------------------------

_rc=0
"$TLSBROKER" probe >/dev/null 2>"$TB_TMP/usage.err" || _rc=$?
assert_eq 2 "$_rc" "probe without HOST:PORT: exit status"
_rc=0
"$TLSBROKER" probe --bogus 127.0.0.1:1 >"$TB_TMP/usage.out" \
    2>"$TB_TMP/usage.err" || _rc=$?
assert_eq 2 "$_rc" "probe --bogus: exit status"
assert_contains "$(cat "$TB_TMP/usage.err")" "usage: tlsbroker probe" \
    "probe --bogus stderr"
assert_eq "" "$(cat "$TB_TMP/usage.out")" "probe --bogus stdout"
# --sni goes into the suggested route block and a Host header: a value that
# is no host name (here one carrying a config line) is refused
_rc=0
"$TLSBROKER" probe 127.0.0.1:1 --sni "$(printf 'a.test\nupstream = x:1')" \
    >"$TB_TMP/usage.out" 2>"$TB_TMP/usage.err" || _rc=$?
assert_eq 2 "$_rc" "probe --sni with a newline: exit status"
assert_contains "$(cat "$TB_TMP/usage.err")" "is not a host name" \
    "probe --sni with a newline: stderr"

# ---- discovery -----------------------------------------------------------------

# The narrowest settings per endpoint, not one big hammer: each block names
# only what its endpoint needs.
cat >"$TB_TMP/probe.rows" <<'EOF'
# NAME  ENDPOINT   ROUTE CLIENT    EXPECT (the --json report)  CHECK
tls10   tls10      -     "probe 0" \
    "versions/1.0/accepted=true versions/1.0/secure_renegotiation=true
    versions/1.0/families/ecdhe=true versions/1.1/accepted=false
    versions/1.2/accepted=false versions/1.3/accepted=false
    versions/1.3/refused/code=upstream_tls_version 3des/accepted=false
    rc4/accepted=false verify/ok=true chain/0/subject=CN=localhost
    pin=$(cat "$PKI/legacy.pin") resumption/resumed=true route/ok=true" \
    'take_block
    has_line "upstream_tls = 1.0"
    has_line "upstream_security_level = 0"
    has_line "upstream_verify = ca"
    has_line "mode = tcp"
    lacks upstream_legacy_renegotiation "legacy renegotiation without need"'
tls11   tls11      -     "probe 0" \
    "versions/1.0/accepted=false versions/1.1/accepted=true
    versions/1.2/accepted=false versions/1.3/accepted=false route/ok=true" \
    'take_block
    has_line "upstream_tls = 1.1"
    lacks upstream_legacy_renegotiation "legacy renegotiation without need"'
# GnuTLS drops TCP without an alert on what it does not speak
nr10    noreneg10  -     "probe 0" \
    "versions/1.0/accepted=true versions/1.0/secure_renegotiation=false
    versions/1.1/accepted=false versions/1.3/refused/code=upstream_reset
    http/answered=true http/over=TLSv1 route/ok=true" \
    'take_block
    has_line "upstream_tls = 1.0"
    has_line "upstream_legacy_renegotiation = yes"
    has_line "mode = http"'
t12p    tls12plus  -     "probe 0" \
    "versions/1.0/accepted=false versions/1.0/refused/code=upstream_tls_version
    versions/1.0/refused/alert=protocol_version versions/1.1/accepted=false
    versions/1.2/accepted=true versions/1.2/secure_renegotiation=true
    versions/1.3/accepted=true route/ok=true" \
    'take_block
    has_line "upstream_tls = 1.2-1.3"
    lacks upstream_legacy_renegotiation "legacy renegotiation without need"
    lacks upstream_security_level "a security level without need"'
http    http       -     "probe 0" \
    "plain=true tls=false http/answered=true http/over=plain route/ok=true" \
    'json_expect "$SC_RECORD" "http/status=HTTP/1.0 200 OK"
    take_block
    has_line "upstream_tls = off"
    has_line "mode = http"
    lacks upstream_legacy_renegotiation "legacy renegotiation without need"
    lacks upstream_security_level "a security level without need"'
des3    des3       -     "probe 1" \
    "versions/1.0/accepted=false versions/1.0/refused/code=upstream_reset
    3des/accepted=true 3des/suite=DES-CBC3-SHA 3des/version=TLSv1
    rc4/accepted=false route/ok=false" \
    'assert_contains "$(jget "$(cat "$SC_RECORD")" message)" \
        "only offers 3DES (or RC4)" "des3 message"
    report_has "build the private OpenSSL with enable-weak-ssl-ciphers"
    report_has "--with-openssl=DIR"
    if grep -q "^\[route" "$TB_TMP/des3.txt"; then
        fail "des3: a route block was printed"
    fi'
rc4     rc4        -     "probe 1" \
    "rc4/accepted=true rc4/suite=RC4-SHA 3des/accepted=false route/ok=false" \
    'report_has enable-weak-ssl-ciphers'
EOF
scenario_prepare <"$TB_TMP/probe.rows"
scenario_run <"$TB_TMP/probe.rows"
assert_eq 7 "$SC_N" "probe rows played"

# ---- the printed blocks, in a running broker --------------------------------

# probe --route ROWS: `probe --route NAME -c` the broker's config; the exit
# status must be ROWS; stdout in _out.  Two of the routes are the table's
# own, written after the probed blocks: they fail.
route_probe()
{
	_rc=0
	_out=$("$TLSBROKER" probe --route "$NAME" -c "$TB_TMP/broker.ini" \
	    2>>"$TB_TMP/route.err") || _rc=$?
	assert_eq "$1" "$_rc" "probe --route $NAME: exit status ($_out)"
}
TB_LOGS="$TB_LOGS $TB_TMP/route.err"
TB_BROKER_LOGS="$TB_BROKER_LOGS $TB_TMP/route.err"

cat >"$TB_TMP/route.rows" <<'EOF'
# NAME   ENDPOINT ROUTE CLIENT EXPECT CHECK
tls10    =tls10   -     "route_probe 0" - \
    'case $_out in
    "OK: TLSv1 "*", verified by ca") ;;
    *) fail "probe --route tls10: $_out" ;;
    esac'
http     =http    -     "route_probe 0" - \
    'assert_contains "$_out" "OK: plain TCP" "probe --route http"'
badver   =tls10   "upstream_tls=1.2-1.3 upstream_ca=$PKI/ca.pem upstream_sni=localhost" \
    "route_probe 1" - \
    'assert_contains "$_out" "FAIL: upstream_tls_version (phase handshake)" \
        "probe --route badver"
    assert_contains "$_out" "alert:  protocol_version" "probe --route badver"
    assert_contains "$_out" "hint:   " "probe --route badver"
    assert_contains "$_out" "upstream_tls" "probe --route badver hint"'
badreneg =nr10    "upstream_tls=1.0 upstream_ca=$PKI/ca.pem upstream_sni=localhost" \
    "route_probe 1" - \
    'assert_contains "$_out" \
        "FAIL: upstream_legacy_renegotiation (phase handshake)" \
        "probe --route badreneg"
    assert_contains "$_out" "upstream_legacy_renegotiation = yes" \
        "probe --route badreneg hint"'
nosuch   -        -     "route_probe 2" - \
    'assert_contains "$(cat "$TB_TMP/route.err")" "no [route nosuch]" \
        "probe --route nosuch stderr"'
EOF
scenario_prepare <"$TB_TMP/route.rows"

{
	ini_preamble "$BP" workers=1 drain_timeout=2s
	cat "$TB_TMP/blocks.ini"
	printf '\n; two routes that fail, for probe --route\n'
	cat "$SC_ROUTES"
} >"$TB_TMP/broker.ini"
TB_LOGS="$TB_LOGS $TB_TMP/broker.ini"

start_broker "$TB_TMP/broker.ini"

# s_client_proto PROTO: a GET through the row's tcp route; s_server's status
# page names the protocol of the second hop, which must be PROTO.
s_client_proto()
{
	s_client_get "$BP" -servername "$HOST" -CAfile "$PKI/ca.pem" \
	    -verify_return_error
	assert_eq 0 "$SC_RC" "s_client through route $NAME"
	printf '%s\n' "$SC_OUT" | tr -d '\r' |
	    grep -E -q "^ *Protocol *: $1\$" ||
	    fail "route $NAME: the endpoint did not see $1: $SC_OUT"
}

# curl_hello: /index.html through the row's http route is the endpoint's.
curl_hello()
{
	curl_get "https://$HOST:$BP/index.html" --resolve "$HOST:$BP:127.0.0.1"
	assert_eq 0 "$CURL_RC" "curl through route $NAME ($CURL_ERR)"
	assert_contains "$CURL_OUT" "hello from $NAME" "route $NAME answer"
}

scenario_run <<'EOF'
# NAME ENDPOINT ROUTE CLIENT                    EXPECT (the audit record)
tls10  =tls10   -     "s_client_proto TLSv1"    "close=ok up_tls=TLSv1"
tls11  =tls11   -     "s_client_proto TLSv1.1"  "close=ok up_tls=TLSv1.1"
t12p   =t12p    -     "s_client_proto TLSv1.3"  "close=ok up_tls=TLSv1.3"
nr10   =nr10    -     curl_hello                "close=ok status=200"
http   =http    -     curl_hello                "close=ok status=200"
EOF
assert_eq 5 "$SC_N" "broker rows played"

stop_broker

# ---- probe --route -------------------------------------------------------------

scenario_run <"$TB_TMP/route.rows"
assert_eq 5 "$SC_N" "probe --route rows played"

# ---- a resolver that never answers ---------------------------------------------

# --timeout bounds the name lookup too.  In a network and mount namespace
# of its own, /etc/resolv.conf names 127.0.0.1, where a UDP socket
# swallows every query; getaddrinfo() would wait 10 s there (the
# resolver's 5 s timeout, 2 attempts).  Needs root and unshare(1).
if [ "$(id -u)" = 0 ] && unshare -mn true 2>/dev/null; then
	printf 'nameserver 127.0.0.1\n' >"$TB_TMP/resolv.conf"
	cat >"$TB_TMP/dnsdrop.py" <<'EOF'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
print("ready", flush=True)
while True:
    s.recv(4096)
EOF
	cat >"$TB_TMP/dnsdrop.sh" <<EOF
ip link set lo up && mount --bind "$TB_TMP/resolv.conf" /etc/resolv.conf ||
    exit 3
"$PYTHON" "$TB_TMP/dnsdrop.py" >"$TB_TMP/dnsdrop.out" 2>&1 &
i=0
until grep -q ready "$TB_TMP/dnsdrop.out"; do
	i=\$((i + 1))
	[ \$i -le 200 ] || exit 4
	sleep 0.05
done
t0=\$(date +%s%N)
"$TLSBROKER" probe nowhere.tlsbroker.test:443 --timeout 2 \
    >"$TB_TMP/dnsprobe.out" 2>&1
echo "rc=\$? ms=\$(( (\$(date +%s%N) - t0) / 1000000 ))"
kill \$!
EOF
	_dns_rc=0
	TB_BROKER_LOGS="$TB_BROKER_LOGS $TB_TMP/dnsprobe.out"	# sanitizer reports
	_dns=$(timeout 60 unshare -mn sh "$TB_TMP/dnsdrop.sh") || _dns_rc=$?
	case $_dns_rc in
	0)
		assert_eq 1 "$(printf '%s' "$_dns" | sed -n 's/^rc=\([0-9]*\) .*/\1/p')" \
		    "probe exit status with a silent resolver ($_dns)"
		_ms=$(printf '%s' "$_dns" | sed -n 's/.* ms=\([0-9]*\)$/\1/p')
		[ "$_ms" -lt 5000 ] ||
		    fail "probe --timeout 2 took ${_ms} ms with a silent resolver"
		assert_contains "$(cat "$TB_TMP/dnsprobe.out")" \
		    "no answer from the resolver within the timeout" \
		    "probe output with a silent resolver"
		;;
	3) note "no namespace with its own resolv.conf here: lookup bound not checked" ;;
	*) fail "resolver test set-up failed ($_dns_rc): $_dns" ;;
	esac
else
	note "not root or no unshare: lookup bound not checked"
fi

note "ok"
