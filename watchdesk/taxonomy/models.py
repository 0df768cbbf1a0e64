from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Value
from django.db.models.functions import Concat, Substr
from wagtail.admin.panels import FieldPanel, MultiFieldPanel

CONTEXT_HELP = (
    'A phrase can depend on the words around it, after a ";": "outbreak = 2; not after: tornado, storm" '
    '(not right after them), "shelter in place; near 8: chemical, leak" (one of them within 8 words), '
    '"before 3:", "with:" (anywhere in the item); "not" reverses, and several clauses must all hold.'
)


class Topic(models.Model):
    """A subject readers follow and editors file posts under: "Wildfire", "Hazmat", "Terrorism"."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True, help_text="Shown at the top of the topic's page.")

    # The rule that files wire items under this topic (taxonomy/rules.py compiles every topic's rule
    # into one automaton). Phrases are matched case- and accent-insensitively on word boundaries.
    rule_phrases = models.TextField(
        "phrases",
        blank=True,
        help_text='One phrase per line, optionally with a weight: "wildfire = 3", "red flag warning = 2". '
        "Weight 1 when left out. " + CONTEXT_HELP,
    )
    rule_negative = models.TextField(
        "negative phrases",
        blank=True,
        help_text="One per line; a match subtracts its weight (5 when left out): "
        '"fire sale", "fired up = 2", "storm; before: of" (context as for phrases).',
    )
    rule_required = models.TextField(
        "must also mention",
        blank=True,
        help_text="Optional. One phrase per line; when given, an item must mention at least one of them.",
    )
    rule_threshold = models.FloatField(
        "threshold", default=3.0, help_text="The score an item needs to be filed under this topic."
    )
    rule_updated_at = models.DateTimeField(auto_now=True)

    panels = [
        FieldPanel("name"),
        FieldPanel("slug"),
        FieldPanel("description"),
        MultiFieldPanel(
            [
                FieldPanel("rule_phrases"),
                FieldPanel("rule_negative"),
                FieldPanel("rule_required"),
                FieldPanel("rule_threshold"),
            ],
            heading="Wire rule",
        ),
    ]

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class RegionQuerySet(models.QuerySet):
    def within(self, region):
        """The region and every region below it.

        A range rather than ``path__startswith``, which SQLite cannot serve from the index (see
        docs/architecture.md). Paths end in "/" and "0" is the character after it, so the range holds
        exactly the paths under this one.
        """
        return self.filter(path__gte=region.path, path__lt=region.path[:-1] + "0")


class Region(models.Model):
    """A place from the gazetteer: a country, a US state, a US county or a city.

    ``path`` lists the codes from the country down, ``US/US-CA/city:5368361/`` for Los Angeles, so
    "everything in California" is one indexed prefix match. It is kept in step by ``save()``.
    """

    class Kind(models.TextChoices):
        COUNTRY = "country", "Country"
        STATE = "state", "State"
        COUNTY = "county", "County"
        CITY = "city", "City"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    code = models.CharField(
        max_length=40,
        unique=True,
        help_text='Stable key: "US", "US-CA", "county:06037", "city:<geonames id>".',
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=255, db_index=True, editable=False)
    population = models.PositiveBigIntegerField(null=True, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)

    objects = RegionQuerySet.as_manager()

    panels = [
        FieldPanel("name"),
        FieldPanel("slug"),
        FieldPanel("kind"),
        FieldPanel("code"),
        FieldPanel("parent"),
        FieldPanel("population"),
    ]

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.label

    def save(self, *args, **kwargs):
        old_path = self.path
        self.path = self.build_path()
        super().save(*args, **kwargs)
        if old_path and old_path != self.path:
            # Move the whole subtree: rewrite the prefix of every descendant's path in one UPDATE.
            Region.objects.filter(path__startswith=old_path).exclude(pk=self.pk).update(
                path=Concat(Value(self.path), Substr("path", len(old_path) + 1))
            )

    def clean(self):
        if self.parent_id and self.pk and self.parent.path.startswith(self.path or "\0"):
            raise ValidationError({"parent": "A region cannot sit inside itself."})

    @property
    def label(self):
        """The name with its parent for towns and counties: "Los Angeles, California"."""
        if self.kind in {self.Kind.COUNTY, self.Kind.CITY} and self.parent_id:
            return f"{self.name}, {self.parent.name}"
        return self.name

    def build_path(self):
        prefix = self.parent.path if self.parent_id else ""
        return f"{prefix}{self.code}/"

    @staticmethod
    def codes_in(path):
        """The codes along a path, from the country down: "US/US-CA/" -> ["US", "US-CA"]."""
        return path.strip("/").split("/")

    def ancestors(self):
        """From the country down to the parent, in one query."""
        codes = self.codes_in(self.path)[:-1]
        by_code = {region.code: region for region in Region.objects.filter(code__in=codes)}
        return [by_code[code] for code in codes if code in by_code]
