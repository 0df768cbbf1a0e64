"""Stand-ins for DNS and the network, so fetcher tests can aim at any address and see every connection.

``FakeDNS`` answers chosen host names with chosen addresses (a different answer per call if asked to,
for DNS rebinding). ``Connections`` records every TCP connection the fetcher opens and sends it to one
local server instead, so "no connection was made" is something a test can assert for 10.0.0.5 or
169.254.169.254 as well as for 127.0.0.1. ``RawServer`` is a listening socket that counts accept() calls
and answers every connection with fixed bytes (bodies with no Content-Length).
"""

import contextlib
import ipaddress
import socket
import threading


class FakeDNS:
    def __init__(self, monkeypatch):
        self.answers = {}
        self.asked = []
        real = socket.getaddrinfo

        def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
            if host not in self.answers:
                return real(host, port, family, type, proto, flags)
            self.asked.append(host)
            queue = self.answers[host]
            addresses = queue.pop(0) if len(queue) > 1 else queue[0]
            return [_answer(address, port) for address in addresses]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    def add(self, host, *answers):
        """``add("a.test", ["10.0.0.5"])``; several lists are given out one per lookup, the last repeating."""
        self.answers[host] = [list(addresses) for addresses in answers]


def _answer(address, port):
    if ipaddress.ip_address(address).version == 6:
        return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port or 0, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 0))


class Connections:
    """Every outbound TCP connection made through ``socket.create_connection`` (httpcore's only way to
    connect), recorded as the (address, port) asked for and actually made to ``host:port``."""

    def __init__(self, monkeypatch, host, port):
        self.attempts = []
        real = socket.create_connection

        def create_connection(address, *args, **kwargs):
            self.attempts.append(address)
            return real((host, port), *args, **kwargs)

        monkeypatch.setattr(socket, "create_connection", create_connection)


class RawServer:
    """A listening socket on 127.0.0.1 that answers every connection with ``payload`` and closes it."""

    def __init__(self, payload=b""):
        self.payload = payload
        self.accepted = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            with conn:
                request = b""
                while b"\r\n\r\n" not in request:
                    data = conn.recv(4096)
                    if not data:
                        break
                    request += data
                # the client may stop reading and close early: that is what the size tests expect
                with contextlib.suppress(OSError):
                    conn.sendall(self.payload)

    def stop(self):
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.sock.close()
