#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The daemon under faults.  Each worker's accept socket keeps the
# broker's listen backlog (1024), before and after a reload.
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
cat >"$TB_TMP/broker.ini" <<EOF
[broker]
workers = 2
audit_log = $AUDIT
log_level = notice
[listener erp]
bind = 127.0.0.1:$BP
cert = $PKI/broker-full.pem
[route r]
mode = tcp
upstream = 127.0.0.1:9
upstream_tls = off
EOF
start_broker "$TB_TMP/broker.ini"
assert_eq "1024 1024 " "$(backlogs "$BP")" "listen backlogs of the two workers"
kill -HUP "$BROKER_PID"
_out=$(tbutil waitgrep "$BROKER_LOG" "reload 1 done" --timeout 10 \
    --pid "$BROKER_PID") || fail "reload: $_out"
assert_eq "1024 1024 " "$(backlogs "$BP")" "listen backlogs after a reload"
stop_broker
note "listen backlog 1024 on both workers, before and after a reload"

