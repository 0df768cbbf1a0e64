"""Fixtures for the core tests."""

import pytest

from watchdesk.testing.webserver import WebServer


@pytest.fixture(scope="module")
def server():
    """A local web server shared by a module's tests."""
    with WebServer() as server:
        yield server
