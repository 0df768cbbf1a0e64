"""Adaptive polling: how long to wait before polling a source again, from what it published lately.

``next_interval`` is a pure function of the publication times of the source's recent items, so it can be
tested without a feed, a clock or a database. The rules and why: docs/wire.md, "Polling".
"""

import re
from dataclasses import dataclass
from datetime import timedelta

from watchdesk.core.fetcher import parse_retry_after

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Poll twice per expected item: on average an item then waits a quarter of its gap, not half.
POLLS_PER_ITEM = 2

_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d{1,10})\"?", re.IGNORECASE)


@dataclass(frozen=True)
class Plan:
    """The wait before the next poll, and why, in words for the source's health."""

    interval: timedelta
    reason: str


def next_interval(published, *, now, usual, shortest, longest, floor=None, push_interval=None):
    """The wait before the next poll of a source.

    ``published``: publication times of the source's items from the last day, plus its newest item
    whatever its age (empty for a source that never brought one). ``usual`` is the source's own interval,
    used until it has a history; the result stays within ``shortest`` and ``longest``, except that a
    ``floor`` the server asked for (Retry-After, Cache-Control max-age) is honoured. ``push_interval``,
    given for a source whose hub pushes its news, replaces the rest: a rare safety-net poll.
    """
    shortest = min(shortest, longest)
    floor = floor or timedelta(0)
    if push_interval is not None:
        return _with_floor(Plan(push_interval, "updates pushed by the hub: a safety-net poll"), floor)
    times = sorted((t for t in published if t <= now), reverse=True)
    if not times:
        plan = Plan(_clamp(usual, shortest, longest), "no items yet: the usual interval")
        return _with_floor(plan, floor)
    day = [t for t in times if t >= now - DAY]
    if not day:
        return _with_floor(Plan(longest, "quiet: nothing published in the last day"), floor)
    hour = sum(1 for t in day if t >= now - HOUR)
    # The busier of the last hour and the last day decides: a burst shortens the wait at once.
    gap = min(DAY / len(day), HOUR / hour if hour else DAY)
    wait = gap / POLLS_PER_ITEM
    silence = now - day[0]
    if silence > 2 * gap:
        # Two expected items did not come: the burst is over, so back off with the silence.
        wait = max(wait, silence / 2)
        reason = f"quieter: nothing new for {_words(silence)}"
    else:
        reason = f"publishing: {hour} item{_s(hour)} in the last hour, {len(day)} in the last day"
    return _with_floor(Plan(_clamp(wait, shortest, longest), reason), floor)


def _clamp(wait, shortest, longest):
    return max(shortest, min(wait, longest))


def _with_floor(plan, floor):
    if floor > plan.interval:
        return Plan(floor, f"{plan.reason}; the server asked us to wait {_words(floor)}")
    return plan


def max_age(cache_control):
    """Seconds from a Cache-Control header's ``max-age``, or None (``s-maxage`` is for shared caches)."""
    match = _MAX_AGE.search(cache_control or "")
    return int(match.group(1)) if match else None


def server_floor(headers, longest):
    """The wait the server asked for: Retry-After as given; max-age only up to ``longest``, since a feed's
    cache lifetime says how fresh it must be, not when its next story will come."""
    from_retry = parse_retry_after(headers.get("retry-after", ""))
    from_cache = max_age(headers.get("cache-control", ""))
    floor = timedelta(0)
    if from_cache:
        floor = min(timedelta(seconds=from_cache), longest)
    if from_retry:
        floor = max(floor, timedelta(seconds=from_retry))
    return floor


def _s(count):
    return "" if count == 1 else "s"


def _words(span):
    seconds = int(span.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"
