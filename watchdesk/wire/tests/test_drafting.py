"""One click from the inbox to a draft post, filled in from the story and linked back to it."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from watchdesk.posts.models import StoryPost
from watchdesk.taxonomy.models import Region
from watchdesk.wire.drafting import DRAFT_MARKER, draft_post, trim_to_sentences
from watchdesk.wire.models import Cluster, ItemPlace, ItemTopic
from watchdesk.wire.tests import inbox_fixtures

pytestmark = pytest.mark.django_db
story = inbox_fixtures.story  # a fixture: cluster, items, topic and place links

SUMMARY = (
    "<p>Crews held the Ridge Fire line overnight as winds eased. About 400 homes remain under evacuation "
    "orders.</p><p>Officials said containment reached 35% &amp; could double by Friday.</p>"
)


@pytest.fixture
def fire(story, topics, regions):
    return story(
        "Crews hold the Ridge Fire line as winds ease",
        outlets=3,
        summary=SUMMARY,
        topics={topics["wildfire"]: (7.5, ["fire line", "evacuation"]), topics["hazmat"]: (3.0, ["smoke"])},
        places={regions["los_angeles"]: (0.9, "title"), regions["california"]: (0.6, "text")},
    )


def test_an_editor_drafts_a_post_in_one_click_and_lands_in_the_editor(
    client, home, editor, fire, topics, regions
):
    client.force_login(editor)
    response = client.post(reverse("inbox:draft", args=[fire.pk]))

    post = StoryPost.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("wagtailadmin_pages:edit", args=[post.pk])
    lead = fire.test_items[0]
    assert post.title == "Crews hold the Ridge Fire line as winds ease"
    # The summary field asks for two sentences at most; the body quotes all of it.
    assert post.summary == (
        "Crews held the Ridge Fire line overnight as winds eased. About 400 homes remain under evacuation "
        "orders."
    )
    assert DRAFT_MARKER in post.body
    assert (
        "<blockquote>Officials said containment reached 35% &amp; could double by Friday.</blockquote>"
        in post.body
    )
    assert (post.source_name, post.source_url, post.byline) == ("Outlet 1", lead.url, "Dana Ortiz")
    assert post.source_published_at == lead.published_at
    assert [topic.slug for topic in post.topics.order_by("name")] == ["hazmat", "wildfire"]
    assert [link.region for link in post.region_links.order_by("sort_order")] == [
        regions["los_angeles"],
        regions["california"],
    ]
    assert post.notify_subscribers
    # A draft: saved as a revision under the home page, never published.
    assert not post.live and post.has_unpublished_changes and post.first_published_at is None
    assert post.get_parent().specific == home and post.owner == editor
    assert post.latest_revision is not None and post.latest_revision.user == editor
    fire.refresh_from_db()
    assert (fire.post_id, fire.status, fire.status_changed_by) == (post.pk, "drafted", editor)

    editor_page = client.get(response["Location"])
    assert editor_page.status_code == 200
    assert 'value="Crews hold the Ridge Fire line as winds ease"' in editor_page.content.decode()


def test_drafting_a_drafted_story_opens_its_post_instead_of_making_another(client, home, editor, fire):
    client.force_login(editor)
    first = client.post(reverse("inbox:draft", args=[fire.pk]))
    again = client.post(reverse("inbox:draft", args=[fire.pk]), follow=True)
    assert StoryPost.objects.count() == 1
    assert again.redirect_chain[-1][0] == first["Location"]
    assert "was drafted already" in again.content.decode()
    assert draft_post(fire, user=editor).pk == StoryPost.objects.get().pk


def test_a_story_whose_draft_was_deleted_can_be_drafted_again(home, editor, fire):
    post = draft_post(fire, user=editor)
    post.delete()
    fire.refresh_from_db()
    assert fire.post_id is None
    again = draft_post(fire, user=editor)
    assert again.pk != post.pk and StoryPost.objects.count() == 1


def test_two_stories_with_one_title_get_two_posts(home, editor, story):
    first = draft_post(story("Boil-water notice lifted"), user=editor)
    second = draft_post(story("Boil-water notice lifted"), user=editor)
    assert first.pk != second.pk and first.slug != second.slug


def test_a_single_item_can_be_drafted_and_gets_a_story_to_link_back(home, editor, make_item):
    item = make_item(
        "Bridge closed after barge strike", summary="<p>The bridge is closed.</p>", date_guessed=True
    )
    post = draft_post(item, user=editor)
    item.refresh_from_db()
    cluster = Cluster.objects.get(pk=item.cluster_id)
    assert (cluster.post_id, cluster.status, cluster.lead_id) == (post.pk, "drafted", item.pk)
    assert post.source_name == "Valley Courier"
    assert post.source_published_at is None  # the feed gave no date: no date is better than a wrong one
    assert draft_post(item, user=editor).pk == post.pk


def test_the_draft_takes_at_most_five_places_best_first(home, editor, story, regions):
    cluster = story("Storm across the South")
    lead = cluster.test_items[0]
    extra = [
        Region.objects.create(
            code=f"city:{n}", name=f"Town {n}", kind="city", parent=regions["texas"], slug=f"t{n}"
        )
        for n in range(5)
    ]
    for n, region in enumerate([*extra, regions["houston"], regions["texas"]]):
        ItemPlace.objects.create(item=lead, region=region, confidence=0.3 + n / 10, origin="text")
    post = draft_post(cluster, user=editor)
    chosen = [link.region for link in post.region_links.order_by("sort_order")]
    assert chosen == [regions["texas"], regions["houston"], extra[4], extra[3], extra[2]]


def test_the_draft_falls_back_to_the_storys_topics_and_places(home, editor, story, topics, regions):
    cluster = story("Quiet lead", outlets=2)
    other = cluster.test_items[1]
    ItemTopic.objects.create(item=other, topic=topics["flooding"], score=5, phrases=["flood"])
    ItemPlace.objects.create(item=other, region=regions["houston"], confidence=0.8, origin="title")
    post = draft_post(cluster, user=editor)
    assert [topic.slug for topic in post.topics.all()] == ["flooding"]
    assert [link.region for link in post.region_links.all()] == [regions["houston"]]


def test_a_long_summary_is_cut_at_a_sentence(home, editor, story):
    sentence = "The county opened two more shelters for families leaving the burn area overnight and said "
    sentence += "that buses would run from the fairgrounds every half hour until the evacuation order lifts. "
    cluster = story("Shelters open", summary=f"<p>{sentence * 8}</p>")
    post = draft_post(cluster, user=editor)
    assert post.summary == (sentence * 2).strip()  # two sentences, under 400 characters
    cluster = story("Shelters open again", summary=f"<p>{sentence.strip()[:-1]}, {sentence * 3}</p>")
    post = draft_post(cluster, user=editor)
    assert post.summary == sentence.strip()[:-1] + ", " + sentence.strip()  # a third would pass 400


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Short. Enough.", "Short. Enough."),
        ("One. Two sentences. Three is too many.", "One. Two sentences."),
        ("One sentence here. " + "x" * 400, "One sentence here."),
        ("U.S. officials said the dam held. " + "More words follow here. " * 20, None),
        ("word " * 120, None),
    ],
)
def test_trim_to_sentences(text, expected):
    trimmed = trim_to_sentences(text, 400)
    assert len(trimmed) <= 400
    if expected is not None:
        assert trimmed == expected
    elif text.startswith("U.S."):
        assert trimmed.startswith("U.S. officials said the dam held.") and trimmed.endswith("here.")
    else:
        assert trimmed.endswith("…") and not trimmed.endswith(" …")


def test_someone_who_may_not_add_pages_gets_an_error_and_no_post(client, home, django_user_model, fire):
    staff = django_user_model.objects.create_user("pat", "pat@example.org", "correct horse 9")
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["access_admin", "change_cluster"]))
    client.force_login(staff)
    response = client.post(reverse("inbox:draft", args=[fire.pk]), follow=True)
    assert "You may not add posts" in response.content.decode()
    assert not StoryPost.objects.exists()
    fire.refresh_from_db()
    assert (fire.status, fire.post_id) == ("new", None)


def test_outsiders_cannot_draft(client, home, outsider, fire):
    client.force_login(outsider)
    client.post(reverse("inbox:draft", args=[fire.pk]))
    assert not StoryPost.objects.exists()


def test_drafting_works_from_the_story_page_too(client, home, editor, fire):
    client.force_login(editor)
    page = client.get(reverse("inbox:cluster", args=[fire.pk])).content.decode()
    assert reverse("inbox:draft", args=[fire.pk]) in page
    client.post(reverse("inbox:draft", args=[fire.pk]), {"next": reverse("inbox:cluster", args=[fire.pk])})
    page = client.get(reverse("inbox:cluster", args=[fire.pk])).content.decode()
    assert (
        "Open draft" in page and reverse("wagtailadmin_pages:edit", args=[StoryPost.objects.get().pk]) in page
    )


def test_a_snoozed_story_drafted_is_no_longer_snoozed(home, editor, story):
    cluster = story("Woke up", status="snoozed", snoozed_until=timezone.now() + timedelta(hours=4))
    draft_post(cluster, user=editor)
    cluster.refresh_from_db()
    assert (cluster.status, cluster.snoozed_until) == ("drafted", None)
