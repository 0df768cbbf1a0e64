"""A real SMTP server for tests and local experiments (aiosmtpd), keeping what it receives in memory.

    with MailServer() as server:          # listens on 127.0.0.1, a free port
        ...                                # send to server.port
        server.messages                    # [email.message.EmailMessage, ...]

``server.reject[address] = "550 5.1.1 No such user"`` makes it refuse one recipient (any reply code);
``server.stop()`` / ``server.start()`` take it down and bring it back on the same port. It offers
PIPELINING (RFC 2920) like Postfix does, unless ``MailServer(pipelining=False)``. ``server.connections``
counts the clients connected now (a killed client's connection counts until the server has seen it close).
``server.arrivals`` holds the ``time.time()`` at which each message was accepted, in order.
"""

import email
import email.policy
import socket
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Handler:
    def __init__(self, server):
        self.server = server

    async def handle_EHLO(self, smtp, session, envelope, hostname, responses):  # noqa: N802 - aiosmtpd's name
        session.host_name = hostname
        if self.server.pipelining:
            # aiosmtpd reads commands one line at a time, so pipelined commands work; say so, as Postfix does.
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, smtp, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's name
        reply = self.server.reject.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp, session, envelope):  # noqa: N802 - aiosmtpd's name
        arrived = time.time()
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.server.lock:
            self.server.envelopes.append(
                (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
            )
            self.server.messages.append(message)
            self.server.arrivals.append(arrived)
        return "250 Message accepted"


class _Session(SMTP):
    def connection_made(self, transport):
        with self.event_handler.server.lock:
            self.event_handler.server.connections += 1
        super().connection_made(transport)

    def connection_lost(self, error):
        super().connection_lost(error)
        with self.event_handler.server.lock:
            self.event_handler.server.connections -= 1


class _Controller(Controller):
    def factory(self):
        return _Session(self.handler, **self.SMTP_kwargs)


class MailServer:
    def __init__(self, port=None, *, pipelining=True):
        self.port = port or free_port()
        self.pipelining = pipelining
        self.messages = []
        self.envelopes = []
        self.arrivals = []
        self.reject = {}
        self.connections = 0
        self.lock = threading.Lock()
        self.controller = None

    def start(self):
        self.controller = _Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def recipients(self):
        with self.lock:
            return [rcpt for _, rcpts, _ in self.envelopes for rcpt in rcpts]

    def to(self, address):
        """The messages received for ``address``."""
        with self.lock:
            return [message for message in self.messages if address.lower() in str(message["To"]).lower()]
