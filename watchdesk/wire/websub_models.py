"""WebSub subscriptions of sources and the feed documents their hubs push (imported by ``models``).

A subscription row outlives its source (``source`` becomes NULL when the source is deleted) so that the
callback can still confirm the unsubscribe we asked for, and answer 410 afterwards. The flow is in
``websub.py``; the callback in ``websub_views.py``; docs/wire.md, "Push", says why.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone


def new_token():
    return secrets.token_urlsafe(24)


def new_secret():
    return secrets.token_hex(32)


# A source's current subscription is in one of these states (see ``WebSubSubscription.State``).
CURRENT_STATES = ("requested", "active", "failed")


class WebSubSubscriptionQuerySet(models.QuerySet):
    def current(self):
        """The subscription a source has (at most one): asked for, live, or failed and to be retried.
        Those being unsubscribed and those ended are not current."""
        return self.filter(state__in=CURRENT_STATES)

    def live(self, now=None):
        """Verified by the hub, with a lease that has not run out: the hub pushes the source's news."""
        now = now or timezone.now()
        return self.filter(state=WebSubSubscription.State.ACTIVE, lease_until__gt=now)


class WebSubSubscription(models.Model):
    """A source's subscription at a WebSub hub (https://www.w3.org/TR/websub/)."""

    class State(models.TextChoices):
        REQUESTED = "requested", "Subscribe requested"
        ACTIVE = "active", "Active"
        FAILED = "failed", "Failed"
        UNSUBSCRIBING = "unsubscribing", "Unsubscribe requested"
        ENDED = "ended", "Ended"

    source = models.ForeignKey(
        "wire.Source", null=True, blank=True, on_delete=models.SET_NULL, related_name="websub"
    )
    hub = models.URLField(max_length=1000)
    topic = models.URLField(max_length=1000)
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    secret = models.CharField(max_length=128, default=new_secret, editable=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.REQUESTED, db_index=True)
    # What we last asked the hub for and when: only that is confirmed when the hub verifies intent.
    pending_mode = models.CharField(max_length=12, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    renew_at = models.DateTimeField(null=True, blank=True, db_index=True)
    retry_at = models.DateTimeField(null=True, blank=True, db_index=True)
    failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    pushes = models.PositiveIntegerField(default=0, help_text="Signed feed documents accepted.")
    bad_signatures = models.PositiveIntegerField(
        default=0, help_text="Pushes ignored for a missing or wrong signature."
    )
    last_push_at = models.DateTimeField(null=True, blank=True)
    missed = models.PositiveIntegerField(
        default=0, help_text="New items a safety-net poll found that the hub had not pushed."
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = WebSubSubscriptionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One current subscription per source; old ones are kept for the unsubscribe handshake.
            models.UniqueConstraint(
                fields=["source"], condition=Q(state__in=CURRENT_STATES), name="one_current_websub_per_source"
            )
        ]

    def __str__(self):
        return f"{self.topic} via {self.hub} ({self.state})"

    @property
    def callback_url(self):
        return settings.SITE_URL + reverse("websub_callback", args=[self.token])

    def is_live(self, now=None):
        now = now or timezone.now()
        return self.state == self.State.ACTIVE and self.lease_until is not None and self.lease_until > now


class PushedDocument(models.Model):
    """A feed document a hub pushed, kept until the worker has ingested it (the request only stores it)."""

    subscription = models.ForeignKey(WebSubSubscription, on_delete=models.CASCADE, related_name="documents")
    body = models.BinaryField()
    content_type = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["received_at", "pk"]

    def __str__(self):
        return f"{len(self.body)} bytes for {self.subscription_id} at {self.received_at:%H:%M:%S}"
