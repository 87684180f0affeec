#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Small helpers for tests/integration/lib.sh that a POSIX shell cannot do
# well: free ports (bind to port 0), bounded waits on a listening port or a
# growing file, JSON values and field checks (audit records, helpers'
# results, probe reports), SPKI pins.  Each
# subcommand prints its result on stdout; exit status 0 = ok, 1 = the
# condition was not met (timeout, absent), 2 = usage error.
# Not part of the daemon; only 127.0.0.1 is ever touched.

import argparse
import base64
import hashlib
import json
import os
import random
import re
import socket
import subprocess
import sys
import time


def cmd_freeports(args):
    # Bind all sockets at once so the ports handed out are distinct, then
    # skip any port this test already handed out (the list file is per test).
    used = set()
    if args.used and os.path.exists(args.used):
        with open(args.used) as f:
            used = {int(x) for x in f.read().split()}
    socks, ports = [], []
    if args.range:
        # A fixed range (privileged ports for the privilege-drop test):
        # try each port from a random start, keep what binds.
        lo, hi = (int(x) for x in args.range.split("-", 1))
        cand = list(range(lo, hi + 1))
        k = random.randrange(len(cand))
        for p in cand[k:] + cand[:k]:
            if len(ports) >= args.n:
                break
            if p in used:
                continue
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                s.close()
                continue
            socks.append(s)
            ports.append(p)
        if len(ports) < args.n:
            print("only %d free ports in %s" % (len(ports), args.range))
            return 1
    while len(ports) < args.n:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        p = s.getsockname()[1]
        if p not in used and p not in ports:
            ports.append(p)
    for s in socks:
        s.close()
    if args.used:
        with open(args.used, "a") as f:
            f.write("".join("%d\n" % p for p in ports))
    print(" ".join(str(p) for p in ports))
    return 0


def listening(port):
    # Read the kernel's socket tables instead of connecting: a probe connection
    # would show up in endpoint logs and consume single-threaded s_server.
    found_table = False
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        found_table = True
        for ln in lines:
            fields = ln.split()
            if len(fields) < 4:
                continue
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                return True
    if found_table:
        return False
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def cmd_listeners(args):
    # Print each local address listening on the port, one a line.
    for name, v6 in (("/proc/net/tcp", False), ("/proc/net/tcp6", True)):
        try:
            with open(name) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for ln in lines:
            fields = ln.split()
            if len(fields) < 4 or fields[3] != "0A":
                continue
            addr, port = fields[1].rsplit(":", 1)
            if int(port, 16) != args.port:
                continue
            raw = bytes.fromhex(addr)
            if v6:
                raw = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
                print("[%s]" % socket.inet_ntop(socket.AF_INET6, raw))
            else:
                print(socket.inet_ntop(socket.AF_INET, raw[::-1]))
    return 0


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
        return st.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])    # utime + stime, all threads


def cmd_cpu(args):
    # The share of one core PID used over WINDOW seconds, in percent: a
    # spin detector (a spinning worker uses ~100), not a benchmark.
    hz = os.sysconf("SC_CLK_TCK")
    t0, c0 = time.monotonic(), cpu_ticks(args.pid)
    time.sleep(args.window)
    t1, c1 = time.monotonic(), cpu_ticks(args.pid)
    print("%.1f" % (100.0 * (c1 - c0) / hz / (t1 - t0)))
    return 0


def cmd_waitport(args):
    deadline = time.monotonic() + args.timeout
    while True:
        up = listening(args.port)
        if up != args.closed:
            return 0
        if args.pid and not pid_alive(args.pid):
            print("process %d exited before port %d was %s" %
                  (args.pid, args.port, "closed" if args.closed else "listening"))
            return 1
        if time.monotonic() >= deadline:
            print("port %d still %s after %.1fs" %
                  (args.port, "listening" if up else "not listening",
                   args.timeout))
            return 1
        time.sleep(0.05)


def count_lines(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return 0
    # Only complete lines count: the broker may be mid-write.
    return data.count(b"\n")


def cmd_waitlines(args):
    deadline = time.monotonic() + args.timeout
    while True:
        n = count_lines(args.file)
        if n >= args.n:
            return 0
        if args.pid and not pid_alive(args.pid):
            n = count_lines(args.file)
            if n >= args.n:
                return 0
            print("process %d exited; %s has %d lines, wanted %d" %
                  (args.pid, args.file, n, args.n))
            return 1
        if time.monotonic() >= deadline:
            print("%s has %d lines after %.1fs, wanted %d" %
                  (args.file, n, args.timeout, args.n))
            return 1
        time.sleep(0.05)


def cmd_waitgrep(args):
    deadline = time.monotonic() + args.timeout
    needle = args.needle.encode()
    while True:
        try:
            with open(args.file, "rb") as f:
                if needle in f.read():
                    return 0
        except OSError:
            pass
        if args.pid and not pid_alive(args.pid):
            print("process %d exited without writing '%s' to %s" %
                  (args.pid, args.needle, args.file))
            return 1
        if time.monotonic() >= deadline:
            print("'%s' not in %s after %.1fs" %
                  (args.needle, args.file, args.timeout))
            return 1
        time.sleep(0.05)


# ---- JSON: one getter, one matcher ------------------------------------------

PATH_RE = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
SPEC_RE = re.compile(r"([A-Za-z0-9_./-]+)([=~!])(.*)$", re.S)
ABSENT = "<absent>"


def load_json_text(text):
    # The whole text as one JSON value (a pretty-printed report), else its
    # last non-empty line (a helper's result after progress lines).
    try:
        return json.loads(text)
    except ValueError:
        lines = [ln for ln in text.split("\n") if ln.strip()]
        return json.loads(lines[-1]) if lines else {}


def json_path(obj, path):
    # Keys joined by '/', a list index as a number: "chain/0/subject".
    # ABSENT when a step is missing.
    v = obj
    for k in path.split("/"):
        if isinstance(v, list):
            try:
                v = v[int(k)]
            except (ValueError, IndexError):
                return ABSENT
        elif isinstance(v, dict) and k in v:
            v = v[k]
        else:
            return ABSENT
    return v


def json_text(v):
    # How a value prints for the shell: booleans true/false, null, nested
    # values as JSON, anything else as itself.
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None or isinstance(v, (dict, list)):
        return json.dumps(v)
    return str(v)


def json_value(d, what):
    # WHAT is a path (see json_path) or a Python expression on d with the
    # helpers hdr(NAME[, OBJ]) (the values of header NAME in OBJ["headers"],
    # a list of [name, value], joined by "|", or ABSENT) and body() (the JSON
    # object in d["body"], an endpoint's echo).
    if PATH_RE.match(what):
        return json_path(d, what)

    def hdr(name, obj=None):
        o = d if obj is None else obj
        vals = [v for k, v in o.get("headers", []) if k.lower() == name.lower()]
        return "|".join(vals) if vals else ABSENT

    def body():
        return json.loads(d["body"])
    return eval(what, {"hdr": hdr, "body": body, "d": d})  # noqa: S307


def cmd_jget(args):
    text = sys.stdin.read()
    try:
        d = load_json_text(text)
    except ValueError as e:
        print("not JSON (%s): %r" % (e, text[:300]), file=sys.stderr)
        return 1
    print(json_text(json_value(d, args.what)))
    return 0


def spec_mismatches(obj, specs):
    # specs: key=value (exact), key~regex (re.search), key! (absent); a key
    # may be a path.  Returns the mismatches as sentences (empty: all hold);
    # raises ValueError on a spec that is none of these.
    bad = []
    for spec in specs:
        m = SPEC_RE.match(spec)
        if not m:
            raise ValueError("bad spec %r" % spec)
        k, op, v = m.groups()
        got = json_path(obj, k)
        if op == "!" and v == "":
            if got is not ABSENT:
                bad.append("%s is %s, expected absent" % (k, json.dumps(got)))
            continue
        if got is ABSENT:
            bad.append("%s is absent, expected %s%s" % (k, op, v))
            continue
        got = json_text(got)
        if op == "=" and got != v:
            bad.append("%s is '%s', expected '%s'" % (k, got, v))
        elif op == "~" and not re.search(v, got):
            bad.append("%s is '%s', expected to match /%s/" % (k, got, v))
    return bad


def check_specs(what, obj, raw, specs):
    try:
        bad = spec_mismatches(obj, specs)
    except ValueError as e:
        print(e)
        return 2
    if bad:
        print("%s: %s; record: %s" % (what, "; ".join(bad), raw))
        return 1
    return 0


def cmd_audit(args):
    # Wait (bounded) until FILE has LINE complete lines, then check record
    # LINE against the specs.  Prints every mismatch and the record; exit 1
    # if any.
    rc = cmd_waitlines(argparse.Namespace(file=args.file, n=args.line,
                                          timeout=args.timeout, pid=args.pid))
    if rc:
        return rc
    with open(args.file, "rb") as f:
        raw = f.read().split(b"\n")[args.line - 1]
    try:
        obj = json.loads(raw)
    except ValueError as e:
        print("audit line %d is not JSON (%s): %r" % (args.line, e, raw[:300]))
        return 1
    return check_specs("audit line %d" % args.line, obj, raw.decode(
        "utf-8", "replace"), args.specs)


def cmd_expect(args):
    # The JSON in FILE (see load_json_text) against the specs, as audit.
    with open(args.file, encoding="utf-8", errors="replace") as f:
        text = f.read()
    try:
        obj = load_json_text(text)
    except ValueError as e:
        print("%s is not JSON (%s): %r" % (args.file, e, text[:300]))
        return 1
    return check_specs(args.file, obj, text[:2000], args.specs)


def cmd_auditcount(args):
    # How many records FIRST..LAST (line numbers) match every spec.
    with open(args.file, "rb") as f:
        lines = f.read().split(b"\n")[args.first - 1:args.last]
    try:
        print(sum(not spec_mismatches(json.loads(ln), args.specs)
                  for ln in lines if ln))
    except ValueError as e:
        print(e)
        return 2
    return 0


def cmd_jsoncheck(args):
    # Every line must be one JSON object; used at the end of tests.
    bad = 0
    with open(args.file, "rb") as f:
        for i, ln in enumerate(f.read().split(b"\n"), 1):
            if not ln:
                continue
            try:
                if not isinstance(json.loads(ln), dict):
                    raise ValueError("not an object")
            except ValueError as e:
                print("%s:%d: %s: %r" % (args.file, i, e, ln[:200]))
                bad += 1
    return 1 if bad else 0


def cmd_pin(args):
    # sha256//BASE64 of the DER SubjectPublicKeyInfo (curl --pinnedpubkey).
    der = subprocess.run(
        ["openssl", "x509", "-in", args.cert, "-noout", "-pubkey"],
        check=True, capture_output=True).stdout
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-outform", "der"], input=der,
        check=True, capture_output=True).stdout
    print("sha256//" + base64.b64encode(hashlib.sha256(der).digest()).decode())
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("freeports")
    p.add_argument("n", type=int)
    p.add_argument("--used")
    p.add_argument("--range", help="LO-HI: take ports from this range")
    p.set_defaults(fn=cmd_freeports)
    p = sub.add_parser("waitport")
    p.add_argument("port", type=int)
    p.add_argument("--timeout", type=float, default=10)
    p.add_argument("--pid", type=int, default=0)
    p.add_argument("--closed", action="store_true",
                   help="wait until nothing listens on the port")
    p.set_defaults(fn=cmd_waitport)
    p = sub.add_parser("cpu")
    p.add_argument("pid", type=int)
    p.add_argument("--window", type=float, default=2)
    p.set_defaults(fn=cmd_cpu)
    p = sub.add_parser("listeners")
    p.add_argument("port", type=int)
    p.set_defaults(fn=cmd_listeners)
    p = sub.add_parser("waitlines")
    p.add_argument("file")
    p.add_argument("n", type=int)
    p.add_argument("--timeout", type=float, default=10)
    p.add_argument("--pid", type=int, default=0)
    p.set_defaults(fn=cmd_waitlines)
    p = sub.add_parser("waitgrep")
    p.add_argument("file")
    p.add_argument("needle")
    p.add_argument("--timeout", type=float, default=10)
    p.add_argument("--pid", type=int, default=0)
    p.set_defaults(fn=cmd_waitgrep)
    p = sub.add_parser("jget")
    p.add_argument("what")
    p.set_defaults(fn=cmd_jget)
    p = sub.add_parser("expect")
    p.add_argument("file")
    p.add_argument("specs", nargs="*")
    p.set_defaults(fn=cmd_expect)
    p = sub.add_parser("auditcount")
    p.add_argument("file")
    p.add_argument("first", type=int)
    p.add_argument("last", type=int)
    p.add_argument("specs", nargs="*")
    p.set_defaults(fn=cmd_auditcount)
    p = sub.add_parser("audit")
    p.add_argument("file")
    p.add_argument("line", type=int)
    p.add_argument("specs", nargs="*")
    p.add_argument("--timeout", type=float, default=10)
    p.add_argument("--pid", type=int, default=0)
    p.set_defaults(fn=cmd_audit)
    p = sub.add_parser("jsoncheck")
    p.add_argument("file")
    p.set_defaults(fn=cmd_jsoncheck)
    p = sub.add_parser("pin")
    p.add_argument("cert")
    p.set_defaults(fn=cmd_pin)
    args = ap.parse_args()
    sys.exit(args.fn(args))


if __name__ == "__main__":
    main()
