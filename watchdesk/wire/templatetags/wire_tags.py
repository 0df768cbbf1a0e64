"""Small helpers for the inbox templates."""

from numbers import Number

from django import template

from watchdesk.posts.bylines import clean_byline

register = template.Library()

NOT_POINTS = {"recency", "total"}


@register.filter
def score_sum(parts):
    """A stored score as the sum the inbox shows, total = (sum of points) × recency (docs/wire.md):
    {"points": [(label, "6"), ...], "sum": "16.5", "recency": "0.841", "total": "13.877"}. Numbers are
    shown as stored (to 3 decimals), so the figures on screen add up; None without parts."""
    if not isinstance(parts, dict) or not parts:
        return None
    points = [(str(name).replace("_", " "), value) for name, value in parts.items() if name not in NOT_POINTS]
    points = [(name, float(value)) for name, value in points if is_number(value)]
    added = round(sum(value for _name, value in points), 3)
    recency = float(parts["recency"]) if is_number(parts.get("recency")) else 1.0
    total = float(parts["total"]) if is_number(parts.get("total")) else round(added * recency, 3)
    return {
        "points": [(name, decimal(value)) for name, value in points],
        "sum": decimal(added),
        "recency": decimal(recency),
        "total": decimal(total),
    }


def is_number(value):
    return isinstance(value, Number) and not isinstance(value, bool)


def decimal(value):
    """At most three decimals, without trailing zeros: 6.0 -> "6", 0.8405 -> "0.841"."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


@register.filter
def percent(value):
    return f"{round(value * 100)}%"


@register.filter
def byline(author):
    """An item's author as a draft would credit it (items stored before bylines were cleaned)."""
    return clean_byline(author or "")
