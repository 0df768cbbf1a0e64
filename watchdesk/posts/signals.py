from django.dispatch import Signal

# Sent with ``post`` inside the transaction of a save that makes a StoryPost live or republishes it. What
# receivers write commits or rolls back with the post: the outbox pattern for e-mail and alerts.
story_published = Signal()
