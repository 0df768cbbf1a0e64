"""Property: nobody receives a post outside their scope, before confirming, or after unsubscribing; and
everyone inside it does. Scopes are the four of docs/subscriptions.md (and "nothing", which the admin
allows), checked against a plain Python reading of the rule, for instant e-mail, digests and the
editor's count."""

from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchdesk.delivery import broadcasts, sender
from watchdesk.delivery.models import Broadcast, Digest
from watchdesk.subscriptions.models import Subscriber, Suppression

# Fifty generated audiences of up to ten readers, each fanned out and sent: tens of seconds.
pytestmark = pytest.mark.slow

REGIONS = ["us", "california", "texas", "la_county", "los_angeles", "houston", "mali"]
TOPICS = ["wildfire", "hazmat", "flooding", "terrorism"]

rarely = st.sampled_from([False, False, False, True])
reader = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["pending", "confirmed", "confirmed", "confirmed", "unsubscribed"]),
        "scope": st.sampled_from(["everything", "topics", "places", "both", "both", "nothing"]),
        # Used as the scope says: both kept under "everything", only one of them under "topics"/"places".
        "topics": st.sets(st.sampled_from(TOPICS), min_size=1, max_size=2),
        "regions": st.sets(st.sampled_from(REGIONS), min_size=1, max_size=2),
        "cadence": st.sampled_from(["instant", "instant", "daily"]),
        "paused": rarely,
        "suppressed": rarely,
        # Leaves after the post was fanned out, before it was sent.
        "leaves_late": rarely,
    }
)


def contains(outer, inner):
    """Whether region ``outer`` is ``inner`` or one of its ancestors (walking parent links)."""
    while inner is not None:
        if inner.pk == outer.pk:
            return True
        inner = inner.parent
    return False


def in_scope(profile, post_topics, post_regions, regions):
    """The rule, read plainly: topics AND places, each only when chosen; a place contains its insides."""
    scope = profile["scope"]
    if scope in ("everything", "nothing"):
        return scope == "everything"
    topic_ok = scope == "places" or bool(profile["topics"] & set(post_topics))
    place_ok = scope == "topics" or any(
        contains(regions[mine], regions[theirs]) for mine in profile["regions"] for theirs in post_regions
    )
    return topic_ok and place_ok


def receiving(profile):
    return profile["status"] == "confirmed" and not profile["paused"] and not profile["suppressed"]


def expected(profile, post_topics, post_regions, regions):
    if not receiving(profile) or profile["cadence"] != "instant" or profile["leaves_late"]:
        return False
    return in_scope(profile, post_topics, post_regions, regions)


@pytest.mark.django_db
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    readers=st.lists(reader, min_size=3, max_size=10),
    post_topics=st.sets(st.sampled_from(TOPICS), max_size=2),
    post_regions=st.sets(st.sampled_from(REGIONS), max_size=2),
)
def test_exactly_the_readers_whose_scope_covers_a_post_receive_it(
    make_post, topics, regions, mail_server, readers, post_topics, post_regions
):
    mail_server.messages.clear()
    mail_server.envelopes.clear()
    with transaction.atomic():
        made = []
        for n, profile in enumerate(readers):
            scope = profile["scope"]
            subscriber = Subscriber.objects.create(
                email=f"reader{n}@example.net",
                status=profile["status"],
                everything=scope == "everything",
                cadence=profile["cadence"],
                paused=profile["paused"],
            )
            if scope in ("everything", "topics", "both"):
                subscriber.topics.set([topics[slug] for slug in profile["topics"]])
            if scope in ("everything", "places", "both"):
                subscriber.regions.set([regions[key] for key in profile["regions"]])
            if profile["suppressed"]:
                Suppression.add(subscriber.email, Suppression.Reason.MANUAL)
            made.append((subscriber, profile))
        post = make_post(
            topics=[topics[slug] for slug in post_topics],
            regions=[regions[key] for key in post_regions],
        )
        # The editor's count, before publishing, is the fan-out's own selection.
        count = broadcasts.audience(
            None, [topics[t].pk for t in post_topics], [regions[r].pk for r in post_regions]
        )
        assert count["instant"] == sum(
            receiving(p) and p["cadence"] == "instant" and in_scope(p, post_topics, post_regions, regions)
            for _, p in made
        )
        # Digests read the rule from the post's side.
        digest = Digest.objects.create(
            key="daily:test", cadence="daily", period_end=post.first_published_at + timedelta(hours=1)
        )
        for subscriber, profile in made:
            listed = post in broadcasts.digest_posts(subscriber, digest)
            assert listed == in_scope(profile, post_topics, post_regions, regions), profile
        broadcasts.fan_out_broadcast(Broadcast.objects.get(post=post))
        for subscriber, profile in made:
            if profile["leaves_late"]:
                subscriber.unsubscribe()
        sender.send_pending()
        received = sorted(mail_server.recipients())
        wanted = sorted(
            subscriber.email
            for subscriber, profile in made
            if expected(profile, post_topics, post_regions, regions)
        )
        assert received == wanted
        transaction.set_rollback(True)
