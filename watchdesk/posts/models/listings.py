"""Listing pages: the home page's latest posts and one index page per way of browsing.

Each index page is a Wagtail page (editors can retitle it, write an intro and move it) whose sub-URLs
list the posts of one term: ``/topics/wildfire/``, ``/regions/california/``, ``/tags/evacuation/``,
``/authors/dana-ortiz/``, ``/archive/2026/11/``, each with ``feed/``, ``feed/atom/`` and ``feed/json/``.
"""

from collections import Counter
from datetime import datetime

from django.conf import settings
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import models
from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils import timezone
from taggit.models import Tag
from wagtail.admin.panels import FieldPanel
from wagtail.contrib.routable_page.models import RoutablePageMixin, path
from wagtail.models import Page

from watchdesk.core.models import SiteIdentity
from watchdesk.posts.feeds import FEED_LABELS, FEED_MIME_TYPES, PostFeed, feed_paths
from watchdesk.posts.models.story import Author, StoryPost, StoryPostRegion
from watchdesk.taxonomy.models import Region, Topic


def paginate(request, queryset, per_page=None, allow_empty_first_page=True):
    """One page of ``queryset``, or 404 for a page number that is not a number or out of range."""
    paginator = Paginator(
        queryset, per_page or settings.POSTS_PER_PAGE, allow_empty_first_page=allow_empty_first_page
    )
    try:
        return paginator.page(request.GET.get("page") or 1)
    except (PageNotAnInteger, EmptyPage):
        raise Http404("No such page of results.") from None


def regions_with_posts():
    """Regions that live posts are filed under, with every region above them."""
    paths = StoryPostRegion.objects.filter(page__live=True).values_list("region__path", flat=True).distinct()
    codes = {code for path in paths for code in Region.codes_in(path)}
    regions = Region.objects.filter(code__in=codes).select_related("parent")
    return sorted(regions, key=lambda region: region.label)


class ListingMixin:
    """Rendering shared by every page that lists posts."""

    listing_template = "posts/listing_page.html"

    def site_identity(self, request):
        return SiteIdentity.for_request(request)

    def render_listing(
        self,
        request,
        posts,
        *,
        heading,
        subpath="",
        description="",
        template=None,
        allow_empty=True,
        extra=None,
    ):
        page_obj = paginate(request, posts, allow_empty_first_page=allow_empty)
        base = self.url + subpath
        context = self.get_context(request)
        context.update(
            {
                "heading": heading,
                "listing_description": description,
                "page_obj": page_obj,
                "posts": page_obj.object_list,
                "listing_url": base,
                "feeds": [
                    {"url": url, "type": FEED_MIME_TYPES[kind], "label": FEED_LABELS[kind]}
                    for kind, url in feed_paths(base)
                ],
                # Empty pages of real terms stay reachable but are kept out of search engines.
                "noindex": not page_obj.object_list,
                **(extra or {}),
            }
        )
        return TemplateResponse(request, template or self.listing_template, context)

    def serve_feed(self, request, posts, format, *, heading=None, subpath="", description=""):
        identity = self.site_identity(request)
        title = f"{heading} - {identity.name}" if heading else identity.name
        feed = PostFeed(
            posts=posts,
            title=title,
            link=self.url + subpath,
            description=description or identity.tagline,
            format=format,
        )
        return feed(request)


class HomePage(ListingMixin, RoutablePageMixin, Page):
    """The site root: the latest posts, paginated, and the site-wide feeds."""

    intro = models.TextField(blank=True, help_text="A line under the header on the first page.")

    content_panels = Page.content_panels + [FieldPanel("intro")]
    subpage_types = [
        "posts.StoryPost",
        "posts.TopicIndexPage",
        "posts.RegionIndexPage",
        "posts.TagIndexPage",
        "posts.AuthorIndexPage",
        "posts.ArchiveIndexPage",
    ]
    parent_page_types = ["wagtailcore.Page"]
    max_count = 1

    @path("")
    def index(self, request):
        return self.render_listing(
            request,
            StoryPost.objects.for_listing(),
            heading=None,
            description=self.intro,
            template="posts/home_page.html",
        )

    def get_sitemap_urls(self, request=None):
        urls = super().get_sitemap_urls(request)
        latest = StoryPost.objects.published().order_by("-last_published_at").first()
        if latest and latest.last_published_at:
            urls[0]["lastmod"] = latest.last_published_at
        return urls

    @path("feed/")
    @path("feed/<str:format>/")
    def feed(self, request, format="rss"):
        return self.serve_feed(request, StoryPost.objects.for_listing(), format)


class IndexPage(ListingMixin, RoutablePageMixin, Page):
    intro = models.TextField(blank=True, help_text="A line shown above the list.")

    content_panels = Page.content_panels + [FieldPanel("intro")]
    parent_page_types = ["posts.HomePage"]
    subpage_types = []
    max_count = 1
    index_template = "posts/term_index.html"

    class Meta:
        abstract = True

    def sitemap_paths(self):
        """Sub-paths of the terms that have posts; empty terms are left out of the sitemap."""
        return []

    def get_sitemap_urls(self, request=None):
        urls = super().get_sitemap_urls(request)
        base = urls[0]["location"]
        return urls + [{"location": f"{base}{subpath}"} for subpath in self.sitemap_paths()]

    def render_index(self, request, terms, **extra):
        context = self.get_context(request)
        context.update({"terms": terms, **extra})
        return TemplateResponse(request, self.index_template, context)

    def term_listing(self, request, slug, format=None):
        """The posts of one term: a listing page, or one of its feeds when ``format`` is given."""
        term, posts, heading, description = self.resolve_term(slug)
        subpath = f"{slug}/"
        if format is not None:
            return self.serve_feed(
                request, posts, format, heading=heading, subpath=subpath, description=description
            )
        return self.render_listing(
            request,
            posts,
            heading=heading,
            subpath=subpath,
            description=description,
            allow_empty=self.allow_empty_terms,
            extra={"term": term},
        )

    @path("<slug:slug>/")
    def term(self, request, slug):
        return self.term_listing(request, slug)

    @path("<slug:slug>/feed/")
    @path("<slug:slug>/feed/<str:format>/")
    def term_feed(self, request, slug, format="rss"):
        return self.term_listing(request, slug, format)


class TopicIndexPage(IndexPage):
    allow_empty_terms = True
    page_description = "Lists topics, and under /<topic>/ the posts filed under each."

    @path("")
    def index(self, request):
        topics = Topic.objects.annotate(post_count=Count("posts", filter=Q(posts__live=True), distinct=True))
        return self.render_index(request, topics)

    def sitemap_paths(self):
        live = Topic.objects.filter(posts__live=True).distinct()
        return [f"{slug}/" for slug in live.values_list("slug", flat=True)]

    def resolve_term(self, slug):
        topic = get_object_or_404(Topic, slug=slug)
        return topic, StoryPost.objects.for_listing().in_topic(topic), topic.name, topic.description


class RegionIndexPage(IndexPage):
    allow_empty_terms = True
    page_description = "Lists places, and under /<place>/ the posts about it and the places in it."

    @path("")
    def index(self, request):
        # Count each post once for its region and for every region above it.
        links = (
            StoryPost.objects.published()
            .values_list("pk", "region_links__region__path")
            .exclude(region_links__region__path=None)
        )
        posts_by_code = {}
        for pk, region_path in links:
            for code in Region.codes_in(region_path):
                posts_by_code.setdefault(code, set()).add(pk)
        counts = Counter({code: len(pks) for code, pks in posts_by_code.items()})
        regions = list(Region.objects.filter(code__in=counts).select_related("parent"))
        for region in regions:
            region.post_count = counts[region.code]
        regions.sort(key=lambda region: (region.path.count("/"), region.name))
        top = [r for r in regions if r.parent_id is None]
        children = {}
        for region in regions:
            if region.parent_id:
                children.setdefault(region.parent_id, []).append(region)
        for region in regions:
            region.listed_children = children.get(region.pk, [])
        return self.render_index(request, top)

    def sitemap_paths(self):
        return [f"{region.slug}/" for region in regions_with_posts()]

    def resolve_term(self, slug):
        region = get_object_or_404(Region.objects.select_related("parent"), slug=slug)
        return region, StoryPost.objects.for_listing().in_region(region), region.label, ""


class TagIndexPage(IndexPage):
    allow_empty_terms = False
    page_description = "Lists tags, and under /<tag>/ the posts carrying each."

    @path("")
    def index(self, request):
        tags = (
            Tag.objects.filter(posts_storyposttag_items__content_object__live=True)
            .annotate(post_count=Count("posts_storyposttag_items", distinct=True))
            .order_by("name")
        )
        return self.render_index(request, tags)

    def sitemap_paths(self):
        tags = Tag.objects.filter(posts_storyposttag_items__content_object__live=True).distinct()
        return [f"{slug}/" for slug in tags.values_list("slug", flat=True)]

    def resolve_term(self, slug):
        tag = get_object_or_404(Tag, slug=slug)
        return tag, StoryPost.objects.for_listing().tagged(tag), f"Tagged “{tag.name}”", ""


class AuthorIndexPage(IndexPage):
    allow_empty_terms = False
    page_description = "Lists the authors of original stories, and under /<author>/ their posts."

    @path("")
    def index(self, request):
        authors = (
            Author.objects.annotate(post_count=Count("post_links", filter=Q(post_links__page__live=True)))
            .filter(post_count__gt=0)
            .order_by("name")
        )
        page_obj = paginate(request, authors, per_page=100)
        return self.render_index(request, page_obj.object_list, page_obj=page_obj)

    def sitemap_paths(self):
        authors = Author.objects.filter(post_links__page__live=True).distinct()
        return [f"{slug}/" for slug in authors.values_list("slug", flat=True)]

    def resolve_term(self, slug):
        author = get_object_or_404(Author, slug=slug)
        return author, StoryPost.objects.for_listing().by_author(author), f"By {author.name}", ""


class ArchiveIndexPage(IndexPage):
    allow_empty_terms = False
    index_template = "posts/archive_index.html"
    page_description = "Lists months, and under /<year>/<month>/ the posts published in each."

    @path("")
    def index(self, request):
        months = (
            StoryPost.objects.published()
            .annotate(month=TruncMonth("first_published_at"))
            .values("month")
            .annotate(post_count=Count("pk"))
            .order_by("-month")
        )
        return self.render_index(request, list(months))

    def sitemap_paths(self):
        months = StoryPost.objects.published().dates("first_published_at", "month")
        return [f"{month.year}/{month.month:02d}/" for month in months]

    def month_bounds(self, year, month):
        if not (1 <= month <= 12 and 1900 <= year < 9999):
            raise Http404("No such month.")
        following = (year + 1, 1) if month == 12 else (year, month + 1)
        return (
            timezone.make_aware(datetime(year, month, 1)),
            timezone.make_aware(datetime(*following, 1)),
        )

    def resolve_term(self, slug):
        raise Http404("No such month.")

    def month_posts(self, year, month):
        start, end = self.month_bounds(year, month)
        return StoryPost.objects.for_listing().in_month(start, end), start.strftime("%B %Y")

    @path("<int:year>/<int:month>/")
    def month(self, request, year, month):
        posts, heading = self.month_posts(year, month)
        return self.render_listing(
            request, posts, heading=heading, subpath=f"{year}/{month:02d}/", allow_empty=False
        )

    @path("<int:year>/<int:month>/feed/")
    @path("<int:year>/<int:month>/feed/<str:format>/")
    def month_feed(self, request, year, month, format="rss"):
        posts, heading = self.month_posts(year, month)
        return self.serve_feed(request, posts, format, heading=heading, subpath=f"{year}/{month:02d}/")
