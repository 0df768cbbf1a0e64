"""The reader's time zone in a real browser: guessed on the subscribe page and in the Stay Informed box,
and times on posts re-read in the visitor's zone. Chromium's zone is set per context (``timezone_id``)."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from watchdesk.posts.tests.test_browser import (  # noqa: F401 - browser and newsroom are fixtures
    DESKTOP,
    PHONE,
    browser,
    newsroom,
    open_page,
)
from watchdesk.subscriptions.models import Subscriber

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_the_subscribe_page_guesses_the_browser_s_zone_and_hides_timing_for_instant(browser, newsroom):  # noqa: F811
    def subscribe(chromium):
        with open_page(chromium, viewport=DESKTOP, timezone_id="Asia/Kolkata") as page:
            page.goto(newsroom.url + "/subscribe/")
            zone = page.get_by_label("Time zone")
            expect(zone).to_have_value("Asia/Kolkata")
            timing = page.get_by_role("group", name="When digests arrive")
            page.get_by_role("radio", name="As soon as a post is published").check()
            expect(timing).to_be_hidden()
            page.get_by_role("radio", name="Weekly digest").check()
            expect(timing).to_be_visible()
            expect(page.get_by_label("Weekly digest day", exact=False)).to_be_visible()
            page.get_by_role("radio", name="Daily digest").check()
            expect(page.get_by_label("Weekly digest day", exact=False)).to_be_hidden()
            page.get_by_label("Digest time").select_option("06:00")
            page.get_by_label("E-mail address").fill("kolkata@example.net")
            page.get_by_role("button", name="Subscribe", exact=True).last.click()
            page.wait_for_url("**/subscribe/sent/")

    browser.run(subscribe)
    made = Subscriber.objects.get(email="kolkata@example.net")
    assert (made.time_zone, made.digest_hour, made.cadence) == ("Asia/Kolkata", 6, "daily")


def test_the_stay_informed_box_sends_the_browser_s_zone(browser, newsroom):  # noqa: F811
    post = newsroom.posts[2]

    def subscribe(chromium):
        with open_page(chromium, viewport=PHONE, timezone_id="Pacific/Chatham") as page:
            page.goto(newsroom.url + post.url)
            box = page.get_by_role("complementary", name="Stay Informed")
            box.get_by_label("E-mail address").fill("chatham@example.net")
            box.get_by_role("button", name="Subscribe").click()
            page.wait_for_url("**/subscribe/sent/")

    browser.run(subscribe)
    assert Subscriber.objects.get(email="chatham@example.net").time_zone == "Pacific/Chatham"


def test_a_post_shows_its_time_in_the_visitor_s_zone(browser, newsroom):  # noqa: F811
    post = newsroom.posts[5]

    def read(chromium):
        with open_page(chromium, viewport=DESKTOP, timezone_id="America/New_York") as page:
            page.goto(newsroom.url + post.url)
            posted = page.locator(".post .meta time").last
            expect(posted).to_have_text(
                re.compile(r"^[A-Z][a-z]{2} \d{1,2}, 2026, \d{1,2}:\d{2}\s[AP]M E[DS]T$")
            )
            return posted.get_attribute("datetime"), posted.inner_text(), posted.get_attribute("title")

    stamp, shown, server = browser.run(read)
    expected = datetime.fromisoformat(stamp).astimezone(ZoneInfo("America/New_York"))
    assert f"{expected:%b} {expected.day}, 2026, {expected:%-I:%M}" in shown.replace("\u202f", " ")
    # Without JavaScript the reader would have seen the site's zone (UTC in tests).
    assert server.endswith(" UTC")
