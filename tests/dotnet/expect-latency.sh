#!/bin/sh
# SPDX-License-Identifier: MIT
#
# expect-latency.sh [BROKER] [CALLS]: measures what Expect: 100-continue
# costs the ERP's .NET client through a broker binary (default
# build/src/tlsbroker) in front of an endpoint that ignores Expect
# (tests/integration/endpoints/httpd.py), on 127.0.0.1.  Prints the median,
# minimum and maximum milliseconds of CALLS (default 51) SOAP POSTs of 2 KiB
# on one kept-alive connection, made by ErpClient fx (.NET Framework's wire
# behaviour: the head, up to 350 ms for a 100, then the body) with and
# without Expect, and by Mono's HttpWebRequest.  Numbers, not assertions:
# run it against two binaries to compare them.  Needs mono, mcs, python3,
# openssl.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
BROKER=${1:-$top/build/src/tlsbroker}
BROKER=$(cd "$(dirname "$BROKER")" && pwd)/$(basename "$BROKER")
CALLS=${2:-51}
EP="$top/tests/integration/endpoints"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/expect-latency.XXXXXX")
pids=""

cleanup()
{
	for p in $pids; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

cd "$tmp"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=expect-latency CA" -keyout ca.key -out ca.pem \
    -addext "basicConstraints=critical,CA:TRUE" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost" \
    -keyout b.key -out b.csr 2>/dev/null
openssl x509 -req -in b.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -copy_extensions copy -out b.pem 2>/dev/null
cat b.pem b.key >broker.pem
mkdir -p home/.config/.mono/new-certs/Trust
cp ca.pem "home/.config/.mono/new-certs/Trust/$(openssl x509 -hash -noout -in ca.pem).0"
mcs -nologo -out:ErpClient.exe -r:System.dll -r:System.Net.Http.dll \
    "$top/tests/dotnet/ErpClient.cs"

set -- $(python3 "$EP/tbutil.py" freeports 2 --used ports.used)
BP=$1 P_API=$2
python3 -u "$EP/httpd.py" "$P_API" --name api >ep.log 2>&1 &
pids="$pids $!"
cat >broker.ini <<EOF
[broker]
workers = 1
audit_log = off
log_level = warning
[listener erp]
bind = 127.0.0.1:$BP
cert = $tmp/broker.pem
[route api]
upstream = 127.0.0.1:$P_API
upstream_tls = off
EOF
"$BROKER" -c broker.ini 2>broker.log &
pids="$pids $!"
python3 "$EP/tbutil.py" waitport "$P_API" --timeout 10 >/dev/null
python3 "$EP/tbutil.py" waitport "$BP" --timeout 10 >/dev/null

run()
{
	HOME="$tmp/home" mono ErpClient.exe "$@" | python3 -c '
import json, sys
lines = [json.loads(l) for l in sys.stdin if l.strip()]
ms = sorted(l["ms"] for l in lines if "ms" in l)
bad = [l for l in lines if "seq" in l and l["ok"] is not True]
for l in bad:
    sys.stderr.write("failed: %s\n" % json.dumps(l))
print("median %8.3f  min %8.3f  max %8.3f  (%d calls, %d failed)" %
      (ms[len(ms) // 2], ms[0], ms[-1], len(ms), len(bad)))'
}

U="https://localhost:$BP/soap"
echo "broker: $BROKER"
printf 'fx, Expect, 350 ms wait:   '; run fx "$U" --count "$CALLS" --check sha256
printf 'fx, no Expect:             '; run fx "$U" --count "$CALLS" --check sha256 --no-expect
printf 'HttpWebRequest, Expect:    '; run soap "$U" --count "$CALLS" --check sha256
printf 'HttpWebRequest, no Expect: '; run soap "$U" --count "$CALLS" --check sha256 --no-expect
