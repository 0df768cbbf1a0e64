"""Authors as feeds really write them, through the parser to the stored byline: RSS ``<author>`` and
``dc:creator`` text, Atom's ``<author>`` elements, JSON Feed's ``authors``. feedparser's own split of
"news@bayoufire.example (Marie Thibodeaux)" gave "ple (Marie Thibodeaux" (issue 11)."""

import json

import pytest

from watchdesk.wire.parsing import parse_feed


def rss(*authors, element="author"):
    tags = "".join(f"<{element}>{author}</{element}>" for author in authors)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Bayou Fire</title>
<link>https://bayoufire.example.org/</link><item><title>Warehouse fire in Lafayette</title>
<link>https://bayoufire.example.org/1</link>{tags}</item></channel></rss>""".encode()


def atom(*people):
    authors = "".join(
        f"<author><name>{name}</name>{f'<email>{email}</email>' if email else ''}</author>"
        for name, email in people
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Valley</title><id>urn:v</id><updated>2025-01-15T12:00:00Z</updated>
<entry><title>Levee holds</title><id>urn:v:1</id><link href="https://valley.example.org/1"/>
<updated>2025-01-15T12:00:00Z</updated>{authors}</entry></feed>""".encode()


def byline(document):
    (entry,) = parse_feed(document).entries
    return entry.author


@pytest.mark.parametrize(
    ("author", "expected"),
    [
        ("news@bayoufire.example (Marie Thibodeaux)", "Marie Thibodeaux"),
        ("news@bayoufire.com (Marie Thibodeaux)", "Marie Thibodeaux"),
        ("Marie Thibodeaux &lt;news@bayoufire.example&gt;", "Marie Thibodeaux"),
        ("news@bayoufire.example", ""),
        ("By Marie Thibodeaux", "Marie Thibodeaux"),
        ("Marie Thibodeaux, Staff Writer", "Marie Thibodeaux"),
        ("Marie Thibodeaux and Beau Thibodeaux", "Marie Thibodeaux and Beau Thibodeaux"),
        ("Marie &amp;amp; Beau Thibodeaux", "Marie and Beau Thibodeaux"),
        ("(Marie Thibodeaux)", "Marie Thibodeaux"),
        ("  ", ""),
        ("Renée Núñez-Øberg", "Renée Núñez-Øberg"),
    ],
)
def test_rss_author(author, expected):
    assert byline(rss(author)) == expected


def test_dc_creator_one_or_several():
    assert byline(rss("Marie Thibodeaux", element="dc:creator")) == "Marie Thibodeaux"
    several = rss("Marie Thibodeaux", "news@bayoufire.example (Beau Thibodeaux)", element="dc:creator")
    assert byline(several) == "Marie Thibodeaux and Beau Thibodeaux"


def test_several_rss_authors_with_addresses():
    document = rss("news@bayoufire.example (Marie Thibodeaux)", "desk@bayoufire.example (Beau Thibodeaux)")
    assert byline(document) == "Marie Thibodeaux and Beau Thibodeaux"


def test_atom_authors_all_of_them_without_addresses():
    assert byline(atom(("Lena Ortiz", "lena@valley.example"))) == "Lena Ortiz"
    assert (
        byline(atom(("Lena Ortiz", "lena@valley.example"), ("Sam Park", None))) == "Lena Ortiz and Sam Park"
    )
    assert byline(atom(("By Lena Ortiz, Staff Writer", None))) == "Lena Ortiz"
    assert byline(atom(("", "lena@valley.example"))) == ""


def test_json_feed_authors():
    def feed(item_authors, feed_authors=None):
        document = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "Gulf",
            "items": [{"id": "1", "url": "https://gulf.example.org/1", "title": "Storm", **item_authors}],
        }
        if feed_authors:
            document["authors"] = feed_authors
        return json.dumps(document).encode()

    assert byline(feed({"authors": [{"name": "Lena Ortiz"}, {"name": "sam@gulf.example (Sam Park)"}]})) == (
        "Lena Ortiz and Sam Park"
    )
    assert byline(feed({"author": {"name": "Lena Ortiz <lena@gulf.example>"}})) == "Lena Ortiz"
    assert byline(feed({}, feed_authors=[{"name": "Hurricane Desk"}])) == "Hurricane Desk"
    assert byline(feed({"authors": [{"url": "https://gulf.example.org/lena"}]})) == ""
