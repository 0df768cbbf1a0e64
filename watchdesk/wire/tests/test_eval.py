"""The evaluation set's loader and the scorer's arithmetic (the wire's scores themselves are tracked in
bench/RESULTS.md, not asserted here)."""

import json

import pytest

from watchdesk.taxonomy.gazetteer import load_gazetteer
from watchdesk.wire.eval import dataset, scoring

OUTLETS = {
    "courier": {"name": "Valley Courier", "feed": "https://courier.example.org/feed.xml", "home": "US-CA"},
    "courier-2": {"name": "Valley Courier", "feed": "https://courier.example.org/safety.xml"},
}


def item(**changes):
    fields = {
        "id": "t-1",
        "outlet": "courier",
        "language": "en",
        "published": "2026-08-18T21:10:00Z",
        "title": "Brush fire near Houston",
        "text": "A brush fire burned 20 acres.",
        "topics": ["wildfire"],
        "places": ["Houston, Texas"],
        "story": "s-1",
    }
    return {**fields, **changes}


def write_set(tmp_path, *items, theme="theme", outlets=OUTLETS):
    (tmp_path / "outlets.json").write_text(json.dumps(outlets))
    (tmp_path / f"{theme}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in items))
    return tmp_path


def problems(tmp_path, *items):
    with pytest.raises(dataset.DatasetError) as raised:
        dataset.load_set(write_set(tmp_path, *items))
    return str(raised.value)


def test_a_good_item_loads_with_its_outlet_and_an_aware_utc_time(tmp_path):
    [loaded] = dataset.load_set(write_set(tmp_path, item(published="2026-08-18T23:10:00+02:00")))
    assert loaded.outlet.name == "Valley Courier"
    assert loaded.outlet.home == "US-CA"
    assert loaded.published.isoformat() == "2026-08-18T21:10:00+00:00"
    assert loaded.topics == {"wildfire"}
    assert loaded.url == "https://courier.example.org/news/t-1"


def test_unknown_topic_is_refused_with_file_line_and_id(tmp_path):
    message = problems(tmp_path, item(), item(id="t-2", topics=["wildfires", "wildfire"]))
    assert "theme.jsonl:2 t-2: unknown topics ['wildfires']" in message
    assert "t-1" not in message


def test_every_problem_is_reported_at_once(tmp_path):
    misspelt = item(topic=["wildfire"])
    del misspelt["topics"]
    message = problems(
        tmp_path,
        misspelt,
        item(id="t-2", outlet="nowhere", published="2026-08-18T21:10:00"),
        item(id="t-2"),
        item(id="t-3", topics=["wildfire", "wildfire"], title=""),
    )
    assert "theme.jsonl:1 t-1: unknown keys ['topic']; missing keys ['topics']" in message
    assert "unknown outlet 'nowhere'" in message
    assert "has no time zone" in message
    assert "theme.jsonl:3 t-2: id already used at theme.jsonl:2 t-2" in message
    assert "a topic is listed twice" in message
    assert "title must be a non-empty string" in message


def test_an_unknown_theme_is_refused(tmp_path):
    with pytest.raises(dataset.DatasetError, match="No theme floods; the themes are: theme"):
        dataset.load_set(write_set(tmp_path, item()), only=["floods"])


def test_two_outlets_may_share_a_name_but_not_a_feed(tmp_path):
    outlets = {**OUTLETS, "copy": {"name": "Other", "feed": OUTLETS["courier"]["feed"]}}
    with pytest.raises(dataset.DatasetError, match="share a feed URL"):
        dataset.load_set(write_set(tmp_path, item(), outlets=outlets))


@pytest.mark.django_db
def test_places_resolve_by_code_or_name_and_unknown_or_ambiguous_names_fail_loudly(tmp_path, regions):
    good = dataset.load_set(write_set(tmp_path, item(places=["Houston, Texas", "US-CA", "ML"])))
    dataset.resolve_places(good)
    assert good[0].place_codes == {"city:4699066", "US-CA", "ML"}

    bad = dataset.load_set(write_set(tmp_path, item(places=["Atlantis, Texas", "Los Angeles"])))
    with pytest.raises(dataset.DatasetError) as raised:
        dataset.resolve_places(bad)
    message = str(raised.value)
    assert "place 'Atlantis, Texas'" in message
    assert "place 'Los Angeles': “Los Angeles” could mean several places" in message
    assert "county:06037" in message and "city:5368361" in message


@pytest.mark.django_db
def test_an_unknown_home_region_fails(tmp_path, regions):
    outlets = {"courier": {**OUTLETS["courier"], "home": "US-ZZ"}}
    loaded = dataset.load_set(write_set(tmp_path, item(places=[]), outlets=outlets))
    with pytest.raises(dataset.DatasetError, match="home 'US-ZZ' is not a region code"):
        dataset.resolve_places(loaded)


def test_topic_arithmetic():
    expected = {"a": {"wildfire"}, "b": {"hazmat", "ems"}, "c": set()}
    got = {"a": {"wildfire", "ems"}, "b": {"hazmat"}, "c": {"flooding"}}
    micro, per_topic, misses = scoring.topic_scores(expected, got, ["wildfire", "hazmat", "ems", "flooding"])
    assert (micro.tp, micro.fp, micro.fn) == (2, 2, 1)
    assert micro.precision == 0.5
    assert micro.recall == pytest.approx(2 / 3)
    assert micro.f1 == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert (per_topic["ems"].tp, per_topic["ems"].fp, per_topic["ems"].fn) == (0, 1, 1)
    assert per_topic["ems"].f1 == 0.0
    assert per_topic["wildfire"].f1 == 1.0
    assert misses == [("a", [], ["ems"]), ("b", ["ems"], []), ("c", [], ["flooding"])]


def test_place_arithmetic_allows_containers_but_not_replacing_a_place_by_one():
    ancestors = {
        "US": set(),
        "US-IL": {"US"},
        "city:springfield": {"US", "US-IL"},
        "city:chicago": {"US", "US-IL"},
        "GE": set(),
        "US-GA": {"US"},
    }
    expected = {
        "beside": {"city:springfield"},
        "instead": {"city:springfield"},
        "extra": {"city:springfield"},
        "none": set(),
        "wrong-georgia": {"US-GA"},
        "two": {"city:springfield", "city:chicago", "US-IL"},
    }
    got = {
        "beside": {"city:springfield", "US-IL", "US"},
        "instead": {"US-IL"},
        "extra": {"city:springfield", "GE"},
        "none": set(),
        "wrong-georgia": {"GE"},
        "two": {"city:chicago", "city:springfield"},
    }
    right, total, misses = scoring.place_scores(expected, got, ancestors)
    assert (right, total) == (3, 6)
    assert misses == [
        ("instead", ["city:springfield"], ["US-IL"]),
        ("extra", ["city:springfield"], ["GE", "city:springfield"]),
        ("wrong-georgia", ["US-GA"], ["GE"]),
    ]


def test_pairwise_cluster_arithmetic():
    stories = {"a1": "A", "a2": "A", "a3": "A", "b1": "B", "c1": "C"}
    clusters = {"a1": 1, "a2": 1, "a3": 2, "b1": 2, "c1": 3}
    ratio, splits, merges = scoring.cluster_scores(stories, clusters)
    # Told: a1-a2, a1-a3, a2-a3. Grouped: a1-a2, a3-b1.
    assert (ratio.tp, ratio.fp, ratio.fn) == (1, 1, 2)
    assert ratio.precision == 0.5
    assert ratio.recall == pytest.approx(1 / 3)
    assert splits == [("A", [["a1", "a2"], ["a3"]])]
    assert merges == [(2, {"A": ["a3"], "B": ["b1"]})]


def test_no_pairs_at_all_is_perfect_not_a_division_by_zero():
    ratio, splits, merges = scoring.cluster_scores({"a": "A", "b": "B"}, {"a": 1, "b": 2})
    assert (ratio.precision, ratio.recall, ratio.f1) == (1.0, 1.0, 1.0)
    assert splits == merges == []


def test_outlet_checks():
    stories = {"a1": "A", "a2": "A", "a3": "A", "b1": "B", "b2": "B", "c1": "C", "d1": "D", "d2": "D"}
    clusters = {"a1": 1, "a2": 1, "a3": 1, "b1": 2, "b2": 3, "c1": 4, "d1": 5, "d2": 5}
    outlet_of = {"a1": "X", "a2": "X", "a3": "Y", "b1": "X", "b2": "Y", "c1": "X", "d1": "X", "d2": "Y"}
    right, checked, misses = scoring.outlet_checks(
        stories, clusters, outlet_of, {1: 2, 2: 1, 3: 1, 4: 1, 5: 1}
    )
    assert (right, checked) == (1, 3)
    assert misses == [("B", 2, "not one cluster of its own"), ("D", 2, "1 outlets")]


@pytest.mark.slow
@pytest.mark.django_db
def test_every_file_of_the_set_loads_and_its_places_resolve():
    items = dataset.load_set()
    assert {item.theme for item in items} == set(dataset.themes())
    load_gazetteer()
    dataset.resolve_places(items)
    assert all(item.place_codes or not item.places for item in items)
