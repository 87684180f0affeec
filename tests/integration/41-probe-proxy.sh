#!/bin/sh
# SPDX-License-Identifier: MIT
#
# probe --proxy: every probe connection goes through a real forward proxy
# with CONNECT.  Through squid, a TLS 1.0-only endpoint gets the same
# verified route block as directly, plus upstream_proxy (and squid saw the
# tunnels); through tinyproxy with Basic auth, --proxy-auth lets it in and
# its absence ends with proxy_auth; a destination squid refuses ends with
# proxy_forbidden, a dead proxy port with proxy_refused.  probe --route
# uses the route's upstream_proxy.

. "$(dirname "$0")/lib.sh"

[ -x /usr/sbin/squid ] || skip "squid not installed"
need_cmd tinyproxy
need_broker
make_pki

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 6)
P_SQUID=$1 P_TINY=$2 P_TLS10=$3 P_OTHER=$4 P_DEAD=$5 BP=$6

start_ep_tls10 tls10 "$P_TLS10"
start_ep_tls10 other "$P_OTHER"
start_squid squid "$P_SQUID" "$P_TLS10"
start_tinyproxy tiny "$P_TINY" tbuser s3cr3t-Pa55
! port_listening "$P_DEAD" || hard_error "port $P_DEAD unexpectedly in use"
printf 'tbuser:s3cr3t-Pa55\n' >"$TB_TMP/good.cred"
chmod 600 "$TB_TMP/good.cred"

# probe NAME PORT EXPECTED_RC ARGS...: the text report into $TB_TMP/NAME.txt.
probe()
{
	_n=$1
	_p=$2
	_want=$3
	shift 3
	_rc=0
	timeout 120 "$TLSBROKER" probe "127.0.0.1:$_p" --sni localhost \
	    --ca "$PKI/ca.pem" --timeout 3s --name "$_n" "$@" \
	    >"$TB_TMP/$_n.txt" 2>"$TB_TMP/$_n.err" || _rc=$?
	TB_LOGS="$TB_LOGS $TB_TMP/$_n.txt $TB_TMP/$_n.err"
	TB_BROKER_LOGS="$TB_BROKER_LOGS $TB_TMP/$_n.err"
	[ "$_rc" = "$_want" ] || fail "probe $_n: exit $_rc, expected $_want:" \
	    "$(cat "$TB_TMP/$_n.txt" "$TB_TMP/$_n.err")"
}

has_line()
{
	grep -q -x -F -- "$2" "$TB_TMP/$1.txt" ||
	    fail "probe $1: no line '$2' in: $(cat "$TB_TMP/$1.txt")"
}

# ---- through squid -------------------------------------------------------------

probe direct "$P_TLS10" 0
probe squid "$P_TLS10" 0 --proxy "http://127.0.0.1:$P_SQUID"
has_line squid "[route squid]"
has_line squid "upstream = 127.0.0.1:$P_TLS10"
has_line squid "upstream_proxy = http://127.0.0.1:$P_SQUID"
has_line squid "upstream_tls = 1.0"
# the same findings as without the proxy, bar the proxy line and the name
sed -n '/^\[route /,$p' "$TB_TMP/direct.txt" | sed 1d >"$TB_TMP/direct.block"
sed -n '/^\[route /,$p' "$TB_TMP/squid.txt" | sed 1d |
    grep -v '^upstream_proxy = ' >"$TB_TMP/squid.block"
cmp -s "$TB_TMP/direct.block" "$TB_TMP/squid.block" ||
    fail "the block through squid differs: $(diff "$TB_TMP/direct.block" \
    "$TB_TMP/squid.block")"
_out=$(tbutil waitgrep "$TB_TMP/squid/access.log" \
    "CONNECT 127.0.0.1:$P_TLS10 " --timeout 10 --pid "$(ep_pid squid)") ||
    fail "squid logged no tunnel for probe: $_out"

probe denied "$P_OTHER" 1 --proxy "http://127.0.0.1:$P_SQUID"
assert_contains "$(cat "$TB_TMP/denied.txt")" "proxy_forbidden" "probe denied"
grep -q "TCP_DENIED/403 .* CONNECT 127.0.0.1:$P_OTHER " \
    "$TB_TMP/squid/access.log" || fail "squid did not refuse port $P_OTHER"

probe deadproxy "$P_TLS10" 1 --proxy "http://127.0.0.1:$P_DEAD"
assert_contains "$(cat "$TB_TMP/deadproxy.txt")" "proxy_refused" "probe deadproxy"

# ---- through tinyproxy with Basic auth -------------------------------------------

probe auth "$P_TLS10" 0 --proxy "http://127.0.0.1:$P_TINY" \
    --proxy-auth "$TB_TMP/good.cred"
has_line auth "upstream_proxy = http://127.0.0.1:$P_TINY"
has_line auth "upstream_proxy_auth = $TB_TMP/good.cred"
probe noauth "$P_TLS10" 1 --proxy "http://127.0.0.1:$P_TINY"
assert_contains "$(cat "$TB_TMP/noauth.txt")" "proxy_auth" "probe noauth"
assert_contains "$(cat "$TB_TMP/noauth.txt")" "upstream_proxy_auth" \
    "probe noauth hint"
! grep -q 's3cr3t' "$TB_TMP/auth.txt" "$TB_TMP/auth.err" ||
    fail "probe printed the credentials"

# ---- usage -------------------------------------------------------------------------

_rc=0
"$TLSBROKER" probe "127.0.0.1:$P_TLS10" --proxy "https://127.0.0.1:$P_SQUID" \
    >/dev/null 2>"$TB_TMP/usage.err" || _rc=$?
assert_eq 2 "$_rc" "probe --proxy https://: exit status"
assert_contains "$(cat "$TB_TMP/usage.err")" "--proxy: " "probe --proxy https://"
_rc=0
"$TLSBROKER" probe "127.0.0.1:$P_TLS10" --proxy-auth "$TB_TMP/good.cred" \
    >/dev/null 2>"$TB_TMP/usage.err" || _rc=$?
assert_eq 1 "$_rc" "probe --proxy-auth without --proxy: exit status"

# ---- probe --route uses the route's proxy ------------------------------------------

cat >"$TB_TMP/broker.ini" <<INIEOF
[listener erp]
bind = 127.0.0.1:$BP
cert = $PKI/broker.pem
key = $PKI/broker.key

[route viasquid]
host = viasquid.broker.test
upstream = 127.0.0.1:$P_TLS10
upstream_proxy = http://127.0.0.1:$P_SQUID
upstream_tls = 1.0
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

[route refused]
host = refused.broker.test
upstream = 127.0.0.1:$P_OTHER
upstream_proxy = http://127.0.0.1:$P_SQUID
upstream_tls = 1.0
upstream_ca = $PKI/ca.pem
upstream_sni = localhost
INIEOF
_rc=0
"$TLSBROKER" probe --route viasquid -c "$TB_TMP/broker.ini" \
    >"$TB_TMP/route.txt" 2>&1 || _rc=$?
assert_eq 0 "$_rc" "probe --route viasquid: $(cat "$TB_TMP/route.txt")"
_rc=0
"$TLSBROKER" probe --route refused -c "$TB_TMP/broker.ini" \
    >"$TB_TMP/route.txt" 2>&1 || _rc=$?
assert_eq 1 "$_rc" "probe --route refused: $(cat "$TB_TMP/route.txt")"
assert_contains "$(cat "$TB_TMP/route.txt")" "proxy_forbidden" \
    "probe --route refused"

stop_ep tiny
stop_ep squid
