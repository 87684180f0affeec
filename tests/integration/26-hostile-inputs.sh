#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Inputs that used to hang or spin the daemon are refused at once with a
# clear message: a FIFO as cert, key, client_ca or audit_log, `-c` on a FIFO,
# /dev/zero or /dev/urandom, a configuration larger than the limit, a file of
# garbage (at most 100 errors, then a notice), and an audit_log that the start
# could not open (a directory, a missing directory) now fails `-t` as well.
# Every run is bounded by `timeout 10` and must exit 1, never 124.  A running
# broker keeps serving when a reload names a FIFO, or when SIGUSR1 finds one
# where its audit log was.
#
# Regression: a FIFO cert hung -t, a FIFO audit_log hung
# the start with every signal blocked, -c /dev/zero spun, -c /dev/urandom grew
# without bound, and -t passed an audit_log in a missing directory.

. "$(dirname "$0")/lib.sh"

make_pki
need_broker

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 2)
BP=$1 P_EP=$2
start_ep_hash hostile "$P_EP"

FIFO="$TB_TMP/fifo"
mkfifo "$FIFO"

# write_ini FILE [KEY=VALUE...]: a valid file with keys replaced; the broker
# keys are on lines 2-3, the listener's on 5-7.
write_ini()
{
	_f=$1
	shift
	_audit=$AUDIT _cert="$PKI/broker.pem" _key="$PKI/broker.key" _ca=""
	for _kv in "$@"; do
		case $_kv in
		audit_log=*) _audit=${_kv#*=} ;;
		cert=*) _cert=${_kv#*=} ;;
		key=*) _key=${_kv#*=} ;;
		client_ca=*) _ca="client_ca = ${_kv#*=}" ;;
		esac
	done
	cat >"$_f" <<EOF
[broker]
audit_log = $_audit
workers = 1
[listener erp]
bind = 127.0.0.1:$BP
cert = $_cert
key = $_key
$_ca
[route r]
mode = tcp
upstream = 127.0.0.1:$P_EP
upstream_tls = off
EOF
}

# bounded_run MODE CONF: `timeout 10 tlsbroker [-t] -c CONF`; sets RUN_RC
# and RUN_ERR (stderr text).  MODE is -t or run.
bounded_run()
{
	_rc=0
	if [ "$1" = -t ]; then
		timeout -k 5 10 "$TLSBROKER" -t -c "$2" </dev/null >"$TB_TMP/run.out" \
		    2>"$TB_TMP/run.err" || _rc=$?
	else
		timeout -k 5 10 "$TLSBROKER" -c "$2" </dev/null >"$TB_TMP/run.out" \
		    2>"$TB_TMP/run.err" || _rc=$?
	fi
	TB_BROKER_LOGS="$TB_BROKER_LOGS $TB_TMP/run.err"
	RUN_RC=$_rc
	RUN_ERR=$(head -c 20000 "$TB_TMP/run.err")
}

# refused CONF TEXT: -t and a start both exit 1 (not 124) within 10 s and
# say TEXT; nothing listens afterwards.
refused()
{
	for _m in -t run; do
		bounded_run "$_m" "$1"
		case $RUN_RC in
		124 | 137) fail "tlsbroker $_m -c $1 hung (killed after 10 s)" ;;
		esac
		assert_eq 1 "$RUN_RC" "tlsbroker $_m -c $1 exit status ($RUN_ERR)"
		assert_contains "$RUN_ERR" "$2" "tlsbroker $_m -c $1"
	done
	! port_listening "$BP" || fail "port $BP listening after a refused start"
}

# ---- files named by the configuration -----------------------------------------

C="$TB_TMP/t.ini"
for _k in cert key client_ca; do
	write_ini "$C" "$_k=$FIFO"
	refused "$C" "[listener erp] $_k: '$FIFO': cannot read: a FIFO, not a regular file"
done
write_ini "$C" "cert=/dev/zero"
refused "$C" "cert: '/dev/zero': cannot read: a character device, not a regular file"

write_ini "$C" "audit_log=$FIFO"
refused "$C" "$C:2: [broker] audit_log: '$FIFO': cannot open for appending: a FIFO, not a regular file"
# with a reader on the FIFO an open would succeed: still refused
cat "$FIFO" >/dev/null &
_cat=$!
track "$_cat"
refused "$C" "audit_log: '$FIFO': cannot open for appending: a FIFO, not a regular file"
stop_pid "$_cat"
write_ini "$C" "audit_log=$TB_TMP"
refused "$C" "audit_log: '$TB_TMP': cannot open for appending: a directory, not a regular file"
write_ini "$C" "audit_log=$TB_TMP/none/audit.jsonl"
refused "$C" "audit_log: '$TB_TMP/none/audit.jsonl': its directory $TB_TMP/none: No such file or directory"
[ ! -e "$TB_TMP/none" ] || fail "the check created $TB_TMP/none"
note "FIFOs, devices and bad audit_log paths refused"

# ---- the configuration file itself --------------------------------------------

refused "$FIFO" "$FIFO: cannot open: a FIFO, not a regular file"
refused /dev/zero "/dev/zero: cannot open: a character device, not a regular file"
refused /dev/urandom "/dev/urandom: cannot open: a character device, not a regular file"
truncate -s 9M "$TB_TMP/big.ini"
refused "$TB_TMP/big.ini" "$TB_TMP/big.ini: 9437184 bytes; a configuration file has at most 8388608"
# a megabyte of random bytes in a regular file: bounded errors
head -c 1048576 /dev/urandom >"$TB_TMP/garbage.ini"
refused "$TB_TMP/garbage.ini" "too many errors: only the first 100 are shown"
_n=$(wc -l <"$TB_TMP/run.err")
[ "$_n" -le 101 ] || fail "$_n error lines for a file of garbage"
note "FIFO, /dev/zero, /dev/urandom, oversized and garbage configs refused"

# ---- a running broker ---------------------------------------------------------

write_ini "$C"
broker_check "$C"
assert_eq 0 "$CHECK_RC" "tlsbroker -t on the good file ($(cat "$CHECK_ERR"))"
start_broker "$C"
client_ok who --port "$BP"
expect_audit close=ok route=r

# reload to a FIFO audit_log or a FIFO cert: refused, the old one runs on
for _kv in "audit_log=$FIFO" "cert=$FIFO"; do
	write_ini "$C" "$_kv"
	_before=$(grep -c 'reload failed: the previous' "$BROKER_LOG" || true)
	kill -HUP "$BROKER_PID"
	_end=$(($(now_ms) + 10000))
	while [ "$(grep -c 'reload failed: the previous' "$BROKER_LOG")" -le "$_before" ]; do
		_tb_alive "$BROKER_PID" || fail "broker died on a reload with $_kv"
		[ "$(now_ms)" -lt "$_end" ] || fail "no reload outcome for $_kv within 10 s"
		sleep 0.05
	done
	grep -q "not a regular file" "$BROKER_LOG" ||
	    fail "reload with $_kv: no reason logged"
	client_ok who --port "$BP"
	expect_audit close=ok route=r
done
write_ini "$C"

# SIGUSR1 finding a FIFO where the audit log was: kept writing the old one
mv "$AUDIT" "$AUDIT.1"
mkfifo "$AUDIT"
kill -USR1 "$BROKER_PID"
_out=$(tbutil waitgrep "$BROKER_LOG" "SIGUSR1: cannot reopen" --timeout 10 \
    --pid "$BROKER_PID") || fail "SIGUSR1 with a FIFO audit log: $_out"
client_ok who --port "$BP"
rm -f "$AUDIT"
AUDIT="$AUDIT.1"
expect_audit close=ok route=r
stop_broker
note "a running broker refuses FIFOs at reload and reopen and keeps serving"
