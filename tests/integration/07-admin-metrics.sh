#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The admin endpoint: /metrics scraped with curl after a known set of
# exchanges (5 routed http requests, over keep-alive and fresh connections,
# 2 that match no route, 1 tcp connection), parsed as Prometheus text
# format by a small Python checker, and every counter compared with what
# was done: requests by class, close reasons, upstream connections against
# what the endpoint accepted, the latency histogram's count, listener
# connections against curl's own connect count.  Then /healthz, the status
# page at /, 404 and 405.

. "$(dirname "$0")/lib.sh"

need_cmd curl
make_pki

# shellcheck disable=SC2046
set -- $(free_ports 4)
BP=$1 AP=$2 P_HTTP=$3 P_HASH=$4

start_ep_http web "$P_HTTP"
start_ep_hash raw "$P_HASH"

{
	ini_preamble "$BP" workers=2 "admin=127.0.0.1:$AP"
	cat <<EOF

[route web]
mode = http
host = web.broker.test
path = /app/
upstream = 127.0.0.1:$P_HTTP
upstream_tls = off

[route raw]
mode = tcp
host = raw.broker.test
upstream = 127.0.0.1:$P_HASH
upstream_tls = off
EOF
} >"$TB_TMP/broker.ini"

start_broker "$TB_TMP/broker.ini"
wait_for_port "$AP" "$BROKER_PID"

# The checker: validates the whole exposition (HELP/TYPE before samples,
# label syntax and escapes, numeric values, no duplicate series), then
# evaluates "SERIES OP NUMBER" arguments.  SERIES is name{labels}; with a
# leading "sum:" the value is the sum over every series of that name whose
# labels include the given ones.  Prints each failure with the value seen.
cat >"$TB_TMP/promcheck.py" <<'EOF'
import re, sys

LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
NAME = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*')

def unescape(v):
    return re.sub(r'\\(.)', lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), v)

def labels_of(text, where):
    out, pos = {}, 0
    while pos < len(text):
        m = LABEL.match(text, pos)
        if not m:
            sys.exit("%s: bad labels: %r" % (where, text))
        out[m.group(1)] = unescape(m.group(2))
        pos = m.end()
        if pos < len(text):
            if text[pos] != ",":
                sys.exit("%s: bad labels: %r" % (where, text))
            pos += 1
    return out

def parse(path):
    series, helped, typed, family, ftype = {}, set(), {}, None, None
    data = open(path, encoding="utf-8").read()
    if not data.endswith("\n"):
        sys.exit("exposition does not end with a newline")
    for n, line in enumerate(data.split("\n")[:-1], 1):
        where = "line %d" % n
        if line.startswith("# HELP "):
            helped.add(line.split(" ")[2])
            continue
        if line.startswith("# TYPE "):
            _, _, family, ftype = line.split(" ")
            if family not in helped:
                sys.exit("%s: TYPE without HELP for %s" % (where, family))
            if ftype not in ("counter", "gauge", "histogram"):
                sys.exit("%s: type %s" % (where, ftype))
            typed[family] = ftype
            continue
        if line.startswith("#") or not line:
            sys.exit("%s: unexpected %r" % (where, line))
        m = NAME.match(line)
        name = m.group(0)
        rest = line[m.end():]
        lab = {}
        if rest.startswith("{"):
            end = rest.index("} ")
            lab = labels_of(rest[1:end], where)
            rest = rest[end + 1:]
        if not rest.startswith(" "):
            sys.exit("%s: no value: %r" % (where, line))
        value = float(rest[1:])
        base = name
        if ftype == "histogram":
            base = re.sub(r"_(bucket|sum|count)$", "", name)
        if base != family:
            sys.exit("%s: %s outside its family %s" % (where, name, family))
        key = (name, tuple(sorted(lab.items())))
        if key in series:
            sys.exit("%s: duplicate series %r" % (where, line))
        series[key] = value
    return series, typed

def lookup(series, spec):
    total = spec.startswith("sum:")
    if total:
        spec = spec[4:]
    m = NAME.match(spec)
    name, lab = m.group(0), {}
    if spec[m.end():].startswith("{"):
        lab = labels_of(spec[m.end() + 1:-1], spec)
    hits = [v for (n, ls), v in series.items()
            if n == name and all(dict(ls).get(k) == v2 for k, v2 in lab.items())
            and (total or len(ls) == len(lab))]
    if not hits:
        return None
    if not total and len(hits) != 1:
        sys.exit("%s: %d series" % (spec, len(hits)))
    return sum(hits)

series, typed = parse(sys.argv[1])
bad = 0
for check in sys.argv[2:]:
    spec, op, want = check.rsplit(" ", 2)
    got = lookup(series, spec)
    ok = got is not None and {"==": got == float(want),
                              ">=": got >= float(want)}[op]
    if not ok:
        print("metrics: %s %s %s, got %s" % (spec, op, want, got))
        bad += 1
sys.exit(1 if bad else 0)
EOF

# scrape: GET /metrics into $TB_TMP/metrics.txt, headers in metrics.hdr.
scrape()
{
	_rc=0
	curl -sS --max-time 10 -D "$TB_TMP/metrics.hdr" \
	    -o "$TB_TMP/metrics.txt" "http://127.0.0.1:$AP/metrics" ||
	    _rc=$?
	[ "$_rc" = 0 ] || fail "curl /metrics failed ($_rc)"
	grep -q '^HTTP/1.1 200' "$TB_TMP/metrics.hdr" ||
	    fail "/metrics: $(head -n 1 "$TB_TMP/metrics.hdr")"
}

# metrics_ok CHECK...: true if every check holds on the last scrape.
metrics_ok()
{
	"$PYTHON" "$TB_TMP/promcheck.py" "$TB_TMP/metrics.txt" "$@"
}

# Before any traffic: every registered name is there, at zero.
scrape
grep -E -q '^tlsbroker_build_info\{version="[^"]+"\} 1$' "$TB_TMP/metrics.txt" ||
    fail "no tlsbroker_build_info line"
grep -i -q '^content-type: text/plain; version=0.0.4' "$TB_TMP/metrics.hdr" ||
    fail "/metrics Content-Type: $(grep -i '^content-type' "$TB_TMP/metrics.hdr")"
metrics_ok \
    'sum:tlsbroker_build_info == 1' \
    'tlsbroker_workers == 2' \
    'tlsbroker_requests_total{route="web",class="2xx"} == 0' \
    'tlsbroker_requests_total{route="raw",class="2xx"} == 0' \
    'tlsbroker_closes_total{route="-",reason="no_route"} == 0' \
    'tlsbroker_listener_connections_total{listener="erp"} == 0' \
    'tlsbroker_request_duration_seconds_count{route="web"} == 0' ||
    fail "metrics before traffic (see $TB_TMP/metrics.txt)"

# ---- the traffic ------------------------------------------------------------

CONNECTS=0
# https_get EXPECTED_CODE PATH...: curl over one connection per call (keep-alive
# between its URLs); adds the connections curl made to CONNECTS.
https_get()
{
	_want=$1
	shift
	_urls=""
	for _p in "$@"; do
		_urls="$_urls https://web.broker.test:$BP$_p"
	done
	# shellcheck disable=SC2086
	curl_get $_urls --resolve "web.broker.test:$BP:127.0.0.1" \
	    -w '\nRESULT %{http_code} %{num_connects}\n'
	[ "$CURL_RC" = 0 ] || fail "curl $*: rc $CURL_RC: $CURL_ERR"
	for _c in $(printf '%s\n' "$CURL_OUT" | sed -n 's/^RESULT \([0-9]*\) .*/\1/p'); do
		assert_eq "$_want" "$_c" "status of $*"
	done
	for _n in $(printf '%s\n' "$CURL_OUT" | sed -n 's/^RESULT [0-9]* //p'); do
		CONNECTS=$((CONNECTS + _n))
	done
}

https_get 200 /app/one /app/two /app/three	# 3 on one connection
https_get 200 /app/four
https_get 200 /app/five
https_get 404 /elsewhere
https_get 404 /nothing/here
client_ok upload 1000 --port "$BP" --sni raw.broker.test --seed 7
CONNECTS=$((CONNECTS + 1))
[ "$CONNECTS" -ge 5 ] || hard_error "curl reported $CONNECTS connects"
wait_audit 8
UPSTREAM_WEB=$(ep_conns web)
assert_eq 5 "$UPSTREAM_WEB" "connections the http endpoint accepted"

# Counters are bumped as each exchange ends, on the worker threads; give
# the last close a bounded moment to reach the gauges.
_end=$(($(now_ms) + 5000))
while :; do
	scrape
	metrics_ok 'tlsbroker_listener_open_connections{listener="erp"} == 0' \
	    'tlsbroker_upstream_connections{route="web",state="open"} == 0' \
	    >/dev/null && break
	[ "$(now_ms)" -lt "$_end" ] || break
	sleep 0.1
done

metrics_ok \
    'tlsbroker_requests_total{route="web",class="2xx"} == 5' \
    'sum:tlsbroker_requests_total{route="web"} == 5' \
    'tlsbroker_closes_total{route="web",reason="ok"} == 5' \
    'sum:tlsbroker_closes_total{route="web"} == 5' \
    'tlsbroker_requests_total{route="-",class="4xx"} == 2' \
    'sum:tlsbroker_requests_total{route="-"} == 2' \
    'tlsbroker_closes_total{route="-",reason="no_route"} == 2' \
    'sum:tlsbroker_requests_total{route="raw"} == 1' \
    'tlsbroker_closes_total{route="raw",reason="ok"} == 1' \
    'sum:tlsbroker_closes_total{route="raw"} == 1' \
    "tlsbroker_upstream_connections_opened_total{route=\"web\"} == $UPSTREAM_WEB" \
    'tlsbroker_upstream_reused_total{route="web"} == 0' \
    'tlsbroker_upstream_handshakes_total{route="web"} == 0' \
    'tlsbroker_retries_total{route="web"} == 0' \
    'tlsbroker_upstream_connections_opened_total{route="raw"} == 1' \
    'tlsbroker_upstream_connections{route="web",state="open"} == 0' \
    'tlsbroker_upstream_connections{route="web",state="idle"} == 0' \
    'tlsbroker_request_duration_seconds_count{route="web"} == 5' \
    'tlsbroker_request_duration_seconds_bucket{route="web",le="+Inf"} == 5' \
    'tlsbroker_request_duration_seconds_sum{route="web"} >= 0' \
    'tlsbroker_request_duration_seconds_count{route="-"} == 2' \
    "tlsbroker_listener_connections_total{listener=\"erp\"} == $CONNECTS" \
    "sum:tlsbroker_listener_tls_total{listener=\"erp\"} == $CONNECTS" \
    'tlsbroker_listener_denied_total{listener="erp"} == 0' \
    'tlsbroker_listener_handshake_failures_total{listener="erp"} == 0' \
    'tlsbroker_listener_open_connections{listener="erp"} == 0' ||
    fail "metrics do not match the requests made (see $TB_TMP/metrics.txt)"

# The histogram is cumulative: every bucket >= the one before.
"$PYTHON" - "$TB_TMP/metrics.txt" <<'EOF' || fail "histogram not cumulative"
import re, sys
prev = None
for line in open(sys.argv[1]):
    m = re.match(r'tlsbroker_request_duration_seconds_bucket\{route="web",le="([^"]+)"\} (\S+)', line)
    if m:
        v = float(m.group(2))
        if prev is not None and v < prev:
            sys.exit(1)
        prev = v
sys.exit(0 if prev == 5 else 1)
EOF

# ---- healthz and errors -------------------------------------------------------

admin_req()
{
	_rc=0
	ADMIN_OUT=$(curl -sS --max-time 10 -o "$TB_TMP/admin.body" \
	    -w '%{http_code}' "$@") || _rc=$?
	[ "$_rc" = 0 ] || fail "curl $*: rc $_rc"
}

admin_req "http://127.0.0.1:$AP/healthz"
assert_eq 200 "$ADMIN_OUT" "/healthz status"
assert_eq ok "$(head -n 1 "$TB_TMP/admin.body")" "/healthz first line"
admin_req "http://127.0.0.1:$AP/"
assert_eq 200 "$ADMIN_OUT" "GET / on the admin endpoint (the status page)"
grep -q '<h1>tlsbroker status</h1>' "$TB_TMP/admin.body" ||
    fail "GET / is not the status page"
admin_req "http://127.0.0.1:$AP/nothing"
assert_eq 404 "$ADMIN_OUT" "GET /nothing on the admin endpoint"
admin_req "http://127.0.0.1:$AP/metrics/x"
assert_eq 404 "$ADMIN_OUT" "GET /metrics/x"
admin_req -X POST -d x "http://127.0.0.1:$AP/metrics"
assert_eq 405 "$ADMIN_OUT" "POST /metrics"
# Scrapes are not client traffic: the counters did not move.
scrape
metrics_ok "tlsbroker_listener_connections_total{listener=\"erp\"} == $CONNECTS" \
    'sum:tlsbroker_requests_total{route="web"} == 5' ||
    fail "admin requests changed the counters"

stop_broker
! port_listening "$AP" || fail "admin port still open after exit"
