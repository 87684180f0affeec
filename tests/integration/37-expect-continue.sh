#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Expect: 100-continue as the ERP's .NET client does it (ErpClient fx: the
# head, a wait for a 100 or a final answer, then the body; here with a
# long wait so that nothing depends on time): a route learns whether its
# endpoint answers 100.  An endpoint that ignores Expect gets the broker's
# own 100 after the 1 s wait once, then at once, before any upstream work:
# the proof is an endpoint that cannot even be connected to, for which the
# client still gets its 100 (and then a 504), where the old behaviour gave
# it no 100 at all.  An endpoint that answers 100 is waited for, and nginx
# refusing a body too large with 413 before it is sent keeps doing so: no
# 100, no body sent.  HTTP/1.0 endpoints get the broker's 100 at once too.
# Mono's own HttpWebRequest and HttpClient calls get through unharmed, and
# the .NET wait (350 ms) is measured with and without Expect (printed, not
# asserted).

. "$(dirname "$0")/lib.sh"
. "$TB_SRC/../dotnet/dotnet.sh"

need_mono
make_pki
make_server_cert localhost localhost "DNS:localhost,IP:127.0.0.1"
mono_trust "$PKI/ca.pem"

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 6)
BP=$1 P_API=$2 P_APP=$3 P_OLD=$4 P_NGX=$5 P_SWAP=$6

start_httpd api "$P_API"		# ignores Expect
start_httpd app "$P_APP" --continue	# answers 100 before reading the body
start_httpd old "$P_OLD" --http10
start_httpd swap "$P_SWAP"		# ignores Expect; later nothing answers
start_nginx ngx "$P_NGX" 60s "location = /ngx/echo {
		echo_read_request_body;
		echo_request_body;
	}
	location = /ngx/small {
		client_max_body_size 1k;
		echo_read_request_body;
		echo_request_body;
	}"

# one worker: one pool per route, so what a route learned applies to the
# next request whatever connection it comes on
{
	ini_preamble "$BP" workers=1 -- "cert=$PKI/localhost-full.pem"
	cat <<EOF

[route api]
path = /api/
upstream = 127.0.0.1:$P_API
upstream_tls = off

[route app]
path = /app/
upstream = 127.0.0.1:$P_APP
upstream_tls = off

[route old]
path = /old/
upstream = 127.0.0.1:$P_OLD
upstream_tls = off

[route ngx]
path = /ngx/
upstream = 127.0.0.1:$P_NGX
upstream_tls = 1.0
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

[route swap]
path = /swap/
upstream = 127.0.0.1:$P_SWAP
upstream_tls = off
connect_timeout = 2s
EOF
} >"$TB_TMP/broker.ini"
start_broker "$TB_TMP/broker.ini"
U="https://localhost:$BP"
WAIT="--continue-timeout 20000"	# wait for the 100 as long as it takes

# fx_line N FIELD: FIELD of ErpClient fx's Nth call (0-based).
fx_line()
{
	jget "$(printf '%s\n' "$ERPC_OUT" | sed -n "$(($1 + 1))p")" "$2"
}

learned()
{
	grep -c "route=$1 worker=0: the endpoint $2 Expect: 100-continue" \
	    "$BROKER_LOG" || true
}

# ---- 1. an endpoint that ignores Expect: learned once, then 100 at once ------

erpc_ok fx "$U/api/soap" --count 3 $WAIT --check sha256
for _i in 0 1 2; do
	assert_eq true "$(fx_line $_i got_continue)" "api call $_i got a 100"
	assert_eq true "$(fx_line $_i body_sent)" "api call $_i sent its body"
done
assert_eq 1 "$(learned api ignores)" "the broker learned that api ignores Expect"
note "api: 100 after $(fx_line 0 continue_ms) ms (learning), then after" \
    "$(fx_line 1 continue_ms) and $(fx_line 2 continue_ms) ms"
assert_eq 3 "$(grep -c ' POST /api/soap len=2048 .* expect=100-continue' "$(ep_log api)")" \
    "api got each body whole, Expect still forwarded"

# At once means before any upstream work: once swap has learned, its
# endpoint is replaced by one that never completes a connect.  The client
# still gets its 100 (then the connect's 504); a broker that asked the
# endpoint first would have sent none.
erpc_ok fx "$U/swap/soap" --count 1 $WAIT --check sha256
assert_eq 1 "$(learned swap ignores)" "the broker learned that swap ignores Expect"
stop_ep swap
start_ep_synfull swap2 "$P_SWAP"
erpc_ok fx "$U/swap/soap" --count 1 $WAIT --want 504
assert_eq true "$(fx_line 0 got_continue)" \
    "the broker's own 100 came while no upstream connection existed"
assert_eq upstream_connect_timeout "$(fx_line 0 broker_error)" "then the connect's 504"

# ---- 2. an endpoint that answers 100 is asked and waited for ---------------------

erpc_ok fx "$U/app/soap" --count 2 $WAIT --check sha256
assert_eq true "$(fx_line 1 got_continue)" "app's 100 reached the client"
assert_eq 2 "$(grep -c ' req [0-9]*: sent 100 Continue' "$(ep_log app)")" \
    "app sent its own 100 for both calls"
assert_eq 1 "$(learned app answers)" "the broker learned that app answers 100"
assert_eq 0 "$(learned app ignores)" "app was never taken for one that ignores Expect"

# nginx answers 100 for a body it reads, and refuses one above
# client_max_body_size with 413 before it is sent: that stays so.
erpc_ok fx "$U/ngx/echo" --count 1 $WAIT --size 3000 --check echo
assert_eq 1 "$(learned ngx answers)" "the broker learned that nginx answers 100"
for _i in 1 2; do
	erpc_ok fx "$U/ngx/small" --count 1 $WAIT --size 4096 --want 413
	assert_eq false "$(fx_line 0 got_continue)" "413 refusal $_i: no 100"
	assert_eq false "$(fx_line 0 body_sent)" "413 refusal $_i: the body was never sent"
done
assert_eq 0 "$(learned ngx ignores)" "nginx was never taken for one that ignores Expect"

# ---- 3. HTTP/1.0 endpoints: the broker's 100 once the version is known ----------

erpc_ok fx "$U/old/soap" --count 3 $WAIT --check sha256
assert_eq true "$(fx_line 2 got_continue)" "old: a 100 from the broker"
note "old (HTTP/1.0): 100 after $(fx_line 0 continue_ms), $(fx_line 1 continue_ms)," \
    "$(fx_line 2 continue_ms) ms"

# ---- 4. Mono's own clients, and the .NET wait measured -----------------------------

erpc_ok soap "$U/api/soap" --count 4 --threads 2 --check sha256
erpc_ok httpclient "$U/api/soap" --count 2 --check sha256
# .NET's ContinueTimeout is 350 ms: with Expect, against an endpoint that
# ignores it, each call would wait that long unless the broker answers.
erpc_ok fx "$U/api/soap" --count 21 --check sha256
_with=$(erpc_last median_ms)
erpc_ok fx "$U/api/soap" --count 21 --check sha256 --no-expect
_without=$(erpc_last median_ms)
note "median POST latency, endpoint ignoring Expect, .NET's 350 ms wait:" \
    "${_with} ms with Expect, ${_without} ms without"

stop_broker
