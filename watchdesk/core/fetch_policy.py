"""What the guarded fetcher may connect to: URL parsing, the address rules, and the settings that open
ranges and ports. The rules and why: docs/wire.md, "The guarded fetcher". Callers use the fetcher
(``fetch``, ``check_url``), not this module.
"""

import ipaddress
import re
import socket
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULT_PORTS = {"http": 80, "https": 443}


class FetchError(Exception):
    """A fetch that could not be completed; ``str(error)`` is a short reason for people."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class FetchRefused(FetchError):
    """A fetch the policy does not allow (scheme, port or address); no connection was made."""


# Addresses ------------------------------------------------------------------------------------------


def _networks(*cidrs):
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
# Not globally reachable per the IANA special-purpose registries, yet is_global on some Python versions.
_NOT_GLOBAL = _networks("192.0.0.0/24", "64:ff9b:1::/48", "3fff::/20", "5f00::/16", "fec0::/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Names for refused ranges, only to make the reason readable; the decision is made in address_problem.
_RANGE_NAMES = (
    (_networks("100.64.0.0/10"), "a carrier-grade NAT address"),
    (
        _networks("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "3fff::/20"),
        "a documentation address",
    ),
    (_networks("198.18.0.0/15", "2001:2::/48"), "a benchmarking address"),
    (_networks("255.255.255.255/32"), "the broadcast address"),
    (_networks("0.0.0.0/8", "240.0.0.0/4"), "a reserved address"),
    (_networks("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"), "a private address"),
    (_networks("64:ff9b:1::/48"), "a local-use NAT64 address"),
    (_networks("2001::/32"), "a Teredo address"),
)


def _embedded_ipv4(address):
    """IPv4 addresses inside an IPv6 one, and whether they alone decide (the IPv6 form only spells them)."""
    if address.version == 4:
        return [], False
    if address.ipv4_mapped:
        return [address.ipv4_mapped], True
    if address in _NAT64:
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)], True
    if address.sixtofour:
        return [address.sixtofour], False
    if address.teredo:
        return list(address.teredo), False
    if 1 < int(address) < 2**32:  # IPv4-compatible ::a.b.c.d (deprecated, still parsed by stacks)
        return [ipaddress.IPv4Address(int(address))], False
    return [], False


def _plain_problem(address):
    """Why this address on its own is not a public one ("is a loopback address"), or None."""
    if address in METADATA_ADDRESSES:
        return "is a cloud metadata address"
    if address.is_loopback:
        return "is a loopback address"
    if address.is_unspecified:
        return "is an unspecified address"
    if address.is_multicast:
        return "is a multicast address"
    if address.is_link_local:
        return "is a link-local address"
    named = next((name for nets, name in _RANGE_NAMES if any(address in net for net in nets)), None)
    if named:
        return f"is {named}"
    if address.is_reserved:
        return "is a reserved address"
    if not address.is_global or any(address in net for net in _NOT_GLOBAL):
        return "is not a public address"
    return None


def address_problem(address):
    """Why fetching from ``address`` is refused, as the end of a sentence starting with it; or None."""
    embedded, decisive = _embedded_ipv4(address)
    for inner in embedded:
        problem = _plain_problem(inner)
        if problem:
            return f"carries {inner}, which {problem}"
    if decisive:
        return None
    return _plain_problem(address)


_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)\Z")


def _numeric_ipv4(host):
    """The IPv4 address a numeric host spells in any form the C resolver accepts (127.1, 0x7f000001,
    2130706433, 0177.0.0.1), None for a host name, FetchError for a malformed number."""
    if ":" in host:  # IPv6, whose last part may be a dotted IPv4 address
        return None
    name = host.lower().rstrip(".")
    labels = name.split(".")
    if not _NUMERIC_LABEL.match(labels[-1]):
        return None
    try:
        if len(labels) > 4 or not all(_NUMERIC_LABEL.match(label) for label in labels):
            raise OSError
        return ipaddress.IPv4Address(socket.inet_aton(name))
    except OSError:
        raise FetchError(f"bad URL: {host!r} is not a valid IPv4 address") from None


def literal_address(host):
    """The address a host names without DNS: an IP literal, a numeric trick, or a localhost name."""
    numeric = _numeric_ipv4(host)
    if numeric:
        return numeric
    try:
        return ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        pass
    if host.lower().rstrip(".") == "localhost" or host.lower().rstrip(".").endswith(".localhost"):
        return ipaddress.ip_address("127.0.0.1")  # RFC 6761: always loopback, whatever DNS says
    return None


# Policy ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """The rules with the operator's openings (WATCHDESK_FETCH_ALLOWED_NETWORKS and _PORTS) applied."""

    networks: tuple
    ports: frozenset

    def check_port(self, url):
        port = url.port or DEFAULT_PORTS[url.scheme]
        if port not in (80, 443) and port not in self.ports:
            raise FetchRefused(f"refused: port {port} is not allowed")
        return port

    def is_opened(self, address):
        embedded, decisive = _embedded_ipv4(address)
        candidates = [address, *embedded] if decisive else [address]
        return any(candidate in net for candidate in candidates for net in self.networks)

    def check_address(self, address):
        if self.is_opened(address):
            return
        problem = address_problem(address)
        if problem:
            raise FetchRefused(f"refused: {address} {problem}")


@lru_cache(maxsize=8)
def _policy_from(networks, ports):
    opened = []
    for entry in networks:
        try:
            opened.append(ipaddress.ip_network(str(entry).strip()))
        except ValueError as error:
            raise ImproperlyConfigured(
                f"WATCHDESK_FETCH_ALLOWED_NETWORKS: {entry!r} is not a CIDR range like 10.1.0.0/16 ({error})"
            ) from None
    try:
        allowed_ports = frozenset(int(port) for port in ports)
    except (TypeError, ValueError):
        raise ImproperlyConfigured(
            f"WATCHDESK_FETCH_ALLOWED_PORTS: {list(ports)!r} must be port numbers"
        ) from None
    return Policy(tuple(opened), allowed_ports)


def current_policy():
    return _policy_from(
        tuple(settings.WATCHDESK_FETCH_ALLOWED_NETWORKS or ()),
        tuple(settings.WATCHDESK_FETCH_ALLOWED_PORTS or ()),
    )


# URLs -----------------------------------------------------------------------------------------------


def parse_url(url):
    """An absolute http(s) httpx.URL with numeric IPv4 hosts spelled as dotted quads."""
    text = url.strip() if isinstance(url, str) else ""
    if not text:
        raise FetchError("bad URL: empty")
    try:
        parsed = httpx.URL(text)
    except httpx.InvalidURL:
        # httpx rejects "0177.0.0.1", which browsers and inet_aton read as octal 127.0.0.1: read it the same
        # way so it is refused for what it is.
        parsed = _with_numeric_host(text)
    if not parsed.scheme:
        raise FetchError(f"bad URL: {text!r} is not an absolute http or https URL")
    if parsed.scheme not in DEFAULT_PORTS:
        raise FetchRefused(f"refused: scheme {parsed.scheme!r} is not allowed (only http and https)")
    if not parsed.host:
        raise FetchError(f"bad URL: {text!r} has no host")
    numeric = _numeric_ipv4(parsed.host)
    if numeric:
        parsed = parsed.copy_with(host=str(numeric))
    return parsed


def _with_numeric_host(text):
    try:
        parts = urlsplit(text)
        port = parts.port
        numeric = _numeric_ipv4(parts.hostname) if parts.hostname else None
        if numeric is None:
            raise ValueError
        userinfo, at, _ = parts.netloc.rpartition("@")
        netloc = f"{userinfo}{at}{numeric}" + (f":{port}" if port is not None else "")
        return httpx.URL(urlunsplit(parts._replace(netloc=netloc)))
    except (ValueError, httpx.InvalidURL):
        raise FetchError(f"bad URL: {text!r}") from None


def resolve(host, port):
    """Every address ``host`` resolves to, in the resolver's order, without duplicates."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise FetchError(f"could not resolve {host}") from None
    addresses = []
    for family, _type, _proto, _name, sockaddr in answers:
        if family in (socket.AF_INET, socket.AF_INET6):
            address = ipaddress.ip_address(sockaddr[0].split("%")[0])
            if address not in addresses:
                addresses.append(address)
    if not addresses:
        raise FetchError(f"could not resolve {host}")
    return addresses
