"""System checks for settings that cannot work together. They run at every start."""

import ipaddress
from email.utils import parseaddr
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django.http.request import validate_host


@register(Tags.security, deploy=False)
def check_configuration(app_configs, **kwargs):
    errors = []
    site = urlsplit(settings.SITE_URL)
    if site.scheme not in {"http", "https"} or not site.hostname:
        errors.append(
            Error(
                f"SITE_URL {settings.SITE_URL!r} is not an http(s) address.",
                hint="Set SITE_URL to the public address, e.g. https://news.example.org.",
                id="watchdesk.E001",
            )
        )
    elif not validate_host(site.hostname, settings.ALLOWED_HOSTS):
        errors.append(
            Error(
                f"SITE_URL's host {site.hostname!r} is not in ALLOWED_HOSTS.",
                hint="Add it to ALLOWED_HOSTS (comma-separated).",
                id="watchdesk.E002",
            )
        )
    for name in ("DEFAULT_FROM_EMAIL", "EMAIL_REPLY_TO"):
        value = getattr(settings, name)
        try:
            if value:
                validate_email(parseaddr(value)[1])
        except ValidationError:
            errors.append(
                Error(
                    f"{name} {value!r} is not an e-mail address.",
                    hint='Write an address, optionally with a name: "Tips desk <tips@example.org>".',
                    id="watchdesk.E006",
                )
            )
    if not settings.DEBUG:
        backend = settings.EMAIL_BACKEND
        if not backend.endswith("smtp.EmailBackend") and "anymail" not in backend:
            errors.append(
                Error(
                    "Production (DEBUG=false) needs a real mail server: EMAIL_URL is not smtp:// or "
                    "smtps://, so confirmations and alerts would never reach anyone.",
                    hint="Set EMAIL_URL=smtp://user:password@host:587?tls=true.",
                    id="watchdesk.E004",
                )
            )
        opened = [net for net in settings.WATCHDESK_FETCH_ALLOWED_NETWORKS if _reaches_this_machine(net)]
        if opened:
            errors.append(
                Warning(
                    f"WATCHDESK_FETCH_ALLOWED_NETWORKS opens {', '.join(opened)} in production: anyone who "
                    "can add a source can make the server fetch from itself or the cloud metadata service.",
                    hint="Open only the intranet ranges your feeds live in.",
                    id="watchdesk.W002",
                )
            )
        if site.hostname:
            errors.extend(_check_from_address(site.hostname.lower()))
        if site.scheme == "http" and site.hostname not in {"localhost", "127.0.0.1"}:
            errors.append(
                Warning(
                    "SITE_URL is plain http in production: cookies are not marked secure and no "
                    "HSTS header is sent.",
                    id="watchdesk.W001",
                )
            )
        if settings.WEBSUB_SUBSCRIBE and site.hostname and not _publicly_reachable(site.hostname):
            errors.append(
                Warning(
                    f"WEBSUB_SUBSCRIBE is on but SITE_URL's host {site.hostname!r} is not reachable from "
                    "the internet: hubs could never confirm our subscriptions or push to "
                    "SITE_URL/websub/..., so sources that announce a hub would wait for the next poll.",
                    hint="Set SITE_URL to the public address, or WEBSUB_SUBSCRIBE=false to poll only.",
                    id="watchdesk.W004",
                )
            )
    return errors


@register(Tags.security, deploy=True)
def check_production_secrets(app_configs, **kwargs):
    """Django only warns (security.W009, and nothing for a bare "*"); in production these are errors."""
    if settings.DEBUG:
        return []
    errors = []
    if "*" in settings.ALLOWED_HOSTS:
        errors.append(
            Error(
                'ALLOWED_HOSTS contains "*": any Host header is accepted, so links in e-mails, password '
                "resets and cache keys can be made to point at an attacker's domain.",
                hint="List the site's own host names (comma-separated), e.g. ALLOWED_HOSTS=news.example.org.",
                id="watchdesk.E007",
            )
        )
    key = settings.SECRET_KEY
    if len(key) < 50 or len(set(key)) < 5 or key.startswith("django-insecure-"):
        errors.append(
            Error(
                "SECRET_KEY is too short or too simple for production (at least 50 characters, 5 of them "
                "different): it signs sessions, unsubscribe links and webhook secrets.",
                hint="Generate one: python -c 'import secrets; print(secrets.token_urlsafe(50))'.",
                id="watchdesk.E008",
            )
        )
    return errors


def _publicly_reachable(host):
    """False for names and addresses only this machine or its private network can reach."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal", ".lan")):
        return False
    if not _is_ip(host):
        return True
    return ipaddress.ip_address(host).is_global


def _is_ip(host):
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _check_from_address(site_host):
    """Mail from a domain other than the site's (or a parent of it), or from an IP address, fails SPF/DMARC
    alignment and lands in spam, if it is accepted at all."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2].lower()
    related = domain == site_host or site_host.endswith("." + domain) or domain.endswith("." + site_host)
    if domain and not _is_ip(domain) and related:
        return []
    return [
        Warning(
            f"DEFAULT_FROM_EMAIL {settings.DEFAULT_FROM_EMAIL!r} is not at SITE_URL's domain ({site_host}): "
            "receiving servers check the sender's domain, so readers' mail may be refused or filed as spam.",
            hint=f"Set DEFAULT_FROM_EMAIL to an address at {site_host} (or leave it unset: "
            "noreply@<SITE_URL's domain>), and publish SPF and DKIM records for that domain.",
            id="watchdesk.W003",
        )
    ]


def _reaches_this_machine(network):
    """True for a range holding loopback, unspecified or link-local (metadata) addresses."""
    net = ipaddress.ip_network(network, strict=False)
    probes = ["127.0.0.1", "0.0.0.0", "169.254.169.254"]  # noqa: S104  addresses to test, not to bind if net.version == 4 else ["::1", "::", "fe80::1"]
    return any(ipaddress.ip_address(probe) in net for probe in probes)


@register(Tags.database)
def check_migration_history(app_configs, databases=None, **kwargs):
    """A database made before the migrations were squashed records migrations that no longer exist;
    migrating it would leave tables behind the models, so say so instead. Runs with ``migrate``."""
    ours = {config.label for config in apps.get_app_configs() if config.name.startswith("watchdesk.")}
    errors = []
    for alias in databases or []:
        loader = MigrationLoader(connections[alias], ignore_no_migrations=True)
        unknown = sorted(
            f"{app}.{name}"
            for app, name in loader.applied_migrations
            if app in ours and (app, name) not in loader.disk_migrations
        )
        if unknown:
            errors.append(
                Error(
                    f"The {alias!r} database was made by an older Watchdesk: it records migrations this "
                    f"version does not have ({', '.join(unknown)}).",
                    hint="The migrations were squashed before the first release. Delete var/ (or drop "
                    "the PostgreSQL database) and start again; `make run` rebuilds it with the demo.",
                    id="watchdesk.E005",
                )
            )
    return errors
