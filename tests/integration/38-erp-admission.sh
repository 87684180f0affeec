#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Admitting only the ERP, whose addresses are shared with other tenants and
# change per request: allow = servicetag:FILE:TAG read from (a copy of) the
# shipped sample of Microsoft's ServiceTags_Public.json, for IPv4 and IPv6,
# re-read on SIGHUP (a damaged file keeps the old list), with errors for an
# unknown tag or an unreadable or damaged file and a warning for a stale
# one; a per-route shared secret header (missing 401, wrong 403, both
# client_denied without an upstream connection; stripped before
# forwarding; never logged; re-read on SIGHUP), from curl and from Mono's
# HttpWebRequest; tlsbroker -t warning about a listener anyone can use;
# and mutual TLS as Schannel does it: the broker names its client CA in the
# CertificateRequest and the client picks the certificate that CA issued.

. "$(dirname "$0")/lib.sh"
. "$TB_SRC/../dotnet/dotnet.sh"

need_cmd curl
need_mono
make_rsa_pki
make_server_cert localhost localhost "DNS:localhost,IP:127.0.0.1,IP:::1"
mono_trust "$PKI/ca.pem"
SAMPLE="$TB_SRC/../data/ServiceTags_Public.json"
TAGS="$TB_TMP/ServiceTags_Public.json"
cp "$SAMPLE" "$TAGS"

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 6)
P_TAG=$1 P_TAG6=$2 P_WEU=$3 P_ERP=$4 P_MTLS=$5 P_APP=$6

start_httpd app "$P_APP"
SECRET="$TB_TMP/erp.secret"
SECRET_VALUE=5f0c2a6e9b1d4e87a3c6f2b9e0d14a7c
printf '%s\n' "$SECRET_VALUE" >"$SECRET"
chmod 600 "$SECRET"

{
	_lh="cert=$PKI/localhost-full.pem"
	ini_broker
	# the loopback networks stand in for the ERP's region
	ini_listener tagged "$P_TAG" "$_lh" \
	    "allow=servicetag:$TAGS:TlsbrokerTest.Loopback"
	ini_listener tagged6 "[::1]:$P_TAG6" "$_lh" \
	    "allow=servicetag:$TAGS:TlsbrokerTest.Loopback"
	# West Europe's (documentation) ranges hold no loopback address
	ini_listener weu "$P_WEU" "$_lh" \
	    "allow=servicetag:$TAGS:PowerPlatformPlex.WestEurope"
	ini_listener erp "$P_ERP" "$_lh"
	ini_listener mtls "$P_MTLS" "$_lh" "client_ca=$PKI/erpca.pem"
	cat <<EOF

[route tagged]
listener = tagged
upstream = 127.0.0.1:$P_APP
upstream_tls = off

[route tagged6]
listener = tagged6
upstream = 127.0.0.1:$P_APP
upstream_tls = off

[route weu]
listener = weu
upstream = 127.0.0.1:$P_APP
upstream_tls = off

[route sec]
listener = erp
upstream = 127.0.0.1:$P_APP
upstream_tls = off
secret_header = X-ERP-Secret
secret_file = $SECRET

[route mtls]
listener = mtls
upstream = 127.0.0.1:$P_APP
upstream_tls = off
EOF
} >"$TB_TMP/broker.ini"
start_broker "$TB_TMP/broker.ini"

RELOADS=0
# reload_ok: SIGHUP and wait until the new configuration serves.
reload_ok()
{
	RELOADS=$((RELOADS + 1))
	kill -HUP "$BROKER_PID"
	_out=$(tbutil waitgrep "$BROKER_LOG" "reload $RELOADS done" --timeout 10 \
	    --pid "$BROKER_PID") || fail "reload $RELOADS: $_out"
}

# in_audit TEXT: the audit log holds TEXT anywhere.
in_audit()
{
	grep -F -q -- "$1" "$AUDIT"
}

# ---- 1. service tags ---------------------------------------------------------------

curl_get "https://localhost:$P_TAG/in"
assert_eq 0 "$CURL_RC" "127.0.0.1 is in TlsbrokerTest.Loopback ($CURL_ERR)"
expect_audit listener=tagged route=tagged status=200 close=ok
curl_get "https://localhost:$P_TAG6/in6" --resolve "localhost:$P_TAG6:[::1]"
assert_eq 0 "$CURL_RC" "::1 is in TlsbrokerTest.Loopback ($CURL_ERR)"
expect_audit listener=tagged6 route=tagged6 status=200 client~'^\[::1\]:' close=ok
curl_get "https://localhost:$P_WEU/out"
[ "$CURL_RC" != 0 ] || fail "127.0.0.1 got through PowerPlatformPlex.WestEurope"
expect_audit listener=weu close=client_denied phase=accept

# Re-read on SIGHUP: the tag loses 127.0.0.0/8, then gets it back.
sed 's|"127.0.0.0/8",|"192.0.2.128/25",|' "$SAMPLE" >"$TAGS"
reload_ok
curl_get "https://localhost:$P_TAG/gone"
[ "$CURL_RC" != 0 ] || fail "127.0.0.1 still admitted after the tag lost it"
expect_audit listener=tagged close=client_denied phase=accept
curl_get "https://localhost:$P_TAG6/still6" --resolve "localhost:$P_TAG6:[::1]"
assert_eq 0 "$CURL_RC" "::1 still in the tag ($CURL_ERR)"
expect_audit listener=tagged6 status=200 close=ok
cp "$SAMPLE" "$TAGS"
reload_ok
curl_get "https://localhost:$P_TAG/back"
assert_eq 0 "$CURL_RC" "127.0.0.1 admitted again ($CURL_ERR)"
expect_audit listener=tagged status=200 close=ok

# A damaged file: the reload fails and the last good list stays.
printf '{"values": [' >"$TAGS"
kill -HUP "$BROKER_PID"
_out=$(tbutil waitgrep "$BROKER_LOG" "the previous configuration keeps running" \
    --timeout 10 --pid "$BROKER_PID") || fail "damaged tag file: $_out"
assert_contains "$(grep 'reload failed: .*ServiceTags_Public.json' "$BROKER_LOG")" \
    "not a Service Tags file: unexpected end of the text at byte 12" "the reload's reason"
curl_get "https://localhost:$P_TAG/kept"
assert_eq 0 "$CURL_RC" "the old list still admits 127.0.0.1 ($CURL_ERR)"
expect_audit listener=tagged status=200 close=ok
cp "$SAMPLE" "$TAGS"

# tlsbroker -t: unknown tag, unreadable file, stale file.
sed -e "s|TlsbrokerTest.Loopback|PowerPlatformPlex.WestEuropa|" \
    -e "s|servicetag:$TAGS:PowerPlatformPlex.WestEurope|servicetag:$TB_TMP/nonexistent.json:PowerPlatformPlex|" \
    "$TB_TMP/broker.ini" >"$TB_TMP/bad.ini"
broker_check "$TB_TMP/bad.ini"
assert_eq 1 "$CHECK_RC" "tlsbroker -t with an unknown tag"
assert_contains "$(cat "$CHECK_ERR")" "[listener tagged] allow: $TAGS: no tag PowerPlatformPlex.WestEuropa among its 6 tags, changeNumber 312; tags like it: PowerPlatformPlex, PowerPlatformPlex.NorthEurope, PowerPlatformPlex.WestEurope" \
    "unknown tag error"
assert_contains "$(cat "$CHECK_ERR")" "[listener weu] allow: $TB_TMP/nonexistent.json: cannot read: No such file or directory" \
    "unreadable file error"
touch -d '20 days ago' "$TAGS"
broker_check "$TB_TMP/broker.ini"
assert_eq 0 "$CHECK_RC" "a stale file is a warning, not an error"
assert_contains "$(cat "$CHECK_ERR")" "[listener tagged] allow: $TAGS is 20 days old (changeNumber 312)" \
    "stale file warning"
touch "$TAGS"

# ---- 2. the secret header ----------------------------------------------------------

_conns=$(ep_conns app)
curl_get "https://localhost:$P_ERP/soap" -D "$TB_TMP/h.txt"
assert_contains "$(head -n 1 "$TB_TMP/h.txt")" " 401" "no secret: 401"
assert_contains "$(cat "$TB_TMP/h.txt")" "X-Broker-Error: client_denied" "no secret: X-Broker-Error"
expect_audit route=sec status=401 close=client_denied upstream! \
    detail~'requires the header X-ERP-Secret; the request has none'
curl_get "https://localhost:$P_ERP/soap" -D "$TB_TMP/h.txt" -H "X-ERP-Secret: guess-$SECRET_VALUE"
assert_contains "$(head -n 1 "$TB_TMP/h.txt")" " 403" "wrong secret: 403"
expect_audit route=sec status=403 close=client_denied upstream! \
    detail~'does not hold the route.s secret'
curl_get "https://localhost:$P_ERP/soap" -D "$TB_TMP/h.txt" -H "X-ERP-Secret: $SECRET_VALUE" \
    -H "x-erp-secret: $SECRET_VALUE"
assert_contains "$(head -n 1 "$TB_TMP/h.txt")" " 403" "the secret twice: 403"
expect_audit route=sec status=403 close=client_denied upstream! detail~'came more than once'
assert_eq "$_conns" "$(ep_conns app)" "refused calls opened no upstream connection"
curl_get "https://localhost:$P_ERP/soap" -H "X-ERP-Secret: $SECRET_VALUE"
assert_eq 0 "$CURL_RC" "the right secret ($CURL_ERR)"
assert_eq '<absent>' "$(jget "$CURL_OUT" 'hdr("X-ERP-Secret")')" \
    "the secret header is stripped before forwarding"
expect_audit route=sec status=200 close=ok

# Mono's HttpWebRequest: one header in X++.
erpc_ok soap "https://localhost:$P_ERP/soap" --count 2 --check sha256 \
    --header "X-ERP-Secret: $SECRET_VALUE"
erpc_ok soap "https://localhost:$P_ERP/soap" --want 401
assert_eq client_denied "$(jget "$(printf '%s\n' "$ERPC_OUT" | head -n 1)" broker_error)" \
    "Mono reads client_denied from the 401"
wait_audit $((AUDIT_N + 3))
AUDIT_N=$((AUDIT_N + 3))

# A new secret takes effect on SIGHUP; the old one is refused.
printf 'b81e0f2d7c4a49e6a05d3f8c2b9e61d4\n' >"$SECRET"
reload_ok
curl_get "https://localhost:$P_ERP/soap" -D "$TB_TMP/h.txt" -H "X-ERP-Secret: $SECRET_VALUE"
assert_contains "$(head -n 1 "$TB_TMP/h.txt")" " 403" "the old secret after the reload"
expect_audit route=sec status=403 close=client_denied
curl_get "https://localhost:$P_ERP/soap" -H "X-ERP-Secret: b81e0f2d7c4a49e6a05d3f8c2b9e61d4"
assert_eq 0 "$CURL_RC" "the new secret after the reload ($CURL_ERR)"
expect_audit route=sec status=200 close=ok
for _f in "$BROKER_LOG" "$AUDIT"; do
	! grep -q -e "$SECRET_VALUE" -e b81e0f2d7c4a49e6a05d3f8c2b9e61d4 "$_f" ||
	    fail "a secret value is in $_f"
done

# ---- 3. tlsbroker -t: a listener anyone can use ---------------------------------------

cat >"$TB_TMP/open.ini" <<EOF
[listener open]
bind = *:$P_ERP
cert = $PKI/localhost-full.pem
[route a]
upstream = 127.0.0.1:$P_APP
upstream_tls = off
[route b]
host = b.example
upstream = 127.0.0.1:$P_APP
upstream_tls = off
secret_header = X-ERP-Secret
secret_file = $SECRET
EOF
broker_check "$TB_TMP/open.ini"
assert_eq 0 "$CHECK_RC" "an open listener is allowed"
assert_contains "$(cat "$CHECK_ERR")" "[listener open] bind: OPEN TO ANY ADDRESS: 0.0.0.0:$P_ERP has no allow list and no client_ca, and route a has no secret_header" \
    "tlsbroker -t warns about the open listener"
sed -i "s|^\[route b\]|allow = servicetag:$TAGS:PowerPlatformPlex.WestEurope\n[route b]|" \
    "$TB_TMP/open.ini"
broker_check "$TB_TMP/open.ini"
assert_not_contains "$(cat "$CHECK_ERR")" "OPEN TO ANY ADDRESS" "a service tag closes it"

# ---- 4. mutual TLS, the certificate picked by the CertificateRequest's CA list --------

_sc=$(printf 'Q\n' | timeout 20 openssl s_client -connect "127.0.0.1:$P_MTLS" \
    -servername localhost 2>&1 || true)
assert_contains "$_sc" "Acceptable client certificate CA names
CN = tlsbroker test erpca" "the broker names its client CA"
expect_audit listener=mtls close=client_tls_failed detail~'did not return a certificate'
erpc_ok mtls "127.0.0.1:$P_MTLS" --sni localhost --cert "$PKI/other.pfx" \
    --cert "$PKI/erp.pfx" --path /mtls
assert_eq "CN=tlsbroker test erpca" "$(erpc_last issuers)" "the CA list Mono's SslStream got"
assert_eq "CN=erp-aos" "$(erpc_last picked)" "the certificate picked from the list"
expect_audit listener=mtls route=mtls path=/mtls status=200 close=ok
erpc_ok mtls "127.0.0.1:$P_MTLS" --sni localhost --cert "$PKI/other.pfx" --want 0
assert_eq null "$(erpc_last picked)" "no certificate from that CA: none sent"
expect_audit listener=mtls close=client_tls_failed phase=client_handshake
# HttpWebRequest.ClientCertificates, as an X++ class loads one from Key Vault
erpc_ok soap "https://localhost:$P_MTLS/soap" --cert "$PKI/erp.pfx" --check sha256
expect_audit listener=mtls route=mtls status=200 close=ok
erpc soap "https://localhost:$P_MTLS/soap" --cert "$PKI/other.pfx"
[ "$ERPC_RC" != 0 ] || fail "a certificate from another CA got through"
expect_audit listener=mtls close=client_tls_failed phase=client_handshake

stop_broker
