"""Subscribing in a real browser: the Stay Informed box, the subscribe page's pickers, and axe's WCAG
checks of the subscription pages. Chromium and the helpers are those of the posts' browser tests."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from watchdesk.posts.models import StoryPost
from watchdesk.posts.tests.test_browser import (  # noqa: F401 - browser and newsroom are fixtures
    AXE,
    DESKTOP,
    PHONE,
    WCAG_TAGS,
    axe_report,
    browser,
    newsroom,
    open_page,
)
from watchdesk.subscriptions.models import Subscriber
from watchdesk.taxonomy.models import Region

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def reader(newsroom, subscriber, topics, regions):  # noqa: F811 - the imported fixture
    """A confirmed reader of wildfire news in California, daily."""
    made = subscriber("rae@example.net", topics=[topics["wildfire"]], regions=[regions["california"]])
    Subscriber.objects.filter(pk=made.pk).update(cadence="daily")
    return made.link_token


def test_a_reader_subscribes_from_the_box_on_a_post_without_javascript(browser, newsroom):  # noqa: F811
    post = newsroom.posts[3]

    def subscribe(chromium):
        with open_page(chromium, viewport=PHONE, java_script_enabled=False) as page:
            page.goto(newsroom.url + post.url)
            box = page.get_by_role("complementary", name="Stay Informed")
            expect(box).to_contain_text("Subscribe and we will e-mail you when there are new updates.")
            box.get_by_label("E-mail address").fill("box@example.net")
            box.get_by_label("Name").fill("Bo")
            box.get_by_role("button", name="Subscribe").click()
            page.wait_for_url("**/subscribe/sent/")
            expect(page.locator("h1")).to_have_text("Check your inbox")

    browser.run(subscribe)
    made = Subscriber.objects.get(email="box@example.net")
    assert (made.name, made.status, made.everything) == ("Bo", "pending", True)


@pytest.fixture
def harris(newsroom, make_post, topics, regions):  # noqa: F811 - the imported fixture
    """Harris County, Texas, with two hazmat posts and a flood post of the last 30 days."""
    county = Region.objects.create(
        code="county:48201",
        name="Harris County",
        kind="county",
        parent=regions["texas"],
        slug="harris-county-tx",
        population=4_700_000,
    )
    Region.objects.create(
        code="county:48203", name="Harrison County", kind="county", parent=regions["texas"], slug="harrison"
    )
    now = timezone.now()
    for days, title, topic in [
        (1, "Refinery fire", "hazmat"),
        (3, "Rail spill", "hazmat"),
        (2, "Bayou", "flooding"),
    ]:
        make_post(title, topics=[topics[topic]], regions=[county], published=now - timedelta(days=days))
    return county


def test_a_reader_picks_hazmat_in_harris_county_and_sees_what_they_will_get(browser, newsroom, harris):  # noqa: F811
    # The newsroom's posts are dated by a counter shared by the whole test process: how many fall in the
    # last 30 days depends on what ran before, so "everything" is counted here, plainly.
    recent = StoryPost.objects.live().filter(
        first_published_at__gt=timezone.now() - timedelta(days=30), notify_subscribers=True
    )
    everything = f"{recent.count()} posts in the last 30 days matched."

    def choose(chromium):
        console = []
        with open_page(chromium, viewport=DESKTOP) as page:
            page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
            page.goto(newsroom.url + "/subscribe/")
            preview = page.locator("[data-scope-preview]")
            expect(preview).to_contain_text("All our posts, as soon as they are published.")
            expect(preview).to_contain_text(everything)
            hazmat = page.get_by_role("checkbox", name="Hazmat")
            expect(hazmat).to_be_hidden()
            page.get_by_role("radio", name="Chosen topics, only in chosen places").check()
            expect(preview).to_contain_text("Choose at least one topic and one place.")

            box = page.get_by_role("combobox", name="Add a place")
            box.press_sequentially("Harr", delay=30)
            option = page.get_by_role("option", name="Harris County, Texas")
            expect(option).to_be_visible()
            expect(page.get_by_role("option")).to_have_count(2)  # and Harrison County
            option.click()
            expect(page.get_by_role("checkbox", name="Harris County, Texas")).to_be_checked()
            expect(box).to_have_value("")
            expect(page.get_by_role("listbox")).to_be_hidden()
            expect(preview).to_contain_text("Choose at least one topic.")

            hazmat.check()
            expect(preview).to_contain_text(
                "Posts about Hazmat in Harris County, Texas, as soon as they are published."
            )
            expect(preview).to_contain_text("2 posts in the last 30 days matched.")
            page.get_by_role("radio", name="Daily digest").check()
            expect(preview).to_contain_text("Posts about Hazmat in Harris County, Texas, in a daily digest.")

            # The keyboard picks a place too, and Enter there does not submit the form.
            box.press_sequentially("Mal", delay=30)
            expect(page.get_by_role("option", name="Mali")).to_be_visible()
            box.press("ArrowDown")
            box.press("Enter")
            expect(page.get_by_role("checkbox", name="Mali")).to_be_checked()
            expect(preview).to_contain_text("in Harris County, Texas or Mali, in a daily digest.")
            page.get_by_role("checkbox", name="Mali").uncheck()
            expect(preview).to_contain_text("Posts about Hazmat in Harris County, Texas, in a daily digest.")

            page.locator("#id_email").fill("harris@example.net")
            page.locator(".subscription-form").get_by_role("button", name="Subscribe").click()
            page.wait_for_url("**/subscribe/sent/")
        return console

    console = browser.run(choose)
    assert not [line for line in console if "Content Security Policy" in line], console
    made = Subscriber.objects.get(email="harris@example.net")
    assert (made.everything, made.cadence) == (False, "daily")
    assert [topic.slug for topic in made.topics.all()] == ["hazmat"]
    assert [region.slug for region in made.regions.all()] == ["harris-county-tx"]


def test_without_javascript_a_reader_types_the_place(browser, newsroom, harris):  # noqa: F811
    def choose(chromium):
        with open_page(chromium, viewport=PHONE, java_script_enabled=False) as page:
            page.goto(newsroom.url + "/subscribe/")
            page.get_by_role("radio", name="Everything in chosen places").check()
            page.get_by_label("Add a place").fill("Harris")
            page.locator("#id_email").fill("typist@example.net")
            page.locator(".subscription-form").get_by_role("button", name="Subscribe").click()
            # "Harris" alone is Harris County: the lookup finds counties by their bare name.
            page.wait_for_url("**/subscribe/sent/")

    browser.run(choose)
    made = Subscriber.objects.get(email="typist@example.net")
    assert [region.slug for region in made.regions.all()] == ["harris-county-tx"] and not made.everything


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_subscription_pages_have_no_wcag_violations(browser, newsroom, reader, color_scheme, viewport):  # noqa: F811
    axe_source = AXE.read_text(encoding="utf-8")
    urls = {
        "subscribe": "/subscribe/",
        "sent": "/subscribe/sent/",
        "leave": "/subscribe/leave/",
        "preferences": f"/subscribe/preferences/{reader}/",
        "unsubscribe": f"/subscribe/unsubscribe/{reader}/",
        "bad link": "/subscribe/confirm/nonsense/",
    }

    def audit(chromium):
        failures = []
        with open_page(chromium, viewport=viewport, color_scheme=color_scheme, bypass_csp=True) as page:
            for name, url in urls.items():
                page.goto(newsroom.url + url)
                if name == "subscribe":
                    # With errors shown, and every picker open.
                    page.get_by_role("radio", name="Chosen topics, only in chosen places").check()
                    page.locator("#id_email").fill("not an address")
                    # Past the browser's own check, to the server's error messages.
                    page.locator(".subscription-form").evaluate("form => { form.noValidate = true; }")
                    page.locator(".subscription-form").get_by_role("button", name="Subscribe").click()
                    page.wait_for_load_state()
                    expect(page.locator("#id_email_error")).to_be_visible()
                    # With the place suggestions open.
                    page.get_by_role("combobox", name="Add a place").press_sequentially("Hou", delay=30)
                    expect(page.get_by_role("option", name="Houston, Texas")).to_be_visible()
                page.evaluate(axe_source)
                result = page.evaluate(
                    "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
                )
                if result["violations"]:
                    failures.append(f"{name} {url}:\n{axe_report(result['violations'])}")
        return failures

    failures = browser.run(audit)
    report = "\n\n".join(failures)
    assert not failures, f"axe found WCAG violations ({color_scheme}, {viewport}):\n{report}"


def test_subscription_pages_run_under_the_content_security_policy(browser, newsroom, reader):  # noqa: F811
    def visit(chromium):
        console = []
        with open_page(chromium, viewport=DESKTOP) as page:
            page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
            for url in ("/subscribe/", f"/subscribe/preferences/{reader}/"):
                page.goto(newsroom.url + url)
                page.wait_for_load_state("load")
        return console

    console = browser.run(visit)
    assert not [line for line in console if "Content Security Policy" in line], "\n".join(console)
