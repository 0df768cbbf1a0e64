"""Subscribing in a real browser: the Stay Informed box, the subscribe page's pickers, and axe's WCAG
checks of the subscription pages. Chromium and the helpers are those of the posts' browser tests."""

import pytest
from playwright.sync_api import expect

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


def test_topics_and_places_appear_when_the_reader_chooses_them(browser, newsroom, topics):  # noqa: F811
    def choose(chromium):
        with open_page(chromium, viewport=DESKTOP) as page:
            page.goto(newsroom.url + "/subscribe/")
            wildfire = page.get_by_role("checkbox", name="Wildfire")
            expect(wildfire).to_be_hidden()
            page.get_by_role("radio", name="Only the topics and places I choose").check()
            expect(wildfire).to_be_visible()
            wildfire.check()
            page.get_by_text("States (").click()
            page.get_by_role("checkbox", name="Texas").check()
            page.get_by_role("radio", name="Weekly digest").check()
            page.locator("#id_email").fill("picker@example.net")
            page.locator(".subscription-form").get_by_role("button", name="Subscribe").click()
            page.wait_for_url("**/subscribe/sent/")

    browser.run(choose)
    made = Subscriber.objects.get(email="picker@example.net")
    assert (made.everything, made.cadence) == (False, "weekly")
    assert [topic.slug for topic in made.topics.all()] == ["wildfire"]
    assert [region.slug for region in made.regions.all()] == ["texas"]


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
                    page.get_by_role("radio", name="Only the topics and places I choose").check()
                    page.locator("#id_email").fill("not an address")
                    # Past the browser's own check, to the server's error messages.
                    page.locator(".subscription-form").evaluate("form => { form.noValidate = true; }")
                    page.locator(".subscription-form").get_by_role("button", name="Subscribe").click()
                    page.wait_for_load_state()
                    expect(page.locator("#id_email_error")).to_be_visible()
                    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
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
