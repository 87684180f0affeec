#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Endpoints that offer only 3DES or only RC4 (Windows Server 2003-era),
# reached through a tlsbroker linked against the private OpenSSL built by
# scripts/build-weak-openssl.sh (enable-weak-ssl-ciphers): Debian's libssl
# has no such suites at all.  The endpoints are lighttpd + mod_gnutls.
#
# TLSBROKER_WEAK names that build's binary (./quickstart test sets it);
# without it the test is skipped (77), as the issue allows only where the
# private build is absent.  The stock binary is also checked: its audit
# record must say the endpoint closed the handshake and hint at the build.

. "$(dirname "$0")/lib.sh"

[ -n "${TLSBROKER_WEAK:-}" ] && [ -x "$TLSBROKER_WEAK" ] ||
    skip "TLSBROKER_WEAK (a tlsbroker linked with the weak-cipher OpenSSL) is not set"
need_cmd curl
make_pki

# shellcheck disable=SC2046
set -- $(free_ports 4)
BP=$1 P_3DES=$2 P_RC4=$3 BP2=$4

start_lighttpd_gnutls des3 "$P_3DES" \
    'NORMAL:-VERS-ALL:+VERS-TLS1.0:-CIPHER-ALL:+3DES-CBC:-KX-ALL:+RSA:-MAC-ALL:+SHA1'
start_lighttpd_gnutls rc4 "$P_RC4" \
    'NORMAL:-VERS-ALL:+VERS-TLS1.0:-CIPHER-ALL:+ARCFOUR-128:-KX-ALL:+RSA:-MAC-ALL:+SHA1'

write_conf()
{
	{
		ini_preamble "$2" workers=1 drain_timeout=2s
		cat <<INI

; 3DES needs explicit suite names: DEFAULT deletes them for good
[route des3]
mode = tcp
host = des3.broker.test
upstream = 127.0.0.1:$P_3DES
upstream_tls = 1.0
upstream_ciphers = DES-CBC3-SHA:@SECLEVEL=0
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

; RC4 lives in the legacy provider, loaded for this route only
[route rc4]
mode = tcp
host = rc4.broker.test
upstream = 127.0.0.1:$P_RC4
upstream_tls = 1.0
upstream_ciphers = RC4-SHA:@SECLEVEL=0
upstream_legacy_provider = yes
upstream_ca = $PKI/ca.pem
upstream_sni = localhost
INI
	} >"$1"
}

# The weak build reaches both.
write_conf "$TB_TMP/weak.ini" "$BP"
STOCK=$TLSBROKER
TLSBROKER=$TLSBROKER_WEAK
start_broker "$TB_TMP/weak.ini"
n=0
for r in des3:DES-CBC3-SHA rc4:RC4-SHA; do
	route=${r%%:*} cipher=${r#*:}
	body=$(curl -sS --max-time 10 --cacert "$PKI/ca.pem" --tlsv1.2 \
	    --resolve "$route.broker.test:$BP:127.0.0.1" \
	    "https://$route.broker.test:$BP/index.html") ||
	    fail "route $route: curl through the weak build failed"
	assert_contains "$body" "hello from $route" "route $route body"
	n=$((n + 1))
	wait_audit "$n"
	assert_audit "$n" route="$route" close=ok up_tls=TLSv1 up_cipher="$cipher"
done
stop_broker

# The stock build cannot: the 3DES route's cipher string does not even load.
TLSBROKER=$STOCK
out=$("$TLSBROKER" -t -c "$TB_TMP/weak.ini" 2>&1) && fail "stock build accepted DES-CBC3-SHA: $out"
assert_contains "$out" "upstream_ciphers" "stock build names the key"
note "weak-cipher routes: OK"
