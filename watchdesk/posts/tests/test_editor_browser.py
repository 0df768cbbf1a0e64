"""The post editor in a real browser: the preview panel shows the post, the admin loads nothing from
other sites, and publishing a post that will be e-mailed first says to how many people, and asks."""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from watchdesk.delivery.models import Broadcast
from watchdesk.posts.models import StoryPost
from watchdesk.posts.tests.test_browser import (  # noqa: F401 - browser is a fixture
    DESKTOP,
    browser,
    open_page,
    screenshot_dir,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def sign_in(page, url, username, password, next_url):
    page.goto(f"{url}/admin/login/?next={next_url}")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{next_url}")


def test_the_preview_panel_shows_the_post_and_nothing_comes_from_other_sites(
    browser,  # noqa: F811
    live_server,
    editor,
    make_post,
):
    post = make_post("Ridge Fire crews hold the line", live=False)
    edit_url = f"/admin/pages/{post.pk}/edit/"
    hosts = set()
    shots = screenshot_dir()

    def preview(chromium):
        with open_page(chromium, viewport=DESKTOP) as page:
            page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
            sign_in(page, live_server.url, "erin", "correct horse 1", "/admin/")
            expect(page.locator(".avatar img").first).to_be_visible()
            page.goto(live_server.url + edit_url)
            page.locator('[data-side-panel-toggle="preview"]').click()
            frame = page.frame_locator("#w-preview-iframe")
            expect(frame.locator("h1")).to_have_text("Ridge Fire crews hold the line", timeout=15000)
            page.screenshot(path=str(shots / "editor-preview-panel.png"))

    browser.run(preview)
    assert hosts == {urlsplit(live_server.url).netloc}


def test_publishing_with_e_mail_says_how_many_will_get_it_and_asks_first(
    browser,  # noqa: F811
    live_server,
    moderator,
    make_post,
    subscriber,
    topics,
    regions,
):
    post = make_post("Chlorine leak at the water plant", live=False, topics=[topics["hazmat"]])
    subscriber("all@example.net")
    subscriber("hazmat@example.net", topics=[topics["hazmat"]])
    subscriber("fires@example.net", topics=[topics["wildfire"]])
    subscriber("digest@example.net", topics=[topics["wildfire"]], cadence="daily")
    edit_url = f"/admin/pages/{post.pk}/edit/"
    dialogs = []
    shots = screenshot_dir()

    def publish(chromium):
        with open_page(chromium, viewport=DESKTOP) as page:
            sign_in(page, live_server.url, "morgan", "correct horse 2", edit_url)
            status = page.locator("#email-audience")
            expect(status).to_have_text(
                "Publishing e-mails this post to 2 subscribers at once and puts it in 0 readers' next digest."
            )
            # Adding a topic updates the count before anything is saved.
            page.get_by_role("tab", name="Topics and regions").click()
            page.get_by_label("Wildfire").check()
            page.get_by_role("tab", name="Content").click()
            expect(status).to_have_text(
                "Publishing e-mails this post to 3 subscribers at once and puts it in 1 reader's next digest."
            )
            page.screenshot(path=str(shots / "editor-email-count.png"))

            def click_publish():
                button = page.locator('button[name="action-publish"]')
                if not button.is_visible():  # "Publish" sits in the action menu's dropdown
                    page.locator("footer [data-w-dropdown-target='toggle']").last.click()
                with page.expect_event("dialog") as asked:
                    button.click(no_wait_after=True)
                dialogs.append(asked.value.message)
                return asked.value

            click_publish().dismiss()
            expect(page).to_have_url(re.compile(re.escape(edit_url)))  # "Cancel": nothing happened
            expect(page.locator("#id_title")).to_be_visible()

            click_publish().accept()
            page.wait_for_url(lambda url: "/edit/" not in url)

    browser.run(publish)
    assert dialogs[0] == (
        "Publishing e-mails this post to 3 subscribers at once and puts it in 1 reader's next digest.\n\n"
        "Publish and e-mail now?"
    )
    assert len(dialogs) == 2
    post = StoryPost.objects.get(pk=post.pk)
    assert post.live
    assert Broadcast.objects.get(post=post).recipients == 3
