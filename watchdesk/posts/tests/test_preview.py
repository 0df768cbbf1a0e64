"""The admin's preview panel frames a rendering of the post; nothing else on the site may be framed."""

import pytest
from django.urls import reverse

from watchdesk.posts.tests.test_editing import form_data


def directives(response):
    return dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))


@pytest.mark.django_db
def test_the_preview_may_be_framed_by_the_admin_only(client, editor, make_post):
    post = make_post("Framed story")
    client.force_login(editor)
    url = reverse("wagtailadmin_pages:preview_on_edit", args=[post.pk])
    assert client.post(url, form_data(post, title="Framed draft")).json()["is_valid"] is True

    response = client.get(url, {"in_preview_panel": "true"})

    assert response.status_code == 200
    assert b"Framed draft" in response.content
    policy = directives(response)
    assert policy["frame-ancestors"] == "'self'"
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    # The rest of the public policy still holds inside the preview.
    assert policy["script-src"] == "'self'" and policy["default-src"] == "'self'"


@pytest.mark.django_db
def test_public_pages_still_refuse_every_frame(client, editor, make_post):
    post = make_post("Public story")
    client.force_login(editor)  # signed in or not, the public page is the same

    for response in (client.get(post.url), client.get("/")):
        assert response.status_code == 200
        assert directives(response)["frame-ancestors"] == "'none'"
        assert response["X-Frame-Options"] == "DENY"
