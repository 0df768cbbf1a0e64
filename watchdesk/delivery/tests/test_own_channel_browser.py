"""In a real browser: an editor adds their own alert channel under Account > Notifications, tests it, is
alerted there when a story breaks, and removes it."""

import json

import pytest
from playwright.sync_api import expect

from watchdesk.delivery import channels
from watchdesk.delivery.models import Channel
from watchdesk.posts.tests.test_browser import (  # noqa: F401 - browser is a fixture
    DESKTOP,
    browser,
    open_page,
    screenshot_dir,
)
from watchdesk.testing.webserver import Reply
from watchdesk.wire import alerts
from watchdesk.wire.tests import inbox_fixtures
from watchdesk.wire.tests.conftest import make_item, source  # noqa: F401 - fixtures of story

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
story = inbox_fixtures.story


def test_an_editor_adds_their_own_channel_and_is_alerted_there(
    browser,  # noqa: F811
    live_server,
    home,
    editor,
    story,
    receiver,
):
    shots = screenshot_dir()
    editor.first_name, editor.last_name = "Erin", "Hale"  # the account form requires a name
    editor.save()
    url = f"json://127.0.0.1:{receiver.port}/hook/erins-t0ken"
    receiver.routes["/hook/erins-t0ken"] = Reply(200, {}, b"ok")

    def sign_in(page):
        page.goto(f"{live_server.url}/admin/login/?next=/admin/account/")
        page.locator("#id_username").fill("erin")
        page.locator("#id_password").fill("correct horse 1")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/admin/account/")
        page.get_by_role("tab", name="Notifications").click()

    def add_and_test(chromium):
        with open_page(chromium, viewport=DESKTOP) as page:
            sign_in(page)
            page.get_by_label("On duty").check()
            page.get_by_label("Name", exact=True).fill("Phone")
            page.get_by_label("Add a channel").fill(url)
            page.get_by_role("button", name="Save", exact=True).click()
            expect(page.locator(".messages")).to_contain_text("changed successfully")
            page.get_by_role("tab", name="Notifications").click()
            listed = page.locator(".own-channel")
            expect(listed).to_contain_text("erin: Phone")
            expect(listed).to_contain_text(channels.mask_url(url))
            expect(listed).not_to_contain_text("erins-t0ken")
            expect(page.get_by_label("Add a channel")).to_have_value("")
            page.screenshot(path=str(shots / "own-alert-channel.png"), full_page=True)
            page.get_by_role("button", name="Send a test to erin: Phone").click()
            expect(page.locator(".messages")).to_contain_text("Test message delivered to “erin: Phone”")

    browser.run(add_and_test)

    channel = Channel.objects.get()
    assert (channel.owner, channel.purpose, channel.url) == (editor, "editors", url)
    assert [json.loads(r.body)["title"] for r in receiver.requests] == ["Test alert from Watchdesk"]

    fire = story("Ridge Fire jumps Highway 70", breaking=True)
    alerts.evaluate()  # a transactional test: the alert commits at once, and its channel messages follow
    alert = json.loads(receiver.requests[-1].body)
    assert alert["title"] == "Breaking: Ridge Fire jumps Highway 70"
    assert f"/admin/inbox/{fire.pk}/" in alert["message"]

    def remove(chromium):
        with open_page(chromium, viewport=DESKTOP) as page:
            sign_in(page)
            page.get_by_role("button", name="Remove erin: Phone").click()
            expect(page.locator(".messages")).to_contain_text("removed")
            page.get_by_role("tab", name="Notifications").click()
            expect(page.locator(".own-channel")).to_have_count(0)

    browser.run(remove)
    assert not Channel.objects.exists()
