"""In a real browser: an editor goes on duty in their account settings, and is e-mailed the next alert."""

import pytest
from playwright.sync_api import expect

from watchdesk.posts.tests.test_browser import (  # noqa: F401 - browser is a fixture
    DESKTOP,
    browser,
    open_page,
    screenshot_dir,
)
from watchdesk.wire import alerts
from watchdesk.wire.models import DeskAlertPreference
from watchdesk.wire.tests import inbox_fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
story = inbox_fixtures.story


def test_an_editor_turns_alerts_on_in_the_admin(
    browser,  # noqa: F811
    live_server,
    home,
    editor,
    story,
    mail_server,
):
    shots = screenshot_dir()
    editor.first_name, editor.last_name = "Erin", "Hale"  # the account form requires a name
    editor.save()

    def go_on_duty(chromium):
        with open_page(chromium, viewport=DESKTOP) as page:
            page.goto(f"{live_server.url}/admin/login/?next=/admin/account/")
            page.locator("#id_username").fill("erin")
            page.locator("#id_password").fill("correct horse 1")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url("**/admin/account/")
            page.get_by_role("tab", name="Notifications").click()
            on_duty = page.get_by_label("On duty")
            expect(on_duty).not_to_be_checked()
            on_duty.check()
            expect(page.get_by_label("By e-mail")).to_be_checked()
            page.screenshot(path=str(shots / "editor-alerts-on-duty.png"), full_page=True)
            page.get_by_role("button", name="Save", exact=True).click()
            expect(page.locator(".messages")).to_contain_text("changed successfully")
            page.get_by_role("tab", name="Notifications").click()
            expect(page.get_by_label("On duty")).to_be_checked()

    browser.run(go_on_duty)

    preference = DeskAlertPreference.objects.get(user=editor)
    assert (preference.on_duty, preference.by_email) == (True, True)
    fire = story("Ridge Fire jumps Highway 70", breaking=True)
    alerts.evaluate()  # a transactional test: the alert commits at once, and the e-mail follows
    (message,) = mail_server.messages
    assert message["To"] == editor.email
    assert f"/admin/inbox/{fire.pk}/" in message.get_body(("plain",)).get_content()
