from django import forms

from watchdesk.taxonomy.models import Region, Topic


class SearchForm(forms.Form):
    """The search box and its filters. Anything unexpected is dropped, never an error page."""

    q = forms.CharField(label="Search for", required=False, max_length=200, strip=True)
    topic = forms.ModelChoiceField(
        Topic.objects.all(), required=False, to_field_name="slug", empty_label="All topics"
    )
    region = forms.ModelChoiceField(
        Region.objects.all(), required=False, to_field_name="slug", empty_label="All places"
    )
    year = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, choices=[])

    def __init__(self, *args, years=(), regions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [("", "Any year")] + [(y, str(y)) for y in years]
        if regions is not None:
            self.fields["region"].choices = [("", "All places")] + [
                (region.slug, region.label) for region in regions
            ]

    def cleaned_or_empty(self):
        """The valid fields' values; an invalid filter is ignored rather than shown as an error."""
        self.is_valid()
        data = {name: None for name in self.fields}
        data["q"] = ""
        data.update(getattr(self, "cleaned_data", {}))
        return data
