#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The client side of the HA test (35-keepalived-ha.sh).
#
#   haloop.py loop --host VIP --port P --ca CA --out FILE --stop FILE
#       One request after another, each on a new TLS connection (SNI and
#       Host web.broker.test, 1 s timeout for the whole exchange), paced
#       20 ms apart, until the stop file exists.  One JSON line per
#       attempt: {"t0", "t1" (wall ms), "ok", "node" (the X-Name of the
#       httpd.py that answered), "error"}.
#   haloop.py wait FILE --node N --count C --after MS [--timeout S] [--pid P]
#       Until FILE holds C answers from node N that started after MS.
#   haloop.py report FILE --event NAME=MS... [--end MS]
#       For each event: the first answer from another node than the one
#       that answered last before it (the failover), its delay, and the
#       attempts and failures from the event to the next one.  Prints one
#       JSON object per event.

import argparse
import json
import os
import socket
import ssl
import sys
import time


def now_ms():
    return int(time.time() * 1000)


def one(host, port, ctx):
    t0 = now_ms()
    rec = {"t0": t0, "ok": False, "node": None, "error": None}
    try:
        with socket.create_connection((host, port), timeout=1) as s:
            s.settimeout(1)
            with ctx.wrap_socket(s, server_hostname="web.broker.test") as t:
                t.sendall(b"GET /ha HTTP/1.1\r\nHost: web.broker.test\r\n"
                          b"Connection: close\r\n\r\n")
                data = b""
                while True:
                    chunk = t.recv(65536)
                    if not chunk:
                        break
                    data += chunk
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        if not data:
            rec["error"] = "EmptyResponse: closed after the handshake"
        elif not head[0].startswith("HTTP/1.1 200"):
            rec["error"] = "Status: " + head[0]
        else:
            for line in head[1:]:
                k, _, v = line.partition(":")
                if k.lower() == "x-name":
                    rec["node"] = v.strip()
            rec["ok"] = rec["node"] is not None
    except (OSError, ssl.SSLError) as e:
        rec["error"] = "%s: %s" % (type(e).__name__, e)
    rec["t1"] = now_ms()
    return rec


def cmd_loop(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(a.ca)
    with open(a.out, "a") as f:
        while not os.path.exists(a.stop):
            f.write(json.dumps(one(a.host, a.port, ctx)) + "\n")
            f.flush()
            time.sleep(0.02)    # pacing, so the loop does not take a core


def records(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                if line.endswith("\n"):
                    out.append(json.loads(line))
    except FileNotFoundError:
        pass
    return out


def alive(pid):
    if pid == 0:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(") ", 1)[1][0] not in "ZX"
    except OSError:
        return False


def cmd_wait(a):
    end = time.monotonic() + a.timeout
    while True:
        n = sum(1 for r in records(a.file)
                if r["ok"] and r["node"] == a.node and r["t0"] > a.after)
        if n >= a.count:
            return 0
        if time.monotonic() > end or not alive(a.pid):
            print("%d of %d answers from %s after %d (loop %s)" % (
                n, a.count, a.node, a.after,
                "alive" if alive(a.pid) else "dead"))
            return 1
        time.sleep(0.1)


def cmd_report(a):
    rs = records(a.file)
    events = []
    for e in a.event:
        name, _, ms = e.partition("=")
        events.append((name, int(ms)))
    events.sort(key=lambda x: x[1])
    for i, (name, t) in enumerate(events):
        end = events[i + 1][1] if i + 1 < len(events) else (a.end or 1 << 62)
        before = [r for r in rs if r["ok"] and r["t0"] < t]
        old = before[-1]["node"] if before else None
        span = [r for r in rs if t <= r["t0"] < end]
        new = [r for r in span if r["ok"] and r["node"] != old]
        res = {"event": name, "from": old, "attempts": len(span),
               "failed": sum(1 for r in span if not r["ok"])}
        if new:
            res["to"] = new[0]["node"]
            res["failover_ms"] = new[0]["t1"] - t
            res["failed_before_failover"] = sum(
                1 for r in span if not r["ok"] and r["t0"] < new[0]["t0"])
        errs = sorted({(r["error"] or "").split(":")[0] for r in span if not r["ok"]})
        res["errors"] = errs
        print(json.dumps(res, sort_keys=True))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    lp = sub.add_parser("loop")
    lp.add_argument("--host", required=True)
    lp.add_argument("--port", type=int, required=True)
    lp.add_argument("--ca", required=True)
    lp.add_argument("--out", required=True)
    lp.add_argument("--stop", required=True)
    wp = sub.add_parser("wait")
    wp.add_argument("file")
    wp.add_argument("--node", required=True)
    wp.add_argument("--count", type=int, default=1)
    wp.add_argument("--after", type=int, default=0)
    wp.add_argument("--timeout", type=float, default=60)
    wp.add_argument("--pid", type=int, default=0)
    rp = sub.add_parser("report")
    rp.add_argument("file")
    rp.add_argument("--event", action="append", default=[])
    rp.add_argument("--end", type=int, default=0)
    a = ap.parse_args()
    return {"loop": cmd_loop, "wait": cmd_wait, "report": cmd_report}[a.cmd](a)


sys.exit(main())
