"""In a real browser: a moderator tries to publish a wire draft as it came, reads why not on the fields,
rewrites it, and publishes."""

import re

import pytest
from playwright.sync_api import expect

from watchdesk.posts.models import StoryPost
from watchdesk.posts.originality import COPY_MESSAGE, MARKER_MESSAGE
from watchdesk.posts.tests.test_browser import (  # noqa: F401 - browser is a fixture
    DESKTOP,
    browser,
    open_page,
    screenshot_dir,
)
from watchdesk.wire.drafting import draft_post
from watchdesk.wire.tests import inbox_fixtures
from watchdesk.wire.tests.test_publish_guard import SUMMARY

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
story = inbox_fixtures.story


def test_a_moderator_must_rewrite_a_wire_draft_before_it_publishes(
    browser,  # noqa: F811
    live_server,
    home,
    editor,
    moderator,
    story,
):
    post = draft_post(story("Crews hold the Ridge Fire line as winds ease", summary=SUMMARY), user=editor)
    edit_url = f"/admin/pages/{post.pk}/edit/"
    shots = screenshot_dir()

    def publish(page):
        button = page.locator('button[name="action-publish"]')
        if not button.is_visible():
            page.locator("footer [data-w-dropdown-target='toggle']").last.click()
        button.click()

    def try_and_rewrite(chromium):
        with open_page(chromium, viewport=DESKTOP) as page:
            page.goto(f"{live_server.url}/admin/login/?next={edit_url}")
            page.locator("#id_username").fill("morgan")
            page.locator("#id_password").fill("correct horse 2")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"**{edit_url}")
            page.on("dialog", lambda dialog: dialog.accept())  # "Publish and e-mail now?"

            publish(page)
            expect(page.locator("#panel-child-content-body-section")).to_contain_text(MARKER_MESSAGE)
            expect(page.locator("#panel-child-content-summary-section")).to_contain_text(COPY_MESSAGE)
            page.screenshot(path=str(shots / "wire-draft-refused.png"), full_page=True)

            page.locator("#id_summary").fill("The Ridge Fire line held overnight; 400 homes stay evacuated.")
            body = page.locator("#panel-child-content-body-section [contenteditable=true]")
            body.click()
            page.keyboard.press("Control+A")
            page.keyboard.type("Firefighters kept the Ridge Fire inside its lines as the wind dropped.")
            # Draftail copies its content into the form's hidden input a moment after the last keystroke;
            # a click before then would submit the old body.
            expect(page.locator("input[name=body]")).to_have_value(re.compile("Firefighters kept the Ridge"))
            publish(page)
            page.wait_for_url(lambda url: "/edit/" not in url)

    browser.run(try_and_rewrite)
    post = StoryPost.objects.get(pk=post.pk)
    assert post.live
    assert post.summary == "The Ridge Fire line held overnight; 400 homes stay evacuated."
    assert "Firefighters kept the Ridge Fire" in post.body and "Draft from the wire" not in post.body
