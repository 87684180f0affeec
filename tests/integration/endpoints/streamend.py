# SPDX-License-Identifier: MIT
#
# How a peer ended a TLS stream, as a client that must tell a reset from a
# FIN sees it (tests/oracle/oracle.py, pipeclient.py --close-first).  A
# reset can be consumed by the SSL read that meets it, which Python then
# reports as b'' like a FIN; the socket's TCP state still tells them
# apart: a reset leaves TCP_CLOSE, a FIN CLOSE_WAIT.  Our own alert after
# an EOF could draw a reset from a peer that closed, so client contexts
# ignore an EOF without close_notify (it reads as b'', no alert sent).

import socket
import ssl

TCP_CLOSE = 7
TCP_CLOSE_WAIT = 8


def quiet_eof(ctx):
    """ctx reads an EOF without close_notify as b'' and sends no alert."""
    ctx.options |= getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
    return ctx


def tcp_state(sock):
    """tcpi_state of sock (an SSLSocket too), -1 if it cannot be read."""
    try:
        return socket.socket.getsockopt(sock, socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]
    except OSError:
        return -1


def ended_by_reset(sock):
    """True if the peer's end of the stream was a reset."""
    return tcp_state(sock) == TCP_CLOSE
