"""An audience manager adds a channel in a real browser and clicks "Send a test": the local json://
receiver gets the message and the page says so, with the URL's secret masked."""

import json

import pytest
from playwright.sync_api import expect

from watchdesk.delivery.models import Channel
from watchdesk.posts.tests.test_browser import (  # noqa: F401 - browser is a fixture
    DESKTOP,
    browser,
    open_page,
)
from watchdesk.posts.tests.test_editor_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_adding_a_channel_and_sending_a_test(browser, live_server, audience_manager, receiver):  # noqa: F811
    url = f"json://ops:hunter22@127.0.0.1:{receiver.port}/hook"

    def add_and_test(chromium):
        with open_page(chromium, viewport=DESKTOP) as page:
            sign_in(page, live_server.url, "ada", "correct horse 5", "/admin/channels/")
            page.get_by_role("link", name="Add channel").first.click()
            page.get_by_label("Name").fill("County ops")
            page.get_by_label("URL").fill(url)
            page.get_by_role("button", name="Create").click()
            expect(page.get_by_text("County ops").first).to_be_visible()
            listing = page.content()
            page.get_by_role("link", name="County ops").first.click()
            if "/inspect/" not in page.url:  # the name links to the edit view: the inspect page from there
                page.goto(page.url.replace("/edit/", "/inspect/"))
            page.get_by_role("button", name="Send a test").click()
            expect(page.get_by_text("Test message delivered to “County ops”.")).to_be_visible()
            expect(page.locator("[data-deliveries] tr[data-status='sent']")).to_have_count(1)
            return listing, page.content()

    listing, inspect = browser.run(add_and_test)
    assert "hunter22" not in listing and "hunter22" not in inspect
    assert f"json://ops:****@127.0.0.1:{receiver.port}/hook" in inspect
    assert Channel.objects.get().url == url
    (request,) = receiver.hits("/hook")
    assert json.loads(request.body)["title"] == "Test alert from Watchdesk"
