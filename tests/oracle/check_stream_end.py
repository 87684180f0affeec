#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The oracle's own check of how it reads the end of the broker's stream
# (oracle.read_available()): a close-delimited answer ended by a reset is
# one cut short, one ended by a FIN or close_notify is whole, so telling
# them apart decides whether a broker bug shows.  Each end is made by a
# local TLS peer, and the client reads only once the end has arrived (its
# TCP state says so), so no case depends on timing:
#
#   reset           data, then a reset
#   reset-consumed  the same, with the reset's error already taken from
#                   the socket, as an SSL_read() racing the oracle's peek
#                   takes it (it then reads b'', as for a FIN): the race
#                   behind a flaky tests/integration/29
#   fin             data, then a FIN without close_notify
#
#   check_stream_end.py CERT KEY      exit status 0 when every end is right

import os
import socket
import ssl
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402
import streamend  # noqa: E402

WAIT_LIMIT = 10.0	# seconds an end may take to arrive on 127.0.0.1


def serve(ls, sctx, end, done):
    c, _ = ls.accept()
    t = sctx.wrap_socket(c, server_side=True)
    t.sendall(b"answer")
    if end.startswith("reset"):
        t.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        t.close()
        return
    socket.socket.shutdown(t, socket.SHUT_WR)
    done.wait(WAIT_LIMIT)	# open until the client has read: no reset after the FIN
    t.close()


def wait_state(ss, states):
    """Waits until the client socket's TCP state is one of states."""
    limit = time.monotonic() + WAIT_LIMIT
    while streamend.tcp_state(ss) not in states:
        if time.monotonic() > limit:
            raise RuntimeError("TCP state stays %d" % streamend.tcp_state(ss))
        time.sleep(0.005)	# polling a state, not waiting out a race


def one(end, cert, key):
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(cert, key)
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    done = threading.Event()
    th = threading.Thread(target=serve, args=(ls, sctx, end, done))
    th.start()
    raw = socket.create_connection(ls.getsockname(), timeout=WAIT_LIMIT)
    ss = oracle.CTX.wrap_socket(raw)
    wait_state(ss, (streamend.TCP_CLOSE, streamend.TCP_CLOSE_WAIT))
    if end == "reset-consumed":
        ss.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    ss.setblocking(False)
    res = oracle.Result(None)
    got = bytearray()
    limit = time.monotonic() + WAIT_LIMIT
    while not res.eof and time.monotonic() < limit:
        oracle.read_available(ss, res, got)
    done.set()
    th.join()
    ss.close()
    ls.close()
    want_reset = end.startswith("reset")
    ok = res.eof and res.reset == want_reset and (bytes(got) == b"answer" or want_reset)
    print("%-15s %s: read %r, eof %s, reset %s" % (
        end, "ok" if ok else "WRONG", bytes(got), res.eof, res.reset))
    return ok


def main():
    cert, key = sys.argv[1], sys.argv[2]
    bad = [e for e in ("reset", "reset-consumed", "fin")
           if not one(e, cert, key)]
    if bad:
        print("check_stream_end: the oracle misreads the end: %s" % " ".join(bad))
        sys.exit(1)


if __name__ == "__main__":
    main()
