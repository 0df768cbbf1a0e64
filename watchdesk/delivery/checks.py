"""System checks of the e-mail provider configuration (EMAIL_URL=anymail://...)."""

from anymail.utils import get_anymail_setting
from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

# Backends that send nothing anywhere, so no provider reports back.
LOCAL_BACKENDS = {"anymail.backends.test.EmailBackend", "anymail.backends.console.EmailBackend"}


def check_provider(app_configs, **kwargs):
    backend = settings.EMAIL_BACKEND
    if not backend.startswith("anymail."):
        return []
    try:
        import_string(backend)
    except ImportError as exc:
        # e.g. Amazon SES without boto3: "pip install django-anymail[amazon-ses]".
        return [
            checks.Error(
                f"EMAIL_URL selects {backend}, which cannot be loaded: {exc}",
                id="delivery.E001",
            )
        ]
    if backend in LOCAL_BACKENDS or get_anymail_setting("webhook_secret", default=None):
        return []
    return [
        checks.Warning(
            "EMAIL_URL selects a provider but ANYMAIL_WEBHOOK_SECRET is not set: its bounce and complaint "
            "webhooks refuse every request, so bounced and complaining addresses are never suppressed.",
            hint="Set ANYMAIL_WEBHOOK_SECRET=user:password (or ANYMAIL_WEBHOOK_SECRET_FILE) and give the "
            "provider https://user:password@<site>/webhooks/mail/<provider>/tracking/.",
            id="delivery.W001",
        )
    ]


def register():
    checks.register(check_provider)
