"""The topic editor's "Preview rule": an edited rule run over recent wire items, gained and lost, unsaved."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from watchdesk.taxonomy.models import Topic
from watchdesk.taxonomy.tests.topic_fixtures import SAVED_RULE, form_data
from watchdesk.wire.models import Item

EDITED_RULE = "wildfire = 3\nbrush fire = 3"


def store_item(title, *, text="", first_seen_at=None):
    seen = first_seen_at or timezone.now()
    return Item.objects.create(
        guid=f"urn:test:{title}",
        url=f"https://news.example.org/{abs(hash(title))}",
        title=title,
        text=text,
        published_at=seen,
        first_seen_at=seen,
    )


@pytest.fixture
def recent_items(db):
    """Kept by both rules, gained by the edited rule, lost by it, unrelated, and too old to look at."""
    now = timezone.now()
    return {
        "kept": store_item("Wildfire near Paradise grows"),
        "gained": store_item("Brush fire closes Highway 1"),
        "lost": store_item("Smoke over the valley", text="Residents told to stay inside."),
        "unrelated": store_item("Council passes budget"),
        "old": store_item("Brush fire last month", first_seen_at=now - timedelta(days=10)),
    }


@pytest.mark.django_db
def test_preview_lists_items_gained_and_lost_and_saves_nothing(client, superuser, wildfire, recent_items):
    client.force_login(superuser)
    before = Topic.objects.get(pk=wildfire.pk).rule_updated_at

    response = client.post(
        reverse("wagtailsnippets_taxonomy_topic:edit", args=[wildfire.pk]),
        form_data(wildfire, rule_phrases=EDITED_RULE, preview_rule="1"),
    )

    assert response.status_code == 200
    preview = response.context["rule_preview"]
    assert [row.item for row in preview.gained] == [recent_items["gained"]]
    assert [row.item for row in preview.lost] == [recent_items["lost"]]
    assert preview.kept == 1
    assert preview.examined == 4  # the ten-day-old item is not looked at
    assert preview.gained[0].new.phrases == ["brush fire"]
    assert preview.lost[0].old.phrases == ["smoke"]

    page = response.content.decode()
    gained_table = page.split('id="rule-preview-gained"')[1].split("</table>")[0]
    lost_table = page.split('id="rule-preview-lost"')[1].split("</table>")[0]
    assert "Brush fire closes Highway 1" in gained_table and "brush fire" in gained_table
    assert "Smoke over the valley" in lost_table and "smoke" in lost_table
    assert "Brush fire last month" not in page
    assert "brush fire = 3</textarea>" in page  # the form keeps the unsaved edit
    assert 'name="preview_rule"' in page

    stored = Topic.objects.get(pk=wildfire.pk)
    assert stored.rule_phrases == SAVED_RULE
    assert stored.rule_updated_at == before


@pytest.mark.django_db
def test_an_editor_previews_then_saves(client, home, editor, wildfire, recent_items):
    client.force_login(editor)
    url = reverse("wagtailsnippets_taxonomy_topic:edit", args=[wildfire.pk])

    page = client.get(url)
    assert page.status_code == 200
    assert b'name="preview_rule"' in page.content
    assert b'id="rule-preview"' not in page.content

    preview = client.post(url, form_data(wildfire, rule_phrases=EDITED_RULE, preview_rule="1"))
    assert preview.status_code == 200
    assert [row.item for row in preview.context["rule_preview"].gained] == [recent_items["gained"]]
    assert Topic.objects.get(pk=wildfire.pk).rule_phrases == SAVED_RULE

    saved = client.post(url, form_data(wildfire, rule_phrases=EDITED_RULE))
    assert saved.status_code == 302
    assert Topic.objects.get(pk=wildfire.pk).rule_phrases == EDITED_RULE


@pytest.mark.django_db
def test_preview_on_a_new_topic_lists_what_it_would_file_and_creates_nothing(client, superuser, recent_items):
    client.force_login(superuser)

    response = client.post(
        reverse("wagtailsnippets_taxonomy_topic:add"),
        form_data(rule_phrases="brush fire = 3", preview_rule="1"),
    )

    assert response.status_code == 200
    preview = response.context["rule_preview"]
    assert [row.item for row in preview.gained] == [recent_items["gained"]]
    assert preview.lost == []
    assert "Brush fire closes Highway 1" in response.content.decode()
    assert not Topic.objects.exists()


@pytest.mark.django_db
def test_someone_without_permission_cannot_preview(client, home, outsider, wildfire, recent_items):
    client.force_login(outsider)
    response = client.post(
        reverse("wagtailsnippets_taxonomy_topic:edit", args=[wildfire.pk]),
        form_data(wildfire, rule_phrases=EDITED_RULE, preview_rule="1"),
    )
    assert response.status_code in {302, 403}
    assert b"Brush fire closes Highway 1" not in response.content


@pytest.mark.django_db
def test_preview_shows_which_phrases_counted_and_which_context_cancelled(client, superuser):
    outbreaks = Topic.objects.create(
        slug="disease-outbreak", name="Disease Outbreaks", rule_phrases="outbreak = 2", rule_threshold=3
    )
    tornado = store_item("Tornado outbreak flattens three towns")
    measles = store_item("Measles outbreak at day care", text="A tornado warning was issued later.")
    client.force_login(superuser)

    response = client.post(
        reverse("wagtailsnippets_taxonomy_topic:edit", args=[outbreaks.pk]),
        form_data(outbreaks, rule_phrases="outbreak = 2; not after: tornado\nmeasles = 3", preview_rule="1"),
    )

    assert response.status_code == 200
    preview = response.context["rule_preview"]
    assert [row.item for row in preview.lost] == [tornado]
    assert preview.kept == 1 and preview.gained == []
    (lost,) = preview.lost
    assert lost.old.phrases == ["outbreak"] and lost.new.phrases == []
    assert [str(entry) for entry in lost.new.cancelled] == ["outbreak (after “tornado”)"]

    lost_table = response.content.decode().split('id="rule-preview-lost"')[1].split("</table>")[0]
    edited_cell = lost_table.split("<td>")[3]
    assert "Cancelled by context:" in edited_cell
    assert "<s>outbreak</s> (after “tornado”)" in edited_cell
    assert "Counted:" not in edited_cell
    assert "Counted:" in lost_table.split("<td>")[2]  # the saved rule counted it
    assert measles.title not in lost_table
