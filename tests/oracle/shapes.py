# SPDX-License-Identifier: MIT
#
# The desync oracle's seeded case generator.  A case is one client
# connection: a byte stream of one to four requests of the shapes below
# (valid ones, malformed ones and the known smuggling shapes), then a last
# "GET /end" with Connection: close, cut into segments sent with small
# pauses.  Every request carries "X-Oracle: CASE.N"; a request hidden in a
# body carries "X-Oracle: CASE.sN", so whatever an upstream parses names
# the client connection it came from.  Response-side cases ask the
# recording upstream for an answer shape ("/r/SHAPE/V"; see RESPONSES).
#
# case(seed, n, kind) is a pure function of its arguments: a failing case
# is reproduced from its seed and number alone.

import random

ROUTES = ("strict", "lenient", "h10", "fake11", "nginx")
RESP_ROUTE = "resp"
CHUNK_EXTS = (b"", b";a=b", b";x", b' ;q="v;\\"w"', b";a=b;c=d")


class Case:
    def __init__(self, cid, kind):
        self.id = cid
        self.kind = kind	# "request" or "response"
        self.shapes = []	# the shape of each request, in order
        self.methods = []	# the method of each request (HEAD frames answers)
        self.segments = []	# (bytes, pause in seconds before the next)
        self.sni = None
        self.resp_shapes = []	# response cases: the answer shape of each request

    @property
    def stream(self):
        return b"".join(s for s, _ in self.segments)

    def to_json(self):
        return {"id": self.id, "kind": self.kind, "shapes": self.shapes,
                "methods": [m.decode("latin-1") for m in self.methods],
                "sni": self.sni, "resp_shapes": self.resp_shapes,
                "segments": [[s.decode("latin-1"), p] for s, p in self.segments]}

    @classmethod
    def from_json(cls, o):
        c = cls(o["id"], o["kind"])
        c.shapes, c.sni, c.resp_shapes = o["shapes"], o["sni"], o["resp_shapes"]
        c.methods = [m.encode("latin-1") for m in o["methods"]]
        c.segments = [(s.encode("latin-1"), p) for s, p in o["segments"]]
        return c


class Gen:
    """Builds one case's requests."""

    def __init__(self, rnd, case):
        self.r = rnd
        self.case = case
        self.n = 0
        self.ns = 0

    def host(self, route=None):
        return b"%s.test" % (route or self.r.choice(ROUTES)).encode()

    def marker(self):
        self.n += 1
        return b"X-Oracle: %s.%d\r\n" % (self.case.id.encode(), self.n)

    def smarker(self):
        self.ns += 1
        return b"X-Oracle: %s.s%d\r\n" % (self.case.id.encode(), self.ns)

    def body(self, lo=0, hi=64):
        n = self.r.choice([lo, self.r.randint(lo, hi), hi, 5])
        return bytes(self.r.choice(b"abcdefghijklmnopqrstuvwxyz0123456789")
                     for _ in range(max(lo, n)))

    def path(self):
        return self.r.choice([b"/x", b"/a/b", b"/q?k", b"/p%20q", b"/",
                              b"/long/" + b"y" * self.r.randint(1, 300)])

    def head(self, method=b"GET", target=None, host=None, fields=b"",
             version=b"HTTP/1.1", marker=True):
        """A request head; fields are raw lines (CRLF included)."""
        h = b"%s %s %s\r\n" % (method, target or self.path(), version)
        if host is not False:
            h += b"Host: %s\r\n" % (host or self.host())
        if marker:
            h += self.marker()
        return h + fields + b"\r\n"

    def inner(self, capture=False):
        """A request hidden in a body.  capture: a POST whose length
        swallows whatever follows it (another client's request)."""
        h = self.host(self.r.choice(ROUTES))
        if capture:
            return (b"POST /capture HTTP/1.1\r\nHost: %s\r\n%s"
                    b"Content-Length: 400\r\n\r\n" % (h, self.smarker()))
        return b"GET /smuggled HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (h, self.smarker())

    def chunked(self, payload, ext=None, last=b"0\r\n\r\n"):
        out, i = b"", 0
        while i < len(payload):
            n = self.r.randint(1, max(1, len(payload) - i))
            out += b"%x%s\r\n%s\r\n" % (n, self.r.choice(CHUNK_EXTS) if ext is None
                                        else ext, payload[i:i + n])
            i += n
        return out + last


def one_chunk(data, ext=b""):
    """data as one chunk and the last chunk."""
    return b"%x%s\r\n%s\r\n0\r\n\r\n" % (len(data), ext, data) if data else b"0\r\n\r\n"


# ---- request shapes --------------------------------------------------------
# Each takes a Gen and returns (variant, bytes, method): one request, or
# what a client sends where one request should be.

def s_get(g):
    m = g.r.choice([b"GET", b"GET", b"HEAD", b"DELETE", b"OPTIONS", b"PROPFIND"])
    return m.decode(), g.head(m), m


def s_post_cl(g):
    b = g.body(0, 3000)
    m = g.r.choice([b"POST", b"PUT", b"PATCH"])
    return "%d" % min(len(b), 6), g.head(m, fields=b"Content-Length: %d\r\n" % len(b)) + b, m


def s_post_chunked(g):
    b = g.body(0, 3000)
    trailer = g.r.choice([b"", b"X-Trailer: t\r\n"])
    return ("trailer" if trailer else "plain"), g.head(
        b"POST", fields=b"Transfer-Encoding: chunked\r\n") + g.chunked(
        b, last=b"0\r\n" + trailer + b"\r\n"), b"POST"


def s_expect(g):
    b = g.body(1, 500)
    te = g.r.random() < 0.4
    f = b"Expect: 100-continue\r\n" + (b"Transfer-Encoding: chunked\r\n" if te
                                       else b"Content-Length: %d\r\n" % len(b))
    return ("chunked" if te else "cl"), g.head(b"POST", fields=f) + (
        g.chunked(b) if te else b), b"POST"


def s_http10(g):
    ka = g.r.random() < 0.7
    b = g.body(0, 40) if g.r.random() < 0.3 else b""
    f = (b"Connection: keep-alive\r\n" if ka else b"") + (
        b"Content-Length: %d\r\n" % len(b) if b else b"")
    m = b"POST" if b else b"GET"
    return ("keepalive" if ka else "close"), g.head(
        m, version=b"HTTP/1.0", fields=f) + b, m


def s_absolute(g):
    route = g.r.choice(ROUTES)
    v = g.r.choice(["plain", "other_host", "no_host", "query", "userinfo",
                    "port", "https", "gopher", "upper"])
    t = {"plain": b"http://%s/abs", "other_host": b"http://%s/abs",
         "no_host": b"http://%s/abs", "query": b"http://%s?q=1",
         "userinfo": b"http://u:p@%s/abs", "port": b"http://%s:80/abs",
         "https": b"https://%s/abs", "gopher": b"gopher://%s/abs",
         "upper": b"HTTP://%s/abs"}[v] % g.host(route)
    host = False if v == "no_host" else (
        g.host(g.r.choice(ROUTES)) if v == "other_host" else g.host(route))
    return v, g.head(b"GET", target=t, host=host), b"GET"


def s_leading_crlf(g):
    return "crlf", b"\r\n" * g.r.randint(1, 3) + g.head(), b"GET"


HOST_TRICKS = {
    "upper": lambda h: b"Host: %s\r\n" % h.upper(),
    "port": lambda h: b"Host: %s:443\r\n" % h,
    "dot": lambda h: b"Host: %s.\r\n" % h,
    "bang": lambda h: b"Host: %s!\r\n" % h,
    "tilde": lambda h: b"Host: %s~x\r\n" % h,
    "list": lambda h: b"Host: %s, nginx.test\r\n" % h,
    "twice": lambda h: b"Host: %s\r\nHost: nginx.test\r\n" % h,
    "empty": lambda h: b"Host:\r\n",
    "at": lambda h: b"Host: x@%s\r\n" % h,
    "space": lambda h: b"Host: %s x\r\n" % h,
    "tab": lambda h: b"Host:\t%s\t\r\n" % h,
    "v6": lambda h: b"Host: [::1]\r\n",
    "slash": lambda h: b"Host: %s/x\r\n" % h,
    "badport": lambda h: b"Host: %s:80x\r\n" % h,
    "percent": lambda h: b"Host: %s%%00\r\n" % h,
    "underscore": lambda h: b"Host: %s_\r\n" % h,
}


def s_host(g):
    v = g.r.choice(sorted(HOST_TRICKS))
    h = HOST_TRICKS[v](g.host())
    return v, b"GET %s HTTP/1.1\r\n%s%s\r\n" % (g.path(), h, g.marker()), b"GET"


def s_cl_te(g):
    """CL.TE: CL covers the whole body; a TE reader stops at the 0 chunk."""
    rest = g.inner(g.r.random() < 0.3)
    body = b"0\r\n\r\n" + rest
    order = g.r.choice(["cl_first", "te_first"])
    cl = b"Content-Length: %d\r\n" % len(body)
    te = b"Transfer-Encoding: chunked\r\n"
    return order, g.head(b"POST", fields=cl + te if order == "cl_first"
                         else te + cl) + body, b"POST"


def s_te_cl(g):
    """TE.CL: the chunk holds a request; a CL reader stops after 4 bytes."""
    inner = g.inner(g.r.random() < 0.3)
    body = one_chunk(inner)
    cl = len(b"%x\r\n" % len(inner))
    return "cl%d" % cl, g.head(b"POST", fields=b"Content-Length: %d\r\n"
                               b"Transfer-Encoding: chunked\r\n" % cl) + body, b"POST"


TE_OBFUSCATIONS = {
    "xchunked": b"Transfer-Encoding: xchunked\r\n",
    "space": b"Transfer-Encoding:  chunked\r\n",
    "chunked_identity": b"Transfer-Encoding: chunked, identity\r\n",
    "identity_chunked": b"Transfer-Encoding: identity, chunked\r\n",
    "tab": b"Transfer-Encoding:\tchunked\r\n",
    "trailing_tab": b"Transfer-Encoding: chunked\t\r\n",
    "dup": b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
    "dup_identity": b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
    "upper": b"Transfer-Encoding: CHUNKED\r\n",
    "quoted": b'Transfer-Encoding: "chunked"\r\n',
    "comma": b"Transfer-Encoding: chunked,\r\n",
    "lead_comma": b"Transfer-Encoding: , chunked\r\n",
    "ws_colon": b"Transfer-Encoding : chunked\r\n",
    "underscore": b"Transfer_Encoding: chunked\r\n",
    "vtab": b"Transfer-Encoding:\x0bchunked\r\n",
    "fold": b"Transfer-Encoding:\r\n chunked\r\n",
    "fold_prev": b"X-Pad: a\r\n Transfer-Encoding: chunked\r\n",
    "gzip_chunked": b"Transfer-Encoding: gzip, chunked\r\n",
    "chunked_gzip": b"Transfer-Encoding: chunked, gzip\r\n",
    "params": b"Transfer-Encoding: chunked;q=1\r\n",
    "nul": b"Transfer-Encoding: chunked\x00\r\n",
    "cr": b"Transfer-Encoding: chunked\r\r\n",
    "lf_only": b"Transfer-Encoding: chunked\n",
    "chunkedx": b"Transfer-Encoding: chunkedx\r\n",
    "te_trailers": b"TE: trailers\r\nTransfer-Encoding: chunked\r\n",
}


def s_te_obf(g):
    v = g.r.choice(sorted(TE_OBFUSCATIONS))
    inner = g.inner(g.r.random() < 0.3)
    with_cl = g.r.random() < 0.5
    chunked = one_chunk(inner)
    body = chunked if not with_cl or g.r.random() < 0.5 else b"0\r\n\r\n" + inner
    f = TE_OBFUSCATIONS[v] + (b"Content-Length: %d\r\n" % g.r.choice(
        [len(body), 4, 0]) if with_cl else b"")
    return v + ("+cl" if with_cl else ""), g.head(b"POST", fields=f) + body, b"POST"


CONNECTION_FIELDS = {
    "content-length": b"Content-Length",
    "transfer-encoding": b"Transfer-Encoding",
    "close_cl": b"close, content-length",
    "keepalive_cl": b"keep-alive, Content-Length",
    "host": b"host",
    "upper_cl": b"CONTENT-LENGTH",
    "cl_spaces": b"  content-length  ",
    "te": b"TE",
    "expect": b"Expect",
    "x_forwarded_for": b"X-Forwarded-For",
}


def s_connection(g):
    """Connection naming a field the framing or routing relies on."""
    v = g.r.choice(sorted(CONNECTION_FIELDS))
    inner = g.inner(g.r.random() < 0.3)
    conn = b"Connection: %s\r\n" % CONNECTION_FIELDS[v]
    if v == "transfer-encoding" or (v == "te" and g.r.random() < 0.5):
        body = one_chunk(inner)
        f = conn + b"Transfer-Encoding: chunked\r\n"
    else:
        body = inner
        f = conn + b"Content-Length: %d\r\n" % len(body)
    if v == "expect":
        f += b"Expect: 100-continue\r\n"
    return v, g.head(b"POST", fields=f) + body, b"POST"


CL_ODD = [b"+5", b"05", b"5,5", b"5, 5", b"5 5", b" 5", b"5 ", b"0x5", b"-5",
          b"5.0", b"1e1", b"99999999999999999999", b"18446744073709551621",
          b"9223372036854775808", b"", b"5\x00", b"\xd9\xa5", b"5;", b"0005"]


def s_cl_odd(g):
    v = g.r.choice(CL_ODD + [b"dup_same", b"dup_diff", b"nospace", b"ws_colon",
                             b"lower", b"fold"])
    inner = g.inner(False)
    body = b"hello" + inner
    f = {b"dup_same": b"Content-Length: 5\r\nContent-Length: 5\r\n",
         b"dup_diff": b"Content-Length: 5\r\nContent-Length: %d\r\n" % len(body),
         b"nospace": b"Content-Length:%d\r\n" % len(body),
         b"ws_colon": b"Content-Length : 5\r\n",
         b"lower": b"content-length: %d\r\n" % len(body),
         b"fold": b"Content-Length:\r\n 5\r\n"}.get(
        v, b"Content-Length: %s\r\n" % v)
    return v.decode("latin-1"), g.head(b"POST", fields=f) + body, b"POST"


CHUNK_TRICKS = {
    "0x": b"0x5\r\nhello\r\n0\r\n\r\n",
    "ext": b"5;ext\r\nhello\r\n0\r\n\r\n",
    "ext_space": b"5 ;ext=1\r\nhello\r\n0\r\n\r\n",
    "neg": b"-1\r\nhello\r\n0\r\n\r\n",
    "overflow": b"1000000000000000000005\r\nhello\r\n0\r\n\r\n",
    "ffff": b"ffffffffffffffff\r\nhello\r\n0\r\n\r\n",
    "trailing_space": b"5 \r\nhello\r\n0\r\n\r\n",
    "bare_lf_size": b"5\nhello\r\n0\r\n\r\n",
    "bare_lf_data": b"5\r\nhello\n0\r\n\r\n",
    "no_crlf_data": b"5\r\nhelloX0\r\n\r\n",
    "leading_zeros": b"00005\r\nhello\r\n0000\r\n\r\n",
    "upper_hex": b"A\r\nhelloworld\r\n0\r\n\r\n",
    "plus": b"+5\r\nhello\r\n0\r\n\r\n",
    "space_first": b" 5\r\nhello\r\n0\r\n\r\n",
    "underscore": b"0_5\r\nhello\r\n0\r\n\r\n",
    "long_ext": b"5;" + b"e" * 5000 + b"\r\nhello\r\n0\r\n\r\n",
    "quoted_ext": b'5;a="x\r\ny"\r\nhello\r\n0\r\n\r\n',
    "trailer_cl": b"5\r\nhello\r\n0\r\nContent-Length: 9\r\n\r\n",
    "trailer_fold": b"5\r\nhello\r\n0\r\nX: a\r\n b\r\n\r\n",
    "bad_trailer": b"5\r\nhello\r\n0\r\nnot a field\r\n\r\n",
    "zero_ext": b"5\r\nhello\r\n0;x=y\r\n\r\n",
    "short_data": b"5\r\nhel\r\n0\r\n\r\n",
    "long_data": b"3\r\nhello\r\n0\r\n\r\n",
    "cr_size": b"5\r\r\nhello\r\n0\r\n\r\n",
    "empty_size": b"\r\nhello\r\n0\r\n\r\n",
    "nul": b"5\x00\r\nhello\r\n0\r\n\r\n",
}


def s_chunk(g):
    v = g.r.choice(sorted(CHUNK_TRICKS))
    body = CHUNK_TRICKS[v]
    if g.r.random() < 0.5:
        body += g.inner(False)	# what a lenient reader would take for the next request
    return v, g.head(b"POST", fields=b"Transfer-Encoding: chunked\r\n") + body, b"POST"


def s_bare(g):
    v = g.r.choice(["lf_all", "lf_line", "lf_field", "cr_field", "cr_line",
                    "lf_end", "crcr", "nul_value", "del_value", "ctl_name",
                    "lf_in_value_cl"])
    h, m = g.host(), g.marker()
    data = {
        "lf_all": b"GET /x HTTP/1.1\nHost: %s\n%s\n" % (h, m.rstrip(b"\r\n")),
        "lf_line": b"GET /x HTTP/1.1\nHost: %s\r\n%s\r\n" % (h, m.rstrip(b"\r\n")),
        "lf_field": b"GET /x HTTP/1.1\r\nHost: %s\n%s\r\n" % (h, m.rstrip(b"\r\n")),
        "cr_field": b"GET /x HTTP/1.1\r\nHost: %s\rX-A: b\r\n%s\r\n" % (h, m),
        "cr_line": b"GET /x\rHTTP/1.1\r\nHost: %s\r\n%s\r\n" % (h, m),
        "lf_end": b"GET /x HTTP/1.1\r\nHost: %s\r\n%s\n" % (h, m),
        "crcr": b"GET /x HTTP/1.1\r\nHost: %s\r\n%s\r\r\n" % (h, m),
        "nul_value": b"GET /x HTTP/1.1\r\nHost: %s\r\nX-A: a\x00b\r\n%s\r\n" % (h, m),
        "del_value": b"GET /x HTTP/1.1\r\nHost: %s\r\nX-A: a\x7fb\r\n%s\r\n" % (h, m),
        "ctl_name": b"GET /x HTTP/1.1\r\nHost: %s\r\nX\x01A: b\r\n%s\r\n" % (h, m),
        "lf_in_value_cl": b"POST /x HTTP/1.1\r\nHost: %s\r\n%sX-A: a\nContent-Length: 5\r\n"
                          b"Content-Length: 0\r\n\r\nhello" % (h, m),
    }[v]
    return v, data, b"POST" if v == "lf_in_value_cl" else b"GET"


def s_fold(g):
    v = g.r.choice(["plain", "host", "cl", "marker", "first"])
    h, m = g.host(), g.marker()
    data = {
        "plain": b"GET /x HTTP/1.1\r\nHost: %s\r\nX-A: a\r\n b\r\n%s\r\n" % (h, m),
        "host": b"GET /x HTTP/1.1\r\nHost:\r\n %s\r\n%s\r\n" % (h, m),
        "cl": b"POST /x HTTP/1.1\r\nHost: %s\r\n%sContent-Length: 0\r\n 5\r\n\r\nhello" % (h, m),
        "marker": b"GET /x HTTP/1.1\r\nHost: %s\r\n%s \tX-B: c\r\n\r\n" % (h, m),
        "first": b"GET /x HTTP/1.1\r\n Host: %s\r\nHost: %s\r\n%s\r\n" % (h, h, m),
    }[v]
    return v, data, b"POST" if v == "cl" else b"GET"


NOT_FOR_NGINX = ("star", "lower_method", "odd_method", "long_method",
                 "dot_segments")


def s_line(g):
    """Odd request lines and field names."""
    v = g.r.choice(["lower_method", "odd_method", "space_target", "double_sp",
                    "http12", "http2", "http09", "trailing_sp", "tab_sep",
                    "frag", "dslash", "star", "no_version", "long_method",
                    "hdr_space_name", "hdr_no_colon", "hdr_empty_name",
                    "many_headers", "connect", "upgrade", "proxy_conn",
                    "nonascii_target", "dot_segments"])
    # valid, but nginx refuses them at the request line, before the marker
    h = g.host(g.r.choice(ROUTES[:-1])) if v in NOT_FOR_NGINX else g.host()
    m = g.marker()
    hm = b"Host: %s\r\n%s" % (h, m)
    data, meth = {
        "lower_method": (b"get /x HTTP/1.1\r\n%s\r\n" % hm, b"get"),
        "odd_method": (b"G=T /x HTTP/1.1\r\n%s\r\n" % hm, b"G=T"),
        "space_target": (b"GET /a b HTTP/1.1\r\n%s\r\n" % hm, b"GET"),
        "double_sp": (b"GET  /x HTTP/1.1\r\n%s\r\n" % hm, b"GET"),
        "http12": (b"GET /x HTTP/1.2\r\n%s\r\n" % hm, b"GET"),
        "http2": (b"GET /x HTTP/2.0\r\n%s\r\n" % hm, b"GET"),
        "http09": (b"GET /x\r\n%s\r\n" % hm, b"GET"),
        "trailing_sp": (b"GET /x HTTP/1.1 \r\n%s\r\n" % hm, b"GET"),
        "tab_sep": (b"GET\t/x\tHTTP/1.1\r\n%s\r\n" % hm, b"GET"),
        "frag": (b"GET /x#frag HTTP/1.1\r\n%s\r\n" % hm, b"GET"),
        "dslash": (b"GET //x HTTP/1.1\r\n%s\r\n" % hm, b"GET"),
        "star": (b"OPTIONS * HTTP/1.1\r\n%s\r\n" % hm, b"OPTIONS"),
        "no_version": (b"GET /x \r\n%s\r\n" % hm, b"GET"),
        "long_method": (b"%s /x HTTP/1.1\r\n%s\r\n" % (b"M" * 300, hm), b"M" * 300),
        "hdr_space_name": (b"GET /x HTTP/1.1\r\n%sX A: b\r\n\r\n" % hm, b"GET"),
        "hdr_no_colon": (b"GET /x HTTP/1.1\r\n%sXA\r\n\r\n" % hm, b"GET"),
        "hdr_empty_name": (b"GET /x HTTP/1.1\r\n%s: b\r\n\r\n" % hm, b"GET"),
        "many_headers": (b"GET /x HTTP/1.1\r\n%s%s\r\n" % (hm, b"".join(
            b"X-H%d: v\r\n" % i for i in range(g.r.choice([90, 99, 101, 150])))), b"GET"),
        "connect": (b"CONNECT %s:443 HTTP/1.1\r\n%s\r\n" % (h, hm), b"CONNECT"),
        "upgrade": (b"GET /x HTTP/1.1\r\n%sConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n" % hm,
                    b"GET"),
        "proxy_conn": (b"GET /x HTTP/1.1\r\n%sProxy-Connection: keep-alive\r\n\r\n" % hm,
                       b"GET"),
        "nonascii_target": (b"GET /\xc3\xa9 HTTP/1.1\r\n%s\r\n" % hm, b"GET"),
        "dot_segments": (b"GET /a/../../etc HTTP/1.1\r\n%s\r\n" % hm, b"GET"),
    }[v]
    return v, data, meth


def s_big(g):
    """Heads and bodies at and across the broker's limits."""
    v = g.r.choice(["head_60k", "head_70k", "body_100k", "chunked_100k",
                    "chunks_tiny"])
    if v.startswith("head"):
        pad = b"X-Pad: %s\r\n" % (b"p" * (60000 if v == "head_60k" else 70000))
        return v, g.head(fields=pad), b"GET"
    b = g.body(100000, 100000) if v != "chunks_tiny" else g.body(200, 200)
    if v == "body_100k":
        return v, g.head(b"POST", fields=b"Content-Length: %d\r\n" % len(b)) + b, b"POST"
    if v == "chunks_tiny":
        body = b"".join(b"1\r\n%s\r\n" % b[i:i + 1] for i in range(len(b))) + b"0\r\n\r\n"
    else:
        body = g.chunked(b)
    return v, g.head(b"POST", fields=b"Transfer-Encoding: chunked\r\n") + body, b"POST"


SHAPES = {
    # name: (function, weight)
    "get": (s_get, 6), "post_cl": (s_post_cl, 6), "post_chunked": (s_post_chunked, 5),
    "expect": (s_expect, 2), "http10": (s_http10, 2), "absolute": (s_absolute, 3),
    "leading_crlf": (s_leading_crlf, 1), "host": (s_host, 4),
    "cl_te": (s_cl_te, 3), "te_cl": (s_te_cl, 3), "te_obf": (s_te_obf, 8),
    "connection": (s_connection, 6), "cl_odd": (s_cl_odd, 6),
    "chunk": (s_chunk, 7), "bare": (s_bare, 4), "fold": (s_fold, 3),
    "line": (s_line, 5), "big": (s_big, 1),
}


def _segments(r, data):
    """Cuts a stream into pieces with short pauses, so heads and bodies
    arrive whole, split, or together with the next request."""
    if r.random() < 0.5 or len(data) < 2:
        return [(data, 0)]
    cuts = sorted(set(r.randint(1, len(data) - 1)
                      for _ in range(r.randint(1, 3))))
    out, last = [], 0
    for c in cuts + [len(data)]:
        out.append((data[last:c], r.choice([0, 0, 0.002, 0.02])))
        last = c
    return out


def _end(g, route):
    return g.head(b"GET", target=b"/end", host=g.host(route),
                  fields=b"Connection: close\r\n"), b"GET"


def warm_case(route):
    """One GET to route, for a replay to start with warm pools."""
    c = Case("warm-%s" % route, "request")
    g = Gen(random.Random(route), c)
    item, method = _end(g, route)
    c.shapes, c.methods, c.segments = ["end"], [method], [(item, 0)]
    return c


def request_case(seed, n):
    r = random.Random("%s:req:%d" % (seed, n))
    c = Case("q%d-%d" % (seed, n), "request")
    g = Gen(r, c)
    names = sorted(SHAPES)
    weights = [SHAPES[k][1] for k in names]
    data = b""
    for _ in range(r.choice([1, 1, 2, 2, 3, 4])):
        name = r.choices(names, weights)[0]
        variant, item, method = SHAPES[name][0](g)
        c.shapes.append("%s:%s" % (name, variant))
        c.methods.append(method)
        data += item
    item, method = _end(g, r.choice(ROUTES))
    c.methods.append(method)
    c.shapes.append("end")
    c.segments = _segments(r, data + item)
    c.sni = r.choice([None, "strict.test", "nginx.test"])
    return c


# ---- response shapes -------------------------------------------------------
# The recording upstream answers "/r/SHAPE/V" with answer(SHAPE, V, id).
# Each returns (segments, meanings, close): the bytes to send (a pause of
# 20 ms between segments), what a correct reader makes of them (a list of
# (status, body) an answer delivered as the upstream's may have; empty
# means the answer is invalid and must become the broker's own error), and
# whether the upstream closes afterwards.  "ok" shapes are valid HTTP and
# must reach the client.

def _h(status, fields, id_, version=b"HTTP/1.1", reason=b"OK"):
    return b"%s %d %s\r\nX-Oracle-Resp: %s\r\n%s\r\n" % (
        version, status, reason, id_, fields)


def answer(shape, v, id_, head_request=False):
    """Bytes for a response shape; see above."""
    body = b"body of %s %s" % (id_, b"z" * (v % 7 * 300))
    n = len(body)
    cl = b"Content-Length: %d\r\n" % n
    nb = b"" if head_request else body
    ok = [(200, nb)]
    close_ok = [(200, body)] if not head_request else [(200, b"")]
    table = {
        # valid
        "ok_cl": ([_h(200, cl, id_) + nb], ok, False),
        "ok_chunked": ([_h(200, b"Transfer-Encoding: chunked\r\n", id_) +
                        (b"" if head_request else one_chunk(body, b";e=1"))], ok, False),
        "ok_trailer": ([_h(200, b"Transfer-Encoding: chunked\r\nTrailer: X-T\r\n", id_) +
                        (b"" if head_request else
                         one_chunk(body)[:-2] + b"X-T: 1\r\n\r\n")], ok, False),
        "ok_close": ([_h(200, b"Connection: close\r\n", id_) + nb], close_ok, True),
        "ok_close_nofield": ([_h(200, b"", id_) + nb], close_ok, True),
        "ok_close10": ([_h(200, b"", id_, b"HTTP/1.0") + nb], close_ok, True),
        "ok_10_keepalive": ([_h(200, b"Connection: keep-alive\r\n" + cl, id_, b"HTTP/1.0") + nb],
                            ok, False),
        "ok_204": ([_h(204, b"", id_, reason=b"No Content")], [(204, b"")], False),
        "ok_304": ([_h(304, cl, id_, reason=b"Not Modified")], [(304, b"")], False),
        "ok_100": ([_h(100, b"", id_, reason=b"Continue"), _h(200, cl, id_) + nb], ok, False),
        "ok_102_103": ([_h(102, b"", id_, reason=b"Processing") +
                        _h(103, b"Link: </a>; rel=preload\r\n", id_, reason=b"Early Hints"),
                        _h(200, cl, id_) + nb], ok, False),
        "ok_split_head": ([_h(200, cl, id_)[:17], _h(200, cl, id_)[17:] + nb], ok, False),
        "ok_split_chunks": ([_h(200, b"Transfer-Encoding: chunked\r\n", id_) +
                             (b"" if head_request else b"3\r\n" + body[:3]),
                             b"" if head_request else b"\r\n%x\r\n%s\r\n0\r\n\r\n" % (
                                 n - 3, body[3:])], ok, False),
        "ok_nospace": ([_h(200, b"Content-Length:%d\r\nX-A:b\r\n" % n, id_) + nb], ok, False),
        "ok_no_reason": ([b"HTTP/1.1 200 \r\nX-Oracle-Resp: %s\r\n%s\r\n" % (id_, cl) + nb],
                         ok, False),
        "ok_extra_after": ([_h(200, cl, id_) + nb + b"HTTP/1.1 200 OK\r\nX-Oracle-Resp: "
                            b"stray\r\nContent-Length: 0\r\n\r\n"], ok, True),
        "ok_204_body": ([_h(204, b"", id_, reason=b"No Content") + b"stray bytes"],
                        [(204, b"")], True),
        "ok_close_fin": ([_h(200, b"Connection: close\r\n", id_) + nb], close_ok, True),
        # framing fields named by Connection
        "conn_cl": ([_h(200, b"Connection: Content-Length\r\n" + cl, id_) + nb], [], False),
        "conn_te": ([_h(200, b"Connection: Transfer-Encoding\r\nTransfer-Encoding: "
                        b"chunked\r\n", id_) + (b"" if head_request else one_chunk(body))],
                    [], False),
        "conn_close_cl": ([_h(200, b"Connection: close, content-length\r\n" + cl, id_) + nb],
                          [], True),
        "conn_ka_cl": ([_h(200, b"Connection: keep-alive, Content-Length\r\n" + cl, id_) + nb],
                       [], False),
        # ambiguous framing
        "cl_te": ([_h(200, cl + b"Transfer-Encoding: chunked\r\n", id_) +
                   (b"" if head_request else one_chunk(body))], [], True),
        "dup_cl_same": ([_h(200, cl + cl, id_) + nb], [], False),
        "dup_cl_diff": ([_h(200, cl + b"Content-Length: %d\r\n" % (n + 5), id_) + nb +
                         b"12345"], [], True),
        "cl_list": ([_h(200, b"Content-Length: %d, %d\r\n" % (n, n), id_) + nb], [], False),
        "cl_plus": ([_h(200, b"Content-Length: +%d\r\n" % n, id_) + nb], [], False),
        "cl_space": ([_h(200, b"Content-Length: %d 5\r\n" % n, id_) + nb], [], False),
        "cl_neg": ([_h(200, b"Content-Length: -1\r\n", id_) + nb], [], True),
        "te_xchunked": ([_h(200, b"Transfer-Encoding: xchunked\r\n", id_) + nb],
                        close_ok + [], True),
        "te_chunked_identity": ([_h(200, b"Transfer-Encoding: chunked, identity\r\n", id_) +
                                 nb], close_ok, True),
        "te_dup": ([_h(200, b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                       id_) + (b"" if head_request else one_chunk(body))], [], True),
        "te_10": ([_h(200, b"Transfer-Encoding: chunked\r\n", id_, b"HTTP/1.0") +
                   (b"" if head_request else one_chunk(body))], [], True),
        "chunk_0x": ([_h(200, b"Transfer-Encoding: chunked\r\n", id_) +
                      (b"" if head_request else b"0x%x\r\n%s\r\n0\r\n\r\n" % (n, body))],
                     [], True),
        "chunk_neg": ([_h(200, b"Transfer-Encoding: chunked\r\n", id_) +
                       (b"" if head_request else b"-1\r\n%s\r\n0\r\n\r\n" % body)], [], True),
        "chunk_lf": ([_h(200, b"Transfer-Encoding: chunked\r\n", id_) +
                      (b"" if head_request else b"%x\n%s\r\n0\r\n\r\n" % (n, body))],
                     [], True),
        "chunk_overflow": ([_h(200, b"Transfer-Encoding: chunked\r\n", id_) +
                            (b"" if head_request else b"1%016x\r\n%s\r\n0\r\n\r\n" % (n, body))],
                           [], True),
        "bare_lf_head": ([(b"HTTP/1.1 200 OK\nX-Oracle-Resp: %s\n%s\n" % (
            id_, cl.rstrip(b"\r\n") + b"\n")) + nb], [], True),
        "bare_cr_head": ([b"HTTP/1.1 200 OK\r\nX-Oracle-Resp: %s\r\nX-A: a\rb\r\n%s\r\n" % (
            id_, cl) + nb], [], True),
        "fold_head": ([_h(200, b"X-A: a\r\n b\r\n" + cl, id_) + nb], [], True),
        "fold_cl": ([_h(200, b"Content-Length:\r\n %d\r\n" % n, id_) + nb], [], True),
        "ws_colon": ([_h(200, b"Content-Length : %d\r\n" % n, id_) + nb], [], True),
        "status_odd": ([b"HTTP/1.1 2000 OK\r\nX-Oracle-Resp: %s\r\n%s\r\n" % (id_, cl) + nb],
                       [], True),
        "status_12": ([b"HTTP/1.2 200 OK\r\nX-Oracle-Resp: %s\r\n%s\r\n" % (id_, cl) + nb],
                      [], True),
        # cut short
        "truncated_cl": ([_h(200, b"Content-Length: %d\r\n" % (n + 100), id_) + nb],
                         [], True),
        "truncated_chunk": ([_h(200, b"Transfer-Encoding: chunked\r\n", id_) +
                             (b"" if head_request else b"%x\r\n%s" % (n + 10, body))], [], True),
    }
    segs, meanings, close = table[shape]
    if head_request and shape in ("ok_204", "ok_304"):
        meanings = [(meanings[0][0], b"")]
    elif head_request and shape.startswith(("truncated", "chunk_")):
        meanings = ok	# no body to cut short or to frame oddly
    return segs, meanings, close


RESPONSES = sorted((
    "ok_cl ok_chunked ok_trailer ok_close ok_close_nofield ok_close10 "
    "ok_10_keepalive ok_204 ok_304 ok_100 ok_102_103 ok_split_head "
    "ok_split_chunks ok_nospace ok_no_reason ok_extra_after ok_204_body "
    "ok_close_fin conn_cl conn_te conn_close_cl conn_ka_cl cl_te dup_cl_same "
    "dup_cl_diff cl_list cl_plus cl_space cl_neg te_xchunked "
    "te_chunked_identity te_dup te_10 chunk_0x chunk_neg chunk_lf "
    "chunk_overflow bare_lf_head bare_cr_head fold_head fold_cl ws_colon "
    "status_odd status_12 truncated_cl truncated_chunk").split())


def response_case(seed, n):
    r = random.Random("%s:resp:%d" % (seed, n))
    c = Case("r%d-%d" % (seed, n), "response")
    g = Gen(r, c)
    data = b""
    k = r.choice([1, 2, 2, 3])
    for i in range(k):
        shape = r.choice(RESPONSES)
        v = r.randint(0, 6)
        method = r.choice([b"GET"] * 5 + [b"HEAD", b"POST"])
        version = r.choice([b"HTTP/1.1"] * 4 + [b"HTTP/1.0"])
        f = b""
        body = b""
        if method == b"POST":
            body = g.body(1, 200)
            f = b"Content-Length: %d\r\n" % len(body)
        if i == k - 1:
            f += b"Connection: close\r\n"
        elif version == b"HTTP/1.0":
            f += b"Connection: keep-alive\r\n"
        data += g.head(method, target=b"/r/%s/%d" % (shape.encode(), v),
                       host=g.host(RESP_ROUTE), fields=f, version=version) + body
        c.shapes.append(shape)
        c.resp_shapes.append(shape)
        c.methods.append(method)
    c.segments = _segments(r, data)
    return c
