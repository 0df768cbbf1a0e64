"""Strict readers for configuration held in environment variables.

Every setting Watchdesk reads from the environment goes through one of these helpers, so a typo such as
``DEBUG=flase`` stops the process with a message naming the variable instead of being read as "false-ish".
A secret may also be given as ``NAME_FILE`` pointing at a file (Docker and systemd credentials).
"""

import os
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
    """
    parts = urlsplit(url)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    if parts.scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if parts.scheme == "file":
        return {
            "EMAIL_BACKEND": "watchdesk.core.mail.OutboxBackend",
            "EMAIL_FILE_PATH": unquote(parts.path) or str(outbox_dir),
        }
    if parts.scheme not in {"smtp", "smtps"}:
        raise ImproperlyConfigured(
            f"EMAIL_URL must start with smtp://, smtps://, file:// or console:, not {parts.scheme!r}."
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
