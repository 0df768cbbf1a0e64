"""Mail to readers comes from the site's name at the site's domain, with a Reply-To when one is set, as a
mail client shows them (read back from a real SMTP server)."""

from email.headerregistry import Address

import pytest
from django.core import checks
from wagtail.models import Site

from watchdesk.core.checks import check_configuration
from watchdesk.core.models import SiteIdentity
from watchdesk.core.tests.test_settings import PRODUCTION, watchdesk
from watchdesk.delivery import broadcasts, sender
from watchdesk.delivery.models import Broadcast
from watchdesk.settings import _mail_domain
from watchdesk.subscriptions.models import Reply, request_replies

pytestmark = pytest.mark.django_db


def name_the_site(name):
    identity = SiteIdentity.for_site(Site.objects.get(is_default_site=True))
    identity.name = name
    identity.save()


def sender_of(message):
    [address] = message["From"].addresses
    return address.display_name, address.addr_spec


def test_reader_mail_is_from_the_site_with_a_reply_to(home, subscriber, make_post, mail_server, settings):
    name_the_site("Homeland Security Network Blog")
    settings.DEFAULT_FROM_EMAIL = "noreply@news.example.org"
    settings.EMAIL_REPLY_TO = "tips@news.example.org"
    reader = subscriber("reader@example.net")
    pending = subscriber("new@example.net", status="pending")
    request_replies([reader], Reply.LINK)
    request_replies([pending], Reply.CONFIRM)
    post = make_post("Brush fire")
    broadcasts.fan_out_broadcast(Broadcast.objects.get(post=post))

    assert sender.send_pending() == {"sent": 3}

    link, post_mail = mail_server.to("reader@example.net")
    [confirm] = mail_server.to("new@example.net")
    for message in (link, post_mail, confirm):
        assert sender_of(message) == ("Homeland Security Network Blog", "noreply@news.example.org")
        assert message["Reply-To"] == "tips@news.example.org"
    assert {mail_from for mail_from, _, _ in mail_server.envelopes} == {"noreply@news.example.org"}


def test_no_reply_to_unless_set_and_a_named_setting_or_a_non_ascii_site_name(
    home, subscriber, mail_server, settings
):
    name_the_site("Noticias de Protección Civil")
    reader = subscriber("lector@example.net")
    request_replies([reader], Reply.LINK)
    settings.DEFAULT_FROM_EMAIL = "alerts@news.example.org"
    sender.send_pending()
    [message] = mail_server.to("lector@example.net")
    assert sender_of(message) == ("Noticias de Protección Civil", "alerts@news.example.org")
    assert message["Reply-To"] is None

    # A name in the setting itself wins over the site's.
    settings.DEFAULT_FROM_EMAIL = "Tips desk <tips@news.example.org>"
    reader.recent_replies = []
    request_replies([reader], Reply.WELCOME_BACK)
    sender.send_pending()
    assert sender_of(mail_server.to("lector@example.net")[1]) == ("Tips desk", "tips@news.example.org")


def test_the_default_address_is_at_site_urls_domain():
    assert _mail_domain("news.example.org") == "news.example.org"
    assert _mail_domain("www.example.org") == "example.org"
    # An address at a bare IP is not an address a mail server accepts or trusts.
    assert _mail_domain("127.0.0.1") == _mail_domain("::1") == _mail_domain("") == "localhost"
    assert str(Address(addr_spec=f"noreply@{_mail_domain('news.example.org')}"))


@pytest.mark.slow
def test_production_defaults_send_from_the_site_domain(tmp_path):
    shown = watchdesk(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.DEFAULT_FROM_EMAIL, s.EMAIL_REPLY_TO or '-')",
        tmp_path=tmp_path,
        **PRODUCTION,
    )
    # The last line: the shell may first say what it imported.
    assert shown.stdout.splitlines()[-1].split() == ["noreply@news.example.org", "-"], shown.stderr


def warnings(settings, **changes):
    settings.DEBUG = False
    settings.SITE_URL = "https://news.example.org"
    settings.ALLOWED_HOSTS = ["news.example.org"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    for name, value in changes.items():
        setattr(settings, name, value)
    return {message.id for message in check_configuration(None) if message.level >= checks.WARNING}


@pytest.mark.parametrize(
    "address",
    [
        "noreply@news.example.org",
        "Homeland Security Network Blog <noreply@news.example.org>",
        "alerts@example.org",  # the parent domain aligns under DMARC's relaxed rule
        "noreply@mail.news.example.org",
    ],
)
def test_a_from_address_at_the_site_domain_passes(settings, address):
    assert warnings(settings, DEFAULT_FROM_EMAIL=address) == set()


@pytest.mark.parametrize(
    "address",
    ["noreply@127.0.0.1", "noreply@[127.0.0.1]", "Watchdesk <noreply@localhost>", "x@other.example"],
)
def test_production_warns_about_a_from_address_elsewhere(settings, address):
    assert "watchdesk.W003" in warnings(settings, DEFAULT_FROM_EMAIL=address)


def test_development_does_not_warn_about_the_from_address(settings):
    settings.DEBUG = True
    settings.DEFAULT_FROM_EMAIL = "noreply@localhost"
    assert "watchdesk.W003" not in {message.id for message in check_configuration(None)}


@pytest.mark.parametrize("name", ["DEFAULT_FROM_EMAIL", "EMAIL_REPLY_TO"])
def test_a_malformed_address_setting_is_an_error(settings, name):
    assert "watchdesk.E006" in warnings(settings, **{name: "tips at example dot org"})
