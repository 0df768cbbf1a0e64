"""Property: nobody receives a post outside their scope, before confirming, or after unsubscribing."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchdesk.delivery import broadcasts, sender
from watchdesk.delivery.models import Broadcast
from watchdesk.subscriptions.models import Subscriber, Suppression

# Fifty generated audiences of up to ten readers, each fanned out and sent: tens of seconds.
pytestmark = pytest.mark.slow

REGIONS = ["us", "california", "texas", "la_county", "los_angeles", "houston", "mali"]
TOPICS = ["wildfire", "hazmat", "flooding", "terrorism"]

rarely = st.sampled_from([False, False, False, True])
reader = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["pending", "confirmed", "confirmed", "confirmed", "unsubscribed"]),
        "everything": st.booleans(),
        "topics": st.sets(st.sampled_from(TOPICS), max_size=2),
        "regions": st.sets(st.sampled_from(REGIONS), max_size=2),
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


def expected(profile, post_topics, post_regions, topics, regions):
    if profile["status"] != "confirmed" or profile["paused"] or profile["suppressed"]:
        return False
    if profile["cadence"] != "instant" or profile["leaves_late"]:
        return False
    if profile["everything"] or not (profile["topics"] or profile["regions"]):
        return True
    if profile["topics"] & set(post_topics):
        return True
    return any(
        contains(regions[mine], regions[theirs]) for mine in profile["regions"] for theirs in post_regions
    )


@pytest.mark.django_db
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    readers=st.lists(reader, min_size=3, max_size=10),
    post_topics=st.sets(st.sampled_from(TOPICS), max_size=2),
    post_regions=st.sets(st.sampled_from(REGIONS), max_size=2),
)
def test_nobody_outside_scope_unconfirmed_or_gone_receives_a_post(
    make_post, topics, regions, mail_server, readers, post_topics, post_regions
):
    mail_server.messages.clear()
    mail_server.envelopes.clear()
    with transaction.atomic():
        made = []
        for n, profile in enumerate(readers):
            chooses = not profile["everything"] and (profile["topics"] or profile["regions"])
            subscriber = Subscriber.objects.create(
                email=f"reader{n}@example.net",
                status=profile["status"],
                everything=not chooses,
                cadence=profile["cadence"],
                paused=profile["paused"],
            )
            if chooses:
                subscriber.topics.set([topics[slug] for slug in profile["topics"]])
                subscriber.regions.set([regions[key] for key in profile["regions"]])
            if profile["suppressed"]:
                Suppression.add(subscriber.email, Suppression.Reason.MANUAL)
            made.append((subscriber, profile))
        post = make_post(
            topics=[topics[slug] for slug in post_topics],
            regions=[regions[key] for key in post_regions],
        )
        broadcasts.fan_out_broadcast(Broadcast.objects.get(post=post))
        for subscriber, profile in made:
            if profile["leaves_late"]:
                subscriber.unsubscribe()
        sender.send_pending()
        received = sorted(mail_server.recipients())
        wanted = sorted(
            subscriber.email
            for subscriber, profile in made
            if expected(profile, post_topics, post_regions, topics, regions)
        )
        assert received == wanted
        transaction.set_rollback(True)
