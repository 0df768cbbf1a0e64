"""What publishing will send (``posts.audience``), under the post's "E-mail subscribers" and "Urgent"
boxes."""

from django.urls import reverse
from wagtail.admin.panels import Panel

from watchdesk.posts.audience import count_recipients, describe


class AudiencePanel(Panel):
    class BoundPanel(Panel.BoundPanel):
        template_name = "posts/admin/audience_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            post = self.instance
            # The version being edited: its topics and regions may not be saved on the live row yet.
            topic_ids = [topic.pk for topic in post.topics.all()]
            region_ids = [link.region_id for link in post.region_links.all()]
            audience = count_recipients(post, topic_ids, region_ids, urgent=self.ticked("urgent"))
            context["audience"] = audience
            context["audience_text"] = describe(audience, ticked=self.ticked("notify_subscribers"))
            context["count_url"] = reverse("posts_recipient_count")
            return context

        def ticked(self, name):
            return name in self.form.fields and bool(self.form[name].value())
