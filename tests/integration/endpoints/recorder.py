#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# A recording HTTP/1.1 origin for the smuggling and logging tests: it keeps
# exactly the bytes each connection brought and every request it parsed
# out of them, so a test can say what an endpoint behind the broker saw,
# byte for byte.  It parses the way a typical backend does (chunked if
# Transfer-Encoding names it, else Content-Length, else no body) and never
# looks at Connection options: a body the broker forwarded without its
# framing becomes the next request here, as it would in nginx or node.
#
#   recorder.py serve PORT --dir DIR [--name NAME]
#       Binds 127.0.0.1:PORT.  DIR/conn-N.raw gets every byte of
#       connection N; DIR/requests.jsonl one JSON object per request:
#       {"conn", "req", "method", "target", "version",
#        "headers": [[name, value], ...], "body_len", "body"}.
#       stdout: "<t> conn N from 127.0.0.1:PORT" per connection.
#       Answers 200 with Content-Length and a JSON body (the same object
#       without "body"), kept alive; these paths answer otherwise:
#         /conn-cl     "Connection: Content-Length" with a Content-Length
#         /conn-te     chunked with "Connection: close, Transfer-Encoding"
#         /te-gzip     "Transfer-Encoding: gzip, chunked"
#         /cl-spelled  "Content-Length: 0005" (leading zeros)
#   recorder.py requests DIR     number of requests parsed
#   recorder.py req DIR N        request N (from 1) as JSON
#   recorder.py bytes DIR        bytes received over all connections
#   recorder.py raw DIR N        connection N's bytes, as a Python literal

import argparse
import json
import os
import socket
import sys
import threading
import time

lock = threading.Lock()


def log(msg):
    with lock:
        sys.stdout.write("%.3f %s\n" % (time.time(), msg))
        sys.stdout.flush()


class Conn:
    def __init__(self, sock, raw):
        self.s, self.raw, self.buf = sock, raw, b""

    def fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError()
        self.raw.write(d)
        self.raw.flush()
        self.buf += d

    def until(self, sep):
        while sep not in self.buf:
            self.fill()
        d, _, self.buf = self.buf.partition(sep)
        return d

    def take(self, n):
        while len(self.buf) < n:
            self.fill()
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def chunked(self):
        body = b""
        while True:
            n = int(self.until(b"\r\n").split(b";")[0].strip(), 16)
            if n == 0:
                while self.until(b"\r\n"):
                    pass
                return body
            body += self.take(n)
            self.take(2)


def field(hdrs, name):
    for k, v in hdrs:
        if k.lower() == name:
            return v
    return None


FIXED = {
    "/conn-cl": b"HTTP/1.1 200 OK\r\nConnection: Content-Length\r\n"
                b"Content-Length: 5\r\n\r\nhello",
    "/conn-te": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                b"Connection: close, Transfer-Encoding\r\n\r\n"
                b"5\r\nhello\r\n0\r\n\r\n",
    "/te-gzip": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                b"5\r\nhello\r\n0\r\n\r\n",
    "/cl-spelled": b"HTTP/1.1 200 OK\r\nContent-Length: 0005\r\n\r\nhello",
}


def serve_conn(sock, peer, cid, args):
    log("conn %d from %s:%d" % (cid, peer[0], peer[1]))
    raw = open(os.path.join(args.dir, "conn-%d.raw" % cid), "wb")
    c = Conn(sock, raw)
    rid = 0
    try:
        while True:
            head = c.until(b"\r\n\r\n").decode("latin-1")
            while head.startswith("\r\n"):
                head = head[2:]
            lines = head.split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) != 3:
                sock.sendall(b"HTTP/1.1 400 Bad Request\r\n"
                             b"Content-Length: 0\r\nConnection: close\r\n\r\n")
                log("conn %d: bad request line %r" % (cid, lines[0]))
                return
            method, target, version = parts
            hdrs = []
            for ln in lines[1:]:
                k, _, v = ln.partition(":")
                hdrs.append([k, v.strip()])
            te = (field(hdrs, "transfer-encoding") or "").lower()
            if "chunked" in te:
                body = c.chunked()
            else:
                body = c.take(int(field(hdrs, "content-length") or 0))
            rid += 1
            rec = {"conn": cid, "req": rid, "method": method,
                   "target": target, "version": version, "headers": hdrs,
                   "body_len": len(body)}
            with lock:
                with open(os.path.join(args.dir, "requests.jsonl"), "a") as f:
                    f.write(json.dumps(dict(rec, body=body.decode("latin-1")))
                            + "\n")
            log("conn %d req %d %s %s" % (cid, rid, method, target))
            path = target.split("?")[0]
            if path in FIXED:
                sock.sendall(FIXED[path])
                continue
            out = json.dumps(dict(rec, name=args.name)).encode()
            resp = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(out))
            sock.sendall(resp + (out if method != "HEAD" else b""))
    except (EOFError, OSError, ValueError) as e:
        log("conn %d: end after %d requests (%s)" % (cid, rid,
                                                   type(e).__name__))
    finally:
        raw.close()
        sock.close()


def cmd_serve(args):
    os.makedirs(args.dir, exist_ok=True)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", args.port))
    ls.listen(64)
    cid = 0
    while True:
        s, peer = ls.accept()
        cid += 1
        threading.Thread(target=serve_conn, args=(s, peer, cid, args),
                         daemon=True).start()


def requests(d):
    p = os.path.join(d, "requests.jsonl")
    if not os.path.exists(p):
        return []
    with open(p) as f:
        return [json.loads(ln) for ln in f if ln.strip()]


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("serve")
    p.add_argument("port", type=int)
    p.add_argument("--dir", required=True)
    p.add_argument("--name", default="recorder")
    for name in ("requests", "bytes"):
        sub.add_parser(name).add_argument("dir")
    for name in ("req", "raw"):
        p = sub.add_parser(name)
        p.add_argument("dir")
        p.add_argument("n", type=int)
    args = ap.parse_args()
    if args.cmd == "serve":
        return cmd_serve(args)
    if args.cmd == "requests":
        print(len(requests(args.dir)))
    elif args.cmd == "req":
        rs = requests(args.dir)
        if not 1 <= args.n <= len(rs):
            print("no request %d (of %d)" % (args.n, len(rs)))
            return 1
        print(json.dumps(rs[args.n - 1]))
    elif args.cmd == "bytes":
        n = 0
        if os.path.isdir(args.dir):
            for f in os.listdir(args.dir):
                if f.endswith(".raw"):
                    n += os.path.getsize(os.path.join(args.dir, f))
        print(n)
    elif args.cmd == "raw":
        with open(os.path.join(args.dir, "conn-%d.raw" % args.n), "rb") as f:
            print(repr(f.read()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
