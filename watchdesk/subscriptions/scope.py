"""What a subscription covers, said in words and counted in recent posts (docs/subscriptions.md).

A scope is one of four: everything; chosen topics, wherever they happen; everything in chosen places;
chosen topics in chosen places (a post must match a topic AND a place). A place includes every place
inside it. ``Subscriber.everything`` and which of its topics and regions are set say which one it is.
"""

from datetime import timedelta

from django.utils import timezone

from watchdesk.posts.models import StoryPost
from watchdesk.taxonomy.place_lookup import full_name

EVERYTHING, TOPICS, PLACES, BOTH = "everything", "topics", "places", "both"
MODES = [
    (EVERYTHING, "Everything we publish"),
    (TOPICS, "Chosen topics, wherever they happen"),
    (PLACES, "Everything in chosen places"),
    (BOTH, "Chosen topics, only in chosen places"),
]
# Keyed by ``Cadence`` values: how the posts arrive.
WHEN = {
    "instant": "as soon as they are published",
    "daily": "in a daily digest",
    "weekly": "in a weekly digest",
}
RECENT_DAYS = 30


def mode_of(everything, topics, regions):
    """The scope a subscription's fields amount to (None: nothing chosen, so nothing is sent)."""
    if everything:
        return EVERYTHING
    if topics and regions:
        return BOTH
    return TOPICS if topics else PLACES if regions else None


def either(names):
    """ "A", "A or B", "A, B or C"; with "; " between names that hold a comma themselves."""
    names = list(names)
    if len(names) < 2:
        return "".join(names)
    between = "; " if any("," in name for name in names) else ", "
    return f"{between.join(names[:-1])} or {names[-1]}"


def topic_words(topics):
    return either(topic.name for topic in topics)


def place_words(regions):
    """Places as people say them ("Harris County, Texas", "Texas", "Mali"); ``parent`` loaded."""
    return either(region.label for region in regions)


def scope_words(topics, regions):
    """A subscriber's choice as a short phrase: "Hazmat in Harris County, Texas", "Wildfire, anywhere",
    "Everything in California"."""
    if topics and regions:
        return f"{topic_words(topics)} in {place_words(regions)}"
    if topics:
        return f"{topic_words(topics)}, anywhere"
    if regions:
        return f"Everything in {place_words(regions)}"
    return "Nothing chosen"


def sentence(mode, topics, regions, cadence):
    """What the reader will get, as a sentence; None while the choice is incomplete."""
    when = WHEN.get(cadence, WHEN["instant"])
    if mode == EVERYTHING:
        return f"All our posts, {when}."
    if mode == TOPICS and topics:
        return f"Posts about {topic_words(topics)}, wherever they happen, {when}."
    if mode == PLACES and regions:
        return f"All our posts in {place_words(regions)}, {when}."
    if mode == BOTH and topics and regions:
        return f"Posts about {topic_words(topics)} in {place_words(regions)}, {when}."
    return None


def missing(mode, topics, regions):
    """What the reader still has to choose, in words; "" when the choice is complete."""
    need_topics = mode in (TOPICS, BOTH) and not topics
    need_places = mode in (PLACES, BOTH) and not regions
    if need_topics and need_places:
        return "Choose at least one topic and one place."
    if need_topics:
        return "Choose at least one topic."
    if need_places:
        return "Choose at least one place."
    return ""


def recent_posts(mode, topic_ids, regions, now=None):
    """The live posts of the last ``RECENT_DAYS`` that were e-mailed and that this scope covers."""
    now = now or timezone.now()
    posts = StoryPost.objects.live().filter(
        first_published_at__gt=now - timedelta(days=RECENT_DAYS), notify_subscribers=True
    )
    if mode == EVERYTHING:
        return posts
    if missing(mode, topic_ids, regions) or mode not in (TOPICS, PLACES, BOTH):
        return posts.none()
    return posts.in_scope(
        topic_ids if mode in (TOPICS, BOTH) else (), regions if mode in (PLACES, BOTH) else ()
    )


def count_words(count):
    if count is None:
        return ""
    if count == 0:
        return f"No posts in the last {RECENT_DAYS} days matched; you would get the next one that does."
    posts = "post" if count == 1 else "posts"
    return f"{count} {posts} in the last {RECENT_DAYS} days matched."


def preview(mode, topics, regions, cadence, now=None):
    """The sentence and the count the form shows: {"sentence", "count", "count_text"}. One query
    (the count), none while the choice is incomplete."""
    topics = sorted(topics, key=lambda topic: topic.name)
    regions = sorted(regions, key=full_name)
    words = sentence(mode, topics, regions, cadence)
    count = None
    if words:
        count = recent_posts(mode, [topic.pk for topic in topics], regions, now).count()
    return {
        "sentence": words or missing(mode, topics, regions) or "Choose what to receive.",
        "count": count,
        "count_text": count_words(count),
    }
