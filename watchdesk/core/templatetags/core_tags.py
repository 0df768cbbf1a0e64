import json
from urllib.parse import urljoin

from django import template
from django.conf import settings
from django.utils.safestring import mark_safe

register = template.Library()

# Characters that could end the <script> element or open a comment inside JSON-LD.
_JSON_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.simple_tag
def absolute_url(url):
    """``url`` made absolute against SITE_URL, the one public address of the site."""
    return urljoin(settings.SITE_URL + "/", str(url or "/"))


@register.simple_tag(takes_context=True)
def canonical_url(context):
    request = context["request"]
    url = absolute_url(request.path)
    page_obj = context.get("page_obj")
    if page_obj is not None and getattr(page_obj, "number", 1) > 1:
        url += f"?page={page_obj.number}"
    return url


@register.simple_tag
def json_ld(data):
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(_JSON_ESCAPES)
    return mark_safe(f'<script type="application/ld+json">{payload}</script>')  # noqa: S308
