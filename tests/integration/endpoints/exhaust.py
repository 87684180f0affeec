#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Runs a broker out of file descriptors (24-fd-limit.sh).  Over one TLS
# keep-alive connection to 127.0.0.1:--port (SNI and Host --host, verified
# against --ca) it sends GET /before; then it opens --flood plain TCP
# connections to the same port (the broker accepts until its descriptors
# run out, the rest wait in the backlog) and waits until --log, the
# broker's log, has --needle (its accept failed), at most 20 s.  Then it
# sends GET /during on the first connection and prints one JSON line:
#   {"before": status, "during": status, "error": X-Broker-Error or null,
#    "body": body of /during}
# and keeps every connection open until the file --release exists (at
# most 60 s); then it closes them all and exits.

import argparse
import http.client
import json
import os
import socket
import ssl
import sys
import time


class Conn(http.client.HTTPSConnection):
    # 127.0.0.1 whatever the host name; SNI and Host are the name.
    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(s, server_hostname=self.host)


def wait_for(pred, limit):
    end = time.monotonic() + limit
    while not pred():
        if time.monotonic() >= end:
            return False
        time.sleep(0.05)
    return True


def log_has(path, needle):
    try:
        with open(path, errors="replace") as f:
            return needle in f.read()
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--flood", type=int, default=100)
    ap.add_argument("--log", required=True)
    ap.add_argument("--needle", required=True)
    ap.add_argument("--release", required=True)
    args = ap.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(args.ca)
    c = Conn(args.host, args.port, context=ctx, timeout=20)
    c.request("GET", "/before")
    r = c.getresponse()
    r.read()
    out = {"before": r.status}

    flood = []
    for _ in range(args.flood):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", args.port))
        except BlockingIOError:
            pass
        flood.append(s)
    if not wait_for(lambda: log_has(args.log, args.needle), 20):
        print(json.dumps({"error": "no '%s' in %s" % (args.needle,
                                                       args.log)}))
        return 1

    c.request("GET", "/during")
    r = c.getresponse()
    out.update(during=r.status, error=r.getheader("X-Broker-Error"),
               body=r.read().decode(errors="replace"))
    print(json.dumps(out), flush=True)

    wait_for(lambda: os.path.exists(args.release), 60)
    for s in flood:
        s.close()
    c.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
