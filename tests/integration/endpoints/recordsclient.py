#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Sends HTTP/1.1 over TLS with control over records and TCP writes, to test
# that the broker reads every TLS record that reaches it at once.  The TLS
# layer is an ssl.SSLObject over memory BIOs: each request (and each body
# piece) becomes its own TLS record, and all of them leave in ONE send() on
# the socket, so the broker's first read may take them all.
#
#   recordsclient.py --port P --ca CA --host NAME [--requests N]
#                    [--post-pieces K] [--timeout S]
#
# Sends N pipelined requests: GETs of /rec/I, or with --post-pieces K,
# POSTs of /echo whose body (K x 100 bytes) goes in K records.  Reads the
# N answers (Content-Length framing) and prints {"statuses": [...],
# "body_lens": [...], "end": "ok"|"timeout"|"eof"}; body_lens are what the
# endpoint (httpd.py, which answers with JSON) says it received.  Exit 0
# when every answer is 200 (and, for POSTs, the endpoint got the whole
# body), 1 otherwise.

import argparse
import json
import socket
import ssl
import sys
import time

from httpwire import read_response


class Tls:
    def __init__(self, sock, ctx, host, deadline):
        self.sock, self.deadline = sock, deadline
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_hostname=host)

    def _flush(self):
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def _fill(self):
        self.sock.settimeout(max(0.01, self.deadline - time.monotonic()))
        data = self.sock.recv(65536)
        if not data:
            self.inc.write_eof()
            raise EOFError()
        self.inc.write(data)

    def handshake(self):
        while True:
            try:
                self.obj.do_handshake()
                self._flush()
                return
            except ssl.SSLWantReadError:
                self._flush()
                self._fill()

    def send_records(self, pieces):
        for p in pieces:
            self.obj.write(p)          # one record per write
        self._flush()                  # all of them in one send()

    def recv(self):
        while True:
            try:
                return self.obj.read(65536)
            except ssl.SSLWantReadError:
                self._fill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--requests", type=int, default=3)
    ap.add_argument("--post-pieces", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=10)
    args = ap.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(args.ca)
    deadline = time.monotonic() + args.timeout
    sock = socket.create_connection(("127.0.0.1", args.port), args.timeout)
    tls = Tls(sock, ctx, args.host, deadline)
    tls.handshake()

    pieces, want_len = [], 0
    for i in range(args.requests):
        if args.post_pieces:
            want_len = 100 * args.post_pieces
            pieces.append(("POST /echo HTTP/1.1\r\nHost: %s\r\n"
                           "Content-Length: %d\r\n\r\n"
                           % (args.host, want_len)).encode())
            pieces += [bytes([65 + i % 26]) * 100] * args.post_pieces
        else:
            pieces.append(("GET /rec/%d HTTP/1.1\r\nHost: %s\r\n\r\n"
                           % (i, args.host)).encode())
    tls.send_records(pieces)

    statuses, bodies, end, buf = [], [], "ok", b""
    try:
        for _ in range(args.requests):
            status, body, buf = read_response(tls.recv, buf)
            statuses.append(status)
            try:
                bodies.append(json.loads(body).get("body_len"))
            except ValueError:
                bodies.append(None)
    except (socket.timeout, TimeoutError):
        end = "timeout"
    except (EOFError, ssl.SSLError, ConnectionError):
        end = "eof"
    print(json.dumps({"statuses": statuses, "body_lens": bodies, "end": end}))
    ok = end == "ok" and statuses == [200] * args.requests
    if ok and args.post_pieces:
        ok = bodies == [want_len] * args.requests
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
