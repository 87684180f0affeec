# SPDX-License-Identifier: MIT
#
# Reading HTTP/1.1 answers off a byte stream, shared by the test clients
# that drive raw (TLS) sockets themselves (parkclient.py, recordsclient.py,
# tests/soak/soak.py).


class Reader:
    """Answers off one stream, keeping the bytes that follow for the next.

    recv() returns the next bytes, b"" at the end of the stream; buf holds
    bytes already read.  A stream that ends inside a head or a framed body
    raises EOFError."""

    def __init__(self, recv, buf=b""):
        self.recv, self.buf = recv, buf

    def _more(self, where):
        chunk = self.recv()
        if not chunk:
            raise EOFError("connection ended inside a response " + where)
        self.buf += chunk

    def _until(self, sep, where):
        while sep not in self.buf:
            self._more(where)
        data, _, self.buf = self.buf.partition(sep)
        return data

    def _take(self, n, where):
        while len(self.buf) < n:
            self._more(where)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def head(self):
        """(status, {lower-case name: value}) of the next answer."""
        lines = self._until(b"\r\n\r\n", "head").decode("latin-1").split("\r\n")
        fields = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            fields[k.strip().lower()] = v.strip()
        return int(lines[0].split()[1]), fields

    def body(self, status, fields, head_request=False):
        """The body of an answer whose head was just read: framed by
        Content-Length or chunked (trailers skipped), none for HEAD, 1xx,
        204 and 304, else up to the end of the stream."""
        if head_request or status < 200 or status in (204, 304):
            return b""
        if "content-length" in fields:
            return self._take(int(fields["content-length"]), "body")
        if fields.get("transfer-encoding", "").lower() == "chunked":
            return self._chunks()
        while True:
            chunk = self.recv()
            if not chunk:
                data, self.buf = self.buf, b""
                return data
            self.buf += chunk

    def _chunks(self):
        body = b""
        while True:
            n = int(self._until(b"\r\n", "chunk size").split(b";")[0], 16)
            if n == 0:
                while True:	# trailers, up to the empty line
                    if not self._until(b"\r\n", "trailer"):
                        return body
            body += self._take(n + 2, "chunk")[:n]


def read_response(recv, buf=b""):
    """One answer framed by Content-Length (none: no body).

    Returns (status, body, the bytes read past it)."""
    r = Reader(recv, buf)
    status, fields = r.head()
    body = r._take(int(fields.get("content-length", 0)), "body")
    return status, body, r.buf
