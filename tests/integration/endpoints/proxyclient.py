#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# A client that speaks as a balancer would: it connects to the broker
# (from --source if given, an address on lo such as 127.0.0.2), sends a
# PROXY protocol header (v1 text or v2 binary, built here from --v1/--v2,
# or raw bytes), then does TLS and one HTTP/1.1 GET, and prints one JSON
# object: {"ok", "status", "xff", "forwarded", "error"}; xff and forwarded
# are the X-Forwarded-For and Forwarded fields httpd.py saw.  Exit 0 when a
# response came back, 1 when the connection failed (error says how).
#
#   --v1 SRC:PORT       "PROXY TCP4 SRC DST SPORT DPORT\r\n" (TCP6 for [v6]:port)
#   --v2 SRC:PORT       v2 PROXY command, with a NOOP TLV
#   --v2-local          v2 LOCAL command (a balancer's health check)
#   --raw TEXT          these bytes (Python escapes allowed, e.g. '\r\n')
#   --split             send the header a byte at a time, 5 ms apart
#   --hold              send the header only, then wait for the broker to
#                       close; prints {"closed": true, "ms": ...}

import argparse
import ipaddress
import json
import socket
import ssl
import struct
import sys
import time


def hostport(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def addrs(src, dst):
    """Both addresses in the caller's family (an IPv4 one mapped for TCP6)."""
    (sa, sp), (da, dp) = hostport(src), hostport(dst)
    s, d = ipaddress.ip_address(sa), ipaddress.ip_address(da)
    if s.version == 6 and d.version == 4:
        d = ipaddress.IPv6Address("::ffff:" + str(d))
    return s, sp, d, dp


def v1_header(src, dst):
    s, sp, d, dp = addrs(src, dst)
    fam = "TCP6" if s.version == 6 else "TCP4"
    return ("PROXY %s %s %s %d %d\r\n" % (fam, s, d, sp, dp)).encode()


def v2_header(src, dst, local=False):
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    if local:
        return sig + bytes([0x20, 0x00, 0, 0])
    s, sp, d, dp = addrs(src, dst)
    fam = 0x11 if s.version == 4 else 0x21
    body = s.packed + d.packed + struct.pack("!HH", sp, dp)
    body += b"\x04\x00\x01\x00"     # a NOOP TLV, which a receiver skips
    return sig + bytes([0x21, fam]) + struct.pack("!H", len(body)) + body


def out(obj, ok):
    obj["ok"] = ok
    print(json.dumps(obj, sort_keys=True))
    sys.exit(0 if ok else 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--source", default=None)
    ap.add_argument("--sni", default="web.broker.test")
    ap.add_argument("--ca", required=True)
    ap.add_argument("--path", default="/")
    ap.add_argument("--v1")
    ap.add_argument("--v2")
    ap.add_argument("--v2-local", action="store_true")
    ap.add_argument("--raw")
    ap.add_argument("--split", action="store_true")
    ap.add_argument("--hold", action="store_true")
    ap.add_argument("--timeout", type=float, default=10)
    a = ap.parse_args()

    dst = "%s:%d" % (a.host, a.port)
    hdr = b""
    if a.v1:
        hdr = v1_header(a.v1, dst)
    elif a.v2:
        hdr = v2_header(a.v2, dst)
    elif a.v2_local:
        hdr = v2_header(None, None, local=True)
    elif a.raw is not None:
        hdr = a.raw.encode().decode("unicode_escape").encode("latin-1")

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(a.timeout)
    if a.source:
        sock.bind((a.source, 0))
    t0 = time.monotonic()
    try:
        sock.connect((a.host, a.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if a.split:
            for i in range(len(hdr)):
                sock.sendall(hdr[i:i + 1])
                time.sleep(0.005)
        elif hdr:
            sock.sendall(hdr)
        if a.hold:
            # unread bytes make the broker's close a reset: both are a close
            try:
                data = sock.recv(1)
            except ConnectionResetError:
                data = b""
            out({"closed": data == b"", "ms": int((time.monotonic() - t0) * 1000)},
                data == b"")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_verify_locations(a.ca)
        tls = ctx.wrap_socket(sock, server_hostname=a.sni)
        tls.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                     % (a.path, a.sni)).encode())
        resp = b""
        while True:
            chunk = tls.recv(65536)
            if not chunk:
                break
            resp += chunk
    except (OSError, ssl.SSLError) as e:
        out({"error": "%s: %s" % (type(e).__name__, e)}, False)
    head, _, body = resp.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines or not lines[0].startswith("HTTP/1."):
        out({"error": "no HTTP response: %r" % resp[:80]}, False)
    res = {"status": int(lines[0].split(" ")[1]), "xff": "<absent>",
           "forwarded": "<absent>"}
    try:
        echo = json.loads(body)
        for k, v in echo.get("headers", []):
            if k.lower() == "x-forwarded-for":
                res["xff"] = v
            if k.lower() == "forwarded":
                res["forwarded"] = v
    except ValueError:
        pass
    out(res, True)


main()
