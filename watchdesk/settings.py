"""Watchdesk settings, all read from the environment (see docs/configuration.md).

The defaults run a development site on SQLite under ``var/`` with no other service. Production is
``DEBUG=false`` plus ``SECRET_KEY``, ``ALLOWED_HOSTS``, ``SITE_URL`` and ``EMAIL_URL``; the system checks
in ``watchdesk.core.checks`` refuse to start with a combination that cannot work.
"""

import ipaddress
import os
import secrets
import zoneinfo
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from watchdesk.env import (
    env_bool,
    env_int,
    env_list,
    env_networks,
    env_ports,
    env_secret,
    env_str,
    parse_email_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("WATCHDESK_VAR_DIR", str(BASE_DIR / "var"))).resolve()

DEBUG = env_bool("DEBUG", True)


def _development_secret_key():
    # Generated once and kept beside the SQLite database, so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


SECRET_KEY = env_secret("SECRET_KEY")
if SECRET_KEY is None:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) is required when DEBUG=false.")
    SECRET_KEY = _development_secret_key()

SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
SITE_HOST = urlsplit(SITE_URL).hostname or ""
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else [SITE_HOST]
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [SITE_URL])

INSTALLED_APPS = [
    "watchdesk.core",
    "watchdesk.taxonomy",
    "watchdesk.posts",
    "watchdesk.subscriptions",
    "watchdesk.delivery",
    "watchdesk.wire",
    "watchdesk.demo",
    "wagtail.contrib.settings",
    "wagtail.contrib.routable_page",
    "wagtail.contrib.redirects",
    "wagtail.contrib.sitemaps",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_tasks",
    "django_tasks_db",
    "anymail",
    "axes",
    "csp",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django.contrib.humanize",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "watchdesk.core.middleware.PreviewFramingMiddleware",
    "watchdesk.core.middleware.PermissionsPolicyMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "watchdesk.urls"
WSGI_APPLICATION = "watchdesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wagtail.contrib.settings.context_processors.settings",
            ],
        },
    },
]

# Database ------------------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'watchdesk.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Keep the connection between requests rather than reopen it and rerun the pragmas for each one.
    DATABASES["default"]["CONN_MAX_AGE"] = None
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"]["OPTIONS"] = {
        # So the web server and the worker can both write; each pragma's reason: docs/configuration.md,
        # "Data and services".
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-32768;",
        "transaction_mode": "IMMEDIATE",
        "timeout": env_int("SQLITE_BUSY_TIMEOUT", 20, minimum=1),
    }
    if DATABASES["default"]["NAME"] != ":memory:":
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache ---------------------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "watchdesk",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Background tasks ----------------------------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# Authentication and brute-force protection ---------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_IPWARE_PROXY_COUNT = env_int("PROXY_COUNT", 0, minimum=0)
AXES_CLIENT_IP_CALLABLE = "watchdesk.core.clientip.client_ip"
AXES_LOCKOUT_TEMPLATE = "core/lockout.html"
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_VERBOSE = False
LOGIN_URL = "wagtailadmin_login"

# Internationalisation ------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(
        f"TIME_ZONE {TIME_ZONE!r} is not a known time zone; use a name such as America/Chicago."
    ) from None
USE_I18N = True
USE_TZ = True

# Static and media files ----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# E-mail --------------------------------------------------------------------------------------------
EMAIL_URL = env_str("EMAIL_URL", f"file://{VAR_DIR / 'outbox'}")
globals().update(parse_email_url(EMAIL_URL, outbox_dir=VAR_DIR / "outbox"))


def _mail_domain(host):
    """SITE_URL's domain for addresses: without "www.", and "localhost" for an IP address (an address
    at a bare IP is not valid, and no receiving server would trust it)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host.removeprefix("www.") or "localhost"
    return "localhost"


# The From address (a display name in it wins; otherwise mail to readers carries the site's name) and an
# optional Reply-To for mail to subscribers, e.g. the newsroom's tips address.
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"noreply@{_mail_domain(SITE_HOST)}")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_REPLY_TO = env_str("EMAIL_REPLY_TO", "")
# The bulk sender (watchdesk.delivery): batch size and lease per claim, a cap on messages per second per
# worker (0: none), and retries of transient failures with exponential backoff before a row is failed.
EMAIL_BATCH_SIZE = env_int("EMAIL_BATCH_SIZE", 200, minimum=1)
EMAIL_LEASE_SECONDS = env_int("EMAIL_LEASE_SECONDS", 300, minimum=5)
EMAIL_RATE_LIMIT = env_int("EMAIL_RATE_LIMIT", 0, minimum=0)
EMAIL_MAX_ATTEMPTS = env_int("EMAIL_MAX_ATTEMPTS", 8, minimum=1)
EMAIL_RETRY_SECONDS = env_int("EMAIL_RETRY_SECONDS", 60, minimum=1)
# Alert channels (docs/agencies.md): tries before a message is parked as failed, the first retry delay
# (doubling each time, at most six hours), how long a worker holds claimed messages, a request's timeout,
# and the hour of daily channel digests in TIME_ZONE.
CHANNEL_MAX_ATTEMPTS = env_int("CHANNEL_MAX_ATTEMPTS", 8, minimum=1)
CHANNEL_RETRY_SECONDS = env_int("CHANNEL_RETRY_SECONDS", 30, minimum=1)
CHANNEL_LEASE_SECONDS = env_int("CHANNEL_LEASE_SECONDS", 120, minimum=5)
CHANNEL_TIMEOUT = env_int("CHANNEL_TIMEOUT", 10, minimum=1)
# Messages of one claimed batch sent at once, each waiting on its own service (docs/agencies.md).
CHANNEL_CONCURRENCY = env_int("CHANNEL_CONCURRENCY", 10, minimum=1)
CHANNEL_DIGEST_HOUR = env_int("CHANNEL_DIGEST_HOUR", 7, minimum=0)
if CHANNEL_DIGEST_HOUR > 23:
    raise ImproperlyConfigured(f"CHANNEL_DIGEST_HOUR must be from 0 to 23, not {CHANNEL_DIGEST_HOUR}.")
# Soft bounces reported by a provider suppress an address after this many within this many days.
SOFT_BOUNCE_LIMIT = env_int("SOFT_BOUNCE_LIMIT", 3, minimum=1)
SOFT_BOUNCE_DAYS = env_int("SOFT_BOUNCE_DAYS", 7, minimum=1)
# DKIM: a PEM private key (or *_FILE), its selector and the signing domain (default: SITE_URL's host).
DKIM_PRIVATE_KEY = env_secret("DKIM_PRIVATE_KEY")
DKIM_SELECTOR = env_str("DKIM_SELECTOR", "watchdesk")
DKIM_DOMAIN = env_str("DKIM_DOMAIN", SITE_HOST)
# Public forms: requests per client IP per hour, and confirmation e-mails per address per 24 hours.
SUBSCRIBE_IP_LIMIT = env_int("SUBSCRIBE_IP_LIMIT", 20, minimum=1)
SUBSCRIBE_EMAIL_LIMIT = env_int("SUBSCRIBE_EMAIL_LIMIT", 3, minimum=1)


def _anymail_settings():
    """django-anymail reads Django settings, never the environment: every ANYMAIL_<NAME> variable (or
    ANYMAIL_<NAME>_FILE) becomes ANYMAIL["<NAME>"]: ANYMAIL_MAILGUN_API_KEY, ANYMAIL_POSTMARK_SERVER_TOKEN,
    ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY, and ANYMAIL_WEBHOOK_SECRET ("user:password" for the webhooks under
    /webhooks/mail/, which refuse every request without it). Amazon SES reads boto3's AWS_* variables."""
    flags = {"DEBUG_API_REQUESTS", "IGNORE_RECIPIENT_STATUS", "IGNORE_UNSUPPORTED_FEATURES"}
    options = {}
    for name in sorted({key.removesuffix("_FILE") for key in os.environ if key.startswith("ANYMAIL_")}):
        key = name.removeprefix("ANYMAIL_")
        value = env_bool(name, None) if key in flags else env_secret(name)
        if value is not None:
            options[key] = value
    return options


ANYMAIL = _anymail_settings()

# Security headers ----------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"  # except previews, framed by the admin (core.middleware.PreviewFramingMiddleware)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
HTTPS = SITE_URL.startswith("https://")
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
    SESSION_COOKIE_SECURE = HTTPS
    CSRF_COOKIE_SECURE = HTTPS
    SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 31536000 if HTTPS else 0, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", True)
    # Only makes the site eligible for browsers' preload lists; nothing is submitted anywhere.
    SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# The public site runs no inline script and loads nothing from other origins. The Wagtail admin (and
# its preview, which renders our templates inside the admin) relies on inline scripts, so it is left
# to Wagtail's own defences.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/admin/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Wagtail -------------------------------------------------------------------------------------------
WAGTAIL_SITE_NAME = env_str("WAGTAIL_SITE_NAME", "Watchdesk")
WAGTAILADMIN_BASE_URL = SITE_URL
# PostgreSQL stems with its "english" text search configuration; SQLite with FTS5's Porter tokenizer,
# set by the posts app's migration (docs/search.md).
WAGTAILSEARCH_BACKENDS = {
    "default": {"BACKEND": "wagtail.search.backends.database", "SEARCH_CONFIG": "english"}
}
WAGTAIL_ENABLE_UPDATE_CHECK = False
# No avatars from gravatar.com: the admin must work offline and not tell a third party who the editors are.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAILADMIN_RICH_TEXT_EDITORS = {
    "default": {
        "WIDGET": "wagtail.admin.rich_text.DraftailRichTextArea",
        "OPTIONS": {
            "features": ["h2", "h3", "bold", "italic", "link", "ol", "ul", "blockquote", "hr"],
        },
    }
}
TAGGIT_CASE_INSENSITIVE = True
WAGTAILDOCS_EXTENSIONS = ["csv", "pdf", "txt", "xlsx", "docx"]

# Watchdesk -----------------------------------------------------------------------------------------
POSTS_PER_PAGE = env_int("POSTS_PER_PAGE", 12, minimum=1)
FEED_ITEMS = env_int("FEED_ITEMS", 30, minimum=1)
# A WebSub hub (https://www.w3.org/TR/websub/) our feeds announce and that is pinged on publish.
WEBSUB_HUB_URL = env_str("WEBSUB_HUB_URL", "")
if WEBSUB_HUB_URL and urlsplit(WEBSUB_HUB_URL).scheme not in {"http", "https"}:
    raise ImproperlyConfigured(f"WEBSUB_HUB_URL must be an http:// or https:// URL, not {WEBSUB_HUB_URL!r}.")
ADMIN_PASSWORD = env_secret("WATCHDESK_ADMIN_PASSWORD")
# Monitors that send it as a bearer token see /healthz's queue details; anonymous callers see only the status.
HEALTHZ_TOKEN = env_secret("HEALTHZ_TOKEN", "")

# The wire (watchdesk.wire) and the guarded fetcher (watchdesk.core.fetcher) -----------------------------
# Every outbound request refuses private, loopback, link-local, reserved and metadata addresses and any
# port but 80 and 443; these open chosen CIDR ranges and ports (local testing, intranet sources).
WATCHDESK_FETCH_ALLOWED_NETWORKS = env_networks("WATCHDESK_FETCH_ALLOWED_NETWORKS")
WATCHDESK_FETCH_ALLOWED_PORTS = env_ports("WATCHDESK_FETCH_ALLOWED_PORTS")
FETCH_MAX_BYTES = env_int("FETCH_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)
FETCH_TIMEOUT = env_int("FETCH_TIMEOUT", 30, minimum=1)
FETCH_MAX_REDIRECTS = 5
FETCH_USER_AGENT = env_str(
    "FETCH_USER_AGENT", "Watchdesk/0.1 (news monitoring; +https://github.com/watchdesk/watchdesk)"
)
# Sources polled per worker run, and how long a worker holds a claimed source before another may take it.
WIRE_POLL_BATCH = env_int("WIRE_POLL_BATCH", 20, minimum=1)
WIRE_LEASE_SECONDS = env_int("WIRE_LEASE_SECONDS", 120, minimum=10)
# Entries read from one feed document (a source may set its own); the rest are counted as skipped.
WIRE_MAX_ENTRIES = env_int("WIRE_MAX_ENTRIES", 500, minimum=1)
# Serve the demo outlets' feeds at /demo/feeds/ (always on with DEBUG): for a staging site showing the wire.
DEMO_FEEDS = env_bool("DEMO_FEEDS", False)
# Items and clusters are kept this many days (clusters match copies within 7 days).
WIRE_KEEP_DAYS = env_int("WIRE_KEEP_DAYS", 30, minimum=8)
# Adaptive polling (docs/wire.md, "Polling"): the default bounds of a source's wait between polls, and the
# rare safety-net poll of a source whose hub pushes its updates.
WIRE_POLL_MIN_MINUTES = env_int("WIRE_POLL_MIN_MINUTES", 5, minimum=1)
WIRE_POLL_MAX_MINUTES = env_int("WIRE_POLL_MAX_MINUTES", 60, minimum=1)
if WIRE_POLL_MAX_MINUTES < WIRE_POLL_MIN_MINUTES:
    raise ImproperlyConfigured("WIRE_POLL_MAX_MINUTES must be at least WIRE_POLL_MIN_MINUTES.")
WIRE_PUSH_POLL_MINUTES = env_int("WIRE_PUSH_POLL_MINUTES", 180, minimum=1)
# WebSub subscriber (docs/wire.md, "Push"): subscribe to the hubs sources announce; the hub calls back at
# SITE_URL/websub/<token>/, so SITE_URL must be reachable from the hubs.
WEBSUB_SUBSCRIBE = env_bool("WEBSUB_SUBSCRIBE", True)
WEBSUB_LEASE_SECONDS = env_int("WEBSUB_LEASE_SECONDS", 7 * 24 * 3600, minimum=60)
WEBSUB_PENDING_SECONDS = env_int("WEBSUB_PENDING_SECONDS", 3600, minimum=10)
WEBSUB_MAX_BYTES = env_int("WEBSUB_MAX_BYTES", FETCH_MAX_BYTES, minimum=1024)
WEBSUB_CALLBACK_RATE = env_int("WEBSUB_CALLBACK_RATE", 60, minimum=1)

# name -> (task, seconds between runs); the worker's scheduler tick enqueues each on time.
PERIODIC_JOBS = {
    "poll_sources": ("watchdesk.wire.tasks.poll_sources", env_int("WIRE_POLL_SECONDS", 30, minimum=5)),
    "publish_scheduled": ("watchdesk.core.tasks.publish_scheduled", 60),
    "send_mail": ("watchdesk.delivery.tasks.sweep_and_send", env_int("EMAIL_SWEEP_SECONDS", 30, minimum=1)),
    "digests": ("watchdesk.delivery.tasks.plan_digests", 60),
    "purge_subscriptions": ("watchdesk.subscriptions.tasks.purge", 3600),
    "refresh_wire_scores": ("watchdesk.wire.tasks.refresh_scores", 300),
    "prune_wire": ("watchdesk.wire.tasks.prune", 3600),
    "websub_upkeep": ("watchdesk.wire.tasks.websub_upkeep", env_int("WEBSUB_UPKEEP_SECONDS", 60, minimum=5)),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "axes": {"level": "WARNING"},
    },
}
