#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# A client that pipelines without reading, then resets (22-client-reset.sh):
# over TLS to the broker at 127.0.0.1:--port (SNI and Host --host, verified
# against --ca), with a 4 KiB receive buffer so the answers back up into the
# broker, it sends --count copies of "GET --path" as fast as the broker
# takes them, and stops when all are sent or the broker has taken nothing
# for --stall seconds (it stopped reading).  With --answered it then waits
# (at most 10 s) until a first answer byte has arrived, so the broker is
# known to be writing.  Then it resets the connection (SO_LINGER 0) without
# reading a byte.  --data HEX sends those bytes once instead of the GETs
# (a tcp-mode route's protocol).  Prints {"sent": requests (or, with
# --data: 1 once sent) sent whole, "answered": bool}.

import argparse
import json
import select
import socket
import ssl
import struct
import sys
import time

import streamend


def read_to_end(s):
    """Reads until the broker's end (at most 10 s); what came and how it ended."""
    got, end = bytearray(), "none"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not s.pending():
            select.select([s], [], [], 0.5)
        try:
            d = s.recv(65536)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            continue
        except ConnectionResetError:
            end = "reset"
            break
        if not d:
            end = "reset" if streamend.ended_by_reset(s) else "fin"
            break
        got += d
    status = bytes(got).split(b"\r\n", 1)[0].decode("latin-1")
    return {"received": len(got), "status": status, "end": end}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--path", default="/")
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--stall", type=float, default=1.0)
    ap.add_argument("--answered", action="store_true")
    ap.add_argument("--data", help="hex bytes to send instead of GETs")
    ap.add_argument("--close-first", action="store_true")
    args = ap.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(args.ca)
    streamend.quiet_eof(ctx)	# an EOF draws no alert, nor its reset
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", args.port))
    s = ctx.wrap_socket(raw, server_hostname=args.host)
    req = ("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" %
           (args.path, args.host)).encode()
    data = req * args.count
    if args.close_first:
        data = req.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n") + data
    if args.data is not None:
        data = req = bytes.fromhex(args.data)
    s.setblocking(False)
    sent = 0
    while sent < len(data):
        try:
            sent += s.send(data[sent:sent + 16384])
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError,
                BlockingIOError):
            if not select.select([], [s], [], args.stall)[1]:
                break   # the broker stopped reading
    if args.close_first:
        out = read_to_end(s)
        out["sent"] = sent // len(req)
        print(json.dumps(out))
        return 0
    answered = False
    if args.answered:
        answered = bool(select.select([s], [], [], 10)[0])
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    print(json.dumps({"sent": sent // len(req), "answered": answered}))
    return 0 if answered or not args.answered else 1


if __name__ == "__main__":
    sys.exit(main())
