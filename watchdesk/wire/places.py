"""Geotagging: the places an item names, resolved to gazetteer regions, each with a confidence.

Every name of every region (countries, US states, counties, cities, plus the aliases, state abbreviations
and demonyms in ``data/places.json``) goes into ONE pyahocorasick automaton, built once per process. A
title or text is scanned once; matches must sit on word boundaries and keep their case ("reading" is never
Reading), and the longest match wins ("Los Angeles County" over "Los Angeles"). A shouted headline ("FIRE
IN ST. LOUIS") and a wire dateline ("SPRINGFIELD, Ill. (AP) —") are put into Title Case first.

A name may have several candidates (eight Springfields; Georgia the state and the country). In order:

1. "City, State": a place followed by a comma (or a space) and a state or country containing it
   ("Springfield, Ill.", "Paris, Texas", "Amman, Jordan") settles both. Abbreviations ("Ill.", "TX") count
   only here.
2. A name with one candidate (or nested ones: Hong Kong the city in Hong Kong, New York City in New York)
   that is not on a needs-context list is taken as it is (the innermost).
3. Any other name takes its best-scoring candidate: the population is the prior (0.6 x log10); +8 when the
   same place is settled elsewhere in the item; +4 when its parent (a US place's state, another place's
   country) is named; +4 when a place inside it is named (Tbilisi for Georgia the country, Spokane for
   Washington state); +0.5 each for sharing a country, or a US state, with the places already settled and
   with the source's home region; +1.5 for the reading preferred when nothing else speaks ("Washington" is
   D.C., "Georgia" the state).
4. A name that is usually not a place (data/places.json "common_words" and "people": "Chad", "Jordan",
   "Nice", "Reading", "Mobile", "Victoria"...) is kept only with support: a qualifier (step 1), its parent
   or a place inside it named (N'Djamena for Chad), its demonym ("Jordanian"), or a locative just before it
   ("in Reading", "the city of Mobile", "King of Jordan"). A common word opening a sentence and followed by
   a lowercase word ("Reading the report", "Mobile phones") is a word even then.
5. Person cues drop a single-word name: a title before it ("Queen Victoria", "Gov. Jackson"), and for
   people's names (also "Washington", "Houston"...) a capitalised word that is not a place or an
   institution right before or after it in ordinary prose ("Michael Jordan", "Chad Smith"). Title Case
   headlines carry no such cue, so there this check is skipped.

Confidence starts at 0.6 in the title and 0.45 in the text; +0.25 for the place of an explicit "City,
State" and -0.1 for its state; +0.1 for an unambiguous name, -0.1 when the candidates were close
(``CLOSE_CALL``) or the name needed context; +0.05 for a city or county, -0.05 for a country; +0.05 for a
million people; +0.05 in the lead; +0.03 per repeated mention (at most +0.09). A containing place is kept
beside the places found inside it, but 0.1 lower and always below the best of them (Illinois beside
Springfield). At most ``MAX_PLACES``, best first. The source's home region is a fallback only: it is
returned (confidence 0.2, origin "home") when the item names no place at all.
"""

import json
import math
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

import ahocorasick
from django.db import transaction
from django.db.models import Count, Max

from watchdesk.core.compiled import Compiled
from watchdesk.core.iterables import chunks
from watchdesk.taxonomy.models import Region
from watchdesk.wire import coordinates, place_context
from watchdesk.wire.models import ItemPlace, Source

WORD_LISTS = Path(__file__).resolve().parent / "data" / "places.json"
MAX_PLACES = 8
TEXT_LIMIT = 20_000  # characters of an item's text that are read: places deep in a long article matter less
HOME_CONFIDENCE = 0.2
CLOSE_CALL = 0.6  # candidates' scores this close (a tenfold population) make a resolution uncertain
LEAD = 300  # characters at the start of the text counted as the lead (dateline, first sentence)
HOME_STATE = 2.0  # a local outlet's bare "Portland" is its own state's; worth a hundredfold population
REGIONAL = 3.0  # "northern New York" is the state
PEER_COUNTRY = 2.0  # "Georgia and Turkey": beside another country, Georgia is the country
PROVINCE_PRIOR = (
    0.6 * 5
)  # a state abroad ("Victoria") weighs as a place of 100,000 unless the item points to it

# A population for regions the gazetteer gives none, so every candidate has a prior.
NOMINAL_POPULATION = {"country": 100_000, "state": 3_000_000, "county": 30_000, "city": 10_000}
SPECIFICITY = {"city": 0.05, "county": 0.05, "state": 0.0, "country": -0.05}

_QUALIFIER_GAP = re.compile(r",? {1,2}|,")
_PREV_WORD = re.compile(r"([\w.'’-]+) $")
_NEXT_WORD = re.compile(r" ([\w'’-]+)")
_WORD_BEFORE_OF = re.compile(r"([\w.'’-]+) of $")
_SENTENCE_END = frozenset('.!?:;"“”\n')
_LONG_WORD = re.compile(r"\b[^\W\d_]{4,}")
_DATELINE = re.compile(r"\s*([A-Z][A-Z.'’ -]*[A-Z.])(?=,| \(| +[—–-])")
_ACRONYM = re.compile(r"\b(Usa|Uk|Uae|Nyc|Drc|Dc)\b")
_POSTAL_AFTER_COMMA = re.compile(r"(?<=, )([A-Z][a-z])\b")
_SAINT = re.compile(r"\b(?:St\.|Saint|St) ")


@dataclass(frozen=True, slots=True)
class PlaceMatch:
    region_id: int
    confidence: float
    mention: str
    origin: str  # "title", "text" or "home"


@dataclass(slots=True)
class _Name:
    """What one surface form in the automaton stands for."""

    length: int
    places: tuple  # region indexes this form names
    qualifies: tuple  # states named by an abbreviation valid only after "Place, "
    demonym_of: tuple  # countries whose adjective this is
    needs_context: bool
    common_word: bool
    person_name: bool
    single_word: bool
    preferred: int | None
    only: int | None  # the one region meant: a single candidate, or the innermost of nested ones
    province: bool = False  # names a state or province abroad ("Victoria"): its country, as a small place


@dataclass(slots=True)
class _Mention:
    origin: str
    segment: str
    start: int
    end: int
    name: _Name
    chosen: int | None = None
    role: str = "place"  # "place", "qualified" (City of "City, State") or "qualifier" (its State)
    span_end: int = 0  # end of "City, State" for a qualified mention
    place_follows: bool = False  # another name starts right after this one ("Paris Texas")
    listed: list = field(default_factory=list)  # mentions joined to this one in a list ("A, B and C")
    unknown_town: bool = False  # "Detroit, Oregon": a town of that name the gazetteer does not hold

    @property
    def words(self):
        return self.segment[self.start : self.span_end or self.end]


@dataclass(slots=True)
class _Context:
    """What the item says around its ambiguous names (region indexes)."""

    named: set  # places settled without doubt: "City, State" pairs and unambiguous names
    cued: set  # those, plus the countries whose demonym appears ("Jordanian")
    containing: set  # every region containing a settled place
    countries: set
    states: set
    home: int | None  # the source's home region, a weak hint


def _load_word_lists():
    with open(WORD_LISTS, encoding="utf-8") as handle:
        return json.load(handle)


def _fold(text):
    """São Paulo -> Sao Paulo: feeds often drop the accents."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _variants(name):
    """The spellings a name is written in: accents dropped, St./Saint/St, Ft./Fort, Mt./Mount, ’ for '."""
    forms = {name, _fold(name)}
    for form in list(forms):
        if _SAINT.search(form):
            forms.update(_SAINT.sub(saint, form) for saint in ("St. ", "Saint ", "St "))
    for form in list(forms):
        for long, short in (("Fort ", "Ft. "), ("Mount ", "Mt. ")):
            if form.startswith(long):
                forms.add(short + form[len(long) :])
        if "'" in form:
            forms.add(form.replace("'", "’"))
    return forms


def _soften_shouting(text):
    """FIRE IN ST. LOUIS -> Fire In St. Louis, keeping USA, UK, NYC and ", TX" as they are written."""
    text = text.title()
    text = _ACRONYM.sub(lambda m: m.group(1).upper(), text)
    return _POSTAL_AFTER_COMMA.sub(lambda m: m.group(1).upper(), text)


def _shouting(text):
    return text.isupper() and len(text) >= 8


@lru_cache(maxsize=64)
def _headline_case(text):
    """Title Case ("Fire Destroys Warehouse In Houston"): capitals there say nothing about names."""
    words = _LONG_WORD.findall(text[:400])
    return len(words) >= 3 and sum(word[0].isupper() for word in words) >= 0.8 * len(words)


class Geotagger:
    """Finds places in text. Build it once (``from_db()`` or ``current_geotagger()``) and reuse it.

    ``records``: mappings with id, name, kind ("country", "state", "county", "city"), code, path (codes
    from the country down, "US/US-CA/city:5368361/") and population (or None); ``region_id`` in the
    results is the record's id.
    """

    def __init__(self, records, *, word_lists=None):
        lists = word_lists or _load_word_lists()
        self._read_regions(records)
        self._locatives = frozenset(lists["locatives"])
        self._of_places = frozenset(word.lower() for word in lists["of_places"] + lists["titles"])
        self._titles = frozenset(lists["titles"])
        self._not_names = frozenset(lists["not_names"])
        self._after_name = frozenset(lists["after_name"])
        self._local_bodies = frozenset(lists["local_bodies"])
        self._regional = frozenset(lists["regional"])
        self._county_lists = lists["county_lists"]
        self._county_before = lists["county_before"]
        self._automaton = self._build_automaton(lists)

    @classmethod
    def from_db(cls):
        return cls(Region.objects.values("id", "name", "kind", "code", "path", "population"))

    def __len__(self):
        return len(self._ids)

    # --- Building ---------------------------------------------------------------------------------------

    def _read_regions(self, records):
        rows = []
        for record in records:
            try:
                rows.append(
                    (
                        int(record["id"]),
                        str(record["name"]).strip(),
                        record["kind"],
                        record["code"],
                        record["path"] or f"{record['code']}/",
                        record["population"],
                    )
                )
            except (KeyError, TypeError, ValueError) as error:
                raise ValueError(
                    f"A region record needs id, name, kind, code, path and population: {record!r}"
                ) from error
        self._ids = [row[0] for row in rows]
        self._names = [row[1] for row in rows]
        self._kinds = [row[2] for row in rows]
        self._codes = [row[3] for row in rows]
        self._index_of_id = {region_id: index for index, region_id in enumerate(self._ids)}
        self._index_of_code = {code: index for index, code in enumerate(self._codes)}
        self._prior, self._ancestors, self._parent, self._country, self._state = [], [], [], [], []
        for _, _, kind, _, path, population in rows:
            population = population or NOMINAL_POPULATION.get(kind, 10_000)
            self._prior.append(0.6 * math.log10(max(population, 1)))
            codes = Region.codes_in(path)[:-1]
            ancestors = tuple(self._index_of_code[c] for c in codes if c in self._index_of_code)
            self._ancestors.append(ancestors)
            self._parent.append(ancestors[-1] if ancestors else None)
        for index, ancestors in enumerate(self._ancestors):
            line = (*ancestors, index)
            self._country.append(next((i for i in line if self._kinds[i] == "country"), None))
            self._state.append(next((i for i in line if self._kinds[i] == "state"), None))
        self._population = [row[5] or 0 for row in rows]

    def _forms(self, index):
        name, kind = self._names[index], self._kinds[index]
        if kind == "city" and len(name) < 4:
            return set()  # "Man", "Van", "Roy": too often words
        if kind == "county":
            state = self._state[index]
            if state is not None and self._names[state] == name:
                return set()  # District of Columbia: the state already has this name
            if name.endswith(" city"):
                name = name[: -len(" city")] + " City"  # Virginia's independent cities: "Richmond City"
        return _variants(name)

    def _build_automaton(self, lists):
        entries = defaultdict(lambda: ([], [], []))  # form -> (places, qualifies, demonym_of)
        for index in range(len(self._ids)):
            for form in self._forms(index):
                entries[form][0].append(index)
        for column, section in ((0, "aliases"), (0, "provinces"), (1, "qualifiers"), (2, "demonyms")):
            for code, forms in lists[section].items():
                index = self._index_of_code.get(code)
                if index is None:
                    continue  # a region this database does not hold
                for form in forms:
                    if index not in entries[form][column]:
                        entries[form][column].append(index)
        provinces = {form for forms in lists["provinces"].values() for form in forms}
        common_words, people = set(lists["common_words"]), set(lists["people"])
        person_names = people | set(lists["also_people"])
        preferred = {form: self._index_of_code.get(code) for form, code in lists["preferred"].items()}
        automaton = ahocorasick.Automaton()
        for form, (places, qualifies, demonym_of) in entries.items():
            name = _Name(
                length=len(form),
                places=tuple(places),
                qualifies=tuple(qualifies),
                demonym_of=tuple(demonym_of),
                needs_context=form in common_words or form in people,
                common_word=form in common_words,
                person_name=form in person_names,
                single_word=" " not in form,
                preferred=preferred.get(form) if preferred.get(form) in places else None,
                only=self._innermost(places),
                province=form in provinces,
            )
            automaton.add_word(form, name)
        automaton.make_automaton()
        return automaton

    def _innermost(self, places):
        """The one region a name means when its candidates nest: Hong Kong the city in Hong Kong."""
        chain = sorted(places, key=lambda index: len(self._ancestors[index]))
        if chain and all(outer in self._ancestors[inner] for outer, inner in pairwise(chain)):
            return chain[-1]
        return None

    # --- Scanning ---------------------------------------------------------------------------------------

    def _scan(self, segment, origin):
        """Mentions in one segment: word-bounded, longest first, no overlaps; "City, State" paired."""
        hits = []
        if self._automaton.kind != ahocorasick.AHOCORASICK:  # no regions loaded: nothing to find
            return hits
        for last, name in self._automaton.iter(segment):
            start, end = last - name.length + 1, last + 1
            if start > 0 and segment[start].isalnum() and segment[start - 1].isalnum():
                continue
            if end < len(segment) and segment[last].isalnum() and segment[end].isalnum():
                continue
            hits.append((start, -end, name))
        hits.sort(key=lambda hit: (hit[0], hit[1]))
        counties = [
            *place_context.county_list_names(segment, self._county_lists, self._lookup),
            *place_context.county_after_words(segment, self._county_before, self._lookup),
        ]
        for start, end, _ in counties:  # "Butte and Tehama counties": Butte County, not Butte
            hits = [hit for hit in hits if -hit[1] <= start or hit[0] >= end]
        hits += [(start, -end, name) for start, end, name in counties]
        hits.sort(key=lambda hit: (hit[0], hit[1]))
        mentions, reached = [], 0
        for start, negative_end, name in hits:
            if start >= reached:
                mentions.append(_Mention(origin, segment, start, -negative_end, name))
                reached = -negative_end
        for first, second in zip(mentions, mentions[1:], strict=False):
            first.place_follows = second.start == first.end + 1
            if _QUALIFIER_GAP.fullmatch(segment, first.end, second.start) and not self._pair(first, second):
                first.unknown_town = self._unknown_town(first, second)
            if place_context.LIST_JOIN.fullmatch(segment, first.end, second.start):
                first.listed.append(second)
                second.listed.append(first)
        return [
            mention
            for mention in mentions
            if not (
                mention.role == "place"
                and place_context.part_of_another_name(segment, mention.end, self._after_name)
            )
        ]

    def _lookup(self, form):
        return self._automaton.get(form, None)

    def _unknown_town(self, place, qualifier):
        """ "Detroit, Oregon,": a town the gazetteer does not have in that state, not Detroit, Michigan."""
        towns = all(self._kinds[i] in ("city", "county") for i in place.name.places)
        states = qualifier.name.qualifies or any(
            self._kinds[i] in ("state", "country") for i in qualifier.name.places
        )
        return (
            towns and bool(states) and place_context.qualifier_ends_clause(qualifier.segment, qualifier.end)
        )

    def _pair(self, place, qualifier):
        """Settle "Springfield, Ill.": the candidate of ``place`` inside a candidate of ``qualifier``."""
        containers = [i for i in qualifier.name.places if self._kinds[i] in ("state", "country")]
        containers += qualifier.name.qualifies
        if qualifier.chosen is not None:
            containers = [qualifier.chosen]
        inner = [place.chosen] if place.chosen is not None else place.name.places
        pairs = [(i, c) for i in inner for c in containers if c in self._ancestors[i]]
        if not pairs:
            return False
        inside, container = max(pairs, key=lambda pair: self._prior[pair[0]])
        if place.role == "place":
            place.role, place.span_end = "qualified", qualifier.end
        place.chosen = inside
        qualifier.chosen, qualifier.role = container, "qualifier"
        return True

    def _neighbours(self, mention):
        segment, start = mention.segment, mention.start
        before = segment[max(0, start - 40) : start]
        previous = _PREV_WORD.search(before)
        following = _NEXT_WORD.match(segment, mention.end)
        stripped = before.rstrip()
        sentence_start = not stripped or stripped[-1] in _SENTENCE_END
        return (
            (previous.group(1) if previous else ""),
            (following.group(1) if following else ""),
            sentence_start,
        )

    def _person_or_word(self, mention):
        """True when the words around a single-word name say it is a person or a common word here."""
        name = mention.name
        previous, following, sentence_start = self._neighbours(mention)
        if previous in self._titles:
            return True
        if name.common_word and sentence_start and following[:1].islower():
            return True  # "Reading the report", "Mobile phones"
        if not (name.needs_context or name.person_name) or _headline_case(mention.segment):
            return False
        if previous[:1].isupper() and previous not in self._not_names:
            return True  # "Michael Jordan"
        if place_context.next_token(mention.segment, mention.end) in self._local_bodies:
            return False  # "Victoria ISD"
        return following[:1].isupper() and following not in self._not_names and not mention.place_follows

    # --- Resolving --------------------------------------------------------------------------------------

    def find(self, title, text="", home_region_id=None):
        """The places ``title`` and ``text`` name, best first (at most MAX_PLACES), or the home region."""
        if not isinstance(title or "", str) or not isinstance(text or "", str):
            raise TypeError("title and text must be strings")
        mentions = []
        for origin, segment in (("title", title or ""), ("text", (text or "")[:TEXT_LIMIT])):
            if not segment:
                continue
            if _shouting(segment[:300]):
                segment = _soften_shouting(segment)
            elif origin == "text" and (dateline := _DATELINE.match(segment)):
                segment = (
                    segment[: dateline.start(1)] + dateline.group(1).title() + segment[dateline.end(1) :]
                )
            mentions += self._scan(segment, origin)
        found = self._resolve(mentions, self._index_of_id.get(home_region_id))
        if not found and home_region_id is not None:
            return [PlaceMatch(home_region_id, HOME_CONFIDENCE, "", "home")]
        return found

    def _resolve(self, mentions, home):
        named, open_mentions = set(), []
        unknown = {id(mention.name) for mention in mentions if mention.unknown_town}
        for mention in mentions:
            name = mention.name
            if id(name) in unknown:
                continue  # every mention of a town the gazetteer does not hold ("Detroit, Oregon")
            if mention.chosen is not None:
                named.add(mention.chosen)
            elif not name.places:
                continue  # an abbreviation or a demonym on its own
            elif name.single_word and self._person_or_word(mention):
                continue
            elif len(readings := self._state_readings(mention)) == 1 and not name.needs_context:
                mention.chosen = readings[0]  # "northern New York" is the state, settled
                named.add(mention.chosen)
            elif name.only is not None and not name.needs_context and not readings:
                mention.chosen = name.only
                named.add(mention.chosen)
            else:
                open_mentions.append(mention)
        context = _Context(
            named=named,
            cued=named | {country for m in mentions for country in m.name.demonym_of},
            containing={ancestor for region in named for ancestor in self._ancestors[region]},
            countries={self._country[region] for region in named},
            states={self._state[region] for region in named} - {None},
            home=home,
        )
        margins = {}
        for mention in open_mentions:
            candidates = self._state_readings(mention) or mention.name.places
            scores = sorted(((self._score(c, mention, context), c) for c in candidates), reverse=True)
            best = scores[0][1]
            if mention.name.needs_context and not self._supported(best, mention, context):
                continue
            mention.chosen = best
            margins[id(mention)] = scores[0][0] - scores[1][0] if len(scores) > 1 else 9.0
        return self._rank([m for m in mentions if m.chosen is not None], margins)

    def _score(self, candidate, mention, context):
        score = self._prior[candidate]
        if mention.name.province and self._kinds[candidate] == "country":
            score = PROVINCE_PRIOR
        if candidate in context.named:
            score += 8  # settled elsewhere in the item ("Springfield, Ill." in the text)
        if self._parent[candidate] in context.cued:
            score += 4  # its state or country named, or the country's demonym
        if candidate in context.containing or candidate in context.cued:
            score += 4  # a place inside it named ("Tbilisi" for Georgia), or its demonym
        if self._country[candidate] in context.countries:
            score += 0.5
        if self._state[candidate] is not None and self._state[candidate] in context.states:
            score += 0.5
        home = context.home
        if home is not None:
            score += 0.5 * (self._country[candidate] == self._country[home])
            score += HOME_STATE * (
                self._state[candidate] is not None and self._state[candidate] == self._state[home]
            )
        if candidate == mention.name.preferred:
            score += 1.5
        if self._kinds[candidate] in ("state", "country"):
            if self._previous_word(mention).lower() in self._regional:
                score += REGIONAL  # "northern New York"
            if self._kinds[candidate] == "country" and self._beside_another_country(
                candidate, mention, context
            ):
                score += PEER_COUNTRY
        return score

    def _state_readings(self, mention):
        """ "Oaxaca state", "northern New York": only the readings that are a state, province or country."""
        state_after = place_context.next_token(mention.segment, mention.end).lower().rstrip(".,") == "state"
        if not state_after and self._previous_word(mention).lower() not in self._regional:
            return ()
        return tuple(c for c in mention.name.places if self._kinds[c] in ("state", "country"))

    def _beside_another_country(self, candidate, mention, context):
        """Another country is named, and it is not the country of another reading of this name."""
        readings = {self._country[place] for place in mention.name.places}
        return any(
            self._kinds[region] == "country" and region != candidate and region not in readings
            for region in context.named
        )

    def _previous_word(self, mention):
        previous = _PREV_WORD.search(mention.segment[max(0, mention.start - 40) : mention.start])
        return previous.group(1) if previous else ""

    def _supported(self, candidate, mention, context):
        parent = self._parent[candidate]
        if candidate in context.cued or candidate in context.containing:
            return True
        if (
            parent is not None
            and parent in context.containing
            and any(m.chosen is not None for m in mention.listed)
        ):
            return True  # "Cedar Rapids and Marion": listed with a place settled in the same state
        if self._local_body(candidate, mention, context.home):
            return True
        return (parent is not None and parent in context.cued) or self._locative(mention)

    def _local_body(self, candidate, mention, home):
        """ "Victoria police", "Paris ISD" in an outlet of the place's own state (or country, abroad)."""
        if home is None or place_context.next_token(mention.segment, mention.end) not in self._local_bodies:
            return False
        if self._state[home] is not None:
            return self._state[candidate] == self._state[home]
        return self._kinds[home] == "country" and self._country[candidate] == home

    def _locative(self, mention):
        """ "in Reading", "near Mobile", "the city of Mobile", "King of Jordan"."""
        before = mention.segment[max(0, mention.start - 40) : mention.start]
        previous = _PREV_WORD.search(before)
        if previous and (previous.group(1).lower() in self._locatives or previous.group(1) in self._regional):
            return True  # "in Reading", "west Mobile"
        of = _WORD_BEFORE_OF.search(before)
        return bool(of) and of.group(1).lower() in self._of_places

    def _confidence(self, mention, margin):
        region, name = mention.chosen, mention.name
        confidence = 0.6 if mention.origin == "title" else 0.45
        if mention.role == "qualified":
            confidence += 0.25
        elif mention.role == "qualifier":
            confidence -= 0.1
        if name.only is not None and not name.needs_context:
            confidence += 0.1
        elif mention.role == "place" and (name.needs_context or margin < CLOSE_CALL):
            confidence -= 0.1
        confidence += SPECIFICITY.get(self._kinds[region], 0)
        if self._population[region] >= 1_000_000:
            confidence += 0.05
        if mention.origin == "text" and mention.start < LEAD:
            confidence += 0.05
        return confidence

    def _rank(self, mentions, margins):
        best, counts = {}, defaultdict(int)
        for mention in mentions:
            confidence = self._confidence(mention, margins.get(id(mention), 9.0))
            region = mention.chosen
            counts[region] += 1
            if region not in best or confidence > best[region][0]:
                best[region] = (confidence, mention)
        scores = {
            region: confidence + min(0.03 * (counts[region] - 1), 0.09)
            for region, (confidence, _) in best.items()
        }
        inner_best = {}  # container -> the best confidence of a place found inside it
        for region, confidence in scores.items():
            for ancestor in self._ancestors[region]:
                inner_best[ancestor] = max(inner_best.get(ancestor, 0), confidence)
        places = []
        for region, (_, mention) in best.items():
            confidence = scores[region]
            if region in inner_best:  # Illinois beside Springfield: kept, but below it
                confidence = min(confidence - 0.1, inner_best[region] - 0.05)
            confidence = round(min(max(confidence, 0.05), 0.99), 3)
            places.append(PlaceMatch(self._ids[region], confidence, mention.words[:200], mention.origin))
        places.sort(key=lambda place: (-place.confidence, place.origin != "title"))
        return places[:MAX_PLACES]


# --- One tagger per process -----------------------------------------------------------------------------


def regions_signature():
    """Changes when regions are added or removed: one aggregate query."""
    row = Region.objects.aggregate(count=Count("pk"), last_pk=Max("pk"))
    return (row["count"], row["last_pk"])


# Counting 12,701 regions for every feed cost more than tagging its items. A region saved or deleted in
# this process forgets the gazetteer at once (signal_handlers.region_changed); another process's change is
# seen within a minute.
_tagger = Compiled(regions_signature, Geotagger.from_db, recheck=60)
_placer = Compiled(regions_signature, coordinates.PointPlacer.from_db, recheck=60)


def current_geotagger():
    """The tagger for the regions as they are now, rebuilt only when they changed. Call once per batch.

    Saving or deleting a region in this process forgets it at once (wire/apps.py). Otherwise the count and
    highest id of the regions are compared at most once a minute, so rows added without signals (the
    gazetteer loader's ``bulk_create``) or by another process are seen within a minute; call
    ``forget_geotagger()`` to see them at once. A rename done with ``update()`` needs
    ``forget_geotagger()`` or a restart.
    """
    return _tagger.get()


def forget_geotagger():
    _tagger.forget()
    _placer.forget()


def current_point_placer():
    """Geocodes and coordinates to regions (wire/coordinates.py), rebuilt when the regions change."""
    return _placer.get()


def apply_places(items, *, tagger=None, placer=None):
    """Replace the places of ``items`` with what the tagger finds; items an editor corrected are left alone.

    An official alert's geocodes place it alone; an item's coordinates come first, above the places its
    text names (``with_official_places``). The source's home region is the fallback for an item that
    names no place. Returns the number of rows written.
    """
    items = [item for item in items if item.pk and not item.places_edited]
    if not items:
        return 0
    tagger = tagger or current_geotagger()
    if placer is None and any(coordinates.needs_placer(item.official) for item in items):
        placer = current_point_placer()
    source_ids = {item.source_id for item in items if item.source_id}
    homes = (
        dict(Source.objects.filter(pk__in=source_ids).values_list("pk", "home_region_id"))
        if source_ids
        else {}
    )
    written = 0
    for batch in chunks(items):
        rows = [
            ItemPlace(
                item_id=item.pk,
                region_id=place.region_id,
                confidence=place.confidence,
                mention=place.mention,
                origin=place.origin,
            )
            for item in batch
            for place in with_official_places(
                item,
                lambda item=item: tagger.find(
                    item.title, item.text, home_region_id=homes.get(item.source_id)
                ),
                placer,
            )
        ]
        with transaction.atomic():
            ItemPlace.objects.filter(item_id__in=[item.pk for item in batch]).delete()
            written += len(ItemPlace.objects.bulk_create(rows))
    return written


def with_official_places(item, text_places, placer):
    """The places of an item, from its official data first (``coordinates.official_places``).

    A CAP alert placed by its geocodes gets those alone: its area text ("Northern Sacramento Valley") is
    not guessed at. A point's places come first and the text's follow, each kept below the surest point
    place, up to MAX_PLACES in all. ``text_places`` is called only when needed.
    """
    official = coordinates.official_places(item.official, placer) if placer is not None else []
    if not official:
        return text_places()
    places = [
        PlaceMatch(pk, round(confidence, 3), mention, origin) for pk, confidence, mention, origin in official
    ]
    if item.official.get("kind") == "cap":
        return places
    floor, taken = places[-1].confidence, {place.region_id for place in places}
    for place in text_places():
        if len(places) >= max(MAX_PLACES, len(official)):
            break
        if place.region_id not in taken and place.origin != "home":
            places.append(
                PlaceMatch(
                    place.region_id,
                    round(min(place.confidence, floor - 0.01), 3),
                    place.mention,
                    place.origin,
                )
            )
    return places
