"""The guarded fetcher: the one way Watchdesk makes an outbound HTTP request (feeds, article pages).

Whoever can add a source chooses where the server connects, so ``fetch()`` guards against server-side
request forgery. Before any connection, and again for every redirect, it refuses schemes other than http(s),
ports other than 80 and 443 (plus ``WATCHDESK_FETCH_ALLOWED_PORTS``) and any host with an address that is not
public (the rules are in ``fetch_policy``; ``WATCHDESK_FETCH_ALLOWED_NETWORKS`` opens chosen ranges, and a
malformed entry raises ImproperlyConfigured). It connects only to the addresses it checked, reads at most
``FETCH_MAX_BYTES`` of decoded body and gives up after ``FETCH_TIMEOUT`` for the whole fetch. The full rules
and how each is enforced: docs/wire.md, "The guarded fetcher".

Refusals raise ``FetchRefused``; other failures ``FetchError``; ``str(error)`` is a short reason for
people ("refused: 10.0.0.5 is a private address"). Non-2xx answers are returned, not raised.
"""

import math
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache
from urllib.parse import urljoin

import httpcore
import httpx
from django.conf import settings

from watchdesk.core.fetch_policy import (
    DEFAULT_PORTS,
    FetchError,
    FetchRefused,
    current_policy,
    literal_address,
    parse_url,
    resolve,
)

__all__ = ["FetchError", "FetchRefused", "Fetched", "check_url", "fetch", "parse_retry_after", "post"]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Feed formats first; HTML last but welcome (article pages, and sites that serve feeds as text/html).
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, "
    "text/xml;q=0.9, application/json;q=0.8, text/html;q=0.5, */*;q=0.1"
)
# Only the encodings decoded below with a bounded output (httpx would add br/zstd if those were installed).
ACCEPT_ENCODING = "gzip, deflate"
# Caller-supplied headers that must not follow a redirect to another origin.
CREDENTIAL_HEADERS = ("authorization", "cookie", "proxy-authorization")


@dataclass
class Fetched:
    """The final answer of a fetch, after redirects. ``content`` is the decoded body."""

    url: str
    status: int
    headers: httpx.Headers
    content: bytes

    @property
    def not_modified(self):
        return self.status == 304

    @property
    def ok(self):
        return 200 <= self.status < 300

    @property
    def retry_after(self):
        """Seconds the server asked us to wait (``Retry-After`` in seconds or as an HTTP-date), or None."""
        return parse_retry_after(self.headers.get("retry-after", ""))


def parse_retry_after(value, *, now=None):
    """``"120"`` -> 120; an HTTP-date -> whole seconds from ``now`` until then (0 if past); else None."""
    value = (value or "").strip()
    if value.isdigit():
        return int(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP-dates are GMT
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0, math.ceil((when - now).total_seconds()))


def check_url(url):
    """Raise FetchRefused for a URL that could never be fetched: bad URL, scheme, port, or a literal
    blocked address. No network is used, so a host name that resolves to a blocked address passes here and
    is refused by ``fetch()``. Meant for form validation."""
    policy = current_policy()
    try:
        parsed = parse_url(url)
        policy.check_port(parsed)
        literal = literal_address(parsed.host)
    except FetchRefused:
        raise
    except FetchError as error:
        raise FetchRefused(str(error)) from None
    if literal is not None:
        policy.check_address(literal)


# Connections ----------------------------------------------------------------------------------------


class _Deadline:
    def __init__(self, seconds):
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def error(self):
        return FetchError(f"timed out after {self.seconds:g} s")

    def check(self):
        if time.monotonic() >= self.at:
            raise self.error()

    def clamp(self, timeout, timeout_error):
        """A socket timeout no longer than what is left; the httpcore timeout error if nothing is."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise timeout_error("the fetch's deadline has passed")
        return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write ends by the fetch's deadline (httpx's own timeouts are
    per operation, so a server dripping a byte every 29 s would otherwise never time out)."""

    def __init__(self, stream, deadline):
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes, timeout=None):
        return self._stream.read(max_bytes, self._deadline.clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer, timeout=None):
        self._stream.write(buffer, self._deadline.clamp(timeout, httpcore.WriteTimeout))

    def close(self):
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        timeout = self._deadline.clamp(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout), self._deadline)

    def get_extra_info(self, info):
        return self._stream.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    """Opens TCP connections only to addresses this fetch has checked, never resolving a name itself."""

    def __init__(self, deadline):
        self._deadline = deadline
        self._pins = {}
        self._sockets = httpcore.SyncBackend()

    def pin(self, host, port, addresses):
        self._pins[(host, port)] = list(addresses)

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        addresses = self._pins.get((host, port))
        if not addresses:  # unreachable through fetch(); fail closed if httpx ever asks for something else
            raise FetchRefused(f"refused: {host}:{port} was not checked before connecting")
        failure = None
        for address in addresses:
            try:
                stream = self._sockets.connect_tcp(
                    str(address),
                    port,
                    timeout=self._deadline.clamp(timeout, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as error:
                failure = error
                continue
            return _DeadlineStream(stream, self._deadline)
        raise failure

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise FetchRefused("refused: unix sockets are not allowed")

    def sleep(self, seconds):
        time.sleep(seconds)


@cache
def _ssl_context():
    # Verified against certifi's CA bundle (or SSL_CERT_FILE / SSL_CERT_DIR, for operators with their own CA).
    # Built once: loading the bundle costs milliseconds, and a context is safe to share between threads.
    return httpx.create_ssl_context(verify=True, trust_env=True)


class _PinnedTransport(httpx.HTTPTransport):
    """httpx's own transport on a connection pool whose sockets come from ``_PinnedBackend``; no proxy.

    httpx 0.28 has no public way to pass a network backend, so the pool is replaced; if httpx renames its
    pool attribute this refuses to start rather than connect unguarded (docs/wire.md, "The guarded fetcher").
    """

    def __init__(self, backend):
        super().__init__(verify=_ssl_context(), trust_env=False)
        if not isinstance(getattr(self, "_pool", None), httpcore.ConnectionPool):
            raise RuntimeError(
                "httpx.HTTPTransport has changed; the guarded fetcher cannot pin its connections"
            )
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(), network_backend=backend, max_connections=4, http1=True, http2=False
        )


# Bodies ---------------------------------------------------------------------------------------------


class _TooLarge(Exception):
    pass


class _Inflater:
    """One gzip or deflate layer, decoded in steps that never output more than asked for."""

    def __init__(self, encoding):
        self.encoding = encoding
        self._first = True
        wbits = zlib.MAX_WBITS | 16 if encoding == "gzip" else zlib.MAX_WBITS
        self._zlib = zlib.decompressobj(wbits)

    def decompress(self, data, room):
        try:
            output = self._zlib.decompress(data, room + 1)
        except zlib.error:
            if not (self._first and self.encoding == "deflate"):
                raise FetchError(f"the {self.encoding} response body is corrupt") from None
            # "deflate" is meant to be zlib-wrapped, but some servers send a raw deflate stream.
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            self._first = False
            return self.decompress(data, room)
        self._first = False
        if len(output) > room or self._zlib.unconsumed_tail:
            raise _TooLarge
        return output


def _decoders(content_encoding):
    layers = []
    for name in reversed([n.strip().lower() for n in content_encoding.split(",")]):
        if name in ("", "identity"):
            continue
        if name in ("gzip", "x-gzip"):
            layers.append(_Inflater("gzip"))
        elif name == "deflate":
            layers.append(_Inflater("deflate"))
        else:
            raise FetchError(f"unsupported content encoding {name!r}")
    return layers


def _read_body(response, limit, deadline):
    too_large = FetchError(f"response larger than {_size(limit)}")
    declared = response.headers.get("content-length", "").strip()
    if response.status_code != 304 and declared.isdigit() and int(declared) > limit:
        raise too_large
    layers = _decoders(response.headers.get("content-encoding", ""))
    body = bytearray()
    try:
        for chunk in response.iter_raw():
            for layer in layers:
                chunk = layer.decompress(chunk, limit - len(body))
            body += chunk
            if len(body) > limit:
                raise _TooLarge
            deadline.check()
    except _TooLarge:
        raise too_large from None
    return bytes(body)


def _size(count):
    mb = 1024 * 1024
    if count >= mb:
        return f"{count // mb} MB" if count % mb == 0 else f"{count / mb:.1f} MB"
    return f"{count} bytes"


# The fetch ------------------------------------------------------------------------------------------


@contextmanager
def _transport_errors(host, deadline):
    try:
        yield
    except httpx.TimeoutException:
        raise deadline.error() from None
    except httpx.ConnectError as error:
        raise FetchError(f"could not connect to {host}: {error}") from None
    except httpx.ProtocolError as error:
        raise FetchError(f"{host} sent a malformed HTTP response: {error}") from None
    except httpx.HTTPError as error:
        raise FetchError(f"fetching from {host} failed: {error}") from None


def _request_headers(headers, etag, last_modified):
    merged = httpx.Headers(
        {"User-Agent": settings.FETCH_USER_AGENT, "Accept": FEED_ACCEPT, "Accept-Encoding": ACCEPT_ENCODING}
    )
    if etag:
        merged["If-None-Match"] = etag
    if last_modified:
        merged["If-Modified-Since"] = last_modified
    merged.update(headers or {})
    return merged


def _origin(url):
    return (url.scheme, url.host, url.port or DEFAULT_PORTS[url.scheme])


def _redirect_target(current, location):
    try:
        return parse_url(urljoin(str(current), location.strip()))
    except FetchRefused:
        raise
    except (FetchError, ValueError):
        raise FetchError(f"bad redirect to {location!r}") from None


def fetch(
    url, *, headers=None, etag="", last_modified="", max_bytes=None, timeout=None, method="GET", content=None
):
    """GET ``url`` under the policy in the module docstring and return the final answer as ``Fetched``.

    ``etag`` / ``last_modified`` make a conditional GET (a 304 comes back with ``not_modified``).
    ``method="POST"`` with ``content`` (bytes; say its type in ``headers``) sends it instead, under the
    same policy; a redirect is then returned, not followed (the body would not follow it).
    Raises FetchRefused for a policy refusal and FetchError for any other failure."""
    policy = current_policy()
    limit = settings.FETCH_MAX_BYTES if max_bytes is None else max_bytes
    deadline = _Deadline(settings.FETCH_TIMEOUT if timeout is None else timeout)
    target = parse_url(url)
    request_headers = _request_headers(headers, etag, last_modified)
    backend = _PinnedBackend(deadline)
    redirects = 0
    with httpx.Client(
        transport=_PinnedTransport(backend), trust_env=False, follow_redirects=False, timeout=deadline.seconds
    ) as client:
        while True:
            port = policy.check_port(target)
            host = target.raw_host.decode("ascii")
            addresses = resolve(host, port)
            for address in addresses:
                policy.check_address(address)
            backend.pin(host, port, addresses)
            deadline.check()
            with _transport_errors(host, deadline):
                request = client.build_request(method, target, headers=request_headers, content=content)
                response = client.send(request, stream=True)
                try:
                    location = response.headers.get("location")
                    if response.status_code not in REDIRECT_STATUSES or not location or method != "GET":
                        content = _read_body(response, limit, deadline)
                        return Fetched(str(target), response.status_code, response.headers, content)
                finally:
                    response.close()
            redirects += 1
            if redirects > settings.FETCH_MAX_REDIRECTS:
                raise FetchError(f"too many redirects (more than {settings.FETCH_MAX_REDIRECTS})")
            following = _redirect_target(target, location)
            if _origin(following) != _origin(target):
                for name in CREDENTIAL_HEADERS:
                    request_headers.pop(name, None)
            target = following


def post(url, *, content, headers=None, max_bytes=64 * 1024, timeout=None):
    """POST ``content`` (bytes) to ``url`` under the same policy as ``fetch``, and return the answer as
    ``Fetched`` (its body read up to ``max_bytes``). Redirects are not followed: a webhook that moved must
    be updated by a person, not silently re-sent elsewhere."""
    policy = current_policy()
    deadline = _Deadline(settings.FETCH_TIMEOUT if timeout is None else timeout)
    target = parse_url(url)
    port = policy.check_port(target)
    host = target.raw_host.decode("ascii")
    addresses = resolve(host, port)
    for address in addresses:
        policy.check_address(address)
    backend = _PinnedBackend(deadline)
    backend.pin(host, port, addresses)
    request_headers = httpx.Headers(
        {"User-Agent": settings.FETCH_USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING}
    )
    request_headers.update(headers or {})
    with httpx.Client(
        transport=_PinnedTransport(backend), trust_env=False, follow_redirects=False, timeout=deadline.seconds
    ) as client:
        deadline.check()
        with _transport_errors(host, deadline):
            response = client.send(
                client.build_request("POST", target, headers=request_headers, content=content), stream=True
            )
            try:
                body = _read_body(response, max_bytes, deadline)
            finally:
                response.close()
    return Fetched(str(target), response.status_code, response.headers, body)
