# SPDX-License-Identifier: MIT
#
# Reading HTTP/1.1 answers off a byte stream, shared by the test clients
# that drive raw (TLS) sockets themselves (parkclient.py, recordsclient.py).


def read_response(recv, buf=b""):
    """One answer framed by Content-Length (none: no body).

    recv() returns the next bytes, b"" at the end of the stream; buf holds
    bytes already read.  Returns (status, body, the bytes read past it)."""
    while b"\r\n\r\n" not in buf:
        chunk = recv()
        if not chunk:
            raise EOFError("connection ended inside a response head")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
    while len(rest) < length:
        chunk = recv()
        if not chunk:
            raise EOFError("connection ended inside a response body")
        rest += chunk
    return status, rest[:length], rest[length:]
