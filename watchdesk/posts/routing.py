"""URLs of taxonomy terms, which live under whichever index pages the editors created.

One query per request finds the index pages; every term URL after that is string work, so a listing's
query count does not grow with the number of topics, regions or tags it links to.
"""

from django.contrib.contenttypes.models import ContentType
from taggit.models import Tag
from wagtail.models import Page

from watchdesk.posts.models import (
    ArchiveIndexPage,
    Author,
    AuthorIndexPage,
    RegionIndexPage,
    TagIndexPage,
    TopicIndexPage,
)
from watchdesk.taxonomy.models import Region, Topic

INDEX_TYPES = {
    "topic": TopicIndexPage,
    "region": RegionIndexPage,
    "tag": TagIndexPage,
    "author": AuthorIndexPage,
    "archive": ArchiveIndexPage,
}


def index_urls(request):
    """{"topic": "/topics/", ...} for the index pages that exist and are live."""
    cached = getattr(request, "_watchdesk_index_urls", None)
    if cached is not None:
        return cached
    kinds = {model: kind for kind, model in INDEX_TYPES.items()}
    urls = {}
    pages = Page.objects.live().type(*INDEX_TYPES.values()).order_by("path")
    for page in pages.only("id", "url_path", "content_type_id", "path", "depth", "locale_id"):
        kind = kinds.get(ContentType.objects.get_for_id(page.content_type_id).model_class())
        url = page.get_url(request)
        # On a multi-site install prefer the index of the site being served (a relative URL).
        if kind and url and (kind not in urls or url.startswith("/")):
            urls[kind] = url
    if request is not None:
        request._watchdesk_index_urls = urls
    return urls


def kind_of(term):
    for cls, kind in ((Topic, "topic"), (Region, "region"), (Tag, "tag"), (Author, "author")):
        if isinstance(term, cls):
            return kind
    raise TypeError(f"{term!r} is not a taxonomy term")


def term_url(request, term):
    base = index_urls(request).get(kind_of(term))
    return f"{base}{term.slug}/" if base else None


def month_url(request, date):
    base = index_urls(request).get("archive")
    return f"{base}{date.year}/{date.month:02d}/" if base else None
