"""The "E-mail subscribers when published" box, with what publishing will send (``posts.audience``)."""

from django.urls import reverse
from wagtail.admin.panels import FieldPanel

from watchdesk.posts.audience import count_recipients, describe


class EmailChoicePanel(FieldPanel):
    class BoundPanel(FieldPanel.BoundPanel):
        template_name = "posts/admin/email_choice_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            post = self.instance
            # The version being edited: its topics and regions may not be saved on the live row yet.
            topic_ids = [topic.pk for topic in post.topics.all()]
            region_ids = [link.region_id for link in post.region_links.all()]
            audience = count_recipients(post, topic_ids, region_ids)
            context["audience"] = audience
            context["audience_text"] = describe(audience, ticked=bool(self.bound_field.value()))
            context["count_url"] = reverse("posts_recipient_count")
            return context
