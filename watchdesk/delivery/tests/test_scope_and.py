"""Instant e-mail, digests and the editor's recipient count follow one rule: a reader who chose topics
and places gets a post about one of the topics AND in one of the places (issue 11)."""

from datetime import UTC, datetime

import pytest

from watchdesk.delivery import broadcasts
from watchdesk.delivery.models import Broadcast, Digest

pytestmark = pytest.mark.django_db


@pytest.fixture
def hazmat_in_texas(subscriber, topics, regions):
    return subscriber(
        "hazmat-texas@example.net", topics=[topics["hazmat"]], regions=[regions["texas"]], cadence="daily"
    )


def test_a_digest_lists_only_posts_matching_a_topic_and_a_place(
    hazmat_in_texas, subscriber, make_post, topics, regions
):
    at = datetime(2026, 9, 10, 12, tzinfo=UTC)
    make_post("Spill in Houston", topics=[topics["hazmat"]], regions=[regions["houston"]], published=at)
    make_post("Spill in Mali", topics=[topics["hazmat"]], regions=[regions["mali"]], published=at)
    make_post("Fire in Texas", topics=[topics["wildfire"]], regions=[regions["texas"]], published=at)
    make_post("Spill, no place", topics=[topics["hazmat"]], published=at)
    make_post(
        "Unmailed spill in Texas",
        topics=[topics["hazmat"]],
        regions=[regions["texas"]],
        published=at,
        notify_subscribers=False,
    )
    digest = Digest.objects.create(
        key="daily:2026-09-11", cadence="daily", period_end=datetime(2026, 9, 11, 7, tzinfo=UTC)
    )

    assert [p.title for p in broadcasts.digest_posts(hazmat_in_texas, digest)] == ["Spill in Houston"]
    texas = subscriber("texas@example.net", regions=[regions["texas"]], cadence="daily")
    assert sorted(p.title for p in broadcasts.digest_posts(texas, digest)) == [
        "Fire in Texas",
        "Spill in Houston",
    ]
    hazmat = subscriber("hazmat@example.net", topics=[topics["hazmat"]], cadence="daily")
    assert len(broadcasts.digest_posts(hazmat, digest)) == 3


def test_the_editors_count_and_the_fan_out_follow_the_same_rule(
    hazmat_in_texas, subscriber, make_post, topics, regions
):
    subscriber("hazmat@example.net", topics=[topics["hazmat"]])
    subscriber("texas@example.net", regions=[regions["texas"]])
    hazmat, houston, mali = topics["hazmat"].pk, regions["houston"].pk, regions["mali"].pk

    assert broadcasts.audience(None, [hazmat], [houston]) == {"instant": 2, "breaking": 0, "digest": 1}
    assert broadcasts.audience(None, [hazmat], [mali]) == {"instant": 1, "breaking": 0, "digest": 0}
    wildfire = topics["wildfire"].pk
    assert broadcasts.audience(None, [wildfire], [houston]) == {"instant": 1, "breaking": 0, "digest": 0}

    post = make_post(topics=[topics["hazmat"]], regions=[regions["mali"]])
    assert broadcasts.fan_out_broadcast(Broadcast.objects.get(post=post)) == 1
