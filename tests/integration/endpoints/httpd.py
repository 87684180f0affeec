#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# HTTP endpoint for the http-mode integration tests: a small, deliberately
# literal HTTP server on raw sockets (so every byte it sends and every
# framing decision is under the test's control).  Binds 127.0.0.1 only, one
# thread per connection, and logs on stdout:
#   "<t> conn N from 127.0.0.1:PORT"           per accepted connection
#   "<t> conn N req M METHOD TARGET len=L sha256=H te=T cl=C expect=E"
#                                              per complete request
#   "<t> conn N ..."                           closes, drops, errors
# so tests count connections (lib.sh's ep_conns) and requests (grep).
#
# Every answer names the endpoint (X-Name), its connection number (X-Conn)
# and the request number on that connection (X-Req).  The default answer is
# 200 with a JSON body echoing what arrived:
#   {"name", "conn", "req", "method", "target", "version",
#    "headers": [[name, value], ...], "body_len", "body_sha256", "te", "cl"}
# Paths with a fixed behaviour (matched on the path without query):
#   /status/NNN   answer NNN (204 and 304 carry no body, 304 has an ETag)
#   /truncate     "Content-Length: 1000", 100 bytes of body, then close
#   /badcl        two different Content-Length fields (invalid HTTP)
#   /nospace/N    200 with 90 fields written "Name:value" (no space), the
#                 values padded to N bytes
#   /hang         read the request, never answer (hold up to 120 s)
#   /answer-close the default answer, framed for keep-alive, then a close
#                 without warning (an endpoint that drops connections)
#   /delay/MS...  wait MS milliseconds, then the default answer (a request
#                 in flight for a known time, e.g. across SIGTERM)
#
# Options:
#   --http10       behave as an HTTP/1.0 server: answer "HTTP/1.0" with a
#                  close-delimited body (no Content-Length), close after
#                  every response, and do not understand Transfer-Encoding
#                  (a chunked body is not read: body_len 0, te logged)
#   --continue     answer "Expect: 100-continue" with an interim 100 before
#                  reading the body (default: ignore Expect, wait for it)
#   --idle-close S close a keep-alive connection idle for S seconds
#   --drop-nth N   the Nth request on each connection is read completely,
#                  then the connection is closed without an answer: the
#                  stale keep-alive race made deterministic

import argparse
import hashlib
import json
import socket
import sys
import threading
import time

log_lock = threading.Lock()


def log(msg):
    with log_lock:
        sys.stdout.write("%.3f %s\n" % (time.time(), msg))
        sys.stdout.flush()


class Closed(Exception):
    pass


class IdleTimeout(Exception):
    pass


class Conn:
    def __init__(self, sock):
        self.s = sock
        self.buf = b""

    def fill(self):
        d = self.s.recv(65536)
        if not d:
            raise Closed()
        self.buf += d

    def read_head(self, idle):
        # idle: seconds to wait for the first byte of the next request.
        if not self.buf:
            self.s.settimeout(idle)
            try:
                self.fill()
            except socket.timeout:
                raise IdleTimeout()
            finally:
                self.s.settimeout(60)
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 1 << 20:
                raise ValueError("head too large")
            self.fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return head

    def read_exact(self, n):
        while len(self.buf) < n:
            self.fill()
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def read_line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def read_chunked(self):
        body = bytearray()
        while True:
            ln = self.read_line().split(b";", 1)[0].strip()
            n = int(ln, 16)
            if n == 0:
                while self.read_line() != b"":
                    pass	# trailers
                return bytes(body)
            body += self.read_exact(n)
            if self.read_exact(2) != b"\r\n":
                raise ValueError("chunk not followed by CRLF")


def parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    hdrs = []
    for ln in lines[1:]:
        name, value = ln.split(":", 1)
        hdrs.append([name, value.strip()])
    return method, target, version, hdrs


def hget(hdrs, name):
    for k, v in hdrs:
        if k.lower() == name:
            return v
    return None


def send_response(c, args, cid, rid, method, status, reason, extra, body,
                  keep):
    h10 = args.http10
    out = "%s %d %s\r\n" % ("HTTP/1.0" if h10 else "HTTP/1.1", status,
                             reason)
    out += "X-Name: %s\r\nX-Conn: %d\r\nX-Req: %d\r\n" % (args.name, cid, rid)
    for k, v in extra:
        out += "%s: %s\r\n" % (k, v)
    nobody = status in (204, 304) or 100 <= status < 200
    if not nobody and not h10:
        out += "Content-Length: %d\r\n" % len(body)
    if h10 or not keep:
        out += "Connection: close\r\n"
    out += "\r\n"
    data = out.encode("latin-1")
    if not nobody and method != "HEAD":
        data += body
    c.s.sendall(data)


def finish(s):
    # FIN, then wait for the peer's close so unread data never turns our
    # close into a RST.
    try:
        s.shutdown(socket.SHUT_WR)
        s.settimeout(10)
        while s.recv(65536):
            pass
    except OSError:
        pass
    finally:
        s.close()


def serve(sock, peer, cid, args):
    log("conn %d from %s:%d" % (cid, peer[0], peer[1]))
    c = Conn(sock)
    rid = 0
    try:
        while True:
            try:
                head = c.read_head(args.idle_close)
            except IdleTimeout:
                log("conn %d: idle close after %.1fs" % (cid, args.idle_close))
                sock.close()
                return
            except Closed:
                log("conn %d: closed by peer after %d requests" % (cid, rid))
                sock.close()
                return
            rid += 1
            method, target, version, hdrs = parse_head(head)
            te = hget(hdrs, "transfer-encoding")
            cl = hget(hdrs, "content-length")
            expect = hget(hdrs, "expect")
            if (expect is not None and expect.lower() == "100-continue" and
                    args.cont and not args.http10):
                sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                log("conn %d req %d: sent 100 Continue" % (cid, rid))
            if te is not None and not args.http10:
                body = c.read_chunked()
            elif cl is not None:
                body = c.read_exact(int(cl))
            else:
                body = b""
            sha = hashlib.sha256(body).hexdigest()
            log("conn %d req %d %s %s len=%d sha256=%s te=%s cl=%s expect=%s"
                % (cid, rid, method, target, len(body), sha, te or "-",
                   cl or "-", expect or "-"))
            if args.drop_nth and rid == args.drop_nth:
                log("conn %d req %d: dropped without an answer" % (cid, rid))
                sock.close()
                return
            keep = not args.http10 and \
                (hget(hdrs, "connection") or "").lower() != "close"
            path = target.split("?", 1)[0]
            if path.startswith("/status/"):
                st = int(path[8:11])
                extra = [("ETag", '"tb1"')] if st == 304 else []
                body = b"" if st in (204, 304) else \
                    ("status %d from %s\n" % (st, args.name)).encode()
                send_response(c, args, cid, rid, method, st, "Status", extra,
                              body, keep)
            elif path == "/truncate":
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n"
                             b"X-Name: " + args.name.encode() + b"\r\n\r\n" +
                             b"t" * 100)
                log("conn %d req %d: truncated after 100 of 1000 bytes"
                    % (cid, rid))
                time.sleep(0.2)
                sock.close()
                return
            elif path.startswith("/nospace/"):
                # 90 fields written "Name:value", no space after the colon
                # (valid HTTP, and what some old servers send), each value
                # padded to the given length
                pad = int(path[9:] or "1")
                fields = "".join("X-F%d:%s\r\n" % (i, ("v%d" % i).ljust(pad, "v"))
                                 for i in range(90))
                sock.sendall(("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n%s"
                              "\r\nok" % fields).encode())
                log("conn %d req %d: sent 90 fields without spaces"
                    % (cid, rid))
            elif path == "/badcl":
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                             b"Content-Length: 6\r\n\r\nhello!")
                log("conn %d req %d: sent two Content-Length" % (cid, rid))
                finish(sock)
                return
            elif path == "/hang":
                log("conn %d req %d: hanging" % (cid, rid))
                sock.settimeout(120)
                try:
                    while sock.recv(65536):
                        pass
                except OSError:
                    pass
                log("conn %d: hang ended" % cid)
                sock.close()
                return
            else:
                if path.startswith("/delay/"):
                    ms = int("".join(ch for ch in path[7:].split("/")[0]
                                     if ch.isdigit()) or "0")
                    time.sleep(ms / 1000.0)
                    log("conn %d req %d: answering after %d ms"
                        % (cid, rid, ms))
                doc = {"name": args.name, "conn": cid, "req": rid,
                       "method": method, "target": target,
                       "version": version, "headers": hdrs,
                       "body_len": len(body), "body_sha256": sha,
                       "te": te, "cl": cl}
                if path == "/answer-close":
                    # The answer and the FIN leave in one segment, so the
                    # broker sees the close with the answer whenever this
                    # thread runs next (a loaded machine can hold it back
                    # for milliseconds between a send and a shutdown).
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
                send_response(c, args, cid, rid, method, 200, "OK",
                              [("Content-Type", "application/json")],
                              (json.dumps(doc) + "\n").encode(), keep)
                if path == "/answer-close":
                    sock.shutdown(socket.SHUT_WR)
            if not keep or path == "/answer-close":
                log("conn %d: closing after request %d" % (cid, rid))
                finish(sock)
                return
    except (OSError, ValueError, Closed) as e:
        log("conn %d: error %s: %s" % (cid, type(e).__name__, e))
        try:
            sock.close()
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--name", default="httpd")
    ap.add_argument("--http10", action="store_true")
    ap.add_argument("--continue", dest="cont", action="store_true")
    ap.add_argument("--idle-close", type=float, default=300)
    ap.add_argument("--drop-nth", type=int, default=0)
    args = ap.parse_args()

    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", args.port))
    ls.listen(128)
    log("listening on 127.0.0.1:%d%s" % (args.port,
                                         " http/1.0" if args.http10 else ""))
    cid = 0
    while True:
        conn, peer = ls.accept()
        cid += 1
        threading.Thread(target=serve, args=(conn, peer, cid, args),
                         daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
