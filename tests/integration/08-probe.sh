#!/bin/sh
# SPDX-License-Identifier: MIT
#
# `tlsbroker probe` against real endpoints of LEGACY-TLS.md: TLS 1.0-only,
# TLS 1.1-only, no RFC 5746 (lighttpd + GnuTLS), TLS 1.2/1.3, plain HTTP,
# 3DES-only and RC4-only (lighttpd + GnuTLS).  For each: the facts in the
# --json output (versions accepted, renegotiation, 3DES/RC4 detection), then
# the [route] block the text output ends with is pasted into a broker config
# and one request through the running broker must reach the endpoint.  The
# 3DES/RC4 endpoints must give exit 1 and name the private OpenSSL build.
# Then `probe --route` with a good and two bad routes of that config, and
# last a resolver that never answers.

. "$(dirname "$0")/lib.sh"

need_cmd curl
need_broker
make_pki

# shellcheck disable=SC2046
set -- $(free_ports 8)
BP=$1 P_TLS10=$2 P_TLS11=$3 P_NR10=$4 P_T12P=$5 P_HTTP=$6 P_3DES=$7 P_RC4=$8

start_ep_tls10 tls10 "$P_TLS10"
start_ep_tls11 tls11 "$P_TLS11"
start_ep_noreneg10 nr10 "$P_NR10"
start_ep_tls12plus t12p "$P_T12P"
start_ep_http http "$P_HTTP"
# c1-tls10-3des / r-tls10-rc4: GnuTLS 3.7.9 still has both when asked
# explicitly; a ClientHello without them gets a TCP close without an alert.
start_lighttpd_gnutls des3 "$P_3DES" \
    'NORMAL:-VERS-ALL:+VERS-TLS1.0:-CIPHER-ALL:+3DES-CBC:-KX-ALL:+RSA'
start_lighttpd_gnutls rc4 "$P_RC4" \
    'NORMAL:-VERS-ALL:+VERS-TLS1.0:-CIPHER-ALL:+ARCFOUR-128:-KX-ALL:+RSA'

# jget FILE PATH: a value of the JSON object in FILE; PATH is keys joined by
# '/' ("versions/1.0/accepted"); booleans print as true/false, null as null.
jget()
{
	"$PYTHON" - "$1" "$2" <<'EOF'
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("/"):
    v = v[int(k)] if isinstance(v, list) else v.get(k, "<absent>")
    if v == "<absent>":
        break
print(json.dumps(v) if isinstance(v, (bool, type(None))) else v)
EOF
}

assert_j()
{
	_got=$(jget "$1" "$2") || fail "probe $1: not one JSON object"
	[ "$_got" = "$3" ] || fail "probe $(basename "$1"): $2 is '$_got'," \
	    "expected '$3'"
}

# probe NAME PORT EXPECTED_RC: --json into $TB_TMP/NAME.json, then the text
# report into $TB_TMP/NAME.txt; both must exit EXPECTED_RC.
probe()
{
	_rc=0
	timeout 60 "$TLSBROKER" probe "127.0.0.1:$2" --sni localhost \
	    --ca "$PKI/ca.pem" --timeout 2s --name "$1" --json \
	    >"$TB_TMP/$1.json" 2>"$TB_TMP/$1.err" || _rc=$?
	TB_LOGS="$TB_LOGS $TB_TMP/$1.json $TB_TMP/$1.err"
	# a sanitizer report from probe fails the test like one from the broker
	TB_BROKER_LOGS="$TB_BROKER_LOGS $TB_TMP/$1.err"
	[ "$_rc" = "$3" ] || fail "probe $1 --json: exit $_rc, expected $3"
	_rc=0
	timeout 60 "$TLSBROKER" probe "127.0.0.1:$2" --sni localhost \
	    --ca "$PKI/ca.pem" --timeout 2s --name "$1" \
	    >"$TB_TMP/$1.txt" 2>>"$TB_TMP/$1.err" || _rc=$?
	TB_LOGS="$TB_LOGS $TB_TMP/$1.txt"
	[ "$_rc" = "$3" ] || fail "probe $1: exit $_rc, expected $3"
}

# block NAME: the [route NAME] block ending the text report, with a host
# match added so that one listener serves every route by SNI / Host.
block()
{
	sed -n '/^\[route /,$p' "$TB_TMP/$1.txt" >"$TB_TMP/$1.block"
	grep -q "^\[route $1\]\$" "$TB_TMP/$1.block" ||
	    fail "probe $1: no [route $1] block in: $(cat "$TB_TMP/$1.txt")"
	[ "$(jget "$TB_TMP/$1.json" route/block)" = "$(cat "$TB_TMP/$1.block")" ] ||
	    fail "probe $1: --json route.block differs from the text block"
	printf '\n'
	sed "s/^\[route $1\]\$/[route $1]\nhost = $1.broker.test/" \
	    "$TB_TMP/$1.block"
}

has_line()
{
	grep -q -x -F -- "$2" "$TB_TMP/$1.block" ||
	    fail "probe $1: block lacks '$2': $(cat "$TB_TMP/$1.block")"
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

probe tls10 "$P_TLS10" 0
J=$TB_TMP/tls10.json
assert_j "$J" versions/1.0/accepted true
assert_j "$J" versions/1.0/secure_renegotiation true
assert_j "$J" versions/1.0/families/ecdhe true
assert_j "$J" versions/1.1/accepted false
assert_j "$J" versions/1.2/accepted false
assert_j "$J" versions/1.3/accepted false
assert_j "$J" versions/1.3/refused/code upstream_tls_version
assert_j "$J" 3des/accepted false
assert_j "$J" rc4/accepted false
assert_j "$J" verify/ok true
assert_j "$J" chain/0/subject CN=localhost
assert_j "$J" pin "$(cat "$PKI/legacy.pin")"
assert_j "$J" resumption/resumed true
assert_j "$J" route/ok true

probe tls11 "$P_TLS11" 0
J=$TB_TMP/tls11.json
assert_j "$J" versions/1.0/accepted false
assert_j "$J" versions/1.1/accepted true
assert_j "$J" versions/1.2/accepted false
assert_j "$J" versions/1.3/accepted false
assert_j "$J" route/ok true

probe nr10 "$P_NR10" 0
J=$TB_TMP/nr10.json
assert_j "$J" versions/1.0/accepted true
assert_j "$J" versions/1.0/secure_renegotiation false
assert_j "$J" versions/1.1/accepted false
# GnuTLS drops TCP without an alert on what it does not speak (finding 4)
assert_j "$J" versions/1.3/refused/code upstream_reset
assert_j "$J" http/answered true
assert_j "$J" http/over TLSv1
assert_j "$J" route/ok true

probe t12p "$P_T12P" 0
J=$TB_TMP/t12p.json
assert_j "$J" versions/1.0/accepted false
assert_j "$J" versions/1.0/refused/code upstream_tls_version
assert_j "$J" versions/1.0/refused/alert protocol_version
assert_j "$J" versions/1.1/accepted false
assert_j "$J" versions/1.2/accepted true
assert_j "$J" versions/1.2/secure_renegotiation true
assert_j "$J" versions/1.3/accepted true
assert_j "$J" route/ok true

probe http "$P_HTTP" 0
J=$TB_TMP/http.json
assert_j "$J" plain true
assert_j "$J" tls false
assert_j "$J" http/answered true
assert_j "$J" http/over plain
assert_j "$J" http/status "HTTP/1.0 200 OK"
assert_j "$J" route/ok true

probe des3 "$P_3DES" 1
J=$TB_TMP/des3.json
assert_j "$J" versions/1.0/accepted false
assert_j "$J" versions/1.0/refused/code upstream_reset
assert_j "$J" 3des/accepted true
assert_j "$J" 3des/suite DES-CBC3-SHA
assert_j "$J" 3des/version TLSv1
assert_j "$J" rc4/accepted false
assert_j "$J" route/ok false
assert_contains "$(jget "$J" message)" "only offers 3DES (or RC4)" "des3 message"
assert_contains "$(cat "$TB_TMP/des3.txt")" \
    "build the private OpenSSL with enable-weak-ssl-ciphers" "des3 report"
assert_contains "$(cat "$TB_TMP/des3.txt")" "--with-openssl=DIR" "des3 report"
if grep -q '^\[route' "$TB_TMP/des3.txt"; then
	fail "des3: a route block was printed"
fi

probe rc4 "$P_RC4" 1
J=$TB_TMP/rc4.json
assert_j "$J" rc4/accepted true
assert_j "$J" rc4/suite RC4-SHA
assert_j "$J" 3des/accepted false
assert_j "$J" route/ok false
assert_contains "$(cat "$TB_TMP/rc4.txt")" "enable-weak-ssl-ciphers" "rc4 report"

# ---- the printed blocks, in a running broker --------------------------------

{
	cat <<EOF
[broker]
workers = 1
audit_log = $AUDIT
drain_timeout = 2s

[listener erp]
bind = 127.0.0.1:$BP
cert = $PKI/broker.pem
key = $PKI/broker.key
EOF
	block tls10
	block tls11
	block nr10
	block t12p
	block http
	cat <<EOF

; two routes that fail, for probe --route
[route badver]
mode = tcp
host = badver.broker.test
upstream = 127.0.0.1:$P_TLS10
upstream_tls = 1.2-1.3
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

[route badreneg]
mode = tcp
host = badreneg.broker.test
upstream = 127.0.0.1:$P_NR10
upstream_tls = 1.0
upstream_ca = $PKI/ca.pem
upstream_sni = localhost
EOF
} >"$TB_TMP/broker.ini"
TB_LOGS="$TB_LOGS $TB_TMP/broker.ini"

# the narrowest settings per endpoint (LEGACY-TLS.md), not one big hammer
has_line tls10 "upstream_tls = 1.0"
has_line tls10 "upstream_security_level = 0"
has_line tls10 "upstream_verify = ca"
has_line tls10 "mode = tcp"
has_line tls11 "upstream_tls = 1.1"
has_line nr10 "upstream_tls = 1.0"
has_line nr10 "upstream_legacy_renegotiation = yes"
has_line nr10 "mode = http"
has_line t12p "upstream_tls = 1.2-1.3"
has_line http "upstream_tls = off"
has_line http "mode = http"
for _r in tls10 tls11 t12p http; do
	if grep -q '^upstream_legacy_renegotiation' "$TB_TMP/$_r.block"; then
		fail "$_r: legacy renegotiation without need"
	fi
done
for _r in t12p http; do
	if grep -q '^upstream_security_level' "$TB_TMP/$_r.block"; then
		fail "$_r: a security level without need"
	fi
done

start_broker "$TB_TMP/broker.ini"

# tcp routes: s_server's status page names the protocol of the second hop
for _r in tls10:TLSv1 tls11:TLSv1.1 t12p:TLSv1.3; do
	_n=${_r%%:*}
	s_client_get "$BP" -servername "$_n.broker.test" -CAfile "$PKI/ca.pem" \
	    -verify_return_error
	assert_eq 0 "$SC_RC" "s_client through route $_n"
	printf '%s\n' "$SC_OUT" | tr -d '\r' |
	    grep -E -q "^ *Protocol *: ${_r#*:}\$" ||
	    fail "route $_n: the endpoint did not see ${_r#*:}: $SC_OUT"
	expect_audit route="$_n" close=ok up_tls="${_r#*:}"
done

# http routes
for _n in nr10 http; do
	curl_get "https://$_n.broker.test:$BP/index.html" \
	    --resolve "$_n.broker.test:$BP:127.0.0.1"
	assert_eq 0 "$CURL_RC" "curl through route $_n ($CURL_ERR)"
	assert_contains "$CURL_OUT" "hello from $_n" "route $_n answer"
	expect_audit route="$_n" close=ok status=200
done

stop_broker

# ---- probe --route -------------------------------------------------------------

# route NAME: `probe --route NAME`; stdout in _out, exit status in _rc.
route()
{
	_rc=0
	_out=$("$TLSBROKER" probe --route "$1" -c "$TB_TMP/broker.ini" \
	    2>>"$TB_TMP/route.err") || _rc=$?
}
TB_LOGS="$TB_LOGS $TB_TMP/route.err"
TB_BROKER_LOGS="$TB_BROKER_LOGS $TB_TMP/route.err"

route tls10
assert_eq 0 "$_rc" "probe --route tls10: exit status ($_out)"
case $_out in
"OK: TLSv1 "*", verified by ca") ;;
*) fail "probe --route tls10: '$_out'" ;;
esac

route http
assert_eq 0 "$_rc" "probe --route http: exit status ($_out)"
assert_contains "$_out" "OK: plain TCP" "probe --route http"

route badver
assert_eq 1 "$_rc" "probe --route badver: exit status ($_out)"
assert_contains "$_out" "FAIL: upstream_tls_version (phase handshake)" \
    "probe --route badver"
assert_contains "$_out" "alert:  protocol_version" "probe --route badver"
assert_contains "$_out" "hint:   " "probe --route badver"
assert_contains "$_out" "upstream_tls" "probe --route badver hint"

route badreneg
assert_eq 1 "$_rc" "probe --route badreneg: exit status ($_out)"
assert_contains "$_out" "FAIL: upstream_legacy_renegotiation (phase handshake)" \
    "probe --route badreneg"
assert_contains "$_out" "upstream_legacy_renegotiation = yes" \
    "probe --route badreneg hint"

route nosuch
assert_eq 2 "$_rc" "probe --route nosuch: exit status"
assert_contains "$(cat "$TB_TMP/route.err")" "no [route nosuch]" \
    "probe --route nosuch stderr"

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
