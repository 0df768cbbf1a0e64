"""Signals the wire sends; other apps connect to them in their AppConfig.ready."""

from django.dispatch import Signal

# A story the desk should look at now, sent once per alert after the transaction that recorded it.
# Arguments: alert (wire.StoryAlert: .cluster, .reason "breaking" or "score", .outlets, .url).
story_alert = Signal()
