#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Configuration checking: `tlsbroker -t -c` accepts a full valid file (long
# lines up to 1024 bytes included) and prints "configuration OK"; bad files
# get one FILE:LINE error per problem, all of them, with line numbers that
# stay right after an over-long line, and exit 1; `tlsbroker -c BAD` does not
# start (exit 1, nothing listening).  Also the CLI's other exits.

. "$(dirname "$0")/lib.sh"

make_pki
need_broker

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 3)
BP=$1 BP2=$2 BP3=$3

# A realistic TLS 1.2 list longer than inih's 200-byte buffer.
LONG_CIPHERS="ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:\
ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:\
DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305:\
ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256"
# About 900 bytes, still under the 1024-byte limit.
VERY_LONG=""
for _i in $(seq 80); do
	VERY_LONG="${VERY_LONG}AES128-SHA:"
done
VERY_LONG="${VERY_LONG}AES256-SHA"
# 2000 bytes with the key: over the limit.
TOO_LONG="upstream_ciphers = $(head -c 1981 /dev/zero | tr '\0' 'A')"
[ ${#TOO_LONG} -eq 2000 ] || hard_error "TOO_LONG is ${#TOO_LONG} bytes"

# The spec's error lines are "FILE:LINE: message"; a leading program name
# ("tlsbroker: ") is tolerated, nothing else.
P="(tlsbroker: )?"

# err_line FILE TEXT: FILE has the error line TEXT (with or without the
# program-name prefix).
err_line()
{
	grep -F -x -q -e "$2" -e "tlsbroker: $2" "$1" ||
	    fail "error line not found: '$2'; stderr was: $(cat "$1")"
}

# line_of FILE TEXT: number of the first line of FILE containing TEXT.
line_of()
{
	_l=$(grep -n -F -- "$2" "$1" | head -n 1 | cut -d: -f1)
	[ -n "$_l" ] || hard_error "'$2' not in $1"
	echo "$_l"
}

# has_line_prefix FILE PREFIX [TEXT]: some line of FILE starts with PREFIX
# (and contains TEXT).
has_line_prefix()
{
	while IFS= read -r _ln; do
		_ln=${_ln#tlsbroker: }
		case $_ln in
		"$2"*"${3:-}"*) return 0 ;;
		esac
	done <"$1"
	fail "no line starting with '$2'${3:+ containing '$3'} in: $(cat "$1")"
}

# does_not_start CONF: `tlsbroker -c CONF` exits 1 by itself and leaves
# nothing listening on the test's ports.
does_not_start()
{
	_rc=0
	timeout 20 "$TLSBROKER" -c "$1" </dev/null >"$TB_TMP/run.out" \
	    2>"$TB_TMP/run.err" || _rc=$?
	TB_BROKER_LOGS="$TB_BROKER_LOGS $TB_TMP/run.err"
	[ "$_rc" != 124 ] || fail "tlsbroker -c $1 kept running"
	assert_eq 1 "$_rc" "exit status of tlsbroker -c $1 ($(cat "$TB_TMP/run.err"))"
	for _p in $BP $BP2 $BP3; do
		! port_listening "$_p" || fail "port $_p listening after a failed start"
	done
	if grep -q 'ready:' "$TB_TMP/run.err"; then
		fail "tlsbroker -c $1 logged ready: $(cat "$TB_TMP/run.err")"
	fi
}

# ---- a good configuration ---------------------------------------------------

GOOD="$TB_TMP/good.ini"
cat >"$GOOD" <<EOF
; tlsbroker test configuration: every key kind once
# hash comments too
[broker]
workers = 2
max_connections = 1000
audit_log = $AUDIT
log_level = notice          ; inline comment
drain_timeout = 5s
admin = 127.0.0.1:$BP3

[listener erp]
bind = 127.0.0.1:$BP
cert = $PKI/broker-full.pem $PKI/other-full.pem
min_tls = 1.2
ciphers = $LONG_CIPHERS
ciphersuites = TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256
allow = 127.0.0.1/32 ::1
allow = 10.0.0.0/8,192.0.2.0/24
handshake_timeout = 2500ms

[listener mtls]
bind = 127.0.0.1:$BP2
cert = $PKI/broker.pem
key = $PKI/broker.key
min_tls = 1.3
client_ca = $PKI/clientca.pem

[route legacy]
listener = erp
mode = tcp
host = Legacy.Broker.Test
upstream = 127.0.0.1:4433
upstream_tls = 1.0-1.2
upstream_ciphers = $VERY_LONG
upstream_legacy_renegotiation = yes
upstream_ca = $PKI/ca.pem
upstream_sni = localhost
connect_timeout = 250ms
idle_timeout = 2m

[route pinned]
listener = erp
mode = tcp
host = *.pinned.broker.test
upstream = localhost:4434
upstream_tls = 1.2
upstream_security_level = 1
upstream_pin = $(cat "$PKI/expired.pin")
upstream_cert = $PKI/client.pem
upstream_key = $PKI/client.key
upstream_alpn = off

[route web]
listener = mtls
mode = http
path = /soap/
upstream = 127.0.0.1:8080
upstream_tls = off
forwarded = no
pool_max_idle = 4
pool_min_idle = 1
pool_idle_timeout = 10s
max_buffered_body = 64k
EOF
_n=$(line_of "$GOOD" "ciphers = ECDHE")
_len=$(sed -n "${_n}p" "$GOOD" | wc -c)
[ "$_len" -gt 200 ] && [ "$_len" -le 1024 ] ||
    hard_error "long ciphers line is $_len bytes"

broker_check "$GOOD"
assert_eq 0 "$CHECK_RC" "tlsbroker -t on a good file ($(cat "$CHECK_ERR"))"
assert_file_line "$CHECK_OUT" "configuration OK"
for _p in $BP $BP2 $BP3; do
	! port_listening "$_p" || fail "tlsbroker -t listened on $_p"
done
[ ! -e "$AUDIT" ] || [ ! -s "$AUDIT" ] || fail "tlsbroker -t wrote audit records"

# ---- parse and validation errors, all reported at once ----------------------

BAD="$TB_TMP/bad.ini"
cat >"$BAD" <<EOF
[broker]
workers = 2
audit_log = $AUDIT

[listener a]
bind = 127.0.0.1:$BP
cert = $PKI/broker.pem
key = $PKI/broker.key
min_tls = 1.0

[listener b]
bind = 127.0.0.1:$BP2
cert = $PKI/broker.pem
key = $PKI/broker.key
ciphers = $LONG_CIPHERS

[route payroll]
listener = a
mode = tcp
upstream = 127.0.0.1:4433
upstream_tls = 1.4
colour = blue

[route x]
listener = y
mode = tcp
upstream = 127.0.0.1:4434
$TOO_LONG

[route noup]
listener = b
mode = tcp

[route z]
listener = b
mode = tcp
host = z.broker.test
upstream = 127.0.0.1:4435
shape = round

[route payroll]
listener = b
mode = tcp
host = p2.broker.test
upstream = 127.0.0.1:4436

[foo]
EOF

broker_check "$BAD"
assert_eq 1 "$CHECK_RC" "tlsbroker -t on a bad file"
assert_not_contains "$(cat "$CHECK_OUT")" "configuration OK" "stdout"
E=$CHECK_ERR
err_line "$E" "$BAD:$(line_of "$BAD" "min_tls = 1.0"): [listener a] min_tls: '1.0' is below 1.2; inbound never accepts less than TLS 1.2 (allowed: 1.2, 1.3)"
err_line "$E" "$BAD:$(line_of "$BAD" "upstream_tls = 1.4"): [route payroll] upstream_tls: '1.4' is not one of off, 1.0, 1.1, 1.2, 1.3 or a range like 1.0-1.2"
err_line "$E" "$BAD:$(line_of "$BAD" "colour = blue"): [route payroll] colour: unknown key"
err_line "$E" "$BAD:$(line_of "$BAD" "listener = y"): [route x] listener: no [listener y] in this file (listeners: a, b)"
err_line "$E" "$BAD:$(line_of "$BAD" "[route noup]"): [route noup] upstream: required key missing (host:port of the endpoint)"
# after the over-long line the numbers must still be right
err_line "$E" "$BAD:$(line_of "$BAD" "shape = round"): [route z] shape: unknown key"
_first=$(line_of "$BAD" "[route payroll]")
_second=$(grep -n -F "[route payroll]" "$BAD" | tail -n 1 | cut -d: -f1)
err_line "$E" "$BAD:$_second: [route payroll]: duplicate route name (first at line $_first)"
err_line "$E" "$BAD:$(line_of "$BAD" "[foo]"): unknown section [foo]; sections are [broker], [listener NAME], [route NAME]"
_n=$(line_of "$BAD" "upstream_ciphers = AAAA")
grep -E -q "^$P$BAD:$_n: line too long \\([0-9]+ bytes, at most 1024\\)\$" "$E" ||
    fail "no 'line too long' error for line $_n in: $(cat "$E")"
# the 300-byte ciphers line is fine
_n=$(line_of "$BAD" "ciphers = ECDHE")
if grep -q -F "$BAD:$_n:" "$E"; then
	fail "error for the valid long line $_n: $(cat "$E")"
fi
# every error line is FILE:LINE: ...
while IFS= read -r _ln; do
	case ${_ln#tlsbroker: } in
	"$BAD:"[0-9]*": "*) ;;
	*) fail "stderr line not in FILE:LINE: form: '$_ln'" ;;
	esac
done <"$E"
does_not_start "$BAD"

# ---- errors found while building the TLS contexts ---------------------------

# bad_tls NAME KEY_TO_BLAME LISTENER_LINES...: a file with one listener
# (given lines) and a tcp route; -t must fail naming KEY's line.
mk_conf()
{
	_f="$TB_TMP/$1.ini"
	shift
	{
		printf '[broker]\naudit_log = off\n\n[listener erp]\n'
		printf 'bind = 127.0.0.1:%s\n' "$BP"
		for _x in "$@"; do
			printf '%s\n' "$_x"
		done
	} >"$_f"
	printf '%s\n' "$_f"
}

# missing certificate file
F=$(mk_conf nocert "cert = $TB_TMP/missing.pem" "" "[route r]" "mode = tcp" \
    "upstream = 127.0.0.1:4433")
broker_check "$F"
assert_eq 1 "$CHECK_RC" "tlsbroker -t with a missing cert file"
has_line_prefix "$CHECK_ERR" "$F:$(line_of "$F" "cert =")" "$TB_TMP/missing.pem"
does_not_start "$F"

# certificate and key that do not belong together
F=$(mk_conf mismatch "cert = $PKI/broker.pem" "key = $PKI/other.key" "" \
    "[route r]" "mode = tcp" "upstream = 127.0.0.1:4433")
broker_check "$F"
assert_eq 1 "$CHECK_RC" "tlsbroker -t with a mismatched cert/key"
if ! grep -q -E "^$P$F:($(line_of "$F" "cert =")|$(line_of "$F" "key =")): \\[listener erp\\] (cert|key):" \
    "$CHECK_ERR"; then
	fail "no cert/key mismatch error at the cert or key line: $(cat "$CHECK_ERR")"
fi
does_not_start "$F"

# cipher strings OpenSSL rejects, inbound and upstream
F=$(mk_conf badcipher "cert = $PKI/broker.pem" "key = $PKI/broker.key" \
    "ciphers = NOT-A-CIPHER" "" "[route r]" "mode = tcp" \
    "upstream = 127.0.0.1:4433" "upstream_tls = 1.0" \
    "upstream_ciphers = ALSO-NOT-A-CIPHER")
broker_check "$F"
assert_eq 1 "$CHECK_RC" "tlsbroker -t with bad cipher strings"
has_line_prefix "$CHECK_ERR" \
    "$F:$(line_of "$F" "ciphers = NOT"): [listener erp] ciphers:"
has_line_prefix "$CHECK_ERR" \
    "$F:$(line_of "$F" "upstream_ciphers ="): [route r] upstream_ciphers:"
does_not_start "$F"

# ---- CLI ---------------------------------------------------------------------

broker_check "$TB_TMP/nonexistent.ini"
assert_eq 1 "$CHECK_RC" "tlsbroker -t on a missing file"
err_line "$CHECK_ERR" \
    "$TB_TMP/nonexistent.ini: cannot open: No such file or directory"

_rc=0
"$TLSBROKER" --no-such-option </dev/null >/dev/null 2>"$TB_TMP/usage.err" ||
    _rc=$?
assert_eq 2 "$_rc" "exit status for an unknown option"
[ -s "$TB_TMP/usage.err" ] || fail "no usage message for an unknown option"

_rc=0
_v=$("$TLSBROKER" -V 2>&1) || _rc=$?
assert_eq 0 "$_rc" "exit status of -V"
assert_contains "$_v" "tlsbroker" "version line"
