#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The inbound hop as the ERP sees it.  Each of the eight TLS 1.2 suites
# finance and operations documents (ECDHE-ECDSA and ECDHE-RSA with AES-GCM
# and AES-CBC-SHA256/384) is served by default, with an ECDSA and an RSA
# certificate, and a call goes through on it; RSA key exchange and SHA-1
# suites are not.  tlsbroker -t warns about a served chain the ERP cannot
# trust: self-signed, ending at a private root, missing an intermediate
# (also when only this host's store has it), expiring within 30 days or
# expired; a complete chain to a root of the system store (here
# SSL_CERT_DIR, holding the test CA) gets none.  Client and upstream
# sockets carry TCP keepalive.  And the defaults never race the client: a
# Mono HttpWebRequest call after 95 s of quiet on its kept-alive connection
# succeeds on that same connection (.NET keeps an idle connection 100 s;
# the broker 120 s).  This last part takes 95 s.

. "$(dirname "$0")/lib.sh"
. "$TB_SRC/../dotnet/dotnet.sh"

need_cmd ss
need_mono
make_rsa_pki
make_server_cert localhost localhost "DNS:localhost,IP:127.0.0.1"
mono_trust "$PKI/ca.pem"

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 3)
P_EC=$1 P_RSA=$2 P_APP=$3
start_httpd app "$P_APP"

{
	ini_broker
	ini_listener ec "$P_EC" "cert=$PKI/localhost-full.pem"
	ini_listener rsa "$P_RSA" "cert=$PKI/rsabroker-full.pem"
	cat <<EOF

[route ec]
listener = ec
upstream = 127.0.0.1:$P_APP
upstream_tls = off

[route rsa]
listener = rsa
upstream = 127.0.0.1:$P_APP
upstream_tls = off
EOF
} >"$TB_TMP/broker.ini"
start_broker "$TB_TMP/broker.ini"

# ---- 1. finance and operations' TLS 1.2 suites, served by default ------------------

for _s in ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-AES128-GCM-SHA256 \
    ECDHE-ECDSA-AES256-SHA384 ECDHE-ECDSA-AES128-SHA256 \
    ECDHE-RSA-AES256-GCM-SHA384 ECDHE-RSA-AES128-GCM-SHA256 \
    ECDHE-RSA-AES256-SHA384 ECDHE-RSA-AES128-SHA256; do
	case $_s in
	ECDHE-ECDSA-*) _p=$P_EC _l=ec ;;
	*) _p=$P_RSA _l=rsa ;;
	esac
	s_client_get "$_p" -tls1_2 -cipher "$_s" -servername broker.test
	assert_contains "$SC_OUT" "Cipher is $_s" "$_s with the $_l certificate"
	assert_contains "$SC_OUT" "HTTP/1.1 200" "a call on $_s"
	expect_audit listener="$_l" status=200 tls=TLSv1.2 cipher="$_s" close=ok
done
s_client_get "$P_EC" -tls1_3 -servername broker.test
assert_contains "$SC_OUT" "HTTP/1.1 200" "TLS 1.3"
expect_audit listener=ec status=200 tls=TLSv1.3 close=ok
# what F&O does not use is not offered either: RSA key exchange, SHA-1 MACs
for _s in AES128-GCM-SHA256 AES256-SHA256 ECDHE-RSA-AES128-SHA; do
	s_client_get "$P_RSA" -tls1_2 -cipher "$_s:@SECLEVEL=0" -servername broker.test
	assert_not_contains "$SC_OUT" "HTTP/1.1 200" "$_s must be refused"
	expect_audit listener=rsa close=client_tls_failed
done

# ---- 2. tlsbroker -t and the chain the ERP is served -------------------------------

# check_cert FILE: tlsbroker -t on a listener serving FILE; warnings in CHECK_ERR.
check_cert()
{
	cat >"$TB_TMP/cert.ini" <<EOF
[listener erp]
bind = 127.0.0.1:$P_EC
cert = $1
[route a]
upstream = 127.0.0.1:$P_APP
upstream_tls = off
EOF
	broker_check "$TB_TMP/cert.ini"
	assert_eq 0 "$CHECK_RC" "tlsbroker -t with $1 ($(cat "$CHECK_ERR"))"
}

cat "$PKI/expired.pem" "$PKI/expired.key" >"$TB_TMP/selfsigned.pem"
check_cert "$TB_TMP/selfsigned.pem"
assert_contains "$(cat "$CHECK_ERR")" "cert: /CN=expired.test is self-signed: the ERP trusts only public CAs" \
    "self-signed warning"
assert_contains "$(cat "$CHECK_ERR")" "cert: /CN=expired.test has EXPIRED" "expired warning"
check_cert "$PKI/localhost-full.pem"
assert_contains "$(cat "$CHECK_ERR")" "incomplete chain or private CA: nothing in the file or among this host's public roots issued /CN=tlsbroker test CA" \
    "private CA / incomplete chain warning"
assert_contains "$(cat "$CHECK_ERR")" "cert: /CN=localhost expires in 29 days" "expiry warning"
cat "$PKI/localhost.pem" "$PKI/ca.pem" "$PKI/localhost.key" >"$TB_TMP/withroot.pem"
check_cert "$TB_TMP/withroot.pem"
assert_contains "$(cat "$CHECK_ERR")" "the chain of /CN=localhost ends at the private root /CN=tlsbroker test CA" \
    "private root warning"

# With the test CA as "the public roots" (OpenSSL's SSL_CERT_DIR, a hashed
# directory like /etc/ssl/certs): an intermediate CA, a leaf from it, and
# files with and without it.
_tb_ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$PKI/inter.key" -out "$PKI/inter.csr" -subj "/CN=tlsbroker test intermediate" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
_tb_ossl x509 -req -in "$PKI/inter.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" \
    -CAcreateserial -CAserial "$PKI/ca.srl" -days 400 -copy_extensions copy -out "$PKI/inter.pem"
_tb_leaf leaf400 inter "ec:$PKI/ca.pem" broker.test "DNS:broker.test" serverAuth
_tb_ossl x509 -req -in "$PKI/leaf400.csr" -CA "$PKI/inter.pem" -CAkey "$PKI/inter.key" \
    -CAcreateserial -CAserial "$PKI/inter.srl" -days 400 -copy_extensions copy \
    -out "$PKI/leaf400.pem"
cat "$PKI/leaf400.pem" "$PKI/leaf400.key" >"$TB_TMP/leafonly.pem"
cat "$PKI/leaf400.pem" "$PKI/inter.pem" "$PKI/leaf400.key" >"$TB_TMP/whole.pem"
# roots DIR CERT...: a hashed directory holding the CERTs.
roots()
{
	_dir=$1
	shift
	mkdir -p "$_dir"
	cp "$@" "$_dir"
	openssl rehash "$_dir" || hard_error "openssl rehash $_dir failed"
}
roots "$TB_TMP/roots" "$PKI/ca.pem"
roots "$TB_TMP/roots+inter" "$PKI/ca.pem" "$PKI/inter.pem"
SSL_CERT_DIR="$TB_TMP/roots"
export SSL_CERT_DIR
check_cert "$TB_TMP/whole.pem"
assert_not_contains "$(cat "$CHECK_ERR")" "cert:" "a whole chain to a known root: no warning"
check_cert "$TB_TMP/leafonly.pem"
assert_contains "$(cat "$CHECK_ERR")" "incomplete chain or private CA: nothing in the file or among this host's public roots issued /CN=tlsbroker test intermediate" \
    "missing intermediate warning"
SSL_CERT_DIR="$TB_TMP/roots+inter"
check_cert "$TB_TMP/leafonly.pem"
assert_contains "$(cat "$CHECK_ERR")" "incomplete chain: the intermediate /CN=tlsbroker test intermediate is not in the file" \
    "an intermediate only this host's store has"
unset SSL_CERT_DIR

# ---- 3. TCP keepalive on client and upstream sockets -------------------------------

# keepalive_timer SS-FILTER: the timer ss shows on that established socket.
# While a segment is unacknowledged ss shows the retransmission timer ("on")
# instead, so look again, for at most 5 s, until it is another one.
keepalive_timer()
{
	_kt_n=0
	while :; do
		_kt=$(ss -tnoH state established "$@" |
		    sed -n 's/.*timer:(\([a-z]*\),\([0-9.a-z]*\),.*/\1 \2/p' | head -n 1)
		case $_kt in
		on\ *|"") ;;
		*) break ;;
		esac
		_kt_n=$((_kt_n + 1))
		[ "$_kt_n" -lt 50 ] || break
		sleep 0.1
	done
	printf '%s\n' "$_kt"
}

_fifo="$TB_TMP/hold.fifo"
mkfifo "$_fifo"
(printf 'GET /hold HTTP/1.1\r\nHost: localhost\r\n\r\n'; cat "$_fifo") |
    timeout 60 openssl s_client -quiet -connect "127.0.0.1:$P_EC" \
    -servername localhost >"$TB_TMP/hold.out" 2>&1 &
_hold=$!
track "$_hold" "$TB_TMP/hold.out"
# The FIFO's writer is a process of its own, so that stopping it (here or in
# the EXIT trap after a failure) ends cat and the client with it.
sleep 300 >"$_fifo" &
_writer=$!
track "$_writer"
expect_audit listener=ec path=/hold status=200 close=ok
_t=$(keepalive_timer "( sport = :$P_EC )")
case $_t in
keepalive\ [0-9]*) ;;
*) fail "the client socket has no keepalive timer: '$_t'" ;;
esac
_t=$(keepalive_timer "( dport = :$P_APP )")
case $_t in
keepalive\ [0-9]*) ;;
*) fail "the upstream socket has no keepalive timer: '$_t'" ;;
esac
note "keepalive timers: client $(keepalive_timer "( sport = :$P_EC )"), upstream $_t"
stop_pid "$_writer"
stop_pid "$_hold"

# ---- 4. a call after 95 s of quiet on a kept-alive connection -----------------------

ERPC_TIMEOUT=160 erpc_ok soap "https://localhost:$P_EC/idle" --count 2 --gap 95 \
    --check sha256
note "after 95 s idle: $(printf '%s\n' "$ERPC_OUT" | sed -n 2p)"
# the two calls' records: requests 1 and 2 of one client connection
_conns=$("$PYTHON" - "$AUDIT" <<'PYEOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if '"/idle"' in l]
print(" ".join("%s/%s/%s/%s" % (r["conn"], r["req"], r["status"], r["close"]) for r in recs))
PYEOF
)
set -- $_conns
[ $# = 2 ] || fail "expected 2 audit records of the idle calls, got: $_conns"
assert_eq "${1%%/*}/1/200/ok ${1%%/*}/2/200/ok" "$_conns" \
    "the call after 95 s came on the same kept-alive connection"
stop_broker
