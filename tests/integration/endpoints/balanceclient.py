#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# How the broker's workers share client connections, seen through the
# admin gauge tlsbroker_worker_open_connections{worker=W}.  Connections
# are opened one at a time (TLS handshake done, then held idle), so after
# each the gauge tells which worker took it.
#
#   balanceclient.py --port P --admin A --ca CA --host NAME --conns N [--open-only]
#
#   1. opens N connections; the workers' counts may differ by at most 2;
#   2. closes every connection of the worker holding the fewest, and
#      waits until the gauge shows it empty: the other holds about N/2;
#   3. opens as many as the other holds: they must go to the emptied
#      worker (counts within 2 again), where a kernel's hash (SO_REUSEPORT)
#      would give it about half.
# --open-only: phase 1 alone (every connection must be taken within 10 s).
# Prints one JSON line per phase; exit 0 when all held, 1 when one did not.

import argparse
import json
import socket
import ssl
import sys
import time
import urllib.request

WAIT_S = 10.0
MARGIN = 2


def counts(args):
    url = "http://127.0.0.1:%d/metrics" % args.admin
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    got = {}
    want = 'tlsbroker_worker_open_connections{worker="'
    for line in text.splitlines():
        if line.startswith(want):
            w, v = line[len(want):].split('"} ')
            got[int(w)] = int(float(v))
    return got


def wait_counts(args, ok):
    end = time.monotonic() + WAIT_S
    got = counts(args)
    while not ok(got) and time.monotonic() < end:
        time.sleep(0.02)
        got = counts(args)
    return got


def open_one(args, ctx, held):
    """Opens one connection; returns the worker that took it."""
    before = counts(args)
    total = sum(before.values())
    raw = socket.create_connection(("127.0.0.1", args.port), timeout=WAIT_S)
    conn = ctx.wrap_socket(raw, server_hostname=args.host)
    after = wait_counts(args, lambda c: sum(c.values()) == total + 1)
    grew = [w for w in after if after[w] > before.get(w, 0)]
    if len(grew) != 1:
        raise RuntimeError("no single worker took the connection: %r -> %r"
                           % (before, after))
    held.append((grew[0], conn))
    return grew[0]


def report(phase, got, ok):
    print(json.dumps({"phase": phase, "workers": got, "ok": ok}))
    return ok


def spread_ok(got):
    return len(got) >= 2 and max(got.values()) - min(got.values()) <= MARGIN


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--admin", type=int, required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--conns", type=int, default=24)
    ap.add_argument("--open-only", action="store_true")
    args = ap.parse_args()
    ctx = ssl.create_default_context(cafile=args.ca)
    held = []

    for _ in range(args.conns):
        open_one(args, ctx, held)
    got = counts(args)
    if not report("open", got, spread_ok(got)):
        return 1
    if args.open_only:
        return 0

    emptied = min(got, key=lambda w: got[w])
    for w, conn in [h for h in held if h[0] == emptied]:
        conn.close()
    held = [h for h in held if h[0] != emptied]
    got = wait_counts(args, lambda c: c.get(emptied) == 0)
    if not report("emptied", got, got.get(emptied) == 0):
        return 1

    for _ in range(max(got.values())):
        open_one(args, ctx, held)
    got = counts(args)
    ok = report("refill", got, spread_ok(got))
    for _, conn in held:
        conn.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
