"""Copies and clusters: one story told by several outlets is one cluster with "N outlets"."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from watchdesk.wire import clustering
from watchdesk.wire.clustering import BANDS, NUM_PERM, assign_clusters
from watchdesk.wire.models import Cluster, Item, ItemBand, ItemPlace

# Three outlets' own accounts of one wildfire: different wording, the same facts, much the same title.
RIDGE_FIRE = [
    (
        "Wildfire near Paradise forces 3,000 to evacuate as winds pick up",
        "A fast-moving wildfire burning near Paradise in Butte County forced about 3,000 residents to "
        "evacuate on Tuesday as gusty winds pushed the flames toward homes, Cal Fire said. The Ridge Fire "
        "has burned 4,200 acres and is 5 percent contained. Evacuation centers opened in Chico and Oroville.",
    ),
    (
        "Ridge Fire near Paradise forces 3,000 residents to evacuate",
        "Cal Fire officials ordered about 3,000 people to evacuate on Tuesday after the Ridge Fire, burning "
        "near Paradise in Butte County, grew to 4,200 acres amid strong winds. Containment stood at 5 "
        "percent. Shelters have opened in Chico and Oroville for evacuees.",
    ),
    (
        "Wind-driven wildfire near Paradise prompts evacuation of 3,000",
        "Roughly 3,000 residents near Paradise were told to leave their homes Tuesday as the wind-driven "
        "Ridge Fire spread across 4,200 acres of Butte County, according to Cal Fire. The fire is 5 percent "
        "contained; evacuation centers are open in Chico and Oroville.",
    ),
]
# Other stories that share words with the wildfire ("near", "evacuate", "3,000 residents", "fire").
TANKER_CRASH = (
    "Tanker crash on I-10 forces evacuation of 3,000 residents near Houston",
    "A tanker truck carrying chlorine overturned on Interstate 10 east of Houston on Tuesday, forcing about "
    "3,000 residents to evacuate as hazmat crews worked to contain a leak, officials said.",
)
BRUSH_FIRE = (
    "Crews contain brush fire near Paradise Valley golf course",
    "Firefighters contained a two-acre brush fire near a golf course in Paradise Valley, Arizona, on "
    "Tuesday afternoon. No homes were threatened and no injuries were reported, the fire department said. "
    "The cause is under investigation.",
)
FLASH_FLOOD = (
    "Flash flood warning issued for Houston as heavy rain continues",
    "The National Weather Service issued a flash flood warning for Houston and Harris County on Tuesday as "
    "heavy rain continued to fall, with up to 6 inches expected by evening. Officials urged residents to "
    "avoid driving through flooded roads.",
)


@pytest.fixture
def story(make_item, source):
    """Store one outlet's item; each call is a new outlet unless given one, first seen ``minutes_ago``."""

    def make(title_and_text, *, outlet=None, minutes_ago=0, **fields):
        title, text = title_and_text
        seen = timezone.now() - timedelta(minutes=minutes_ago)
        outlet = outlet or source()
        return make_item(title, source=outlet, text=text, first_seen_at=seen, published_at=seen, **fields)

    return make


def clusters_of(*items):
    for item in items:
        item.refresh_from_db()
    return {item.cluster_id for item in items}


def test_same_url_from_two_sources_is_a_copy_of_the_earlier(story):
    original = story(RIDGE_FIRE[0], url="https://valleycourier.example/2026/ridge-fire", minutes_ago=30)
    assign_clusters([original])
    aggregated = story(
        ("Paradise wildfire: thousands told to leave", "Read the full story at the Valley Courier."),
        url="https://valleycourier.example/2026/ridge-fire",
    )
    assign_clusters([aggregated])

    aggregated.refresh_from_db()
    original.refresh_from_db()
    assert aggregated.duplicate_of == original
    assert original.duplicate_of is None
    assert aggregated.cluster == original.cluster
    cluster = original.cluster
    assert (cluster.item_count, cluster.outlet_count) == (2, 2)
    assert cluster.lead == original
    assert not ItemBand.objects.filter(item=aggregated).exists()  # the original stands for the copy


def test_same_text_from_two_outlets_is_a_copy(story):
    title, text = RIDGE_FIRE[0]
    original = story((title, text), content_hash="a" * 64, minutes_ago=10)
    copy = story(("Wire: " + title, text), content_hash="a" * 64)
    assign_clusters([original])
    assign_clusters([copy])

    copy.refresh_from_db()
    assert copy.duplicate_of_id == original.pk
    assert clusters_of(original, copy) == {original.cluster_id}
    assert Cluster.objects.get().outlet_count == 2


def test_a_copy_of_a_copy_points_at_the_first_original(story):
    title, text = RIDGE_FIRE[0]
    first = story((title, text), url="https://a.example/ridge-fire", minutes_ago=20)
    second = story((title, "Syndicated. " + text), url="https://a.example/ridge-fire", content_hash="b" * 64)
    third = story((title, "Syndicated. " + text), url="https://c.example/ridge", content_hash="b" * 64)
    second.first_seen_at = third.first_seen_at - timedelta(minutes=1)
    Item.objects.filter(pk=second.pk).update(first_seen_at=second.first_seen_at)
    assign_clusters([third, second, first])  # the order given does not matter: first seen is first

    for item in (second, third):
        item.refresh_from_db()
        assert item.duplicate_of_id == first.pk
    assert Cluster.objects.count() == 1


def test_short_identical_text_is_not_enough_to_be_a_copy(story):
    one = story(("Council approves budget", "Developing story."), content_hash="c" * 64, minutes_ago=5)
    other = story(("Storm knocks out power", "Developing story."), content_hash="c" * 64)
    assign_clusters([one, other])

    other.refresh_from_db()
    assert other.duplicate_of is None
    assert len(clusters_of(one, other)) == 2


def test_entries_all_linking_to_the_home_page_are_not_copies(story, source):
    outlet = source()
    one = story(BRUSH_FIRE, outlet=outlet, url="https://paradisevalley.example/", minutes_ago=5)
    other = story(FLASH_FLOOD, outlet=outlet, url="https://paradisevalley.example/")
    assign_clusters([one, other])

    other.refresh_from_db()
    assert other.duplicate_of is None
    assert len(clusters_of(one, other)) == 2


def test_three_outlets_rewrites_of_one_story_make_one_cluster(story):
    items = []
    for minutes_ago, version in zip((30, 20, 10), RIDGE_FIRE, strict=True):
        items.append(story(version, minutes_ago=minutes_ago))
        assign_clusters([items[-1]])  # as three polls of three feeds

    assert len(clusters_of(*items)) == 1
    cluster = Cluster.objects.get()
    assert (cluster.item_count, cluster.outlet_count) == (3, 3)
    assert cluster.title == RIDGE_FIRE[0][0]  # the earliest telling leads
    assert cluster.lead_id == items[0].pk
    assert cluster.first_seen_at == items[0].first_seen_at
    assert cluster.last_seen_at == items[2].first_seen_at
    assert all(item.duplicate_of_id is None for item in items)  # rewrites, not copies


def test_different_stories_with_common_words_stay_apart(story):
    items = [story(version, minutes_ago=5 - n) for n, version in enumerate([RIDGE_FIRE[0], TANKER_CRASH])]
    items += [story(BRUSH_FIRE), story(FLASH_FLOOD)]
    for item in items:
        assign_clusters([item])

    assert len(clusters_of(*items)) == 4
    assert set(Cluster.objects.values_list("outlet_count", flat=True)) == {1}


def test_an_item_older_than_seven_days_is_not_joined(story):
    old = story(RIDGE_FIRE[0], minutes_ago=8 * 24 * 60)
    assign_clusters([old], now=old.first_seen_at)
    fresh = story(RIDGE_FIRE[1])
    assign_clusters([fresh])

    assert len(clusters_of(old, fresh)) == 2


def test_a_story_within_the_week_is_joined(story):
    earlier = story(RIDGE_FIRE[0], minutes_ago=6 * 24 * 60)
    assign_clusters([earlier], now=earlier.first_seen_at)
    later = story(RIDGE_FIRE[1])
    assign_clusters([later])

    assert clusters_of(earlier, later) == {earlier.cluster_id}


def test_one_batch_groups_its_own_items(story):
    fire = [story(version, minutes_ago=9 - n) for n, version in enumerate(RIDGE_FIRE)]
    copy = story(RIDGE_FIRE[0], url=fire[0].url, minutes_ago=1)
    flood = story(FLASH_FLOOD, minutes_ago=4)
    assign_clusters([flood, copy, *reversed(fire)])

    assert clusters_of(*fire, copy) == {fire[0].cluster_id}
    assert copy.duplicate_of_id == fire[0].pk
    assert clusters_of(flood) != {fire[0].cluster_id}
    cluster = Cluster.objects.get(pk=fire[0].cluster_id)
    assert (cluster.item_count, cluster.outlet_count, cluster.lead_id) == (4, 4, fire[0].pk)
    assert Cluster.objects.count() == 2


def test_the_most_trusted_outlet_leads_the_cluster(story, source):
    first = story(RIDGE_FIRE[0], outlet=source(trust=40), minutes_ago=10)
    trusted = story(RIDGE_FIRE[1], outlet=source(name="Butte Wire Service", trust=90))
    assign_clusters([first])
    assign_clusters([trusted])

    cluster = Cluster.objects.get()
    assert cluster.lead_id == trusted.pk
    assert cluster.title == RIDGE_FIRE[1][0]


def test_a_cluster_started_by_one_batch_is_summarised_like_any_other(story, source):
    # Started and filled in one batch, the cluster's summary is worked out without reading it back:
    # it must match what refresh_clusters finds from the rows.
    first = story(RIDGE_FIRE[0], outlet=source(trust=40), minutes_ago=10)
    trusted = story(RIDGE_FIRE[1], outlet=source(name="Butte Wire Service", trust=90), minutes_ago=5)
    assign_clusters([first, trusted])

    cluster = Cluster.objects.get()
    summary = (cluster.lead_id, cluster.title, cluster.item_count, cluster.outlet_count)
    assert summary == (trusted.pk, RIDGE_FIRE[1][0], 2, 2)
    assert (cluster.first_seen_at, cluster.last_seen_at) == (first.first_seen_at, trusted.first_seen_at)
    clustering.refresh_clusters([cluster.pk])
    cluster.refresh_from_db()
    assert (cluster.lead_id, cluster.title, cluster.item_count, cluster.outlet_count) == summary


def copies_from_new_outlets(story, count, minutes_ago=0):
    title, text = RIDGE_FIRE[0]
    return [story((title, text), content_hash="d" * 64, minutes_ago=minutes_ago) for _ in range(count)]


def test_a_dismissed_story_stays_dismissed_when_a_few_outlets_join(story):
    title, text = RIDGE_FIRE[0]
    first = story((title, text), content_hash="d" * 64, minutes_ago=60)
    assign_clusters([first])
    Cluster.objects.update(status=Cluster.Status.DISMISSED, status_changed_at=timezone.now())

    assign_clusters(copies_from_new_outlets(story, 2))

    cluster = Cluster.objects.get()
    assert cluster.status == Cluster.Status.DISMISSED
    assert cluster.outlet_count == 3  # the copies joined; the inbox does not show them as a new story


def test_a_dismissed_story_comes_back_when_its_coverage_grows(story, django_user_model):
    title, text = RIDGE_FIRE[0]
    first = story((title, text), content_hash="d" * 64, minutes_ago=60)
    assign_clusters([first])
    editor = django_user_model.objects.create_user("editor")
    dismissed_at = timezone.now()
    Cluster.objects.update(
        status=Cluster.Status.DISMISSED, status_changed_at=dismissed_at, status_changed_by=editor
    )

    assign_clusters(copies_from_new_outlets(story, 3))

    cluster = Cluster.objects.get()
    assert cluster.status == Cluster.Status.NEW
    assert cluster.outlet_count == 4
    assert cluster.status_changed_at > dismissed_at
    assert cluster.status_changed_by is None  # the story came back by itself, not by the editor


def test_a_drafted_story_stays_drafted_however_many_outlets_join(story):
    title, text = RIDGE_FIRE[0]
    assign_clusters([story((title, text), content_hash="d" * 64, minutes_ago=60)])
    Cluster.objects.update(status=Cluster.Status.DRAFTED, status_changed_at=timezone.now())

    assign_clusters(copies_from_new_outlets(story, 5))

    cluster = Cluster.objects.get()
    assert (cluster.status, cluster.outlet_count) == (Cluster.Status.DRAFTED, 6)


def test_re_enriching_replaces_bands_and_keeps_the_cluster(story):
    items = [story(version, minutes_ago=10 - n) for n, version in enumerate(RIDGE_FIRE[:2])]
    assign_clusters(items)
    cluster_id = items[0].cluster_id
    assign_clusters(items)
    assign_clusters(items[1:])

    assert ItemBand.objects.count() == 2 * BANDS
    assert clusters_of(*items) == {cluster_id}
    assert Cluster.objects.get().item_count == 2
    items[1].delete()
    assert ItemBand.objects.count() == BANDS


def test_refresh_clusters_forgets_a_cluster_left_without_items(story):
    item = story(FLASH_FLOOD)
    assign_clusters([item])
    cluster_id = item.cluster_id
    item.delete()
    clustering.refresh_clusters([cluster_id])

    assert not Cluster.objects.filter(pk=cluster_id).exists()


def test_signatures_are_of_the_content_words_of_the_title_and_lead():
    title, text = RIDGE_FIRE[0]
    words = clustering.shingles(title, text)
    assert {"wildf", "parad", "evacu", "3000", "butte"} <= words
    assert not {"the", "as", "to", "near"} & words

    signature = clustering.signatures([words, set()])
    assert signature.shape == (2, NUM_PERM)
    assert (signature[1] == 0xFFFFFFFF).all()  # no words: the empty signature, which matches nothing


def test_normalising_folds_case_accents_punctuation_and_thousands():
    assert (
        clustering.normalise("Évacuation à ZÜRICH: 3,000 — or 1.500!") == "evacuation a zurich 3000 or 1500"
    )


def test_stored_signature_and_bands(story):
    item = story(RIDGE_FIRE[0])
    assign_clusters([item])
    item.refresh_from_db()

    assert len(bytes(item.minhash)) == NUM_PERM * 4
    bands = ItemBand.objects.filter(item=item)
    assert bands.count() == BANDS
    assert len({band.key for band in bands}) == BANDS


def make_batch(story, size, offset):
    """Half rewrites of stories already clustered, a few copies, the rest new stories."""
    batch = []
    for n in range(size):
        if n % 5 == 0:
            batch.append(story(RIDGE_FIRE[n % 3], minutes_ago=offset))
        elif n % 5 == 1:
            batch.append(story(FLASH_FLOOD, content_hash="e" * 64, minutes_ago=offset))
        else:
            words = [f"{letter}{n}x{offset}" for letter in "abcdefghij"]
            batch.append(story((" ".join(words[:5]), " ".join(words[5:])), minutes_ago=offset))
    return batch


@pytest.mark.parametrize("size", [5, 50])
def test_queries_per_batch_do_not_grow_with_its_size(story, size, django_assert_max_num_queries):
    assign_clusters([story(RIDGE_FIRE[0], minutes_ago=90), story(FLASH_FLOOD, content_hash="e" * 64)])
    batch = make_batch(story, size, offset=30)

    # A savepoint and its release, copies, bands (delete, insert, look up), candidates, places, new
    # clusters, items, the touched clusters, their outlets and leads, and their summaries.
    with django_assert_max_num_queries(14):
        assign_clusters(batch)

    assert Cluster.objects.get(pk=batch[0].cluster_id).outlet_count == 1 + len(batch[0::5])
    assert Cluster.objects.get(pk=batch[1].cluster_id).outlet_count == 1 + len(batch[1::5])
    assert Cluster.objects.count() == 2 + size * 3 // 5
    assert all(item.cluster_id for item in Item.objects.all())


def test_the_same_words_about_another_state_are_another_story(story, regions):
    template = "Chemical leak near {}: hazmat crews order shelter in place as crews respond"
    text = "Officials said a chemical leak prompted hazmat crews to order residents to shelter in place."
    in_la = story((template.format("Los Angeles, California"), text), minutes_ago=5)
    in_houston = story((template.format("Houston, Texas"), text))
    told_again = story((template.format("Los Angeles, California"), "Crews said " + text))
    for item, region in [(in_la, "los_angeles"), (in_houston, "houston"), (told_again, "california")]:
        ItemPlace.objects.create(item=item, region=regions[region], confidence=0.9, origin="title")
    assign_clusters([in_la])
    assign_clusters([in_houston, told_again])

    assert (
        clustering.similarity(*(np.frombuffer(bytes(i.minhash), "uint32") for i in (in_la, in_houston))) > 0.4
    )
    assert clusters_of(in_la, told_again) == {in_la.cluster_id}
    assert clusters_of(in_houston) != {in_la.cluster_id}


def test_rewrites_score_above_the_threshold_and_other_stories_below():
    def signature(title_and_text):
        return clustering.signatures([clustering.shingles(*title_and_text)])[0]

    fire = [signature(version) for version in RIDGE_FIRE]
    others = [signature(story) for story in (TANKER_CRASH, BRUSH_FIRE, FLASH_FLOOD)]

    # Every version is like at least one other (one cluster is a chain of such likenesses) ...
    for n, version in enumerate(fire):
        assert max(clustering.similarity(version, other) for other in fire[:n] + fire[n + 1 :]) >= 0.4
    # ... and no other story comes near any of them.
    assert max(clustering.similarity(a, b) for a in fire for b in others) < 0.2
    assert clustering.THRESHOLD == 0.4


def test_shortlists_rank_by_shared_bands_then_newest_and_leave_out_the_batch(make_item):
    """The candidate lists, written straight as band rows: the same answer on SQLite (a JSON list per
    batch item) and PostgreSQL (a window function)."""
    mine, other_mine = make_item(), make_item()
    sharing = {n: make_item() for n in (1, 2, 3)}  # item sharing n bands with ``mine``
    ties = [make_item() for _ in range(clustering.MAX_CANDIDATES + 5)]  # one band each
    rows = [(key, mine.pk) for key in range(1, 4)] + [(10, other_mine.pk)]
    rows += [(key, item.pk) for n, item in sharing.items() for key in range(1, n + 1)]
    rows += [(3, item.pk) for item in ties]
    rows += [(1, other_mine.pk)]  # shares band 1 with ``mine`` too, but batch items are not candidates
    ItemBand.objects.bulk_create(ItemBand(key=key, item_id=pk) for key, pk in rows)

    lists = clustering._shortlists([mine.pk, other_mine.pk])

    newest_ties = sorted((item.pk for item in ties), reverse=True)
    expected = [sharing[3].pk, sharing[2].pk, *sorted([sharing[1].pk, *newest_ties], reverse=True)]
    assert lists[mine.pk] == expected[: clustering.MAX_CANDIDATES]
    assert other_mine.pk not in lists[mine.pk]
    assert lists[other_mine.pk] == sorted((item.pk for item in sharing.values()), reverse=True)


def test_a_lingering_band_of_an_item_past_the_window_does_not_join_and_is_pruned(story):
    """Bands leave with the hourly prune; a story first seen before the window matches nothing meanwhile."""
    old = story(RIDGE_FIRE[0], minutes_ago=7 * 24 * 60 + 30)
    assign_clusters([old], now=old.first_seen_at)
    assert ItemBand.objects.filter(item=old).count() == BANDS  # not pruned yet

    fresh = story(RIDGE_FIRE[1])
    assign_clusters([fresh])

    assert len(clusters_of(old, fresh)) == 2
    assert clustering.forget_old_bands() == BANDS
    assert set(ItemBand.objects.values_list("item", flat=True)) == {fresh.pk}
