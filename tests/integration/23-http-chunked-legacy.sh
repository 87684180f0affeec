#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Chunked request bodies and endpoints that say HTTP/1.1 but cannot read
# them.  busybox httpd (a real legacy-class server) answers "HTTP/1.1 200
# OK", yet a CGI behind it gets an empty body for a chunked request: the
# broker holds every chunked body up to max_buffered_body and sends it with
# a Content-Length, also after the route's endpoint answered in HTTP/1.1
# (once the broker streamed chunked bodies from then on: the client got 200
# with an empty echo, the audit said ok).  Only a route with
# upstream_chunked = yes gets chunked bodies streamed; a larger body for
# any other gets 413 with a hint that names max_buffered_body and
# upstream_chunked.  An endpoint that answers and closes before it took
# the whole request body is a failed call: upstream_body_unread, never ok.

. "$(dirname "$0")/lib.sh"

need_cmd curl busybox
make_pki

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 3)
BP=$1 P_BB=$2 P_MOD=$3

# busybox httpd with two CGIs: echo returns the body it got (read by its
# CONTENT_LENGTH, as CGIs do); early answers at once, with a length, and
# reads nothing.
mkdir -p "$TB_TMP/www/cgi-bin"
cat >"$TB_TMP/www/cgi-bin/echo" <<'EOF'
#!/bin/sh
printf 'Content-Type: application/octet-stream\r\n\r\n'
head -c "${CONTENT_LENGTH:-0}"
EOF
cat >"$TB_TMP/www/cgi-bin/early" <<'EOF'
#!/bin/sh
printf 'Content-Type: text/plain\r\nContent-Length: 6\r\n\r\nearly\n'
EOF
chmod +x "$TB_TMP/www/cgi-bin/echo" "$TB_TMP/www/cgi-bin/early"
_ep_run bb "$P_BB" busybox httpd -f -vv -p "127.0.0.1:$P_BB" -h "$TB_TMP/www"
start_httpd modern "$P_MOD"

{
	ini_preamble "$BP" workers=1
	cat <<EOF

[route bb]
host = bb.broker.test
upstream = 127.0.0.1:$P_BB
upstream_tls = off

[route bbsmall]
host = bbsmall.broker.test
upstream = 127.0.0.1:$P_BB
upstream_tls = off
max_buffered_body = 16k

[route modern]
host = modern.broker.test
upstream = 127.0.0.1:$P_MOD
upstream_tls = off
upstream_chunked = yes
EOF
} >"$TB_TMP/broker.ini"
start_broker "$TB_TMP/broker.ini"

# post ROUTE PATH FILE ARGS...: curl POST of FILE; body in $TB_TMP/got,
# headers in HDRS (no CRs), status in STATUS, exit status in CURL_RC.
post()
{
	_r=$1 _p=$2 _f=$3
	shift 3
	CURL_RC=0
	STATUS=$(timeout 30 curl -sS --cacert "$PKI/ca.pem" \
	    --resolve "$_r.broker.test:$BP:127.0.0.1" -H 'Expect:' \
	    -D "$TB_TMP/hdr" -o "$TB_TMP/got" -w '%{http_code}' "$@" \
	    --data-binary @"$_f" "https://$_r.broker.test:$BP$_p" \
	    2>"$TB_TMP/curl.err") || CURL_RC=$?
	HDRS="$TB_TMP/hdrs"
	tr -d '\r' <"$TB_TMP/hdr" >"$HDRS" 2>/dev/null || : >"$HDRS"
}

head -c 100000 /dev/urandom >"$TB_TMP/body"

# ---- an HTTP/1.1 status line first, then a chunked body ----------------------

post bb /cgi-bin/echo "$TB_TMP/body"
assert_eq 0 "$CURL_RC" "curl with a Content-Length body: $(cat "$TB_TMP/curl.err")"
assert_eq 200 "$STATUS" "status of the first POST"
cmp -s "$TB_TMP/body" "$TB_TMP/got" || fail "busybox echo of a Content-Length body"
expect_audit route=bb method=POST status=200 close=ok

post bb /cgi-bin/echo "$TB_TMP/body" -H 'Transfer-Encoding: chunked'
assert_eq 0 "$CURL_RC" "curl with a chunked body: $(cat "$TB_TMP/curl.err")"
assert_eq 200 "$STATUS" "status of the chunked POST"
cmp -s "$TB_TMP/body" "$TB_TMP/got" ||
    fail "the CGI got $(wc -c <"$TB_TMP/got" | tr -d ' ') of 100000 bytes" \
    "of a chunked body sent after the endpoint answered HTTP/1.1"
expect_audit route=bb method=POST status=200 close=ok "bytes_in~^1[0-9]{5}$"

# ---- above max_buffered_body: 413 naming the keys -----------------------------

post bbsmall /cgi-bin/echo "$TB_TMP/body" -H 'Transfer-Encoding: chunked'
assert_eq 413 "$STATUS" "status of a chunked body above max_buffered_body" \
    "(curl exit $CURL_RC: $(cat "$TB_TMP/curl.err"))"
grep -q -i '^X-Broker-Error: bad_request' "$HDRS" ||
    fail "X-Broker-Error of the 413: $(cat "$HDRS")"
grep -q 'upstream_chunked = yes' "$TB_TMP/got" ||
    fail "the 413's body does not name upstream_chunked: $(cat "$TB_TMP/got")"
expect_audit route=bbsmall status=413 close=bad_request \
    'hint~max_buffered_body.*upstream_chunked = yes' 'detail~max_buffered_body'

# ---- upstream_chunked = yes: streamed as chunked --------------------------------

post modern /up "$TB_TMP/body" -H 'Transfer-Encoding: chunked'
assert_eq 200 "$STATUS" "status via the upstream_chunked route"
assert_eq 100000 "$(jget "$(cat "$TB_TMP/got")" 'd["body_len"]')" \
    "body length the chunked-capable endpoint read"
assert_eq chunked "$(jget "$(cat "$TB_TMP/got")" 'd["te"]')" \
    "Transfer-Encoding the upstream_chunked endpoint got"
expect_audit route=modern method=POST status=200 close=ok

# ---- the endpoint answers and closes before it took the body ------------------

head -c 8000000 /dev/zero >"$TB_TMP/big"
post bb /cgi-bin/early "$TB_TMP/big"
note "early answer: curl exit $CURL_RC, status $STATUS"
expect_audit route=bb method=POST path=/cgi-bin/early close=upstream_body_unread \
    phase=request 'hint~answered before it took the whole request body' \
    'detail~before it took the whole request body'
assert_eq 200 "$(audit_field "$AUDIT_N" status)" "the endpoint's status, audited"

stop_broker
tbutil jsoncheck "$AUDIT" || fail "audit log has lines that are not JSON"
assert_eq "$AUDIT_N" "$(wc -l <"$AUDIT" | tr -d ' ')" "audit records"
