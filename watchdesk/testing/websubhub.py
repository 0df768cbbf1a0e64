"""A small WebSub hub (https://www.w3.org/TR/websub/) for tests and benchmarks, on a local port.

It does what a hub must for a subscriber: takes subscribe and unsubscribe requests (202), verifies the
subscriber's intent with a GET carrying ``hub.challenge`` and keeps only subscriptions whose callback
echoed it, and on a publish ping (``hub.mode=publish``, ``hub.url``) fetches the topic and POSTs it to
every subscriber with ``X-Hub-Signature: <algorithm>=<HMAC of the body with the subscriber's secret>``.

Work is queued: ``process()`` runs it in the caller's thread (tests decide when the hub calls back), or
``autorun=True`` runs it at once in a thread of its own (benchmarks). How the hub reaches callbacks is a
``transport(method, url, params=None, body=None, headers=None) -> (status, body)``: real HTTP by default,
or anything a test supplies. Every verification and delivery is recorded.
"""

import hashlib
import hmac
import queue
import secrets
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import httpx

from watchdesk.testing.webserver import Reply, WebServer


def http_transport(method, url, *, params=None, body=None, headers=None):
    response = httpx.request(method, url, params=params, content=body, headers=headers, timeout=10)
    return response.status_code, response.content


@dataclass
class HubSubscription:
    topic: str
    callback: str
    secret: str
    lease_seconds: int


@dataclass
class Delivery:
    callback: str
    status: int
    body: bytes
    headers: dict = field(default_factory=dict)


class LocalHub:
    def __init__(
        self,
        *,
        transport=None,
        fetch_topic=None,
        lease_seconds=3600,
        algorithm="sha256",
        autorun=False,
        host="127.0.0.1",
    ):
        self.transport = transport or http_transport
        self.fetch_topic = fetch_topic or (lambda url: httpx.get(url, timeout=10))
        self.lease_seconds = lease_seconds
        self.algorithm = algorithm
        self.server = WebServer({"/hub": self._request}, host=host)
        self.subscriptions = {}  # (topic, callback) -> HubSubscription
        self.requests = []  # the subscribe/unsubscribe forms received, in order
        self.verifications = []  # (mode, topic, callback, status, confirmed)
        self.deliveries = []
        self.refuse_with = None  # an HTTP status to answer every request with (a failing hub)
        self._jobs = queue.Queue()
        self._autorun = autorun
        self._worker = None
        self._stopped = threading.Event()

    # Lifecycle ---------------------------------------------------------------------------------------

    @property
    def url(self):
        return self.server.url("/hub")

    def start(self):
        self.server.start()
        if self._autorun:
            self._worker = threading.Thread(target=self._run, name="local-websub-hub", daemon=True)
            self._worker.start()
        return self

    def stop(self):
        self._stopped.set()
        self._jobs.put(None)
        self.server.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _run(self):
        while not self._stopped.is_set():
            job = self._jobs.get()
            if job is None:
                return
            try:
                job()
            except Exception as error:  # a hub keeps going when one callback misbehaves
                self.deliveries.append(Delivery("(error)", 0, repr(error).encode()))

    def process(self):
        """Run the queued verifications and distributions in this thread; returns how many ran."""
        ran = 0
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return ran
            if job is not None:
                job()
                ran += 1

    # The hub's endpoint -------------------------------------------------------------------------------

    def _request(self, request):
        if self.refuse_with:
            return Reply(self.refuse_with, {"Content-Type": "text/plain"}, b"hub unavailable")
        form = {key: values[0] for key, values in parse_qs(request.body.decode("utf-8", "replace")).items()}
        mode = form.get("hub.mode", "")
        if mode in ("subscribe", "unsubscribe"):
            self.requests.append(form)
            topic, callback = form.get("hub.topic", ""), form.get("hub.callback", "")
            if not topic.startswith(("http://", "https://")) or not callback.startswith(
                ("http://", "https://")
            ):
                return Reply(400, {"Content-Type": "text/plain"}, b"hub.topic and hub.callback are required")
            self._jobs.put(lambda: self.verify(form))
            return Reply(202)
        if mode == "publish":
            topic = form.get("hub.url") or form.get("hub.topic", "")
            self._jobs.put(lambda: self.distribute(topic))
            return Reply(204)
        return Reply(400, {"Content-Type": "text/plain"}, b"unknown hub.mode")

    # What a hub does ----------------------------------------------------------------------------------

    def verify(self, form):
        """Verify intent; keep (or drop) the subscription only if the callback echoes the challenge."""
        mode, topic, callback = form["hub.mode"], form["hub.topic"], form["hub.callback"]
        challenge = secrets.token_urlsafe(16)
        params = {"hub.mode": mode, "hub.topic": topic, "hub.challenge": challenge}
        if mode == "subscribe":
            params["hub.lease_seconds"] = str(self.lease_seconds)
        status, body = self.transport("GET", callback, params=params)
        confirmed = 200 <= status < 300 and body == challenge.encode()
        self.verifications.append((mode, topic, callback, status, confirmed))
        if confirmed and mode == "subscribe":
            self.subscriptions[(topic, callback)] = HubSubscription(
                topic, callback, form.get("hub.secret", ""), self.lease_seconds
            )
        elif confirmed:
            self.subscriptions.pop((topic, callback), None)
        return confirmed

    def deny(self, topic, callback, reason="refused by the hub"):
        self.subscriptions.pop((topic, callback), None)
        params = {"hub.mode": "denied", "hub.topic": topic, "hub.reason": reason}
        return self.transport("GET", callback, params=params)

    def publish(self, topic):
        """As a publisher's ping would: queue the distribution of ``topic``."""
        self._jobs.put(lambda: self.distribute(topic))

    def distribute(self, topic, *, body=None, content_type=None, secret=None):
        """Fetch the topic (unless ``body`` is given) and POST it, signed, to each of its subscribers.
        ``secret`` overrides each subscriber's secret (a forger's push)."""
        if body is None:
            fetched = self.fetch_topic(topic)
            body, content_type = fetched.content, fetched.headers.get("content-type", "")
        for subscription in [s for s in self.subscriptions.values() if s.topic == topic]:
            key = (subscription.secret if secret is None else secret).encode()
            signature = hmac.new(key, body, getattr(hashlib, self.algorithm)).hexdigest()
            headers = {
                "Content-Type": content_type or "application/xml",
                "Link": f'<{self.url}>; rel="hub", <{topic}>; rel="self"',
                "X-Hub-Signature": f"{self.algorithm}={signature}",
            }
            status, answer = self.transport("POST", subscription.callback, body=body, headers=headers)
            self.deliveries.append(Delivery(subscription.callback, status, answer, headers))
            if status == 410:  # the subscriber says the subscription is gone
                self.subscriptions.pop((subscription.topic, subscription.callback), None)
