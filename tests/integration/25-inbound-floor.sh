#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The inbound cipher floor cannot be configured away.  A cipher list that
# lowers the security level below 2 (its @SECLEVEL=n) or enables a NULL,
# anonymous, RC4, 3DES or export suite is an error at `tlsbroker -t` with
# FILE:LINE, and the broker does not start with it; judged on the suites the
# built SSL_CTX ends up with, so every spelling is caught (ALL:eNULL, HIGH,
# aNULL, an explicit suite name).  A running broker refuses clients that
# offer only such suites (openssl s_client; RC4 and 3DES from the
# weak-cipher OpenSSL's s_client when it is there), and serves the others.
#
# Regression: `ciphers = ALL:eNULL:@SECLEVEL=0` passed
# -t and the broker served NULL-SHA256 and anonymous DH.

. "$(dirname "$0")/lib.sh"

make_pki
need_broker

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 2)
BP=$1 P_EP=$2
start_ep_hash floor "$P_EP"

# write_ini FILE CIPHERS_LINE: listener line 6 is the ciphers line.
write_ini()
{
	cat >"$1" <<EOF
[broker]
audit_log = $AUDIT
[listener erp]
bind = 127.0.0.1:$BP
cert = $PKI/broker-full.pem
$2
[route r]
mode = tcp
upstream = 127.0.0.1:$P_EP
upstream_tls = off
EOF
}

# refused CIPHERS_LINE KEY TEXT...: -t exits 1 with a FILE:6 error for KEY
# that contains every TEXT, and a start exits 1 without listening.
refused()
{
	_ini="$TB_TMP/bad.ini"
	write_ini "$_ini" "$1"
	_key=$2
	shift 2
	broker_check "$_ini"
	assert_eq 1 "$CHECK_RC" "tlsbroker -t with '$(sed -n 6p "$_ini")'"
	_err=$(grep -F "$_ini:6: [listener erp] $_key: " "$CHECK_ERR") ||
	    fail "no $_ini:6 error for $_key: $(cat "$CHECK_ERR")"
	for _t in "$@"; do
		assert_contains "$_err" "$_t" "-t error"
	done
	_rc=0
	timeout 20 "$TLSBROKER" -c "$_ini" </dev/null >/dev/null \
	    2>"$TB_TMP/run.err" || _rc=$?
	TB_BROKER_LOGS="$TB_BROKER_LOGS $TB_TMP/run.err"
	assert_eq 1 "$_rc" "start with a weak list ($(cat "$TB_TMP/run.err"))"
	! port_listening "$BP" || fail "port $BP listening after a refused start"
}

refused "ciphers = ALL:eNULL:@SECLEVEL=0" ciphers "security level 0" \
    "no encryption (" "anonymous ("
refused "ciphers = HIGH" ciphers "anonymous (ADH-"
refused "ciphers = aNULL:ECDHE-ECDSA-AES128-GCM-SHA256" ciphers "anonymous ("
refused "ciphers = ECDHE-ECDSA-NULL-SHA:ECDHE-ECDSA-AES128-GCM-SHA256" ciphers \
    "no encryption (ECDHE-ECDSA-NULL-SHA)"
refused "ciphers = ECDHE-ECDSA-AES128-GCM-SHA256:@SECLEVEL=1" ciphers \
    "security level 1" "at least 2"
note "weak lists refused at -t and at start"

# Lists that keep the floor pass, a higher level included.
for _l in "ciphers = HIGH:!aNULL" "ciphers = ALL:!aNULL:!eNULL" \
    "ciphers = ECDHE-ECDSA-AES128-GCM-SHA256:@SECLEVEL=3" \
    "ciphersuites = TLS_AES_128_GCM_SHA256" "; the default list"; do
	write_ini "$TB_TMP/ok.ini" "$_l"
	broker_check "$TB_TMP/ok.ini"
	assert_eq 0 "$CHECK_RC" "tlsbroker -t with '$_l' ($(cat "$CHECK_ERR"))"
done

# ---- a running broker refuses clients that offer only weak suites ----------

write_ini "$TB_TMP/broker.ini" "ciphers = HIGH:!aNULL:!eNULL"
start_broker "$TB_TMP/broker.ini"

# sc_refused WHAT OPENSSL ARGS...: a TLS 1.2 handshake offering only the
# suites in ARGS fails, and the broker audits a refused handshake.
sc_refused()
{
	_what=$1
	_ossl=$2
	shift 2
	_rc=0
	_out=$(printf 'x' | timeout 20 "$_ossl" s_client -connect \
	    "127.0.0.1:$BP" -tls1_2 -servername broker.test "$@" 2>&1) || _rc=$?
	[ "$_rc" -ne 0 ] || fail "a client offering only $_what got through: $_out"
	case $_out in
	*"Cipher is (NONE)"* | *"alert handshake failure"* | *"no shared cipher"*) ;;
	*) fail "a client offering only $_what: no handshake failure in: $_out" ;;
	esac
	expect_audit close=client_tls_failed listener=erp route! upstream!
}

sc_refused "eNULL" openssl -cipher 'eNULL:@SECLEVEL=0'
sc_refused "aNULL" openssl -cipher 'aNULL:@SECLEVEL=0'
# Debian's libssl has no RC4 or 3DES: the weak build's client offers them.
WEAK_DIR=${TLSBROKER_WEAK_OPENSSL:-/var/cache/tlsbroker/openssl-weak}
if [ -x "$WEAK_DIR/bin/openssl" ]; then
	WEAK_OSSL="$TB_TMP/weak-openssl"
	cat >"$WEAK_OSSL" <<EOF
#!/bin/sh
LD_LIBRARY_PATH="$WEAK_DIR/lib:$WEAK_DIR/lib64" exec "$WEAK_DIR/bin/openssl" "\$@"
EOF
	chmod +x "$WEAK_OSSL"
	sc_refused "3DES" "$WEAK_OSSL" -cipher '3DES:@SECLEVEL=0'
	sc_refused "RC4" "$WEAK_OSSL" -cipher 'RC4:@SECLEVEL=0' \
	    -provider legacy -provider default
	note "RC4 and 3DES clients refused"
else
	note "no weak-cipher OpenSSL at $WEAK_DIR: RC4/3DES clients not tried"
fi
# ...while a client with a strong suite is served.
client_ok who --port "$BP" --tls 1.2
expect_audit close=ok route=r cipher~^ECDHE-ECDSA-
stop_broker

# ---- the weak-cipher build: its 3DES suites are refused too ----------------

if [ -n "${TLSBROKER_WEAK:-}" ] && [ -x "$TLSBROKER_WEAK" ]; then
	TLSBROKER=$TLSBROKER_WEAK
	refused "ciphers = ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-DES-CBC3-SHA" \
	    ciphers "3DES (ECDHE-ECDSA-DES-CBC3-SHA)"
	note "the weak build refuses 3DES inbound"
else
	note "TLSBROKER_WEAK not set: the weak build's list not checked"
fi
