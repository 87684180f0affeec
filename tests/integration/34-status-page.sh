#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The status page, in a real browser, and /metrics through promtool.
# Routes: web (plain httpd), legacy (nginx, TLS 1.0, a certificate from
# the test CA), down (nothing listens there).  After known traffic (web 3,
# legacy 2, down 1: upstream_refused, and a request for no route whose
# path holds <script>alert(1)</script>):
#   - GET / is text/html with a Content-Security-Policy, and no "<script"
#     in it: the path is escaped;
#   - chromium --headless --dump-dom shows a row per route (and "-"), web
#     and legacy up, down "down: upstream_refused", the counts of the last
#     minutes, legacy's endpoint certificate, and the failures newest
#     first: the no-route one with its <script> as text (no script
#     element in the DOM), the refused one with its phase and hint;
#   - a screenshot (--screenshot, 1200x800) is kept in the test's log dir
#     as 34-status-page.png;
#   - promtool check metrics accepts /metrics, whose
#     tlsbroker_cert_not_after_seconds gives the notAfter of the
#     listener's certificate and of the one nginx showed;
#   - after a reload that adds a route, the page shows it.

. "$(dirname "$0")/lib.sh"

need_cmd curl promtool nginx
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || skip "no chromium at $CHROMIUM"
make_pki

# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 5)
BP=$1 AP=$2 P_HTTP=$3 P_NGX=$4 P_DOWN=$5
SHOT_DIR=$(pwd)/tests/integration
[ -d "$SHOT_DIR" ] || SHOT_DIR=$(pwd)

start_httpd web "$P_HTTP"
start_nginx legacy "$P_NGX" 60s

# write_ini [EXTRA_ROUTE_PORT]
write_ini()
{
	{
		ini_preamble "$BP" workers=2 "admin=127.0.0.1:$AP"
		cat <<EOF

[route web]
host = web.broker.test
upstream = 127.0.0.1:$P_HTTP
upstream_tls = off

[route legacy]
host = legacy.broker.test
upstream = 127.0.0.1:$P_NGX
upstream_tls = 1.0
upstream_ca = $PKI/ca.pem
upstream_sni = localhost

[route down]
host = down.broker.test
upstream = 127.0.0.1:$P_DOWN
upstream_tls = off
EOF
	} >"$TB_TMP/broker.ini"
	[ -z "${1:-}" ] || cat >>"$TB_TMP/broker.ini" <<EOF

[route extra]
host = extra.broker.test
upstream = 127.0.0.1:$1
upstream_tls = off
EOF
}

write_ini
start_broker "$TB_TMP/broker.ini"
wait_for_port "$AP" "$BROKER_PID"

# get NAME PATH EXPECTED_STATUS
get()
{
	curl_get "https://$1.broker.test:$BP$2" \
	    --resolve "$1.broker.test:$BP:127.0.0.1" -o /dev/null -w '%{http_code}'
	[ "$CURL_RC" = 0 ] || fail "curl $1$2: rc $CURL_RC: $CURL_ERR"
	assert_eq "$3" "$CURL_OUT" "status of $1$2"
}

get web /one 200
get web /two 200
get web /three 200
get legacy /a 200
get legacy /b 200
get down /x 502
RAW=$(httpc raw --port "$BP" --host web.broker.test --send \
    'GET /nothing/<script>alert(1)</script> HTTP/1.1\r\nHost: nomatch.broker.test\r\nConnection: close\r\n\r\n')
assert_eq 404 "$(jget "$RAW" status)" "status of the request for no route"
wait_audit 7
assert_audit 6 route=down close=upstream_refused phase=connect
assert_audit 7 close=no_route 'detail~<script>alert\(1\)</script>'

# ---- the raw page -------------------------------------------------------------

curl -sS --max-time 10 -D "$TB_TMP/page.hdr" -o "$TB_TMP/page.html" \
    "http://127.0.0.1:$AP/" || fail "GET / on the admin address failed"
grep -q '^HTTP/1.1 200' "$TB_TMP/page.hdr" || fail "GET /: $(head -n 1 "$TB_TMP/page.hdr")"
grep -i -q '^content-type: text/html; charset=utf-8' "$TB_TMP/page.hdr" ||
    fail "GET / is not text/html"
grep -i -q "^content-security-policy: default-src 'none'" "$TB_TMP/page.hdr" ||
    fail "GET / has no Content-Security-Policy"
! grep -i -q '<script' "$TB_TMP/page.html" || fail "the page holds a <script"
grep -q '/nothing/&lt;script&gt;alert(1)&lt;/script&gt;' "$TB_TMP/page.html" ||
    fail "the path is not in the page, escaped"

# ---- the page in chromium --------------------------------------------------------

# chromium ARGS... URL: a headless run with a private profile, bounded.
chromium_run()
{
	_prof=$(mktemp -d "$TB_TMP/chromium.XXXXXX")
	timeout -k 5 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
	    --disable-quic --no-first-run --disable-background-networking \
	    --disable-component-update --disable-sync --user-data-dir="$_prof" \
	    "$@" 2>>"$TB_TMP/chromium.log"
}
TB_LOGS="$TB_LOGS $TB_TMP/chromium.log"

chromium_run --dump-dom "http://127.0.0.1:$AP/" >"$TB_TMP/dom.html" ||
    fail "chromium --dump-dom failed (see chromium.log)"
"$PYTHON" - "$TB_TMP/dom.html" <<'EOF' || fail "the page in chromium (see dom.html)"
import re, sys
from html.parser import HTMLParser

class Tables(HTMLParser):
    """Rows of every table by id (cells as text), and every tag seen."""
    def __init__(self):
        super().__init__()
        self.tables, self.tags, self.cur, self.row, self.cell = {}, [], None, None, None
    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        a = dict(attrs)
        if tag == "table":
            self.cur = self.tables.setdefault(a.get("id", "?"), [])
        elif tag == "tr" and self.cur is not None:
            self.row = {"id": a.get("id"), "cells": []}
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []
            self.span = int(a.get("colspan", "1"))
    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row["cells"].append(" ".join("".join(self.cell).split()))
            self.row["cells"] += [""] * (self.span - 1)
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.cur.append(self.row)
            self.row = None
        elif tag == "table":
            self.cur = None
    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)

p = Tables()
p.feed(open(sys.argv[1], encoding="utf-8").read())
bad = []
def check(cond, what):
    if not cond:
        bad.append(what)

check("script" not in p.tags, "a script element in the DOM")
routes = {r["id"]: r["cells"] for r in p.tables.get("routes", []) if r["id"]}
check(set(routes) == {"route-web", "route-legacy", "route-down", "route--"},
      "route rows: %s" % sorted(routes))
head = [r["cells"] for r in p.tables.get("routes", []) if not r["id"]][0]
col = {name: i for i, name in enumerate(head)}
def cell(route, name):
    return routes.get(route, [""] * len(head))[col[name]]
check(cell("route-web", "state").startswith("up"), "web state: " + cell("route-web", "state"))
check(cell("route-legacy", "state").startswith("up"), "legacy state")
check(cell("route-down", "state").startswith("down: upstream_refused"),
      "down state: " + cell("route-down", "state"))
check(cell("route-web", "requests") == "3" and cell("route-web", "errors") == "0",
      "web counts: %s %s" % (cell("route-web", "requests"), cell("route-web", "errors")))
check(cell("route-legacy", "requests") == "2", "legacy requests")
check(cell("route-down", "errors by close reason") == "upstream_refused 1",
      "down reasons: " + cell("route-down", "errors by close reason"))
check(cell("route--", "errors by close reason") == "no_route 1",
      "no-route reasons: " + cell("route--", "errors by close reason"))
check(re.search(r"CN=localhost.*expires \d{4}-\d\d-\d\d .*\(\d+ days left\)",
                cell("route-legacy", "endpoint certificate")) is not None,
      "legacy certificate: " + cell("route-legacy", "endpoint certificate"))
check("TLS 1.0" in cell("route-legacy", "endpoint"), "legacy endpoint")
check("plain" in cell("route-web", "endpoint certificate"), "web certificate")

fails = [r["cells"] for r in p.tables.get("failures", [])]
fh = fails[0]
fcol = {name: i for i, name in enumerate(fh)}
rows = fails[1:]
check(len(rows) == 2, "failure rows: %d" % len(rows))
if len(rows) == 2:
    newest, older = rows
    check(newest[fcol["close"]] == "no_route", "newest failure: %s" % newest)
    check("/nothing/<script>alert(1)</script>" in newest[fcol["detail"]],
          "the no-route detail: " + newest[fcol["detail"]])
    check(older[fcol["close"]] == "upstream_refused" and
          older[fcol["phase"]] == "connect" and older[fcol["route"]] == "down",
          "older failure: %s" % older)
    check("nothing accepts connections at the upstream address" in older[fcol["hint"]],
          "the refused one's hint: " + older[fcol["hint"]])
    check(older[fcol["status"]] == "502", "its status")
for b in bad:
    print("status page:", b)
sys.exit(1 if bad else 0)
EOF

SHOT="$SHOT_DIR/34-status-page.png"
rm -f "$SHOT"
chromium_run --screenshot="$SHOT" --window-size=1200,800 \
    "http://127.0.0.1:$AP/" >/dev/null || fail "chromium --screenshot failed"
[ -s "$SHOT" ] || fail "no screenshot at $SHOT"
[ "$(head -c 8 "$SHOT" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
    fail "$SHOT is not a PNG"
note "screenshot: $SHOT"

# ---- /metrics through promtool, with the certificates' expiry -------------------

curl -sS --max-time 10 -o "$TB_TMP/metrics.txt" "http://127.0.0.1:$AP/metrics" ||
    fail "GET /metrics failed"
promtool check metrics <"$TB_TMP/metrics.txt" >"$TB_TMP/promtool.out" 2>&1 ||
    fail "promtool check metrics: $(cat "$TB_TMP/promtool.out")"

# not_after FILE: the certificate's notAfter in seconds since the epoch.
not_after()
{
	openssl x509 -noout -enddate -in "$1" | "$PYTHON" -c '
import calendar, sys, time
v = sys.stdin.read().strip().split("=", 1)[1]
print(calendar.timegm(time.strptime(v, "%b %d %H:%M:%S %Y %Z")))'
}

# metric SERIES_PREFIX: the value of the one sample starting with it.
metric()
{
	_m=$(grep -F "$1" "$TB_TMP/metrics.txt")
	[ "$(printf '%s\n' "$_m" | grep -c .)" = 1 ] ||
	    fail "not exactly one sample for $1: $_m"
	printf '%s\n' "${_m##* }"
}

assert_eq "$(not_after "$PKI/broker.pem")" \
    "$(metric "tlsbroker_cert_not_after_seconds{side=\"inbound\",listener=\"erp\",file=\"$PKI/broker.pem\",subject=\"CN=broker.test\"}")" \
    "the listener certificate's expiry"
assert_eq "$(not_after "$PKI/legacy.pem")" \
    "$(metric 'tlsbroker_cert_not_after_seconds{side="upstream",route="legacy",subject="CN=localhost"}')" \
    "the expiry of the certificate nginx showed"
! grep -q 'side="upstream",route="web"' "$TB_TMP/metrics.txt" ||
    fail "a plain route has a certificate expiry"

# ---- a reload shows up on the page ---------------------------------------------------

write_ini "$P_HTTP"
kill -HUP "$BROKER_PID"
_out=$(tbutil waitgrep "$BROKER_LOG" "reload 1 done" --timeout 10 --pid "$BROKER_PID") ||
    fail "reload: $_out"
curl -sS --max-time 10 -o "$TB_TMP/page2.html" "http://127.0.0.1:$AP/status" ||
    fail "GET /status failed"
grep -q '<tr id="route-extra">' "$TB_TMP/page2.html" ||
    fail "the route added by the reload is not on the page"

stop_broker
