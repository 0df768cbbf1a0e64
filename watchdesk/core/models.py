from datetime import timedelta

from django.db import models
from django.utils import timezone
from wagtail.admin.panels import FieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting


@register_setting(icon="site")
class SiteIdentity(BaseSiteSetting):
    """What the header of every page says: the site's name and its tagline."""

    name = models.CharField(max_length=100, default="Watchdesk")
    tagline = models.CharField(max_length=200, blank=True)
    description = models.TextField(
        blank=True,
        help_text="A sentence or two about the site, used by feeds and search engines.",
    )
    twitter_handle = models.CharField(
        max_length=40, blank=True, help_text="The site's account on X/Twitter, without the @."
    )

    panels = [
        FieldPanel("name"),
        FieldPanel("tagline"),
        FieldPanel("description"),
        FieldPanel("twitter_handle"),
    ]

    class Meta:
        verbose_name = "site identity"
        verbose_name_plural = "site identity"

    def __str__(self):
        return self.name


class PeriodicJobQuerySet(models.QuerySet):
    def due(self, now=None):
        return self.filter(next_run_at__lte=now or timezone.now())


class PeriodicJob(models.Model):
    """The last and next run of one periodic job, shared by every worker.

    A worker runs a job only after moving ``next_run_at`` forward with a conditional UPDATE; with several
    workers exactly one wins each period.
    """

    name = models.CharField(max_length=100, unique=True)
    next_run_at = models.DateTimeField(default=timezone.now)
    last_run_at = models.DateTimeField(null=True, blank=True)

    objects = PeriodicJobQuerySet.as_manager()

    def __str__(self):
        return self.name

    @classmethod
    def claim(cls, name, interval, now=None):
        """Return True when this caller won the right to run ``name`` now."""
        now = now or timezone.now()
        cls.objects.get_or_create(name=name, defaults={"next_run_at": now})
        won = cls.objects.filter(name=name, next_run_at__lte=now).update(
            next_run_at=now + timedelta(seconds=interval), last_run_at=now
        )
        return won == 1


class RateCounter(models.Model):
    """Hits on one rate-limit key in its current fixed window; shared by every web process."""

    key = models.CharField(max_length=100, unique=True)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    def __str__(self):
        return self.key
