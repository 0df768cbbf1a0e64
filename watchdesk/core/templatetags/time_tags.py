"""Dates with their time and zone, the same way on every page and in every e-mail."""

from django import template
from django.template.defaultfilters import date
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()

# "Dec 4, 2026, 7:05 AM CST": the hour matters for shelter-in-place news, and the zone says whose hour.
MOMENT = "M j, Y, g:i A T"


@register.filter
def moment(value):
    """A date and time in the current time zone (the site's; the reader's in their e-mails)."""
    return date(timezone.localtime(value), MOMENT) if value else ""


@register.simple_tag
def timestamp(value):
    """``<time>`` with the moment in the site's zone; local-time.js re-reads it in the visitor's zone.
    Rendered in the site's zone, never the visitor's: public pages are cached at the edge."""
    if not value:
        return ""
    value = timezone.localtime(value)
    return format_html('<time datetime="{}" data-local-time>{}</time>', date(value, "c"), moment(value))
