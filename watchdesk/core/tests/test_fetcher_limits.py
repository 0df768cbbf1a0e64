"""The guarded fetcher's limits and manners: size, decompression bombs, the deadline, redirects,
conditional GET, Retry-After and the headers it sends. Outside sites are local servers."""

import gzip
import socket
import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpcore
import pytest

from watchdesk.core import fetcher
from watchdesk.core.fetcher import Fetched, FetchError, FetchRefused, fetch, parse_retry_after
from watchdesk.core.tests.fakenet import RawServer
from watchdesk.testing.webserver import Reply

MB = 1024 * 1024


@pytest.fixture
def site(server, settings):
    """The local server with loopback and its port opened, as for an intranet source."""
    server.routes = {}
    server.requests.clear()
    settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.WATCHDESK_FETCH_ALLOWED_PORTS = [server.port]
    return server


@pytest.fixture
def raw_server(settings):
    servers = []

    def make(payload):
        server = RawServer(payload)
        servers.append(server)
        settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
        settings.WATCHDESK_FETCH_ALLOWED_PORTS = [server.port]
        return server

    yield make
    for server in servers:
        server.stop()


# Size -----------------------------------------------------------------------------------------------


def test_a_body_of_exactly_the_limit_is_accepted(site):
    site.routes["/feed.xml"] = Reply(body=b"x" * 4096)

    assert fetch(site.url("/feed.xml"), max_bytes=4096).content == b"x" * 4096


def test_a_larger_body_is_refused_with_the_setting_as_the_default_limit(site, settings):
    settings.FETCH_MAX_BYTES = 4096
    site.routes["/feed.xml"] = Reply(body=b"x" * 4097)

    with pytest.raises(FetchError, match="^response larger than 4096 bytes$"):
        fetch(site.url("/feed.xml"))


def test_a_content_length_over_the_limit_is_refused_before_reading(site):
    # The server claims a gigabyte and sends two bytes: reading would hang until the deadline.
    site.routes["/huge"] = Reply(headers={"Content-Length": str(1024 * MB)}, body=b"hi")

    with pytest.raises(FetchError, match="^response larger than 1 MB$"):
        fetch(site.url("/huge"), max_bytes=MB, timeout=20)


def test_a_body_without_content_length_is_cut_off_at_the_limit(raw_server):
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nConnection: close\r\n\r\n"
    server = raw_server(head + b"y" * (3 * MB))

    with pytest.raises(FetchError, match="^response larger than 1 MB$"):
        fetch(server.url(), max_bytes=MB)
    assert server.accepted == 1


def test_a_body_without_content_length_under_the_limit_is_read_to_the_end(raw_server):
    server = raw_server(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"<rss/>")

    assert fetch(server.url()).content == b"<rss/>"


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send it
        ("gzip, deflate", lambda data: zlib.compress(gzip.compress(data))),
    ],
)
def test_compressed_bodies_are_decoded(encoding, compress, site):
    text = b"<rss><channel><title>Valley Courier</title></channel></rss>" * 100
    site.routes["/feed.xml"] = Reply(headers={"Content-Encoding": encoding}, body=compress(text))

    fetched = fetch(site.url("/feed.xml"))

    assert fetched.content == text
    assert site.hits()[0].headers["accept-encoding"] == "gzip, deflate"


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("gzip, gzip", lambda d: gzip.compress(gzip.compress(d))),
    ],
)
def test_a_decompression_bomb_is_stopped_at_the_limit(encoding, compress, site):
    bomb = compress(b"\0" * (64 * MB))  # 64 MB of zeros in well under 100 KB
    assert len(bomb) < 100 * 1024
    site.routes["/feed.xml"] = Reply(headers={"Content-Encoding": encoding}, body=bomb)

    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match="^response larger than 1 MB$"):
            fetch(site.url("/feed.xml"), max_bytes=MB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MB  # decoded in bounded steps, never inflated whole chunks (64 KB of gzip -> 64 MB)


def test_an_encoding_we_did_not_ask_for_is_an_error(site):
    site.routes["/feed.xml"] = Reply(headers={"Content-Encoding": "br"}, body=b"\x1b\x00")

    with pytest.raises(FetchError, match="^unsupported content encoding 'br'$"):
        fetch(site.url("/feed.xml"))


def test_a_corrupt_gzip_body_is_an_error(site):
    site.routes["/feed.xml"] = Reply(headers={"Content-Encoding": "gzip"}, body=b"not gzip at all")

    with pytest.raises(FetchError, match="^the gzip response body is corrupt$"):
        fetch(site.url("/feed.xml"))


# The deadline ---------------------------------------------------------------------------------------


def test_a_slow_server_times_out_with_the_setting_as_the_default(site, settings):
    settings.FETCH_TIMEOUT = 1
    site.routes["/slow"] = Reply(body=b"late", delay=5)

    with pytest.raises(FetchError, match="^timed out after 1 s$"):
        fetch(site.url("/slow"))


def test_the_timeout_is_a_deadline_for_the_whole_redirect_chain(site):
    # Each answer comes well within the timeout; together they do not.
    site.routes["/1"] = Reply(302, {"Location": "/2"}, delay=0.25)
    site.routes["/2"] = Reply(302, {"Location": "/3"}, delay=0.25)
    site.routes["/3"] = Reply(302, {"Location": "/4"}, delay=0.25)
    site.routes["/4"] = Reply(body=b"done", delay=0.25)

    with pytest.raises(FetchError, match=r"^timed out after 0.6 s$"):
        fetch(site.url("/1"), timeout=0.6)
    assert fetch(site.url("/1"), timeout=20).content == b"done"


# Redirects ------------------------------------------------------------------------------------------


def chain(site, hops):
    """/r0 -> /r1 -> ... -> /r{hops} which answers 200, with a mix of statuses and relative Locations."""
    statuses = [301, 302, 303, 307, 308]
    for n in range(hops):
        location = f"/r{n + 1}" if n % 2 else f"r{n + 1}?from={n}"
        site.routes[f"/r{n}"] = Reply(statuses[n % 5], {"Location": location})
    site.routes[f"/r{hops}"] = Reply(body=b"final")


def test_five_redirects_are_followed_to_the_final_url(site):
    chain(site, 5)

    fetched = fetch(site.url("/r0"))

    assert fetched.content == b"final"
    assert fetched.url == site.url("/r5?from=4")
    assert [hit.path.split("?")[0] for hit in site.hits()] == ["/r0", "/r1", "/r2", "/r3", "/r4", "/r5"]


def test_a_sixth_redirect_is_too_many(site):
    chain(site, 6)

    with pytest.raises(FetchError, match=r"^too many redirects \(more than 5\)$") as error:
        fetch(site.url("/r0"))

    assert not isinstance(error.value, FetchRefused)
    assert len(site.hits()) == 6  # the sixth redirect is read, never followed


def test_the_redirect_limit_comes_from_the_setting(site, settings):
    settings.FETCH_MAX_REDIRECTS = 1
    chain(site, 2)

    with pytest.raises(FetchError, match=r"^too many redirects \(more than 1\)$"):
        fetch(site.url("/r0"))


def test_a_redirect_loop_ends(site):
    site.routes["/a"] = Reply(302, {"Location": "/b"})
    site.routes["/b"] = Reply(302, {"Location": "/a"})

    with pytest.raises(FetchError, match="too many redirects"):
        fetch(site.url("/a"))


def test_a_redirect_without_location_is_returned(site):
    site.routes["/odd"] = Reply(302, body=b"nowhere to go")

    fetched = fetch(site.url("/odd"))

    assert (fetched.status, fetched.content, fetched.ok) == (302, b"nowhere to go", False)


# Conditional GET, answers that are not 200, and headers ---------------------------------------------


def test_conditional_get_sends_the_validators_and_returns_304(site):
    site.routes["/feed.xml"] = Reply(304, {"ETag": '"v7"'})

    fetched = fetch(site.url("/feed.xml"), etag='"v7"', last_modified="Wed, 21 Oct 2026 07:28:00 GMT")

    sent = site.hits()[0].headers
    assert sent["if-none-match"] == '"v7"'
    assert sent["if-modified-since"] == "Wed, 21 Oct 2026 07:28:00 GMT"
    assert fetched.not_modified and not fetched.ok
    assert fetched.content == b""
    assert fetched.headers["etag"] == '"v7"'


def test_no_validators_means_no_conditional_headers(site):
    site.routes["/feed.xml"] = Reply(body=b"<rss/>", headers={"ETag": '"v8"'})

    fetched = fetch(site.url("/feed.xml"))

    assert "if-none-match" not in site.hits()[0].headers
    assert "if-modified-since" not in site.hits()[0].headers
    assert fetched.ok and not fetched.not_modified
    assert (fetched.status, fetched.content, fetched.url) == (200, b"<rss/>", site.url("/feed.xml"))


def test_429_is_returned_with_retry_after(site):
    site.routes["/feed.xml"] = Reply(429, {"Retry-After": "120"}, b"slow down")

    fetched = fetch(site.url("/feed.xml"))

    assert (fetched.status, fetched.ok, fetched.retry_after) == (429, False, 120)


def test_server_errors_are_returned_not_raised(site):
    site.routes["/feed.xml"] = Reply(503, {"Retry-After": "Fri, 31 Dec 1999 23:59:59 GMT"}, b"down")

    fetched = fetch(site.url("/feed.xml"))

    assert (fetched.status, fetched.content, fetched.retry_after) == (503, b"down", 0)


def test_retry_after_reads_seconds_and_http_dates():
    now = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)

    assert parse_retry_after("  90 ", now=now) == 90
    assert parse_retry_after(format_datetime(now + timedelta(minutes=5), usegmt=True), now=now) == 300
    assert parse_retry_after("Tue, 03 Nov 2026 12:00:30 GMT", now=now) == 30
    assert parse_retry_after("Tue, 03 Nov 2026 11:00:00 GMT", now=now) == 0  # in the past: retry now
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after("-5", now=now) is None
    assert parse_retry_after("", now=now) is None
    assert Fetched("https://example.org/", 200, {}, b"").retry_after is None


def test_the_user_agent_and_a_feed_accept_header_are_sent(site, settings):
    settings.FETCH_USER_AGENT = "Watchdesk/9 (+https://desk.example.org/about)"
    site.routes["/feed.xml"] = Reply(body=b"<rss/>")

    fetch(site.url("/feed.xml"))

    sent = site.hits()[0].headers
    assert sent["user-agent"] == "Watchdesk/9 (+https://desk.example.org/about)"
    assert sent["accept"].startswith("application/rss+xml, application/atom+xml, application/feed+json")


def test_caller_headers_are_sent_and_override_the_defaults(site):
    site.routes["/story"] = Reply(body=b"<html></html>")

    fetch(site.url("/story"), headers={"Accept": "text/html", "Accept-Language": "en"})

    sent = site.hits()[0].headers
    assert (sent["accept"], sent["accept-language"]) == ("text/html", "en")
    assert sent["user-agent"].startswith("Watchdesk/")


# Transport failures ---------------------------------------------------------------------------------


def test_a_closed_port_is_a_connection_error(settings):
    listener = RawServer()
    port = listener.port
    listener.stop()
    settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.WATCHDESK_FETCH_ALLOWED_PORTS = [port]

    with pytest.raises(FetchError, match="^could not connect to 127.0.0.1: ") as error:
        fetch(f"http://127.0.0.1:{port}/feed.xml")
    assert not isinstance(error.value, FetchRefused)


def test_a_name_that_does_not_resolve_is_an_error(monkeypatch):
    def no_such_host(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)

    with pytest.raises(FetchError, match=r"^could not resolve no-such-host\.invalid$"):
        fetch("https://no-such-host.invalid/feed.xml")


def test_a_garbled_answer_is_an_error(raw_server):
    server = raw_server(b"SMTP ready, not HTTP\r\n\r\n")

    with pytest.raises(FetchError, match="^127.0.0.1 sent a malformed HTTP response"):
        fetch(server.url())


def test_every_socket_read_and_write_ends_by_the_deadline():
    # httpx's timeouts apply per operation; the fetcher holds each one to what is left of the whole fetch,
    # so a server dripping a byte just inside the read timeout cannot stretch a fetch past FETCH_TIMEOUT.
    class Socket(httpcore.NetworkStream):
        timeouts = []

        def read(self, max_bytes, timeout=None):
            self.timeouts.append(timeout)
            return b"x"

        def write(self, buffer, timeout=None):
            self.timeouts.append(timeout)

    stream = fetcher._DeadlineStream(Socket(), fetcher._Deadline(5))
    stream.read(10, timeout=30)
    stream.write(b"GET", timeout=None)
    assert all(0 < timeout <= 5 for timeout in Socket.timeouts)

    expired = fetcher._DeadlineStream(Socket(), fetcher._Deadline(0))
    with pytest.raises(httpcore.ReadTimeout):
        expired.read(10, timeout=30)
