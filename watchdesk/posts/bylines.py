"""Reading and writing "By" lines: "Dana Ortiz, Lee Park and Sam Wu" <-> ["Dana Ortiz", ...], and
cleaning the author fields feeds send (``clean_byline``, ``byline_from``): e-mail addresses, "By",
job titles, entities and brackets left unmatched go; the names stay. The forms are listed in
docs/wire.md ("Bylines")."""

import html
import re

_SEPARATORS = re.compile(r"\s*(?:,|;|&|\band\b)\s*", re.IGNORECASE)
_LEADING_BY = re.compile(r"^\s*by\s+", re.IGNORECASE)

# Deliberately loose: a byline is not validated, only kept free of addresses.
_EMAIL = re.compile(r"(?:mailto:)?[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.IGNORECASE)
_BRACKETED_EMAIL = re.compile(r"[<(\[]\s*" + _EMAIL.pattern + r"\s*[>)\]]", re.IGNORECASE)
_PARENTHESISED = re.compile(r"\(([^()]*)\)")
_TAG = re.compile(r"<[^<>]*>")
_CREDIT = re.compile(r"^\s*(?:(?:posted|written|reported|story|words)\s+)?by\b[\s:]*", re.IGNORECASE)
_SPACED_DASH = re.compile(r"\s+[-–—|·]\s+")  # "Name - Staff Writer", "Name | Reporter"
_ROLE = re.compile(
    r"(?:the\s+)?(?:(?:senior|staff|chief|special|contributing|political|news|investigative|freelance|"
    r"associate|managing|executive|local|sports|metro|digital|assistant|breaking|city|courts?|"
    r"crime|weather)\s+)*"
    r"(?:writers?|reporters?|correspondents?|editors?|contributors?|columnists?|photographers?|"
    r"journalists?|producers?|staff|desk|team|reports?|newsroom)",
    re.IGNORECASE,
)
_INVERTED = re.compile(r"[^\W\d_][\w'’-]*,\s*[^\W\d_][\w'’.-]*")
_OPENERS = {")": "(", "]": "[", ">": "<"}
_LETTER = re.compile(r"[^\W\d_]")


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


def byline_from(authors, limit=255):
    """One clean byline from several author fields (a feed's authors, in order): "A, B and C"."""
    names, seen = [], set()
    for author in authors:
        for name in author_names(author):
            if name.casefold() not in seen:
                seen.add(name.casefold())
                names.append(name)
    byline = format_byline(names)
    if len(byline) > limit:
        byline = byline[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,") + "…"
    return byline


def clean_byline(text, limit=255):
    """A byline as a reader should see it: "news@x.example (Marie Thibodeaux)" -> "Marie Thibodeaux",
    "Lee Park <lee@x.org>" -> "Lee Park", "By Dana Ortiz, Staff Writer" -> "Dana Ortiz", an address
    alone -> ""."""
    return byline_from([text], limit)


def author_names(text):
    """The people named in one author field, cleaned, in order."""
    if not isinstance(text, str):
        return []
    text = _unescape(text)
    if _EMAIL.search(text):
        # "news@x.org (Marie Thibodeaux)": RSS's form puts the name in brackets after the address.
        inside = [part for part in _PARENTHESISED.findall(text) if not _EMAIL.search(part)]
        outside = _EMAIL.sub("", _PARENTHESISED.sub("", text))
        if any(_LETTER.search(part) for part in inside) and not _LETTER.search(outside):
            text = ", ".join(inside)
        text = _EMAIL.sub(" ", _BRACKETED_EMAIL.sub(" ", text))
    text = _TAG.sub(" ", text)
    text = _balanced(text)
    text = _SPACED_DASH.sub(", ", text)
    text = _CREDIT.sub("", text)
    if _INVERTED.fullmatch(text):  # "Ortiz, Dana": a library's order, one person
        last, first = (part.strip() for part in text.split(","))
        if not (_ROLE.fullmatch(first) or _ROLE.fullmatch(last)):
            text = f"{first} {last}"
    names = []
    for part in split_byline(text):
        name = _CREDIT.sub("", part).strip(" \t.,;:-–—|·'\"“”")
        if _is_name(name) and name not in names:
            names.append(name)
    return names


def _unescape(text):
    for _ in range(3):  # "&amp;amp;" from feeds that escape twice
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = unescaped
    return " ".join(text.split())


def _balanced(text):
    """``text`` without brackets left open or closed alone, nor empty pairs; "(Name)" -> "Name"."""
    drop, stack = set(), []
    for at, char in enumerate(text):
        if char in "([<":
            stack.append((char, at))
        elif char in _OPENERS:
            if stack and stack[-1][0] == _OPENERS[char]:
                stack.pop()
            else:
                drop.add(at)
    drop.update(at for _char, at in stack)
    text = "".join(char for at, char in enumerate(text) if at not in drop)
    text = re.sub(r"\(\s*\)|\[\s*\]|<\s*>", " ", text)
    text = " ".join(text.split())
    while len(text) > 1 and _PARENTHESISED.fullmatch(text.replace("[", "(").replace("]", ")")):
        text = text[1:-1].strip()
    return text


def _is_name(text):
    return bool(text) and bool(_LETTER.search(text)) and not _ROLE.fullmatch(text)
