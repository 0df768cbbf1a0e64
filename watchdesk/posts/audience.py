"""Who a post would be e-mailed to, told to the editor before publishing.

Posts know nothing of subscribers: the app that sends e-mail registers the ``count_post_recipients``
Wagtail hook, ``fn(post, topic_ids, region_ids, urgent=False) -> dict`` with ``instant`` and ``digest``
(how many subscribers would get the post at once and in their digests) and ``breaking`` (how many of the
``instant`` ones are digest readers who get urgent posts at once), or, when the post was e-mailed
already, ``sent_at`` and ``sent_to``. Without such an app nobody is counted and nothing is said.
"""

from django.utils import timezone
from django.utils.formats import date_format
from wagtail import hooks

HOOK = "count_post_recipients"


def count_recipients(post, topic_ids, region_ids, urgent=False):
    """The last registered hook's answer (so a project can override an app's), or None."""
    counters = hooks.get_hooks(HOOK)
    return counters[-1](post, list(topic_ids), list(region_ids), urgent=urgent) if counters else None


def people(n, one, many):
    return f"{n:,} {one if n == 1 else many}"


def at_once_words(audience):
    """ "5 subscribers at once (2 of them digest readers who asked for breaking news)"."""
    words = people(audience["instant"], "subscriber", "subscribers") + " at once"
    if breaking := audience.get("breaking"):
        words += f" ({people(breaking, 'digest reader', 'digest readers').replace(' ', ' of them ', 1)}"
        words += " who asked for breaking news)"
    return words


def describe(audience, *, ticked=True):
    """One sentence for the editor: what publishing will send, to how many."""
    if audience is None:
        return ""
    if audience.get("sent_at"):
        when = date_format(timezone.localtime(audience["sent_at"]), "DATETIME_FORMAT")
        return (
            f"Already e-mailed on {when} to {people(audience['sent_to'], 'subscriber', 'subscribers')}; "
            "publishing again e-mails nobody."
        )
    instant = at_once_words(audience)
    digest = people(audience["digest"], "reader's", "readers'")
    if not ticked:
        return (
            f"Nobody will be e-mailed. Ticked, this post would go to {instant} and into {digest} next digest."
        )
    return f"Publishing e-mails this post to {instant} and puts it in {digest} next digest."
