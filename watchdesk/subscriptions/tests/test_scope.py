"""What a subscription covers: everything, topics anywhere, everything in places, or topics AND places
(a place includes the places inside it); the form says it in words with a count of recent posts, and
places are picked by name, with or without JavaScript (docs/subscriptions.md)."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.core.cache import cache
from django.utils import timezone

from watchdesk.posts.models import StoryPost
from watchdesk.subscriptions import scope, views
from watchdesk.subscriptions.models import Cadence, Subscriber
from watchdesk.taxonomy.models import Region

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def places(regions):
    """The test gazetteer plus Harris and Harrison Counties in Texas, and three Buttes."""

    def add(key, code, name, kind, parent, population=None):
        regions[key] = Region.objects.create(
            code=code, name=name, kind=kind, parent=parent, slug=key.replace("_", "-"), population=population
        )

    add("harris", "county:48201", "Harris County", "county", regions["texas"], 4_700_000)
    add("harrison", "county:48203", "Harrison County", "county", regions["texas"], 68_000)
    add("montana", "US-MT", "Montana", "state", regions["us"])
    add("idaho", "US-ID", "Idaho", "state", regions["us"])
    add("butte_mt", "city:5640350", "Butte", "city", regions["montana"], 34_000)
    add("butte_ca", "county:06007", "Butte County", "county", regions["california"], 220_000)
    add("butte_id", "county:16023", "Butte County", "county", regions["idaho"], 2_600)
    return regions


@pytest.fixture
def readers(subscriber, topics, regions):
    """One reader per kind of scope, named for what they chose."""
    return {
        "all": subscriber("all@example.net"),
        "hazmat": subscriber("hazmat@example.net", topics=[topics["hazmat"]]),
        "texas": subscriber("texas@example.net", regions=[regions["texas"]]),
        "hazmat_in_texas": subscriber(
            "hazmat-texas@example.net", topics=[topics["hazmat"]], regions=[regions["texas"]]
        ),
        "fire_or_flood_in_la_county": subscriber(
            "fire-flood-la@example.net",
            topics=[topics["wildfire"], topics["flooding"]],
            regions=[regions["la_county"], regions["mali"]],
        ),
        "nothing": subscriber("nothing@example.net", everything=False),
    }


def interested(topic_list, region_list):
    found = Subscriber.objects.interested_in_terms([t.pk for t in topic_list], [r.pk for r in region_list])
    return sorted(found.values_list("email", flat=True))


def test_topics_and_places_combine_with_and_and_a_place_includes_what_is_inside(readers, topics, regions):
    hazmat, wildfire, flooding = topics["hazmat"], topics["wildfire"], topics["flooding"]
    assert interested([hazmat], [regions["houston"]]) == [
        "all@example.net",
        "hazmat-texas@example.net",  # Houston is in Texas
        "hazmat@example.net",
        "texas@example.net",
    ]
    # Hazmat elsewhere: not the reader of hazmat in Texas (before issue 11 they got it).
    assert interested([hazmat], [regions["mali"]]) == ["all@example.net", "hazmat@example.net"]
    assert interested([hazmat], []) == ["all@example.net", "hazmat@example.net"]
    # Texas but not hazmat: not the reader of hazmat in Texas either.
    assert interested([wildfire], [regions["texas"]]) == ["all@example.net", "texas@example.net"]
    # Either topic, either place; the county's reader does not hear about the rest of California.
    assert interested([flooding, hazmat], [regions["la_county"]]) == [
        "all@example.net",
        "fire-flood-la@example.net",
        "hazmat@example.net",
    ]
    assert interested([wildfire], [regions["california"]]) == ["all@example.net"]
    assert interested([wildfire], [regions["mali"], regions["houston"]]) == [
        "all@example.net",
        "fire-flood-la@example.net",
        "texas@example.net",
    ]
    # A post with neither topics nor places: only those who take everything.
    assert interested([], []) == ["all@example.net"]


def test_the_post_side_twin_selects_the_same_pairs(readers, topics, regions, make_post):
    posts = [
        make_post(topics=[topics["hazmat"]], regions=[regions["houston"]]),
        make_post(topics=[topics["hazmat"]], regions=[regions["mali"]]),
        make_post(topics=[topics["wildfire"]], regions=[regions["texas"]]),
        make_post(topics=[topics["flooding"], topics["terrorism"]], regions=[regions["la_county"]]),
        make_post(topics=[topics["wildfire"]], regions=[regions["los_angeles"]]),
        make_post(),
    ]
    for reader in readers.values():
        by_post = {post.pk for post in posts if reader in Subscriber.objects.interested_in(post)}
        by_subscriber = set(reader.posts_in_scope(StoryPost.objects.all()).values_list("pk", flat=True))
        assert by_subscriber == by_post, reader.email
    assert not readers["nothing"].posts_in_scope(StoryPost.objects.all()).exists()
    hazmat_in_texas = readers["hazmat_in_texas"].posts_in_scope(StoryPost.objects.all())
    assert list(hazmat_in_texas) == [posts[0]]


# Words and counts ---------------------------------------------------------------------------------
def test_each_scope_in_words(topics, places):
    hazmat, wildfire = topics["hazmat"], topics["wildfire"]
    harris, mali = places["harris"], places["mali"]
    assert scope.sentence(scope.BOTH, [hazmat], [harris], Cadence.INSTANT) == (
        "Posts about Hazmat in Harris County, Texas, as soon as they are published."
    )
    assert scope.sentence(scope.BOTH, [hazmat, wildfire], [harris, mali], Cadence.DAILY) == (
        "Posts about Hazmat or Wildfire in Harris County, Texas or Mali, in a daily digest."
    )
    assert scope.sentence(scope.TOPICS, [hazmat], [harris], Cadence.WEEKLY) == (
        "Posts about Hazmat, wherever they happen, in a weekly digest."
    )
    assert scope.sentence(scope.PLACES, [hazmat], [mali], Cadence.INSTANT) == (
        "All our posts in Mali, as soon as they are published."
    )
    assert scope.sentence(scope.EVERYTHING, [], [], Cadence.DAILY) == "All our posts, in a daily digest."
    assert scope.sentence(scope.BOTH, [hazmat], [], Cadence.DAILY) is None
    assert scope.missing(scope.BOTH, [], []) == "Choose at least one topic and one place."
    assert set(scope.WHEN) == set(Cadence.values)


@pytest.fixture
def recent(make_post, topics, places):
    """Posts of the last 30 days (two hazmat in Harris County, one not e-mailed) and an older one."""
    now = timezone.now()
    make_post("Refinery fire", topics=[topics["hazmat"]], regions=[places["harris"]], published=now)
    make_post(
        "Rail spill",
        topics=[topics["hazmat"]],
        regions=[places["harris"]],
        published=now - timedelta(days=29),
    )
    make_post(
        "Quiet fix",
        topics=[topics["hazmat"]],
        regions=[places["harris"]],
        published=now,
        notify_subscribers=False,
    )
    make_post(
        "Old spill", topics=[topics["hazmat"]], regions=[places["harris"]], published=now - timedelta(days=31)
    )
    make_post("Bayou flood", topics=[topics["flooding"]], regions=[places["houston"]], published=now)
    make_post("Texas hazmat drill", topics=[topics["hazmat"]], regions=[places["texas"]], published=now)


def preview_html(client, data):
    """Submit the subscribe form with a bad address (so it comes back) and read the sentence and count."""
    html = client.post("/subscribe/", {"email": "not an address", **data}).content.decode()
    sentence = re.search(r"data-scope-sentence>([^<]*)<", html).group(1)
    count = re.search(r"data-scope-count>([^<]*)<", html).group(1)
    return unescape(sentence), unescape(count)


def test_the_form_says_what_the_reader_gets_and_counts_recent_posts(client, home, recent, topics, places):
    hazmat, harris, texas = topics["hazmat"].pk, places["harris"].pk, places["texas"].pk
    assert preview_html(client, {"scope": "both", "topics": [hazmat], "regions": [harris]}) == (
        "Posts about Hazmat in Harris County, Texas, as soon as they are published.",
        "2 posts in the last 30 days matched.",
    )
    assert preview_html(client, {"scope": "places", "regions": [texas], "cadence": "daily"}) == (
        "All our posts in Texas, in a daily digest.",
        "4 posts in the last 30 days matched.",
    )
    assert preview_html(client, {"scope": "topics", "topics": [hazmat], "regions": [texas]})[1] == (
        "3 posts in the last 30 days matched."
    )
    assert preview_html(client, {"scope": "everything"})[1] == "4 posts in the last 30 days matched."
    assert preview_html(client, {"scope": "both", "topics": [topics["terrorism"].pk], "regions": [harris]})[
        1
    ] == ("No posts in the last 30 days matched; you would get the next one that does.")
    assert preview_html(client, {"scope": "both", "topics": [hazmat]}) == ("Choose at least one place.", "")


def test_the_subscribe_page_takes_a_fixed_number_of_queries(client, home, recent, django_assert_num_queries):
    client.get("/subscribe/")
    # Settings, topics, the often-covered places (2), the count, and the page's own (site, identity...).
    with django_assert_num_queries(8):
        response = client.get("/subscribe/")
    assert "4 posts in the last 30 days matched." in response.content.decode()


# The JSON endpoints ------------------------------------------------------------------------------
def test_the_live_preview_answers_as_the_form_does_and_is_cached(
    client, recent, topics, places, django_assert_num_queries
):
    query = {
        "scope": "both",
        "topics": [topics["hazmat"].pk],
        "regions": [places["harris"].pk],
        "cadence": "weekly",
    }
    response = client.get("/subscribe/preview.json", query)
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=300"
    assert response.json() == {
        "sentence": "Posts about Hazmat in Harris County, Texas, in a weekly digest.",
        "count": 2,
        "count_text": "2 posts in the last 30 days matched.",
    }
    with django_assert_num_queries(0):
        assert client.get("/subscribe/preview.json", query).json()["count"] == 2
    # Junk is ignored, never an error; nothing chosen is a question, with no count.
    junk = client.get(
        "/subscribe/preview.json", {"scope": "both", "topics": ["x", "²", "-3"], "regions": ["1; drop"]}
    )
    assert junk.json() == {
        "sentence": "Choose at least one topic and one place.",
        "count": None,
        "count_text": "",
    }
    assert client.get("/subscribe/preview.json", {"scope": "nonsense"}).json()["count"] == 4


def test_the_type_ahead_suggests_from_the_whole_gazetteer(client, places, django_assert_num_queries):
    response = client.get("/subscribe/places.json", {"q": "Harr"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=300"
    assert response.json() == {
        "places": [
            {"id": places["harris"].pk, "name": "Harris County, Texas", "kind": "County"},
            {"id": places["harrison"].pk, "name": "Harrison County, Texas", "kind": "County"},
        ]
    }
    with django_assert_num_queries(0):
        assert client.get("/subscribe/places.json", {"q": " harr "}).json() == response.json()
    assert client.get("/subscribe/places.json", {"q": "H"}).json() == {"places": []}
    assert client.post("/subscribe/places.json", {"q": "Harr"}).status_code == 405


def test_the_type_ahead_puts_places_the_site_covers_first(client, make_post, places):
    """The gazetteer has no population for counties: without posts, the bigger Harris County leads; once
    the site posts about Harrison County, a reader typing "Harr" most likely means that one."""

    def names():
        return [
            place["name"] for place in client.get("/subscribe/places.json", {"q": "Harr"}).json()["places"]
        ]

    assert names() == ["Harris County, Texas", "Harrison County, Texas"]
    make_post("Pipeline leak near Marshall", regions=[places["harrison"]], published=timezone.now())
    cache.clear()
    assert names() == ["Harrison County, Texas", "Harris County, Texas"]
    # An exact name still comes first.
    assert client.get("/subscribe/places.json", {"q": "Harris County"}).json()["places"][0]["name"] == (
        "Harris County, Texas"
    )


def test_a_network_asking_too_often_is_refused_but_cached_answers_still_flow(client, places, monkeypatch):
    monkeypatch.setattr(views, "HELPER_IP_LIMIT", 2)
    assert client.get("/subscribe/places.json", {"q": "Harr"}).status_code == 200
    assert client.get("/subscribe/places.json", {"q": "Butte"}).status_code == 200
    assert client.get("/subscribe/places.json", {"q": "Mont"}).status_code == 429
    assert client.get("/subscribe/places.json", {"q": "Harr"}).status_code == 200  # from the cache
    assert client.get("/subscribe/preview.json", {"scope": "everything"}).status_code == 429


# Places by name, without JavaScript ------------------------------------------------------------------
def test_typed_place_names_are_read_on_the_server(client, home, topics, places):
    response = client.post(
        "/subscribe/",
        {
            "email": "typist@example.net",
            "scope": "both",
            "topics": [topics["hazmat"].pk],
            "place_names": "Harris County, Texas; Mali ;TX",
            "cadence": "daily",
        },
    )
    assert response.status_code == 303
    reader = Subscriber.objects.get(email="typist@example.net")
    assert not reader.everything and reader.cadence == "daily"
    assert {r.slug for r in reader.regions.all()} == {"harris", "mali", "texas"}


def test_a_name_of_several_places_is_answered_with_the_choices(client, home, topics, places):
    data = {"email": "butte@example.net", "scope": "places", "place_names": "Butte", "cadence": "instant"}
    response = client.post("/subscribe/", data)

    assert response.status_code == 200
    html = unescape(response.content.decode())
    assert (
        "“Butte” could be Butte, Montana; Butte County, California or Butte County, Idaho. "
        "Tick the one you mean below, or type its full name." in html
    )
    for key, name in [("butte_mt", "Butte, Montana"), ("butte_ca", "Butte County, California")]:
        pk = places[key].pk
        assert f'name="regions" value="{pk}" id="id_regions_{pk}"> {name}</label>' in html  # unticked
    assert not Subscriber.objects.exists()

    # Ticking one answers the question, even with the name still in the box.
    response = client.post("/subscribe/", {**data, "regions": [places["butte_ca"].pk]})
    assert response.status_code == 303
    assert [r.slug for r in Subscriber.objects.get().regions.all()] == ["butte-ca"]


def test_an_unknown_place_is_an_error(client, home, places):
    response = client.post(
        "/subscribe/",
        {"email": "x@example.net", "scope": "places", "place_names": "Atlantis", "cadence": "instant"},
    )
    assert response.status_code == 200
    assert "We know no place called “Atlantis”." in unescape(response.content.decode())
    assert not Subscriber.objects.exists()


def test_each_scope_needs_its_choices(client, home, topics, places):
    def errors(data):
        html = client.post("/subscribe/", {"email": "e@example.net", "cadence": "instant", **data}).content
        return re.findall(r'<ul class="errorlist"[^>]*><li>([^<]*)</li>', unescape(html.decode()))

    assert errors({"scope": "topics", "regions": [places["mali"].pk]}) == ["Choose at least one topic."]
    assert errors({"scope": "places", "topics": [topics["hazmat"].pk]}) == ["Choose at least one place."]
    assert errors({"scope": "both"}) == ["Choose at least one topic and one place."]
    # Typed names are read only where places count.
    assert errors({"scope": "topics", "topics": [topics["hazmat"].pk], "place_names": "Atlantis"}) == []
    assert not Subscriber.objects.exclude(email="e@example.net").exists()


# Preferences ---------------------------------------------------------------------------------------
def test_switching_scope_keeps_only_what_the_scope_uses(client, readers, topics, regions):
    reader = readers["hazmat_in_texas"]
    url = f"/subscribe/preferences/{reader.link_token}/"
    html = unescape(client.get(url).content.decode())
    assert 'value="both" id="id_scope_3" required checked' in html
    assert "Posts about Hazmat in Texas, as soon as they are published." in html
    assert "about one of your topics and in one of your places" in html  # the change from OR, said

    def save(**data):
        response = client.post(
            url,
            {"cadence": "instant", "topics": [topics["hazmat"].pk], "regions": [regions["texas"].pk], **data},
        )
        assert response.status_code == 303
        reader.refresh_from_db()
        return (
            reader.everything,
            [t.slug for t in reader.topics.all()],
            [r.slug for r in reader.regions.all()],
        )

    assert save(scope="everything") == (True, ["hazmat"], ["texas"])  # kept for switching back
    assert save(scope="topics") == (False, ["hazmat"], [])
    assert save(scope="places") == (False, [], ["texas"])
    assert save(scope="both") == (False, ["hazmat"], ["texas"])
    assert reader.scope_summary() == "Hazmat in Texas"
