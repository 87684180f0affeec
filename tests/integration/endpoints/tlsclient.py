#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# TLS client for the byte-level integration tests: speaks pyserver.py's hash
# protocol through the broker (TLS 1.2 minimum towards the broker, verified
# against the test CA and the SNI name) and checks what comes back.  Prints
# one JSON object on stdout describing what happened; exit status 0 when the
# command's expectation held, 1 when it did not, 2 on usage errors.
#
# Commands:
#   upload N        'U' + length-prefixed N bytes; expects "<sha256> N\n"
#   download N      'D' N seed; expects N bytes equal to stream(seed)
#   halfclose N     'H' + N bytes, then a TLS close_notify (TLS half-close,
#                   optionally also TCP shutdown(SHUT_WR)) while still
#                   reading; expects "<sha256> N\n" from the endpoint
#   who             'W'; prints the endpoint's name
#   expect-closed   handshake (may fail), send 'W', expect the connection to
#                   end with 0 bytes received within --timeout
#   hold            handshake, print {"event":"connected"}, then wait for the
#                   connection to end (prints how and when)

import argparse
import hashlib
import json
import random
import socket
import ssl
import struct
import sys
import time

BLOCK = 65536
TLSVER = {"1.0": ssl.TLSVersion.TLSv1, "1.1": ssl.TLSVersion.TLSv1_1,
          "1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def stream_blocks(seed, n):
    # Must match pyserver.py: same generator, same block sizes.
    rnd = random.Random(seed)
    while n > 0:
        b = rnd.randbytes(min(BLOCK, n))
        n -= len(b)
        yield b


def out(obj, ok):
    obj["ok"] = ok
    print(json.dumps(obj, sort_keys=True))
    sys.stdout.flush()
    sys.exit(0 if ok else 1)


def make_ctx(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if args.ciphers:
        ctx.set_ciphers(args.ciphers)
    lo = args.tls_min or args.tls or "1.2"
    ctx.minimum_version = TLSVER[lo]
    if args.tls_max or args.tls:
        ctx.maximum_version = TLSVER[args.tls_max or args.tls]
    if args.no_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif args.ca:
        ctx.load_verify_locations(args.ca)
    if args.cert:
        ctx.load_cert_chain(args.cert, args.key)
    return ctx


def connect(args):
    s = socket.create_connection((args.host, args.port), timeout=args.timeout)
    if args.plain:
        return s, None
    ctx = make_ctx(args)
    t = ctx.wrap_socket(s, server_hostname=args.sni or None)
    return t, t


def info(tls):
    if tls is None:
        return {"tls": "plain"}
    return {"tls": tls.version(), "cipher": tls.cipher()[0]}


def read_all(s, limit=None):
    buf = bytearray()
    while True:
        d = s.recv(1 << 20)
        if not d:
            return bytes(buf)
        buf += d
        if limit is not None and len(buf) > limit:
            return bytes(buf)


def read_hashing(s):
    h = hashlib.sha256()
    n = 0
    while True:
        d = s.recv(1 << 20)
        if not d:
            return n, h.hexdigest()
        h.update(d)
        n += len(d)


def cmd_upload(args):
    s, tls = connect(args)
    res = info(tls)
    h = hashlib.sha256()
    s.sendall(b"U" + struct.pack(">Q", args.n))
    for b in stream_blocks(args.seed, args.n):
        h.update(b)
        s.sendall(b)
    reply = read_all(s, 4096).decode("latin-1")
    s.close()
    want = "%s %d\n" % (h.hexdigest(), args.n)
    res.update({"cmd": "upload", "size": args.n, "sent": 9 + args.n,
                "reply": reply, "want": want})
    out(res, reply == want)


def cmd_download(args):
    s, tls = connect(args)
    res = info(tls)
    s.sendall(b"D" + struct.pack(">QQ", args.n, args.seed))
    n, got = read_hashing(s)
    s.close()
    h = hashlib.sha256()
    for b in stream_blocks(args.seed, args.n):
        h.update(b)
    res.update({"cmd": "download", "size": args.n, "received": n,
                "sha256": got, "want": h.hexdigest()})
    out(res, n == args.n and got == h.hexdigest())


def cmd_halfclose(args):
    # python's SSLSocket cannot send close_notify and keep reading, so drive
    # an SSLObject over memory BIOs on a blocking socket ourselves.
    s = socket.create_connection((args.host, args.port), timeout=args.timeout)
    res = {"cmd": "halfclose", "size": args.n}
    h = hashlib.sha256()
    if args.plain:
        s.sendall(b"H")
        for b in stream_blocks(args.seed, args.n):
            h.update(b)
            s.sendall(b)
        s.shutdown(socket.SHUT_WR)
        reply = read_all(s, 4096).decode("latin-1")
        s.close()
        want = "%s %d\n" % (h.hexdigest(), args.n)
        res.update({"tls": "plain", "reply": reply, "want": want})
        out(res, reply == want)
    inc, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = make_ctx(args).wrap_bio(inc, outb, server_hostname=args.sni or None)

    def flush():
        d = outb.read()
        if d:
            s.sendall(d)

    def feed():
        d = s.recv(65536)
        if not d:
            inc.write_eof()
            return False
        inc.write(d)
        return True

    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            flush()
            if not feed():
                res["error"] = "EOF in handshake"
                out(res, False)
    flush()
    res.update({"tls": obj.version(), "cipher": obj.cipher()[0]})
    obj.write(b"H")
    for b in stream_blocks(args.seed, args.n):
        h.update(b)
        obj.write(b)
        flush()
    # Nothing has been fed since the handshake, so the second SSL_shutdown
    # inside unwrap() finds no record and stops with WANT_READ after the
    # close_notify is queued.
    try:
        obj.unwrap()
    except ssl.SSLWantReadError:
        pass
    flush()
    if args.tcp_shutdown:
        s.shutdown(socket.SHUT_WR)
    reply = bytearray()
    how = None
    while how is None:
        try:
            d = obj.read(65536)
            if not d:
                how = "close_notify"
            else:
                reply += d
        except ssl.SSLWantReadError:
            flush()
            try:
                if not feed():
                    how = "eof"
            except ConnectionResetError:
                how = "reset"
        except ssl.SSLZeroReturnError:
            how = "close_notify"
        except ssl.SSLError as e:
            how = "ssl error: %s" % e
    s.close()
    want = "%s %d\n" % (h.hexdigest(), args.n)
    res.update({"reply": reply.decode("latin-1"), "want": want, "end": how})
    out(res, reply.decode("latin-1") == want)


def cmd_who(args):
    s, tls = connect(args)
    res = info(tls)
    s.sendall(b"W")
    name = read_all(s, 4096).decode("latin-1").strip()
    s.close()
    res.update({"cmd": "who", "name": name})
    out(res, name != "")


def cmd_expect_closed(args):
    res = {"cmd": "expect-closed"}
    start = time.monotonic()
    try:
        s, tls = connect(args)
    except (ssl.SSLError, OSError) as e:
        res.update({"handshake": "failed", "error": str(e), "received": 0,
                    "after": round(time.monotonic() - start, 3)})
        out(res, not isinstance(e, socket.timeout))
    res.update(info(tls))
    res["handshake"] = "ok"
    got = 0
    try:
        s.sendall(b"W")
        while True:
            d = s.recv(65536)
            if not d:
                res["end"] = "eof"
                break
            got += len(d)
    except socket.timeout:
        res["end"] = "timeout"
    except ssl.SSLError as e:
        res["end"] = "ssl error: %s" % e
    except OSError as e:
        res["end"] = "error: %s" % e
    res["received"] = got
    res["after"] = round(time.monotonic() - start, 3)
    s.close()
    out(res, got == 0 and res["end"] != "timeout")


def cmd_hold(args):
    start = time.monotonic()
    s, tls = connect(args)
    res = info(tls)
    res["event"] = "connected"
    print(json.dumps(res, sort_keys=True))
    sys.stdout.flush()
    got = 0
    try:
        while True:
            d = s.recv(65536)
            if not d:
                how = "eof"
                break
            got += len(d)
    except socket.timeout:
        how = "timeout"
    except ssl.SSLError as e:
        how = "ssl error: %s" % e
    except OSError as e:
        how = "error: %s" % e
    s.close()
    out({"event": "closed", "end": how, "received": got,
         "after": round(time.monotonic() - start, 3)}, how != "timeout")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["upload", "download", "halfclose", "who",
                                    "expect-closed", "hold"])
    ap.add_argument("n", type=int, nargs="?", default=0)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--sni", default="broker.test",
                    help="SNI and verified host name; '' sends none")
    ap.add_argument("--ca")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--tls", choices=sorted(TLSVER),
                    help="exactly this version")
    ap.add_argument("--tls-min", choices=sorted(TLSVER))
    ap.add_argument("--tls-max", choices=sorted(TLSVER))
    ap.add_argument("--ciphers")
    ap.add_argument("--no-verify", action="store_true")
    ap.add_argument("--plain", action="store_true",
                    help="no TLS (to talk to an endpoint directly)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("--tcp-shutdown", action="store_true",
                    help="halfclose: also shutdown(SHUT_WR) the socket")
    args = ap.parse_args()
    fn = {"upload": cmd_upload, "download": cmd_download,
          "halfclose": cmd_halfclose, "who": cmd_who,
          "expect-closed": cmd_expect_closed, "hold": cmd_hold}[args.cmd]
    try:
        fn(args)
    except (OSError, ssl.SSLError, EOFError) as e:
        out({"cmd": args.cmd, "error": "%s: %s" % (type(e).__name__, e)},
            False)


if __name__ == "__main__":
    main()
