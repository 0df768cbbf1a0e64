"""Articles added by URL: fetch one page and make an item of its story.

trafilatura finds the main text (leaving out navigation, footers, ads and reader comments) and the page's
metadata: title, author, date and site name (from JSON-LD, Open Graph and meta tags). The item's GUID is
the page's canonical URL, so adding the same article again updates the item instead of copying it.
"""

import re
from datetime import UTC, datetime
from html import escape
from urllib.parse import urlsplit

import trafilatura
from trafilatura.settings import set_date_params

from watchdesk.core.fetcher import fetch
from watchdesk.core.sanitize import clean_html
from watchdesk.posts.bylines import clean_byline
from watchdesk.wire.canonical import canonical_url
from watchdesk.wire.entries import Entry
from watchdesk.wire.ingest import store_entries
from watchdesk.wire.models import Item

SUMMARY_SENTENCES = 2
SUMMARY_CHARS = 400
HTML_TYPES = ("text/html", "application/xhtml+xml", "")
# Less than this is a login form, a cookie wall or an index page, not a story.
MIN_WORDS = 30
MIN_PARAGRAPH_WORDS = 12
_HTML_LANG = re.compile(rb"<html[^>]*?\blang=[\"']?([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})?)", re.IGNORECASE)
# The end of a sentence: a stop (and any closing quote), then space and a capital or a digit.
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]*(?=\s+[\"'“‘(]?[A-Z0-9])")


class ArticleError(ValueError):
    """The page was fetched but holds no article we can use. ``status`` is the short form for logs."""

    def __init__(self, reason, status="no article"):
        super().__init__(reason)
        self.status = status


def fetch_article(url):
    """Fetch ``url`` through the guarded fetcher, extract its article and store it as an item (origin
    "article", no source). Returns the item. Raises FetchError (or FetchRefused) when the page cannot be
    fetched and ArticleError (a ValueError) when it answers with an error or holds no article text."""
    return store_article(url)[1]


def store_article(url):
    """``fetch_article``, also returning the ``IngestSummary`` (created or updated) for reports."""
    fetched = fetch(url)
    if not fetched.ok:
        raise ArticleError(f"the page answered HTTP {fetched.status}", status=f"http {fetched.status}")
    content_type = fetched.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in HTML_TYPES:
        raise ArticleError(f"not an HTML page ({content_type})", status="not html")
    entry, outlet = extract_article(fetched.content, url=fetched.url or url)
    summary, items = store_entries([entry], source=None, outlet=outlet, origin="article")
    if items:
        return summary, items[0]
    # Stored before and unchanged: store_entries hands back only what it created or updated.
    item = Item.objects.filter(source__isnull=True, guid=entry.guid).first()
    if item is None:
        raise ArticleError("the article could not be stored", status="skipped")
    return summary, item


def extract_article(html, *, url):
    """The page's story as an ``Entry``, and the outlet's name. Raises ArticleError without one."""
    # htmldate's defaults give the day only; ask for the time too, which meta tags and JSON-LD carry.
    dates = {**set_date_params(), "outputformat": "%Y-%m-%dT%H:%M:%S%z"}
    try:
        document = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,  # reader comments are not the story
            include_tables=False,
            include_images=False,
            include_links=False,
            date_extraction_params=dates,
        )
    except Exception as error:  # trafilatura's parsers raise a variety of things on hostile markup
        raise ArticleError(f"the page could not be read: {error}") from error
    if document is None:
        raise ArticleError("no article text found")
    title = " ".join((document.title or "").split())
    paragraphs = _clean_text(document.text).split("\n")
    if paragraphs and paragraphs[0] == title:
        paragraphs = paragraphs[1:]  # the headline, which trafilatura keeps at the top of the text
    if not _looks_like_a_story(paragraphs):
        raise ArticleError("no article text found")
    text = "\n".join(paragraphs)
    title = title or _lead(text, sentences=1, chars=120)
    link = _canonical(document.url, url)
    entry = Entry(
        guid=link,
        url=link,
        title=title[:500],
        author=clean_byline(document.author or ""),
        summary=clean_html(f"<p>{escape(_lead(text))}</p>"),
        content=clean_html("".join(f"<p>{escape(paragraph)}</p>" for paragraph in paragraphs)),
        text=text,
        published_at=_date(document.date),
        language=(document.language or _page_language(html))[:16],
        sanitised=True,
    )
    outlet = " ".join((document.sitename or "").split())
    if not outlet or outlet == urlsplit(url).netloc:
        outlet = _host(link)  # trafilatura's fallback is host:port; the host alone reads better
    return entry, outlet[:120]


def _canonical(declared, fetched_url):
    """The page's own canonical link when it points to the same site; otherwise the address we fetched
    (a page cannot claim another outlet's URL and overwrite that outlet's item)."""
    fetched = canonical_url(fetched_url) or fetched_url
    declared = canonical_url(declared or "", base=fetched_url)
    if declared and _host(declared) == _host(fetched):
        return declared
    return fetched


def _looks_like_a_story(paragraphs):
    words = [len(paragraph.split()) for paragraph in paragraphs]
    return sum(words) >= MIN_WORDS and max(words, default=0) >= MIN_PARAGRAPH_WORDS


def _page_language(html):
    head = html[:4096] if isinstance(html, bytes) else html[:4096].encode("utf-8", "replace")
    match = _HTML_LANG.search(head)
    return match.group(1).decode("ascii").lower() if match else ""


def _host(url):
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def _clean_text(text):
    lines = (" ".join(line.split()) for line in (text or "").splitlines())
    return "\n".join(line for line in lines if line)


def _lead(text, *, sentences=SUMMARY_SENTENCES, chars=SUMMARY_CHARS):
    """The first sentences of the text, cut at a word boundary if they run long."""
    flat = " ".join(text.split())
    ends = [match.end() for match in _SENTENCE_END.finditer(flat)]
    lead = flat[: ends[sentences - 1]] if len(ends) >= sentences else flat
    if len(lead) <= chars:
        return lead
    return lead[:chars].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _date(value):
    """trafilatura gives the publication day as YYYY-MM-DD (or with a time); None when it found none."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
