#!/bin/sh
# SPDX-License-Identifier: MIT
#
# http mode end to end with real clients (curl, python3's http.client) and
# real endpoints: nginx speaking only TLS 1.0 at security level 0, a plain
# HTTP/1.1 keep-alive server, an HTTP/1.0 server that closes after every
# response (endpoints/httpd.py).  Keep-alive series (one client connection,
# audit conn/req), GET/HEAD/POST, chunked uploads arriving intact (streamed
# to a route with upstream_chunked = yes, else held and sent with a
# Content-Length, as to the HTTP/1.0 endpoint), Expect: 100-continue (relayed
# fast; the broker's own 100 when the endpoint is silent), 204/304, header
# rewriting (hop-by-hop, X-Forwarded-*, Forwarded, upstream_host), routing
# by Host and longest path prefix, absolute-form targets and CONNECT never
# reaching anything but configured upstreams, and the audit record of
# every request.
# shellcheck disable=SC2086 # $CO: curl options, one word each, repeated
# after every --next

. "$(dirname "$0")/lib.sh"

need_cmd curl
make_pki

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 6)
BP=$1 P_APP=$2 P_API=$3 P_OLD=$4 P_NGX=$5 P_DFLT=$6

start_httpd app "$P_APP" --continue	# HTTP/1.1, sends 100 Continue
start_httpd api "$P_API"		# HTTP/1.1, ignores Expect
start_httpd old "$P_OLD" --http10	# HTTP/1.0, close-delimited, no chunked
start_httpd dflt "$P_DFLT"
start_nginx ngx "$P_NGX" 60s

{
	ini_preamble "$BP" workers=1 drain_timeout=2s
	cat <<EOF

; app reads chunked request bodies: they are streamed to it
[route app]
host = app.broker.test
upstream = 127.0.0.1:$P_APP
upstream_tls = off
upstream_chunked = yes

[route api]
host = app.broker.test
path = /api/
upstream = 127.0.0.1:$P_API
upstream_tls = off

; longest prefix wins over /api/
[route apiv2]
host = app.broker.test
path = /api/v2/
upstream = 127.0.0.1:$P_NGX
upstream_tls = 1.0
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

[route old]
host = old.broker.test
upstream = 127.0.0.1:$P_OLD
upstream_tls = off

; g-class: nginx, TLS 1.0 only, DEFAULT:@SECLEVEL=0 (level 0 is the route's
; default for a 1.0 floor)
[route ngx]
host = ngx.broker.test
upstream = 127.0.0.1:$P_NGX
upstream_tls = 1.0
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

[route rw]
host = rw.broker.test
upstream = 127.0.0.1:$P_APP
upstream_tls = off
upstream_host = legacy.internal:8080

[route nofwd]
host = nofwd.broker.test
upstream = 127.0.0.1:$P_APP
upstream_tls = off
forwarded = no

; the catch-all: any other Host (and absolute-form authority) lands here
[route dflt]
upstream = 127.0.0.1:$P_DFLT
upstream_tls = off
EOF
} >"$TB_TMP/broker.ini"

start_broker "$TB_TMP/broker.ini"

# ---- clients ------------------------------------------------------------------

# (curl drops line ends from a -w @file, but expands \n in it)
printf '%s' '\n@@ %{http_code} %{num_connects} %{size_download} %{time_total}\n' \
    >"$TB_TMP/curl.w"
CO="-sS --cacert $PKI/ca.pem -w @$TB_TMP/curl.w"
for _h in app old ngx rw nofwd; do
	CO="$CO --resolve $_h.broker.test:$BP:127.0.0.1"
done
A="https://app.broker.test:$BP"
O="https://old.broker.test:$BP"
N="https://ngx.broker.test:$BP"

# curl_run ARGS...: curl $CO ARGS; every segment after --next must repeat
# $CO.  Sets CURL_RC, CURL_OUT, CURL_ERR (texts), CODES (status of each
# transfer, blank-separated), CONNECTS (connections curl opened in all),
# TIMES (seconds each transfer took).
curl_run()
{
	CURL_RC=0
	timeout 30 curl $CO "$@" >"$TB_TMP/curl.out" 2>"$TB_TMP/curl.err" ||
	    CURL_RC=$?
	CURL_OUT=$(cat "$TB_TMP/curl.out")
	CURL_ERR=$(cat "$TB_TMP/curl.err")
	CODES=$(sed -n 's/^@@ \([0-9]*\) .*/\1/p' "$TB_TMP/curl.out" | xargs)
	CONNECTS=$(awk '/^@@ / { n += $3 } END { print n + 0 }' "$TB_TMP/curl.out")
	TIMES=$(sed -n 's/^@@ [0-9]* [0-9]* [0-9]* //p' "$TB_TMP/curl.out" | xargs)
}

# curl_ok WHAT CODES ARGS...: curl_run, which must exit 0 with these codes.
curl_ok()
{
	_what=$1
	_want=$2
	shift 2
	curl_run "$@"
	assert_eq 0 "$CURL_RC" "$_what: curl exit ($CURL_ERR)"
	assert_eq "$_want" "$CODES" "$_what: status codes"
}

# ep_last NAME FIELD: FIELD (len, sha256, te, cl, expect) of the last
# request line an httpd.py endpoint logged.
ep_last()
{
	grep ' req [0-9]* ' "$(ep_log "$1")" | grep -v ': ' | tail -n 1 |
	    tr ' ' '\n' | sed -n "s/^$2=//p"
}

# audit_conn_same N: the last N audit records share one client connection
# and number their requests 1..N.
audit_conn_same()
{
	_first=$((AUDIT_N - $1 + 1))
	_c=$(audit_field "$_first" conn)
	_i=$_first
	_r=1
	while [ "$_i" -le "$AUDIT_N" ]; do
		assert_eq "$_c" "$(audit_field "$_i" conn)" "audit conn of line $_i"
		assert_eq "$_r" "$(audit_field "$_i" req)" "audit req of line $_i"
		_i=$((_i + 1))
		_r=$((_r + 1))
	done
}

head -c 200000 /dev/urandom >"$TB_TMP/up.bin"
UP_SHA=$(sha256sum "$TB_TMP/up.bin" | cut -d' ' -f1)

# ---- 1. keep-alive series (curl --next): one client connection ----------------

# app: plain HTTP/1.1 keep-alive endpoint.  No part of the query reaches
# the audit log (21-http-log-secrets.sh has the rest).
curl_ok "app series" "200 200 200 200" "$A/a?token=secret&x=1" \
    --next $CO -I "$A/b" \
    --next $CO -d 'hello=world' "$A/c" \
    --next $CO "$A/d"
assert_eq 1 "$CONNECTS" "client connections of the app series"
expect_audit route=app method=GET path=/a status=200 \
    up_tls=plain up_reused=false close=ok upstream="127.0.0.1:$P_APP" \
    'ttfb_ms~^[0-9]+$' 'total_ms~^[0-9]+$' 'bytes_in~^[1-9]' 'bytes_out~^[1-9]'
expect_audit route=app method=HEAD path=/b status=200 up_reused=true close=ok
expect_audit route=app method=POST path=/c status=200 up_reused=true close=ok
expect_audit route=app method=GET path=/d status=200 up_reused=true close=ok
audit_conn_same 4
assert_eq 1 "$(ep_conns app)" "connections the app endpoint accepted"
grep -q ' req 3 POST /c len=11 ' "$(ep_log app)" ||
    fail "the app endpoint did not get the 11-byte POST body"
! grep -q secret "$AUDIT" || fail "a query value reached the audit log"

# old: the HTTP/1.0 endpoint closes after each response; the client keeps
# its connection (close-delimited bodies are re-chunked for it).
curl_ok "old series" "200 200 200 200" "$O/a" \
    --next $CO -I "$O/b" \
    --next $CO -d 'hello=world' "$O/c" \
    --next $CO "$O/d"
assert_eq 1 "$CONNECTS" "client connections of the old series"
assert_contains "$CURL_OUT" '"target": "/d", "version": "HTTP/1.1"' \
    "old series: last body"
for _m in GET HEAD POST GET; do
	expect_audit route=old method=$_m status=200 up_tls=plain \
	    up_reused=false close=ok
done
audit_conn_same 4
assert_eq 4 "$(ep_conns old)" "connections the HTTP/1.0 endpoint accepted"
grep -q ' req 1 POST /c len=11 .* te=- cl=11 ' "$(ep_log old)" ||
    fail "the HTTP/1.0 endpoint did not get the POST body"

# ngx: TLS 1.0 nginx; its access log numbers connections.
curl_ok "ngx series" "200 200 200 200" "$N/a" \
    --next $CO -I "$N/b" \
    --next $CO -d 'hello=world' -o "$TB_TMP/echo.out" "$N/echo" \
    --next $CO "$N/d"
assert_eq 1 "$CONNECTS" "client connections of the ngx series"
assert_contains "$CURL_OUT" "nginx ngx GET /d proto=TLSv1 " "ngx series"
assert_eq "hello=world" "$(cat "$TB_TMP/echo.out")" "nginx echo of the POST"
expect_audit route=ngx method=GET path=/a status=200 up_tls=TLSv1 \
    'up_cipher~.' up_reused=false 'handshake_ms~^[0-9]+$' close=ok
expect_audit route=ngx method=HEAD path=/b status=200 up_tls=TLSv1 \
    up_reused=true close=ok
expect_audit route=ngx method=POST path=/echo status=200 up_tls=TLSv1 \
    up_reused=true close=ok
expect_audit route=ngx method=GET path=/d status=200 up_tls=TLSv1 \
    up_reused=true close=ok
audit_conn_same 4
assert_eq 1 "$(nginx_conns ngx)" "connections nginx served"
assert_eq 4 "$(grep -c ' TLSv1 ' "$TB_TMP/nginx-ngx/access.log")" \
    "TLSv1 requests in nginx's access log"

# ---- 2. chunked uploads arrive intact ------------------------------------------

# app's route says upstream_chunked = yes: the chunked body goes through
# as chunked.
curl_ok "chunked to app" 200 -H 'Transfer-Encoding: chunked' \
    --data-binary @"$TB_TMP/up.bin" "$A/up"
assert_eq "$UP_SHA" "$(ep_last app sha256)" "sha256 of the body app got"
assert_eq chunked "$(ep_last app te)" "app: Transfer-Encoding it got"
expect_audit route=app method=POST path=/up status=200 close=ok \
    'bytes_in~^2[0-9]{5}$'

# The HTTP/1.0 endpoint cannot read chunked: held, sent with Content-Length.
curl_ok "chunked to old" 200 -H 'Transfer-Encoding: chunked' \
    --data-binary @"$TB_TMP/up.bin" "$O/up"
assert_eq "$UP_SHA" "$(ep_last old sha256)" "sha256 of the body old got"
assert_eq - "$(ep_last old te)" "old: Transfer-Encoding it got"
assert_eq 200000 "$(ep_last old cl)" "old: Content-Length it got"
expect_audit route=old method=POST path=/up status=200 close=ok

curl_ok "chunked to nginx" 200 -H 'Transfer-Encoding: chunked' \
    --data-binary @"$TB_TMP/up.bin" -o "$TB_TMP/echo.out" "$N/echo"
assert_eq "$UP_SHA" "$(sha256sum <"$TB_TMP/echo.out" | cut -d' ' -f1)" \
    "sha256 of the body nginx echoed"
expect_audit route=ngx method=POST path=/echo status=200 up_tls=TLSv1 \
    close=ok

# ---- 3. Expect: 100-continue ------------------------------------------------------

# curl waits up to 5 s for a 100 on its own, so a transfer well under 1 s
# proves the endpoint's 100 was relayed at once, and one of about 1 s that
# the broker sent its own after its 1 s wait.
EXP="-H Expect:100-continue --expect100-timeout 5 -v"
for _ep in app ngx; do
	case $_ep in
	app) _url="$A/exp" ;;
	ngx) _url="$N/echo" ;;
	esac
	curl_ok "expect to $_ep" 200 $EXP --data-binary @"$TB_TMP/up.bin" \
	    -o "$TB_TMP/echo.out" "$_url"
	assert_contains "$CURL_ERR" "< HTTP/1.1 100 Continue" \
	    "the 100 from $_ep reached curl"
	"$PYTHON" -c "import sys; sys.exit(float(sys.argv[1]) >= 0.9)" \
	    "$TIMES" || fail "expect to $_ep took ${TIMES}s: the 100 was not" \
	    "relayed at once"
	expect_audit route="$_ep" method=POST status=200 close=ok
done
grep -q ' req [0-9]*: sent 100 Continue' "$(ep_log app)" ||
    fail "app did not send its 100"
assert_eq "$UP_SHA" "$(ep_last app sha256)" "sha256 app got with Expect"
assert_eq 100-continue "$(ep_last app expect)" "Expect reached app"
assert_eq "$UP_SHA" "$(sha256sum <"$TB_TMP/echo.out" | cut -d' ' -f1)" \
    "sha256 nginx echoed with Expect"

# api never sends 100: the broker sends its own after 1 s.
curl_ok "expect to silent api" 200 $EXP --data-binary @"$TB_TMP/up.bin" \
    "$A/api/exp"
assert_contains "$CURL_ERR" "< HTTP/1.1 100 Continue" "the broker's own 100"
"$PYTHON" -c "import sys; t = float(sys.argv[1]); sys.exit(not 0.9 <= t < 4.5)" \
    "$TIMES" || fail "expect to the silent endpoint took ${TIMES}s, not" \
    "about the broker's 1 s"
assert_eq "$UP_SHA" "$(ep_last api sha256)" "sha256 api got with Expect"
expect_audit route=api method=POST status=200 close=ok

# The HTTP/1.0 endpoint, Content-Length body: also the broker's own 100.
curl_ok "expect to old" 200 $EXP --data-binary @"$TB_TMP/up.bin" "$O/exp"
assert_eq "$UP_SHA" "$(ep_last old sha256)" "sha256 old got with Expect"
expect_audit route=old method=POST status=200 close=ok

# Chunked with Expect to the HTTP/1.0 endpoint: the broker reads the body
# itself, so it answers 100 at once.
curl_ok "chunked expect to old" 200 $EXP -H 'Transfer-Encoding: chunked' \
    --data-binary @"$TB_TMP/up.bin" "$O/expchunk"
"$PYTHON" -c "import sys; sys.exit(float(sys.argv[1]) >= 0.9)" "$TIMES" ||
    fail "chunked expect to old took ${TIMES}s"
assert_eq "$UP_SHA" "$(ep_last old sha256)" "sha256 old got (chunked+Expect)"
assert_eq 200000 "$(ep_last old cl)" "old: Content-Length (chunked+Expect)"
assert_eq - "$(ep_last old expect)" "old must not get Expect with a held body"
expect_audit route=old method=POST status=200 close=ok

# ---- 4. 204 and 304 keep the connection usable ------------------------------------

_app_conns=$(ep_conns app)
curl_ok "204/304 via app" "204 304 200" "$A/status/204" \
    --next $CO "$A/status/304" --next $CO "$A/after"
assert_eq 1 "$CONNECTS" "client connections of the 204/304 series"
assert_eq "0 0" "$(awk '$1 == "@@" && ($2 == 204 || $2 == 304) { print $4 }' \
    "$TB_TMP/curl.out" | xargs)" "body bytes of 204 and 304"
expect_audit route=app method=GET path=/status/204 status=204 up_reused=true
expect_audit route=app method=GET path=/status/304 status=304 up_reused=true
expect_audit route=app method=GET path=/after status=200 up_reused=true
audit_conn_same 3
assert_eq "$_app_conns" "$(ep_conns app)" "app connections after 204/304"

curl_ok "204/304 via nginx" "204 304 200" "$N/status/204" \
    --next $CO "$N/status/304" --next $CO "$N/after"
assert_eq 1 "$CONNECTS" "client connections of the nginx 204/304 series"
expect_audit route=ngx status=204 up_reused=true up_tls=TLSv1
expect_audit route=ngx status=304 up_reused=true
expect_audit route=ngx path=/after status=200 up_reused=true
audit_conn_same 3
assert_eq 1 "$(nginx_conns ngx)" "nginx connections after 204/304"

# ---- 5. python http.client keep-alive sequences -----------------------------------

# seq HOST REQ...: one http.client connection (it fails if it had to
# reconnect); one audit record per request, all on one client connection.
seq_ok()
{
	_host=$1
	shift
	SEQ_OUT=$(httpc seq --port "$BP" --host "$_host" "$@") ||
	    fail "http.client sequence to $_host: $SEQ_OUT"
	for _req in "$@"; do
		set -- $_req	# "METHOD PATH [@FILE]"
		expect_audit method="$1" path="$2" 'status~^(200|204|304)$' \
		    close=ok
	done
	audit_conn_same "$(($(printf '%s\n' "$SEQ_OUT" | wc -l) - 1))"
}

seq_ok app.broker.test "GET /p1" "HEAD /p2" "POST /p3 @$TB_TMP/up.bin" \
    "PUT /p4 @$TB_TMP/up.bin" "DELETE /p5" "GET /status/204" \
    "GET /status/304" "OPTIONS /p6" "GET /p7"
assert_eq "200 200 200 200 200 204 304 200 200" \
    "$(printf '%s\n' "$SEQ_OUT" | sed '$d' | while read -r _l; do
	jget "$_l" 'd["status"]'; done | xargs)" "http.client statuses (app)"
assert_eq "$UP_SHA" "$(jget "$(printf '%s\n' "$SEQ_OUT" | sed -n 4p)" \
    'body()["body_sha256"]')" "sha256 of the PUT body app got"

seq_ok old.broker.test "GET /p1" "HEAD /p2" "POST /p3 @$TB_TMP/up.bin" \
    "GET /status/204" "GET /p4"
assert_eq "$UP_SHA" "$(jget "$(printf '%s\n' "$SEQ_OUT" | sed -n 3p)" \
    'body()["body_sha256"]')" "sha256 of the POST body old got"

seq_ok ngx.broker.test "GET /p1" "HEAD /p2" "POST /echo @$TB_TMP/up.bin" \
    "GET /status/304" "GET /p3"
assert_eq "$UP_SHA" "$(jget "$(printf '%s\n' "$SEQ_OUT" | sed -n 3p)" \
    'd["body_sha256"]')" "sha256 of the body nginx echoed (http.client)"
assert_eq 1 "$(nginx_conns ngx)" "nginx connections after http.client"

# ---- 6. request head rewriting -----------------------------------------------------

curl_ok "hop-by-hop" 200 -o "$TB_TMP/hdrs.json" \
    -H 'Connection: keep-alive, X-Hop-Secret' -H 'X-Hop-Secret: 1' \
    -H 'Keep-Alive: timeout=5' -H 'TE: trailers' -H 'Trailer: X-T' \
    -H 'Upgrade: h2c' -H 'Proxy-Connection: keep-alive' \
    -H 'Proxy-Authorization: Basic Zm9vOmJhcg==' \
    -H 'X-Forwarded-Proto: http' -H 'X-Keep: yes' "$A/hdrs"
expect_audit route=app path=/hdrs status=200
HD=$(cat "$TB_TMP/hdrs.json")
for _h in connection keep-alive te trailer upgrade proxy-connection \
    proxy-authorization x-hop-secret; do
	assert_eq "<absent>" "$(jget "$HD" "hdr('$_h')")" \
	    "header $_h at the endpoint"
done
assert_eq yes "$(jget "$HD" "hdr('x-keep')")" "X-Keep at the endpoint"
assert_eq 127.0.0.1 "$(jget "$HD" "hdr('x-forwarded-for')")" \
    "X-Forwarded-For at the endpoint"
assert_eq https "$(jget "$HD" "hdr('x-forwarded-proto')")" \
    "X-Forwarded-Proto at the endpoint (the client's 'http' replaced)"
assert_eq "for=127.0.0.1;proto=https" \
    "$(jget "$HD" "hdr('forwarded')")" "Forwarded at the endpoint"
assert_eq "app.broker.test:$BP" "$(jget "$HD" "hdr('host')")" \
    "Host at the endpoint (no upstream_host)"

curl_ok "upstream_host" 200 -o "$TB_TMP/hdrs.json" \
    "https://rw.broker.test:$BP/rw"
expect_audit route=rw path=/rw status=200
HD=$(cat "$TB_TMP/hdrs.json")
assert_eq legacy.internal:8080 "$(jget "$HD" "hdr('host')")" \
    "Host rewritten by upstream_host"

curl_ok "forwarded = no" 200 -o "$TB_TMP/hdrs.json" \
    "https://nofwd.broker.test:$BP/nofwd"
expect_audit route=nofwd status=200
HD=$(cat "$TB_TMP/hdrs.json")
for _h in x-forwarded-for x-forwarded-proto forwarded; do
	assert_eq "<absent>" "$(jget "$HD" "hdr('$_h')")" \
	    "$_h with forwarded = no"
done

# ---- 7. routing: Host, then the longest path prefix ------------------------------

# got NAME TARGET: the last curl output has httpd.py NAME's echo of TARGET.
got()
{
	printf '%s\n' "$CURL_OUT" | grep -F "\"name\": \"$1\"" |
	    grep -q -F "\"target\": \"$2\"" ||
	    fail "$2 did not reach $1: $CURL_OUT"
}

curl_ok "routing" "200 200 200 200" "$A/x" --next $CO "$A/api/x" \
    --next $CO "$A/api/v2/x" --next $CO "$A/apix"
assert_eq 1 "$CONNECTS" "client connections of the routing series"
got app /x
got api /api/x
assert_contains "$CURL_OUT" "nginx ngx GET /api/v2/x proto=TLSv1" \
    "/api/v2/x reached nginx"
got app /apix
expect_audit route=app path=/x sni=app.broker.test
expect_audit route=api path=/api/x up_tls=plain
expect_audit route=apiv2 path=/api/v2/x up_tls=TLSv1
expect_audit route=app path=/apix
audit_conn_same 4
# Per request, Host picks the route, not SNI.
curl_ok "Host over SNI" "200 200" "$N/api/y" \
    --next $CO -H 'Host: app.broker.test' "$N/api/y"
got api /api/y
assert_contains "$CURL_OUT" "nginx ngx GET /api/y proto=TLSv1" \
    "/api/y with Host ngx reached nginx"
assert_eq 1 "$CONNECTS" "client connections of the Host series"
expect_audit route=ngx path=/api/y sni=ngx.broker.test
expect_audit route=api path=/api/y sni=ngx.broker.test
audit_conn_same 2

# ---- 8. never an open proxy ---------------------------------------------------------

_ngx_lines=$(wc -l <"$TB_TMP/nginx-ngx/access.log")
_old_conns=$(ep_conns old)
_dflt_conns=$(ep_conns dflt)
# An absolute-form target naming nginx's address: routed by its authority
# (no route for 127.0.0.1, so the catch-all) to the catch-all's upstream.
curl_ok "absolute-form" 200 --request-target "http://127.0.0.1:$P_NGX/abs" \
    "$A/"
assert_contains "$CURL_OUT" '"name": "dflt"' "absolute-form target"
assert_contains "$CURL_OUT" '"target": "/abs"' "absolute-form: origin-form upstream"
expect_audit route=dflt path=/abs upstream="127.0.0.1:$P_DFLT"
# A Host naming the HTTP/1.0 endpoint's address: the catch-all too.
curl_ok "Host of another address" 200 -H "Host: 127.0.0.1:$P_OLD" "$A/host"
assert_contains "$CURL_OUT" '"name": "dflt"' "Host of an unconfigured address"
expect_audit route=dflt path=/host upstream="127.0.0.1:$P_DFLT"
# An absolute-form target with a configured name goes to that route.
curl_ok "absolute-form, configured name" 200 \
    --request-target "http://old.broker.test/abs2" "$A/"
assert_contains "$CURL_OUT" '"target": "/abs2"' "absolute-form to old"
expect_audit route=old path=/abs2 upstream="127.0.0.1:$P_OLD"
_old_conns=$((_old_conns + 1))

# CONNECT is refused whatever it names.
OUT=$(httpc raw --port "$BP" --host app.broker.test --timeout 10 \
    --send "CONNECT 127.0.0.1:$P_OLD HTTP/1.1\r\nHost: 127.0.0.1:$P_OLD\r\n\r\n")
assert_eq 405 "$(jget "$OUT" 'd["status"]')" "CONNECT status: $OUT"
assert_eq bad_request "$(jget "$OUT" 'hdr("x-broker-error")')" "CONNECT X-Broker-Error"
assert_eq eof "$(jget "$OUT" 'd["end"]')" "CONNECT: connection closed after"
expect_audit method=CONNECT status=405 close=bad_request upstream!

assert_eq "$_ngx_lines" "$(wc -l <"$TB_TMP/nginx-ngx/access.log")" \
    "requests nginx saw during the open-proxy checks"
assert_eq "$_old_conns" "$(ep_conns old)" "connections old saw"
assert_eq $((_dflt_conns + 1)) "$(ep_conns dflt)" \
    "connections the catch-all saw (one, kept alive)"

stop_broker
tbutil jsoncheck "$AUDIT" || fail "audit log has lines that are not JSON"
assert_eq "$AUDIT_N" "$(wc -l <"$AUDIT" | tr -d ' ')" "audit records"
