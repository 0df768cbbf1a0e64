"""One click from the inbox to a draft post: ``draft_post(cluster_or_item, user=...)``.

The draft is a ``StoryPost`` under the home page, saved as a revision and never published: title,
summary, source block (outlet, original URL, byline, original date), topics and places come from the
item (the version the editor picked, by default the best-scored one with a byline); the body
quotes the outlet's summary under a line asking the editor to rewrite it, because a
post must say the story in our words. The cluster keeps a link to the post (``Cluster.post``) and is
marked drafted, so drafting it again opens the same post instead of making a second.
"""

import re

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.html import escape

from watchdesk.core.sanitize import html_to_text
from watchdesk.posts.bylines import clean_byline
from watchdesk.posts.models import HomePage, StoryPost, StoryPostRegion
from watchdesk.posts.originality import WIRE_DRAFT_MARKER
from watchdesk.taxonomy.models import Topic
from watchdesk.wire.inbox import default_version, forget_new_count
from watchdesk.wire.models import Cluster, Item, ItemPlace, ItemTopic, host_of

SUMMARY_LIMIT = 400  # StoryPost.summary's max_length
MAX_REGIONS = 5
MAX_BODY_PARAGRAPHS = 6
DRAFT_MARKER = WIRE_DRAFT_MARKER  # the post refuses to be published while it holds this

# The end of a sentence: . ! ? or … (and any closing quote or bracket) before a space or the end, unless
# the word before it is initials or a short title ("U.S. officials", "Dr. Ortiz").
SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(?=\s|$)")
NOT_AN_END = re.compile(
    r"(?:\b(?:[A-Z]\.)+|\b(?:Mr|Mrs|Ms|Dr|St|Mt|Ft|Gov|Sen|Rep|Lt|Sgt|Capt|Gen|Col|Cmdr|No|Jr|Sr|Inc|Co|Corp|vs)\.)$"
)
BLOCK_BOUNDARY = re.compile(r"<\s*/?\s*(?:p|div|li|h[1-6]|blockquote|br|tr)\b[^>]*>", re.IGNORECASE)


class DraftError(Exception):
    """Drafting is impossible (no home page to put the post under); ``str()`` says why."""


def trim_to_sentences(text, limit=SUMMARY_LIMIT, sentences=2):
    """``text`` (whitespace collapsed) cut to its first ``sentences`` sentences and at most ``limit``
    characters, at the end of a sentence (the summary field asks for two sentences at most); at a word,
    with an ellipsis, when even the first sentence is longer than that."""
    text = " ".join(text.split())
    ends = [
        match.end()
        for match in SENTENCE_END.finditer(text, 0, limit + 1)
        if match.end() <= limit and match.end() < len(text) and not NOT_AN_END.search(text, 0, match.end())
    ]
    if len(text) <= limit and len(ends) < sentences:
        return text
    if ends:
        return text[: ends[min(sentences, len(ends)) - 1]].rstrip()
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-–—") + "…"


def summary_paragraphs(item):
    """The item's summary as paragraphs of plain text (its HTML is already sanitised)."""
    if item.summary:
        pieces = [html_to_text(piece) for piece in BLOCK_BOUNDARY.split(item.summary)]
        paragraphs = [piece for piece in pieces if piece.strip()]
        if paragraphs:
            return paragraphs
    text = item.text or (html_to_text(item.content) if item.content else "")
    return [text] if text.strip() else []


def draft_body(paragraphs):
    """Rich text for the editor: the instruction, then the outlet's words as a quotation."""
    quoted = "".join(f"<blockquote>{escape(text)}</blockquote>" for text in paragraphs[:MAX_BODY_PARAGRAPHS])
    return f"<p><b>{escape(DRAFT_MARKER)}</b> The outlet’s summary:</p>{quoted}"


def pick_item(cluster):
    """The item a cluster's draft is made from when the editor chose none: ``inbox.default_version``
    (the best-scored version with a byline)."""
    items = cluster.items.select_related("source").defer("minhash").order_by("pk")
    return default_version(items, cluster.lead_id)


def cluster_for(item):
    """The item's cluster; a cluster of its own when it has none, so the draft can be linked back."""
    if item.cluster_id:
        return Cluster.objects.get(pk=item.cluster_id)
    cluster = Cluster.objects.create(
        lead=item,
        title=item.title[:500],
        item_count=1,
        outlet_count=1,
        score=item.score,
        score_parts=item.score_parts,
        first_seen_at=item.first_seen_at,
        last_seen_at=item.first_seen_at,
    )
    Item.objects.filter(pk=item.pk).update(cluster=cluster)
    item.cluster = cluster
    return cluster


def _item_or_cluster(links, item, cluster, column, *ordering):
    """Distinct ``column`` values of the item's links, in ``ordering``; the cluster's when it has none."""
    mine = links.filter(item=item)
    chosen = mine if mine.exists() else links.filter(item__cluster=cluster)
    return list(dict.fromkeys(chosen.order_by(*ordering).values_list(column, flat=True)))


def topics_for(item, cluster):
    """The item's topics, best first; the cluster's when the item itself has none."""
    return _item_or_cluster(ItemTopic.objects, item, cluster, "topic_id", "-score")


def regions_for(item, cluster):
    """The item's places, most certain first, at most ``MAX_REGIONS``; the cluster's when it has none."""
    return _item_or_cluster(ItemPlace.objects, item, cluster, "region_id", "-confidence", "pk")[:MAX_REGIONS]


def existing_post(cluster):
    if cluster.post_id:
        return StoryPost.objects.filter(pk=cluster.post_id).first()
    return None


def draft_post(cluster_or_item, *, user, version=None):
    """A draft ``StoryPost`` for a cluster or for one item, linked back to the cluster; the post already
    drafted from it when there is one. A cluster's draft is made from ``version`` (one of its items,
    the editor's choice) or else from ``pick_item``. ``user`` (None from scripts) becomes the page's
    owner and must be allowed to add pages under the home page."""
    if isinstance(cluster_or_item, Item):
        item, cluster = cluster_or_item, None
    else:
        item, cluster = version, cluster_or_item
        if item is not None and item.cluster_id != cluster.pk:
            raise DraftError(f"That version is not one of the story “{cluster.title}”.")

    home = HomePage.objects.first()
    if home is None:
        raise DraftError("There is no home page to put the post under: run `watchdesk setup_site`.")
    if user is not None and not home.permissions_for_user(user).can_add_subpage():
        raise PermissionDenied("You may not add posts under the home page.")

    with transaction.atomic():
        if cluster is None:
            cluster = cluster_for(item)
        # Two editors clicking at once: the second waits for the first and then finds its post.
        cluster = Cluster.objects.select_for_update().get(pk=cluster.pk)
        if post := existing_post(cluster):
            return post
        item = item or pick_item(cluster)
        if item is None:
            raise DraftError(f"The cluster “{cluster.title}” has no items to draft from.")
        post = build_post(item, cluster, user)
        home.add_child(instance=post)
        post.save_revision(user=user, log_action=True)
        now = timezone.now()
        cluster.post = post
        cluster.status = Cluster.Status.DRAFTED
        cluster.snoozed_until = None
        cluster.status_changed_at = now
        cluster.status_changed_by = user
        cluster.save(
            update_fields=["post", "status", "snoozed_until", "status_changed_at", "status_changed_by"]
        )
    forget_new_count()
    return post


def build_post(item, cluster, user):
    paragraphs = summary_paragraphs(item)
    outlet = item.outlet or (item.source.name if item.source_id else "") or host_of(item.url)
    post = StoryPost(
        title=" ".join(item.title.split())[:255] or "Untitled story",
        summary=trim_to_sentences(" ".join(paragraphs)),
        body=draft_body(paragraphs),
        # Kept so that publishing can refuse a summary or body still in the outlet's words.
        outlet_text="\n\n".join(paragraphs),
        source_name=outlet[:120],
        source_url=item.url,
        byline=clean_byline(item.author),  # again: items stored before bylines were cleaned
        source_published_at=None if item.date_guessed else item.published_at,
        owner=user,
        live=False,
        has_unpublished_changes=True,
    )
    # Many-to-many and child rows are held by the page (modelcluster) and saved with it.
    topic_ids = topics_for(item, cluster)
    topics = Topic.objects.in_bulk(topic_ids)
    post.topics.set([topics[pk] for pk in topic_ids])
    post.region_links = [
        StoryPostRegion(region_id=region_id, sort_order=n)
        for n, region_id in enumerate(regions_for(item, cluster))
    ]
    return post
