"""Fixtures for the wire: sources, items, and local web servers standing in for outlets."""

from itertools import count

import pytest
from django.utils import timezone

from watchdesk.testing.webserver import WebServer

_numbers = count(1)


@pytest.fixture
def web_server(settings):
    """A local HTTP server, with the guarded fetcher allowed to reach it (loopback and its port)."""
    server = WebServer().start()
    settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.WATCHDESK_FETCH_ALLOWED_PORTS = [server.port]
    yield server
    server.stop()


@pytest.fixture
def source(db):
    """Make a source; enabled and due unless told otherwise."""
    from watchdesk.wire.models import Source

    def make(url=None, **fields):
        n = next(_numbers)
        values = {"name": f"Outlet {n}", "url": url or f"https://news{n}.example.org/feed.xml", **fields}
        return Source.objects.create(**values)

    return make


@pytest.fixture
def make_item(db):
    """Store an item directly (no parsing, no enrichment); every argument has a default."""
    from watchdesk.wire.models import Item

    def make(title=None, *, source=None, **fields):
        n = next(_numbers)
        now = timezone.now()
        values = {
            "title": title or f"Item number {n}",
            "guid": f"urn:item:{n}",
            "url": f"https://news.example.org/story/{n}",
            "outlet": source.name if source else "Valley Courier",
            "text": fields.pop("text", f"Text of item {n}."),
            "published_at": now,
            "first_seen_at": now,
            **fields,
        }
        return Item.objects.create(source=source, **values)

    return make
