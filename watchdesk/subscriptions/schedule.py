"""When a reader's digest is due: their time zone, local hour and weekly day turned into UTC instants.

Plain functions with no models, so that migrations can use them too. docs/subscriptions.md ("Time zones
and digest hours") explains the rules: a local hour that a daylight-saving change skips is sent at the
same wall-clock reading on the new offset (02:00 becomes 03:00), and one that the change repeats is sent
at its first occurrence, so every local day has exactly one sending time.
"""

import zoneinfo
from datetime import UTC, datetime, time, timedelta
from functools import cache

from django.core.exceptions import ValidationError

WEEKLY = "weekly"
# The areas offered in the time-zone list; other names (UTC aside) are legacy aliases, still accepted.
AREAS = ["America", "Europe", "Asia", "Africa", "Australia", "Pacific", "Atlantic", "Indian", "Antarctica"]


@cache
def known_zones():
    # "localtime" names whatever the server's own clock is set to: not a place a reader lives in.
    return frozenset(zoneinfo.available_timezones() - {"localtime"})


def validate_time_zone(name):
    if name not in known_zones():
        raise ValidationError("%(name)s is not a time zone we know.", params={"name": name}, code="time_zone")


@cache
def zone_choices():
    """The zones of the time-zone list, grouped by area: [(area, [(name, label), ...]), ...]."""
    groups = {area: [] for area in AREAS}
    for name in sorted(known_zones()):
        area, _, place = name.partition("/")
        if area in groups and place:
            groups[area].append((name, place.replace("_", " ").replace("/", " / ")))
    return [("", [("UTC", "UTC (Coordinated Universal Time)")]), *groups.items()]


def hour_choices():
    return [(hour, f"{hour:02d}:00") for hour in range(24)]


def local_send_time(day, hour, zone):
    """The UTC instant of ``hour`` o'clock on the local date ``day`` (fold=0: the earlier of a repeated
    hour, and for a skipped hour the reading on the offset before the change)."""
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)


def next_send(after, cadence, zone_name, hour, weekday):
    """The first sending time strictly after ``after`` for a reader with this schedule."""
    zone = zoneinfo.ZoneInfo(zone_name)
    day = after.astimezone(zone).date()
    # Two days cover a daily reader (the local date of ``after`` may already be past the hour); a week
    # and a day cover a weekly one.
    for _ in range(9):
        if cadence != WEEKLY or day.weekday() == weekday:
            instant = local_send_time(day, hour, zone)
            if instant > after:
                return instant
        day += timedelta(days=1)
    raise AssertionError("unreachable: every week has each weekday")


def period_of(cadence, instant, zone_name):
    """The reader's own period of a digest sent at ``instant``: their local date for a daily digest,
    their local ISO week for a weekly one. The ledger allows one digest per reader and period."""
    local = instant.astimezone(zoneinfo.ZoneInfo(zone_name)).date()
    if cadence == WEEKLY:
        year, week, _ = local.isocalendar()
        return f"weekly:{year}-W{week:02d}"
    return f"daily:{local.isoformat()}"


def digest_key(cadence, instant):
    """The one Digest of a cadence and UTC sending instant, e.g. "daily:2026-12-04T12:00Z"."""
    return f"{cadence}:{instant.astimezone(UTC):%Y-%m-%dT%H:%MZ}"
