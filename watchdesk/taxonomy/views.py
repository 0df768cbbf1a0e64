"""The topic editor's "Preview rule": see which recent items an edited rule gains or loses, unsaved.

The "Preview rule" button submits the whole form with ``preview_rule`` set. The form is validated as for
saving (bad rule lines get field errors); when it is valid, nothing is saved: the page is rendered again
with the edited values and a panel listing the recent items the edited rule would file under the topic
and the saved rule does not (gained), and the other way round (lost), with the phrases that matched.

The items belong to the app that registers the ``preview_topic_rule`` hook (the wire does): a function
``(saved topic or None, edited topic, *, days, limit)`` returning what rule_preview.html shows: ``gained``
and ``lost`` rows (``item``, ``old`` and ``new`` TopicMatch), ``kept``, ``examined``, ``days``, ``limit``.
Without one, the editor shows no preview button.
"""

from wagtail import hooks
from wagtail.snippets.views.snippets import CreateView, EditView

PREVIEW_HOOK = "preview_topic_rule"
PREVIEW_BUTTON = "preview_rule"
PREVIEW_DAYS = 7
PREVIEW_LIMIT = 2000  # items examined, newest first: keeps the preview within a second or so
PREVIEW_ROWS_SHOWN = 50  # per list; the counts are always complete


def rule_previewer():
    """The ``preview_topic_rule`` function registered last (so a project can override an app's), or None."""
    previewers = hooks.get_hooks(PREVIEW_HOOK)
    return previewers[-1] if previewers else None


class RulePreviewMixin:
    preview_button_name = PREVIEW_BUTTON

    @property
    def previewing_rule(self):
        return self.request.method == "POST" and self.preview_button_name in self.request.POST

    def saved_topic(self):
        """The topic as stored, read afresh: the form has already written the edits onto self.object."""
        return None

    def form_valid(self, form):
        previewer = rule_previewer()
        if not (self.previewing_rule and previewer):
            return super().form_valid(form)
        self.form = form
        preview = previewer(self.saved_topic(), form.instance, days=PREVIEW_DAYS, limit=PREVIEW_LIMIT)
        return self.render_to_response(
            self.get_context_data(form=form, rule_preview=preview, rule_preview_rows=PREVIEW_ROWS_SHOWN)
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if rule_previewer():
            context["preview_button_name"] = self.preview_button_name
        return context


class TopicCreateView(RulePreviewMixin, CreateView):
    pass


class TopicEditView(RulePreviewMixin, EditView):
    def saved_topic(self):
        return self.model.objects.filter(pk=self.object.pk).first()
