"""Fixed-window rate limits kept in the database, so they hold across every web process and restart.

``hit("subscribe-ip:203.0.113.9", limit=10, window=3600)`` counts one request and says whether it is
within the limit. Keys are hashed: the table never holds an e-mail or IP address in the clear.
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from watchdesk.core.models import RateCounter


def _digest(key):
    return hashlib.sha256(f"{settings.SECRET_KEY}:{key}".encode()).hexdigest()


def hit(key, *, limit, window, now=None):
    """Count a hit on ``key``; True while at most ``limit`` hits fell in the current ``window`` seconds."""
    now = now or timezone.now()
    start = now - timedelta(seconds=now.timestamp() % window)
    digest = _digest(key)
    counters = RateCounter.objects.filter(key=digest)
    # The common case is one UPDATE; the window rolls over with a second, conditional one.
    counted = counters.filter(window_start=start).update(count=F("count") + 1) or counters.exclude(
        window_start=start
    ).update(window_start=start, count=1)
    if not counted:
        try:
            with transaction.atomic():
                RateCounter.objects.create(key=digest, window_start=start, count=1)
        except IntegrityError:
            # Another process created it first: count this hit on its row.
            counters.update(count=F("count") + 1)
    return counters.values_list("count", flat=True).first() <= limit


def purge(now=None):
    """Forget counters whose window ended more than a day ago."""
    now = now or timezone.now()
    return RateCounter.objects.filter(window_start__lt=now - timedelta(days=2)).delete()[0]
