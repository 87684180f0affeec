#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# HTTP clients for the http-mode integration tests, talking TLS (1.2+,
# verified against --ca and the host name) to the broker at
# 127.0.0.1:--port with --host as SNI and Host.  Prints JSON on stdout; exit
# status 0 when the run went as the command expects, 1 when not, 2 on usage
# errors.
#
# Commands:
#   seq REQ...     python3's http.client over ONE keep-alive connection;
#                  each REQ is "METHOD PATH" or "METHOD PATH @FILE" (body
#                  sent with Content-Length); --gap S waits S seconds
#                  between requests (the test's spacing, not a readiness
#                  wait).  Prints one JSON line per response (status,
#                  headers, body_len, body_sha256, body when short, sock:
#                  how many sockets were used so far), then a summary line
#                  {"connections": N, "responses": N}.  Fails when a
#                  request raised or http.client had to reconnect.
#   load           --clients C concurrent keep-alive clients (threads), each
#                  sending --requests R sequential GETs of --path; at most
#                  --max-inflight K requests in flight at once over all
#                  clients (0: no cap).  Prints {"ok": n, "errors": [...],
#                  "statuses": {...}, "connections": n}; fails on any error
#                  or non-200.
#   raw            --send TEXT (Python escapes: \r \n \x00) over TLS, in
#                  --parts pieces with --part-gap S between them, then
#                  reads until EOF or --timeout.  Prints {"status",
#                  "headers", "body", "end": eof|timeout|reset, "after"}.
#                  Exit 0 whenever the exchange ran (assert in the test).

import argparse
import codecs
import hashlib
import http.client
import json
import socket
import ssl
import sys
import threading
import time


def make_ctx(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(args.ca)
    return ctx


class Conn(http.client.HTTPSConnection):
    # Connects to 127.0.0.1 whatever the host name; SNI and Host are the
    # name.  Counts the sockets it opened, to prove keep-alive.
    def __init__(self, host, port, ctx, timeout):
        super().__init__(host, port, context=ctx, timeout=timeout)
        self.opened = 0
        self.ctx = ctx

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        # As http.client's own connect(): head and body go out as separate
        # writes, which Nagle would hold for a delayed ACK.
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self.ctx.wrap_socket(s, server_hostname=self.host)
        self.opened += 1


def describe(resp, body):
    d = {"status": resp.status, "reason": resp.reason,
         "headers": [[k, v] for k, v in resp.getheaders()],
         "body_len": len(body),
         "body_sha256": hashlib.sha256(body).hexdigest()}
    if len(body) <= 4096:
        d["body"] = body.decode("utf-8", "replace")
    return d


def cmd_seq(args):
    c = Conn(args.host, args.port, make_ctx(args), args.timeout)
    n = 0
    ok = True
    for i, spec in enumerate(args.reqs):
        if i and args.gap:
            time.sleep(args.gap)
        parts = spec.split(" ")
        method, path = parts[0], parts[1]
        body = None
        if len(parts) > 2 and parts[2].startswith("@"):
            with open(parts[2][1:], "rb") as f:
                body = f.read()
        try:
            c.request(method, path, body=body)
            resp = c.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as e:
            print(json.dumps({"req": spec, "error": "%s: %s" %
                              (type(e).__name__, e)}))
            ok = False
            c.close()
            continue
        n += 1
        d = describe(resp, data)
        d["req"] = spec
        d["sock"] = c.opened
        print(json.dumps(d))
        sys.stdout.flush()
    c.close()
    print(json.dumps({"connections": c.opened, "responses": n}))
    return 0 if ok and c.opened == 1 else 1


def cmd_load(args):
    ctx = make_ctx(args)
    sem = threading.Semaphore(args.max_inflight) if args.max_inflight else None
    lock = threading.Lock()
    res = {"ok": 0, "errors": [], "statuses": {}, "connections": 0}

    def client(k):
        c = Conn(args.host, args.port, ctx, args.timeout)
        for i in range(args.requests):
            if sem:
                sem.acquire()
            try:
                c.request("GET", "%s?c=%d&i=%d" % (args.path, k, i))
                resp = c.getresponse()
                resp.read()
                st = resp.status
                err = None
            except (OSError, http.client.HTTPException) as e:
                st = None
                err = "client %d request %d: %s: %s" % (k, i,
                                                        type(e).__name__, e)
                c.close()
            finally:
                if sem:
                    sem.release()
            with lock:
                if err:
                    res["errors"].append(err)
                else:
                    res["statuses"][str(st)] = res["statuses"].get(str(st),
                                                                   0) + 1
                    if st == 200:
                        res["ok"] += 1
        c.close()
        with lock:
            res["connections"] += c.opened

    ts = [threading.Thread(target=client, args=(k,))
          for k in range(args.clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(json.dumps(res, sort_keys=True))
    good = res["ok"] == args.clients * args.requests and not res["errors"]
    return 0 if good else 1


def parse_response(raw):
    d = {"status": None, "headers": [], "body": ""}
    if b"\r\n\r\n" not in raw:
        d["body"] = raw.decode("latin-1")
        return d
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    try:
        d["status"] = int(lines[0].split(" ")[1])
    except (IndexError, ValueError):
        pass
    d["status_line"] = lines[0]
    for ln in lines[1:]:
        if ":" in ln:
            k, v = ln.split(":", 1)
            d["headers"].append([k, v.strip()])
    d["body"] = body.decode("latin-1")
    return d


def cmd_raw(args):
    data = codecs.escape_decode(args.send.encode("latin-1"))[0]
    if args.pad:
        # Insert a header of --pad bytes before the end of the head.
        i = data.index(b"\r\n\r\n")
        data = data[:i] + b"\r\nX-Pad: " + b"a" * args.pad + data[i:]
    start = time.monotonic()
    s = socket.create_connection(("127.0.0.1", args.port), args.timeout)
    s = make_ctx(args).wrap_socket(s, server_hostname=args.host)
    step = max(1, (len(data) + args.parts - 1) // args.parts)
    try:
        for i in range(0, len(data), step):
            if i and args.part_gap:
                time.sleep(args.part_gap)
            s.sendall(data[i:i + step])
    except OSError as e:
        sent_err = "%s: %s" % (type(e).__name__, e)
    else:
        sent_err = None
    got = bytearray()
    end = None
    while end is None:
        try:
            d = s.recv(65536)
            if not d:
                end = "eof"
            got += d
        except socket.timeout:
            end = "timeout"
        except ssl.SSLError as e:
            end = "ssl error: %s" % e
        except OSError as e:
            end = "reset: %s" % e
    s.close()
    d = parse_response(bytes(got))
    d.update({"end": end, "after": round(time.monotonic() - start, 3),
              "received": len(got)})
    if sent_err:
        d["send_error"] = sent_err
    print(json.dumps(d))
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["seq", "load", "raw"])
    ap.add_argument("reqs", nargs="*")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("--gap", type=float, default=0)
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--requests", type=int, default=10)
    ap.add_argument("--max-inflight", type=int, default=0)
    ap.add_argument("--path", default="/")
    ap.add_argument("--send", default="")
    ap.add_argument("--pad", type=int, default=0)
    ap.add_argument("--parts", type=int, default=1)
    ap.add_argument("--part-gap", type=float, default=0)
    # Intermixed: the requests of seq come after the options.
    args = ap.parse_intermixed_args()
    fn = {"seq": cmd_seq, "load": cmd_load, "raw": cmd_raw}[args.cmd]
    try:
        sys.exit(fn(args))
    except (OSError, ssl.SSLError) as e:
        print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}))
        sys.exit(1)


if __name__ == "__main__":
    main()
