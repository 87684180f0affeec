#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Bulk endpoint and RSS sampler for 18-http-bulk.sh.

  bulk.py serve PORT      HTTP/1.1 keep-alive server on 127.0.0.1:PORT:
                          GET /bytes/N answers N bytes (a repeating pattern)
                          with Content-Length; POST/PUT with Content-Length
                          reads the body and answers "LEN SHA256".
  bulk.py pattern N       writes the same N bytes to stdout (for hashing).
  bulk.py rss PID FLAG    samples VmRSS of PID every 20 ms until FLAG exists
                          (at most 300 s), then prints the maximum in KiB.
"""
import hashlib
import os
import socketserver
import sys
import time
from http.server import BaseHTTPRequestHandler

BLOCK = bytes(range(256)) * 256          # 64 KiB


def pattern_chunks(n):
    while n > 0:
        k = min(n, len(BLOCK))
        yield BLOCK[:k]
        n -= k


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):   # one line per request on stderr
        sys.stderr.write("%s %s\n" % (self.command, self.path))

    def do_GET(self):
        if not self.path.startswith("/bytes/"):
            self.send_error(404)
            return
        n = int(self.path[len("/bytes/"):])
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(n))
        self.end_headers()
        for c in pattern_chunks(n):
            self.wfile.write(c)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        h = hashlib.sha256()
        got = 0
        while got < n:
            c = self.rfile.read(min(1 << 20, n - got))
            if not c:
                break
            h.update(c)
            got += len(c)
        body = ("%d %s\n" % (got, h.hexdigest())).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_PUT = do_POST


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    if sys.argv[1] == "serve":
        with Server(("127.0.0.1", int(sys.argv[2])), Handler) as srv:
            srv.serve_forever()
    elif sys.argv[1] == "pattern":
        out = sys.stdout.buffer
        for c in pattern_chunks(int(sys.argv[2])):
            out.write(c)
    elif sys.argv[1] == "rss":
        pid, flag = sys.argv[2], sys.argv[3]
        peak, deadline = 0, time.monotonic() + 300
        while not os.path.exists(flag) and time.monotonic() < deadline:
            try:
                with open("/proc/%s/status" % pid) as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            peak = max(peak, int(line.split()[1]))
            except OSError:
                break
            time.sleep(0.02)
        print(peak)


if __name__ == "__main__":
    main()
