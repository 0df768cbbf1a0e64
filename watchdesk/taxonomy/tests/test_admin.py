"""Topics and regions are edited in the Wagtail admin by editors; outsiders are refused."""

import pytest
from django.urls import reverse

from watchdesk.taxonomy.models import Region, Topic


@pytest.mark.django_db
def test_an_editor_adds_a_topic(client, home, editor):
    client.force_login(editor)
    response = client.post(
        reverse("wagtailsnippets_taxonomy_topic:add"),
        {"name": "Hazmat", "slug": "hazmat", "description": "Spills and leaks."},
    )
    assert response.status_code == 302
    assert Topic.objects.get(slug="hazmat").description == "Spills and leaks."


@pytest.mark.django_db
def test_an_editor_searches_and_renames_a_region(client, home, editor, regions):
    client.force_login(editor)
    listing = client.get(reverse("wagtailsnippets_taxonomy_region:list"), {"q": "Los Angeles"})
    assert listing.status_code == 200
    assert b"Los Angeles County" in listing.content
    assert b"Houston" not in listing.content

    city = regions["los_angeles"]
    response = client.post(
        reverse("wagtailsnippets_taxonomy_region:edit", args=[city.pk]),
        {
            "name": "City of Los Angeles",
            "slug": city.slug,
            "kind": "city",
            "code": city.code,
            "parent": regions["la_county"].pk,
            "population": "",
        },
    )
    assert response.status_code == 302
    city.refresh_from_db()
    assert city.name == "City of Los Angeles"
    assert city.path == "US/US-CA/county:06037/city:5368361/"


@pytest.mark.django_db
def test_a_region_cannot_be_moved_inside_itself(client, home, moderator, regions):
    client.force_login(moderator)
    state = regions["california"]
    response = client.post(
        reverse("wagtailsnippets_taxonomy_region:edit", args=[state.pk]),
        {
            "name": state.name,
            "slug": state.slug,
            "kind": "state",
            "code": state.code,
            "parent": regions["los_angeles"].pk,
            "population": "",
        },
    )
    assert response.status_code == 200
    assert b"A region cannot sit inside itself." in response.content
    assert Region.objects.get(pk=state.pk).path == "US/US-CA/"


@pytest.mark.django_db
def test_someone_without_permission_cannot_edit_topics(client, home, outsider):
    client.force_login(outsider)
    response = client.get(reverse("wagtailsnippets_taxonomy_topic:add"))
    assert response.status_code in {302, 403}
    assert not Topic.objects.exists()
