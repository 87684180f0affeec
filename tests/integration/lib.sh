# SPDX-License-Identifier: MIT
#
# Shared harness for tests/integration/NN-*.sh (hitch model): sourced by each
# test, which then writes its ini as a heredoc, starts endpoints and the
# broker, runs real clients and asserts audit fields.  This file owns the
# private temp dir, process bookkeeping and cleanup, free ports, test
# certificates, broker start/stop, bounded waits and assertions; endpoint
# launchers live in endpoints/endpoints.sh and the Python helpers next to it.
#
# Environment (set by automake's AM_TESTS_ENVIRONMENT):
#   TLSBROKER   absolute path of the daemon binary (needed by start_broker)
#   TOP_SRCDIR  absolute source dir (optional; we locate ourselves via $0)
#   PYTHON      python3 to use (default: python3 on PATH)
#   TB_KEEP=1   keep the temp dir even when the test passed
# Exit status: 0 pass, 77 skip, 99 hard error (the harness, not the broker,
# failed), anything else is mapped to 1 (fail).
# Nothing here touches an address other than 127.0.0.1.
# shellcheck disable=SC2034 # results (SC_OUT, CURL_RC, ...) are for callers

set -eu

TB_NAME=$(basename "$0" .sh)
TB_SRC=$(cd "$(dirname "$0")" && pwd)
TB_EP="$TB_SRC/endpoints"
TB_PIDS=""
TB_LOGS=""
TB_BROKER_LOGS=""
TB_SKIPPED=0
TB_HARD=0
TB_STARTS=0
BROKER_PID=""
BROKER_LOG=""
AUDIT_N=0

# ---- messages and exits -----------------------------------------------------

note()
{
	printf '%s: %s\n' "$TB_NAME" "$*"
}

fail()
{
	printf '%s: FAIL: %s\n' "$TB_NAME" "$*" >&2
	exit 1
}

skip()
{
	printf '%s: SKIP: %s\n' "$TB_NAME" "$*" >&2
	TB_SKIPPED=1
	exit 77
}

hard_error()
{
	printf '%s: ERROR: %s\n' "$TB_NAME" "$*" >&2
	TB_HARD=1
	exit 99
}

need_cmd()
{
	for _tb_c in "$@"; do
		command -v "$_tb_c" >/dev/null 2>&1 || skip "$_tb_c not found"
	done
}

# ---- processes ----------------------------------------------------------------

# _tb_alive PID: true while PID runs (a zombie counts as dead: our own
# children stay zombies until waited for, so kill -0 alone would lie).
_tb_alive()
{
	if [ -r "/proc/$1/stat" ]; then
		_tb_st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
		_tb_st=${_tb_st##*") "}
		case $_tb_st in
		Z*|X*) return 1 ;;
		esac
		return 0
	fi
	[ -d /proc/self ] && return 1
	kill -0 "$1" 2>/dev/null
}

# track PID LOG...: remember a started process (stopped at exit) and the logs
# to dump when the test fails.
track()
{
	_tb_pid=$1
	shift
	TB_PIDS="$TB_PIDS $_tb_pid"
	for _tb_l in "$@"; do
		TB_LOGS="$TB_LOGS $_tb_l"
	done
}

untrack()
{
	_tb_new=""
	for _tb_p in $TB_PIDS; do
		[ "$_tb_p" = "$1" ] || _tb_new="$_tb_new $_tb_p"
	done
	TB_PIDS=$_tb_new
}

# wait_exit PID SECONDS: wait up to SECONDS for PID to exit; sets WAIT_RC to
# its exit status (or 255 when it did not exit).
wait_exit()
{
	_tb_end=$(($(now_ms) + $2 * 1000))
	while _tb_alive "$1"; do
		if [ "$(now_ms)" -ge "$_tb_end" ]; then
			WAIT_RC=255
			return 1
		fi
		sleep 0.05
	done
	WAIT_RC=0
	wait "$1" 2>/dev/null || WAIT_RC=$?
	return 0
}

# stop_pid PID: SIGTERM, bounded wait, then SIGKILL.
stop_pid()
{
	kill -TERM "$1" 2>/dev/null || true
	if ! wait_exit "$1" 5; then
		kill -KILL "$1" 2>/dev/null || true
		wait_exit "$1" 5 || true
	fi
	untrack "$1"
}

now_ms()
{
	date +%s%3N
}

# ---- cleanup ------------------------------------------------------------------

_tb_sanitizer_errors()
{
	# Any sanitizer report in any broker log fails the test.
	_tb_found=1
	for _tb_l in $TB_BROKER_LOGS; do
		if [ -f "$_tb_l" ] && grep -E -q \
		    'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' \
		    "$_tb_l"; then
			printf '%s: FAIL: sanitizer report in %s\n' "$TB_NAME" \
			    "$_tb_l" >&2
			_tb_found=0
		fi
	done
	return $_tb_found
}

_tb_cleanup()
{
	_tb_rc=$?
	set +e
	trap - EXIT HUP INT TERM
	case $_tb_rc in
	0) ;;
	77) [ "$TB_SKIPPED" = 1 ] || _tb_rc=1 ;;
	99) [ "$TB_HARD" = 1 ] || _tb_rc=1 ;;
	*) _tb_rc=1 ;;
	esac
	for _tb_p in $TB_PIDS; do
		stop_pid "$_tb_p"
	done
	if [ "$_tb_rc" -ne 77 ] && _tb_sanitizer_errors; then
		_tb_rc=1
	fi
	if [ "$_tb_rc" -ne 0 ] && [ "$_tb_rc" -ne 77 ]; then
		for _tb_l in $TB_LOGS; do
			[ -f "$_tb_l" ] || continue
			printf '==== %s (last 100 lines)\n' "$_tb_l" >&2
			tail -n 100 "$_tb_l" | sed 's/^/  | /' >&2
		done
		printf '%s: kept %s\n' "$TB_NAME" "$TB_TMP" >&2
	elif [ "${TB_KEEP:-0}" = 1 ]; then
		printf '%s: kept %s\n' "$TB_NAME" "$TB_TMP" >&2
	else
		rm -rf "$TB_TMP"
	fi
	exit "$_tb_rc"
}

TB_TMP=$(mktemp -d "${TMPDIR:-/tmp}/tlsbroker-$TB_NAME.XXXXXX") ||
    hard_error "mktemp failed"
trap _tb_cleanup EXIT
trap 'exit 1' HUP INT TERM
AUDIT="$TB_TMP/audit.jsonl"
PKI="$TB_TMP/pki"

need_cmd openssl
PYTHON=${PYTHON:-python3}
command -v "$PYTHON" >/dev/null 2>&1 || skip "python3 not found"
# Resolve wrappers (pyenv shims) once: every helper call pays the start-up.
PYTHON=$("$PYTHON" -c 'import sys; print(sys.executable)') ||
    skip "python3 does not run"

tbutil()
{
	"$PYTHON" "$TB_EP/tbutil.py" "$@"
}

# ---- ports --------------------------------------------------------------------

# free_port / free_ports N: ports on 127.0.0.1 the kernel just handed out for
# bind(port 0); never derived from $$, distinct within the test.
free_ports()
{
	tbutil freeports "$1" --used "$TB_TMP/ports.used"
}

free_port()
{
	free_ports 1
}

# free_port_in LO HI: a port in [LO, HI] nothing is bound to now (for a
# privileged port, say); hard error if there is none.
free_port_in()
{
	_tb_out=$(tbutil freeports 1 --range "$1-$2" \
	    --used "$TB_TMP/ports.used") || hard_error "free_port_in: $_tb_out"
	printf '%s\n' "$_tb_out"
}

# wait_for_port PORT [PID]: until something listens on PORT (bounded; fails
# at once if PID died).  Reads /proc/net/tcp, so it makes no connection.
wait_for_port()
{
	_tb_out=$(tbutil waitport "$1" --timeout 10 --pid "${2:-0}") ||
	    fail "wait_for_port: $_tb_out"
}

# wait_port_closed PORT [SECONDS]: until nothing listens on PORT.
wait_port_closed()
{
	_tb_out=$(tbutil waitport "$1" --closed --timeout "${2:-10}") ||
	    fail "wait_port_closed: $_tb_out"
}

# port_listening PORT: true if something listens on PORT now.
port_listening()
{
	! tbutil waitport "$1" --closed --timeout 0 >/dev/null
}

# ---- certificates -------------------------------------------------------------

_tb_ossl()
{
	openssl "$@" >>"$PKI/openssl.log" 2>&1 ||
	    hard_error "openssl $1 failed: $(tail -n 5 "$PKI/openssl.log")"
}

# _tb_leaf NAME CA KEYALG SUBJECT_CN SAN EKU [DIGEST]
_tb_leaf()
{
	_tb_ossl req -new -newkey "$3" -nodes -keyout "$PKI/$1.key" \
	    -out "$PKI/$1.csr" -subj "/CN=$4" \
	    -addext "subjectAltName=$5" \
	    -addext "basicConstraints=critical,CA:FALSE" \
	    -addext "extendedKeyUsage=$6"
	_tb_ossl x509 -req -in "$PKI/$1.csr" -CA "$PKI/$2.pem" \
	    -CAkey "$PKI/$2.key" -CAcreateserial -CAserial "$PKI/$2.srl" \
	    -days 30 -copy_extensions copy "-${7:-sha256}" -out "$PKI/$1.pem"
	cat "$PKI/$1.pem" "$PKI/$1.key" >"$PKI/$1-full.pem"
}

# make_pki: the test's certificates, made once per test run under $PKI:
#   ca.pem           test CA (trust anchor for the broker cert and endpoints)
#   broker.pem/.key  CN broker.test, SAN broker.test *.broker.test 127.0.0.1
#   other.pem/.key   CN other.test (second certificate, chosen by SNI)
#   legacy.pem/.key  RSA-2048 endpoint cert, SAN localhost 127.0.0.1
#   expired.pem/.key self-signed, expired in 2020
#   weak.pem/.key    RSA-1024, SHA-1 signed by the CA, SAN localhost
#   clientca.pem, client.pem/.key   mTLS client CA and client certificate
#   NAME-full.pem    certificate followed by its key (for `cert =` lists)
#   wrong.pin        an SPKI pin that matches no endpoint
make_pki()
{
	[ -f "$PKI/done" ] && return 0
	mkdir -p "$PKI"
	_tb_ec="ec -pkeyopt ec_paramgen_curve:P-256"
	# shellcheck disable=SC2086
	_tb_ossl req -x509 -newkey $_tb_ec -nodes -keyout "$PKI/ca.key" \
	    -out "$PKI/ca.pem" -days 30 -subj "/CN=tlsbroker test CA" \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign"
	# shellcheck disable=SC2086
	_tb_ossl req -x509 -newkey $_tb_ec -nodes -keyout "$PKI/clientca.key" \
	    -out "$PKI/clientca.pem" -days 30 \
	    -subj "/CN=tlsbroker test client CA" \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign"
	_tb_leaf broker ca "ec:$PKI/ca.pem" broker.test \
	    "DNS:broker.test,DNS:*.broker.test,IP:127.0.0.1" serverAuth
	_tb_leaf other ca "ec:$PKI/ca.pem" other.test "DNS:other.test" \
	    serverAuth
	_tb_leaf legacy ca rsa:2048 localhost "DNS:localhost,IP:127.0.0.1" \
	    serverAuth
	_tb_leaf weak ca rsa:1024 localhost "DNS:localhost,IP:127.0.0.1" \
	    serverAuth sha1
	_tb_leaf client clientca "ec:$PKI/ca.pem" erp-client "DNS:erp-client" \
	    clientAuth
	_tb_leaf stranger ca "ec:$PKI/ca.pem" stranger "DNS:stranger" \
	    clientAuth

	# openssl 3.0 cannot back-date with req/x509, so use `ca -selfsign`.
	mkdir -p "$PKI/db"
	: >"$PKI/db/index.txt"
	echo 1000 >"$PKI/db/serial"
	cat >"$PKI/db/ca.cnf" <<EOF
[ca]
default_ca = tb
[tb]
database = $PKI/db/index.txt
new_certs_dir = $PKI/db
serial = $PKI/db/serial
default_md = sha256
policy = pol
unique_subject = no
copy_extensions = copy
[pol]
commonName = supplied
EOF
	# shellcheck disable=SC2086
	_tb_ossl req -new -newkey $_tb_ec -nodes -keyout "$PKI/expired.key" \
	    -out "$PKI/expired.csr" -subj "/CN=expired.test" \
	    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1"
	_tb_ossl ca -batch -config "$PKI/db/ca.cnf" -selfsign \
	    -keyfile "$PKI/expired.key" -in "$PKI/expired.csr" \
	    -out "$PKI/expired.pem" -notext \
	    -startdate 20200101000000Z -enddate 20200201000000Z
	tbutil pin "$PKI/legacy.pem" >"$PKI/legacy.pin"
	tbutil pin "$PKI/expired.pem" >"$PKI/expired.pin"
	tbutil pin "$PKI/other.pem" >"$PKI/wrong.pin"
	: >"$PKI/done"
}

# make_server_cert NAME CN SAN: one more server certificate from the test CA
# ($PKI/NAME.pem, NAME.key, NAME-full.pem), e.g. a second one for
# broker.test to swap in on a reload.  SAN as for openssl: "DNS:a,IP:b".
make_server_cert()
{
	make_pki
	[ -f "$PKI/$1.pem" ] && return 0
	_tb_leaf "$1" ca "ec:$PKI/ca.pem" "$2" "$3" serverAuth
}

# need_dhparam: $PKI/dh1024.pem, only for tests that start a DHE endpoint.
need_dhparam()
{
	make_pki
	[ -f "$PKI/dh1024.pem" ] && return 0
	_tb_ossl genpkey -genparam -algorithm DH \
	    -pkeyopt dh_paramgen_prime_len:1024 -out "$PKI/dh1024.pem"
}

# ---- broker -------------------------------------------------------------------

need_broker()
{
	[ -n "${TLSBROKER:-}" ] || hard_error "TLSBROKER is not set"
	[ -x "$TLSBROKER" ] || hard_error "TLSBROKER=$TLSBROKER is not executable"
}

# start_broker CONF: run "$TLSBROKER -c CONF" in the background, stderr to
# its own log, and wait (bounded) for the "ready:" line.  Sets BROKER_PID and
# BROKER_LOG.
start_broker()
{
	need_broker
	TB_STARTS=$((TB_STARTS + 1))
	BROKER_LOG="$TB_TMP/broker.$TB_STARTS.log"
	"$TLSBROKER" -c "$1" </dev/null >"$BROKER_LOG.out" 2>"$BROKER_LOG" &
	BROKER_PID=$!
	track "$BROKER_PID" "$1" "$BROKER_LOG" "$BROKER_LOG.out" "$AUDIT"
	TB_BROKER_LOGS="$TB_BROKER_LOGS $BROKER_LOG"
	_tb_out=$(tbutil waitgrep "$BROKER_LOG" "ready:" --timeout 10 \
	    --pid "$BROKER_PID") || fail "broker not ready: $_tb_out"
	[ "$(grep -c 'ready:' "$BROKER_LOG")" = 1 ] ||
	    fail "broker logged more than one ready: line"
}

# stop_broker [SECONDS]: SIGTERM, wait up to SECONDS (10) for the exit, which
# must be status 0 with no sanitizer report.
stop_broker()
{
	[ -n "$BROKER_PID" ] || hard_error "stop_broker: no broker running"
	kill -TERM "$BROKER_PID" || fail "broker $BROKER_PID already gone"
	wait_exit "$BROKER_PID" "${1:-10}" ||
	    fail "broker did not exit within ${1:-10}s of SIGTERM"
	untrack "$BROKER_PID"
	BROKER_PID=""
	assert_eq 0 "$WAIT_RC" "broker exit status after SIGTERM"
	! _tb_sanitizer_errors || fail "sanitizer report (see $BROKER_LOG)"
}

# broker_check CONF: `tlsbroker -t -c CONF`; sets CHECK_RC, CHECK_OUT,
# CHECK_ERR (files).
broker_check()
{
	need_broker
	CHECK_OUT="$TB_TMP/check.out"
	CHECK_ERR="$TB_TMP/check.err"
	CHECK_RC=0
	timeout 30 "$TLSBROKER" -t -c "$1" </dev/null >"$CHECK_OUT" \
	    2>"$CHECK_ERR" || CHECK_RC=$?
	TB_BROKER_LOGS="$TB_BROKER_LOGS $CHECK_ERR"
	TB_LOGS="$TB_LOGS $CHECK_OUT $CHECK_ERR"
}

# wait_until SECONDS WHAT CONDITION: until the shell CONDITION (eval'd,
# asked every 50 ms) is true; fails "WHAT" after SECONDS.  A readiness
# wait: it asks the thing waited for, it does not sleep out a guess.
wait_until()
{
	_tb_until=$(($(now_ms) + $1 * 1000))
	until eval "$3"; do
		[ "$(now_ms)" -lt "$_tb_until" ] || fail "$2"
		sleep 0.05
	done
}

# wait_file PATH [SECONDS]: until PATH exists.
wait_file()
{
	_tb_end=$(($(now_ms) + ${2:-10} * 1000))
	while [ ! -e "$1" ]; do
		[ "$(now_ms)" -lt "$_tb_end" ] ||
		    fail "$1 did not appear within ${2:-10}s"
		sleep 0.05
	done
}

# ---- configs --------------------------------------------------------------------

# _tb_keys KEY=VALUE... [-- ...]: one "KEY = VALUE" line each, in order, up
# to a "--" (a VALUE may hold blanks and '=').
_tb_keys()
{
	for _tb_kv in "$@"; do
		[ "$_tb_kv" != -- ] || break
		printf '%s = %s\n' "${_tb_kv%%=*}" "${_tb_kv#*=}"
	done
}

# ini_broker [KEY=VALUE...] [-- ...]: the [broker] section: audit_log =
# $AUDIT unless an argument sets audit_log, then every KEY = VALUE (up to a
# "--").
ini_broker()
{
	printf '[broker]\n'
	case " $* " in
	*" audit_log="*) ;;
	*) printf 'audit_log = %s\n' "$AUDIT" ;;
	esac
	_tb_keys "$@"
}

# ini_listener NAME BIND [KEY=VALUE...]: a [listener NAME] section after a
# blank line.  BIND is a port on 127.0.0.1 or a whole "ADDR:PORT"; cert and
# key are the test's broker.test pair unless an argument sets cert (then
# key comes only from the arguments, as with a "-full.pem").
ini_listener()
{
	case $2 in
	*:*) printf '\n[listener %s]\nbind = %s\n' "$1" "$2" ;;
	*) printf '\n[listener %s]\nbind = 127.0.0.1:%s\n' "$1" "$2" ;;
	esac
	shift 2
	case " $* " in
	*" cert="*) ;;
	*) printf 'cert = %s\nkey = %s\n' "$PKI/broker.pem" "$PKI/broker.key" ;;
	esac
	_tb_keys "$@"
}

# ini_preamble BIND [BROKER_KEY=VALUE...] [-- LISTENER_KEY=VALUE...]: what
# almost every test's ini starts with: ini_broker with the first keys, then
# [listener erp] on BIND (see ini_listener) with the keys after "--".
# Routes follow; a second listener is one more ini_listener.
ini_preamble()
{
	_tb_bind=$1
	shift
	ini_broker "$@"
	while [ $# -gt 0 ]; do
		_tb_a=$1
		shift
		[ "$_tb_a" != -- ] || break
	done
	ini_listener erp "$_tb_bind" "$@"
}

# ---- scenarios ------------------------------------------------------------------
#
# A scenario is one row of a table, the way relayd's regress args-*.pl hold
# one hash per case: the endpoint, the route to it, what the client does and
# the fields the record it leaves must have.  A row is six shell words (quote
# one that holds blanks; double-quoted words are expanded when the row is
# read, with $NAME the row's name, $HOST "$NAME.broker.test" and $PORT the
# endpoint's port set; single-quoted ones when they run):
#
#   NAME  ENDPOINT  ROUTE  CLIENT  EXPECT  [CHECK]
#
#   NAME      the route ([route NAME], matched by SNI or Host $HOST)
#   ENDPOINT  TYPE: start_ep_TYPE NAME on a fresh port (the test may define
#             its own start_ep_*); "-": a fresh port nothing listens on;
#             "=OTHER": the port of the row or endpoint OTHER
#   ROUTE     the route's keys, KEY=VALUE words without blanks; mode = tcp,
#             host = $HOST and upstream = 127.0.0.1:$PORT unless given.
#             "-": no [route] block from the row (the test writes it)
#   CLIENT    a command, run with the row's variables set; it may leave a
#             record file in SC_RECORD (a probe's report)
#   EXPECT    specs (key=value, key~regex, key!: see assert_audit; no
#             blanks) on SC_RECORD if the client set it, else on the next
#             audit record (expect_audit), which must also name the route
#             NAME; "-": no record
#   CHECK     optional: a command run last, for what no field says (a log
#             line, a duration: SC_MS is the client's run time in ms)
#
# A line that starts with a blank continues the row above; "#" lines and
# empty lines are skipped.  Tables are read from stdin:
#   scenario_prepare: starts each row's endpoint and appends its [route]
#   block to $SC_ROUTES (for the test's ini, after ini_preamble);
#   scenario_run: plays every row in table order against the running broker.
SC_ROUTES="$TB_TMP/scenario-routes.ini"
SC_N=0

# _sc_var NAME: NAME as a shell variable suffix.
_sc_var()
{
	printf '%s' "$1" | tr -c 'A-Za-z0-9_' _
}

# _sc_read LINE: splits a row into SC_NAME .. SC_CHECK, with NAME, HOST
# and PORT set for the expansion.
_sc_read()
{
	_sc_line=$1
	set -f
	# shellcheck disable=SC2086 # the first two words hold no quotes
	set -- $1
	set +f
	SC_NAME=$1
	SC_EP=$2
	NAME=$SC_NAME
	HOST=$NAME.broker.test
	eval "PORT=\${SC_PORT_$(_sc_var "$NAME"):-}"
	if [ -z "$PORT" ]; then
		case $SC_EP in
		=*)
			eval "PORT=\${SC_PORT_$(_sc_var "${SC_EP#=}"):-}"
			[ -n "$PORT" ] || PORT=$(ep_port "${SC_EP#=}")
			;;
		*) PORT=$(free_port) ;;
		esac
		[ -n "$PORT" ] || hard_error "scenario $NAME: no port for $SC_EP"
		eval "SC_PORT_$(_sc_var "$NAME")=$PORT"
	fi
	eval "set -- $_sc_line"
	if [ $# -lt 5 ] || [ $# -gt 6 ]; then
		hard_error "scenario row needs 5 or 6 words: $_sc_line"
	fi
	SC_ROUTE=$3
	SC_CLIENT=$4
	SC_EXPECT=$5
	SC_CHECK=${6:-}
}

# _sc_rows FILE FUNCTION: FUNCTION once per row of FILE.  A line that
# starts with a blank continues the row above.  (Stdin stays free for what
# the row runs.)
_sc_rows()
{
	_sc_row=""
	while IFS= read -r _sc_l <&3 || [ -n "$_sc_l" ]; do
		case $_sc_l in
		'#'*) continue ;;
		[' 	']*)
			[ -z "$_sc_row" ] || _sc_row="$_sc_row
$_sc_l"
			continue
			;;
		esac
		if [ -n "$_sc_row" ]; then
			_sc_read "$_sc_row"
			"$2"
		fi
		_sc_row=$_sc_l
	done 3<"$1"
	if [ -n "$_sc_row" ]; then
		_sc_read "$_sc_row"
		"$2"
	fi
}

# _sc_route: the row's [route] block.
_sc_route()
{
	printf '\n[route %s]\n' "$NAME"
	case " $SC_ROUTE " in *" mode="*) ;; *) printf 'mode = tcp\n' ;; esac
	case " $SC_ROUTE " in *" host="*) ;; *) printf 'host = %s\n' "$HOST" ;; esac
	case " $SC_ROUTE " in
	*" upstream="*) ;;
	*) printf 'upstream = 127.0.0.1:%s\n' "$PORT" ;;
	esac
	set -f
	# shellcheck disable=SC2086 # KEY=VALUE words
	_tb_keys $SC_ROUTE
	set +f
}

_sc_prepare_row()
{
	case $SC_EP in
	-)
		! port_listening "$PORT" ||
		    hard_error "scenario $NAME: port $PORT unexpectedly in use"
		;;
	=*) ;;
	*) "start_ep_$SC_EP" "$NAME" "$PORT" ;;
	esac
	[ "$SC_ROUTE" = - ] || _sc_route >>"$SC_ROUTES"
}

_sc_run_row()
{
	SC_RECORD=""
	_sc_t0=$(now_ms)
	eval "$SC_CLIENT"
	SC_MS=$(($(now_ms) - _sc_t0))
	if [ "$SC_EXPECT" != - ]; then
		set -f
		if [ -n "$SC_RECORD" ]; then
			# shellcheck disable=SC2086 # specs hold no blanks
			json_expect "$SC_RECORD" $SC_EXPECT
		else
			# shellcheck disable=SC2086
			expect_audit route="$NAME" $SC_EXPECT
		fi
		set +f
	fi
	[ -z "$SC_CHECK" ] || eval "$SC_CHECK"
	SC_N=$((SC_N + 1))
}

# scenario_prepare < TABLE / scenario_run < TABLE (see above).  Both read the
# same table; scenario_run counts the rows it played in SC_N, so a test can
# assert that none was skipped.
scenario_prepare()
{
	cat >"$TB_TMP/scenarios.prep"
	_sc_rows "$TB_TMP/scenarios.prep" _sc_prepare_row
}

scenario_run()
{
	SC_N=0
	cat >"$TB_TMP/scenarios.run"
	_sc_rows "$TB_TMP/scenarios.run" _sc_run_row
}

# scenario_count FILE: the rows of a table counted apart from the reader
# (a row starts at column 0; comments and continuations do not), for a
# test to check scenario_run played every row without a number to keep.
scenario_count()
{
	grep -c '^[^#[:space:]]' "$1"
}

# ---- audit log ----------------------------------------------------------------

# wait_audit N: until the audit file has at least N complete lines.
wait_audit()
{
	_tb_out=$(tbutil waitlines "$AUDIT" "$1" --timeout "${2:-10}" \
	    --pid "${BROKER_PID:-0}") || fail "wait_audit $1: $_tb_out"
}

# audit_field LINE FIELD: the field's value ("<absent>" if not there).
audit_field()
{
	jget "$(audit_line "$1")" "$2"
}

audit_line()
{
	sed -n "${1}p" "$AUDIT"
}

# assert_audit LINE key=value key~regex key! ...: check fields of one audit
# record (= exact, ~ Python regex search, ! absent); prints the record on
# mismatch.
assert_audit()
{
	_tb_out=$(tbutil audit "$AUDIT" "$@" --timeout 0) || fail "$_tb_out"
}

# expect_audit key=value ...: wait for the next audit record (AUDIT_N + 1)
# and check it.  Tests run their clients one at a time, so records arrive in
# order.
expect_audit()
{
	AUDIT_N=$((AUDIT_N + 1))
	_tb_out=$(tbutil audit "$AUDIT" "$AUDIT_N" "$@" --timeout 10 \
	    --pid "${BROKER_PID:-0}") || fail "$_tb_out"
}

# ---- assertions ---------------------------------------------------------------

assert_eq()
{
	[ "$1" = "$2" ] || fail "${3:-value}: expected '$1', got '$2'"
}

assert_contains()
{
	case $1 in
	*"$2"*) ;;
	*) fail "${3:-text}: '$2' not found in: $1" ;;
	esac
}

assert_not_contains()
{
	case $1 in
	*"$2"*) fail "${3:-text}: '$2' unexpectedly found in: $1" ;;
	*) ;;
	esac
}

# assert_audit_has LINE TEXT: the raw audit record contains TEXT (for
# details whose field is not fixed by the spec, e.g. an OpenSSL reason).
assert_audit_has()
{
	assert_contains "$(audit_line "$1")" "$2" "audit line $1"
}

# assert_file_line FILE LINE: FILE has LINE as one complete line.
assert_file_line()
{
	grep -F -x -q -- "$2" "$1" ||
	    fail "line not found in $1: '$2'; file has: $(cat "$1")"
}

# assert_no_spin PID WHAT: PID used under 10 % of one core over a 2 s
# window.  A spin detector, not a performance check: a spinning worker uses
# ~100 % of a core, an idle daemon next to nothing.
assert_no_spin()
{
	_tb_cpu=$(tbutil cpu "$1" --window 2) || hard_error "cpu of $1: $_tb_cpu"
	"$PYTHON" -c 'import sys; sys.exit(float(sys.argv[1]) >= 10)' \
	    "$_tb_cpu" || fail "$2: pid $1 used $_tb_cpu % of a core (spinning)"
}

# bug TEXT: a failed assertion that guards against a daemon bug the test
# once found (a "Regression:" comment says which): noted now, counted, and
# failed by bugs_check at the end, so the rest of the test still runs.
TB_BUGS=0
bug()
{
	printf '%s: DAEMON BUG: %s\n' "$TB_NAME" "$*" >&2
	TB_BUGS=$((TB_BUGS + 1))
}

# bugs_check: fail if bug was called.
bugs_check()
{
	[ "$TB_BUGS" = 0 ] || fail "$TB_BUGS assertion(s) exposing daemon bugs" \
	    "failed (the DAEMON BUG lines above)"
}

# ---- clients --------------------------------------------------------------------

# tlsc CMD [N] ARGS...: endpoints/tlsclient.py with the test CA; prints its
# JSON result.  client_ok / client_fail run it and require success/failure;
# the JSON ends up in CLIENT_OUT.
tlsc()
{
	make_pki
	"$PYTHON" -W ignore::DeprecationWarning "$TB_EP/tlsclient.py" \
	    --ca "$PKI/ca.pem" "$@"
}

# tlsc_bg NAME CMD ARGS...: tlsc in the background, output in
# $TB_TMP/client-NAME.out; sets CLIENT_PID (tracked, stopped at exit).
tlsc_bg()
{
	make_pki
	_tb_cn=$1
	shift
	"$PYTHON" -W ignore::DeprecationWarning "$TB_EP/tlsclient.py" \
	    --ca "$PKI/ca.pem" "$@" </dev/null >"$TB_TMP/client-$_tb_cn.out" 2>&1 &
	CLIENT_PID=$!
	track "$CLIENT_PID" "$TB_TMP/client-$_tb_cn.out"
}

client_ok()
{
	CLIENT_OUT=$(tlsc "$@" 2>&1) || fail "client $*: $CLIENT_OUT"
}

client_fail()
{
	if CLIENT_OUT=$(tlsc "$@" 2>&1); then
		fail "client $* unexpectedly succeeded: $CLIENT_OUT"
	fi
}

# s_client_get PORT ARGS...: send "GET / HTTP/1.0" with `openssl s_client
# -ign_eof` (reads until the server closes); stdout+stderr in SC_OUT, exit
# status in SC_RC.
s_client_get()
{
	_tb_p=$1
	shift
	SC_RC=0
	SC_OUT=$(printf 'GET / HTTP/1.0\r\n\r\n' | timeout 20 openssl s_client \
	    -connect "127.0.0.1:$_tb_p" -ign_eof "$@" 2>&1) || SC_RC=$?
}

# curl_get URL ARGS...: curl with the test CA; body in CURL_OUT, stderr in
# CURL_ERR, exit status in CURL_RC.
curl_get()
{
	need_cmd curl
	make_pki
	_tb_u=$1
	shift
	CURL_RC=0
	CURL_OUT=$(timeout 30 curl -sS --cacert "$PKI/ca.pem" "$@" "$_tb_u" \
	    2>"$TB_TMP/curl.err") || CURL_RC=$?
	CURL_ERR=$(cat "$TB_TMP/curl.err")
}

# route_get ROUTE PATH [CURL ARGS]: one request to https://ROUTE.broker.test
# on the broker's port $BP, on a new connection; fails if curl does; sets
# CODE (the status) and HDR (the response head file) besides curl_get's
# CURL_*.
route_get()
{
	_tb_h=$1
	_tb_path=$2
	shift 2
	curl_get "https://$_tb_h.broker.test:$BP$_tb_path" \
	    --resolve "$_tb_h.broker.test:$BP:127.0.0.1" -D "$TB_TMP/get.hdr" \
	    -w '\n@@ %{http_code}' "$@"
	[ "$CURL_RC" = 0 ] || fail "curl $_tb_h$_tb_path: $CURL_ERR"
	CODE=${CURL_OUT##*@@ }
	HDR="$TB_TMP/get.hdr"
}

# audit_count FIRST LAST SPEC...: how many audit records FIRST..LAST (line
# numbers) match every SPEC: key=value, key~regex (search), key! (absent).
audit_count()
{
	tbutil auditcount "$AUDIT" "$@"
}

# httpc CMD ARGS...: endpoints/httpclient.py (seq, load, raw) with the test
# CA; prints its JSON (see there).  --port and --host are the caller's.
httpc()
{
	make_pki
	_tb_cmd=$1
	shift
	"$PYTHON" "$TB_EP/httpclient.py" "$_tb_cmd" --ca "$PKI/ca.pem" "$@"
}

# jget JSON WHAT: the one JSON getter.  JSON is text: one JSON value (a
# probe report), or lines whose last non-empty one is the object (a helper's
# result).  WHAT is a path of keys joined by '/' ("received",
# "versions/1.0/accepted", "chain/0/subject") or a Python expression on d,
# with hdr(NAME[, OBJ]) the values of header NAME in OBJ["headers"] (a list
# of [name, value]; default d) joined by "|", and body() the JSON object in
# d["body"] (an endpoint's echo).  Prints the value: true/false, null,
# nested values as JSON, "<absent>" for a missing key.
jget()
{
	printf '%s\n' "$1" | tbutil jget "$2"
}

# json_expect FILE SPEC...: the JSON in FILE (as jget reads it) has every
# SPEC (key=value, key~regex, key! as for assert_audit; a key may be a
# path); fails with the mismatches otherwise.
json_expect()
{
	_tb_out=$(tbutil expect "$@") || fail "$_tb_out"
}

# ---- sd_notify --------------------------------------------------------------------

# start_notify_socket [PORTS]: a recorder for sd_notify datagrams
# (endpoints/notifysock.py) bound at $TB_TMP/notify.sock and exported as
# NOTIFY_SOCKET; it writes one JSON object per datagram to $NOTIFY_LOG.
# PORTS (comma-separated) are checked for a listening socket the moment a
# READY=1 datagram arrives.  Sets NOTIFY_PID (tracked).
start_notify_socket()
{
	NOTIFY_LOG="$TB_TMP/notify.jsonl"
	_tb_ns="$TB_TMP/notify.sock"
	# sun_path holds 107 bytes and a NUL
	[ "${#_tb_ns}" -lt 108 ] ||
	    skip "temp dir too long for an AF_UNIX socket path: $_tb_ns"
	"$PYTHON" -u "$TB_EP/notifysock.py" listen "$_tb_ns" "$NOTIFY_LOG" \
	    --ports "${1:-}" </dev/null >"$TB_TMP/notifysock.log" 2>&1 &
	NOTIFY_PID=$!
	track "$NOTIFY_PID" "$NOTIFY_LOG" "$TB_TMP/notifysock.log"
	_tb_end=$(($(now_ms) + 10000))
	while [ ! -S "$_tb_ns" ]; do
		_tb_alive "$NOTIFY_PID" ||
		    hard_error "notify socket recorder died: $(cat "$TB_TMP/notifysock.log")"
		[ "$(now_ms)" -lt "$_tb_end" ] ||
		    hard_error "notify socket $_tb_ns did not appear"
		sleep 0.05
	done
	NOTIFY_SOCKET=$_tb_ns
	export NOTIFY_SOCKET
}

# notify ARGS...: endpoints/notifysock.py ARGS on $NOTIFY_LOG (see there):
#   notify count KEY=VALUE | notify last | notify show [--after N]
#   [--no-watchdog] [--field F] | notify gaps [--after N] [--before N]
notify()
{
	_tb_nc=$1
	shift
	"$PYTHON" "$TB_EP/notifysock.py" "$_tb_nc" "$NOTIFY_LOG" "$@"
}

# wait_notify KEY=VALUE N [SECONDS]: until N datagrams carry KEY=VALUE
# (bounded; fails at once if the broker exited first).
wait_notify()
{
	_tb_out=$(notify wait "$1" "$2" --timeout "${3:-10}" \
	    --pid "${BROKER_PID:-0}") || fail "wait_notify $1 $2: $_tb_out"
}

# shellcheck source=endpoints/endpoints.sh
. "$TB_EP/endpoints.sh"
