"""A live post's "Send an update": one line ("Evacuation order lifted") e-mailed to the post's audience,
recorded as its own Broadcast, and shown on the post page and in the feeds.

Two steps, both plain forms (no script needed): write the line, then check the message and the number of
people it goes to, and confirm. Only people who may publish the post may send one; the same line twice
(a double click on "Send") is sent once.
"""

import re

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import cached_property
from django.views.generic import View
from wagtail.admin import messages
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets.button import Button

from watchdesk.core.templatetags.time_tags import moment
from watchdesk.delivery import broadcasts
from watchdesk.delivery.messages import PostFrame
from watchdesk.delivery.models import Broadcast
from watchdesk.delivery.tasks import fan_out
from watchdesk.posts.audience import at_once_words, people
from watchdesk.posts.models import StoryPost
from watchdesk.subscriptions.models import Subscriber

EXAMPLE = "e.g. Evacuation order lifted"
# Left-over drafting marks: "[time]", "{{ place }}", "TK", "TODO", "XXX", "lorem ipsum".
PLACEHOLDER = re.compile(r"\[[^\]]*\]|\{\{|\}\}|\b(?:TK|TKTK|TODO|TBC|XXX)\b|lorem ipsum", re.IGNORECASE)
# "Update: ..." typed by habit: every message and line already says "Update".
PREFIX = re.compile(r"^update\s*[:,.\-–—]\s*", re.IGNORECASE)


class UpdateForm(forms.Form):
    text = forms.CharField(
        label="The update",
        max_length=280,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": EXAMPLE, "maxlength": 280}),
        help_text="One line, what changed: it is e-mailed as “Update on: <title>”, and shown dated on the "
        "post page and in the feeds.",
    )

    def clean_text(self):
        text = PREFIX.sub("", " ".join(self.cleaned_data["text"].split()))
        if not text:
            raise forms.ValidationError("Write the update: what changed.")
        if text.casefold() == EXAMPLE.casefold() or PLACEHOLDER.search(text):
            raise forms.ValidationError("Replace the placeholder with the update itself.")
        return text


def can_send_update(post, user):
    """Who may publish the post may send an update of it, while it is live."""
    return post.live and post.permissions_for_user(user).can_publish()


def update_button(page, user, priority):
    if page.specific_class is StoryPost and page.live and can_send_update(page, user):
        url = reverse("email_posts:send_update", args=[page.pk])
        return Button("Send an update", url=url, icon_name="mail", priority=priority)
    return None


def audience_words(audience, mailed):
    """The sentence that says who the update goes to."""
    if not mailed:
        return (
            "This post was not e-mailed, so nobody is e-mailed the update: it appears on the post page "
            "and in the feeds."
        )
    return (
        f"The update goes to {at_once_words(audience)} and into "
        f"{people(audience['digest'], 'reader’s', 'readers’')} next digest."
    )


class SendUpdateView(WagtailAdminTemplateMixin, View):
    template_name = "delivery/admin/send_update.html"
    page_title = "Send an update"
    header_icon = "mail"

    def dispatch(self, request, page_id):
        self.post_page = get_object_or_404(StoryPost, pk=page_id)
        if not self.post_page.permissions_for_user(request.user).can_publish():
            raise PermissionDenied
        if not self.post_page.live:
            messages.error(request, f"“{self.post_page.title}” is not live: there is nothing to update.")
            return redirect("wagtailadmin_pages:edit", self.post_page.pk)
        return super().dispatch(request, page_id)

    def get_page_subtitle(self):
        return self.post_page.title

    def get_breadcrumbs_items(self):
        edit_url = reverse("wagtailadmin_pages:edit", args=[self.post_page.pk])
        return [
            *self.breadcrumbs_items,
            {"url": edit_url, "label": self.post_page.title},
            {"url": "", "label": "Send an update"},
        ]

    @cached_property
    def mailed(self):
        return broadcasts.post_broadcasts().filter(post=self.post_page).exists()

    def get(self, request, page_id):
        return self.render(UpdateForm())

    def post(self, request, page_id):
        form = UpdateForm(request.POST)
        if not form.is_valid() or "edit" in request.POST:
            return self.render(form)
        if "confirm" not in request.POST:
            return self.render(form, preview=self.preview(form.cleaned_data["text"]))
        return self.send(form.cleaned_data["text"])

    def send(self, text):
        post = self.post_page
        with transaction.atomic():
            update, created = broadcasts.record_update(post, text, self.request.user)
            if created:
                transaction.on_commit(lambda: fan_out.enqueue(update.pk))
        if created:
            messages.success(
                self.request, f"Update of “{post.title}” sent: “{text}”. It is on the post page now."
            )
        else:
            when = moment(update.created_at)
            messages.warning(self.request, f"This update was already sent on {when}; nothing more was sent.")
        return redirect("wagtailadmin_pages:edit", post.pk)

    def preview(self, text):
        """The message an instant reader in the site's time zone would get (subject and text)."""
        update = Broadcast(post=self.post_page, kind=Broadcast.Kind.UPDATE, text=text)
        reader = Subscriber(email=self.request.user.email or "reader@example.invalid")
        message = PostFrame(self.post_page, settings.TIME_ZONE, update).for_subscriber(reader)
        return {"subject": message.subject, "text": message.text}

    def render(self, form, preview=None):
        audience = broadcasts.update_audience(self.post_page)
        context = self.get_context_data(
            form=form,
            post=self.post_page,
            preview=preview,
            audience=audience,
            audience_text=audience_words(audience, self.mailed),
            earlier=broadcasts.updates_of([self.post_page.pk]).get(self.post_page.pk, []),
            edit_url=reverse("wagtailadmin_pages:edit", args=[self.post_page.pk]),
        )
        return TemplateResponse(self.request, self.template_name, context)
