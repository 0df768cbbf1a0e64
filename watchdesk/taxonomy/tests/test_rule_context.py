"""Topic rules with context: a phrase that counts only with, or without, certain words near it."""

import pytest

from watchdesk.taxonomy.models import Topic
from watchdesk.taxonomy.rule_syntax import Clause, RuleLine, parse_rule
from watchdesk.taxonomy.rules import Cancelled, TopicMatcher


def topic(pk, phrases="", negative="", required="", threshold=3):
    return Topic(
        pk=pk, rule_phrases=phrases, rule_negative=negative, rule_required=required, rule_threshold=threshold
    )


def result(matcher, title, text="", topic_id=1):
    return next((found for found in matcher.match(title, text) if found.topic_id == topic_id), None)


# --- the syntax -----------------------------------------------------------------------------------------


def test_a_phrase_takes_context_clauses_after_semicolons():
    text = (
        "outbreak = 2; not after: tornado, severe weather\n"
        "shelter in place; near 8: chemical; not with: drill"
    )
    assert parse_rule(text, default_weight=1) == [
        RuleLine("outbreak", 2.0, (Clause(True, "after", 1, ("tornado", "severe weather")),)),
        RuleLine(
            "shelter in place",
            1.0,
            (Clause(False, "near", 8, ("chemical",)), Clause(True, "with", 0, ("drill",))),
        ),
    ]


def test_clause_windows_default_to_next_to_the_phrase_or_five_words_near_it():
    (line,) = parse_rule("leak; NOT Near: gas; before 3: pipe; after: water", default_weight=1)
    assert [(clause.where, clause.window, clause.negate) for clause in line.context] == [
        ("near", 5, True),
        ("before", 3, False),
        ("after", 1, False),
    ]
    assert [str(clause) for clause in line.context] == ["not near: gas", "before 3: pipe", "after: water"]


def test_rules_without_context_read_as_before():
    assert parse_rule("run, hide, fight = 3", default_weight=1) == [RuleLine("run, hide, fight", 3.0)]


@pytest.mark.parametrize(
    "text, message",
    [
        ("outbreak; tornado", "line 1: after “;” write a context such as “not after: tornado”"),
        ("outbreak; not nearby: tornado", "line 1: after “;” write a context"),
        ("wildfire\noutbreak;", "line 2: after “;” write a context"),
        ("outbreak; near: ", "line 1: “near:” needs words separated by commas"),
        ("outbreak; near: tornado,,storm", "line 1: “near:” needs words separated by commas"),
        ("outbreak; near lots: tornado", "line 1: the number after “near” is a count of words from 1 to 50"),
        ("outbreak; after 0: tornado", "line 1: the number after “after” is a count of words"),
        ("outbreak; near 51: tornado", "line 1: the number after “near” is a count of words"),
        ("outbreak; with 3: tornado", "line 1: “with” means anywhere in the item and takes no number"),
        ("outbreak = 2 ; = 3", "line 1: after “;” write a context"),
    ],
)
def test_a_bad_clause_is_refused_with_its_line(text, message):
    with pytest.raises(ValueError, match=message):
        parse_rule(text, default_weight=1)


# --- matching -------------------------------------------------------------------------------------------


@pytest.fixture
def outbreaks():
    rule = "outbreak = 3; not after: tornado, severe weather; not before 2: tornadoes"
    return TopicMatcher([topic(1, rule)])


def test_a_not_after_word_cancels_the_phrase_right_after_it(outbreaks):
    assert result(outbreaks, "Measles outbreak grows").score == 6
    cancelled = result(outbreaks, "Tornado outbreak flattens towns")
    assert (cancelled.score, cancelled.passed, cancelled.phrases) == (0, False, [])
    assert cancelled.cancelled == [Cancelled("outbreak", "phrase", "after “tornado”")]
    assert str(cancelled.cancelled[0]) == "outbreak (after “tornado”)"
    assert result(outbreaks, "", "A severe-weather outbreak hit Iowa").cancelled[0].reason == (
        "after “severe weather”"
    )


def test_the_window_counts_words(outbreaks):
    # "before 2": "tornadoes" may be the first or second word after the phrase, not the third.
    assert not result(outbreaks, "", "An outbreak of tornadoes").passed
    assert result(outbreaks, "", "An outbreak of tornadoes").cancelled[0].reason == (
        "before “tornadoes” within 2 words"
    )
    assert result(outbreaks, "", "An outbreak that spawned tornadoes").passed
    # "after" with no number means right before the phrase: a word in between lets it count.
    assert result(outbreaks, "", "After the tornado, a cholera outbreak").passed


def test_one_occurrence_meeting_its_context_is_enough(outbreaks):
    found = result(outbreaks, "Tornado outbreak", "Later a norovirus outbreak closed the shelter.")
    assert (found.score, found.phrases, found.cancelled) == (3, ["outbreak"], [])
    # It counts double only when an occurrence that met its context is in the title.
    found = result(outbreaks, "Norovirus outbreak at shelter", "It followed the tornado outbreak.")
    assert found.score == 6


def test_context_in_the_text_does_not_reach_the_title():
    matcher = TopicMatcher([topic(1, "outbreak = 3; not near 5: tornado")])
    assert result(matcher, "Outbreak", "Tornado damage was light.").score == 6
    assert result(matcher, "Tornado", "Outbreak fears grow.").score == 3


def test_a_near_clause_requires_a_word_on_either_side():
    matcher = TopicMatcher([topic(1, "shelter in place = 2; near 4: chemical, plume")])
    assert result(matcher, "", "A chemical leak: told to shelter in place").score == 2
    assert result(matcher, "", "Shelter in place, the toxic plume is drifting").score == 2
    alone = result(matcher, "", "Students told to shelter in place during lockdown")
    assert alone.score == 0
    assert alone.cancelled[0].reason == "no “chemical” or “plume” within 4 words"
    far = result(matcher, "", "A chemical plant said nothing; hours later all were told to shelter in place")
    assert far.score == 0


def test_a_context_word_is_outside_the_phrase():
    matcher = TopicMatcher([topic(1, "armed group = 3; near 2: armed")])
    assert result(matcher, "", "An armed group attacked").score == 0


def test_with_looks_anywhere_in_the_item():
    matcher = TopicMatcher([topic(1, "evacuation = 3; with: chemical, hazmat; not with: drill, exercise")])
    assert result(matcher, "Evacuation ordered", "Hazmat crews arrived hours later.").score == 6
    assert result(matcher, "Evacuation ordered", "").cancelled[0].reason == (
        "no “chemical” or “hazmat” in the item"
    )
    drill = result(matcher, "Evacuation drill", "Hazmat teams took part.")
    assert drill.cancelled[0].reason == "“drill” in the item"


def test_negative_and_required_phrases_take_context_too():
    matcher = TopicMatcher(
        [
            topic(
                1,
                "storm = 3",
                negative="storm = 5; before: of, over",
                required="weather service; not after: no",
                threshold=3,
            )
        ]
    )
    hit = result(matcher, "", "A storm of criticism, the weather service said")
    assert (hit.score, hit.negative_phrases) == (-2, ["storm"])
    weather = result(matcher, "", "A storm hit the coast, the weather service said")
    assert (weather.score, weather.passed, weather.negative_phrases) == (3, True, [])
    assert weather.cancelled == [Cancelled("storm", "negative", "not before “of” or “over”")]
    gated = result(matcher, "", "A storm hit, but no weather service warning came")
    assert not gated.passed
    assert gated.cancelled[-1] == Cancelled("weather service", "required", "after “no”")


def test_context_words_are_keys_of_the_one_automaton_and_still_score_other_topics():
    matcher = TopicMatcher(
        [
            topic(1, "outbreak = 3; not after: tornado"),
            topic(2, "tornado = 4\nstorm = 1"),
            topic(3, "flu = 3"),
        ]
    )
    assert len(matcher.automaton) == 4  # outbreak, tornado, storm, flu
    results = {found.topic_id: found for found in matcher.match("Tornado outbreak", "")}
    assert results[2].passed and results[2].score == 8
    assert not results[1].passed
    # A plain phrase is not a position key: the scan only notes where context matters.
    found, places = matcher.hits("Flu and storm season", "")
    assert set(places) == set()
    assert len(found) == 2


def test_a_phrase_without_context_in_the_same_rule_is_unaffected():
    matcher = TopicMatcher([topic(1, "outbreak = 3; not after: tornado\nmeasles = 3")])
    found = result(matcher, "Tornado outbreak and measles", "")
    assert (found.score, found.phrases) == (6, ["measles"])
    assert [entry.phrase for entry in found.cancelled] == ["outbreak"]
