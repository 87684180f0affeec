#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The desync oracle: request streams of every shape (valid, malformed, the
# known smuggling shapes; shapes.py) go through the real daemon, TLS in,
# to recording upstreams that parse strictly and leniently (upstreams.py:
# raw recorders in four dialects and nginx), and then every side's view is
# compared:
#
#   requests   every request an upstream parsed is one the broker audited,
#              on the same client connection (the X-Oracle marker each
#              request carries), with the same route, method, target,
#              Host and body; every request audited "ok" reached its
#              upstream; the bytes forwarded on every upstream connection
#              split the same way in every HTTP/1.1 dialect of h1.py
#   answers    every answer the client parsed (strictly) is the one the
#              upstream sent for that request (the id in X-Oracle-Resp, the
#              same status and body) or the broker's own error for it, in
#              order, nothing more; an answer audited "ok" arrived whole
#              (a close-delimited answer ended by a reset is one cut
#              short, as a client sees it; one ended by a FIN is whole)
#
# The audit record of request N of a connection covers the next
# bytes_in bytes of what the client sent: that span is the broker's own
# view of the request (its marker, its body).
#
#   oracle.py --broker BIN [--kind request|response|both] [--cases N]
#             [--seconds S] [--seed S] [--log-dir DIR] [--replay FILE]
#
# Exit status 0 when no check failed.  A failing case is saved as
# DIR/repro-CASE.json (the stream, what each side saw) and can be run
# again alone with --replay; runs are reproducible from --seed.

import argparse
import calendar
import collections
import json
import os
import random
import re
import select
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration", "endpoints"))
import brokerproc  # noqa: E402
import h1  # noqa: E402
import shapes  # noqa: E402
import streamend  # noqa: E402
import upstreams  # noqa: E402

CASE_DEADLINE = 10.0	# seconds a case may take before it counts as stalled


# ---- set-up -----------------------------------------------------------------

class Setup:
    def __init__(self, args):
        self.args = args
        self.dir = args.log_dir
        os.makedirs(self.dir, exist_ok=True)
        self.cert = os.path.join(self.dir, "broker.pem")
        if not os.path.exists(self.cert):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-subj",
                            "/CN=oracle.test", "-days", "2", "-keyout", self.cert,
                            "-out", self.cert + ".crt"], check=True,
                           capture_output=True)
            with open(self.cert, "ab") as f, open(self.cert + ".crt", "rb") as c:
                f.write(c.read())
        self.ups = {}
        for k in ("strict", "lenient", "h10", "fake11", "resp"):
            self.ups[k] = upstreams.Recorder(k)
        self.nginx = None
        if args.kind != "response" and shutil.which("nginx") and \
                upstreams.find_echo_module():
            self.nginx = upstreams.Nginx(self.dir)
        self.routes = [k for k in shapes.ROUTES + (shapes.RESP_ROUTE,)
                       if k != "nginx" or self.nginx]
        self.audit = os.path.join(self.dir, "audit.jsonl")
        if os.path.exists(self.audit):
            os.unlink(self.audit)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()

    def up_port(self, route):
        return self.nginx.port if route == "nginx" else self.ups[route].port

    def ini(self):
        out = ["[broker]", "workers = %d" % self.args.workers,
               "audit_log = %s" % self.audit, "log_level = info",
               "drain_timeout = 3s", "",
               "[listener in]", "bind = 127.0.0.1:%d" % self.port,
               "cert = %s" % self.cert, "request_timeout = 2s",
               "keepalive_timeout = 3s", ""]
        for r in self.routes:
            out += ["[route %s]" % r, "listener = in", "host = %s.test" % r,
                    "upstream = 127.0.0.1:%d" % self.up_port(r),
                    "upstream_tls = off", "response_timeout = 2s"]
            if self.args.isolate:
                out.append("pool_max_idle = 0")
            out.append("")
        return "\n".join(out)

    def start_broker(self):
        path = os.path.join(self.dir, "broker.ini")
        with open(path, "w") as f:
            f.write(self.ini())
        self.broker_log = os.path.join(self.dir, "broker.log")
        self.broker = subprocess.Popen(
            [self.args.broker, "-c", path], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=open(self.broker_log, "w"))
        end = time.monotonic() + 30
        while time.monotonic() < end:
            if self.broker.poll() is not None:
                sys.exit("oracle: the broker exited at start; see %s" % self.broker_log)
            with open(self.broker_log, errors="replace") as f:
                if "ready:" in f.read():
                    return
            time.sleep(0.05)
        sys.exit("oracle: the broker is not ready after 30 s")

    def stop(self):
        """Stops the broker (its exit status, sanitizer reports), then the
        upstreams.  Returns a list of problems."""
        problems = brokerproc.stop(self.broker, self.broker_log)
        for u in self.ups.values():
            u.wait_idle(5)
            u.stop()
        if self.nginx:
            self.nginx.stop()
        return problems


# ---- the client ---------------------------------------------------------------

class Result:
    def __init__(self, case):
        self.case = case
        self.port = None
        self.received = b""
        self.eof = False
        self.reset = False	# the broker ended the stream with a TCP reset
        self.notes = []
        self.t_start = self.t_end = 0.0	# wall clock around the connection


CTX = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE
streamend.quiet_eof(CTX)	# a FIN must not draw our alert, nor its reset


def _connect(port, sni):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    local = s.getsockname()[1]
    return CTX.wrap_socket(s, server_hostname=sni), local


def _was_reset(ss):
    """True if the broker reset the connection.  TLS reports a reset and
    a FIN alike (an EOF without close_notify), and after either OpenSSL's
    alert draws a reset from the closed socket, so the TCP socket itself
    is asked before TLS reads: a peek raises on a reset, its data first."""
    if ss.pending():
        return False
    try:
        socket.socket.recv(ss, 1, socket.MSG_PEEK)
    except ConnectionResetError:
        return True
    except OSError:
        pass
    return False


def _stream_end(ss, res):
    """Records the end of the broker's stream: a reset, or a FIN or
    close_notify.  The peek in _was_reset() sees a reset only when it
    wins the race with SSL_read(): a reset that arrives between the two
    is consumed by SSL_read(), which Python reports as b'' like a FIN.
    The socket's TCP state still tells them apart (streamend.py)."""
    res.eof = True
    if streamend.ended_by_reset(ss):
        res.reset = True


def read_available(ss, res, got):
    """Reads what the broker sent so far into got; notes its end in res."""
    try:
        while True:
            if _was_reset(ss):
                res.reset = res.eof = True
                break
            d = ss.recv(65536)
            if not d:
                _stream_end(ss, res)
                break
            got += d
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
        pass
    except (OSError, ssl.SSLError) as e:
        res.notes.append("read: %s" % e)
        _stream_end(ss, res)


def run_case(case, port):
    """Sends the case's segments (with their pauses) while reading
    everything the broker sends, up to its close."""
    res = Result(case)
    res.t_start = time.time()
    try:
        ss, res.port = _connect(port, case.sni)
    except (OSError, ssl.SSLError) as e:
        res.notes.append("connect: %s" % e)
        return res
    ss.setblocking(False)
    segs = list(case.segments)
    i, off, next_at = 0, 0, 0.0
    got = bytearray()
    deadline = time.monotonic() + CASE_DEADLINE
    try:
        while time.monotonic() < deadline:
            now = time.monotonic()
            sending = i < len(segs) and now >= next_at
            if not ss.pending():
                select.select([ss], [ss] if sending else [], [], 0.05)
            read_available(ss, res, got)
            if res.eof:
                break
            if sending:
                data = segs[i][0]
                try:
                    off += ss.send(data[off:off + 16384])
                    if off >= len(data):
                        next_at = time.monotonic() + segs[i][1]
                        i, off = i + 1, 0
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    pass
                except (OSError, ssl.SSLError) as e:
                    res.notes.append("write: %s" % e)
                    i = len(segs)
    finally:
        res.received = bytes(got)
        ss.close()
        res.t_end = time.time()
    return res


def run_all(cases, port, concurrency, time_limit):
    """Runs the cases, concurrency at a time, until time_limit (seconds)."""
    results = []
    lock = threading.Lock()
    todo = iter(cases)
    stop_at = time.monotonic() + time_limit

    def worker():
        while time.monotonic() < stop_at:
            with lock:
                c = next(todo, None)
                if c is None:
                    return
            r = run_case(c, port)
            with lock:
                results.append(r)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# ---- the checks ---------------------------------------------------------------

class Failure:
    def __init__(self, kind, cases, detail, ureqs=()):
        self.kind = kind
        self.cases = sorted({c for c in cases if c})
        self.detail = detail
        self.ureqs = list(ureqs)	# the upstream requests involved
        self.uconns = sorted({(u.up, u.uconn) for u in self.ureqs})
        self.victim = False	# came after an earlier desync on its upstream connection


def path_only(t):
    """A target as the audit may hold it: no query, no matrix parameters."""
    if isinstance(t, bytes):
        t = t.decode("latin-1")
    return re.split(r"[?;]", t, 1)[0]


def case_of(marker):
    return marker.rsplit(".", 1)[0] if marker else None


class Span:
    """The broker's view of one request: the bytes_in bytes its audit
    record covers."""

    def __init__(self, data):
        self.data = data
        i = 0
        while data[i:i + 2] == b"\r\n":
            i += 2
        end = data.find(b"\r\n\r\n", i)
        head, body = (data[i:end], data[end + 4:]) if end != -1 else (data[i:], b"")
        self.markers, te = [], False
        for ln in head.split(b"\r\n")[1:]:
            k, _, v = ln.partition(b":")
            k = k.strip().lower()
            if k == b"x-oracle":
                self.markers.append(v.strip().decode("latin-1"))
            te = te or k == b"transfer-encoding"
        self.payload, self.bad = body, None
        if te:
            try:
                r = h1._Reader(body, 0, h1.DIALECTS["strict"], True)
                self.payload = h1._chunked(r, h1.DIALECTS["strict"])
            except h1.More:
                self.payload, self.bad = None, "the broker took part of the chunked body"
            except h1.Bad as e:
                self.payload, self.bad = None, "invalid chunked body: %s" % e

    @property
    def marker(self):
        return self.markers[0] if self.markers else None


def audit_time(ts):
    """Seconds since the epoch of an audit "ts" (UTC, milliseconds)."""
    return calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")) + \
        int(ts[20:23]) / 1000.0


def read_audit(path):
    """http records by client port; bad: lines that are no JSON."""
    recs = collections.defaultdict(list)
    bad = 0
    if not os.path.exists(path):
        return recs, bad
    with open(path, "rb") as f:
        for ln in f:
            try:
                o = json.loads(ln)
            except ValueError:
                bad += 1
                continue
            if "req" in o and "client" in o:
                o["t"] = audit_time(o["ts"])
                recs[int(o["client"].rsplit(":", 1)[1])].append(o)
    for v in recs.values():
        v.sort(key=lambda o: (o["conn"], o["req"]))
    return recs, bad


def case_records(audit, res):
    """The audit records of one client connection: its port's records of
    a connection that started while it was open (ports are reused)."""
    recs = audit.get(res.port, [])
    conns = {r["conn"] for r in recs if r["req"] == 1 and
             res.t_start - 0.01 <= r["t"] <= res.t_end + 0.01}
    return [r for r in recs if r["conn"] in conns], conns


def client_answers(received, methods):
    """The answers a strict client reads: [(Msg or None, 1xx list)] and
    the way the stream ended ("ok", "bad: ...")."""
    out, pos = [], 0
    while pos < len(received):
        meth = methods[len(out)] if len(out) < len(methods) else b"GET"
        try:
            m = h1.parse_one(received, pos, "response", "strict", True, meth)
        except h1.Bad as e:
            return out, "bad: %s at byte %d" % (e, pos)
        if m is None:
            break
        pos = m.end
        if m.status < 200:
            continue
        conn = b",".join(m.field(b"connection")).lower()
        if re.search(rb"content-length|transfer-encoding", conn):
            return out, "bad: Connection names a framing field"
        out.append(m)
    return out, "ok"


class Checker:
    def __init__(self, setup, results):
        self.su = setup
        self.results = results
        self.failures = []
        self.ureqs = []
        for u in setup.ups.values():
            self.ureqs += u.reqs
        if setup.nginx:
            self.ureqs += setup.nginx.reqs
        self.audit, self.bad_audit = read_audit(setup.audit)
        self.by_case = collections.defaultdict(list)
        self.by_id = {}
        known = {r.case.id for r in results}
        # An upstream that refused a request at its first line never saw
        # its marker: the client that got the refusal names it.
        got = {}
        for r in results:
            for m in re.findall(rb"X-Oracle-Resp: ([^\r\n]+)", r.received):
                got[m.decode("latin-1")] = r.case.id
        for u in self.ureqs:
            if u.resp_id:
                self.by_id[u.resp_id] = u
            c = case_of(u.marker)
            if c is None and u.err and u.resp_id in got:
                c = got[u.resp_id]
                u.markers = [self.request_marker(results, c, u)]
            if c in known:
                self.by_case[c].append(u)
            else:
                self.fail("upstream parsed an unattributable request",
                          self.cases_on(u.up, u.uconn),
                          "%s conn %d req %d: %s" % (u.up, u.uconn, u.n,
                                                     json.dumps(u.to_json())),
                          [u])

    def request_marker(self, results, cid, u):
        """The marker of the request of case cid an upstream refused (the
        one the client got u's answer for), as the broker saw it."""
        res = next(r for r in results if r.case.id == cid)
        answers, _ = client_answers(res.received, [])
        recs, _ = case_records(self.audit, res)
        spans, off = [], 0
        for r in recs:
            spans.append(Span(res.case.stream[off:off + int(r.get("bytes_in", 0))]))
            off += int(r.get("bytes_in", 0))
        for k, a in enumerate(answers):
            if k < len(spans) and a.first(b"x-oracle-resp") == u.resp_id.encode():
                return spans[k].marker
        return None

    def fail(self, kind, cases, detail, uconns=()):
        self.failures.append(Failure(kind, cases, detail, uconns))

    def cases_on(self, up, uconn):
        return [case_of(u.marker) for u in self.ureqs
                if u.up == up and u.uconn == uconn and case_of(u.marker)]

    def run(self):
        for res in self.results:
            self.check_case(res)
        self.check_ambiguity()
        self.mark_victims()
        return self.failures

    def mark_victims(self):
        """A request an upstream parsed that no client sent desyncs its
        connection: what goes wrong after it there is its consequence."""
        points = collections.defaultdict(list)
        for f in self.failures:
            if f.kind.startswith("upstream parsed"):
                for u in f.ureqs:
                    points[(u.up, u.uconn)].append(u.seq)
        for f in self.failures:
            mine = {u.seq for u in f.ureqs}
            f.victim = any(p < u.seq and p not in mine
                           for u in f.ureqs for p in points[(u.up, u.uconn)])

    # -- one client connection
    def check_case(self, res):
        c = res.case
        if res.port is None:
            self.fail("client could not connect", [c.id], "; ".join(res.notes))
            return
        if not res.eof:
            self.fail("stalled", [c.id], "no close from the broker within %.0f s"
                      % CASE_DEADLINE)
        recs, conns = case_records(self.audit, res)
        if len(conns) > 1:
            self.fail("audit", [c.id], "port %d has records of %d connections"
                      % (res.port, len(conns)))
        spans, off, stream = [], 0, c.stream
        for r in recs:
            n = int(r.get("bytes_in", 0))
            spans.append(Span(stream[off:off + n]))
            off += n
        matched = set()
        for r, sp in zip(recs, spans):
            self.check_forwarded(c, r, sp, matched)
        for u in self.by_case.get(c.id, []):
            if id(u) not in matched:
                self.fail("upstream parsed a request the broker did not audit",
                          [c.id] + self.cases_on(u.up, u.uconn),
                          json.dumps(u.to_json()), [u])
        self.check_answers(c, res, recs, spans)

    def check_forwarded(self, c, r, sp, matched):
        if "upstream" not in r:
            return
        ok = r.get("close") == "ok"
        cands = [u for u in self.by_case.get(c.id, [])
                 if sp.marker is not None and sp.marker in u.markers and
                 id(u) not in matched]
        where = "req %d (%s %s, route %s, close=%s)" % (
            r["req"], r.get("method"), (r.get("path") or "")[:80], r.get("route"),
            r.get("close"))
        if not cands:
            if ok:
                self.fail("audited ok, never parsed by an upstream", [c.id],
                          "%s, marker %s" % (where, sp.marker))
            return
        u = cands[0]
        matched.add(id(u))
        if len(cands) > 1 and not r.get("retries"):
            for extra in cands[1:]:
                matched.add(id(extra))
            self.fail("one request parsed twice upstream", [c.id],
                      "%s: %s" % (where, [json.dumps(x.to_json()) for x in cands]),
                      cands)
        ups = [u]
        if u.err and not u.method:	# refused before its request line was parsed
            if ok:
                self.fail("audited ok, upstream did not parse it whole", [c.id],
                          "%s: upstream %s" % (where, u.err), ups)
            return
        if u.up != r.get("route"):
            self.fail("request reached another route's upstream", [c.id],
                      "%s routed %s, parsed by %s" % (where, r.get("route"), u.up), ups)
        meth = u.method.decode("latin-1")
        if r.get("method") != meth and not (
                r.get("method") == "OTHER" and meth not in (
                    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT",
                    "OPTIONS", "TRACE", "PATCH")):
            self.fail("method differs", [c.id], "%s, upstream parsed %s" % (where, meth), ups)
        if path_only(r.get("path", "")) != path_only(u.target) and u.target != b"*":
            self.fail("target differs", [c.id], "%s, upstream parsed %r" % (
                where, u.target[:200]), ups)
        hosts = [h1.host_norm(h) for h in u.hosts]
        if hosts != ["%s.test" % r.get("route")] and not (u.err and u.up == "nginx"):
            self.fail("upstream got another Host than the route's", [c.id],
                      "%s, upstream got Host %r" % (where, u.hosts), ups)
        if not ok:
            return
        if u.err and u.up == "nginx" and r.get("status") == u.status:
            return	# nginx refused it as a whole: its choice, no desync
        if u.err or not u.complete:
            self.fail("audited ok, upstream did not parse it whole", [c.id],
                      "%s: upstream %s" % (where, u.err or "got part of the body"), ups)
        elif sp.payload is None:
            self.fail("audited ok, but the request's own bytes are no whole request",
                      [c.id], "%s: %s" % (where, sp.bad), ups)
        elif sp.payload != u.body:
            self.fail("body differs", [c.id], "%s: broker took %d body bytes, "
                      "upstream parsed %d" % (where, len(sp.payload), len(u.body)), ups)

    def check_answers(self, c, res, recs, spans):
        methods = [(r.get("method") or "GET").encode() for r in recs]
        methods += c.methods[len(methods):]
        answers, end = client_answers(res.received, methods)
        if answers and answers[-1].framing == "close" and res.reset:
            # a reset is no end of a body: a client sees the answer cut
            answers[-1].complete = False
        last_ok = bool(recs) and recs[-1].get("close") == "ok"
        if end != "ok" and not (not last_ok and "inside a head" in end):
            self.fail("client cannot parse the broker's answers", [c.id],
                      "%s; received %r" % (end, res.received[-300:]))
        for k, a in enumerate(answers):
            if k >= len(recs):
                self.fail("answer the broker never audited", [c.id],
                          "answer %d: %d %r" % (k + 1, a.status, a.first(b"x-oracle-resp")))
                continue
            r = recs[k]
            where = "req %d (%s %s, route %s, close=%s)" % (
                r["req"], r.get("method"), (r.get("path") or "")[:80], r.get("route"),
                r.get("close"))
            shape = c.resp_shapes[k] if k < len(c.resp_shapes) else None
            rid = a.first(b"x-oracle-resp")
            if a.first(b"x-broker-error") is not None or rid is None:
                if r.get("status") != a.status:
                    self.fail("the broker's answer differs from its audit", [c.id],
                              "%s, client got %d" % (where, a.status))
                if shape and shape.startswith("ok_") and r.get("close") in (
                        "upstream_bad_response",):
                    self.fail("a valid answer was refused", [c.id],
                              "%s: shape %s refused: %s" % (where, shape, r.get("detail")))
                continue
            u = self.by_id.get(rid.decode("latin-1"))
            if u is None:
                self.fail("answer with an id no upstream sent", [c.id],
                          "%s, id %r" % (where, rid))
                continue
            ups = [u]
            if case_of(u.marker) != c.id:
                self.fail("answer meant for another client connection",
                          [c.id, case_of(u.marker)], "%s got the answer to %s %s (%s)" % (
                              where, u.method, u.target[:100], u.marker), ups)
                continue
            if spans[k].marker not in u.markers:
                self.fail("answer meant for another request", [c.id],
                          "%s (marker %s) got the answer to %s" % (
                              where, spans[k].marker, u.marker), ups)
                continue
            if a.complete and r.get("close") != "ok" and \
                    (a.status, a.body) not in (u.meanings or []):
                self.fail("an answer the broker knew was cut short reached the client "
                          "as complete", [c.id], "%s: shape %s, %d body bytes, framed "
                          "%s" % (where, shape, len(a.body), a.framing), ups)
                continue
            if not a.complete:
                if r.get("close") == "ok":
                    self.fail("audited ok, answer cut short", [c.id],
                              "%s: %d body bytes" % (where, len(a.body)), ups)
                continue
            if not u.meanings:
                self.fail("an invalid upstream answer reached the client", [c.id],
                          "%s: shape %s delivered as %d with %d body bytes" % (
                              where, shape, a.status, len(a.body)), ups)
                continue
            if (a.status, a.body) not in u.meanings and (a.status, None) not in u.meanings:
                self.fail("answer differs from what the upstream sent", [c.id],
                          "%s: shape %s: client got %d with %r, upstream meant %r" % (
                              where, shape, a.status, a.body[:120],
                              [(s, b[:120]) for s, b in u.meanings]), ups)
        for k in range(len(answers), len(recs)):
            r = recs[k]
            if r.get("close") == "ok" and r.get("status"):
                self.fail("audited ok, the client got no answer", [c.id],
                          "req %d (%s %s)" % (r["req"], r.get("method"), r.get("path")))

    # -- every upstream connection
    def check_ambiguity(self):
        for name, u in self.su.ups.items():
            for uconn, raw in u.raw.items():
                splits = {d: h1.split(raw, "request", d, eof=True) for d in h1.AGREE}
                keys = {d: [m.key() for m in ms] for d, (ms, _) in splits.items()}
                if len({json.dumps([[repr(x) for x in k] for k in v])
                        for v in keys.values()}) > 1:
                    self.fail("forwarded bytes split differently by different parsers",
                              self.cases_on(name, uconn), "%s conn %d: %s" % (
                                  name, uconn, "; ".join("%s: %r %s" % (d, ms, e) for d, (
                                      ms, e) in splits.items())),
                              [x for x in self.ureqs if x.up == name and x.uconn == uconn])


# ---- report -------------------------------------------------------------------

def save_repro(su, checker, f, cases_by_id, seed, path):
    recs = {}
    for r in checker.results:
        if r.case.id in f.cases:
            recs[r.case.id] = {"port": r.port, "notes": r.notes,
                               "received": r.received.decode("latin-1"),
                               "audit": case_records(checker.audit, r)[0]}
    raw = {}
    for up, uconn in f.uconns:
        if up in su.ups:
            raw["%s/%d" % (up, uconn)] = su.ups[up].raw.get(uconn, b"").decode("latin-1")
    ureqs = [u.to_json() for u in checker.ureqs
             if case_of(u.marker) in f.cases or (u.up, u.uconn) in f.uconns]
    with open(path, "w") as fp:
        json.dump({"seed": seed, "failure": f.kind, "detail": f.detail,
                   "cases": [cases_by_id[c].to_json() for c in f.cases if c in cases_by_id],
                   "client": recs, "upstream_requests": ureqs,
                   "upstream_bytes": raw, "replay":
                   "tests/oracle/oracle.py --broker BIN --replay %s" % path},
                  fp, indent=1)


def generate(kind, seed, n):
    """The cases of a run, made as they are needed: request and response
    cases in turn (--kind both), case i a function of (seed, i)."""
    for i in range(n):
        if kind in ("request", "both"):
            yield shapes.request_case(seed, i)
        if kind in ("response", "both"):
            yield shapes.response_case(seed, i)


def skip(cases, shape_re, stream_re):
    """Leaves out cases with a shape or bytes matching (triage: shows
    what fails without the shapes of bugs already known)."""
    for c in cases:
        if shape_re and any(re.search(shape_re, s) for s in c.shapes):
            continue
        if stream_re and re.search(stream_re.encode(), c.stream):
            continue
        yield c


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--broker", required=True)
    ap.add_argument("--kind", choices=["request", "response", "both"], default="both")
    ap.add_argument("--cases", type=int, default=500,
                    help="cases of each kind (default 500)")
    ap.add_argument("--seconds", type=float, default=40,
                    help="stop starting cases after this long")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--concurrency", type=int, default=6)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--log-dir", default=None)
    ap.add_argument("--isolate", action="store_true",
                    help="one case at a time, no pooled connections: each "
                    "failure is its own case's (for triage)")
    ap.add_argument("--replay", default=None, help="a repro-*.json to run again")
    ap.add_argument("--skip-shapes", default=None, metavar="REGEX",
                    help="leave out cases with a shape matching REGEX")
    ap.add_argument("--skip-stream", default=None, metavar="REGEX",
                    help="leave out cases whose bytes match REGEX")
    ap.add_argument("--max-repro", type=int, default=40,
                    help="reproducer files to write at most")
    ap.add_argument("--max-groups", type=int, default=25,
                    help="failure groups to print in full")
    args = ap.parse_args()
    if args.isolate:
        args.concurrency = 1
    if args.log_dir is None:
        args.log_dir = tempfile.mkdtemp(prefix="tlsbroker-oracle.")
    warm = []
    if args.replay:
        with open(args.replay) as f:
            rep = json.load(f)
        seed = rep["seed"]
        # What a pool learns (the endpoint's HTTP version) shapes what the
        # broker sends: one answer from every route first, as in a long run.
        warm = [shapes.warm_case(r) for r in shapes.ROUTES]
        cases = [shapes.Case.from_json(o) for o in rep["cases"]]
    else:
        seed = args.seed if args.seed is not None else random.randrange(1 << 30)
        cases = generate(args.kind, seed, args.cases)
    most = len(cases) if args.replay else args.cases * (2 if args.kind == "both" else 1)
    if args.skip_shapes or args.skip_stream:
        cases = skip(cases, args.skip_shapes, args.skip_stream)
    print("oracle: seed %d, up to %d cases for %.0f s, log dir %s" % (
        seed, most, args.seconds, args.log_dir))
    sys.stdout.flush()
    su = Setup(args)
    if not su.nginx and args.kind != "response":
        print("oracle: nginx with the echo module not found: no nginx route")
        cases = (c for c in cases if b"nginx.test" not in c.stream)
    su.start_broker()
    t0 = time.monotonic()
    results = run_all(warm, su.port, 1, args.seconds) if args.replay else []
    results += run_all(cases, su.port, args.concurrency, args.seconds)
    elapsed = time.monotonic() - t0
    problems = su.stop()
    checker = Checker(su, results)
    failures = checker.run()
    if checker.bad_audit:
        problems.append("%d audit lines are not JSON" % checker.bad_audit)
    ran = [r.case for r in results]
    shapes_seen = {s for c in ran for s in c.shapes if s != "end"}
    nreq = sum(len(c.methods) for c in ran)
    print("oracle: %d cases (%d requests) in %.1f s, %d distinct shapes "
          "(%d request shapes, %d response shapes), %d upstream requests parsed" % (
              len(ran), nreq, elapsed, len(shapes_seen),
              len({s for c in ran if c.kind == "request" for s in c.shapes if s != "end"}),
              len({s for c in ran if c.kind == "response" for s in c.shapes}),
              len(checker.ureqs)))
    by_id = {c.id: c for c in ran}
    groups = collections.defaultdict(list)
    for f in failures:
        shp = sorted({s for cid in f.cases if cid in by_id for s in by_id[cid].shapes
                      if s != "end"})
        groups[(f.kind + (" (after an earlier desync on its upstream connection)"
                          if f.victim else ""), " ".join(shp))].append(f)
    saved = 0
    for i, ((kind, shp), fs) in enumerate(sorted(groups.items())):
        f = fs[0]
        path = os.path.join(args.log_dir, "repro-%s.json" % (
            f.cases[0] if f.cases else "x%d" % saved))
        if saved < args.max_repro and not os.path.exists(path):
            save_repro(su, checker, f, by_id, seed, path)
            saved += 1
        if i < args.max_groups:
            print("oracle: FAIL %s (%d cases) shapes [%s]\n    e.g. %s: %s\n"
                  "    reproducer: %s" % (kind, len(fs), shp, ",".join(f.cases[:3]),
                                          f.detail[:600], path if os.path.exists(path)
                                          else "(not saved: --max-repro)"))
    if len(groups) > args.max_groups:
        print("oracle: ... %d more groups (--max-groups)" % (len(groups) - args.max_groups))
    kinds = collections.Counter(f.kind for f in failures)
    for k, n in sorted(kinds.items()):
        print("oracle: %5d x %s" % (n, k))
    alone = collections.Counter()
    for f in failures:
        for cid in f.cases:
            own = [s for s in by_id[cid].shapes if s != "end"] if cid in by_id else []
            if len(own) == 1 and not f.victim:
                alone[own[0]] += 1
    if alone and args.isolate:
        print("oracle: shapes that fail in a case of their own: " + ", ".join(
            "%s (%d)" % kv for kv in sorted(alone.items())))
    for p in problems:
        print("oracle: PROBLEM: %s" % p)
    print("oracle: %s: %d failures in %d groups, %d problems" % (
        "FAILED" if failures or problems else "passed", len(failures), len(groups),
        len(problems)))
    sys.exit(1 if failures or problems else 0)


if __name__ == "__main__":
    main()
