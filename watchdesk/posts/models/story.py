import logging

from django import forms
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q, Subquery
from django.utils.text import slugify
from modelcluster.contrib.taggit import ClusterTaggableManager
from modelcluster.fields import ParentalKey, ParentalManyToManyField
from taggit.models import TaggedItemBase
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    MultiFieldPanel,
    MultipleChooserPanel,
    ObjectList,
    TabbedInterface,
)
from wagtail.admin.widgets.slug import SlugInput
from wagtail.fields import RichTextField
from wagtail.models import Orderable, Page, PageManager, Revision
from wagtail.query import PageQuerySet
from wagtail.search import index
from wagtail.search.tasks import insert_or_update_object_task

from watchdesk.core.models import SiteIdentity
from watchdesk.posts.bylines import format_byline, split_byline
from watchdesk.posts.feeds import absolute
from watchdesk.posts.forms import StoryPostForm
from watchdesk.posts.originality import publishing_problems
from watchdesk.posts.panels import AudiencePanel
from watchdesk.posts.signals import story_published
from watchdesk.posts.updates import attach_updates, modified_at
from watchdesk.taxonomy.models import Region

logger = logging.getLogger(__name__)
SCHEDULED = "wagtail.publish.scheduled"  # the log action of Wagtail's scheduled publishing


class Author(models.Model):
    """The author of an *original* story at another outlet, named in a post's "By" line."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=140, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @classmethod
    def for_names(cls, names):
        """The Author rows for these names, created when missing, in the order given."""
        existing = {author.name: author for author in cls.objects.filter(name__in=names)}
        authors = []
        for name in names:
            author = existing.get(name)
            if author is None:
                base = slugify(name)[:120] or "author"
                slug, n = base, 1
                while cls.objects.filter(slug=slug).exists():
                    n += 1
                    slug = f"{base}-{n}"
                author = existing[name] = cls.objects.create(name=name, slug=slug)
            authors.append(author)
        return authors


class StoryPostQuerySet(PageQuerySet):
    def published(self):
        return self.live().public()

    def latest_first(self):
        return self.order_by("-first_published_at", "-pk")

    def for_listing(self):
        """What a card in a listing or a feed item needs, in a fixed number of queries."""
        return self.published().latest_first().prefetch_related("topics").defer_streamfields()

    def in_topic(self, topic):
        return self.filter(topics=topic)

    def in_region(self, region):
        """Posts tagged with the region or any place inside it."""
        links = StoryPostRegion.objects.filter(region__in=Region.objects.within(region))
        return self.filter(pk__in=Subquery(links.values("page_id")))

    def in_scope(self, topic_ids=(), regions=()):
        """Posts about one of ``topic_ids`` (any topic when empty) and in one of ``regions`` or a place
        inside one (anywhere when empty): the post side of a subscription's scope."""
        posts = self
        topic_ids = list(topic_ids)
        if topic_ids:
            about = StoryPost.topics.through.objects.filter(topic_id__in=topic_ids)
            posts = posts.filter(pk__in=Subquery(about.values("storypost_id")))
        inside = Q()
        for region in regions:
            inside |= Q(region__path__gte=region.path, region__path__lt=region.path[:-1] + "0")
        if inside:
            links = StoryPostRegion.objects.filter(inside)
            posts = posts.filter(pk__in=Subquery(links.values("page_id")))
        return posts

    def tagged(self, tag):
        return self.filter(tagged_items__tag=tag)

    def by_author(self, author):
        return self.filter(author_links__author=author)

    def in_month(self, start, end):
        return self.filter(first_published_at__gte=start, first_published_at__lt=end)


StoryPostManager = PageManager.from_queryset(StoryPostQuerySet)

# The post's own columns in its search index; saves of other columns (draft bookkeeping) skip indexing.
SEARCHED_FIELDS = frozenset({"title", "summary", "body", "source_name", "via_name", "byline"})


class StoryPostTag(TaggedItemBase):
    content_object = ParentalKey("posts.StoryPost", on_delete=models.CASCADE, related_name="tagged_items")


class StoryPostRegion(Orderable):
    page = ParentalKey("posts.StoryPost", on_delete=models.CASCADE, related_name="region_links")
    region = models.ForeignKey("taxonomy.Region", on_delete=models.PROTECT, related_name="+")

    panels = [FieldPanel("region")]

    class Meta(Orderable.Meta):
        constraints = [
            models.UniqueConstraint(fields=["page", "region"], name="unique_post_region"),
        ]


class StoryPostAuthor(models.Model):
    """Derived from the live post's byline so that authors can be listed; not edited directly."""

    page = models.ForeignKey("posts.StoryPost", on_delete=models.CASCADE, related_name="author_links")
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="post_links")
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order"]
        constraints = [
            models.UniqueConstraint(fields=["page", "author"], name="unique_post_author"),
        ]

    def __str__(self):
        return f"{self.author} on {self.page_id}"


class StoryPost(Page):
    """A short curated post about a story first published by another outlet."""

    summary = models.TextField(
        max_length=400,
        help_text="Two sentences at most. Used as the excerpt in listings, feeds and e-mails, and "
        "as the description search engines show.",
    )
    body = RichTextField(help_text="A few paragraphs summarising the story, with direct quotes.")

    source_name = models.CharField("outlet", max_length=120, help_text="e.g. Sierra Valley Courier")
    source_url = models.URLField("original URL", max_length=1000, help_text="The article at the outlet.")
    byline = models.CharField(
        "original author(s)",
        max_length=255,
        blank=True,
        help_text='Who wrote the original story, e.g. "Dana Ortiz and Lee Park". Shown as "By ...".',
    )
    source_published_at = models.DateTimeField("original publication date", null=True, blank=True)
    via_name = models.CharField(
        "via", max_length=120, blank=True, help_text="Where you found the story, if not the outlet."
    )
    via_url = models.URLField("via URL", max_length=1000, blank=True)

    topics = ParentalManyToManyField("taxonomy.Topic", blank=True, related_name="posts")
    tags = ClusterTaggableManager(through=StoryPostTag, blank=True)
    notify_subscribers = models.BooleanField(
        "e-mail subscribers when published",
        default=True,
        help_text="Send this post to the subscribers whose topics or regions it matches.",
    )
    urgent = models.BooleanField(
        "urgent: e-mail readers who want breaking news at once",
        default=False,
        help_text="Digest readers who asked for breaking news at once get it now, and not again in "
        "their digest.",
    )
    outlet_text = models.TextField(
        editable=False,
        blank=True,
        help_text="The outlet's own words, kept when the post is drafted from the wire: the post may not "
        "be published while its summary or body repeats them.",
    )

    objects = StoryPostManager()

    # save() indexes the post once its topics, regions and tags are written; Wagtail's post_save
    # handler runs before modelcluster writes them (docs/search.md).
    search_auto_update = False

    parent_page_types = ["posts.HomePage"]
    subpage_types = []
    page_description = "A curated post about a story from another outlet."

    search_fields = Page.search_fields + [
        index.SearchField("summary", boost=1.5),
        index.SearchField("body"),
        index.SearchField("source_name"),
        index.SearchField("via_name"),
        index.SearchField("byline"),
        index.RelatedFields("topics", [index.SearchField("name"), index.SearchField("slug")]),
        index.RelatedFields("tags", [index.SearchField("name")]),
        index.SearchField("place_names"),
        index.AutocompleteField("source_name"),
        index.FilterField("first_published_at"),
    ]

    content_panels = [
        FieldPanel("title", classname="title"),
        FieldPanel("summary"),
        FieldPanel("body"),
        # Beside the publishing buttons, with the number of people publishing will e-mail.
        MultiFieldPanel(
            [FieldPanel("notify_subscribers"), FieldPanel("urgent"), AudiencePanel()], heading="E-mail"
        ),
    ]
    source_panels = [
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("source_name"), FieldPanel("byline")]),
                FieldPanel("source_url"),
                FieldPanel("source_published_at"),
                FieldRowPanel([FieldPanel("via_name"), FieldPanel("via_url")]),
            ],
            heading="Original story",
        ),
    ]
    taxonomy_panels = [
        FieldPanel("topics", widget=forms.CheckboxSelectMultiple),
        MultipleChooserPanel("region_links", chooser_field_name="region", heading="Regions"),
        FieldPanel("tags"),
    ]
    promote_panels = [
        MultiFieldPanel(
            [
                FieldPanel("slug", widget=SlugInput),
                FieldPanel("seo_title"),
                FieldPanel("search_description"),
            ],
            heading="For search engines",
        ),
    ]
    base_form_class = StoryPostForm
    edit_handler = TabbedInterface(
        [
            ObjectList(content_panels, heading="Content"),
            ObjectList(source_panels, heading="Source"),
            ObjectList(taxonomy_panels, heading="Topics and regions"),
            ObjectList(promote_panels, heading="Promotion"),
            ObjectList(Page.settings_panels, heading="Publishing", classname="settings"),
        ]
    )

    class Meta:
        verbose_name = "story post"

    @property
    def author_names(self):
        return split_byline(self.byline)

    @property
    def formatted_byline(self):
        return format_byline(self.author_names)

    @property
    def meta_description(self):
        return self.search_description or self.summary

    def place_names(self):
        """The post's places and every place around them, for the search index: a post filed under
        Los Angeles is found by "California", as the region filter finds it."""
        paths = self.region_links.values_list("region__path", flat=True)
        codes = {code for path in paths for code in Region.codes_in(path)}
        return " ".join(Region.objects.filter(code__in=codes).order_by("path").values_list("name", flat=True))

    def clean(self):
        super().clean()
        if self.via_url and not self.via_name:
            raise ValidationError({"via_name": "Name the site the story came through."})

    def publishing_problems(self):
        """``{field: message}``: what must change before this version may be published."""
        return publishing_problems(
            title=self.title, summary=self.summary, body=self.body, outlet_text=self.outlet_text
        )

    def publish(self, revision, *args, **kwargs):
        # The editor's form says this on the field; this catches every other way in (bulk actions,
        # scripts), including scheduling, which goes through here when the editor clicks Publish.
        if problems := revision.as_object().publishing_problems():
            if kwargs.get("log_action") == SCHEDULED:
                # Scheduled before this check existed: unschedule it and let the other posts go live.
                Revision.objects.filter(pk=revision.pk).update(approved_go_live_at=None)
                logger.warning("Not publishing post %s: %s", self.pk, "; ".join(problems.values()))
                return None
            raise ValidationError(problems)
        return super().publish(revision, *args, **kwargs)

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        with transaction.atomic():
            super().save(*args, **kwargs)
            # Wagtail saves the live row with a few update_fields while a draft is edited; only a save
            # of the content itself (publishing, creating) may change who the live post credits.
            if update_fields is None or "byline" in update_fields:
                self.sync_authors()
            # Receivers write in this transaction (the outbox pattern): no post goes live without them.
            if self.live and (update_fields is None or "live" in update_fields):
                story_published.send(sender=StoryPost, post=self)
            if update_fields is None or not SEARCHED_FIELDS.isdisjoint(update_fields):
                insert_or_update_object_task.enqueue(
                    self._meta.app_label, self._meta.model_name, str(self.pk)
                )

    def sync_authors(self):
        authors = Author.for_names(self.author_names)
        wanted = [author.pk for author in authors]
        current = list(self.author_links.values_list("author_id", flat=True))
        if current == wanted:
            return
        self.author_links.all().delete()
        StoryPostAuthor.objects.bulk_create(
            StoryPostAuthor(page=self, author_id=pk, sort_order=n) for n, pk in enumerate(wanted)
        )

    def get_neighbours(self):
        """The previous (older) and next (newer) published posts."""
        if self.first_published_at is None:
            return None, None
        posts = StoryPost.objects.published().only("title", "url_path", "first_published_at")
        previous = posts.filter(first_published_at__lt=self.first_published_at).latest_first().first()
        following = (
            posts.filter(first_published_at__gt=self.first_published_at)
            .order_by("first_published_at", "pk")
            .first()
        )
        return previous, following

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["previous_post"], context["next_post"] = self.get_neighbours()
        context["regions"] = [link.region for link in self.region_links.select_related("region__parent")]
        context["topics"] = list(self.topics.all())
        context["tags"] = list(self.tags.all())
        context["authors"] = [link.author for link in self.author_links.select_related("author")]
        attach_updates([self])
        context["updates"] = self.updates
        context["modified_at"] = modified_at(self)
        context["json_ld_data"] = self.json_ld(request, context)
        return context

    def json_ld(self, request, context):
        """schema.org NewsArticle, pointing at the original story with isBasedOn."""
        url = absolute(self.url)
        identity = SiteIdentity.for_request(request)
        people = [{"@type": "Person", "name": name} for name in self.author_names]
        original = {
            "@type": "NewsArticle",
            "url": self.source_url,
            "publisher": {"@type": "Organization", "name": self.source_name},
        }
        if people:
            original["author"] = people
        if self.source_published_at:
            original["datePublished"] = self.source_published_at.isoformat()
        data = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": self.title[:110],
            "description": self.meta_description,
            "url": url,
            "mainEntityOfPage": {"@type": "WebPage", "@id": url},
            "publisher": {"@type": "Organization", "name": identity.name, "url": absolute("/")},
            "isBasedOn": original,
            "articleSection": [topic.name for topic in context["topics"]],
            "keywords": [tag.name for tag in context["tags"]],
            "contentLocation": [{"@type": "Place", "name": region.label} for region in context["regions"]],
        }
        if people:
            data["author"] = people
        if self.first_published_at:
            data["datePublished"] = self.first_published_at.isoformat()
        if context.get("modified_at"):
            data["dateModified"] = context["modified_at"].isoformat()
        return data
