"""The inbox shows how a story's score is formed, total = (topic + region + trust + cluster) x recency
(docs/wire.md), and the figures on the screen add up: real scores from ``relevance.score``."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from watchdesk.wire import relevance
from watchdesk.wire.models import Cluster, ItemPlace, ItemTopic, WireSettings
from watchdesk.wire.templatetags.wire_tags import score_sum

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client(client, home, editor):
    client.force_login(editor)
    return client


def sums(html):
    """Each score table on the page as (parts, sum, recency, total), the figures as shown."""
    found = []
    for table in re.findall(r"<table class=\"inbox-sum\" data-score-sum>(.*?)</table>", html, re.S):
        parts = [
            Decimal(value)
            for value in re.findall(r"<tr data-point>.*?<span data-value>([^<]+)</span>", table)
        ]

        def one(name, table=table):
            return Decimal(
                re.search(rf"<tr[^>]*data-{name}>.*?<span data-value>([^<]+)</span>", table, re.S).group(1)
            )

        found.append((parts, one("sum"), one("recency"), one("total")))
    return found


def assert_adds_up(parts, added, recency, total):
    assert sum(parts) == added
    # The total is the product rounded to the three decimals shown.
    assert abs(added * recency - total) <= Decimal("0.0005"), (added, recency, total)


def test_real_scores_add_up_on_the_list_and_on_the_story_page(
    editor_client, source, make_item, topics, regions
):
    settings = WireSettings.load()
    settings.priority_regions.add(regions["california"])
    now = timezone.now()
    cluster = Cluster.objects.create(
        title="Brush fire", outlet_count=3, item_count=3, first_seen_at=now, last_seen_at=now
    )
    courier = source(trust=73)
    items = [
        make_item(
            f"Brush fire {n}", source=courier, cluster=cluster, published_at=now - timedelta(hours=n * 1.7)
        )
        for n in range(3)
    ]
    for n, item in enumerate(items):
        ItemTopic.objects.create(item=item, topic=topics["wildfire"], score=4.37 + n, phrases=["brush fire"])
        ItemPlace.objects.create(item=item, region=regions["los_angeles"], confidence=0.83, origin="title")
    relevance.score(items, now=now + timedelta(hours=2, minutes=13))
    cluster.refresh_from_db()
    assert 0 < cluster.score_parts["recency"] < 1  # the factor is really there

    html = editor_client.get(reverse("inbox:index")).content.decode()
    (listed,) = sums(html)
    assert_adds_up(*listed)
    assert listed[3] == Decimal(str(cluster.score_parts["total"]))
    assert f'<span class="inbox-score" title="Relevance score">{cluster.score:.1f}</span>' in html
    for name in ("topic", "region", "trust", "cluster", "sum", "recency", "score"):
        assert f'<th scope="row">{name}</th>' in html

    page = editor_client.get(reverse("inbox:cluster", args=[cluster.pk])).content.decode()
    shown = sums(page)
    assert len(shown) == 4  # the story's, then each item's
    for figures in shown:
        assert_adds_up(*figures)


@pytest.mark.parametrize(
    "parts",
    [
        {"topic": 6.0, "region": 5.0, "trust": 2.5, "cluster": 3.0, "recency": 0.841, "total": 13.877},
        {"topic": 1.234, "region": 0.0, "trust": 1.111, "cluster": 1.585, "recency": 0.999, "total": 3.926},
        {"topic": 2.0, "trust": 0.5},  # stored before recency: a factor of 1, the total computed
    ],
)
def test_the_figures_shown_add_up(parts):
    shown = score_sum(parts)
    assert_adds_up(
        [Decimal(value) for _name, value in shown["points"]],
        Decimal(shown["sum"]),
        Decimal(shown["recency"]),
        Decimal(shown["total"]),
    )


def test_no_parts_say_so():
    assert score_sum({}) is None and score_sum(None) is None
