"""XML attacks are harmless: nothing declared in a DOCTYPE is expanded, loaded or fetched.

Every test checks that the parse finishes and that the entity's text appears nowhere in what we keep;
none measures time.
"""

import pytest

from watchdesk.testing.webserver import Reply
from watchdesk.wire.entries import FeedError
from watchdesk.wire.parsing import _remove_declarations, parse_feed


def everything(feed):
    """All the text a parse produced, to search for leaked entity text."""
    parts = [feed.title, feed.link, feed.problem, repr(feed.skipped)]
    for entry in feed.entries:
        parts += [entry.guid, entry.url, entry.title, entry.author, entry.summary, entry.content, entry.text]
    return "\n".join(parts)


def rss(doctype, title="&boom;", description="&boom;"):
    return (
        f'<?xml version="1.0"?>\n{doctype}\n<rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://news.example.org/</link><item><title>Storm {title}</title>"
        f"<link>https://news.example.org/storm</link><description>{description}</description></item>"
        "</channel></rss>"
    ).encode()


def atom(doctype, title="&boom;"):
    return (
        f'<?xml version="1.0"?>\n{doctype}\n<feed xmlns="http://www.w3.org/2005/Atom"><title>{title}</title>'
        f'<entry><id>urn:x:1</id><title>Storm {title}</title><link href="https://news.example.org/storm"/>'
        f"<summary>{title}</summary></entry></feed>"
    ).encode()


BILLION_LAUGHS = """<!DOCTYPE lolz [
 <!ENTITY lol "lolz">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
 <!ENTITY boom "&lol9;">
]>"""


@pytest.mark.parametrize("build", [rss, atom])
def test_billion_laughs(build):
    feed = parse_feed(build(BILLION_LAUGHS))
    assert len(feed.entries) == 1
    assert "lolz" not in everything(feed)
    assert feed.entries[0].title == "Storm &boom;"  # the reference stays as literal text


def test_billion_laughs_on_one_line():
    """feedparser's own ENTITY regex only sees declarations at the start of a line; ours sees all."""
    doctype = (
        '<!DOCTYPE r [<!ENTITY lol "lolz"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">'
        '<!ENTITY boom "&lol2;&lol2;">]>'
    )
    assert "lolz" not in everything(parse_feed(rss(doctype)))


def test_quadratic_blowup():
    payload = "Q" * 50_000
    content = rss(f'<!DOCTYPE rss [<!ENTITY boom "{payload}">]>', title="x", description="&boom;" * 20_000)
    feed = parse_feed(content)
    text = everything(feed)
    assert "QQQQQQQQ" not in text
    assert len(text) < 2 * len(content)  # nothing was multiplied


def test_plain_text_entities_are_not_redeclared_by_feedparser():
    """feedparser re-declares "safe" entities (plain text values) after its own DOCTYPE pass; with the
    DOCTYPE gone there is nothing for it to re-declare, so even harmless-looking entities stay unexpanded."""
    feed = parse_feed(rss('<!DOCTYPE rss [\n<!ENTITY boom "SAFE-LOOKING">\n]>'))
    assert "SAFE-LOOKING" not in everything(feed)


def test_external_file_entity(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    doctype = f'<!DOCTYPE rss [<!ENTITY boom SYSTEM "file://{secret}">]>'
    for build in (rss, atom):
        assert "TOP-SECRET" not in everything(parse_feed(build(doctype)))
    passwd = '<!DOCTYPE rss [<!ENTITY boom SYSTEM "file:///etc/passwd">]>'
    assert "root:" not in everything(parse_feed(rss(passwd)))


EVIL_DTD = b'<!ENTITY boom "FETCHED-FROM-THE-NETWORK">'


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE rss [<!ENTITY boom SYSTEM "{url}">]>',
        '<!DOCTYPE rss SYSTEM "{url}">',
        '<!DOCTYPE rss PUBLIC "-//Evil//DTD Evil//EN" "{url}">',
        '<!DOCTYPE rss [<!ENTITY % remote SYSTEM "{url}"> %remote;]>',
        '<!DOCTYPE rss [<!ENTITY % remote SYSTEM "{url}"> %remote; <!ENTITY other "x">]>',
    ],
)
def test_external_entities_and_dtds_are_never_fetched(web_server, doctype):
    web_server.routes["/evil.dtd"] = Reply(200, {"Content-Type": "application/xml-dtd"}, EVIL_DTD)
    url = web_server.url("/evil.dtd")
    for build in (rss, atom):
        feed = parse_feed(build(doctype.format(url=url)))
        assert len(feed.entries) == 1
        assert "FETCHED" not in everything(feed)
    assert web_server.hits() == []


@pytest.mark.parametrize(
    "doctype",
    [
        '<!-- a comment first --><?xml-stylesheet href="x.xsl"?><!DOCTYPE rss [<!ENTITY boom "LEAK">]>',
        '<!doctype rss [<!ENTITY boom "LEAK">]>',  # lower case
        "<!DOCTYPE rss [<!ENTITY boom \"a > b ] LEAK\"> <!-- ]> --> <!ENTITY x '>'>]>",  # tricky quoting
        '<!DOCTYPE rss [<!ENTITY boom "LEAK">]>\n<!DOCTYPE rss [<!ENTITY boom "LEAK">]>',  # two of them
        '<!ENTITY boom "LEAK">',  # a declaration outside any DOCTYPE
    ],
)
def test_declarations_are_found_wherever_they_hide(doctype):
    feed = parse_feed(rss(doctype))
    assert "LEAK" not in everything(feed)
    assert feed.entries[0].url == "https://news.example.org/storm"


def test_a_doctype_inside_the_document_is_removed_too():
    content = rss("", title='x</title><!DOCTYPE rss [<!ENTITY boom "LEAK">]><title>&boom;')
    assert "LEAK" not in everything(parse_feed(content))


def test_an_unterminated_doctype_swallows_the_rest_and_is_not_a_feed():
    with pytest.raises(FeedError):
        parse_feed(b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY boom "x"> <rss version="2.0"><channel>')


def test_removing_declarations_keeps_everything_else():
    content = b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY a "b">]>\n<rss><![CDATA[&lt;!DOCTYPE]]></rss>'
    assert _remove_declarations(content) == b'<?xml version="1.0"?>\n\n<rss><![CDATA[&lt;!DOCTYPE]]></rss>'
    assert _remove_declarations(b"<rss>plain</rss>") == b"<rss>plain</rss>"


def test_a_huge_internal_subset_is_cut_out():
    subset = "".join(f'<!ENTITY e{n} "value {n}">' for n in range(50_000))
    feed = parse_feed(rss(f"<!DOCTYPE rss [{subset}]>", title="ok", description="fine"))
    assert feed.entries[0].title == "Storm ok"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_attacks_in_wide_encodings_are_defused_too(encoding):
    content = (
        rss(BILLION_LAUGHS).decode().replace('version="1.0"?>', f'version="1.0" encoding="{encoding}"?>', 1)
    )
    feed = parse_feed(content.encode(encoding))
    assert len(feed.entries) == 1 and "lolz" not in everything(feed)
