"""Outside HTML made safe: one allow-list, links with safe targets only, plain text for matching."""

from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchdesk.core.sanitize import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    LINK_REL,
    clean_html,
    html_to_text,
)


class _Inventory(HTMLParser):
    """Every tag and attribute in a fragment, to check cleaned HTML against the allow-list."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def assert_safe(html):
    inventory = _Inventory()
    inventory.feed(html)
    inventory.close()
    for tag, attrs in inventory.tags:
        assert tag in ALLOWED_TAGS, tag
        for name, value in attrs.items():
            if tag == "a" and name == "rel":
                assert value == LINK_REL
                continue
            assert name in ALLOWED_ATTRIBUTES.get(tag, ()), (tag, name)
            if name == "href":
                assert value.startswith(("http://", "https://", "mailto:")), value


HOSTILE = [
    '<script>alert("x")</script>',
    '<img src="x" onerror="alert(1)">',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt&#58;alert(2)">x</a>',
    '<a href="  javascript:alert(3)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<p onclick="steal()" onmouseover="steal()">x</p>',
    '<iframe src="https://evil.example.net/">frame text</iframe>',
    "<style>body{display:none}</style>",
    '<svg onload="alert(1)"><text>svg text</text></svg>',
    '<object data="x.swf">object text</object><embed src="x.swf">',
    '<form action="https://evil.example.net/"><input name="password"><button>Go</button></form>',
    '<img src="data:image/png;base64,iVBORw0KGgo=">',
    "<math><mi>math</mi></math><template><p>hidden</p></template>",
    "<!-- <script>alert(1)</script> -->",
    '<base href="https://evil.example.net/"><meta http-equiv="refresh" content="0;url=https://evil.example.net/">',
    '<a href="https://example.org/" target="_blank" rel="opener">ok</a>',
    "<<script>script>alert(1)<</script>/script>",
    "<div><b><i>badly <u>nested</b> tags</i></u> <p>unclosed <span>spans <table><td>cell</table>",
]


@pytest.mark.parametrize("html", HOSTILE)
def test_hostile_html_is_defused(html):
    cleaned = clean_html(html)
    assert_safe(cleaned)
    lowered = cleaned.lower()
    for needle in ("<script", "javascript:", "vbscript:", "data:", "onerror", "onclick", "style=", "<iframe"):
        assert needle not in lowered


def test_content_of_scripts_styles_frames_and_drawings_is_removed_with_them():
    cleaned = clean_html(
        "<p>kept</p><script>gone1</script><style>gone2</style><iframe>gone3</iframe>"
        "<svg><text>gone4</text></svg><noscript>gone5</noscript>"
    )
    assert cleaned == "<p>kept</p>"


def test_unknown_tags_lose_the_tag_and_keep_the_text():
    assert clean_html("<p>Fire at <span class='x'>Elm</span> <font color=red>Street</font></p>") == (
        "<p>Fire at Elm Street</p>"
    )


def test_links_get_rel_and_keep_safe_targets():
    cleaned = clean_html(
        '<a href="https://example.org/x" title="Map">map</a> <a href="mailto:desk@example.org">m</a>'
    )
    assert cleaned == (
        f'<a href="https://example.org/x" title="Map" rel="{LINK_REL}">map</a> '
        f'<a href="mailto:desk@example.org" rel="{LINK_REL}">m</a>'
    )


def test_images_are_dropped():
    assert (
        clean_html('<p>Scene <img src="https://news.example.org/fire.jpg" alt="Fire"></p>') == "<p>Scene </p>"
    )


def test_relative_links_resolve_against_the_base_or_lose_their_target():
    html = '<a href="/contact">c</a><a href="faq">f</a>'
    assert clean_html(html, base="https://gazette.example.org/emergency/") == (
        f'<a href="https://gazette.example.org/contact" rel="{LINK_REL}">c</a>'
        f'<a href="https://gazette.example.org/emergency/faq" rel="{LINK_REL}">f</a>'
    )
    assert clean_html(html) == f'<a rel="{LINK_REL}">c</a><a rel="{LINK_REL}">f</a>'
    assert clean_html(html, base="javascript:alert(1)") == clean_html(html)


def test_tables_lists_and_quotes_survive():
    html = (
        "<table><tbody><tr><th>Unit</th><td>Engine 4</td></tr></tbody></table>"
        "<ul><li>a</li></ul><blockquote>q</blockquote>"
    )
    assert clean_html(html) == html


def test_nul_and_control_characters_are_removed():
    assert clean_html("<p>a\x00b\x07c</p>") == "<p>abc</p>"
    assert html_to_text("a\x00b\x1bc\ud800") == "abc"


def test_empty_input():
    assert clean_html("") == "" and clean_html(None) == "" and html_to_text("   ") == ""


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>Flood</p><p>Warning</p>", "Flood Warning"),
        ("Line<br>break", "Line break"),
        ("<li>one</li><li>two</li>", "one two"),
        ("Fish &amp; chips &eacute; &#8212; &nbsp;x", "Fish & chips \u00e9 \u2014 x"),
        ("<b>bold</b>   and\n\n\tspaced", "bold and spaced"),
        ("<script>alert(1)</script>visible<style>p{}</style>", "visible"),
        ("5 < 6 and 7 > 3", "5 < 6 and 7 > 3"),
        ("&lt;b&gt;escaped&lt;/b&gt;", "<b>escaped</b>"),
    ],
)
def test_html_to_text(html, text):
    assert html_to_text(html) == text


@settings(max_examples=300, deadline=None)
@given(st.text().filter(lambda text: "<" not in text and "&" not in text))
def test_text_without_markup_or_entities_skips_the_cleaner_with_the_same_result(text):
    """The shortcut for plain text (most titles and bylines) gives what the cleaner would."""
    from watchdesk.core import sanitize

    through_cleaner = sanitize.html_to_text(f"<span>{text}</span>")

    assert html_to_text(text) == through_cleaner


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=20),
            st.sampled_from(HOSTILE),
            st.sampled_from(
                ["<p>", "</p>", "<a href='", "'>", "<b>", "</i>", "<", ">", "&", "&#", '"', "<!--"]
            ),
        ),
        max_size=12,
    ).map("".join)
)
def test_random_html_always_comes_out_safe(html):
    cleaned = clean_html(html, base="https://news.example.org/")
    assert_safe(cleaned)
    assert "<script" not in cleaned.lower()
    assert "\x00" not in html_to_text(html)
