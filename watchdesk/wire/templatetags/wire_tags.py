"""Small helpers for the inbox templates."""

from numbers import Number

from django import template

from watchdesk.posts.bylines import clean_byline

register = template.Library()


@register.filter
def score_parts(parts):
    """A score's parts (whatever the relevance step stored) as (label, value) pairs for display; the
    total is the score itself, shown on its own."""
    if not isinstance(parts, dict):
        return []
    return [(str(name).replace("_", " "), number(value)) for name, value in parts.items() if name != "total"]


@register.filter
def number(value):
    if isinstance(value, bool) or not isinstance(value, Number):
        return value
    return f"{value:.1f}" if isinstance(value, float) else str(value)


@register.filter
def percent(value):
    return f"{round(value * 100)}%"


@register.filter
def byline(author):
    """An item's author as a draft would credit it (items stored before bylines were cleaned)."""
    return clean_byline(author or "")
