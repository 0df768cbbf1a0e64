"""Forms of the wire's admin screens: the inbox filters, snoozing, correcting an item's places, adding
an article by URL, a source's form (its feed URL checked against the fetcher's rules), an OPML upload,
and an editor's alert preferences."""

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse_lazy
from wagtail.admin.forms.models import WagtailAdminModelForm

from watchdesk.core.fetcher import FetchRefused, check_url
from watchdesk.taxonomy import place_lookup
from watchdesk.taxonomy.models import Region, Topic
from watchdesk.wire import inbox
from watchdesk.wire.models import DeskAlertPreference, Source
from watchdesk.wire.opml import MAX_OPML_BYTES


def checked_url(url):
    """``url`` when the guarded fetcher could ever fetch it; the fetcher's reason as the error if not.
    Only the URL's form is checked here (no DNS, no connection): the web process fetches nothing."""
    try:
        check_url(url)
    except FetchRefused as refusal:
        raise ValidationError(f"This address cannot be fetched: {refusal}") from refusal
    return url


class RegionListField(forms.CharField):
    """Regions typed by code, slug or name, separated by commas: the gazetteer has thousands, too many
    for a select box. Cleans to a list of regions in the order typed."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            "Codes (US-CA), slugs (los-angeles-ca) or names (Texas), separated by commas.",
        )
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, str) or value is None:
            return value or ""
        return ", ".join(place_lookup.token(region) for region in value)

    def clean(self, value):
        text = super().clean(value) or ""
        regions, problems = [], []
        for name in (part.strip() for part in text.split(",")):
            if not name:
                continue
            try:
                region = inbox.find_region(name)
            except inbox.InboxError as error:
                problems.append(str(error))
                continue
            if region not in regions:
                regions.append(region)
        if problems:
            raise ValidationError(problems)
        return regions


class InboxFilterForm(forms.Form):
    """The inbox's filters, read from the query string. Invalid ones are reported and left out."""

    status = forms.ChoiceField(choices=inbox.STATUS_CHOICES, required=False, initial=inbox.OPEN)
    topic = forms.ModelChoiceField(
        Topic.objects.all(), to_field_name="slug", required=False, empty_label="Any topic"
    )
    region = forms.CharField(
        label="Place",
        required=False,
        help_text="A name, a state code (CA) or a code (US-CA); includes every place inside it.",
        widget=forms.TextInput(
            attrs={
                "list": "inbox-regions",
                "placeholder": "e.g. California",
                "autocomplete": "off",
                "data-place-suggest": reverse_lazy("inbox:places_json"),
            }
        ),
    )
    source = forms.ModelChoiceField(Source.objects.all(), required=False, empty_label="Any source")
    time = forms.ChoiceField(
        label="Seen",
        choices=[("", "Any time"), *((key, label) for key, (label, _span) in inbox.TIME_WINDOWS.items())],
        required=False,
    )

    place_lookup = None  # what the place typed was read as, with the choices or alternatives

    def clean_region(self):
        text = self.cleaned_data["region"].strip()
        if not text:
            return None
        try:
            self.place_lookup = place_lookup.lookup(text)
        except place_lookup.PlaceNotFound as error:
            raise ValidationError(str(error)) from error
        if self.place_lookup.ambiguous:
            raise ValidationError(f"“{text}” names several places: choose one below.")
        return self.place_lookup.region

    def filters(self, now):
        """Keyword arguments for ``inbox.inbox_clusters`` from the fields that are valid."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        window = inbox.TIME_WINDOWS.get(data.get("time") or "")
        return {
            "status": data.get("status") or inbox.OPEN,
            "topic": data.get("topic"),
            "region": data.get("region"),
            "source": data.get("source"),
            "since": now - window[1] if window else None,
            "now": now,
        }

    def region_suggestions(self):
        """Countries and US states for the place box's list without JavaScript (a few hundred, not
        thousands); inbox-places.js fills it from the whole gazetteer as the editor types."""
        kinds = [Region.Kind.COUNTRY, Region.Kind.STATE]
        regions = Region.objects.filter(kind__in=kinds).select_related("parent").order_by("name")
        return [(place_lookup.full_name(region), region) for region in regions]


class SnoozeForm(forms.Form):
    hours = forms.TypedChoiceField(choices=inbox.SNOOZE_CHOICES, coerce=int, label="Snooze for")


class PlaceCorrectionForm(forms.Form):
    """An editor's places for an item: they replace the geotagger's."""

    regions = RegionListField(label="Places")


class AddFromURLForm(forms.Form):
    url = forms.URLField(
        label="Article URL",
        max_length=2000,
        assume_scheme="https",
        help_text="The page of one story at an outlet; its text is fetched and added to the inbox.",
    )

    def clean_url(self):
        return checked_url(self.cleaned_data["url"])


class SourceForm(WagtailAdminModelForm):
    """The source's edit form (fields and layout come from ``Source.panels``)."""

    def clean_url(self):
        return checked_url(self.cleaned_data["url"])

    def clean_poll_minutes(self):
        minutes = self.cleaned_data["poll_minutes"]
        if minutes < 5:
            raise ValidationError("Poll at most every 5 minutes: outlets block hurried clients.")
        return minutes

    def clean_poll_min_minutes(self):
        minutes = self.cleaned_data.get("poll_min_minutes")
        if minutes is not None and minutes < 1:
            raise ValidationError("The shortest wait is at least 1 minute (blank: the site's default).")
        return minutes

    def clean(self):
        cleaned = super().clean()
        shortest, longest = cleaned.get("poll_min_minutes"), cleaned.get("poll_max_minutes")
        if shortest and longest is not None and longest < shortest:
            self.add_error("poll_max_minutes", "The longest wait cannot be shorter than the shortest.")
        return cleaned

    def clean_trust(self):
        trust = self.cleaned_data["trust"]
        if trust > 100:
            raise ValidationError("Trust runs from 0 to 100.")
        return trust


class OPMLUploadForm(forms.Form):
    """An OPML file to import; larger than ``opml.MAX_OPML_BYTES`` is refused (``LimitedUploadHandler``
    never keeps more than that in memory)."""

    file = forms.FileField(
        label="OPML file",
        help_text=f"An OPML subscription list, at most {MAX_OPML_BYTES // 2**20} MB; folders become groups.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_OPML_BYTES:
            limit = MAX_OPML_BYTES // 2**20
            raise ValidationError(
                f"The file is {upload.size / 2**20:.1f} MB; at most {limit} MB can be imported."
            )
        return upload


class DeskAlertPreferenceForm(forms.ModelForm):
    """An editor's own "on duty" switch, in their account settings."""

    class Meta:
        model = DeskAlertPreference
        fields = ["on_duty", "by_email"]
