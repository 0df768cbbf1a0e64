"""The demo outlets' feeds, served by the development site so `watchdesk run` can poll itself."""

from django.conf import settings
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from watchdesk.demo.wire import UnknownOutlet, demo_clock, feed_etag, render_feed


def demo_feeds_enabled():
    """Only in development, or where an operator asked for them (a staging site showing the wire)."""
    return settings.DEBUG or getattr(settings, "DEMO_FEEDS", False)


@require_safe
def demo_feed(request, slug):
    if not demo_feeds_enabled():
        raise Http404("Demo feeds are off.")
    now = timezone.now()
    try:
        content, content_type = render_feed(slug, now)
    except UnknownOutlet as error:
        raise Http404(str(error)) from None
    etag = feed_etag(content)
    last_modified = int(demo_clock(now).timestamp())
    response = HttpResponse(content, content_type=content_type)
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)
    # Pollers revalidate every time; between clock steps they are told "not modified".
    response["Cache-Control"] = "no-cache"
    return get_conditional_response(request, etag=etag, last_modified=last_modified, response=response)
