#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Writes the seed corpus of fuzz_session (tests/fuzz/corpus/session): one
# session story each in the op encoding of fuzz_session.c, in plain mode,
# with TLS, and a few with TLS 1.2.  Run it again after changing the ops:
#   python3 tests/fuzz/session_seeds.py tests/fuzz/corpus/session

import os
import sys

(C, U, TURN, CPIECE, UPIECE, ACCEPT, UCLOSE, CSHUT, CDRAIN, UDRAIN, TIMERS,
 CCLOSE, SWITCH) = range(13)


def raw(op, data):
    out = b""
    while data:
        out += bytes([op, min(len(data), 127)]) + data[:127]
        data = data[127:]
    return out


def c(data):
    return raw(C, data)


def cp(i):
    return bytes([CPIECE, i])


def up(i):
    return bytes([UPIECE, i])


def big(op, kib):
    return bytes([op, 128 + kib])


t, acc = bytes([TURN]), bytes([ACCEPT])
cdrain, udrain, timers = bytes([CDRAIN]), bytes([UDRAIN]), bytes([TIMERS])
cshut = bytes([CSHUT, 1])


def uclose(reset=0):
    return bytes([UCLOSE, reset])


def cclose(reset=0):
    return bytes([CCLOSE, reset])


SEEDS = {
    "get": cp(0) + t + acc + udrain + up(0) + t + cdrain,
    "post-cl": cp(1) + t + acc + udrain + up(0) + t + cdrain,
    "post-chunked": cp(2) + t + acc + udrain + up(1) + t + cdrain,
    "pipeline": cp(0) + cp(5) + t + acc + up(0) + t + up(0) + t + cdrain,
    "expect": cp(3) + t + acc + up(3) + t + cdrain + cp(14) + t + up(0) + cdrain,
    "http10-close": cp(4) + t + acc + up(2) + uclose() + t + cdrain,
    "retry": cp(0) + t + acc + up(0) + cdrain + cp(0) + t + uclose() + t + acc +
             up(0) + t + cdrain,
    "spin": cp(0) + t + acc + up(7) + big(U, 100) + t + cclose(1) + t + t,
    "reset-with-answer-queued": cp(0) + t + acc + up(16) + big(U, 40) + t + t +
                                cclose(1) + t + t,
    "pipeline-reset": cp(0) * 40 + t + acc + (up(0) + t) * 40 + cclose(1) + t + t,
    "slow-head": c(b"GET / HTTP/1.1\r\nHo") + timers + t + cdrain,
    "no-route": cp(7) + t + cdrain,
    "hold-413": cp(8) + cp(9) * 20 + t + cdrain,
    "conn-cl": cp(11) + t + acc + udrain + up(0) + up(0) + t + cdrain,
    "cl-te": cp(12) + t + cdrain,
    "upload-backpressure": cp(15) + big(C, 100) + acc + t + big(C, 100) + t +
                           udrain + t + up(0) + cdrain,
    "early-answer": c(b"POST /p HTTP/1.1\r\nHost: a.test\r\nContent-Length: 50\r\n"
                      b"\r\nab") + acc + up(6) + t + c(b"x" * 48) + t + cdrain,
    "keepalive-park": cp(0) + acc + up(0) + t + cdrain + timers + t + cp(0) + t +
                      up(0) + t + cdrain + timers,
    "chunked-response": cp(0) + acc + up(8) + up(9) + t + up(9) + up(10) + t + cdrain,
    "absolute": cp(13) + acc + up(0) + t + cdrain,
    "half-close": cp(0) + cshut + acc + up(0) + t + cdrain,
    "upstream-reset": cp(0) + acc + up(7) + uclose(1) + t + cdrain,
    "response-timeout": cp(0) + acc + t + timers + t + cdrain,
    "early-hints": cp(0) + acc + up(13) + up(0) + t + cdrain,
    "bad-response": cp(0) + acc + up(14) + t + cdrain,
    "response-conn-cl": cp(0) + cp(0) + acc + up(12) + t + up(0) + t + cdrain,
}


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    for name, steps in SEEDS.items():
        for prefix, mode in (("", 0), ("tls-", 1)):
            with open(os.path.join(d, prefix + name), "wb") as f:
                f.write(bytes([mode]) + steps)
    for name in ("get", "spin", "post-chunked"):
        with open(os.path.join(d, "tls12-" + name), "wb") as f:
            f.write(b"\x03" + SEEDS[name])


if __name__ == "__main__":
    main()
