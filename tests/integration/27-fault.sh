#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The fault figures, bounded (tests/fault/run --quick, about 30 s): the real
# daemon with two workers in front of nginx at TLS 1.0 (or a plain Python
# endpoint) under 1,000 concurrent connections, descriptor exhaustion and
# recovery, 20 reloads under load, kill -9 under load, and a full disk for
# the audit log (a tmpfs: only as root, else that scenario is skipped).  It
# fails on a crash, a sanitizer report, a spin once the load is gone, an
# audit line that is not whole JSON, or a failed call the audit does not
# account for.  The full figures: `make fault` (10,000 connections).
#
# First, what those figures rest on: the listening socket the workers
# share keeps the broker's listen backlog (1024 a worker: 2048 with two),
# before and after a reload.
# Regression: libevent's evconnlistener_new(..., -1, fd) called listen(fd,
# 128) again, so a burst or a pause on EMFILE overflowed the accept queue
# and the kernel dropped connections the broker never saw (or audited).

. "$(dirname "$0")/lib.sh"

need_broker
need_cmd ss
make_pki

# backlogs PORT: the backlog (ss's Send-Q) of every socket listening on PORT.
backlogs()
{
	ss -Hltn "sport = :$1" | awk '{ print $3 }' | sort | tr '\n' ' '
}

BP=$(free_port)
{
	ini_preamble "$BP" workers=2 log_level=notice -- \
	    "cert=$PKI/broker-full.pem"
	cat <<EOF
[route r]
mode = tcp
upstream = 127.0.0.1:9
upstream_tls = off
EOF
} >"$TB_TMP/broker.ini"
start_broker "$TB_TMP/broker.ini"
assert_eq "2048 " "$(backlogs "$BP")" "listen backlog of the socket two workers share"
kill -HUP "$BROKER_PID"
_out=$(tbutil waitgrep "$BROKER_LOG" "reload 1 done" --timeout 10 \
    --pid "$BROKER_PID") || fail "reload: $_out"
assert_eq "2048 " "$(backlogs "$BP")" "listen backlog after a reload"
stop_broker
note "listen backlog 2048 on the shared socket, before and after a reload"

# ---- the fault run ------------------------------------------------------------

_rc=0
timeout -k 10 300 "$PYTHON" "$TB_SRC/../fault/run" --quick --broker "$TLSBROKER" \
    --json "$TB_TMP/fault.json" >"$TB_TMP/fault.out" 2>&1 || _rc=$?
TB_LOGS="$TB_LOGS $TB_TMP/fault.out"
sed -n '/^    scenario/,$p' "$TB_TMP/fault.out"
case $_rc in
0) ;;
124 | 137) fail "tests/fault/run did not finish within 300 s" ;;
*) fail "tests/fault/run: exit $_rc" ;;
esac
