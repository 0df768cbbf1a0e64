"""Cleaning the author fields feeds send into bylines a reader can read (``posts.bylines``)."""

import pytest

from watchdesk.posts.bylines import byline_from, clean_byline, format_byline, split_byline


@pytest.mark.parametrize(
    ("raw", "byline"),
    [
        # RSS 2.0's <author> form, which feedparser split into "ple (Marie Thibodeaux" (issue 11)
        ("news@bayoufire.example (Marie Thibodeaux)", "Marie Thibodeaux"),
        ("(Marie Thibodeaux) news@bayoufire.example", "Marie Thibodeaux"),
        ("Marie Thibodeaux <news@bayoufire.example>", "Marie Thibodeaux"),
        ("Marie Thibodeaux &lt;news@bayoufire.example&gt;", "Marie Thibodeaux"),
        ("Marie Thibodeaux (news@bayoufire.example)", "Marie Thibodeaux"),
        ("Marie Thibodeaux [mailto:news@bayoufire.example]", "Marie Thibodeaux"),
        ("news@bayoufire.example", ""),
        ("mailto:desk@valley.example.org", ""),
        ("By Marie Thibodeaux", "Marie Thibodeaux"),
        ("BY MARIE THIBODEAUX", "MARIE THIBODEAUX"),
        ("Posted by: Marie Thibodeaux", "Marie Thibodeaux"),
        ("Byron Lee", "Byron Lee"),  # "By" only as a word
        # A job title after the name is not a second author ("Staff Writer" would get an author page)
        ("Marie Thibodeaux, Staff Writer", "Marie Thibodeaux"),
        ("Marie Thibodeaux, Senior Staff Writer", "Marie Thibodeaux"),
        ("Marie Thibodeaux | Reporter", "Marie Thibodeaux"),
        ("Marie Thibodeaux - Courts Reporter", "Marie Thibodeaux"),
        ("By Staff", ""),
        ("Dana Ortiz and Lee Park", "Dana Ortiz and Lee Park"),
        ("Dana Ortiz & Lee Park", "Dana Ortiz and Lee Park"),
        ("Dana Ortiz, Lee Park, and Sam Wu", "Dana Ortiz, Lee Park and Sam Wu"),
        ("Dana Ortiz; Lee Park", "Dana Ortiz and Lee Park"),
        ("Ortiz, Dana", "Dana Ortiz"),  # a catalogue's order, one person
        ("Dana Ortiz &amp; Lee Park", "Dana Ortiz and Lee Park"),
        ("Dana Ortiz &amp;amp; Lee Park", "Dana Ortiz and Lee Park"),  # escaped twice
        ("Ren&eacute;e O&#39;Hara", "Renée O'Hara"),
        ('<a href="https://x.example/renee">Renée Hara</a>', "Renée Hara"),
        ("", ""),
        ("   \n\t ", ""),
        ("(Marie Thibodeaux)", "Marie Thibodeaux"),
        ("[Marie Thibodeaux]", "Marie Thibodeaux"),
        ("(Marie Thibodeaux", "Marie Thibodeaux"),  # a bracket left open
        ("Marie Thibodeaux)", "Marie Thibodeaux"),
        ("Marie Thibodeaux ()", "Marie Thibodeaux"),
        ("Marie Thibodeaux (Bayou Fire) <news@bayoufire.example>", "Marie Thibodeaux (Bayou Fire)"),
        ("José Núñez", "José Núñez"),
        ("Zoë Ångström and Łukasz Żak", "Zoë Ångström and Łukasz Żak"),
        ("李明", "李明"),
        ("news@x.example (Marie Thibodeaux), desk@x.example (Lee Park)", "Marie Thibodeaux and Lee Park"),
        ("The Associated Press", "The Associated Press"),
        ("---", ""),
    ],
)
def test_clean_byline(raw, byline):
    assert clean_byline(raw) == byline


def test_a_cleaned_byline_never_holds_an_address_or_a_lone_bracket():
    for raw in ["a@b.example (C D", "E F <g@h.example", "(i@j.example) K L)", "<<M N>>", "O P [q@r.example"]:
        cleaned = clean_byline(raw)
        assert "@" not in cleaned
        assert cleaned.count("(") == cleaned.count(")") and not set(cleaned) & set("<>[]"), cleaned


def test_several_author_fields_make_one_byline_without_repeats():
    assert (
        byline_from(["Dana Ortiz", "lee@x.example (Lee Park)", "DANA ORTIZ", ""]) == "Dana Ortiz and Lee Park"
    )
    assert byline_from([None, 3]) == ""


def test_a_long_byline_is_cut_at_a_word():
    byline = byline_from([f"Reporter Number{n}" for n in range(40)], limit=60)
    assert len(byline) <= 60 and byline.endswith("…") and "Reporter Number" in byline


def test_split_and_format_round_trip():
    assert split_byline("By Dana Ortiz, Lee Park and Sam Wu") == ["Dana Ortiz", "Lee Park", "Sam Wu"]
    assert format_byline(["Dana Ortiz", "Lee Park", "Sam Wu"]) == "Dana Ortiz, Lee Park and Sam Wu"
