"""Wagtail's site history keeps each logged object's label (its str) for ever and shows it to anyone with
any permission on the model; a subscriber's or a suppression's str is an e-mail address. The label is
masked before the entry is saved, so the log never holds an address (nor keeps one after the reader is
deleted). Connected in ``SubscriptionsConfig.ready``."""

from django.contrib.contenttypes.models import ContentType

from watchdesk.subscriptions.models import Subscriber, Suppression, mask_email

ADDRESS_MODELS = (Subscriber, Suppression)


def mask_log_label(sender, instance, **kwargs):
    model = ContentType.objects.get_for_id(instance.content_type_id).model_class()
    if model in ADDRESS_MODELS and "@" in instance.label:
        instance.label = mask_email(instance.label)
