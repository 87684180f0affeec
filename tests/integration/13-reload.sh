#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Reload under load.  A client (endpoints/httpload.py: two threads opening
# a connection per request, one reusing a keep-alive connection) requests
# two http routes that exist throughout while 20 SIGHUP reloads change the
# configuration under it:
#   - the listener's certificate swaps between two certificates for
#     broker.test from the test CA (CN broker.test / CN broker2.test);
#   - route "moved" serves /v1/ or /v2/ (a changed path);
#   - route "extra" (/extra/) comes and goes;
#   - route "keep" (/keep/) alternates its upstream between two endpoints;
#   - listener "side" on a port of its own is added by reload 5 and removed
#     by reload 13;
# plus three broken reloads in between (a syntax error, a missing
# certificate, a new listener on a port that is taken), after each of which
# the previous generation must keep serving.  Every request of the load
# must get a 200.  After each good reload a fresh connection must see the
# new routes, upstream and certificate; at the end openssl s_client must
# show the new certificate's subject.  Also, a request sent after a reload
# on a keep-alive connection opened before it must get the new routes (or
# find that connection closed): new requests use the new generation.  Once the load stops, each worker must have freed the upstream
# pools of all 20 older configurations.

. "$(dirname "$0")/lib.sh"

need_cmd curl
make_pki
make_server_cert broker2 broker2.test "DNS:broker.test,DNS:*.broker.test,IP:127.0.0.1"

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 5)
BP=$1 SP=$2 P_A=$3 P_B=$4 P_TAKEN=$5

start_httpd A "$P_A"
start_httpd B "$P_B"
# a port something else holds, for the reload whose bind must fail
start_ep_hash taken "$P_TAKEN"

# write_ini CERT MOVED EXTRA KEEP SIDE [broken-syntax|broken-cert|taken]
#   CERT  broker | broker2       MOVED  v1 | v2      EXTRA  yes | no
#   KEEP  A | B (upstream of /keep/)                 SIDE   yes | no
write_ini()
{
	_cert=$PKI/$1.pem
	_key=$PKI/$1.key
	[ "${6:-}" != broken-cert ] || _cert=$TB_TMP/no-such-cert.pem
	{
		ini_preamble "$BP" workers=2 drain_timeout=5s log_level=info \
		    -- "cert=$_cert" "key=$_key"
		[ "$5" = no ] || ini_listener side "$SP"
		[ "$5" = no ] || cat <<EOF

[route side]
listener = side
mode = http
path = /side/
upstream = 127.0.0.1:$P_A
upstream_tls = off
EOF
		[ "${6:-}" != taken ] || ini_listener taken "$P_TAKEN"
		[ "${6:-}" != taken ] || cat <<EOF

[route taken]
listener = taken
mode = tcp
upstream = 127.0.0.1:$P_A
upstream_tls = off
EOF
		cat <<EOF

[route stable]
listener = erp
mode = http
path = /stable/
upstream = 127.0.0.1:$P_A
upstream_tls = off

[route keep]
listener = erp
mode = http
path = /keep/
upstream = 127.0.0.1:$(if [ "$4" = A ]; then echo "$P_A"; else echo "$P_B"; fi)
upstream_tls = off

[route moved]
listener = erp
mode = http
path = /$2/
upstream = 127.0.0.1:$P_B
upstream_tls = off
EOF
		[ "$3" = no ] || cat <<EOF

[route extra]
listener = erp
mode = http
path = /extra/
upstream = 127.0.0.1:$P_B
upstream_tls = off
EOF
		[ "${6:-}" != broken-syntax ] || printf '\n[route broken\nmode = http\n'
	} >"$TB_TMP/broker.ini.new"
	mv "$TB_TMP/broker.ini.new" "$TB_TMP/broker.ini"
}

# probe PORT PATH...: one fresh connection; PROBE has "cert CN" and then
# "PATH STATUS X-NAME" per path, space-separated on one line.
probe()
{
	_pp=$1
	shift
	PROBE=$("$PYTHON" "$TB_EP/httpload.py" probe --port "$_pp" \
	    --ca "$PKI/ca.pem" "$@" 2>&1 | tr '\n' ' ') ||
	    fail "probe $*: $PROBE"
	PROBE=" ${PROBE}"
}

# expect_gen CERT MOVED EXTRA KEEP: a fresh connection sees that generation.
expect_gen()
{
	_other=v1
	[ "$2" != v1 ] || _other=v2
	_ex=404
	_exn=-
	if [ "$3" = yes ]; then
		_ex=200
		_exn=B
	fi
	_cn=broker.test
	[ "$1" = broker ] || _cn=broker2.test
	probe "$BP" /stable/s "/$2/m" "/$_other/m" /extra/e /keep/k
	for _want in "cert $_cn " " /stable/s 200 A " " /$2/m 200 B " \
	    " /$_other/m 404 - " " /extra/e $_ex $_exn " " /keep/k 200 $4 "; do
		assert_contains "$PROBE" "$_want" "reload $RELOAD_N: new connection"
	done
}

RELOAD_N=0	# good reloads so far (the broker's own count)

# reload_ok CERT MOVED EXTRA KEEP SIDE: write, SIGHUP, wait for the switch.
reload_ok()
{
	write_ini "$@"
	RELOAD_N=$((RELOAD_N + 1))
	kill -HUP "$BROKER_PID"
	_out=$(tbutil waitgrep "$BROKER_LOG" "reload $RELOAD_N done" \
	    --timeout 10 --pid "$BROKER_PID") || fail "reload $RELOAD_N: $_out"
	expect_gen "$1" "$2" "$3" "$4"
}

BAD_N=0
# reload_bad KIND CERT MOVED EXTRA KEEP SIDE: the previous good generation
# (CERT...) broken as KIND says; the reload must fail and leave that
# generation serving.
reload_bad()
{
	_kind=$1
	shift
	write_ini "$1" "$2" "$3" "$4" "$5" "$_kind"
	BAD_N=$((BAD_N + 1))
	kill -HUP "$BROKER_PID"
	_end=$(($(now_ms) + 10000))
	while [ "$(grep -c 'the previous configuration keeps running' \
	    "$BROKER_LOG")" -lt "$BAD_N" ]; do
		_tb_alive "$BROKER_PID" || fail "broker died on a bad reload"
		[ "$(now_ms)" -lt "$_end" ] ||
		    fail "bad reload ($_kind) not reported as failed within 10s"
		sleep 0.05
	done
	expect_gen "$@"
}

# hold_start: a keep-alive connection that asks /keep/ once before the
# reload and once after it (hold_check).
hold_start()
{
	rm -f "$TB_TMP/hold.ready" "$TB_TMP/hold.go"
	"$PYTHON" "$TB_EP/httpload.py" probe --port "$BP" --ca "$PKI/ca.pem" \
	    --ready-file "$TB_TMP/hold.ready" --go-file "$TB_TMP/hold.go" \
	    /keep/h WAIT /keep/h </dev/null >"$TB_TMP/hold.out" 2>&1 &
	HOLD_PID=$!
	track "$HOLD_PID" "$TB_TMP/hold.out"
	_end=$(($(now_ms) + 10000))
	while [ ! -e "$TB_TMP/hold.ready" ]; do
		_tb_alive "$HOLD_PID" || fail "held probe: $(cat "$TB_TMP/hold.out")"
		[ "$(now_ms)" -lt "$_end" ] || fail "held probe did not start"
		sleep 0.05
	done
}

# hold_check KEEP: the request made after the reload went to the new
# upstream of /keep/ (on the old connection or, if the broker closed it, a
# new one), not to the one the removed generation named.
hold_check()
{
	: >"$TB_TMP/hold.go"
	wait_exit "$HOLD_PID" 20 || fail "held probe did not finish"
	untrack "$HOLD_PID"
	_hold=$(tr '\n' ' ' <"$TB_TMP/hold.out")
	note "keep-alive connection across reload $RELOAD_N: $_hold"
	_second=$(grep '^/keep/h ' "$TB_TMP/hold.out" | sed -n 2p)
	# Regression: an http session used to keep the generation it was
	# accepted on for every later request, so a keep-alive connection
	# never saw a reload (fixed by hc_follow_reload in http_conn.c).
	case $_second in
	"/keep/h 200 $1 c"*) ;;
	"/keep/h 200 "*" c1") bug "a request sent after reload" \
	    "$RELOAD_N on a keep-alive connection opened before it went to the" \
	    "upstream of the previous generation (expected X-Name $1, the new" \
	    "upstream of /keep/, or that connection closed): $_hold" ;;
	*) fail "held keep-alive connection: $_hold" ;;
	esac
}

write_ini broker v1 no A no
start_broker "$TB_TMP/broker.ini"
expect_gen broker v1 no A
! port_listening "$SP" || fail "side port $SP listening before reload 5"

# ---- the load ----------------------------------------------------------------

"$PYTHON" "$TB_EP/httpload.py" load --port "$BP" --ca "$PKI/ca.pem" \
    --paths /stable/a,/keep/b --stop-file "$TB_TMP/load.stop" \
    --out "$TB_TMP/load.json" --max-seconds 45 --fresh 2 --keepalive 1 \
    </dev/null >"$TB_TMP/load.log" 2>&1 &
LOAD_PID=$!
track "$LOAD_PID" "$TB_TMP/load.log" "$TB_TMP/load.json"
# the load is running once both endpoints answered through the broker
for _ep in A B; do
	_out=$(tbutil waitgrep "$(ep_log "$_ep")" " req 1 GET " --timeout 10 \
	    --pid "$LOAD_PID") || fail "load did not start: $_out"
done

# ---- 20 good reloads, 3 bad ones ---------------------------------------------------

_i=1
while [ "$_i" -le 20 ]; do
	G_CERT=broker
	case $((_i % 4)) in
	0|1) G_CERT=broker2 ;;
	esac
	G_MOVED=v1
	[ $((_i % 2)) = 1 ] || G_MOVED=v2
	G_EXTRA=no
	[ $((_i % 3)) != 0 ] || G_EXTRA=yes
	G_KEEP=A
	[ $((_i % 2)) = 0 ] || G_KEEP=B
	G_SIDE=no
	[ "$_i" -lt 5 ] || [ "$_i" -gt 12 ] || G_SIDE=yes
	[ "$_i" != 2 ] || hold_start
	reload_ok "$G_CERT" "$G_MOVED" "$G_EXTRA" "$G_KEEP" "$G_SIDE"
	[ "$_i" != 2 ] || hold_check "$G_KEEP"
	LAST="$G_CERT $G_MOVED $G_EXTRA $G_KEEP $G_SIDE"
	case $_i in
	5)
		wait_for_port "$SP" "$BROKER_PID"
		probe "$SP" /side/x
		assert_contains "$PROBE" " /side/x 200 A " "listener added by reload 5"
		;;
	13)
		wait_port_closed "$SP" 5
		probe_rc=0
		"$PYTHON" "$TB_EP/httpload.py" probe --port "$SP" \
		    --ca "$PKI/ca.pem" /side/x >/dev/null 2>&1 || probe_rc=$?
		[ "$probe_rc" != 0 ] ||
		    fail "listener removed by reload 13 still answers"
		;;
	6)
		# shellcheck disable=SC2086 # one word per setting
		reload_bad broken-syntax $LAST
		;;
	11)
		# shellcheck disable=SC2086
		reload_bad broken-cert $LAST
		;;
	16)
		# shellcheck disable=SC2086
		reload_bad taken $LAST
		port_listening "$P_TAKEN" || fail "the taken port's owner lost it"
		;;
	esac
	_i=$((_i + 1))
done

: >"$TB_TMP/load.stop"
wait_exit "$LOAD_PID" 30 || fail "load client did not stop within 30s"
untrack "$LOAD_PID"
LOAD_RC=$WAIT_RC
[ -f "$TB_TMP/load.json" ] || fail "load client wrote no summary: $(cat "$TB_TMP/load.log")"
LOAD=$(cat "$TB_TMP/load.json")
note "load: $LOAD"
assert_eq 0 "$(jget "$LOAD" failed)" "failed requests during the reloads"
assert_eq 0 "$LOAD_RC" "load client exit status"
[ "$(jget "$LOAD" requests)" -ge 100 ] ||
    fail "only $(jget "$LOAD" requests) requests made during 20 reloads"
assert_eq file "$(jget "$LOAD" stopped_by)" "how the load ended"
# both certificates and both /keep/ upstreams served the load
assert_contains "$LOAD" '"broker.test":' "certificates the load saw"
assert_contains "$LOAD" '"broker2.test":' "certificates the load saw"
assert_contains "$(jget "$LOAD" 'sorted(d["names"]["/keep/b"])')" '"A", "B"' \
    "upstreams of /keep/ the load saw"

# ---- after the last reload ----------------------------------------------------------

# reload 20: broker2, v2, no extra, keep A, no side listener
assert_eq "broker2 v2 no A no" "$LAST" "the last generation (test's own plan)"
SC_RC=0
SC_OUT=$(printf 'GET /v2/final HTTP/1.1\r\nHost: broker.test\r\nConnection: close\r\n\r\n' |
    timeout 20 openssl s_client -connect "127.0.0.1:$BP" \
    -servername broker.test -CAfile "$PKI/ca.pem" -verify_return_error \
    -ign_eof 2>&1) || SC_RC=$?
assert_eq 0 "$SC_RC" "openssl s_client exit status"
assert_contains "$SC_OUT" "subject=CN = broker2.test" "certificate after the last reload"
assert_contains "$SC_OUT" "HTTP/1.1 200" "/v2/ after the last reload"
assert_contains "$SC_OUT" "X-Name: B" "/v2/ after the last reload"
curl_get "https://broker.test:$BP/v1/final" --resolve "broker.test:$BP:127.0.0.1" \
    -o /dev/null -w '%{http_code}'
assert_eq 404 "$CURL_OUT" "/v1/ after the last reload"
curl_get "https://broker.test:$BP/extra/final" --resolve "broker.test:$BP:127.0.0.1" \
    -o /dev/null -w '%{http_code}'
assert_eq 404 "$CURL_OUT" "/extra/ after the last reload"
! port_listening "$SP" || fail "side listener back after the last reload"
grep -q "reload 20 done" "$BROKER_LOG" || fail "no 'reload 20 done' in the log"
assert_eq 3 "$(grep -c 'the previous configuration keeps running' "$BROKER_LOG")" \
    "failed reloads"

# Each worker frees an older configuration's upstream pools once its last
# connection of that configuration has ended (checked every second): 20
# reloads, 20 frees in each worker, now that the load has stopped.
_t0=$(now_ms)
for _w in 0 1; do
	while _n=$(grep -c "worker $_w: freed the upstream pools" "$BROKER_LOG");
	    [ "$_n" -lt 20 ]; do
		[ $(($(now_ms) - _t0)) -lt 10000 ] ||
		    fail "worker $_w freed the pools of $_n of 20 older configurations"
		sleep 0.1
	done
done
assert_eq 20 "$(grep -c "worker 0: freed the upstream pools" "$BROKER_LOG")" \
    "older configurations freed by worker 0"

stop_broker
tbutil jsoncheck "$AUDIT" || fail "audit log has lines that are not JSON"
bugs_check
