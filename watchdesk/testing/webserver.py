"""A small HTTP server on a free local port, standing in for outside sites in tests and benchmarks.

Routes map a path to a ``Reply`` (status, headers, body) or to a function of the request that returns
one. Every request is recorded with the time it arrived, so a test can assert what was asked for
(conditional GET headers, the User-Agent) and, as important, that nothing was asked at all, and a
benchmark can tell when each alert came in.
"""

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0  # seconds to wait before answering (timeouts, overlapping requests)


@dataclass
class Request:
    method: str
    path: str
    headers: dict
    body: bytes = b""
    received_at: float = 0.0  # time.time() once the whole request was read


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # keep test output quiet
        pass

    def _answer(self):
        server = self.server.owner
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self.rfile.read(int(headers.get("content-length") or 0))
        request = Request(self.command, self.path, headers, body, time.time())
        with server.lock:
            server.requests.append(request)
            server.active += 1
            server.most_active = max(server.most_active, server.active)
        try:
            route = server.routes.get(self.path.split("?")[0]) or server.routes.get(self.path)
            if route is None:
                reply = Reply(404, {"Content-Type": "text/plain"}, b"not found")
            elif callable(route):
                reply = route(request)
            else:
                reply = route
            if reply.delay:
                server.stopped.wait(reply.delay)
            self.send_response(reply.status)
            headers = {"Content-Length": str(len(reply.body)), **reply.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
        finally:
            with server.lock:
                server.active -= 1

    do_GET = do_HEAD = do_POST = _answer


class WebServer:
    """``with WebServer({"/feed.xml": Reply(body=...)}) as site: site.url("/feed.xml")``."""

    def __init__(self, routes=None, host="127.0.0.1"):
        self.routes = dict(routes or {})
        self.requests = []
        self.lock = threading.Lock()
        self.active = 0
        self.most_active = 0
        self.stopped = threading.Event()
        self.httpd = ThreadingHTTPServer((host, 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self
        self.host = host
        self.port = self.httpd.server_address[1]
        # shutdown() waits for serve_forever to look at its flag, once per poll interval (half a second by
        # default, paid by every test that stops a server).
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path="/"):
        return f"http://{self.host}:{self.port}{path}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopped.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def hits(self, path=None):
        return [r for r in self.requests if path is None or r.path.split("?")[0] == path]
