"""Strict readers for configuration held in environment variables.

Every setting Watchdesk reads from the environment goes through one of these helpers, so a typo such as
``DEBUG=flase`` stops the process with a message naming the variable instead of being read as "false-ish".
A secret may also be given as ``NAME_FILE`` pointing at a file (Docker and systemd credentials).
"""

import os
import pkgutil
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"true", "1", "yes", "on"}
FALSE_WORDS = {"false", "0", "no", "off"}


def _raw(name, environ):
    environ = os.environ if environ is None else environ
    value = environ.get(name)
    return None if value is None or value.strip() == "" else value.strip()


def env_str(name, default=None, *, environ=None):
    value = _raw(name, environ)
    return default if value is None else value


def env_bool(name, default, *, environ=None):
    value = _raw(name, environ)
    if value is None:
        return default
    if value.lower() in TRUE_WORDS:
        return True
    if value.lower() in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_int(name, default, *, minimum=None, environ=None):
    value = _raw(name, environ)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}.")
    return number


def env_list(name, default=(), *, environ=None):
    value = _raw(name, environ)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_networks(name, *, environ=None):
    """A comma-separated list of CIDR ranges, e.g. ``10.0.0.0/8,fd00::/8``; a bad entry is named."""
    import ipaddress

    networks = []
    for item in env_list(name, environ=environ):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {item!r} is not a network such as 10.0.0.0/8.") from None
    return networks


def env_ports(name, *, environ=None):
    """A comma-separated list of TCP ports."""
    ports = []
    for item in env_list(name, environ=environ):
        if not item.isdigit() or not 0 < int(item) < 65536:
            raise ImproperlyConfigured(f"{name}: {item!r} is not a port number (1 to 65535).")
        ports.append(int(item))
    return ports


def env_secret(name, default=None, *, environ=None):
    """Read NAME, or the contents of the file named by NAME_FILE; never both."""
    value = _raw(name, environ)
    path = _raw(f"{name}_FILE", environ)
    if value is not None and path is not None:
        raise ImproperlyConfigured(f"Set {name} or {name}_FILE, not both.")
    if path is not None:
        try:
            with open(path, encoding="utf-8") as handle:
                value = handle.read().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {path}: {exc.strerror}.") from None
        if not value:
            raise ImproperlyConfigured(f"{name}_FILE: {path} is empty.")
    return default if value is None else value


def parse_email_url(url, *, outbox_dir):
    """Turn EMAIL_URL into Django e-mail settings.

    smtp://user:password@host:587          STARTTLS when the server offers it is not assumed: add ?tls=true
    smtps://user:password@host:465         implicit TLS
    file:///path/to/outbox                 one .eml file per message (the development default)
    console:                               print messages to standard output
    anymail://mailgun                      a provider's API through django-anymail (amazon_ses, brevo,
                                           mailersend, mailgun, mailjet, postal, postmark, resend, sparkpost,
                                           ...); its credentials come from ANYMAIL_* variables, not the URL

    Anything else (another scheme, no host, a bad port, credentials in an anymail URL, an unknown provider)
    raises ImproperlyConfigured naming the problem.
    """
    parts = urlsplit(url)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    if parts.scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if parts.scheme == "anymail":
        return {"EMAIL_BACKEND": f"anymail.backends.{_anymail_provider(parts)}.EmailBackend"}
    if parts.scheme == "file":
        return {
            "EMAIL_BACKEND": "watchdesk.core.mail.OutboxBackend",
            "EMAIL_FILE_PATH": unquote(parts.path) or str(outbox_dir),
        }
    if parts.scheme not in {"smtp", "smtps"}:
        raise ImproperlyConfigured(
            "EMAIL_URL must start with smtp://, smtps://, anymail://, file:// or console:, "
            f"not {parts.scheme!r}."
        )
    if not parts.hostname:
        raise ImproperlyConfigured("EMAIL_URL names no host.")
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured("EMAIL_URL has an invalid port.") from None
    tls = env_bool("tls", False, environ=query)
    timeout = env_int("timeout", 30, minimum=1, environ=query)
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port or (465 if parts.scheme == "smtps" else 25),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_SSL": parts.scheme == "smtps",
        "EMAIL_USE_TLS": tls and parts.scheme == "smtp",
        "EMAIL_TIMEOUT": timeout,
    }


def _anymail_providers():
    """The providers the installed django-anymail has a backend for: its modules under anymail.backends."""
    import anymail.backends

    return sorted(
        module.name
        for module in pkgutil.iter_modules(anymail.backends.__path__)
        if not module.name.startswith("base")
    )


def _anymail_provider(parts):
    if parts.username or parts.password:
        raise ImproperlyConfigured(
            "EMAIL_URL: put the provider's credentials in ANYMAIL_* variables "
            "(e.g. ANYMAIL_MAILGUN_API_KEY), not in the URL."
        )
    provider = (parts.hostname or unquote(parts.path).strip("/")).lower()
    if not provider:
        raise ImproperlyConfigured("EMAIL_URL anymail:// names no provider, e.g. anymail://mailgun.")
    known = _anymail_providers()
    if provider not in known:
        raise ImproperlyConfigured(
            f"EMAIL_URL: django-anymail has no provider {provider!r}; choose one of {', '.join(known)}."
        )
    return provider
