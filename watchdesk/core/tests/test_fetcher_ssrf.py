"""The guarded fetcher refuses what it must, before any connection, and connects only where it checked.

Every refusal test asserts that NO connection was made: ``Connections`` records each TCP connection the
fetcher opens (and sends it to a local server), so a refused 10.0.0.5 that was dialled anyway would show.
Each refusal has a twin that opens the address with WATCHDESK_FETCH_ALLOWED_NETWORKS and sees the
request arrive, which proves the refusal test could fail.
"""

import ipaddress
import shutil
import ssl
import subprocess

import pytest
from django.core.exceptions import ImproperlyConfigured

from watchdesk.core import fetcher
from watchdesk.core.fetcher import FetchError, FetchRefused, check_url, fetch
from watchdesk.core.tests.fakenet import Connections, FakeDNS
from watchdesk.testing.webserver import Reply, WebServer


@pytest.fixture
def site(server, settings):
    """A local server; loopback and its port are NOT opened unless a test opens them."""
    server.routes = {"/": Reply(body=b"reached"), "/feed.xml": Reply(body=b"<rss/>")}
    server.requests.clear()
    settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = []
    settings.WATCHDESK_FETCH_ALLOWED_PORTS = []
    return server


@pytest.fixture
def dns(monkeypatch):
    return FakeDNS(monkeypatch)


@pytest.fixture
def connections(monkeypatch, site):
    return Connections(monkeypatch, site.host, site.port)


def single(address):
    """The one-address network for opening exactly ``address``."""
    return str(ipaddress.ip_network(address))


REFUSED_ADDRESSES = [
    ("127.0.0.1", "is a loopback address"),
    ("127.255.0.9", "is a loopback address"),
    ("::1", "is a loopback address"),
    ("10.0.0.5", "is a private address"),
    ("172.16.4.4", "is a private address"),
    ("192.168.1.10", "is a private address"),
    ("fd12:3456::1", "is a private address"),
    ("169.254.10.1", "is a link-local address"),
    ("fe80::1", "is a link-local address"),
    ("100.64.0.1", "is a carrier-grade NAT address"),
    ("224.0.0.251", "is a multicast address"),
    ("ff02::1", "is a multicast address"),
    ("0.0.0.0", "is an unspecified address"),  # noqa: S104
    ("0.1.2.3", "is a reserved address"),
    ("::", "is an unspecified address"),
    ("240.0.0.1", "is a reserved address"),
    ("255.255.255.255", "is the broadcast address"),
    ("192.0.2.7", "is a documentation address"),
    ("198.51.100.7", "is a documentation address"),
    ("203.0.113.7", "is a documentation address"),
    ("2001:db8::7", "is a documentation address"),
    ("198.18.0.7", "is a benchmarking address"),
    ("192.0.0.170", "is not a public address"),
    ("169.254.169.254", "is a cloud metadata address"),
    ("fd00:ec2::254", "is a cloud metadata address"),
    ("100.100.100.200", "is a cloud metadata address"),
    # IPv6 forms of IPv4 addresses, judged by the IPv4 address they carry
    ("::ffff:127.0.0.1", "carries 127.0.0.1, which is a loopback address"),
    ("::ffff:169.254.169.254", "carries 169.254.169.254, which is a cloud metadata address"),
    ("::127.0.0.1", "carries 127.0.0.1, which is a loopback address"),
    ("::8.8.8.8", "is a reserved address"),  # IPv4-compatible: deprecated, never global
    ("64:ff9b::a00:5", "carries 10.0.0.5, which is a private address"),
    ("64:ff9b:1::808:808", "is a local-use NAT64 address"),
    ("2002:a9fe:a9fe::1", "carries 169.254.169.254, which is a cloud metadata address"),
    ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", "is a Teredo address"),
    ("2001:0:7f00:1::1", "carries 127.0.0.1, which is a loopback address"),  # Teredo server 127.0.0.1
]


@pytest.mark.parametrize(("address", "why"), REFUSED_ADDRESSES)
def test_a_name_resolving_to_a_refused_address_gets_no_connection(address, why, dns, connections, site):
    dns.add("feeds.example.test", [address])

    with pytest.raises(FetchRefused) as refused:
        fetch("http://feeds.example.test/feed.xml")

    assert str(refused.value) == f"refused: {ipaddress.ip_address(address)} {why}"
    assert connections.attempts == []
    assert site.hits() == []


@pytest.mark.parametrize(("address", "why"), REFUSED_ADDRESSES)
def test_an_opened_network_lets_the_same_address_through(address, why, dns, connections, site, settings):
    dns.add("feeds.example.test", [address])
    settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = [single(address)]

    fetched = fetch("http://feeds.example.test/")

    assert fetched.content == b"reached"
    assert connections.attempts == [(str(ipaddress.ip_address(address)), 80)]


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[2002:7f00:1::]/",
        "https://[fd00:ec2::254]/",
        "http://user:secret@10.0.0.5/",
        "http://public.example@127.0.0.1/",
    ],
)
def test_a_literal_refused_address_in_the_url_gets_no_connection_and_no_lookup(url, dns, connections, site):
    with pytest.raises(FetchRefused, match=r"^refused: \S+ (is|carries) "):
        fetch(url)

    assert connections.attempts == []
    assert dns.asked == []


NUMERIC_TRICKS = ["2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0x7f.1", "017700000001", "127.0.0.1."]


@pytest.mark.parametrize("host", NUMERIC_TRICKS)
def test_numeric_spellings_of_loopback_are_refused(host, connections, site, settings):
    settings.WATCHDESK_FETCH_ALLOWED_PORTS = [site.port]

    with pytest.raises(FetchRefused) as refused:
        fetch(f"http://{host}:{site.port}/")

    assert str(refused.value) == "refused: 127.0.0.1 is a loopback address"
    assert connections.attempts == []
    assert site.hits() == []
    with pytest.raises(FetchRefused, match="loopback"):
        check_url(f"http://{host}:{site.port}/")


@pytest.mark.parametrize("host", NUMERIC_TRICKS)
def test_numeric_spellings_reach_loopback_once_it_is_opened(host, connections, site, settings):
    settings.WATCHDESK_FETCH_ALLOWED_PORTS = [site.port]
    settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]

    assert fetch(f"http://{host}:{site.port}/").content == b"reached"
    assert connections.attempts == [("127.0.0.1", site.port)]


def test_one_refused_address_among_public_ones_refuses_the_host(dns, connections, site):
    dns.add("mixed.example.test", ["93.184.216.34", "10.0.0.5", "2606:2800:220:1::1"])

    with pytest.raises(FetchRefused, match="refused: 10.0.0.5 is a private address"):
        fetch("http://mixed.example.test/")

    assert connections.attempts == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.org/feed.xml", "refused: scheme 'ftp' is not allowed (only http and https)"),
        ("file:///etc/passwd", "refused: scheme 'file' is not allowed (only http and https)"),
        ("gopher://example.org:70/", "refused: scheme 'gopher' is not allowed (only http and https)"),
        ("http://example.org:8080/", "refused: port 8080 is not allowed"),
        ("https://example.org:22/", "refused: port 22 is not allowed"),
        ("http://example.org:443/", None),
    ],
)
def test_only_http_and_https_on_ports_80_and_443(url, reason, dns, connections, site):
    dns.add("example.org", ["93.184.216.34"])

    if reason is None:
        assert fetch(url).content == b"reached"
        assert len(connections.attempts) == 1
    else:
        with pytest.raises(FetchRefused) as refused:
            fetch(url)
        assert str(refused.value) == reason
        assert connections.attempts == []
        assert dns.asked == []


def test_allowed_ports_open_other_ports(dns, connections, settings):
    dns.add("example.org", ["93.184.216.34"])
    settings.WATCHDESK_FETCH_ALLOWED_PORTS = [8080]

    assert fetch("http://example.org:8080/").ok
    assert connections.attempts == [("93.184.216.34", 8080)]


def test_the_connection_goes_to_the_checked_address_not_a_second_dns_answer(dns, connections, site, settings):
    # DNS rebinding: the first answer passes the check, later answers point inside. The fetcher must
    # connect to the address it checked and never ask DNS again for that request.
    settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.WATCHDESK_FETCH_ALLOWED_PORTS = [site.port]
    dns.add("rebind.example.test", ["127.0.0.1"], ["10.0.0.5"])

    fetched = fetch(f"http://rebind.example.test:{site.port}/feed.xml")

    assert fetched.content == b"<rss/>"
    assert connections.attempts == [("127.0.0.1", site.port)]
    assert dns.asked == ["rebind.example.test"]
    # the name, not the address, is what the server and TLS see
    assert site.hits()[0].headers["host"] == f"rebind.example.test:{site.port}"


def test_a_redirect_is_resolved_and_checked_again(dns, connections, site, settings):
    settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.WATCHDESK_FETCH_ALLOWED_PORTS = [site.port]
    site.routes["/moved"] = Reply(302, {"Location": "/feed.xml"})
    dns.add("rebind.example.test", ["127.0.0.1"], ["169.254.169.254"])

    with pytest.raises(FetchRefused, match="refused: 169.254.169.254 is a cloud metadata address"):
        fetch(f"http://rebind.example.test:{site.port}/moved")

    assert connections.attempts == [("127.0.0.1", site.port)]
    assert [hit.path for hit in site.hits()] == ["/moved"]


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://10.0.0.5/feed.xml", "refused: 10.0.0.5 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "refused: 169.254.169.254 is a cloud metadata address"),
        ("http://[::ffff:7f00:2]/", "refused: ::ffff:7f00:2 carries 127.0.0.2, which is a loopback address"),
        ("http://2130706434/", "refused: 127.0.0.2 is a loopback address"),
        ("http://inside.example.test/", "refused: 192.168.0.1 is a private address"),
        ("file:///etc/passwd", "refused: scheme 'file' is not allowed (only http and https)"),
        ("http://example.org:6379/", "refused: port 6379 is not allowed"),
    ],
)
def test_a_redirect_to_a_refused_target_is_refused(location, reason, dns, connections, site, settings):
    settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.WATCHDESK_FETCH_ALLOWED_PORTS = [site.port]
    dns.add("inside.example.test", ["192.168.0.1"])
    site.routes["/moved"] = Reply(301, {"Location": location})

    with pytest.raises(FetchRefused) as refused:
        fetch(site.url("/moved"))

    assert str(refused.value) == reason
    assert connections.attempts == [("127.0.0.1", site.port)]


def test_credentials_do_not_follow_a_redirect_to_another_origin(settings):
    with WebServer({"/": Reply(body=b"elsewhere")}) as other, WebServer() as first:
        first.routes["/"] = Reply(302, {"Location": other.url("/")})
        settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
        settings.WATCHDESK_FETCH_ALLOWED_PORTS = [first.port, other.port]

        fetched = fetch(first.url("/"), headers={"Authorization": "Bearer s3cret", "X-Feed": "kept"})

    assert fetched.content == b"elsewhere"
    assert first.hits()[0].headers["authorization"] == "Bearer s3cret"
    assert "authorization" not in other.hits()[0].headers
    assert other.hits()[0].headers["x-feed"] == "kept"


def test_the_backend_never_connects_to_an_unchecked_host():
    backend = fetcher._PinnedBackend(fetcher._Deadline(5))
    backend.pin("checked.example.test", 80, [ipaddress.ip_address("93.184.216.34")])

    with pytest.raises(FetchRefused, match="was not checked"):
        backend.connect_tcp("other.example.test", 80)
    with pytest.raises(FetchRefused, match="was not checked"):
        backend.connect_tcp("checked.example.test", 8080)


def test_environment_proxies_are_ignored(dns, connections, site, monkeypatch):
    # A proxy would connect for us, to an address we never checked.
    monkeypatch.setenv("HTTP_PROXY", "http://10.9.9.9:3128")
    monkeypatch.setenv("ALL_PROXY", "http://10.9.9.9:3128")
    dns.add("example.org", ["93.184.216.34"])

    assert fetch("http://example.org/").content == b"reached"
    assert connections.attempts == [("93.184.216.34", 80)]


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "intranet", "10.0.0.5/8", ""])
def test_a_malformed_allowed_network_is_a_configuration_error(entry, settings):
    settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8", entry]

    with pytest.raises(
        ImproperlyConfigured, match=rf"WATCHDESK_FETCH_ALLOWED_NETWORKS: '{entry}' is not a CIDR"
    ):
        fetch("https://example.org/")
    with pytest.raises(ImproperlyConfigured):
        check_url("https://example.org/")


# check_url: the same rules, without the network, for validating a form -------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.org/", "refused: scheme 'ftp' is not allowed (only http and https)"),
        ("http://example.org:8443/", "refused: port 8443 is not allowed"),
        ("http://10.0.0.5/", "refused: 10.0.0.5 is a private address"),
        ("http://[::1]:80/", "refused: ::1 is a loopback address"),
        ("http://0x7f000001/", "refused: 127.0.0.1 is a loopback address"),
        ("http://localhost/", "refused: 127.0.0.1 is a loopback address"),
        ("http://feeds.localhost/", "refused: 127.0.0.1 is a loopback address"),
        ("http://[fd00:ec2::254]/", "refused: fd00:ec2::254 is a cloud metadata address"),
        ("example.org/feed.xml", "bad URL: 'example.org/feed.xml' is not an absolute http or https URL"),
        ("", "bad URL: empty"),
        ("http://1.2.3.4.5/", "bad URL: '1.2.3.4.5' is not a valid IPv4 address"),
    ],
)
def test_check_url_refuses_what_could_never_be_fetched(url, reason, dns, connections):
    with pytest.raises(FetchRefused) as refused:
        check_url(url)

    assert str(refused.value) == reason
    assert dns.asked == [] and connections.attempts == []


@pytest.mark.parametrize(
    "url",
    [
        "https://news.example.org/feed.xml",
        "http://example.org:80/rss",
        "http://93.184.216.34/",
        "http://[2606:4700::1111]/",
    ],
)
def test_check_url_passes_public_urls_without_touching_the_network(url, dns, connections):
    dns.add("news.example.org", ["10.0.0.5"])  # a lookup would refuse it: check_url must not look up

    assert check_url(url) is None
    assert dns.asked == [] and connections.attempts == []


def test_check_url_honours_opened_networks_and_ports(settings):
    settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = ["10.1.0.0/16"]
    settings.WATCHDESK_FETCH_ALLOWED_PORTS = [8080]

    check_url("http://10.1.2.3:8080/feed.xml")
    with pytest.raises(FetchRefused, match="10.2.0.1 is a private address"):
        check_url("http://10.2.0.1:8080/feed.xml")


def test_fetch_bad_urls_are_errors_not_refusals():
    for url in ["", "not a url", "http:///feed.xml", "http://[::1/", "http://example.org:eighty/"]:
        with pytest.raises(FetchError) as error:
            fetch(url)
        assert not isinstance(error.value, FetchRefused)
        assert str(error.value).startswith("bad URL")


# TLS: certificates are verified against the host name while the socket goes to the checked address ----


@pytest.fixture
def tls_site(tmp_path, settings, dns):
    if not shutil.which("openssl"):
        pytest.skip("needs the openssl command to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    name = "feeds.example.test"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
    command += ["-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}", "-keyout", key, "-out", cert]
    subprocess.run(command, check=True, capture_output=True)  # noqa: S603
    server = WebServer({"/feed.xml": Reply(body=b"<rss/>")})
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
    server.start()
    settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.WATCHDESK_FETCH_ALLOWED_PORTS = [server.port]
    dns.add("feeds.example.test", ["127.0.0.1"])
    dns.add("other.example.test", ["127.0.0.1"])
    yield server, cert
    server.stop()


def test_tls_is_verified_for_the_host_name(tls_site, monkeypatch):
    server, cert = tls_site
    trusting = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(fetcher, "_ssl_context", lambda: trusting)

    fetched = fetch(f"https://feeds.example.test:{server.port}/feed.xml")

    assert fetched.content == b"<rss/>"
    with pytest.raises(FetchError, match="could not connect to other.example.test: .*(hostname|match)"):
        fetch(f"https://other.example.test:{server.port}/feed.xml")


def test_tls_certificates_are_verified_by_default(tls_site):
    server, _ = tls_site

    with pytest.raises(FetchError, match="CERTIFICATE_VERIFY_FAILED"):
        fetch(f"https://feeds.example.test:{server.port}/feed.xml")
