# SPDX-License-Identifier: MIT
#
# HTTP/1.x message splitting for the desync oracle, in several dialects.
# A request smuggling bug is two parsers disagreeing on where a message
# ends, so the oracle parses every byte stream the broker forwards with
# each dialect below and asks them to agree, and its recording upstreams
# act out one dialect each:
#
#   strict      RFC 9112 as written: CRLF only, no obs-fold, Content-Length
#               one 1*DIGIT value, Transfer-Encoding a token list ending in
#               chunked (never with Content-Length), strict chunk sizes
#   lenient_te  what old servers do: bare LF ends lines, obs-fold joins,
#               Transfer-Encoding wins over Content-Length and means chunked
#               when "chunked" appears anywhere in it, Content-Length is its
#               first number, chunk sizes are their leading hex digits
#   lenient_cl  the other classic: Content-Length wins (its last value),
#               Transfer-Encoding counts only when it is exactly "chunked"
#   http10      an HTTP/1.0 server: Transfer-Encoding means nothing, a body
#               is Content-Length or none
#
# parse_one() splits one request or response off a buffer; split() a whole
# stream.  Bytes in, bytes out: nothing is decoded but the numbers.

import re

TCHAR = frozenset(b"!#$%&'*+-.^_`|~0123456789"
                  b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

DIALECTS = {
    "strict": dict(loose=False, bare_lf=False, fold=False, te="strict", both="reject",
                   cl="strict", chunk="strict", te_ok=True),
    "lenient_te": dict(loose=True, bare_lf=True, fold=True, te="substring", both="te",
                       cl="first", chunk="lenient", te_ok=True),
    "lenient_cl": dict(loose=True, bare_lf=True, fold=True, te="exact", both="cl",
                       cl="last", chunk="lenient", te_ok=True),
    "http10": dict(loose=True, bare_lf=True, fold=True, te="exact", both="cl",
                   cl="first", chunk="lenient", te_ok=False),
}

# The dialects every forwarded HTTP/1.1 stream must split the same way.
AGREE = ("strict", "lenient_te", "lenient_cl")


class Bad(Exception):
    """The bytes are no valid message in this dialect."""


class More(Exception):
    """The message is not complete yet."""


class Msg:
    """One parsed message.  For requests method/target, for responses
    status; headers is a list of (lower-case name, value) as bytes; body
    the payload (chunk framing removed); start/end its offsets in the
    stream; complete False for a body cut short by the end of the
    stream."""

    def __init__(self):
        self.method = self.target = b""
        self.status = 0
        self.version = b""
        self.headers = []
        self.body = b""
        self.start = self.end = 0
        self.complete = True
        self.framing = "none"

    def field(self, name):
        """The values of field name (bytes, lower case), in order."""
        return [v for k, v in self.headers if k == name]

    def first(self, name, default=None):
        v = self.field(name)
        return v[0] if v else default

    def key(self):
        """What two parsers must agree on."""
        return (self.method, self.target, self.status, self.body,
                self.complete)

    def __repr__(self):
        if self.status:
            return "<%d %s body=%d%s>" % (self.status, self.framing,
                                          len(self.body),
                                          "" if self.complete else " cut")
        return "<%s %s body=%d%s>" % (self.method.decode("latin-1"),
                                      self.target.decode("latin-1"),
                                      len(self.body),
                                      "" if self.complete else " cut")


class _Reader:
    def __init__(self, buf, pos, d, eof):
        self.buf, self.pos, self.d, self.eof = buf, pos, d, eof

    def line(self):
        """The next line without its ending."""
        i = self.buf.find(b"\n", self.pos)
        if i == -1:
            if len(self.buf) - self.pos > 1 << 20:
                raise Bad("line too long")
            raise More()
        ln = self.buf[self.pos:i]
        if ln.endswith(b"\r"):
            ln = ln[:-1]
        elif not self.d["bare_lf"]:
            raise Bad("bare LF")
        if b"\r" in ln and not self.d["bare_lf"]:
            raise Bad("bare CR")
        self.pos = i + 1
        return ln

    def take(self, n):
        if len(self.buf) - self.pos < n:
            raise More()
        data = self.buf[self.pos:self.pos + n]
        self.pos += n
        return data


def _ctl(b):
    return any(c < 0x20 and c != 0x09 or c == 0x7f for c in b)


def _head(r, kind, d):
    """Start line and fields into a Msg."""
    m = Msg()
    ln = r.line()
    while ln == b"":		# empty lines before a request are ignored
        ln = r.line()
    if kind == "request":
        parts = ln.split() if d["loose"] else ln.split(b" ")
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise Bad("request line")
        m.method, m.target, m.version = parts
        if any(c not in TCHAR for c in m.method) or _ctl(m.target):
            raise Bad("method or target")
        if not d["loose"] and not (
                m.target.startswith(b"/") or re.match(rb"[a-zA-Z][a-zA-Z0-9+.-]*://", m.target)
                or (m.target == b"*" and m.method == b"OPTIONS")
                or m.method == b"CONNECT"):
            raise Bad("request-target %r is in no form of RFC 9112 3.2" % m.target[:40])
        if not re.fullmatch(rb"HTTP/1\.[01]", m.version):
            raise Bad("version %r" % m.version)
    else:
        mt = re.fullmatch(rb"(HTTP/1\.[01]) (\d{3})(?: (.*))?", ln, re.S)
        if mt is None and d["loose"]:
            mt = re.fullmatch(rb"(HTTP/1\.[01])\s+(\d{3})(?:\s+(.*))?", ln,
                              re.S | re.I)
        if mt is None:
            raise Bad("status line %r" % ln[:40])
        m.version, m.status = mt.group(1).upper(), int(mt.group(2))
    while True:
        ln = r.line()
        if ln == b"":
            break
        if ln[:1] in (b" ", b"\t"):
            if not d["fold"] or not m.headers:
                raise Bad("obs-fold")
            k, v = m.headers[-1]
            m.headers[-1] = (k, (v + b" " + ln.strip(b" \t")).strip(b" \t"))
            continue
        name, colon, value = ln.partition(b":")
        if not colon:
            raise Bad("field without a colon")
        if d["loose"]:
            name = name.rstrip(b" \t")
        if not name or any(c not in TCHAR for c in name):
            raise Bad("field name %r" % name[:40])
        if _ctl(value) and not d["loose"]:
            raise Bad("control byte in a field value")
        m.headers.append((name.lower(), value.strip(b" \t")))
    if kind == "request" and m.version == b"HTTP/1.1" and not d["loose"]:
        if len(m.field(b"host")) != 1:
            raise Bad("Host missing or repeated")
    return m


def _codings(values):
    out = []
    for v in values:
        for c in v.split(b","):
            c = c.strip(b" \t").lower()
            if c:
                out.append(c)
    return out


def _content_length(m, d):
    """The body length the Content-Length fields say, None if none."""
    vals = m.field(b"content-length")
    if not vals:
        return None
    if d["cl"] == "strict":
        if len(vals) != 1 or not re.fullmatch(rb"[0-9]+", vals[0]):
            raise Bad("Content-Length %r" % vals)
        n = int(vals[0])
        if n >= 1 << 63:
            raise Bad("Content-Length overflow")
        return n
    v = vals[0] if d["cl"] == "first" else vals[-1]
    mt = re.match(rb"\s*\+?([0-9]+)", v)
    if mt is None:
        raise Bad("Content-Length %r" % v)
    return int(mt.group(1)) % (1 << 64)		# C servers wrap


def _framing(m, kind, d, req_method):
    """('none'|'length'|'chunked'|'close', length)."""
    if kind == "response":
        if req_method == b"HEAD" or m.status < 200 or m.status in (204, 304):
            return "none", 0
        if req_method == b"CONNECT" and 200 <= m.status < 300:
            return "none", 0
    te = m.field(b"transfer-encoding") if d["te_ok"] else []
    if d["te"] == "strict" and te:
        if m.field(b"content-length"):
            raise Bad("Transfer-Encoding with Content-Length")
        if m.version == b"HTTP/1.0":
            raise Bad("Transfer-Encoding in HTTP/1.0")
        codings = _codings(te)
        if any(any(x not in TCHAR for x in c) for c in codings):
            raise Bad("Transfer-Encoding syntax")
        if codings.count(b"chunked") > 1:
            raise Bad("chunked twice")
        if codings and codings[-1] == b"chunked":
            return "chunked", 0
        if kind == "request":
            raise Bad("request coding is not chunked")
        return "close", 0	# RFC 9112 6.3: read until the server closes
    if d["te"] == "substring":
        chunked = any(b"chunked" in v.lower() for v in te)
    else:
        chunked = [v.strip().lower() for v in te] == [b"chunked"]
    if chunked and d["both"] == "te":
        return "chunked", 0
    cl = _content_length(m, d)
    if cl is not None:
        return "length", cl
    if chunked:
        return "chunked", 0
    return ("close", 0) if kind == "response" else ("none", 0)


def _chunk_size(ln, d):
    if d["chunk"] == "strict":
        mt = re.fullmatch(rb"([0-9a-fA-F]+)[ \t]*(;.*)?", ln, re.S)
        if mt is None or len(mt.group(1)) > 16:
            raise Bad("chunk size %r" % ln[:40])
        n = int(mt.group(1), 16)
        if n >= 1 << 63:
            raise Bad("chunk size overflow")
        ext = mt.group(2) or b""
        if ext and not re.fullmatch(
                rb"(?:[ \t]*;[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
                rb"(?:[ \t]*=[ \t]*(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|"
                rb"\"(?:[^\"\\\x00-\x08\x0a-\x1f\x7f]|\\.)*\"))?)*[ \t]*",
                ext, re.S):
            raise Bad("chunk extension %r" % ext[:40])
        return n
    mt = re.match(rb"\s*(?:0[xX])?([0-9a-fA-F]+)", ln)
    if mt is None:
        raise Bad("chunk size %r" % ln[:40])
    return int(mt.group(1), 16) % (1 << 64)


def _chunked(r, d):
    body = []
    while True:
        n = _chunk_size(r.line(), d)
        if n == 0:
            while r.line() != b"":	# trailers
                pass
            return b"".join(body)
        body.append(r.take(n))
        end = r.line()
        if end != b"":
            raise Bad("no CRLF after chunk data")


def parse_one(buf, pos=0, kind="request", dialect="strict", eof=False,
              req_method=b"GET"):
    """Parses one message of buf from pos.  Returns a Msg (m.end: where it
    ends); raises More when buf needs more bytes (or, at eof, returns the
    message with complete False if it was inside a body), Bad when the
    bytes are invalid in this dialect.  At eof and nothing left: None."""
    d = DIALECTS[dialect]
    if eof and buf[pos:].strip(b"\r\n") == b"":
        return None
    r = _Reader(buf, pos, d, eof)
    try:
        m = _head(r, kind, d)
    except More:
        if eof:
            raise Bad("the stream ends inside a head")
        raise
    m.start = pos
    m.framing, n = _framing(m, kind, d, req_method)
    try:
        if m.framing == "length":
            m.body = r.take(n)
        elif m.framing == "chunked":
            m.body = _chunked(r, d)
        elif m.framing == "close":
            if not eof:
                raise More()
            m.body = buf[r.pos:]
            r.pos = len(buf)
    except More:
        if not eof:
            raise
        m.complete = False
        m.body = buf[r.pos:]
        r.pos = len(buf)
    m.end = r.pos
    return m


def split(buf, kind="request", dialect="strict", eof=True, methods=None):
    """Every message of a stream: (messages, end) where end is "ok", "more"
    (the rest is an unfinished message) or "bad: REASON".  methods gives
    the request method of each response (HEAD matters)."""
    out, pos = [], 0
    while pos < len(buf):
        meth = methods[len(out)] if methods and len(out) < len(methods) \
            else b"GET"
        try:
            m = parse_one(buf, pos, kind, dialect, eof, meth)
        except More:
            return out, "more"
        except Bad as e:
            return out, "bad: %s" % e
        if m is None:
            break
        out.append(m)
        if m.end == pos:
            break
        pos = m.end
    return out, "ok"


def host_norm(v):
    """A Host value as the broker routes it: lower case, no port, no
    trailing dot; None if it is no valid host."""
    if isinstance(v, bytes):
        v = v.decode("latin-1")
    v = v.strip().lower()
    if v.startswith("["):
        h, _, rest = v[1:].partition("]")
        return h if re.fullmatch(r"[0-9a-f:.]+", h) and \
            re.fullmatch(r"(:[0-9]*)?", rest) else None
    h, _, port = v.partition(":")
    if port and not port.isdigit():
        return None
    h = h[:-1] if h.endswith(".") else h
    return h if re.fullmatch(r"[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?", h) else None
