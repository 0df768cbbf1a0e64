"""Editors edit topic rules in the admin; a rule is checked, and previewed before saving by the app that
registers the preview_topic_rule hook (the wire: wire/tests/test_rule_preview.py)."""

from types import SimpleNamespace

import pytest
from django.urls import reverse
from wagtail import hooks

from watchdesk.taxonomy import views
from watchdesk.taxonomy.models import Topic
from watchdesk.taxonomy.tests.topic_fixtures import SAVED_RULE, form_data


@pytest.mark.django_db
@pytest.mark.parametrize("previewing", [True, False])
def test_a_bad_rule_gets_a_field_error_and_is_not_saved(client, superuser, wildfire, previewing):
    client.force_login(superuser)
    data = form_data(
        wildfire, rule_phrases="wildfire = 3\nbrush fire = strong", rule_negative="fire sale = -1"
    )
    if previewing:
        data["preview_rule"] = "1"

    response = client.post(reverse("wagtailsnippets_taxonomy_topic:edit", args=[wildfire.pk]), data)

    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["rule_phrases"] == ["Line 2: weight must be a number, not “strong”"]
    assert form.errors["rule_negative"] == ["Line 1: weight must be more than 0"]
    assert "Line 2: weight must be a number" in response.content.decode()
    assert "rule_preview" not in response.context
    assert Topic.objects.get(pk=wildfire.pk).rule_phrases == SAVED_RULE


@pytest.mark.django_db
def test_threshold_and_required_group_are_checked(client, superuser):
    client.force_login(superuser)
    response = client.post(
        reverse("wagtailsnippets_taxonomy_topic:add"),
        form_data(rule_phrases="", rule_required="border = 2", rule_threshold=0),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["rule_threshold"] == [
        "The threshold must be more than 0, or items with no matching phrase could pass."
    ]
    assert errors["rule_required"] == ["Line 1: these phrases take no weight (remove “= 2”)"]
    assert not Topic.objects.exists()


@pytest.mark.django_db
def test_the_topic_list_shows_each_rule_in_short(client, home, editor, wildfire):
    Topic.objects.create(slug="training", name="Training")
    client.force_login(editor)
    response = client.get(reverse("wagtailsnippets_taxonomy_topic:list"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "2 phrases, 1 negative; threshold 3" in page
    assert "No rule" in page


@pytest.mark.django_db
def test_a_topic_without_a_rule_needs_no_threshold(client, superuser):
    client.force_login(superuser)
    data = form_data(name="Hazmat", slug="hazmat", rule_threshold="")
    response = client.post(reverse("wagtailsnippets_taxonomy_topic:add"), data)
    assert response.status_code == 302
    assert Topic.objects.get(slug="hazmat").rule_threshold == 3


@pytest.mark.django_db
def test_the_preview_comes_from_the_hook_registered_last(client, superuser, wildfire):
    asked = []

    def previewer(saved, edited, *, days, limit):
        asked.append((saved.rule_phrases, edited.rule_phrases, days, limit))
        return SimpleNamespace(gained=[], lost=[], kept=2, examined=5, days=days, limit=limit)

    client.force_login(superuser)
    with hooks.register_temporarily(views.PREVIEW_HOOK, previewer):
        response = client.post(
            reverse("wagtailsnippets_taxonomy_topic:edit", args=[wildfire.pk]),
            form_data(wildfire, rule_phrases="ember = 3", preview_rule="1"),
        )

    assert response.status_code == 200
    assert asked == [(SAVED_RULE, "ember = 3", views.PREVIEW_DAYS, views.PREVIEW_LIMIT)]
    assert "would add <strong>0</strong>" in response.content.decode()
    assert Topic.objects.get(pk=wildfire.pk).rule_phrases == SAVED_RULE


@pytest.mark.django_db
def test_without_a_previewer_the_editor_has_no_preview_button(client, superuser, wildfire, monkeypatch):
    monkeypatch.setattr(views, "rule_previewer", lambda: None)
    client.force_login(superuser)
    url = reverse("wagtailsnippets_taxonomy_topic:edit", args=[wildfire.pk])
    assert b'name="preview_rule"' not in client.get(url).content
    assert client.post(url, form_data(wildfire, rule_phrases="ember = 3")).status_code == 302


@pytest.mark.django_db
def test_context_clauses_are_checked_saved_and_explained_on_the_form(client, superuser, wildfire):
    client.force_login(superuser)
    url = reverse("wagtailsnippets_taxonomy_topic:edit", args=[wildfire.pk])
    assert "not after: tornado, storm" in client.get(url).content.decode()  # the help text

    refused = client.post(url, form_data(wildfire, rule_phrases="wildfire = 3\nfire; not nearby: drill"))
    assert refused.status_code == 200
    assert refused.context["form"].errors["rule_phrases"] == [
        "Line 2: after “;” write a context such as “not after: tornado” or “near 8: chemical, leak”, "
        "not “not nearby: drill”"
    ]

    rule = "wildfire = 3\nfire = 1; not near 3: drill, exercise"
    saved = client.post(url, form_data(wildfire, rule_phrases=rule))
    assert saved.status_code == 302
    assert Topic.objects.get(pk=wildfire.pk).rule_phrases == rule
