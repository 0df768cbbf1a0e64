"""The inbox in a real browser: an editor signs in, opens the inbox, drafts a story in one click and
lands in the page editor with the title filled in. Chromium and its helpers are the posts' browser
tests'; the screenshots go where theirs do (var/screenshots/)."""

import pytest
from playwright.sync_api import expect

from watchdesk.posts.models import StoryPost
from watchdesk.posts.tests.test_browser import (  # noqa: F401 - browser is a fixture
    DESKTOP,
    browser,
    open_page,
    screenshot_dir,
)
from watchdesk.wire.models import Cluster
from watchdesk.wire.tests import inbox_fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
story = inbox_fixtures.story  # a fixture: cluster, items, topic and place links


@pytest.fixture
def desk(live_server, home, editor, story, topics, regions):
    stories = [
        story(
            "Crews hold the Ridge Fire line as winds ease",
            outlets=4,
            score=14.2,
            breaking=True,
            score_parts={"topic": 7.5, "region": 5.0, "trust": 3.5, "cluster": 6.0, "recency": 0.9},
            topics={topics["wildfire"]: (7.5, ["fire line", "evacuation"])},
            places={regions["los_angeles"]: (0.9, "title"), regions["california"]: (0.6, "text")},
        ),
        story(
            "Chlorine leak closes water plant in Houston",
            outlets=2,
            score=9.1,
            topics={topics["hazmat"]: (6.0, ["chlorine", "leak"])},
            places={regions["houston"]: (0.85, "title")},
        ),
        story("Flash flood watch for the river valley", outlets=1, score=4.4),
    ]
    return live_server.url, [(cluster.pk, cluster.title) for cluster in stories]


def test_an_editor_drafts_a_post_from_the_inbox_in_one_click(browser, desk):  # noqa: F811
    url, stories = desk
    chosen_pk, chosen_title = stories[1]
    shots = screenshot_dir()

    def draft(chromium):
        with open_page(chromium, viewport=DESKTOP) as page:
            page.goto(url + "/admin/login/?next=/admin/inbox/")
            page.locator("#id_username").fill("erin")
            page.locator("#id_password").fill("correct horse 1")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url("**/admin/inbox/")
            rows = page.locator("tr[data-cluster]")
            expect(rows).to_have_count(3)
            expect(rows.first).to_contain_text("Breaking")
            expect(rows.first).to_contain_text("4 outlets")
            page.screenshot(path=str(shots / "inbox.png"), full_page=True)

            row = page.locator(f'tr[data-cluster="{chosen_pk}"]')
            row.get_by_role("button", name="Draft post").click()
            page.wait_for_url("**/admin/pages/*/edit/")
            expect(page.locator("#id_title")).to_have_value(chosen_title)
            page.screenshot(path=str(shots / "inbox-draft.png"))

    browser.run(draft)
    post = StoryPost.objects.get()
    assert post.title == chosen_title and not post.live
    assert Cluster.objects.get(pk=chosen_pk).post_id == post.pk
