"""Topic rules: parsing, whole-word accent-free matching, weights, the one automaton, the default rules."""

import pytest

from watchdesk.taxonomy import rules
from watchdesk.taxonomy.models import Topic
from watchdesk.taxonomy.rule_syntax import RuleLine
from watchdesk.taxonomy.rules import TopicMatcher, normalize, parse_rule
from watchdesk.taxonomy.tests.topic_fixtures import make_topic
from watchdesk.taxonomy.topics_loader import read_default_topics


def only(matcher, title, text=""):
    """The single TopicMatch of a one-topic matcher, or None."""
    results = matcher.match(title, text)
    assert len(results) <= 1
    return results[0] if results else None


def matcher_for(phrases="", negative="", required="", threshold=3):
    return TopicMatcher(
        [
            Topic(
                pk=1,
                rule_phrases=phrases,
                rule_negative=negative,
                rule_required=required,
                rule_threshold=threshold,
            )
        ]
    )


# --- parsing --------------------------------------------------------------------------------------------


def test_a_rule_is_one_phrase_a_line_with_an_optional_weight():
    text = "# wildfire words\nwildfire = 3\n\n  red flag warning =2.5  \nevacuation\n"
    assert parse_rule(text, default_weight=1) == [
        RuleLine("wildfire", 3.0),
        RuleLine("red flag warning", 2.5),
        RuleLine("evacuation", 1.0),
    ]
    assert parse_rule("fire sale", default_weight=5) == [RuleLine("fire sale", 5.0)]
    assert parse_rule("", default_weight=1) == []


@pytest.mark.parametrize(
    "text, message",
    [
        ("wildfire\nsmoke\nfire = lots", "line 3: weight must be a number"),
        ("fire = 2 # strong", "line 1: weight must be a number"),
        ("fire = nan", "line 1: weight must be a number"),
        ("fire =", "line 1: weight must be a number, after “=”"),
        ("fire = 0", "line 1: weight must be more than 0"),
        ("fire = -2", "line 1: weight must be more than 0"),
        ("fire\n= 3", "line 2: a phrase needs at least one letter or digit"),
        ("active shooter\n\nActive-Shooter = 2", "line 3: “Active-Shooter” repeats line 1"),
    ],
)
def test_a_bad_line_is_named_by_its_number(text, message):
    with pytest.raises(ValueError, match=message):
        parse_rule(text, default_weight=1)


def test_must_also_mention_phrases_take_no_weight():
    assert parse_rule("border\nport of entry", default_weight=1, weighted=False) == [
        RuleLine("border", 1.0),
        RuleLine("port of entry", 1.0),
    ]
    with pytest.raises(ValueError, match="line 2: these phrases take no weight"):
        parse_rule("border\nCBP = 3", default_weight=1, weighted=False)


def test_normalising_drops_case_accents_and_punctuation():
    assert normalize("ÉVACUATION—ordered!  Near São Paulo") == "evacuation ordered near sao paulo"
    assert normalize("Active-Shooter, HAZMAT.") == "active shooter hazmat"
    assert normalize("Straße") == "strasse"
    assert normalize("COVID-19") == "covid 19"
    assert normalize("") == ""


# --- matching -------------------------------------------------------------------------------------------


def test_phrases_match_whole_words_only():
    matcher = matcher_for("fire = 3")
    assert only(matcher, "House fire on Elm Street").passed
    assert only(matcher, "Fire!").passed
    for title in ["Firearm sales rise", "Wildfire near town", "Coach fired", "Firefighters honoured"]:
        assert only(matcher, title) is None, title


def test_matching_ignores_case_accents_and_punctuation():
    matcher = matcher_for("hazmat = 3\névacuation = 3")
    assert only(matcher, "", "Crews called HAZMAT, then left.").phrases == ["hazmat"]
    assert only(matcher, "", "Call for Hazmat.").phrases == ["hazmat"]
    assert only(matcher, "", "Evacuation ordered").phrases == ["évacuation"]
    assert only(matcher, "", "ÉVACUATION ORDONNÉE").phrases == ["évacuation"]


def test_hyphens_and_spaces_are_the_same_word_break():
    hyphenated = matcher_for("active-shooter = 3")
    spaced = matcher_for("active shooter = 3")
    for text in ["Active shooter at mall", "ACTIVE-SHOOTER at mall", "An active—shooter alert"]:
        assert only(hyphenated, text).passed, text
        assert only(spaced, text).passed, text
    assert only(spaced, "An inactive shooter") is None


def test_a_phrase_counts_once_per_item_and_double_in_the_title():
    matcher = matcher_for("wildfire = 2", threshold=100)
    assert only(matcher, "", "wildfire wildfire wildfire").score == 2
    assert only(matcher, "Wildfire grows", "").score == 4
    assert only(matcher, "Wildfire grows", "The wildfire spread").score == 4


def test_the_score_must_reach_the_threshold():
    matcher = matcher_for("smoke = 1\nevacuation = 2", threshold=3)
    below = only(matcher, "", "Smoke seen")
    assert (below.score, below.passed) == (1, False)
    at = only(matcher, "", "Smoke and an evacuation")
    assert (at.score, at.passed) == (3, True)
    assert at.phrases == ["smoke", "evacuation"]


def test_negative_phrases_subtract_their_weight():
    matcher = matcher_for("fire = 3", negative="fire sale\nunder fire = 1")
    sale = only(matcher, "", "A fire sale at the mall")
    assert (sale.score, sale.passed) == (-2, False)
    assert sale.negative_phrases == ["fire sale"]
    assert sale.phrases == ["fire"]
    criticised = only(matcher, "", "Chief under fire after fire at depot")
    assert (criticised.score, criticised.passed) == (2, False)


def test_a_must_also_mention_group_gates_the_topic():
    matcher = matcher_for("migrants = 3", required="border\nport of entry")
    without = only(matcher, "Migrants arrive by boat", "")
    assert without.score == 6 and not without.passed
    with_border = only(matcher, "Migrants arrive", "Agents at the border met them")
    assert with_border.passed
    assert with_border.phrases == ["migrants", "border"]
    # A required phrase on its own adds nothing to the score.
    alone = only(matcher, "", "A port of entry reopens")
    assert (alone.score, alone.passed) == (0, False)


def test_topics_share_phrases_in_one_automaton(db, monkeypatch):
    built = []
    real_automaton = rules.ahocorasick.Automaton

    def counting_automaton(*args):
        automaton = real_automaton(*args)
        built.append(automaton)
        return automaton

    monkeypatch.setattr(rules.ahocorasick, "Automaton", counting_automaton)
    for n in range(30):
        make_topic(f"topic-{n}", f"shared phrase = 1\nown phrase {n} = 3", negative="shared trap")
    matcher = TopicMatcher.from_db()

    assert len(built) == 1
    assert [value for value in vars(matcher).values() if isinstance(value, real_automaton)] == [
        matcher.automaton
    ]
    assert len(matcher.automaton) == 32  # 30 own phrases + "shared phrase" + "shared trap"
    results = matcher.match("Shared phrase and own phrase 7", "")
    assert len(results) == 30
    assert results[0].passed and results[0].topic_id == Topic.objects.get(slug="topic-7").pk
    assert not any(result.passed for result in results[1:])


def test_a_topic_with_an_unparsable_rule_is_left_out_and_reported(db):
    good = make_topic("good", "tornado = 3")
    bad = make_topic("bad", "tornado = lots")
    matcher = TopicMatcher.from_db()
    assert [result.topic_id for result in matcher.match("Tornado", "")] == [good.pk]
    assert matcher.problems == [(bad.pk, "phrases, line 1: weight must be a number, not “lots”")]


def test_no_topics_match_nothing(db):
    assert TopicMatcher.from_db().match("Wildfire", "flood") == []


# --- the default taxonomy on example headlines ---------------------------------------------------------


@pytest.fixture(scope="module")
def default_matcher():
    """The default rules, compiled without the database: topic ids are the slugs."""
    rows = []
    for slug, values in read_default_topics():
        topic = Topic(**values)
        topic.pk = slug
        rows.append(topic)
    return TopicMatcher(rows)


def filed(matcher, title, text=""):
    return {result.topic_id for result in matcher.match(title, text) if result.passed}


FILED = [
    ("Wildfire forces evacuations near Paradise", "", "wildfire"),
    ("Crews gain ground on brush fire", "The blaze has burned 300 acres and is 40% contained.", "wildfire"),
    ("ÉVACUATION ordered as forest fire nears village", "", "wildfire"),
    (
        "Red Flag Warning issued for the foothills",
        "Gusty winds and low humidity raise fire danger.",
        "wildfire",
    ),
    ("HAZMAT team responds to chlorine leak at water plant", "", "hazmat"),
    ("Tanker rolls over on Route 9", "Firefighters called for Hazmat.", "hazmat"),
    ("Police: active-shooter situation at mall is over", "", "active-shooter"),
    (
        "Gunman opens fire at office park",
        "Three people were wounded before police arrived.",
        "active-shooter",
    ),
    ("Flash flood warning issued for Tucson", "", "flooding"),
    ("Rescuers pull family from floodwaters", "Dozens of water rescues overnight.", "flooding"),
    ("Hurricane Milton makes landfall near Sarasota", "", "hurricanes"),
    ("Typhoon Gaemi slams Taiwan", "", "hurricanes"),
    ("EF-3 tornado confirmed in Moore", "", "tornado-severe-weather"),
    ("Derecho knocks out power across Iowa", "", "tornado-severe-weather"),
    ("Magnitude 6.4 earthquake shakes Ridgecrest", "Aftershocks continue.", "earthquakes"),
    ("Suspicious white powder prompts courthouse evacuation", "", "cbrn"),
    ("Ransomware attack knocks county 911 dispatch offline", "", "cybersecurity"),
    ("Measles outbreak grows to 40 cases", "", "disease-outbreak"),
    ("Heat advisory issued as cooling centers open", "", "public-health"),
    ("Bridge collapse closes Interstate 95", "", "infrastructure-failure"),
    ("Freight train derailment near East Palestine", "", "transportation-accidents"),
    ("Border Patrol agents seize fentanyl at port of entry", "", "border-security"),
    ("FBI arrests militia members in foiled plot", "", "violent-extremism"),
    ("Deputy shot during traffic stop, suspect in custody", "", "officer-safety"),
    ("Two-alarm fire damages apartment building", "Firefighters from three stations responded.", "ems"),
    ("Coast Guard finds missing kayaker off Point Reyes", "", "search-and-rescue"),
    ("Fire department holds full-scale exercise at airport", "", "training"),
    ("Terror attack at Christmas market kills five", "", "terrorism"),
]


NOT_FILED = [
    ("Coach fired after losing season", "", "wildfire"),
    ("Ceasefire talks resume in Cairo", "", "wildfire"),
    ("Cease-fire collapses as shelling resumes", "", "wildfire"),
    ("Retailer holds fire sale on winter coats", "", "wildfire"),
    ("Mayor under fire over budget cuts", "", "wildfire"),
    ("Rumors spread like wildfire after resignation", "", "wildfire"),
    ("Gun shop reports surge in firearm sales", "", "wildfire"),
    ("Two-alarm fire damages apartment building", "Firefighters from three stations responded.", "wildfire"),
    ("Outbreak of violence in the capital after disputed vote", "", "disease-outbreak"),
    (
        "Hot night: Sixers' three-point shooter opened fire from deep",
        "Best shooting night of the season.",
        "active-shooter",
    ),
    ("Carolina Hurricanes beat Rangers 4-2", "", "hurricanes"),
    ("Record flood of applications for county jobs", "", "flooding"),
    ("Team brainstorm yields new ideas", "", "tornado-severe-weather"),
    ("Protesters stormed the statehouse", "", "tornado-severe-weather"),
    ("Pop star takes the charts by storm", "", "tornado-severe-weather"),
    ("Quarterback's Hail Mary stuns rivals", "", "tornado-severe-weather"),
    ("Result is a political earthquake, analysts say", "", "earthquakes"),
    ("Border collie wins agility title", "", "border-security"),
    ("Migrants and asylum seekers arrive on Lampedusa", "", "border-security"),
    ("Stock market crash wipes out savings", "", "transportation-accidents"),
    ("Shelter's rescue dog finds a home", "", "search-and-rescue"),
    ("Drill rapper releases new album", "", "training"),
    ("Media blackout imposed during trial", "", "infrastructure-failure"),
    ("Finance officer shot down the proposal", "", "officer-safety"),
    ("Ten life hacks for working from home", "Hackers? No: tidier desks.", "cybersecurity"),
]


@pytest.mark.parametrize("title, text, slug", FILED)
def test_default_rules_file_real_stories(default_matcher, title, text, slug):
    assert slug in filed(default_matcher, title, text)


@pytest.mark.parametrize("title, text, slug", NOT_FILED)
def test_default_rules_avoid_false_positives(default_matcher, title, text, slug):
    assert slug not in filed(default_matcher, title, text)


def test_default_rules_show_why_an_item_was_filed(default_matcher):
    results = {result.topic_id: result for result in default_matcher.match("Wildfire forces evacuations", "")}
    assert results["wildfire"].phrases == ["wildfire", "evacuations"]
    assert results["wildfire"].score == 10
