"""The reader's forms: the subscribe page (and the Stay Informed box, which posts its first two fields),
the preferences page, and the two that only ask for an address (resend the confirmation, send me an
unsubscribe link)."""

from django import forms
from django.db.models import Count

from watchdesk.posts.models import StoryPostRegion
from watchdesk.subscriptions import schedule, scope
from watchdesk.subscriptions.models import Cadence, Weekday, normalise_email
from watchdesk.subscriptions.scope import BOTH, EVERYTHING, PLACES, TOPICS, either
from watchdesk.taxonomy import place_lookup
from watchdesk.taxonomy.models import Region, Topic

# The old two-way choice ("only what I choose"), still accepted from a page rendered before the four:
# it means whichever of the four the ticked boxes amount to.
CHOSEN = "chosen"
MAX_PLACES = 50  # ticked and typed together
MAX_NAMES = 10  # typed into the box at once
OFTEN_COVERED = 12  # places offered as boxes to tick, besides the reader's own


def often_covered(limit=OFTEN_COVERED):
    """The places with the most live posts: two queries, whatever the size of the gazetteer."""
    top = (
        StoryPostRegion.objects.filter(page__live=True)
        .values("region_id")
        .annotate(posts=Count("page_id"))
        .order_by("-posts", "region_id")[:limit]
    )
    ids = [row["region_id"] for row in top]
    found = Region.objects.select_related("parent").in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


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


class ScopeChoiceField(forms.ChoiceField):
    def valid_value(self, value):
        return value == CHOSEN or super().valid_value(value)


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
    urgent_at_once = forms.BooleanField(
        label="Breaking news at once, the rest in my digest",
        required=False,
        help_text="Posts our editors mark urgent are e-mailed to you as they are published, and are not "
        "repeated in your digest.",
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
        # A form without the cadence (the Stay Informed box) has no such box either: leave it as it is.
        if self.cleaned_data.get("cadence"):
            values["urgent_at_once"] = self.breaking_news_at_once()
        return values

    def breaking_news_at_once(self):
        """Ticked, for a digest: an instant reader gets everything at once anyway."""
        data = self.cleaned_data
        return bool(data.get("urgent_at_once")) and data.get("cadence") != Cadence.INSTANT


class ScopeForm(forms.Form):
    """What to receive and how often, shared by the subscribe and preferences pages.

    ``scope`` and ``cadence`` may be missing (the Stay Informed box has neither): ``changes()`` then
    leaves them out, and a new subscriber gets everything at the site's default cadence. Places come as
    ticked boxes (any place of the gazetteer: the type-ahead adds boxes) and as names typed into
    ``place_names``, read by ``place_lookup``, so that the form works without JavaScript.
    """

    name = forms.CharField(
        label="Name",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    scope = ScopeChoiceField(
        label="What to receive", required=False, choices=scope.MODES, widget=forms.RadioSelect
    )
    topics = forms.ModelMultipleChoiceField(
        Topic.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )
    # Rendered by the template from ``place_options()``: the field itself would list the whole gazetteer.
    regions = forms.ModelMultipleChoiceField(
        Region.objects.select_related("parent"),
        label="Places",
        required=False,
        widget=forms.MultipleHiddenInput,
        help_text="A place includes everything inside it: California includes Los Angeles.",
    )
    place_names = forms.CharField(
        label="Add a place",
        required=False,
        max_length=500,
        help_text="A country, US state, county or city, such as “Harris County, Texas”. "
        "Separate several with semicolons.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    cadence = forms.ChoiceField(
        label="How often", required=False, choices=Cadence.choices, widget=forms.RadioSelect
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.place_questions = []  # the places a typed name could mean, offered as boxes to tick

    def clean_regions(self):
        regions = list(self.cleaned_data["regions"])
        if len(regions) > MAX_PLACES:
            raise forms.ValidationError(f"Choose at most {MAX_PLACES} places.")
        return regions

    def clean(self):
        data = super().clean()
        mode = data.get("scope")
        topics = list(data.get("topics") or [])
        regions = list(data.get("regions") or [])
        if mode in (PLACES, BOTH, CHOSEN):
            for region in self.places_named(data.get("place_names", ""), regions):
                if region not in regions:
                    regions.append(region)
        data["regions"] = regions
        if mode == CHOSEN:
            mode = data["scope"] = scope.mode_of(False, topics, regions)
            if mode is None:
                self.add_error("scope", "Choose at least one topic or place, or choose everything.")
        elif mode and not self.has_error("place_names"):
            problem = scope.missing(mode, topics, regions)
            if problem:
                self.add_error("scope", problem)
        return data

    def places_named(self, text, ticked):
        """The places typed into the box; a name that is unknown, or could be several places none of
        which is ticked, is an error (the choices become boxes to tick)."""
        names = [name.strip() for name in text.replace("\n", ";").split(";") if name.strip()]
        if len(names) > MAX_NAMES:
            self.add_error("place_names", f"Type at most {MAX_NAMES} places at a time.")
            return []
        found = []
        for name in names:
            try:
                answer = place_lookup.lookup(name)
            except place_lookup.PlaceNotFound:
                self.add_error(
                    "place_names",
                    f"We know no place called “{name}”. Try the name with its state or country, such "
                    "as “Harris County, Texas” or “Paris, France”.",
                )
                continue
            if not answer.ambiguous:
                found.append(answer.region)
            elif not set(answer.choices) & set(ticked):
                self.place_questions += [r for r in answer.choices if r not in self.place_questions]
                more = f" and {answer.more} more" if answer.more else ""
                self.add_error(
                    "place_names",
                    f"“{name}” could be {either(place_lookup.full_name(r) for r in answer.choices)}{more}. "
                    "Tick the one you mean below, or type its full name.",
                )
        return found

    def changes(self):
        """The subscription fields this submission sets: only those it carried."""
        data = self.cleaned_data
        values = {}
        if data.get("name"):
            values["name"] = data["name"]
        if data.get("scope"):
            mode = data["scope"]
            values["everything"] = mode == EVERYTHING
            # Under "everything" both are kept, so that switching back restores them.
            values["topics"] = [] if mode == PLACES else list(data["topics"])
            values["regions"] = [] if mode == TOPICS else list(data["regions"])
        if data.get("cadence"):
            values["cadence"] = data["cadence"]
        return values

    # What the page shows ----------------------------------------------------------------------------
    def current(self):
        """(mode, topics, places, cadence) as the reader has them now: submitted, or initial."""
        if not self.is_bound:
            initial = {**{name: field.initial for name, field in self.fields.items()}, **self.initial}
            return (
                initial.get("scope") or EVERYTHING,
                list(initial.get("topics") or []),
                list(initial.get("regions") or []),
                initial.get("cadence"),
            )
        data = getattr(self, "cleaned_data", {})
        mode = self.data.get("scope") or EVERYTHING
        topics = list(data.get("topics") or [])
        regions = list(data.get("regions") or [])
        if mode == CHOSEN:
            mode = scope.mode_of(False, topics, regions) or BOTH
        return mode, topics, regions, self.data.get("cadence") or self.fields["cadence"].initial

    def preview(self):
        """The sentence saying what the reader will get, and how many recent posts matched."""
        mode, topics, regions, cadence = self.current()
        return scope.preview(mode, topics, regions, cadence)

    def place_options(self):
        """The place boxes: the reader's own (ticked), the choices a typed name could mean, and the
        places we often cover."""
        _, _, chosen, _ = self.current()
        offered = {region.pk for region in chosen}
        groups = [("mine", "Your places", chosen, True), ("questions", "Did you mean", [], False)]
        for region in self.place_questions:
            if region.pk not in offered:
                offered.add(region.pk)
                groups[1][2].append(region)
        groups.append(
            ("often", "Places we often cover", [r for r in often_covered() if r.pk not in offered], False)
        )
        return [
            {
                "key": key,
                "title": title,
                "places": [
                    {"region": region, "name": place_lookup.full_name(region), "checked": checked}
                    for region in regions
                ],
            }
            for key, title, regions, checked in groups
        ]


class SubscribeForm(TimingFields, ScopeForm):
    email = email_field()

    field_order = ["email", "name", "scope", "topics", "regions", "place_names", "cadence"]

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
        topics = list(subscriber.topics.all())
        regions = list(subscriber.regions.select_related("parent"))
        initial = {
            "name": subscriber.name,
            # Nothing chosen and not everything (possible only through the admin) reads as topics.
            "scope": scope.mode_of(subscriber.everything, topics, regions) or TOPICS,
            "topics": topics,
            "regions": regions,
            "cadence": subscriber.cadence,
            "urgent_at_once": subscriber.urgent_at_once,
            "paused": subscriber.paused,
            **{name: getattr(subscriber, name) for name in self.TIMING},
        }
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["scope"].required = self.fields["cadence"].required = True

    def save(self):
        subscriber = self.subscriber
        values = self.changes()
        # Clearing the name is a change too.
        subscriber.name = self.cleaned_data["name"]
        subscriber.everything = values["everything"]
        subscriber.cadence = values["cadence"]
        subscriber.urgent_at_once = values["urgent_at_once"]
        subscriber.paused = self.cleaned_data["paused"]
        for name in self.TIMING:
            setattr(subscriber, name, values.get(name, getattr(subscriber, name)))
        subscriber.save(
            update_fields=["name", "everything", "cadence", "urgent_at_once", "paused", *self.TIMING]
        )
        subscriber.topics.set(values["topics"])
        subscriber.regions.set(values["regions"])
        return subscriber
