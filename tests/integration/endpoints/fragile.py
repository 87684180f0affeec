#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# A fragile legacy endpoint (the Windows 2003 box of issue #13): a plain
# HTTP/1.1 keep-alive server on 127.0.0.1:PORT that holds at most --max
# connections open at once and resets (SO_LINGER 0) every connection
# beyond that the moment it accepts it.  A connection counts from accept
# until the server has closed it, idle keep-alive ones included.
#
# Each request is answered 200 with a JSON body {"path", "method",
# "conn"} after --delay seconds, or after MS milliseconds for a path
# /hold/MS.  It writes its figures to --stats FILE (replaced atomically
# after every change): {"open", "peak", "accepted", "resets", "requests",
# "posts": [X-Req-Id of every POST, in arrival order], "heads": {path:
# wall-clock time its request head arrived}}, so a test can
# assert the peak never passed --max, nothing was reset and no POST came
# twice.

import argparse
import json
import os
import socket
import struct
import threading
import time

lock = threading.Lock()
stats = {"open": 0, "peak": 0, "accepted": 0, "resets": 0, "requests": 0,
         "posts": [], "heads": {}}
args = None


def save():
    tmp = args.stats + ".tmp"
    with open(tmp, "w") as f:
        json.dump(stats, f)
    os.replace(tmp, args.stats)


def read_request(conn, buf):
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None, b""
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    method, path = lines[0].split(" ")[:2]
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    with lock:
        stats["heads"][path] = time.time()	# before the body: Expect waits
        save()
    need = int(hdrs.get("content-length", "0"))
    while len(rest) < need:
        data = conn.recv(65536)
        if not data:
            return None, b""
        rest += data
    return (method, path, hdrs), rest[need:]


def serve(conn, n):
    buf = b""
    try:
        while True:
            req, buf = read_request(conn, buf)
            if req is None:
                return
            method, path, hdrs = req
            with lock:
                stats["requests"] += 1
                if method == "POST":
                    stats["posts"].append(hdrs.get("x-req-id", "?"))
                save()
            delay = args.delay
            if path.startswith("/hold/"):
                delay = int(path[6:]) / 1000.0
            time.sleep(delay)
            body = json.dumps({"path": path, "method": method,
                               "conn": n}).encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json"
                         b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    except OSError:
        pass
    finally:
        # counted off as the close starts: the peer sees our FIN after it
        with lock:
            stats["open"] -= 1
            save()
        conn.close()


def main():
    global args
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--max", type=int, required=True)
    ap.add_argument("--delay", type=float, default=0.2)
    ap.add_argument("--stats", required=True)
    args = ap.parse_args()
    save()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", args.port))
    ls.listen(128)
    n = 0
    while True:
        conn, _ = ls.accept()
        n += 1
        with lock:
            stats["accepted"] += 1
            full = stats["open"] >= args.max
            if full:
                stats["resets"] += 1
            else:
                stats["open"] += 1
                stats["peak"] = max(stats["peak"], stats["open"])
            save()
        if full:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
            conn.close()
            print("conn %d reset: %d open" % (n, args.max), flush=True)
            continue
        print("conn %d" % n, flush=True)
        threading.Thread(target=serve, args=(conn, n), daemon=True).start()


if __name__ == "__main__":
    main()
