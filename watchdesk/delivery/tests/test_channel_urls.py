"""Channel URLs: secrets are masked wherever a URL or an error is shown, and the network policy refuses
loopback, private and metadata targets when a channel is saved."""

import pytest

from watchdesk.delivery.channels import HIDDEN, mask_url, scrub, split_kind, url_problem
from watchdesk.delivery.models import Channel


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "json://ops:hunter22@alerts.example.org:8443/hooks/Xk9fQ2?method=POST&token=abc123",
            f"json://ops:{HIDDEN}@alerts.example.org:8443/hooks/{HIDDEN}?method=POST&token={HIDDEN}",
        ),
        (
            "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general",
            f"slack://{HIDDEN}/{HIDDEN}/{HIDDEN}/#{HIDDEN}",
        ),
        ("tgram://123456789:ABCdefg/12345", f"tgram://{HIDDEN}:{HIDDEN}/{HIDDEN}"),
        ("ntfys://ntfy.sh/county-fire-7f3a", f"ntfys://ntfy.sh/{HIDDEN}"),
        ("pover://uSeRkEy@aPpToKeN", f"pover://{HIDDEN}@{HIDDEN}"),
        ("https://eoc.example.gov/api/v1/ingest", "https://eoc.example.gov/api/v1/ingest"),
        ("https://[2001:db8::5]:9000/s3cr3tpath", f"https://[2001:db8::5]:9000/{HIDDEN}"),
        ("not a url", HIDDEN),
    ],
)
def test_masking_hides_passwords_tokens_and_webhook_paths(url, masked):
    assert mask_url(url) == masked


def test_an_error_message_is_scrubbed_of_the_urls_secrets():
    url = "json://ops:hunter22@alerts.example.org/hooks/Xk9fQ2secret?token=abc123"
    error = (
        "HTTPConnectionPool(host='alerts.example.org'): Max retries exceeded with url: /hooks/Xk9fQ2secret"
        f"?token=abc123 (auth hunter22); sent to {url}"
    )
    cleaned = scrub(error, url)
    for secret in ("hunter22", "Xk9fQ2secret", "abc123"):
        assert secret not in cleaned
    assert "alerts.example.org" in cleaned


def test_a_watchdesk_prefix_makes_a_signed_webhook():
    assert split_kind("watchdesk+https://eoc.example.gov/in") == (
        Channel.Kind.WEBHOOK,
        "https://eoc.example.gov/in",
    )
    assert split_kind(" slack://a/b/c ") == (Channel.Kind.APPRISE, "slack://a/b/c")


@pytest.mark.parametrize(
    ("kind", "url", "reason"),
    [
        (Channel.Kind.APPRISE, "json://127.0.0.1/hook", "refused: 127.0.0.1 is a loopback address"),
        (Channel.Kind.APPRISE, "form://169.254.169.254/latest/meta-data", "is a cloud metadata address"),
        (Channel.Kind.APPRISE, "jsons://localhost/hook", "is a loopback address"),
        (Channel.Kind.APPRISE, "json://10.1.2.3/hook", "is a private address"),
        (Channel.Kind.APPRISE, "gotify://192.168.1.20/AbCdEfToken123", "is a private address"),
        (Channel.Kind.WEBHOOK, "http://169.254.169.254/latest", "is a cloud metadata address"),
        (Channel.Kind.WEBHOOK, "https://127.0.0.1:8443/in", "refused: port 8443 is not allowed"),
        (Channel.Kind.WEBHOOK, "ftp://eoc.example.gov/in", "scheme 'ftp' is not allowed"),
        (Channel.Kind.APPRISE, "mailto://user:pass@gmail.com", "does not work over HTTP"),
        (Channel.Kind.APPRISE, "nonsense://whatever", "Apprise does not recognise this URL"),
    ],
)
def test_the_network_policy_refuses_a_channel_url_when_it_is_saved(kind, url, reason):
    assert reason in url_problem(kind, url)


def test_allowed_networks_and_ports_open_a_local_receiver(settings):
    assert url_problem(Channel.Kind.APPRISE, "json://127.0.0.1:9000/hook")
    settings.WATCHDESK_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.WATCHDESK_FETCH_ALLOWED_PORTS = [9000]
    assert url_problem(Channel.Kind.APPRISE, "json://127.0.0.1:9000/hook") is None
    assert url_problem(Channel.Kind.WEBHOOK, "http://127.0.0.1:9000/in") is None
    # The metadata address stays refused unless its own range is opened.
    assert "metadata" in url_problem(Channel.Kind.APPRISE, "json://169.254.169.254/hook")


def test_a_refusal_never_repeats_the_secret_it_was_given():
    problem = url_problem(Channel.Kind.WEBHOOK, "https://user:pa55word@127.0.0.1/hooks/T0pS3cret")
    assert "pa55word" not in problem and "T0pS3cret" not in problem
    problem = url_problem(Channel.Kind.WEBHOOK, "https://user:pa55word@[bad/T0pS3cret")
    assert "pa55word" not in problem and "T0pS3cret" not in problem
