"""What the words around a place name say about it, for the geotagger (``wire/places.py``).

- "Butte and Tehama counties": each name of the list is a county ("Butte County", "Tehama County");
  so is the name in "el condado de Shasta".
- "Atlanta Highway", "Columbia River", "Norfolk Southern", Cal Fire's "Butte Unit": the name is part of
  another name (a street, a river, a company or unit named after a place) and places nothing. A public
  body of the place itself ("Butte County Sheriff", "Georgia Bureau of Investigation") is left alone: it
  says where the story is.
- "Detroit, Oregon," where the gazetteer has no Detroit in Oregon: the town is one it does not know, not
  Detroit, Michigan; the state still counts.
- "Cedar Rapids and Marion": names joined in a list are read together (see ``Geotagger._supported``).

The word lists are in ``data/places.json`` ("after_name", "county_lists", "local_bodies", "regional").
"""

import re

# Names joined in a list: "A, B and C", "A and B", "A & B", "A or B".
LIST_JOIN = re.compile(r",? and |, |,? & |,? or ")
_NAME_RUN = r"[A-Z][\w'’.-]*(?: [A-Z][\w'’.-]*)*"
_LIST_BEFORE = re.compile(rf"{_NAME_RUN}(?:(?:,? and |, |,? & |,? or ){_NAME_RUN})* $")
_CAPITALISED_RUN = re.compile(_NAME_RUN)
_NEXT_TOKEN = re.compile(r" ([\w'’.&-]+)")
_AFTER_QUALIFIER = re.compile(r"\s*(?:[,.;:)]|$)")
LIST_REACH = 200  # characters before "counties" in which the list of names is looked for


def county_list_names(segment, plurals, lookup):
    """``(start, end, name)`` for each name in a list before "counties"/"parishes" that the automaton
    knows with the singular after it: "Butte and Tehama counties" gives Butte County and Tehama County.

    ``plurals``: {"counties": "County", ...}; ``lookup(form)``: the automaton's value for a form, or None.
    A capitalised word before the name ("In Butte") is tried without, so the sentence's first word does
    not hide the county.
    """
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, plurals)) + r")\b")
    for plural in pattern.finditer(segment):
        offset = max(0, plural.start() - LIST_REACH)
        before = segment[offset : plural.start()]
        listed = _LIST_BEFORE.search(before)
        runs = list(_CAPITALISED_RUN.finditer(before, listed.start())) if listed else []
        if len(runs) < 2:
            continue  # "three Oregon counties" names no county
        for run in runs:
            words = run.group().split(" ")
            for skip in range(len(words)):
                form = " ".join(words[skip:])
                name = lookup(f"{form} {plurals[plural.group(1)]}")
                if name is not None:
                    start = offset + run.end() - len(form)
                    yield start, offset + run.end(), name
                    break


def county_after_words(segment, prefixes, lookup):
    """``(start, end, name)`` for "condado de Shasta": the name read as "Shasta County"."""
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, prefixes)) + rf") ({_NAME_RUN})")
    for found in pattern.finditer(segment):
        name = lookup(f"{found.group(1)} County")
        if name is not None:
            yield found.start(1), found.end(1), name


def next_token(segment, end):
    """The word right after position ``end`` (one space between), with a trailing full stop kept."""
    following = _NEXT_TOKEN.match(segment, end)
    return following.group(1) if following else ""


def part_of_another_name(segment, end, after_name):
    """True when the word after a name makes it a street, river or company: "Atlanta Highway"."""
    token = next_token(segment, end)
    return token in after_name or token.rstrip(".") in after_name


def qualifier_ends_clause(segment, end):
    """ "Detroit, Oregon, told ..." or "... in Detroit, Oregon.": the qualifier closes the phrase."""
    return bool(_AFTER_QUALIFIER.match(segment, end))
