"""The inbox in a real browser: an editor signs in, opens the inbox, drafts a story in one click and
lands in the page editor with the title filled in. Chromium and its helpers are the posts' browser
tests'; the screenshots go where theirs do (var/screenshots/)."""

import pytest
from playwright.sync_api import expect

from watchdesk.posts.models import StoryPost
from watchdesk.posts.tests.test_browser import (  # noqa: F401 - browser is a fixture
    DESKTOP,
    PHONE,
    browser,
    open_page,
    screenshot_dir,
)
from watchdesk.taxonomy.models import Region
from watchdesk.wire.models import Cluster, Item
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


def sign_in(page, url, next_path="/admin/inbox/"):
    page.goto(f"{url}/admin/login/?next={next_path}")
    page.locator("#id_username").fill("erin")
    page.locator("#id_password").fill("correct horse 1")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{next_path}")


# Elements of the page's content (Wagtail's own header aside) that reach past the screen's right edge: a
# select wider than its box shows no sideways scroll on the page, but its end is cut off.
OVERFLOWING = """() => [...document.querySelectorAll('main *:not(header, header *)')]
    .filter((e) => { const box = e.getBoundingClientRect();
                     return box.width > 1 && box.height > 1 && box.right > innerWidth + 1; })
    .map((e) => e.tagName + '.' + e.className + (e.name ? '[' + e.name + '=' + e.type + ']' : ''))"""


def test_on_a_phone_the_inbox_fits_and_an_editor_drafts_from_another_version(browser, desk):  # noqa: F811
    url, stories = desk
    chosen_pk, chosen_title = stories[0]
    cluster = Cluster.objects.get(pk=chosen_pk)
    versions = list(cluster.items.order_by("pk"))
    Item.objects.filter(pk=versions[2].pk).update(author="news@bayoufire.example (Marie Thibodeaux)")
    shots = screenshot_dir()

    def draft(chromium):
        with open_page(chromium, viewport=PHONE, is_mobile=True, has_touch=True) as page:
            sign_in(page, url)
            expect(page.locator("tr[data-cluster]")).to_have_count(3)
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            assert page.evaluate(OVERFLOWING) == []
            page.screenshot(path=str(shots / "inbox-phone.png"), full_page=True)
            row = page.locator(f'tr[data-cluster="{chosen_pk}"]')
            row.screenshot(path=str(shots / "inbox-phone-row.png"))

            # A story's own page fits too, with a "Draft from this version" per outlet.
            page.goto(f"{url}/admin/inbox/{chosen_pk}/")
            expect(page.get_by_role("button", name="Draft from this version")).to_have_count(4)
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            assert page.evaluate(OVERFLOWING) == []
            page.screenshot(path=str(shots / "inbox-phone-story.png"), full_page=True)
            page.go_back()

            row = page.locator(f'tr[data-cluster="{chosen_pk}"]')
            version = row.locator("select[name=item]")
            # The default is the best-scored version with a byline: the lead, "Dana Ortiz".
            expect(version).to_have_value(str(versions[0].pk))
            version.select_option(label=f"Outlet 3 · by Marie Thibodeaux · {versions[2].score:.1f}")
            button = row.get_by_role("button", name="Draft post")
            button.scroll_into_view_if_needed()
            expect(button).to_be_visible()
            box = button.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
            button.click()
            page.wait_for_url("**/admin/pages/*/edit/")
            expect(page.locator("#id_title")).to_have_value(versions[2].title)

    browser.run(draft)
    post = StoryPost.objects.get()
    assert (post.byline, post.source_url) == ("Marie Thibodeaux", versions[2].url)


def test_the_place_box_suggests_asks_and_filters(browser, desk, regions):  # noqa: F811
    url, stories = desk
    california = regions["california"]
    butte_county = Region.objects.create(
        code="county:06007", name="Butte County", kind="county", parent=california, slug="butte-county-ca"
    )
    montana = Region.objects.create(
        code="US-MT", name="Montana", kind="state", parent=regions["us"], slug="montana"
    )
    Region.objects.create(code="city:5640350", name="Butte", kind="city", parent=montana, slug="butte-mt")
    fire_pk = stories[0][0]
    Cluster.objects.get(pk=stories[1][0]).items.first().place_links.update(region=butte_county)
    shots = screenshot_dir()

    def search(chromium):
        with open_page(chromium, viewport=DESKTOP) as page:
            sign_in(page, url)
            box = page.get_by_label("Place")
            box.press_sequentially("Butt", delay=30)
            options = page.locator("#inbox-regions option")
            expect(options).to_have_count(2)  # filled from places.json as the editor types
            # The place the wire has placed a story in comes first.
            expect(options.first).to_have_attribute("value", "Butte County, California")
            expect(options.nth(1)).to_have_attribute("value", "Butte, Montana")

            box.fill("Butte")
            page.get_by_role("button", name="Filter").click()
            note = page.locator("[data-place-note]")
            expect(note).to_contain_text("“Butte” names several places. Which one?")
            page.screenshot(path=str(shots / "inbox-place-choices.png"), full_page=True)
            note.get_by_role("link", name="Butte County, California").click()
            expect(page.locator("tr[data-cluster]")).to_have_count(1)
            expect(page.locator("[data-place-chosen]")).to_have_text("Butte County, California")

            box = page.get_by_label("Place")
            box.fill("CA")
            page.get_by_role("button", name="Filter").click()
            expect(page.locator("[data-place-chosen]")).to_have_text("California")
            expect(page.locator(f'tr[data-cluster="{fire_pk}"]')).to_have_count(1)

    browser.run(search)
