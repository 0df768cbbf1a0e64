"""Alert-channel fixtures: a local receiver the network policy is opened for, and channels to it."""

import pytest

from watchdesk.delivery import channels
from watchdesk.delivery.models import Channel
from watchdesk.testing.webserver import Reply, WebServer


@pytest.fixture
def receiver(settings):
    """A local HTTP server that accepts whatever is POSTed to it, with the fetch policy opened for it (as
    an operator does with WATCHDESK_FETCH_ALLOWED_NETWORKS / _PORTS for a receiver on their network)."""
    with WebServer({path: Reply(200, {}, b"ok") for path in ("/hook", "/agency", "/other")}) as server:
        settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
        settings.WATCHDESK_FETCH_ALLOWED_PORTS = [server.port]
        yield server


@pytest.fixture
def make_channel(db):
    """A channel made as the admin or the CLI makes one; everything unless topics or regions are given."""

    def make(name="Ops room", url="json://hooks.example.org/hook", *, topics=(), regions=(), **fields):
        kind, url = channels.split_kind(url)
        values = {"kind": kind, "url": url, "everything": not (topics or regions), **fields}
        if kind == Channel.Kind.WEBHOOK:
            values.setdefault("secret", channels.new_secret())
        channel = Channel.objects.create(name=name, **values)
        channel.topics.set(list(topics))
        channel.regions.set(list(regions))
        return channel

    return make
