#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# HTTPS client for the reload and drain tests: talks HTTP/1.1 to the broker
# on 127.0.0.1 (SNI and verified name --sni, test CA --ca) and reports what
# came back.  Only 127.0.0.1 is ever touched.
#
#   httpload.py probe --port P PATH...
#       one fresh connection, the paths as keep-alive requests on it; prints
#       "cert <CN of the broker's certificate>" then "<path> <status>
#       <X-Name or -> c<N>" per path, N counting the connections used
#       (status "error:<text>" if a request failed).  A path "WAIT" holds
#       the connection: creates --ready-file, waits (up to 60 s) until
#       --go-file exists, and prints "idle-closed" if the broker closed
#       the connection meanwhile; a request on a connection the broker
#       closed is retried once on a new one (N grows).
#   httpload.py load --port P --paths A,B --stop-file F --out J
#       until F exists (or --max-seconds passed): --fresh threads making one
#       connection per request and --keepalive threads reusing theirs, each
#       cycling through the paths; every request must get a 200.  Writes a
#       JSON summary to J: requests, ok, failed, failures (the first 20, with
#       path, connection kind and error), statuses, names seen per path,
#       certificate CNs seen, stale_retries.  A keep-alive request that
#       fails before any byte of a response on a connection that already
#       carried one is retried once on a new connection, as curl and
#       browsers do (RFC 9112, 9.3.1); such retries are counted, not failed.
#       Exit 0 when every request got a 200, else 1.

import argparse
import http.client
import json
import os
import select
import socket
import ssl
import sys
import threading
import time


STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
         ssl.SSLEOFError, ssl.SSLZeroReturnError)


class Conn(http.client.HTTPSConnection):
    # Connects to 127.0.0.1 whatever the Host/SNI name is.
    def __init__(self, sni, port, ctx, timeout):
        super().__init__(sni, port, context=ctx, timeout=timeout)
        self.sni = sni

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(s, server_hostname=self.sni)

    def cert_cn(self):
        if self.sock is None:
            return None
        for rdn in self.sock.getpeercert().get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    return v
        return None


def make_ctx(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(args.ca)
    return ctx


def request(conn, path):
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    return r.status, r.getheader("X-Name"), body, r.will_close


def closed_while_idle(c):
    # Readable while no request is outstanding: EOF or close_notify.
    if c.sock is None:
        return True
    r, _w, _x = select.select([c.sock], [], [], 0)
    return bool(r)


def cmd_probe(args):
    ctx = make_ctx(args)
    c = Conn(args.sni, args.port, ctx, args.timeout)
    nconn = 1
    try:
        c.connect()
        print("cert %s" % c.cert_cn())
    except (OSError, ssl.SSLError) as e:
        print("cert error:%s" % str(e).replace(" ", "_"))
        return 1
    rc = 0
    for p in args.paths:
        if p == "WAIT":
            sys.stdout.flush()
            open(args.ready_file, "w").close()
            end = time.monotonic() + 60
            while not os.path.exists(args.go_file):
                if time.monotonic() > end:
                    print("WAIT timeout")
                    return 1
                time.sleep(0.02)
            if closed_while_idle(c):
                print("idle-closed")
            continue
        for attempt in (1, 2):
            try:
                if c.sock is None:
                    c.connect()
                    nconn += 1
                st, name, _body, _close = request(c, p)
                print("%s %d %s c%d" % (p, st, name or "-", nconn))
                break
            except (OSError, http.client.HTTPException, ssl.SSLError) as e:
                c.close()
                if attempt == 1 and isinstance(e, STALE):
                    continue
                print("%s error:%s - c%d" % (p, type(e).__name__, nconn))
                rc = 1
    c.close()
    sys.stdout.flush()
    return rc


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.ok = 0
        self.failures = []
        self.nfailed = 0
        self.statuses = {}
        self.names = {}
        self.certs = {}
        self.stale_retries = 0

    def add(self, path, kind, status, name, err=None):
        with self.lock:
            self.requests += 1
            key = str(status) if err is None else "error"
            self.statuses[key] = self.statuses.get(key, 0) + 1
            if err is None and status == 200:
                self.ok += 1
                self.names.setdefault(path, {})
                self.names[path][name or "-"] = \
                    self.names[path].get(name or "-", 0) + 1
                return
            self.nfailed += 1
            if len(self.failures) < 20:
                self.failures.append({"path": path, "kind": kind,
                                      "status": status, "error": err,
                                      "t": round(time.time(), 3)})

    def cert(self, cn):
        with self.lock:
            self.certs[cn or "-"] = self.certs.get(cn or "-", 0) + 1


def worker(args, ctx, stats, keepalive, idx, stop):
    paths = args.paths.split(",")
    kind = "keepalive" if keepalive else "fresh"
    c = Conn(args.sni, args.port, ctx, args.timeout)
    used = False	# the open connection already carried a response
    i = idx
    while not stop():
        path = paths[i % len(paths)]
        i += 1
        for attempt in (1, 2):
            try:
                if c.sock is None:
                    c.connect()
                    used = False
                    stats.cert(c.cert_cn())
                st, name, _body, will_close = request(c, path)
                stats.add(path, kind, st, name)
                used = True
                if will_close or not keepalive:
                    c.close()
                break
            except (OSError, http.client.HTTPException, ssl.SSLError) as e:
                stale = keepalive and used and attempt == 1 and \
                    isinstance(e, STALE)
                c.close()
                used = False
                if stale:
                    with stats.lock:
                        stats.stale_retries += 1
                    continue
                stats.add(path, kind, None, None,
                          "%s: %s" % (type(e).__name__, e))
                break
    c.close()


def cmd_load(args):
    ctx = make_ctx(args)
    stats = Stats()
    start = time.monotonic()

    def stop():
        return (os.path.exists(args.stop_file) or
                time.monotonic() - start > args.max_seconds)

    threads = []
    for k in range(args.fresh):
        threads.append(threading.Thread(
            target=worker, args=(args, ctx, stats, False, k, stop)))
    for k in range(args.keepalive):
        threads.append(threading.Thread(
            target=worker, args=(args, ctx, stats, True, k, stop)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    res = {"requests": stats.requests, "ok": stats.ok,
           "failed": stats.nfailed, "failures": stats.failures,
           "statuses": stats.statuses, "names": stats.names,
           "certs": stats.certs, "stale_retries": stats.stale_retries,
           "seconds": round(time.monotonic() - start, 3),
           "stopped_by": "file" if os.path.exists(args.stop_file)
           else "max-seconds"}
    with open(args.out + ".tmp", "w") as f:
        json.dump(res, f, sort_keys=True)
        f.write("\n")
    os.rename(args.out + ".tmp", args.out)
    return 0 if stats.nfailed == 0 and stats.requests > 0 else 1


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("probe", "load"):
        p = sub.add_parser(name)
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--sni", default="broker.test")
        p.add_argument("--ca", required=True)
        p.add_argument("--timeout", type=float, default=20)
    p = sub.choices["probe"]
    p.add_argument("paths", nargs="+")
    p.add_argument("--ready-file")
    p.add_argument("--go-file")
    p.set_defaults(fn=cmd_probe)
    p = sub.choices["load"]
    p.add_argument("--paths", required=True)
    p.add_argument("--stop-file", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--max-seconds", type=float, default=40)
    p.add_argument("--fresh", type=int, default=2)
    p.add_argument("--keepalive", type=int, default=1)
    p.set_defaults(fn=cmd_load)
    args = ap.parse_args()
    sys.exit(args.fn(args))


if __name__ == "__main__":
    main()
