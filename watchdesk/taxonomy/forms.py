"""The topic form in the admin: a rule that does not parse is refused with the line at fault."""

from django import forms
from wagtail.admin.forms import WagtailAdminModelForm

from watchdesk.taxonomy.models import Topic
from watchdesk.taxonomy.rules import DEFAULT_NEGATIVE_WEIGHT, DEFAULT_PHRASE_WEIGHT, parse_rule


class TopicForm(WagtailAdminModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A topic without a rule needs no threshold: left blank, it is the model's default.
        self.fields["rule_threshold"].required = False

    def _clean_rule(self, field_name, **options):
        text = self.cleaned_data.get(field_name, "")
        try:
            parse_rule(text, **options)
        except ValueError as error:
            message = str(error)
            raise forms.ValidationError(message[:1].upper() + message[1:], code="bad_rule") from None
        return text

    def clean_rule_phrases(self):
        return self._clean_rule("rule_phrases", default_weight=DEFAULT_PHRASE_WEIGHT)

    def clean_rule_negative(self):
        return self._clean_rule("rule_negative", default_weight=DEFAULT_NEGATIVE_WEIGHT)

    def clean_rule_required(self):
        return self._clean_rule("rule_required", default_weight=DEFAULT_PHRASE_WEIGHT, weighted=False)

    def clean_rule_threshold(self):
        threshold = self.cleaned_data.get("rule_threshold")
        if threshold is None:
            return Topic._meta.get_field("rule_threshold").default
        if threshold <= 0:
            raise forms.ValidationError(
                "The threshold must be more than 0, or items with no matching phrase could pass.",
                code="bad_threshold",
            )
        return threshold

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("rule_required", "").strip() and not cleaned.get("rule_phrases", "").strip():
            self.add_error(
                "rule_required",
                "“Must also mention” narrows down the phrases: add phrases first, "
                "or nothing can reach the threshold.",
            )
        return cleaned
