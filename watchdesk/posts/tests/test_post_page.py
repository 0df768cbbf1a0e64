import re
from datetime import UTC, datetime

import pytest

from watchdesk.posts.models import StoryPostRegion

PREVIOUS = re.compile(
    r'<a class="post-nav__prev" rel="prev" href="([^"]+)"><span class="post-nav__label">Previous post</span> '
    r"([^<]*)</a>"
)
NEXT = re.compile(
    r'<a class="post-nav__next" rel="next" href="([^"]+)"><span class="post-nav__label">Next post</span> '
    r"([^<]*)</a>"
)


def at(day, hour=12):
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def page(client, post):
    response = client.get(post.url)
    assert response.status_code == 200
    return response.content.decode()


def neighbours(client, post):
    """((href, text) of the "Previous post" link or None, the same for "Next post")."""
    html = page(client, post)
    previous, following = PREVIOUS.findall(html), NEXT.findall(html)
    assert len(previous) <= 1 and len(following) <= 1
    return (previous[0] if previous else None), (following[0] if following else None)


@pytest.mark.django_db
def test_post_page_shows_title_byline_and_full_story(client, make_post, topics, regions):
    post = make_post(
        "Crews contain brush fire",
        byline="Dana Ortiz and Lee Park",
        topics=[topics["wildfire"]],
        regions=[regions["los_angeles"]],
        tags=["evacuation"],
    )

    response = client.get(post.url)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<h1") == 1
    assert '<h1 class="post__title">Crews contain brush fire</h1>' in html
    assert 'By <a href="/authors/dana-ortiz/" rel="author">Dana Ortiz</a> and' in html
    assert 'href="https://news.example.org/' in html
    assert 'rel="noopener noreferrer">Full story' in html


@pytest.mark.django_db
def test_post_page_shows_its_parts_in_reading_order(client, make_post, topics, regions):
    make_post("Older story", published=at(1))
    post = make_post(
        "Crews contain brush fire",
        published=at(2),
        byline="Dana Ortiz",
        source_name="Valley Courier",
        body="<p>Chief Ruiz said the line held overnight.</p>",
        topics=[topics["wildfire"]],
        regions=[regions["los_angeles"]],
        tags=["evacuation"],
    )
    make_post("Newer story", published=at(3))

    html = page(client, post)

    parts = [
        '<h1 class="post__title">Crews contain brush fire</h1>',
        '<p class="byline">By <a href="/authors/dana-ortiz/" rel="author">Dana Ortiz</a></p>',
        '<span class="outlet">Valley Courier</span>',
        "Originally published <time",
        'Posted <a href="/archive/2026/11/"><time datetime="2026-11-02T12:00:00+00:00" data-local-time>'
        "Nov 2, 2026, 12:00 PM UTC</time>",
        "<p>Chief Ruiz said the line held overnight.</p>",
        ">Full story<",
        '<a href="/topics/wildfire/">Wildfire</a>',
        '<a href="/regions/los-angeles-ca/">Los Angeles, California</a>',
        '<a href="/tags/evacuation/" rel="tag">evacuation</a>',
        "Previous post</span> Older story",
        "Next post</span> Newer story",
    ]
    positions = [html.index(part) for part in parts]
    assert positions == sorted(positions)
    assert html.count("<h1") == 1
    body = html.index("<p>Chief Ruiz said the line held overnight.</p>")
    assert html.index("</header>", positions[0]) < body < html.index("</article>")


@pytest.mark.django_db
def test_full_story_opens_the_original_safely(client, make_post):
    post = make_post(
        source_url="https://news.example.org/stories/brush-fire?id=7&ref=rss", source_name="Courier"
    )

    html = page(client, post)

    assert (
        '<a href="https://news.example.org/stories/brush-fire?id=7&amp;ref=rss" target="_blank" '
        'rel="noopener noreferrer">Full story<span class="visually-hidden"> at Courier (opens in a new tab)'
        "</span></a>"
    ) in html


@pytest.mark.django_db
def test_byline_of_three_authors_links_each_of_them(client, make_post):
    post = make_post(byline="Dana Ortiz, Lee Park and Sam Wu")

    html = page(client, post)

    assert (
        '<p class="byline">By <a href="/authors/dana-ortiz/" rel="author">Dana Ortiz</a>, '
        '<a href="/authors/lee-park/" rel="author">Lee Park</a> and '
        '<a href="/authors/sam-wu/" rel="author">Sam Wu</a></p>'
    ) in html
    for author in ("/authors/dana-ortiz/", "/authors/lee-park/", "/authors/sam-wu/"):
        assert client.get(author).status_code == 200


@pytest.mark.django_db
def test_post_without_byline_has_no_by_line(client, make_post):
    post = make_post(byline="")

    assert '<p class="byline">' not in page(client, post)


# Previous and next ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_previous_and_next_are_the_neighbours_by_publication_date(client, make_post):
    # Created out of order, so that ids and dates disagree.
    middle = make_post("Middle", published=at(2))
    newest = make_post("Newest", published=at(3))
    oldest = make_post("Oldest", published=at(1))

    assert neighbours(client, middle) == ((oldest.url, "Oldest"), (newest.url, "Newest"))
    assert neighbours(client, oldest) == (None, (middle.url, "Middle"))
    assert neighbours(client, newest) == ((middle.url, "Middle"), None)
    assert "Previous post" not in page(client, oldest)
    assert "Next post" not in page(client, newest)


@pytest.mark.django_db
def test_drafts_are_not_neighbours(client, make_post):
    older = make_post("Older", published=at(1))
    make_post("Draft before", published=at(2), live=False)
    post = make_post("Post", published=at(3))
    make_post("Draft after", published=at(4), live=False)

    assert neighbours(client, post) == ((older.url, "Older"), None)


@pytest.mark.django_db
def test_only_post_has_no_neighbours(client, make_post):
    post = make_post("Alone")

    assert '<nav class="post-nav"' not in page(client, post)


@pytest.mark.django_db
def test_neighbour_titles_over_50_characters_are_cut(client, make_post):
    long_title = "Crews from four counties battle wind-driven fires near the reservoir"
    exactly_50 = "Evacuation orders lifted across all of Pine Valley"
    older = make_post(long_title, published=at(1))
    post = make_post("Post", published=at(2))
    newer = make_post(exactly_50, published=at(3))

    assert len(exactly_50) == 50
    assert neighbours(client, post) == (
        (older.url, "Crews from four counties battle wind-driven fires..."),
        (newer.url, exactly_50),
    )


@pytest.mark.django_db
def test_cut_neighbour_title_is_still_escaped(client, make_post):
    older = make_post("Fish & chips <b>shop</b> fire: crews from four counties respond", published=at(1))
    post = make_post("Post", published=at(2))

    previous, _ = neighbours(client, post)

    assert previous == (older.url, "Fish &amp; chips &lt;b&gt;shop&lt;/b&gt; fire: crews from four cou...")


# Query count ---------------------------------------------------------------------------------------


POST_PAGE_QUERIES = 16  # with one for the post's updates


@pytest.mark.django_db
def test_post_page_query_count_does_not_grow_with_its_terms(
    client, make_post, topics, regions, django_assert_num_queries
):
    make_post(published=at(1))
    post = make_post(
        published=at(2), topics=[topics["wildfire"]], regions=[regions["los_angeles"]], tags=["evacuation"]
    )
    make_post(published=at(3))
    client.get(post.url)  # warm the caches every request shares
    with django_assert_num_queries(POST_PAGE_QUERIES):
        client.get(post.url)

    for day in range(4, 10):
        make_post(published=at(day), topics=list(topics.values()), regions=[regions["houston"]])
    post.topics.set(list(topics.values()))
    post.tags.set(["evacuation", "red flag", "air tanker"])
    post.region_links = [
        StoryPostRegion(region=region, sort_order=n)
        for n, region in enumerate([regions["los_angeles"], regions["houston"], regions["la_county"]])
    ]
    post.byline = "Dana Ortiz, Lee Park and Sam Wu"
    post.save_revision().publish()
    client.get(post.url)
    with django_assert_num_queries(POST_PAGE_QUERIES):
        html = page(client, post)
    assert html.count('rel="author"') == 3
    assert html.count('rel="tag"') == 3
    assert '<a href="/regions/los-angeles-county-ca/">Los Angeles County, California</a>' in html
    assert '<a href="/topics/terrorism/">Terrorism</a>' in html
