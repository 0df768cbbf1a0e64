"""The providers' webhooks under /webhooks/mail/: django-anymail's views, answering only for providers
this site uses. Any other provider's URL is a quiet 404, not anymail's 500 and error log for a provider
it has no settings for (``webhooks.configured_providers``)."""

import re
from functools import wraps

from anymail import urls as anymail_urls
from django.http import Http404
from django.urls import URLPattern

from watchdesk.delivery.webhooks import configured_providers

app_name = anymail_urls.app_name  # reverse("anymail:mailgun_tracking_webhook") keeps working


def provider_of(pattern):
    """ "mailgun" for anymail's "mailgun/tracking/" or "^mailgun/inbound(_mime)?/$"."""
    return re.match(r"\^?([a-z_]+)/", str(pattern.pattern)).group(1)


def only_when_configured(provider, view):
    # wraps() copies the view's attributes, csrf_exempt among them: providers send no CSRF token.
    @wraps(view)
    def guarded(request, *args, **kwargs):
        if provider not in configured_providers():
            raise Http404("No such webhook.")
        return view(request, *args, **kwargs)

    return guarded


urlpatterns = [
    URLPattern(
        pattern.pattern,
        only_when_configured(provider_of(pattern), pattern.callback),
        pattern.default_args,
        pattern.name,
    )
    for pattern in anymail_urls.urlpatterns
]
