import re

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from watchdesk.posts import routing

register = template.Library()


@register.simple_tag(takes_context=True)
def term_url(context, term):
    return routing.term_url(context.get("request"), term)


@register.simple_tag(takes_context=True)
def month_url(context, date):
    return routing.month_url(context.get("request"), date)


@register.simple_tag(takes_context=True)
def index_url(context, kind):
    return routing.index_urls(context.get("request")).get(kind)


@register.filter
def cut_title(title, length=50):
    """The first ``length`` characters and "...", as the previous/next links show titles."""
    title = str(title)
    if len(title) <= length:
        return title
    return title[:length].rstrip() + "..."


@register.filter
def highlight(text, terms):
    """Escape ``text`` and wrap each search term in <mark>."""
    escaped = escape(text)
    words = [re.escape(escape(word)) for word in terms or [] if word]
    if not words:
        return mark_safe(escaped)  # noqa: S308  already escaped
    pattern = re.compile(r"(?<![\w&])(" + "|".join(words) + r")", re.IGNORECASE)
    return mark_safe(pattern.sub(r"<mark>\1</mark>", escaped))  # noqa: S308  built from escaped text
