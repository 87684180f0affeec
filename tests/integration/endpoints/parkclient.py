#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Drives one TLS client connection to the broker through idle waits and
# watches the broker's admin /metrics, for the tests of parked connections
# (an http connection idle between requests frees its buffers and waits
# on the socket alone).  Every wait is bounded and polls what it waits
# for; nothing sleeps a fixed time.
#
#   parkclient.py --port P --admin A --ca CA --host NAME [--listener L] STEP...
#
# Steps, run in order on one connection (opened before the first step):
#   parked=N      until tlsbroker_listener_parked_connections{listener=L} == N
#   open=N        until tlsbroker_listener_open_connections{listener=L} == N
#   released=N    until tlsbroker_listener_tls_released_connections{...} == N
#                 (the broker runs the records itself, its SSL freed)
#   get:PATH      one GET; the answer must be 200 with its whole body
#   pipeline:N    N GETs of /pipe/I in one write; N 200 answers in order
#   eof           until the broker ends the connection; it must send
#                 close_notify first (a bare TCP close fails the step)
#   eof-quiet     until the broker ends the connection without a
#                 close_notify, as after a timeout (nginx does the same)
#   close         close our side with close_notify
#   garbage       write bytes that are no TLS record on the raw socket,
#                 then wait for the broker to end the connection
#   reset         close with a TCP reset (SO_LINGER 0)
# Prints one JSON line per step; exit 0 when every step held, 1 when one
# did not (the rest are skipped), 2 on usage errors.

import argparse
import json
import os
import re
import socket
import ssl
import struct
import sys
import time
import urllib.request

from httpwire import read_response

WAIT_S = 10.0


def metric(args, name):
    url = "http://127.0.0.1:%d/metrics" % args.admin
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    want = '%s{listener="%s"} ' % (name, args.listener)
    for line in text.splitlines():
        if line.startswith(want):
            return int(float(line[len(want):]))
    return None


def wait_metric(args, name, value):
    end = time.monotonic() + WAIT_S
    got = None
    while time.monotonic() < end:
        got = metric(args, name)
        if got == value:
            return True, got
        time.sleep(0.02)
    return False, got


def request(args, path):
    return ("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, args.host)).encode()


def step_get(args, conn, path):
    conn.sendall(request(args, path))
    status, body, extra = read_response(lambda: conn.recv(65536))
    return status == 200 and not extra, {"status": status, "body_len": len(body)}


def step_pipeline(args, conn, n):
    conn.sendall(b"".join(request(args, "/pipe/%d" % i) for i in range(n)))
    statuses = []
    pending = b""
    for _ in range(n):
        status, _, pending = read_response(lambda: conn.recv(65536), pending)
        statuses.append(status)
    return statuses == [200] * n, {"statuses": statuses}


def step_eof(conn, want):
    conn.settimeout(WAIT_S)
    try:
        data = conn.recv(65536)
        end = "close_notify" if data == b"" else "data"
    except ssl.SSLEOFError:
        end = "no close_notify"
    except (ConnectionResetError, socket.timeout) as e:
        end = type(e).__name__
    return end == want, {"end": end}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--admin", type=int, required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--listener", default="erp")
    ap.add_argument("--tls", choices=["1.2", "1.3"], default="1.3",
                    help="the highest version offered")
    ap.add_argument("steps", nargs="+")
    args = ap.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if args.tls == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(args.ca)
    raw = socket.create_connection(("127.0.0.1", args.port), WAIT_S)
    conn = ctx.wrap_socket(raw, server_hostname=args.host,
                           suppress_ragged_eofs=False)
    for st in args.steps:
        m = re.match(r"(parked|open|released)=(\d+)$", st)
        if m:
            name = "tls_released" if m.group(1) == "released" else m.group(1)
            ok, got = wait_metric(args, "tlsbroker_listener_%s_connections"
                                  % name, int(m.group(2)))
            info = {"got": got}
        elif st.startswith("get:"):
            ok, info = step_get(args, conn, st[4:])
        elif st.startswith("pipeline:"):
            ok, info = step_pipeline(args, conn, int(st[9:]))
        elif st == "eof":
            ok, info = step_eof(conn, "close_notify")
        elif st == "eof-quiet":
            ok, info = step_eof(conn, "no close_notify")
        elif st == "close":
            conn.unwrap().close()
            ok, info = True, {}
        elif st == "garbage":
            raw = socket.socket(fileno=os.dup(conn.fileno()))
            raw.sendall(b"GET / HTTP/1.1\r\n\r\n")
            raw.close()
            conn.settimeout(WAIT_S)
            try:
                while conn.recv(65536):
                    pass
                end = "eof"
            except (ssl.SSLError, OSError) as e:
                end = type(e).__name__
            ok, info = True, {"end": end}
        elif st == "reset":
            raw = socket.socket(fileno=os.dup(conn.fileno()))
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                           struct.pack("ii", 1, 0))
            raw.close()
            conn.close()
            ok, info = True, {}
        else:
            print("unknown step %s" % st, file=sys.stderr)
            return 2
        info.update({"step": st, "ok": ok})
        print(json.dumps(info), flush=True)
        if not ok:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
