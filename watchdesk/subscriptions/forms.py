"""The reader's forms: the subscribe page (and the Stay Informed box, which posts its first two fields),
the preferences page, and the two that only ask for an address (resend the confirmation, send me an
unsubscribe link)."""

from django import forms
from django.db.models import Q

from watchdesk.posts.models import StoryPostRegion
from watchdesk.subscriptions import schedule
from watchdesk.subscriptions.models import Cadence, Weekday, normalise_email
from watchdesk.taxonomy.models import Region, Topic

EVERYTHING, CHOSEN = "everything", "chosen"
# Place checkboxes come in these groups; counties and cities are offered when they have posts.
REGION_GROUPS = [
    (Region.Kind.COUNTRY, "Countries"),
    (Region.Kind.STATE, "States"),
    (None, "Counties and cities"),
]


def offered_regions(chosen=()):
    """Every country and state, the counties and cities that have posts, and whatever is already
    chosen: one query, whatever the size of the gazetteer."""
    in_news = StoryPostRegion.objects.filter(page__live=True).values("region_id")
    return (
        Region.objects.filter(
            Q(kind__in=[Region.Kind.COUNTRY, Region.Kind.STATE]) | Q(pk__in=in_news) | Q(pk__in=chosen)
        )
        .select_related("parent")
        .order_by("name", "pk")
    )


def email_field():
    return forms.EmailField(
        label="E-mail address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class EmailForm(forms.Form):
    """Resend the confirmation, or send an unsubscribe link: an address and nothing else."""

    email = email_field()

    def clean_email(self):
        return normalise_email(self.cleaned_data["email"])


class TimingFields(forms.Form):
    """When digests arrive: the reader's time zone, hour and weekly day. Put before ``ScopeForm`` in the
    bases. Each may be missing (the Stay Informed box sends at most the zone its script guessed)."""

    time_zone = forms.CharField(
        label="Time zone",
        required=False,
        widget=forms.Select,
        validators=[schedule.validate_time_zone],
    )
    digest_hour = forms.TypedChoiceField(
        label="Digest time", required=False, coerce=int, empty_value=None, choices=schedule.hour_choices
    )
    weekly_digest_day = forms.TypedChoiceField(
        label="Weekly digest day", required=False, coerce=int, empty_value=None, choices=Weekday.choices
    )
    TIMING = ["time_zone", "digest_hour", "weekly_digest_day"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        chosen = self["time_zone"].value() or ""
        choices = schedule.zone_choices()
        if chosen in schedule.known_zones() and not any(chosen == v for _, g in choices for v, _ in g):
            choices = [*choices, ("Other", [(chosen, chosen)])]
        self.fields["time_zone"].widget.choices = choices

    def changes(self):
        values = super().changes()
        chosen = {name: self.cleaned_data.get(name) for name in self.TIMING}
        values.update({name: value for name, value in chosen.items() if value not in (None, "")})
        return values


class ScopeForm(forms.Form):
    """What to receive and how often, shared by the subscribe and preferences pages.

    ``scope`` and ``cadence`` may be missing (the Stay Informed box has neither): ``changes()`` then
    leaves them out, and a new subscriber gets everything at the site's default cadence.
    """

    name = forms.CharField(
        label="Name",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    scope = forms.ChoiceField(
        label="What to receive",
        required=False,
        choices=[(EVERYTHING, "Everything we publish"), (CHOSEN, "Only the topics and places I choose")],
        widget=forms.RadioSelect,
    )
    topics = forms.ModelMultipleChoiceField(
        Topic.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )
    regions = forms.ModelMultipleChoiceField(
        Region.objects.none(),
        label="Places",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="A place includes everything inside it: California includes Los Angeles.",
    )
    cadence = forms.ChoiceField(
        label="How often", required=False, choices=Cadence.choices, widget=forms.RadioSelect
    )

    def __init__(self, *args, chosen_regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["regions"].queryset = offered_regions(chosen_regions)

    def clean(self):
        data = super().clean()
        if data.get("scope") == CHOSEN and not data.get("topics") and not data.get("regions"):
            self.add_error("scope", "Choose at least one topic or place, or choose everything.")
        return data

    def changes(self):
        """The subscription fields this submission sets: only those it carried."""
        data = self.cleaned_data
        values = {}
        if data.get("name"):
            values["name"] = data["name"]
        if data.get("scope"):
            values["everything"] = data["scope"] == EVERYTHING
            # Kept even under "everything", so that switching back restores them.
            values["topics"] = list(data["topics"])
            values["regions"] = list(data["regions"])
        if data.get("cadence"):
            values["cadence"] = data["cadence"]
        return values

    def region_groups(self):
        """The place checkboxes by group; a group with a ticked box is shown open."""
        groups = {kind: [] for kind, _ in REGION_GROUPS}
        for widget in self["regions"]:
            kind = widget.data["value"].instance.kind
            groups[kind if kind in groups else None].append(widget)
        return [
            {"title": title, "widgets": groups[kind], "open": any(w.data["selected"] for w in groups[kind])}
            for kind, title in REGION_GROUPS
            if groups[kind]
        ]


class SubscribeForm(TimingFields, ScopeForm):
    email = email_field()

    field_order = ["email", "name", "scope", "topics", "regions", "cadence"]

    def __init__(self, *args, default_cadence=Cadence.INSTANT, reader_defaults=None, **kwargs):
        # The site's digest schedule (SubscriptionSettings.reader_defaults): shown, and given to a new
        # reader for whatever the submission leaves out.
        self.reader_defaults = reader_defaults or {}
        super().__init__(*args, initial=self.reader_defaults, **kwargs)
        self.fields["scope"].initial = EVERYTHING
        self.fields["cadence"].initial = default_cadence
        if not self.is_bound:
            # Nobody chose this zone yet: the page's script may replace it with the browser's.
            self.fields["time_zone"].widget.attrs["data-zone-guess"] = "browser"

    def clean_email(self):
        return normalise_email(self.cleaned_data["email"])


class PreferencesForm(TimingFields, ScopeForm):
    paused = forms.BooleanField(
        label="Pause: send me nothing until I come back and untick this", required=False
    )

    def __init__(self, *args, subscriber, **kwargs):
        self.subscriber = subscriber
        initial = {
            "name": subscriber.name,
            "scope": EVERYTHING if subscriber.everything else CHOSEN,
            "topics": list(subscriber.topics.all()),
            "regions": list(subscriber.regions.all()),
            "cadence": subscriber.cadence,
            "paused": subscriber.paused,
            **{name: getattr(subscriber, name) for name in self.TIMING},
        }
        super().__init__(*args, initial=initial, chosen_regions=[r.pk for r in initial["regions"]], **kwargs)
        self.fields["scope"].required = self.fields["cadence"].required = True

    def save(self):
        subscriber = self.subscriber
        values = self.changes()
        # Clearing the name is a change too.
        subscriber.name = self.cleaned_data["name"]
        subscriber.everything = values["everything"]
        subscriber.cadence = values["cadence"]
        subscriber.paused = self.cleaned_data["paused"]
        for name in self.TIMING:
            setattr(subscriber, name, values.get(name, getattr(subscriber, name)))
        subscriber.save(update_fields=["name", "everything", "cadence", "paused", *self.TIMING])
        subscriber.topics.set(values["topics"])
        subscriber.regions.set(values["regions"])
        return subscriber
