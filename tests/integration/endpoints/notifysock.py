#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# A stand-in for systemd's notification socket, and the queries tests run on
# what it recorded.
#
#   notifysock.py listen PATH OUT [--ports P,P]
# binds an AF_UNIX datagram socket at PATH (what a test then exports as
# NOTIFY_SOCKET) and appends one JSON object per datagram received to OUT,
# flushed at once:
#   {"n": 1, "t": <monotonic seconds>, "pid": <sender pid or 0>,
#    "msg": "READY=1\nSTATUS=...", "fields": {"READY": "1", "STATUS": ...},
#    "listening": {"PORT": true, ...}}
# "pid" comes from SCM_CREDENTIALS (SO_PASSCRED), as systemd reads it.
# "listening" is only present on a datagram carrying READY=1 and --ports was
# given: whether each port had a listening socket when READY=1 arrived,
# read from /proc/net/tcp (no probe connection).  Runs until killed.
#
#   notifysock.py count OUT KEY=VALUE
#       how many datagrams carry that field (KEY alone: with any value)
#   notifysock.py wait OUT KEY=VALUE N [--timeout S] [--pid PID]
#       until at least N do; exit 1 on timeout or when PID exited first
#   notifysock.py last OUT
#       the number of the last datagram (0 if none)
#   notifysock.py show OUT [--after N] [--no-watchdog] [--field F]
#       one line per datagram after number N, newlines in it shown as "|"
#       (only field F's value with --field)
#   notifysock.py gaps OUT [--after N] [--before N]
#       the intervals between WATCHDOG=1 datagrams numbered in (after,
#       before), in ms, one a line: the first line is the gap from the
#       datagram numbered "after" (READY=1, say) to the first ping

import argparse
import json
import os
import socket
import struct
import sys
import time

SCM_CREDENTIALS = getattr(socket, "SCM_CREDENTIALS", 2)
SO_PASSCRED = getattr(socket, "SO_PASSCRED", 16)


def listening(port):
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for ln in lines:
            fields = ln.split()
            if (len(fields) >= 4 and fields[3] == "0A" and
                    int(fields[1].rsplit(":", 1)[1], 16) == port):
                return True
    return False


def cmd_listen(args):
    ports = [int(p) for p in args.ports.split(",") if p]

    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, SO_PASSCRED, 1)
    try:
        os.unlink(args.path)
    except FileNotFoundError:
        pass
    # Bind under a temporary name and rename, so the path appears only
    # once the socket can receive (tests wait for the path).
    tmp = args.path + ".tmp"
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    s.bind(tmp)
    os.rename(tmp, args.path)
    out = open(args.out, "a", encoding="utf-8")
    n = 0
    while True:
        data, anc, _flags, _addr = s.recvmsg(
            65536, socket.CMSG_SPACE(struct.calcsize("3i")))
        t = time.monotonic()
        pid = 0
        for level, typ, cdata in anc:
            if level == socket.SOL_SOCKET and typ == SCM_CREDENTIALS:
                pid = struct.unpack("3i", cdata[:struct.calcsize("3i")])[0]
        n += 1
        msg = data.decode("utf-8", "replace")
        fields = {}
        for ln in msg.split("\n"):
            if "=" in ln:
                k, v = ln.split("=", 1)
                fields[k] = v
        rec = {"n": n, "t": round(t, 6), "pid": pid, "msg": msg,
               "fields": fields}
        if ports and fields.get("READY") == "1":
            rec["listening"] = {str(p): listening(p) for p in ports}
        out.write(json.dumps(rec, sort_keys=True) + "\n")
        out.flush()


def records(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = f.read()
    except OSError:
        return []
    # Only complete lines: the recorder may be mid-write.
    return [json.loads(ln) for ln in data.split("\n")[:-1] if ln]


def matches(rec, spec):
    if "=" not in spec:
        return spec in rec["fields"]
    k, v = spec.split("=", 1)
    return rec["fields"].get(k) == v


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
        return st.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def cmd_count(args):
    print(sum(1 for r in records(args.out) if matches(r, args.spec)))
    return 0


def cmd_wait(args):
    deadline = time.monotonic() + args.timeout
    while True:
        n = sum(1 for r in records(args.out) if matches(r, args.spec))
        if n >= args.n:
            return 0
        if args.pid and not pid_alive(args.pid):
            n = sum(1 for r in records(args.out) if matches(r, args.spec))
            if n >= args.n:
                return 0
            print("process %d exited; %d datagrams with %s, wanted %d" %
                  (args.pid, n, args.spec, args.n))
            return 1
        if time.monotonic() >= deadline:
            print("%d datagrams with %s after %.1fs, wanted %d" %
                  (n, args.spec, args.timeout, args.n))
            return 1
        time.sleep(0.02)


def cmd_last(args):
    recs = records(args.out)
    print(recs[-1]["n"] if recs else 0)
    return 0


def cmd_show(args):
    for r in records(args.out):
        if r["n"] <= args.after:
            continue
        if args.no_watchdog and r["fields"].get("WATCHDOG") == "1" and \
                len(r["fields"]) == 1:
            continue
        if args.field:
            if args.field in r["fields"]:
                print(r["fields"][args.field])
            continue
        print(r["msg"].rstrip("\n").replace("\n", "|"))
    return 0


def cmd_gaps(args):
    recs = records(args.out)
    prev = None
    for r in recs:
        if r["n"] == args.after:
            prev = r["t"]
        if r["n"] <= args.after or (args.before and r["n"] >= args.before):
            continue
        if r["fields"].get("WATCHDOG") != "1":
            continue
        if prev is not None:
            print(int(round((r["t"] - prev) * 1000)))
        prev = r["t"]
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("listen")
    p.add_argument("path")
    p.add_argument("out")
    p.add_argument("--ports", default="",
                   help="comma-separated ports to check on READY=1")
    p.set_defaults(fn=cmd_listen)
    p = sub.add_parser("count")
    p.add_argument("out")
    p.add_argument("spec")
    p.set_defaults(fn=cmd_count)
    p = sub.add_parser("wait")
    p.add_argument("out")
    p.add_argument("spec")
    p.add_argument("n", type=int)
    p.add_argument("--timeout", type=float, default=10)
    p.add_argument("--pid", type=int, default=0)
    p.set_defaults(fn=cmd_wait)
    p = sub.add_parser("last")
    p.add_argument("out")
    p.set_defaults(fn=cmd_last)
    p = sub.add_parser("show")
    p.add_argument("out")
    p.add_argument("--after", type=int, default=0)
    p.add_argument("--no-watchdog", action="store_true")
    p.add_argument("--field")
    p.set_defaults(fn=cmd_show)
    p = sub.add_parser("gaps")
    p.add_argument("out")
    p.add_argument("--after", type=int, default=0)
    p.add_argument("--before", type=int, default=0)
    p.set_defaults(fn=cmd_gaps)
    args = ap.parse_args()
    sys.exit(args.fn(args))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
