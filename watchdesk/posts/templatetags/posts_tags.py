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
    text = str(text)
    words = [re.escape(word) for word in terms or [] if word]
    if not words:
        return escape(text)
    # Match in the raw text and escape each piece: matching in escaped text could mark up the inside
    # of an entity ("x27" in "&#x27;") and show it to readers as code.
    pieces = re.compile(r"(?<!\w)(" + "|".join(words) + r")", re.IGNORECASE).split(text)
    # split() with one group alternates: text between matches at even indexes, matches at odd ones.
    html = "".join(
        f"<mark>{escape(piece)}</mark>" if n % 2 else escape(piece) for n, piece in enumerate(pieces)
    )
    return mark_safe(html)  # noqa: S308  every piece is escaped
