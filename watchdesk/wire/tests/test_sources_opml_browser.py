"""OPML import in a real browser: an editor uploads a subscription list from the Sources screen, reads
the report, and after the worker's poll sees which new feed could not be fetched and why."""

import pytest
from playwright.sync_api import expect

from watchdesk.posts.tests.test_browser import (  # noqa: F401 - browser is a fixture
    DESKTOP,
    browser,
    open_page,
    screenshot_dir,
)
from watchdesk.testing.webserver import Reply
from watchdesk.wire.models import Source
from watchdesk.wire.polling import poll_due
from watchdesk.wire.tests.test_inbox_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

RSS = b"""<rss version="2.0"><channel><title>Levee watch</title><item><guid>lw-1</guid>
<title>Levee holds as river crests</title><link>https://levee.example.org/crest</link></item></channel></rss>"""


def test_an_editor_imports_an_opml_file_and_reads_the_report(
    browser,  # noqa: F811 - the fixture
    live_server,
    home,
    editor,
    web_server,
    tmp_path,
):
    web_server.routes["/levee.xml"] = Reply(200, {"Content-Type": "application/rss+xml"}, RSS)
    web_server.routes["/gone.xml"] = Reply(404, {"Content-Type": "text/plain"}, b"gone")
    Source.objects.create(name="River Desk (our name)", url=web_server.url("/levee.xml"))
    opml = tmp_path / "newsroom.opml"
    opml.write_text(
        f"""<?xml version="1.0" encoding="UTF-8"?><opml version="2.0"><head><title>Desk</title></head><body>
        <outline text="Floods">
          <outline type="rss" text="Levee Watch" xmlUrl="{web_server.url("/levee.xml")}"/>
          <outline type="rss" text="Gone Gazette" xmlUrl="{web_server.url("/gone.xml")}"/>
        </outline>
        <outline type="rss" text="Intranet" xmlUrl="http://10.0.0.1/feed.xml"/>
        <outline type="rss" text="Gopher" xmlUrl="gopher://old.example/1/"/>
        </body></opml>"""
    )
    shots = screenshot_dir()

    def import_file(chromium):
        with open_page(chromium, viewport=DESKTOP) as page:
            sign_in(page, live_server.url, "/admin/sources/")
            page.get_by_role("link", name="Import OPML").click()
            page.wait_for_url("**/admin/sources/import/")
            page.get_by_label("OPML file").set_input_files(str(opml))
            page.get_by_role("button", name="Import").click()
            page.wait_for_url("**/admin/sources/import/*/")
            report = page.locator("[data-import-report] tbody tr")
            expect(report).to_have_count(4)
            expect(page.locator('tr[data-outcome="present"]')).to_contain_text("River Desk (our name)")
            expect(page.locator('tr[data-outcome="created"]')).to_contain_text("waiting for the worker")
            expect(page.locator('tr[data-outcome="refused"]')).to_contain_text(
                "10.0.0.1 is a private address"
            )
            expect(page.locator('tr[data-outcome="invalid"]')).to_contain_text("not a valid http(s) URL")
            page.screenshot(path=str(shots / "opml-import-report.png"), full_page=True)
            report_url.append(page.url)

    def read_report_again(chromium):
        with open_page(chromium, viewport=DESKTOP) as page:
            sign_in(page, live_server.url, report_url[0].removeprefix(live_server.url))
            failed = page.locator('tr[data-fetch="could not fetch"]')
            expect(failed).to_contain_text("Gone Gazette")
            expect(failed).to_contain_text("http 404")
            expect(page.locator("[data-import-summary]")).to_contain_text("1 could not be fetched")
            page.screenshot(path=str(shots / "opml-import-fetched.png"), full_page=True)

    report_url = []
    browser.run(import_file)
    poll_due()  # the worker's next run fetches the new source
    browser.run(read_report_again)
    assert Source.objects.get(url__endswith="/levee.xml").name == "River Desk (our name)"
    assert Source.objects.get(url__endswith="/gone.xml").group == "Floods"
