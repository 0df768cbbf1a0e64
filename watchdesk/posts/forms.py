from django import forms
from wagtail.admin.forms import WagtailAdminPageForm

from watchdesk.posts.originality import publishing_problems
from watchdesk.taxonomy.models import Region, Topic

# The editor's buttons that send a version towards the public (Wagtail names the pressed button).
GOING_OUT = ("action-publish", "action-submit", "action-restart-workflow")


class StoryPostForm(WagtailAdminPageForm):
    """The post editor's form: a version about to go out (publish, schedule, submit for moderation,
    approve) must be in our words; saving a draft is never refused for that."""

    def going_out(self):
        data = self.data
        approving = data.get("action-workflow-action") and data.get("workflow-action-name") == "approve"
        return any(data.get(action) for action in GOING_OUT) or bool(approving)

    def clean(self):
        cleaned_data = super().clean()
        if self.is_bound and self.going_out():
            problems = publishing_problems(
                title=cleaned_data.get("title", ""),
                summary=cleaned_data.get("summary", ""),
                body=cleaned_data.get("body", ""),
                outlet_text=self.instance.outlet_text,
            )
            for field, message in problems.items():
                if field in self.fields and field not in self.errors:
                    self.add_error(field, message)
        return cleaned_data


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
