"""`watchdesk run` opens the guarded fetcher to its own demo feeds, and only as far as that needs."""

from watchdesk.cli import demo_environment


def test_the_default_address_opens_loopback_and_its_port():
    assert demo_environment("127.0.0.1:8000", {}) == {
        "SITE_URL": "http://127.0.0.1:8000",
        "WATCHDESK_FETCH_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128",
        "WATCHDESK_FETCH_ALLOWED_PORTS": "8000",
    }


def test_another_port_or_a_bare_port_or_all_interfaces_point_the_site_url_at_loopback():
    assert demo_environment("0.0.0.0:9001", {})["SITE_URL"] == "http://127.0.0.1:9001"
    assert demo_environment("9002", {})["WATCHDESK_FETCH_ALLOWED_PORTS"] == "9002"
    assert demo_environment("localhost:9003", {})["SITE_URL"] == "http://127.0.0.1:9003"


def test_an_ipv6_or_lan_address_is_opened_as_that_one_address():
    ipv6 = demo_environment("[::1]:8000", {})
    assert ipv6["SITE_URL"] == "http://[::1]:8000"
    lan = demo_environment("192.168.1.20:8000", {})
    assert lan["WATCHDESK_FETCH_ALLOWED_NETWORKS"] == "127.0.0.0/8,::1/128,192.168.1.20/32"


def test_what_the_environment_already_says_is_left_alone():
    environ = {"SITE_URL": "https://desk.example.org", "WATCHDESK_FETCH_ALLOWED_NETWORKS": "10.0.0.0/8"}
    assert demo_environment("127.0.0.1:8000", environ) == {"WATCHDESK_FETCH_ALLOWED_PORTS": "8000"}
    # An empty variable counts as unset, as the settings read it.
    assert "SITE_URL" in demo_environment("127.0.0.1:8000", {"SITE_URL": " "})
