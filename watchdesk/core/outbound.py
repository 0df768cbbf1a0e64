"""The guarded fetcher's network policy for libraries that open their own HTTP connections (Apprise, through
``requests`` and urllib3), and for any service URL a person types in.

``guarded_connections()`` is a context in which every urllib3 connection this thread opens is checked first:
the host is resolved once, every address must pass the policy (``fetch_policy``, with
``WATCHDESK_FETCH_ALLOWED_NETWORKS`` / ``_PORTS``), and the socket connects to a checked address, never to a
second answer from DNS. A refused connection never reaches the network; the refusal is kept on the context
(``guard.refusals``) so a caller can say why a library's send failed. Outside the context urllib3 behaves as
it always does. Why this hook and what it cannot see: docs/agencies.md, "Network policy".
"""

import threading
from contextlib import contextmanager

from urllib3.util import connection as urllib3_connection

from watchdesk.core.fetch_policy import DEFAULT_PORTS, FetchError, FetchRefused, current_policy, resolve

_local = threading.local()
_original_create_connection = urllib3_connection.create_connection


class PolicyRefusal(OSError):
    """Raised inside urllib3 as a connection failure, so libraries report it as one and carry on."""


class Guard:
    def __init__(self, policy):
        self.policy = policy
        self.refusals = []

    def check(self, host, port):
        """The addresses ``host`` may be reached at on ``port``; FetchRefused / FetchError otherwise."""
        if port not in DEFAULT_PORTS.values() and port not in self.policy.ports:
            raise FetchRefused(f"refused: port {port} is not allowed")
        addresses = resolve(host, port)
        for address in addresses:
            self.policy.check_address(address)
        return addresses


def _guarded_create_connection(address, *args, **kwargs):
    guard = getattr(_local, "guard", None)
    if guard is None:
        return _original_create_connection(address, *args, **kwargs)
    host, port = address
    host = host.strip("[]")
    try:
        addresses = guard.check(host, port)
    except FetchError as error:
        guard.refusals.append(f"{host}: {error.reason}")
        raise PolicyRefusal(error.reason) from None
    failure = None
    for checked in addresses:
        try:
            return _original_create_connection((str(checked), port), *args, **kwargs)
        except OSError as error:
            failure = error
    raise failure


def _install():
    # urllib3's HTTPConnection calls ``connection.create_connection`` through the module attribute, so
    # replacing it there reaches every pool; outside ``guarded_connections`` it is the original.
    if urllib3_connection.create_connection is not _guarded_create_connection:
        urllib3_connection.create_connection = _guarded_create_connection


_install()


@contextmanager
def guarded_connections():
    """Within this context, this thread's urllib3 connections obey the fetch policy."""
    previous = getattr(_local, "guard", None)
    guard = Guard(current_policy())
    _local.guard = guard
    try:
        yield guard
    finally:
        _local.guard = previous


def check_host(host, port):
    """Raise FetchRefused when ``host:port`` may not be contacted (resolving the name once), FetchError
    when it cannot be resolved. For validating service URLs when they are saved."""
    Guard(current_policy()).check(host, port)


__all__ = ["FetchError", "FetchRefused", "PolicyRefusal", "check_host", "guarded_connections"]
