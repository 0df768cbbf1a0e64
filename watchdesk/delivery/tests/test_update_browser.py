"""In a real browser: a moderator sends an update of a live post from its editor's menu, checks the
message and the count, confirms, and the update is on the post page and in the readers' inboxes."""

import pytest
from playwright.sync_api import expect

from watchdesk.delivery.models import Broadcast, Delivery
from watchdesk.posts.tests.test_browser import (  # noqa: F401 - browser is a fixture
    DESKTOP,
    browser,
    open_page,
    screenshot_dir,
)
from watchdesk.posts.tests.test_editor_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_moderator_sends_an_update_and_it_appears_on_the_post_page(
    browser,  # noqa: F811
    live_server,
    moderator,
    make_post,
    subscriber,
    topics,
    mail_server,
    settings,
):
    settings.TIME_ZONE = "America/Chicago"
    post = make_post("Evacuations ordered near Ridge Fire", topics=[topics["wildfire"]])
    subscriber("fires@example.net", topics=[topics["wildfire"]])
    subscriber("digest@example.net", cadence="daily")
    edit_url = f"/admin/pages/{post.pk}/edit/"
    shots = screenshot_dir()

    def send_update(chromium):
        with open_page(chromium, viewport=DESKTOP) as page:
            sign_in(page, live_server.url, "morgan", "correct horse 2", edit_url)
            page.get_by_role("button", name="Actions", exact=True).click()
            page.get_by_role("link", name="Send an update").click()
            expect(page.locator("[data-update-audience]")).to_have_text(
                "The update goes to 1 subscriber at once and into 1 reader’s next digest."
            )
            page.get_by_label("The update").fill("Evacuation order lifted for Pine Valley")
            page.get_by_role("button", name="Preview the update").click()
            expect(page.locator("[data-preview-subject]")).to_have_text(
                "Update on: Evacuations ordered near Ridge Fire"
            )
            expect(page.locator("[data-preview-text]")).to_contain_text(
                "Evacuation order lifted for Pine Valley"
            )
            page.screenshot(path=str(shots / "send-update-preview.png"))
            page.get_by_role("button", name="Send the update").click()
            page.wait_for_url(f"**{edit_url}")
            expect(page.get_by_text("Update of “Evacuations ordered near Ridge Fire” sent")).to_be_visible()

            page.goto(live_server.url + post.url)
            line = page.locator(".post-update")
            expect(line).to_have_count(1)
            expect(line).to_contain_text("Update, ")
            expect(line).to_contain_text(": Evacuation order lifted for Pine Valley")
            page.screenshot(path=str(shots / "post-page-update.png"))

    browser.run(send_update)
    update = Broadcast.objects.get(post=post, kind="update")
    assert update.created_by == moderator
    assert list(Delivery.objects.filter(broadcast=update).values_list("subscriber__email", flat=True)) == [
        "fires@example.net"
    ]
    [message] = [m for m in mail_server.to("fires@example.net") if m["Subject"].startswith("Update on:")]
    assert "Evacuation order lifted for Pine Valley" in message.get_body(("plain",)).get_content()
