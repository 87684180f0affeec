#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Test endpoints written in Python, for the tcp-mode integration tests.  Each
# binds 127.0.0.1 only, serves every connection in its own thread and logs one
# line per accepted connection ("conn N from IP:PORT") and per finished
# command on stdout, so tests can assert what the endpoint saw.
#
# Modes:
#   hash       byte-exact relay protocol (below), optionally over TLS
#   http       minimal HTTP/1.0 server: any request -> 200 "hello from NAME\n"
#   rst        reads the first TLS record (the ClientHello), then RST
#              (SO_LINGER 0): the "forcibly closed" endpoint
#   blackhole  accepts and reads, never answers
#   synfull    never accepts: its one-slot accept queue is filled by its own
#              connection, so the kernel drops further SYNs and a connect
#              to it gets no answer (a firewall that drops, a hung host)
#
# hash protocol (the client speaks first, one command per connection):
#   'U' len:u64be data[len]   -> "<sha256 hex> <len>\n", then close
#   'D' len:u64be seed:u64be  -> len bytes of stream(seed), then close
#   'H' data... EOF           -> after the client's EOF (half-close):
#                                "<sha256 hex> <count>\n", then close
#   'W'                       -> "<name>\n", then close
# U and D never need the client to half-close its side, so they work with
# any TLS client; H tests half-close propagation.  stream(seed) is
# random.Random(seed).randbytes() in 64 KiB blocks (see tlsclient.py).

import argparse
import hashlib
import random
import socket
import ssl
import struct
import sys
import threading
import time

BLOCK = 65536
log_lock = threading.Lock()


def log(msg):
    with log_lock:
        sys.stdout.write("%.3f %s\n" % (time.time(), msg))
        sys.stdout.flush()


def stream_blocks(seed, n):
    rnd = random.Random(seed)
    while n > 0:
        b = rnd.randbytes(min(BLOCK, n))
        n -= len(b)
        yield b


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        d = s.recv(min(n - len(buf), 1 << 20))
        if not d:
            raise EOFError("EOF after %d of %d bytes" % (len(buf), n))
        buf += d
    return bytes(buf)


def finish(s, tls):
    # Close gracefully: close_notify (TLS) or FIN, then wait for the peer's
    # EOF so unread data never turns our close into a RST.
    try:
        if tls:
            s.settimeout(10)
            s = s.unwrap()
        s.shutdown(socket.SHUT_WR)
        s.settimeout(10)
        while s.recv(65536):
            pass
    except (OSError, ValueError, ssl.SSLError):
        pass
    finally:
        try:
            s.close()
        except OSError:
            pass


def serve_hash(s, cid, args, tls):
    cmd = s.recv(1)
    if not cmd:
        log("conn %d: EOF before command" % cid)
        return
    if cmd == b"U":
        (n,) = struct.unpack(">Q", recv_exact(s, 8))
        h = hashlib.sha256()
        got = 0
        while got < n:
            d = s.recv(min(n - got, 1 << 20))
            if not d:
                log("conn %d: U EOF after %d of %d bytes" % (cid, got, n))
                return
            h.update(d)
            got += len(d)
        s.sendall(("%s %d\n" % (h.hexdigest(), n)).encode())
        log("conn %d: U %d %s" % (cid, n, h.hexdigest()))
    elif cmd == b"D":
        n, seed = struct.unpack(">QQ", recv_exact(s, 16))
        for b in stream_blocks(seed, n):
            s.sendall(b)
        log("conn %d: D %d seed %d" % (cid, n, seed))
    elif cmd == b"H":
        h = hashlib.sha256()
        got = 0
        while True:
            d = s.recv(1 << 20)
            if not d:
                break
            h.update(d)
            got += len(d)
        log("conn %d: H EOF after %d %s" % (cid, got, h.hexdigest()))
        s.sendall(("%s %d\n" % (h.hexdigest(), got)).encode())
        log("conn %d: H replied" % cid)
    elif cmd == b"W":
        s.sendall((args.name + "\n").encode())
        log("conn %d: W" % cid)
    else:
        log("conn %d: unknown command %r" % (cid, cmd))
        return
    finish(s, tls)


def serve_http(s, cid, args, tls):
    buf = b""
    while b"\r\n\r\n" not in buf and len(buf) < 65536:
        d = s.recv(4096)
        if not d:
            log("conn %d: EOF in request head" % cid)
            return
        buf += d
    line = buf.split(b"\r\n", 1)[0].decode("latin-1")
    body = ("hello from %s\n" % args.name).encode()
    s.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
              b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
              % (len(body), body))
    log("conn %d: http %s" % (cid, line))
    finish(s, tls)


def serve_rst(s, cid, args, tls):
    hdr = recv_exact(s, 5)
    (ln,) = struct.unpack(">H", hdr[3:5])
    recv_exact(s, ln)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    log("conn %d: RST after ClientHello record (%d bytes)" % (cid, 5 + ln))
    s.close()


def serve_blackhole(s, cid, args, tls):
    s.settimeout(300)
    total = 0
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            total += len(d)
    except OSError:
        pass
    log("conn %d: blackhole done after %d bytes" % (cid, total))
    s.close()


def serve_synfull(ls, port):
    ls.listen(0)
    filler = socket.create_connection(("127.0.0.1", port), timeout=5)
    log("listening on 127.0.0.1:%d mode synfull: backlog full" % port)
    while True:
        time.sleep(3600)
    filler.close()


MODES = {"hash": serve_hash, "http": serve_http, "rst": serve_rst,
         "blackhole": serve_blackhole}
TLSVER = {"1.0": ssl.TLSVersion.TLSv1, "1.1": ssl.TLSVersion.TLSv1_1,
          "1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def handle(conn, peer, cid, args, ctx):
    log("conn %d from %s:%d" % (cid, peer[0], peer[1]))
    try:
        if ctx is not None:
            conn.settimeout(30)
            conn = ctx.wrap_socket(conn, server_side=True)
            conn.settimeout(None)
            log("conn %d: tls %s %s" % (cid, conn.version(),
                                        conn.cipher()[0]))
        MODES[args.mode](conn, cid, args, ctx is not None)
    except (OSError, EOFError, ssl.SSLError, struct.error) as e:
        log("conn %d: error %s: %s" % (cid, type(e).__name__, e))
        try:
            conn.close()
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=sorted(MODES) + ["synfull"])
    ap.add_argument("port", type=int)
    ap.add_argument("--name", default="endpoint")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--tls-min", choices=sorted(TLSVER))
    ap.add_argument("--tls-max", choices=sorted(TLSVER))
    ap.add_argument("--ciphers")
    args = ap.parse_args()

    ctx = None
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if args.ciphers:
            ctx.set_ciphers(args.ciphers)
        if args.tls_min:
            ctx.minimum_version = TLSVER[args.tls_min]
        if args.tls_max:
            ctx.maximum_version = TLSVER[args.tls_max]
        ctx.load_cert_chain(args.tls_cert, args.tls_key)

    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", args.port))
    if args.mode == "synfull":
        serve_synfull(ls, args.port)
        return
    ls.listen(64)
    log("listening on 127.0.0.1:%d mode %s%s" %
        (args.port, args.mode, " tls" if ctx else ""))
    cid = 0
    while True:
        conn, peer = ls.accept()
        cid += 1
        threading.Thread(target=handle, args=(conn, peer, cid, args, ctx),
                         daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
