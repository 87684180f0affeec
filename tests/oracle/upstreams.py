# SPDX-License-Identifier: MIT
#
# The desync oracle's recording upstreams, on 127.0.0.1 only.
#
# Recorder: a raw HTTP server in this process (a thread per connection)
# that keeps every byte it received per connection, splits the bytes into
# requests in one dialect of h1.py, logs each request it parsed (who sent
# it: the X-Oracle marker; method, target, Host, body) and answers each
# with a unique id in X-Oracle-Resp.  Its answer is the plain 200 of its
# kind, or for a target "/r/SHAPE/V" the odd answer shapes.answer() makes.
# Kinds:
#   strict    RFC 9112 dialect, HTTP/1.1 keep-alive
#   lenient   lenient_te dialect, HTTP/1.1 keep-alive
#   h10       an HTTP/1.0 server: http10 dialect, answers HTTP/1.0, closes
#   fake11    says HTTP/1.1 but cannot read chunked (http10 dialect) and
#             closes after each answer, as busybox httpd does
#
# Nginx: nginx-light with the echo module, plain HTTP; its access log is
# JSON (marker, method, URI, Host, body, $request_id) and each answer
# carries $request_id.

import hashlib
import itertools
import json
import os
import shutil
import socket
import subprocess
import threading
import time

import h1
import shapes

_seq = itertools.count(1)


class UpReq:
    """One request an upstream parsed (or failed to)."""

    def __init__(self, up, uconn, n):
        self.up, self.uconn, self.n = up, uconn, n
        self.seq = next(_seq)
        self.method = self.target = b""
        self.hosts = []
        self.markers = []
        self.body = b""
        self.complete = True
        self.err = None
        self.resp_id = None
        self.meanings = None	# [(status, body)] a client may get for it
        self.status = 0		# nginx: the status it logged

    @property
    def marker(self):
        return self.markers[0] if self.markers else None

    def to_json(self):
        return {"up": self.up, "uconn": self.uconn, "n": self.n,
                "method": self.method.decode("latin-1"),
                "target": self.target.decode("latin-1"),
                "hosts": [h.decode("latin-1") for h in self.hosts],
                "markers": self.markers, "body_len": len(self.body),
                "body": self.body[:300].decode("latin-1"),
                "complete": self.complete, "err": self.err, "resp_id": self.resp_id}


class Recorder:
    DIALECT = {"strict": "strict", "lenient": "lenient_te", "h10": "http10",
               "fake11": "http10", "resp": "strict"}

    def __init__(self, kind):
        self.kind = kind
        self.name = kind
        self.dialect = self.DIALECT[kind]
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.reqs = []		# UpReq, in the order parsed
        self.raw = {}		# uconn -> bytes received
        self.open = 0
        self.nconn = itertools.count(1)
        self.stopping = False
        self.threads = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.open += 1
            t = threading.Thread(target=self._serve, args=(c, next(self.nconn)),
                                 daemon=True)
            t.start()

    def _log(self, r):
        with self.lock:
            self.reqs.append(r)

    def _answer(self, c, r, m):
        """Sends the answer to m; returns True if the connection closes."""
        r.resp_id = "%s-%d-%d" % (self.name, r.uconn, r.n)
        rid = r.resp_id.encode()
        head_req = m.method == b"HEAD"
        if self.kind == "resp" and m.target.startswith(b"/r/"):
            parts = m.target.decode("latin-1").split("/")
            shape, v = parts[2], int(parts[3]) if len(parts) > 3 else 0
            segs, r.meanings, close = shapes.answer(shape, v, rid, head_req)
            for i, s in enumerate(segs):
                if i:
                    time.sleep(0.02)
                c.sendall(s)
            if close and shape == "ok_close":
                time.sleep(0.02)	# the FIN in a segment of its own
            return close
        body = b"answer %s to %s %s\n" % (rid, m.method, m.target[:100])
        version = b"HTTP/1.0" if self.kind == "h10" else b"HTTP/1.1"
        close = self.kind in ("h10", "fake11") or \
            b"close" in b",".join(m.field(b"connection")).lower()
        c.sendall(b"%s 200 OK\r\nX-Oracle-Resp: %s\r\nContent-Length: %d\r\n%s\r\n%s" % (
            version, rid, len(body), b"Connection: close\r\n" if close else b"",
            b"" if head_req else body))
        r.meanings = [(200, b"" if head_req else body)]
        return close

    def _serve(self, c, uconn):
        buf, pos, n, eof = b"", 0, 0, False
        c.settimeout(120)
        try:
            while True:
                try:
                    m = h1.parse_one(buf, pos, "request", self.dialect, eof)
                except h1.More:
                    d = c.recv(65536)
                    if not d:
                        eof = True
                    buf += d
                    continue
                except h1.Bad as e:
                    n += 1
                    r = UpReq(self.name, uconn, n)
                    r.err = str(e)
                    r.body = buf[pos:pos + 300]
                    r.resp_id = "%s-%d-%d" % (self.name, uconn, n)
                    r.meanings = [(400, b"")]
                    self._log(r)
                    c.sendall(b"HTTP/1.1 400 Bad Request\r\nX-Oracle-Resp: %s\r\n"
                              b"Content-Length: 0\r\nConnection: close\r\n\r\n"
                              % r.resp_id.encode())
                    break
                if m is None:
                    break
                n += 1
                r = UpReq(self.name, uconn, n)
                r.method, r.target, r.body = m.method, m.target, m.body
                r.hosts = m.field(b"host")
                r.markers = [v.decode("latin-1") for v in m.field(b"x-oracle")]
                r.complete = m.complete
                self._log(r)
                pos = m.end
                if not m.complete:
                    break
                if self._answer(c, r, m):
                    break
        except OSError:
            pass
        finally:
            with self.lock:
                self.raw[uconn] = buf
                self.open -= 1
            try:
                c.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            # Read what is still coming so the close is no reset.
            try:
                c.settimeout(0.5)
                while c.recv(65536):
                    pass
            except OSError:
                pass
            c.close()

    def wait_idle(self, secs):
        end = time.monotonic() + secs
        while time.monotonic() < end:
            with self.lock:
                if self.open == 0:
                    return True
            time.sleep(0.05)
        return False

    def stop(self):
        self.stopping = True
        self.sock.close()


NGINX_CONF = """master_process off;
daemon off;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log info;
events { worker_connections 1024; }
http {
    log_format oracle escape=json '{"conn":"$connection","creq":"$connection_requests",'
        '"method":"$request_method","uri":"$request_uri","request":"$request",'
        '"status":"$status","marker":"$http_x_oracle","host":"$http_host",'
        '"id":"$request_id","body":"$request_body"}';
    access_log %(d)s/access.log oracle;
    client_body_temp_path %(d)s/tmp/body; proxy_temp_path %(d)s/tmp/proxy;
    fastcgi_temp_path %(d)s/tmp/fcgi; uwsgi_temp_path %(d)s/tmp/uwsgi;
    scgi_temp_path %(d)s/tmp/scgi;
    keepalive_timeout 120s;
    keepalive_requests 100000;
    client_body_buffer_size 1m;
    client_body_in_single_buffer on;
    client_max_body_size 4m;
    large_client_header_buffers 4 128k;
    server {
        listen 127.0.0.1:%(port)d;
        add_header X-Oracle-Resp $request_id always;
        location / {
            default_type text/plain;
            echo_read_request_body;
            echo "nginx $request_id";
        }
    }
}
"""


def find_echo_module():
    for d in ("/usr/lib/nginx/modules", "/usr/share/nginx/modules",
              "/usr/lib64/nginx/modules"):
        p = os.path.join(d, "ngx_http_echo_module.so")
        if os.path.exists(p):
            return p
    return None


class Nginx:
    def __init__(self, workdir):
        self.name = "nginx"
        self.dir = os.path.join(workdir, "nginx")
        shutil.rmtree(self.dir, ignore_errors=True)	# no log of an earlier run
        os.makedirs(os.path.join(self.dir, "tmp"))
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write("load_module %s;\n" % find_echo_module())
            f.write(NGINX_CONF % {"d": self.dir, "port": self.port})
        self.proc = subprocess.Popen(
            ["nginx", "-p", self.dir, "-e", "stderr", "-c", conf],
            stdin=subprocess.DEVNULL, stdout=open(os.path.join(self.dir, "out.log"), "w"),
            stderr=subprocess.STDOUT)
        end = time.monotonic() + 20
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited at start: see %s/out.log" % self.dir)
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("nginx did not listen on %d" % self.port)
        self.reqs = []

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reqs = self.read_log()

    def read_log(self):
        out = []
        path = os.path.join(self.dir, "access.log")
        if not os.path.exists(path):
            return out
        with open(path, "rb") as f:
            for i, ln in enumerate(f):
                o = json.loads(ln.decode("latin-1"))
                r = UpReq("nginx", int(o["conn"]), int(o["creq"]))
                r.method = o["method"].encode("latin-1")
                r.target = o["uri"].encode("latin-1")
                if not r.method:	# refused at the request line
                    parts = o["request"].encode("latin-1").split(b" ")
                    r.method, r.target = parts[0], parts[1] if len(parts) > 1 else b""
                r.hosts = [o["host"].encode("latin-1")] if o["host"] else []
                r.markers = [o["marker"]] if o["marker"] else []
                r.body = o["body"].encode("latin-1")
                r.resp_id = o["id"]
                st = int(o["status"])
                r.status = st
                if st != 200:	# the echo location answers 200: nginx refused it
                    r.err = "nginx %d for %r" % (st, o["request"][:120])
                body = b"nginx %s\n" % o["id"].encode()
                # nginx's own error pages: any body
                r.meanings = [(st, None)] if st != 200 else [
                    (st, b"" if r.method == b"HEAD" else body)]
                out.append(r)
        return out


def sha(b):
    return hashlib.sha256(b).hexdigest()[:16]
