"""Reading and writing "By" lines: "Dana Ortiz, Lee Park and Sam Wu" <-> ["Dana Ortiz", ...]."""

import re

_SEPARATORS = re.compile(r"\s*(?:,|;|&|\band\b)\s*", re.IGNORECASE)
_LEADING_BY = re.compile(r"^\s*by\s+", re.IGNORECASE)


def split_byline(byline):
    """Names in a byline, in order, without duplicates or a leading "By"."""
    names = []
    for part in _SEPARATORS.split(_LEADING_BY.sub("", byline or "")):
        name = " ".join(part.split())
        if name and name not in names:
            names.append(name)
    return names


def format_byline(names):
    names = list(names)
    if len(names) <= 2:
        return " and ".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"
